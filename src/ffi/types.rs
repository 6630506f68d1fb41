//! The C types of the API, laid out exactly as `include/nettask.h` shows
//! them. Options structs carry a `version` so they can grow at the end.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_void};

/// The version of `nettask_client_options` this header describes.
pub const NETTASK_CLIENT_OPTIONS_VERSION: u32 = 1;
/// The version of `nettask_request_options` this header describes.
pub const NETTASK_REQUEST_OPTIONS_VERSION: u32 = 1;

/// A client: one event thread and one libcurl multi handle running tasks.
/// Opaque; create with `nettask_client_new`, free with `nettask_client_free`.
pub struct nettask_client {
    _private: [u8; 0],
}

/// A request or download task. Opaque and reference counted: the caller
/// owns one reference from `nettask_request_create` /
/// `nettask_download_create` and drops it with `nettask_release`.
pub struct nettask_task {
    _private: [u8; 0],
}

/// Result codes. Every function that can fail returns one; a task's
/// completion carries one in `nettask_result.code`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nettask_code {
    NETTASK_OK = 0,
    /// NULL where not allowed, bad URL/method/header, unsupported scheme.
    NETTASK_E_INVALID_ARGUMENT,
    /// E.g. start twice, `nettask_client_free` from its own listener.
    NETTASK_E_INVALID_STATE,
    /// `nettask_abort` was called.
    NETTASK_E_ABORTED,
    NETTASK_E_TIMEOUT,
    NETTASK_E_DNS,
    NETTASK_E_CONNECT,
    /// TLS handshake or certificate verification failed.
    NETTASK_E_TLS,
    NETTASK_E_SEND,
    /// Connection reset or closed mid-response, bad framing.
    NETTASK_E_RECV,
    NETTASK_E_TOO_MANY_REDIRECTS,
    /// `max_response_bytes` exceeded.
    NETTASK_E_TOO_LARGE,
    /// The download destination cannot be written.
    NETTASK_E_FILE,
    /// The client was freed while the task ran.
    NETTASK_E_SHUTDOWN,
    NETTASK_E_INTERNAL,
}

/// One HTTP header: NUL-terminated name and value.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nettask_header {
    pub name: *const c_char,
    pub value: *const c_char,
}

/// How a client is configured. Fill with `nettask_client_options_init`
/// first, then set the fields you need. Strings are copied by
/// `nettask_client_new`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nettask_client_options {
    /// Must be NETTASK_CLIENT_OPTIONS_VERSION.
    pub version: u32,
    /// 0 = unlimited; beyond it started tasks wait, first in first out.
    pub max_concurrent_tasks: u32,
    /// 0 = libcurl's default (unlimited).
    pub max_connections_per_host: u32,
    /// Whole-task timeout for tasks that set none; 0 = 60000.
    pub default_timeout_ms: u32,
    /// NULL = "nettask/<version>".
    pub user_agent: *const c_char,
    /// PEM bundle of trusted CAs; NULL = the system default.
    pub ca_file: *const c_char,
    /// Proxy URL, e.g. "http://127.0.0.1:3128"; NULL = none, or the
    /// `http_proxy` / `https_proxy` environment variables.
    pub proxy: *const c_char,
    /// Directory for downloads without `file_path`; NULL = the OS temp dir.
    pub temp_dir: *const c_char,
}

