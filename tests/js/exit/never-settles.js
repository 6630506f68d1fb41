// exit: 1
// stderr: top-level await never settled
// A top-level await with nothing left that could settle it.
await new Promise(() => {})
