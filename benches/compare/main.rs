//! nettask against its peers, case by case, interleaved A B C A B C, with
//! medians and, for each peer, the ratio nettask ÷ that peer.
//!
//!   scripts/bench.sh            (installs nginx if missing, then runs this)
//!   cargo bench --bench compare [-- quick] [case ...]
//!
//! The peers: a raw libcurl multi loop built from the same libcurl (raw),
//! reqwest on a tokio current-thread runtime (reqwest-ct) and on a
//! multi-thread one (reqwest-mt), and isahc, which drives the same static
//! libcurl through its own agent thread; for downloads also `curl -o`, for
//! uploads `curl -F` (the system's curl).
//!
//! Cases (issues 5 and 11), each selectable by name:
//!   bulk      a body to a counting chunk listener (peers stream and count)
//!   decode    a gzip-coded body (JSON lines, gzip -6, served as it is on
//!             disk) decoded to a counting listener (libcurl decodes for
//!             raw and isahc), and each side's peak RSS over an idle
//!             client's while decoding (each side in a fresh process)
//!   download  the same body to a file (also against `curl -o`)
//!   small     20,000 5 B GETs, 64 in flight, over HTTP/1.1, h2c (prior
//!             knowledge) and h2 over TLS (nginx's self-signed CA, trusted
//!             by every client); every side starts the next request when
//!             one ends (nettask from its completion listener)
//!   latency   chunk latency from the server's write to the listener
//!   idle      1,000 and 10,000 tasks against a server that accepts and
//!             never answers: time to connect all, CPU over 3 s, memory per
//!             task, time to abort all until every task has ended and
//!             until the server saw every socket closed (each side in a
//!             fresh process);
//!             and the floor under aborting: as many plain TCP sockets,
//!             each having sent a GET head, closed with no HTTP library
//!   growth    per-request time at 1,000, 10,000 and 100,000 GETs run in
//!             batches of 64, and how it grows from the first to the last
//!   queued    bulk and small GETs (HTTP/1.1) in queued delivery, the
//!             listeners dispatched on the main thread, against nettask's
//!             event-thread delivery (issue 18: <= 1.10)
//!   upload    a 256 MiB file as a multipart/form-data POST with one text
//!             field, streamed from the file, which nginx reads whole before
//!             it answers: nettask, raw (the same libcurl MIME form) and
//!             `curl -F`, time and client CPU; and each side's peak RSS over
//!             an idle client's at 256 MiB and 1 GiB (each side in a fresh
//!             process)
//!
//! `quick` makes every case smaller (sizes, counts, rounds; idle at 1,000
//! only): it checks that the bench still works. NETTASK_BENCH_ROUNDS=N
//! sets the number of rounds; NETTASK_BENCH_SIDES=raw (say) leaves the
//! other peers out of the cases that compare every side;
//! NETTASK_BENCH_PROTOS=h2c (of `http1,h2c,h2tls`) keeps those protocols
//! in the small GETs.

mod async_drive;
#[path = "../common/cpu.rs"]
mod cpu;
mod isahc_side;
mod nettask_side;
mod nginx;
mod raw_side;
mod reqwest_side;
#[path = "../common/rounds.rs"]
mod rounds;
mod socket_floor;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;

use cpu::{cpu_count, pin_to_cpu};

static EPOCH: Lazy<Instant> = Lazy::new(Instant::now);

fn now_ns() -> u64 {
    EPOCH.elapsed().as_nanos() as u64
}

/// How many small requests every side keeps in flight.
pub const IN_FLIGHT: usize = 64;

/// The sides, nettask first; every other one is a peer it is compared to.
const SIDES: [&str; 5] = ["nettask", "raw", "reqwest-ct", "reqwest-mt", "isahc"];

/// How a small request travels.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Proto {
    Http1,
    /// HTTP/2 on http:// with prior knowledge.
    H2c,
    /// HTTP/2 over TLS (ALPN), trusting nginx's CA.
    H2Tls,
}

/// What every side does for the cases run in this process.
pub trait Side {
    /// One GET of a large body, read as it streams and counted, not kept:
    /// how long, and how many bytes.
    fn bulk(&self, url: &str) -> (Duration, u64);
    /// One GET of a gzip-coded body, decoded by the side as it streams and
    /// counted: how long, and how many decoded bytes.
    fn decode(&self, url: &str) -> (Duration, u64);
    /// One GET of a large body streamed to `path`.
    fn download(&self, url: &str, path: &Path) -> Duration;
    /// `count` GETs, `IN_FLIGHT` at a time.
    fn small(&self, url: &str, count: usize, proto: Proto) -> Duration;
    /// One GET of the latency server's body: how late each record arrived.
    fn chunk_latency(&self, url: &str) -> Vec<Duration>;
    /// `total` HTTP/1.1 GETs in batches of `IN_FLIGHT`, each batch started
    /// when the one before has finished.
    fn growth(&self, url: &str, total: usize) -> Duration;
}

/// The side called `name`, configured to trust `ca` for https.
fn side(name: &str, ca: Option<&Path>) -> Box<dyn Side> {
    match name {
        "nettask" => Box::new(nettask_side::Client::new(IN_FLIGHT as u32, ca)),
        "raw" => Box::new(raw_side::Raw::new(ca)),
        "reqwest-ct" => Box::new(reqwest_side::Reqwest::new(false, ca)),
        "reqwest-mt" => Box::new(reqwest_side::Reqwest::new(true, ca)),
        "isahc" => Box::new(isahc_side::Isahc::new(ca)),
        _ => panic!("no side {name}"),
    }
}

