//! The sockets libcurl opened for connections on this thread and has not
//! closed yet, each with a number that names that one opening. With it the
//! poller can leave a pooled connection's socket registered between
//! transfers and skip the system call when the next transfer on it asks
//! for the same events (one `epoll_ctl` per request on a kept-alive
//! HTTP/1.1 connection): a number still open under the same opening is the
//! same socket, not a closed one whose number came back.
//!
//! Filled by the transfer's open-socket hook and by [`close_socket`],
//! libcurl's close-socket callback. Both run on the event thread (nothing
//! else touches libcurl), hence one record per thread. Only on Linux and
//! Android: there libcurl closes every socket it opened through that
//! callback (elsewhere a failed SO_NOSIGPIPE closes one without it).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::os::fd::RawFd;

/// Whether sockets are tracked on this system (see the module's note).
pub(crate) const TRACKED: bool = cfg!(any(target_os = "linux", target_os = "android"));

thread_local! {
    /// Open connection sockets: number → which opening it is.
    static OPEN: RefCell<HashMap<RawFd, u64>> = RefCell::new(HashMap::new());
    static OPENINGS: Cell<u64> = const { Cell::new(0) };
}

/// Which opening `fd` is, while it is a connection socket libcurl opened
/// on this thread and has not closed.
pub(crate) fn opening(fd: RawFd) -> Option<u64> {
    if !TRACKED {
        return None;
    }
    OPEN.try_with(|open| open.try_borrow().ok()?.get(&fd).copied())
        .ok()
        .flatten()
}

/// libcurl opened `fd` for a connection (the open-socket hook).
pub(crate) fn opened(fd: RawFd) {
    if !TRACKED {
        return;
    }
    let _ = OPEN.try_with(|open| {
        let opening = OPENINGS.with(|n| {
            n.set(n.get() + 1);
            n.get()
        });
        if let Ok(mut open) = open.try_borrow_mut() {
            open.insert(fd, opening);
        }
    });
}

fn forget(fd: RawFd) {
    let _ = OPEN.try_with(|open| {
        if let Ok(mut open) = open.try_borrow_mut() {
            open.remove(&fd);
        }
    });
}

/// `CURLOPT_CLOSESOCKETFUNCTION`: forgets the socket, then closes it.
/// Returns 0 when closed, 1 when `close` failed (libcurl's convention).
pub(crate) extern "C" fn close_socket(_: *mut c_void, fd: curl_sys::curl_socket_t) -> c_int {
    forget(fd);
    // SAFETY: libcurl hands over a socket it opened and no longer uses:
    // closing it is what this callback is for, and nothing else owns it.
    match unsafe { libc::close(fd) } {
        0 => 0,
        _ => 1,
    }
}

/// `CURLOPT_CLOSESOCKETFUNCTION`'s type.
pub(crate) type CloseSocket = extern "C" fn(*mut c_void, curl_sys::curl_socket_t) -> c_int;

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;
    use std::os::fd::IntoRawFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn an_opening_is_known_until_the_callback_closes_it() {
        let (a, b) = UnixStream::pair().unwrap();
        let fd = a.into_raw_fd();
        assert_eq!(opening(fd), None);
        opened(fd);
        let first = opening(fd).unwrap();
        // Opened again under the same number: another opening.
        opened(fd);
        assert_ne!(opening(fd), Some(first));
        assert_eq!(close_socket(std::ptr::null_mut(), fd), 0);
        assert_eq!(opening(fd), None);
        // The peer sees the close: the callback really closed the socket.
        let mut buf = [0u8; 1];
        assert_eq!(std::io::Read::read(&mut &b, &mut buf).unwrap(), 0);
        // Another thread has a record of its own.
        opened(fd);
        std::thread::spawn(move || assert_eq!(opening(fd), None))
            .join()
            .unwrap();
        forget(fd);
    }
}
