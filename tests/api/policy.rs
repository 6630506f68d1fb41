//! The network policy through the C ABI (API.md "Network policy and
//! DNS"): `allowed_hosts` (exact names, "*." subdomains, IPs, ports, case,
//! IDN, trailing dots), `https_only` and `pinned_public_keys`, at create
//! and on redirect hops, against loopback servers that count the
//! connections they accept (a refused hop must make none).
//!
//! The raw servers and the client builder here serve tests/api/dns.rs too.

use std::ffi::{CString, c_char};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use nettask::ffi::nettask_code::*;
use nettask::ffi::*;
use tokio_rustls::rustls;

use crate::harness::*;
use crate::server::server;

// ---------------------------------------------------------------------
// Helpers (tests/api/dns.rs uses them too)
// ---------------------------------------------------------------------

pub fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// The test CA's PEM file, as a C string for `ca_file`.
pub fn ca_file() -> CString {
    c(server().ca_file.to_str().unwrap())
}

/// A client with these `allowed_hosts` and `resolve` entries, and whatever
/// else `configure` sets; the code and `nettask_last_error` if
/// `nettask_client_new` refuses it (then `*out` must be NULL).
pub fn try_client(
    allowed: &[&str],
    resolve: &[&str],
    configure: impl FnOnce(&mut nettask_client_options),
) -> Result<Client, (nettask_code, String)> {
    let allowed: Vec<CString> = allowed.iter().map(|s| c(s)).collect();
    let resolve: Vec<CString> = resolve.iter().map(|s| c(s)).collect();
    let allowed_ptrs: Vec<*const c_char> = allowed.iter().map(|s| s.as_ptr()).collect();
    let resolve_ptrs: Vec<*const c_char> = resolve.iter().map(|s| s.as_ptr()).collect();
    // SAFETY: the options struct is plain data; all-zero is a valid value.
    let mut opts: nettask_client_options = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a struct of this version.
    let code =
        unsafe { nettask_client_options_init_version(&mut opts, NETTASK_CLIENT_OPTIONS_VERSION) };
    assert_eq!(code, NETTASK_OK);
    if !allowed_ptrs.is_empty() {
        opts.allowed_hosts = allowed_ptrs.as_ptr();
        opts.allowed_host_count = allowed_ptrs.len();
    }
    if !resolve_ptrs.is_empty() {
        opts.resolve = resolve_ptrs.as_ptr();
        opts.resolve_count = resolve_ptrs.len();
    }
    configure(&mut opts);
    let mut client = ptr::null_mut();
    // SAFETY: `opts` and every string and array it points to (`allowed`,
    // `resolve` and theirs, the caller's for what `configure` set) are alive
    // for the call, which copies them.
    let code = unsafe { nettask_client_new(&opts, &mut client) };
    if code == NETTASK_OK {
        assert!(!client.is_null());
        Ok(Client(client))
    } else {
        assert!(client.is_null(), "a refused client leaves *out NULL");
        Err((code, last_error()))
    }
}

/// What `nettask_client_new` refused such a client with.
pub fn refused(
    allowed: &[&str],
    resolve: &[&str],
    configure: impl FnOnce(&mut nettask_client_options),
) -> (nettask_code, String) {
    match try_client(allowed, resolve, configure) {
        Ok(_) => panic!("nettask_client_new accepted {allowed:?} {resolve:?}"),
        Err(refused) => refused,
    }
}

pub fn net_client(
    allowed: &[&str],
    resolve: &[&str],
    configure: impl FnOnce(&mut nettask_client_options),
) -> Client {
    try_client(allowed, resolve, configure).unwrap_or_else(|(code, e)| panic!("{code:?}: {e}"))
}

/// Creates a task with `create` and releases it unstarted: what create
/// said.
pub fn try_create(
    client: &Client,
    mut opts: Opts,
    create: Create,
) -> Result<(), (nettask_code, String)> {
    let raw = opts.as_raw();
    let mut task = ptr::null_mut();
    // SAFETY: a live client; `raw` points into `opts`, alive for the call.
    let code = unsafe { create(client.0, &raw, &mut task) };
    let error = last_error();
    if !task.is_null() {
        // SAFETY: the one reference create handed out, released once.
        unsafe { nettask_release(task) };
    }
    match code {
        NETTASK_OK => Ok(()),
        _ => Err((code, error)),
    }
}

/// What create of a request to `url` said.
pub fn create_request(client: &Client, url: &str) -> Result<(), (nettask_code, String)> {
    try_create(client, Opts::new(url), nettask_request_create)
}

/// The profile's `dns_source` of a completed task.
pub fn dns_source(out: &Outcome) -> String {
    // The pointer is static (nettask.h), so still valid after the listener.
    cstr(out.profile.dns_source).expect("dns_source is never NULL")
}

/// A request to `url` the harness's `fetch` runs, asserting it completed
/// OK with 200: its body, and the outcome.
pub fn body_of(client: &Client, url: &str) -> (String, Outcome) {
    body_with(client, Opts::new(url))
}

