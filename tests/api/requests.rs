//! Requests that succeed: methods, bodies, headers, redirects, results.

use std::time::{Duration, Instant};

use nettask::ffi::nettask_code::*;

use crate::harness::*;
use crate::server::{pattern, server};

#[test]
fn get_returns_status_headers_body_and_profile() {
    let client = Client::new();
    let (out, rec) = fetch(&client, Opts::new(&server().url("/hello")));
    assert_eq!(out.code, NETTASK_OK);
    assert_eq!(out.err_msg, "request:ok");
    assert_eq!(out.curl_code, 0);
    assert_eq!(out.status, 200);
    assert_eq!(out.data, b"hello world");
    assert_eq!(out.data_length, 11);
    assert!(
        out.headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("x-served-by") && v == "nettask-test")
    );
    assert_eq!(out.peer_ip, "127.0.0.1");
    assert_eq!(out.profile.peer_port, server().http.port());
    assert_eq!(out.protocol, "http/1.1");
    let p = out.profile;
    assert!(p.local_port != 0);
    assert!(
        p.connect_done_us >= 0 && p.first_byte_us >= p.connect_done_us,
        "{p:?}"
    );
    assert!(p.total_us >= p.first_byte_us);
    assert_eq!(p.tls_done_us, -1);
    assert_eq!(p.redirect_us, -1);
    // wx's steps, in order, on a new connection without TLS or redirects.
    let steps = [
        p.fetch_start_us,
        p.dns_start_us,
        p.dns_done_us,
        p.connect_start_us,
        p.connect_done_us,
        p.request_start_us,
        p.request_end_us,
        p.response_start_us,
        p.response_end_us,
        p.total_us,
    ];
    assert!(steps.iter().all(|&t| t >= 0), "{p:?}");
    assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{p:?}");
    assert_eq!(
        (p.request_start_us, p.response_start_us),
        (p.request_sent_us, p.first_byte_us)
    );
    let skipped = [
        p.tls_start_us,
        p.tls_end_us,
        p.redirect_start_us,
        p.redirect_end_us,
    ];
    assert_eq!(skipped, [-1; 4], "{p:?}");
    if emulator().is_none() {
        assert!(p.rtt_us > 0 && p.rtt_us < 1_000_000, "loopback rtt: {p:?}");
        assert_eq!(p.estimate_nettype, 5, "{p:?}");
    } else {
        // qemu-user does not emulate getsockopt(TCP_INFO): the rtt is
        // unknown there, and so is the network type estimated from it.
        assert_eq!((p.rtt_us, p.estimate_nettype), (-1, 0), "{p:?}");
    }
    assert!(p.bytes_received > 11 && p.bytes_sent > 0);
    // headers event first, then the body, then the completion
    let events = rec.events();
    assert!(matches!(&events[0], Event::Headers { status: 200, version, .. } if version == "1.1"));
    assert!(matches!(events.last().unwrap(), Event::Complete(_)));
    assert_eq!(rec.chunks(), b"hello world");
}

#[test]
fn http_error_statuses_are_successful_tasks() {
    let client = Client::new();
    for status in [404, 500] {
        let (out, _) = fetch(
            &client,
            Opts::new(&server().url(&format!("/status/{status}"))),
        );
        assert_eq!(out.code, NETTASK_OK);
        assert_eq!(out.status, status);
        assert_eq!(out.err_msg, "request:ok");
        assert_eq!(out.data, format!("status {status}").as_bytes());
    }
}

#[test]
fn head_has_no_body() {
    let client = Client::new();
    let (out, rec) = fetch(
        &client,
        Opts::new(&server().url("/bytes/5000")).method("HEAD"),
    );
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    assert_eq!(out.status, 200);
    assert!(out.data.is_empty());
    assert!(
        out.headers
            .iter()
            .any(|(n, v)| n == "content-length" && v == "5000")
    );
    assert!(rec.chunks().is_empty());
}

