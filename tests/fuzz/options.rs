//! Target `options`: the C entry points fed arbitrary option structs, in
//! random orders, the way a careless C host would call them (but never
//! with a dangling pointer: that is undefined behaviour no library can
//! detect).
//!
//! Each case creates a few tasks from fuzzed `nettask_request_options`
//! (now and then a client from fuzzed `nettask_client_options` too), then
//! runs a random program of listener on/off, start, abort, release and
//! client free calls on them. Tasks are started only when their URL is
//! http(s)://127.0.0.1:1 (nothing listens there, so they fail fast with
//! NETTASK_E_CONNECT and nothing leaves the machine), their client's proxy
//! is local, and a download's files land in this run's scratch directory.
//!
//! Invariants: no crash or panic; every call returns a valid code, and the
//! one its documentation promises where it promises one; a failed call
//! leaves a sentence for `nettask_last_error`; `*_init_version` writes no
//! byte past the struct; every started task completes exactly once, with
//! an `err_msg` of its kind and never NETTASK_E_INVALID_ARGUMENT or
//! NETTASK_E_INTERNAL; no listener runs after the completion; a failed
//! download leaves no file behind.

use std::collections::VecDeque;
use std::ffi::{CStr, c_char, c_void};
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use nettask::ffi::nettask_code::*;
use nettask::ffi::*;

use crate::support::{Config, Findings, Rng, Stats, escape};

/// How long a started task may take to complete. A connection to port 1
/// is refused at once; this only bounds a hang.
const COMPLETION_DEADLINE: Duration = Duration::from_secs(10);

/// Probes kept alive after their case, so that a listener the library
/// wrongly calls after a completion still finds its probe (and is
/// reported) instead of freed memory.
const RETIRED: usize = 512;

/// How much of a fuzzed string the report shows.
const SHOWN: usize = 160;

/// `nettask_request_options` as a C caller lays it out, with each `bool`
/// as the byte behind it: a Rust `bool` holding 2 would be undefined
/// behaviour in this test itself, while the library reads bools by their
/// byte (src/ffi/input.rs `flag`).
#[repr(C)]
#[derive(Clone, Copy)]
struct RawRequestOptions {
    version: u32,
    url: *const c_char,
    method: *const c_char,
    headers: *const nettask_header,
    header_count: usize,
    body: *const u8,
    body_len: usize,
    timeout_ms: u32,
    follow_redirects: u8,
    max_redirects: u32,
    idle_timeout_ms: u32,
    enable_http2: u8,
    enable_chunked: u8,
    max_response_bytes: u64,
    file_path: *const c_char,
    http2_prior_knowledge: u8,
    accept_encoding: *const c_char,
    upload_file_path: *const c_char,
    upload_name: *const c_char,
    form_fields: *const nettask_header,
    form_field_count: usize,
    body_file_path: *const c_char,
    chunk_framing: u32,
    pinned_public_keys: *const c_char,
}

/// The mirror has the library's layout, field by field; a field added to
/// the library's struct breaks the size check until it is mirrored here.
const _: () = {
    use std::mem::{align_of, offset_of, size_of};
    type L = nettask_request_options;
    type M = RawRequestOptions;
    assert!(size_of::<L>() == size_of::<M>() && align_of::<L>() == align_of::<M>());
    assert!(offset_of!(L, version) == offset_of!(M, version));
    assert!(offset_of!(L, url) == offset_of!(M, url));
    assert!(offset_of!(L, method) == offset_of!(M, method));
    assert!(offset_of!(L, headers) == offset_of!(M, headers));
    assert!(offset_of!(L, header_count) == offset_of!(M, header_count));
    assert!(offset_of!(L, body) == offset_of!(M, body));
    assert!(offset_of!(L, body_len) == offset_of!(M, body_len));
    assert!(offset_of!(L, timeout_ms) == offset_of!(M, timeout_ms));
    assert!(offset_of!(L, follow_redirects) == offset_of!(M, follow_redirects));
    assert!(offset_of!(L, max_redirects) == offset_of!(M, max_redirects));
    assert!(offset_of!(L, idle_timeout_ms) == offset_of!(M, idle_timeout_ms));
    assert!(offset_of!(L, enable_http2) == offset_of!(M, enable_http2));
    assert!(offset_of!(L, enable_chunked) == offset_of!(M, enable_chunked));
    assert!(offset_of!(L, max_response_bytes) == offset_of!(M, max_response_bytes));
    assert!(offset_of!(L, file_path) == offset_of!(M, file_path));
    assert!(offset_of!(L, http2_prior_knowledge) == offset_of!(M, http2_prior_knowledge));
    assert!(offset_of!(L, accept_encoding) == offset_of!(M, accept_encoding));
    assert!(offset_of!(L, upload_file_path) == offset_of!(M, upload_file_path));
    assert!(offset_of!(L, upload_name) == offset_of!(M, upload_name));
    assert!(offset_of!(L, form_fields) == offset_of!(M, form_fields));
    assert!(offset_of!(L, form_field_count) == offset_of!(M, form_field_count));
    assert!(offset_of!(L, body_file_path) == offset_of!(M, body_file_path));
    assert!(offset_of!(L, chunk_framing) == offset_of!(M, chunk_framing));
    assert!(offset_of!(L, pinned_public_keys) == offset_of!(M, pinned_public_keys));
};

impl RawRequestOptions {
    fn zeroed() -> RawRequestOptions {
        // SAFETY: integers, bytes and raw pointers: all-zero is valid.
        unsafe { std::mem::zeroed() }
    }

    fn as_c(&self) -> *const nettask_request_options {
        ptr::from_ref(self).cast()
    }
}

/// An options struct followed by guard bytes, to catch a write past it.
#[repr(C)]
struct Guarded<T> {
    opts: T,
    guard: [u8; 64],
}

const GUARD: u8 = 0xA5;

/// The buffers a case's structs point into. Each is a separate heap
/// allocation that does not move when the lists grow, and all live until
/// the case ends, after every call that could read them.
#[derive(Default)]
struct Arena {
    bytes: Vec<Box<[u8]>>,
    headers: Vec<Box<[nettask_header]>>,
    pointers: Vec<Box<[*const c_char]>>,
}

impl Arena {
    /// A NUL-terminated copy of `bytes` (which may hold NULs of their own:
    /// the C string then ends at the first one).
    fn c_string(&mut self, bytes: &[u8]) -> *const c_char {
        let mut owned = bytes.to_vec();
        owned.push(0);
        self.buffer(owned).cast()
    }

    fn buffer(&mut self, bytes: Vec<u8>) -> *const u8 {
        let boxed = bytes.into_boxed_slice();
        let p = boxed.as_ptr();
        self.bytes.push(boxed);
        p
    }

    fn header_array(&mut self, list: Vec<nettask_header>) -> *const nettask_header {
        let boxed = list.into_boxed_slice();
        let p = boxed.as_ptr();
        self.headers.push(boxed);
        p
    }

    fn pointer_array(&mut self, list: Vec<*const c_char>) -> *const *const c_char {
        let boxed = list.into_boxed_slice();
        let p = boxed.as_ptr();
        self.pointers.push(boxed);
        p
    }

    fn opt_c_string(&mut self, bytes: &Option<Vec<u8>>) -> *const c_char {
        bytes.as_ref().map_or(ptr::null(), |b| self.c_string(b))
    }
}

fn show(bytes: &Option<Vec<u8>>) -> String {
    bytes
        .as_ref()
        .map_or_else(|| "NULL".to_owned(), |b| escape(b, SHOWN))
}

fn code_name(code: nettask_code) -> String {
    // SAFETY: nettask_code_name returns a static C string for any code.
    unsafe { CStr::from_ptr(nettask_code_name(code as std::ffi::c_int)) }
        .to_string_lossy()
        .into_owned()
}

fn last_error() -> Option<String> {
    let p = nettask_last_error();
    // SAFETY: NULL or a C string valid until the next failing call here.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Request,
    Download,
    Upload,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Request => "request:",
            Kind::Download => "downloadFile:",
            Kind::Upload => "uploadFile:",
        }
    }
}

/// What the listeners of one task saw, filled on the client's event
/// thread and read on the test's.
struct Probe {
    kind: Kind,
    /// The task's client as an address, for the listener that tries to
    /// free it (it must be refused); 0 for none.
    client: usize,
    client_is_default: bool,
    /// Calls of `count_complete` with this probe.
    completions: Mutex<usize>,
    completed: Condvar,
    /// Headers, chunk or progress calls after a completion.
    late: AtomicUsize,
    /// The code of the last completion seen, as its number; -1 for none.
    code: AtomicI64,
    /// What a listener found wrong: (class, detail).
    notes: Mutex<Vec<(String, String)>>,
}

