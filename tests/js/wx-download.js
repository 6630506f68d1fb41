// wx.downloadFile: onProgressUpdate (progress, totalBytesWritten,
// totalBytesExpectedToWrite), headers first, success with filePath (or
// tempFilePath) and statusCode, the file's bytes; an abort mid-download
// leaves no file and no progress after it; Taro.downloadFile's promise
// with .progress().
import { call, deepEqual, equal, http, ok, report, scratch, throws, watchdog } from './assert.js'

const done = watchdog(30000)
const fs = wx.getFileSystemManager()
const SIZE = 2 * 1024 * 1024

function withTask(api, options) {
  let task
  const result = call((o) => {
    task = api(o)
    return task
  }, options)
  return { task, result }
}

{
  const filePath = `${scratch}/download-${Date.now()}.bin`
  const events = []
  const { task, result } = withTask(wx.downloadFile, { url: `${http}/bytes/${SIZE}`, filePath })
  task.onHeadersReceived((h) => events.push({ headers: h.statusCode }))
  task.onProgressUpdate((p) => events.push(p))
  const { ok: okay, res } = await result
  ok(okay, 'downloaded')
  deepEqual(Object.keys(res).sort(), ['errMsg', 'filePath', 'header', 'profile', 'statusCode'])
  equal(res.errMsg, 'downloadFile:ok')
  equal(res.statusCode, 200)
  equal(res.filePath, filePath)
  deepEqual(events[0], { headers: 200 }, 'headers before progress')
  const progress = events.slice(1)
  ok(progress.length >= 2, `progress events (${progress.length})`)
  for (let i = 0; i < progress.length; i++) {
    const p = progress[i]
    deepEqual(Object.keys(p), ['progress', 'totalBytesWritten', 'totalBytesExpectedToWrite'])
    equal(p.totalBytesExpectedToWrite, SIZE)
    if (i > 0) {
      ok(p.totalBytesWritten >= progress[i - 1].totalBytesWritten, 'totalBytesWritten never decreases')
      ok(p.progress >= progress[i - 1].progress, 'progress never decreases')
    }
  }
  deepEqual(progress[progress.length - 1], { progress: 100, totalBytesWritten: SIZE, totalBytesExpectedToWrite: SIZE })
  equal(fs.statSync(filePath).size, SIZE)
  const bytes = new Uint8Array(fs.readFileSync(filePath))
  ok(bytes.every((b, i) => b === i % 251), 'the file holds the /bytes pattern')
  fs.unlinkSync(filePath)
}

{
  // Without filePath: a temporary file.
  const { res } = await call(wx.downloadFile, { url: `${http}/bytes/1000` })
  equal(res.statusCode, 200)
  equal(typeof res.tempFilePath, 'string')
  equal(fs.statSync(res.tempFilePath).size, 1000)
  fs.unlinkSync(res.tempFilePath)
  // Any status is a success: the file holds the error page.
  const missing = await call(wx.downloadFile, { url: `${http}/status/404` })
  ok(missing.ok)
  equal(missing.res.statusCode, 404)
  equal(fs.readFileSync(missing.res.tempFilePath, 'utf8'), 'status 404')
  fs.unlinkSync(missing.res.tempFilePath)
}

{
  // Abort on the first progress event of a long download.
  const dir = `${scratch}/aborted-${Date.now()}`
  fs.mkdirSync(dir, true)
  const filePath = `${dir}/file.bin`
  let aborted = false
  let after = 0
  const { task, result } = withTask(wx.downloadFile, { url: `${http}/stream?n=400&size=65536&delay_ms=10`, filePath })
  task.onProgressUpdate(() => {
    if (aborted) {
      after++
      return
    }
    aborted = true
    task.abort()
  })
  const { ok: okay, res, calls } = await result
  ok(!okay)
  deepEqual(calls, ['fail', 'complete'])
  deepEqual(res, { errMsg: 'downloadFile:fail abort' })
  equal(after, 0, 'no progress after abort')
  throws(() => fs.accessSync(filePath), /no such file/, 'no file is left behind')
  deepEqual(fs.readdirSync(dir), [], 'nor a temporary one')
  fs.rmdirSync(dir)
}

{
  // Taro.downloadFile: Taro's promise, with progress() and abort().
  const seen = []
  const p = Taro.downloadFile({ url: `${http}/bytes/300000` })
  ok(typeof p.abort === 'function' && typeof p.progress === 'function', 'progress and abort on the promise')
  p.progress((e) => seen.push(e.progress))
  const res = await p
  equal(res.statusCode, 200)
  equal(res.errMsg, 'downloadFile:ok')
  equal(seen[seen.length - 1], 100)
  equal(fs.statSync(res.tempFilePath).size, 300000)
  fs.unlinkSync(res.tempFilePath)
}

done()
report('wx-download')
