//! A peer: reqwest (hyper) on a tokio runtime, current-thread
//! ("reqwest-ct") or multi-thread ("reqwest-mt", a worker per core), TLS
//! by rustls with ring.
//!
//! Each case's work runs as a task spawned on the runtime, as an
//! application's would; the bench thread waits for it with `block_on`.

use std::future::Future;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Certificate, Client, Version};
use tokio::runtime::Runtime;

use crate::async_drive;
use crate::{IdleStats, LatencyParser, Proto, Side, Silent};

fn runtime(multi_thread: bool) -> Runtime {
    let mut builder = if multi_thread {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        // The machine's cores, not the one this process is pinned to.
        b.worker_threads(crate::cpu::cpu_count());
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build().unwrap()
}

/// A client that speaks `proto` and trusts only `ca` for https; `gzip`:
/// offers gzip and decodes it (the decode case), else sends no
/// Accept-Encoding, as before the bench built reqwest's gzip feature.
fn client(proto: Proto, ca: Option<&Path>, gzip: bool) -> Client {
    // reqwest's rustls needs a process-wide provider: ring, which the other
    // dev-dependencies build already. A second call finds it installed.
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let mut builder = Client::builder()
        .user_agent(crate::user_agent())
        .no_proxy()
        .gzip(gzip);
    if let Some(ca) = ca {
        let cert = Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
        builder = builder.tls_certs_only([cert]);
    }
    builder = match proto {
        Proto::Http1 => builder.http1_only(),
        Proto::H2c => builder.http2_prior_knowledge(),
        // ALPN offers h2 and HTTP/1.1; nginx picks h2.
        Proto::H2Tls => builder,
    };
    builder.build().unwrap()
}

/// One GET of a small body, read whole.
async fn get(client: Client, url: Arc<str>, proto: Proto) {
    let response = client.get(&*url).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    if proto != Proto::Http1 {
        assert_eq!(response.version(), Version::HTTP_2);
    }
    response.bytes().await.unwrap();
}

pub struct Reqwest {
    rt: Runtime,
    http1: Client,
    h2c: Client,
    h2_tls: Client,
    /// HTTP/1.1, decoding gzip.
    gzip: Client,
}

impl Reqwest {
    pub fn new(multi_thread: bool, ca: Option<&Path>) -> Reqwest {
        Reqwest {
            rt: runtime(multi_thread),
            http1: client(Proto::Http1, ca, false),
            h2c: client(Proto::H2c, ca, false),
            h2_tls: client(Proto::H2Tls, ca, false),
            gzip: client(Proto::Http1, ca, true),
        }
    }

    fn client(&self, proto: Proto) -> Client {
        match proto {
            Proto::Http1 => &self.http1,
            Proto::H2c => &self.h2c,
            Proto::H2Tls => &self.h2_tls,
        }
        .clone()
    }

    /// One GET on `client`, its body read chunk by chunk and counted.
    fn count_body(&self, client: Client, url: &str) -> (Duration, u64) {
        let url = url.to_string();
        let started = Instant::now();
        let bytes = self.run(async move {
            let mut response = client.get(url).send().await.unwrap();
            assert!(response.status().is_success());
            let mut bytes = 0;
            while let Some(chunk) = response.chunk().await.unwrap() {
                bytes += chunk.len() as u64;
            }
            bytes
        });
        (started.elapsed(), bytes)
    }

    /// Runs `work` as a task on the runtime and waits for it.
    fn run<F>(&self, work: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.block_on(self.rt.spawn(work)).unwrap()
    }
}

impl Side for Reqwest {
    fn bulk(&self, url: &str) -> (Duration, u64) {
        self.count_body(self.client(Proto::Http1), url)
    }

    fn decode(&self, url: &str) -> (Duration, u64) {
        self.count_body(self.gzip.clone(), url)
    }

    /// Writes each chunk with std's File as it comes (tokio::fs would hand
    /// every chunk to its blocking pool).
    fn download(&self, url: &str, path: &Path) -> Duration {
        let (client, url, path) = (self.client(Proto::Http1), url.to_string(), path.to_owned());
        let started = Instant::now();
        self.run(async move {
            let mut response = client.get(url).send().await.unwrap();
            assert!(response.status().is_success());
            let mut file = std::fs::File::create(path).unwrap();
            while let Some(chunk) = response.chunk().await.unwrap() {
                file.write_all(&chunk).unwrap();
            }
        });
        started.elapsed()
    }

    /// `IN_FLIGHT` tasks, each taking the next request until all are taken.
    fn small(&self, url: &str, count: usize, proto: Proto) -> Duration {
        let (client, url): (_, Arc<str>) = (self.client(proto), url.into());
        let started = Instant::now();
        self.run(async_drive::in_flight(count, move || {
            get(client.clone(), Arc::clone(&url), proto)
        }));
        started.elapsed()
    }

    /// A task per request, `IN_FLIGHT` of them at a time.
    fn growth(&self, url: &str, total: usize) -> Duration {
        let (client, url): (_, Arc<str>) = (self.client(Proto::Http1), url.into());
        let started = Instant::now();
        self.run(async_drive::batches(total, move || {
            get(client.clone(), Arc::clone(&url), Proto::Http1)
        }));
        started.elapsed()
    }

    fn chunk_latency(&self, url: &str) -> Vec<Duration> {
        let (client, url) = (self.client(Proto::Http1), url.to_string());
        self.run(async move {
            let mut parser = LatencyParser::default();
            let mut response = client.get(url).send().await.unwrap();
            while let Some(chunk) = response.chunk().await.unwrap() {
                parser.feed(&chunk);
            }
            parser.latencies
        })
    }
}

/// `count` requests against the silent server, each a task; aborted by
/// aborting the tasks (which drops their requests).
pub fn idle(silent: &Silent, count: usize, multi_thread: bool) -> IdleStats {
    let rt = runtime(multi_thread);
    let client = client(Proto::Http1, None, false);
    let url: Arc<str> = silent.url.as_str().into();
    async_drive::idle(&rt, silent, count, || {
        let (client, url) = (client.clone(), Arc::clone(&url));
        async move {
            if let Err(e) = client.get(&*url).send().await {
                eprintln!("idle request: {e}");
            }
        }
    })
}
