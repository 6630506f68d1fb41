//! Downloads: to disk atomically, with coalesced progress.

use std::path::{Path, PathBuf};

use nettask::ffi::nettask_code::*;

use crate::harness::*;
use crate::server::{pattern, server};

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nettask-dl-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub fn progress_events(rec: &Recorder) -> Vec<nettask::ffi::nettask_progress> {
    rec.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Progress(p) => Some(p),
            _ => None,
        })
        .collect()
}

#[test]
fn multi_megabyte_download_is_exact_with_coalesced_progress() {
    let dir = temp_dir("big");
    let dest = dir.join("big.bin");
    let client = Client::new();
    let len = 5 << 20;
    let run = Run::download(
        &client,
        Opts::new(&server().url(&format!("/bytes/{len}"))).file(&dest),
    );
    run.start();
    let out = run.wait();
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    assert_eq!(out.err_msg, "downloadFile:ok");
    assert_eq!(out.status, 200);
    assert_eq!(out.file_path.as_deref(), Some(dest.to_str().unwrap()));
    assert_eq!(out.data_length, len as u64);
    assert!(out.data.is_empty());
    assert!(std::fs::read(&dest).unwrap() == pattern(len));
    assert_eq!(entries(&dir), ["big.bin"]);
    let progress = progress_events(&run.rec);
    assert!(
        (2..=110).contains(&progress.len()),
        "{} events",
        progress.len()
    );
    assert!(
        progress
            .windows(2)
            .all(|w| w[0].total_bytes_written <= w[1].total_bytes_written)
    );
    let last = progress.last().unwrap();
    assert_eq!(
        (
            last.progress,
            last.total_bytes_written,
            last.total_bytes_expected_to_write
        ),
        (100, len as u64, len as i64)
    );
    assert!(run.rec.chunks().is_empty(), "no chunk events for downloads");
    let events = run.rec.events();
    assert!(
        matches!(events[0], Event::Headers { .. }),
        "headers before any progress"
    );
}

#[test]
fn unknown_length_download_reports_every_byte_last() {
    let dir = temp_dir("unknown");
    let dest = dir.join("u.bin");
    let client = Client::new();
    let run = Run::download(
        &client,
        Opts::new(&server().url("/bytes-unknown/1000000")).file(&dest),
    );
    run.start();
    let out = run.wait();
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    assert_eq!(std::fs::read(&dest).unwrap().len(), 1_000_000);
    let progress = progress_events(&run.rec);
    let last = progress.last().unwrap();
    assert_eq!(last.total_bytes_written, 1_000_000);
    assert!(
        progress
            .iter()
            .all(|p| p.total_bytes_expected_to_write == -1 && p.progress == 0)
    );
}

#[test]
fn download_without_a_path_goes_to_the_clients_temp_dir() {
    let dir = temp_dir("tmpdir");
    let dir_c = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
    let client = Client::with(|o| o.temp_dir = dir_c.as_ptr());
    let run = Run::download(&client, Opts::new(&server().url("/status/404")));
    run.start();
    let out = run.wait();
    assert_eq!(out.code, NETTASK_OK, "a 404 page is downloaded too");
    assert_eq!(out.status, 404);
    let path = PathBuf::from(out.file_path.unwrap());
    assert_eq!(path.parent().unwrap(), dir);
    assert_eq!(std::fs::read(&path).unwrap(), b"status 404");
    assert_eq!(entries(&dir).len(), 1);
}

#[test]
fn failed_download_leaves_nothing_and_keeps_the_old_file() {
    let dir = temp_dir("cut");
    let dest = dir.join("keep.txt");
    std::fs::write(&dest, b"old contents").unwrap();
    let client = Client::new();
    let run = Run::download(
        &client,
        Opts::new(&server().url("/cut?total=100000&send=5000")).file(&dest),
    );
    run.start();
    let out = run.wait();
    assert_eq!(out.code, NETTASK_E_RECV);
    assert!(out.err_msg.starts_with("downloadFile:fail "));
    assert!(out.file_path.is_none());
    assert_eq!(std::fs::read(&dest).unwrap(), b"old contents");
    assert_eq!(entries(&dir), ["keep.txt"]);
}

