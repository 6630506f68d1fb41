//! Target `responses`: response heads (and bodies) fed arbitrary bytes.
//!
//! A raw-socket server on 127.0.0.1 answers each request with the bytes
//! of its case, then closes the connection: mutations of a corpus of valid
//! and near-valid HTTP/1.1 responses (every status class, redirects back
//! to the server, Content-Length, chunked bodies with trailers, encodings,
//! cookies, obs-fold lines, 1xx interim responses). Requests and downloads
//! run through the C ABI, `IN_FLIGHT` at a time on one client, with every
//! listener recording what it is given.
//!
//! Invariants per task, from API.md ("Protocol rules", "Listeners",
//! "Result", "Downloads"): exactly one completion, the last event; never
//! NETTASK_E_INVALID_ARGUMENT or NETTASK_E_INTERNAL; `err_msg` starts with
//! "request:" / "downloadFile:"; headers_received at most once and before
//! any chunk or progress; chunks only for requests, progress only for
//! downloads and never going back. On success: a status in 100..=999,
//! headers_received exactly once with that status, the chunks are exactly
//! the body (`data` when buffered) and `data_length` its length; a
//! download's file holds `data_length` bytes and is the only file left.
//! On a failed download nothing is left but a file that was there before,
//! untouched.
//!
//! Redirects are followed only through a client whose proxy is this
//! server: whatever a mutated Location says, every hop comes back here and
//! nothing leaves the machine. Tasks that do not follow redirects connect
//! to the server directly.

use std::collections::{HashMap, VecDeque};
use std::ffi::{CStr, CString, c_char, c_void};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nettask::ffi::nettask_code::*;
use nettask::ffi::*;

use crate::support::{Config, Findings, Rng, Stats, escape};

/// Tasks running at once on each client.
const IN_FLIGHT: usize = 16;

/// Whole-task timeout: a Content-Length that never arrives ends quickly
/// (the server closes after each response, so most end sooner).
const TIMEOUT_MS: u32 = 2000;

/// A task that has not completed this long after its start never will.
const STUCK: Duration = Duration::from_secs(20);

/// Completed tasks whose recorders are kept, to see a listener called
/// after a completion instead of freed memory.
const RETIRED: usize = 256;

/// How much of a response a report shows.
const SHOWN: usize = 3000;

// ---------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------

/// What the server sends for one case: response `n` answers the requests
/// for /c/<case>/<n>.
struct Served {
    responses: Vec<Vec<u8>>,
    /// Write each response in pieces of this size (0: at once), so that
    /// libcurl parses heads split across reads.
    piece: usize,
    /// What the server sent for this case, connection by connection, for
    /// the report: a result built from bytes no connection of its case
    /// carried came from another task's connection.
    log: Mutex<Vec<String>>,
}

/// Numbers the server's connections, for the logs.
static CONNECTIONS: AtomicU64 = AtomicU64::new(0);

/// For paths that name no live case (a redirect gone astray, a case that
/// has finished).
const DEFAULT_RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\ndefault";

/// The answer to a CONNECT (a redirect to https:// through the proxy).
const NO_TUNNEL: &[u8] =
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

type Cases = Arc<Mutex<HashMap<u64, Arc<Served>>>>;

struct Server {
    addr: SocketAddr,
    cases: Cases,
    stop: Arc<AtomicBool>,
    accept: Option<thread::JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let cases: Cases = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (cases, stop) = (Arc::clone(&cases), Arc::clone(&stop));
            thread::spawn(move || accept_loop(listener, cases, stop))
        };
        Server {
            addr,
            cases,
            stop,
            accept: Some(accept),
        }
    }

    fn insert(&self, case: u64, served: Served) -> Arc<Served> {
        let served = Arc::new(served);
        self.cases.lock().unwrap().insert(case, Arc::clone(&served));
        served
    }

    fn remove(&self, case: u64) {
        self.cases.lock().unwrap().remove(&case);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, cases: Cases, stop: Arc<AtomicBool>) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let cases = Arc::clone(&cases);
        // A thread per connection keeps the server simple; small stacks
        // keep hundreds of them cheap.
        let _ = thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || serve(stream, &cases));
    }
}

/// Answers one request, then closes the connection (no keep-alive).
fn serve(mut stream: TcpStream, cases: &Cases) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_nodelay(true);
    let connection = CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    let Some(head) = read_request(&mut stream) else {
        return;
    };
    let request_line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let tunnel = request_line.starts_with(b"CONNECT ");
    let found = case_of(request_line)
        .filter(|_| !tunnel)
        .and_then(|(case, n)| Some((cases.lock().unwrap().get(&case).cloned()?, n)));
    let (bytes, piece) = match &found {
        _ if tunnel => (NO_TUNNEL, 0),
        Some((s, n)) => (
            s.responses.get(*n).map_or(DEFAULT_RESPONSE, |r| &r[..]),
            s.piece,
        ),
        None => (DEFAULT_RESPONSE, 0),
    };
    if let Some((s, n)) = &found {
        s.log.lock().unwrap().push(format!(
            "connection {connection}: {} -> response {n} ({} bytes)",
            escape(request_line, 200),
            bytes.len()
        ));
    }
    let _ = write_response(&mut stream, bytes, piece);
    // The request was read whole, so closing sends a FIN, not a reset
    // that could destroy the response before libcurl reads it.
    let _ = stream.shutdown(Shutdown::Write);
}

fn write_response(stream: &mut TcpStream, bytes: &[u8], piece: usize) -> std::io::Result<()> {
    if piece == 0 {
        return stream.write_all(bytes);
    }
    for part in bytes.chunks(piece) {
        stream.write_all(part)?;
        stream.flush()?;
        thread::sleep(Duration::from_micros(200));
    }
    Ok(())
}

