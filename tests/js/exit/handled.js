// exit: 0
// stdout: handled 1
// stdout: done
// A rejection handled within the same turn is no error.
const p = Promise.reject(1)
Promise.resolve().then(() => p.catch((e) => console.log('handled', e)))
await new Promise((r) => setTimeout(r, 10))
console.log('done')
