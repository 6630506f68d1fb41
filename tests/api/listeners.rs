//! Listener rules: dedupe, order, off, off(NULL), off from inside, threads.

use std::ffi::c_void;
use std::sync::Mutex;

use nettask::ffi::nettask_code::*;
use nettask::ffi::*;

use crate::harness::*;
use crate::server::server;

/// Each call appends the user_data's tag to a shared log.
static LOG: Mutex<Vec<(usize, &'static str)>> = Mutex::new(Vec::new());

fn log_of(test: usize) -> Vec<&'static str> {
    LOG.lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| *t == test)
        .map(|(_, s)| *s)
        .collect()
}

struct Tag {
    test: usize,
    name: &'static str,
}

unsafe extern "C" fn log_complete(_: *mut nettask_task, _: *const nettask_result, ud: *mut c_void) {
    // SAFETY: tests pass a static Tag.
    let tag = unsafe { &*(ud as *const Tag) };
    LOG.lock().unwrap().push((tag.test, tag.name));
}

unsafe extern "C" fn log_chunk(task: *mut nettask_task, _: *const u8, _: usize, ud: *mut c_void) {
    // SAFETY: tests pass a static Tag.
    let tag = unsafe { &*(ud as *const Tag) };
    LOG.lock().unwrap().push((tag.test, tag.name));
    if tag.name == "self-removing" {
        assert_eq!(
            // SAFETY: valid during the call.
            unsafe { nettask_off_chunk_received(task, Some(log_chunk), ud) },
            NETTASK_OK
        );
    }
}

static A: Tag = Tag { test: 1, name: "a" };
static B: Tag = Tag { test: 1, name: "b" };
static C: Tag = Tag { test: 1, name: "c" };

fn ud(tag: &'static Tag) -> *mut c_void {
    tag as *const Tag as *mut c_void
}

#[test]
fn listeners_run_in_order_once_per_pair_and_off_removes_them() {
    let client = Client::new();
    let run = Run::request(&client, Opts::new(&server().url("/hello")));
    // SAFETY: a live task and static user data.
    unsafe {
        nettask_on_complete(run.task, Some(log_complete), ud(&B));
        nettask_on_complete(run.task, Some(log_complete), ud(&A));
        nettask_on_complete(run.task, Some(log_complete), ud(&B)); // duplicate: ignored
        nettask_on_complete(run.task, Some(log_complete), ud(&C));
        assert_eq!(
            nettask_off_complete(run.task, Some(log_complete), ud(&C)),
            NETTASK_OK
        );
    }
    run.start();
    run.wait();
    drop(client); // returns once every listener has returned
    assert_eq!(log_of(1), ["b", "a"]);
}

static D: Tag = Tag { test: 2, name: "d" };

#[test]
fn off_with_null_removes_every_listener_of_the_event() {
    let client = Client::new();
    let run = Run::request(&client, Opts::new(&server().url("/hello")));
    // SAFETY: a live task.
    unsafe {
        nettask_on_complete(run.task, Some(log_complete), ud(&D));
        nettask_on_chunk_received(run.task, Some(log_chunk), ud(&D));
        assert_eq!(
            nettask_off_chunk_received(run.task, None, std::ptr::null_mut()),
            NETTASK_OK
        );
    }
    run.start();
    let out = run.wait();
    assert_eq!(out.code, NETTASK_OK);
    assert!(
        run.rec.chunks().is_empty(),
        "the recorder's chunk listener was removed too"
    );
    drop(client); // returns once every listener has returned
    assert_eq!(log_of(2), ["d"], "complete listeners stay");
}

static SELF: Tag = Tag {
    test: 3,
    name: "self-removing",
};
static STAYS: Tag = Tag {
    test: 3,
    name: "stays",
};

#[test]
fn a_listener_can_remove_itself() {
    let client = Client::new();
    let run = Run::request(&client, Opts::new(&server().url("/stream?n=4&delay_ms=30")));
    // SAFETY: a live task.
    unsafe {
        nettask_on_chunk_received(run.task, Some(log_chunk), ud(&SELF));
        nettask_on_chunk_received(run.task, Some(log_chunk), ud(&STAYS));
    }
    run.start();
    run.wait();
    let log = log_of(3);
    assert_eq!(log.iter().filter(|n| **n == "self-removing").count(), 1);
    // "stays" hears every chunk event, as the recorder does (a slow reader
    // may get two flushes in one event, so the count is not fixed).
    let stays = log.iter().filter(|n| **n == "stays").count();
    let events = run.rec.events();
    let chunk_events = events
        .iter()
        .filter(|e| matches!(e, Event::Chunk(_)))
        .count();
    assert_eq!(stays, chunk_events, "{log:?}");
}

#[test]
fn every_listener_runs_on_the_clients_one_thread() {
    let client = Client::new();
    let runs: Vec<Run> = (0..5)
        .map(|i| {
            let url = if i % 2 == 0 {
                server().url("/stream?n=3&delay_ms=10")
            } else {
                server().url("/hello")
            };
            let run = Run::request(&client, Opts::new(&url));
            run.start();
            run
        })
        .collect();
    let mut threads = std::collections::HashSet::new();
    for run in &runs {
        run.wait();
        for (_, thread, _) in run.rec.events.lock().unwrap().iter() {
            threads.insert(*thread);
        }
    }
    assert_eq!(threads.len(), 1);
    assert!(!threads.contains(&std::thread::current().id()));
}

#[test]
fn null_task_or_callback_is_an_invalid_argument() {
    let client = Client::new();
    let run = Run::request(&client, Opts::new(&server().url("/hello")));
    // SAFETY: NULLs are what is tested; the task is live.
    unsafe {
        assert_eq!(
            nettask_on_complete(
                std::ptr::null_mut(),
                Some(log_complete),
                std::ptr::null_mut()
            ),
            NETTASK_E_INVALID_ARGUMENT
        );
        assert!(last_error().contains("task is NULL"));
        assert_eq!(
            nettask_on_headers_received(run.task, None, std::ptr::null_mut()),
            NETTASK_E_INVALID_ARGUMENT
        );
        assert!(last_error().contains("callback is NULL"));
        assert_eq!(
            nettask_off_progress_update(std::ptr::null_mut(), None, std::ptr::null_mut()),
            NETTASK_E_INVALID_ARGUMENT
        );
    }
}
