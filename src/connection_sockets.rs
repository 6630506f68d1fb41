//! The sockets libcurl opened for connections on this thread and has not
//! closed yet, each with a number that names that one opening, and the
//! libcurl connection each belongs to once it is known. Two uses:
//!
//! - The poller can leave a pooled connection's socket registered between
//!   transfers and skip the system call when the next transfer on it asks
//!   for the same events (one `epoll_ctl` per request on a kept-alive
//!   HTTP/1.1 connection): a number still open under the same opening is
//!   the same socket, not a closed one whose number came back.
//! - A finished transfer's socket (for its round-trip time) is found from
//!   its connection's id, where `CURLINFO_ACTIVESOCKET` walks libcurl's
//!   whole connection pool: a cost per request that grew with the pool.
//!   And a connection closed as its transfer ended (`Connection: close`)
//!   still has its round-trip time, read as the socket closed.
//!
//! Filled by the transfer's open-socket hook and by [`close_socket`],
//! libcurl's close-socket callback. Both run on the event thread (nothing
//! else touches libcurl), hence one record per thread. Only on Linux and
//! Android: there libcurl closes every socket it opened through that
//! callback (elsewhere a failed SO_NOSIGPIPE closes one without it).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::num::NonZeroU32;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::curl_info::{CURLINFO_ACTIVESOCKET, CURLINFO_CONN_ID, Info};

/// Whether sockets are tracked on this system (see the module's note).
pub(crate) const TRACKED: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// Which opening of a socket number this is: counted per thread, wrapping
/// (a number would have to be opened 2^32 times in between to collide).
pub(crate) type Opening = NonZeroU32;

/// How long a kept-alive connection's round-trip time, once read, stands
/// for it: the connection can finish a transfer every few microseconds,
/// and each read is a system call (3% of a small GET's time here), while
/// the kernel's smoothed value moves over many round trips.
const RTT_MAX_AGE: Duration = Duration::from_millis(100);

/// What is known of a connection on an open socket.
struct Known {
    /// Its libcurl connection id.
    connection: i64,
    /// Its round-trip time when last read, and when that was.
    rtt: Option<(Instant, Duration)>,
}

/// Kept small: an idle client holds one entry per connection.
#[derive(Default)]
struct Record {
    /// Open connection sockets: number → which opening.
    open: HashMap<RawFd, Opening>,
    /// For the open sockets whose libcurl connection is known: what is
    /// known of it, and back from its id (filled as transfers finish).
    connection_of: HashMap<RawFd, Known>,
    socket_of: HashMap<i64, RawFd>,
    openings: u32,
    /// Sockets closed since the event loop last collected its finished
    /// transfers: opening, connection id if known, round-trip time.
    closed: Vec<(Opening, Option<i64>, Duration)>,
    /// Set while closes need no round-trip time (aborted transfers).
    quiet: bool,
}

impl Record {
    /// Forgets the connection known on `fd`, if any, and says which.
    fn forget_connection(&mut self, fd: RawFd) -> Option<i64> {
        let connection = self.connection_of.remove(&fd)?.connection;
        self.socket_of.remove(&connection);
        Some(connection)
    }
}

thread_local! {
    static RECORD: RefCell<Record> = RefCell::default();
}

/// Runs `f` on this thread's record, unless the thread is ending (or the
/// record is in use: no libcurl callback runs inside another's `f`).
fn with<T>(f: impl FnOnce(&mut Record) -> T) -> Option<T> {
    if !TRACKED {
        return None;
    }
    RECORD
        .try_with(|record| record.try_borrow_mut().ok().map(|mut r| f(&mut r)))
        .ok()
        .flatten()
}

/// Which opening `fd` is, while it is a connection socket libcurl opened
/// on this thread and has not closed.
pub(crate) fn opening(fd: RawFd) -> Option<Opening> {
    with(|r| r.open.get(&fd).copied()).flatten()
}

/// libcurl opened `fd` for a connection (the open-socket hook): which
/// opening it is, where sockets are tracked.
pub(crate) fn opened(fd: RawFd) -> Option<Opening> {
    with(|r| {
        r.openings = r.openings.checked_add(1).unwrap_or(1);
        let opening = Opening::new(r.openings).unwrap_or(Opening::MIN);
        r.open.insert(fd, opening);
        r.forget_connection(fd);
        opening
    })
}

