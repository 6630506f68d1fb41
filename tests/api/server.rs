//! A real HTTP server on 127.0.0.1 for the tests: hyper over plain TCP
//! (HTTP/1.1, and h2c by prior knowledge) and over TLS with ALPN (h2 and
//! http/1.1), with a certificate from a CA generated for this run.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
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
    let (http, https) = runtime.block_on(async {
        let plain = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let secure = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addrs = (plain.local_addr().unwrap(), secure.local_addr().unwrap());
        tokio::spawn(accept_plain(plain));
        tokio::spawn(accept_tls(secure, tokio_rustls::TlsAcceptor::from(tls)));
        addrs
    });
    Server {
        http,
        https,
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
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(default)
}

/// Serves one connection on a new port with exactly `response`, written
/// byte for byte after the request head, then closes it. For wire details
/// hyper normalises (header order).
pub fn raw_once(response: &'static [u8]) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        let _ = stream.write_all(response);
    });
    port
}

/// The deterministic body of `/bytes/N`: byte i is `i % 251`.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

async fn route(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
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
            let mut response = stream(move |mut tx| async move {
                for id in 1..=n {
                    let event = format!("id: {id}\nevent: tick\ndata: tick {id}\n\n");
                    if tx.send_data(Bytes::from(event)).await.is_err() {
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