#[test]
fn post_echoes_a_one_mebibyte_body() {
    let client = Client::new();
    let body = pattern(1 << 20);
    let (out, _) = fetch(
        &client,
        Opts::new(&server().url("/echo"))
            .method("POST")
            .body(body.clone()),
    );
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    assert_eq!(
        out.headers.iter().find(|(n, _)| n == "x-method").unwrap().1,
        "POST"
    );
    assert_eq!(out.data.len(), body.len());
    assert!(out.data == body);
    let sent = out.profile.bytes_sent;
    assert!(
        sent > 1 << 20 && sent < (1 << 20) + 4096,
        "bytes_sent {sent}"
    );
}

#[test]
fn every_method_reaches_the_server() {
    let client = Client::new();
    for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"] {
        let (out, _) = fetch(&client, Opts::new(&server().url("/echo")).method(method));
        assert_eq!(out.code, NETTASK_OK, "{method}: {}", out.err_msg);
        assert_eq!(
            out.headers.iter().find(|(n, _)| n == "x-method").unwrap().1,
            method
        );
    }
    let (out, _) = fetch(
        &client,
        Opts::new(&server().url("/echo"))
            .method("put")
            .body(b"data".to_vec()),
    );
    assert_eq!(out.data, b"data");
    assert_eq!(
        out.headers.iter().find(|(n, _)| n == "x-method").unwrap().1,
        "PUT"
    );
}

#[test]
fn request_headers_and_user_agent_are_sent() {
    let client = Client::with(|o| o.user_agent = c"nettask-test-agent/1".as_ptr());
    let (out, _) = fetch(
        &client,
        Opts::new(&server().url("/headers"))
            .header("X-Trace", "abc 123")
            .header("Accept", "text/plain"),
    );
    let text = String::from_utf8(out.data).unwrap();
    assert!(text.contains("x-trace: abc 123"), "{text}");
    assert!(text.contains("accept: text/plain"), "{text}");
    assert!(text.contains("user-agent: nettask-test-agent/1"), "{text}");
    assert!(!text.contains("expect:"), "{text}");
}

/// The request head as the server's `/headers` lists it, a line each.
fn sent_headers(opts: Opts) -> Vec<String> {
    let (out, _) = fetch(&Client::new(), opts);
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    let text = String::from_utf8(out.data).unwrap();
    text.lines().map(str::to_owned).collect()
}

#[test]
fn header_shapes_are_sent_as_given() {
    let lines = sent_headers(
        Opts::new(&server().url("/headers"))
            .header("X-Empty", "")
            .header("Accept", "")
            .header("X-Rep", "a")
            .header("X-Rep", "b")
            .header("X-Spaces", "  inner  space")
            .header("User-Agent", "custom/2")
            .header("Host", "example.test"),
    );
    for line in [
        "x-empty: ",
        "accept: ",
        "x-spaces: inner  space",
        "user-agent: custom/2",
        "host: example.test",
    ] {
        assert_eq!(
            lines.iter().filter(|l| *l == line).count(),
            1,
            "{line}: {lines:?}"
        );
    }
    let reps: Vec<&String> = lines.iter().filter(|l| l.starts_with("x-rep:")).collect();
    assert_eq!(reps, ["x-rep: a", "x-rep: b"]);
    for name in ["accept:", "user-agent:", "host:"] {
        let count = lines.iter().filter(|l| l.starts_with(name)).count();
        assert_eq!(
            count, 1,
            "the caller's {name} replaces the library's: {lines:?}"
        );
    }
}

