//! Uploads (API.md "Uploads (wx.uploadFile / UploadTask)"): multipart
//! bodies streamed from disk, their progress, files that change under
//! them, abort, redirects, and bodies streamed from a file for requests.
//! The server's `/multipart` route parses what arrived and answers JSON
//! (tests/api/server.rs).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nettask::ffi::nettask_code::*;
use nettask::ffi::{nettask_code, nettask_progress, nettask_request_create};
use serde_json::{Value, json};
use sha2::Digest;

use crate::download::progress_events;
use crate::harness::*;
use crate::httpbin::httpbin;
use crate::server::{server, sha256_hex, upload_seen};

/// Uploads of hundreds of MiB on a slow shared machine.
const LONG: Duration = Duration::from_secs(180);

/// A directory of its own under the OS temp dir, removed on drop (a test
/// that fails leaves no 100 MiB file behind).
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("nettask-up-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `len` bytes to `path`, byte i being `(i + seed) % 251`, and
/// returns their SHA-256 in hex.
fn write_pattern(path: &Path, len: u64, seed: u64) -> String {
    const PIECE: usize = 251 * 4096;
    let piece: Vec<u8> = (0..PIECE + 251)
        .map(|i| ((i as u64 + seed) % 251) as u8)
        .collect();
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut hash = sha2::Sha256::new();
    let mut left = len;
    while left > 0 {
        let n = left.min(PIECE as u64) as usize;
        // PIECE is a multiple of the period: every piece starts at `seed`.
        file.write_all(&piece[..n]).unwrap();
        hash.update(&piece[..n]);
        left -= n as u64;
    }
    file.flush().unwrap();
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A file of `len` zero bytes that takes no disk space (for uploads whose
/// content does not matter).
fn sparse(path: &Path, len: u64) {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
}

/// The JSON answer of a task that succeeded.
fn json_of(out: &Outcome) -> Value {
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    serde_json::from_slice(&out.data).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.data));
    })
}

/// Starts `opts` as an upload and waits for it to succeed: its outcome,
/// the server's answer and the recorder.
fn upload_ok(client: &Client, opts: Opts) -> (Outcome, Value, Arc<Recorder>) {
    let run = Run::upload(client, opts);
    run.start();
    let out = run.rec.wait(LONG);
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    assert_eq!(out.err_msg, "uploadFile:ok");
    assert_eq!(out.status, 200, "{}", String::from_utf8_lossy(&out.data));
    let answer = json_of(&out);
    (out, answer, Arc::clone(&run.rec))
}

/// The parts the server parsed, in wire order.
fn parts(answer: &Value) -> &Vec<Value> {
    answer["parts"].as_array().expect("parts")
}

/// Checks that the last part is the file part `name` holding `len` bytes
/// hashing to `sha`, sent as application/octet-stream under `filename`.
fn assert_file_part(answer: &Value, name: &str, filename: &str, len: u64, sha: &str) {
    let file = parts(answer).last().expect("a file part");
    let seen = (
        &file["name"],
        &file["filename"],
        &file["content_type"],
        &file["size"],
        &file["sha256"],
    );
    let want = (
        &json!(name),
        &json!(filename),
        &json!("application/octet-stream"),
        &json!(len),
        &json!(sha),
    );
    assert_eq!(seen, want, "{answer}");
}