/// Reads a request head and its Content-Length body; the head's bytes.
fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = find(&buf, b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
        let n = stream.read(&mut chunk).ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let body_len = content_length(&buf[..head_end]);
    let mut have = buf.len() - head_end;
    while have < body_len {
        let n = stream.read(&mut chunk).ok().filter(|&n| n > 0)?;
        have += n;
    }
    buf.truncate(head_end);
    Some(buf)
}

fn content_length(head: &[u8]) -> usize {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    text.lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The case and response number in a request line's target
/// ("GET /c/12/0 HTTP/1.1", or the absolute form a proxy is sent).
fn case_of(request_line: &[u8]) -> Option<(u64, usize)> {
    let at = find(request_line, b"/c/")?;
    let rest = std::str::from_utf8(&request_line[at + 3..]).ok()?;
    let rest = rest.split([' ', '?', '#']).next()?;
    let (case, n) = rest.split_once('/')?;
    Some((case.parse().ok()?, n.parse().ok()?))
}

// ---------------------------------------------------------------------
// The corpus and its mutations
// ---------------------------------------------------------------------

/// gzip of "hello".
const GZIP_HELLO: &[u8] = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48\xcd\xc9\xc9\x07\x00\x86\xa6\x10\x36\x05\x00\x00\x00";

/// Valid and near-valid responses; {ID} is the case, {PORT} the server's.
const CORPUS: &[&[u8]] = &[
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Sum: 13\r\nX-Other: y\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nthe body ends when the connection does",
    b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nhttp/1.0 body",
    b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nETag: \"x\"\r\n\r\n",
    b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nRetry-After: 1\r\n\r\n",
    b"HTTP/1.1 301 Moved Permanently\r\nLocation: /c/{ID}/1\r\nContent-Length: 5\r\n\r\nmoved",
    b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{PORT}/c/{ID}/1\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 303 See Other\r\nLocation: 1\r\n\r\n",
    b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /c/{ID}/1\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 308 Permanent Redirect\r\nLocation: /c/{ID}/0\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 301 Moved Permanently\r\nLocation: \r\nContent-Length: 4\r\n\r\nbody",
    b"HTTP/1.1 302 Found\r\nLocation:    \r\nContent-Length: 4\r\n\r\nbody",
    b"HTTP/1.1 300 Multiple Choices\r\nLocation: /c/{ID}/1\r\nContent-Length: 3\r\n\r\nmcs",
    b"HTTP/1.1 305 Use Proxy\r\nLocation: /c/{ID}/1\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 25\r\n\r\n{GZIP}",
    b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 4\r\n\r\n\x0b\x02\x80x",
    b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; HttpOnly\r\nset-cookie: c=3\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-Folded: one\r\n two\r\n\tthree\r\nContent-Length: 3\r\n\r\nabc",
    b"HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx",
    b"HTTP/1.1 200 OK\nContent-Length: 2\n\nlf",
    b"HTTP/1.1 999 Whatever\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 600 Beyond\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nNoColonHere\r\nContent-Length: 2\r\n\r\nok",
    b"http/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/2 200\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"",
    b"hello, this is no HTTP\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-Long: {LONG}\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: {BIGLEN}\r\n\r\n{BIG}",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{CHUNKS}0\r\n\r\n",
];

/// Header lines the mutator inserts.
const LINES: &[&[u8]] = &[
    b"Content-Length: 3",
    b"Content-Length: 0",
    b"Content-Length: 99999999999999999999",
    b"Transfer-Encoding: chunked",
    b"Transfer-Encoding: identity",
    b"Location: /c/{ID}/1",
    b"Location: http://127.0.0.1:{PORT}/c/{ID}/1",
    b"Content-Encoding: gzip",
    b"Connection: keep-alive",
    b"Connection: close",
    b"Set-Cookie: x=y; Domain=127.0.0.1",
    b" folded continuation",
    b"\tfolded",
    b"Trailer: X",
    b":",
    b"X-Nul: a\0b",
    b"X-Empty:",
    b"HTTP/1.1 200 OK",
    b"HTTP/1.1 100 Continue\r\n",
];

/// Response `index` of the corpus for one case, placeholders filled.
fn template(rng: &mut Rng, index: usize, case: u64, port: u16) -> Vec<u8> {
    let mut out = CORPUS[index].to_vec();
    out = replace(&out, b"{ID}", case.to_string().as_bytes());
    out = replace(&out, b"{PORT}", port.to_string().as_bytes());
    out = replace(&out, b"{GZIP}", GZIP_HELLO);
    if find(&out, b"{LONG}").is_some() {
        // Past libcurl's 100 KiB limit for one header line, sometimes.
        let len = *rng.pick(&[100, 8_000, 99_000, 101_000, 300_000]);
        out = replace(&out, b"{LONG}", &vec![b'v'; len]);
    }
    if find(&out, b"{BIG}").is_some() {
        let len = rng.range(1_000..=300_000);
        let body = rng.printable(len);
        out = replace(&out, b"{BIGLEN}", body.len().to_string().as_bytes());
        out = replace(&out, b"{BIG}", &body);
    }
    if find(&out, b"{CHUNKS}").is_some() {
        out = replace(&out, b"{CHUNKS}", &chunks(rng));
    }
    out
}

/// A chunked body of random chunk sizes, some with extensions.
fn chunks(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.range(1..=20) {
        let len = rng.range(1..=5000);
        let ext: &[u8] = if rng.chance(1, 5) {
            b";name=value"
        } else {
            b""
        };
        out.extend(format!("{len:x}").as_bytes());
        out.extend(ext);
        out.extend(b"\r\n");
        out.extend(rng.printable(len));
        out.extend(b"\r\n");
    }
    out
}

fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut rest = hay;
    while let Some(at) = find(rest, from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// Where the lines of `v` start.
fn line_starts(v: &[u8]) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(
        v.iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1),
    );
    starts.retain(|&s| s <= v.len());
    starts
}

