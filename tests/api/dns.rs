//! Where tasks get their addresses, through the C ABI (API.md "Network
//! policy and DNS"): `resolve` overrides, `nettask_client_add_resolve` on a
//! running client, DNS-over-HTTPS (`doh_url`, against a responder of our
//! own here), and the profile's `dns_source`.

use std::collections::HashMap;
use std::ffi::{CString, c_void};
use std::net::{IpAddr, TcpListener};
use std::ptr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use nettask::ffi::nettask_code::*;
use nettask::ffi::*;

use crate::harness::*;
use crate::policy::{
    RawServer, Req, body_of, c, ca_file, dns_source, net_client, ok, redirect, refused, response,
    try_client,
};
use crate::server::server;

/// Servers on one port of several addresses ("127.0.0.1", "127.0.0.2",
/// "::1"), each answering every request with its own body, so that a
/// name's override decides which one a URL with that port reaches.
fn same_port(servers: &[(&str, &'static str)]) -> (u16, Vec<RawServer>) {
    for _ in 0..50 {
        let first = TcpListener::bind((servers[0].0, 0)).unwrap();
        let port = first.local_addr().unwrap().port();
        let mut listeners = vec![first];
        for (ip, _) in &servers[1..] {
            match TcpListener::bind((*ip, port)) {
                Ok(l) => listeners.push(l),
                Err(_) => break,
            }
        }
        if listeners.len() < servers.len() {
            continue; // the port was taken on another address
        }
        let running = listeners
            .into_iter()
            .zip(servers)
            .map(|(l, &(_, body))| RawServer::on(l, None, Arc::new(move |_: &Req| ok(body))))
            .collect();
        return (port, running);
    }
    panic!("no port free on every address of {servers:?}");
}

fn add_resolve(
    client: *mut nettask_client,
    host: Option<&str>,
    port: u16,
    addresses: Option<&str>,
) -> Result<(), (nettask_code, String)> {
    let host = host.map(c);
    let addresses = addresses.map(c);
    // SAFETY: `client` is NULL or live (the tests pass these); the strings
    // are NULL or NUL-terminated and outlive the call.
    let code = unsafe {
        nettask_client_add_resolve(
            client,
            host.as_ref().map_or(ptr::null(), |h| h.as_ptr()),
            port,
            addresses.as_ref().map_or(ptr::null(), |a| a.as_ptr()),
        )
    };
    match code {
        NETTASK_OK => Ok(()),
        _ => Err((code, last_error())),
    }
}

// ---------------------------------------------------------------------
// resolve
// ---------------------------------------------------------------------

#[test]
fn resolve_entries_reach_made_up_names() {
    let port = server().http.port();
    let (q, servers) = same_port(&[("127.0.0.2", "two"), ("::1", "six")]);
    let resolve = [
        format!("Made-Up.test:{port}:127.0.0.1"),
        // The first address refuses; the next one answers.
        format!("multi.test:{q}:127.0.0.3, 127.0.0.2"),
        format!("v6.test:{q}:::1"),
        format!("v6b.test:{q}:[::1]"),
        format!("中文.test:{port}:127.0.0.1"),
    ];
    let resolve: Vec<&str> = resolve.iter().map(String::as_str).collect();
    let client = net_client(&[], &resolve, |_| {});

    let (body, out) = body_of(&client, &format!("http://made-up.test:{port}/hello"));
    assert_eq!(body, "hello world");
    assert_eq!(out.peer_ip, "127.0.0.1");
    assert_eq!(dns_source(&out), "override");
    let (body, out) = body_of(&client, &format!("http://multi.test:{q}/"));
    assert_eq!(body, "two");
    assert_eq!(out.peer_ip, "127.0.0.2");
    for name in ["v6.test", "v6b.test"] {
        let (body, out) = body_of(&client, &format!("http://{name}:{q}/"));
        assert_eq!(body, "six", "{name}");
        assert_eq!(out.peer_ip, "::1");
    }
    let (headers, out) = body_of(&client, &format!("http://中文.test:{port}/headers"));
    assert!(
        headers.contains(&format!("host: xn--fiq228c.test:{port}\n")),
        "{headers}"
    );
    assert_eq!(dns_source(&out), "override");
    assert_eq!(servers[0].accepts(), 1);
    assert_eq!(servers[1].accepts(), 2);
}

#[test]
fn resolve_overrides_localhost_too() {
    let (q, servers) = same_port(&[("127.0.0.1", "one"), ("127.0.0.2", "two")]);
    let line = format!("localhost:{q}:127.0.0.2");
    let client = net_client(&[], &[&line], |_| {});
    let (body, out) = body_of(&client, &format!("http://localhost:{q}/"));
    assert_eq!(body, "two");
    assert_eq!(dns_source(&out), "override");
    assert_eq!(servers[0].accepts(), 0);
}

#[test]
fn tls_is_verified_against_the_url_host_not_the_override() {
    let tp = server().https.port();
    let ca = ca_file();
    let lines = [
        format!("localhost:{tp}:127.0.0.1"),
        format!("made-up.test:{tp}:127.0.0.1"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let client = net_client(&[], &lines, |o| o.ca_file = ca.as_ptr());
    let (body, out) = body_of(&client, &server().https_url("/hello"));
    assert_eq!(body, "hello world");
    assert_eq!(dns_source(&out), "override");
    assert_eq!(out.peer_ip, "127.0.0.1");

    // The certificate is for localhost and 127.0.0.1, not this name.
    let (out, _) = fetch(
        &client,
        Opts::new(&format!("https://made-up.test:{tp}/hello")),
    );
    assert_eq!(out.code, NETTASK_E_TLS, "{}", out.err_msg);
    assert_eq!(out.curl_code, 60, "CURLE_PEER_FAILED_VERIFICATION");
    assert_eq!(out.status, 0);
}

#[test]
fn malformed_resolve_entries_and_doh_urls_are_named_at_client_new() {
    for bad in [
        "a.test:443",
        "a.test",
        "a.test:0:127.0.0.1",
        "a.test:65536:127.0.0.1",
        "a.test:x:127.0.0.1",
        "a.test:443:",
        "a.test:443:example.com",
        "a.test:443:127.0.0.1,",
        "a.test:443:127.0.0.1,nope",
        "a.test:443:999.0.0.1",
        ":443:127.0.0.1",
        "*:443:127.0.0.1",
        "127.0.0.1:443:127.0.0.2",
        "[::1]:443:127.0.0.2",
        "a/b.test:443:127.0.0.1",
    ] {
        let (code, why) = refused(&[], &["ok.test:1:127.0.0.1", bad], |_| {});
        assert_eq!(code, NETTASK_E_INVALID_ARGUMENT, "{bad:?}");
        assert!(why.starts_with("resolve[1] "), "{bad:?}: {why}");
    }
    for bad in [
        "http://127.0.0.1/dns-query",
        "127.0.0.1/dns-query",
        "dns.test",
        "",
        "ftp://dns.test/",
        "https://",
    ] {
        let url = c(bad);
        let (code, why) = refused(&[], &[], |o| o.doh_url = url.as_ptr());
        assert_eq!(code, NETTASK_E_INVALID_ARGUMENT, "{bad:?}");
        assert!(why.starts_with("doh_url "), "{bad:?}: {why}");
    }
    let url = c("https://127.0.0.1:1/dns-query");
    assert!(
        try_client(&[], &["A.test:80:::1,127.0.0.1"], |o| o.doh_url =
            url.as_ptr())
        .is_ok()
    );
}

// ---------------------------------------------------------------------
// nettask_client_add_resolve
// ---------------------------------------------------------------------

#[test]
fn add_resolve_switches_a_running_client() {
    let (q, servers) = same_port(&[("127.0.0.1", "one"), ("127.0.0.2", "two"), ("::1", "six")]);
    let line = format!("switch.test:{q}:127.0.0.1");
    let client = Arc::new(net_client(&[], &[&line], |_| {}));
    let url = format!("http://switch.test:{q}/");
    let (body, out) = body_of(&client, &url);
    assert_eq!(body, "one");
    assert_eq!(dns_source(&out), "override");

    // From another thread; tasks started after it returns use it.
    let c2 = Arc::clone(&client);
    std::thread::spawn(move || add_resolve(c2.0, Some("SWITCH.test"), q, Some("127.0.0.2")))
        .join()
        .unwrap()
        .unwrap();
    let (body, out) = body_of(&client, &url);
    assert_eq!(body, "two");
    assert_eq!(out.peer_ip, "127.0.0.2");
    assert_eq!(dns_source(&out), "override");

    // A task created before the change and started after it uses it too.
    let early = Run::request(&client, Opts::new(&url));
    add_resolve(client.0, Some("switch.test"), q, Some("[::1]")).unwrap();
    early.start();
    let out = early.wait();
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    assert_eq!(out.data, b"six");

    add_resolve(client.0, Some("switch.test"), q, Some("127.0.0.1")).unwrap();
    assert_eq!(body_of(&client, &url).0, "one");
    assert_eq!(
        servers.iter().map(RawServer::accepts).collect::<Vec<_>>(),
        [2, 1, 1]
    );
}

#[test]
fn add_resolve_adds_and_removes_overrides() {
    let (q, servers) = same_port(&[("127.0.0.1", "one"), ("127.0.0.2", "two")]);
    let client = net_client(&[], &[], |_| {});
    let url = format!("http://localhost:{q}/");
    let (body, out) = body_of(&client, &url);
    assert_eq!(body, "one");
    assert_eq!(dns_source(&out), "system");

    add_resolve(client.0, Some("localhost"), q, Some("127.0.0.2")).unwrap();
    let (body, out) = body_of(&client, &url);
    assert_eq!(
        body, "two",
        "the override replaces what the resolver cached"
    );
    assert_eq!(dns_source(&out), "override");
    // Another port of the same name is not overridden.
    let (body, out) = body_of(
        &client,
        &format!("http://localhost:{}/hello", server().http.port()),
    );
    assert_eq!(body, "hello world");
    assert_eq!(dns_source(&out), "system");

    // NULL removes it: back to the system resolver.
    add_resolve(client.0, Some("localhost"), q, None).unwrap();
    let (body, out) = body_of(&client, &url);
    assert_eq!(body, "one");
    assert_eq!(dns_source(&out), "system");

    add_resolve(client.0, Some("localhost"), q, Some("127.0.0.2")).unwrap();
    assert_eq!(body_of(&client, &url).0, "two");
    // "" removes too.
    add_resolve(client.0, Some("localhost"), q, Some("")).unwrap();
    assert_eq!(body_of(&client, &url).0, "one");
    assert_eq!(servers[0].accepts(), 3);
    assert_eq!(servers[1].accepts(), 2);

    // Removing what is not there is no error.
    add_resolve(client.0, Some("never.test"), 80, None).unwrap();
}

#[test]
fn add_resolve_takes_names_as_urls_spell_them() {
    let (q, _servers) = same_port(&[("127.0.0.1", "one"), ("127.0.0.2", "two")]);
    let client = net_client(&[], &[], |_| {});
    add_resolve(client.0, Some("中文.test"), q, Some("127.0.0.2")).unwrap();
    add_resolve(client.0, Some("MiXeD.Test"), q, Some("127.0.0.1")).unwrap();
    for (url, body) in [
        (format!("http://中文.test:{q}/"), "two"),
        (format!("http://xn--fiq228c.test:{q}/"), "two"),
        (format!("http://mixed.test:{q}/"), "one"),
        (format!("http://MIXED.TEST:{q}/"), "one"),
    ] {
        let (got, out) = body_of(&client, &url);
        assert_eq!(got, body, "{url}");
        assert_eq!(dns_source(&out), "override", "{url}");
    }
}

#[test]
fn add_resolve_while_tasks_run() {
    let (q, servers) = same_port(&[("127.0.0.1", "one"), ("127.0.0.2", "two")]);
    let line = format!("busy.test:{q}:127.0.0.1");
    let client = Arc::new(net_client(&[], &[&line], |o| o.max_concurrent_tasks = 8));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flipped = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let flippers: Vec<_> = (0..3)
        .map(|i| {
            let (client, stop) = (Arc::clone(&client), Arc::clone(&stop));
            let flipped = Arc::clone(&flipped);
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let to = if (n + i).is_multiple_of(2) {
                        "127.0.0.1"
                    } else {
                        "127.0.0.2"
                    };
                    add_resolve(client.0, Some("busy.test"), q, Some(to)).unwrap();
                    add_resolve(client.0, Some(&format!("other{n}.test")), q, Some(to)).unwrap();
                    n += 1;
                    flipped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    // As often as an HTTPDNS feed could (and more), not as
                    // fast as a core can: every change of another host
                    // rides along with the next transfer set up.
                    std::thread::sleep(std::time::Duration::from_micros(100));
                }
                n
            })
        })
        .collect();
    // The tasks start once the flippers are at work: 40 loopback requests
    // can be over before a thread is first scheduled.
    while flipped.load(std::sync::atomic::Ordering::Relaxed) < 3 {
        std::thread::sleep(std::time::Duration::from_micros(50));
    }
    let runs: Vec<Run> = (0..40)
        .map(|_| {
            let run = Run::request(&client, Opts::new(&format!("http://busy.test:{q}/")));
            run.start();
            run
        })
        .collect();
    for run in &runs {
        let out = run.wait();
        assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
        assert!(out.data == b"one" || out.data == b"two", "{:?}", out.data);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let flips: u32 = flippers.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(flips > 0);
    // Settled: the last word is the one tasks get.
    add_resolve(client.0, Some("busy.test"), q, Some("127.0.0.2")).unwrap();
    assert_eq!(body_of(&client, &format!("http://busy.test:{q}/")).0, "two");
    assert_eq!(servers[0].accepts() + servers[1].accepts(), 41);
}

/// What a complete listener that calls `nettask_client_add_resolve` saw.
struct SwitchInListener {
    client: *mut nettask_client,
    host: CString,
    port: u16,
    addresses: CString,
    /// The task's code, and what add_resolve returned.
    codes: Mutex<Option<(nettask_code, nettask_code)>>,
    done: Condvar,
}

unsafe extern "C" fn switch_on_complete(
    _: *mut nettask_task,
    r: *const nettask_result,
    ud: *mut c_void,
) {
    // SAFETY: `ud` is the test's leaked SwitchInListener, and its client is
    // live while it has tasks (this one's completion runs before the free).
    let ctx = unsafe { &*(ud as *const SwitchInListener) };
    // SAFETY: the result is valid for this call.
    let task_code = unsafe { (*r).code };
    // SAFETY: a live client; the strings are NUL-terminated and live.
    let code = unsafe {
        nettask_client_add_resolve(
            ctx.client,
            ctx.host.as_ptr(),
            ctx.port,
            ctx.addresses.as_ptr(),
        )
    };
    *ctx.codes.lock().unwrap() = Some((task_code, code));
    ctx.done.notify_all();
}

#[test]
fn add_resolve_from_a_listener() {
    let (q, _servers) = same_port(&[("127.0.0.1", "one"), ("127.0.0.2", "two")]);
    let line = format!("l.test:{q}:127.0.0.1");
    let client = net_client(&[], &[&line], |_| {});
    let url = format!("http://l.test:{q}/");
    // Leaked, so that it outlives any call of the listener, even one a
    // failing test's client shutdown would make.
    let ctx: &'static SwitchInListener = Box::leak(Box::new(SwitchInListener {
        client: client.0,
        host: c("l.test"),
        port: q,
        addresses: c("127.0.0.2"),
        codes: Mutex::new(None),
        done: Condvar::new(),
    }));
    let mut opts = Opts::new(&url);
    let raw = opts.as_raw();
    let mut task = ptr::null_mut();
    // SAFETY: a live client; `raw` points into `opts`, alive for the call.
    let code = unsafe { nettask_request_create(client.0, &raw, &mut task) };
    assert_eq!(code, NETTASK_OK);
    let ud = ptr::from_ref(ctx).cast_mut().cast::<c_void>();
    // SAFETY: a live task; `ctx` lives for the rest of the process.
    unsafe {
        assert_eq!(
            nettask_on_complete(task, Some(switch_on_complete), ud),
            NETTASK_OK
        );
        assert_eq!(nettask_start(task), NETTASK_OK);
    }
    let codes = {
        let guard = ctx.codes.lock().unwrap();
        let (guard, _) = ctx
            .done
            .wait_timeout_while(guard, Duration::from_secs(20), |c| c.is_none())
            .unwrap();
        guard.expect("the task completed")
    };
    // SAFETY: the reference from create, released once, after completion.
    unsafe { nettask_release(task) };
    assert_eq!(codes, (NETTASK_OK, NETTASK_OK));
    assert_eq!(body_of(&client, &url).0, "two");
}