/// What the server recorded of the request tagged `tag`, once it has.
fn wait_seen(tag: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(seen) = upload_seen(tag) {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "the server recorded nothing for {tag}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for a progress event that reports bytes sent; panics if the task
/// completes first.
fn wait_for_bytes_sent(run: &Run) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if progress_events(&run.rec)
            .iter()
            .any(|p| p.total_bytes_sent > 0)
        {
            return;
        }
        assert!(
            run.rec.completions().is_empty(),
            "completed before sending: {:?}",
            run.rec.completions()
        );
        assert!(Instant::now() < deadline, "no byte sent in time");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The coalescing and field rules every upload's progress events follow
/// (one hop: no re-send); returns the whole body's announced length.
fn assert_upload_progress(progress: &[nettask_progress]) -> i64 {
    assert!(!progress.is_empty(), "no progress event");
    assert!(progress.len() <= 110, "{} events", progress.len());
    for p in progress {
        assert_eq!(
            (p.total_bytes_written, p.total_bytes_expected_to_write),
            (0, -1),
            "{p:?}"
        );
        assert!(p.progress <= 100, "{p:?}");
    }
    let expected = progress[0].total_bytes_expected_to_send;
    assert!(
        progress
            .iter()
            .all(|p| p.total_bytes_expected_to_send == expected),
        "the expected total changed: {progress:?}"
    );
    assert!(
        progress.windows(2).all(|w| {
            w[0].total_bytes_sent <= w[1].total_bytes_sent && w[0].progress <= w[1].progress
        }),
        "went back: {progress:?}"
    );
    let last = progress.last().unwrap();
    assert_eq!(
        (last.progress, last.total_bytes_sent as i64),
        (100, expected),
        "{last:?}"
    );
    expected
}

/// headers_received fired exactly once, and the completion came last.
fn assert_headers_once_then_complete(rec: &Recorder) {
    let events = rec.events();
    let headers = events
        .iter()
        .filter(|e| matches!(e, Event::Headers { .. }))
        .count();
    assert_eq!(headers, 1, "{events:?}");
    assert!(matches!(events.last(), Some(Event::Complete(_))));
    assert_eq!(rec.completions().len(), 1);
}

#[test]
fn text_fields_then_the_file_part_arrive_in_order() {
    let dir = Dir::new("fields");
    let path = dir.join("照片.jpg");
    let sha = write_pattern(&path, 300_000, 7);
    let url = server().url("/multipart?tag=fields");
    let opts = Opts::new(&url)
        .form_field("a", "1")
        .form_field("b", "中文 value")
        .upload(&path, "photo");
    let (out, answer, rec) = upload_ok(&Client::new(), opts);
    assert_eq!(
        out.data,
        wait_seen("fields").as_bytes(),
        "data is the server's answer"
    );
    assert_eq!(answer["method"], "POST");
    let content_type = answer["content_type"].as_str().unwrap();
    assert!(
        content_type.starts_with("multipart/form-data; boundary="),
        "{content_type}"
    );
    let parts = parts(&answer);
    assert_eq!(parts.len(), 3, "{answer}");
    for (part, (name, text)) in parts.iter().zip([("a", "1"), ("b", "中文 value")]) {
        let seen = (&part["name"], &part["text"], &part["filename"]);
        assert_eq!(seen, (&json!(name), &json!(text), &Value::Null), "{part}");
    }
    assert_file_part(&answer, "photo", "照片.jpg", 300_000, &sha);
    assert_headers_once_then_complete(&rec);
    assert!(matches!(
        rec.events()
            .iter()
            .find(|e| matches!(e, Event::Headers { .. })),
        Some(Event::Headers { status: 200, .. })
    ));
}

#[test]
fn an_empty_file_is_an_empty_part() {
    let dir = Dir::new("empty");
    let path = dir.join("empty.bin");
    std::fs::write(&path, b"").unwrap();
    let opts = Opts::new(&server().url("/multipart")).upload(&path, "file");
    let (_, answer, _) = upload_ok(&Client::new(), opts);
    assert_eq!(parts(&answer).len(), 1, "{answer}");
    assert_file_part(&answer, "file", "empty.bin", 0, &sha256_hex(b""));
}

#[test]
fn a_hundred_mib_file_is_streamed_with_coalesced_progress() {
    let dir = Dir::new("big");
    let path = dir.join("big.bin");
    let len = 100 << 20;
    let sha = write_pattern(&path, len, 0);
    let opts = Opts::new(&server().url("/multipart"))
        .form_field("kind", "big")
        .upload(&path, "file");
    let (_, answer, rec) = upload_ok(&Client::new(), opts);
    assert_file_part(&answer, "file", "big.bin", len, &sha);
    let expected = assert_upload_progress(&progress_events(&rec));
    assert_eq!(
        expected,
        answer["body_size"].as_i64().unwrap(),
        "the whole request body"
    );
    assert!(expected > len as i64);
    assert_headers_once_then_complete(&rec);
}

#[test]
fn create_refuses_missing_files_and_bad_names() {
    let dir = Dir::new("refused");
    let file = dir.join("f.txt");
    std::fs::write(&file, b"x").unwrap();
    let missing = dir.join("missing.bin");
    let url = server().url("/multipart");
    let client = Client::new();
    let refused = |opts: Opts| match Run::try_upload(&client, opts) {
        Ok(_) => panic!("created"),
        Err(e) => e,
    };

    let (code, sentence) = refused(Opts::new(&url).upload(&missing, "file"));
    assert_eq!(code, NETTASK_E_FILE, "{sentence}");
    assert!(
        sentence.contains(missing.to_str().unwrap()),
        "names the path: {sentence}"
    );
    let request = Opts::new(&server().url("/upload-sink"))
        .method("PUT")
        .body_file(&missing);
    let (code, sentence) = refuse_request(&client, request);
    assert_eq!(code, NETTASK_E_FILE, "{sentence}");
    assert!(sentence.contains(missing.to_str().unwrap()), "{sentence}");

    let invalid: Vec<(&str, Opts)> = vec![
        ("no file", Opts::new(&url).upload_name("file")),
        ("no name", Opts::new(&url).upload_file(&file)),
        ("CR in name", Opts::new(&url).upload(&file, "a\rb")),
        ("LF in name", Opts::new(&url).upload(&file, "a\nb")),
        ("quote in name", Opts::new(&url).upload(&file, "a\"b")),
        (
            "CR in a field name",
            Opts::new(&url)
                .form_field("x\ry", "1")
                .upload(&file, "file"),
        ),
        (
            "LF in a field name",
            Opts::new(&url)
                .form_field("x\ny", "1")
                .upload(&file, "file"),
        ),
        (
            "quote in a field name",
            Opts::new(&url)
                .form_field("x\"y", "1")
                .upload(&file, "file"),
        ),
    ];
    for (what, opts) in invalid {
        let (code, sentence) = refused(opts);
        assert_eq!(code, NETTASK_E_INVALID_ARGUMENT, "{what}: {sentence}");
        assert!(!sentence.is_empty(), "{what}: a sentence");
    }
    let both = Opts::new(&server().url("/upload-sink"))
        .method("PUT")
        .body(b"x".to_vec())
        .body_file(&file);
    let (code, sentence) = refuse_request(&client, both);
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT, "body and body_file_path");
    assert!(!sentence.is_empty());
}

fn refuse_request(client: &Client, opts: Opts) -> (nettask_code, String) {
    match Run::try_create(client.0, opts, nettask_request_create) {
        Ok(_) => panic!("created"),
        Err(e) => e,
    }
}

#[test]
fn a_file_removed_after_create_is_sent_whole_or_fails() {
    let dir = Dir::new("removed");
    let path = dir.join("gone.bin");
    let len = 1 << 20;
    let sha = write_pattern(&path, len, 3);
    let client = Client::new();
    let run = Run::upload(
        &client,
        Opts::new(&server().url("/multipart")).upload(&path, "file"),
    );
    std::fs::remove_file(&path).unwrap();
    run.start();
    let out = run.rec.wait(LONG);
    match out.code {
        // The file opened at create is still readable after its unlink.
        NETTASK_OK => assert_file_part(&json_of(&out), "file", "gone.bin", len, &sha),
        NETTASK_E_FILE => {
            let prefix = format!("uploadFile:fail file read error: {}: ", path.display());
            assert!(out.err_msg.starts_with(&prefix), "{}", out.err_msg);
        }
        other => panic!("{other:?}: {}", out.err_msg),
    }
}

#[test]
fn a_file_truncated_while_sending_fails_and_the_body_is_never_completed() {
    let dir = Dir::new("truncated");
    let path = dir.join("shrinks.bin");
    let len = 64 << 20;
    sparse(&path, len);
    let client = Client::new();
    // 64 KiB per 10 ms: the whole file would take about 10 s.
    let url = server().url("/multipart?slow_ms=10&tag=truncated");
    let run = Run::upload(&client, Opts::new(&url).upload(&path, "file"));
    run.start();
    wait_for_bytes_sent(&run);
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len / 2).unwrap();
    let out = run.rec.wait(LONG);
    assert_eq!(out.code, NETTASK_E_FILE, "{}", out.err_msg);
    let prefix = format!("uploadFile:fail file read error: {}: ", path.display());
    assert!(out.err_msg.starts_with(&prefix), "{}", out.err_msg);
    assert_eq!(run.rec.completions().len(), 1);
    // No short body was finished as if it were whole.
    let seen = wait_seen("truncated");
    assert!(seen.starts_with("incomplete"), "{seen}");
}

