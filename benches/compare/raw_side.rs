//! The baseline: a plain libcurl multi loop (the same static libcurl
//! nettask links), easy handles and a write callback, no task layer.

use std::fs::File;
use std::io::Write;
use std::time::{Duration, Instant};

use curl::easy::{Easy2, Handler, HttpVersion, WriteError};
use curl::multi::{Easy2Handle, Multi};

use crate::{IdleStats, LatencyParser};

#[derive(Default)]
pub struct Sink {
    bytes: u64,
    latency: Option<LatencyParser>,
    file: Option<File>,
}

impl Handler for Sink {
    fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        self.bytes += data.len() as u64;
        if let Some(parser) = &mut self.latency {
            parser.feed(data);
        }
        if let Some(file) = &mut self.file {
            file.write_all(data).map_err(|_| WriteError::Pause)?;
        }
        Ok(data.len())
    }
}

fn easy(url: &str, sink: Sink, h2c: bool) -> Easy2<Sink> {
    let mut easy = Easy2::new(sink);
    easy.url(url).unwrap();
    // The same request on the wire as nettask's, which sends its default
    // User-Agent: the server's work is then the same for both sides.
    easy.useragent(&nettask::ClientOptions::default().user_agent)
        .unwrap();
    if h2c {
        easy.http_version(HttpVersion::V2PriorKnowledge).unwrap();
        easy.pipewait(true).unwrap();
    }
    easy
}

fn new_multi() -> Multi {
    let mut multi = Multi::new();
    multi.pipelining(false, true).unwrap();
    multi
}

/// Runs `jobs` transfers, at most `in_flight` at once, to completion.
/// Returns the sinks' byte total.
fn drive(
    jobs: usize,
    in_flight: usize,
    mut make: impl FnMut() -> Easy2<Sink>,
    mut done: impl FnMut(&mut Sink),
) -> u64 {
    let multi = new_multi();
    let mut handles: Vec<Option<Easy2Handle<Sink>>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let (mut started, mut finished, mut bytes) = (0, 0, 0);
    while finished < jobs {
        while started < jobs && started - finished < in_flight {
            let mut handle = multi.add2(make()).unwrap();
            let slot = free.pop().unwrap_or_else(|| {
                handles.push(None);
                handles.len() - 1
            });
            handle.set_token(slot).unwrap();
            handles[slot] = Some(handle);
            started += 1;
        }
        multi.perform().unwrap();
        let mut ended = Vec::new();
        multi.messages(|m| {
            if let (Ok(token), Some(result)) = (m.token(), m.result()) {
                result.expect("transfer failed");
                ended.push(token);
            }
        });
        let progressed = !ended.is_empty();
        for slot in ended {
            let mut easy = multi.remove2(handles[slot].take().unwrap()).unwrap();
            free.push(slot);
            finished += 1;
            bytes += easy.get_ref().bytes;
            done(easy.get_mut());
        }
        // Freed places are refilled before sleeping.
        if !progressed {
            multi.poll(&mut [], Duration::from_secs(1)).unwrap();
        }
    }
    bytes
}

pub fn bulk(url: &str) -> (Duration, u64) {
    let started = Instant::now();
    let bytes = drive(1, 1, || easy(url, Sink::default(), false), |_| {});
    (started.elapsed(), bytes)
}

pub fn download(url: &str, path: &std::path::Path) -> Duration {
    let started = Instant::now();
    let sink = Sink {
        file: Some(File::create(path).unwrap()),
        ..Sink::default()
    };
    let mut sink = Some(sink);
    drive(1, 1, || easy(url, sink.take().unwrap(), false), |_| {});
    started.elapsed()
}

pub fn small(url: &str, count: usize, in_flight: usize, h2c: bool) -> Duration {
    let started = Instant::now();
    drive(count, in_flight, || easy(url, Sink::default(), h2c), |_| {});
    started.elapsed()
}

pub fn chunk_latency(url: &str) -> Vec<Duration> {
    let mut latencies = Vec::new();
    let sink = Sink {
        latency: Some(LatencyParser::default()),
        ..Sink::default()
    };
    let mut sink = Some(sink);
    drive(
        1,
        1,
        || easy(url, sink.take().unwrap(), false),
        |s| {
            latencies = std::mem::take(&mut s.latency.as_mut().unwrap().latencies);
        },
    );
    latencies
}

pub fn idle(url: &str, count: usize, connected: impl Fn() -> usize) -> IdleStats {
    let multi = new_multi();
    let rss_before = crate::rss_kib();
    let handles: Vec<_> = (0..count)
        .map(|_| multi.add2(easy(url, Sink::default(), false)).unwrap())
        .collect();
    let pump = |until: Instant| {
        while Instant::now() < until {
            multi.perform().unwrap();
            let timeout = until
                .saturating_duration_since(Instant::now())
                .min(Duration::from_secs(1));
            if let Err(e) = multi.poll(&mut [], timeout) {
                eprintln!("poll: {e}");
            }
        }
    };
    while connected() < count {
        pump(Instant::now() + Duration::from_millis(10));
    }
    let (cpu, rss_after) = crate::measure_idle(|window| pump(Instant::now() + window));
    let started = Instant::now();
    for handle in handles {
        multi.remove2(handle).unwrap();
    }
    IdleStats {
        cpu,
        per_task_kib: rss_after.saturating_sub(rss_before) as f64 / count as f64,
        abort_all: started.elapsed(),
    }
}