#[test]
fn no_content_type_is_invented_for_a_body() {
    let post = || {
        Opts::new(&server().url("/headers"))
            .method("POST")
            .body(br#"{"a":1}"#.to_vec())
    };
    let lines = sent_headers(post());
    assert!(
        !lines.iter().any(|l| l.starts_with("content-type")),
        "{lines:?}"
    );
    assert!(lines.contains(&"content-length: 7".to_owned()), "{lines:?}");
    let lines = sent_headers(post().header("Content-Type", "application/json"));
    assert!(
        lines.contains(&"content-type: application/json".to_owned()),
        "{lines:?}"
    );
}

#[test]
fn repeated_set_cookie_headers_are_kept_in_wire_order() {
    let port = crate::server::raw_once(
        b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/\r\nX-Between: yes\r\nset-cookie: b=2; Path=/\r\n\
          Set-Cookie: c=3; HttpOnly\r\nContent-Length: 7\r\nConnection: close\r\n\r\ncookies",
    );
    let client = Client::new();
    let (out, rec) = fetch(
        &client,
        Opts::new(&format!("http://127.0.0.1:{port}/cookies")),
    );
    assert_eq!(out.data, b"cookies");
    let names: Vec<&str> = out.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Set-Cookie",
            "X-Between",
            "set-cookie",
            "Set-Cookie",
            "Content-Length",
            "Connection"
        ]
    );
    let cookies: Vec<&str> = out
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2; Path=/", "c=3; HttpOnly"]);
    let Event::Headers { headers, .. } = &rec.events()[0] else {
        panic!("headers first")
    };
    assert_eq!(headers, &out.headers);
}

#[test]
fn redirects_are_followed_and_reported_once() {
    let client = Client::new();
    let (out, rec) = fetch(&client, Opts::new(&server().url("/redirect/3")));
    assert_eq!(out.code, NETTASK_OK);
    assert_eq!(out.status, 200);
    assert_eq!(out.data, b"hello world");
    let p = out.profile;
    assert_eq!(p.redirect_count, 4);
    assert!(p.redirect_us >= 0);
    assert!(
        p.redirect_start_us >= 0 && p.redirect_start_us <= p.redirect_end_us,
        "{p:?}"
    );
    assert!(
        p.redirect_end_us <= p.fetch_start_us && p.fetch_start_us <= p.total_us,
        "{p:?}"
    );
    let heads = rec
        .events()
        .iter()
        .filter(|e| matches!(e, Event::Headers { .. }))
        .count();
    assert_eq!(heads, 1, "only the final response's head is reported");
    assert_eq!(
        rec.chunks(),
        b"hello world",
        "bodies of redirects are not chunks"
    );
}

#[test]
fn manual_redirect_makes_the_3xx_final() {
    let client = Client::new();
    let (out, _) = fetch(
        &client,
        Opts::new(&server().url("/redirect/3")).set(|o| o.follow_redirects = false),
    );
    assert_eq!(out.code, NETTASK_OK);
    assert_eq!(out.status, 302);
    assert!(
        out.headers
            .iter()
            .any(|(n, v)| n == "location" && v == "/redirect/2")
    );
    assert_eq!(out.data, b"redirecting");
    assert_eq!(out.profile.redirect_count, 0);
}

#[test]
fn urls_are_sent_as_whatwg_serialises_them() {
    let client = Client::new();
    let url = server().url("/echo?q=中文 x&a=%41#fragment");
    let (out, _) = fetch(&client, Opts::new(&format!("  {url}  ")));
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    let target = out.headers.iter().find(|(n, _)| n == "x-target").unwrap();
    assert_eq!(target.1, "/echo?q=%E4%B8%AD%E6%96%87%20x&a=%41");
}

#[test]
fn a_307_redirect_resends_the_body() {
    let client = Client::new();
    let (out, _) = fetch(
        &client,
        Opts::new(&server().url("/redirect-post"))
            .method("POST")
            .body(b"again".to_vec()),
    );
    assert_eq!(out.status, 200);
    assert_eq!(out.data, b"again");
}

#[test]
fn too_many_redirects_fail() {
    let client = Client::new();
    let (out, rec) = fetch(
        &client,
        Opts::new(&server().url("/redirect/5")).set(|o| o.max_redirects = 2),
    );
    assert_eq!(out.code, NETTASK_E_TOO_MANY_REDIRECTS);
    assert!(out.err_msg.starts_with("request:fail "), "{}", out.err_msg);
    assert_eq!(out.curl_code, 47);
    assert!(
        rec.events()
            .iter()
            .all(|e| !matches!(e, Event::Headers { .. }))
    );
}

