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
    // Version 2: wx's profile, step by step (wx's names in brackets). Each
    // step of the final hop; -1 = it did not happen (a reused connection
    // has no DNS, connect or TLS step).
    /// [fetchStart] The final hop began (after any redirects).
    pub fetch_start_us: i64,
    /// [domainLookUpStart]
    pub dns_start_us: i64,
    /// [connectStart]
    pub connect_start_us: i64,
    /// [SSLconnectionStart]
    pub tls_start_us: i64,
    /// [SSLconnectionEnd] The same as `tls_done_us`.
    pub tls_end_us: i64,
    /// [requestStart] libcurl began sending the request: the same as
    /// `request_sent_us`, which despite its name is measured here.
    pub request_start_us: i64,
    /// [requestEnd] The whole request, body included, was sent.
    pub request_end_us: i64,
    /// [responseStart] The first response byte: the same as `first_byte_us`.
    pub response_start_us: i64,
    /// [responseEnd] The last response byte.
    pub response_end_us: i64,
    /// [redirectStart] The first hop began; -1 without redirects.
    pub redirect_start_us: i64,
    /// [redirectEnd] The last redirect hop ended; -1 without redirects.
    pub redirect_end_us: i64,
    /// [rtt] The connection's smoothed round-trip time (TCP_INFO, Linux and
    /// Android), read as the transfer ends; on a kept-alive connection
    /// read at most 100 ms before, when an earlier transfer on it ended.
    /// -1 when unknown.
    pub rtt_us: i64,
    /// [throughputKbps] Body kilobits per second from first to last byte
    /// of the final response; 0 when unknown.
    pub throughput_kbps: u64,
    /// [estimate_nettype] From `rtt_us`, as Chrome's effective connection
    /// type: 0 unknown, 2 slow-2g, 3 2g, 4 3g, 5 4g or better.
    pub estimate_nettype: u32,
    /// Where the final hop's address came from: "system" (the OS
    /// resolver), "override" (`resolve` or `nettask_client_add_resolve`)
    /// or "doh" (`doh_url`); "" when no name was resolved (an IP address
    /// in the URL, a reused connection). Static, never NULL.
    pub dns_source: *const c_char,
}

/// A finished task's profile: the C struct and the string its `peer_ip`
/// points to. `protocol` and `dns_source` point to static strings.
#[derive(Debug)]
pub struct Profile {
    c: nettask_profile,
    peer_ip: CString,
}

