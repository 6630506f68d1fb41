//! Queued delivery (API.md "Delivery on the host's thread"): listeners run
//! inside `nettask_client_dispatch` on the host's thread, every listener
//! rule holds, and flow control bounds what waits.

use std::ffi::c_void;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nettask::ffi::nettask_code::*;
use nettask::ffi::*;

use crate::harness::*;
use crate::server::{pattern, server};

fn queued_client(max_queued_bytes: u64) -> Client {
    Client::with(|o| {
        o.delivery = NETTASK_DELIVERY_QUEUED;
        o.max_queued_bytes = max_queued_bytes;
    })
}

fn dispatch(client: &Client, timeout_ms: u32) -> (nettask_code, usize) {
    let mut n = usize::MAX;
    // SAFETY: a live client and a writable count.
    let code = unsafe { nettask_client_dispatch(client.0, timeout_ms, &mut n) };
    (code, n)
}

fn completed(rec: &Recorder) -> bool {
    rec.events().iter().any(|e| matches!(e, Event::Complete(_)))
}

/// Dispatches on this thread until `rec` has its completion.
fn pump(client: &Client, rec: &Recorder) -> Outcome {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !completed(rec) {
        assert!(Instant::now() < deadline, "no completion was dispatched");
        assert_eq!(dispatch(client, 50).0, NETTASK_OK, "{}", last_error());
    }
    rec.completions().remove(0)
}

fn readable(fd: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd on the stack, no wait.
    unsafe { libc::poll(&mut p, 1, 0) == 1 }
}

#[test]
fn listeners_run_in_dispatch_on_the_calling_thread_in_order() {
    let client = queued_client(0);
    // SAFETY: a live client.
    let fd = unsafe { nettask_client_event_fd(client.0) };
    assert!(fd >= 0);
    let run = Run::request(
        &client,
        Opts::new(&server().url("/stream?n=3&size=4&delay_ms=20")),
    );
    run.start();
    // Nothing runs until the host dispatches; the descriptor says events wait.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !readable(fd) {
        assert!(
            Instant::now() < deadline,
            "the event fd never became readable"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        run.rec.events().is_empty(),
        "a listener ran without dispatch"
    );
    let outcome = pump(&client, &run.rec);
    assert!(
        !readable(fd),
        "the event fd stays readable with nothing waiting"
    );
    assert_eq!(outcome.code, NETTASK_OK);
    assert_eq!(outcome.data, b"aaaabbbbcccc");
    let events = run.rec.events.lock().unwrap().clone();
    let here = std::thread::current().id();
    assert!(events.iter().all(|(_, thread, _)| *thread == here));
    assert!(matches!(events[0].2, Event::Headers { status: 200, .. }));
    assert!(matches!(events.last().unwrap().2, Event::Complete(_)));
    assert_eq!(run.rec.chunks(), b"aaaabbbbcccc");
}

#[test]
fn an_event_thread_client_has_no_queue() {
    let client = Client::new();
    // SAFETY: a live client.
    assert_eq!(unsafe { nettask_client_event_fd(client.0) }, -1);
    assert_eq!(dispatch(&client, 0).0, NETTASK_E_INVALID_STATE);
    assert!(last_error().contains("event thread"), "{}", last_error());
    // SAFETY: NULL is refused.
    assert_eq!(unsafe { nettask_client_event_fd(ptr::null_mut()) }, -1);
    // SAFETY: NULL is refused.
    let code = unsafe { nettask_client_dispatch(ptr::null_mut(), 0, ptr::null_mut()) };
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
    // SAFETY: the options struct is plain data; all-zero is a valid value.
    let mut opts: nettask_client_options = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer.
    unsafe { nettask_client_options_init_version(&mut opts, NETTASK_CLIENT_OPTIONS_VERSION) };
    opts.delivery = 7;
    let mut bad = ptr::null_mut();
    // SAFETY: valid pointers.
    let code = unsafe { nettask_client_new(&opts, &mut bad) };
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
    assert!(bad.is_null());
    assert!(last_error().contains("delivery is 7"), "{}", last_error());
}