impl Probe {
    fn new(kind: Kind, client: *mut nettask_client, client_is_default: bool) -> Arc<Probe> {
        Arc::new(Probe {
            kind,
            client: client as usize,
            client_is_default,
            completions: Mutex::new(0),
            completed: Condvar::new(),
            late: AtomicUsize::new(0),
            code: AtomicI64::new(-1),
            notes: Mutex::new(Vec::new()),
        })
    }

    fn note(&self, class: &str, detail: String) {
        self.notes.lock().unwrap().push((class.to_owned(), detail));
    }

    fn completions(&self) -> usize {
        *self.completions.lock().unwrap()
    }

    fn event(&self) {
        if self.completions() > 0 {
            self.late.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn complete(&self) {
        *self.completions.lock().unwrap() += 1;
        self.completed.notify_all();
    }

    /// Waits for a completion until `deadline`; whether one came.
    fn wait(&self, deadline: Instant) -> bool {
        let mut n = self.completions.lock().unwrap();
        while *n == 0 {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            n = self.completed.wait_timeout(n, left).unwrap().0;
        }
        true
    }

    fn user_data(self: &Arc<Probe>) -> *mut c_void {
        Arc::as_ptr(self).cast_mut().cast()
    }

    /// Checks what a complete listener got. Nothing listens on port 1, so
    /// a started task can only fail; the code must still be a real one.
    ///
    /// # Safety
    /// `r` is the result a complete listener was given, valid for the call.
    unsafe fn check_result(&self, r: *const nettask_result) {
        // SAFETY: the code is read as the integer it is in C, so a value
        // outside the enum is seen rather than undefined behaviour.
        let raw = unsafe { (&raw const (*r).code).cast::<u32>().read() };
        self.code.store(raw.into(), Ordering::SeqCst);
        let Some(code) = nettask::Code::from_raw(raw.into()) else {
            return self.note("completion code is no nettask_code", format!("{raw}"));
        };
        // SAFETY: valid for the call.
        let r = unsafe { &*r };
        // SAFETY: NULL or a C string valid for the call.
        let msg = (!r.err_msg.is_null()).then(|| unsafe { CStr::from_ptr(r.err_msg) });
        let msg = msg.map(|m| m.to_string_lossy().into_owned());
        if matches!(
            code,
            NETTASK_OK | NETTASK_E_INVALID_ARGUMENT | NETTASK_E_INTERNAL
        ) {
            self.note(
                &format!(
                    "started task completed with {} (curl_code {})",
                    code_name(code),
                    r.curl_code
                ),
                format!("err_msg {msg:?}, curl_code {}", r.curl_code),
            );
        }
        if !msg
            .as_deref()
            .is_some_and(|m| m.starts_with(self.kind.prefix()))
        {
            self.note(
                &format!("err_msg does not start with {:?}", self.kind.prefix()),
                format!("code {}, err_msg {msg:?}", code_name(code)),
            );
        }
        if r.profile.is_null() {
            self.note("result profile is NULL", String::new());
        }
        if code != NETTASK_OK && !r.file_path.is_null() {
            self.note("failed task has a file_path", String::new());
        }
    }
}

/// The `user_data` of listeners that are no probe's, registered to fill
/// the lists; the callbacks recognise it and do nothing.
static NOT_A_PROBE: u8 = 0;

fn not_a_probe() -> *mut c_void {
    ptr::from_ref(&NOT_A_PROBE).cast_mut().cast()
}

fn probe_of<'a>(ud: *mut c_void) -> Option<&'a Probe> {
    if ud.is_null() || ud == not_a_probe() {
        return None;
    }
    // SAFETY: every other user_data this target registers is a Probe,
    // kept alive (in `Retired`) long after its task's last listener call.
    Some(unsafe { &*ud.cast::<Probe>() })
}

unsafe extern "C" fn on_headers(
    _: *mut nettask_task,
    _: *const nettask_response_head,
    ud: *mut c_void,
) {
    if let Some(p) = probe_of(ud) {
        p.event();
    }
}

unsafe extern "C" fn on_chunk(_: *mut nettask_task, _: *const u8, _: usize, ud: *mut c_void) {
    if let Some(p) = probe_of(ud) {
        p.event();
    }
}

unsafe extern "C" fn on_progress(
    _: *mut nettask_task,
    _: *const nettask_progress,
    ud: *mut c_void,
) {
    if let Some(p) = probe_of(ud) {
        p.event();
    }
}

/// The counting complete listener: with its task's probe as `user_data`,
/// the one whose calls must number exactly one.
unsafe extern "C" fn count_complete(
    _: *mut nettask_task,
    r: *const nettask_result,
    ud: *mut c_void,
) {
    if let Some(p) = probe_of(ud) {
        // SAFETY: the result of this call.
        unsafe { p.check_result(r) };
        p.complete();
    }
}

/// A complete listener that calls back into the library, as API.md allows
/// (except freeing its own client, which must be refused).
unsafe extern "C" fn reentrant_complete(
    task: *mut nettask_task,
    r: *const nettask_result,
    ud: *mut c_void,
) {
    let Some(p) = probe_of(ud) else { return };
    // SAFETY: the result of this call.
    unsafe { p.check_result(r) };
    // SAFETY: `task` is valid during the call.
    let code = unsafe { nettask_abort(task) };
    if code != NETTASK_OK {
        p.note("abort from a complete listener is not OK", code_name(code));
    }
    // SAFETY: `task` is valid during the call; `ud` is this probe.
    let code = unsafe { nettask_on_progress_update(task, Some(on_progress), ud) };
    if !matches!(code, NETTASK_OK | NETTASK_E_SHUTDOWN) {
        p.note("on_progress_update from a listener failed", code_name(code));
    }
    if p.client != 0 {
        // SAFETY: the client runs this listener, so it is alive; freeing
        // it from here must be refused without freeing anything.
        let code = unsafe { nettask_client_free(p.client as *mut nettask_client) };
        let want = if p.client_is_default {
            NETTASK_OK
        } else {
            NETTASK_E_INVALID_STATE
        };
        if code != want {
            p.note(
                "client_free from its own listener",
                format!("returned {}, want {}", code_name(code), code_name(want)),
            );
        }
    }
}

/// Whether `url` is http(s)://127.0.0.1:1 with nothing after the port but
/// a path, query or fragment: the only URLs this target starts. Read up
/// to the first NUL, as the library does.
fn is_port_1(url: &[u8]) -> bool {
    let url = url.split(|&b| b == 0).next().unwrap_or_default();
    let Ok(url) = std::str::from_utf8(url) else {
        return false;
    };
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
        .and_then(|r| r.strip_prefix("127.0.0.1:1"));
    rest.is_some_and(|r| r.is_empty() || r.starts_with(['/', '?', '#']))
}

/// Text of every kind a C string can hold: empty, short, long, with
/// control bytes, not UTF-8, non-ASCII.
fn any_text(rng: &mut Rng) -> Vec<u8> {
    let len = rng.len();
    match rng.below(8) {
        0 => Vec::new(),
        1 | 2 => rng.printable(len),
        3 => rng.bytes(len),
        4 => "例子.测试 ünï".as_bytes().to_vec(),
        5 => {
            let mut t = rng.printable(len);
            let at = rng.below(t.len() + 1);
            let bad: &[u8] =
                rng.pick::<&[u8]>(&[&b"\r\n"[..], b"\n", b"\r", b"\x7f", b" ", b"\xff\xfe"]);
            t.splice(at..at, bad.iter().copied());
            t
        }
        6 => vec![b'a'; rng.range(60_000..=300_000)],
        _ => {
            let len = rng.range(1..=8);
            rng.printable(len)
        }
    }
}

/// What may follow the authority of a URL.
fn url_tail(rng: &mut Rng) -> Vec<u8> {
    let mut tail = match rng.below(5) {
        0 => Vec::new(),
        1 => b"/".to_vec(),
        2 => {
            let mut t = b"/".to_vec();
            let len = rng.len().min(400);
            t.extend(rng.printable(len));
            t
        }
        3 => b"/a/../b/./c?q=1&r=%20%zz#frag".to_vec(),
        _ => {
            let mut t = rng.pick(&[&b"?"[..], b"#", b"/"]).to_vec();
            t.extend(any_text(rng).into_iter().take(500));
            t
        }
    };
    if rng.chance(1, 20) {
        tail.extend(b"/\xff\xfe\xc3");
    }
    tail
}

fn port_1_url(rng: &mut Rng) -> Vec<u8> {
    let scheme: &[u8] = rng.pick::<&[u8]>(&[&b"http"[..], b"https", b"HTTP", b"hTtPs"]);
    let mut url = scheme.to_vec();
    url.extend(b"://127.0.0.1:1");
    url.extend(url_tail(rng));
    url
}

/// A few bytes of `v` changed: flipped, inserted, deleted, duplicated.
fn mutate(rng: &mut Rng, mut v: Vec<u8>) -> Vec<u8> {
    for _ in 0..rng.range(1..=4) {
        let at = rng.below(v.len() + 1);
        match rng.below(5) {
            0 if at < v.len() => v[at] ^= 1 << rng.below(8),
            1 => v.insert(at, *rng.pick(b"/:@?#[]%.0 \0\r\n\xff")),
            2 if at < v.len() => {
                v.remove(at);
            }
            3 => v.insert(at, rng.byte()),
            _ => {
                let end = rng.range(at..=v.len());
                let copy = v[at..end].to_vec();
                v.splice(at..at, copy);
            }
        }
    }
    v
}

/// A URL: mostly ones this target may start, then every way to be wrong.
fn any_url(rng: &mut Rng) -> Option<Vec<u8>> {
    let url = match rng.below(24) {
        0 => return None,
        1..=9 => port_1_url(rng),
        10..=12 => {
            let url = port_1_url(rng);
            mutate(rng, url)
        }
        13 | 14 => {
            let scheme: &[u8] = rng.pick::<&[u8]>(&[
                &b"ftp"[..],
                b"file",
                b"ws",
                b"gopher",
                b"",
                b"http:",
                b"htp",
                b"HTTPS ",
                b"h\xc3\xa9ttp",
            ]);
            [scheme, b"://127.0.0.1:1/"].concat()
        }
        15 | 16 => {
            let host: &[u8] = rng.pick::<&[u8]>(&[
                &b"127.0.0.1"[..],
                b"[::1]",
                b"[::1",
                b"[]",
                b"",
                b"\xe4\xbe\x8b\xe5\xad\x90.test",
                b"a_b",
                b"%00",
                b"user:pw@127.0.0.1",
                b"127.0.0.1:1@127.0.0.2",
            ]);
            let port: &[u8] = rng.pick::<&[u8]>(&[
                &b"1"[..],
                b"0",
                b"65535",
                b"65536",
                b"99999999999999999999",
                b"-1",
                b"",
                b"80x",
                b"+1",
            ]);
            let mut url = [b"http://", host, b":", port].concat();
            url.extend(url_tail(rng));
            url
        }
        17 => rng
            .pick(&[
                &b"127.0.0.1:1/"[..],
                b"//127.0.0.1:1/",
                b"http:127.0.0.1:1",
                b"http:/127.0.0.1:1",
            ])
            .to_vec(),
        18 | 19 => any_text(rng),
        20 => {
            // Long URLs; libcurl refuses those past 8 MiB
            // (CURL_MAX_INPUT_LENGTH), and API.md says create must too.
            let len = if rng.chance(1, 10) {
                8_000_000 + rng.below(400_000)
            } else {
                rng.range(1_000..=300_000)
            };
            let mut url = b"http://127.0.0.1:1/".to_vec();
            url.resize(len, b'a');
            url
        }
        _ => {
            let url = port_1_url(rng);
            let url = mutate(rng, url);
            mutate(rng, url)
        }
    };
    Some(url)
}

/// A file to send: NULL, a small file (outside the scratch directory,
/// which must stay empty), one that does not exist, a directory, or any
/// text.
fn any_sent_file(rng: &mut Rng, dir: &Path) -> Option<Vec<u8>> {
    let real = std::env::temp_dir().join(format!("nettask-fuzz-sent-{}.bin", std::process::id()));
    if !real.exists() {
        std::fs::write(&real, b"fuzz upload body").unwrap();
    }
    let pick = |p: &Path| Some(p.as_os_str().as_encoded_bytes().to_vec());
    match rng.below(6) {
        0 => None,
        1 | 2 => pick(&real),
        3 => pick(&dir.join("missing.bin")),
        4 => pick(dir),
        _ => Some(any_text(rng)),
    }
}

fn any_accept_encoding(rng: &mut Rng) -> Option<Vec<u8>> {
    const LISTS: [&str; 5] = ["", "gzip", "br;q=0, *", "zstd, gzip;q=0.5", "identity"];
    match rng.below(4) {
        0 => None,
        1 | 2 => Some(rng.pick(&LISTS).as_bytes().to_vec()),
        _ => Some(any_text(rng)),
    }
}

fn any_method(rng: &mut Rng) -> Option<Vec<u8>> {
    const METHODS: [&str; 9] = [
        "OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT", "PATCH",
    ];
    match rng.below(6) {
        0 | 1 => None,
        2 | 3 => Some(rng.pick(&METHODS).as_bytes().to_vec()),
        4 => {
            let m = rng.pick(&METHODS).as_bytes();
            Some(
                m.iter()
                    .map(|&b| {
                        if rng.chance(1, 2) {
                            b.to_ascii_lowercase()
                        } else {
                            b
                        }
                    })
                    .collect(),
            )
        }
        _ => Some(any_text(rng)),
    }
}

fn header_name(rng: &mut Rng) -> Option<Vec<u8>> {
    match rng.below(10) {
        0 => None,
        1..=5 => Some(
            rng.pick(&[
                &b"X-Test"[..],
                b"Accept",
                b"Host",
                b"Content-Length",
                b"Expect",
                b"Cookie",
            ])
            .to_vec(),
        ),
        _ => Some(any_text(rng)),
    }
}

fn header_value(rng: &mut Rng) -> Option<Vec<u8>> {
    match rng.below(10) {
        0 => None,
        1..=4 => {
            let len = rng.len().min(200);
            Some(rng.printable(len))
        }
        _ => Some(any_text(rng)),
    }
}

/// A header array and its count: consistent, NULL with a count, non-NULL
/// with 0, or more entries than the library accepts.
fn any_headers(
    rng: &mut Rng,
    arena: &mut Arena,
    desc: &mut String,
) -> (*const nettask_header, usize) {
    match rng.below(10) {
        0..=4 => {
            desc.push_str("headers: NULL/0, ");
            (ptr::null(), 0)
        }
        5 => {
            let count = rng.pick(&[1usize, 3, usize::MAX]).to_owned();
            let _ = write!(desc, "headers: NULL/{count}, ");
            (ptr::null(), count)
        }
        6 => {
            desc.push_str("headers: [1 valid]/0, ");
            let name = arena.c_string(b"X-A");
            let list = vec![nettask_header { name, value: name }];
            (arena.header_array(list), 0)
        }
        7 if rng.chance(1, 10) => {
            // Past the library's limit of 10 000, every entry valid.
            let count = 10_001;
            let _ = write!(desc, "headers: [{count} x X-A: b], ");
            let (name, value) = (arena.c_string(b"X-A"), arena.c_string(b"b"));
            (
                arena.header_array(vec![nettask_header { name, value }; count]),
                count,
            )
        }
        _ => {
            let count = rng.range(1..=5);
            desc.push_str("headers: [");
            let list = (0..count)
                .map(|_| {
                    let (name, value) = (header_name(rng), header_value(rng));
                    let _ = write!(desc, "{}: {}, ", show(&name), show(&value));
                    nettask_header {
                        name: arena.opt_c_string(&name),
                        value: arena.opt_c_string(&value),
                    }
                })
                .collect();
            desc.push_str("], ");
            (arena.header_array(list), count)
        }
    }
}

/// A body pointer and length: NULL/0, NULL with a length, a real buffer,
/// or a real one-byte buffer with length 0.
fn any_body(rng: &mut Rng, arena: &mut Arena, desc: &mut String) -> (*const u8, usize) {
    let (p, len, what) = match rng.below(8) {
        0..=2 => (ptr::null(), 0, "NULL"),
        3 => {
            let len = *rng.pick(&[
                1,
                100,
                isize::MAX as usize,
                isize::MAX as usize + 1,
                usize::MAX,
            ]);
            (ptr::null(), len, "NULL")
        }
        4 => (arena.buffer(vec![b'x']), 0, "a 1-byte buffer"),
        5 if rng.chance(1, 8) => {
            let len = rng.range(1 << 20..=2 << 20);
            (arena.buffer(vec![b'b'; len]), len, "a buffer")
        }
        _ => {
            let len = rng.range(1..=4096);
            (arena.buffer(rng.bytes(len)), len, "a buffer")
        }
    };
    let _ = write!(desc, "body: {what}/{len}, ");
    (p, len)
}

/// Where a download may be written: a path in `dir` (whose parent may not
/// exist, or that names no file), or anything at all. The flag says
/// whether starting a download there keeps its files in `dir`.
fn any_file_path(rng: &mut Rng, dir: &Path) -> (Option<Vec<u8>>, bool) {
    let mut inside = dir.as_os_str().as_encoded_bytes().to_vec();
    match rng.below(10) {
        0..=3 => (None, true),
        4..=6 => {
            for _ in 0..rng.range(1..=2) {
                inside.push(b'/');
                inside.extend(path_component(rng));
            }
            if rng.chance(1, 8) {
                inside.push(b'/');
            }
            (Some(inside), true)
        }
        7 => (
            Some(rng.pick(&[&b""[..], b"/", b".", b".."]).to_vec()),
            false,
        ),
        _ => (Some(any_text(rng)), false),
    }
}

/// A file name: any bytes but '/' and NUL, never "." or "..".
fn path_component(rng: &mut Rng) -> Vec<u8> {
    let len = rng.range(1..=24);
    let name: Vec<u8> = match rng.below(3) {
        0 => rng.bytes(len),
        _ => rng.printable(len),
    }
    .into_iter()
    .map(|b| if b == b'/' || b == 0 { b'_' } else { b })
    .collect();
    if name == b"." || name == b".." {
        b"dot".to_vec()
    } else {
        name
    }
}

fn any_version(rng: &mut Rng) -> u32 {
    match rng.below(10) {
        0..=6 => 1,
        7 => 0,
        8 => 2,
        _ => rng.u32(),
    }
}

/// What a generated request options struct allows.
struct RequestCase {
    raw: RawRequestOptions,
    desc: String,
    /// Starting it keeps to 127.0.0.1:1 and to the scratch directory,
    /// given a client with a local proxy (and, without a file_path, a
    /// temp_dir in the scratch directory).
    port_1: bool,
    file_path_ours: Option<bool>,
}

/// A request options struct with arbitrary fields: mostly a filled one
/// with some fields changed, sometimes every field random.
fn any_request_options(rng: &mut Rng, arena: &mut Arena, dir: &Path) -> RequestCase {
    let mut g = Guarded {
        opts: RawRequestOptions::zeroed(),
        guard: [GUARD; 64],
    };
    let filled = rng.chance(3, 4);
    if filled {
        // SAFETY: a whole (current) struct is writable behind the pointer.
        let code = unsafe { nettask_request_options_init_version((&raw mut g.opts).cast(), 1) };
        assert_eq!(code, NETTASK_OK, "init of version 1");
    }
    let mut o = g.opts;
    // Each field: random when the struct is not filled, else sometimes.
    let change = |rng: &mut Rng| !filled || rng.chance(1, 4);
    let mut desc = String::from("{");
    if change(rng) {
        o.version = any_version(rng);
    }
    let _ = write!(desc, "version: {}, ", o.version);
    let url = any_url(rng);
    o.url = arena.opt_c_string(&url);
    let _ = write!(desc, "url: {}, ", show(&url));
    if change(rng) {
        let method = any_method(rng);
        o.method = arena.opt_c_string(&method);
        let _ = write!(desc, "method: {}, ", show(&method));
    }
    if change(rng) {
        (o.headers, o.header_count) = any_headers(rng, arena, &mut desc);
    }
    if change(rng) {
        (o.body, o.body_len) = any_body(rng, arena, &mut desc);
    }
    if change(rng) {
        let file = any_sent_file(rng, dir);
        o.upload_file_path = arena.opt_c_string(&file);
        let name = rng.chance(3, 4).then(|| any_text(rng));
        o.upload_name = arena.opt_c_string(&name);
        let _ = write!(
            desc,
            "upload_file_path: {}, upload_name: {}, ",
            show(&file),
            show(&name)
        );
        let mut fields = String::new();
        (o.form_fields, o.form_field_count) = any_headers(rng, arena, &mut fields);
        let _ = write!(desc, "form_fields: {}", fields.replacen("headers", "", 1));
    }
    if change(rng) && rng.chance(1, 3) {
        let file = any_sent_file(rng, dir);
        o.body_file_path = arena.opt_c_string(&file);
        let _ = write!(desc, "body_file_path: {}, ", show(&file));
    }
    if change(rng) {
        let codings = any_accept_encoding(rng);
        o.accept_encoding = arena.opt_c_string(&codings);
        let _ = write!(desc, "accept_encoding: {}, ", show(&codings));
    }
    if change(rng) && rng.chance(1, 3) {
        let pins = match rng.below(4) {
            0 => b"sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_vec(),
            1 => b"sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;sha256//x".to_vec(),
            _ => any_text(rng),
        };
        o.pinned_public_keys = arena.c_string(&pins);
        let _ = write!(desc, "pinned_public_keys: {}, ", escape(&pins, SHOWN));
    }
    let mut file_path_ours = None;
    if change(rng) {
        let (path, ours) = any_file_path(rng, dir);
        o.file_path = arena.opt_c_string(&path);
        file_path_ours = path.is_some().then_some(ours);
        let _ = write!(desc, "file_path: {}, ", show(&path));
    }
    for (field, name) in [
        (&mut o.timeout_ms, "timeout_ms"),
        (&mut o.max_redirects, "max_redirects"),
        (&mut o.idle_timeout_ms, "idle_timeout_ms"),
        (&mut o.chunk_framing, "chunk_framing"),
    ] {
        if change(rng) {
            // Mostly the few values chunk_framing and timeouts mean.
            *field = match rng.below(4) {
                0 => rng.below(4) as u32,
                1 => u32::MAX,
                _ => rng.u32(),
            };
            let _ = write!(desc, "{name}: {field}, ");
        }
    }
    if change(rng) {
        o.max_response_bytes = rng.u64();
        let _ = write!(desc, "max_response_bytes: {}, ", o.max_response_bytes);
    }
    for (field, name) in [
        (&mut o.follow_redirects, "follow_redirects"),
        (&mut o.enable_http2, "enable_http2"),
        (&mut o.enable_chunked, "enable_chunked"),
        (&mut o.http2_prior_knowledge, "http2_prior_knowledge"),
    ] {
        if change(rng) {
            *field = rng.flag_byte();
            let _ = write!(desc, "{name}: {field:#04x}, ");
        }
    }
    desc.push('}');
    RequestCase {
        raw: o,
        desc,
        port_1: url.as_deref().is_some_and(is_port_1),
        file_path_ours,
    }
}

/// What a generated client options struct allows.
struct ClientCase {
    opts: nettask_client_options,
    desc: String,
    /// The proxy is NULL, empty or on 127.0.0.1:1: tasks may start.
    proxy_local: bool,
    /// temp_dir is in the scratch directory.
    temp_dir_ours: bool,
}

fn any_client_options(rng: &mut Rng, arena: &mut Arena, dir: &Path) -> ClientCase {
    // SAFETY: integers and raw pointers: all-zero is valid.
    let mut o: nettask_client_options = unsafe { std::mem::zeroed() };
    o.version = any_version(rng);
    o.max_concurrent_tasks = rng.u32();
    o.max_connections_per_host = rng.u32();
    o.default_timeout_ms = rng.u32();
    let dir_bytes = dir.as_os_str().as_encoded_bytes();
    let user_agent = match rng.below(3) {
        0 => None,
        1 => {
            let len = rng.range(0..=40);
            Some(rng.printable(len))
        }
        _ => Some(any_text(rng)),
    };
    let ca_file: Option<Vec<u8>> = match rng.below(6) {
        0..=2 => None,
        3 => Some(dir_bytes.to_vec()), // a directory
        4 => Some(
            rng.pick(&[&b"Cargo.toml"[..], b"/nonexistent/ca.pem", b""])
                .to_vec(),
        ),
        _ => Some(any_text(rng)),
    };
    let (proxy, proxy_local) = match rng.below(6) {
        0..=2 => (None, true),
        3 => (
            Some(
                rng.pick(&[
                    &b""[..],
                    b"http://127.0.0.1:1",
                    b"socks5://127.0.0.1:1",
                    b"socks5h://127.0.0.1:1",
                ])
                .to_vec(),
            ),
            true,
        ),
        _ => (Some(any_text(rng)), false),
    };
    let (temp_dir, temp_dir_ours) = match rng.below(4) {
        0 => (None, false),
        1 => (Some(dir_bytes.to_vec()), true),
        2 => (Some([dir_bytes, b"/missing"].concat()), true),
        _ => (Some(any_text(rng)), false),
    };
    o.user_agent = arena.opt_c_string(&user_agent);
    o.ca_file = arena.opt_c_string(&ca_file);
    o.proxy = arena.opt_c_string(&proxy);
    o.temp_dir = arena.opt_c_string(&temp_dir);
    // Version 2. The jar file is always in the scratch directory (the
    // library writes it at free): a file, the directory itself, or a path
    // under a missing directory (saving fails).
    o.enable_cookies = rng.flag_byte() != 0;
    let cookie_file = match rng.below(6) {
        0..=2 => None,
        3 => Some([dir_bytes, format!("/jar-{}", rng.u32()).as_bytes()].concat()),
        4 => Some(dir_bytes.to_vec()),
        _ => Some([dir_bytes, b"/missing/jar"].concat()),
    };
    o.cookie_file = arena.opt_c_string(&cookie_file);
    let host_entries: [&[u8]; 10] = [
        b"127.0.0.1",
        b"127.0.0.1:1",
        b"*.test",
        b"[::1]",
        b"*.127.0.0.1",
        b"a.test:0",
        b"",
        b"user@a.test",
        b"\xe4\xb8\xad.test",
        b"a b",
    ];
    let (allowed_hosts, allowed_desc) = any_text_list(rng, arena, &host_entries);
    (o.allowed_hosts, o.allowed_host_count) = allowed_hosts;
    o.https_only = rng.chance(1, 8);
    let resolve_entries: [&[u8]; 6] = [
        b"a.test:1:127.0.0.1",
        b"a.test:1:127.0.0.1,[::1]",
        b"a.test:0:127.0.0.1",
        b"127.0.0.1:1:127.0.0.2",
        b"a.test:1:example.com",
        b"a.test",
    ];
    let (resolve, resolve_desc) = any_text_list(rng, arena, &resolve_entries);
    (o.resolve, o.resolve_count) = resolve;
    // DoH only ever to loopback port 1 (a task's URL is an IP there, so
    // it is never used; a client still checks it).
    let doh_url = match rng.below(8) {
        0..=4 => None,
        5 => Some(b"https://127.0.0.1:1/dns-query".to_vec()),
        6 => Some(b"http://127.0.0.1:1/dns-query".to_vec()),
        _ => Some(rng.pick(&[&b""[..], b"not a url", b"https://"]).to_vec()),
    };
    o.doh_url = arena.opt_c_string(&doh_url);
    // Queued delivery would need a dispatching host thread: event-thread
    // mode mostly, an unknown mode now and then.
    o.delivery = if rng.chance(1, 10) { rng.u32() | 2 } else { 0 };
    o.max_queued_bytes = rng.u64();
    let desc = format!(
        "{{version: {}, max_concurrent_tasks: {}, max_connections_per_host: {}, \
         default_timeout_ms: {}, user_agent: {}, ca_file: {}, proxy: {}, temp_dir: {}, \
         enable_cookies: {}, cookie_file: {}, allowed_hosts: {allowed_desc}, https_only: {}, \
         resolve: {resolve_desc}, doh_url: {}, delivery: {}, max_queued_bytes: {}}}",
        o.version,
        o.max_concurrent_tasks,
        o.max_connections_per_host,
        o.default_timeout_ms,
        show(&user_agent),
        show(&ca_file),
        show(&proxy),
        show(&temp_dir),
        o.enable_cookies,
        show(&cookie_file),
        o.https_only,
        show(&doh_url),
        o.delivery,
        o.max_queued_bytes,
    );
    ClientCase {
        opts: o,
        desc,
        proxy_local,
        temp_dir_ours,
    }
}

/// A `const char *const *` list with its count, from `pool` and random
/// text; now and then a count with a NULL array.
fn any_text_list(
    rng: &mut Rng,
    arena: &mut Arena,
    pool: &[&[u8]],
) -> ((*const *const c_char, usize), String) {
    match rng.below(8) {
        0..=3 => ((ptr::null(), 0), "NULL".into()),
        4 => ((ptr::null(), rng.range(1..=3)), "NULL with a count".into()),
        _ => {
            let entries: Vec<Vec<u8>> = (0..rng.range(1..=3))
                .map(|_| match rng.below(5) {
                    0 => any_text(rng),
                    _ => rng.pick(pool).to_vec(),
                })
                .collect();
            let desc = entries
                .iter()
                .map(|e| escape(e, SHOWN))
                .collect::<Vec<_>>()
                .join(", ");
            let pointers: Vec<*const c_char> = entries.iter().map(|e| arena.c_string(e)).collect();
            (
                (arena.pointer_array(pointers), entries.len()),
                format!("[{desc}]"),
            )
        }
    }
}

/// One task of a case, until it is released.
struct Slot {
    task: *mut nettask_task,
    name: String,
    probe: Arc<Probe>,
    startable: bool,
    started: bool,
    /// `count_complete` with this task's probe is registered.
    counting: bool,
    /// It was registered when the task started, and has not been removed
    /// since: exactly one completion must be counted.
    exact: bool,
}

/// A probe whose case has ended, kept for late listener calls.
struct Retired {
    iteration: u64,
    name: String,
    probe: Arc<Probe>,
    exact: bool,
    log: Rc<String>,
}

/// The listener kinds, for the on/off calls.
#[derive(Clone, Copy, Debug)]
enum Event {
    Headers,
    Chunk,
    Progress,
    Complete,
}

/// A client a case runs its tasks on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    /// The run's client (temp_dir in the scratch directory).
    Shared,
    /// Made by this case from fuzzed options; freed by it.
    Fresh,
    /// `nettask_client_default()`.
    Default,
}

/// One case: its calls, what they returned, and what was wrong.
struct Case<'a> {
    iteration: u64,
    rng: Rng,
    dir: &'a Path,
    may_start: bool,
    arena: Arena,
    log: String,
    client: *mut nettask_client,
    which: Which,
    client_freed: bool,
    proxy_local: bool,
    temp_dir_ours: bool,
    slots: Vec<Slot>,
    /// Started tasks (released or not), to check once the case ends.
    started: Vec<(String, Arc<Probe>, bool)>,
    findings: Vec<(String, String)>,
    /// (function, code) of the calls whose outcome the stats count.
    calls: Vec<(&'static str, nettask_code)>,
}

impl<'a> Case<'a> {
    fn new(
        iteration: u64,
        rng: Rng,
        dir: &'a Path,
        shared: *mut nettask_client,
        may_start: bool,
    ) -> Case<'a> {
        Case {
            iteration,
            rng,
            dir,
            may_start,
            arena: Arena::default(),
            log: String::new(),
            client: shared,
            which: Which::Shared,
            client_freed: false,
            proxy_local: true,
            temp_dir_ours: true,
            slots: Vec::new(),
            started: Vec::new(),
            findings: Vec::new(),
            calls: Vec::new(),
        }
    }