/// Every side, configured to trust `ca` for https; NETTASK_BENCH_SIDES
/// (names, comma-separated) keeps nettask and the peers it names, for
/// profiling one pair.
fn sides(ca: &Path) -> Vec<(&'static str, Box<dyn Side>)> {
    let only = std::env::var("NETTASK_BENCH_SIDES").ok();
    let wanted = |name: &str| {
        name == "nettask"
            || only
                .as_deref()
                .is_none_or(|o| o.split(',').any(|n| n == name))
    };
    SIDES
        .iter()
        .filter(|&&name| wanted(name))
        .map(|&name| (name, side(name, Some(ca))))
        .collect()
}

/// The User-Agent every side sends: nettask's default, so that the server's
/// work is the same for all of them.
pub fn user_agent() -> String {
    nettask::ClientOptions::default().user_agent
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
    /// From starting the first task until the server had accepted them all.
    pub connect_all: Duration,
    pub cpu: Duration,
    pub per_task_kib: f64,
    /// From the first abort until the server has seen every connection
    /// closed; `None` when some were still open 5 s later.
    pub abort_all: Option<Duration>,
    /// From the first abort until the side had told of every task's end:
    /// nettask every completion delivered, reqwest and isahc every aborted
    /// task joined, raw libcurl every handle removed, the floor every
    /// socket closed. What a host waiting for its tasks' ends sees.
    pub abort_ended: Duration,
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

pub fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

fn cpu_time() -> Duration {
    // SAFETY: getrusage writes one rusage struct, a local zeroed here.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// This process's CPU time and that of its children it has waited for.
fn cpu_time_with_children() -> Duration {
    // SAFETY: getrusage writes one rusage struct, a local zeroed here.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    cpu_time() + tv(usage.ru_utime) + tv(usage.ru_stime)
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

/// What an idle run knew before it started its tasks: its resident memory
/// and the time.
pub struct IdleProbe {
    rss_kib: u64,
    started: Instant,
}

impl IdleProbe {
    /// Call right before starting the tasks, after the client exists.
    pub fn start() -> IdleProbe {
        IdleProbe {
            rss_kib: rss_kib(),
            started: Instant::now(),
        }
    }

    /// The stats of a run of `count` tasks against `silent`, whose idle
    /// window measured `idle` and whose aborts began at `abort_started`.
    /// Call it as soon as the side has told of every task's end (that is
    /// `abort_ended`); it waits (calling `pump`, which drives the side
    /// where it needs driving) until the server has seen every connection
    /// closed, 5 s at most.
    pub fn finish(
        self,
        silent: &Silent,
        count: usize,
        (cpu, rss_after): (Duration, u64),
        abort_started: Instant,
        mut pump: impl FnMut(Duration),
    ) -> IdleStats {
        let abort_ended = abort_started.elapsed();
        let accepted = silent.accepted.get().expect("finish after wait_all");
        let deadline = abort_started + Duration::from_secs(5);
        while silent.closed.get().is_none() && Instant::now() < deadline {
            pump(Duration::from_millis(1));
        }
        IdleStats {
            connect_all: accepted.saturating_duration_since(self.started),
            cpu,
            per_task_kib: rss_after.saturating_sub(self.rss_kib) as f64 / count as f64,
            abort_all: silent
                .closed
                .get()
                .map(|at| at.saturating_duration_since(abort_started)),
            abort_ended,
        }
    }
}

/// A server that accepts connections and never answers, in a process of
/// its own (so that neither process needs a descriptor for both ends of
/// every connection), on CPU 1 where there is one.
pub struct Silent {
    pub url: String,
    /// When the server said it had every connection and its request.
    accepted: Arc<OnceLock<Instant>>,
    /// When it said it had seen every one of them closed.
    closed: Arc<OnceLock<Instant>>,
    child: Child,
}

impl Silent {
    fn start(count: usize) -> Silent {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["silent-server", &count.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = lines.next().expect("the silent server's URL").unwrap();
        let accepted = Arc::new(OnceLock::new());
        let closed = Arc::new(OnceLock::new());
        let (all_at, closed_at) = (Arc::clone(&accepted), Arc::clone(&closed));
        // It says "all" once it holds `count` connections and "closed" once
        // their clients have closed them all; this thread notes when, and
        // otherwise sleeps in read.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let at = match line.as_str() {
                    "all" => &all_at,
                    "closed" => &closed_at,
                    _ => continue,
                };
                let _ = at.set(Instant::now());
            }
        });
        Silent {
            url,
            accepted,
            closed,
            child,
        }
    }

    /// Calls `pump` until the server has every connection and its request.
    pub fn wait_all(&self, mut pump: impl FnMut(Duration)) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if self.accepted.get().is_some() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the silent server did not see every connection"
            );
            pump(Duration::from_millis(2));
        }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of a silent server process: prints its URL, then "all" once