#[test]
fn abort_mid_upload_stops_sending_at_once() {
    let dir = Dir::new("abort");
    let path = dir.join("huge.bin");
    sparse(&path, 256 << 20);
    let client = Client::new();
    let url = server().url("/multipart?slow_ms=10&tag=abort");
    let run = Run::upload(&client, Opts::new(&url).upload(&path, "file"));
    run.start();
    wait_for_bytes_sent(&run);
    let aborted_at = Instant::now();
    assert_eq!(run.abort(), NETTASK_OK);
    let out = run.rec.wait(LONG);
    let completed_at = run.rec.events.lock().unwrap().last().unwrap().0;
    assert_eq!(out.code, NETTASK_E_ABORTED, "{}", out.err_msg);
    assert_eq!(out.err_msg, "uploadFile:fail abort");
    let latency = completed_at.duration_since(aborted_at);
    assert!(latency < Duration::from_secs(1), "{latency:?}");
    let seen = wait_seen("abort");
    assert!(seen.starts_with("incomplete"), "{seen}");
}

#[test]
fn uploads_and_requests_share_the_concurrency_limit() {
    let dir = Dir::new("queue");
    let client = Client::with(|o| o.max_concurrent_tasks = 3);
    let mut uploads = Vec::new();
    let mut requests = Vec::new();
    for i in 0..10u64 {
        let path = dir.join(&format!("{i}.bin"));
        let len = 100_000 + i * 10_007;
        let sha = write_pattern(&path, len, i);
        let run = Run::upload(
            &client,
            Opts::new(&server().url("/multipart"))
                .form_field("i", &i.to_string())
                .upload(&path, "file"),
        );
        run.start();
        uploads.push((run, format!("{i}.bin"), len, sha));
        let request = Run::request(&client, Opts::new(&server().url("/hello")));
        request.start();
        requests.push(request);
    }
    for (run, filename, len, sha) in &uploads {
        let out = run.rec.wait(LONG);
        assert_eq!(out.err_msg, "uploadFile:ok");
        assert_file_part(&json_of(&out), "file", filename, *len, sha);
    }
    for run in &requests {
        let out = run.rec.wait(LONG);
        assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
        assert_eq!(out.data, b"hello world");
    }
}

