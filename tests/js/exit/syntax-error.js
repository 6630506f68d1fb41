// exit: 1
// stderr: ^Uncaught SyntaxError
let x = ;