#[test]
fn chunks_arrive_live_and_concatenate_to_the_body() {
    let client = Client::new();
    let run = Run::request(
        &client,
        Opts::new(&server().url("/stream?n=5&size=5&delay_ms=150")),
    );
    let started = Instant::now();
    run.start();
    let out = run.wait();
    assert_eq!(out.code, NETTASK_OK);
    let events = run.rec.events.lock().unwrap().clone();
    let chunk_times: Vec<Duration> = events
        .iter()
        .filter(|(_, _, e)| matches!(e, Event::Chunk(_)))
        .map(|(t, _, _)| t.duration_since(started))
        .collect();
    let done = events.last().unwrap().0.duration_since(started);
    assert!(
        chunk_times.len() >= 5,
        "one event per flushed chunk: {chunk_times:?}"
    );
    assert!(done >= Duration::from_millis(600));
    assert!(
        chunk_times[0] + Duration::from_millis(400) < done,
        "first chunk {:?}, done {done:?}",
        chunk_times[0]
    );
    assert_eq!(run.rec.chunks(), b"aaaaabbbbbcccccdddddeeeee");
    assert_eq!(out.data, b"aaaaabbbbbcccccdddddeeeee");
}

#[test]
fn enable_chunked_keeps_no_body_in_the_result() {
    let client = Client::new();
    let (out, rec) = fetch(
        &client,
        Opts::new(&server().url("/bytes/100000")).set(|o| o.enable_chunked = true),
    );
    assert_eq!(out.code, NETTASK_OK);
    assert!(out.data.is_empty());
    assert_eq!(out.data_length, 100_000);
    assert!(rec.chunks() == pattern(100_000));
}

#[test]
fn connections_are_reused() {
    let client = Client::new();
    let (first, _) = fetch(&client, Opts::new(&server().url("/hello")));
    let (second, _) = fetch(&client, Opts::new(&server().url("/hello")));
    assert!(!first.profile.socket_reused);
    assert!(second.profile.socket_reused);
    assert_eq!(first.profile.local_port, second.profile.local_port);
    if emulator().is_none() {
        // The reused connection's socket is found again for its rtt.
        for p in [&first.profile, &second.profile] {
            assert!(p.rtt_us > 0, "{p:?}");
        }
    }
}

/// Connections libcurl closes as their response ends (`Connection:
/// close`) still report the rtt their socket had: on a new connection,
/// and on a kept-alive one whose second response closes it.
#[test]
fn a_connection_closed_with_its_response_still_reports_its_rtt() {
    let close = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    let port = crate::server::raw_connections(2, close);
    let client = Client::new();
    for _ in 0..2 {
        let (out, _) = fetch(&client, Opts::new(&format!("http://127.0.0.1:{port}/")));
        assert_eq!((out.code, out.data.as_slice()), (NETTASK_OK, &b"ok"[..]));
        if emulator().is_none() {
            assert!(out.profile.rtt_us > 0, "{:?}", out.profile);
        }
    }

    let keep_alive = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let port = crate::server::raw_server(vec![vec![keep_alive, close]]);
    let url = format!("http://127.0.0.1:{port}/");
    let (first, _) = fetch(&client, Opts::new(&url));
    let (second, _) = fetch(&client, Opts::new(&url));
    assert_eq!((first.code, second.code), (NETTASK_OK, NETTASK_OK));
    assert!(second.profile.socket_reused, "{:?}", second.profile);
    if emulator().is_none() {
        for p in [&first.profile, &second.profile] {
            assert!(p.rtt_us > 0, "{p:?}");
        }
    }
}

