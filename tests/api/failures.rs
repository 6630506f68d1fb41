//! Tasks that fail: timeouts, refused and cut connections, size limits, TLS.

use std::time::{Duration, Instant};

use nettask::ffi::nettask_code::*;

use crate::harness::*;
use crate::server::server;

#[test]
fn whole_task_timeout() {
    let client = Client::new();
    let started = Instant::now();
    let (out, _) = fetch(
        &client,
        Opts::new(&server().url("/slow?ms=5000")).set(|o| o.timeout_ms = 300),
    );
    let took = started.elapsed();
    assert_eq!(out.code, NETTASK_E_TIMEOUT);
    assert_eq!(out.err_msg, "request:fail timeout");
    assert_eq!(out.curl_code, 28);
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_millis(2000),
        "{took:?}"
    );
}

#[test]
fn client_default_timeout_applies() {
    let client = Client::with(|o| o.default_timeout_ms = 250);
    let (out, _) = fetch(&client, Opts::new(&server().url("/slow?ms=5000")));
    assert_eq!(out.code, NETTASK_E_TIMEOUT);
}

#[test]
fn idle_timeout_on_a_stalled_stream() {
    let client = Client::new();
    let started = Instant::now();
    let (out, rec) = fetch(
        &client,
        Opts::new(&server().url("/stall?after=10")).set(|o| o.idle_timeout_ms = 300),
    );
    let took = started.elapsed();
    assert_eq!(out.code, NETTASK_E_TIMEOUT);
    assert_eq!(out.err_msg, "request:fail timeout");
    assert_eq!(
        rec.chunks(),
        b"ssssssssss",
        "bytes before the stall were delivered"
    );
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

#[test]
fn idle_timeout_does_not_fire_while_bytes_flow() {
    let client = Client::new();
    // 8 chunks 100 ms apart: 700 ms in all, never 300 ms of silence.
    let (out, _) = fetch(
        &client,
        Opts::new(&server().url("/stream?n=8&delay_ms=100")).set(|o| o.idle_timeout_ms = 300),
    );
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    assert_eq!(out.data.len(), 40);
}

#[test]
fn connection_refused() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new();
    let (out, rec) = fetch(&client, Opts::new(&format!("http://127.0.0.1:{port}/")));
    assert_eq!(out.code, NETTASK_E_CONNECT);
    assert_eq!(out.curl_code, 7);
    assert!(out.err_msg.starts_with("request:fail "), "{}", out.err_msg);
    assert!(
        out.err_msg.len() > "request:fail ".len() + 5,
        "a reason: {}",
        out.err_msg
    );
    assert_eq!(out.status, 0);
    assert_eq!(rec.events().len(), 1, "only the completion");
    // No connection: every field of a step that did not happen says so.
    let p = out.profile;
    let steps = [
        p.connect_done_us,
        p.tls_done_us,
        p.request_sent_us,
        p.first_byte_us,
    ];
    assert_eq!(steps, [-1; 4], "{p:?}");
    assert_eq!(
        (p.socket_reused, p.peer_port, p.local_port),
        (false, 0, 0),
        "{p:?}"
    );
    assert_eq!((p.bytes_sent, p.bytes_received), (0, 0), "{p:?}");
    assert_eq!((out.peer_ip.as_str(), out.protocol.as_str()), ("", ""));
}

#[test]
fn body_cut_midway_is_a_recv_error() {
    let client = Client::new();
    let (out, rec) = fetch(
        &client,
        Opts::new(&server().url("/cut?total=1000&send=100")),
    );
    assert_eq!(out.code, NETTASK_E_RECV, "{}", out.err_msg);
    assert_eq!(out.curl_code, 18);
    assert_eq!(rec.chunks().len(), 100);
}

#[test]
fn max_response_bytes_from_content_length_fails_before_headers() {
    let client = Client::new();
    let (out, rec) = fetch(
        &client,
        Opts::new(&server().url("/bytes/10000")).set(|o| o.max_response_bytes = 1000),
    );
    assert_eq!(out.code, NETTASK_E_TOO_LARGE);
    assert_eq!(out.err_msg, "request:fail exceed max file size");
    assert_eq!(rec.events().len(), 1);
}

#[test]
fn max_response_bytes_while_streaming() {
    let client = Client::new();
    let (out, rec) = fetch(
        &client,
        Opts::new(&server().url("/bytes-unknown/300000")).set(|o| o.max_response_bytes = 100_000),
    );
    assert_eq!(out.code, NETTASK_E_TOO_LARGE);
    assert!(rec.chunks().len() <= 100_000);
    let (ok, _) = fetch(
        &client,
        Opts::new(&server().url("/bytes/1000")).set(|o| o.max_response_bytes = 1000),
    );
    assert_eq!(ok.code, NETTASK_OK, "exactly the limit is allowed");
}

#[test]
fn untrusted_certificate_fails_with_tls() {
    let client = Client::new();
    let (out, rec) = fetch(&client, Opts::new(&server().https_url("/hello")));
    assert_eq!(out.code, NETTASK_E_TLS, "{}", out.err_msg);
    assert_eq!(out.curl_code, 60);
    assert!(out.err_msg.starts_with("request:fail "));
    assert_eq!(rec.events().len(), 1);
}
