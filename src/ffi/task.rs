//! Task functions and types of the C API: options, create, start, abort,
//! release.

use std::ffi::c_char;
use std::mem::size_of;
use std::ptr;
use std::sync::Arc;

use super::client::{client_ref, nettask_client};
use super::input::{entries, flag, millis, path, text};
use super::versioned::{self, Versioned};
use super::{guard, guard_void, null_error};
use crate::error::{Error, nettask_code};
use crate::framing::Framing;
use crate::options::{Header, Method, NO_TIMEOUT, RequestOptions, Upload};
use crate::task::Task;

/// The version of `nettask_request_options` this header describes.
pub const NETTASK_REQUEST_OPTIONS_VERSION: u32 = 2;

/// `timeout_ms`: no whole-task limit (`idle_timeout_ms` still applies),
/// for streams that run for minutes.
pub const NETTASK_TIMEOUT_NONE: u32 = u32::MAX;

/// `chunk_framing`: chunk events as the bytes arrive.
pub const NETTASK_FRAMING_RAW: u32 = 0;
/// `chunk_framing`: no chunk event ends inside a UTF-8 character (bytes
/// that can never become valid UTF-8 pass as they come).
pub const NETTASK_FRAMING_UTF8: u32 = 1;
/// `chunk_framing`: every chunk event holds whole lines ending in `\n` (a
/// line longer than 1 MiB is delivered in pieces).
pub const NETTASK_FRAMING_LINES: u32 = 2;

/// A request or download task. Opaque and reference counted: the caller
/// owns one reference from `nettask_request_create` /
/// `nettask_download_create` and drops it with `nettask_release`.
pub struct nettask_task {
    _private: [u8; 0],
}

/// One HTTP header: NUL-terminated name and value.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nettask_header {
    pub name: *const c_char,
    pub value: *const c_char,
}

/// How one task runs. Fill it with `nettask_request_options_init`, then
/// set the fields you need. `*_create` copies everything it points to.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nettask_request_options {
    /// The struct version the caller was compiled with; set by
    /// `nettask_request_options_init`.
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
    /// Whole task, from `nettask_start`; 0 = the client's default;
    /// NETTASK_TIMEOUT_NONE = no limit.
    pub timeout_ms: u32,
    /// init: true ("redirect: follow"), as fetch does: only a 301, 302, 303,
    /// 307 or 308 with a non-blank Location is followed; 301/302 turn a POST
    /// into a GET without body, 303 every method but HEAD; every other hop
    /// re-sends the method and body. Authorization, Cookie and Host headers
    /// are not sent to another origin. Any other response is the final one,
    /// body included. false = "manual": a 3xx is the final response.
    pub follow_redirects: bool,
    /// init: 15. One more fails the task with NETTASK_E_TOO_MANY_REDIRECTS.
    pub max_redirects: u32,
    /// Fail with NETTASK_E_TIMEOUT when no byte arrives for this long; 0 = off.
    /// Every byte counts, response head included (on HTTP/2, any byte of
    /// the stream's frames as libcurl hands them over).
    pub idle_timeout_ms: u32,
    /// init: true (HTTP/2 offered through ALPN on https).
    pub enable_http2: bool,
    /// true: do not keep the body for the result; read it from chunk listeners.
    pub enable_chunked: bool,
    /// Fail with NETTASK_E_TOO_LARGE past this many body bytes (decoded,
    /// see `accept_encoding`); 0 = unlimited.
    pub max_response_bytes: u64,
    /// Downloads: the destination; NULL = a new file in the client's temp_dir.
    pub file_path: *const c_char,
    /// init: false. true: speak HTTP/2 from the first byte on http:// (h2c
    /// with prior knowledge), for servers known to support it.
    pub http2_prior_knowledge: bool,
    // Version 2.
    /// The content codings offered and decoded. NULL (init): offer and
    /// decode gzip, deflate, br and zstd; "" = offer none, hand over the
    /// raw bytes; otherwise the Accept-Encoding value to send, decoding the
    /// codings of it nettask supports. A response in a coding that was not
    /// offered, or unknown, is handed over raw. Listeners, downloads,
    /// `data`, `data_length` and `max_response_bytes` all see decoded
    /// bytes. A caller's own Accept-Encoding header counts as this option.
    pub accept_encoding: *const c_char,
    /// Uploads: the file sent as the form's file part (its base name is the
    /// part's filename, its type application/octet-stream), streamed from
    /// disk as it is sent. Opened at create: NETTASK_E_FILE if it cannot be.
    pub upload_file_path: *const c_char,
    /// Uploads: the file part's name (wx's `name`); no CR, LF or `"`.
    pub upload_name: *const c_char,
    /// Uploads: the text parts sent before the file part (wx's `formData`),
    /// in order; names without CR, LF or `"`.
    pub form_fields: *const nettask_header,
    pub form_field_count: usize,
    /// Requests: stream the body from this file instead of `body` (not
    /// both); opened at create: NETTASK_E_FILE if it cannot be.
    pub body_file_path: *const c_char,
    /// Where chunk events are cut: NETTASK_FRAMING_RAW (init), _UTF8 or
    /// _LINES. Framing moves only the cuts: the chunks still concatenate to
    /// exactly the body, and what is held back is delivered before the
    /// completion. Another value is NETTASK_E_INVALID_ARGUMENT.
    pub chunk_framing: u32,
    /// "sha256//<base64>[;sha256//...]": the SHA-256 of the DER public key
    /// (SubjectPublicKeyInfo) that every TLS peer of the task, redirect
    /// hops included, must present one of, as libcurl's
    /// CURLOPT_PINNEDPUBLICKEY takes them. A mismatch fails the task with
    /// NETTASK_E_TLS, `err_msg` saying the public key did not match; a
    /// malformed value is NETTASK_E_INVALID_ARGUMENT at create, and so is
    /// any value in a build whose TLS library cannot pin (the rustls
    /// flavour). NULL (init) = no pinning (the certificate chain is still
    /// verified).
    pub pinned_public_keys: *const c_char,
}

