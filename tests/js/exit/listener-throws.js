// exit: 1
// stderr: ^Uncaught TypeError: listener failed$
// An error thrown from a task's listener ends the program with 1; the
// task's later callbacks do not run.
const task = wx.request({ url: scriptArgs[1] + '/hello', complete: () => console.log('complete?') })
task.onHeadersReceived(() => {
  throw new TypeError('listener failed')
})
