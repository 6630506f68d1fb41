// Taro's RequestTask documentation, 示例 1 (callback style), verbatim but
// for the URL: abort() right after the call. The request ends in
// "request:fail abort" through fail and complete (Taro's promise
// rejects) and nothing else: no success, no console.log of the sample.
import { deepEqual, equal, http, ok, report, sleep, spy, watchdog } from './assert.js'

const done = watchdog(10000)
const seen = spy()
ok(!nettaskHost.taro.startsWith('no Taro'), 'Taro is the npm bundle')

// ---- https://docs.taro.zone/docs/apis/network/request/RequestTask 示例 1
const requestTask = Taro.request({
  url: http + '/slow?ms=500', //仅为示例，并非真实的接口地址
  data: {
    x: '' ,
    y: ''
  },
  header: {
    'content-type': 'application/json' // 默认值
  },
  success: function (res) {
    console.log(res.data)
  }
})
requestTask.abort()
// ---- end of the sample

let rejected
requestTask.then(
  () => ok(false, 'the promise must not resolve'),
  (e) => {
    rejected = e
  },
)
// Longer than /slow takes: a request that was not aborted would succeed
// within this time.
await sleep(800)
seen.restore()

deepEqual(rejected, { errMsg: 'request:fail abort' }, 'Taro.request rejects with the fail result')
deepEqual(
  seen.request,
  [
    { event: 'call', url: http + '/slow?ms=500' },
    { event: 'fail', errMsg: 'request:fail abort' },
    { event: 'complete', errMsg: 'request:fail abort' },
  ],
  'wx.request: fail and complete, nothing else',
)
equal(seen.log.length, 0, 'the sample success callback never logged')
done()
report('taro-sample-callback')
