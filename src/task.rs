//! A task: its state, its listeners, and the one completion it delivers.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Instant;

use crate::delivery::{Event, Queue, Target};
use crate::error::Error;
use crate::framing::{OwnedSseEvent, SseEvent};
use crate::inbox::{Command, Inbox};
use crate::listeners::{Batch, ListenerSet};
use crate::options::RequestOptions;
use crate::response::ResponseHead;
use crate::result::{Progress, TaskKind, TaskResult};
use crate::util::lock;

/// The event loop's inbox, as tasks and the client see it.
pub(crate) type TaskInbox = Inbox<Arc<Task>>;

/// A client's queue of undispatched events, in queued delivery.
pub(crate) type TaskQueue = Queue<Arc<Task>>;

pub type HeadersListener = dyn Fn(&Task, &ResponseHead) + Send + Sync;
pub type ChunkListener = dyn Fn(&Task, &[u8]) + Send + Sync;
pub type ProgressListener = dyn Fn(&Task, &Progress) + Send + Sync;
pub type CompleteListener = dyn Fn(&Task, &TaskResult) + Send + Sync;
pub type SseListener = dyn Fn(&Task, &SseEvent) + Send + Sync;

/// The listeners of one task, one set per event.
#[derive(Default)]
pub struct Listeners {
    pub headers: ListenerSet<HeadersListener>,
    pub chunk: ListenerSet<ChunkListener>,
    pub progress: ListenerSet<ProgressListener>,
    pub complete: ListenerSet<CompleteListener>,
    pub sse: ListenerSet<SseListener>,
}

impl Listeners {
    fn clear(&self) {
        self.headers.clear();
        self.chunk.clear();
        self.progress.clear();
        self.complete.clear();
        self.sse.clear();
    }
}

const CREATED: u8 = 0;
const STARTED: u8 = 1;
const DONE: u8 = 2;

/// Marks a task slot as not being in the event loop's table.
pub(crate) const NO_SLOT: usize = usize::MAX;

/// The shared state behind a task handle.
pub struct Task {
    kind: TaskKind,
    /// The client's inbox: whether it is closed, and where start and abort go.
    inbox: Arc<TaskInbox>,
    /// Taken by the event loop when the transfer is set up. Boxed, and the
    /// box moves into the transfer: the task outlives that, and an empty
    /// inline slot would cost every running task 240 bytes.
    options: Mutex<Option<Box<RequestOptions>>>,
    state: AtomicU8,
    aborted: AtomicBool,
    started_at: OnceLock<Instant>,
    listeners: Listeners,
    /// The event loop's index for this task's transfer; only it writes this.
    pub(crate) slot: AtomicUsize,
    /// Queued delivery: the client's queue, and this task's place in it.
    queue: Option<Arc<TaskQueue>>,
    me: Weak<Task>,
    /// Body bytes of this task waiting in the queue.
    queued_bytes: AtomicU64,
    /// Whether the transfer paused itself until the host drains the queue:
    /// `FLOWING`, `PAUSED`, or `RESUMING` (the host drained it and its
    /// resume command is on the way to the event thread).
    pause: AtomicU8,
}

const FLOWING: u8 = 0;
const PAUSED: u8 = 1;
const RESUMING: u8 = 2;

impl Task {
    /// A task of a client whose events go to `queue` (queued delivery) or
    /// straight to the listeners on the event thread (`None`).
    pub(crate) fn new(
        kind: TaskKind,
        inbox: Arc<TaskInbox>,
        options: RequestOptions,
        queue: Option<Arc<TaskQueue>>,
    ) -> Arc<Task> {
        Arc::new_cyclic(|me| Task {
            kind,
            inbox,
            options: Mutex::new(Some(Box::new(options))),
            state: AtomicU8::new(CREATED),
            aborted: AtomicBool::new(false),
            started_at: OnceLock::new(),
            listeners: Listeners::default(),
            slot: AtomicUsize::new(NO_SLOT),
            queue,
            me: me.clone(),
            queued_bytes: AtomicU64::new(0),
            pause: AtomicU8::new(FLOWING),
        })
    }

    pub fn kind(&self) -> TaskKind {
        self.kind
    }

    pub fn listeners(&self) -> Result<&Listeners, Error> {
        if self.inbox.is_closed() {
            return Err(Error::shutdown());
        }
        Ok(&self.listeners)
    }

    pub fn is_done(&self) -> bool {
        self.state.load(Ordering::SeqCst) == DONE
    }