/// `body_of` with these options.
pub fn body_with(client: &Client, opts: Opts) -> (String, Outcome) {
    let url = opts.url.to_string_lossy().into_owned();
    let (out, _) = fetch(client, opts);
    assert_eq!(out.code, NETTASK_OK, "{url}: {}", out.err_msg);
    assert_eq!(out.status, 200, "{url}");
    (String::from_utf8(out.data.clone()).unwrap(), out)
}

/// One request a raw server read: its head (request line and headers) and
/// its body.
#[derive(Debug, Clone)]
pub struct Req {
    pub head: String,
    pub body: Vec<u8>,
}

impl Req {
    pub fn method(&self) -> &str {
        self.head.split(' ').next().unwrap_or("")
    }

    pub fn target(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.split("\r\n").skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

type Handler = dyn Fn(&Req) -> Vec<u8> + Send + Sync;

/// An HTTP/1.1 server on one address (plain, or TLS with the test
/// server's certificate for "localhost" and 127.0.0.1) that handles one
/// connection at a time, answers each request with what its handler
/// returns (responses say "Connection: close": every request is a new
/// connection), and counts the connections it accepted. Stopped on drop.
pub struct RawServer {
    pub addr: SocketAddr,
    accepts: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Req>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RawServer {
    /// A plain HTTP server on `addr` ("127.0.0.2:0").
    pub fn plain(
        addr: &str,
        handler: impl Fn(&Req) -> Vec<u8> + Send + Sync + 'static,
    ) -> RawServer {
        RawServer::on(TcpListener::bind(addr).unwrap(), None, Arc::new(handler))
    }

    /// An HTTPS server on `addr`, with the test server's certificate
    /// (ALPN http/1.1).
    pub fn tls(addr: &str, handler: impl Fn(&Req) -> Vec<u8> + Send + Sync + 'static) -> RawServer {
        RawServer::on(
            TcpListener::bind(addr).unwrap(),
            Some(tls_config()),
            Arc::new(handler),
        )
    }

    pub fn on(
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: Arc<Handler>,
    ) -> RawServer {
        let addr = listener.local_addr().unwrap();
        let accepts = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s, st) = (Arc::clone(&accepts), Arc::clone(&seen), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                a.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
                match &tls {
                    None => serve_one(stream, &*handler, &s),
                    Some(config) => {
                        let conn = rustls::ServerConnection::new(Arc::clone(config)).unwrap();
                        let mut tls = rustls::StreamOwned::new(conn, stream);
                        serve_one(&mut tls, &*handler, &s);
                        tls.conn.send_close_notify();
                        let _ = tls.flush();
                    }
                }
            }
        });
        RawServer {
            addr,
            accepts,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Connections accepted so far.
    pub fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }

    /// Requests read so far.
    pub fn requests(&self) -> Vec<Req> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which sees `stop` and ends.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request (head, then a Content-Length or chunked body) and
/// writes the handler's answer.
fn serve_one(mut stream: impl Read + Write, handler: &Handler, seen: &Mutex<Vec<Req>>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut req = Req {
        head,
        body: data[head_end + 4..].to_vec(),
    };
    let length = req
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok());
    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    while length.is_some_and(|n| req.body.len() < n)
        || (chunked && !req.body.ends_with(b"0\r\n\r\n"))
    {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.body.extend_from_slice(&buf[..n]),
        }
    }
    let answer = handler(&req);
    seen.lock().unwrap().push(req);
    let _ = stream.write_all(&answer);
    let _ = stream.flush();
}

/// The test server's certificate and key, for HTTP/1.1 over TLS.
fn tls_config() -> Arc<rustls::ServerConfig> {
    tls_config_of(
        &std::fs::read(&server().cert_file).unwrap(),
        &std::fs::read(&server().key_file).unwrap(),
    )
}

/// A certificate chain and key (PEM), for HTTP/1.1 over TLS.
pub fn tls_config_of(cert_pem: &[u8], key_pem: &[u8]) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(key_pem).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// A second CA of our own and a certificate it signed, with a key of its
/// own, for "localhost", 127.0.0.1 and 127.0.0.2; `ca_bundle` trusts both
/// this CA and the test server's (one `ca_file` for both).
pub struct OtherCa {
    pub config: Arc<rustls::ServerConfig>,
    pub key: rcgen::KeyPair,
    pub dir: TempDir,
}

impl OtherCa {
    pub fn new() -> OtherCa {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "nettask policy test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let names = ["localhost", "127.0.0.1", "127.0.0.2"].map(String::from);
        let leaf = CertificateParams::new(names.to_vec())
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let dir = TempDir::new("policy-ca");
        let mut bundle = std::fs::read_to_string(&server().ca_file).unwrap();
        bundle.push('\n');
        bundle.push_str(&ca.pem());
        std::fs::write(dir.0.join("bundle.pem"), bundle).unwrap();
        let config = tls_config_of(leaf.pem().as_bytes(), key.serialize_pem().as_bytes());
        OtherCa { config, key, dir }
    }

