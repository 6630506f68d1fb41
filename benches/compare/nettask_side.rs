//! The nettask side of each case, driven through the C ABI as a host would.

use std::ffi::{CStr, CString, c_void};
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use nettask::ffi::*;

use crate::{IN_FLIGHT, IdleProbe, IdleStats, LatencyParser, Proto, Side, Silent};

/// Counts completions and body bytes; the tests' user_data. A completion
/// costs an atomic add, like the raw loop's counter; only the one that
/// reaches the awaited count wakes the waiter.
pub struct Tally {
    bytes: AtomicU64,
    failures: AtomicUsize,
    done: AtomicUsize,
    awaited: AtomicUsize,
    wake: Mutex<()>,
    cv: Condvar,
    latency: Mutex<LatencyParser>,
    /// Set for `small`: the completion listener starts the next request.
    refill: Option<Refill>,
}

/// Requests still to start from completion listeners, and how.
struct Refill {
    client: *mut nettask_client,
    url: CString,
    h2c: bool,
    left: AtomicUsize,
}

impl Refill {
    /// Starts one more request, reporting to `tally`.
    fn start(&self, tally: &Tally) {
        start_on(self.client, &self.url, tally, |o| {
            o.http2_prior_knowledge = self.h2c;
            o.accept_encoding = OFFER_NONE.as_ptr();
        });
    }
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            bytes: AtomicU64::new(0),
            failures: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            awaited: AtomicUsize::new(usize::MAX),
            wake: Mutex::new(()),
            cv: Condvar::new(),
            latency: Mutex::default(),
            refill: None,
        }
    }
}

impl Tally {
    fn ud(&self) -> *mut c_void {
        self as *const Tally as *mut c_void
    }

    fn wait_for(&self, n: usize) {
        self.awaited.store(n, Ordering::SeqCst);
        let mut guard = self.wake.lock().unwrap();
        while self.done.load(Ordering::SeqCst) < n {
            guard = self.cv.wait(guard).unwrap();
        }
    }
}

fn tally<'a>(ud: *mut c_void) -> &'a Tally {
    // SAFETY: every task here gets a Tally that outlives it.
    unsafe { &*(ud as *const Tally) }
}

unsafe extern "C" fn count_chunk(_: *mut nettask_task, _: *const u8, len: usize, ud: *mut c_void) {
    tally(ud).bytes.fetch_add(len as u64, Ordering::Relaxed);
}

unsafe extern "C" fn latency_chunk(
    _: *mut nettask_task,
    data: *const u8,
    len: usize,
    ud: *mut c_void,
) {
    // SAFETY: nettask passes `len` readable bytes at `data`, valid for the
    // duration of this call, which is as long as the slice is used.
    let data = unsafe { std::slice::from_raw_parts(data, len) };
    tally(ud).latency.lock().unwrap().feed(data);
}

unsafe extern "C" fn count_complete(
    _: *mut nettask_task,
    r: *const nettask_result,
    ud: *mut c_void,
) {
    let t = tally(ud);
    // SAFETY: nettask passes a result valid for the duration of this call,
    // and `r` does not leave it.
    let r = unsafe { &*r };
    let failed = r.code != nettask_code::NETTASK_OK && r.code != nettask_code::NETTASK_E_ABORTED;
    if failed && t.failures.fetch_add(1, Ordering::Relaxed) == 0 {
        // SAFETY: err_msg is a valid C string during the call.
        let msg = unsafe { std::ffi::CStr::from_ptr(r.err_msg) };
        eprintln!("first failure: {msg:?}");
    }
    if let Some(refill) = &t.refill
        && refill
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    {
        refill.start(t);
    }
    let done = t.done.fetch_add(1, Ordering::SeqCst) + 1;
    if done >= t.awaited.load(Ordering::SeqCst) {
        let _guard = t.wake.lock().unwrap();
        t.cv.notify_all();
    }
}

