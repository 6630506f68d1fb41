// Timers keep running while a stream is faster than its listener: the
// client's dispatch then never finds its queue empty until the body ends,
// and the host runs the due timers between two listener calls.
import { equal, ok, http, report, watchdog } from './assert.js'

const done = watchdog(30000)
const SIZE = 200 << 20
let ticks = 0
let ticksWhileStreaming = 0
let streaming = true
const interval = setInterval(() => {
  ticks++
  if (streaming) ticksWhileStreaming++
}, 10)
let bytes = 0
let chunks = 0
const started = performance.now()
const res = await new Promise((resolve, reject) => {
  const task = wx.request({ url: `${http}/bytes/${SIZE}`, enableChunked: true, responseType: 'arraybuffer', success: resolve, fail: reject })
  task.onChunkReceived(({ data }) => {
    chunks++
    bytes += data.byteLength
    // Some work per chunk, as a real listener does.
    const view = new Uint8Array(data)
    let sum = 0
    for (let i = 0; i < view.length; i += 16) sum += view[i]
    ok(sum >= 0)
  })
})
streaming = false
clearInterval(interval)
const took = performance.now() - started
equal(res.statusCode, 200)
equal(bytes, SIZE)
ok(took < 100 || ticksWhileStreaming >= 2, `the 10 ms interval ran while ${chunks} chunks streamed for ${Math.round(took)} ms (${ticksWhileStreaming} times)`)
done()
report('wx-timers-during-stream')
