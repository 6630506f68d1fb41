// exit: 1
// stderr: ^Uncaught Error: boom$
// An error thrown from a timer ends the program with 1.
setTimeout(() => {
  throw new Error('boom')
}, 1)
setTimeout(() => console.log('never'), 100)
