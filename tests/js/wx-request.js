// wx.request's result shapes and data serialisation: data as a string,
// parsed JSON (dataType 'json', the default) or an ArrayBuffer
// (responseType 'arraybuffer'); header object, cookies array, statusCode,
// profile, errMsg; data sent as JSON, a query string (GET) or a form
// (x-www-form-urlencoded); method, timeout, redirect, enableChunked,
// enableHttp2, onHeadersReceived / onChunkReceived and off.
import { call, deepEqual, equal, http, https, match, ok, report, watchdog } from './assert.js'

const done = watchdog(20000)
const request = (o) => call(wx.request, o)

{
  const { ok: okay, res, calls } = await request({ url: http + '/hello' })
  deepEqual(calls, ['success', 'complete'])
  ok(okay)
  deepEqual(Object.keys(res), ['data', 'statusCode', 'header', 'cookies', 'profile', 'errMsg'], 'wx result fields')
  equal(res.data, 'hello world', 'not JSON: the text')
  equal(res.statusCode, 200)
  equal(res.errMsg, 'request:ok')
  equal(res.header['content-type'], 'text/plain')
  equal(res.header['x-served-by'], 'nettask-test')
  deepEqual(res.cookies, [])
  const p = res.profile
  equal(p.protocol, 'http/1.1')
  equal(p.peerIP, '127.0.0.1')
  ok(p.fetchStart > 1.6e12 && p.responseEnd >= p.fetchStart, 'profile timestamps in ms since the epoch')
  ok(p.receivedBytedCount > 11 && p.sendBytesCount > 0, 'profile byte counts')
}

{
  // An object is sent as JSON (default content-type application/json) and
  // the JSON answer is parsed.
  const { res } = await request({ url: http + '/echo', method: 'POST', data: { a: 1, b: ['中文', null] } })
  deepEqual(res.data, { a: 1, b: ['中文', null] })
  equal(res.header['x-method'], 'POST')
  // dataType other than json: the text as it came.
  const text = await request({ url: http + '/echo', method: 'POST', data: { a: 1 }, dataType: 'text' })
  equal(text.res.data, '{"a":1}')
  // A JSON number is parsed too; a lowercase method is upper-cased.
  const number = await request({ url: http + '/echo', method: 'put', data: '123' })
  equal(number.res.data, 123)
  equal(number.res.header['x-method'], 'PUT')
}

{
  // GET: the object becomes the query string.
  const { res } = await request({ url: http + '/echo', data: { a: 1, b: '中 文', c: { d: 2 } } })
  equal(res.header['x-method'], 'GET')
  equal(res.header['x-target'], '/echo?a=1&b=%E4%B8%AD%20%E6%96%87&c=%7B%22d%22%3A2%7D')
  const more = await request({ url: http + '/echo?z=0', data: { a: 1 } })
  equal(more.res.header['x-target'], '/echo?z=0&a=1')
  // x-www-form-urlencoded: the object becomes the body.
  const form = await request({
    url: http + '/echo',
    method: 'POST',
    header: { 'Content-Type': 'application/x-www-form-urlencoded' },
    data: { a: 1, b: 'x y&z' },
  })
  equal(form.res.data, 'a=1&b=x%20y%26z')
}

{
  // Request headers: given ones (values made strings) and the default
  // content-type.
  const { res } = await request({ url: http + '/headers', header: { 'X-Custom': 'v1', 'X-Num': 42 } })
  match(res.data, /^x-custom: v1$/m)
  match(res.data, /^x-num: 42$/m)
  match(res.data, /^content-type: application\/json$/m)
}

{
  // Binary both ways.
  const bytes = new Uint8Array([0, 1, 2, 250, 251, 255])
  const { res } = await request({ url: http + '/echo', method: 'POST', data: bytes.buffer, responseType: 'arraybuffer' })
  ok(res.data instanceof ArrayBuffer, 'an ArrayBuffer')
  deepEqual(Array.from(new Uint8Array(res.data)), Array.from(bytes))
  const big = await request({ url: http + '/bytes/100000', responseType: 'arraybuffer' })
  equal(big.res.data.byteLength, 100000)
  const view = new Uint8Array(big.res.data)
  ok(view.every((b, i) => b === i % 251), 'the /bytes pattern')
}

