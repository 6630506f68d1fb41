//! nettask against a raw libcurl multi loop built from the same libcurl,
//! case by case, interleaved A B A B, with medians and ratios.
//!
//!   scripts/bench.sh            (installs nginx if missing, then runs this)
//!   cargo bench --bench compare [-- quick]
//!
//! Cases (issue 5): bulk body to a counting chunk listener; download to a
//! file (also against `curl -o`); 20,000 small GETs with 64 in flight over
//! HTTP/1.1 and h2c; chunk latency from server write to listener; 1,000 idle
//! tasks (CPU, memory per task, time to abort them all).

mod nettask_side;
mod nginx;
mod raw_side;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;

static EPOCH: Lazy<Instant> = Lazy::new(Instant::now);

fn now_ns() -> u64 {
    EPOCH.elapsed().as_nanos() as u64
}

/// Reads the 16-byte records of the latency server (8 bytes: the server's
/// `now_ns` at write time) and keeps how late each one arrived.
#[derive(Default)]
pub struct LatencyParser {
    partial: Vec<u8>,
    pub latencies: Vec<Duration>,
}

impl LatencyParser {
    pub fn feed(&mut self, data: &[u8]) {
        let now = now_ns();
        self.partial.extend_from_slice(data);
        let whole = self.partial.len() / 16 * 16;
        for record in self.partial[..whole].chunks(16) {
            let sent = u64::from_le_bytes(record[..8].try_into().unwrap());
            self.latencies
                .push(Duration::from_nanos(now.saturating_sub(sent)));
        }
        self.partial.drain(..whole);
    }
}

pub struct IdleStats {
    pub cpu: Duration,
    pub per_task_kib: f64,
    pub abort_all: Duration,
}

pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

fn cpu_time() -> Duration {
    // SAFETY: getrusage writes one rusage struct.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

const IDLE_WINDOW: Duration = Duration::from_secs(3);

/// CPU used while `wait` spends the idle window, and the RSS after it.
/// `wait` first runs for a moment unmeasured, so that the requests' last
/// writes after their connects do not count as idle time.
pub fn measure_idle(mut wait: impl FnMut(Duration)) -> (Duration, u64) {
    wait(Duration::from_millis(300));
    let before = cpu_time();
    wait(IDLE_WINDOW);
    (cpu_time() - before, rss_kib())
}

pub fn wait_until(done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One chunked response of `records` 16-byte records, `gap` apart, each
/// stamped with `now_ns` just before it is written. One connection.
fn latency_server(records: usize, gap: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/latency", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_nodelay(true).unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            head.extend_from_slice(&buf[..n]);
        }
        s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap();
        for _ in 0..records {
            std::thread::sleep(gap);
            let mut chunk = b"10\r\n".to_vec();
            chunk.extend_from_slice(&now_ns().to_le_bytes());
            chunk.extend_from_slice(&[0; 8]);
            chunk.extend_from_slice(b"\r\n");
            s.write_all(&chunk).unwrap();
        }
        s.write_all(b"0\r\n\r\n").unwrap();
    });
    url
}

/// A server that accepts connections and never answers.
fn silent_server() -> (String, Arc<Mutex<Vec<TcpStream>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    // std listens with a backlog of 128; 1,000 connects at once need more.
    // SAFETY: listen() on a socket this listener owns.
    unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&listener), 4096) };
    let url = format!("http://{}/silent", listener.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&held);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            keep.lock().unwrap().push(stream);
        }
    });
    (url, held)
}

fn idle_in_child(side: &str) -> IdleStats {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["idle-child", side])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "idle {side}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let v: Vec<f64> = text
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    IdleStats {
        cpu: Duration::from_secs_f64(v[0]),
        per_task_kib: v[1],
        abort_all: Duration::from_secs_f64(v[2]),
    }
}

