// Taro's RequestTask documentation, 示例 3 (async/await), verbatim: the
// request resolves with the response, and the abort() after it is a
// no-op (no fail, complete once, the result unchanged).
import { deepEqual, equal, http, ok, report, sleep, spy, watchdog } from './assert.js'

const done = watchdog(10000)
const seen = spy()
const params = { url: http + '/hello' }

// ---- https://docs.taro.zone/docs/apis/network/request/RequestTask 示例 3
const requestTask = Taro.request(params)
const res = await requestTask
requestTask.abort()
// ---- end of the sample

equal(res.statusCode, 200)
equal(res.data, 'hello world')
equal(res.errMsg, 'request:ok')
equal(res.header['x-served-by'], 'nettask-test')
ok(Array.isArray(res.cookies), 'cookies is an array')
ok(res.profile && res.profile.fetchStart > 0, 'profile has wx timestamps')
equal(typeof requestTask.abort, 'function')
equal(typeof requestTask.onHeadersReceived, 'function')
equal(typeof requestTask.onChunkReceived, 'function')

await sleep(200)
seen.restore()
deepEqual(
  seen.request,
  [
    { event: 'call', url: http + '/hello' },
    { event: 'success', errMsg: 'request:ok' },
    { event: 'complete', errMsg: 'request:ok' },
  ],
  'success and complete once; the late abort did nothing',
)
done()
report('taro-sample-await')