const _: () = assert!(std::mem::offset_of!(nettask_request_options, version) == 0);

impl Versioned for nettask_request_options {
    const NAME: &'static str = "nettask_request_options";
    const SIZES: &'static [usize] = &REQUEST_OPTIONS_SIZES;
    fn defaults() -> Self {
        let d = RequestOptions::new(String::new());
        nettask_request_options {
            version: NETTASK_REQUEST_OPTIONS_VERSION,
            url: ptr::null(),
            method: ptr::null(),
            headers: ptr::null(),
            header_count: 0,
            body: ptr::null(),
            body_len: 0,
            // 0 = the client's default.
            timeout_ms: 0,
            follow_redirects: d.follow_redirects,
            max_redirects: d.max_redirects,
            idle_timeout_ms: 0,
            enable_http2: d.enable_http2,
            enable_chunked: d.enable_chunked,
            max_response_bytes: 0,
            file_path: ptr::null(),
            http2_prior_knowledge: d.http2_prior_knowledge,
            accept_encoding: ptr::null(),
            upload_file_path: ptr::null(),
            upload_name: ptr::null(),
            form_fields: ptr::null(),
            form_field_count: 0,
            body_file_path: ptr::null(),
            chunk_framing: NETTASK_FRAMING_RAW,
            pinned_public_keys: ptr::null(),
        }
    }
}

/// Where each version ends (see `Versioned::SIZES`); one entry per version.
const REQUEST_OPTIONS_SIZES: [usize; NETTASK_REQUEST_OPTIONS_VERSION as usize] = [
    std::mem::offset_of!(nettask_request_options, accept_encoding),
    size_of::<nettask_request_options>(),
];

/// Takes a new reference to the task behind a handle.
///
/// # Safety
/// `task` is NULL or a handle the caller holds a reference to (or the
/// `task` argument of a running listener).
pub(crate) unsafe fn task_arc(task: *mut nettask_task) -> Result<Arc<Task>, Error> {
    if task.is_null() {
        return Err(null_error("task"));
    }
    let raw = task.cast_const().cast::<Task>();
    // SAFETY: `raw` came from `Arc::into_raw` and a reference is alive, so
    // the count is at least one; we add ours before taking it.
    unsafe {
        Arc::increment_strong_count(raw);
        Ok(Arc::from_raw(raw))
    }
}

pub(crate) fn handle_of(task: &Task) -> *mut nettask_task {
    ptr::from_ref(task).cast_mut().cast()
}

/// Fills `*opts` with the defaults of struct version `version` (GET,
/// follow up to 15 redirects, HTTP/2 offered, the client's timeout),
/// writing exactly the bytes that version has: pass the
/// NETTASK_REQUEST_OPTIONS_VERSION your code was compiled with (the
/// one-argument `nettask_request_options_init` below does). Versions 1 up
/// to this library's are accepted; for another one only `opts->version`
/// is written and NETTASK_E_INVALID_ARGUMENT is returned, naming both
/// versions. `opts` must point to a struct of that version; NULL is
/// NETTASK_E_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_request_options_init_version(
    opts: *mut nettask_request_options,
    version: u32,
) -> nettask_code {
    // SAFETY: the caller's struct is of `version`'s size, per the contract.
    guard(|| unsafe { versioned::init(opts, version) })
}

/// The version-1 symbol, for programs built against the first header,
/// which called it with a version-1 struct; it keeps that meaning. The
/// header now routes `nettask_request_options_init` to
/// `nettask_request_options_init_version` instead.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_request_options_init(opts: *mut nettask_request_options) {
    // SAFETY: programs that call this symbol pass a version-1 struct.
    guard_void(|| unsafe { versioned::init(opts, 1) })
}

