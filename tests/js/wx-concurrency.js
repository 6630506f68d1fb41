// A page that starts 30 requests at once: wx runs at most 10 network
// tasks together, the rest wait in a FIFO queue (the host's client has
// max_concurrent_tasks = 10). Each request (/stream: headers at once, a
// second chunk 300 ms later) is in flight from its headers to its
// completion; on the one JS thread those events arrive in order, so the
// count of requests between the two is exact: never above 10, and 10 in
// each of three waves.
import { deepEqual, equal, http, ok, report, watchdog } from './assert.js'

const done = watchdog(30000)
const N = 30
const started = Date.now()
let inFlight = 0
let most = 0
const headersOrder = []
const results = await Promise.all(
  Array.from({ length: N }, (_, i) =>
    new Promise((resolve, reject) => {
      const task = wx.request({
        url: `${http}/stream?n=2&size=8&delay_ms=300&i=${i}`,
        success: (res) => {
          inFlight--
          resolve({ i, res })
        },
        fail: reject,
      })
      task.onHeadersReceived(() => {
        inFlight++
        most = Math.max(most, inFlight)
        headersOrder.push(i)
      })
    }),
  ),
)
const elapsed = Date.now() - started

equal(results.length, N)
for (const { res } of results) {
  equal(res.statusCode, 200)
  equal(res.data, 'aaaaaaaabbbbbbbb')
}
equal(most, 10, 'at most 10 in flight, and 10 at once')
equal(inFlight, 0)
// FIFO: the first ten started first, then the next ten, then the rest.
const sorted = (list) => [...list].sort((a, b) => a - b)
const range = (from) => Array.from({ length: 10 }, (_, k) => from + k)
deepEqual(sorted(headersOrder.slice(0, 10)), range(0), 'wave 1: requests 0-9')
deepEqual(sorted(headersOrder.slice(10, 20)), range(10), 'wave 2: requests 10-19')
deepEqual(sorted(headersOrder.slice(20, 30)), range(20), 'wave 3: requests 20-29')
// Three waves of 300 ms, not one.
ok(elapsed >= 850, `three waves take at least 3 x 300 ms (took ${elapsed} ms)`)
const queued = results.map(({ res }) => res.profile.queueTime)
// (profile.queueTime: ms from start until the transfer began.)
ok(queued.slice(0, 10).every((q) => q < 250), `wave 1 did not wait (${queued.slice(0, 10)})`)
ok(queued.slice(10, 20).every((q) => q >= 280), `wave 2 waited for wave 1 (${queued.slice(10, 20)})`)
ok(queued.slice(20).every((q) => q >= 580), `wave 3 waited for two waves (${queued.slice(20)})`)
done()
report('wx-concurrency')
