//! Queued delivery (API.md "Delivery on the host's thread"): in queued
//! mode a task's events wait here, in order, and run inside
//! `nettask_client_dispatch` on the host's thread (a JS engine's). A file
//! descriptor is readable while events wait, so the host can watch it in
//! its own loop.
//!
//! Generic over the task (`Target`), so it imports nothing of the task
//! module, which depends on it.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::framing::OwnedSseEvent;
use crate::response::ResponseHead;
use crate::result::{Progress, TaskResult};
use crate::util::lock;

/// A task's event, owned while it waits.
pub(crate) enum Event {
    Headers(ResponseHead),
    Chunk(Vec<u8>),
    Progress(Progress),
    Sse(OwnedSseEvent),
    /// Boxed: a result (with its profile) is far larger than the others.
    Complete(Box<TaskResult>),
}

impl Event {
    /// The body bytes the event holds back from its task's budget.
    pub fn queued_bytes(&self) -> u64 {
        match self {
            Event::Chunk(data) => data.len() as u64,
            Event::Sse(event) => event.data_len() as u64,
            _ => 0,
        }
    }
}

/// What the queue needs of a task.
pub(crate) trait Target {
    /// Runs the listeners of `event` (those registered now); returns how
    /// many ran.
    fn deliver(&self, event: Event) -> usize;
    /// Drops `event` undelivered (its bytes leave the task's budget).
    fn discard(&self, event: Event);
    fn same(&self, other: &Self) -> bool;
}

/// A client's queue of undispatched events.
pub(crate) struct Queue<T> {
    events: Mutex<VecDeque<(T, Event)>>,
    arrived: Condvar,
    signal: Signal,
    /// One dispatcher at a time; the id of its thread.
    dispatching: Mutex<()>,
    dispatcher: AtomicU64,
    /// Chunk bytes a task may have waiting before its transfer pauses.
    pub max_queued_bytes: u64,
}

/// Room a new queued chunk starts with, so that the pieces joining it
/// seldom move it.
const CHUNK_CAPACITY: usize = 128 * 1024;

/// `max_queued_bytes` when the options say 0.
pub const DEFAULT_MAX_QUEUED_BYTES: u64 = 8 * 1024 * 1024;

/// A number for the calling thread (0 is no thread).
fn thread_number() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static NUMBER: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    NUMBER.with(|n| *n)
}

impl<T: Target> Queue<T> {
    pub fn new(max_queued_bytes: u64) -> io::Result<Queue<T>> {
        Ok(Queue {
            events: Mutex::new(VecDeque::new()),
            arrived: Condvar::new(),
            signal: Signal::new()?,
            dispatching: Mutex::new(()),
            dispatcher: AtomicU64::new(0),
            max_queued_bytes: match max_queued_bytes {
                0 => DEFAULT_MAX_QUEUED_BYTES,
                n => n,
            },
        })
    }

    /// The descriptor that is readable while events wait.
    pub fn fd(&self) -> RawFd {
        self.signal.fd()
    }

    /// Queues `event` of `task`.
    pub fn push(&self, task: T, event: Event) {
        let mut events = lock(&self.events);
        self.push_locked(&mut events, task, event);
    }

    /// Queues body bytes of `task`: copied once, onto the task's chunk at
    /// the end of the queue when there is one (one listener call instead
    /// of many, the same bytes).
    pub fn push_chunk(&self, task: T, data: &[u8]) {
        let mut events = lock(&self.events);
        if let Some((last, Event::Chunk(queued))) = events.back_mut()
            && last.same(&task)
        {
            queued.extend_from_slice(data);
            return;
        }
        let mut chunk = Vec::with_capacity(data.len().max(CHUNK_CAPACITY));
        chunk.extend_from_slice(data);
        self.push_locked(&mut events, task, Event::Chunk(chunk));
    }

    fn push_locked(&self, events: &mut VecDeque<(T, Event)>, task: T, event: Event) {
        let was_empty = events.is_empty();
        events.push_back((task, event));
        // Only an empty queue has a dispatcher waiting, or a host to wake.
        if was_empty {
            self.signal.raise();
            self.arrived.notify_one();
        }
    }

    /// Whether the calling thread is inside `dispatch` (a listener it runs).
    pub fn dispatching_here(&self) -> bool {
        self.dispatcher.load(Ordering::SeqCst) == thread_number()
    }

    /// Waits up to `timeout` for the first event, then runs events until
    /// the queue is empty; returns the number of listener calls.
    pub fn dispatch(&self, timeout: Duration) -> Result<usize, Error> {
        if self.dispatching_here() {
            return Err(Error::invalid_state(
                "nettask_client_dispatch was called from a listener it is running",
            ));
        }
        let _one_at_a_time = lock(&self.dispatching);
        let _marked = Marked::new(&self.dispatcher);
        let deadline = Instant::now() + timeout;
        let mut calls = 0;
        let mut events = lock(&self.events);
        while events.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(0);
            }
            events = self
                .arrived
                .wait_timeout(events, left)
                .map_or_else(|e| e.into_inner().0, |(guard, _)| guard);
        }
        loop {
            let Some((task, event)) = events.pop_front() else {
                self.signal.lower();
                return Ok(calls);
            };
            drop(events);
            calls += task.deliver(event);
            events = lock(&self.events);
        }
    }

    /// At shutdown: delivers every completion still waiting, drops the
    /// other events. Returns the number of listener calls.
    pub fn drain_completions(&self) -> usize {
        let _one_at_a_time = lock(&self.dispatching);
        let _marked = Marked::new(&self.dispatcher);
        let mut calls = 0;
        loop {
            let next = {
                let mut events = lock(&self.events);
                let next = events.pop_front();
                if next.is_none() {
                    self.signal.lower();
                }
                next
            };
            match next {
                Some((task, event @ Event::Complete(_))) => calls += task.deliver(event),
                Some((task, event)) => task.discard(event),
                None => return calls,
            }
        }
    }
}