    fn find(&mut self, class: impl Into<String>, detail: impl Into<String>) {
        self.findings.push((class.into(), detail.into()));
    }

    /// Logs a call and checks its code: a real one, in `allowed` when that
    /// is not empty, and a sentence for `nettask_last_error` if it failed.
    fn check(&mut self, call: &str, code: nettask_code, allowed: &[nettask_code]) {
        let name = code_name(code);
        let _ = writeln!(self.log, "  {call} -> {name}");
        if name == "NETTASK_E_UNKNOWN" {
            self.find(
                format!("{call}: returned no nettask_code"),
                format!("{}", code as u32),
            );
        }
        if !allowed.is_empty() && !allowed.contains(&code) {
            let want: Vec<String> = allowed.iter().map(|&c| code_name(c)).collect();
            let call_name = call.split('(').next().unwrap_or(call);
            let call_name = call_name.rsplit("= ").next().unwrap_or(call_name);
            self.find(
                format!("{call_name} returned {name}"),
                format!("expected one of {want:?}"),
            );
        }
        if code != NETTASK_OK {
            let sentence = last_error();
            if sentence.as_deref().is_none_or(|s| s.trim().len() <= 3) {
                self.find(
                    format!("{name} without a nettask_last_error sentence"),
                    format!("{call}: last_error {sentence:?}"),
                );
            }
        }
    }