#[test]
fn a_finished_download_replaces_a_file_or_symlink_and_leaves_nothing_else() {
    let dir = temp_dir("replace");
    let client = Client::new();
    let fetch_to = |dest: &Path| {
        let run = Run::download(&client, Opts::new(&server().url("/hello")).file(dest));
        run.start();
        run.wait()
    };
    let file = dir.join("file.txt");
    std::fs::write(&file, b"old contents, longer than the new").unwrap();
    assert_eq!(fetch_to(&file).code, NETTASK_OK);
    assert_eq!(std::fs::read(&file).unwrap(), b"hello world");
    // A symlink is replaced itself; what it pointed to stays as it was.
    let target = dir.join("target.txt");
    std::fs::write(&target, b"target").unwrap();
    let link = dir.join("link.txt");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_eq!(fetch_to(&link).code, NETTASK_OK);
    assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(std::fs::read(&link).unwrap(), b"hello world");
    assert_eq!(std::fs::read(&target).unwrap(), b"target");
    // A directory is not replaced.
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let out = fetch_to(&sub);
    assert_eq!(out.code, NETTASK_E_FILE, "{}", out.err_msg);
    assert!(sub.is_dir());
    assert_eq!(entries(&dir), ["file.txt", "link.txt", "sub", "target.txt"]);
}

#[test]
fn aborted_download_leaves_the_directory_empty() {
    let dir = temp_dir("abort");
    let client = Client::new();
    let run = Run::download(
        &client,
        Opts::new(&server().url("/stall?after=1000")).file(&dir.join("x")),
    );
    run.start();
    while progress_events(&run.rec).is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    run.abort();
    let out = run.wait();
    assert_eq!(out.code, NETTASK_E_ABORTED);
    assert_eq!(out.err_msg, "downloadFile:fail abort");
    assert!(entries(&dir).is_empty());
}

#[test]
fn unwritable_destination_is_a_file_error() {
    let client = Client::new();
    let dest = "/nonexistent-dir/sub/file.bin";
    let run = Run::download(
        &client,
        Opts::new(&server().url("/hello")).file(Path::new(dest)),
    );
    run.start();
    let out = run.wait();
    assert_eq!(out.code, NETTASK_E_FILE);
    assert!(
        out.err_msg.starts_with(&format!(
            "downloadFile:fail download save file error: {dest}: "
        )),
        "{}",
        out.err_msg
    );
}

#[test]
fn size_limit_at_headers_and_mid_body() {
    let dir = temp_dir("limit");
    let client = Client::new();
    let at_headers = Run::download(
        &client,
        Opts::new(&server().url("/bytes/100000"))
            .file(&dir.join("a"))
            .set(|o| o.max_response_bytes = 1000),
    );
    at_headers.start();
    let out = at_headers.wait();
    assert_eq!(out.code, NETTASK_E_TOO_LARGE);
    assert_eq!(out.err_msg, "downloadFile:fail exceed max file size");
    let mid_body = Run::download(
        &client,
        Opts::new(&server().url("/bytes-unknown/300000"))
            .file(&dir.join("b"))
            .set(|o| o.max_response_bytes = 100_000),
    );
    mid_body.start();
    assert_eq!(mid_body.wait().code, NETTASK_E_TOO_LARGE);
    assert!(entries(&dir).is_empty());
}

#[test]
fn downloads_and_requests_share_one_client() {
    let dir = temp_dir("mixed");
    let client = Client::new();
    let downloads: Vec<Run> = (0..3)
        .map(|i| {
            let run = Run::download(
                &client,
                Opts::new(&server().url("/bytes/2000000")).file(&dir.join(format!("{i}"))),
            );
            run.start();
            run
        })
        .collect();
    let requests: Vec<Run> = (0..10)
        .map(|_| {
            let run = Run::request(&client, Opts::new(&server().url("/hello")));
            run.start();
            run
        })
        .collect();
    for run in requests.iter().chain(&downloads) {
        assert_eq!(run.wait().code, NETTASK_OK);
    }
    assert_eq!(entries(&dir).len(), 3);
}
