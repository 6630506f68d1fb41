// exit: 0
// stdout: plain 1 true null undefined
// stdout: { a: 1, "b-c": [ 1, "two", { d: null } ], e: [Function: e] }
// stdout: [ 1, [ 2, [ 3, [Array] ] ] ]
// stdout: 5% of 10 is 0.5 {"x":1} %z
// stdout: ArrayBuffer { byteLength: 3 } Uint8Array(2) [ 1, 2 ] Map(1) { "k" => 1 } Set(1) { 2 }
// stdout: 中文 😀
// stdout: { self: [Circular] }
// stdout: 1n Symbol(s)
// console.log's formatting; warn and error go to stderr.
console.log('plain', 1, true, null, undefined)
console.log({ a: 1, 'b-c': [1, 'two', { d: null }], e() {} })
console.log([1, [2, [3, [4]]]])
console.log('%d%% of %i is %f %j %z', 5, 10.7, '0.5', { x: 1 })
console.log(new ArrayBuffer(3), new Uint8Array([1, 2]), new Map([['k', 1]]), new Set([2]))
console.log('中文', '😀')
const o = {}
o.self = o
console.log(o)
console.warn('to stderr')
console.error('to stderr too')
console.log(1n, Symbol('s'))