    fn run(&mut self) {
        self.choose_client();
        if self.rng.chance(1, 10) {
            self.null_arguments();
        }
        if self.rng.chance(1, 10) {
            self.init_versions();
        }
        for _ in 0..self.rng.range(1..=4) {
            self.create();
        }
        for _ in 0..self.rng.range(0..=12) {
            self.step();
        }
        for i in 0..self.slots.len() {
            if !self.slots[i].started && self.rng.chance(1, 2) {
                self.start(i);
            }
        }
        self.wait_for_completions();
        while !self.slots.is_empty() {
            let i = self.rng.below(self.slots.len());
            self.release(i);
        }
        if self.which == Which::Fresh && !self.client_freed {
            self.free_client();
        }
        self.check_scratch_dir();
    }

    /// Mostly the run's shared client; now and then one made from fuzzed
    /// options, or the default client.
    fn choose_client(&mut self) {
        match self.rng.below(40) {
            0 | 1 => self.fresh_client(),
            2 => {
                let default = nettask_client_default();
                let _ = writeln!(
                    self.log,
                    "  client = nettask_client_default() -> {default:?}"
                );
                if default.is_null() {
                    self.find(
                        "nettask_client_default returned NULL",
                        format!("{:?}", last_error()),
                    );
                } else {
                    self.client = default;
                    self.which = Which::Default;
                    self.temp_dir_ours = false;
                }
            }
            _ => {}
        }
    }