    /// Both CAs, as a C string for `ca_file`.
    pub fn ca_bundle(&self) -> CString {
        c(self.dir.0.join("bundle.pem").to_str().unwrap())
    }
}

/// An HTTP/1.1 response that closes the connection.
pub fn response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

pub fn ok(body: &str) -> Vec<u8> {
    response(200, &[("Content-Type", "text/plain")], body.as_bytes())
}

pub fn redirect(status: u16, location: &str) -> Vec<u8> {
    response(status, &[("Location", location)], b"redirecting")
}

/// A server answering every request with 200 and `body`.
pub fn identity(addr: &str, body: &'static str) -> RawServer {
    RawServer::plain(addr, move |_| ok(body))
}

/// A directory of its own under the system temp directory, removed on
/// drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("nettask-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn entries(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const REFUSED_HOP: &str = "fail url not in domain list";

// ---------------------------------------------------------------------
// allowed_hosts at create
// ---------------------------------------------------------------------

#[test]
fn allowed_host_is_reached_and_others_are_refused_at_create() {
    let port = server().http.port();
    let client = net_client(&["127.0.0.1"], &[], |_| {});
    let (body, out) = body_of(&client, &server().url("/hello"));
    assert_eq!(body, "hello world");
    assert_eq!(out.err_msg, "request:ok");

    for url in [
        format!("http://localhost:{port}/hello"),
        format!("http://127.0.0.2:{port}/hello"),
        format!("http://[::1]:{port}/hello"),
    ] {
        let (code, why) = create_request(&client, &url).unwrap_err();
        assert_eq!(code, NETTASK_E_BLOCKED, "{url}");
        assert!(why.contains("not in allowed_hosts"), "{url}: {why}");
    }
    // Downloads and uploads are refused at create alike.
    let (code, _) = try_create(
        &client,
        Opts::new(&format!("http://localhost:{port}/bytes/10")),
        nettask_download_create,
    )
    .unwrap_err();
    assert_eq!(code, NETTASK_E_BLOCKED);
    let dir = TempDir::new("policy-upload");
    let file = dir.0.join("up.txt");
    std::fs::write(&file, b"upload me").unwrap();
    let (code, _) = try_create(
        &client,
        Opts::new(&format!("http://localhost:{port}/multipart")).upload(&file, "file"),
        nettask_upload_create,
    )
    .unwrap_err();
    assert_eq!(code, NETTASK_E_BLOCKED);
    // The refused creates changed nothing: the client still works.
    assert_eq!(body_of(&client, &server().url("/hello")).0, "hello world");
}

#[test]
fn no_allowed_hosts_means_any_host() {
    let client = net_client(&[], &[], |_| {});
    let port = server().http.port();
    assert_eq!(
        body_of(&client, &format!("http://localhost:{port}/hello")).0,
        "hello world"
    );
    assert_eq!(body_of(&client, &server().url("/hello")).0, "hello world");
}

#[test]
fn ports_match_the_effective_port() {
    let port = server().http.port();
    let listed = format!("127.0.0.1:{port}");
    let client = net_client(
        &[&listed, "a.test:80", "b.test:443", "[::1]:81"],
        &[],
        |_| {},
    );
    assert_eq!(body_of(&client, &server().url("/hello")).0, "hello world");
    let blocked = |url: &str| match create_request(&client, url) {
        Err((NETTASK_E_BLOCKED, _)) => true,
        Ok(()) => false,
        Err(other) => panic!("{url}: {other:?}"),
    };
    assert!(blocked(&format!("http://127.0.0.1:{}/", port % 65535 + 1)));
    assert!(blocked("http://127.0.0.1/"));
    // 80 and 443 when the URL names no port.
    assert!(!blocked("http://a.test/"));
    assert!(!blocked("http://a.test:80/"));
    assert!(blocked("https://a.test/"), "https://a.test/ is port 443");
    assert!(blocked("http://a.test:8080/"));
    assert!(!blocked("https://b.test/"));
    assert!(blocked("http://b.test/"));
    assert!(!blocked("http://[::1]:81/"));
    assert!(blocked("http://[::1]/"));
}

