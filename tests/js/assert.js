// A tiny assert helper for the nettask-qjs tests (tests/js/*.js). Every
// failed assertion throws an AssertionError; the host prints it and exits
// with 1, so each test fails by exiting non-zero. A test also fails when
// it awaits something that never comes: the host ends with 1 when the
// script's top-level await cannot settle, and `watchdog` ends a test
// that runs too long.
//
// scriptArgs: [script, HTTP base URL, HTTPS base URL, scratch directory].

export const http = scriptArgs[1]
export const https = scriptArgs[2]
export const scratch = scriptArgs[3] || wx.env.USER_DATA_PATH

export class AssertionError extends Error {
  constructor(message) {
    super(message)
    this.name = 'AssertionError'
  }
}

const show = (v) => {
  try {
    return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v, (k, x) => (x instanceof ArrayBuffer ? `ArrayBuffer(${x.byteLength})` : x))
  } catch (e) {
    return String(v)
  }
}

let count = 0

export function ok(value, message = 'expected a truthy value') {
  count++
  if (!value) throw new AssertionError(`${message} (got ${show(value)})`)
}

export function equal(actual, expected, message = 'not equal') {
  count++
  if (!Object.is(actual, expected)) {
    throw new AssertionError(`${message}: expected ${show(expected)}, got ${show(actual)}`)
  }
}

function same(a, b) {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && same(a[k], b[k]))
}

export function deepEqual(actual, expected, message = 'not deep-equal') {
  count++
  if (!same(actual, expected)) {
    throw new AssertionError(`${message}: expected ${show(expected)}, got ${show(actual)}`)
  }
}

export function match(text, pattern, message = 'no match') {
  count++
  if (typeof text !== 'string' || !pattern.test(text)) {
    throw new AssertionError(`${message}: ${show(text)} does not match ${pattern}`)
  }
}

export function startsWith(text, prefix, message = 'wrong start') {
  count++
  if (typeof text !== 'string' || !text.startsWith(prefix)) {
    throw new AssertionError(`${message}: expected ${show(text)} to start with ${show(prefix)}`)
  }
}

export function throws(fn, pattern, message = 'expected a throw') {
  count++
  try {
    fn()
  } catch (e) {
    if (pattern && !pattern.test(String(e && e.message))) {
      throw new AssertionError(`${message}: threw ${show(String(e && e.message))}, not matching ${pattern}`)
    }
    return e
  }
  throw new AssertionError(`${message}: nothing was thrown`)
}

export function fail(message) {
  throw new AssertionError(message)
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// Fails the test (exit 1) if `done()` is not called within `ms`.
export function watchdog(ms = 30000) {
  const timer = setTimeout(() => {
    throw new AssertionError(`the test did not finish within ${ms} ms`)
  }, ms)
  return () => clearTimeout(timer)
}

// Calls wx-style `api(options)` and resolves with { ok, res, calls, task }
// once `complete` ran: `calls` lists the callbacks in the order they ran.
export function call(api, options = {}) {
  return new Promise((resolve) => {
    const calls = []
    let res
    let okay
    let task
    task = api({
      ...options,
      success: (r) => {
        calls.push('success')
        okay = true
        res = r
      },
      fail: (r) => {
        calls.push('fail')
        okay = false
        res = r
      },
      complete: (r) => {
        calls.push('complete')
        // complete gets the same result as success / fail.
        if (r !== res && JSON.stringify(r) !== JSON.stringify(res)) {
          throw new AssertionError(`complete got ${show(r)}, success/fail got ${show(res)}`)
        }
        Promise.resolve().then(() => resolve({ ok: okay, res, calls, task }))
      },
    })
  })
}

// Records every call of wx.request's callbacks (as Taro passes them) and
// every console.log, for the Taro samples.
export function spy() {
  const seen = { request: [], log: [] }
  const request = wx.request
  wx.request = function (options) {
    seen.request.push({ event: 'call', url: options.url })
    for (const name of ['success', 'fail', 'complete']) {
      const fn = options[name]
      options[name] = (res) => {
        seen.request.push({ event: name, errMsg: res && res.errMsg })
        return typeof fn === 'function' ? fn(res) : undefined
      }
    }
    return request.call(this, options)
  }
  const log = console.log
  console.log = (...args) => {
    seen.log.push(args)
    log(...args)
  }
  seen.restore = () => {
    wx.request = request
    console.log = log
  }
  return seen
}

export function report(name) {
  console.log(`${name}: ${count} assertions passed`)
}