#[test]
fn dispatch_waits_up_to_its_timeout_for_the_first_event() {
    let client = queued_client(0);
    let started = Instant::now();
    assert_eq!(dispatch(&client, 100), (NETTASK_OK, 0));
    assert!(started.elapsed() >= Duration::from_millis(90));
    let run = Run::request(&client, Opts::new(&server().url("/slow?ms=150")));
    run.start();
    // One call waits for the first event (the head, after 150 ms).
    let (code, calls) = dispatch(&client, 10_000);
    assert_eq!(code, NETTASK_OK);
    assert!(calls >= 1, "{calls}");
    pump(&client, &run.rec);
}

#[test]
fn abort_drops_queued_events_but_the_completion() {
    let client = queued_client(0);
    let run = Run::request(&client, Opts::new(&server().url("/stall?after=1000")));
    run.start();
    // SAFETY: a live client.
    let fd = unsafe { nettask_client_event_fd(client.0) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !readable(fd) {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100)); // the stall's body too
    assert_eq!(run.abort(), NETTASK_OK);
    let outcome = pump(&client, &run.rec);
    assert_eq!(outcome.code, NETTASK_E_ABORTED);
    assert_eq!(outcome.err_msg, "request:fail abort");
    let events = run.rec.events();
    assert_eq!(events.len(), 1, "only the completion: {events:?}");
}

#[test]
fn a_completion_decided_before_abort_keeps_its_code() {
    let client = queued_client(0);
    let run = Run::request(&client, Opts::new(&server().url("/hello")));
    run.start();
    // Wait until the loop decided it (the completion is queued).
    let deadline = Instant::now() + Duration::from_secs(10);
    // SAFETY: a live client.
    let fd = unsafe { nettask_client_event_fd(client.0) };
    while !readable(fd) {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(run.abort(), NETTASK_OK);
    let outcome = pump(&client, &run.rec);
    assert_eq!(outcome.code, NETTASK_OK);
    assert_eq!(outcome.data, b"hello world");
    // The head and the body were dropped: abort had returned.
    assert_eq!(run.rec.events().len(), 1);
}

unsafe extern "C" fn off_chunks_from_headers(
    task: *mut nettask_task,
    _: *const nettask_response_head,
    _: *mut c_void,
) {
    // SAFETY: the listener's own task, valid during the call.
    let code = unsafe { nettask_off_chunk_received(task, None, ptr::null_mut()) };
    assert_eq!(code, NETTASK_OK);
}

#[test]
fn listeners_are_looked_up_as_each_event_is_dispatched() {
    let client = queued_client(0);
    let run = Run::request(
        &client,
        Opts::new(&server().url("/stream?n=3&size=4&delay_ms=0")),
    );
    // SAFETY: a live task; the listener takes no user data.
    let code = unsafe {
        nettask_on_headers_received(run.task, Some(off_chunks_from_headers), ptr::null_mut())
    };
    assert_eq!(code, NETTASK_OK);
    run.start();
    // Let every event queue up before the first dispatch.
    std::thread::sleep(Duration::from_millis(300));
    let outcome = pump(&client, &run.rec);
    assert_eq!(outcome.data, b"aaaabbbbcccc");
    assert!(
        run.rec.chunks().is_empty(),
        "the chunk listeners removed from the headers listener still ran"
    );
}

struct Reentry {
    client: *mut nettask_client,
    codes: Mutex<Vec<nettask_code>>,
}

unsafe extern "C" fn reenter(_: *mut nettask_task, _: *const nettask_result, ud: *mut c_void) {
    // SAFETY: the test's Reentry, alive until the completion.
    let r = unsafe { &*(ud as *const Reentry) };
    // SAFETY: a live client, from one of its dispatched listeners.
    let codes = unsafe {
        [
            nettask_client_dispatch(r.client, 0, ptr::null_mut()),
            nettask_client_free(r.client),
        ]
    };
    r.codes.lock().unwrap().extend(codes);
}

#[test]
fn dispatch_and_free_from_a_dispatched_listener_are_refused() {
    let client = queued_client(0);
    let reentry = Reentry {
        client: client.0,
        codes: Mutex::new(Vec::new()),
    };
    let run = Run::request(&client, Opts::new(&server().url("/hello")));
    let ud = ptr::from_ref(&reentry).cast_mut().cast();
    // SAFETY: a live task; `reentry` outlives its completion.
    let code = unsafe { nettask_on_complete(run.task, Some(reenter), ud) };
    assert_eq!(code, NETTASK_OK);
    run.start();
    pump(&client, &run.rec);
    assert_eq!(
        *reentry.codes.lock().unwrap(),
        [NETTASK_E_INVALID_STATE, NETTASK_E_INVALID_STATE]
    );
}

#[test]
fn a_slowly_dispatched_body_arrives_whole_and_in_order() {
    const BODY: usize = 32 * 1024 * 1024;
    let client = queued_client(256 * 1024);
    let opts = Opts::new(&server().url(&format!("/bytes/{BODY}"))).set(|o| o.enable_chunked = true);
    let run = Run::request(&client, opts);
    run.start();
    let mut received = Vec::with_capacity(BODY);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !completed(&run.rec) {
        assert!(Instant::now() < deadline);
        // A host busy elsewhere: it dispatches now and then.
        std::thread::sleep(Duration::from_millis(2));
        dispatch(&client, 0);
        let mut events = run.rec.events.lock().unwrap();
        for (_, _, event) in std::mem::take(&mut *events) {
            match event {
                Event::Chunk(chunk) => received.extend_from_slice(&chunk),
                other => events.push((Instant::now(), std::thread::current().id(), other)),
            }
        }
    }
    assert_eq!(received.len(), BODY);
    assert!(received == pattern(BODY), "the body arrived changed");
}

/// A server that sends a 1 TiB body as fast as the client takes it, and
/// counts the bytes the kernel took.
fn counting_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request);
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", 1u64 << 40);
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        let block = vec![b'x'; 64 * 1024];
        while stream.write_all(&block).is_ok() {
            counter.fetch_add(block.len(), Ordering::SeqCst);
        }
    });
    (url, sent)
}

