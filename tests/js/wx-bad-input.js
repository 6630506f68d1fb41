// Bad input from JS never crashes the host: wrong types, missing url,
// non-function callbacks, bad URLs / methods / headers, files that do not
// exist are answered by fail (and complete) with a wx-style errMsg
// ("request:fail ..."), after the call returns; Taro.request rejects
// with it. A call without options returns a task that does nothing.
import { call, deepEqual, equal, http, ok, report, scratch, startsWith, throws, watchdog } from './assert.js'

const done = watchdog(20000)
const url = http + '/hello'

// Calls `api` with `options` plus fail/complete, and checks that fail and
// complete ran, once each, with an errMsg starting `prefix`.
async function failsWith(api, options, prefix) {
  let task
  const { ok: okay, res, calls } = await call((o) => {
    task = api(o)
    return task
  }, options)
  ok(!okay, `${JSON.stringify(prefix)}: not a success`)
  deepEqual(calls, ['fail', 'complete'], `${prefix}: fail then complete`)
  startsWith(res.errMsg, prefix)
  deepEqual(Object.keys(res), ['errMsg'])
  // The task is inert; none of this may throw.
  task.abort()
  task.onHeadersReceived(() => {})
  task.offHeadersReceived()
  return res.errMsg
}

const param = 'request:fail parameter error: parameter.'
await failsWith(wx.request, {}, `${param}url should be String instead of Undefined;`)
await failsWith(wx.request, { url: 42 }, `${param}url should be String instead of Number;`)
await failsWith(wx.request, { url: null }, `${param}url should be String instead of Null;`)
await failsWith(wx.request, { url: ['x'] }, `${param}url should be String instead of Array;`)
await failsWith(wx.request, { url, header: 'x: y' }, `${param}header should be Object instead of String;`)
await failsWith(wx.request, { url, header: [] }, `${param}header should be Object instead of Array;`)
await failsWith(wx.request, { url, method: 5 }, `${param}method should be String instead of Number;`)
await failsWith(wx.request, { url, timeout: 'soon' }, `${param}timeout should be Number instead of String;`)
await failsWith(wx.request, { url, timeout: -1 }, `${param}timeout should be Number instead of Number;`)
await failsWith(wx.request, { url, dataType: {} }, `${param}dataType should be String instead of Object;`)
await failsWith(wx.request, { url, data: 42 }, `${param}data should be String/Object/ArrayBuffer instead of Number;`)
await failsWith(wx.request, { url, data: 10n }, `${param}data should be String/Object/ArrayBuffer instead of BigInt;`)
await failsWith(wx.request, { url, enableChunked: 'yes' }, `${param}enableChunked should be Boolean instead of String;`)
await failsWith(wx.request, { url, enableHttp2: 1 }, `${param}enableHttp2 should be Boolean instead of Number;`)
await failsWith(wx.request, { url, redirect: 'never' }, `${param}redirect should be "follow" or "manual"`)
await failsWith(wx.request, { url, chunkFraming: 'words' }, `${param}chunkFraming should be`)
const circular = {}
circular.self = circular
await failsWith(wx.request, { url, method: 'POST', data: circular }, `${param}data cannot be serialised`)

// Options whose reading throws (a getter, a Proxy, toJSON).
{
  const seen = []
  const fail = (r) => seen.push(r.errMsg)
  wx.request({ url, fail, get header() { throw new Error('getter threw') } })
  wx.request(new Proxy({ url, fail }, { get: (t, k) => (k === 'timeout' ? Symbol('no') : t[k]) }))
  wx.request({ url, fail, method: 'POST', data: { toJSON() { throw new Error('toJSON threw') } } })
  wx.downloadFile({ url, fail, get filePath() { throw new Error('filePath getter threw') } })
  await new Promise((r) => setTimeout(r, 20))
  deepEqual(seen, [
    'request:fail getter threw',
    `${param}timeout should be Number instead of Symbol;`,
    `${param}data cannot be serialised: toJSON threw`,
    'downloadFile:fail filePath getter threw',
  ])
}