#[test]
fn add_resolve_refuses_bad_input() {
    let client = net_client(&[], &[], |_| {});
    let cases: [(*mut nettask_client, Option<&str>, u16, Option<&str>); 12] = [
        (ptr::null_mut(), Some("a.test"), 80, Some("127.0.0.1")),
        (client.0, None, 80, Some("127.0.0.1")),
        (client.0, Some(""), 80, Some("127.0.0.1")),
        (client.0, Some("a.test"), 0, Some("127.0.0.1")),
        (client.0, Some("a.test"), 80, Some("nope")),
        (client.0, Some("a.test"), 80, Some("127.0.0.1,nope")),
        (client.0, Some("a.test"), 80, Some("127.0.0.1:80")),
        (client.0, Some("a.test"), 80, Some("localhost")),
        (client.0, Some("127.0.0.1"), 80, Some("127.0.0.2")),
        (client.0, Some("[::1]"), 80, Some("127.0.0.2")),
        (client.0, Some("a.test:80"), 80, Some("127.0.0.2")),
        (client.0, Some("*.a.test"), 80, Some("127.0.0.2")),
    ];
    for (handle, host, port, addresses) in cases {
        let (code, why) = add_resolve(handle, host, port, addresses).unwrap_err();
        assert_eq!(
            code, NETTASK_E_INVALID_ARGUMENT,
            "{host:?} {port} {addresses:?}"
        );
        assert!(!why.is_empty(), "{host:?} {port} {addresses:?}");
    }
    for addresses in [
        Some("127.0.0.1"),
        Some("::1"),
        Some("[::1]"),
        Some("127.0.0.1,::1"),
        Some(""),
        None,
    ] {
        assert_eq!(
            add_resolve(client.0, Some("a.test"), 65535, addresses),
            Ok(()),
            "{addresses:?}"
        );
    }
    assert_eq!(
        add_resolve(client.0, Some("中文.test"), 80, Some("127.0.0.1")),
        Ok(())
    );
}

