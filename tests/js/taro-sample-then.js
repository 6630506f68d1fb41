// Taro's RequestTask documentation, 示例 2 (Promise style), verbatim but
// for the URL. The abort rejects the promise: the sample's .then() has no
// rejection handler, so the promise it returns rejects unhandled (caught
// here by onunhandledrejection) with the fail result, after fail and
// complete; nothing else runs.
import { deepEqual, equal, http, ok, report, sleep, spy, watchdog } from './assert.js'

const done = watchdog(10000)
const seen = spy()
const unhandled = []
globalThis.onunhandledrejection = (event) => unhandled.push(event.reason)
ok(typeof Taro.addInterceptor === 'function', 'Taro is the npm bundle')

// ---- https://docs.taro.zone/docs/apis/network/request/RequestTask 示例 2
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
requestTask.then(res => {
  console.log(res.data)
})
requestTask.abort()
// ---- end of the sample

await sleep(800)
seen.restore()

deepEqual(unhandled, [{ errMsg: 'request:fail abort' }], 'the promise rejected with the fail result')
deepEqual(
  seen.request,
  [
    { event: 'call', url: http + '/slow?ms=500' },
    { event: 'fail', errMsg: 'request:fail abort' },
    { event: 'complete', errMsg: 'request:fail abort' },
  ],
  'wx.request: fail and complete, nothing else',
)
equal(seen.log.length, 0, 'neither success nor then logged')
done()
report('taro-sample-then')
