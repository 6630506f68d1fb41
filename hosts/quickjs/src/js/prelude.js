// The globals of nettask-qjs, built on the native `__nettask` (host.rs):
// console, timers, TextEncoder / TextDecoder, exit, wx (request,
// downloadFile, uploadFile, getFileSystemManager) and a lazy Taro.
// Evaluated once, as a plain script, before the user's module.
(function () {
  'use strict';
  const native = globalThis.__nettask;
  delete globalThis.__nettask;
  const g = globalThis;
  const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

  function define(obj, name, value) {
    Object.defineProperty(obj, name, { value, writable: true, configurable: true, enumerable: false });
  }

  // ---------------------------------------------------------------- console

  const IDENT = /^[A-Za-z_$][\w$]*$/;

  function inspect(v, depth, seen) {
    switch (typeof v) {
      case 'string':
        return JSON.stringify(v);
      case 'bigint':
        return `${v}n`;
      case 'symbol':
        return v.toString();
      case 'function':
        return `[Function: ${v.name || '(anonymous)'}]`;
      case 'object':
        break;
      default:
        return String(v);
    }
    if (v === null) return 'null';
    if (seen.has(v)) return '[Circular]';
    if (v instanceof Error) {
      const head = `${v.name}: ${v.message}`;
      return v.stack ? `${head}\n${String(v.stack).trimEnd()}` : head;
    }
    if (v instanceof ArrayBuffer) return `ArrayBuffer { byteLength: ${v.byteLength} }`;
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const items = Array.prototype.slice.call(v, 0, 50).join(', ');
      const more = v.length > 50 ? `, ... ${v.length - 50} more` : '';
      return `${v.constructor.name}(${v.length}) [ ${items}${more} ]`;
    }
    if (v instanceof Promise) return 'Promise {}';
    if (v instanceof Date) return v.toISOString();
    if (v instanceof RegExp) return String(v);
    if (depth < 0) return Array.isArray(v) ? '[Array]' : '[Object]';
    seen.add(v);
    let out;
    if (Array.isArray(v)) {
      const items = v.slice(0, 100).map((x) => inspect(x, depth - 1, seen));
      if (v.length > 100) items.push(`... ${v.length - 100} more items`);
      out = items.length ? `[ ${items.join(', ')} ]` : '[]';
    } else if (v instanceof Map) {
      const items = [...v].map(([k, x]) => `${inspect(k, depth - 1, seen)} => ${inspect(x, depth - 1, seen)}`);
      out = `Map(${v.size}) { ${items.join(', ')} }`;
    } else if (v instanceof Set) {
      out = `Set(${v.size}) { ${[...v].map((x) => inspect(x, depth - 1, seen)).join(', ')} }`;
    } else {
      const items = Object.keys(v).map((k) => `${IDENT.test(k) ? k : JSON.stringify(k)}: ${inspect(v[k], depth - 1, seen)}`);
      const name = v.constructor && v.constructor !== Object && v.constructor.name ? `${v.constructor.name} ` : '';
      out = items.length ? `${name}{ ${items.join(', ')} }` : `${name}{}`;
    }
    seen.delete(v);
    return out;
  }

  const show = (v) => (typeof v === 'string' ? v : inspect(v, 2, new Set()));

  function format(args) {
    const parts = [];
    let i = 0;
    if (typeof args[0] === 'string' && args[0].includes('%')) {
      i = 1;
      parts.push(
        args[0].replace(/%[sdifjoOc%]/g, (m) => {
          if (m === '%%') return '%';
          if (i >= args.length) return m;
          const a = args[i++];
          switch (m) {
            case '%s': return typeof a === 'string' ? a : show(a);
            case '%d': case '%i': return String(m === '%i' ? parseInt(a, 10) : Number(a));
            case '%f': return String(parseFloat(a));
            case '%j': try { return JSON.stringify(a); } catch (e) { return '[Circular]'; }
            case '%c': return '';
            default: return inspect(a, 4, new Set());
          }
        }),
      );
    }
    for (; i < args.length; i++) parts.push(show(args[i]));
    return parts.join(' ');
  }

  const timersByLabel = new Map();
  const counts = new Map();
  let indent = '';
  const out = (fd) => (...args) => native.print(fd, indent ? format(args).replace(/^/gm, indent) : format(args));
  const console = {
    log: out(1),
    info: out(1),
    debug: out(1),
    warn: out(2),
    error: out(2),
    trace: (...args) => native.print(2, `Trace: ${format(args)}\n${String(new Error().stack || '').trimEnd()}`),
    dir: (v) => native.print(1, inspect(v, 2, new Set())),
    assert: (cond, ...args) => {
      if (!cond) native.print(2, `Assertion failed${args.length ? `: ${format(args)}` : ''}`);
    },
    time: (label = 'default') => timersByLabel.set(String(label), native.now()),
    timeEnd: (label = 'default') => {
      const t = timersByLabel.get(String(label));
      if (t !== undefined) {
        timersByLabel.delete(String(label));
        native.print(1, `${label}: ${(native.now() - t).toFixed(3)}ms`);
      }
    },
    count: (label = 'default') => {
      const n = (counts.get(String(label)) || 0) + 1;
      counts.set(String(label), n);
      native.print(1, `${label}: ${n}`);
    },
    group: (...args) => {
      if (args.length) native.print(1, indent + format(args));
      indent += '  ';
    },
    groupEnd: () => {
      indent = indent.slice(2);
    },
  };
  define(g, 'console', console);

  // ----------------------------------------------------------------- timers

  // Ordered by (when, seq); cleared timers are skipped when they come up.
  const queue = [];
  const live = new Map();
  let nextTimer = 1;
  let seq = 0;

  function insert(t) {
    let lo = 0;
    let hi = queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = queue[mid];
      if (q.when < t.when || (q.when === t.when && q.seq < t.seq)) lo = mid + 1;
      else hi = mid;
    }
    queue.splice(lo, 0, t);
  }

  function schedule(fn, ms, args, repeat) {
    if (typeof fn !== 'function') {
      throw new TypeError(`The "callback" argument must be of type function. Received ${inspect(fn, 0, new Set())}`);
    }
    let delay = Number(ms);
    if (!(delay >= 1)) delay = repeat ? 1 : 0;
    if (delay > 2147483647) delay = 1;
    const t = { id: nextTimer++, when: native.now() + delay, seq: seq++, fn, args, every: repeat ? delay : 0 };
    live.set(t.id, t);
    insert(t);
    native.timerAt(delay);
    return t.id;
  }

  function clear(id) {
    live.delete(typeof id === 'object' && id !== null ? id.id : id);
  }

  // Called by the loop: runs one due timer (-2), or says when the next is
  // due (ms) or that there is none (-1).
  native.onTick(function tick() {
    while (queue.length && live.get(queue[0].id) !== queue[0]) queue.shift();
    if (!queue.length) return -1;
    const now = native.now();
    const t = queue[0];
    if (t.when > now) return t.when - now;
    queue.shift();
    if (t.every) {
      t.when = now + t.every;
      t.seq = seq++;
      insert(t);
    } else {
      live.delete(t.id);
    }
    t.fn.apply(undefined, t.args);
    return -2;
  });

  define(g, 'setTimeout', (fn, ms, ...args) => schedule(fn, ms, args, false));
  define(g, 'setInterval', (fn, ms, ...args) => schedule(fn, ms, args, true));
  define(g, 'clearTimeout', clear);
  define(g, 'clearInterval', clear);
  if (typeof g.queueMicrotask !== 'function') {
    define(g, 'queueMicrotask', (fn) => {
      if (typeof fn !== 'function') throw new TypeError('queueMicrotask needs a function');
      Promise.resolve().then(() => fn());
    });
  }
  if (typeof g.performance !== 'object' || g.performance === null) define(g, 'performance', { now: () => native.now() });
  define(g, 'exit', (code) => native.exit(code === undefined ? 0 : code));

  // --------------------------------------------------------------- encoding

  function toU8(input) {
    if (input === undefined || input === null) return new Uint8Array(0);
    if (input instanceof ArrayBuffer) return new Uint8Array(input);
    if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    throw new TypeError('The "input" argument must be an ArrayBuffer or an ArrayBufferView');
  }

  // How many bytes at the end of `b` start a UTF-8 sequence that is not
  // complete yet (0..3).
  function incompleteTail(b) {
    const n = b.length;
    for (let i = 1; i <= Math.min(3, n); i++) {
      const c = b[n - i];
      if ((c & 0xc0) === 0x80) continue;
      const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
      return need > i ? i : 0;
    }
    return 0;
  }

  const UTF8_LABELS = ['utf-8', 'utf8', 'unicode-1-1-utf-8'];
  const decoders = new WeakMap();

  class TextEncoder {
    get encoding() {
      return 'utf-8';
    }
    encode(input = '') {
      return new Uint8Array(native.utf8Encode(String(input)));
    }
  }

  class TextDecoder {
    constructor(label = 'utf-8', options = {}) {
      if (!UTF8_LABELS.includes(String(label).trim().toLowerCase())) {
        throw new RangeError(`The "${label}" encoding is not supported (only utf-8)`);
      }
      decoders.set(this, { fatal: !!(options && options.fatal), ignoreBOM: !!(options && options.ignoreBOM), pending: null, started: false });
    }
    get encoding() {
      return 'utf-8';
    }
    get fatal() {
      return decoders.get(this).fatal;
    }
    get ignoreBOM() {
      return decoders.get(this).ignoreBOM;
    }
    decode(input, options) {
      const s = decoders.get(this);
      let bytes = toU8(input);
      if (s.pending) {
        const joined = new Uint8Array(s.pending.length + bytes.length);
        joined.set(s.pending);
        joined.set(bytes, s.pending.length);
        bytes = joined;
        s.pending = null;
      }
      const stream = !!(options && options.stream);
      if (stream) {
        const cut = incompleteTail(bytes);
        if (cut) {
          s.pending = bytes.slice(bytes.length - cut);
          bytes = bytes.subarray(0, bytes.length - cut);
        }
      }
      let text = native.utf8Decode(bytes, s.fatal);
      if (!s.started && !s.ignoreBOM && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      s.started = stream && (s.started || text.length > 0);
      return text;
    }
  }
  if (typeof g.TextEncoder !== 'function') define(g, 'TextEncoder', TextEncoder);
  if (typeof g.TextDecoder !== 'function') define(g, 'TextDecoder', TextDecoder);

  // --------------------------------------------------------------------- wx

  // wx's names of types, as in "parameter.url should be String instead of Undefined".
  function wxType(v) {
    if (v === undefined) return 'Undefined';
    if (v === null) return 'Null';
    if (Array.isArray(v)) return 'Array';
    if (typeof v === 'function') return 'Function';
    if (typeof v === 'object') return Object.prototype.toString.call(v).slice(8, -1);
    return { number: 'Number', string: 'String', boolean: 'Boolean', bigint: 'BigInt', symbol: 'Symbol' }[typeof v];
  }

  const paramError = (api, name, expected, v) =>
    `${api}:fail parameter error: parameter.${name} should be ${expected} instead of ${wxType(v)};`;

  const isBinary = (v) => v instanceof ArrayBuffer || ArrayBuffer.isView(v);
  const isPlainObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && !isBinary(v);

  // Checks the options common to the three APIs; a wx errMsg or null.
  function checkCommon(api, o, required) {
    if (!isPlainObject(o)) return `${api}:fail parameter error: parameter should be Object instead of ${wxType(o)};`;
    for (const name of ['success', 'fail', 'complete']) {
      if (o[name] !== undefined && typeof o[name] !== 'function') return paramError(api, name, 'Function', o[name]);
    }
    for (const name of required) {
      if (typeof o[name] !== 'string') return paramError(api, name, 'String', o[name]);
    }
    if (o.header !== undefined && o.header !== null && !isPlainObject(o.header)) return paramError(api, 'header', 'Object', o.header);
    if (o.timeout !== undefined && (typeof o.timeout !== 'number' || !(o.timeout >= 0))) return paramError(api, 'timeout', 'Number', o.timeout);
    if (o.enableHttp2 !== undefined && typeof o.enableHttp2 !== 'boolean') return paramError(api, 'enableHttp2', 'Boolean', o.enableHttp2);
    return null;
  }

  function checkRequest(o) {
    const err = checkCommon('request', o, ['url']);
    if (err) return err;
    for (const name of ['method', 'dataType', 'responseType']) {
      if (o[name] !== undefined && typeof o[name] !== 'string') return paramError('request', name, 'String', o[name]);
    }
    const d = o.data;
    if (d !== undefined && d !== null && typeof d !== 'string' && typeof d !== 'object') {
      return paramError('request', 'data', 'String/Object/ArrayBuffer', d);
    }
    if (o.enableChunked !== undefined && typeof o.enableChunked !== 'boolean') return paramError('request', 'enableChunked', 'Boolean', o.enableChunked);
    if (o.redirect !== undefined && o.redirect !== 'follow' && o.redirect !== 'manual') {
      return `request:fail parameter error: parameter.redirect should be "follow" or "manual" instead of ${JSON.stringify(String(o.redirect))};`;
    }
    if (o.chunkFraming !== undefined && !hasOwn(FRAMING, o.chunkFraming)) {
      return `request:fail parameter error: parameter.chunkFraming should be "raw", "utf8" or "lines" instead of ${JSON.stringify(String(o.chunkFraming))};`;
    }
    return null;
  }

  // nettask's chunk_framing values (NETTASK_FRAMING_*).
  const FRAMING = { raw: 0, utf8: 1, lines: 2 };

  function valueString(v) {
    if (v === undefined || v === null) return '';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  const queryString = (obj) =>
    Object.keys(obj)
      .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(valueString(obj[k]))}`)
      .join('&');

  function appendQuery(url, qs) {
    if (!qs) return url;
    const hash = url.indexOf('#');
    const base = hash >= 0 ? url.slice(0, hash) : url;
    const frag = hash >= 0 ? url.slice(hash) : '';
    const sep = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
    return base + sep + qs + frag;
  }

  function headerPairs(header) {
    const pairs = [];
    if (header) {
      for (const k of Object.keys(header)) {
        const v = header[k];
        if (v === undefined || v === null) continue;
        pairs.push([k, typeof v === 'object' ? JSON.stringify(v) : String(v)]);
      }
    }
    return pairs;
  }

  const findHeader = (pairs, name) => pairs.find(([k]) => k.toLowerCase() === name);

  function headerObject(pairs) {
    const h = {};
    for (const [k, v] of pairs) h[k] = hasOwn(h, k) ? `${h[k]}, ${v}` : v;
    return h;
  }

  function bytesOf(v) {
    return v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }

  // wx's profile: timestamps in ms since the epoch (0 = did not happen).
  function wxProfile(p, epoch) {
    const t = (us) => (us >= 0 ? Math.round((epoch + us / 1000) * 1000) / 1000 : 0);
    const rtt = p.rtt_us >= 0 ? Math.round(p.rtt_us / 1000) : 0;
    return {
      redirectStart: t(p.redirect_start_us),
      redirectEnd: t(p.redirect_end_us),
      fetchStart: t(p.fetch_start_us),
      domainLookUpStart: t(p.dns_start_us),
      domainLookUpEnd: t(p.dns_done_us),
      connectStart: t(p.connect_start_us),
      connectEnd: t(p.connect_done_us),
      SSLconnectionStart: t(p.tls_start_us),
      SSLconnectionEnd: t(p.tls_end_us),
      requestStart: t(p.request_start_us),
      requestEnd: t(p.request_end_us),
      responseStart: t(p.response_start_us),
      responseEnd: t(p.response_end_us),
      rtt,
      estimate_nettype: p.estimate_nettype,
      httpRttEstimate: rtt,
      transportRttEstimate: rtt,
      downstreamThroughputKbpsEstimate: p.throughput_kbps,
      throughputKbps: p.throughput_kbps,
      peerIP: p.peer_ip,
      port: p.peer_port,
      socketReused: p.socket_reused,
      sendBytesCount: p.bytes_sent,
      receivedBytedCount: p.bytes_received,
      protocol: p.protocol,
      redirectCount: p.redirect_count,
      queueTime: p.queued_us >= 0 ? p.queued_us / 1000 : 0,
    };
  }

  // ---------------------------------------------------------------- tasks

  const states = new WeakMap();

  function newState(api, o) {
    const cb = (name) => {
      try {
        return isPlainObject(o) && typeof o[name] === 'function' ? o[name] : undefined;
      } catch (e) {
        return undefined;
      }
    };
    return {
      api,
      key: null,
      done: false,
      success: cb('success'),
      fail: cb('fail'),
      complete: cb('complete'),
      listeners: { headers: [], chunk: [], progress: [] },
      epoch: 0,
      dataType: 'json',
      responseType: 'text',
      filePath: undefined,
    };
  }

  function on(s, event, fn) {
    if (!s || typeof fn !== 'function') return;
    const list = s.listeners[event];
    if (list.includes(fn)) return;
    list.push(fn);
    if (list.length === 1 && s.key !== null && !s.done) native.listen(s.key, event, true);
  }

  function off(s, event, fn) {
    if (!s) return;
    const list = s.listeners[event];
    if (fn === undefined) list.length = 0;
    else if (list.indexOf(fn) >= 0) list.splice(list.indexOf(fn), 1);
    if (!list.length && s.key !== null && !s.done) native.listen(s.key, event, false);
  }

  function abortTask(s) {
    if (s && s.key !== null && !s.done) native.abort(s.key);
  }

  const call = (fn, res) => {
    if (typeof fn === 'function') fn(res);
  };

  function finishWith(s, res, ok) {
    call(ok ? s.success : s.fail, res);
    call(s.complete, res);
  }

  // A failure found before the task started: delivered as a task's
  // failure would be, after the call has returned.
  function failLater(s, errMsg) {
    s.done = true;
    Promise.resolve().then(() => {
      const res = { errMsg };
      if (!s.fail && !s.complete) console.error(errMsg);
      finishWith(s, res, false);
    });
  }

  function emit(list, res) {
    for (const fn of list.slice()) fn(res);
  }

  function requestData(s, buffer) {
    if (s.responseType === 'arraybuffer') return buffer;
    let text = native.utf8Decode(buffer, false);
    if (s.dataType === 'json') {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      try {
        return JSON.parse(text);
      } catch (e) {
        return text;
      }
    }
    return text;
  }

  function finish(s, p) {
    s.done = true;
    s.listeners = { headers: [], chunk: [], progress: [] };
    if (p.code !== 0) {
      finishWith(s, { errMsg: p.errMsg }, false);
      return;
    }
    const header = headerObject(p.headers);
    const profile = wxProfile(p.profile, s.epoch);
    let res;
    if (s.api === 'request') {
      res = { data: requestData(s, p.data), statusCode: p.statusCode, header, cookies: p.cookies, profile, errMsg: p.errMsg };
    } else if (s.api === 'downloadFile') {
      res = s.filePath !== undefined
        ? { filePath: p.filePath, statusCode: p.statusCode, header, profile, errMsg: p.errMsg }
        : { tempFilePath: p.filePath, statusCode: p.statusCode, header, profile, errMsg: p.errMsg };
    } else {
      res = { data: native.utf8Decode(p.data, false), statusCode: p.statusCode, header, cookies: p.cookies, profile, errMsg: p.errMsg };
    }
    finishWith(s, res, true);
  }

  function sinkOf(s) {
    return (type, p) => {
      if (type === 'complete') {
        finish(s, p);
        return;
      }
      if (s.done) return;
      if (type === 'headers') {
        emit(s.listeners.headers, { header: headerObject(p.headers), statusCode: p.statusCode, cookies: p.cookies });
      } else if (type === 'chunk') {
        emit(s.listeners.chunk, { data: p });
      } else if (s.api === 'uploadFile') {
        emit(s.listeners.progress, { progress: p.progress, totalBytesSent: p.sent, totalBytesExpectedToSend: p.expectedToSend });
      } else {
        emit(s.listeners.progress, { progress: p.progress, totalBytesWritten: p.written, totalBytesExpectedToWrite: p.expectedToWrite });
      }
    };
  }

  // How nettask's create/start failures read in wx's errMsg.
  function createError(api, e) {
    if (e.code === 'NETTASK_E_FILE') {
      return `${api}:fail ${api === 'uploadFile' ? 'file read error' : 'download save file error'}: ${e.message}`;
    }
    if (e.code === 'NETTASK_E_BLOCKED') return `${api}:fail url not in domain list: ${e.message}`;
    return `${api}:fail ${e.message}`;
  }

  function start(s, kind, options) {
    const key = native.create(kind, options, sinkOf(s));
    if (typeof key !== 'number') {
      failLater(s, createError(s.api, key));
      return;
    }
    s.key = key;
    s.epoch = Date.now();
    const err = native.start(key);
    if (err) {
      s.key = null;
      failLater(s, createError(s.api, err));
    }
  }

  // What every task has: abort and the headers listener.
  class NetworkTask {
    abort() {
      abortTask(states.get(this));
    }
    onHeadersReceived(fn) {
      on(states.get(this), 'headers', fn);
    }
    offHeadersReceived(fn) {
      off(states.get(this), 'headers', fn);
    }
  }

  class RequestTask extends NetworkTask {
    onChunkReceived(fn) {
      on(states.get(this), 'chunk', fn);
    }
    offChunkReceived(fn) {
      off(states.get(this), 'chunk', fn);
    }
  }

  class DownloadTask extends NetworkTask {
    onProgressUpdate(fn) {
      on(states.get(this), 'progress', fn);
    }
    offProgressUpdate(fn) {
      off(states.get(this), 'progress', fn);
    }
  }

  class UploadTask extends DownloadTask {}

  // wx.request and the others: a task whatever the input. A throw while
  // reading the options (a getter, a Proxy) fails the task like bad input.
  function api(name, Task, body) {
    return function (o) {
      const s = newState(name, o);
      const task = new Task();
      states.set(task, s);
      try {
        body(s, o);
      } catch (e) {
        if (s.key !== null || s.done) throw e;
        failLater(s, `${name}:fail ${e && e.message}`);
      }
      return task;
    };
  }

  const request = api('request', RequestTask, (s, o) => {
    const err = checkRequest(o);
    if (err) {
      failLater(s, err);
      return;
    }
    const method = (o.method === undefined ? 'GET' : o.method).toUpperCase();
    const headers = headerPairs(o.header);
    if (!findHeader(headers, 'content-type')) headers.push(['content-type', 'application/json']);
    const contentType = findHeader(headers, 'content-type')[1].toLowerCase();
    let url = o.url;
    let body;
    const d = o.data;
    try {
      if (d !== undefined && d !== null) {
        if (isBinary(d)) body = bytesOf(d);
        else if (method === 'GET') url = appendQuery(url, typeof d === 'string' ? d : queryString(d));
        else if (typeof d === 'string') body = d;
        else if (contentType.includes('application/x-www-form-urlencoded')) body = queryString(d);
        else body = JSON.stringify(d);
      }
    } catch (e) {
      failLater(s, `request:fail parameter error: parameter.data cannot be serialised: ${e && e.message}`);
      return;
    }
    s.dataType = o.dataType === undefined ? 'json' : o.dataType;
    s.responseType = o.responseType === 'arraybuffer' ? 'arraybuffer' : 'text';
    start(s, 'request', {
      url,
      method,
      headers,
      body,
      timeout: o.timeout,
      followRedirects: o.redirect !== 'manual',
      enableHttp2: o.enableHttp2 === true,
      enableChunked: o.enableChunked === true,
      chunkFraming: FRAMING[o.chunkFraming || 'raw'],
    });
  });

  const downloadFile = api('downloadFile', DownloadTask, (s, o) => {
    let err = checkCommon('downloadFile', o, ['url']);
    if (!err && o.filePath !== undefined && typeof o.filePath !== 'string') err = paramError('downloadFile', 'filePath', 'String', o.filePath);
    if (err) {
      failLater(s, err);
      return;
    }
    s.filePath = o.filePath;
    start(s, 'download', {
      url: o.url,
      headers: headerPairs(o.header),
      timeout: o.timeout,
      filePath: o.filePath,
      enableHttp2: o.enableHttp2 === true,
    });
  });

  const uploadFile = api('uploadFile', UploadTask, (s, o) => {
    let err = checkCommon('uploadFile', o, ['url', 'filePath', 'name']);
    if (!err && o.formData !== undefined && o.formData !== null && !isPlainObject(o.formData)) err = paramError('uploadFile', 'formData', 'Object', o.formData);
    if (err) {
      failLater(s, err);
      return;
    }
    const formData = o.formData ? Object.keys(o.formData).map((k) => [k, valueString(o.formData[k])]) : [];
    start(s, 'upload', {
      url: o.url,
      method: 'POST',
      headers: headerPairs(o.header),
      timeout: o.timeout,
      uploadFilePath: o.filePath,
      uploadName: o.name,
      formData,
      enableHttp2: o.enableHttp2 === true,
    });
  });

  // ------------------------------------------------------------------- files

  function fsCall(api, path, f) {
    try {
      return f();
    } catch (e) {
      throw new Error(`${api}:fail ${e && e.message}, ${path}`);
    }
  }

  const isUtf8 = (encoding) => encoding === 'utf8' || encoding === 'utf-8';

  const fileSystemManager = Object.freeze({
    readFileSync(filePath, encoding) {
      const buffer = fsCall('readFileSync', filePath, () => native.fs.read(String(filePath)));
      return isUtf8(encoding) ? native.utf8Decode(buffer, false) : buffer;
    },
    writeFileSync(filePath, data, encoding) {
      void encoding;
      fsCall('writeFileSync', filePath, () => native.fs.write(String(filePath), isBinary(data) ? bytesOf(data) : String(data), false));
    },
    appendFileSync(filePath, data, encoding) {
      void encoding;
      fsCall('appendFileSync', filePath, () => native.fs.write(String(filePath), isBinary(data) ? bytesOf(data) : String(data), true));
    },
    statSync(path) {
      const st = fsCall('statSync', path, () => native.fs.stat(String(path)));
      return { size: st.size, lastModifiedTime: st.lastModifiedTime, isFile: () => st.isFile, isDirectory: () => st.isDirectory };
    },
    unlinkSync(filePath) {
      fsCall('unlinkSync', filePath, () => native.fs.unlink(String(filePath)));
    },
    mkdirSync(dirPath, recursive) {
      fsCall('mkdirSync', dirPath, () => native.fs.mkdir(String(dirPath), !!recursive));
    },
    rmdirSync(dirPath, recursive) {
      fsCall('rmdirSync', dirPath, () => native.fs.rmdir(String(dirPath), !!recursive));
    },
    readdirSync(dirPath) {
      return fsCall('readdirSync', dirPath, () => native.fs.readdir(String(dirPath)));
    },
    accessSync(path) {
      fsCall('accessSync', path, () => native.fs.access(String(path)));
    },
  });

  const wx = {
    request,
    downloadFile,
    uploadFile,
    getFileSystemManager: () => fileSystemManager,
    env: { USER_DATA_PATH: native.tempDir },
  };
  define(g, 'wx', wx);
  define(g, 'nettaskHost', Object.freeze({ version: native.version, taro: native.taroSource }));

  // ------------------------------------------------------------------- Taro

  // Taro's own weapp runtime (bundled from npm) on top of `wx`, evaluated
  // when the script first touches `Taro`; the bundle assigns globalThis.Taro.
  // (Taro's window copies every global while it loads: `loading` keeps
  // that from loading it again.)
  let loading = false;
  Object.defineProperty(g, 'Taro', {
    configurable: true,
    enumerable: false,
    get() {
      if (loading) return undefined;
      loading = true;
      try {
        native.loadTaro();
      } finally {
        loading = false;
      }
      const desc = Object.getOwnPropertyDescriptor(g, 'Taro');
      if (!desc || !hasOwn(desc, 'value')) throw new Error('the Taro bundle did not define Taro');
      return desc.value;
    },
    set(value) {
      define(g, 'Taro', value);
    },
  });
})();
