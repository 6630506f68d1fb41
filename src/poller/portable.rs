//! The selector for every other target (kqueue on Apple platforms), over
//! the `polling` crate, level triggered. On Linux the epoll selector is
//! used instead (this one costs four extra system calls per wait there);
//! the tests run both.

use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::Mutex;
use std::time::Duration;

use polling::{Event, PollMode};

use super::{Interest, Register};

pub(crate) struct Selector {
    poller: polling::Poller,
    events: Mutex<polling::Events>,
}

fn event(fd: RawFd, interest: Interest) -> Event {
    let key = fd as usize;
    match (interest.read, interest.write) {
        (true, true) => Event::all(key),
        (true, false) => Event::readable(key),
        (false, true) => Event::writable(key),
        (false, false) => Event::none(key),
    }
}

impl Selector {
    pub fn new() -> io::Result<Selector> {
        Ok(Selector {
            poller: polling::Poller::new()?,
            events: Mutex::new(polling::Events::new()),
        })
    }

    pub fn notify(&self) {
        let _ = self.poller.notify();
    }

    pub fn wait(&self, ready: &mut Vec<(RawFd, Interest)>, timeout: Duration) -> io::Result<()> {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        events.clear();
        self.poller.wait(&mut events, Some(timeout))?;
        ready.extend(events.iter().map(|e| {
            let interest = Interest {
                read: e.readable,
                write: e.writable,
            };
            (e.key as RawFd, interest)
        }));
        Ok(())
    }
}

impl Register for Selector {
    fn add(&self, fd: RawFd, interest: Interest) -> io::Result<()> {
        // SAFETY: the caller deletes `fd` before closing it, or it is gone
        // from the kernel's set with its last descriptor (see `Poller`).
        unsafe {
            self.poller
                .add_with_mode(fd, event(fd, interest), PollMode::Level)
        }
    }

    fn modify(&self, fd: RawFd, interest: Interest) -> io::Result<()> {
        // SAFETY: `fd` is open: the caller passes only sockets libcurl uses.
        let source = unsafe { BorrowedFd::borrow_raw(fd) };
        self.poller
            .modify_with_mode(source, event(fd, interest), PollMode::Level)
    }

    fn delete(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: `fd` is open: the caller deletes a socket before libcurl
        // closes it.
        self.poller.delete(unsafe { BorrowedFd::borrow_raw(fd) })
    }
}