/// libcurl is closing `fd`: it leaves the record, keeping its round-trip
/// time for a transfer that finishes with it (unless closes are quiet).
fn closing(fd: RawFd) {
    with(|r| {
        let Some(opening) = r.open.remove(&fd) else {
            return;
        };
        let connection = r.forget_connection(fd);
        if !r.quiet
            && let Some(rtt) = socket_rtt(fd)
        {
            r.closed.push((opening, connection, rtt));
        }
    });
}

/// Runs `f` (the removal of aborted transfers) without reading the
/// round-trip time of the sockets it closes: no result needs them.
pub(crate) fn quietly<T>(f: impl FnOnce() -> T) -> T {
    with(|r| r.quiet = true);
    let out = f();
    with(|r| r.quiet = false);
    out
}

/// The event loop collected every finished transfer: the sockets closed
/// before are no one's now.
pub(crate) fn collected() {
    with(|r| r.closed.clear());
}

/// The round-trip time of the connection `info`'s handle used last: read
/// from its socket (at most `RTT_MAX_AGE` before), or kept from when it
/// closed. `opened` is the socket the handle opened for this transfer, if
/// it opened one.
pub(crate) fn connection_rtt(info: &Info, opened: Option<Opening>) -> Option<Duration> {
    let connection = info.off_t(CURLINFO_CONN_ID);
    if let Some(fd) = socket(info, connection) {
        return open_rtt(fd, Instant::now());
    }
    with(|r| {
        let closed = r.closed.iter().rev();
        closed
            .filter(|&&(o, c, _)| (connection >= 0 && c == Some(connection)) || Some(o) == opened)
            .map(|&(_, _, rtt)| rtt)
            .next()
    })
    .flatten()
}

/// The round-trip time of the connection on the open socket `fd` at `now`:
/// the last one read while it is younger than `RTT_MAX_AGE`, else read.
fn open_rtt(fd: RawFd, now: Instant) -> Option<Duration> {
    with(|r| match r.connection_of.get_mut(&fd) {
        Some(Known {
            rtt: Some((at, rtt)),
            ..
        }) if now.saturating_duration_since(*at) < RTT_MAX_AGE => Some(*rtt),
        Some(known) => {
            let rtt = socket_rtt(fd)?;
            known.rtt = Some((now, rtt));
            Some(rtt)
        }
        None => socket_rtt(fd),
    })
    .unwrap_or_else(|| socket_rtt(fd))
}

/// The socket of the connection `info`'s handle used last, as
/// `CURLINFO_ACTIVESOCKET` tells, but without its walk of the connection
/// pool once the connection is known.
pub(crate) fn active_socket(info: &Info) -> Option<curl_sys::curl_socket_t> {
    socket(info, info.off_t(CURLINFO_CONN_ID))
}

fn socket(info: &Info, connection: i64) -> Option<curl_sys::curl_socket_t> {
    if let Some(fd) = socket_of(connection) {
        return Some(fd);
    }
    let fd = info.socket(CURLINFO_ACTIVESOCKET)?;
    learn(connection, fd);
    Some(fd)
}

fn socket_of(connection: i64) -> Option<RawFd> {
    with(|r| r.socket_of.get(&connection).copied()).flatten()
}

/// Records that `connection` (a libcurl connection id) is on `fd`, if `fd`
/// is a socket whose close the record will hear of.
fn learn(connection: i64, fd: RawFd) {
    with(|r| {
        if r.open.contains_key(&fd) && connection >= 0 {
            r.forget_connection(fd);
            let known = Known {
                connection,
                rtt: None,
            };
            r.connection_of.insert(fd, known);
            r.socket_of.insert(connection, fd);
        }
    });
}

/// `CURLOPT_CLOSESOCKETFUNCTION`: takes the socket out of the record,
/// then closes it.
/// Returns 0 when closed, 1 when `close` failed (libcurl's convention).
pub(crate) extern "C" fn close_socket(_: *mut c_void, fd: curl_sys::curl_socket_t) -> c_int {
    closing(fd);
    // SAFETY: libcurl hands over a socket it opened and no longer uses:
    // closing it is what this callback is for, and nothing else owns it.
    match unsafe { libc::close(fd) } {
        0 => 0,
        _ => 1,
    }
}