// Non-function callbacks: the others still hear about it.
{
  const seen = []
  wx.request({ url, success: 'yes', fail: (r) => seen.push(['fail', r.errMsg]), complete: (r) => seen.push(['complete', r.errMsg]) })
  wx.request({ url, success: () => seen.push(['success']), fail: 7, complete: (r) => seen.push(['complete', r.errMsg]) })
  wx.request({ url, complete: {}, fail: (r) => seen.push(['fail', r.errMsg]) })
  await new Promise((r) => setTimeout(r, 50))
  deepEqual(seen, [
    ['fail', `${param}success should be Function instead of String;`],
    ['complete', `${param}success should be Function instead of String;`],
    ['complete', `${param}fail should be Function instead of Number;`],
    ['fail', `${param}complete should be Function instead of Object;`],
  ])
}

// What nettask refuses at create: the reason in its own words.
await failsWith(wx.request, { url: 'ftp://example.com/x' }, 'request:fail invalid URL "ftp://example.com/x"')
await failsWith(wx.request, { url: 'not a url' }, 'request:fail invalid URL')
await failsWith(wx.request, { url: 'http://[::1' }, 'request:fail invalid URL')
await failsWith(wx.request, { url: '' }, 'request:fail invalid URL')
await failsWith(wx.request, { url: 'http://a\u0000b/' }, 'request:fail url contains a NUL character')
await failsWith(wx.request, { url, method: 'FETCH' }, 'request:fail ')
await failsWith(wx.request, { url, header: { 'X-A': 'b\r\nInjected: 1' } }, 'request:fail ')
await failsWith(wx.request, { url, header: { 'bad name': 'x' } }, 'request:fail ')
// Nothing listens on port 1.
await failsWith(wx.request, { url: 'http://127.0.0.1:1/' }, 'request:fail ')

// downloadFile and uploadFile.
await failsWith(wx.downloadFile, {}, 'downloadFile:fail parameter error: parameter.url should be String instead of Undefined;')
await failsWith(wx.downloadFile, { url, filePath: 3 }, 'downloadFile:fail parameter error: parameter.filePath should be String instead of Number;')
await failsWith(wx.downloadFile, { url, filePath: '/nonexistent-dir/a/b.bin' }, 'downloadFile:fail download save file error: ')
await failsWith(wx.uploadFile, { url }, 'uploadFile:fail parameter error: parameter.filePath should be String instead of Undefined;')
await failsWith(wx.uploadFile, { url, filePath: '/x' }, 'uploadFile:fail parameter error: parameter.name should be String instead of Undefined;')
await failsWith(wx.uploadFile, { url, filePath: `${scratch}/does-not-exist`, name: 'f' }, 'uploadFile:fail file read error: ')
{
  const fs = wx.getFileSystemManager()
  const path = `${scratch}/bad-input-${Date.now()}.txt`
  fs.writeFileSync(path, 'x')
  await failsWith(wx.uploadFile, { url, filePath: path, name: 'a"b' }, 'uploadFile:fail ')
  await failsWith(wx.uploadFile, { url, filePath: path, name: 'f', formData: 'a=1' }, 'uploadFile:fail parameter error: parameter.formData should be Object instead of String;')
  fs.unlinkSync(path)
  throws(() => fs.readFileSync(path), /^readFileSync:fail no such file or directory/)
  throws(() => fs.statSync(undefined), /^statSync:fail no such file or directory/)
}

// No options at all: a task comes back, nothing runs, nothing throws.
for (const bad of [undefined, null, 'http://x', 42]) {
  for (const api of [wx.request, wx.downloadFile, wx.uploadFile]) {
    const task = api(bad)
    ok(typeof task.abort === 'function', 'a task')
    task.abort()
    task.onHeadersReceived('not a function')
    if (task.onChunkReceived) task.onChunkReceived(null)
    if (task.onProgressUpdate) task.onProgressUpdate(1)
  }
}

// Taro rejects with the same result.
{
  let rejected
  await Taro.request({ url: 42 }).catch((e) => {
    rejected = e
  })
  deepEqual(rejected, { errMsg: `${param}url should be String instead of Number;` })
  let missing
  await Taro.request().catch((e) => {
    missing = e
  })
  deepEqual(missing, { errMsg: `${param}url should be String instead of Undefined;` })
}

// The host's own globals check their input too.
throws(() => setTimeout('code', 1), /callback/)
throws(() => new TextDecoder('latin1'), /not supported/)
throws(() => new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff])), /not valid/)
equal(new TextDecoder().decode(new Uint8Array([0x61, 0xff])), 'a\ufffd')

// A request still works after all that.
const { res } = await call(wx.request, { url })
equal(res.data, 'hello world')
done()
report('wx-bad-input')