/// A server that closes each connection after one response (saying
/// nothing of it): each request finds its pooled connection dead and opens
/// a new one, its socket number often the last one's, and each reports
/// the rtt of its own socket.
#[test]
fn every_new_connection_reports_its_own_rtt() {
    let port = crate::server::raw_connections(3, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let client = Client::new();
    let mut ports = Vec::new();
    for _ in 0..3 {
        let (out, _) = fetch(&client, Opts::new(&format!("http://127.0.0.1:{port}/")));
        assert_eq!((out.code, out.data.as_slice()), (NETTASK_OK, &b"ok"[..]));
        let p = out.profile;
        assert!(!p.socket_reused, "{p:?}");
        if emulator().is_none() {
            assert!(p.rtt_us > 0, "{p:?}");
        }
        ports.push(p.local_port);
    }
    ports.dedup();
    assert_eq!(ports.len(), 3, "three connections: {ports:?}");
}

#[test]
fn https_uses_h2_with_a_trusted_ca() {
    let ca = std::ffi::CString::new(server().ca_file.to_str().unwrap()).unwrap();
    let client = Client::with(|o| o.ca_file = ca.as_ptr());
    let (out, rec) = fetch(&client, Opts::new(&server().https_url("/hello")));
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    assert_eq!(out.data, b"hello world");
    assert_eq!(out.protocol, "h2");
    let p = out.profile;
    assert!(p.tls_done_us >= p.connect_done_us);
    assert!(
        p.connect_done_us <= p.tls_start_us && p.tls_start_us <= p.tls_end_us,
        "{p:?}"
    );
    assert_eq!(p.tls_end_us, p.tls_done_us);
    assert!(matches!(&rec.events()[0], Event::Headers { version, .. } if version == "2"));
    let (h1, _) = fetch(
        &client,
        Opts::new(&server().https_url("/hello")).set(|o| o.enable_http2 = false),
    );
    assert_eq!(h1.protocol, "http/1.1");
    // A large body over h2, compared byte for byte.
    let (big, _) = fetch(&client, Opts::new(&server().https_url("/bytes/3000000")));
    assert!(big.data == pattern(3_000_000));
}

/// A handle that ran a plain http:// GET holds no CA paths (see
/// `transfer::configure`), so a plain GET to https:// after it, by the next
/// task or by a redirect, must set the handle up in full: every https://
/// hop here is verified against the client's CA, on one reused handle.
#[test]
fn plain_gets_switching_between_http_and_https_verify_every_tls_hop() {
    let ca = std::ffi::CString::new(server().ca_file.to_str().unwrap()).unwrap();
    let client = Client::with(|o| o.ca_file = ca.as_ptr());
    let https_hello = server().https_url("/hello");
    let to_https = crate::policy::RawServer::plain("127.0.0.2:0", move |_| {
        crate::policy::redirect(302, &https_hello)
    });
    let via_redirect = format!("http://127.0.0.2:{}/", to_https.port());
    for url in [
        server().url("/hello"),
        server().https_url("/hello"),
        server().url("/hello"),
        via_redirect.clone(),
        server().https_url("/hello"),
        via_redirect,
    ] {
        let (out, _) = fetch(&client, Opts::new(&url));
        assert_eq!(out.code, NETTASK_OK, "{url}: {}", out.err_msg);
        assert_eq!(out.data, b"hello world", "{url}");
    }
}

#[test]
fn the_default_client_works_and_is_never_freed() {
    let client = nettask::ffi::nettask_client_default();
    assert!(!client.is_null());
    assert_eq!(client, nettask::ffi::nettask_client_default());
    let run = Run::create(
        client,
        Opts::new(&server().url("/hello")),
        nettask::ffi::nettask_request_create,
    );
    run.start();
    assert_eq!(run.wait().status, 200);
    assert_eq!(
        // SAFETY: the default client.
        unsafe { nettask::ffi::nettask_client_free(client) },
        NETTASK_OK
    );
    let again = Run::create(
        client,
        Opts::new(&server().url("/hello")),
        nettask::ffi::nettask_request_create,
    );
    again.start();
    assert_eq!(again.wait().status, 200);
}

#[test]
fn version_names_libcurl() {
    let v = cstr(nettask::ffi::nettask_version()).unwrap();
    assert!(v.starts_with("nettask 0.1.0 (libcurl 8."), "{v}");
    // The TLS library of the flavour built: OpenSSL (default) or rustls.
    assert!(v.contains("OpenSSL") || v.contains("rustls-ffi"), "{v}");
    assert!(v.contains("nghttp2"), "{v}");
}

#[test]
fn requests_go_through_the_clients_proxy() {
    // The test server answers absolute-form requests like a forward proxy,
    // so a host that does not resolve still reaches it.
    let proxy = std::ffi::CString::new(server().url("")).unwrap();
    let client = Client::with(|o| o.proxy = proxy.as_ptr());
    let (out, _) = fetch(
        &client,
        Opts::new("http://nettask-proxy-test.invalid/headers"),
    );
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    let text = String::from_utf8(out.data).unwrap();
    assert!(text.contains("host: nettask-proxy-test.invalid"), "{text}");
}

/// Set in the child of `a_client_without_proxy_uses_the_environments`.
const ENV_PROXY_CHILD: &str = "NETTASK_ENV_PROXY_CHILD";

#[test]
fn a_client_without_proxy_uses_the_environments() {
    let url = "http://nettask-proxy-test.invalid/headers";
    if std::env::var_os(ENV_PROXY_CHILD).is_some() {
        // In a process of its own, whose environment names the proxy (the
        // parent's test server) and exempts one host from it.
        let client = Client::new();
        let (out, _) = fetch(&client, Opts::new(url));
        assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
        let text = String::from_utf8(out.data).unwrap();
        assert!(text.contains("host: nettask-proxy-test.invalid"), "{text}");
        let exempt = "http://nettask-no-proxy.invalid/headers";
        let (direct, _) = fetch(&client, Opts::new(exempt));
        assert_eq!(direct.code, NETTASK_E_DNS, "{}", direct.err_msg);
        return;
    }
    let test = concat!(
        module_path!(),
        "::a_client_without_proxy_uses_the_environments"
    );
    let test = test.split_once("::").unwrap().1; // without the crate name
    // Its report stays out of this run's (it would count as a test).
    let child = this_test_binary()
        .args(["--exact", test, "--test-threads=1"])
        .env(ENV_PROXY_CHILD, "1")
        .env("http_proxy", server().url(""))
        .env("no_proxy", "nettask-no-proxy.invalid")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success() && report.contains("1 passed"),
        "the child's requests: {}\n{report}",
        child.status
    );
    // Without such variables, the name does not resolve.
    let names = [
        "http_proxy",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ];
    if names.iter().all(|n| std::env::var_os(n).is_none()) {
        let (out, _) = fetch(&Client::new(), Opts::new(url));
        assert_eq!(out.code, NETTASK_E_DNS, "{}", out.err_msg);
    }
}

