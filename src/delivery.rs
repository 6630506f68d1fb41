//! Queued delivery (API.md "Delivery on the host's thread"): in queued
//! mode a task's events wait here, in order, and run inside
//! `nettask_client_dispatch` on the host's thread (a JS engine's). A file
//! descriptor is readable while events wait, so the host can watch it in
//! its own loop; a dispatch call that waits is woken directly instead (two
//! system calls fewer per wake).
//!
//! Generic over the task (`Target`), so it imports nothing of the task
//! module, which depends on it.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
pub(crate) trait Target: Clone {
    /// Runs the listeners of `event` (those registered now); returns how
    /// many ran.
    fn deliver(&self, event: &Event) -> usize;
    /// Drops `event` undelivered (its bytes leave the task's budget).
    fn discard(&self, event: &Event);
    fn same(&self, other: &Self) -> bool;
}

/// A client's queue of undispatched events.
pub(crate) struct Queue<T> {
    inner: Mutex<Inner<T>>,
    arrived: Condvar,
    signal: Signal,
    /// One dispatcher at a time; the id of its thread.
    dispatching: Mutex<()>,
    dispatcher: AtomicU64,
    /// Events were queued that the host has not been told of (`wake`).
    wake_owed: AtomicBool,
    /// Chunk bytes a task may have waiting before its transfer pauses.
    pub max_queued_bytes: u64,
}

/// The events, and who needs to hear of the next ones. A dispatcher that
/// is draining raises the descriptor for them when it ends; one that
/// waits is woken once; otherwise the descriptor is raised once.
struct Inner<T> {
    events: VecDeque<(T, Event)>,
    /// A dispatcher is running listeners and takes events until none is
    /// left.
    draining: bool,
    /// A dispatcher waits on `arrived` and has not been woken yet.
    waiting: bool,
    /// The descriptor is readable.
    raised: bool,
    /// Delivered chunks' buffers, for new ones.
    spare: Vec<Vec<u8>>,
}

/// The size of a queued chunk's buffer: the pieces of a socket read join
/// in it without moving, and it is kept for reuse.
const CHUNK_CAPACITY: usize = 256 * 1024;

/// Below this size, with no spare buffer, a chunk gets a buffer this large.
const SMALL_CHUNK: usize = 4 * 1024;