/// The line (with its end) that starts at one of `line_starts`.
fn line_at(v: &[u8], start: usize) -> std::ops::Range<usize> {
    let end = v[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(v.len(), |p| start + p + 1);
    start..end
}

/// Bytes that break parsers.
const SPECIAL: &[u8] = b"\0\t \r\n:;,0123456789-+\x7f\x80\xff/";

/// One mutation of `v`; `donor` is another response to splice from.
fn mutate_once(rng: &mut Rng, v: &mut Vec<u8>, donor: &[u8], case: u64, port: u16) {
    let at = rng.below(v.len() + 1);
    match rng.below(13) {
        0 if !v.is_empty() => {
            let i = rng.below(v.len());
            v[i] ^= 1 << rng.below(8);
        }
        1 if !v.is_empty() => {
            let i = rng.below(v.len());
            v[i] = *rng.pick(SPECIAL);
        }
        2 => v.insert(at, *rng.pick(SPECIAL)),
        3 if !v.is_empty() => {
            let end = (at + rng.range(1..=8)).min(v.len());
            v.drain(at.min(end)..end);
        }
        4 => {
            // Duplicate a line.
            let starts = line_starts(v);
            let line = line_at(v, *rng.pick(&starts));
            let copy = v[line.clone()].to_vec();
            v.splice(line.start..line.start, copy);
        }
        5 => {
            // Delete a line.
            let starts = line_starts(v);
            let line = line_at(v, *rng.pick(&starts));
            v.drain(line);
        }
        6 => swap_line_ends(rng, v),
        7 => change_number(rng, v),
        8 if !donor.is_empty() => {
            // Splice a piece of another response in, or replace the tail.
            let from = rng.below(donor.len());
            let to = rng.range(from..=donor.len());
            if rng.chance(1, 2) {
                v.truncate(at);
            }
            let at = at.min(v.len());
            v.splice(at..at, donor[from..to].iter().copied());
        }
        9 => {
            // Insert a header line at a line boundary.
            let starts = line_starts(v);
            let start = *rng.pick(&starts);
            let mut line = replace(
                rng.pick::<&[u8]>(LINES),
                b"{ID}",
                case.to_string().as_bytes(),
            );
            line = replace(&line, b"{PORT}", port.to_string().as_bytes());
            line.extend(b"\r\n");
            v.splice(start..start, line);
        }
        10 => v.truncate(at),
        11 if !v.is_empty() => {
            // Flip the case of a few letters.
            let end = (at + rng.range(1..=6)).min(v.len());
            for b in &mut v[at.min(end)..end] {
                if b.is_ascii_alphabetic() {
                    *b ^= 0x20;
                }
            }
        }
        _ => {
            let len = rng.range(1..=4);
            let bytes = rng.bytes(len);
            v.splice(at..at, bytes);
        }
    }
}

/// CRLF to LF or CR, LF to CRLF: at one place or everywhere.
fn swap_line_ends(rng: &mut Rng, v: &mut Vec<u8>) {
    let (from, to): (&[u8], &[u8]) = *rng.pick::<(&[u8], &[u8])>(&[
        (b"\r\n", b"\n"),
        (b"\r\n", b"\r"),
        (b"\n", b"\r\n"),
        (b"\r\n", b"\n\r"),
    ]);
    if rng.chance(1, 3) {
        *v = replace(v, from, to);
        return;
    }
    let places: Vec<usize> = v
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from)
        .map(|(i, _)| i)
        .collect();
    if !places.is_empty() {
        let at = *rng.pick(&places);
        v.splice(at..at + from.len(), to.iter().copied());
    }
}

/// Replaces a run of digits (a status, a length, a chunk size) with
/// another number.
fn change_number(rng: &mut Rng, v: &mut Vec<u8>) {
    let runs: Vec<std::ops::Range<usize>> = digit_runs(v);
    if runs.is_empty() {
        return;
    }
    let run = rng.pick(&runs).clone();
    let n: String = match rng.below(8) {
        0 => "0".into(),
        1 => "-1".into(),
        2 => u64::MAX.to_string(),
        3 => "18446744073709551616".into(),
        4 => format!("{}", rng.range(100..=999)),
        5 => format!("{:x}", rng.range(0..=70_000)),
        6 => format!("{}", rng.range(0..=20)),
        _ => " 1 ".into(),
    };
    v.splice(run, n.into_bytes());
}

fn digit_runs(v: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < v.len() {
        if v[i].is_ascii_digit() {
            let start = i;
            while i < v.len() && v[i].is_ascii_digit() {
                i += 1;
            }
            runs.push(start..i);
        } else {
            i += 1;
        }
    }
    runs
}

/// A response for a case: a corpus entry, sometimes kept as it is (so that
/// valid responses check the success invariants), mostly mutated.
fn any_response(rng: &mut Rng, case: u64, port: u16) -> Vec<u8> {
    let (first, second) = (rng.below(CORPUS.len()), rng.below(CORPUS.len()));
    let mut v = template(rng, first, case, port);
    let donor = template(rng, second, case, port);
    let n = match rng.below(10) {
        0..=1 => 0,
        2..=6 => rng.range(1..=3),
        _ => rng.range(4..=12),
    };
    for _ in 0..n {
        mutate_once(rng, &mut v, &donor, case, port);
    }
    v
}