#[test]
fn a_307_or_308_resends_the_whole_upload() {
    let dir = Dir::new("resend");
    let path = dir.join("again.bin");
    let len = 3 << 20;
    let sha = write_pattern(&path, len, 11);
    let client = Client::new();
    for code in [307, 308] {
        let url = server().url(&format!("/redirect-upload?code={code}"));
        let opts = Opts::new(&url).form_field("a", "1").upload(&path, "file");
        let (out, answer, rec) = upload_ok(&client, opts);
        assert_eq!(out.profile.redirect_count, 1, "{code}");
        assert_eq!(answer["method"], "POST", "{code}");
        assert_eq!(parts(&answer).len(), 2, "{code}: {answer}");
        assert_file_part(&answer, "file", "again.bin", len, &sha);
        // The count may start again from 0 for the new hop, once.
        let progress = progress_events(&rec);
        let restarts = progress
            .windows(2)
            .filter(|w| w[1].total_bytes_sent < w[0].total_bytes_sent)
            .count();
        assert!(restarts <= 1, "{code}: {progress:?}");
        let last = progress.last().expect("progress");
        assert_eq!(
            (last.progress, last.total_bytes_sent as i64),
            (100, last.total_bytes_expected_to_send),
            "{code}: {last:?}"
        );
        assert_eq!(
            last.total_bytes_expected_to_send,
            answer["body_size"].as_i64().unwrap()
        );
    }
}