#[test]
fn one_connection_per_host_serialises_on_one_socket() {
    let client = Client::with(|o| o.max_connections_per_host = 1);
    let runs: Vec<Run> = (0..5)
        .map(|_| {
            let run = Run::request(&client, Opts::new(&server().url("/slow?ms=50")));
            run.start();
            run
        })
        .collect();
    let ports: std::collections::HashSet<u16> =
        runs.iter().map(|r| r.wait().profile.local_port).collect();
    assert_eq!(ports.len(), 1, "{ports:?}");
}

#[test]
fn h2c_with_prior_knowledge() {
    let client = Client::new();
    let (out, _) = fetch(
        &client,
        Opts::new(&server().url("/hello")).set(|o| o.http2_prior_knowledge = true),
    );
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    assert_eq!(out.protocol, "h2");
    assert_eq!(out.data, b"hello world");
}

#[test]
fn concurrent_http2_requests_share_one_connection() {
    let ca = std::ffi::CString::new(server().ca_file.to_str().unwrap()).unwrap();
    let client = Client::with(|o| o.ca_file = ca.as_ptr());
    // Started together on a fresh client: they wait for the first
    // connection to say it multiplexes (PIPEWAIT) instead of each opening
    // their own, over TLS (ALPN h2) and over h2c.
    for (url, prior_knowledge) in [
        (server().https_url("/stream?n=2&delay_ms=50"), false),
        (server().url("/stream?n=2&delay_ms=50"), true),
    ] {
        let runs: Vec<Run> = (0..16)
            .map(|_| {
                let opts = Opts::new(&url).set(|o| o.http2_prior_knowledge = prior_knowledge);
                let run = Run::request(&client, opts);
                run.start();
                run
            })
            .collect();
        let outs: Vec<Outcome> = runs.iter().map(Run::wait).collect();
        assert!(
            outs.iter()
                .all(|o| o.code == NETTASK_OK && o.protocol == "h2")
        );
        let ports: std::collections::HashSet<u16> =
            outs.iter().map(|o| o.profile.local_port).collect();
        assert_eq!(
            ports.len(),
            1,
            "{url}: one connection, got local ports {ports:?}"
        );
    }
}