// SAFETY: the struct's pointers only ever point to immutable bytes:
// `peer_ip` into the heap buffer of the CString owned beside it (which
// does not move when the Profile moves, and lives as long as it), and
// `protocol` and `dns_source` to static strings. Nothing is written
// through them.
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
            fetch_start_us: -1,
            dns_start_us: -1,
            connect_start_us: -1,
            tls_start_us: -1,
            tls_end_us: -1,
            request_start_us: -1,
            request_end_us: -1,
            response_start_us: -1,
            response_end_us: -1,
            redirect_start_us: -1,
            redirect_end_us: -1,
            rtt_us: -1,
            throughput_kbps: 0,
            estimate_nettype: 0,
            dns_source: c"".as_ptr(),
        };
        Profile::new(c, CString::default())
    }

    /// Reads a transfer's info. `clock` says when it was queued, when its
    /// last hop joined the multi handle (where libcurl's clock starts) and
    /// when it ended; `earlier` is what the redirect hops before it did;
    /// `rtt` the connection's round-trip time, if known.
    ///
    /// # Safety
    /// `easy` is a live libcurl easy handle, not used by another thread
    /// during the call (it may still be in its multi handle).
    pub unsafe fn read(
        easy: *mut curl_sys::CURL,
        clock: Clock,
        earlier: &Hops,
        rtt: Option<Duration>,
        dns_source: &'static CStr,
    ) -> Profile {
        // SAFETY: the caller's promise.
        let info = unsafe { Info::new(easy) };
        let base = micros(clock.hop_start);
        let peer_port = u16::try_from(info.long(CURLINFO_PRIMARY_PORT)).unwrap_or(0);
        let (this_hop, body_bytes) = Hops::of(&info);
        // libcurl reports 0 for a step that did not happen, and sets the
        // request and response timers even when no connection was made:
        // a step counts only when the one it needs happened.
        let connected = peer_port != 0;
        let reused = connected && info.long(CURLINFO_NUM_CONNECTS) == 0;
        let responded = connected && this_hop.bytes_received > 0;
        let at = |item, happened: bool| match info.off_t(item) {
            us if us > 0 && happened => base + us,
            _ => -1,
        };
        let dns_done = at(CURLINFO_NAMELOOKUP_TIME_T, true);
        let connect_done = at(CURLINFO_CONNECT_TIME_T, connected);
        let tls_done = at(CURLINFO_APPCONNECT_TIME_T, connected);
        let request_start = at(CURLINFO_PRETRANSFER_TIME_T, connected);
        let request_end = at(CURLINFO_POSTTRANSFER_TIME_T, connected);
        let response_start = at(CURLINFO_STARTTRANSFER_TIME_T, responded);
        let response_end = at(CURLINFO_TOTAL_TIME_T, responded);
        let redirected = earlier.count > 0;
        let rtt_us = rtt.map_or(-1, micros);
        let c = nettask_profile {
            queued_us: micros(clock.queued),
            dns_done_us: dns_done,
            connect_done_us: connect_done,
            tls_done_us: tls_done,
            request_sent_us: request_start,
            first_byte_us: response_start,
            total_us: micros(clock.total),
            redirect_us: if redirected { base } else { -1 },
            redirect_count: earlier.count,
            socket_reused: reused,
            peer_ip: std::ptr::null(),
            peer_port,
            local_port: if connected {
                u16::try_from(info.long(CURLINFO_LOCAL_PORT)).unwrap_or(0)
            } else {
                0
            },
            protocol: protocol_name(info.long(CURLINFO_HTTP_VERSION)).as_ptr(),
            bytes_sent: earlier.bytes_sent + this_hop.bytes_sent,
            bytes_received: earlier.bytes_received + this_hop.bytes_received,
            fetch_start_us: base,
            dns_start_us: if dns_done >= 0 { base } else { -1 },
            connect_start_us: if connect_done >= 0 {
                dns_done.max(base)
            } else {
                -1
            },
            tls_start_us: if tls_done >= 0 { connect_done } else { -1 },
            tls_end_us: tls_done,
            request_start_us: request_start,
            request_end_us: request_end,
            response_start_us: response_start,
            response_end_us: response_end,
            redirect_start_us: if redirected { micros(clock.queued) } else { -1 },
            redirect_end_us: if redirected { base } else { -1 },
            rtt_us,
            throughput_kbps: throughput_kbps(body_bytes, response_end - response_start),
            estimate_nettype: nettype(rtt_us),
            // A reused connection resolved nothing.
            dns_source: if reused { c"" } else { dns_source }.as_ptr(),
        };
        let peer_ip = info.string(CURLINFO_PRIMARY_IP).filter(|_| connected);
        Profile::new(c, peer_ip.unwrap_or_default())
    }
}

/// Kilobits per second for `bytes` over `us` microseconds; 0 when unknown.
fn throughput_kbps(bytes: u64, us: i64) -> u64 {
    match u64::try_from(us) {
        Ok(us) if us > 0 => bytes.saturating_mul(8_000) / us,
        _ => 0,
    }
}

/// Chrome's effective connection type from a round-trip time, in wx's
/// numbers (its network quality estimator's RTT thresholds).
fn nettype(rtt_us: i64) -> u32 {
    match rtt_us {
        ..0 => 0,
        2_000_000.. => 2,
        1_400_000.. => 3,
        270_000.. => 4,
        _ => 5,
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
        let (hop, _) = Hops::of(info);
        self.count += 1;
        self.bytes_sent += hop.bytes_sent;
        self.bytes_received += hop.bytes_received;
    }

    /// The hop that just ended on `info`'s handle, and its body bytes.
    fn of(info: &Info) -> (Hops, u64) {
        let long = |item| u64::try_from(info.long(item)).unwrap_or(0);
        let body = u64::try_from(info.off_t(CURLINFO_SIZE_DOWNLOAD_T)).unwrap_or(0);
        let hop = Hops {
            count: 0,
            // REQUEST_SIZE counts the request head and body.
            bytes_sent: long(curl_sys::CURLINFO_REQUEST_SIZE),
            bytes_received: long(curl_sys::CURLINFO_HEADER_SIZE) + body,
        };
        (hop, body)
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
