//! A real HTTP server on 127.0.0.1 for the tests: hyper over plain TCP
//! (HTTP/1.1, and h2c by prior knowledge) and over TLS with ALPN (h2 and
//! http/1.1), with a certificate from a CA generated for this run.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, channel::Channel, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

type Body = BoxBody<Bytes, std::io::Error>;

pub struct Server {
    pub http: SocketAddr,
    pub https: SocketAddr,
    /// Plain HTTP on 127.0.0.2: loopback on Linux, but not one of the
    /// hosts libcurl treats as a secure context (127.0.0.1, localhost,
    /// ::1), so Secure cookies are not sent to it. None where 127.0.0.2
    /// cannot be bound.
    pub http_alt: Option<SocketAddr>,
    /// The CA that signed the HTTPS server's certificate (PEM file).
    pub ca_file: PathBuf,
    /// That certificate (for "localhost" and 127.0.0.1) and its key, as PEM
    /// files, for the other servers of the tests.
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    pub fn https_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.https.port())
    }

    /// A URL on the 127.0.0.2 listener (`http_alt`).
    pub fn alt_url(&self, path: &str) -> String {
        let alt = self
            .http_alt
            .expect("a listener on 127.0.0.2 (loopback on Linux)");
        format!("http://{alt}{path}")
    }
}

/// The one server of this test process, started on first use.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(start)
}

fn start() -> Server {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (dir, tls) = tls_config();
    let (http, https, http_alt) = runtime.block_on(async {
        let plain = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let secure = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let alt = TcpListener::bind("127.0.0.2:0").await.ok();
        let addrs = (
            plain.local_addr().unwrap(),
            secure.local_addr().unwrap(),
            alt.as_ref().map(|l| l.local_addr().unwrap()),
        );
        tokio::spawn(accept_plain(plain));
        tokio::spawn(accept_tls(secure, tokio_rustls::TlsAcceptor::from(tls)));
        if let Some(alt) = alt {
            tokio::spawn(accept_plain(alt));
        }
        addrs
    });
    Server {
        http,
        https,
        http_alt,
        ca_file: dir.join("ca.pem"),
        cert_file: dir.join("cert.pem"),
        key_file: dir.join("key.pem"),
        _runtime: runtime,
    }
}

async fn accept_plain(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(serve(stream));
    }
}

async fn accept_tls(listener: TcpListener, acceptor: tokio_rustls::TlsAcceptor) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            if let Ok(tls) = acceptor.accept(stream).await {
                serve(tls).await;
            }
        });
    }
}

async fn serve<S>(stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(stream), service_fn(route))
        .await;
}