#[test]
fn subdomain_patterns_case_idn_and_trailing_dots_through_real_requests() {
    let port = server().http.port();
    let names = [
        "a.example.test",
        "b.a.example.test",
        "a.example.test.",
        "example.test",
        "evil-example.test",
        "aexample.test",
        "example.test.evil.test",
        "中文.test",
        "www.中文.test",
        "exact.test",
        "exact.test.",
        "www.exact.test",
    ];
    let resolve: Vec<String> = names
        .iter()
        .map(|n| format!("{n}:{port}:127.0.0.1"))
        .collect();
    let resolve: Vec<&str> = resolve.iter().map(String::as_str).collect();
    // "EXACT.test." is an exact entry, written in capitals with a trailing
    // dot; the IDN entry is given in Unicode.
    let client = net_client(
        &["*.example.test", "中文.test", "EXACT.test."],
        &resolve,
        |_| {},
    );

    let reached = [
        ("a.example.test", "a.example.test"),
        ("b.a.example.test", "b.a.example.test"),
        ("A.Example.TEST", "a.example.test"),
        ("a.example.test.", "a.example.test."),
        ("中文.test", "xn--fiq228c.test"),
        ("XN--FIQ228C.test", "xn--fiq228c.test"),
        ("exact.test", "exact.test"),
        ("Exact.Test.", "exact.test."),
    ];
    for (name, wire) in reached {
        let url = format!("http://{name}:{port}/headers");
        // A new connection each, so that each resolves its name.
        let (headers, out) = body_with(&client, Opts::new(&url).header("Connection", "close"));
        assert!(
            headers.contains(&format!("host: {wire}:{port}\n")),
            "{url}: {headers}"
        );
        assert_eq!(dns_source(&out), "override", "{url}");
    }
    for name in [
        "example.test",
        "Example.Test.",
        "evil-example.test",
        "aexample.test",
        "example.test.evil.test",
        "www.中文.test",
        "www.xn--fiq228c.test",
        "www.exact.test",
        "exact.test.evil.test",
        "127.0.0.1",
        "localhost",
    ] {
        let url = format!("http://{name}:{port}/headers");
        let (code, why) = create_request(&client, &url).unwrap_err();
        assert_eq!(code, NETTASK_E_BLOCKED, "{url}: {why}");
        assert!(why.contains("not in allowed_hosts"), "{url}: {why}");
    }
}

#[test]
fn ipv6_literal_is_reached_only_when_listed() {
    let v6 = identity("[::1]:0", "six");
    let url = format!("http://[::1]:{}/", v6.port());
    let listed = net_client(&["[::1]"], &[], |_| {});
    let (body, out) = body_of(&listed, &url);
    assert_eq!(body, "six");
    assert_eq!(out.peer_ip, "::1");
    assert_eq!(dns_source(&out), "", "an IP literal resolves nothing");

    let unlisted = net_client(&["127.0.0.1", "localhost"], &[], |_| {});
    let (code, _) = create_request(&unlisted, &url).unwrap_err();
    assert_eq!(code, NETTASK_E_BLOCKED);
    assert_eq!(v6.accepts(), 1);
}

// ---------------------------------------------------------------------
// allowed_hosts on redirect hops: refused before any connection
// ---------------------------------------------------------------------

/// A server on 127.0.0.2 that counts the connections it accepts, and one
/// on 127.0.0.1 whose /to-far redirects there (/hop first redirects to
/// /to-far on itself, so the far one is the third URL).
struct Hops {
    near: RawServer,
    far: RawServer,
}

impl Hops {
    fn new() -> Hops {
        let far = identity("127.0.0.2:0", "far");
        let far_url = format!("http://127.0.0.2:{}/landed", far.port());
        let near = RawServer::plain("127.0.0.1:0", move |req| match req.target() {
            "/to-far" => redirect(307, &far_url),
            "/hop" => redirect(302, "/to-far"),
            _ => response(404, &[], b"no"),
        });
        Hops { near, far }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.near.port())
    }
}

fn upload_opts(url: &str, dir: &TempDir) -> Opts {
    let file = dir.0.join("form.txt");
    std::fs::write(&file, b"the upload's file part").unwrap();
    Opts::new(url).upload(&file, "file")
}

#[test]
fn redirect_to_an_unlisted_host_is_refused_before_it_connects() {
    let hops = Hops::new();
    let near_only = format!("127.0.0.1:{}", hops.near.port());
    let dir = TempDir::new("policy-hops");
    let client = net_client(&[&near_only], &[], |_| {});

    // The second URL (one redirect) and the third (two).
    for (path, near_requests) in [("/to-far", 1), ("/hop", 2)] {
        let before = hops.near.requests().len();
        let (out, rec) = fetch(&client, Opts::new(&hops.url(path)));
        assert_eq!(out.code, NETTASK_E_BLOCKED, "{path}: {}", out.err_msg);
        assert_eq!(out.err_msg, format!("request:{REFUSED_HOP}"), "{path}");
        assert_eq!(out.status, 0, "{path}: no response is reported");
        assert!(out.data.is_empty());
        assert_eq!(hops.near.requests().len() - before, near_requests, "{path}");
        assert!(
            !rec.events()
                .iter()
                .any(|e| matches!(e, Event::Headers { .. })),
            "{path}: a redirect's head is not a task's head"
        );
    }

    // A download: nothing is left in its temporary directory.
    let temp = c(dir.0.to_str().unwrap());
    let downloads = client_with_temp(&near_only, &temp);
    let run = Run::download(&downloads, Opts::new(&hops.url("/hop")));
    run.start();
    let out = run.wait();
    assert_eq!(out.code, NETTASK_E_BLOCKED);
    assert_eq!(out.err_msg, format!("downloadFile:{REFUSED_HOP}"));
    assert_eq!(out.file_path, None);
    assert_eq!(dir.entries(), Vec::<PathBuf>::new(), "no file left behind");

    // An upload: the near server got the form, the far one nothing.
    let before = hops.near.requests().len();
    let run = Run::upload(&client, upload_opts(&hops.url("/to-far"), &dir));
    run.start();
    let out = run.wait();
    assert_eq!(out.code, NETTASK_E_BLOCKED);
    assert_eq!(out.err_msg, format!("uploadFile:{REFUSED_HOP}"));
    let sent = &hops.near.requests()[before];
    assert_eq!(sent.method(), "POST");
    assert!(
        String::from_utf8_lossy(&sent.body).contains("the upload's file part"),
        "the first hop carried the form"
    );

    assert_eq!(hops.far.accepts(), 0, "no connection to the refused host");
}