/// Creates a task of one kind; the contract of `nettask_request_create`.
///
/// # Safety
/// `client` is NULL or live; `opts` is NULL or a readable struct of its
/// version whose pointers are valid for what their fields say; `out` is
/// NULL or writable.
unsafe fn create(
    client: *mut nettask_client,
    opts: *const nettask_request_options,
    out: *mut *mut nettask_task,
    make: fn(&crate::Client, RequestOptions) -> Result<Arc<Task>, Error>,
) -> nettask_code {
    guard(|| {
        if out.is_null() {
            return Err(null_error("out"));
        }
        // SAFETY: `out` is non-NULL and writable by contract.
        unsafe { out.write(ptr::null_mut()) };
        // SAFETY: `client` is NULL or live, by contract.
        let client = unsafe { client_ref(client) }?;
        // SAFETY: `opts` is NULL or a readable struct of its version whose
        // pointers are valid, by contract.
        let options = unsafe { request_options(opts) }?;
        let task = make(client, options)?;
        // SAFETY: `out` is non-NULL and writable by contract.
        unsafe { out.write(Arc::into_raw(task).cast_mut().cast()) };
        Ok(())
    })
}

/// Creates a request task. Checks everything it can without the network
/// (the URL: http/https, host, port; the method; header names and values:
/// no CR, LF or NUL; the struct version) and copies every input: free them
/// when this returns. Nothing is sent before `nettask_start`. On success
/// `*out` is the task, to be released with `nettask_release`; on failure
/// it is NULL.
///
/// `client` is a live client, `opts` a filled options struct whose
/// pointers are valid for what their fields say (strings NUL-terminated,
/// `headers` for `header_count` entries, `body` for `body_len` bytes).
/// NULL for any of the three is NETTASK_E_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_request_create(
    client: *mut nettask_client,
    opts: *const nettask_request_options,
    out: *mut *mut nettask_task,
) -> nettask_code {
    // SAFETY: the caller's contract is `create`'s.
    unsafe { create(client, opts, out, crate::Client::request) }
}

/// Creates a download task: the body streams to a temporary file beside
/// `file_path` (or in the client's temp_dir) that is renamed into place
/// only on success. Checks and copies like `nettask_request_create`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_download_create(
    client: *mut nettask_client,
    opts: *const nettask_request_options,
    out: *mut *mut nettask_task,
) -> nettask_code {
    // SAFETY: the caller's contract is `create`'s.
    unsafe { create(client, opts, out, crate::Client::download) }
}

/// Creates an upload task (wx.uploadFile): a multipart/form-data POST (or
/// `method`) of the text parts `form_fields`, then the file
/// `upload_file_path` as the part `upload_name`, streamed from disk.
/// Progress listeners see the bytes sent; the result holds the server's
/// answer as for requests. NETTASK_E_INVALID_ARGUMENT without a file or a
/// name; NETTASK_E_FILE (a sentence with the path and the OS error) when
/// the file cannot be opened. Checks and copies like
/// `nettask_request_create`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_upload_create(
    client: *mut nettask_client,
    opts: *const nettask_request_options,
    out: *mut *mut nettask_task,
) -> nettask_code {
    // SAFETY: the caller's contract is `create`'s.
    unsafe { create(client, opts, out, crate::Client::upload) }
}

/// Starts the task on its client's event thread. Returns
/// NETTASK_E_SHUTDOWN if its client was freed (whether the task ran or
/// not), else NETTASK_E_INVALID_STATE if it was started before. A task
/// aborted before start completes as aborted without any network traffic.
/// `task` is a handle the caller holds; NULL is NETTASK_E_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_start(task: *mut nettask_task) -> nettask_code {
    // SAFETY: `task` is NULL or a handle the caller holds, by contract.
    guard(|| unsafe { task_arc(task) }?.start())
}

/// Cancels the task from any thread, without blocking; idempotent. If the
/// task has not completed it completes with NETTASK_E_ABORTED, and once
/// this returns no headers, chunk or progress listener of it is started.
/// After completion it does nothing and returns NETTASK_OK. `task` is a
/// handle the caller holds (or a listener's `task`); NULL is
/// NETTASK_E_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_abort(task: *mut nettask_task) -> nettask_code {
    // SAFETY: `task` is NULL or a handle the caller holds, by contract.
    guard(|| unsafe { task_arc(task) }?.abort())
}

/// Drops the caller's reference; do not use `task` afterwards. It does not
/// abort: a started task runs to completion and its listeners still fire.
/// NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_release(task: *mut nettask_task) {
    guard_void(|| {
        if !task.is_null() {
            // SAFETY: the caller gives up the reference it got from *_create.
            drop(unsafe { Arc::from_raw(task.cast_const().cast::<Task>()) });
        }
        Ok(())
    })
}

