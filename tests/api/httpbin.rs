//! nettask against PyPI's httpbin, a server nobody here wrote: under
//! gunicorn (HTTP/1.1) and under hypercorn (h2 over TLS, and h2c), on
//! loopback, started once per test process from the virtualenv that
//! scripts/httpbin-venv.sh makes. Each test is a behaviour WeChat and
//! browsers show against real servers (API.md "Bodies as the page expects
//! them", "Protocol rules").

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nettask::ffi::nettask_code::*;
use serde_json::Value;

use crate::harness::*;
use crate::server::server;

pub struct Httpbin {
    /// gunicorn: HTTP/1.1.
    h1: SocketAddr,
    /// hypercorn without TLS: h2c with prior knowledge (or HTTP/1.1).
    h2c: SocketAddr,
    /// hypercorn with the test CA's certificate for "localhost": h2 by ALPN.
    tls: SocketAddr,
}

impl Httpbin {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.h1)
    }
}

/// The httpbin servers of this test process, started on first use.
pub fn httpbin() -> &'static Httpbin {
    static HTTPBIN: OnceLock<Httpbin> = OnceLock::new();
    HTTPBIN.get_or_init(start)
}

fn venv_bin() -> PathBuf {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/httpbin-venv.sh");
    let out = Command::new(script)
        .stderr(Stdio::inherit())
        .output()
        .expect("scripts/httpbin-venv.sh runs");
    assert!(out.status.success(), "scripts/httpbin-venv.sh failed");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn start() -> Httpbin {
    let bin = venv_bin();
    let bind = || TcpListener::bind("127.0.0.1:0").unwrap();
    let (h1, h2c, tls) = (bind(), bind(), bind());
    let addrs = Httpbin {
        h1: h1.local_addr().unwrap(),
        h2c: h2c.local_addr().unwrap(),
        tls: tls.local_addr().unwrap(),
    };
    let fd = |l: &TcpListener| format!("fd://{}", l.as_raw_fd());
    let mut gunicorn = Command::new(bin.join("gunicorn"));
    gunicorn.args([
        "--bind",
        &fd(&h1),
        "--worker-class",
        "gthread",
        "--threads",
        "16",
    ]);
    gunicorn.args(["--log-level", "warning", "httpbin:app"]);
    let mut hypercorn = Command::new(bin.join("hypercorn"));
    let (cert, key) = (&server().cert_file, &server().key_file);
    hypercorn.args(["--bind", &fd(&tls), "--insecure-bind", &fd(&h2c)]);
    // Serve in hypercorn's own process (0 workers): PR_SET_PDEATHSIG below
    // reaches it, where a spawned worker and multiprocessing's resource
    // tracker outlived every test process.
    hypercorn.args(["--workers", "0"]);
    hypercorn.args([
        "--certfile",
        cert.to_str().unwrap(),
        "--keyfile",
        key.to_str().unwrap(),
    ]);
    hypercorn.args(["--log-level", "warning", "httpbin:app"]);
    let fds = [h1.as_raw_fd(), h2c.as_raw_fd(), tls.as_raw_fd()];
    let log = std::fs::File::create(concat!(env!("CARGO_TARGET_TMPDIR"), "/httpbin.log")).unwrap();
    for command in [&mut gunicorn, &mut hypercorn] {
        // Not the test's own output: a server that outlives a moment the
        // test process would hold its pipe open.
        command.stdout(log.try_clone().unwrap());
        command.stderr(log.try_clone().unwrap());
        // SAFETY: the closure runs in the child between fork and exec, and
        // calls only fcntl and prctl, which are async-signal-safe; the
        // descriptors are the listeners this process holds open.
        unsafe {
            command.pre_exec(move || {
                for fd in fds {
                    libc::fcntl(fd, libc::F_SETFD, 0); // inherited across exec
                }
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    // PR_SET_PDEATHSIG fires when the thread that forked exits: fork from
    // one that lives as long as the test process.
    let (ready, spawned) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let children = (gunicorn.spawn(), hypercorn.spawn());
        let ok = children.0.is_ok() && children.1.is_ok();
        ready.send(ok).unwrap();
        drop((h1, h2c, tls));
        loop {
            std::thread::park();
        }
    });
    assert!(spawned.recv().unwrap(), "gunicorn and hypercorn start");
    wait_until_serving(addrs.h1);
    wait_until_serving(addrs.h2c);
    addrs
}

/// Waits until `addr` answers a plain HTTP/1.1 GET /get.
fn wait_until_serving(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answered = TcpStream::connect(addr).ok().and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
            s.write_all(b"GET /get HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .ok()?;
            let mut head = [0u8; 12];
            s.read_exact(&mut head).ok()?;
            Some(head.starts_with(b"HTTP/1.1 200"))
        });
        if answered == Some(true) {
            return;
        }
        assert!(Instant::now() < deadline, "httpbin on {addr} did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The JSON httpbin answered with, after checking the request succeeded.
fn json(out: &Outcome) -> Value {
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    serde_json::from_slice(&out.data).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.data));
    })
}

fn get(opts: Opts) -> (Outcome, Value) {
    let (out, _) = fetch(&Client::new(), opts);
    let body = json(&out);
    (out, body)
}

