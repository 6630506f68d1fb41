//! The event thread's one wait: the sockets libcurl asks to watch (through
//! its socket callback) and the wakeup other threads use, level triggered,
//! so a wait costs O(ready sockets), not O(transfers). Over epoll and an
//! eventfd on Linux and Android (`epoll.rs`); over the `polling` crate
//! (kqueue) elsewhere (`portable.rs`).

#[cfg(any(target_os = "linux", target_os = "android"))]
mod epoll;
// Built on Linux too for the tests, which hold both selectors to one contract.
#[cfg(any(test, not(any(target_os = "linux", target_os = "android"))))]
mod portable;

use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use curl::multi::{Events, Socket, SocketEvents};

use crate::connection_sockets::{Opening, opening};
use crate::inbox::Waker;
use crate::util::lock;

#[cfg(any(target_os = "linux", target_os = "android"))]
use epoll::Selector;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
use portable::Selector;

/// What a socket is watched for, or ready for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interest {
    pub read: bool,
    pub write: bool,
}

pub(crate) struct Poller {
    selector: Arc<Selector>,
    /// Shared with libcurl's socket callback; both run on the event thread.
    watch: Arc<Mutex<Watch<Selector>>>,
    ready: Vec<(RawFd, Interest)>,
}

impl Poller {
    pub fn new() -> io::Result<Poller> {
        let selector = Arc::new(Selector::new()?);
        Ok(Poller {
            watch: Arc::new(Mutex::new(Watch::new(Arc::clone(&selector)))),
            selector,
            ready: Vec::new(),
        })
    }

    /// Interrupts a wait from any thread (or makes the next one return).
    pub fn waker(&self) -> Waker {
        let selector = Arc::clone(&self.selector);
        Box::new(move || selector.notify())
    }

    /// The callback for `Multi::socket_function`: libcurl says which socket
    /// to watch for what, and when to stop.
    pub fn socket_watcher(&self) -> impl FnMut(Socket, SocketEvents, usize) + Send + 'static {
        let watch = Arc::clone(&self.watch);
        move |socket, what, _token| {
            let interest = (!what.remove()).then(|| Interest {
                read: what.input(),
                write: what.output(),
            });
            lock(&watch).set(socket as RawFd, interest);
        }
    }

    /// Waits up to `timeout` for ready sockets or a wakeup, then calls
    /// `ready` with each ready socket libcurl watches and what it is ready
    /// for (as libcurl takes it, and as flags).
    pub fn wait(
        &mut self,
        timeout: Duration,
        mut ready: impl FnMut(Socket, &Events, Interest),
    ) -> io::Result<()> {
        self.ready.clear();
        self.selector.wait(&mut self.ready, timeout)?;
        // Filtered before libcurl runs: its socket callback takes the lock.
        let mut watch = lock(&self.watch);
        self.ready.retain(|&(fd, _)| watch.wanted(fd));
        drop(watch);
        for &(fd, interest) in &self.ready {
            let mut what = Events::new();
            what.input(interest.read).output(interest.write);
            ready(fd as Socket, &what, interest);
        }
        Ok(())
    }
}

/// The sockets registered with a selector, kept in step with what libcurl
/// asks for, with as few system calls as that allows. When libcurl stops
/// watching a socket (a finished transfer leaves its connection in the
/// pool), the registration stays: the next transfer on the connection
/// takes it as it is when it wants the same events of a socket that is
/// still the same opening (`connection_sockets`), else modifies it; it
/// leaves the selector once it reports an event nobody wants (the server
/// closed the idle connection).
struct Watch<S> {
    selector: Arc<S>,
    sockets: HashMap<RawFd, Registration>,
}

#[derive(Clone, Copy)]
struct Registration {
    interest: Interest,
    /// Whether libcurl watches it now.
    wanted: bool,
    /// Which opening of a connection socket was registered, if it is one.
    opening: Option<Opening>,
}

// An idle client holds one registration per connection: kept small.
const _: () = assert!(std::mem::size_of::<Registration>() <= 8);

/// The registration calls of a selector, so `Watch` serves every backend.
pub(crate) trait Register {
    fn add(&self, fd: RawFd, interest: Interest) -> io::Result<()>;
    fn modify(&self, fd: RawFd, interest: Interest) -> io::Result<()>;
    fn delete(&self, fd: RawFd) -> io::Result<()>;
}

impl<S: Register> Watch<S> {
    fn new(selector: Arc<S>) -> Watch<S> {
        Watch {
            selector,
            sockets: HashMap::new(),
        }
    }

