//! Requests in a process with more than 1,024 open descriptors. libcurl
//! built to wait with select() cannot watch a socket numbered FD_SETSIZE or
//! higher and reports "Failed to connect" (curl/curl#15080); nettask builds
//! it with poll(). Its own test binary, so that every socket of the run is
//! numbered above the limit.

#[allow(dead_code)]
#[path = "api/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "api/server.rs"]
mod server;

use std::fs::File;
use std::os::fd::AsRawFd;

use harness::{Client, Opts, Run};

/// Past FD_SETSIZE (1,024 with glibc).
const HIGH_FD: i32 = 1_100;

#[test]
fn sockets_numbered_above_fd_setsize_work() {
    raise_fd_limit(HIGH_FD as u64 + 300);
    let server = server::server();
    // Take every low descriptor, so the client's and the server's new ones
    // are all numbered above HIGH_FD.
    let mut filler = Vec::new();
    while filler.last().is_none_or(|f: &File| f.as_raw_fd() < HIGH_FD) {
        filler.push(File::open("/dev/null").expect("open /dev/null"));
    }
    let client = Client::new();
    let runs: Vec<Run> = (0..8)
        .map(|i| {
            Run::request(
                &client,
                Opts::new(&server.url(&format!("/bytes/{}", 1000 + i))),
            )
        })
        .collect();
    for run in &runs {
        run.start();
    }
    for (i, run) in runs.iter().enumerate() {
        let outcome = run.wait();
        assert_eq!(outcome.err_msg, "request:ok");
        assert_eq!(outcome.status, 200);
        assert_eq!(outcome.data.len(), 1000 + i);
    }
}

fn raise_fd_limit(needed: u64) {
    // SAFETY: get/setrlimit read and write one local struct.
    let limit = unsafe {
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_cur.max(needed.min(limit.rlim_max));
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        limit
    };
    assert!(
        limit.rlim_cur >= needed,
        "this test needs {needed} open files; the hard limit is {}",
        limit.rlim_max
    );
}
