// exit: 0
// stdout: hello world
// exit() from a success callback while another request (it never
// answers) and a timer are pending: the host aborts the task and ends.
const http = scriptArgs[1]
wx.request({ url: http + '/stall', success: () => console.log('stall?') })
setTimeout(() => console.log('timer?'), 60000)
wx.request({
  url: http + '/hello',
  success: (res) => {
    console.log(res.data)
    exit(0)
  },
})