/// The body of an idle child: one side's stats on stdout.
fn idle_child(side: &str) {
    raise_fd_limit();
    let (silent, held) = silent_server();
    let connected = || held.lock().unwrap().len();
    let stats = if side == "nettask" {
        nettask_side::Client::new(0).idle(&silent, IDLE_TASKS, connected)
    } else {
        raw_side::idle(&silent, IDLE_TASKS, connected)
    };
    println!(
        "{} {} {}",
        stats.cpu.as_secs_f64(),
        stats.per_task_kib,
        stats.abort_all.as_secs_f64()
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn percentile(v: &[Duration], p: f64) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn micros(d: Duration) -> String {
    format!("{:.0} us", d.as_secs_f64() * 1e6)
}

/// Runs `a` and `b` alternately, `rounds` times each; their medians.
fn interleave(
    rounds: usize,
    mut a: impl FnMut() -> Duration,
    mut b: impl FnMut() -> Duration,
) -> (Duration, Duration) {
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        xs.push(a());
        ys.push(b());
    }
    (median(xs), median(ys))
}

fn row(case: &str, nettask: &str, baseline: &str, ratio: f64, target: &str) {
    println!("| {case:<40} | {nettask:>12} | {baseline:>18} | {ratio:>6.3} | {target:<10} |");
}

pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Keeps this process (both sides' client work, and the threads it starts)
/// on CPU 0 while nginx runs on CPU 1, so that neither side's runs depend
/// on where the scheduler happens to put the client next to the server.
fn pin_to_cpu0() {
    // SAFETY: sched_setaffinity on this process with a zeroed, then filled,
    // local cpu_set_t.
    unsafe {
        let mut set = std::mem::zeroed::<libc::cpu_set_t>();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn raise_fd_limit() {
    // SAFETY: get/setrlimit on a local struct.
    unsafe {
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let [child, side] = args.as_slice()
        && child == "idle-child"
    {
        return idle_child(side);
    }
    let quick = args.iter().any(|a| a == "quick");
    // Case names given on the command line select cases; none = all.
    let cases: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "quick")
        .collect();
    let run = |case: &str| cases.is_empty() || cases.contains(&case);
    let (bulk_mib, small_count, rounds) = if quick {
        (32u64, 2_000, 3)
    } else {
        (256u64, 20_000, 5)
    };
    raise_fd_limit();
    let cpus = cpu_count();
    if cpus >= 2 {
        pin_to_cpu0();
    }
    Lazy::force(&EPOCH);
    let nginx = nginx::Nginx::start(&[("big.bin", bulk_mib << 20), ("small.txt", 5)]);
    let big = nginx.url(nginx.http1, "big.bin");
    let small_h1 = nginx.url(nginx.http1, "small.txt");
    let small_h2c = nginx.url(nginx.h2c, "small.txt");
    let out_dir = nginx.dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    println!(
        "nettask vs raw libcurl multi ({}), {cpus} cores (client on CPU 0, nginx on CPU 1), \
         medians of {rounds} interleaved rounds\n",
        curl::Version::get().version()
    );
    println!(
        "| {:<40} | {:>12} | {:>18} | {:>6} | {:<10} |",
        "case", "nettask", "baseline", "ratio", "target"
    );
    println!(
        "|{}|{}|{}|{}|{}|",
        "-".repeat(42),
        "-".repeat(14),
        "-".repeat(20),
        "-".repeat(8),
        "-".repeat(12)
    );

    if run("bulk") {
        bulk(rounds, &big, bulk_mib);
    }
    if run("download") {
        download(rounds, &big, &out_dir.join("download.bin"), bulk_mib);
    }
    if run("small") {
        small(rounds, &small_h1, &small_h2c, small_count);
    }
    if run("latency") {
        latency();
    }
    if run("idle") {
        idle();
    }
}

fn bulk(rounds: usize, big: &str, mib: u64) {
    let client = nettask_side::Client::new(0);
    let (n, r) = interleave(
        rounds,
        || {
            let (t, bytes) = client.bulk(big);
            assert_eq!(bytes, mib << 20);
            t
        },
        || {
            let (t, bytes) = raw_side::bulk(big);
            assert_eq!(bytes, mib << 20);
            t
        },
    );
    let ratio = n.as_secs_f64() / r.as_secs_f64();
    row(
        &format!("bulk {mib} MiB to a chunk listener"),
        &secs(n),
        &format!("raw {}", secs(r)),
        ratio,
        "<= 1.05",
    );
}

fn download(rounds: usize, big: &str, file: &std::path::Path, mib: u64) {
    let client = nettask_side::Client::new(0);
    let curl_cli = || {
        let started = Instant::now();
        let status = std::process::Command::new("curl")
            .args(["-s", "-o", file.to_str().unwrap(), big])
            .status()
            .expect("curl CLI");
        assert!(status.success());
        started.elapsed()
    };
    let (n, c) = interleave(rounds, || client.download(big, file), curl_cli);
    let case = format!("download {mib} MiB to a file");
    row(
        &case,
        &secs(n),
        &format!("curl -o {}", secs(c)),
        n.as_secs_f64() / c.as_secs_f64(),
        "<= 1.05",
    );
    let (n, r) = interleave(
        rounds,
        || client.download(big, file),
        || raw_side::download(big, file),
    );
    row(
        &case,
        &secs(n),
        &format!("raw {}", secs(r)),
        n.as_secs_f64() / r.as_secs_f64(),
        "",
    );
}

fn small(rounds: usize, h1: &str, h2c: &str, count: usize) {
    let client = nettask_side::Client::new(64);
    for (name, url, prior_knowledge) in [("HTTP/1.1", h1, false), ("h2c", h2c, true)] {
        let (n, r) = interleave(
            rounds,
            || client.small(url, count, prior_knowledge),
            || raw_side::small(url, count, 64, prior_knowledge),
        );
        let case = format!("{count} x 5 B GETs, 64 in flight, {name}");
        row(
            &case,
            &secs(n),
            &format!("raw {}", secs(r)),
            n.as_secs_f64() / r.as_secs_f64(),
            "<= 1.10",
        );
    }
}

fn latency() {
    let client = nettask_side::Client::new(0);
    let (records, gap) = (2_000, Duration::from_micros(500));
    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        ours.extend(client.chunk_latency(&latency_server(records, gap)));
        raw.extend(raw_side::chunk_latency(&latency_server(records, gap)));
    }
    for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
        let (n, r) = (percentile(&ours, p), percentile(&raw, p));
        let target = if name == "p99" { "+<= 1 ms" } else { "" };
        let case = format!("chunk latency {name}, write to listener");
        row(
            &case,
            &micros(n),
            &format!("raw {}", micros(r)),
            n.as_secs_f64() / r.as_secs_f64(),
            target,
        );
    }
}

const IDLE_TASKS: usize = 1_000;

/// Each side runs in a fresh process of this binary, so both start from
/// the same resident memory and neither reuses pages the other freed.
fn idle() {
    let count = IDLE_TASKS;
    let ours = idle_in_child("nettask");
    let raw = idle_in_child("raw");
    let ratio = ours.cpu.as_secs_f64() / raw.cpu.as_secs_f64();
    row(
        &format!("{count} idle tasks: CPU over 3 s"),
        &micros(ours.cpu),
        &format!("raw {}", micros(raw.cpu)),
        ratio,
        "< 10 ms",
    );
    let ratio = ours.per_task_kib / raw.per_task_kib;
    let (n, r) = (
        format!("{:.1} KiB", ours.per_task_kib),
        format!("raw {:.1} KiB", raw.per_task_kib),
    );
    row(
        &format!("{count} idle tasks: memory per task"),
        &n,
        &r,
        ratio,
        "<= 32 KiB",
    );
    let ratio = ours.abort_all.as_secs_f64() / raw.abort_all.as_secs_f64();
    let r = format!("raw remove {}", micros(raw.abort_all));
    row(
        &format!("{count} idle tasks: abort all"),
        &micros(ours.abort_all),
        &r,
        ratio,
        "<= 20 ms",
    );
}