/// How one task runs. Fill with `nettask_request_options_init` first, then
/// set the fields you need. Everything is copied by `*_create`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nettask_request_options {
    /// Must be NETTASK_REQUEST_OPTIONS_VERSION.
    pub version: u32,
    /// http:// or https:// only.
    pub url: *const c_char,
    /// NULL = "GET"; one of OPTIONS GET HEAD POST PUT DELETE TRACE CONNECT PATCH.
    pub method: *const c_char,
    /// `header_count` request headers; NULL when `header_count` is 0.
    pub headers: *const nettask_header,
    pub header_count: usize,
    /// Request body, copied at create; NULL when `body_len` is 0.
    pub body: *const u8,
    pub body_len: usize,
    /// Whole task, from `nettask_start`; 0 = the client's default.
    pub timeout_ms: u32,
    /// init: true ("redirect: follow"); false = "manual": a 3xx is the final response.
    pub follow_redirects: bool,
    /// init: 15.
    pub max_redirects: u32,
    /// Fail with NETTASK_E_TIMEOUT when no byte arrives for this long; 0 = off.
    pub idle_timeout_ms: u32,
    /// init: true (HTTP/2 offered through ALPN on https).
    pub enable_http2: bool,
    /// true: do not keep the body for the result; read it from chunk listeners.
    pub enable_chunked: bool,
    /// Fail with NETTASK_E_TOO_LARGE past this many body bytes; 0 = unlimited.
    pub max_response_bytes: u64,
    /// Downloads: the destination; NULL = a new file in the client's temp_dir.
    pub file_path: *const c_char,
    /// init: false. true: speak HTTP/2 from the first byte on http:// (h2c
    /// with prior knowledge), for servers known to support it.
    pub http2_prior_knowledge: bool,
}

/// The final response's status line and headers.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nettask_response_head {
    pub status_code: i32,
    /// "1.0", "1.1", "2" or "3".
    pub http_version: *const c_char,
    /// In wire order, repeated names kept (Set-Cookie).
    pub headers: *const nettask_header,
    pub header_count: usize,
}

/// Download progress.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nettask_progress {
    /// 0..100; 0 while the total is unknown.
    pub progress: u32,
    pub total_bytes_written: u64,
    /// -1 when unknown.
    pub total_bytes_expected_to_write: i64,
}

/// Timings and connection facts. Times are microseconds from
/// `nettask_start`; -1 = the step did not happen.
#[repr(C)]
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
    /// "" when no connection was made.
    pub peer_ip: *const c_char,
    pub peer_port: u16,
    pub local_port: u16,
    /// "http/1.1", "h2", or "" without a response.
    pub protocol: *const c_char,
    /// Headers and bodies, on the wire.
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// How a task ended. Every pointer is borrowed and valid only during the
/// complete listener call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nettask_result {
    pub code: nettask_code,
    /// wx form: "request:ok", "downloadFile:ok", "request:fail abort",
    /// "request:fail timeout", "downloadFile:fail exceed max file size"
    /// (TOO_LARGE), "downloadFile:fail download save file error: <path>:
    /// <os error>" (FILE), "request:fail <reason>" otherwise.
    pub err_msg: *const c_char,
    /// The raw CURLcode behind a failure, 0 if none.
    pub curl_code: i32,
    /// 0 if no response.
    pub status_code: i32,
    /// Final response headers, in wire order.
    pub headers: *const nettask_header,
    pub header_count: usize,
    /// Requests: the whole body (NULL and 0 with enable_chunked or no body).
    pub data: *const u8,
    pub data_len: usize,
    /// Downloads: where the body is; NULL on failure.
    pub file_path: *const c_char,
    /// Body bytes received.
    pub data_length: u64,
    pub profile: *const nettask_profile,
}

/// Called once with the final response's head, before any chunk or progress.
pub type nettask_headers_cb = Option<
    unsafe extern "C" fn(
        task: *mut nettask_task,
        head: *const nettask_response_head,
        user_data: *mut c_void,
    ),
>;
/// Called with each piece of the response body, in order, as it arrives.
pub type nettask_chunk_cb = Option<
    unsafe extern "C" fn(
        task: *mut nettask_task,
        data: *const u8,
        len: usize,
        user_data: *mut c_void,
    ),
>;
/// Called with download progress, coalesced to one event per 1% (or per
/// 100 ms while the total is unknown).
pub type nettask_progress_cb = Option<
    unsafe extern "C" fn(
        task: *mut nettask_task,
        progress: *const nettask_progress,
        user_data: *mut c_void,
    ),
>;
/// Called exactly once for every started task, last of all its events.
pub type nettask_complete_cb = Option<
    unsafe extern "C" fn(
        task: *mut nettask_task,
        result: *const nettask_result,
        user_data: *mut c_void,
    ),
>;
