// wx.uploadFile: a multipart/form-data POST of formData then the file
// (the loopback server's /multipart parses it and answers JSON), with
// onProgressUpdate (progress, totalBytesSent, totalBytesExpectedToSend);
// success { data (the answer as a string), statusCode }. Then
// Taro.uploadFile's promise.
import { call, deepEqual, equal, http, ok, report, scratch, watchdog } from './assert.js'

const done = watchdog(30000)
const fs = wx.getFileSystemManager()
const SIZE = 300000
const filePath = `${scratch}/upload-${Date.now()}.bin`
const content = new Uint8Array(SIZE).map((_, i) => (i * 7) % 256)
fs.writeFileSync(filePath, content.buffer)
equal(fs.statSync(filePath).size, SIZE)

{
  const progress = []
  let task
  const result = call((o) => {
    task = wx.uploadFile(o)
    return task
  }, { url: `${http}/multipart`, filePath, name: 'file', formData: { a: '1', b: '中文', n: 42 }, header: { 'X-Upload': 'yes' } })
  task.onProgressUpdate((p) => progress.push(p))
  const { ok: okay, res } = await result
  ok(okay, 'uploaded')
  equal(res.errMsg, 'uploadFile:ok')
  equal(res.statusCode, 200)
  equal(typeof res.data, 'string', 'data is the answer as a string')
  const answer = JSON.parse(res.data)
  equal(answer.method, 'POST')
  ok(answer.content_type.startsWith('multipart/form-data; boundary='), 'a multipart body')
  equal(answer.error, null)
  deepEqual(
    answer.parts.map((p) => [p.name, p.filename, p.text]),
    [
      ['a', null, '1'],
      ['b', null, '中文'],
      ['n', null, '42'],
      ['file', filePath.split('/').pop(), null],
    ],
    'formData, then the file part',
  )
  equal(answer.parts[3].size, SIZE)
  equal(answer.parts[3].content_type, 'application/octet-stream')

  ok(progress.length >= 1, 'progress events')
  for (let i = 0; i < progress.length; i++) {
    deepEqual(Object.keys(progress[i]), ['progress', 'totalBytesSent', 'totalBytesExpectedToSend'])
    if (i > 0) ok(progress[i].totalBytesSent >= progress[i - 1].totalBytesSent, 'totalBytesSent never decreases')
  }
  const last = progress[progress.length - 1]
  equal(last.progress, 100)
  ok(last.totalBytesExpectedToSend > SIZE, 'the whole body, parts included')
  equal(last.totalBytesSent, last.totalBytesExpectedToSend)
  equal(last.totalBytesExpectedToSend, answer.body_size)
}

{
  const seen = []
  const p = Taro.uploadFile({ url: `${http}/multipart`, filePath, name: 'doc', formData: { k: 'v' } })
  p.progress((e) => seen.push(e.progress))
  const res = await p
  equal(res.statusCode, 200)
  const answer = JSON.parse(res.data)
  deepEqual(answer.parts.map((x) => x.name), ['k', 'doc'])
  equal(seen[seen.length - 1], 100)
}

fs.unlinkSync(filePath)
done()
report('wx-upload')