    /// Watches `fd` for `interest`, or stops watching it (`None`).
    fn set(&mut self, fd: RawFd, interest: Option<Interest>) {
        let Some(interest) = interest else {
            if let Some(registration) = self.sockets.get_mut(&fd) {
                registration.wanted = false;
            }
            return;
        };
        let s = &self.selector;
        let result = match self.sockets.get_mut(&fd) {
            Some(r) if r.wanted && r.interest == interest => return,
            // Still registered: closing it would have ended the opening.
            Some(r)
                if r.interest == interest && r.opening.is_some_and(|o| opening(fd) == Some(o)) =>
            {
                r.wanted = true;
                return;
            }
            // Modifying also proves the number is still that socket: one
            // that was closed has left the kernel's set, and its number may
            // have come back for a new socket, which must be added.
            Some(_) => s.modify(fd, interest).or_else(|_| s.add(fd, interest)),
            None => s.add(fd, interest).or_else(|_| s.modify(fd, interest)),
        };
        match result {
            Ok(()) => {
                let (wanted, opening) = (true, opening(fd));
                let registration = Registration {
                    interest,
                    wanted,
                    opening,
                };
                self.sockets.insert(fd, registration);
            }
            // Not watchable: libcurl's own timeouts still end the transfer.
            Err(_) => {
                self.sockets.remove(&fd);
            }
        }
    }

    /// Whether an event on `fd` is for libcurl. A socket libcurl no longer
    /// watches leaves the selector now, so it cannot report again.
    fn wanted(&mut self, fd: RawFd) -> bool {
        match self.sockets.get(&fd) {
            Some(r) if r.wanted => true,
            Some(_) => {
                self.sockets.remove(&fd);
                let _ = self.selector.delete(fd);
                false
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::time::Instant;

    const READ: Interest = Interest {
        read: true,
        write: false,
    };
    const WRITE: Interest = Interest {
        read: false,
        write: true,
    };

    type Wait = dyn Fn(&mut Vec<(RawFd, Interest)>, Duration) -> io::Result<()>;

    /// One wait, filtered as `Poller::wait` filters it.
    fn ready<S: Register>(
        watch: &mut Watch<S>,
        wait: &Wait,
        timeout: Duration,
    ) -> Vec<(RawFd, Interest)> {
        let mut ready = Vec::new();
        wait(&mut ready, timeout).unwrap();
        ready.retain(|&(fd, _)| watch.wanted(fd));
        ready
    }

    /// The behaviour the event loop relies on, for one selector.
    fn selector_contract<S: Register>(selector: Arc<S>, wait: &Wait, notify: impl Fn() + Sync) {
        let mut watch = Watch::new(selector);
        let w = &mut watch;
        let (mut a, b) = UnixStream::pair().unwrap();
        let fd = b.as_raw_fd();

        // Nothing ready: the wait lasts its timeout, and no socket is named.
        w.set(fd, Some(READ));
        let started = Instant::now();
        assert!(ready(w, wait, Duration::from_millis(30)).is_empty());
        assert!(started.elapsed() >= Duration::from_millis(30));

        // Readable, and level triggered: reported again until read.
        a.write_all(b"x").unwrap();
        for _ in 0..2 {
            assert_eq!(ready(w, wait, Duration::from_secs(5)), vec![(fd, READ)]);
        }

        // Interest in writing only: the unread byte is not reported.
        w.set(fd, Some(WRITE));
        assert_eq!(ready(w, wait, Duration::from_secs(5)), vec![(fd, WRITE)]);

        // No longer watched: its next event is dropped (and unregisters it),
        // and nothing more comes, however ready the socket is.
        w.set(fd, None);
        assert!(ready(w, wait, Duration::from_millis(10)).is_empty());
        assert!(!w.sockets.contains_key(&fd));
        let mut raw = Vec::new();
        wait(&mut raw, Duration::from_millis(10)).unwrap();
        assert!(raw.is_empty(), "{raw:?}");

        // Watched again after a removal: back in the selector.
        w.set(fd, Some(READ));
        assert_eq!(ready(w, wait, Duration::from_secs(5)), vec![(fd, READ)]);
        // And after a removal that left it registered: modified in place.
        w.set(fd, None);
        w.set(fd, Some(WRITE));
        assert_eq!(ready(w, wait, Duration::from_secs(5)), vec![(fd, WRITE)]);

        // A wakeup from another thread ends a long wait, and reports no socket.
        w.set(fd, None);
        let started = Instant::now();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                notify();
            });
            assert!(ready(w, wait, Duration::from_secs(10)).is_empty());
        });
        assert!(started.elapsed() < Duration::from_secs(5));

