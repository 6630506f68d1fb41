//! The floor under "abort all": plain TCP sockets, no HTTP library, that
//! each send a GET head to the silent server and are then closed. What
//! it takes is the kernel's close of a loopback connection (which runs
//! the peer's side of it too) and the server's noticing, that every side
//! pays.

use std::io::Write;
use std::net::TcpStream;
use std::time::Instant;

use crate::{IdleProbe, IdleStats, Silent};

pub fn idle(silent: &Silent, count: usize) -> IdleStats {
    let authority = silent
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let head = format!("GET /silent HTTP/1.1\r\nHost: {authority}\r\n\r\n");
    let probe = IdleProbe::start();
    let streams: Vec<TcpStream> = (0..count)
        .map(|_| {
            let mut stream = TcpStream::connect(&authority).unwrap();
            stream.write_all(head.as_bytes()).unwrap();
            stream
        })
        .collect();
    silent.wait_all(std::thread::sleep);
    // Nothing runs while they wait: no idle window to measure.
    let idle = (Default::default(), crate::rss_kib());
    let abort_started = Instant::now();
    drop(streams);
    probe.finish(silent, count, idle, abort_started, std::thread::sleep)
}