/// it has accepted `count` connections and read each one's request head,
/// then "closed" once their clients have closed every one; exits when its
/// stdin closes.
fn silent_server(count: usize) {
    raise_fd_limit(count as u64 + 64);
    if cpu_count() >= 2 {
        pin_to_cpu(1);
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    // std listens with a backlog of 128; thousands of connects at once need
    // more (the kernel caps it at net.core.somaxconn).
    // SAFETY: listen() on a socket this listener owns and keeps open.
    unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&listener), 65_535) };
    println!("http://{}/silent", listener.local_addr().unwrap());
    std::io::stdout().flush().unwrap();
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    let mut held = Vec::with_capacity(count);
    let mut complained = false;
    while held.len() < count {
        match listener.accept() {
            Ok((stream, _)) => held.push(stream),
            Err(e) => {
                if !complained {
                    eprintln!("silent server: accept: {e}");
                    complained = true;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    await_requests(&held);
    println!("all");
    std::io::stdout().flush().unwrap();
    await_closes(&held);
    println!("closed");
    std::io::stdout().flush().unwrap();
    loop {
        std::thread::park();
    }
}

/// Returns once every one of `held` has delivered a whole request head, so
/// that "connected" means every task has sent its request and from then on
/// only waits: the idle window measures waiting, not the end of the set-up.
fn await_requests(held: &[std::net::TcpStream]) {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    // SAFETY: epoll_create1 takes flags only; the descriptor it returns is
    // this function's, and closed at its end.
    let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    assert!(epoll >= 0, "epoll_create1");
    for (i, stream) in held.iter().enumerate() {
        stream.set_nonblocking(true).unwrap();
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: i as u64,
        };
        // SAFETY: `epoll` is open, the stream's descriptor stays open (it is
        // borrowed) for as long as it is registered, and `event` is a local.
        let rc =
            unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, stream.as_raw_fd(), &mut event) };
        assert_eq!(rc, 0, "epoll_ctl");
    }
    let mut heads = vec![Vec::new(); held.len()];
    let mut left = held.len();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut buf = [0u8; 4096];
    while left > 0 {
        // SAFETY: `events` has room for the count passed.
        let n = unsafe { libc::epoll_wait(epoll, events.as_mut_ptr(), events.len() as i32, -1) };
        if n < 0 {
            continue; // EINTR
        }
        for event in &events[..n as usize] {
            let i = { event.u64 } as usize;
            let mut stream = &held[i];
            let done = match stream.read(&mut buf) {
                Ok(0) => true, // closed before its request: not waiting any more
                Ok(k) => {
                    heads[i].extend_from_slice(&buf[..k]);
                    heads[i].windows(4).any(|w| w == b"\r\n\r\n")
                }
                Err(_) => false,
            };
            if done {
                left -= 1;
                // SAFETY: `epoll` is open and the descriptor is registered
                // and still open; a DEL reads no event.
                unsafe {
                    libc::epoll_ctl(
                        epoll,
                        libc::EPOLL_CTL_DEL,
                        stream.as_raw_fd(),
                        std::ptr::null_mut(),
                    )
                };
            }
        }
    }
    // SAFETY: the epoll descriptor made above, closed once.
    unsafe { libc::close(epoll) };
}

/// Returns once the peer of every one of `held` has closed it (FIN or RST).
/// Only hang-ups are watched: the unanswered requests stay unread.
fn await_closes(held: &[std::net::TcpStream]) {
    use std::os::fd::AsRawFd;
    // SAFETY: epoll_create1 takes flags only; the descriptor it returns is
    // this function's, and closed at its end.
    let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    assert!(epoll >= 0, "epoll_create1");
    for (i, stream) in held.iter().enumerate() {
        let mut event = libc::epoll_event {
            events: libc::EPOLLRDHUP as u32,
            u64: i as u64,
        };
        // SAFETY: `epoll` is open, the stream's descriptor stays open (it is
        // borrowed) for as long as it is registered, and `event` is a local.
        let rc =
            unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, stream.as_raw_fd(), &mut event) };
        assert_eq!(rc, 0, "epoll_ctl");
    }
    let mut open = vec![true; held.len()];
    let mut left = held.len();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    while left > 0 {
        // SAFETY: `events` has room for the count passed.
        let n = unsafe { libc::epoll_wait(epoll, events.as_mut_ptr(), events.len() as i32, -1) };
        if n < 0 {
            assert_eq!(
                std::io::Error::last_os_error().kind(),
                std::io::ErrorKind::Interrupted,
                "epoll_wait"
            );
            continue;
        }
        for event in &events[..n as usize] {
            let i = { event.u64 } as usize;
            if std::mem::replace(&mut open[i], false) {
                left -= 1;
                // SAFETY: `epoll` is open and the descriptor is registered
                // and still open; a DEL reads no event.
                unsafe {
                    libc::epoll_ctl(
                        epoll,
                        libc::EPOLL_CTL_DEL,
                        held[i].as_raw_fd(),
                        std::ptr::null_mut(),
                    )
                };
            }
        }
    }
    // SAFETY: the epoll descriptor made above, closed once.
    unsafe { libc::close(epoll) };
}