fn client_with_temp(allowed: &str, temp: &CString) -> Client {
    net_client(&[allowed], &[], |o| o.temp_dir = temp.as_ptr())
}

#[test]
fn redirect_targets_are_checked_as_they_are_connected_to() {
    // Each Location below leads to the far server on 127.0.0.2, however
    // it is spelled: the policy must see the host the hop connects to.
    let far = identity("127.0.0.2:0", "far");
    let fp = far.port();
    let locations = [
        format!("http://127.0.0.1@127.0.0.2:{fp}/userinfo"),
        format!("http://127.0.0.1:{fp}@127.0.0.2:{fp}/userinfo-port"),
        format!("//127.0.0.2:{fp}/scheme-relative"),
        format!("http:\\\\127.0.0.2:{fp}\\backslashes"),
        format!("HTTP://127.0.0.2:{fp}/upper"),
        format!("http://0x7f.0.0.2:{fp}/hex"),
        format!("http://2130706434:{fp}/decimal"),
        format!("http://127.0.0.2.:{fp}/trailing-dot"),
        format!("http://127%2E0%2E0%2E2:{fp}/percent"),
        format!("http://[::ffff:127.0.0.2]:{fp}/mapped"),
    ];
    let table = locations.clone();
    let near = RawServer::plain("127.0.0.1:0", move |req| {
        let i: usize = req
            .target()
            .trim_start_matches('/')
            .parse()
            .unwrap_or(usize::MAX);
        match table.get(i) {
            Some(location) => redirect(302, location),
            None => response(404, &[], b""),
        }
    });
    let near_only = format!("127.0.0.1:{}", near.port());
    let client = net_client(&[&near_only], &[], |_| {});
    for (i, location) in locations.iter().enumerate() {
        let url = format!("http://127.0.0.1:{}/{i}", near.port());
        let (out, _) = fetch(&client, Opts::new(&url));
        assert_eq!(out.code, NETTASK_E_BLOCKED, "{location}: {}", out.err_msg);
        assert_eq!(out.err_msg, format!("request:{REFUSED_HOP}"), "{location}");
    }
    assert_eq!(far.accepts(), 0);
    assert_eq!(near.requests().len(), locations.len());

    // Listed, each reaches the far server (so each did point there); the
    // IPv4-mapped address is another host, listed on its own.
    let far_listed = net_client(
        &[&near_only, "127.0.0.2", "[::ffff:127.0.0.2]"],
        &[],
        |_| {},
    );
    let mut reached = 0;
    for (i, location) in locations.iter().enumerate() {
        let url = format!("http://127.0.0.1:{}/{i}", near.port());
        let (out, _) = fetch(&far_listed, Opts::new(&url));
        if location.contains("::ffff") && out.code == NETTASK_E_CONNECT {
            continue; // no IPv4-mapped IPv6 here
        }
        assert_eq!(out.code, NETTASK_OK, "{location}: {}", out.err_msg);
        assert_eq!(out.data, b"far", "{location}");
        reached += 1;
    }
    assert!(reached >= locations.len() - 1);
    assert_eq!(far.accepts(), reached);
    let paths: Vec<String> = far
        .requests()
        .iter()
        .map(|r| r.target().to_string())
        .collect();
    assert!(paths.contains(&"/backslashes".to_string()), "{paths:?}");
    assert!(paths.contains(&"/userinfo".to_string()), "{paths:?}");
}

#[test]
fn redirect_to_a_listed_host_is_followed() {
    let hops = Hops::new();
    let near = format!("127.0.0.1:{}", hops.near.port());
    let far = format!("127.0.0.2:{}", hops.far.port());
    let client = net_client(&[&near, &far], &[], |_| {});
    let (body, out) = body_of(&client, &hops.url("/hop"));
    assert_eq!(body, "far");
    assert_eq!(out.profile.redirect_count, 2);
    assert_eq!(out.peer_ip, "127.0.0.2");
    // The form follows a 307 to the listed host.
    let dir = TempDir::new("policy-follow");
    let run = Run::upload(&client, upload_opts(&hops.url("/to-far"), &dir));
    run.start();
    let out = run.wait();
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    assert_eq!(out.data, b"far");
    assert_eq!(hops.far.accepts(), 2);
    let landed = hops.far.requests();
    assert_eq!(landed[1].method(), "POST");
    assert!(String::from_utf8_lossy(&landed[1].body).contains("the upload's file part"));

    // The far host listed on another port is refused like an unlisted one.
    let wrong_port = net_client(&[&near, "127.0.0.2:1"], &[], |_| {});
    let (out, _) = fetch(&wrong_port, Opts::new(&hops.url("/to-far")));
    assert_eq!(out.code, NETTASK_E_BLOCKED);
    assert_eq!(out.err_msg, format!("request:{REFUSED_HOP}"));
    assert_eq!(hops.far.accepts(), 2, "no third connection");
}