/// A CA and a certificate it signed, written as PEM files (ca.pem,
/// cert.pem, key.pem) to the directory returned, and the server config.
fn tls_config() -> (PathBuf, Arc<tokio_rustls::rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "nettask test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
    let dir = std::env::temp_dir().join(format!("nettask-test-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), leaf.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), leaf_key.serialize_pem()).unwrap();

    let key =
        tokio_rustls::rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    (dir, Arc::new(config))
}

fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

fn respond(status: u16, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .body(full(body))
        .unwrap()
}

/// The query parameter `name` as a number, or `default`.
fn param(req: &Request<Incoming>, name: &str, default: u64) -> u64 {
    param_str(req, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The query parameter `name` as a string.
fn param_str(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Serves one connection on a new port with exactly `response`, written
/// byte for byte after the request head, then closes it. For wire details
/// hyper normalises (header order).
pub fn raw_once(response: &'static [u8]) -> u16 {
    raw_connections(1, response)
}

/// As `raw_once`, for `count` connections one after the other: each gets
/// `response` after its first request head, then is closed.
pub fn raw_connections(count: usize, response: &'static [u8]) -> u16 {
    raw_server(vec![vec![response]; count])
}

/// Serves `connections` one after the other on a new port: each in turn
/// answers its request heads with its responses, byte for byte and in
/// order, then is closed (at once if the client closes first).
pub fn raw_server(connections: Vec<Vec<&'static [u8]>>) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for responses in connections {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 4096];
            for response in responses {
                let mut request = Vec::new();
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(response);
            }
        }
    });
    port
}

/// The query's `name=value` pairs, percent-decoded, in order.
fn query_pairs(req: &Request<Incoming>) -> Vec<(String, String)> {
    let query = req.uri().query().unwrap_or("");
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// The cookie routes (see `route`): `/cookies/set?n=v&...` answers 302 to
/// `/cookies` with one `Set-Cookie: n=v; Path=/` per pair; `.../cookies`
/// (any prefix, e.g. `/p/cookies`) answers 200 with the request's Cookie
/// headers as its body, one per line (empty without one);
/// `.../set-cookie?c=<value>&c=...` answers 200 (or, with `to=<url>`, 302
/// to it) with each `c` as a Set-Cookie value, verbatim, in order.
fn cookie_route(req: &Request<Incoming>, segments: &[&str]) -> Option<Response<Body>> {
    let mut response = Response::builder();
    match segments {
        ["cookies", "set"] => {
            response = response.status(302).header("location", "/cookies");
            for (name, value) in query_pairs(req) {
                response = response.header("set-cookie", format!("{name}={value}; Path=/"));
            }
            Some(response.body(full("redirecting to /cookies")).unwrap())
        }
        [.., "cookies"] => {
            let sent: Vec<String> = req
                .headers()
                .get_all(hyper::header::COOKIE)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            Some(respond(200, sent.join("\n")))
        }
        [.., "set-cookie"] => {
            for (name, value) in query_pairs(req) {
                match name.as_str() {
                    "c" => response = response.header("set-cookie", value),
                    "to" => response = response.status(302).header("location", value),
                    _ => {}
                }
            }
            Some(response.body(full("cookies set")).unwrap())
        }
        _ => None,
    }
}

/// The body of `/chat`: an event stream a chat app gets.
pub const CHAT: &str = "retry: 2500\r\n: keep-alive\n\nid: 1\nevent: delta\ndata: 你好，\n\nid: 2\nevent: delta\r\ndata: 世界😀\ndata: 第二行\r\rdata: {\"done\":true}\n\n";

/// The deterministic body of `/bytes/N`: byte i is `i % 251`.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

async fn route(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if let Some(response) = cookie_route(&req, &segments) {
        return Ok(response);
    }
    let response = match segments.as_slice() {
        ["hello"] => Response::builder()
            .header("content-type", "text/plain")
            .header("x-served-by", "nettask-test")
            .body(full("hello world"))
            .unwrap(),
        ["status", code] => respond(code.parse().unwrap_or(500), format!("status {code}")),
        ["echo"] => {
            let method = req.method().to_string();
            let target = req.uri().to_string();
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            Response::builder()
                .header("x-method", method)
                .header("x-target", target)
                .header("x-body-len", body.len())
                .body(full(body))
                .unwrap()
        }
        ["headers"] => {
            let mut text = String::new();
            for (name, value) in req.headers() {
                text.push_str(&format!("{}: {}\n", name, value.to_str().unwrap_or("?")));
            }
            respond(200, text)
        }
        ["redirect", n] => {
            let n: u32 = n.parse().unwrap_or(0);
            let to = if n == 0 {
                "/hello".to_string()
            } else {
                format!("/redirect/{}", n - 1)
            };
            Response::builder()
                .status(302)
                .header("location", to)
                .body(full("redirecting"))
                .unwrap()
        }
        // Uploads: see `multipart`, `upload_sink` and `redirect_upload`.
        ["multipart"] => multipart(req).await,
        ["upload-sink"] => upload_sink(req).await,
        ["redirect-upload"] => redirect_upload(req).await,
        ["redirect-post"] => Response::builder()
            .status(307)
            .header("location", "/echo")
            .body(full(""))
            .unwrap(),
        // `n` pattern bytes, streamed (flat memory for any size), with or
        // without a Content-Length.
        ["bytes", n] => streamed_pattern(n.parse().unwrap_or(0), true),
        ["bytes-unknown", n] => streamed_pattern(n.parse().unwrap_or(0), false),
        // `n` chunks of `size` bytes, `delay_ms` apart, each flushed.
        ["stream"] => {
            let n = param(&req, "n", 5);
            let size = param(&req, "size", 5) as usize;
            let delay = Duration::from_millis(param(&req, "delay_ms", 100));
            stream(move |mut tx| async move {
                for i in 0..n {
                    if i > 0 {
                        tokio::time::sleep(delay).await;
                    }
                    let chunk = vec![b'a' + (i % 26) as u8; size];
                    if tx.send_data(Bytes::from(chunk)).await.is_err() {
                        return;
                    }
                }
            })
        }
        // A server-sent event stream: `n` events, `delay_ms` apart.
        ["events"] => {
            let n = param(&req, "n", 1_000_000);
            let delay = Duration::from_millis(param(&req, "delay_ms", 200));
            let events = (1..=n).map(|id| format!("id: {id}\nevent: tick\ndata: tick {id}\n\n"));
            event_stream(events.map(Bytes::from), delay)
        }
        // A chat answer as server-sent events, Chinese text and an emoji,
        // written `piece` bytes at a time, `delay_ms` apart.
        ["chat"] => {
            let piece = (param(&req, "piece", 1) as usize).max(1);
            let delay = Duration::from_millis(param(&req, "delay_ms", 1));
            let pieces = CHAT.as_bytes().chunks(piece).map(Bytes::copy_from_slice);
            event_stream(pieces, delay)
        }
        // Headers and `after` bytes, then nothing, forever.
        ["stall"] => {
            let after = param(&req, "after", 0) as usize;
            stream(move |mut tx| async move {
                if after > 0 && tx.send_data(Bytes::from(vec![b's'; after])).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
                drop(tx);
            })
        }
        // Answers after `ms` milliseconds.
        ["slow"] => {
            tokio::time::sleep(Duration::from_millis(param(&req, "ms", 1000))).await;
            respond(200, "slow")
        }
        // Announces `total` bytes, sends `send`, then drops the connection.
        ["cut"] => {
            let total = param(&req, "total", 1000);
            let send = param(&req, "send", 100) as usize;
            let (mut tx, body) = Channel::<Bytes, std::io::Error>::new(4);
            tokio::spawn(async move {
                let _ = tx.send_data(Bytes::from(vec![b'c'; send])).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                tx.abort(std::io::Error::other("cut"));
            });
            Response::builder()
                .header("content-length", total)
                .body(body.boxed())
                .unwrap()
        }
        // `pattern(n)` in a content coding, announced in Content-Encoding.
        ["encoded", coding, n] => {
            let body = encode(coding, &pattern(n.parse().unwrap_or(0)));
            let announced = if *coding == "corrupt" { "gzip" } else { coding };
            Response::builder()
                .header("content-encoding", announced)
                .body(full(body))
                .unwrap()
        }
        // A gzip bomb: `members` gzip members of 16 MiB of zeros each
        // (16 KiB on the wire), streamed.
        ["bomb"] => {
            let member = Bytes::from(encode("gzip", &vec![0; 16 << 20]));
            let members = param(&req, "members", 640);
            let mut response = stream(move |mut tx| async move {
                for _ in 0..members {
                    if tx.send_data(member.clone()).await.is_err() {
                        return;
                    }
                }
            });
            let headers = response.headers_mut();
            headers.insert("content-encoding", "gzip".parse().unwrap());
            response
        }
        _ => respond(404, "not found"),
    };
    Ok(response)
}

/// `data` in the content coding `coding`; "corrupt" is a gzip stream with
/// bytes in its middle flipped.
fn encode(coding: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let level = flate2::Compression::fast();
    match coding {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), level);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            e.write_all(data).unwrap();
            drop(e);
            out
        }
        "zstd" => zstd::encode_all(data, 3).unwrap(),
        "corrupt" => {
            let mut gzip = encode("gzip", data);
            let middle = gzip.len() / 2;
            for b in &mut gzip[middle..middle + 8] {
                *b ^= 0x55;
            }
            gzip
        }
        _ => data.to_vec(),
    }
}