/// Creates a task whose completion reports to `tally`; the caller
/// starts it and releases it.
/// `accept_encoding` for the small GETs: no Accept-Encoding header, the
/// same request on the wire as the peers', which offer no coding there.
const OFFER_NONE: &CStr = c"";

fn spawn_on(
    client: *mut nettask_client,
    url: &CString,
    tally: &Tally,
    set: impl FnOnce(&mut nettask_request_options),
) -> *mut nettask_task {
    // SAFETY: `opts` is a local of the version passed to init, `url`
    // outlives the create call, which copies it, and `tally` outlives
    // the task: every caller waits for the task's completion before
    // dropping it.
    unsafe {
        let mut opts = std::mem::zeroed();
        nettask_request_options_init_version(&mut opts, NETTASK_REQUEST_OPTIONS_VERSION);
        opts.url = url.as_ptr();
        set(&mut opts);
        let mut task = ptr::null_mut();
        let create = if !opts.upload_file_path.is_null() {
            nettask_upload_create
        } else if !opts.file_path.is_null() {
            nettask_download_create
        } else {
            nettask_request_create
        };
        assert_eq!(create(client, &opts, &mut task), nettask_code::NETTASK_OK);
        nettask_on_complete(task, Some(count_complete), tally.ud());
        task
    }
}

/// Creates and starts a task, and releases it.
fn start_on(
    client: *mut nettask_client,
    url: &CString,
    tally: &Tally,
    set: impl FnOnce(&mut nettask_request_options),
) {
    let task = spawn_on(client, url, tally, set);
    // SAFETY: `task` is the live task just created; its one reference
    // is released here, after start, and not used again.
    unsafe {
        nettask_start(task);
        nettask_release(task);
    }
}

/// What an upload's progress listener saw: how many events, and the last
/// one's bytes sent and expected.
#[derive(Default)]
struct Sent {
    events: AtomicU64,
    bytes: AtomicU64,
    expected: AtomicI64,
}

unsafe extern "C" fn count_progress(
    _: *mut nettask_task,
    p: *const nettask_progress,
    ud: *mut c_void,
) {
    // SAFETY: nettask passes a progress valid for the duration of this
    // call, and the upload's `Sent` outlives the task (see upload).
    let (p, sent) = unsafe { (&*p, &*(ud as *const Sent)) };
    sent.events.fetch_add(1, Ordering::Relaxed);
    sent.bytes.store(p.total_bytes_sent, Ordering::Relaxed);
    sent.expected
        .store(p.total_bytes_expected_to_send, Ordering::Relaxed);
}

/// A client; `queued` = queued delivery, its listeners dispatched on the
/// thread that waits (as a JS engine's thread would).
pub struct Client(*mut nettask_client, bool);

impl Client {
    /// A client running at most `max_concurrent_tasks` at once (0 = no
    /// limit), with no limit on connections per host, trusting `ca_file`
    /// for https.
    pub fn new(max_concurrent_tasks: u32, ca_file: Option<&Path>) -> Client {
        Client::with_delivery(max_concurrent_tasks, ca_file, false)
    }

    /// The same in queued delivery.
    pub fn queued(max_concurrent_tasks: u32, ca_file: Option<&Path>) -> Client {
        Client::with_delivery(max_concurrent_tasks, ca_file, true)
    }

    fn with_delivery(max_concurrent_tasks: u32, ca_file: Option<&Path>, queued: bool) -> Client {
        let ca_file = ca_file.map(|p| CString::new(p.to_str().unwrap()).unwrap());
        let mut client = ptr::null_mut();
        // SAFETY: `opts` is a local of the version passed to init, and
        // `ca_file` outlives nettask_client_new, which copies it.
        unsafe {
            let mut opts = std::mem::zeroed();
            nettask_client_options_init_version(&mut opts, NETTASK_CLIENT_OPTIONS_VERSION);
            opts.max_concurrent_tasks = max_concurrent_tasks;
            opts.max_connections_per_host = 0;
            opts.default_timeout_ms = 600_000;
            if let Some(ca) = &ca_file {
                opts.ca_file = ca.as_ptr();
            }
            if queued {
                opts.delivery = NETTASK_DELIVERY_QUEUED;
            }
            assert_eq!(
                nettask_client_new(&opts, &mut client),
                nettask_code::NETTASK_OK
            );
        }
        Client(client, queued)
    }