#[test]
fn redirect_hops_match_subdomain_patterns_by_name() {
    // Names on 127.0.0.2 through `resolve`; the far server counts.
    let far = identity("127.0.0.2:0", "far");
    let fp = far.port();
    let near = RawServer::plain("127.0.0.1:0", move |req| {
        let to = match req.target() {
            "/apex" => "example.test",
            "/evil" => "evil-example.test",
            "/suffix" => "example.test.evil.test",
            "/sub" => "B.Example.Test.",
            _ => return response(404, &[], b""),
        };
        redirect(302, &format!("http://{to}:{fp}/landed"))
    });
    let np = near.port();
    let resolve: Vec<String> = [
        format!("a.example.test:{np}:127.0.0.1"),
        format!("example.test:{fp}:127.0.0.2"),
        format!("evil-example.test:{fp}:127.0.0.2"),
        format!("example.test.evil.test:{fp}:127.0.0.2"),
        format!("b.example.test.:{fp}:127.0.0.2"),
    ]
    .into();
    let resolve: Vec<&str> = resolve.iter().map(String::as_str).collect();
    let client = net_client(&["*.example.test"], &resolve, |_| {});
    for path in ["/apex", "/evil", "/suffix"] {
        let (out, _) = fetch(
            &client,
            Opts::new(&format!("http://a.example.test:{np}{path}")),
        );
        assert_eq!(out.code, NETTASK_E_BLOCKED, "{path}: {}", out.err_msg);
        assert_eq!(out.err_msg, format!("request:{REFUSED_HOP}"), "{path}");
    }
    assert_eq!(far.accepts(), 0);
    let (body, out) = body_of(&client, &format!("http://a.example.test:{np}/sub"));
    assert_eq!(body, "far");
    assert_eq!(out.profile.redirect_count, 1);
    assert_eq!(far.accepts(), 1);
    assert_eq!(
        far.requests()[0].header("host"),
        Some(format!("b.example.test.:{fp}").as_str())
    );
    assert_eq!(near.requests().len(), 4);
}

// ---------------------------------------------------------------------
// https_only
// ---------------------------------------------------------------------

#[test]
fn https_only_refuses_http_at_create_and_follows_https() {
    let ca = ca_file();
    let client = net_client(&[], &[], |o| {
        o.https_only = true;
        o.ca_file = ca.as_ptr();
    });
    for url in [server().url("/hello"), "HTTP://localhost/".to_string()] {
        let (code, why) = create_request(&client, &url).unwrap_err();
        assert_eq!(code, NETTASK_E_BLOCKED, "{url}");
        assert!(why.contains("https_only"), "{why}");
    }
    let (body, out) = body_of(&client, &server().https_url("/redirect/2"));
    assert_eq!(body, "hello world");
    assert_eq!(out.profile.redirect_count, 3);
}

#[test]
fn https_only_refuses_an_https_to_http_redirect_before_it_connects() {
    let plain = identity("127.0.0.2:0", "plain");
    let to_http = format!("http://127.0.0.2:{}/", plain.port());
    let secure = RawServer::tls("127.0.0.1:0", move |req| match req.target() {
        "/to-http" => redirect(302, &to_http),
        "/to-https" => redirect(301, "/landed"),
        "/landed" => ok("secure"),
        _ => response(404, &[], b""),
    });
    let ca = ca_file();
    let client = net_client(&[], &[], |o| {
        o.https_only = true;
        o.ca_file = ca.as_ptr();
    });
    let base = format!("https://127.0.0.1:{}", secure.port());
    let (out, _) = fetch(&client, Opts::new(&format!("{base}/to-http")));
    assert_eq!(out.code, NETTASK_E_BLOCKED, "{}", out.err_msg);
    assert_eq!(out.err_msg, format!("request:{REFUSED_HOP}"));
    let run = Run::download(&client, Opts::new(&format!("{base}/to-http")));
    run.start();
    let out = run.wait();
    assert_eq!(out.code, NETTASK_E_BLOCKED);
    assert_eq!(out.err_msg, format!("downloadFile:{REFUSED_HOP}"));
    assert_eq!(plain.accepts(), 0, "nothing reached the http server");

    let (body, out) = body_of(&client, &format!("{base}/to-https"));
    assert_eq!(body, "secure");
    assert_eq!(out.profile.redirect_count, 1);
    assert_eq!(secure.accepts(), 4);

    // Without https_only the same redirect is followed (the counter works).
    let lax = client_with_ca(&ca);
    assert_eq!(body_of(&lax, &format!("{base}/to-http")).0, "plain");
    assert_eq!(plain.accepts(), 1);
}