/// A text/event-stream response that writes `pieces`, waiting `delay`
/// after each.
fn event_stream(
    pieces: impl Iterator<Item = Bytes> + Send + 'static,
    delay: Duration,
) -> Response<Body> {
    let mut response = stream(move |mut tx| async move {
        for piece in pieces {
            if tx.send_data(piece).await.is_err() {
                return;
            }
            tokio::time::sleep(delay).await;
        }
    });
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("text/event-stream"),
    );
    response
}

fn streamed_pattern(len: u64, with_length: bool) -> Response<Body> {
    const PIECE: u64 = 251 * 256; // a multiple of the pattern's period
    let piece = Bytes::from(pattern(PIECE as usize));
    let mut response = stream(move |mut tx| async move {
        let mut left = len;
        while left > 0 {
            let n = left.min(PIECE);
            if tx.send_data(piece.slice(..n as usize)).await.is_err() {
                return;
            }
            left -= n;
        }
    });
    if with_length {
        response.headers_mut().insert("content-length", len.into());
    }
    response
}

/// A streamed response whose body `produce` writes.
fn stream<F, Fut>(produce: F) -> Response<Body>
where
    F: FnOnce(http_body_util::channel::Sender<Bytes, std::io::Error>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, body) = Channel::<Bytes, std::io::Error>::new(4);
    tokio::spawn(produce(tx));
    Response::builder()
        .header("content-type", "application/octet-stream")
        .body(body.boxed())
        .unwrap()
}

