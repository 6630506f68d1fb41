//! The Linux / Android selector: epoll, level triggered, and an eventfd for
//! wakeups. One wait is one `epoll_wait`; a wakeup is one eventfd write.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::time::Duration;

use super::{Interest, Register};

/// The key of the eventfd's events; no socket has this number.
const WAKE: u64 = u64::MAX;

/// Events read by one wait at most; more ready sockets wait for the next.
const BATCH: usize = 256;

pub(crate) struct Selector {
    epoll: OwnedFd,
    wake: OwnedFd,
    events: Mutex<Vec<libc::epoll_event>>,
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn owned(rc: libc::c_int) -> io::Result<OwnedFd> {
    let fd = check(rc)?;
    // SAFETY: `fd` was just returned by the kernel and is owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn bits(interest: Interest) -> u32 {
    let mut bits = 0;
    if interest.read {
        bits |= libc::EPOLLIN as u32;
    }
    if interest.write {
        bits |= libc::EPOLLOUT as u32;
    }
    bits
}

impl Selector {
    pub fn new() -> io::Result<Selector> {
        // SAFETY: plain system calls with constant flags.
        let epoll = owned(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: a plain system call with constant flags.
        let wake = owned(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        let selector = Selector {
            epoll,
            wake,
            events: Mutex::new(Vec::with_capacity(BATCH)),
        };
        selector.ctl(
            libc::EPOLL_CTL_ADD,
            selector.wake.as_raw_fd(),
            libc::EPOLLIN as u32,
            WAKE,
        )?;
        Ok(selector)
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, key: u64) -> io::Result<()> {
        let mut event = libc::epoll_event { events, u64: key };
        // SAFETY: `self.epoll` is an epoll descriptor and `event` a valid
        // struct for the call; a bad `fd` is an error, not UB.
        check(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut event) }).map(drop)
    }

    /// Makes the current or next wait return. Any thread.
    pub fn notify(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a local buffer to our eventfd. A full
        // counter (EAGAIN) already means a pending wakeup.
        let _ = unsafe { libc::write(self.wake.as_raw_fd(), one.as_ptr().cast(), one.len()) };
    }

    /// Waits up to `timeout` (rounded up to a millisecond, so a wait never
    /// ends before a timer is due) and appends the ready sockets to `ready`.
    pub fn wait(&self, ready: &mut Vec<(RawFd, Interest)>, timeout: Duration) -> io::Result<()> {
        let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int;
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        events.clear();
        // SAFETY: the buffer has room for `BATCH` events, which the kernel
        // fills from its start; we set the length to what it reports.
        let n = unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                events.as_mut_ptr(),
                BATCH as libc::c_int,
                ms,
            )
        };
        let n = match check(n) {
            Ok(n) => n as usize,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e),
        };
        // SAFETY: the kernel wrote `n` <= BATCH events.
        unsafe { events.set_len(n) };
        for event in events.iter() {
            let (key, bits) = (event.u64, event.events);
            if key == WAKE {
                let mut count = [0u8; 8];
                // SAFETY: reads 8 bytes into a local buffer; it resets the
                // eventfd's counter (EAGAIN when a racing wait took it).
                let _ = unsafe { libc::read(self.wake.as_raw_fd(), count.as_mut_ptr().cast(), 8) };
                continue;
            }
            // A hang-up or an error is for libcurl to read: both directions.
            let broken = bits & (libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0;
            ready.push((
                key as RawFd,
                Interest {
                    read: broken || bits & libc::EPOLLIN as u32 != 0,
                    write: broken || bits & libc::EPOLLOUT as u32 != 0,
                },
            ));
        }
        Ok(())
    }
}

impl Register for Selector {
    fn add(&self, fd: RawFd, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, bits(interest), fd as u64)
    }

    fn modify(&self, fd: RawFd, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, bits(interest), fd as u64)
    }

    fn delete(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)
    }
}