/// The smoothed round-trip time of the connection on `socket`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn socket_rtt(socket: curl_sys::curl_socket_t) -> Option<Duration> {
    // SAFETY: tcp_info is plain integers; all-zero is a valid value.
    let mut tcp: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `tcp` and `len` are valid for writes of the sizes given; a
    // socket that is not (or no longer) TCP only makes the call fail.
    let rc = unsafe {
        libc::getsockopt(
            socket,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut tcp).cast(),
            &mut len,
        )
    };
    (rc == 0 && tcp.tcpi_rtt > 0).then(|| Duration::from_micros(tcp.tcpi_rtt.into()))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn socket_rtt(_socket: curl_sys::curl_socket_t) -> Option<Duration> {
    None
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
        closing(fd);
    }

    /// A connected loopback TCP socket, recorded as libcurl's (and its peer).
    fn tcp_socket() -> (RawFd, Opening, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let peer = listener.accept().unwrap().0;
        let fd = stream.into_raw_fd();
        (fd, opened(fd).unwrap(), peer)
    }

    fn kept(opening: Opening) -> bool {
        with(|r| {
            r.closed
                .iter()
                .any(|&(o, _, rtt)| o == opening && !rtt.is_zero())
        })
        .unwrap()
    }

    #[test]
    fn a_closed_socket_keeps_its_rtt_until_collected_unless_closed_quietly() {
        let (fd, opening, _peer) = tcp_socket();
        // qemu-user does not emulate TCP_INFO: nothing to keep there.
        let known = socket_rtt(fd).is_some();
        assert_eq!(close_socket(std::ptr::null_mut(), fd), 0);
        assert_eq!(kept(opening), known);
        collected();
        assert!(!kept(opening));

        let (fd, opening, _peer) = tcp_socket();
        quietly(|| assert_eq!(close_socket(std::ptr::null_mut(), fd), 0));
        assert!(!kept(opening));
        assert!(!with(|r| r.quiet).unwrap());
    }

    #[test]
    fn an_open_connection_s_rtt_is_read_again_once_it_is_old() {
        let (fd, _, _peer) = tcp_socket();
        // qemu-user does not emulate TCP_INFO: nothing to read there.
        if socket_rtt(fd).is_none() {
            return closing(fd);
        }
        let read_at = || with(|r| r.connection_of[&fd].rtt.unwrap().0).unwrap();
        learn(9, fd);
        let start = Instant::now();
        assert!(open_rtt(fd, start).is_some());
        assert_eq!(read_at(), start);
        // Younger than RTT_MAX_AGE: the value read stands, without a read.
        let soon = start + RTT_MAX_AGE / 2;
        assert!(open_rtt(fd, soon).is_some());
        assert_eq!(read_at(), start);
        // As old as RTT_MAX_AGE: read again.
        let later = start + RTT_MAX_AGE;
        assert!(open_rtt(fd, later).is_some());
        assert_eq!(read_at(), later);
        // A socket whose connection is not known is read each time.
        let (other, _, _peer) = tcp_socket();
        assert!(open_rtt(other, later).is_some());
        assert!(with(|r| !r.connection_of.contains_key(&other)).unwrap());
        assert_eq!(close_socket(std::ptr::null_mut(), fd), 0);
        assert_eq!(close_socket(std::ptr::null_mut(), other), 0);
    }

    #[test]
    fn a_connection_is_known_on_its_socket_until_the_socket_closes() {
        let (a, _b) = UnixStream::pair().unwrap();
        let fd = a.into_raw_fd();
        // Not a socket libcurl opened: not recorded.
        learn(7, fd);
        assert_eq!(socket_of(7), None);
        opened(fd);
        learn(7, fd);
        assert_eq!(socket_of(7), Some(fd));
        assert_eq!(close_socket(std::ptr::null_mut(), fd), 0);
        assert_eq!(socket_of(7), None);
        // A number opened again forgets the connection of the last opening.
        opened(fd);
        learn(8, fd);
        opened(fd);
        assert_eq!(socket_of(8), None);
        closing(fd);
    }
}