// ---------------------------------------------------------------------
// The profile's dns_source
// ---------------------------------------------------------------------

#[test]
fn dns_source_of_system_literal_reused_and_redirected_hops() {
    let port = server().http.port();
    let client = net_client(&[], &[], |_| {});
    let url = format!("http://localhost:{port}/hello");
    let (_, out) = body_of(&client, &url);
    assert_eq!(dns_source(&out), "system");
    assert!(out.profile.connect_done_us >= 0);
    let (_, out) = body_of(&client, &url);
    assert_eq!(dns_source(&out), "", "a reused connection resolved nothing");
    assert_eq!(out.profile.connect_done_us, -1, "{:?}", out.profile);

    let fresh = net_client(&[], &[], |_| {});
    let (_, out) = body_of(&fresh, &server().url("/hello"));
    assert_eq!(dns_source(&out), "", "an IP address needs no resolving");

    // The final hop's source: an IP literal redirecting to a name, and a
    // name redirecting to an IP literal.
    let to_name = format!("http://over.test:{port}/hello");
    let to_ip = server().url("/hello");
    let hopper = RawServer::plain("127.0.0.1:0", move |req| match req.target() {
        "/to-name" => redirect(302, &to_name),
        "/to-ip" => redirect(302, &to_ip),
        _ => response(404, &[], b""),
    });
    let hp = hopper.port();
    let lines = [
        format!("over.test:{port}:127.0.0.1"),
        format!("hop.test:{hp}:127.0.0.1"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let hops = net_client(&[], &lines, |_| {});
    let (_, out) = body_of(&hops, &format!("http://127.0.0.1:{hp}/to-name"));
    assert_eq!(dns_source(&out), "override");
    assert_eq!(out.profile.redirect_count, 1);
    let (_, out) = body_of(&hops, &format!("http://hop.test:{hp}/to-ip"));
    assert_eq!(dns_source(&out), "", "{:?}", out.profile);
}

// ---------------------------------------------------------------------
// DNS-over-HTTPS
// ---------------------------------------------------------------------

/// A DNS-over-HTTPS responder (RFC 8484 POSTs over HTTP/1.1 and TLS, with
/// the test server's certificate, at https://127.0.0.1:PORT/dns-query):
/// the names of `zone` get their addresses (A and AAAA as they have
/// them), any other name NXDOMAIN. It records every question.
struct Doh {
    server: RawServer,
    questions: Arc<Mutex<Vec<(String, u16)>>>,
}

const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;

impl Doh {
    fn new(zone: &[(&str, &[IpAddr])]) -> Doh {
        let zone: HashMap<String, Vec<IpAddr>> = zone
            .iter()
            .map(|(name, addrs)| (name.to_string(), addrs.to_vec()))
            .collect();
        let questions = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&questions);
        let server = RawServer::tls("127.0.0.1:0", move |req| {
            let content_type = req.header("content-type").unwrap_or("");
            if req.method() != "POST"
                || !req.target().starts_with("/dns-query")
                || content_type != "application/dns-message"
            {
                return response(400, &[], b"RFC 8484 POSTs only");
            }
            let Some(question) = Question::parse(&req.body) else {
                return response(400, &[], b"not a DNS query");
            };
            seen.lock()
                .unwrap()
                .push((question.name.clone(), question.qtype));
            let answer = match zone.get(&question.name.to_ascii_lowercase()) {
                Some(addrs) => question.answer(0, addrs),
                None => question.answer(3, &[]),
            };
            response(200, &[("Content-Type", "application/dns-message")], &answer)
        });
        Doh { server, questions }
    }

    fn url(&self) -> CString {
        c(&format!(
            "https://127.0.0.1:{}/dns-query",
            self.server.port()
        ))
    }

    /// The names asked for, with A or AAAA.
    fn asked(&self, name: &str) -> Vec<u16> {
        let questions = self.questions.lock().unwrap();
        questions
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, t)| *t)
            .collect()
    }
}

