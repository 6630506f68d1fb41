// exit: 1
// stderr: ^Uncaught \(in promise\) Error: nope$
// A promise rejected without a handler ends the program with 1.
Promise.reject(new Error('nope'))
setTimeout(() => console.log('never'), 100)
