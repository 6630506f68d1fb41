//! The event thread: owns the libcurl multi handle and every easy handle,
//! drains commands before every wait, admits queued tasks, drives libcurl
//! with `curl_multi_socket_action` for each ready socket and due timer (so
//! a wake costs O(ready sockets), not O(transfers)), and turns finished
//! transfers into completions. Nothing else touches libcurl.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use curl::easy::Easy2;
use curl::multi::{Easy2Handle, Multi};

use crate::client_state::ClientState;
use crate::connection_sockets::{self, active_socket, connection_rtt};
use crate::curl_info::{CURLINFO_HTTP_VERSION, Info};
use crate::dns::Applied;
use crate::error::{Code, Error, Failure};
use crate::idle_connections::{IdleConnections, Origin};
use crate::idle_timers::{IdleTimers, SocketReads};
use crate::inbox::{Command, Waker};
use crate::options::NO_TIMEOUT;
use crate::poller::Poller;
use crate::profile::Profile;
use crate::result::TaskResult;
use crate::task::{NO_SLOT, Task, TaskInbox};
use crate::transfer::{self, Ending, Job, Next, Transfer};

/// A wait never sleeps longer, so a lost wakeup costs latency, not a hang.
const MAX_POLL: Duration = Duration::from_secs(1);

/// Finished easy handles kept for reuse: resetting one is cheaper than
/// creating and destroying one per task.
const SPARE_HANDLES: usize = 64;

struct Running {
    handle: Easy2Handle<Job>,
    admitted_at: Instant,
    /// Which admission into its slot this is (see `IdleTimers`).
    admission: u64,
    /// The origin counted in `IdleConnections`, if it is counted.
    origin: Option<Origin>,
}

pub(crate) struct EventLoop {
    inbox: Arc<TaskInbox>,
    multi: Multi,
    poller: Poller,
    /// Transfers in the multi handle, indexed by their token.
    running: Vec<Option<Running>>,
    free_slots: Vec<usize>,
    active: usize,
    /// Started tasks waiting for a free place, FIFO.
    waiting: VecDeque<Arc<Task>>,
    /// Idle easy handles, without a job.
    spare: Vec<Easy2<Job>>,
    /// Idle deadlines of the running transfers that have an idle timeout.
    idle_timers: IdleTimers,
    /// When each socket last had bytes to read, kept while idle timers run.
    socket_reads: SocketReads,
    /// Admissions so far, numbering each one.
    admissions: u64,
    idle_connections: IdleConnections,
    /// Transfers completed by an abort whose handles are still to remove.
    aborted_slots: Vec<usize>,
    /// While `remove_aborted` runs: the handles it frees once it is done.
    retired: Option<Vec<Easy2<Job>>>,
    shutting_down: bool,
    /// The DNS overrides handed to libcurl so far.
    dns_applied: Applied,
    /// Options, cookie jar (linked to every easy handle), policy, DNS: the
    /// last field, so that this reference is dropped after the handles.
    state: Arc<ClientState>,
}