#[test]
fn flow_control_stops_reading_while_the_host_does_not_dispatch() {
    const BUDGET: u64 = 1024 * 1024;
    let client = queued_client(BUDGET);
    let (url, sent) = counting_server();
    let run = Run::request(&client, Opts::new(&url).set(|o| o.enable_chunked = true));
    run.start();
    // The host dispatches nothing for half a second. Unpaused, libcurl
    // reads a loopback body at well over 1 GB/s.
    std::thread::sleep(Duration::from_millis(500));
    let taken = sent.load(Ordering::SeqCst);
    // The budget, libcurl's buffer and the two sockets' buffers.
    assert!(
        taken < 48 << 20,
        "the server could send {taken} bytes to a host that dispatched nothing"
    );
    // Draining resumes it.
    for _ in 0..50 {
        dispatch(&client, 10);
    }
    assert!(
        sent.load(Ordering::SeqCst) > taken,
        "the transfer did not resume"
    );
    assert_eq!(run.abort(), NETTASK_OK);
    assert_eq!(pump(&client, &run.rec).code, NETTASK_E_ABORTED);
}

#[test]
fn a_paused_task_does_not_hold_back_the_others_or_time_out_idle() {
    let client = queued_client(64 * 1024);
    let opts = Opts::new(&server().url("/bytes/8388608")).set(|o| {
        o.enable_chunked = true;
        // Room for an emulated (qemu) or loaded machine while bytes flow.
        o.idle_timeout_ms = 1000;
    });
    let big = Run::request(&client, opts);
    big.start();
    // The big task fills its budget and pauses; nobody dispatches for a
    // while, longer than its idle timeout.
    std::thread::sleep(Duration::from_millis(1200));
    let small = Run::request(&client, Opts::new(&server().url("/hello")));
    small.start();
    std::thread::sleep(Duration::from_millis(500));
    // The small task ran to its end meanwhile: its completion is queued.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !completed(&small.rec) {
        assert!(Instant::now() < deadline, "the small task was held back");
        dispatch(&client, 10);
    }
    let outcome = pump(&client, &big.rec);
    assert_eq!(outcome.code, NETTASK_OK, "{}", outcome.err_msg);
    assert_eq!(big.rec.chunks().len(), 8_388_608);
}