    pub fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }

    /// Queues the task on its client's event loop.
    pub fn start(self: &Arc<Self>) -> Result<(), Error> {
        // Every call on a task of a freed client says so, done or not.
        if self.inbox.is_closed() {
            return Err(Error::shutdown());
        }
        if self
            .state
            .compare_exchange(CREATED, STARTED, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(Error::invalid_state("the task has already been started"));
        }
        // Set once: a start that fails is only possible on a closed client.
        let _ = self.started_at.set(Instant::now());
        if self.inbox.send(Command::Start(Arc::clone(self))).is_err() {
            self.state.store(CREATED, Ordering::SeqCst);
            return Err(Error::shutdown());
        }
        Ok(())
    }

    /// Asks the task to stop. Idempotent; never blocks. After the
    /// completion was decided it leaves the code, but in queued delivery
    /// the task's undispatched events (all but the completion) are dropped.
    pub fn abort(self: &Arc<Self>) -> Result<(), Error> {
        if self.aborted.swap(true, Ordering::SeqCst) || self.is_done() {
            return Ok(());
        }
        match self.state.load(Ordering::SeqCst) {
            // `start` will complete it as aborted.
            CREATED if self.inbox.is_closed() => Err(Error::shutdown()),
            CREATED => Ok(()),
            // A closed client completes every task as it shuts down.
            _ => {
                let _ = self.inbox.send(Command::Abort(Arc::clone(self)));
                Ok(())
            }
        }
    }

    pub(crate) fn take_options(&self) -> Option<Box<RequestOptions>> {
        lock(&self.options).take()
    }

    pub(crate) fn started_at(&self) -> Instant {
        self.started_at.get().copied().unwrap_or_else(Instant::now)
    }

    /// Whether headers/chunk/progress listeners may still run.
    fn live(&self) -> bool {
        !self.is_aborted() && !self.is_done()
    }

    /// In queued delivery, queues `event` (made only then) and says so.
    fn queued(&self, event: impl FnOnce() -> Event) -> bool {
        let Some(queue) = &self.queue else {
            return false;
        };
        if let (true, Some(me)) = (self.live(), self.me.upgrade()) {
            let event = event();
            self.queued_bytes
                .fetch_add(event.queued_bytes(), Ordering::SeqCst);
            queue.push(me, event);
        }
        true
    }

    pub(crate) fn emit_headers(&self, head: &ResponseHead) {
        if !self.queued(|| Event::Headers(head.clone())) {
            self.listeners.headers.dispatch(|f| {
                self.live() && {
                    f(self, head);
                    true
                }
            });
        }
    }

    pub(crate) fn emit_chunk(&self, data: &[u8]) {
        if let Some(queue) = &self.queue {
            if let (true, Some(me)) = (self.live(), self.me.upgrade()) {
                self.queued_bytes
                    .fetch_add(data.len() as u64, Ordering::SeqCst);
                queue.push_chunk(me, data);
            }
        } else {
            self.listeners.chunk.dispatch(|f| {
                self.live() && {
                    f(self, data);
                    true
                }
            });
        }
    }

    /// Whether the transfer must pause before taking more body bytes: in
    /// queued delivery, when `max_queued_bytes` of this task wait for the
    /// host. The host's draining resumes it (see `drained`).
    pub(crate) fn must_pause(&self) -> bool {
        let Some(queue) = &self.queue else {
            return false;
        };
        let full = || self.queued_bytes.load(Ordering::SeqCst) >= queue.max_queued_bytes;
        if !full() {
            return false;
        }
        self.pause.store(PAUSED, Ordering::SeqCst);
        // Drained meanwhile: go on, unless the host already took the pause
        // (then its resume is on its way, and the pause must happen).
        full()
            || self
                .pause
                .compare_exchange(PAUSED, FLOWING, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
    }

    /// Paused for the host, or drained and not yet resumed: until the event
    /// thread resumes the transfer, its network is not idling.
    pub(crate) fn is_paused(&self) -> bool {
        self.pause.load(Ordering::SeqCst) != FLOWING
    }

    /// The event thread took the host's resume command.
    pub(crate) fn resumed(&self) {
        self.pause.store(FLOWING, Ordering::SeqCst);
    }

    /// `bytes` of this task left the queue; resumes a paused transfer once
    /// half the budget is free.
    fn drained(&self, bytes: u64) {
        let Some(queue) = &self.queue else {
            return;
        };
        let left = self.queued_bytes.fetch_sub(bytes, Ordering::SeqCst) - bytes;
        if left < queue.max_queued_bytes / 2
            && self
                .pause
                .compare_exchange(PAUSED, RESUMING, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            && let Some(me) = self.me.upgrade()
        {
            let _ = self.inbox.send(Command::Resume(me));
        }
    }

    /// Whether server-sent events are listened to (the body is parsed
    /// for them only then).
    pub(crate) fn wants_sse(&self) -> bool {
        !self.listeners.sse.is_empty()
    }

    /// The SSE listeners, for a `Batch` that `emit_sse` dispatches with.
    pub(crate) fn sse_listeners(&self) -> &ListenerSet<SseListener> {
        &self.listeners.sse
    }

    pub(crate) fn emit_sse(&self, batch: &mut Batch<'_, SseListener>, event: &SseEvent) {
        if !self.queued(|| Event::Sse(OwnedSseEvent::new(event))) {
            batch.dispatch(|f| {
                self.live() && {
                    f(self, event);
                    true
                }
            });
        }
    }

    pub(crate) fn emit_progress(&self, progress: &Progress) {
        if !self.queued(|| Event::Progress(*progress)) {
            self.listeners.progress.dispatch(|f| {
                self.live() && {
                    f(self, progress);
                    true
                }
            });
        }
    }

    /// Decides the completion, once (later calls do nothing), and delivers
    /// it: now, or in queued delivery when the host dispatches it.
    /// Afterwards the listeners are dropped.
    pub(crate) fn complete(&self, result: TaskResult) -> bool {
        if self
            .state
            .compare_exchange(STARTED, DONE, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return false;
        }
        match (&self.queue, self.me.upgrade()) {
            (Some(queue), Some(me)) => queue.push(me, Event::Complete(Box::new(result))),
            _ => {
                self.deliver_completion(&result);
            }
        }
        true
    }

    fn deliver_completion(&self, result: &TaskResult) -> usize {
        let mut calls = 0;
        self.listeners.complete.dispatch(|f| {
            f(self, result);
            calls += 1;
            true
        });
        self.listeners.clear();
        calls
    }
}

/// Dispatching from the queue: listeners are looked up now, and nothing
/// but the completion runs once `nettask_abort` has returned.
impl Target for Arc<Task> {
    fn deliver(&self, event: &Event) -> usize {
        self.drained(event.queued_bytes());
        let live = !self.is_aborted();
        let mut calls = 0;
        let mut count = || {
            calls += 1;
            true
        };
        match event {
            Event::Complete(result) => return self.deliver_completion(result),
            _ if !live => {}
            Event::Headers(head) => self.listeners.headers.dispatch(|f| {
                !self.is_aborted() && {
                    f(self, head);
                    count()
                }
            }),
            Event::Chunk(data) => self.listeners.chunk.dispatch(|f| {
                !self.is_aborted() && {
                    f(self, data);
                    count()
                }
            }),
            Event::Progress(progress) => self.listeners.progress.dispatch(|f| {
                !self.is_aborted() && {
                    f(self, progress);
                    count()
                }
            }),
            Event::Sse(sse) => {
                let sse = sse.as_event();
                self.listeners.sse.dispatch(|f| {
                    !self.is_aborted() && {
                        f(self, &sse);
                        count()
                    }
                })
            }
        }
        calls
    }

    fn discard(&self, event: &Event) {
        self.drained(event.queued_bytes());
    }

    fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(self, other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A started task of a queued-delivery client whose budget is `max`
    /// bytes, and the inbox its commands go to.
    fn queued_task(max: u64) -> (Arc<Task>, Arc<TaskQueue>, Arc<TaskInbox>) {
        let queue = Arc::new(TaskQueue::new(max).unwrap());
        let inbox = Arc::new(TaskInbox::default());
        let options = RequestOptions::new("http://127.0.0.1/");
        let task = Task::new(
            TaskKind::Request,
            Arc::clone(&inbox),
            options,
            Some(Arc::clone(&queue)),
        );
        task.start().unwrap();
        inbox.take(false); // the start command
        (task, queue, inbox)
    }

    #[test]
    fn a_drained_transfer_stays_paused_until_the_event_thread_resumes_it() {
        let (task, queue, inbox) = queued_task(1024);
        task.emit_chunk(&[b'x'; 1024]);
        assert!(task.must_pause(), "a full budget pauses the transfer");
        assert!(task.is_paused());
        // The host drains the queue: the resume is on its way, and until
        // the event thread takes it, the network is not idling.
        assert_eq!(queue.dispatch(Duration::ZERO).unwrap(), 0);
        let commands = inbox.take(false);
        assert!(matches!(commands.as_slice(), [Command::Resume(_)]));
        assert!(task.is_paused(), "drained but not yet resumed");
        task.resumed();
        assert!(!task.is_paused());
        assert!(!task.must_pause(), "the budget has room again");
    }

    #[test]
    fn a_budget_drained_while_pausing_goes_on_without_a_resume() {
        let (task, queue, inbox) = queued_task(1024);
        task.emit_chunk(&[b'x'; 1024]);
        assert_eq!(queue.dispatch(Duration::ZERO).unwrap(), 0);
        // Drained before the transfer paused: it goes on, and nobody sends
        // a resume for a pause that never happened.
        assert!(!task.must_pause());
        assert!(!task.is_paused());
        assert!(inbox.take(false).is_empty());
    }
}
