// The host's own globals: timers (order, clear, intervals, arguments),
// microtasks before timers, TextEncoder / TextDecoder (streaming across
// split characters, BOM), performance.now, scriptArgs, wx.env and the
// file manager.
import { deepEqual, equal, http, ok, report, scratch, sleep, throws, watchdog } from './assert.js'

const done = watchdog(10000)
ok(Array.isArray(scriptArgs) && scriptArgs[0].endsWith('host-globals.js'), 'scriptArgs[0] is the script')
equal(scriptArgs[1], http)

{
  const order = []
  setTimeout(() => order.push('t20'), 20)
  setTimeout((a, b) => order.push(`t0 ${a} ${b}`), 0, 'x', 'y')
  const cleared = setTimeout(() => order.push('cleared'), 5)
  clearTimeout(cleared)
  setTimeout(() => order.push('t10'), 10)
  queueMicrotask(() => order.push('micro'))
  Promise.resolve().then(() => order.push('then'))
  let n = 0
  const every = setInterval(() => {
    order.push(`i${++n}`)
    if (n === 3) clearInterval(every)
  }, 15)
  order.push('sync')
  await sleep(100)
  equal(order[0], 'sync')
  deepEqual(order.slice(1, 3), ['micro', 'then'], 'microtasks before timers')
  equal(order[3], 't0 x y', 'arguments passed')
  ok(order.indexOf('t10') < order.indexOf('t20'), 'timers by due time')
  ok(!order.includes('cleared'), 'clearTimeout')
  deepEqual(order.filter((x) => x.startsWith('i')), ['i1', 'i2', 'i3'], 'setInterval until cleared')
}

{
  // A timer's microtasks run before the next timer.
  const order = []
  setTimeout(() => {
    order.push('a')
    Promise.resolve().then(() => order.push('a-micro'))
  }, 1)
  setTimeout(() => order.push('b'), 1)
  await sleep(30)
  deepEqual(order, ['a', 'a-micro', 'b'])
}

{
  const t0 = performance.now()
  await sleep(20)
  ok(performance.now() - t0 >= 19, 'performance.now advances with timers')
}

{
  const bytes = new TextEncoder().encode('a中😀')
  equal(bytes.length, 1 + 3 + 4)
  const decoder = new TextDecoder()
  let text = ''
  for (const b of bytes) text += decoder.decode(new Uint8Array([b]), { stream: true })
  text += decoder.decode()
  equal(text, 'a中😀', 'stream: true carries split characters')
  equal(new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69])), 'hi', 'BOM dropped')
  equal(new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x68])), '\ufeffh')
  // Views with an offset decode their own bytes.
  const view = new Uint8Array(new TextEncoder().encode('xxhello').buffer, 2, 5)
  equal(new TextDecoder().decode(view), 'hello')
  equal(new TextDecoder().decode(new DataView(view.buffer, 2, 2)), 'he')
}

{
  equal(typeof wx.env.USER_DATA_PATH, 'string')
  const fs = wx.getFileSystemManager()
  const dir = `${scratch}/globals-${Date.now()}`
  fs.mkdirSync(`${dir}/a/b`, true)
  fs.writeFileSync(`${dir}/a/b/t.txt`, '你好')
  fs.appendFileSync(`${dir}/a/b/t.txt`, new Uint8Array([0x21]))
  equal(fs.readFileSync(`${dir}/a/b/t.txt`, 'utf8'), '你好!')
  equal(fs.readFileSync(`${dir}/a/b/t.txt`).byteLength, 7)
  const st = fs.statSync(`${dir}/a/b/t.txt`)
  ok(st.isFile() && !st.isDirectory() && st.size === 7, 'statSync')
  deepEqual(fs.readdirSync(`${dir}/a/b`), ['t.txt'])
  throws(() => fs.rmdirSync(`${dir}/a`), /directory not empty/)
  fs.rmdirSync(dir, true)
  throws(() => fs.accessSync(dir), /^accessSync:fail no such file or directory/)
}

done()
report('host-globals')
