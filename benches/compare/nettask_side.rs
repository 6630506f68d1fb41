//! The nettask side of each case, driven through the C ABI as a host would.

use std::ffi::{CString, c_void};
use std::ptr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use nettask::ffi::*;

use crate::{IdleStats, LatencyParser};

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
    // SAFETY: valid for the call.
    let data = unsafe { std::slice::from_raw_parts(data, len) };
    tally(ud).latency.lock().unwrap().feed(data);
}

unsafe extern "C" fn count_complete(
    _: *mut nettask_task,
    r: *const nettask_result,
    ud: *mut c_void,
) {
    let t = tally(ud);
    // SAFETY: valid for the call.
    let r = unsafe { &*r };
    let failed = r.code != nettask_code::NETTASK_OK && r.code != nettask_code::NETTASK_E_ABORTED;
    if failed && t.failures.fetch_add(1, Ordering::Relaxed) == 0 {
        // SAFETY: err_msg is a valid C string during the call.
        let msg = unsafe { std::ffi::CStr::from_ptr(r.err_msg) };
        eprintln!("first failure: {msg:?}");
    }
    let done = t.done.fetch_add(1, Ordering::SeqCst) + 1;
    if done >= t.awaited.load(Ordering::SeqCst) {
        let _guard = t.wake.lock().unwrap();
        t.cv.notify_all();
    }
}

pub struct Client(*mut nettask_client);

impl Client {
    pub fn new(max_concurrent_tasks: u32) -> Client {
        let mut client = ptr::null_mut();
        // SAFETY: valid pointers.
        unsafe {
            let mut opts = std::mem::zeroed();
            nettask_client_options_init_version(&mut opts, NETTASK_CLIENT_OPTIONS_VERSION);
            opts.max_concurrent_tasks = max_concurrent_tasks;
            opts.default_timeout_ms = 600_000;
            assert_eq!(
                nettask_client_new(&opts, &mut client),
                nettask_code::NETTASK_OK
            );
        }
        Client(client)
    }

    /// Creates and starts a task whose listeners report to `tally`, and
    /// releases it (it runs on).
    fn spawn(
        &self,
        url: &CString,
        tally: &Tally,
        set: impl FnOnce(&mut nettask_request_options),
    ) -> *mut nettask_task {
        // SAFETY: valid pointers; `tally` outlives the task (callers wait).
        unsafe {
            let mut opts = std::mem::zeroed();
            nettask_request_options_init_version(&mut opts, NETTASK_REQUEST_OPTIONS_VERSION);
            opts.url = url.as_ptr();
            set(&mut opts);
            let mut task = ptr::null_mut();
            let create = if opts.file_path.is_null() {
                nettask_request_create
            } else {
                nettask_download_create
            };
            assert_eq!(create(self.0, &opts, &mut task), nettask_code::NETTASK_OK);
            nettask_on_complete(task, Some(count_complete), tally.ud());
            task
        }
    }

    pub fn bulk(&self, url: &str) -> (Duration, u64) {
        let url = CString::new(url).unwrap();
        let t = Tally::default();
        let started = Instant::now();
        let task = self.spawn(&url, &t, |o| o.enable_chunked = true);
        // SAFETY: a live task.
        unsafe {
            nettask_on_chunk_received(task, Some(count_chunk), t.ud());
            nettask_start(task);
            nettask_release(task);
        }
        t.wait_for(1);
        assert_eq!(t.failures.load(Ordering::Relaxed), 0);
        (started.elapsed(), t.bytes.load(Ordering::Relaxed))
    }

    pub fn download(&self, url: &str, path: &std::path::Path) -> Duration {
        let url = CString::new(url).unwrap();
        let path = CString::new(path.to_str().unwrap()).unwrap();
        let t = Tally::default();
        let started = Instant::now();
        let task = self.spawn(&url, &t, |o| o.file_path = path.as_ptr());
        // SAFETY: a live task.
        unsafe {
            nettask_start(task);
            nettask_release(task);
        }
        t.wait_for(1);
        assert_eq!(t.failures.load(Ordering::Relaxed), 0);
        started.elapsed()
    }

    pub fn small(&self, url: &str, count: usize, h2c: bool) -> Duration {
        let url = CString::new(url).unwrap();
        let t = Tally::default();
        let started = Instant::now();
        for _ in 0..count {
            let task = self.spawn(&url, &t, |o| o.http2_prior_knowledge = h2c);
            // SAFETY: a live task.
            unsafe {
                nettask_start(task);
                nettask_release(task);
            }
        }
        t.wait_for(count);
        assert_eq!(t.failures.load(Ordering::Relaxed), 0);
        started.elapsed()
    }

    pub fn chunk_latency(&self, url: &str) -> Vec<Duration> {
        let url = CString::new(url).unwrap();
        let t = Tally::default();
        let task = self.spawn(&url, &t, |o| o.enable_chunked = true);
        // SAFETY: a live task.
        unsafe {
            nettask_on_chunk_received(task, Some(latency_chunk), t.ud());
            nettask_start(task);
            nettask_release(task);
        }
        t.wait_for(1);
        std::mem::take(&mut t.latency.lock().unwrap().latencies)
    }

    pub fn idle(&self, url: &str, count: usize, connected: impl Fn() -> usize) -> IdleStats {
        let url = CString::new(url).unwrap();
        let t = Tally::default();
        let rss_before = crate::rss_kib();
        let tasks: Vec<_> = (0..count)
            .map(|_| {
                let task = self.spawn(&url, &t, |_| {});
                // SAFETY: a live task.
                unsafe { nettask_start(task) };
                task
            })
            .collect();
        crate::wait_until(|| connected() >= count);
        let (cpu, rss_after) = crate::measure_idle(std::thread::sleep);
        let started = Instant::now();
        for &task in &tasks {
            // SAFETY: live tasks, released below.
            unsafe { nettask_abort(task) };
        }
        t.wait_for(count);
        let abort_all = started.elapsed();
        for task in tasks {
            // SAFETY: the references from create.
            unsafe { nettask_release(task) };
        }
        IdleStats {
            cpu,
            per_task_kib: (rss_after.saturating_sub(rss_before)) as f64 / count as f64,
            abort_all,
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // SAFETY: a live client.
        unsafe { nettask_client_free(self.0) };
    }
}
