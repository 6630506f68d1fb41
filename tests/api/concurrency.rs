//! Many tasks at once: the concurrency limit, concurrent aborts, client free.

use std::sync::Arc;
use std::time::Duration;

use nettask::ffi::nettask_code::*;
use nettask::ffi::*;

use crate::harness::*;
use crate::server::server;

#[test]
fn five_hundred_tasks_through_sixteen_slots_each_complete_once() {
    let client = Client::with(|o| o.max_concurrent_tasks = 16);
    let runs: Vec<Run> = (0..500)
        .map(|i| {
            let path = if i % 3 == 0 {
                "/stream?n=2&delay_ms=5".to_string()
            } else {
                format!("/bytes/{}", i * 10)
            };
            let run = Run::request(&client, Opts::new(&server().url(&path)));
            run.start();
            run
        })
        .collect();
    let mut queued_some = false;
    for (i, run) in runs.iter().enumerate() {
        let out = run.wait();
        assert_eq!(out.code, NETTASK_OK, "task {i}: {}", out.err_msg);
        queued_some |= out.profile.queued_us > 1000;
    }
    std::thread::sleep(Duration::from_millis(50));
    for run in &runs {
        assert_eq!(run.rec.completions().len(), 1);
    }
    assert!(queued_some, "tasks beyond 16 waited in the queue");
}

#[test]
fn tasks_waiting_for_a_place_abort_at_once_and_the_queue_moves_on() {
    let client = Client::with(|o| o.max_concurrent_tasks = 1);
    // Holds the one place until it is aborted below, however long the
    // 2,000 creates and aborts take (an emulator makes them slow).
    let busy = Run::request(&client, Opts::new(&server().url("/stall")));
    busy.start();
    let queued: Vec<Run> = (0..2_000)
        .map(|_| {
            let run = Run::request(&client, Opts::new(&server().url("/hello")));
            run.start();
            run
        })
        .collect();
    // Aborted from the back of the queue to the front, while the slow one runs.
    for run in queued.iter().rev() {
        assert_eq!(run.abort(), NETTASK_OK);
    }
    for run in &queued {
        let out = run.wait();
        assert_eq!(out.code, NETTASK_E_ABORTED, "{}", out.err_msg);
        assert_eq!(out.err_msg, "request:fail abort");
        assert_eq!(out.status, 0);
    }
    assert_eq!(busy.abort(), NETTASK_OK);
    assert_eq!(busy.wait().code, NETTASK_E_ABORTED);
    // The aborted tasks left the queue: the next one runs.
    let (next, _) = fetch(&client, Opts::new(&server().url("/hello")));
    assert_eq!(next.code, NETTASK_OK);
    assert_eq!(next.data, b"hello world");
    std::thread::sleep(Duration::from_millis(50));
    for run in &queued {
        assert_eq!(run.rec.events().len(), 1, "only the completion");
    }
}