#[test]
fn a_303_turns_the_upload_into_a_get_without_body() {
    let dir = Dir::new("see-other");
    let path = dir.join("f.bin");
    write_pattern(&path, 1 << 20, 0);
    let url = server().url("/redirect-upload?code=303");
    let opts = Opts::new(&url).form_field("a", "1").upload(&path, "file");
    let (out, answer, _) = upload_ok(&Client::new(), opts);
    assert_eq!(out.profile.redirect_count, 1);
    let seen = (
        &answer["method"],
        &answer["content_type"],
        &answer["body_size"],
    );
    assert_eq!(seen, (&json!("GET"), &Value::Null, &json!(0)), "{answer}");
    assert!(parts(&answer).is_empty(), "{answer}");
}

#[test]
fn a_request_body_streamed_from_a_file() {
    let dir = Dir::new("put");
    let path = dir.join("body.bin");
    let len = 10 << 20;
    let sha = write_pattern(&path, len, 5);
    let client = Client::new();
    let run = Run::request(
        &client,
        Opts::new(&server().url("/upload-sink"))
            .method("PUT")
            .body_file(&path),
    );
    run.start();
    let out = run.rec.wait(LONG);
    assert_eq!(out.err_msg, "request:ok");
    let answer = json_of(&out);
    let seen = (&answer["method"], &answer["size"], &answer["sha256"]);
    assert_eq!(seen, (&json!("PUT"), &json!(len), &json!(sha)), "{answer}");
    assert_eq!(
        answer["content_type"],
        Value::Null,
        "no Content-Type invented"
    );
}

#[test]
fn httpbin_sees_the_form_and_the_file() {
    let dir = Dir::new("httpbin");
    let path = dir.join("hello.txt");
    std::fs::write(&path, "hello upload\n").unwrap();
    let opts = Opts::new(&httpbin().url("/post"))
        .form_field("a", "1")
        .form_field("b", "中文 value")
        .upload(&path, "file");
    let (_, answer, _) = upload_ok(&Client::new(), opts);
    assert_eq!(
        answer["form"],
        json!({"a": "1", "b": "中文 value"}),
        "{answer}"
    );
    assert_eq!(
        answer["files"],
        json!({"file": "hello upload\n"}),
        "{answer}"
    );
    let content_type = answer["headers"]["Content-Type"].as_str().unwrap();
    assert!(
        content_type.starts_with("multipart/form-data"),
        "{content_type}"
    );
}

#[test]
fn an_upload_over_h2_and_tls() {
    let dir = Dir::new("h2");
    let path = dir.join("secure.bin");
    let len = 2 << 20;
    let sha = write_pattern(&path, len, 1);
    let ca = std::ffi::CString::new(server().ca_file.to_str().unwrap()).unwrap();
    let client = Client::with(|o| o.ca_file = ca.as_ptr());
    let opts = Opts::new(&server().https_url("/multipart")).upload(&path, "file");
    let (out, answer, rec) = upload_ok(&client, opts);
    assert_eq!(out.protocol, "h2");
    assert_file_part(&answer, "file", "secure.bin", len, &sha);
    assert!(
        rec.events()
            .iter()
            .any(|e| matches!(e, Event::Headers { version, .. } if version == "2"))
    );
}
