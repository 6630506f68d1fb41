//! The client façade: its options, the inbox to its event thread, and the
//! thread itself. Its methods never block on I/O (but `shutdown`, which
//! waits for the thread).

use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, ThreadId};

use crate::client_state::ClientState;
use crate::cookies::CookieJar;
use crate::error::{Code, Error};
use crate::event_loop::EventLoop;
use crate::inbox::Command;
use crate::options::{ClientOptions, RequestOptions};
use crate::result::TaskKind;
use crate::task::{Task, TaskInbox, TaskQueue};
use crate::util::lock;

/// A set of tasks sharing one libcurl multi handle and one event thread.
pub struct Client {
    state: Arc<ClientState>,
    inbox: Arc<TaskInbox>,
    thread: Mutex<Option<JoinHandle<()>>>,
    thread_id: ThreadId,
}

impl Client {
    /// Checks the options, loads the cookie jar and starts the event
    /// thread. Fails with `NETTASK_E_INVALID_ARGUMENT` for options libcurl
    /// would refuse, a malformed policy or DNS entry, or a cookie file that
    /// cannot be read, and with `NETTASK_E_INTERNAL` if the thread or the
    /// libcurl multi handle cannot be created.
    pub fn new(options: ClientOptions) -> Result<Client, Error> {
        crate::curl_memory::keep();
        let state = Arc::new(ClientState::new(options)?);
        let inbox = Arc::new(TaskInbox::default());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (loop_state, loop_inbox) = (Arc::clone(&state), Arc::clone(&inbox));
        let thread = std::thread::Builder::new()
            .name("nettask-event".into())
            .spawn(move || EventLoop::run(loop_state, loop_inbox, ready_tx))
            .map_err(|e| {
                Error::new(
                    Code::NETTASK_E_INTERNAL,
                    format!("cannot start the event thread: {e}"),
                )
            })?;
        let waker = ready_rx.recv().map_err(|_| {
            Error::new(
                Code::NETTASK_E_INTERNAL,
                "the event thread exited during start-up",
            )
        })??;
        inbox.set_waker(waker);
        Ok(Client {
            state,
            inbox,
            thread_id: thread.thread().id(),
            thread: Mutex::new(Some(thread)),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.state.options
    }

    /// Creates a request task (not started).
    pub fn request(&self, options: RequestOptions) -> Result<Arc<Task>, Error> {
        self.create(TaskKind::Request, options)
    }

    /// Creates a download task (not started).
    pub fn download(&self, options: RequestOptions) -> Result<Arc<Task>, Error> {
        self.create(TaskKind::Download, options)
    }

    /// Creates an upload task (not started): `options.upload` is the form.
    pub fn upload(&self, options: RequestOptions) -> Result<Arc<Task>, Error> {
        self.create(TaskKind::Upload, options)
    }

    fn create(&self, kind: TaskKind, mut options: RequestOptions) -> Result<Arc<Task>, Error> {
        match kind {
            TaskKind::Upload if options.upload.is_none() => {
                return Err(Error::invalid_argument(
                    "an upload needs upload_file_path and upload_name",
                ));
            }
            TaskKind::Upload => {}
            // The form fields are an upload's only.
            _ => options.upload = None,
        }
        let options = options.checked()?;
        self.state.policy.check(&options.url)?;
        if self.inbox.is_closed() {
            return Err(Error::shutdown());
        }
        let queue = self.state.queue.clone();
        Ok(Task::new(kind, Arc::clone(&self.inbox), options, queue))
    }

    fn on_event_thread(&self) -> bool {
        std::thread::current().id() == self.thread_id
    }

    fn queue(&self) -> Result<&TaskQueue, Error> {
        self.state.queue.as_deref().ok_or_else(|| {
            Error::invalid_state("the client delivers on its event thread, not queued")
        })
    }

    /// Queued delivery: the descriptor that is readable while events wait.
    pub fn event_fd(&self) -> Option<std::os::fd::RawFd> {
        self.state.queue.as_ref().map(|q| q.fd())
    }

    /// Queued delivery: runs waiting events' listeners on this thread,
    /// waiting up to `timeout` for the first; returns the listener calls.
    pub fn dispatch(&self, timeout: std::time::Duration) -> Result<usize, Error> {
        self.queue()?.dispatch(timeout)
    }

    fn jar(&self) -> Result<&CookieJar, Error> {
        self.state.jar.as_ref().ok_or_else(|| {
            Error::invalid_state("the client was created without enable_cookies: it has no jar")
        })
    }

    /// Adds a cookie to the jar: a Netscape-format line, or
    /// "Set-Cookie: ..." with a Domain attribute.
    pub fn set_cookie(&self, line: &str) -> Result<(), Error> {
        self.jar()?.set(line)
    }

    /// The jar, in Netscape format (one line per cookie).
    pub fn cookies(&self) -> Result<String, Error> {
        self.jar()?.netscape()
    }

    pub fn clear_cookies(&self) -> Result<(), Error> {
        self.jar()?.clear()
    }

    /// Writes the jar to `cookie_file` now (atomically).
    pub fn save_cookies(&self) -> Result<(), Error> {
        self.jar()?.save()
    }

    /// Sets the addresses of `host`:`port` (`None` or "" removes them) for
    /// the new connections of tasks started from now on.
    pub fn add_resolve(&self, host: &str, port: u16, addresses: Option<&str>) -> Result<(), Error> {
        self.state.dns.set(host, port, addresses)
    }

    /// Completes every unfinished task with `Shutdown`, waits for those
    /// completions and for the event thread to exit, then saves the jar
    /// to its file. Fails with `InvalidState` on the event thread itself
    /// (from a listener), and with `File` when the jar cannot be saved
    /// (the client is shut down all the same).
    pub fn shutdown(&self) -> Result<(), Error> {
        let in_listener = self.on_event_thread()
            || self
                .state
                .queue
                .as_ref()
                .is_some_and(|q| q.dispatching_here());
        if in_listener {
            return Err(Error::invalid_state(
                "nettask_client_free cannot be called from a listener of the same client",
            ));
        }
        let _ = self.inbox.send(Command::Shutdown);
        let Some(thread) = lock(&self.thread).take() else {
            return Ok(()); // shut down before
        };
        let joined = thread.join();
        // Every completion owed, decided by the loop, runs on this thread.
        if let Some(queue) = &self.state.queue {
            queue.drain_completions();
        }
        joined.map_err(|_| Error::new(Code::NETTASK_E_INTERNAL, "the event thread panicked"))?;
        match &self.state.jar {
            Some(jar) if jar.has_file() => jar.save(),
            _ => Ok(()),
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if !self.on_event_thread() {
            let _ = self.shutdown();
        }
    }
}
