//! Abort: from another thread, from listeners, before start; idempotence.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nettask::ffi::nettask_code::*;
use nettask::ffi::*;

use crate::harness::*;
use crate::server::server;

#[test]
fn abort_from_another_thread_completes_within_milliseconds() {
    let client = Client::new();
    let run = Run::request(&client, Opts::new(&server().url("/stall?after=5")));
    run.start();
    while run.rec.chunks().is_empty() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let aborted_at = std::thread::scope(|s| {
        s.spawn(|| {
            let t = Instant::now();
            assert_eq!(run.abort(), NETTASK_OK);
            t
        })
        .join()
        .unwrap()
    });
    let out = run.wait();
    let completed_at = run.rec.events.lock().unwrap().last().unwrap().0;
    assert_eq!(out.code, NETTASK_E_ABORTED);
    assert_eq!(out.err_msg, "request:fail abort");
    let latency = completed_at.duration_since(aborted_at);
    assert!(latency < Duration::from_millis(200), "{latency:?}");
    // Idempotent, and a no-op after completion.
    assert_eq!(run.abort(), NETTASK_OK);
    assert_eq!(run.rec.completions().len(), 1);
}

#[test]
fn abort_before_start_completes_without_traffic() {
    let client = Client::new();
    let run = Run::request(&client, Opts::new(&server().url("/hello")));
    assert_eq!(run.abort(), NETTASK_OK);
    run.start();
    let out = run.wait();
    assert_eq!(out.code, NETTASK_E_ABORTED);
    assert_eq!(out.profile.connect_done_us, -1);
    assert_eq!(out.profile.bytes_sent, 0);
    assert_eq!(run.rec.events().len(), 1);
}

#[test]
fn start_twice_is_invalid_state() {
    let client = Client::new();
    let run = Run::request(&client, Opts::new(&server().url("/hello")));
    run.start();
    // SAFETY: a live task.
    assert_eq!(unsafe { nettask_start(run.task) }, NETTASK_E_INVALID_STATE);
    assert!(last_error().contains("already"), "{}", last_error());
    run.wait();
    assert_eq!(run.rec.completions().len(), 1);
}

unsafe extern "C" fn abort_in_headers(
    task: *mut nettask_task,
    _: *const nettask_response_head,
    _: *mut std::ffi::c_void,
) {
    // SAFETY: the task is valid during the call.
    assert_eq!(unsafe { nettask_abort(task) }, NETTASK_OK);
}

#[test]
fn abort_inside_the_headers_listener_stops_every_later_event() {
    let client = Client::new();
    let run = Run::request(&client, Opts::new(&server().url("/bytes/200000")));
    // SAFETY: a live task; registered after the recorder's listeners.
    unsafe { nettask_on_headers_received(run.task, Some(abort_in_headers), std::ptr::null_mut()) };
    run.start();
    let out = run.wait();
    assert_eq!(out.code, NETTASK_E_ABORTED);
    let events = run.rec.events();
    assert!(matches!(events[0], Event::Headers { .. }));
    assert!(matches!(events[1], Event::Complete(_)));
    assert_eq!(events.len(), 2, "no chunk after abort");
}

static RETURNED: AtomicBool = AtomicBool::new(false);
static LATE_EVENT: AtomicBool = AtomicBool::new(false);

unsafe extern "C" fn flag_late_chunk(
    _: *mut nettask_task,
    _: *const u8,
    _: usize,
    _: *mut std::ffi::c_void,
) {
    if RETURNED.load(Ordering::SeqCst) {
        LATE_EVENT.store(true, Ordering::SeqCst);
    }
}

#[test]
fn no_chunk_listener_starts_after_abort_returns() {
    let client = Client::new();
    let run = Run::request(
        &client,
        Opts::new(&server().url("/stream?n=200&size=1000&delay_ms=1")),
    );
    // SAFETY: a live task.
    unsafe { nettask_on_chunk_received(run.task, Some(flag_late_chunk), std::ptr::null_mut()) };
    run.start();
    while run.rec.chunks().len() < 5000 {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(run.abort(), NETTASK_OK);
    RETURNED.store(true, Ordering::SeqCst);
    assert_eq!(run.wait().code, NETTASK_E_ABORTED);
    std::thread::sleep(Duration::from_millis(50));
    assert!(!LATE_EVENT.load(Ordering::SeqCst));
}

#[test]
fn release_without_abort_still_completes() {
    let client = Client::new();
    let run = Run::request(&client, Opts::new(&server().url("/stream?n=3&delay_ms=50")));
    run.start();
    let rec = std::sync::Arc::clone(&run.rec);
    drop(run);
    let out = rec.wait(Duration::from_secs(10));
    assert_eq!(out.code, NETTASK_OK);
    assert_eq!(out.data.len(), 15);
}
