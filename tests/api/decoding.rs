//! Content decoding (API.md "Bodies as the page expects them"): gzip,
//! deflate, br and zstd offered and undone by default, for the chunk
//! listeners, the buffered data, downloads and the size limit alike.

use std::time::{Duration, Instant};

use nettask::ffi::nettask_code::*;

use crate::harness::*;
use crate::server::{pattern, server};

#[test]
fn every_supported_coding_is_offered_and_decoded() {
    let client = Client::new();
    for coding in ["gzip", "deflate", "br", "zstd"] {
        let (out, rec) = fetch(
            &client,
            Opts::new(&server().url(&format!("/encoded/{coding}/300000"))),
        );
        assert_eq!(out.code, NETTASK_OK, "{coding}: {}", out.err_msg);
        assert!(out.data == pattern(300_000), "{coding}: decoded body");
        assert_eq!(out.data_length, 300_000, "{coding}");
        assert!(
            rec.chunks() == pattern(300_000),
            "{coding}: chunks are decoded"
        );
        // The head stays what the server sent.
        assert_eq!(out.header("content-encoding"), Some(coding));
    }
    let (out, _) = fetch(&client, Opts::new(&server().url("/headers")));
    let sent = String::from_utf8(out.data).unwrap();
    assert!(
        sent.contains("accept-encoding: gzip, deflate, br, zstd\n"),
        "{sent}"
    );
}

#[test]
fn an_empty_accept_encoding_offers_nothing_and_hands_over_raw_bytes() {
    let client = Client::new();
    let raw =
        Opts::new(&server().url("/encoded/gzip/1000")).set(|o| o.accept_encoding = c"".as_ptr());
    let (out, _) = fetch(&client, raw);
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    assert_eq!(&out.data[..2], [0x1f, 0x8b], "the gzip bytes themselves");
    let none = Opts::new(&server().url("/headers")).set(|o| o.accept_encoding = c"".as_ptr());
    let (out, _) = fetch(&client, none);
    let sent = String::from_utf8(out.data).unwrap();
    assert!(!sent.contains("accept-encoding"), "{sent}");
}

#[test]
fn a_chosen_list_is_sent_as_written_and_only_its_codings_decoded() {
    let client = Client::new();
    let gzip_only =
        || Opts::new(&server().url("/headers")).set(|o| o.accept_encoding = c"gzip;q=1".as_ptr());
    let (out, _) = fetch(&client, gzip_only());
    let sent = String::from_utf8(out.data).unwrap();
    assert!(sent.contains("accept-encoding: gzip;q=1\n"), "{sent}");
    let url = server().url("/encoded/br/1000");
    let (br, _) = fetch(
        &client,
        Opts::new(&url).set(|o| o.accept_encoding = c"gzip".as_ptr()),
    );
    assert!(br.data != pattern(1000), "br was not offered: raw bytes");
    // The caller's own header counts as the option.
    let (own, _) = fetch(&client, Opts::new(&url).header("Accept-Encoding", "br"));
    assert!(own.data == pattern(1000));
}

#[test]
fn a_corrupt_body_is_a_recv_failure() {
    let (out, _) = fetch(
        &Client::new(),
        Opts::new(&server().url("/encoded/corrupt/100000")),
    );
    assert_eq!(out.code, NETTASK_E_RECV, "{}", out.err_msg);
    assert!(
        out.err_msg
            .starts_with("request:fail the gzip body is corrupt"),
        "{}",
        out.err_msg
    );
}

#[test]
fn downloads_are_decoded_and_their_total_is_unknown() {
    let dir = crate::download::temp_dir("decoded");
    let path = dir.join("decoded.bin");
    let client = Client::new();
    let url = server().url("/encoded/zstd/500000");
    let run = Run::download(&client, Opts::new(&url).file(&path));
    run.start();
    let out = run.wait();
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    assert!(std::fs::read(&path).unwrap() == pattern(500_000));
    assert_eq!(out.data_length, 500_000);
    let progress = crate::download::progress_events(&run.rec);
    let last = progress.last().unwrap();
    assert_eq!(
        (last.total_bytes_written, last.total_bytes_expected_to_write),
        (500_000, -1)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_decompression_bomb_stops_at_the_limit() {
    // 10 MB on the wire that would inflate to 10 GiB: max_response_bytes
    // counts decoded bytes, so it stops after 64 MiB of them.
    let client = Client::new();
    let limit = 64 << 20;
    let started = Instant::now();
    let (out, rec) = fetch(
        &client,
        Opts::new(&server().url("/bomb")).set(|o| {
            o.max_response_bytes = limit;
            o.enable_chunked = true;
        }),
    );
    assert_eq!(out.code, NETTASK_E_TOO_LARGE, "{}", out.err_msg);
    assert_eq!(out.err_msg, "request:fail exceed max file size");
    let delivered = rec.chunks().len() as u64;
    assert!(delivered <= limit, "{delivered}");
    assert!(started.elapsed() < Duration::from_secs(30));
}