// ---------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Request,
    Download,
}

/// One task and what the server answers it.
struct Case {
    iteration: u64,
    kind: Kind,
    method: &'static str,
    body: Vec<u8>,
    enable_chunked: bool,
    /// Follow redirects, through the proxied client.
    follow: bool,
    max_response_bytes: u64,
    idle_timeout_ms: u32,
    /// Abort right after start.
    abort: bool,
    /// Release right after start (the task must still run and complete).
    release_early: bool,
    /// A download destination that exists before the task.
    preexisting: bool,
    responses: Vec<Vec<u8>>,
    piece: usize,
}

/// The content of a destination file that was there before the download.
const OLD_CONTENT: &[u8] = b"old content";

impl Case {
    fn generate(rng: &mut Rng, iteration: u64, port: u16) -> Case {
        let kind = if rng.chance(1, 3) {
            Kind::Download
        } else {
            Kind::Request
        };
        let method = *rng.pick(&["GET", "GET", "GET", "GET", "HEAD", "POST", "PUT"]);
        let body = match method {
            "POST" | "PUT" => b"request body".to_vec(),
            _ => Vec::new(),
        };
        let first = any_response(rng, iteration, port);
        let second = if rng.chance(2, 3) {
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal".to_vec()
        } else {
            any_response(rng, iteration, port)
        };
        Case {
            iteration,
            kind,
            method,
            body,
            enable_chunked: rng.chance(1, 4),
            follow: rng.chance(1, 2),
            max_response_bytes: if rng.chance(1, 10) {
                rng.range(1..=100) as u64
            } else {
                0
            },
            idle_timeout_ms: if rng.chance(1, 10) { 1000 } else { 0 },
            abort: rng.chance(1, 50),
            release_early: rng.chance(1, 2),
            preexisting: rng.chance(1, 5) && kind == Kind::Download,
            responses: vec![first, second],
            piece: if rng.chance(1, 10) {
                rng.range(1..=64)
            } else {
                0
            },
        }
    }

    fn prefix(&self) -> &'static str {
        match self.kind {
            Kind::Request => "request:",
            Kind::Download => "downloadFile:",
        }
    }

    fn describe(&self) -> String {
        let mut d = format!(
            "task: {:?} {}, body {} bytes, enable_chunked {}, follow_redirects {} ({}), \
             max_response_bytes {}, idle_timeout_ms {}, abort {}, release_early {}, \
             preexisting file {}, written {}\n",
            self.kind,
            self.method,
            self.body.len(),
            self.enable_chunked,
            self.follow,
            if self.follow {
                "through the server as proxy"
            } else {
                "direct"
            },
            self.max_response_bytes,
            self.idle_timeout_ms,
            self.abort,
            self.release_early,
            self.preexisting,
            match self.piece {
                0 => "at once".to_owned(),
                n => format!("in pieces of {n} bytes"),
            }
        );
        for (i, r) in self.responses.iter().enumerate() {
            let _ = writeln!(
                d,
                "response {i} (to /c/{}/{i}): {}",
                self.iteration,
                escape(r, SHOWN)
            );
        }
        d
    }
}

// ---------------------------------------------------------------------
// Driving tasks through the C ABI
// ---------------------------------------------------------------------

/// Copies of what a listener was given (the originals are borrowed).
#[derive(Debug, Clone)]
enum Event {
    Headers(i32),
    Chunk(Vec<u8>),
    Progress {
        written: u64,
        expected: i64,
        percent: u32,
    },
    Complete(Outcome),
}

#[derive(Debug, Clone)]
struct Outcome {
    /// The code as the integer it is in C.
    code: u32,
    err_msg: Option<String>,
    curl_code: i32,
    status: i32,
    data: Vec<u8>,
    file_path: Option<Vec<u8>>,
    data_length: u64,
}

/// Every event of one task, in order; the completion is also sent on the
/// run's channel so the driver knows which task is done.
struct Recorder {
    iteration: u64,
    events: Mutex<Vec<Event>>,
    done: Mutex<Sender<u64>>,
}

impl Recorder {
    fn push(&self, event: Event) {
        self.events.lock().unwrap().push(event);
    }

    fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }
}

fn recorder<'a>(ud: *mut c_void) -> &'a Recorder {
    // SAFETY: every user_data this target registers is a Recorder kept
    // alive (in flight, then retired) past its task's last listener call.
    unsafe { &*ud.cast::<Recorder>() }
}

