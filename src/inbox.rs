//! Commands to the event thread, and its wakeup. Other threads queue
//! commands and wake the loop; the loop drains the queue before every
//! wait. Two defences live here: a burst of commands costs one wakeup, and
//! a command queued while the loop decides to sleep is never left waiting
//! (the loop asks `must_not_sleep` after publishing what it can admit).
//!
//! Generic over what a command carries, so it imports nothing of the core
//! (but the `util` helpers): client, task and event loop all depend on it,
//! and not on each other.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::util::lock;

/// What other threads ask of the event loop.
pub enum Command<T> {
    Start(T),
    Abort(T),
    /// The host drained a paused transfer's queued events (queued delivery).
    Resume(T),
    Shutdown,
}

/// Interrupts the loop's wait (`curl_multi_wakeup`, an eventfd write).
pub type Waker = Box<dyn Fn() + Send + Sync>;

/// The inbox was closed: the loop has shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

struct Queue<T> {
    commands: Vec<Command<T>>,
    closed: bool,
}

pub struct Inbox<T> {
    queue: Mutex<Queue<T>>,
    /// Set once a wakeup is on its way, so a burst of commands costs one.
    wake_pending: AtomicBool,
    /// Whether the loop can admit another task. While it cannot, a start
    /// is only queued: the loop takes it when a transfer ends, so a burst
    /// of starts does not wake it thousands of times for nothing.
    room: AtomicBool,
    waker: OnceLock<Waker>,
}

impl<T> Default for Inbox<T> {
    fn default() -> Self {
        Inbox {
            queue: Mutex::new(Queue {
                commands: Vec::new(),
                closed: false,
            }),
            wake_pending: AtomicBool::new(false),
            room: AtomicBool::new(true),
            waker: OnceLock::new(),
        }
    }
}

impl<T> Inbox<T> {
    /// Installs the waker, once. Until then commands are only queued: the
    /// loop drains the queue before its first wait.
    pub fn set_waker(&self, waker: Waker) {
        let _ = self.waker.set(waker);
    }

    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        lock(&self.queue)
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Queues a command and wakes the loop (a start only when the loop has
    /// room for it). Fails once the loop has closed the inbox.
    pub fn send(&self, command: Command<T>) -> Result<(), Closed> {
        let start = matches!(command, Command::Start(_));
        {
            let mut queue = self.lock();
            if queue.closed {
                return Err(Closed);
            }
            queue.commands.push(command);
        }
        if start && !self.room.load(Ordering::SeqCst) {
            return Ok(());
        }
        if !self.wake_pending.swap(true, Ordering::SeqCst)
            && let Some(wake) = self.waker.get()
        {
            wake();
        }
        Ok(())
    }

    /// Takes the queued commands; the loop calls this before every wait.
    /// With `close`, later sends fail.
    pub fn take(&self, close: bool) -> Vec<Command<T>> {
        self.wake_pending.store(false, Ordering::SeqCst);
        let mut queue = self.lock();
        queue.closed |= close;
        std::mem::take(&mut queue.commands)
    }

    /// Whether the loop must not sleep: a wakeup is on its way, or there
    /// is `room` for starts that were queued without one. Publishes `room`
    /// first, so a start queued after this check sees it and wakes the loop.
    pub fn must_not_sleep(&self, room: bool) -> bool {
        self.room.store(room, Ordering::SeqCst);
        self.wake_pending.load(Ordering::SeqCst) || (room && !self.lock().commands.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::{Arc, Condvar};
    use std::time::Duration;

    fn counting(inbox: &Inbox<u32>) -> Arc<AtomicUsize> {
        let wakes = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&wakes);
        inbox.set_waker(Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        wakes
    }

    #[test]
    fn a_burst_costs_one_wakeup_until_the_loop_drains() {
        let inbox = Inbox::default();
        let wakes = counting(&inbox);
        for i in 0..100 {
            inbox.send(Command::Abort(i)).unwrap();
        }
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        assert!(inbox.must_not_sleep(true));
        assert_eq!(inbox.take(false).len(), 100);
        assert!(!inbox.must_not_sleep(true));
        inbox.send(Command::Abort(0)).unwrap();
        assert_eq!(wakes.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn starts_without_room_wait_quietly_and_keep_the_loop_up_once_there_is_room() {
        let inbox = Inbox::default();
        let wakes = counting(&inbox);
        assert!(!inbox.must_not_sleep(false));
        inbox.send(Command::Start(1)).unwrap();
        assert_eq!(wakes.load(Ordering::SeqCst), 0);
        // Still full: sleeping is right, the start waits for a free place.
        assert!(!inbox.must_not_sleep(false));
        // Room again: the queued start must be taken before sleeping.
        assert!(inbox.must_not_sleep(true));
        // An abort always wakes.
        inbox.send(Command::Abort(1)).unwrap();
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_closed_inbox_refuses_commands() {
        let inbox = Inbox::<u32>::default();
        inbox.send(Command::Shutdown).unwrap();
        assert_eq!(inbox.take(true).len(), 1);
        assert!(inbox.is_closed());
        assert_eq!(inbox.send(Command::Start(1)), Err(Closed));
    }

    /// A loop that sleeps until woken (no bounded wait) must still see every
    /// command a racing sender queues: a lost wakeup would hang it.
    #[test]
    fn no_wakeup_is_lost_against_a_racing_sender() {
        const N: u32 = 20_000;
        let inbox = Arc::new(Inbox::<u32>::default());
        let signal = Arc::new((Mutex::new(false), Condvar::new()));
        let s = Arc::clone(&signal);
        inbox.set_waker(Box::new(move || {
            *s.0.lock().unwrap() = true;
            s.1.notify_one();
        }));
        let sender = {
            let inbox = Arc::clone(&inbox);
            std::thread::spawn(move || {
                for i in 0..N {
                    let command = if i % 3 == 0 {
                        Command::Start(i)
                    } else {
                        Command::Abort(i)
                    };
                    inbox.send(command).unwrap();
                    if i % 64 == 0 {
                        std::thread::yield_now();
                    }
                }
            })
        };
        let mut received = 0;
        // Room alternates, as it does when transfers start and end.
        let mut room = false;
        while received < N {
            received += inbox.take(false).len() as u32;
            room = !room;
            if inbox.must_not_sleep(room) || received == N {
                continue;
            }
            let (woken, cv) = &*signal;
            let mut woken = woken.lock().unwrap();
            while !*woken {
                let (guard, timeout) = cv.wait_timeout(woken, Duration::from_secs(10)).unwrap();
                woken = guard;
                assert!(
                    !timeout.timed_out() || received == N,
                    "lost wakeup: {received} of {N} commands seen"
                );
            }
            *woken = false;
        }
        sender.join().unwrap();
        assert_eq!(received, N);
    }
}
