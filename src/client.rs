//! The client: configuration, the command queue to its event thread, and
//! the thread itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{JoinHandle, ThreadId};

use curl::multi::MultiWaker;

use crate::error::{Code, Error};
use crate::event_loop::EventLoop;
use crate::options::{ClientOptions, RequestOptions};
use crate::task::{Task, TaskKind, lock};

/// What other threads ask of the event loop.
pub(crate) enum Command {
    Start(Arc<Task>),
    Abort(Arc<Task>),
    Shutdown,
}

#[derive(Default)]
struct Queue {
    commands: Vec<Command>,
    closed: bool,
}

/// The part of a client that tasks and the event loop share.
pub(crate) struct Shared {
    pub(crate) options: ClientOptions,
    queue: Mutex<Queue>,
    /// Set once a wakeup is on its way, so a burst of commands costs one.
    wake_pending: AtomicBool,
    /// Whether the loop can admit another task. While it cannot, a start
    /// is only queued: the loop takes it when a transfer ends, so a burst
    /// of starts does not wake it thousands of times for nothing.
    room: AtomicBool,
    waker: OnceLock<MultiWaker>,
    pub(crate) thread_id: OnceLock<ThreadId>,
}

impl Shared {
    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.queue).closed
    }

    /// Queues a command and wakes the loop; fails once the client shut down.
    pub(crate) fn send(&self, command: Command) -> Result<(), Error> {
        let start = matches!(command, Command::Start(_));
        {
            let mut queue = lock(&self.queue);
            if queue.closed {
                return Err(Error::shutdown());
            }
            queue.commands.push(command);
        }
        if start && !self.room.load(Ordering::SeqCst) {
            return Ok(());
        }
        if !self.wake_pending.swap(true, Ordering::SeqCst)
            && let Some(waker) = self.waker.get()
        {
            let _ = waker.wakeup();
        }
        Ok(())
    }

    /// Takes the queued commands; the loop calls this before every poll.
    /// With `close`, later sends fail.
    pub(crate) fn take_commands(&self, close: bool) -> Vec<Command> {
        self.wake_pending.store(false, Ordering::SeqCst);
        let mut queue = lock(&self.queue);
        queue.closed |= close;
        std::mem::take(&mut queue.commands)
    }

    /// Whether the loop must not sleep: a wakeup is on its way, or there
    /// is `room` for starts that were queued without one. Publishes `room`
    /// first, so a start queued after this check sees it and wakes the loop.
    pub(crate) fn has_work(&self, room: bool) -> bool {
        self.room.store(room, Ordering::SeqCst);
        self.wake_pending.load(Ordering::SeqCst) || (room && !lock(&self.queue).commands.is_empty())
    }

    pub(crate) fn on_event_thread(&self) -> bool {
        self.thread_id.get() == Some(&std::thread::current().id())
    }
}

/// A set of tasks sharing one libcurl multi handle and one event thread.
pub struct Client {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Client {
    /// Starts the event thread. Fails only if the thread or the libcurl
    /// multi handle cannot be created.
    pub fn new(options: ClientOptions) -> Result<Client, Error> {
        let shared = Arc::new(Shared {
            options,
            queue: Mutex::new(Queue::default()),
            wake_pending: AtomicBool::new(false),
            room: AtomicBool::new(true),
            waker: OnceLock::new(),
            thread_id: OnceLock::new(),
        });
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let loop_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("nettask-event".into())
            .spawn(move || EventLoop::run(loop_shared, ready_tx))
            .map_err(|e| {
                Error::new(
                    Code::Internal,
                    format!("cannot start the event thread: {e}"),
                )
            })?;
        let waker = ready_rx
            .recv()
            .map_err(|_| Error::new(Code::Internal, "the event thread exited during start-up"))??;
        let _ = shared.waker.set(waker);
        Ok(Client {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.shared.options
    }

    /// Creates a request task (not started).
    pub fn request(&self, options: RequestOptions) -> Result<Arc<Task>, Error> {
        self.create(TaskKind::Request, options)
    }

    /// Creates a download task (not started).
    pub fn download(&self, options: RequestOptions) -> Result<Arc<Task>, Error> {
        self.create(TaskKind::Download, options)
    }

    fn create(&self, kind: TaskKind, options: RequestOptions) -> Result<Arc<Task>, Error> {
        options.validate()?;
        if self.shared.is_closed() {
            return Err(Error::shutdown());
        }
        Ok(Arc::new(Task::new(kind, Arc::clone(&self.shared), options)))
    }

    /// Completes every unfinished task with `Shutdown`, waits for those
    /// completions and for the event thread to exit. Fails with
    /// `InvalidState` on the event thread itself (from a listener).
    pub fn shutdown(&self) -> Result<(), Error> {
        if self.shared.on_event_thread() {
            return Err(Error::invalid_state(
                "nettask_client_free cannot be called from a listener of the same client",
            ));
        }
        let _ = self.shared.send(Command::Shutdown);
        if let Some(thread) = lock(&self.thread).take() {
            thread
                .join()
                .map_err(|_| Error::new(Code::Internal, "the event thread panicked"))?;
        }
        Ok(())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if !self.shared.on_event_thread() {
            let _ = self.shutdown();
        }
    }
}
