//! Server-sent events through `nettask_on_sse_event` against the same bytes
//! through a raw chunk listener, on one client through the C ABI:
//!
//! - throughput: 256 MiB of events (1 KiB of data each) from a loopback
//!   server that writes them from memory; the SSE side must keep ≥ 0.9 of
//!   the chunk side's throughput (parsing costs at most 10 %);
//! - latency: events flushed one by one, each carrying its send time; the
//!   p50 / p99 from the server's write to the listener, SSE vs chunk, must
//!   be within 20 µs.
//!
//! `cargo bench --bench sse` (`-- quick`: 32 MiB, fewer events;
//! NETTASK_BENCH_ROUNDS=N rounds). The client runs on CPU 0, the server on
//! CPU 1.

use std::ffi::{CString, c_void};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use nettask::ffi::*;

#[path = "common/cpu.rs"]
mod cpu;
#[path = "common/rounds.rs"]
mod rounds;

/// The clock both the server and the listeners read.
fn clock() -> Duration {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed()
}

/// `count` events of `size` bytes of data each.
fn events(count: usize, size: usize) -> Vec<u8> {
    let data = "x".repeat(size);
    let mut body = Vec::with_capacity(count * (size + 16));
    for i in 0..count {
        body.extend_from_slice(format!("id: {i}\ndata: {data}\n\n").as_bytes());
    }
    body
}

/// Serves `/bulk` (the body, from memory) and `/latency` (`n` events, one
/// per write, 1 ms apart, each with its send time) on 127.0.0.1.
fn serve(bulk: Arc<Vec<u8>>, latency_events: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if cpu::cpu_count() >= 2 {
            cpu::pin_to_cpu(1);
        }
        for stream in listener.incoming().flatten() {
            let bulk = Arc::clone(&bulk);
            std::thread::spawn(move || answer(stream, &bulk, latency_events));
        }
    });
    format!("http://{addr}")
}

fn answer(mut stream: TcpStream, bulk: &[u8], latency_events: usize) {
    let _ = stream.set_nodelay(true);
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let sse = "Content-Type: text/event-stream\r\nConnection: close";
    if head.starts_with(b"GET /bulk") {
        let start = format!(
            "HTTP/1.1 200 OK\r\n{sse}\r\nContent-Length: {}\r\n\r\n",
            bulk.len()
        );
        let _ = stream.write_all(start.as_bytes());
        for piece in bulk.chunks(1 << 20) {
            if stream.write_all(piece).is_err() {
                return;
            }
        }
    } else {
        // No length: the body ends when the connection does.
        let _ = stream.write_all(format!("HTTP/1.1 200 OK\r\n{sse}\r\n\r\n").as_bytes());
        for _ in 0..latency_events {
            std::thread::sleep(Duration::from_millis(1));
            let event = format!("data: {}\n\n", clock().as_nanos());
            if stream.write_all(event.as_bytes()).is_err() {
                return;
            }
        }
    }
}

/// What the listeners of one task saw.
#[derive(Default)]
struct Tally {
    bytes: AtomicU64,
    events: AtomicU64,
    /// Send-to-listener latencies, in ns.
    latencies: Mutex<Vec<u64>>,
    done: Mutex<bool>,
    cv: Condvar,
}

fn tally<'a>(ud: *mut c_void) -> &'a Tally {
    // SAFETY: every task's user_data is a Tally that outlives its events
    // (the run waits for the completion before dropping it).
    unsafe { &*(ud as *const Tally) }
}

/// A latency from an event's text "data: <send time in ns>".
fn latency_of(text: &[u8]) -> Option<u64> {
    let digits: String = text
        .iter()
        .filter(|b| b.is_ascii_digit())
        .map(|&b| b as char)
        .collect();
    let sent: u64 = digits.parse().ok()?;
    Some(clock().as_nanos() as u64 - sent)
}

unsafe extern "C" fn on_chunk(_: *mut nettask_task, data: *const u8, len: usize, ud: *mut c_void) {
    let t = tally(ud);
    t.bytes.fetch_add(len as u64, Ordering::Relaxed);
    // SAFETY: nettask passes `len` readable bytes, valid during this call.
    let data = unsafe { std::slice::from_raw_parts(data, len) };
    if data.starts_with(b"data: ") && data.len() < 64 {
        t.latencies.lock().unwrap().extend(latency_of(data));
    }
}

unsafe extern "C" fn on_event(_: *mut nettask_task, e: *const nettask_sse_event, ud: *mut c_void) {
    let t = tally(ud);
    // SAFETY: nettask passes an event valid during this call.
    let e = unsafe { &*e };
    t.events.fetch_add(1, Ordering::Relaxed);
    t.bytes.fetch_add(e.data_len as u64, Ordering::Relaxed);
    if e.data_len < 32 {
        // SAFETY: `data_len` readable bytes, valid during this call.
        let data = unsafe { std::slice::from_raw_parts(e.data, e.data_len) };
        t.latencies.lock().unwrap().extend(latency_of(data));
    }
}