#[test]
fn two_dispatching_threads_take_turns() {
    static RUNNING: AtomicBool = AtomicBool::new(false);
    static OVERLAPS: AtomicUsize = AtomicUsize::new(0);
    unsafe extern "C" fn slow_chunk(_: *mut nettask_task, _: *const u8, _: usize, _: *mut c_void) {
        if RUNNING.swap(true, Ordering::SeqCst) {
            OVERLAPS.fetch_add(1, Ordering::SeqCst);
        }
        std::thread::sleep(Duration::from_millis(2));
        RUNNING.store(false, Ordering::SeqCst);
    }
    let client = Arc::new(queued_client(0));
    let runs: Vec<Run> = (0..8)
        .map(|_| {
            let run = Run::request(
                &client,
                Opts::new(&server().url("/stream?n=10&size=10&delay_ms=5")),
            );
            // SAFETY: a live task; the listener takes no user data.
            let code =
                unsafe { nettask_on_chunk_received(run.task, Some(slow_chunk), ptr::null_mut()) };
            assert_eq!(code, NETTASK_OK);
            run.start();
            run
        })
        .collect();
    let done = || runs.iter().all(|r| completed(&r.rec));
    std::thread::scope(|s| {
        for _ in 0..2 {
            let client = Arc::clone(&client);
            s.spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(30);
                while !done() && Instant::now() < deadline {
                    dispatch(&client, 20);
                }
            });
        }
    });
    assert!(done());
    assert_eq!(OVERLAPS.load(Ordering::SeqCst), 0, "listeners ran at once");
}

#[test]
fn free_delivers_owed_completions_on_the_calling_thread() {
    let client = queued_client(0);
    let stalled = Run::request(&client, Opts::new(&server().url("/stall?after=10")));
    let done = Run::request(&client, Opts::new(&server().url("/hello")));
    stalled.start();
    done.start();
    std::thread::sleep(Duration::from_millis(300));
    let here = std::thread::current().id();
    let raw = client.0;
    std::mem::forget(client);
    // SAFETY: a live client, freed once, not from a listener.
    assert_eq!(unsafe { nettask_client_free(raw) }, NETTASK_OK);
    let stalled_events = stalled.rec.events.lock().unwrap().clone();
    assert_eq!(stalled_events.len(), 1, "only the completion");
    assert!(stalled_events.iter().all(|(_, t, _)| *t == here));
    assert_eq!(stalled.rec.completions()[0].code, NETTASK_E_SHUTDOWN);
    // Decided before the free: its own code.
    let finished = done.rec.completions();
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0].code, NETTASK_OK);
    assert_eq!(
        done.rec.events().len(),
        1,
        "queued non-completion events are dropped"
    );
}

#[test]
fn a_stream_faster_than_its_listener_does_not_keep_dispatch_from_returning() {
    unsafe extern "C" fn slow(_: *mut nettask_task, _: *const u8, _: usize, _: *mut c_void) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let client = queued_client(0);
    let opts = Opts::new(&server().url("/bytes/268435456")).set(|o| o.enable_chunked = true);
    let run = Run::request(&client, opts);
    // SAFETY: a live task; the listener takes no user data.
    let code = unsafe { nettask_on_chunk_received(run.task, Some(slow), ptr::null_mut()) };
    assert_eq!(code, NETTASK_OK);
    run.start();
    // Each call runs what waited when it began, then hands the thread back.
    let mut returns = 0;
    while returns < 5 {
        assert_eq!(dispatch(&client, 1000).0, NETTASK_OK);
        returns += 1;
    }
    assert!(
        !completed(&run.rec),
        "the body finished before the host had its thread back"
    );
    assert_eq!(run.abort(), NETTASK_OK);
    assert_eq!(pump(&client, &run.rec).code, NETTASK_E_ABORTED);
}