fn client_with_ca(ca: &CString) -> Client {
    net_client(&[], &[], |o| o.ca_file = ca.as_ptr())
}

// ---------------------------------------------------------------------
// pinned_public_keys
// ---------------------------------------------------------------------

fn base64(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(DIGITS[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// libcurl's pin of a key: "sha256//" and the base64 SHA-256 of its DER
/// SubjectPublicKeyInfo.
pub fn pin_of(key: &rcgen::KeyPair) -> String {
    use rcgen::PublicKeyData;
    use sha2::Digest;
    let spki = key.subject_public_key_info();
    format!("sha256//{}", base64(&sha2::Sha256::digest(&spki)))
}

/// The pin of the test server's key.
pub fn server_pin() -> String {
    let pem = std::fs::read_to_string(&server().key_file).unwrap();
    pin_of(&rcgen::KeyPair::from_pem(&pem).unwrap())
}

/// The pin of a key no server has.
fn other_pin() -> String {
    pin_of(&rcgen::KeyPair::generate().unwrap())
}

/// Whether this build's TLS library pins keys (rustls in libcurl 8.22
/// does not: pinned_public_keys is then refused at create).
fn pins_supported() -> bool {
    !cstr(nettask_version()).unwrap().contains("rustls")
}

/// Without pinning in the TLS library, a pin is refused at create, saying
/// why.
fn pins_refused(client: &Client, url: &str) {
    let pins = c(&other_pin());
    let (code, why) = Run::try_create(client.0, pinned(url, &pins), nettask_request_create)
        .err()
        .expect("a pin was taken by a TLS library that cannot pin");
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
    assert!(why.contains("cannot pin"), "{why}");
}

pub fn pinned(url: &str, pins: &CString) -> Opts {
    let p = pins.as_ptr();
    Opts::new(url).set(move |o| o.pinned_public_keys = p)
}

#[test]
fn base64_of_known_values() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
}

#[test]
fn pinned_key_match_and_mismatch() {
    let ca = ca_file();
    let client = client_with_ca(&ca);
    let (right, wrong) = (server_pin(), other_pin());
    assert_ne!(right, wrong);
    assert_eq!(right.len(), 8 + 44);
    let url = server().https_url("/hello");
    if !pins_supported() {
        return pins_refused(&client, &url);
    }

    let pins = c(&right);
    let (out, _) = fetch(&client, pinned(&url, &pins));
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    assert_eq!(out.data, b"hello world");

    let pins = c(&format!("{wrong};{right}"));
    let (out, _) = fetch(&client, pinned(&url, &pins));
    assert_eq!(
        out.code, NETTASK_OK,
        "one of the pins matches: {}",
        out.err_msg
    );

    let fresh = client_with_ca(&ca);
    let pins = c(&wrong);
    let (out, rec) = fetch(&fresh, pinned(&url, &pins));
    assert_eq!(out.code, NETTASK_E_TLS);
    assert_eq!(
        out.err_msg,
        "request:fail the server's public key did not match pinned_public_keys"
    );
    assert_eq!(out.curl_code, 90, "CURLE_SSL_PINNEDPUBKEYNOTMATCH");
    assert_eq!(out.status, 0);
    assert!(rec.chunks().is_empty());

    // A kept-alive connection whose key was not checked against these pins
    // is not reused for them: the pinned task still fails.
    let pins = c(&format!("{wrong};{}", other_pin()));
    let (out, _) = fetch(&client, pinned(&url, &pins));
    assert_eq!(out.code, NETTASK_E_TLS, "{}", out.err_msg);
    let run = Run::download(&client, pinned(&url, &pins));
    run.start();
    let out = run.wait();
    assert_eq!(out.code, NETTASK_E_TLS);
    assert_eq!(
        out.err_msg,
        "downloadFile:fail the server's public key did not match pinned_public_keys"
    );
    // And the pins of a task do not stay with the client.
    assert_eq!(body_of(&client, &url).0, "hello world");
}

#[test]
fn pins_hold_for_every_hop() {
    // 127.0.0.1 has the test server's key; 127.0.0.2 a key of its own.
    let other = OtherCa::new();
    let far = RawServer::on(
        TcpListener::bind("127.0.0.2:0").unwrap(),
        Some(Arc::clone(&other.config)),
        Arc::new(|_: &Req| ok("far")),
    );
    let far_url = format!("https://127.0.0.2:{}/landed", far.port());
    let near = RawServer::tls("127.0.0.1:0", move |_| redirect(302, &far_url));
    let url = format!("https://127.0.0.1:{}/go", near.port());
    let ca = other.ca_bundle();
    let client = net_client(&[], &[], |o| o.ca_file = ca.as_ptr());
    if !pins_supported() {
        return pins_refused(&client, &url);
    }
    // Unpinned, both CAs are trusted: the redirect is followed.
    assert_eq!(body_of(&client, &url).0, "far");
    assert_eq!(far.requests().len(), 1);

    let pins = c(&server_pin());
    let (out, _) = fetch(&client, pinned(&url, &pins));
    assert_eq!(out.code, NETTASK_E_TLS, "{}", out.err_msg);
    assert_eq!(
        out.err_msg,
        "request:fail the server's public key did not match pinned_public_keys"
    );
    assert_eq!(
        far.requests().len(),
        1,
        "nothing was sent to the mismatched peer"
    );

    let pins = c(&format!("{};{}", server_pin(), pin_of(&other.key)));
    let (out, _) = fetch(&client, pinned(&url, &pins));
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    assert_eq!(out.data, b"far");
    assert_eq!(out.profile.redirect_count, 1);
    assert_eq!(far.requests().len(), 2);
}

#[test]
fn malformed_pins_are_refused_at_create() {
    let client = net_client(&[], &[], |_| {});
    let good = server_pin();
    let url = server().https_url("/hello");
    for bad in [
        String::new(),
        "sha256//".to_string(),
        "sha256//abc=".to_string(),
        good[..good.len() - 1].to_string(),
        format!("{}A", &good[..good.len() - 1]),
        good.replace("sha256//", "sha1//"),
        good.replace("sha256//", "SHA256//"),
        format!("{good};"),
        format!("{good};;{good}"),
        format!("{good}; {good}"),
        format!("{}!=", &good[..good.len() - 2]),
        "/etc/ssl/key.pem".to_string(),
    ] {
        let pins = c(&bad);
        let (code, why) =
            try_create(&client, pinned(&url, &pins), nettask_request_create).unwrap_err();
        assert_eq!(code, NETTASK_E_INVALID_ARGUMENT, "{bad:?}");
        assert!(why.contains("pinned_public_keys"), "{bad:?}: {why}");
    }
    let pins = c(&format!("{good};{}", other_pin()));
    let well_formed = try_create(&client, pinned(&url, &pins), nettask_request_create);
    match pins_supported() {
        true => assert_eq!(well_formed, Ok(())),
        false => assert_eq!(well_formed.unwrap_err().0, NETTASK_E_INVALID_ARGUMENT),
    }
}

// ---------------------------------------------------------------------
// Bad client options
// ---------------------------------------------------------------------

#[test]
fn malformed_allowed_hosts_are_named_at_client_new() {
    for bad in [
        "",
        "*.",
        "*",
        "*.127.0.0.1",
        "*a.test",
        "a.*.test",
        "a.test:0",
        "a.test:65536",
        "a.test:http",
        "a.test/path",
        "user@a.test",
        "a b.test",
        "[::1",
        "http://a.test",
    ] {
        let (code, why) = refused(&["ok.test", bad], &[], |_| {});
        assert_eq!(code, NETTASK_E_INVALID_ARGUMENT, "{bad:?}");
        assert!(why.starts_with("allowed_hosts[1] "), "{bad:?}: {why}");
    }
    for good in [
        "a.test",
        "*.a.test",
        "A.Test.",
        "中文.test",
        "127.0.0.1:8080",
        "[::1]:81",
        "[::1]",
    ] {
        assert!(try_client(&[good], &[], |_| {}).is_ok(), "{good:?}");
    }
}

#[test]
fn a_count_without_an_array_or_a_null_entry_is_refused() {
    let (code, why) = refused(&[], &[], |o| o.allowed_host_count = 1);
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
    assert!(why.contains("allowed_hosts"), "{why}");
    let (code, why) = refused(&[], &[], |o| o.resolve_count = 2);
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
    assert!(why.contains("resolve"), "{why}");

    let entries = [c"ok.test".as_ptr(), ptr::null()];
    let (code, why) = refused(&[], &[], |o| {
        o.allowed_hosts = entries.as_ptr();
        o.allowed_host_count = 2;
    });
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
    assert!(why.starts_with("allowed_hosts[1]"), "{why}");
    let lines = [c"ok.test:80:127.0.0.1".as_ptr(), ptr::null()];
    let (code, why) = refused(&[], &[], |o| {
        o.resolve = lines.as_ptr();
        o.resolve_count = 2;
    });
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
    assert!(why.starts_with("resolve[1]"), "{why}");

    // An array with a count of 0 is no list: any host.
    let client = net_client(&[], &[], |o| {
        o.allowed_hosts = entries.as_ptr();
        o.allowed_host_count = 0;
    });
    assert_eq!(body_of(&client, &server().url("/hello")).0, "hello world");
}

#[test]
fn https_only_and_allowed_hosts_together() {
    let ca = ca_file();
    let client = net_client(&["localhost"], &[], |o| {
        o.https_only = true;
        o.ca_file = ca.as_ptr();
    });
    assert_eq!(
        body_of(&client, &server().https_url("/hello")).0,
        "hello world"
    );
    let port = server().https.port();
    for url in [
        format!("http://localhost:{}/hello", server().http.port()),
        format!("https://127.0.0.1:{port}/hello"),
    ] {
        let (code, _) = create_request(&client, &url).unwrap_err();
        assert_eq!(code, NETTASK_E_BLOCKED, "{url}");
    }
}