#[test]
fn two_hundred_tasks_aborted_from_four_threads() {
    let client = Client::with(|o| o.max_concurrent_tasks = 64);
    let runs: Vec<Run> = (0..200)
        .map(|i| {
            let path = match i % 4 {
                0 => "/stall?after=3",
                1 => "/stream?n=50&delay_ms=20",
                2 => "/hello",
                _ => "/slow?ms=2000",
            };
            let run = Run::request(&client, Opts::new(&server().url(path)));
            run.start();
            run
        })
        .collect();
    std::thread::sleep(Duration::from_millis(30));
    let runs = Arc::new(runs);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let runs = Arc::clone(&runs);
            std::thread::spawn(move || {
                for run in runs.iter().skip(t).step_by(4) {
                    assert_eq!(run.abort(), NETTASK_OK);
                }
                // and again: idempotent
                for run in runs.iter() {
                    assert_eq!(run.abort(), NETTASK_OK);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for run in runs.iter() {
        let out = run.wait();
        assert!(
            out.code == NETTASK_E_ABORTED || out.code == NETTASK_OK,
            "{:?}",
            out.code
        );
    }
    std::thread::sleep(Duration::from_millis(100));
    let mut aborted = 0;
    for run in runs.iter() {
        let events = run.rec.events();
        assert_eq!(run.rec.completions().len(), 1);
        assert!(
            matches!(events.last().unwrap(), Event::Complete(_)),
            "nothing after the completion"
        );
        aborted += usize::from(run.rec.completions()[0].code == NETTASK_E_ABORTED);
    }
    assert!(aborted >= 150, "{aborted} aborted");
}

#[test]
fn client_free_completes_in_flight_tasks_with_shutdown() {
    let client = Client::with(|o| o.max_concurrent_tasks = 2);
    let runs: Vec<Run> = (0..5)
        .map(|_| {
            let run = Run::request(&client, Opts::new(&server().url("/stall?after=1")));
            run.start();
            run
        })
        .collect();
    let idle = Run::request(&client, Opts::new(&server().url("/hello")));
    std::thread::sleep(Duration::from_millis(50));
    drop(client); // nettask_client_free, asserted OK
    for run in &runs {
        // Delivered before free returned.
        let completions = run.rec.completions();
        assert_eq!(completions.len(), 1);
        assert_eq!(completions[0].code, NETTASK_E_SHUTDOWN);
        assert!(completions[0].err_msg.starts_with("request:fail "));
    }
    // Handles stay valid; calls on them report the shutdown.
    // SAFETY: live handles.
    unsafe {
        assert_eq!(nettask_start(idle.task), NETTASK_E_SHUTDOWN);
        assert_eq!(
            nettask_start(runs[1].task),
            NETTASK_E_SHUTDOWN,
            "started or not"
        );
        assert_eq!(
            nettask_on_complete(idle.task, Some(on_complete), std::ptr::null_mut()),
            NETTASK_E_SHUTDOWN
        );
        assert_eq!(
            nettask_abort(runs[0].task),
            NETTASK_OK,
            "already completed: a no-op"
        );
    }
    assert!(idle.rec.events().is_empty());
}

unsafe extern "C" fn free_own_client(
    _: *mut nettask_task,
    _: *const nettask_result,
    ud: *mut std::ffi::c_void,
) {
    let client = ud as *mut nettask_client;
    // SAFETY: the live client of this task.
    let code = unsafe { nettask_client_free(client) };
    FREE_RESULT.lock().unwrap().push((code, last_error()));
}

static FREE_RESULT: std::sync::Mutex<Vec<(nettask_code, String)>> =
    std::sync::Mutex::new(Vec::new());

#[test]
fn client_free_from_its_own_listener_is_invalid_state() {
    let client = Client::new();
    let run = Run::request(&client, Opts::new(&server().url("/hello")));
    // SAFETY: a live task; the client outlives it.
    unsafe { nettask_on_complete(run.task, Some(free_own_client), client.0.cast()) };
    run.start();
    run.wait();
    // The listener runs after the recorder's: wait for its report.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while FREE_RESULT.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let results = FREE_RESULT.lock().unwrap().clone();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].0, NETTASK_E_INVALID_STATE);
    assert!(results[0].1.contains("listener"), "{}", results[0].1);
    // The client still works.
    let (out, _) = fetch(&client, Opts::new(&server().url("/hello")));
    assert_eq!(out.code, NETTASK_OK);
}

unsafe extern "C" fn start_follow_up(
    _: *mut nettask_task,
    _: *const nettask_result,
    ud: *mut std::ffi::c_void,
) {
    // SAFETY: the test passes a live Run that outlives this call.
    let run = unsafe { &*(ud as *const Run) };
    // SAFETY: a live task.
    assert_eq!(unsafe { nettask_start(run.task) }, NETTASK_OK);
}

#[test]
fn a_listener_may_start_another_task() {
    let client = Client::new();
    let first = Run::request(&client, Opts::new(&server().url("/hello")));
    let second = Run::request(&client, Opts::new(&server().url("/status/404")));
    // SAFETY: `second` outlives the first task's completion (we wait on it).
    unsafe {
        nettask_on_complete(
            first.task,
            Some(start_follow_up),
            &second as *const Run as *mut _,
        )
    };
    first.start();
    first.wait();
    assert_eq!(second.wait().status, 404);
}