unsafe extern "C" fn on_complete(_: *mut nettask_task, r: *const nettask_result, ud: *mut c_void) {
    // SAFETY: nettask passes a result valid during this call.
    assert_eq!(unsafe { (*r).code }, nettask_code::NETTASK_OK);
    let t = tally(ud);
    *t.done.lock().unwrap() = true;
    t.cv.notify_all();
}

#[derive(Clone, Copy, PartialEq)]
enum Listener {
    Chunk,
    Sse,
}

/// Fetches `url` with one kind of listener; returns the time and the tally.
fn run(client: *mut nettask_client, url: &str, listener: Listener) -> (Duration, Arc<Tally>) {
    let url = CString::new(url).unwrap();
    let t = Arc::new(Tally::default());
    let ud = Arc::as_ptr(&t) as *mut c_void;
    // SAFETY: plain data; all-zero is a valid value before init.
    let mut opts: nettask_request_options = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers; the task is started, released and awaited
    // below, and `t` (its listeners' user_data) lives until it completes.
    let started = unsafe {
        nettask_request_options_init_version(&mut opts, NETTASK_REQUEST_OPTIONS_VERSION);
        opts.url = url.as_ptr();
        opts.enable_chunked = true;
        opts.timeout_ms = NETTASK_TIMEOUT_NONE;
        let mut task = std::ptr::null_mut();
        assert_eq!(
            nettask_request_create(client, &opts, &mut task),
            nettask_code::NETTASK_OK
        );
        match listener {
            Listener::Chunk => nettask_on_chunk_received(task, Some(on_chunk), ud),
            Listener::Sse => nettask_on_sse_event(task, Some(on_event), ud),
        };
        nettask_on_complete(task, Some(on_complete), ud);
        let started = Instant::now();
        nettask_start(task);
        nettask_release(task);
        started
    };
    let mut done = t.done.lock().unwrap();
    while !*done {
        done = t.cv.wait(done).unwrap();
    }
    drop(done);
    (started.elapsed(), t)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn percentile(v: &mut [u64], p: usize) -> f64 {
    v.sort_unstable();
    v[(v.len() - 1) * p / 100] as f64 / 1000.0
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let (mib, rounds, latency_events) = if quick { (32, 3, 300) } else { (256, 5, 2000) };
    let rounds = rounds::rounds(rounds);
    // The client (this thread and the event thread) on CPU 0, the server
    // on CPU 1.
    if cpu::cpu_count() >= 2 {
        cpu::pin_to_cpu(0);
    }
    let count = mib * 1024 * 1024 / 1024;
    let bulk = Arc::new(events(count, 1024 - 16));
    let base = serve(Arc::clone(&bulk), latency_events);
    let mut client = std::ptr::null_mut();
    // SAFETY: NULL options are the defaults; a valid out pointer.
    let code = unsafe { nettask_client_new(std::ptr::null(), &mut client) };
    assert_eq!(code, nettask_code::NETTASK_OK);

    let (mut chunk_times, mut sse_times) = (Vec::new(), Vec::new());
    let url = format!("{base}/bulk");
    for _ in 0..rounds {
        let (time, t) = run(client, &url, Listener::Chunk);
        assert_eq!(t.bytes.load(Ordering::Relaxed), bulk.len() as u64);
        chunk_times.push(time);
        let (time, t) = run(client, &url, Listener::Sse);
        assert_eq!(t.events.load(Ordering::Relaxed), count as u64);
        sse_times.push(time);
    }
    let (chunk, sse) = (median(chunk_times), median(sse_times));
    let mb = bulk.len() as f64 / 1e6;
    println!("| case | SSE listener | chunk listener | ratio | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| {} MiB of 1 KiB events, throughput | {:.0} MB/s ({:.3} s) | {:.0} MB/s ({:.3} s) | {:.3} | >= 0.9 |",
        bulk.len() >> 20,
        mb / sse.as_secs_f64(),
        sse.as_secs_f64(),
        mb / chunk.as_secs_f64(),
        chunk.as_secs_f64(),
        chunk.as_secs_f64() / sse.as_secs_f64(),
    );
    let url = format!("{base}/latency");
    let (_, chunk) = run(client, &url, Listener::Chunk);
    let (_, sse) = run(client, &url, Listener::Sse);
    let (mut c, mut s) = (
        chunk.latencies.lock().unwrap().clone(),
        sse.latencies.lock().unwrap().clone(),
    );
    assert!(c.len() > latency_events * 9 / 10 && s.len() == latency_events);
    let (c50, c99, s50, s99) = (
        percentile(&mut c, 50),
        percentile(&mut c, 99),
        percentile(&mut s, 50),
        percentile(&mut s, 99),
    );
    println!(
        "| latency p50 / p99, {latency_events} flushed events | {s50:.0} / {s99:.0} µs | {c50:.0} / {c99:.0} µs | +{:.0} / +{:.0} µs | within 20 µs |",
        s50 - c50,
        s99 - c99
    );
    // SAFETY: the client made above; every task completed.
    unsafe { nettask_client_free(client) };
}