    /// Makes a client from fuzzed options; on success this case's tasks
    /// run on it.
    fn fresh_client(&mut self) {
        let c = any_client_options(&mut self.rng, &mut self.arena, self.dir);
        let mut out = ptr::dangling_mut::<nettask_client>();
        let null_opts = self.rng.chance(1, 10);
        let opts = if null_opts {
            ptr::null()
        } else {
            &raw const c.opts
        };
        // SAFETY: `opts` is NULL or a whole struct whose strings live in
        // the arena; `out` is writable.
        let code = unsafe { nettask_client_new(opts, &mut out) };
        let desc = if null_opts { "NULL".to_owned() } else { c.desc };
        self.check(
            &format!("nettask_client_new({desc})"),
            code,
            &[NETTASK_OK, NETTASK_E_INVALID_ARGUMENT],
        );
        self.calls.push(("client_new", code));
        if (code == NETTASK_OK) == out.is_null() {
            self.find(
                "client_new: *out does not match the code",
                format!("{out:?}"),
            );
        }
        if code == NETTASK_OK && !out.is_null() {
            self.client = out;
            self.which = Which::Fresh;
            self.proxy_local = null_opts || c.proxy_local;
            self.temp_dir_ours = !null_opts && c.temp_dir_ours;
        }
    }