        // A number closed while registered and reused by a new socket is
        // watched again.
        w.set(fd, Some(READ));
        drop(b);
        let (c, d) = UnixStream::pair().unwrap();
        // POSIX hands out the lowest free number, so one of the two is `fd`
        // (unless a test on another thread took it first).
        let (mut writer, reader) = if c.as_raw_fd() == fd { (d, c) } else { (c, d) };
        if reader.as_raw_fd() != fd {
            return;
        }
        w.set(fd, None);
        w.set(fd, Some(READ));
        writer.write_all(b"y").unwrap();
        assert_eq!(ready(w, wait, Duration::from_secs(5)), vec![(fd, READ)]);
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn epoll_selector() {
        let s = Arc::new(epoll::Selector::new().unwrap());
        let (w, n) = (Arc::clone(&s), Arc::clone(&s));
        selector_contract(s, &move |r, t| w.wait(r, t), move || n.notify());
    }

    #[test]
    fn portable_selector() {
        let s = Arc::new(portable::Selector::new().unwrap());
        let (w, n) = (Arc::clone(&s), Arc::clone(&s));
        selector_contract(s, &move |r, t| w.wait(r, t), move || n.notify());
    }

    /// An epoll selector that counts its registration calls.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    struct Counted(epoll::Selector, std::sync::atomic::AtomicUsize);

    #[cfg(any(target_os = "linux", target_os = "android"))]
    impl Register for Counted {
        fn add(&self, fd: RawFd, interest: Interest) -> io::Result<()> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.0.add(fd, interest)
        }
        fn modify(&self, fd: RawFd, interest: Interest) -> io::Result<()> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.0.modify(fd, interest)
        }
        fn delete(&self, fd: RawFd) -> io::Result<()> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.0.delete(fd)
        }
    }

    /// A pooled connection's socket keeps its registration without a call;
    /// one closed by libcurl's callback and opened again is registered anew,
    /// and a socket libcurl did not open for a connection is always checked.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_connection_socket_is_taken_back_without_a_call_while_it_stays_open() {
        use crate::connection_sockets::{close_socket, opened};
        use std::os::fd::IntoRawFd;
        use std::sync::atomic::Ordering::Relaxed;

        let selector = Arc::new(Counted(epoll::Selector::new().unwrap(), Default::default()));
        let counted = Arc::clone(&selector);
        let wait = move |r: &mut Vec<(RawFd, Interest)>, t| counted.0.wait(r, t);
        let calls = || selector.1.load(Relaxed);
        let mut w = Watch::new(Arc::clone(&selector));

        let (mut a, b) = UnixStream::pair().unwrap();
        let fd = b.into_raw_fd();
        opened(fd);
        w.set(fd, Some(READ));
        assert_eq!(calls(), 1);
        // Pooled, then wanted again for the same events: no call.
        w.set(fd, None);
        w.set(fd, Some(READ));
        assert_eq!(calls(), 1);
        a.write_all(b"x").unwrap();
        assert_eq!(
            ready(&mut w, &wait, Duration::from_secs(5)),
            vec![(fd, READ)]
        );
        // Other events: a call.
        w.set(fd, None);
        w.set(fd, Some(WRITE));
        assert_eq!(calls(), 2);

        // Closed by the callback; the number comes back for a new socket.
        w.set(fd, None);
        assert_eq!(close_socket(std::ptr::null_mut(), fd), 0);
        let (c, d) = UnixStream::pair().unwrap();
        let (mut writer, reader) = if c.as_raw_fd() == fd { (d, c) } else { (c, d) };
        if reader.as_raw_fd() != fd {
            return; // another test took the number
        }
        // Not a connection socket this time: checked, so added again.
        w.set(fd, Some(WRITE));
        assert!(calls() >= 3);
        writer.write_all(b"y").unwrap();
        w.set(fd, None);
        let before = calls();
        w.set(fd, Some(READ));
        assert!(calls() > before);
        assert_eq!(
            ready(&mut w, &wait, Duration::from_secs(5)),
            vec![(fd, READ)]
        );
        let before = calls();
        w.set(fd, None);
        w.set(fd, Some(READ));
        assert!(calls() > before, "a socket libcurl did not open is checked");
    }
}