fn c_text(p: *const c_char) -> Option<String> {
    // SAFETY: the library hands out NULL or C strings valid for the call.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

unsafe extern "C" fn on_headers(
    _: *mut nettask_task,
    head: *const nettask_response_head,
    ud: *mut c_void,
) {
    // SAFETY: valid for this call.
    let status = unsafe { (*head).status_code };
    recorder(ud).push(Event::Headers(status));
}

unsafe extern "C" fn on_chunk(_: *mut nettask_task, data: *const u8, len: usize, ud: *mut c_void) {
    let bytes = if len == 0 {
        Vec::new()
    } else {
        // SAFETY: `len` bytes at `data`, valid for this call.
        unsafe { std::slice::from_raw_parts(data, len) }.to_vec()
    };
    recorder(ud).push(Event::Chunk(bytes));
}

unsafe extern "C" fn on_progress(
    _: *mut nettask_task,
    p: *const nettask_progress,
    ud: *mut c_void,
) {
    // SAFETY: valid for this call.
    let p = unsafe { &*p };
    recorder(ud).push(Event::Progress {
        written: p.total_bytes_written,
        expected: p.total_bytes_expected_to_write,
        percent: p.progress,
    });
}

unsafe extern "C" fn on_complete(_: *mut nettask_task, r: *const nettask_result, ud: *mut c_void) {
    // SAFETY: the code is read as the integer it is in C, so a value
    // outside the enum is seen rather than undefined behaviour.
    let code = unsafe { (&raw const (*r).code).cast::<u32>().read() };
    // SAFETY: valid for this call.
    let r = unsafe { &*r };
    let data = if r.data_len == 0 {
        Vec::new()
    } else {
        // SAFETY: `data_len` bytes at `data`, valid for this call.
        unsafe { std::slice::from_raw_parts(r.data, r.data_len) }.to_vec()
    };
    let file_path = (!r.file_path.is_null())
        // SAFETY: a C string valid for this call.
        .then(|| unsafe { CStr::from_ptr(r.file_path) }.to_bytes().to_vec());
    let rec = recorder(ud);
    rec.push(Event::Complete(Outcome {
        code,
        err_msg: c_text(r.err_msg),
        curl_code: r.curl_code,
        status: r.status_code,
        data,
        file_path,
        data_length: r.data_length,
    }));
    let _ = rec.done.lock().unwrap().send(rec.iteration);
}

/// `nettask_request_create` / `nettask_download_create`.
type Create = unsafe extern "C" fn(
    *mut nettask_client,
    *const nettask_request_options,
    *mut *mut nettask_task,
) -> nettask_code;

/// A task in flight.
struct Flight {
    case: Case,
    served: Arc<Served>,
    /// Our reference, unless released early.
    task: *mut nettask_task,
    rec: Arc<Recorder>,
    dest: Option<PathBuf>,
    started: Instant,
}

fn client(proxy: Option<&str>) -> *mut nettask_client {
    // SAFETY: integers and raw pointers: all-zero is valid.
    let mut o: nettask_client_options = unsafe { std::mem::zeroed() };
    // SAFETY: a whole struct.
    unsafe { nettask_client_options_init_version(&mut o, NETTASK_CLIENT_OPTIONS_VERSION) };
    let proxy = proxy.map(|p| CString::new(p).unwrap());
    o.proxy = proxy.as_ref().map_or(ptr::null(), |p| p.as_ptr());
    let mut c = ptr::null_mut();
    // SAFETY: valid pointers; the strings are copied.
    let code = unsafe { nettask_client_new(&o, &mut c) };
    assert_eq!(code, NETTASK_OK, "client_new");
    c
}

/// The run: the server, a direct client and one that reaches everything
/// through the server as its proxy, and the scratch directory.
struct Rig {
    server: Server,
    direct: *mut nettask_client,
    proxied: *mut nettask_client,
    dir: PathBuf,
    done_tx: Sender<u64>,
}

impl Rig {
    fn new(done_tx: Sender<u64>) -> Rig {
        let server = Server::start();
        let proxy = format!("http://{}", server.addr);
        let dir =
            std::env::temp_dir().join(format!("nettask-fuzz-responses-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Rig {
            direct: client(None),
            proxied: client(Some(&proxy)),
            server,
            dir,
            done_tx,
        }
    }

    /// Creates and starts the task of `case`; None (with a finding) if the
    /// library refuses what is a valid request.
    fn launch(&self, case: Case, findings: &mut Findings) -> Option<Flight> {
        let iteration = case.iteration;
        let dest = (case.kind == Kind::Download).then(|| self.destination(&case));
        let served = self.server.insert(
            iteration,
            Served {
                responses: case.responses.clone(),
                piece: case.piece,
                log: Mutex::new(Vec::new()),
            },
        );
        let task = self.create(&case, dest.as_deref());
        if task.is_null() {
            findings.add(iteration, "create refused a valid request", || {
                case.describe()
            });
            self.server.remove(iteration);
            return None;
        }
        let rec = Arc::new(Recorder {
            iteration,
            events: Mutex::new(Vec::new()),
            done: Mutex::new(self.done_tx.clone()),
        });
        // SAFETY: a task we hold; `rec` outlives its listener calls.
        let listening = unsafe { listen(task, &rec) };
        // SAFETY: a task we hold.
        let started = unsafe { nettask_start(task) };
        if !listening || started != NETTASK_OK {
            findings.add(iteration, "listener registration or start failed", || {
                case.describe()
            });
        }
        if case.abort {
            // SAFETY: a task we hold.
            unsafe { nettask_abort(task) };
        }
        let task = if case.release_early {
            // SAFETY: our reference, dropped once; the task runs on.
            unsafe { nettask_release(task) };
            ptr::null_mut()
        } else {
            task
        };
        Some(Flight {
            case,
            served,
            task,
            rec,
            dest,
            started: Instant::now(),
        })
    }

    /// Creates the task of `case` as a C host would; NULL if refused.
    fn create(&self, case: &Case, dest: Option<&Path>) -> *mut nettask_task {
        let url = CString::new(format!(
            "http://{}/c/{}/0",
            self.server.addr, case.iteration
        ))
        .unwrap();
        let method = CString::new(case.method).unwrap();
        let file_path = dest.map(|d| CString::new(d.as_os_str().as_encoded_bytes()).unwrap());
        // SAFETY: integers, bools (zero is false) and raw pointers:
        // all-zero is valid.
        let mut o: nettask_request_options = unsafe { std::mem::zeroed() };
        // SAFETY: a whole struct.
        unsafe { nettask_request_options_init_version(&mut o, NETTASK_REQUEST_OPTIONS_VERSION) };
        o.url = url.as_ptr();
        o.method = method.as_ptr();
        o.body = if case.body.is_empty() {
            ptr::null()
        } else {
            case.body.as_ptr()
        };
        o.body_len = case.body.len();
        o.timeout_ms = TIMEOUT_MS;
        o.follow_redirects = case.follow;
        o.enable_chunked = case.enable_chunked;
        o.max_response_bytes = case.max_response_bytes;
        o.idle_timeout_ms = case.idle_timeout_ms;
        o.file_path = file_path.as_ref().map_or(ptr::null(), |p| p.as_ptr());
        // Only the client whose proxy is the server follows redirects.
        let client = if case.follow {
            self.proxied
        } else {
            self.direct
        };
        let create: Create = match case.kind {
            Kind::Request => nettask_request_create,
            Kind::Download => nettask_download_create,
        };
        let mut task = ptr::null_mut();
        // SAFETY: a live client, a filled struct whose strings and body
        // live until this returns, a writable out.
        let code = unsafe { create(client, &o, &mut task) };
        if code == NETTASK_OK {
            task
        } else {
            ptr::null_mut()
        }
    }

    /// A download's destination, alone in a directory of its own so that
    /// a temporary file left behind is seen.
    fn destination(&self, case: &Case) -> PathBuf {
        let dir = self.dir.join(format!("d{}", case.iteration));
        std::fs::create_dir_all(&dir).expect("download directory");
        let dest = dir.join("out.bin");
        if case.preexisting {
            std::fs::write(&dest, OLD_CONTENT).expect("preexisting file");
        }
        dest
    }

    /// Checks a completed task, then forgets it but for its recorder.
    fn finish(
        &self,
        flight: Flight,
        findings: &mut Findings,
        stats: &mut Stats,
    ) -> (Case, Arc<Recorder>) {
        if !flight.task.is_null() {
            // SAFETY: our reference, dropped once.
            unsafe { nettask_release(flight.task) };
        }
        let events = flight.rec.events();
        stats.count(summary(&flight.case, &events));
        if stale(&flight.served) && !flight.case.abort {
            stats.count("read a reused connection's stale bytes".into());
        }
        for (class, why) in check(
            &flight.case,
            &flight.served,
            &events,
            flight.dest.as_deref(),
        ) {
            findings.add(flight.case.iteration, class, || {
                let served = flight.served.log.lock().unwrap().join("; ");
                let served = if served.is_empty() {
                    "nothing".to_owned()
                } else {
                    served
                };
                format!(
                    "{}\nserver sent: {served}",
                    report(&flight.case, &events, &why)
                )
            });
        }
        if let Some(dest) = &flight.dest {
            let _ = std::fs::remove_dir_all(dest.parent().unwrap());
        }
        self.server.remove(flight.case.iteration);
        (flight.case, flight.rec)
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        // SAFETY: the clients this rig made, freed once, not from a
        // listener.
        unsafe {
            nettask_client_free(self.direct);
            nettask_client_free(self.proxied);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Registers the four recording listeners.
///
/// # Safety
/// `task` is held; `rec` outlives the task's listener calls.
unsafe fn listen(task: *mut nettask_task, rec: &Arc<Recorder>) -> bool {
    let ud = Arc::as_ptr(rec).cast_mut().cast::<c_void>();
    // SAFETY: as the caller promises.
    unsafe {
        [
            nettask_on_headers_received(task, Some(on_headers), ud),
            nettask_on_chunk_received(task, Some(on_chunk), ud),
            nettask_on_progress_update(task, Some(on_progress), ud),
            nettask_on_complete(task, Some(on_complete), ud),
        ]
        .iter()
        .all(|&c| c == NETTASK_OK)
    }
}

// ---------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------

fn code_name(raw: u32) -> String {
    nettask::Code::from_raw(raw.into()).map_or_else(
        || format!("no code ({raw})"),
        |c| c.name().to_string_lossy().into_owned(),
    )
}

/// Every invariant `events` break: (class, what was seen).
fn check(
    case: &Case,
    served: &Served,
    events: &[Event],
    dest: Option<&Path>,
) -> Vec<(String, String)> {
    let mut bad = Vec::new();
    let mut fail = |class: &str, why: String| bad.push((class.to_owned(), why));
    let completions: Vec<&Outcome> = events
        .iter()
        .filter_map(|e| match e {
            Event::Complete(o) => Some(o),
            _ => None,
        })
        .collect();
    if completions.len() != 1 {
        fail(
            "not exactly one completion",
            format!("{} completions", completions.len()),
        );
    }
    if !matches!(events.last(), Some(Event::Complete(_))) {
        fail("an event after the completion", String::new());
    }
    check_order(case, events, &mut fail);
    let Some(outcome) = completions.first() else {
        return bad;
    };
    check_outcome(case, outcome, &mut fail);
    // The server answers one request per connection, so a task whose
    // request never reached it read bytes left on a reused connection:
    // the tail of another task's response. Failing on them is safe (the
    // stats count it); a success would hand one task another's response.
    if outcome.code == NETTASK_OK as u32 && stale(served) {
        fail(
            "OK though no request of the task reached the server",
            "its result came from bytes left on a reused connection".into(),
        );
    }
    if outcome.code == NETTASK_OK as u32 {
        check_success(case, events, outcome, dest, &mut fail);
    } else if let Some(dest) = dest {
        check_failed_download(outcome, dest, &mut fail);
    }
    bad
}

/// Whether no request of the case reached the server.
fn stale(served: &Served) -> bool {
    served.log.lock().unwrap().is_empty()
}

/// headers_received at most once and first; chunks for requests only,
/// progress for downloads only and never going back.
fn check_order(case: &Case, events: &[Event], fail: &mut impl FnMut(&str, String)) {
    let mut headers = 0;
    let mut last_written = 0;
    for e in events {
        match e {
            Event::Headers(_) => headers += 1,
            Event::Chunk(_) if headers == 0 => fail("chunk before headers_received", String::new()),
            Event::Progress { .. } if headers == 0 => {
                fail("progress before headers_received", String::new())
            }
            _ => {}
        }
        match (e, case.kind) {
            (Event::Chunk(_), Kind::Download) => {
                fail("chunk_received on a download", String::new())
            }
            (Event::Progress { .. }, Kind::Request) => {
                fail("progress_update on a request", String::new())
            }
            (
                Event::Progress {
                    written, percent, ..
                },
                _,
            ) => {
                if *written < last_written {
                    fail(
                        "progress went back",
                        format!("{last_written} then {written}"),
                    );
                }
                if *percent > 100 {
                    fail("progress above 100", format!("{percent}"));
                }
                last_written = *written;
            }
            _ => {}
        }
    }
    if headers > 1 {
        fail(
            "headers_received more than once",
            format!("{headers} times"),
        );
    }
}

/// The code and err_msg, whatever the outcome.
fn check_outcome(case: &Case, o: &Outcome, fail: &mut impl FnMut(&str, String)) {
    let name = code_name(o.code);
    let forbidden = [NETTASK_E_INVALID_ARGUMENT as u32, NETTASK_E_INTERNAL as u32];
    if forbidden.contains(&o.code) || nettask::Code::from_raw(o.code.into()).is_none() {
        fail(
            &format!("completed with {name} (curl_code {})", o.curl_code),
            String::new(),
        );
    }
    if !o
        .err_msg
        .as_deref()
        .is_some_and(|m| m.starts_with(case.prefix()))
    {
        fail(
            &format!("err_msg does not start with {:?}", case.prefix()),
            String::new(),
        );
    }
    if o.code == NETTASK_OK as u32 && o.err_msg.as_deref() != Some(&format!("{}ok", case.prefix()))
    {
        fail("success without the :ok err_msg", String::new());
    }
}

fn check_success(
    case: &Case,
    events: &[Event],
    o: &Outcome,
    dest: Option<&Path>,
    fail: &mut impl FnMut(&str, String),
) {
    if !(100..=999).contains(&o.status) {
        let class = if o.status == 0 {
            "OK with status 0".to_owned()
        } else {
            "OK with a status outside 100..=999".to_owned()
        };
        fail(&class, format!("status {}", o.status));
    }
    let heads: Vec<i32> = events
        .iter()
        .filter_map(|e| match e {
            Event::Headers(s) => Some(*s),
            _ => None,
        })
        .collect();
    match heads.as_slice() {
        [] => fail("OK without headers_received", String::new()),
        [s] if *s != o.status => fail(
            "headers_received status differs from the result's",
            format!("{s} vs {}", o.status),
        ),
        _ => {}
    }
    let body: Vec<u8> = events
        .iter()
        .filter_map(|e| match e {
            Event::Chunk(c) => Some(&c[..]),
            _ => None,
        })
        .flatten()
        .copied()
        .collect();
    match (case.kind, dest) {
        (Kind::Download, Some(dest)) => check_download(case, events, o, dest, fail),
        _ if case.enable_chunked => {
            if !o.data.is_empty() {
                fail(
                    "enable_chunked result has data",
                    format!("{} bytes", o.data.len()),
                );
            }
            if o.data_length != body.len() as u64 {
                fail(
                    "data_length differs from the chunks' length",
                    format!("{} vs {}", o.data_length, body.len()),
                );
            }
        }
        _ => {
            if body != o.data {
                fail(
                    "chunks differ from data",
                    format!("chunks {} bytes, data {} bytes", body.len(), o.data.len()),
                );
            }
            if o.data_length != o.data.len() as u64 {
                fail(
                    "data_length differs from the body length",
                    format!("{} vs {}", o.data_length, o.data.len()),
                );
            }
        }
    }
}

fn check_download(
    case: &Case,
    events: &[Event],
    o: &Outcome,
    dest: &Path,
    fail: &mut impl FnMut(&str, String),
) {
    let dest_bytes = dest.as_os_str().as_encoded_bytes();
    if o.file_path.as_deref() != Some(dest_bytes) {
        fail(
            "download file_path is not the destination",
            format!("{:?}", o.file_path.as_deref().map(|p| escape(p, 300))),
        );
    }
    match std::fs::metadata(dest) {
        Ok(m) if m.len() != o.data_length => fail(
            "downloaded file size differs from data_length",
            format!("{} vs {}", m.len(), o.data_length),
        ),
        Ok(_) => {}
        Err(e) => fail("successful download left no file", e.to_string()),
    }
    let others = leftovers(dest);
    if !others.is_empty() {
        fail("a successful download left other files", others.join(", "));
    }
    let last = events.iter().rev().find_map(|e| match e {
        Event::Progress { written, .. } => Some(*written),
        _ => None,
    });
    // An abort that loses the race with the completion still stops every
    // later progress event, the last one included.
    if o.data_length > 0 && last != Some(o.data_length) && !case.abort {
        fail(
            "last progress does not report every byte",
            format!("last {last:?}, data_length {}", o.data_length),
        );
    }
}

/// No file is left but a destination that existed before, untouched.
fn check_failed_download(o: &Outcome, dest: &Path, fail: &mut impl FnMut(&str, String)) {
    if o.file_path.is_some() {
        fail("failed download has a file_path", String::new());
    }
    let others = leftovers(dest);
    if !others.is_empty() {
        fail("a failed download left a temporary file", others.join(", "));
    }
    match std::fs::read(dest) {
        Ok(content) if content != OLD_CONTENT => fail(
            "a failed download left or changed the destination",
            format!("{} bytes", content.len()),
        ),
        _ => {}
    }
}

/// Files beside `dest` other than it.
fn leftovers(dest: &Path) -> Vec<String> {
    let Some(dir) = dest.parent() else {
        return Vec::new();
    };
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p != dest)
                .map(|p| escape(p.as_os_str().as_encoded_bytes(), 300))
                .collect()
        })
        .unwrap_or_default()
}

/// The outcome's class for the stats: kind, code, and for a success the
/// status class and whether redirects were followed.
fn summary(case: &Case, events: &[Event]) -> String {
    let outcome = events.iter().find_map(|e| match e {
        Event::Complete(o) => Some(o),
        _ => None,
    });
    let Some(o) = outcome else {
        return format!("{:?} no completion", case.kind);
    };
    let code = code_name(o.code);
    let code = code.trim_start_matches("NETTASK_");
    if o.code == NETTASK_OK as u32 {
        let status = match o.status {
            ..=99 => "status below 100".to_owned(),
            1000.. => "status above 999".to_owned(),
            s => format!("{}xx", s / 100),
        };
        format!("{:?} OK {status}", case.kind)
    } else {
        format!("{:?} {code}", case.kind)
    }
}

/// A finding's description: the case, then what the listeners saw.
fn report(case: &Case, events: &[Event], why: &str) -> String {
    let mut r = case.describe();
    if !why.is_empty() {
        let _ = writeln!(r, "why: {why}");
    }
    r.push_str("events:");
    for e in events {
        match e {
            Event::Headers(s) => {
                let _ = write!(r, " headers({s})");
            }
            Event::Chunk(c) => {
                let _ = write!(r, " chunk({})", c.len());
            }
            Event::Progress {
                written,
                expected,
                percent,
            } => {
                let _ = write!(r, " progress({written}/{expected}, {percent}%)");
            }
            Event::Complete(o) => {
                let _ = write!(
                    r,
                    " complete({}, {:?}, curl_code {}, status {}, data {}, data_length {})",
                    code_name(o.code),
                    o.err_msg,
                    o.curl_code,
                    o.status,
                    escape(&o.data, 200),
                    o.data_length
                );
            }
        }
    }
    r
}

/// The recorder of a finished task, kept a while for late events.
fn retire(
    retired: &mut VecDeque<(Case, Arc<Recorder>)>,
    case: Case,
    rec: Arc<Recorder>,
    findings: &mut Findings,
) {
    retired.push_back((case, rec));
    while retired.len() > RETIRED {
        let (case, rec) = retired.pop_front().unwrap();
        recheck(&case, &rec, findings);
    }
}

fn recheck(case: &Case, rec: &Recorder, findings: &mut Findings) {
    let events = rec.events();
    let completions = events
        .iter()
        .filter(|e| matches!(e, Event::Complete(_)))
        .count();
    if completions > 1 {
        findings.add(case.iteration, "not exactly one completion", || {
            report(case, &events, "a second completion came later")
        });
    } else if !matches!(events.last(), Some(Event::Complete(_))) {
        findings.add(case.iteration, "an event after the completion", || {
            report(case, &events, "it came later")
        });
    }
}

pub fn run(config: Config) {
    let (done_tx, done_rx): (Sender<u64>, Receiver<u64>) = channel();
    let rig = Rig::new(done_tx);
    let port = rig.server.addr.port();
    let mut findings = Findings::new();
    let mut in_flight: HashMap<u64, Flight> = HashMap::new();
    let mut retired = VecDeque::new();
    let mut stats = Stats::default();
    let mut launched = 0;
    loop {
        while in_flight.len() < IN_FLIGHT {
            let Some(iteration) = config.next_iteration(launched) else {
                break;
            };
            launched += 1;
            let case = Case::generate(&mut config.case_rng(iteration), iteration, port);
            if let Some(flight) = rig.launch(case, &mut findings) {
                in_flight.insert(iteration, flight);
            }
        }
        if in_flight.is_empty() {
            break;
        }
        match done_rx.recv_timeout(Duration::from_millis(200)) {
            Ok(iteration) => {
                // A second completion of a finished task finds nothing here;
                // the retired check reports it.
                if let Some(flight) = in_flight.remove(&iteration) {
                    let (case, rec) = rig.finish(flight, &mut findings, &mut stats);
                    retire(&mut retired, case, rec, &mut findings);
                }
            }
            Err(_) => give_up_on_stuck(&mut in_flight, &mut findings),
        }
    }
    thread::sleep(Duration::from_millis(100));
    for (case, rec) in retired.drain(..) {
        recheck(&case, &rec, &mut findings);
    }
    drop(rig);
    stats.print(config.target);
    findings.finish(&config, launched);
}

/// Reports tasks that never completed, and leaks their recorders: the
/// library may still call their listeners.
fn give_up_on_stuck(in_flight: &mut HashMap<u64, Flight>, findings: &mut Findings) {
    let stuck: Vec<u64> = in_flight
        .iter()
        .filter(|(_, f)| f.started.elapsed() > STUCK)
        .map(|(i, _)| *i)
        .collect();
    for i in stuck {
        let flight = in_flight.remove(&i).unwrap();
        let events = flight.rec.events();
        findings.add(i, "not exactly one completion", || {
            report(
                &flight.case,
                &events,
                &format!("no completion {STUCK:?} after start"),
            )
        });
        std::mem::forget(flight.rec);
    }
}