impl EventLoop {
    /// The thread's body. Reports the waker (or why there is none) through
    /// `ready`, then runs until shutdown.
    pub(crate) fn run(
        state: Arc<ClientState>,
        inbox: Arc<TaskInbox>,
        ready: Sender<Result<Waker, Error>>,
    ) {
        let internal = |what: &str, e: &dyn std::fmt::Display| {
            Error::new(
                Code::NETTASK_E_INTERNAL,
                format!("cannot set up {what}: {e}"),
            )
        };
        let poller = match Poller::new() {
            Ok(poller) => poller,
            Err(e) => {
                let _ = ready.send(Err(internal("the poller", &e)));
                return;
            }
        };
        let mut multi = Multi::new();
        let configured = multi
            .pipelining(false, true)
            .and_then(|()| multi.socket_function(poller.socket_watcher()))
            .and_then(|()| match state.options.max_connections_per_host {
                0 => Ok(()),
                n => multi.set_max_host_connections(n as usize),
            });
        if let Err(e) = configured {
            let _ = ready.send(Err(internal("libcurl", &e)));
            return;
        }
        let _ = ready.send(Ok(poller.waker()));
        let mut event_loop = EventLoop {
            inbox,
            multi,
            poller,
            running: Vec::new(),
            free_slots: Vec::new(),
            active: 0,
            waiting: VecDeque::new(),
            spare: Vec::new(),
            idle_timers: IdleTimers::default(),
            socket_reads: SocketReads::default(),
            admissions: 0,
            idle_connections: IdleConnections::default(),
            aborted_slots: Vec::new(),
            retired: None,
            shutting_down: false,
            dns_applied: Applied::default(),
            state,
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| event_loop.run_until_shutdown()));
        if outcome.is_err() {
            // A Rust listener panicked: deliver what is owed, then stop.
            event_loop.inbox.take(true);
            event_loop.fail_everything(&Failure::new(
                Code::NETTASK_E_INTERNAL,
                "internal error in the event loop",
            ));
        }
    }

    fn run_until_shutdown(&mut self) {
        loop {
            self.wake_host();
            self.handle_commands();
            if self.shutting_down {
                // Commands sent while we shut down still get their answer.
                let late = self.inbox.take(true);
                self.apply(late);
                self.fail_everything(&Failure::shutdown());
                return;
            }
            self.admit();
            let curl_timer = self.run_due_timers();
            self.expire_idle();
            // Sleep only when nothing is ready: no command, no task that a
            // finished transfer made room for.
            let room = self.has_room();
            let admissible = room && !self.waiting.is_empty();
            if admissible || self.inbox.must_not_sleep(room) {
                continue;
            }
            let timeout = self.poll_timeout(curl_timer);
            self.wake_host();
            let multi = &self.multi;
            let mut failed = None;
            let mut reads = (!self.idle_timers.is_empty()).then_some(&mut self.socket_reads);
            let mut now = None;
            let waited = self.poller.wait(timeout, |socket, events, interest| {
                if let (Some(reads), true) = (reads.as_deref_mut(), interest.read) {
                    reads.record(socket as usize, *now.get_or_insert_with(Instant::now));
                }
                match multi.action(socket, events) {
                    // A socket libcurl dropped while this batch was read.
                    Err(e) if e.is_bad_socket() => {}
                    Err(e) => failed = Some(e),
                    Ok(_) => {}
                }
            });
            if waited.is_err() {
                // A wait that fails (out of memory, ...) must not spin.
                std::thread::sleep(Duration::from_millis(10));
            }
            if let Some(e) = failed {
                self.multi_failed(&e);
            }
            self.collect_finished();
        }
    }

    /// Queued delivery: tells the host of the events this turn queued.
    fn wake_host(&self) {
        if let Some(queue) = &self.state.queue {
            queue.wake();
        }
    }

    /// Runs libcurl's timers that are due (a new transfer's start, a
    /// connect or whole-task timeout, a retry) and completes what ended;
    /// returns how long until its next timer.
    fn run_due_timers(&mut self) -> Option<Duration> {
        // A timer's run can schedule another one at once (a new connection
        // after a redirect): a few rounds, not an endless loop.
        for _ in 0..4 {
            match self.multi.get_timeout() {
                Ok(Some(due)) if due.is_zero() => {}
                Ok(timer) => return timer,
                Err(_) => return None,
            }
            if let Err(e) = self.multi.timeout() {
                self.multi_failed(&e);
            }
            self.collect_finished();
        }
        self.multi.get_timeout().ok().flatten()
    }

    /// A failing multi handle (out of memory) fails the running transfers
    /// rather than leaving them to hang.
    fn multi_failed(&mut self, e: &curl::MultiError) {
        self.fail_running(&Failure::new(
            Code::NETTASK_E_INTERNAL,
            format!("libcurl multi handle: {e}"),
        ));
    }

    fn handle_commands(&mut self) {
        let commands = self.inbox.take(false);
        self.apply(commands);
        self.remove_aborted();
    }

    fn apply(&mut self, commands: Vec<Command<Arc<Task>>>) {
        for command in commands {
            match command {
                Command::Start(task) => self.waiting.push_back(task),
                Command::Abort(task) => self.abort(&task),
                Command::Resume(task) => self.resume(&task),
                Command::Shutdown => self.shutting_down = true,
            }
        }
    }

    fn abort(&mut self, task: &Arc<Task>) {
        match task.slot.load(Ordering::Relaxed) {
            // Waiting for a place, or its Start command comes after this
            // one: it completes now, and admission skips completed tasks
            // (no scan of the queue, which may hold thousands).
            NO_SLOT => complete_unrun(task, &Failure::aborted()),
            slot => self.abort_running(slot),
        }
    }

    /// Unpauses a transfer that paused for the host to drain its queued
    /// events (libcurl hands over the data it held at once).
    fn resume(&mut self, task: &Arc<Task>) {
        let slot = task.slot.load(Ordering::Relaxed);
        if let Some(running) = self.running.get_mut(slot).and_then(Option::as_mut)
            && let Some(transfer) = running.handle.get_mut().transfer.as_mut()
            && Arc::ptr_eq(transfer.task(), task)
        {
            transfer.resumed();
            let _ = running.handle.unpause_write();
        }
    }

    fn has_room(&self) -> bool {
        let max = self.state.options.max_concurrent_tasks as usize;
        max == 0 || self.active < max
    }

    /// Moves waiting tasks into libcurl while there is room; libcurl
    /// starts them from its next timer run.
    fn admit(&mut self) {
        while self.has_room() {
            let Some(task) = self.waiting.pop_front() else {
                break;
            };
            if task.is_done() {
                continue;
            }
            if task.is_aborted() {
                complete_unrun(&task, &Failure::aborted());
                continue;
            }
            if let Err(failure) = self.add(&task) {
                complete_unrun(&task, &failure);
            }
        }
    }

    fn add(&mut self, task: &Arc<Task>) -> Result<(), Failure> {
        let options = task
            .take_options()
            .ok_or_else(|| Failure::new(Code::NETTASK_E_INTERNAL, "task options missing"))?;
        let transfer = Transfer::new(Arc::clone(task), options, &self.state.options)?;
        self.insert(transfer)
    }

    /// Puts the current hop of `transfer` into libcurl, on a free slot. On
    /// failure the transfer is dropped (a download's temporary file with
    /// it), and the caller completes the task.
    fn insert(&mut self, mut transfer: Transfer) -> Result<(), Failure> {
        let task = Arc::clone(transfer.task());
        let request = transfer.request();
        let timeout = request
            .timeout
            .unwrap_or(self.state.options.default_timeout);
        // One clock read for the admission: the timeout left and the times.
        let admitted_at = Instant::now();
        let since_start = admitted_at.saturating_duration_since(task.started_at());
        let remaining = match timeout {
            NO_TIMEOUT => NO_TIMEOUT,
            _ => timeout
                .checked_sub(since_start)
                .filter(|d| !d.is_zero())
                .ok_or_else(Failure::timeout)?,
        };
        // With a per-host limit, transfers wait inside libcurl for a
        // connection and must take the one that frees up: no estimate.
        let origin = IdleConnections::origin(&request.url, request.http2_prior_knowledge)
            .filter(|_| self.state.options.max_connections_per_host == 0);
        let fresh = origin.is_some_and(|o| !self.idle_connections.take(o));
        // `attach` resets a spare handle unless it can reuse its options.
        let mut easy = self
            .spare
            .pop()
            .unwrap_or_else(|| Easy2::new(Job::default()));
        transfer.joined(admitted_at, since_start);
        let resolve = transfer.resolve_lines(&self.state.dns, &mut self.dns_applied);
        if let Err(failure) =
            transfer::attach(&mut easy, transfer, &self.state, resolve, remaining, fresh)
        {
            self.spare.push(easy);
            return Err(failure);
        }
        let internal = |e: &dyn std::fmt::Display| {
            Failure::new(Code::NETTASK_E_INTERNAL, format!("libcurl: {e}"))
        };
        let mut handle = self.multi.add2(easy).map_err(|e| internal(&e))?;
        let slot = self.free_slots.pop().unwrap_or_else(|| {
            self.running.push(None);
            self.running.len() - 1
        });
        if let Err(e) = handle.set_token(slot) {
            self.free_slots.push(slot);
            let _ = self.multi.remove2(handle);
            return Err(internal(&e));
        }
        task.slot.store(slot, Ordering::Relaxed);
        self.admissions += 1;
        let admission = self.admissions;
        if let Some(deadline) = handle
            .get_ref()
            .transfer
            .as_ref()
            .and_then(|t| t.idle_deadline(None))
        {
            self.idle_timers.watch((slot, admission), deadline);
        }
        self.running[slot] = Some(Running {
            handle,
            admitted_at,
            admission,
            origin,
        });
        self.active += 1;
        Ok(())
    }

    fn collect_finished(&mut self) {
        let mut finished = Vec::new();
        self.multi.messages(|message| {
            if let (Ok(token), Some(result)) = (message.token(), message.result()) {
                finished.push((token, result));
            }
        });
        for (slot, result) in finished {
            self.finish(slot, Ending::Curl(result));
        }
        connection_sockets::collected();
    }

    /// Removes a transfer from the multi handle, and starts its next hop
    /// or completes its task (unless `abort_running` completed it already).
    fn finish(&mut self, slot: usize, ending: Ending) {
        let Some(running) = self.running.get_mut(slot).and_then(Option::take) else {
            return;
        };
        self.active -= 1;
        self.free_slots.push(slot);
        // Read while the handle still finds its connection; not for a
        // handle whose task an abort completed already (no result to fill).
        let job = running.handle.get_ref();
        let rtt = job
            .transfer
            .is_some()
            .then(|| {
                // SAFETY: the handle is live, and only the event thread
                // (this one) uses it.
                let info = unsafe { Info::new(running.handle.raw()) };
                connection_rtt(&info, job.opened)
            })
            .flatten();
        let mut easy = match self.multi.remove2(running.handle) {
            Ok(easy) => easy,
            Err(_) => return, // cannot happen: the handle was in this multi
        };
        let detail = easy.take_error_buf();
        if let Some(mut transfer) = easy.get_mut().transfer.take() {
            // SAFETY: `easy` is the hop's live handle, on the event thread.
            match unsafe { transfer.next(ending, easy.raw(), &self.state.policy) } {
                Next::Complete(ending) => {
                    let kept = matches!(ending, Ending::Curl(Ok(())));
                    self.connection_idle(running.origin, kept);
                    let hop_start = running.admitted_at - transfer.task().started_at();
                    self.deliver(transfer, easy.raw(), hop_start, rtt, ending, detail);
                }
                Next::Follow { reusable } => {
                    self.connection_idle(running.origin, reusable);
                    self.recycle(easy);
                    let task = Arc::clone(transfer.task());
                    if let Err(failure) = self.insert(transfer) {
                        complete_unrun(&task, &failure);
                    }
                    return;
                }
            }
        }
        self.recycle(easy);
    }

    /// Keeps a finished handle for a later task, up to `SPARE_HANDLES`.
    fn recycle(&mut self, easy: Easy2<Job>) {
        if self.spare.len() < SPARE_HANDLES {
            self.spare.push(easy);
        } else if let Some(retired) = &mut self.retired {
            retired.push(easy);
        }
    }

    /// Counts the connection a transfer to `origin` left open for reuse.
    fn connection_idle(&mut self, origin: Option<Origin>, kept: bool) {
        if let (true, Some(origin)) = (kept, origin) {
            self.idle_connections.put(origin);
        }
    }

    /// Completes an aborted transfer's task at once, and leaves its handle,
    /// without a job, in the multi handle until `remove_aborted`: a batch
    /// of aborts delivers its completions before libcurl closes each
    /// connection (removing 10,000 takes ~0.25 s here).
    fn abort_running(&mut self, slot: usize) {
        let Some(running) = self.running.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let Some(transfer) = running.handle.get_mut().transfer.take() else {
            return;
        };
        let raw = running.handle.raw();
        let hop_start = running.admitted_at - transfer.task().started_at();
        self.aborted_slots.push(slot);
        // No round-trip time: a batch of 10,000 aborts should not pay a
        // system call each.
        let aborted = Ending::Loop(Failure::aborted());
        self.deliver(transfer, raw, hop_start, None, aborted, None);
    }

    /// Removes the handles `abort_running` left in the multi handle. Each
    /// removal closes a connection; the handles beyond the spares are
    /// freed after the last one, so that every peer sees its close before
    /// the batch's frees (the same work, in a better order).
    fn remove_aborted(&mut self) {
        let slots = std::mem::take(&mut self.aborted_slots);
        self.retired = Some(Vec::with_capacity(slots.len()));
        connection_sockets::quietly(|| {
            for slot in slots {
                self.finish(slot, Ending::Loop(Failure::aborted()));
            }
        });
        self.retired = None;
    }

    /// Builds a finished transfer's result and delivers its completion.
    /// `easy` is its live handle (in the multi handle or just out of it).
    fn deliver(
        &mut self,
        transfer: Transfer,
        easy: *mut curl_sys::CURL,
        hop_start: Duration,
        rtt: Option<Duration>,
        ending: Ending,
        detail: Option<String>,
    ) {
        let task = Arc::clone(transfer.task());
        task.slot.store(NO_SLOT, Ordering::Relaxed);
        // SAFETY: `easy` is the transfer's live easy handle, and only the
        // event thread (this one) uses it.
        let result = unsafe { transfer.into_result(ending, detail, easy, hop_start, rtt) };
        task.complete(result);
    }

    /// Fails transfers on which no byte arrived for their idle timeout.
    fn expire_idle(&mut self) {
        if self.idle_timers.next().is_none() {
            return; // no clock read
        }
        let (running, reads) = (&self.running, &self.socket_reads);
        let expired = self
            .idle_timers
            .expired(Instant::now(), |(slot, admission)| {
                let r = running
                    .get(slot)?
                    .as_ref()
                    .filter(|r| r.admission == admission)?;
                let transfer = r.handle.get_ref().transfer.as_ref()?;
                // SAFETY: the handle is live in the multi handle, and only
                // the event thread (this one) uses it.
                let info = unsafe { Info::new(r.handle.raw()) };
                // On HTTP/2 the connection's bytes may be another stream's.
                let multiplexed = matches!(info.long(CURLINFO_HTTP_VERSION), 3 | 30);
                let read = active_socket(&info)
                    .filter(|_| !multiplexed)
                    .and_then(|fd| reads.last(fd as usize));
                transfer.idle_deadline(read)
            });
        for (slot, _) in expired {
            self.finish(slot, Ending::Loop(Failure::timeout()));
        }
    }

    /// How long to sleep: until libcurl's timer, the nearest idle deadline,
    /// or `MAX_POLL`, whichever comes first.
    fn poll_timeout(&self, curl_timer: Option<Duration>) -> Duration {
        let curl = curl_timer.unwrap_or(MAX_POLL).min(MAX_POLL);
        match self.idle_timers.next() {
            Some(deadline) => curl.min(deadline.saturating_duration_since(Instant::now())),
            None => curl,
        }
    }

    /// Completes every running task with `failure`.
    fn fail_running(&mut self, failure: &Failure) {
        for slot in 0..self.running.len() {
            self.finish(slot, Ending::Loop(failure.clone()));
        }
    }

    /// Completes every running and waiting task with `failure`.
    fn fail_everything(&mut self, failure: &Failure) {
        self.fail_running(failure);
        while let Some(task) = self.waiting.pop_front() {
            complete_unrun(&task, failure);
        }
    }
}

/// Completes a task that never reached libcurl.
fn complete_unrun(task: &Task, failure: &Failure) {
    let profile = Profile::not_run(task.started_at().elapsed());
    task.complete(TaskResult::failed(task.kind(), failure, profile));
}