    /// Waits until `t` counted `n` completions; in queued delivery by
    /// dispatching on this thread.
    fn wait(&self, t: &Tally, n: usize) {
        if !self.1 {
            return t.wait_for(n);
        }
        while t.done.load(Ordering::SeqCst) < n {
            // SAFETY: a live client; the count pointer may be NULL.
            let code = unsafe { nettask_client_dispatch(self.0, 100, ptr::null_mut()) };
            assert_eq!(code, nettask_code::NETTASK_OK);
        }
    }

    fn spawn(
        &self,
        url: &CString,
        tally: &Tally,
        set: impl FnOnce(&mut nettask_request_options),
    ) -> *mut nettask_task {
        spawn_on(self.0, url, tally, set)
    }

    fn start(&self, url: &CString, tally: &Tally, set: impl FnOnce(&mut nettask_request_options)) {
        start_on(self.0, url, tally, set)
    }

    /// One form of `field` and `file` (as the part `name`) POSTed to `url`,
    /// with a progress listener: how long, and how many bytes its last
    /// event said were sent.
    pub fn upload(
        &self,
        url: &str,
        (field, value): (&str, &str),
        name: &str,
        file: &Path,
    ) -> (Duration, u64) {
        let c = |s: &str| CString::new(s).unwrap();
        let (url, path, name) = (c(url), c(file.to_str().unwrap()), c(name));
        let (field, value) = (c(field), c(value));
        let fields = [nettask_header {
            name: field.as_ptr(),
            value: value.as_ptr(),
        }];
        let (t, sent) = (Tally::default(), Sent::default());
        let started = Instant::now();
        let task = self.spawn(&url, &t, |o| {
            o.upload_file_path = path.as_ptr();
            o.upload_name = name.as_ptr();
            o.form_fields = fields.as_ptr();
            o.form_field_count = fields.len();
        });
        // SAFETY: `task` is the live task just created; the listener's
        // user_data `sent` outlives it (the wait below), and its one
        // reference is released after start and not used again.
        unsafe {
            nettask_on_progress_update(task, Some(count_progress), &sent as *const Sent as *mut _);
            nettask_start(task);
            nettask_release(task);
        }
        self.wait(&t, 1);
        let elapsed = started.elapsed();
        assert_eq!(t.failures.load(Ordering::Relaxed), 0);
        let bytes = sent.bytes.load(Ordering::Relaxed);
        assert!(sent.events.load(Ordering::Relaxed) > 0, "no progress event");
        assert_eq!(
            bytes as i64,
            sent.expected.load(Ordering::Relaxed),
            "the last progress event is not every byte"
        );
        (elapsed, bytes)
    }
}

impl Side for Client {
    fn bulk(&self, url: &str) -> (Duration, u64) {
        let url = CString::new(url).unwrap();
        let t = Tally::default();
        let started = Instant::now();
        let task = self.spawn(&url, &t, |o| o.enable_chunked = true);
        // SAFETY: `task` is the live task just created; the listener's
        // user_data `t` outlives it (the wait below), and its one reference
        // is released after start and not used again.
        unsafe {
            nettask_on_chunk_received(task, Some(count_chunk), t.ud());
            nettask_start(task);
            nettask_release(task);
        }
        self.wait(&t, 1);
        assert_eq!(t.failures.load(Ordering::Relaxed), 0);
        (started.elapsed(), t.bytes.load(Ordering::Relaxed))
    }