    /// Every entry point that takes a pointer, given NULL for it.
    fn null_arguments(&mut self) {
        let bad = &[NETTASK_E_INVALID_ARGUMENT][..];
        let null_task = ptr::null_mut();
        // SAFETY: NULL pointers, which the library must refuse.
        unsafe {
            self.check("nettask_start(NULL)", nettask_start(null_task), bad);
            self.check("nettask_abort(NULL)", nettask_abort(null_task), bad);
            nettask_release(null_task);
            self.check(
                "nettask_client_free(NULL)",
                nettask_client_free(ptr::null_mut()),
                bad,
            );
            let code = nettask_client_new(ptr::null(), ptr::null_mut());
            self.check("nettask_client_new(NULL, NULL)", code, bad);
            let code = nettask_on_complete(null_task, Some(count_complete), ptr::null_mut());
            self.check("nettask_on_complete(NULL, ..)", code, bad);
            let code = nettask_off_chunk_received(null_task, None, ptr::null_mut());
            self.check("nettask_off_chunk_received(NULL, NULL, NULL)", code, bad);
            let code = nettask_request_options_init_version(ptr::null_mut(), 1);
            self.check("nettask_request_options_init_version(NULL, 1)", code, bad);
            let code = nettask_client_options_init_version(ptr::null_mut(), 1);
            self.check("nettask_client_options_init_version(NULL, 1)", code, bad);
        }
        let mut raw = RawRequestOptions::zeroed();
        // SAFETY: a whole struct.
        unsafe { nettask_request_options_init_version((&raw mut raw).cast(), 1) };
        raw.url = self.arena.c_string(b"http://127.0.0.1:1/");
        let mut out = ptr::dangling_mut();
        // SAFETY: NULL client / options / out, the others valid.
        unsafe {
            let code = nettask_request_create(ptr::null_mut(), raw.as_c(), &mut out);
            self.check("nettask_request_create(NULL, ..)", code, bad);
            if !out.is_null() {
                self.find("create failed but *out is not NULL", "client NULL");
            }
            if !self.client.is_null() {
                let code = nettask_download_create(self.client, ptr::null(), &mut out);
                self.check("nettask_download_create(client, NULL, ..)", code, bad);
                let code = nettask_request_create(self.client, raw.as_c(), ptr::null_mut());
                self.check("nettask_request_create(client, opts, NULL)", code, bad);
            }
        }
    }

    /// `*_init_version` with arbitrary versions: the defaults for a known
    /// one, only the version field for another, never a byte past.
    fn init_versions(&mut self) {
        let version = any_version(&mut self.rng);
        let expect = |known: bool| {
            if known {
                NETTASK_OK
            } else {
                NETTASK_E_INVALID_ARGUMENT
            }
        };
        let known = (1..=NETTASK_REQUEST_OPTIONS_VERSION).contains(&version);
        let mut g = Guarded {
            opts: RawRequestOptions::zeroed(),
            guard: [GUARD; 64],
        };
        g.opts.timeout_ms = 77;
        // A version-1 struct ends before the version-2 fields: init must not
        // write them.
        let marker = c"marker".as_ptr();
        g.opts.body_file_path = marker;
        // SAFETY: a whole struct with guard bytes after it.
        let code =
            unsafe { nettask_request_options_init_version((&raw mut g.opts).cast(), version) };
        let call = format!("nettask_request_options_init_version(&o, {version})");
        self.check(&call, code, &[expect(known)]);
        let (wrote_version, kept_rest) = (g.opts.version == version, g.opts.timeout_ms == 77);
        let kept_v2 = g.opts.body_file_path == marker;
        if g.guard != [GUARD; 64]
            || !wrote_version
            || (!known && !kept_rest)
            || (version == 1 && !kept_v2)
        {
            self.find("request options init wrote the wrong bytes", call);
        }
        let known = (1..=NETTASK_CLIENT_OPTIONS_VERSION).contains(&version);
        let mut c = Guarded {
            // SAFETY: integers and raw pointers: all-zero is valid.
            opts: unsafe { std::mem::zeroed::<nettask_client_options>() },
            guard: [GUARD; 64],
        };
        c.opts.default_timeout_ms = 77;
        // SAFETY: a whole struct with guard bytes after it.
        let code = unsafe { nettask_client_options_init_version(&mut c.opts, version) };
        let call = format!("nettask_client_options_init_version(&o, {version})");
        self.check(&call, code, &[expect(known)]);
        let kept_rest = c.opts.default_timeout_ms == 77;
        if c.guard != [GUARD; 64] || c.opts.version != version || (!known && !kept_rest) {
            self.find("client options init wrote the wrong bytes", call);
        }
    }

    /// Creates a request or download from fuzzed options.
    fn create(&mut self) {
        if self.client_freed {
            return;
        }
        let kind = match self.rng.below(4) {
            0 => Kind::Download,
            1 => Kind::Upload,
            _ => Kind::Request,
        };
        let r = any_request_options(&mut self.rng, &mut self.arena, self.dir);
        let mut out = ptr::dangling_mut::<nettask_task>();
        let create = match kind {
            Kind::Request => nettask_request_create,
            Kind::Download => nettask_download_create,
            Kind::Upload => nettask_upload_create,
        };
        // SAFETY: a live client, a whole struct whose pointers are NULL or
        // point into the arena for what their fields say, a writable out.
        let code = unsafe { create(self.client, r.raw.as_c(), &mut out) };
        let name = format!("t{}", self.slots.len());
        let kind_name = match kind {
            Kind::Request => "request",
            Kind::Download => "download",
            Kind::Upload => "upload",
        };
        let call = format!("{name} = nettask_{kind_name}_create({})", r.desc);
        let allowed = [
            NETTASK_OK,
            NETTASK_E_INVALID_ARGUMENT,
            NETTASK_E_FILE,
            NETTASK_E_BLOCKED,
        ];
        self.check(&call, code, &allowed);
        self.calls.push(("create", code));
        if code != NETTASK_OK {
            if !out.is_null() {
                self.find("create failed but *out is not NULL", String::new());
            }
            return;
        }
        if out.is_null() {
            self.find("create returned OK but *out is NULL", String::new());
            return;
        }
        let dest_ours = match kind {
            Kind::Request | Kind::Upload => true,
            Kind::Download => r.file_path_ours.unwrap_or(self.temp_dir_ours),
        };
        let probe = Probe::new(kind, self.client, self.which == Which::Default);
        self.slots.push(Slot {
            task: out,
            name,
            probe,
            startable: self.may_start && r.port_1 && self.proxy_local && dest_ours,
            started: false,
            counting: false,
            exact: false,
        });
        if self.rng.chance(9, 10) {
            let i = self.slots.len() - 1;
            self.listener(i, Event::Complete, true, Some(0), true);
        }
    }