/// What the upload routes saw of each request that had a `tag=` query
/// parameter: the JSON they answered when the body arrived whole, or
/// "incomplete: <why>" when it did not (an error reading it, or the
/// connection closed before the route finished).
fn uploads_seen() -> &'static Mutex<HashMap<String, String>> {
    static SEEN: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    SEEN.get_or_init(Default::default)
}

/// What the upload route tagged `tag` saw, once it has finished (or was
/// dropped with its connection).
pub fn upload_seen(tag: &str) -> Option<String> {
    uploads_seen().lock().unwrap().get(tag).cloned()
}

/// Records a tagged request's outcome in `uploads_seen` when dropped:
/// "incomplete: dropped" unless `finish` said otherwise, so a route future
/// that hyper drops with a closed connection is recorded too.
struct Seen {
    tag: Option<String>,
    outcome: Option<String>,
}

impl Seen {
    fn new(req: &Request<Incoming>) -> Seen {
        Seen {
            tag: param_str(req, "tag"),
            outcome: None,
        }
    }

    fn finish(&mut self, outcome: String) {
        self.outcome = Some(outcome);
    }
}

impl Drop for Seen {
    fn drop(&mut self) {
        if let Some(tag) = self.tag.take() {
            let outcome = self
                .outcome
                .take()
                .unwrap_or_else(|| "incomplete: dropped".to_string());
            uploads_seen().lock().unwrap().insert(tag, outcome);
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of `data`, in lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(data))
}

fn json_response(status: u16, value: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(full(value.to_string()))
        .unwrap()
}

fn header_str(req: &Request<Incoming>, name: hyper::header::HeaderName) -> Option<String> {
    req.headers()
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// `/multipart[?slow_ms=N][&tag=T]`: parses a multipart/form-data body and
/// answers, as JSON, `{"method", "content_type", "content_length",
/// "body_size", "parts": [{"name", "filename", "content_type", "size",
/// "sha256", "text", "disposition"}, ...], "error"}`, parts in wire order
/// (`text`: the start of a part without filename, as UTF-8; `disposition`:
/// its raw Content-Disposition). A body that is not multipart (a GET, no
/// boundary) is read and answered with no parts. `slow_ms`: sleeps that
/// long per 64 KiB of part data read, so a large upload takes a while.
/// A body that does not arrive whole is answered 400 with `error` set (if
/// the connection is still there to answer on).
async fn multipart(req: Request<Incoming>) -> Response<Body> {
    let mut seen = Seen::new(&req);
    let slow = Duration::from_millis(param(&req, "slow_ms", 0));
    let method = req.method().to_string();
    let content_type = header_str(&req, hyper::header::CONTENT_TYPE);
    let content_length = header_str(&req, hyper::header::CONTENT_LENGTH);
    let boundary = content_type
        .as_deref()
        .and_then(|t| multer::parse_boundary(t).ok());
    let received = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&received);
    let body = req.into_body().map_frame(move |frame| {
        if let Some(data) = frame.data_ref() {
            counter.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        frame
    });
    let parts = match boundary {
        Some(boundary) => {
            let form = multer::Multipart::new(body.into_data_stream(), boundary);
            read_parts(form, slow).await.map_err(|e| e.to_string())
        }
        None => body
            .collect()
            .await
            .map(|_| Vec::new())
            .map_err(|e| e.to_string()),
    };
    let (parts, error) = match parts {
        Ok(parts) => (parts, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let answer = serde_json::json!({
        "method": method,
        "content_type": content_type,
        "content_length": content_length,
        "body_size": received.load(Ordering::Relaxed),
        "parts": parts,
        "error": error,
    });
    match &error {
        None => {
            seen.finish(answer.to_string());
            json_response(200, &answer)
        }
        Some(e) => {
            seen.finish(format!("incomplete: {e}"));
            json_response(400, &answer)
        }
    }
}

async fn read_parts(
    mut form: multer::Multipart<'static>,
    slow: Duration,
) -> multer::Result<Vec<serde_json::Value>> {
    use sha2::Digest;
    const TEXT: usize = 4096;
    let mut parts = Vec::new();
    while let Some(mut field) = form.next_field().await? {
        let name = field.name().map(str::to_owned);
        let filename = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(|m| m.to_string());
        let disposition = field
            .headers()
            .get(hyper::header::CONTENT_DISPOSITION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let mut hash = sha2::Sha256::new();
        let mut size = 0u64;
        let mut text = Vec::new();
        while let Some(chunk) = field.chunk().await? {
            size += chunk.len() as u64;
            hash.update(&chunk);
            let keep = chunk.len().min(TEXT - text.len());
            text.extend_from_slice(&chunk[..keep]);
            if !slow.is_zero() {
                let pieces = chunk.len().div_ceil(64 << 10) as u32;
                tokio::time::sleep(slow * pieces).await;
            }
        }
        let text = filename
            .is_none()
            .then(|| String::from_utf8_lossy(&text).into_owned());
        parts.push(serde_json::json!({
            "name": name,
            "filename": filename,
            "content_type": content_type,
            "size": size,
            "sha256": hex(&hash.finalize()),
            "text": text,
            "disposition": disposition,
        }));
    }
    Ok(parts)
}

/// Reads a body to its end without keeping it: its size and SHA-256.
async fn drain(mut body: Incoming) -> Result<(u64, String), hyper::Error> {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    let mut size = 0u64;
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame?.data_ref() {
            size += data.len() as u64;
            hash.update(data);
        }
    }
    Ok((size, hex(&hash.finalize())))
}

/// `/upload-sink[?tag=T]`: reads the whole body (any method) and answers
/// `{"method", "content_type", "content_length", "size", "sha256"}`.
async fn upload_sink(req: Request<Incoming>) -> Response<Body> {
    let mut seen = Seen::new(&req);
    let method = req.method().to_string();
    let content_type = header_str(&req, hyper::header::CONTENT_TYPE);
    let content_length = header_str(&req, hyper::header::CONTENT_LENGTH);
    match drain(req.into_body()).await {
        Ok((size, sha256)) => {
            let answer = serde_json::json!({
                "method": method,
                "content_type": content_type,
                "content_length": content_length,
                "size": size,
                "sha256": sha256,
            });
            seen.finish(answer.to_string());
            json_response(200, &answer)
        }
        Err(e) => {
            seen.finish(format!("incomplete: {e}"));
            respond(400, e.to_string())
        }
    }
}

/// `/redirect-upload?code=N`: answers `N` (307 by default) with `Location:
/// /multipart?<this query>` at once, before reading the body. The body is
/// read and thrown away in the background, so that a client still sending
/// it is not reset, and the connection stays usable.
///
/// With `read_first=1` the body is read to its end before the answer. (On
/// h2, libcurl 8.22 itself fails a large upload answered early with a 307
/// or 308: "Failed sending data to the peer".)
async fn redirect_upload(req: Request<Incoming>) -> Response<Body> {
    let code = param(&req, "code", 307) as u16;
    let read_first = param(&req, "read_first", 0) == 1;
    let to = match req.uri().query() {
        Some(query) => format!("/multipart?{query}"),
        None => "/multipart".to_string(),
    };
    let body = req.into_body();
    if read_first {
        let _ = drain(body).await;
    } else {
        tokio::spawn(async move {
            let _ = drain(body).await;
        });
    }
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap())
        .header("location", to)
        .body(full("redirecting the upload"))
        .unwrap()
}