#[test]
fn urls_with_non_ascii_and_spaces_reach_the_server_encoded() {
    let (_, body) = get(Opts::new(&httpbin().url("/anything/中文?q=中文 x&e=%41")));
    // Sent as raw UTF-8, gunicorn answers 400; encoded, httpbin decodes it.
    assert_eq!(body["args"]["q"], "中文 x");
    assert_eq!(body["args"]["e"], "A");
}

#[test]
fn a_body_without_content_type_is_sent_without_one() {
    let (_, body) = get(Opts::new(&httpbin().url("/post"))
        .method("POST")
        .body(br#"{"a":1}"#.to_vec()));
    assert_eq!(body["headers"].get("Content-Type"), None, "{body}");
    assert_eq!(body["data"], r#"{"a":1}"#);
    assert_eq!(body["form"], serde_json::json!({}));
    let (_, body) = get(Opts::new(&httpbin().url("/post"))
        .method("POST")
        .header("Content-Type", "application/json")
        .body(br#"{"a":1}"#.to_vec()));
    assert_eq!(body["json"], serde_json::json!({"a": 1}));
}

#[test]
fn header_values_are_sent_as_given() {
    let (_, body) = get(Opts::new(&httpbin().url("/headers"))
        .header("X-Empty", "")
        .header("Accept", "")
        .header("User-Agent", "mini-program/1.0"));
    let headers = &body["headers"];
    assert_eq!(headers["X-Empty"], "", "{headers}");
    assert_eq!(headers["Accept"], "", "{headers}");
    assert_eq!(headers["User-Agent"], "mini-program/1.0");
}

/// What `/anything` saw after `method` with a body was answered `status`
/// with a redirect to it.
fn after_redirect(method: &str, status: u16) -> (Outcome, Value) {
    let path = format!("/redirect-to?url=/anything&status_code={status}");
    get(Opts::new(&httpbin().url(&path))
        .method(method)
        .header("Content-Type", "text/plain")
        .body(b"payload".to_vec()))
}

#[test]
fn redirects_rewrite_methods_as_fetch_does() {
    for (method, status, sent_method, sent_body) in [
        ("POST", 301, "GET", ""),
        ("POST", 302, "GET", ""),
        ("PUT", 302, "PUT", "payload"),
        ("DELETE", 301, "DELETE", "payload"),
        ("PUT", 303, "GET", ""),
        ("POST", 307, "POST", "payload"),
        ("PATCH", 308, "PATCH", "payload"),
    ] {
        let (out, body) = after_redirect(method, status);
        assert_eq!(out.status, 200);
        assert_eq!(out.profile.redirect_count, 1);
        let seen = (
            body["method"].as_str().unwrap(),
            body["data"].as_str().unwrap(),
        );
        assert_eq!(seen, (sent_method, sent_body), "{method} answered {status}");
        let typed = body["headers"].get("Content-Type").is_some();
        assert_eq!(typed, !sent_body.is_empty(), "{method} {status}: {body}");
    }
}

#[test]
fn other_3xx_are_final_responses() {
    for status in [300, 304, 305, 306] {
        let path = format!("/redirect-to?url=/get&status_code={status}");
        let (out, rec) = fetch(&Client::new(), Opts::new(&httpbin().url(&path)));
        assert_eq!((out.code, out.status), (NETTASK_OK, status));
        assert_eq!(out.profile.redirect_count, 0);
        assert_eq!(rec.completions().len(), 1);
    }
}

#[test]
fn relative_and_absolute_redirect_chains_are_followed() {
    for path in [
        "/relative-redirect/3",
        "/absolute-redirect/3",
        "/redirect/3",
    ] {
        let (out, body) = get(Opts::new(&httpbin().url(path)));
        assert_eq!(out.profile.redirect_count, 3, "{path}");
        assert_eq!(body["url"], httpbin().url("/get"), "{path}");
    }
}

#[test]
fn h2_over_tls_and_h2c_reach_hypercorn() {
    let ca = std::ffi::CString::new(server().ca_file.to_str().unwrap()).unwrap();
    let client = Client::with(|o| o.ca_file = ca.as_ptr());
    let tls = format!("https://localhost:{}/get?via=tls", httpbin().tls.port());
    let (out, _) = fetch(&client, Opts::new(&tls));
    assert_eq!(json(&out)["args"]["via"], "tls");
    assert_eq!(out.protocol, "h2");
    let h2c = format!("http://{}/get?via=h2c", httpbin().h2c);
    let (out, _) = fetch(
        &client,
        Opts::new(&h2c).set(|o| o.http2_prior_knowledge = true),
    );
    assert_eq!(json(&out)["args"]["via"], "h2c");
    assert_eq!(out.protocol, "h2");
}

#[test]
fn compressed_answers_are_decoded() {
    for (path, flag) in [
        ("/gzip", "gzipped"),
        ("/deflate", "deflated"),
        ("/brotli", "brotli"),
    ] {
        let (out, body) = get(Opts::new(&httpbin().url(path)));
        assert_eq!(body[flag], true, "{path}: {body}");
        assert_eq!(out.data_length, out.data.len() as u64);
        let offered = body["headers"]["Accept-Encoding"].as_str().unwrap();
        assert_eq!(offered, "gzip, deflate, br, zstd");
    }
}