    /// One random call on the case's tasks or client.
    fn step(&mut self) {
        if self.slots.is_empty() {
            return self.create();
        }
        let i = self.rng.below(self.slots.len());
        match self.rng.below(20) {
            0..=8 => self.random_listener(i),
            9..=12 => self.start(i),
            13 | 14 => self.abort(i),
            15 => self.release(i),
            16 => self.create(),
            17 if self.which == Which::Fresh && !self.client_freed => self.free_client(),
            17 if !self.client_freed => self.jar_or_dns_call(),
            18 => {
                // A listener call with a NULL task.
                let code = unsafe_null_listener_call(&mut self.rng);
                self.check(
                    "nettask_on/off_*(NULL, ..)",
                    code,
                    &[NETTASK_E_INVALID_ARGUMENT],
                );
            }
            _ => self.start(i), // a second start, usually
        }
    }

    /// One of the cookie-jar or DNS calls on the case's client, with
    /// arbitrary arguments (a client without a jar answers INVALID_STATE).
    fn jar_or_dns_call(&mut self) {
        let client = self.client;
        let line = match self.rng.below(4) {
            0 => b"127.0.0.1\tFALSE\t/\tFALSE\t0\tn\tv".to_vec(),
            1 => b"Set-Cookie: n=v; Domain=127.0.0.1; Path=/".to_vec(),
            _ => any_text(&mut self.rng),
        };
        let line_c = self.arena.c_string(&line);
        let states = [
            NETTASK_OK,
            NETTASK_E_INVALID_ARGUMENT,
            NETTASK_E_INVALID_STATE,
        ];
        // SAFETY: a live client (not freed by this case), C strings from
        // the arena, a writable out pointer.
        unsafe {
            match self.rng.below(5) {
                0 => {
                    let code = nettask_client_set_cookie(client, line_c);
                    let call = format!(
                        "nettask_client_set_cookie(client, {})",
                        escape(&line, SHOWN)
                    );
                    self.check(&call, code, &states);
                }
                1 => {
                    let mut out = ptr::dangling_mut::<c_char>();
                    let code = nettask_client_cookies(client, &mut out);
                    self.check("nettask_client_cookies(client, &out)", code, &states[..]);
                    if (code == NETTASK_OK) == out.is_null() {
                        self.find(
                            "client_cookies: *out does not match the code",
                            format!("{out:?}"),
                        );
                    }
                    nettask_string_free(out);
                }
                2 => {
                    let code = nettask_client_clear_cookies(client);
                    self.check("nettask_client_clear_cookies(client)", code, &states);
                }
                3 => {
                    let code = nettask_client_save_cookies(client);
                    let allowed = [NETTASK_OK, NETTASK_E_INVALID_STATE, NETTASK_E_FILE];
                    self.check("nettask_client_save_cookies(client)", code, &allowed);
                }
                _ => {
                    let port = *self.rng.pick(&[0, 1, 443, 65535]);
                    let addresses = self.rng.chance(1, 2).then(|| match self.rng.below(3) {
                        0 => b"127.0.0.1,[::1]".to_vec(),
                        _ => any_text(&mut self.rng),
                    });
                    let addresses_c = self.arena.opt_c_string(&addresses);
                    let code = nettask_client_add_resolve(client, line_c, port, addresses_c);
                    let call = format!(
                        "nettask_client_add_resolve(client, {}, {port}, {})",
                        escape(&line, SHOWN),
                        show(&addresses)
                    );
                    self.check(&call, code, &[NETTASK_OK, NETTASK_E_INVALID_ARGUMENT]);
                }
            }
        }
    }

    fn random_listener(&mut self, i: usize) {
        let event = *self.rng.pick(&[
            Event::Headers,
            Event::Chunk,
            Event::Progress,
            Event::Complete,
        ]);
        let on = self.rng.chance(1, 2);
        // Callback 0 records into the probe, 1 (complete only) re-enters
        // the library, None is NULL.
        let callback = match self.rng.below(6) {
            0 => None,
            1 if matches!(event, Event::Complete) => Some(1),
            _ => Some(0),
        };
        let own = self.rng.chance(3, 4);
        self.listener(i, event, on, callback, own);
    }

    /// Adds or removes a listener of slot `i`, with its probe as
    /// `user_data` (`own`) or a marker that is none.
    fn listener(&mut self, i: usize, event: Event, on: bool, callback: Option<u8>, own: bool) {
        let marker = self.rng.chance(1, 2);
        let slot = &self.slots[i];
        let (task, name) = (slot.task, slot.name.clone());
        let ud = if own {
            slot.probe.user_data()
        } else if marker {
            not_a_probe()
        } else {
            ptr::null_mut()
        };
        // SAFETY: a task this case holds; the callbacks are this module's,
        // and `ud` is its probe (kept alive past its last listener call),
        // the marker or NULL.
        let code = unsafe { listener_call(task, event, on, callback, ud) };
        let what = format!(
            "nettask_{}_{event:?}({name}, {}, {})",
            if on { "on" } else { "off" },
            match callback {
                None => "NULL",
                Some(0) => "record",
                _ => "reentrant",
            },
            if own { "probe" } else { "other" }
        );
        let allowed: &[nettask_code] = match (on, callback) {
            (true, None) => &[NETTASK_E_INVALID_ARGUMENT],
            _ if self.client_freed => &[NETTASK_OK, NETTASK_E_SHUTDOWN],
            _ => &[NETTASK_OK],
        };
        self.check(&what, code, allowed);
        if matches!(event, Event::Complete) && code == NETTASK_OK {
            self.track_counting(i, on, callback, own);
        }
    }

    /// Follows whether the counting complete listener of slot `i` is
    /// registered, which decides what its completion count must be.
    fn track_counting(&mut self, i: usize, on: bool, callback: Option<u8>, own: bool) {
        let slot = &mut self.slots[i];
        let counting_pair = callback == Some(0) && own;
        if on && counting_pair {
            slot.counting = true;
        } else if !on && (callback.is_none() || counting_pair) {
            slot.counting = false;
            // Removed after start: the completion may or may not have
            // been counted already.
            slot.exact = false;
        }
    }

    fn start(&mut self, i: usize) {
        let slot = &self.slots[i];
        // A task of a freed client starts nothing, wherever its URL points.
        if !slot.startable && !self.client_freed {
            return;
        }
        let (task, was_started) = (slot.task, slot.started);
        let call = format!("nettask_start({})", slot.name);
        // SAFETY: a task this case holds.
        let code = unsafe { nettask_start(task) };
        let want = match (self.client_freed, was_started) {
            (true, _) => NETTASK_E_SHUTDOWN,
            (false, true) => NETTASK_E_INVALID_STATE,
            (false, false) => NETTASK_OK,
        };
        self.check(&call, code, &[want]);
        self.calls.push(("start", code));
        let slot = &mut self.slots[i];
        if code == NETTASK_OK && !was_started {
            slot.started = true;
            slot.exact = slot.counting;
            let entry = (slot.name.clone(), Arc::clone(&slot.probe), false);
            self.started.push(entry);
        }
    }

    fn abort(&mut self, i: usize) {
        let slot = &self.slots[i];
        let (task, call) = (slot.task, format!("nettask_abort({})", slot.name));
        // SAFETY: a task this case holds.
        let code = unsafe { nettask_abort(task) };
        let allowed: &[nettask_code] = if self.client_freed {
            &[NETTASK_OK, NETTASK_E_SHUTDOWN]
        } else {
            &[NETTASK_OK]
        };
        self.check(&call, code, allowed);
    }

    fn release(&mut self, i: usize) {
        let slot = self.slots.swap_remove(i);
        // SAFETY: the reference this case got from create; dropped once.
        unsafe { nettask_release(slot.task) };
        let _ = writeln!(self.log, "  nettask_release({})", slot.name);
        self.note_exact(&slot);
    }

    /// Records whether a started task's count must be exactly one.
    fn note_exact(&mut self, slot: &Slot) {
        if let Some(s) = self
            .started
            .iter_mut()
            .find(|s| Arc::ptr_eq(&s.1, &slot.probe))
        {
            s.2 = slot.exact;
        }
    }

    /// Frees this case's own client: every started task must have
    /// completed by the time it returns.
    fn free_client(&mut self) {
        // SAFETY: the client this case made, freed once, not from a
        // listener.
        let code = unsafe { nettask_client_free(self.client) };
        // NETTASK_E_FILE: its jar file could not be saved (freed anyway).
        self.check(
            "nettask_client_free(client)",
            code,
            &[NETTASK_OK, NETTASK_E_FILE],
        );
        self.client_freed = true;
        for slot in &self.slots {
            if slot.exact && slot.probe.completions() != 1 {
                self.findings.push((
                    "a started task had not completed when client_free returned".into(),
                    format!("{}: {} completions", slot.name, slot.probe.completions()),
                ));
            }
        }
    }