/// # Safety
/// `opts` is NULL or points to a readable `nettask_request_options` of its
/// version whose pointers are NULL or valid for what their fields say
/// (strings NUL-terminated, `headers` for `header_count` entries, `body`
/// for `body_len` bytes).
unsafe fn request_options(opts: *const nettask_request_options) -> Result<RequestOptions, Error> {
    // SAFETY: NULL or readable and of its version, by contract.
    let filled = unsafe { versioned::read(opts) }?;
    let o = filled.as_ptr();
    // Fields are read one by one through the pointer: the bools may hold
    // any byte the caller wrote, and `flag` reads them by their byte.
    // SAFETY: `o` points to a filled struct (the caller's fields, defaults
    // after them) whose pointers are NULL or valid, by contract.
    unsafe {
        let url = text((*o).url, "url")?.ok_or_else(|| null_error("url"))?;
        let mut r = RequestOptions::new(url);
        if let Some(method) = text((*o).method, "method")? {
            r.method = Method::parse(&method)?;
        }
        r.file_path = path((*o).file_path);
        r.headers = headers((*o).headers, (*o).header_count, "headers")?;
        r.body = body((*o).body, (*o).body_len)?;
        r.timeout = match (*o).timeout_ms {
            NETTASK_TIMEOUT_NONE => Some(NO_TIMEOUT),
            ms => millis(ms),
        };
        r.idle_timeout = millis((*o).idle_timeout_ms);
        r.max_redirects = (*o).max_redirects;
        let max = (*o).max_response_bytes;
        r.max_response_bytes = (max != 0).then_some(max);
        r.follow_redirects = flag(&raw const (*o).follow_redirects);
        r.enable_http2 = flag(&raw const (*o).enable_http2);
        r.enable_chunked = flag(&raw const (*o).enable_chunked);
        r.http2_prior_knowledge = flag(&raw const (*o).http2_prior_knowledge);
        r.accept_encoding = text((*o).accept_encoding, "accept_encoding")?;
        r.body_file = path((*o).body_file_path);
        r.chunk_framing = match (*o).chunk_framing {
            NETTASK_FRAMING_RAW => Framing::Raw,
            NETTASK_FRAMING_UTF8 => Framing::Utf8,
            NETTASK_FRAMING_LINES => Framing::Lines,
            other => {
                return Err(Error::invalid_argument(format!(
                    "chunk_framing is {other}; it is NETTASK_FRAMING_RAW, _UTF8 or _LINES (0, 1, 2)"
                )));
            }
        };
        r.pinned_public_keys = text((*o).pinned_public_keys, "pinned_public_keys")?;
        let fields = headers((*o).form_fields, (*o).form_field_count, "form_fields")?;
        let name = text((*o).upload_name, "upload_name")?;
        r.upload = match (path((*o).upload_file_path), name) {
            (Some(file_path), Some(name)) => Some(Box::new(Upload {
                file_path,
                name,
                fields,
            })),
            _ => None,
        };
        Ok(r)
    }
}

/// # Safety
/// `data` is valid for `len` bytes when `len` is not 0.
unsafe fn body(data: *const u8, len: usize) -> Result<Vec<u8>, Error> {
    match (data.is_null(), len) {
        (_, 0) => Ok(Vec::new()),
        (true, _) => Err(Error::invalid_argument(
            "body is NULL but body_len is not 0",
        )),
        (false, len) if len > isize::MAX as usize => Err(Error::invalid_argument(
            "body_len is larger than any buffer can be",
        )),
        // SAFETY: valid for `len` bytes by contract.
        (false, len) => Ok(unsafe { std::slice::from_raw_parts(data, len) }.to_vec()),
    }
}

/// Name/value pairs: the request headers, or an upload's form fields
/// (`field` names the array in messages).
///
/// # Safety
/// `list` is valid for `count` entries whose strings are NUL-terminated.
unsafe fn headers(
    list: *const nettask_header,
    count: usize,
    field: &str,
) -> Result<Vec<Header>, Error> {
    let count_field = if field == "headers" {
        "header_count"
    } else {
        "form_field_count"
    };
    // SAFETY: the caller's promise.
    let entries = unsafe { entries(list, count, field, count_field) }?;
    entries
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let what = format!("{field}[{i}]");
            // SAFETY: the strings are NULL or NUL-terminated by contract.
            let name = unsafe { text(h.name, &format!("{what}.name")) }?
                .ok_or_else(|| null_error(&format!("{what}.name")))?;
            // SAFETY: the strings are NULL or NUL-terminated by contract.
            let value = unsafe { text(h.value, &format!("{what}.value")) }?
                .ok_or_else(|| null_error(&format!("{what}.value")))?;
            Ok(Header { name, value })
        })
        .collect()
}
