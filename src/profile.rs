//! Timings and connection facts of a finished task, from `CURLINFO_*`.

use std::ffi::{CStr, CString, c_char, c_long};
use std::time::Duration;

use crate::curl_info::*;

// The one definition of the profile: the header's struct is generated
// from it, and `Profile` keeps one beside the string `peer_ip` points to.
/// Timings and connection facts of a finished task. Times are
/// microseconds from `nettask_start`; -1 = the step did not happen.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy)]
pub struct nettask_profile {
    /// Until the transfer began (waiting for `max_concurrent_tasks`).
    pub queued_us: i64,
    pub dns_done_us: i64,
    pub connect_done_us: i64,
    pub tls_done_us: i64,
    pub request_sent_us: i64,
    pub first_byte_us: i64,
    pub total_us: i64,
    /// Time spent on redirects; -1 without redirects.
    pub redirect_us: i64,
    pub redirect_count: u32,
    /// The connection came from the pool.
    pub socket_reused: bool,
    /// The peer's address; "" when no connection was made.
    pub peer_ip: *const c_char,
    pub peer_port: u16,
    pub local_port: u16,
    /// "http/1.0", "http/1.1", "h2", "h3", or "" without a response.
    pub protocol: *const c_char,
    /// Headers and bodies, on the wire.
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// A finished task's profile: the C struct and the string its `peer_ip`
/// points to. `protocol` points to a static string.
#[derive(Debug)]
pub struct Profile {
    c: nettask_profile,
    peer_ip: CString,
}

// SAFETY: the struct's two pointers only ever point to immutable bytes:
// `peer_ip` into the heap buffer of the CString owned beside it (which
// does not move when the Profile moves, and lives as long as it), and
// `protocol` to a static string. Nothing is written through them.
unsafe impl Send for Profile {}
// SAFETY: shared access only ever reads the immutable bytes the two
// pointers point to (see Send).
unsafe impl Sync for Profile {}

impl Clone for Profile {
    fn clone(&self) -> Profile {
        Profile::new(self.c, self.peer_ip.clone())
    }
}

impl std::ops::Deref for Profile {
    type Target = nettask_profile;

    /// The C struct, its pointers valid as long as this `Profile`.
    fn deref(&self) -> &nettask_profile {
        &self.c
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl Profile {
    fn new(mut c: nettask_profile, peer_ip: CString) -> Profile {
        c.peer_ip = peer_ip.as_ptr();
        Profile { c, peer_ip }
    }

    /// The peer's address; empty when no connection was made.
    pub fn peer_ip(&self) -> &CStr {
        &self.peer_ip
    }

    /// A task that never reached libcurl.
    pub fn not_run(total: Duration) -> Profile {
        let c = nettask_profile {
            queued_us: -1,
            dns_done_us: -1,
            connect_done_us: -1,
            tls_done_us: -1,
            request_sent_us: -1,
            first_byte_us: -1,
            total_us: micros(total),
            redirect_us: -1,
            redirect_count: 0,
            socket_reused: false,
            peer_ip: std::ptr::null(),
            peer_port: 0,
            local_port: 0,
            protocol: c"".as_ptr(),
            bytes_sent: 0,
            bytes_received: 0,
        };
        Profile::new(c, CString::default())
    }

    /// Reads a transfer's info. `clock` says when it was queued, when its
    /// last hop joined the multi handle (where libcurl's clock starts) and
    /// when it ended; `earlier` is what the redirect hops before it did.
    ///
    /// # Safety
    /// `easy` is a live libcurl easy handle, not used by another thread
    /// during the call (it may still be in its multi handle).
    pub unsafe fn read(easy: *mut curl_sys::CURL, clock: Clock, earlier: &Hops) -> Profile {
        // SAFETY: the caller's promise.
        let info = unsafe { Info::new(easy) };
        let base = micros(clock.hop_start);
        // libcurl reports 0 for a step that did not happen.
        let at = |item| match info.off_t(item) {
            us if us > 0 => base + us,
            _ => -1,
        };
        let peer_port = u16::try_from(info.long(CURLINFO_PRIMARY_PORT)).unwrap_or(0);
        let this_hop = Hops::of(&info);
        let c = nettask_profile {
            queued_us: micros(clock.queued),
            dns_done_us: at(CURLINFO_NAMELOOKUP_TIME_T),
            connect_done_us: at(CURLINFO_CONNECT_TIME_T),
            tls_done_us: at(CURLINFO_APPCONNECT_TIME_T),
            request_sent_us: at(CURLINFO_PRETRANSFER_TIME_T),
            first_byte_us: at(CURLINFO_STARTTRANSFER_TIME_T),
            total_us: micros(clock.total),
            redirect_us: if earlier.count > 0 { base } else { -1 },
            redirect_count: earlier.count,
            socket_reused: peer_port != 0 && info.long(CURLINFO_NUM_CONNECTS) == 0,
            peer_ip: std::ptr::null(),
            peer_port,
            local_port: u16::try_from(info.long(CURLINFO_LOCAL_PORT)).unwrap_or(0),
            protocol: protocol_name(info.long(CURLINFO_HTTP_VERSION)).as_ptr(),
            bytes_sent: earlier.bytes_sent + this_hop.bytes_sent,
            bytes_received: earlier.bytes_received + this_hop.bytes_received,
        };
        Profile::new(c, info.string(CURLINFO_PRIMARY_IP).unwrap_or_default())
    }
}

/// When a transfer was queued, started its last hop, and ended, from
/// `nettask_start`.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub queued: Duration,
    pub hop_start: Duration,
    pub total: Duration,
}

/// The redirect hops a transfer followed, and their bytes on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hops {
    pub count: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

impl Hops {
    /// Counts the hop that just ended on `info`'s handle.
    pub(crate) fn add(&mut self, info: &Info) {
        let hop = Hops::of(info);
        self.count += 1;
        self.bytes_sent += hop.bytes_sent;
        self.bytes_received += hop.bytes_received;
    }

    fn of(info: &Info) -> Hops {
        let long = |item| u64::try_from(info.long(item)).unwrap_or(0);
        Hops {
            count: 0,
            // REQUEST_SIZE counts the request head and body.
            bytes_sent: long(curl_sys::CURLINFO_REQUEST_SIZE),
            bytes_received: long(curl_sys::CURLINFO_HEADER_SIZE)
                + u64::try_from(info.off_t(CURLINFO_SIZE_DOWNLOAD_T)).unwrap_or(0),
        }
    }
}

fn protocol_name(version: c_long) -> &'static CStr {
    match version {
        1 => c"http/1.0",
        2 => c"http/1.1",
        3 => c"h2",
        30 => c"h3",
        _ => c"",
    }
}
