//! A task: its state, its listeners, and the one completion it delivers.

use std::borrow::Cow;
use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use crate::client::Shared;
use crate::error::{Code, Error, Failure};
use crate::listeners::{ListenerKey, ListenerSet};
use crate::options::RequestOptions;
use crate::profile::Profile;
use crate::response::{HeaderFields, ResponseHead};

/// Requests keep the body in memory; downloads stream it to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    Request,
    Download,
}

impl TaskKind {
    /// The wx API name used in `err_msg`.
    pub fn api_name(self) -> &'static str {
        match self {
            TaskKind::Request => "request",
            TaskKind::Download => "downloadFile",
        }
    }
}

/// Download progress, as the progress listeners see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// 0..=100; 0 while the total is unknown.
    pub progress: u32,
    pub total_bytes_written: u64,
    /// -1 when unknown.
    pub total_bytes_expected_to_write: i64,
}

/// How a task ended, as the complete listeners see it.
#[derive(Debug, Clone)]
pub struct TaskResult {
    pub code: Code,
    pub err_msg: Cow<'static, CStr>,
    pub curl_code: i32,
    /// 0 if no response arrived.
    pub status_code: i32,
    pub headers: HeaderFields,
    /// Requests: the body, unless `enable_chunked`.
    pub data: Vec<u8>,
    /// Downloads: the file holding the body; `None` on failure.
    pub file_path: Option<CString>,
    pub data_length: u64,
    pub profile: Profile,
}

impl TaskResult {
    pub fn failed(kind: TaskKind, failure: &Failure, profile: Profile) -> TaskResult {
        TaskResult {
            code: failure.code,
            err_msg: Cow::Owned(message(failure.err_msg(kind.api_name()))),
            curl_code: failure.curl_code,
            status_code: 0,
            headers: HeaderFields::default(),
            data: Vec::new(),
            file_path: None,
            data_length: 0,
            profile,
        }
    }

    pub fn ok(kind: TaskKind, profile: Profile) -> TaskResult {
        TaskResult {
            code: Code::Ok,
            err_msg: Cow::Borrowed(match kind {
                TaskKind::Request => c"request:ok",
                TaskKind::Download => c"downloadFile:ok",
            }),
            ..TaskResult::failed(kind, &Failure::new(Code::Ok, ""), profile)
        }
    }
}

/// A C string from text that has no NUL, or with NULs dropped.
pub fn message(text: String) -> CString {
    CString::new(text).unwrap_or_else(|e| {
        let mut bytes = e.into_vec();
        bytes.retain(|&b| b != 0);
        CString::new(bytes).unwrap_or_default()
    })
}

pub type HeadersListener = dyn Fn(&Task, &ResponseHead) + Send + Sync;
pub type ChunkListener = dyn Fn(&Task, &[u8]) + Send + Sync;
pub type ProgressListener = dyn Fn(&Task, &Progress) + Send + Sync;
pub type CompleteListener = dyn Fn(&Task, &TaskResult) + Send + Sync;

/// The listeners of one task, one set per event.
#[derive(Default)]
pub struct Listeners {
    pub headers: ListenerSet<HeadersListener>,
    pub chunk: ListenerSet<ChunkListener>,
    pub progress: ListenerSet<ProgressListener>,
    pub complete: ListenerSet<CompleteListener>,
}

impl Listeners {
    fn clear(&self) {
        self.headers.clear();
        self.chunk.clear();
        self.progress.clear();
        self.complete.clear();
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
    client: Arc<Shared>,
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
    pub(crate) fn new(kind: TaskKind, client: Arc<Shared>, options: RequestOptions) -> Task {
        Task {
            kind,
            client,
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
        if self.client.is_closed() {
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
        if self.client.is_closed() {
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
        if let Err(e) = self
            .client
            .send(crate::client::Command::Start(Arc::clone(self)))
        {
            self.state.store(CREATED, Ordering::SeqCst);
            return Err(e);
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
            CREATED if self.client.is_closed() => Err(Error::shutdown()),
            CREATED => Ok(()),
            // A closed client completes every task as it shuts down.
            _ => {
                let _ = self
                    .client
                    .send(crate::client::Command::Abort(Arc::clone(self)));
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

    /// Adds a listener keyed by `key`.
    pub fn key_of<T: ?Sized>(callback: &Arc<T>) -> ListenerKey {
        ListenerKey(Arc::as_ptr(callback) as *const u8 as usize, 0)
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
