// exit: 3
// stdout: before
// exit(code) ends the program at once: not even a catch block runs.
console.log('before')
try {
  exit(3)
} catch (e) {
  console.log('caught')
}
console.log('after')