/// Chunk buffers kept for reuse (no allocation and no page faults once a
/// transfer runs).
const SPARE_CHUNKS: usize = 8;

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
            inner: Mutex::new(Inner {
                events: VecDeque::new(),
                draining: false,
                waiting: false,
                raised: false,
                spare: Vec::new(),
            }),
            arrived: Condvar::new(),
            signal: Signal::new()?,
            dispatching: Mutex::new(()),
            dispatcher: AtomicU64::new(0),
            wake_owed: AtomicBool::new(false),
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
        self.push_locked(&mut lock(&self.inner), task, event);
    }

    /// Queues body bytes of `task`: copied once, onto the task's chunk at
    /// the end of the queue while it has room (one listener call instead
    /// of many, the same bytes), else into a buffer from the pool.
    pub fn push_chunk(&self, task: T, mut data: &[u8]) {
        let mut inner = lock(&self.inner);
        if let Some((last, Event::Chunk(queued))) = inner.events.back_mut()
            && last.same(&task)
        {
            let room = queued.capacity() - queued.len();
            let (now, rest) = data.split_at(room.min(data.len()));
            queued.extend_from_slice(now);
            data = rest;
        }
        while !data.is_empty() {
            let mut chunk = match inner.spare.pop() {
                Some(spare) => spare,
                // Small pieces (a short body, a trickle) get a small
                // buffer: a fresh 256 KiB one costs more than the copy.
                None if data.len() < SMALL_CHUNK => Vec::with_capacity(SMALL_CHUNK),
                None => Vec::with_capacity(CHUNK_CAPACITY),
            };
            let (now, rest) = data.split_at(CHUNK_CAPACITY.min(data.len()));
            chunk.extend_from_slice(now);
            data = rest;
            self.push_locked(&mut inner, task.clone(), Event::Chunk(chunk));
        }
    }

    /// Keeps a delivered chunk's buffer for the next ones.
    fn recycle(&self, event: Event) {
        if let Event::Chunk(mut chunk) = event {
            let mut inner = lock(&self.inner);
            if inner.spare.len() < SPARE_CHUNKS && chunk.capacity() == CHUNK_CAPACITY {
                chunk.clear();
                inner.spare.push(chunk);
            }
        }
    }

    fn push_locked(&self, inner: &mut Inner<T>, task: T, event: Event) {
        inner.events.push_back((task, event));
        if !inner.draining {
            self.wake_owed.store(true, Ordering::SeqCst);
        }
    }

    /// Tells the host of the events queued since the last call: raises
    /// the descriptor, wakes a waiting dispatcher. The event loop calls it
    /// before it sleeps (and on each turn), so a burst of events (a socket
    /// read's pieces) costs one wakeup, not one each.
    pub fn wake(&self) {
        if !self.wake_owed.swap(false, Ordering::SeqCst) {
            return;
        }
        let mut inner = lock(&self.inner);
        if inner.draining || inner.events.is_empty() {
            return;
        }
        if inner.waiting {
            // The host waits in dispatch and takes them itself.
            inner.waiting = false;
            self.arrived.notify_one();
        } else if !inner.raised {
            self.signal.raise();
            inner.raised = true;
        }
    }

    /// Whether the calling thread is inside `dispatch` (a listener it runs).
    pub fn dispatching_here(&self) -> bool {
        self.dispatcher.load(Ordering::SeqCst) == thread_number()
    }

    /// Waits up to `timeout` for the first event, then runs the events
    /// waiting at that moment; returns the number of listener calls.
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
        let mut inner = lock(&self.inner);
        while inner.events.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                inner.waiting = false;
                return Ok(0);
            }
            inner.waiting = true;
            inner = self
                .arrived
                .wait_timeout(inner, left)
                .map_or_else(|e| e.into_inner().0, |(guard, _)| guard);
        }
        inner.waiting = false;
        inner.draining = true;
        // Cleared however this ends (a listener may panic).
        let _drained = Drained(self);
        // What waits now; what comes meanwhile is for the next call, so a
        // stream faster than its listeners cannot keep the host here.
        let mut left = inner.events.len();
        loop {
            let next = match left {
                0 => None,
                _ => inner.events.pop_front(),
            };
            let Some((task, event)) = next else {
                drop(inner); // before `_drained` takes the lock again
                return Ok(calls);
            };
            left -= 1;
            drop(inner);
            calls += task.deliver(&event);
            self.recycle(event);
            inner = lock(&self.inner);
        }
    }

    /// At shutdown: delivers every completion still waiting, drops the
    /// other events. Returns the number of listener calls.
    pub fn drain_completions(&self) -> usize {
        let _one_at_a_time = lock(&self.dispatching);
        let _marked = Marked::new(&self.dispatcher);
        lock(&self.inner).draining = true;
        let _drained = Drained(self);
        let mut calls = 0;
        loop {
            let next = lock(&self.inner).events.pop_front();
            match next {
                Some((task, event @ Event::Complete(_))) => calls += task.deliver(&event),
                Some((task, event)) => task.discard(&event),
                None => return calls,
            }
        }
    }

    /// The end of a drain: nothing waits (or what came since raises the
    /// descriptor again).
    fn drained(&self) {
        let mut inner = lock(&self.inner);
        inner.draining = false;
        if inner.events.is_empty() {
            if inner.raised {
                self.signal.lower();
                inner.raised = false;
            }
        } else if !inner.raised {
            self.signal.raise();
            inner.raised = true;
        }
    }
}

/// Ends a drain when dropped.
struct Drained<'a, T: Target>(&'a Queue<T>);

impl<T: Target> Drop for Drained<'_, T> {
    fn drop(&mut self) {
        self.0.drained();
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
        fn deliver(&self, event: &Event) -> usize {
            let what = match event {
                Event::Chunk(d) => format!("{} chunk {}", self.0, String::from_utf8_lossy(d)),
                Event::Complete(_) => format!("{} complete", self.0),
                _ => format!("{} other", self.0),
            };
            self.1.lock().unwrap().push(what);
            1
        }
        fn discard(&self, _: &Event) {
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
        assert!(!readable(q.fd()), "raised only by wake");
        q.wake();
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
                q.wake();
            })
        };
        assert_eq!(q.dispatch(Duration::from_secs(10)).unwrap(), 1);
        pusher.join().unwrap();
        assert_eq!(*log.lock().unwrap(), ["1 chunk late"]);
    }
}
