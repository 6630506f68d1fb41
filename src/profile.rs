//! Timings and connection facts of a finished task, from `CURLINFO_*`.

use std::ffi::{CStr, CString, c_char, c_long};
use std::time::Duration;

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

    /// Reads a transfer's info. `queued` is the time from start until the
    /// handle joined the multi handle, where libcurl's clock starts.
    ///
    /// # Safety
    /// `easy` is a live libcurl easy handle, not used by another thread
    /// during the call (it may still be in its multi handle).
    pub unsafe fn read(easy: *mut curl_sys::CURL, queued: Duration, total: Duration) -> Profile {
        let info = Info(easy);
        let base = micros(queued);
        // libcurl reports 0 for a step that did not happen.
        let at = |item| match info.off_t(item) {
            us if us > 0 => base + us,
            _ => -1,
        };
        let redirect_count = u32::try_from(info.long(CURLINFO_REDIRECT_COUNT)).unwrap_or(0);
        let peer_port = u16::try_from(info.long(CURLINFO_PRIMARY_PORT)).unwrap_or(0);
        let header_bytes = u64::try_from(info.long(curl_sys::CURLINFO_HEADER_SIZE)).unwrap_or(0);
        let c = nettask_profile {
            queued_us: base,
            dns_done_us: at(CURLINFO_NAMELOOKUP_TIME_T),
            connect_done_us: at(CURLINFO_CONNECT_TIME_T),
            tls_done_us: at(CURLINFO_APPCONNECT_TIME_T),
            request_sent_us: at(CURLINFO_PRETRANSFER_TIME_T),
            first_byte_us: at(CURLINFO_STARTTRANSFER_TIME_T),
            total_us: micros(total),
            redirect_us: if redirect_count > 0 {
                at(CURLINFO_REDIRECT_TIME_T)
            } else {
                -1
            },
            redirect_count,
            socket_reused: peer_port != 0 && info.long(CURLINFO_NUM_CONNECTS) == 0,
            peer_ip: std::ptr::null(),
            peer_port,
            local_port: u16::try_from(info.long(CURLINFO_LOCAL_PORT)).unwrap_or(0),
            protocol: protocol_name(info.long(CURLINFO_HTTP_VERSION)).as_ptr(),
            // REQUEST_SIZE counts request heads and bodies, redirects included.
            bytes_sent: u64::try_from(info.long(curl_sys::CURLINFO_REQUEST_SIZE)).unwrap_or(0),
            bytes_received: header_bytes
                + u64::try_from(info.off_t(CURLINFO_SIZE_DOWNLOAD_T)).unwrap_or(0),
        };
        Profile::new(c, info.string(CURLINFO_PRIMARY_IP).unwrap_or_default())
    }
}

// Values from curl/curl.h (curl-sys exports only some).
const CURLINFO_OFF_T: curl_sys::CURLINFO = 0x600000;
const CURLINFO_REDIRECT_COUNT: curl_sys::CURLINFO = curl_sys::CURLINFO_LONG + 20;
const CURLINFO_NUM_CONNECTS: curl_sys::CURLINFO = curl_sys::CURLINFO_LONG + 26;
const CURLINFO_PRIMARY_IP: curl_sys::CURLINFO = curl_sys::CURLINFO_STRING + 32;
const CURLINFO_PRIMARY_PORT: curl_sys::CURLINFO = curl_sys::CURLINFO_LONG + 40;
const CURLINFO_LOCAL_PORT: curl_sys::CURLINFO = curl_sys::CURLINFO_LONG + 42;
const CURLINFO_HTTP_VERSION: curl_sys::CURLINFO = curl_sys::CURLINFO_LONG + 46;
const CURLINFO_SIZE_DOWNLOAD_T: curl_sys::CURLINFO = CURLINFO_OFF_T + 8;
const CURLINFO_NAMELOOKUP_TIME_T: curl_sys::CURLINFO = CURLINFO_OFF_T + 51;
const CURLINFO_CONNECT_TIME_T: curl_sys::CURLINFO = CURLINFO_OFF_T + 52;
const CURLINFO_PRETRANSFER_TIME_T: curl_sys::CURLINFO = CURLINFO_OFF_T + 53;
const CURLINFO_STARTTRANSFER_TIME_T: curl_sys::CURLINFO = CURLINFO_OFF_T + 54;
const CURLINFO_REDIRECT_TIME_T: curl_sys::CURLINFO = CURLINFO_OFF_T + 55;
const CURLINFO_APPCONNECT_TIME_T: curl_sys::CURLINFO = CURLINFO_OFF_T + 56;

fn protocol_name(version: c_long) -> &'static CStr {
    match version {
        1 => c"http/1.0",
        2 => c"http/1.1",
        3 => c"h2",
        30 => c"h3",
        _ => c"",
    }
}

/// `curl_easy_getinfo` on a live easy handle (see `Profile::read`); an
/// item libcurl does not have reads as 0 or `None`.
struct Info(*mut curl_sys::CURL);

impl Info {
    fn long(&self, item: curl_sys::CURLINFO) -> c_long {
        let mut value: c_long = 0;
        // SAFETY: `self.0` is a live easy handle (the contract of
        // `Profile::read`), and `item` is a CURLINFO_LONG item, for which
        // libcurl writes one `long`.
        let rc = unsafe { curl_sys::curl_easy_getinfo(self.0, item, &mut value as *mut c_long) };
        if rc == curl_sys::CURLE_OK { value } else { 0 }
    }

    fn off_t(&self, item: curl_sys::CURLINFO) -> i64 {
        let mut value: i64 = 0;
        // SAFETY: a live easy handle (see `long`), and `item` is a
        // CURLINFO_OFF_T item, for which libcurl writes one `curl_off_t` (i64).
        let rc = unsafe { curl_sys::curl_easy_getinfo(self.0, item, &mut value as *mut i64) };
        if rc == curl_sys::CURLE_OK { value } else { 0 }
    }

    fn string(&self, item: curl_sys::CURLINFO) -> Option<CString> {
        let mut value: *const c_char = std::ptr::null();
        // SAFETY: a live easy handle (see `long`), and `item` is a
        // CURLINFO_STRING item, for which libcurl writes a pointer to a
        // NUL-terminated string it owns, or NULL.
        let rc =
            unsafe { curl_sys::curl_easy_getinfo(self.0, item, &mut value as *mut *const c_char) };
        // SAFETY: non-NULL values are NUL-terminated strings that live at
        // least until the next call on the handle; copied at once.
        (rc == curl_sys::CURLE_OK && !value.is_null())
            .then(|| unsafe { CStr::from_ptr(value) }.into())
    }
}