#[test]
fn a_stalled_request_does_not_hold_back_others_to_the_same_host() {
    let client = Client::new();
    // No response head at all: libcurl cannot tell it is HTTP/1.1.
    let stalled = Run::request(&client, Opts::new(&server().url("/slow?ms=10000")));
    stalled.start();
    std::thread::sleep(Duration::from_millis(50));
    let quick = Run::request(&client, Opts::new(&server().url("/hello")));
    quick.start();
    assert_eq!(quick.rec.wait(Duration::from_secs(5)).status, 200);
    assert_eq!(stalled.abort(), NETTASK_OK);
}

#[test]
fn a_reused_connection_and_handle_carry_nothing_from_the_last_task() {
    // One task at a time, so each task runs on the easy handle and the
    // connection the one before it used.
    let client = Client::with(|o| o.max_concurrent_tasks = 1);
    let (post, _) = fetch(
        &client,
        Opts::new(&server().url("/echo"))
            .method("PUT")
            .header("X-Only-Once", "1")
            .body(b"first".to_vec()),
    );
    assert_eq!(post.data, b"first");
    let (head, _) = fetch(&client, Opts::new(&server().url("/hello")).method("HEAD"));
    assert_eq!((head.status, head.data.len()), (200, 0));
    let (get, _) = fetch(&client, Opts::new(&server().url("/echo")));
    let header = |name: &str| {
        let found = get.headers.iter().find(|(n, _)| n == name);
        found.map(|(_, v)| v.clone())
    };
    assert_eq!(header("x-method").as_deref(), Some("GET"));
    assert_eq!(header("x-body-len").as_deref(), Some("0"));
    assert!(get.profile.socket_reused, "keep-alive connection reused");
    let (headers, _) = fetch(&client, Opts::new(&server().url("/headers")));
    let text = String::from_utf8(headers.data).unwrap();
    assert!(!text.contains("x-only-once"), "{text}");
    let (hello, _) = fetch(&client, Opts::new(&server().url("/hello")));
    assert_eq!(hello.data, b"hello world", "HEAD's no-body setting is gone");
    // Plain GETs reuse the handle's options as they are: what differs
    // between two of them must still be set each time.
    let offered = |accept_encoding: *const std::ffi::c_char| {
        let opts = Opts::new(&server().url("/headers")).set(|o| {
            o.accept_encoding = accept_encoding;
            o.timeout_ms = 5_000;
        });
        let (out, _) = fetch(&client, opts);
        let text = String::from_utf8(out.data).unwrap();
        let line = text.lines().find(|l| l.starts_with("accept-encoding: "));
        line.map(str::to_owned)
    };
    assert_eq!(offered(c"".as_ptr()), None);
    assert_eq!(
        offered(std::ptr::null()).as_deref(),
        Some("accept-encoding: gzip, deflate, br, zstd")
    );
    assert_eq!(offered(c"".as_ptr()), None);
    assert_eq!(
        offered(c"br".as_ptr()).as_deref(),
        Some("accept-encoding: br")
    );
}