    /// The bulk request as it is: the default accept_encoding offers gzip,
    /// and nettask decodes before the listener sees a byte.
    fn decode(&self, url: &str) -> (Duration, u64) {
        self.bulk(url)
    }

    fn download(&self, url: &str, path: &Path) -> Duration {
        let url = CString::new(url).unwrap();
        let path = CString::new(path.to_str().unwrap()).unwrap();
        let t = Tally::default();
        let started = Instant::now();
        self.start(&url, &t, |o| o.file_path = path.as_ptr());
        self.wait(&t, 1);
        assert_eq!(t.failures.load(Ordering::Relaxed), 0);
        started.elapsed()
    }

    /// `IN_FLIGHT` at once, as the peers keep: each completion listener
    /// starts the next request until `count` have started.
    fn small(&self, url: &str, count: usize, proto: Proto) -> Duration {
        let first = IN_FLIGHT.min(count);
        let t = Tally {
            refill: Some(Refill {
                client: self.0,
                url: CString::new(url).unwrap(),
                // h2 over TLS: enable_http2 (on by default) offers it by ALPN.
                h2c: proto == Proto::H2c,
                left: AtomicUsize::new(count - first),
            }),
            ..Tally::default()
        };
        let refill = t.refill.as_ref().unwrap();
        let started = Instant::now();
        for _ in 0..first {
            refill.start(&t);
        }
        self.wait(&t, count);
        assert_eq!(t.failures.load(Ordering::Relaxed), 0);
        started.elapsed()
    }

    fn growth(&self, url: &str, total: usize) -> Duration {
        let url = CString::new(url).unwrap();
        let t = Tally::default();
        let started = Instant::now();
        let mut done = 0;
        while done < total {
            let batch = IN_FLIGHT.min(total - done);
            for _ in 0..batch {
                self.start(&url, &t, |o| o.accept_encoding = OFFER_NONE.as_ptr());
            }
            done += batch;
            self.wait(&t, done);
        }
        assert_eq!(t.failures.load(Ordering::Relaxed), 0);
        started.elapsed()
    }

    fn chunk_latency(&self, url: &str) -> Vec<Duration> {
        let url = CString::new(url).unwrap();
        let t = Tally::default();
        let task = self.spawn(&url, &t, |o| o.enable_chunked = true);
        // SAFETY: `task` is the live task just created; the listener's
        // user_data `t` outlives it (the wait below), and its one reference
        // is released after start and not used again.
        unsafe {
            nettask_on_chunk_received(task, Some(latency_chunk), t.ud());
            nettask_start(task);
            nettask_release(task);
        }
        self.wait(&t, 1);
        std::mem::take(&mut t.latency.lock().unwrap().latencies)
    }
}

/// `count` tasks against the silent server on a client with neither a task
/// nor a per-host connection limit; aborted all at once.
pub fn idle(silent: &Silent, count: usize) -> IdleStats {
    let client = Client::new(0, None);
    let url = CString::new(silent.url.as_str()).unwrap();
    let t = Tally::default();
    let probe = IdleProbe::start();
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let task = client.spawn(&url, &t, |_| {});
            // SAFETY: `task` was just created; its create reference is kept
            // in `tasks` and released only below, so it is live here.
            unsafe { nettask_start(task) };
            task
        })
        .collect();
    silent.wait_all(std::thread::sleep);
    let idle = crate::measure_idle(std::thread::sleep);
    let abort_started = Instant::now();
    for &task in &tasks {
        // SAFETY: each task is live: its create reference is released
        // only below.
        unsafe { nettask_abort(task) };
    }
    t.wait_for(count);
    let stats = probe.finish(silent, count, idle, abort_started, std::thread::sleep);
    for task in tasks {
        // SAFETY: the reference from create, released once.
        unsafe { nettask_release(task) };
    }
    stats
}

impl Drop for Client {
    fn drop(&mut self) {
        // SAFETY: `self.0` is the client from nettask_client_new, freed
        // only here, once.
        unsafe { nettask_client_free(self.0) };
    }
}