    fn wait_for_completions(&mut self) {
        let slots = std::mem::take(&mut self.slots);
        for slot in &slots {
            self.note_exact(slot);
        }
        self.slots = slots;
        let deadline = Instant::now() + COMPLETION_DEADLINE;
        let waits: Vec<(String, Arc<Probe>)> = self
            .started
            .iter()
            .filter(|s| s.2)
            .map(|s| (s.0.clone(), Arc::clone(&s.1)))
            .collect();
        for (name, probe) in waits {
            if !probe.wait(deadline) {
                self.find(
                    "a started task did not complete",
                    format!("{name}: no completion within {COMPLETION_DEADLINE:?}"),
                );
            }
        }
    }

    /// Failed downloads leave no file: once every task of the case is
    /// done, the scratch directory is empty again.
    fn check_scratch_dir(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut left = leftovers(self.dir);
        // A task whose count is not watched may still be finishing.
        while !left.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
            left = leftovers(self.dir);
        }
        if !left.is_empty() {
            let names: Vec<String> = left
                .iter()
                .map(|p| escape(p.as_os_str().as_encoded_bytes(), 200))
                .collect();
            self.find(
                "a failed download (or jar save) left a file behind",
                names.join(", "),
            );
            for p in left {
                let _ = std::fs::remove_file(&p).or_else(|_| std::fs::remove_dir_all(&p));
            }
        }
    }

    /// Hands the findings and the probes to keep over to the run.
    fn finish(self, stats: &mut Stats) -> (Vec<(String, String)>, Vec<Retired>, Rc<String>) {
        for (call, code) in self.calls {
            stats.count(format!("{call} {}", code_name(code)));
        }
        let log = Rc::new(self.log);
        let retired = self
            .started
            .into_iter()
            .map(|(name, probe, exact)| Retired {
                iteration: self.iteration,
                name,
                probe,
                exact,
                log: Rc::clone(&log),
            })
            .collect();
        (self.findings, retired, log)
    }
}

/// What a case left in the scratch directory, but the cookie jars its
/// clients saved there (removed here; a jar's temporary file is a
/// leftover).
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    entries
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            let jar = name.starts_with("jar-") && !name.ends_with(".tmp");
            if jar {
                let _ = std::fs::remove_file(p);
            }
            !jar
        })
        .collect()
}

/// Calls the on/off function of `event`.
///
/// # Safety
/// `task` is NULL or a held task; `ud` is NULL, the marker, or a probe
/// that outlives the task's listener calls.
unsafe fn listener_call(
    task: *mut nettask_task,
    event: Event,
    on: bool,
    callback: Option<u8>,
    ud: *mut c_void,
) -> nettask_code {
    // SAFETY: as the caller promises; the callbacks match their types.
    unsafe {
        match (event, on) {
            (Event::Headers, true) => {
                nettask_on_headers_received(task, callback.map(|_| on_headers as _), ud)
            }
            (Event::Headers, false) => {
                nettask_off_headers_received(task, callback.map(|_| on_headers as _), ud)
            }
            (Event::Chunk, true) => {
                nettask_on_chunk_received(task, callback.map(|_| on_chunk as _), ud)
            }
            (Event::Chunk, false) => {
                nettask_off_chunk_received(task, callback.map(|_| on_chunk as _), ud)
            }
            (Event::Progress, true) => {
                nettask_on_progress_update(task, callback.map(|_| on_progress as _), ud)
            }
            (Event::Progress, false) => {
                nettask_off_progress_update(task, callback.map(|_| on_progress as _), ud)
            }
            (Event::Complete, on) => {
                let cb: nettask_complete_cb = callback.map(|c| {
                    if c == 0 {
                        count_complete as unsafe extern "C" fn(_, _, _)
                    } else {
                        reentrant_complete
                    }
                });
                if on {
                    nettask_on_complete(task, cb, ud)
                } else {
                    nettask_off_complete(task, cb, ud)
                }
            }
        }
    }
}

/// A random listener call with a NULL task.
fn unsafe_null_listener_call(rng: &mut Rng) -> nettask_code {
    let event = *rng.pick(&[
        Event::Headers,
        Event::Chunk,
        Event::Progress,
        Event::Complete,
    ]);
    let on = rng.chance(1, 2);
    let callback = rng.chance(1, 2).then_some(0);
    // SAFETY: a NULL task, which the library must refuse before reading.
    unsafe { listener_call(ptr::null_mut(), event, on, callback, ptr::null_mut()) }
}

/// Checks a retired probe once more: one completion at most (exactly one
/// when it was watched), no listener after it, no note from a listener.
fn recheck(r: &Retired, findings: &mut Findings, stats: &mut Stats) {
    let n = r.probe.completions();
    match nettask::Code::from_raw(r.probe.code.load(Ordering::SeqCst)) {
        Some(code) => stats.count(format!("completed {}", code_name(code))),
        None => stats.count("completion not seen".into()),
    }
    let detail = || format!("{}: {n} completions\n{}", r.name, r.log);
    if n > 1 {
        findings.add(r.iteration, "a task completed more than once", detail);
    } else if r.exact && n == 0 {
        findings.add(r.iteration, "a started task never completed", detail);
    }
    let late = r.probe.late.load(Ordering::SeqCst);
    if late > 0 {
        findings.add(r.iteration, "a listener ran after the completion", || {
            format!("{}: {late} calls after it\n{}", r.name, r.log)
        });
    }
    for (class, note) in r.probe.notes.lock().unwrap().drain(..) {
        findings.add(r.iteration, class, || {
            format!("{}: {note}\n{}", r.name, r.log)
        });
    }
}

/// A directory of its own for this run's downloads.
fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nettask-fuzz-options-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// The run's client: default options but downloads in `dir`.
fn shared_client(dir: &Path) -> *mut nettask_client {
    // SAFETY: integers and raw pointers: all-zero is valid.
    let mut o: nettask_client_options = unsafe { std::mem::zeroed() };
    // SAFETY: a whole struct.
    unsafe { nettask_client_options_init_version(&mut o, NETTASK_CLIENT_OPTIONS_VERSION) };
    let temp_dir = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
    o.temp_dir = temp_dir.as_ptr();
    let mut client = ptr::null_mut();
    // SAFETY: valid pointers; the string is copied.
    let code = unsafe { nettask_client_new(&o, &mut client) };
    assert_eq!(code, NETTASK_OK, "{:?}", last_error());
    client
}

/// Whether tasks may start: nothing may listen on 127.0.0.1:1 (so they
/// fail at once) and no proxy may come from the environment.
fn may_start() -> bool {
    let port_1: SocketAddr = "127.0.0.1:1".parse().unwrap();
    if TcpStream::connect_timeout(&port_1, Duration::from_secs(1)).is_ok() {
        println!("fuzz options: something listens on 127.0.0.1:1; no task is started");
        return false;
    }
    let proxy_vars = [
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ];
    if let Some(v) = proxy_vars.iter().find(|v| std::env::var_os(v).is_some()) {
        println!("fuzz options: {v} is set; no task is started");
        return false;
    }
    true
}

pub fn run(config: Config) {
    let dir = scratch_dir();
    let may_start = may_start();
    let shared = shared_client(&dir);
    let mut findings = Findings::new();
    let mut retired: VecDeque<Retired> = VecDeque::new();
    let mut stats = Stats::default();
    let mut done = 0;
    while let Some(iteration) = config.next_iteration(done) {
        let mut case = Case::new(
            iteration,
            config.case_rng(iteration),
            &dir,
            shared,
            may_start,
        );
        case.run();
        let (found, probes, log) = case.finish(&mut stats);
        for (class, detail) in found {
            findings.add(iteration, class, || format!("{detail}\ncalls:\n{log}"));
        }
        retired.extend(probes);
        while retired.len() > RETIRED {
            let r = retired.pop_front().unwrap();
            recheck(&r, &mut findings, &mut stats);
        }
        done += 1;
    }
    // Late listener calls, if any, come within milliseconds.
    std::thread::sleep(Duration::from_millis(100));
    for r in retired.drain(..) {
        recheck(&r, &mut findings, &mut stats);
    }
    stats.print(config.target);
    // SAFETY: the run's client, freed once, after every case.
    let code = unsafe { nettask_client_free(shared) };
    assert_eq!(code, NETTASK_OK);
    let _ = std::fs::remove_dir_all(&dir);
    findings.finish(&config, done);
}
