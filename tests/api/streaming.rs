//! Streaming text (API.md "Streaming text"): chunk framing by UTF-8
//! character and by line, server-sent events, and streams without a
//! whole-task deadline, against a server that flushes in odd pieces.

use std::time::{Duration, Instant};

use nettask::ffi::nettask_code::*;
use nettask::ffi::*;

use crate::harness::*;
use crate::server::{CHAT, server};

fn chat(piece: usize) -> String {
    server().url(&format!("/chat?piece={piece}&delay_ms=1"))
}

fn chunk_pieces(rec: &Recorder) -> Vec<Vec<u8>> {
    rec.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Chunk(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn sse(event_type: &str, data: &str, id: &str) -> Sse {
    Sse {
        event_type: event_type.into(),
        data: data.into(),
        last_event_id: id.into(),
        retry_ms: 2500,
    }
}

#[test]
fn utf8_framing_never_cuts_a_character() {
    let client = Client::new();
    for piece in [1, 2, 3, 5] {
        let opts = Opts::new(&chat(piece)).set(|o| o.chunk_framing = NETTASK_FRAMING_UTF8);
        let (out, rec) = fetch(&client, opts);
        assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
        let pieces = chunk_pieces(&rec);
        assert!(pieces.len() > 10, "delivered as it came: {}", pieces.len());
        for p in &pieces {
            assert!(std::str::from_utf8(p).is_ok(), "piece {piece}: {p:?}");
        }
        assert_eq!(pieces.concat(), CHAT.as_bytes());
        assert_eq!(out.data, CHAT.as_bytes(), "the buffered body is the body");
    }
}

#[test]
fn lines_framing_delivers_whole_lines() {
    let client = Client::new();
    let opts = Opts::new(&chat(3)).set(|o| o.chunk_framing = NETTASK_FRAMING_LINES);
    let (out, rec) = fetch(&client, opts);
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    let pieces = chunk_pieces(&rec);
    for p in &pieces[..pieces.len() - 1] {
        assert!(p.ends_with(b"\n"), "{:?}", String::from_utf8_lossy(p));
    }
    assert_eq!(pieces.concat(), CHAT.as_bytes());
}

#[test]
fn raw_bytes_with_a_framing_left_held_are_delivered_before_completion() {
    // The body ends without "\n": the last piece comes before completion.
    let url = server().url("/stream?n=3&size=4&delay_ms=1");
    let opts = Opts::new(&url).set(|o| o.chunk_framing = NETTASK_FRAMING_LINES);
    let (_, rec) = fetch(&Client::new(), opts);
    let events = rec.events();
    assert!(matches!(&events[events.len() - 2], Event::Chunk(c) if c == b"aaaabbbbcccc"));
}

#[test]
fn server_sent_events_are_parsed_in_any_pieces() {
    let client = Client::new();
    for piece in [1, 2, 7, 1000] {
        let run = Run::request(&client, Opts::new(&chat(piece)));
        run.listen_sse().start();
        let out = run.wait();
        assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
        assert_eq!(
            run.rec.sse_events(),
            [
                sse("delta", "你好，", "1"),
                sse("delta", "世界😀\n第二行", "2"),
                sse("message", "{\"done\":true}", "2"),
            ],
            "pieces of {piece}"
        );
        assert_eq!(run.rec.chunks(), CHAT.as_bytes(), "chunks stay raw");
    }
}

#[test]
fn the_first_event_arrives_while_the_stream_runs() {
    let client = Client::new();
    let run = Run::request(
        &client,
        Opts::new(&server().url("/events?n=3&delay_ms=300")),
    );
    run.listen_sse().start();
    run.wait();
    let events = run.rec.events.lock().unwrap().clone();
    let first = events
        .iter()
        .find(|(_, _, e)| matches!(e, Event::Sse(_)))
        .unwrap()
        .0;
    let done = events.last().unwrap().0;
    assert!(
        done - first >= Duration::from_millis(500),
        "{:?}",
        done - first
    );
    assert_eq!(run.rec.sse_events().len(), 3);
}

#[test]
fn no_event_after_abort() {
    let client = Client::new();
    let run = Run::request(&client, Opts::new(&server().url("/events?delay_ms=20")));
    run.listen_sse().start();
    while run.rec.sse_events().len() < 2 {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(run.abort(), NETTASK_OK);
    let seen = run.rec.sse_events().len();
    let out = run.wait();
    assert_eq!(out.code, NETTASK_E_ABORTED);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(run.rec.sse_events().len(), seen);
    assert!(matches!(run.rec.events().last(), Some(Event::Complete(_))));
}

#[test]
fn events_over_h2_and_tls() {
    let ca = std::ffi::CString::new(server().ca_file.to_str().unwrap()).unwrap();
    let client = Client::with(|o| o.ca_file = ca.as_ptr());
    let run = Run::request(
        &client,
        Opts::new(&server().https_url("/chat?piece=2&delay_ms=1")),
    );
    run.listen_sse().start();
    let out = run.wait();
    assert_eq!(
        (out.code, out.protocol.as_str()),
        (NETTASK_OK, "h2"),
        "{}",
        out.err_msg
    );
    assert_eq!(run.rec.sse_events().len(), 3);
}

#[test]
fn a_stream_without_deadline_outlives_the_default_timeout() {
    // The client's default timeout is 300 ms; the stream runs ~1 s.
    let client = Client::with(|o| o.default_timeout_ms = 300);
    let url = server().url("/events?n=5&delay_ms=200");
    let (cut, _) = fetch(&client, Opts::new(&url));
    assert_eq!(cut.code, NETTASK_E_TIMEOUT);
    let started = Instant::now();
    let endless = Opts::new(&url).set(|o| o.timeout_ms = NETTASK_TIMEOUT_NONE);
    let (out, _) = fetch(&client, endless);
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    assert!(started.elapsed() >= Duration::from_millis(800));
    // The idle timeout still guards a stream that stalls.
    let stalled = Opts::new(&server().url("/stall?after=10")).set(|o| {
        o.timeout_ms = NETTASK_TIMEOUT_NONE;
        o.idle_timeout_ms = 300;
    });
    let (out, _) = fetch(&client, stalled);
    assert_eq!(
        (out.code, out.err_msg.as_str()),
        (NETTASK_E_TIMEOUT, "request:fail timeout")
    );
}

#[test]
fn an_unknown_framing_is_refused_at_create() {
    let client = Client::new();
    let mut opts = Opts::new(&server().url("/hello")).set(|o| o.chunk_framing = 3);
    let raw = opts.as_raw();
    let mut task = std::ptr::null_mut();
    // SAFETY: valid pointers.
    let code = unsafe { nettask_request_create(client.0, &raw, &mut task) };
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
    assert!(last_error().contains("chunk_framing"), "{}", last_error());
}

#[test]
fn sse_listeners_keep_the_listener_rules() {
    let client = Client::new();
    let run = Run::request(&client, Opts::new(&chat(1000)));
    let ud = run.rec.as_user_data();
    // SAFETY: a live task; `run.rec` outlives its events.
    unsafe {
        // The same pair twice is one listener; off(NULL) removes them all.
        assert_eq!(nettask_on_sse_event(run.task, Some(on_sse), ud), NETTASK_OK);
        assert_eq!(nettask_on_sse_event(run.task, Some(on_sse), ud), NETTASK_OK);
        assert_eq!(nettask_off_sse_event(run.task, None, ud), NETTASK_OK);
        assert_eq!(nettask_on_sse_event(run.task, Some(on_sse), ud), NETTASK_OK);
        assert_eq!(nettask_on_sse_event(run.task, Some(on_sse), ud), NETTASK_OK);
        assert_eq!(
            nettask_on_sse_event(std::ptr::null_mut(), Some(on_sse), ud),
            NETTASK_E_INVALID_ARGUMENT
        );
        assert_eq!(
            nettask_on_sse_event(run.task, None, ud),
            NETTASK_E_INVALID_ARGUMENT
        );
    }
    run.start();
    run.wait();
    assert_eq!(run.rec.sse_events().len(), 3, "each event once");
    assert!(matches!(run.rec.events().last(), Some(Event::Complete(_))));
}
