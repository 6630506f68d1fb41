// Taro's own weapp runtime on the host's wx: interceptors (a custom one,
// Taro's timeoutInterceptor and logInterceptor) run unchanged around
// Taro.request; Taro.getEnv, Taro's event center, and headers listened
// to through the promise Taro returns.
import { deepEqual, equal, http, match, ok, report, watchdog } from './assert.js'

const done = watchdog(20000)
equal(Taro.getEnv(), 'WEAPP')
equal(Taro.getEnv(), Taro.ENV_TYPE.WEAPP)
ok(nettaskHost.taro.includes('@tarojs/taro@'), `Taro from npm (${nettaskHost.taro})`)

{
  const order = []
  Taro.addInterceptor(function (chain) {
    const params = chain.requestParams
    order.push('before')
    params.header = { ...params.header, 'X-Intercepted': 'yes' }
    return chain.proceed(params).then((res) => {
      order.push('after')
      res.intercepted = true
      return res
    })
  })
  const res = await Taro.request({ url: http + '/headers' })
  match(res.data, /^x-intercepted: yes$/m, 'the interceptor changed the request')
  equal(res.intercepted, true, 'and saw the result')
  deepEqual(order, ['before', 'after'])
  Taro.cleanInterceptors()
  const plain = await Taro.request({ url: http + '/headers' })
  ok(!/x-intercepted/.test(plain.data), 'cleanInterceptors removed it')
}

{
  // Taro's built-in interceptors: timers and logging on the host.
  const logged = []
  const log = console.log
  console.log = (...args) => logged.push(args.map(String).join(' '))
  Taro.addInterceptor(Taro.interceptors.logInterceptor)
  Taro.addInterceptor(Taro.interceptors.timeoutInterceptor)
  const res = await Taro.request({ url: http + '/slow?ms=100', timeout: 5000 })
  console.log = log
  equal(res.data, 'slow')
  ok(logged.some((l) => l.startsWith(`http GET --> ${http}/slow?ms=100`)), 'logInterceptor logged the request')
  ok(logged.some((l) => l.startsWith(`http <-- ${http}/slow?ms=100 result:`)), 'and the result')
  // The timeout interceptor's own timer rejects a request slower than it.
  let rejected
  await Taro.request({ url: http + '/slow?ms=2000', timeout: 300 }).catch((e) => {
    rejected = e
  })
  ok(rejected, 'rejected')
  ok(rejected instanceof Error ? /超时/.test(rejected.message) : rejected.errMsg === 'request:fail timeout', `a timeout (${rejected && (rejected.message || rejected.errMsg)})`)
  Taro.cleanInterceptors()
}

{
  // The promise carries the task's methods (equipTaskMethodsIntoPromise).
  const heads = []
  const p = Taro.request({ url: http + '/hello' })
  p.onHeadersReceived((h) => heads.push(h.header['x-served-by']))
  const res = await p
  deepEqual(heads, ['nettask-test'])
  equal(res.statusCode, 200)
}

{
  // Taro's event center (Events from @tarojs/runtime).
  const got = []
  Taro.eventCenter.on('ping', (x) => got.push(x))
  Taro.eventCenter.trigger('ping', 1)
  Taro.eventCenter.off('ping')
  Taro.eventCenter.trigger('ping', 2)
  deepEqual(got, [1])
}

done()
report('taro-api')
