//! Timings and connection facts of a finished task, from `CURLINFO_*`.

use std::ffi::{CStr, CString, c_char, c_long};
use std::time::Duration;

use curl::easy::{Easy2, Handler};

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
    pub fn read<H: Handler>(easy: &Easy2<H>, queued: Duration, total: Duration) -> Profile {
        let base = micros(queued);
        // libcurl reports 0 for a step that did not happen.
        let at = |d: Result<Duration, curl::Error>| match d {
            Ok(d) if !d.is_zero() => base + micros(d),
            _ => -1,
        };
        let redirect_count = easy.redirect_count().unwrap_or(0);
        let connected = easy.primary_port().unwrap_or(0) != 0;
        let header_bytes = easy.header_size().unwrap_or(0);
        let peer_ip = easy
            .primary_ip()
            .ok()
            .flatten()
            .and_then(|ip| CString::new(ip).ok())
            .unwrap_or_default();
        let c = nettask_profile {
            queued_us: base,
            dns_done_us: at(easy.namelookup_time()),
            connect_done_us: at(easy.connect_time()),
            tls_done_us: at(easy.appconnect_time()),
            request_sent_us: at(easy.pretransfer_time()),
            first_byte_us: at(easy.starttransfer_time()),
            total_us: micros(total),
            redirect_us: if redirect_count > 0 {
                at(easy.redirect_time())
            } else {
                -1
            },
            redirect_count,
            socket_reused: connected && easy.num_connects().unwrap_or(0) == 0,
            peer_ip: std::ptr::null(),
            peer_port: easy.primary_port().unwrap_or(0),
            local_port: easy.local_port().unwrap_or(0),
            protocol: protocol_name(info_long(easy, CURLINFO_HTTP_VERSION)).as_ptr(),
            // REQUEST_SIZE counts request heads and bodies, redirects included.
            bytes_sent: easy.request_size().unwrap_or(0),
            bytes_received: header_bytes + info_u64(easy, CURLINFO_SIZE_DOWNLOAD_T),
        };
        Profile::new(c, peer_ip)
    }
}

// Not exported by curl-sys; values from curl/curl.h.
const CURLINFO_HTTP_VERSION: curl_sys::CURLINFO = curl_sys::CURLINFO_LONG + 46;
const CURLINFO_SIZE_DOWNLOAD_T: curl_sys::CURLINFO = CURLINFO_OFF_T + 8;
const CURLINFO_OFF_T: curl_sys::CURLINFO = 0x600000;

fn protocol_name(version: c_long) -> &'static CStr {
    match version {
        1 => c"http/1.0",
        2 => c"http/1.1",
        3 => c"h2",
        30 => c"h3",
        _ => c"",
    }
}

fn info_long<H>(easy: &Easy2<H>, info: curl_sys::CURLINFO) -> c_long {
    let mut value: c_long = 0;
    // SAFETY: `easy.raw()` is a live easy handle owned by `easy`, and `info`
    // is a CURLINFO_LONG item, for which libcurl writes one `long`.
    let rc = unsafe { curl_sys::curl_easy_getinfo(easy.raw(), info, &mut value as *mut c_long) };
    if rc == curl_sys::CURLE_OK { value } else { 0 }
}

fn info_u64<H>(easy: &Easy2<H>, info: curl_sys::CURLINFO) -> u64 {
    let mut value: i64 = 0;
    // SAFETY: `easy.raw()` is a live easy handle owned by `easy`, and `info`
    // is a CURLINFO_OFF_T item, for which libcurl writes one `curl_off_t` (i64).
    let rc = unsafe { curl_sys::curl_easy_getinfo(easy.raw(), info, &mut value as *mut i64) };
    if rc == curl_sys::CURLE_OK {
        u64::try_from(value).unwrap_or(0)
    } else {
        0
    }
}