/// A DNS query's one question.
struct Question<'a> {
    message: &'a [u8],
    /// Where the question ends (the header and it are echoed back).
    end: usize,
    name: String,
    qtype: u16,
}

impl<'a> Question<'a> {
    fn parse(message: &'a [u8]) -> Option<Question<'a>> {
        let count = u16::from_be_bytes([*message.get(4)?, *message.get(5)?]);
        if count != 1 || message.get(2)? & 0x80 != 0 {
            return None; // one question, and a query
        }
        let mut i = 12;
        let mut labels = Vec::new();
        loop {
            let len = *message.get(i)? as usize;
            i += 1;
            if len == 0 {
                break;
            }
            if len > 63 {
                return None;
            }
            labels.push(String::from_utf8(message.get(i..i + len)?.to_vec()).ok()?);
            i += len;
        }
        let qtype = u16::from_be_bytes([*message.get(i)?, *message.get(i + 1)?]);
        message.get(i + 3)?; // the class
        Some(Question {
            message,
            end: i + 4,
            name: labels.join("."),
            qtype,
        })
    }

    /// The response with `rcode` and the addresses of the asked type.
    fn answer(&self, rcode: u8, addrs: &[IpAddr]) -> Vec<u8> {
        let rdata: Vec<Vec<u8>> = addrs
            .iter()
            .filter_map(|a| match (a, self.qtype) {
                (IpAddr::V4(v4), TYPE_A) => Some(v4.octets().to_vec()),
                (IpAddr::V6(v6), TYPE_AAAA) => Some(v6.octets().to_vec()),
                _ => None,
            })
            .collect();
        let mut out = self.message[..self.end].to_vec();
        out[2] = 0x81; // a response to a query that wanted recursion
        out[3] = 0x80 | rcode; // recursion available
        out[6..8].copy_from_slice(&(rdata.len() as u16).to_be_bytes());
        out[8..12].fill(0);
        for data in rdata {
            out.extend_from_slice(&[0xc0, 0x0c]); // the question's name
            out.extend_from_slice(&self.qtype.to_be_bytes());
            out.extend_from_slice(&1u16.to_be_bytes()); // IN
            out.extend_from_slice(&60u32.to_be_bytes());
            out.extend_from_slice(&(data.len() as u16).to_be_bytes());
            out.extend_from_slice(&data);
        }
        out
    }
}

const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
const SECOND: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

#[test]
fn doh_resolves_names_only_it_knows() {
    let port = server().http.port();
    let doh = Doh::new(&[("only-doh.test", &[LOCAL])]);
    let (url, ca) = (doh.url(), ca_file());
    let client = net_client(&[], &[], |o| {
        o.doh_url = url.as_ptr();
        o.ca_file = ca.as_ptr();
    });
    let (body, out) = body_of(&client, &format!("http://only-doh.test:{port}/hello"));
    assert_eq!(body, "hello world");
    assert_eq!(dns_source(&out), "doh");
    assert_eq!(out.peer_ip, "127.0.0.1");
    assert!(
        doh.asked("only-doh.test").contains(&TYPE_A),
        "{:?}",
        doh.asked("only-doh.test")
    );

    let (out, _) = fetch(
        &client,
        Opts::new(&format!("http://unknown.test:{port}/hello")),
    );
    assert_eq!(out.code, NETTASK_E_DNS, "{}", out.err_msg);
    assert_eq!(out.curl_code, 6, "CURLE_COULDNT_RESOLVE_HOST");
    assert!(out.err_msg.starts_with("request:fail "), "{}", out.err_msg);
    assert_eq!(out.status, 0);
    assert!(
        !doh.asked("unknown.test").is_empty(),
        "DoH was asked, not the system"
    );

    // An IP address in the URL asks nobody.
    let before = doh.questions.lock().unwrap().len();
    let (_, out) = body_of(&client, &server().url("/hello"));
    assert_eq!(dns_source(&out), "");
    assert_eq!(doh.questions.lock().unwrap().len(), before);
}

#[test]
fn overrides_beat_doh() {
    // DoH says 127.0.0.2; the override 127.0.0.1, on the same port.
    let (q, servers) = same_port(&[("127.0.0.1", "override"), ("127.0.0.2", "doh")]);
    let doh = Doh::new(&[("both.test", &[SECOND])]);
    let (url, ca) = (doh.url(), ca_file());
    let line = format!("both.test:{q}:127.0.0.1");
    let client = net_client(&[], &[&line], |o| {
        o.doh_url = url.as_ptr();
        o.ca_file = ca.as_ptr();
    });
    let target = format!("http://both.test:{q}/");
    let (body, out) = body_of(&client, &target);
    assert_eq!(body, "override");
    assert_eq!(dns_source(&out), "override");
    assert_eq!(
        doh.asked("both.test"),
        Vec::<u16>::new(),
        "DoH was not asked"
    );

    // Removed: back to DoH.
    add_resolve(client.0, Some("both.test"), q, None).unwrap();
    let (body, out) = body_of(&client, &target);
    assert_eq!(body, "doh");
    assert_eq!(dns_source(&out), "doh");
    assert!(doh.asked("both.test").contains(&TYPE_A));

    // And a run-time override beats DoH again.
    add_resolve(client.0, Some("both.test"), q, Some("127.0.0.1")).unwrap();
    let (body, out) = body_of(&client, &target);
    assert_eq!(body, "override");
    assert_eq!(dns_source(&out), "override");
    assert_eq!(servers[0].accepts(), 2);
    assert_eq!(servers[1].accepts(), 1);
}

#[test]
fn doh_answers_in_ipv6() {
    let (q, _servers) = same_port(&[("::1", "six")]);
    let doh = Doh::new(&[("v6-only.test", &["::1".parse().unwrap()])]);
    let (url, ca) = (doh.url(), ca_file());
    let client = net_client(&[], &[], |o| {
        o.doh_url = url.as_ptr();
        o.ca_file = ca.as_ptr();
    });
    let (body, out) = body_of(&client, &format!("http://v6-only.test:{q}/"));
    assert_eq!(body, "six");
    assert_eq!(out.peer_ip, "::1");
    assert_eq!(dns_source(&out), "doh");
    assert!(doh.asked("v6-only.test").contains(&TYPE_AAAA));
}

#[test]
fn doh_server_is_verified_with_ca_file() {
    let port = server().http.port();
    let doh = Doh::new(&[("only-doh.test", &[LOCAL])]);
    let url = doh.url();
    // Without the test CA the responder's certificate is not trusted.
    let client = net_client(&[], &[], |o| o.doh_url = url.as_ptr());
    let (out, _) = fetch(
        &client,
        Opts::new(&format!("http://only-doh.test:{port}/hello")),
    );
    assert_eq!(out.code, NETTASK_E_DNS, "{}", out.err_msg);
    assert!(doh.server.accepts() >= 1, "the responder was contacted");
    assert_eq!(
        doh.asked("only-doh.test"),
        Vec::<u16>::new(),
        "but not asked"
    );
}

#[test]
fn refused_names_are_not_even_resolved() {
    let port = server().http.port();
    let doh = Doh::new(&[("refused.test", &[LOCAL]), ("fine.test", &[LOCAL])]);
    let (url, ca) = (doh.url(), ca_file());
    let to_refused = format!("http://refused.test:{port}/hello");
    let near = RawServer::plain("127.0.0.1:0", move |_| redirect(302, &to_refused));
    let near_only = format!("127.0.0.1:{}", near.port());
    let client = net_client(&[&near_only, "fine.test"], &[], |o| {
        o.doh_url = url.as_ptr();
        o.ca_file = ca.as_ptr();
    });
    let (code, _) = crate::policy::create_request(&client, &format!("http://refused.test:{port}/"))
        .unwrap_err();
    assert_eq!(code, NETTASK_E_BLOCKED);
    let (out, _) = fetch(
        &client,
        Opts::new(&format!("http://127.0.0.1:{}/", near.port())),
    );
    assert_eq!(out.code, NETTASK_E_BLOCKED, "{}", out.err_msg);
    assert_eq!(doh.asked("refused.test"), Vec::<u16>::new());
    // The responder works: a listed name is asked for.
    assert_eq!(
        body_of(&client, &format!("http://fine.test:{port}/hello")).0,
        "hello world"
    );
    assert!(doh.asked("fine.test").contains(&TYPE_A));
}

// ---------------------------------------------------------------------
// Names libcurl treats on its own
// ---------------------------------------------------------------------

/// libcurl answers "localhost" (and "*.localhost") itself, before DoH
/// (lib/vdns/hostip.c): the profile must not name DoH for it.
#[test]
fn dns_source_is_system_for_localhost_with_doh() {
    let port = server().http.port();
    let doh = Doh::new(&[]);
    let (url, ca) = (doh.url(), ca_file());
    let client = net_client(&[], &[], |o| {
        o.doh_url = url.as_ptr();
        o.ca_file = ca.as_ptr();
    });
    let (body, out) = body_of(&client, &format!("http://localhost:{port}/hello"));
    assert_eq!(body, "hello world");
    let questions = doh.questions.lock().unwrap().clone();
    assert_eq!(questions, Vec::new(), "the responder was not asked");
    assert_ne!(
        dns_source(&out),
        "doh",
        "the address did not come from DoH (no question reached it)"
    );
}

/// A host beginning with "+" or "-" is no host name (WHATWG allows both),
/// and a CURLOPT_RESOLVE line built from it would be one of libcurl's
/// prefixed forms: "+evil.test" would override evil.test itself.
#[test]
fn resolve_hosts_with_curl_prefixes_are_refused() {
    let (q, servers) = same_port(&[("127.0.0.1", "one"), ("127.0.0.2", "two")]);
    let client = net_client(&[], &[], |_| {});
    let accepted = add_resolve(client.0, Some("+evil.test"), q, Some("127.0.0.2"));
    let (out, _) = fetch(&client, Opts::new(&format!("http://evil.test:{q}/")));
    let (body, source) = (
        String::from_utf8_lossy(&out.data).into_owned(),
        dns_source(&out),
    );
    assert_eq!(
        accepted.map_err(|e| e.0),
        Err(NETTASK_E_INVALID_ARGUMENT),
        "\"+evil.test\" is no host name; taken, it sent evil.test to {body:?} (127.0.0.2) \
         with dns_source {source:?}"
    );
    for host in ["-evil.test", "+a.test"] {
        let got = add_resolve(client.0, Some(host), q, Some("127.0.0.2"));
        assert_eq!(
            got.map_err(|e| e.0),
            Err(NETTASK_E_INVALID_ARGUMENT),
            "{host:?}"
        );
        let line = format!("{host}:{q}:127.0.0.2");
        let (code, why) = refused(&[], &[&line], |_| {});
        assert_eq!(code, NETTASK_E_INVALID_ARGUMENT, "{line}: {why}");
    }
    let _ = servers;
}