{
  // Any HTTP status is a success.
  const { ok: okay, res } = await request({ url: http + '/status/404' })
  ok(okay, '404 is a success')
  equal(res.statusCode, 404)
  equal(res.data, 'status 404')
  const e500 = await request({ url: http + '/status/503' })
  equal(e500.res.statusCode, 503)
}

{
  // redirect: follow (the default) and manual.
  const followed = await request({ url: http + '/redirect/2' })
  equal(followed.res.statusCode, 200)
  equal(followed.res.data, 'hello world')
  // /redirect/2 -> /redirect/1 -> /redirect/0 -> /hello
  equal(followed.res.profile.redirectCount, 3)
  const manual = await request({ url: http + '/redirect/2', redirect: 'manual' })
  equal(manual.res.statusCode, 302)
  equal(manual.res.header.location, '/redirect/1')
  equal(manual.res.data, 'redirecting')
}

{
  // timeout.
  const { ok: okay, res, calls } = await request({ url: http + '/slow?ms=3000', timeout: 200 })
  ok(!okay)
  deepEqual(calls, ['fail', 'complete'])
  deepEqual(res, { errMsg: 'request:fail timeout' })
}

{
  // onHeadersReceived before the result; off removes a listener.
  const heads = []
  const removed = []
  let task
  const result = call((o) => {
    task = wx.request(o)
    return task
  }, { url: http + '/hello' })
  const dropped = (h) => removed.push(h)
  task.onHeadersReceived((h) => heads.push(h))
  task.onHeadersReceived(dropped)
  task.offHeadersReceived(dropped)
  const { res } = await result
  equal(heads.length, 1)
  deepEqual(Object.keys(heads[0]).sort(), ['cookies', 'header', 'statusCode'])
  equal(heads[0].statusCode, 200)
  equal(heads[0].header['x-served-by'], 'nettask-test')
  deepEqual(heads[0].cookies, [])
  equal(removed.length, 0, 'offHeadersReceived removed it')
  equal(res.statusCode, 200)
}

{
  // enableChunked: the body comes through onChunkReceived as ArrayBuffers,
  // and the result's data is empty.
  const chunks = []
  let task
  const result = call((o) => {
    task = wx.request(o)
    return task
  }, { url: http + '/stream?n=3&size=4&delay_ms=20', enableChunked: true })
  task.onChunkReceived((c) => chunks.push(c.data))
  const { res } = await result
  ok(chunks.length >= 1 && chunks.every((c) => c instanceof ArrayBuffer), 'ArrayBuffer chunks')
  equal(chunks.map((c) => new TextDecoder().decode(c)).join(''), 'aaaabbbbcccc')
  equal(res.data, '', 'nothing buffered')
  // Without enableChunked the chunks still come, and data has the body.
  const again = []
  const plain = call((o) => {
    task = wx.request(o)
    return task
  }, { url: http + '/stream?n=2&size=3&delay_ms=10' })
  task.onChunkReceived((c) => again.push(c.data))
  const full = await plain
  equal(full.res.data, 'aaabbb')
  equal(again.map((c) => new TextDecoder().decode(c)).join(''), 'aaabbb')
}

{
  // HTTPS, with HTTP/2 when enableHttp2 is set (ALPN), HTTP/1.1 otherwise.
  const h2 = await request({ url: https + '/hello', enableHttp2: true })
  equal(h2.res.statusCode, 200)
  equal(h2.res.profile.protocol, 'h2')
  equal(h2.res.data, 'hello world')
  const h1 = await request({ url: https + '/hello' })
  equal(h1.res.profile.protocol, 'http/1.1')
}

done()
report('wx-request')
