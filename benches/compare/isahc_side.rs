//! A peer: isahc, which runs the same static libcurl as nettask in a curl
//! multi on an agent thread of its own.
//!
//! Single transfers use its blocking API (the body read as a
//! `std::io::Read`); concurrent ones its futures, which a tokio
//! current-thread runtime on the bench thread polls, as a host's executor
//! would (isahc needs no tokio: any executor does).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use isahc::config::{Configurable, VersionNegotiation};
use isahc::tls::{TlsConfig, TrustStore};
use isahc::{AsyncReadResponseExt, HttpClient};
use tokio::runtime::Runtime;

use crate::async_drive;
use crate::{IdleStats, LatencyParser, Proto, Side, Silent};

/// What a blocking body read asks for at a time.
const READ_BUF: usize = 64 << 10;

fn executor() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A client that speaks `proto` and trusts `ca` for https.
fn client(proto: Proto, ca: Option<&Path>) -> HttpClient {
    let mut builder = HttpClient::builder()
        .default_header("user-agent", crate::user_agent())
        .proxy(None::<isahc::http::Uri>)
        .version_negotiation(match proto {
            Proto::Http1 => VersionNegotiation::http11(),
            // Prior knowledge.
            Proto::H2c => VersionNegotiation::http2(),
            // isahc's default: h2 offered by ALPN.
            Proto::H2Tls => VersionNegotiation::latest_compatible(),
        });
    if let Some(ca) = ca {
        let tls = TlsConfig::builder()
            .trust_store(TrustStore::from_file(PathBuf::from(ca)))
            .build();
        builder = builder.tls_config(tls);
    }
    builder.build().unwrap()
}

/// One GET of a small body, read whole.
async fn get(client: HttpClient, url: Arc<str>, proto: Proto) {
    let mut response = client.get_async(&*url).await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    if proto != Proto::Http1 {
        assert_eq!(response.version(), isahc::http::Version::HTTP_2);
    }
    response.bytes().await.unwrap();
}

pub struct Isahc {
    rt: Runtime,
    http1: HttpClient,
    h2c: HttpClient,
    h2_tls: HttpClient,
}

impl Isahc {
    pub fn new(ca: Option<&Path>) -> Isahc {
        Isahc {
            rt: executor(),
            http1: client(Proto::Http1, ca),
            h2c: client(Proto::H2c, ca),
            h2_tls: client(Proto::H2Tls, ca),
        }
    }

    fn client(&self, proto: Proto) -> HttpClient {
        match proto {
            Proto::Http1 => &self.http1,
            Proto::H2c => &self.h2c,
            Proto::H2Tls => &self.h2_tls,
        }
        .clone()
    }

    /// A blocking GET whose body `each` sees read by read.
    fn read_body(&self, url: &str, mut each: impl FnMut(&[u8])) {
        let mut response = self.http1.get(url).unwrap();
        assert!(response.status().is_success());
        let mut buf = vec![0; READ_BUF];
        loop {
            let n = response.body_mut().read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            each(&buf[..n]);
        }
    }
}

impl Side for Isahc {
    fn bulk(&self, url: &str) -> (Duration, u64) {
        let started = Instant::now();
        let mut bytes = 0;
        self.read_body(url, |data| bytes += data.len() as u64);
        (started.elapsed(), bytes)
    }

    /// The bulk read as it is: isahc's automatic_decompression (on by
    /// default) has libcurl offer gzip and decode it.
    fn decode(&self, url: &str) -> (Duration, u64) {
        self.bulk(url)
    }

    fn download(&self, url: &str, path: &Path) -> Duration {
        let started = Instant::now();
        let mut file = std::fs::File::create(path).unwrap();
        self.read_body(url, |data| file.write_all(data).unwrap());
        started.elapsed()
    }

    /// `IN_FLIGHT` tasks, each taking the next request until all are taken.
    fn small(&self, url: &str, count: usize, proto: Proto) -> Duration {
        let (client, url): (_, Arc<str>) = (self.client(proto), url.into());
        let started = Instant::now();
        self.rt.block_on(async_drive::in_flight(count, move || {
            get(client.clone(), Arc::clone(&url), proto)
        }));
        started.elapsed()
    }

    /// A task per request, `IN_FLIGHT` of them at a time.
    fn growth(&self, url: &str, total: usize) -> Duration {
        let (client, url): (_, Arc<str>) = (self.client(Proto::Http1), url.into());
        let started = Instant::now();
        self.rt.block_on(async_drive::batches(total, move || {
            get(client.clone(), Arc::clone(&url), Proto::Http1)
        }));
        started.elapsed()
    }

    fn chunk_latency(&self, url: &str) -> Vec<Duration> {
        let mut parser = LatencyParser::default();
        self.read_body(url, |data| parser.feed(data));
        parser.latencies
    }
}

/// `count` requests against the silent server, each a future polled by a
/// task; aborted by aborting the tasks, which drops the futures: isahc's
/// only way to cancel a request.
pub fn idle(silent: &Silent, count: usize) -> IdleStats {
    let rt = executor();
    let client = client(Proto::Http1, None);
    let url: Arc<str> = silent.url.as_str().into();
    async_drive::idle(&rt, silent, count, || {
        let (client, url) = (client.clone(), Arc::clone(&url));
        async move {
            if let Err(e) = client.get_async(&*url).await {
                eprintln!("idle request: {e}");
            }
        }
    })
}