/// Runs this bench as a child with `args` (one case, one side, in a fresh
/// process) and returns what it printed; `what` names it if it fails.
fn child_stdout(args: &[&str], what: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn idle_in_child(side: &str, count: usize) -> IdleStats {
    let count_text = count.to_string();
    let text = child_stdout(
        &["idle-child", side, &count_text],
        &format!("idle {side} {count}"),
    );
    let v: Vec<f64> = text
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    IdleStats {
        connect_all: Duration::from_secs_f64(v[0]),
        cpu: Duration::from_secs_f64(v[1]),
        per_task_kib: v[2],
        abort_all: (v[3] >= 0.0).then(|| Duration::from_secs_f64(v[3])),
        abort_ended: Duration::from_secs_f64(v[4]),
    }
}

/// The body of an idle child: one side's stats on stdout.
fn idle_child(side: &str, count: usize) {
    let want = count as u64 + 256;
    let limit = raise_fd_limit(want);
    assert!(
        limit >= want,
        "{count} idle tasks need {want} descriptors; RLIMIT_NOFILE allows {limit}"
    );
    let silent = Silent::start(count);
    let stats = match side {
        "nettask" => nettask_side::idle(&silent, count),
        "raw" => raw_side::idle(&silent, count),
        "reqwest-ct" => reqwest_side::idle(&silent, count, false),
        "reqwest-mt" => reqwest_side::idle(&silent, count, true),
        "isahc" => isahc_side::idle(&silent, count),
        "sockets" => socket_floor::idle(&silent, count),
        _ => panic!("no side {side}"),
    };
    println!(
        "{} {} {} {} {}",
        stats.connect_all.as_secs_f64(),
        stats.cpu.as_secs_f64(),
        stats.per_task_kib,
        stats.abort_all.map_or(-1.0, |d| d.as_secs_f64()),
        stats.abort_ended.as_secs_f64()
    );
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

fn median<T: Ord + Copy>(mut v: Vec<T>) -> T {
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

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn micros(d: Duration) -> String {
    format!("{:.0} us", d.as_secs_f64() * 1e6)
}

fn micros2(d: Duration) -> String {
    format!("{:.2} us", d.as_secs_f64() * 1e6)
}

/// Runs every side once per round, in the same order each round, `rounds`
/// rounds: each side's median, in the order given.
fn interleave<'a>(rounds: usize, runs: &mut [Box<dyn FnMut() -> Duration + 'a>]) -> Vec<Duration> {
    let mut times = vec![Vec::new(); runs.len()];
    for _ in 0..rounds {
        for (run, times) in runs.iter_mut().zip(&mut times) {
            times.push(run());
        }
    }
    times.into_iter().map(median).collect()
}

fn row(case: &str, nettask: &str, baseline: &str, ratio: f64, target: &str) {
    // Three decimals where they fit the column.
    let ratio = match ratio {
        r if !r.is_finite() => "n/a".to_string(),
        r if r >= 100.0 => format!("{r:.0}"),
        r if r >= 10.0 => format!("{r:.2}"),
        r => format!("{r:.3}"),
    };
    println!("| {case:<44} | {nettask:>12} | {baseline:>24} | {ratio:>6} | {target:<10} |");
}

/// One row per peer: nettask's value (`values[0]`) against each peer's.
fn peer_rows(
    case: &str,
    names: &[&str],
    values: &[Duration],
    show: fn(Duration) -> String,
    target: impl Fn(&str) -> &'static str,
) {
    for (name, value) in names.iter().zip(values).skip(1) {
        row(
            case,
            &show(values[0]),
            &format!("{name} {}", show(*value)),
            values[0].as_secs_f64() / value.as_secs_f64(),
            target(name),
        );
    }
}

/// The issue's targets are against the raw loop.
fn raw_target(target: &'static str) -> impl Fn(&str) -> &'static str {
    move |peer| if peer == "raw" { target } else { "" }
}

/// Raises the soft RLIMIT_NOFILE to the hard limit, and the hard limit to
/// `want` if it is lower and this process may (root may); the soft limit
/// it ends with.
fn raise_fd_limit(want: u64) -> u64 {
    // SAFETY: get/setrlimit on a local struct of the type they take.
    unsafe {
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        if limit.rlim_max < want {
            let raised = libc::rlimit {
                rlim_cur: want,
                rlim_max: want,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return want;
            }
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.as_slice() {
        [child, side, count] if child == "idle-child" => {
            return idle_child(side, count.parse().unwrap());
        }
        [child, side, url, bytes] if child == "decode-child" => {
            return decode_child(side, url, bytes.parse().unwrap());
        }
        [child, side, url, file] if child == "upload-child" => {
            return upload_child(side, url, Path::new(file));
        }
        [child, count] if child == "silent-server" => {
            return silent_server(count.parse().unwrap());
        }
        _ => {}
    }
    let quick = args.iter().any(|a| a == "quick");
    // Case names given on the command line select cases; none = all.
    let cases: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "quick")
        .collect();
    const CASES: [&str; 9] = [
        "bulk", "decode", "download", "small", "latency", "idle", "growth", "upload", "queued",
    ];
    if let Some(unknown) = cases.iter().find(|c| !CASES.contains(c)) {
        eprintln!("no case {unknown}; the cases are {}", CASES.join(" "));
        std::process::exit(2);
    }
    let run = |case: &str| cases.is_empty() || cases.contains(&case);
    let (bulk_mib, decode_mib, small_count, rounds) = if quick {
        (32u64, 16u64, 2_000, 3)
    } else {
        (256u64, 64u64, 20_000, 5)
    };
    let rounds = rounds::rounds(rounds);
    // The upload's file, and the files whose upload's peak RSS is shown.
    let (upload_mib, upload_rss_mibs): (u64, &[u64]) = if quick {
        (32, &[32])
    } else {
        (256, &[256, 1024])
    };
    let idle_counts: &[usize] = if quick { &[1_000] } else { &[1_000, 10_000] };
    let growth_totals: &[usize] = if quick {
        &[1_000, 10_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    raise_fd_limit(0);
    let cpus = cpu_count();
    if cpus >= 2 {
        pin_to_cpu(0);
    }
    Lazy::force(&EPOCH);
    let nginx = nginx::Nginx::start(&[("big.bin", bulk_mib << 20), ("small.txt", 5)]);
    let big = nginx.url(nginx.http1, "big.bin");
    let small_urls = [
        (Proto::Http1, nginx.url(nginx.http1, "small.txt")),
        (Proto::H2c, nginx.url(nginx.h2c, "small.txt")),
        (Proto::H2Tls, nginx.tls_url("small.txt")),
    ];
    let out_dir = nginx.dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    println!(
        "nettask vs {} (libcurl {}), {cpus} cores (clients on CPU 0, servers on CPU 1), \
         medians of {rounds} interleaved rounds; ratio = nettask / that peer\n",
        SIDES[1..].join(", "),
        curl::Version::get().version()
    );
    println!(
        "| {:<44} | {:>12} | {:>24} | {:>6} | {:<10} |",
        "case", "nettask", "baseline", "ratio", "target"
    );
    println!(
        "|{}|{}|{}|{}|{}|",
        "-".repeat(46),
        "-".repeat(14),
        "-".repeat(26),
        "-".repeat(8),
        "-".repeat(12)
    );

    if run("bulk") {
        bulk(rounds, &big, bulk_mib, &nginx.ca_file);
    }
    if run("decode") {
        // Made only when the case runs: compressing takes a moment.
        let body = gzip(&json_lines((decode_mib << 20) as usize));
        nginx.put("decode.json.gz", &body);
        let url = nginx.url(nginx.http1, "decode.json");
        decode(rounds, &url, decode_mib, body.len(), &nginx.ca_file);
    }
    if run("download") {
        download(
            rounds,
            &big,
            &out_dir.join("download.bin"),
            bulk_mib,
            &nginx.ca_file,
        );
    }
    if run("small") {
        small(rounds, &small_urls, small_count, &nginx.ca_file);
    }
    if run("latency") {
        latency(&nginx.ca_file);
    }
    if run("idle") {
        for &count in idle_counts {
            idle(count);
        }
    }
    if run("growth") {
        growth(rounds, &small_urls[0].1, growth_totals, &nginx.ca_file);
    }
    if run("upload") {
        upload(rounds, &nginx, upload_mib, upload_rss_mibs);
    }
    if run("queued") {
        queued(
            rounds,
            &big,
            bulk_mib,
            &small_urls[0].1,
            small_count,
            &nginx.ca_file,
        );
    }
}

/// Queued delivery against event-thread delivery, on the bulk and the
/// small HTTP/1.1 cases.
fn queued(rounds: usize, big: &str, mib: u64, small_url: &str, count: usize, ca: &Path) {
    let sides: Vec<(&'static str, Box<dyn Side>)> = vec![
        (
            "nettask-queued",
            Box::new(nettask_side::Client::queued(IN_FLIGHT as u32, Some(ca))),
        ),
        ("nettask", side("nettask", Some(ca))),
    ];
    let label = format!("queued: bulk {mib} MiB to a chunk listener");
    let target = |_: &str| "<= 1.10";
    listener_rows(rounds, &sides, &label, mib, target, |side| side.bulk(big));
    let names: Vec<&str> = sides.iter().map(|(name, _)| *name).collect();
    let mut runs: Vec<Box<dyn FnMut() -> Duration + '_>> = sides
        .iter()
        .map(|(_, side)| {
            Box::new(move || side.small(small_url, count, Proto::Http1))
                as Box<dyn FnMut() -> Duration>
        })
        .collect();
    let medians = interleave(rounds, &mut runs);
    let label = format!("queued: {count} x 5 B GETs, {IN_FLIGHT} in flight, HTTP/1.1");
    peer_rows(&label, &names, &medians, secs, target);
}

fn bulk(rounds: usize, big: &str, mib: u64, ca: &Path) {
    let label = format!("bulk {mib} MiB to a chunk listener");
    let target = raw_target("<= 1.05");
    listener_rows(rounds, &sides(ca), &label, mib, target, |side| {
        side.bulk(big)
    });
}

/// Times `fetch` (each side's, interleaved by round; it must deliver `mib`
/// MiB to its listener) and prints the rows against each peer's `target`.
fn listener_rows(
    rounds: usize,
    sides: &[(&'static str, Box<dyn Side>)],
    label: &str,
    mib: u64,
    target: impl Fn(&str) -> &'static str,
    fetch: impl Fn(&dyn Side) -> (Duration, u64),
) {
    let fetch = &fetch;
    let mut runs: Vec<Box<dyn FnMut() -> Duration + '_>> = sides
        .iter()
        .map(|(name, side)| {
            Box::new(move || {
                let (t, bytes) = fetch(side.as_ref());
                assert_eq!(bytes, mib << 20, "{name}: {label}: bytes delivered");
                t
            }) as Box<dyn FnMut() -> Duration>
        })
        .collect();
    let medians = interleave(rounds, &mut runs);
    let names: Vec<&str> = sides.iter().map(|(name, _)| *name).collect();
    peer_rows(label, &names, &medians, secs, target);
}

/// `len` bytes of JSON lines such as an API sends: records with the same
/// keys and varied values (from a fixed xorshift, so that every run serves
/// the same body), cut at exactly `len`. gzip -6 makes it about 1:5.
fn json_lines(len: usize) -> Vec<u8> {
    const WORDS: [&str; 32] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra",
        "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "order", "shipped",
        "pending", "refund", "invoice", "customer",
    ];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut out = Vec::with_capacity(len + 1024);
    let mut id = 0u64;
    while out.len() < len {
        id += 1;
        let (user, active, score) = (next(100_000), next(2) == 1, next(1_000_000));
        let (tag1, tag2) = (WORDS[next(32) as usize], WORDS[next(32) as usize]);
        let (month, day, secs) = (1 + next(12), 1 + next(28), next(86_400));
        write!(
            out,
            r#"{{"id":{id},"user":"u{user:05}","email":"u{user:05}@example.com","active":{active},"#
        )
        .unwrap();
        write!(
            out,
            r#""score":{}.{:03},"tags":["{tag1}","{tag2}"],"created":"2024-{month:02}-{day:02}T{:02}:{:02}:{:02}Z","note":""#,
            score / 1000,
            score % 1000,
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
        .unwrap();
        for i in 0..3 + next(10) {
            let sep = if i == 0 { "" } else { " " };
            write!(out, "{sep}{}", WORDS[next(32) as usize]).unwrap();
        }
        out.extend_from_slice(b"\"}\n");
    }
    out.truncate(len);
    out
}

/// `data` gzip-coded at level 6 (gzip's and nginx's default).
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn kib(k: u64) -> String {
    format!("{k} KiB")
}

/// The time rows as bulk's, then each side's peak RSS while it decoded,
/// over its RSS as an idle client, each side in a fresh process (in this
/// one, pages that an earlier side freed would be reused unseen).
fn decode(rounds: usize, url: &str, mib: u64, coded: usize, ca: &Path) {
    let sides = sides(ca);
    let coded_mib = coded as f64 / (1 << 20) as f64;
    let label = format!("decode {mib} MiB ({coded_mib:.1} MiB gzip) to a listener");
    let target = raw_target("<= 1.05");
    listener_rows(rounds, &sides, &label, mib, target, |side| side.decode(url));
    let names: Vec<&str> = sides.iter().map(|(name, _)| *name).collect();
    let rises: Vec<u64> = names
        .iter()
        .map(|name| decode_rss_in_child(name, url, mib << 20))
        .collect();
    for (name, rise) in names.iter().zip(&rises).skip(1) {
        row(
            &format!("decode {mib} MiB: peak RSS over idle client"),
            &kib(rises[0]),
            &format!("{name} {}", kib(*rise)),
            rises[0] as f64 / *rise as f64,
            if *name == "raw" { "< 4 MiB" } else { "" },
        );
    }
}

fn decode_rss_in_child(side: &str, url: &str, bytes: u64) -> u64 {
    let bytes = bytes.to_string();
    let args = ["decode-child", side, url, &bytes];
    child_stdout(&args, &format!("decode {side}"))
        .trim()
        .parse()
        .unwrap()
}

/// The body of a decode child: one decode of `bytes` by a new `name` side,
/// then on stdout how far its RSS peaked above the idle client's, in KiB.
fn decode_child(name: &str, url: &str, bytes: u64) {
    let side = side(name, None);
    // "5" resets VmHWM to the current RSS (Linux 4.0 on): the peak from
    // here on is the decode's.
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
    let idle = rss_kib();
    let (_, got) = side.decode(url);
    assert_eq!(got, bytes, "{name}: decoded bytes");
    println!("{}", status_kib("VmHWM:").saturating_sub(idle));
}

fn download(rounds: usize, big: &str, file: &Path, mib: u64, ca: &Path) {
    let sides = sides(ca);
    let check = move || {
        let len = std::fs::metadata(file).unwrap().len();
        assert_eq!(len, mib << 20, "downloaded file size");
        std::fs::remove_file(file).unwrap();
        // Every run starts with nothing waiting to be written back: a run
        // must not pay for the writeback of the one before.
        // SAFETY: sync takes no argument and cannot fail.
        unsafe { libc::sync() };
    };
    let mut runs: Vec<Box<dyn FnMut() -> Duration + '_>> = sides
        .iter()
        .map(|(_, side)| {
            Box::new(move || {
                let t = side.download(big, file);
                check();
                t
            }) as Box<dyn FnMut() -> Duration>
        })
        .collect();
    runs.push(Box::new(move || {
        let started = Instant::now();
        let status = Command::new("curl")
            .args(["-s", "-o", file.to_str().unwrap(), big])
            .status()
            .expect("curl CLI");
        assert!(status.success());
        let t = started.elapsed();
        check();
        t
    }));
    let medians = interleave(rounds, &mut runs);
    let mut names: Vec<&str> = sides.iter().map(|(name, _)| *name).collect();
    names.push("curl -o");
    peer_rows(
        &format!("download {mib} MiB to a file"),
        &names,
        &medians,
        secs,
        |peer| if peer == "curl -o" { "<= 1.05" } else { "" },
    );
}

fn small(rounds: usize, urls: &[(Proto, String)], count: usize, ca: &Path) {
    let sides = sides(ca);
    let names: Vec<&str> = sides.iter().map(|(name, _)| *name).collect();
    let only = std::env::var("NETTASK_BENCH_PROTOS").ok();
    for (proto, url) in urls {
        let key = match proto {
            Proto::Http1 => "http1",
            Proto::H2c => "h2c",
            Proto::H2Tls => "h2tls",
        };
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|p| p == key))
        {
            continue;
        }
        let mut runs: Vec<Box<dyn FnMut() -> Duration + '_>> = sides
            .iter()
            .map(|(_, side)| {
                Box::new(move || side.small(url, count, *proto)) as Box<dyn FnMut() -> Duration>
            })
            .collect();
        let medians = interleave(rounds, &mut runs);
        let name = match proto {
            Proto::Http1 => "HTTP/1.1",
            Proto::H2c => "h2c",
            Proto::H2Tls => "h2 over TLS",
        };
        // Issue 11's targets: the raw loop's pace on HTTP/1.1, and within
        // a quarter of reqwest's on HTTP/2.
        let target = |peer: &str| match (proto, peer) {
            (Proto::Http1, "raw") => "<= 1.05",
            (Proto::Http1, "reqwest-ct") => "<= 1.00",
            (Proto::H2c | Proto::H2Tls, "reqwest-ct") => "<= 1.25",
            _ => "",
        };
        peer_rows(
            &format!("{count} x 5 B GETs, {IN_FLIGHT} in flight, {name}"),
            &names,
            &medians,
            secs,
            target,
        );
    }
}

fn latency(ca: &Path) {
    let sides = sides(ca);
    let (records, gap) = (2_000, Duration::from_micros(500));
    let mut seen = vec![Vec::new(); sides.len()];
    for _ in 0..3 {
        for ((_, side), seen) in sides.iter().zip(&mut seen) {
            seen.extend(side.chunk_latency(&latency_server(records, gap)));
            assert_eq!(seen.len() % records, 0, "a latency record went missing");
        }
    }
    let names: Vec<&str> = sides.iter().map(|(name, _)| *name).collect();
    for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
        let values: Vec<Duration> = seen.iter().map(|v| percentile(v, p)).collect();
        let target = if name == "p99" { "+<= 1 ms" } else { "" };
        peer_rows(
            &format!("chunk latency {name}, write to listener"),
            &names,
            &values,
            micros,
            raw_target(target),
        );
    }
}

/// Each side runs in a fresh process of this binary, so all start from
/// the same resident memory and none reuses pages another freed.
fn idle(count: usize) {
    let stats: Vec<IdleStats> = SIDES
        .iter()
        .map(|side| idle_in_child(side, count))
        .collect();
    let ours = &stats[0];
    let peers = SIDES.iter().zip(&stats).skip(1);
    // A row per peer for a time every side measured.
    let time_rows = |case: &str,
                     stat: fn(&IdleStats) -> Duration,
                     show: fn(Duration) -> String,
                     raw_target: &str| {
        for (name, s) in peers.clone() {
            row(
                &format!("{count} idle tasks: {case}"),
                &show(stat(ours)),
                &format!("{name} {}", show(stat(s))),
                stat(ours).as_secs_f64() / stat(s).as_secs_f64(),
                if *name == "raw" { raw_target } else { "" },
            );
        }
    };
    time_rows("connect all", |s| s.connect_all, millis, "");
    time_rows("CPU over 3 s", |s| s.cpu, micros, "< 10 ms");
    for (name, s) in peers.clone() {
        row(
            &format!("{count} idle tasks: memory per task"),
            &format!("{:.1} KiB", ours.per_task_kib),
            &format!("{name} {:.1} KiB", s.per_task_kib),
            ours.per_task_kib / s.per_task_kib,
            if *name == "raw" { "<= 32 KiB" } else { "" },
        );
    }
    // Issue 11's target: a host that aborts 10,000 tasks has all their
    // ends within 50 ms (the sockets' closes follow; rows below).
    time_rows(
        "abort all, every task ended",
        |s| s.abort_ended,
        micros,
        "<= 50 ms",
    );
    let abort = |s: &IdleStats| s.abort_all.map_or("still open".into(), micros);
    for (name, s) in peers {
        let r = match (ours.abort_all, s.abort_all) {
            (Some(a), Some(b)) => a.as_secs_f64() / b.as_secs_f64(),
            _ => f64::NAN,
        };
        row(
            &format!("{count} idle tasks: abort all, sockets closed"),
            &abort(ours),
            &format!("{name} {}", abort(s)),
            r,
            if *name == "raw" { "<= 20 ms" } else { "" },
        );
    }
    let floor = idle_in_child("sockets", count);
    if let (Some(a), Some(b)) = (ours.abort_all, floor.abort_all) {
        row(
            &format!("{count} idle tasks: abort all, sockets closed"),
            &micros(a),
            &format!("close only {}", micros(b)),
            a.as_secs_f64() / b.as_secs_f64(),
            "",
        );
    }
}

fn growth(rounds: usize, url: &str, totals: &[usize], ca: &Path) {
    let sides = sides(ca);
    let names: Vec<&str> = sides.iter().map(|(name, _)| *name).collect();
    // Per side, the per-request time at each total.
    let mut per_request: Vec<Vec<Duration>> = vec![Vec::new(); sides.len()];
    for &total in totals {
        let mut runs: Vec<Box<dyn FnMut() -> Duration + '_>> = sides
            .iter()
            .map(|(_, side)| {
                Box::new(move || side.growth(url, total)) as Box<dyn FnMut() -> Duration>
            })
            .collect();
        let medians = interleave(rounds, &mut runs);
        let each: Vec<Duration> = medians.iter().map(|m| *m / total as u32).collect();
        peer_rows(
            &format!("growth: {total} GETs, batches of {IN_FLIGHT}, per GET"),
            &names,
            &each,
            micros2,
            |_| "",
        );
        for (side, d) in per_request.iter_mut().zip(each) {
            side.push(d);
        }
    }
    let (first, last) = (totals[0], totals[totals.len() - 1]);
    let grew = |v: &Vec<Duration>| v[v.len() - 1].as_secs_f64() / v[0].as_secs_f64();
    let ours = grew(&per_request[0]);
    for (name, v) in names.iter().zip(&per_request).skip(1) {
        let theirs = grew(v);
        row(
            &format!("growth: per GET at {last} / at {first}"),
            &format!("{ours:.3}x"),
            &format!("{name} {theirs:.3}x"),
            ours / theirs,
            if *name == "raw" { "~1" } else { "" },
        );
    }
}

/// The upload case's sides. reqwest streams a form from a file only with
/// its multipart and stream features, which the bench does not build, and
/// isahc has no forms: a body made by hand would measure something else.
const UPLOAD_SIDES: [&str; 3] = ["nettask", "raw", "curl -F"];

/// Every upload's form: this text part, then the file as the part `file`.
const UPLOAD_FIELD: (&str, &str) = ("field", "value");
const UPLOAD_NAME: &str = "file";

enum Uploader {
    Nettask(nettask_side::Client),
    Raw(raw_side::Raw),
    Cli,
}

impl Uploader {
    fn new(name: &str) -> Uploader {
        match name {
            "nettask" => Uploader::Nettask(nettask_side::Client::new(IN_FLIGHT as u32, None)),
            "raw" => Uploader::Raw(raw_side::Raw::new(None)),
            "curl -F" => Uploader::Cli,
            _ => panic!("no upload side {name}"),
        }
    }

    /// One upload of `file`: how long, and how many bytes the side says
    /// it sent (the form, a little more than the file).
    fn upload(&self, url: &str, file: &Path) -> (Duration, u64) {
        match self {
            Uploader::Nettask(client) => client.upload(url, UPLOAD_FIELD, UPLOAD_NAME, file),
            Uploader::Raw(raw) => raw.upload(url, UPLOAD_FIELD, UPLOAD_NAME, file),
            Uploader::Cli => {
                let started = Instant::now();
                let out = Command::new("curl")
                    .args(curl_form_args(url, file))
                    .args(["-w", "%{size_upload}"])
                    .output()
                    .expect("curl CLI");
                let t = started.elapsed();
                assert!(out.status.success(), "curl -F: {:?}", out.status);
                (t, String::from_utf8(out.stdout).unwrap().parse().unwrap())
            }
        }
    }
}

/// `curl -F`'s arguments for the upload of `file` to `url`.
fn curl_form_args(url: &str, file: &Path) -> Vec<String> {
    let (field, value) = UPLOAD_FIELD;
    ["-s", "-o", "/dev/null", "-F", &format!("{field}={value}")]
        .into_iter()
        .map(String::from)
        .chain([
            "-F".into(),
            format!("{UPLOAD_NAME}=@{}", file.display()),
            url.into(),
        ])
        .collect()
}

/// Checks that nginx read every upload since it had logged `before`:
/// `count` of them, each answered 200 after more than `file_len` bytes.
fn check_received(nginx: &nginx::Nginx, before: usize, count: usize, file_len: u64) {
    let logged = nginx.uploads();
    assert_eq!(logged.len() - before, count, "uploads logged by nginx");
    for &(status, len) in &logged[before..] {
        assert!(
            status == 200 && len > file_len,
            "nginx logged an upload as {status} after {len} bytes"
        );
    }
}

/// The time rows as bulk's and each side's CPU time (the server costs
/// about as much as the clients, so the times say less about them), then
/// each side's peak RSS while it uploaded over its RSS as an idle client,
/// each side in a fresh process, for a file of each of `rss_mibs`.
fn upload(rounds: usize, nginx: &nginx::Nginx, mib: u64, rss_mibs: &[u64]) {
    let url = nginx.url(nginx.http1, "upload");
    let file = nginx.dir.join("upload.bin");
    nginx::write_file(&file, mib << 20);
    let before = nginx.uploads().len();
    let uploaders: Vec<Uploader> = UPLOAD_SIDES.iter().map(|n| Uploader::new(n)).collect();
    let mut cpus = vec![Vec::new(); UPLOAD_SIDES.len()];
    let mut runs: Vec<Box<dyn FnMut() -> Duration + '_>> = UPLOAD_SIDES
        .iter()
        .zip(&uploaders)
        .zip(&mut cpus)
        .map(|((name, side), cpu)| {
            let (url, file) = (&url, &file);
            Box::new(move || {
                // The other sides are idle meanwhile, and the curl CLI's
                // process (its start-up included) is reaped before the
                // upload returns.
                let started = cpu_time_with_children();
                let (t, sent) = side.upload(url, file);
                cpu.push(cpu_time_with_children() - started);
                assert!(sent > mib << 20, "{name}: {sent} bytes sent");
                t
            }) as Box<dyn FnMut() -> Duration>
        })
        .collect();
    let medians = interleave(rounds, &mut runs);
    drop(runs);
    drop(uploaders);
    check_received(nginx, before, rounds * UPLOAD_SIDES.len(), mib << 20);
    let case = format!("upload {mib} MiB form (field + file) to nginx");
    peer_rows(&case, &UPLOAD_SIDES, &medians, secs, raw_target("<= 1.05"));
    let cpus: Vec<Duration> = cpus.into_iter().map(median).collect();
    peer_rows(
        &format!("upload {mib} MiB: client CPU (user + sys)"),
        &UPLOAD_SIDES,
        &cpus,
        millis,
        |_| "",
    );
    let idle_get = nginx.url(nginx.http1, "small.txt");
    for &rss_mib in rss_mibs {
        if rss_mib != mib {
            nginx::write_file(&file, rss_mib << 20);
        }
        let before = nginx.uploads().len();
        let rises: Vec<u64> = UPLOAD_SIDES
            .iter()
            .map(|&name| match name {
                "curl -F" => {
                    let form = curl_peak_kib(&curl_form_args(&url, &file));
                    // A few pages apart from run to run: the median of 5.
                    let idle = (0..5)
                        .map(|_| curl_peak_kib(&["-s", "-o", "/dev/null", &idle_get]))
                        .collect::<Vec<_>>();
                    form.saturating_sub(median(idle))
                }
                _ => upload_rss_in_child(name, &url, &file),
            })
            .collect();
        check_received(nginx, before, UPLOAD_SIDES.len(), rss_mib << 20);
        for (name, rise) in UPLOAD_SIDES.iter().zip(&rises).skip(1) {
            row(
                &format!("upload {rss_mib} MiB: peak RSS over idle client"),
                &kib(rises[0]),
                &format!("{name} {}", kib(*rise)),
                rises[0] as f64 / *rise as f64,
                if *name == "raw" { "< 4 MiB" } else { "" },
            );
        }
    }
    std::fs::remove_file(&file).unwrap();
}

/// The peak RSS (ru_maxrss) of a curl CLI run with `args`, in KiB. The
/// CLI has no idle state to measure from: its idle client is a run that
/// fetches 5 B, so the rise leaves out what any one transfer costs.
fn curl_peak_kib(args: &[impl AsRef<std::ffi::OsStr>]) -> u64 {
    #[expect(clippy::zombie_processes, reason = "reaped by wait4, for its rusage")]
    let child = Command::new("curl")
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .expect("curl CLI");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: wait4 reaps our own child, which nothing else waits for (the
    // Child is dropped unwaited), into a local status and rusage.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        assert_eq!(libc::wait4(pid, &mut status, 0, &mut usage), pid, "wait4");
        usage
    };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "curl exited with {status:#x}"
    );
    usage.ru_maxrss as u64
}

fn upload_rss_in_child(side: &str, url: &str, file: &Path) -> u64 {
    let args = ["upload-child", side, url, file.to_str().unwrap()];
    child_stdout(&args, &format!("upload {side}"))
        .trim()
        .parse()
        .unwrap()
}

/// The body of an upload child: one upload of `file` by a new `name`
/// side, then on stdout how far its RSS peaked above the idle client's,
/// in KiB.
fn upload_child(name: &str, url: &str, file: &Path) {
    let side = Uploader::new(name);
    // As decode_child: the peak from here on is the upload's.
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
    let idle = rss_kib();
    let (_, sent) = side.upload(url, file);
    assert!(
        sent > std::fs::metadata(file).unwrap().len(),
        "{name}: {sent} bytes sent"
    );
    println!("{}", status_kib("VmHWM:").saturating_sub(idle));
}
