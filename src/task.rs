//! A task: its state, its listeners, and the one completion it delivers.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use crate::error::Error;
use crate::framing::SseEvent;
use crate::inbox::{Command, Inbox};
use crate::listeners::ListenerSet;
use crate::options::RequestOptions;
use crate::response::ResponseHead;
use crate::result::{Progress, TaskKind, TaskResult};
use crate::util::lock;

/// The event loop's inbox, as tasks and the client see it.
pub(crate) type TaskInbox = Inbox<Arc<Task>>;

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
    /// Taken by the event loop when the transfer is set up.
    options: Mutex<Option<RequestOptions>>,
    state: AtomicU8,
    aborted: AtomicBool,
    started_at: OnceLock<Instant>,
    listeners: Listeners,
    /// The event loop's index for this task's transfer; only it writes this.
    pub(crate) slot: AtomicUsize,
}

impl Task {
    pub(crate) fn new(kind: TaskKind, inbox: Arc<TaskInbox>, options: RequestOptions) -> Task {
        Task {
            kind,
            inbox,
            options: Mutex::new(Some(options)),
            state: AtomicU8::new(CREATED),
            aborted: AtomicBool::new(false),
            started_at: OnceLock::new(),
            listeners: Listeners::default(),
            slot: AtomicUsize::new(NO_SLOT),
        }
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

    /// Asks the task to stop. Idempotent; never blocks.
    pub fn abort(self: &Arc<Self>) -> Result<(), Error> {
        if self.is_done() || self.aborted.swap(true, Ordering::SeqCst) {
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

    pub(crate) fn take_options(&self) -> Option<RequestOptions> {
        lock(&self.options).take()
    }

    pub(crate) fn started_at(&self) -> Instant {
        self.started_at.get().copied().unwrap_or_else(Instant::now)
    }

    /// Whether headers/chunk/progress listeners may still run.
    fn live(&self) -> bool {
        !self.is_aborted() && !self.is_done()
    }

    pub(crate) fn emit_headers(&self, head: &ResponseHead) {
        self.listeners.headers.dispatch(|f| {
            self.live() && {
                f(self, head);
                true
            }
        });
    }

    pub(crate) fn emit_chunk(&self, data: &[u8]) {
        self.listeners.chunk.dispatch(|f| {
            self.live() && {
                f(self, data);
                true
            }
        });
    }

    /// Whether server-sent events are listened to (the body is parsed
    /// for them only then).
    pub(crate) fn wants_sse(&self) -> bool {
        !self.listeners.sse.is_empty()
    }

    pub(crate) fn emit_sse(&self, event: &SseEvent) {
        self.listeners.sse.dispatch(|f| {
            self.live() && {
                f(self, event);
                true
            }
        });
    }

    pub(crate) fn emit_progress(&self, progress: &Progress) {
        self.listeners.progress.dispatch(|f| {
            self.live() && {
                f(self, progress);
                true
            }
        });
    }

    /// Delivers the completion, once: later calls do nothing. Afterwards
    /// the listeners are dropped.
    pub(crate) fn complete(&self, result: &TaskResult) -> bool {
        if self
            .state
            .compare_exchange(STARTED, DONE, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return false;
        }
        self.listeners.complete.dispatch(|f| {
            f(self, result);
            true
        });
        self.listeners.clear();
        true
    }
}