/// Marks the calling thread as the dispatcher while it lives.
struct Marked<'a>(&'a AtomicU64);

impl<'a> Marked<'a> {
    fn new(dispatcher: &'a AtomicU64) -> Marked<'a> {
        dispatcher.store(thread_number(), Ordering::SeqCst);
        Marked(dispatcher)
    }
}

impl Drop for Marked<'_> {
    fn drop(&mut self) {
        self.0.store(0, Ordering::SeqCst);
    }
}

/// A descriptor the host can poll: readable while raised. An eventfd on
/// Linux and Android, a pipe elsewhere. Raised and lowered under the
/// queue's lock, so it never says "empty" with events waiting.
struct Signal {
    read: OwnedFd,
    /// The pipe's write end; the eventfd writes to itself.
    write: Option<OwnedFd>,
}

impl Signal {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn new() -> io::Result<Signal> {
        // SAFETY: plain system call; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let read = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Signal { read, write: None })
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn new() -> io::Result<Signal> {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe writes.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: two new descriptors that nothing else owns.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        for fd in [&read, &write] {
            // SAFETY: fcntl on a descriptor we own.
            unsafe {
                libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK);
                libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
        Ok(Signal {
            read,
            write: Some(write),
        })
    }

    fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    fn raise(&self) {
        let one = 1u64.to_ne_bytes();
        let fd = self.write.as_ref().unwrap_or(&self.read).as_raw_fd();
        // An eventfd takes 8 bytes, a pipe any: the host only polls it.
        // SAFETY: writes from a local buffer to a descriptor we own; a
        // full pipe (EAGAIN) is still readable, which is all that counts.
        unsafe { libc::write(fd, one.as_ptr().cast(), one.len()) };
    }

    fn lower(&self) {
        let mut buf = [0u8; 64];
        // Reads until empty: an eventfd's counter resets in one read.
        // SAFETY: reads into a local buffer from a non-blocking
        // descriptor we own.
        while unsafe { libc::read(self.fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Clone)]
    struct Probe(u32, Arc<Mutex<Vec<String>>>);

    impl Target for Probe {
        fn deliver(&self, event: Event) -> usize {
            let what = match event {
                Event::Chunk(d) => format!("{} chunk {}", self.0, String::from_utf8_lossy(&d)),
                Event::Complete(_) => format!("{} complete", self.0),
                _ => format!("{} other", self.0),
            };
            self.1.lock().unwrap().push(what);
            1
        }
        fn discard(&self, _: Event) {
            self.1.lock().unwrap().push(format!("{} dropped", self.0));
        }
        fn same(&self, other: &Self) -> bool {
            self.0 == other.0
        }
    }

    fn readable(fd: RawFd) -> bool {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd on the stack, no wait.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    #[test]
    fn events_run_in_order_with_adjacent_chunks_joined() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let q: Queue<Probe> = Queue::new(0).unwrap();
        assert_eq!(q.max_queued_bytes, DEFAULT_MAX_QUEUED_BYTES);
        assert!(!readable(q.fd()));
        let (a, b) = (Probe(1, Arc::clone(&log)), Probe(2, Arc::clone(&log)));
        q.push_chunk(a.clone(), b"x");
        assert!(readable(q.fd()));
        q.push_chunk(a.clone(), b"y");
        q.push_chunk(b.clone(), b"z");
        q.push_chunk(a.clone(), b"w");
        assert_eq!(q.dispatch(Duration::ZERO).unwrap(), 3);
        assert!(!readable(q.fd()));
        assert_eq!(
            *log.lock().unwrap(),
            ["1 chunk xy", "2 chunk z", "1 chunk w"]
        );
        assert_eq!(q.dispatch(Duration::from_millis(20)).unwrap(), 0);
    }

    #[test]
    fn shutdown_delivers_only_completions() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let q: Queue<Probe> = Queue::new(1).unwrap();
        let a = Probe(1, Arc::clone(&log));
        q.push(a.clone(), Event::Chunk(b"x".to_vec()));
        let result = TaskResult::failed(
            crate::result::TaskKind::Request,
            &crate::error::Failure::shutdown(),
            crate::profile::Profile::not_run(Duration::ZERO),
        );
        q.push(a, Event::Complete(Box::new(result)));
        assert_eq!(q.drain_completions(), 1);
        assert_eq!(*log.lock().unwrap(), ["1 dropped", "1 complete"]);
        assert!(!readable(q.fd()));
    }

    #[test]
    fn a_waiting_dispatch_wakes_for_the_first_event() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let q: Arc<Queue<Probe>> = Arc::new(Queue::new(0).unwrap());
        let pusher = {
            let (q, a) = (Arc::clone(&q), Probe(1, Arc::clone(&log)));
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                q.push(a, Event::Chunk(b"late".to_vec()));
            })
        };
        assert_eq!(q.dispatch(Duration::from_secs(10)).unwrap(), 1);
        pusher.join().unwrap();
        assert_eq!(*log.lock().unwrap(), ["1 chunk late"]);
    }
}
