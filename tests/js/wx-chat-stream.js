// A chat answer streamed as server-sent events (/chat: Chinese text and
// an emoji, written 3 bytes at a time, so the server cuts characters
// anywhere), read through onChunkReceived with enableChunked and
// chunkFraming 'utf8' (nettask's NETTASK_FRAMING_UTF8): every chunk
// decodes on its own, with a fatal TextDecoder and no stream state. Once
// with wx.request, once with Taro.request (its promise carries
// onChunkReceived).
import { call, deepEqual, equal, http, ok, report, watchdog } from './assert.js'

const done = watchdog(20000)
const CHAT = 'retry: 2500\r\n: keep-alive\n\nid: 1\nevent: delta\ndata: 你好，\n\nid: 2\nevent: delta\r\ndata: 世界😀\ndata: 第二行\r\rdata: {"done":true}\n\n'
const url = http + '/chat?piece=3&delay_ms=2'

// The WHATWG event-stream interpretation, enough for this stream.
function parse(text) {
  const events = []
  let data = []
  let type = ''
  let id = ''
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      if (data.length) events.push({ type: type || 'message', data: data.join('\n'), id })
      data = []
      type = ''
      continue
    }
    if (line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'data') data.push(value)
    else if (field === 'event') type = value
    else if (field === 'id') id = value
  }
  return events
}

const EVENTS = [
  { type: 'delta', data: '你好，', id: '1' },
  { type: 'delta', data: '世界😀\n第二行', id: '2' },
  { type: 'message', data: '{"done":true}', id: '2' },
]

function reader() {
  const fatal = new TextDecoder('utf-8', { fatal: true })
  const pieces = []
  return {
    pieces,
    onChunk: (res) => {
      ok(res.data instanceof ArrayBuffer, 'chunk data is an ArrayBuffer')
      // Throws (and fails the test) if a chunk ends inside a character.
      pieces.push(fatal.decode(res.data))
    },
  }
}

{
  const r = reader()
  let task
  const result = call((o) => {
    task = wx.request(o)
    return task
  }, { url, header: { Accept: 'text/event-stream' }, enableChunked: true, chunkFraming: 'utf8', timeout: 10000 })
  task.onChunkReceived(r.onChunk)
  const { ok: okay, res } = await result
  ok(okay, 'the stream completed')
  equal(res.statusCode, 200)
  equal(res.header['content-type'], 'text/event-stream')
  ok(r.pieces.length > 1, `the answer came in pieces (${r.pieces.length})`)
  equal(r.pieces.join(''), CHAT, 'the chunks concatenate to the body')
  deepEqual(parse(r.pieces.join('')), EVENTS)
}

{
  const r = reader()
  const p = Taro.request({ url, enableChunked: true, chunkFraming: 'utf8' })
  p.onChunkReceived(r.onChunk)
  const res = await p
  equal(res.statusCode, 200)
  equal(r.pieces.join(''), CHAT)
  deepEqual(parse(r.pieces.join('')), EVENTS)
}

{
  // Abort mid-stream: no chunk after abort(), then request:fail abort.
  let after = 0
  let aborted = false
  let task
  const result = call((o) => {
    task = wx.request(o)
    return task
  }, { url: http + '/events?delay_ms=20', enableChunked: true, chunkFraming: 'lines' })
  task.onChunkReceived(() => {
    if (aborted) after++
    else {
      aborted = true
      task.abort()
    }
  })
  const { res, calls } = await result
  deepEqual(calls, ['fail', 'complete'])
  equal(res.errMsg, 'request:fail abort')
  equal(after, 0, 'no chunk after abort')
}

done()
report('wx-chat-stream')
