//! Peak memory of a 1 GiB download through the C ABI: the body must stream
//! to disk, so the process's peak RSS stays under 64 MiB.
//!
//!   cargo bench --bench download_rss [-- SIZE_MIB]
//!
//! The server runs in a child process (this binary with `--serve`), so its
//! memory is not counted.

#[path = "../tests/api/server.rs"]
#[allow(dead_code)]
mod server;

use std::ffi::{CString, c_void};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Sender, channel};
use std::time::Instant;

use nettask::ffi::*;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

unsafe extern "C" fn on_complete(_: *mut nettask_task, r: *const nettask_result, ud: *mut c_void) {
    // SAFETY: the Sender outlives the task; the result is valid for the call.
    let (tx, r) = unsafe { (&*(ud as *const Sender<(nettask_code, u64)>), &*r) };
    tx.send((r.code, r.data_length)).unwrap();
}

fn main() {
    if std::env::args().any(|a| a == "--serve") {
        let s = server::server();
        println!("{}", s.http);
        std::thread::park();
        return;
    }
    let mib: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1024);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--serve")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut addr = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut addr)
        .unwrap();
    let url = CString::new(format!("http://{}/bytes/{}", addr.trim(), mib << 20)).unwrap();
    let dir = std::env::temp_dir().join(format!("nettask-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dest = CString::new(dir.join("big.bin").to_str().unwrap()).unwrap();

    let client = nettask_client_default();
    let baseline = status_kib("VmRSS:");
    let (tx, rx) = channel::<(nettask_code, u64)>();
    let started = Instant::now();
    // SAFETY: valid pointers throughout; the sender outlives the task.
    unsafe {
        let mut opts = std::mem::zeroed();
        nettask_request_options_init_version(&mut opts, NETTASK_REQUEST_OPTIONS_VERSION);
        opts.url = url.as_ptr();
        opts.file_path = dest.as_ptr();
        opts.timeout_ms = 600_000;
        let mut task = std::ptr::null_mut();
        assert_eq!(
            nettask_download_create(client, &opts, &mut task),
            nettask_code::NETTASK_OK
        );
        nettask_on_complete(task, Some(on_complete), &tx as *const _ as *mut c_void);
        nettask_start(task);
        nettask_release(task);
    }
    let (code, bytes) = rx.recv().unwrap();
    let secs = started.elapsed().as_secs_f64();
    let peak = status_kib("VmHWM:");
    child.kill().ok();
    child.wait().ok();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, nettask_code::NETTASK_OK);
    assert_eq!(bytes, mib << 20);
    println!(
        "download {mib} MiB: {:.0} MiB/s; peak RSS {:.1} MiB (RSS before the download {:.1} MiB, peak/before {:.2}); target < 64 MiB: {}",
        mib as f64 / secs,
        peak as f64 / 1024.0,
        baseline as f64 / 1024.0,
        peak as f64 / baseline as f64,
        if peak < 64 * 1024 { "met" } else { "MISSED" }
    );
}
