//! Timings and connection facts of a finished task, from `CURLINFO_*`.

use std::ffi::{CStr, CString, c_long};
use std::time::Duration;

use curl::easy::{Easy2, Handler};

/// Times are microseconds from `start`; -1 means the step did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub queued_us: i64,
    pub dns_done_us: i64,
    pub connect_done_us: i64,
    pub tls_done_us: i64,
    pub request_sent_us: i64,
    pub first_byte_us: i64,
    pub total_us: i64,
    pub redirect_us: i64,
    pub redirect_count: u32,
    pub socket_reused: bool,
    /// Empty when no connection was made.
    pub peer_ip: CString,
    pub peer_port: u16,
    pub local_port: u16,
    /// "http/1.0", "http/1.1", "h2", "h3", or empty without a response.
    pub protocol: &'static CStr,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl Profile {
    /// A task that never reached libcurl.
    pub fn not_run(total: Duration) -> Profile {
        Profile {
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
            peer_ip: CString::default(),
            peer_port: 0,
            local_port: 0,
            protocol: c"",
            bytes_sent: 0,
            bytes_received: 0,
        }
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
        Profile {
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
            peer_ip: easy
                .primary_ip()
                .ok()
                .flatten()
                .and_then(|ip| CString::new(ip).ok())
                .unwrap_or_default(),
            peer_port: easy.primary_port().unwrap_or(0),
            local_port: easy.local_port().unwrap_or(0),
            protocol: protocol_name(info_long(easy, CURLINFO_HTTP_VERSION)),
            // REQUEST_SIZE counts request heads and bodies, redirects included.
            bytes_sent: easy.request_size().unwrap_or(0),
            bytes_received: header_bytes + info_u64(easy, CURLINFO_SIZE_DOWNLOAD_T),
        }
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
    // SAFETY: as above; CURLINFO_OFF_T items write one `curl_off_t` (i64).
    let rc = unsafe { curl_sys::curl_easy_getinfo(easy.raw(), info, &mut value as *mut i64) };
    if rc == curl_sys::CURLE_OK {
        u64::try_from(value).unwrap_or(0)
    } else {
        0
    }
}
