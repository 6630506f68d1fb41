//! nettask through its C ABI only: the `extern "C"` functions and
//! `#[repr(C)]` types of `include/nettask.h` (`nettask::ffi`), wrapped in
//! a few safe types. Every `unsafe` block of the host that touches nettask
//! is in this file.

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr::{self, NonNull};

use nettask::ffi::{
    NETTASK_CLIENT_OPTIONS_VERSION, NETTASK_DELIVERY_QUEUED, NETTASK_REQUEST_OPTIONS_VERSION,
    nettask_abort, nettask_chunk_cb, nettask_client, nettask_client_dispatch,
    nettask_client_event_fd, nettask_client_free, nettask_client_new,
    nettask_client_options_init_version, nettask_code, nettask_code_name, nettask_complete_cb,
    nettask_download_create, nettask_header, nettask_headers_cb, nettask_last_error,
    nettask_off_chunk_received, nettask_off_headers_received, nettask_off_progress_update,
    nettask_on_chunk_received, nettask_on_complete, nettask_on_headers_received,
    nettask_on_progress_update, nettask_profile, nettask_progress_cb, nettask_release,
    nettask_request_create, nettask_request_options, nettask_request_options_init_version,
    nettask_response_head, nettask_result, nettask_start, nettask_task, nettask_upload_create,
};

/// A failed nettask call: its code's name and `nettask_last_error`.
#[derive(Debug)]
pub struct NetError {
    pub code: nettask_code,
    pub message: String,
}

impl NetError {
    pub fn code_name(&self) -> String {
        code_name(self.code)
    }
}

/// "NETTASK_E_TIMEOUT" and so on.
pub fn code_name(code: nettask_code) -> String {
    // SAFETY: nettask_code_name takes any number and returns a static,
    // NUL-terminated string, never NULL.
    unsafe { CStr::from_ptr(nettask_code_name(code as _)) }
        .to_string_lossy()
        .into_owned()
}

/// The code as a `Result`, with the thread's `nettask_last_error`.
fn check(code: nettask_code) -> Result<(), NetError> {
    if code == nettask_code::NETTASK_OK {
        return Ok(());
    }
    // SAFETY: nettask_last_error returns NULL or a NUL-terminated string
    // that stays valid until the next failing call on this thread; it is
    // copied at once.
    let message =
        unsafe { opt_str(nettask_last_error()) }.unwrap_or_else(|| "no reason given".to_string());
    Err(NetError { code, message })
}

/// Copies a C string that may be NULL.
///
/// # Safety
/// `s` is NULL or points to a NUL-terminated string valid for this call.
pub unsafe fn opt_str(s: *const c_char) -> Option<String> {
    if s.is_null() {
        None
    } else {
        // SAFETY: non-NULL and NUL-terminated, by the caller's contract.
        Some(unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned())
    }
}

/// Copies `count` header views.
///
/// # Safety
/// `headers` is NULL (with `count` 0) or points to `count` headers whose
/// names and values are NUL-terminated, valid for this call.
unsafe fn headers_of(headers: *const nettask_header, count: usize) -> Vec<(String, String)> {
    if headers.is_null() || count == 0 {
        return Vec::new();
    }
    // SAFETY: `count` readable headers, by the caller's contract.
    let views = unsafe { std::slice::from_raw_parts(headers, count) };
    views
        .iter()
        .map(|h| {
            // SAFETY: each name and value is NUL-terminated (or NULL).
            let (name, value) = unsafe { (opt_str(h.name), opt_str(h.value)) };
            (name.unwrap_or_default(), value.unwrap_or_default())
        })
        .collect()
}

/// Copies `count` C strings.
///
/// # Safety
/// `list` is NULL (with `count` 0) or points to `count` NUL-terminated
/// strings valid for this call.
unsafe fn strings_of(list: *const *const c_char, count: usize) -> Vec<String> {
    if list.is_null() || count == 0 {
        return Vec::new();
    }
    // SAFETY: `count` readable pointers, by the caller's contract.
    let items = unsafe { std::slice::from_raw_parts(list, count) };
    items
        .iter()
        // SAFETY: each is NUL-terminated, by the caller's contract.
        .filter_map(|&s| unsafe { opt_str(s) })
        .collect()
}

/// A client in queued delivery: listeners run inside `dispatch`, on the
/// thread that calls it (the JS thread).
pub struct Client {
    raw: NonNull<nettask_client>,
}

/// What the host sets on its client.
pub struct ClientConfig {
    pub max_concurrent_tasks: u32,
    pub ca_file: Option<CString>,
    pub user_agent: Option<CString>,
}

impl Client {
    pub fn new(config: &ClientConfig) -> Result<Client, NetError> {
        let mut opts = std::mem::MaybeUninit::<nettask::ffi::nettask_client_options>::uninit();
        // SAFETY: `opts` is a writable struct of this header's version,
        // which is the version passed; init writes every field of it.
        check(unsafe {
            nettask_client_options_init_version(opts.as_mut_ptr(), NETTASK_CLIENT_OPTIONS_VERSION)
        })?;
        // SAFETY: initialised by the successful call above.
        let mut opts = unsafe { opts.assume_init() };
        opts.delivery = NETTASK_DELIVERY_QUEUED;
        opts.max_concurrent_tasks = config.max_concurrent_tasks;
        if let Some(ca) = &config.ca_file {
            opts.ca_file = ca.as_ptr();
        }
        if let Some(agent) = &config.user_agent {
            opts.user_agent = agent.as_ptr();
        }
        let mut out = ptr::null_mut();
        // SAFETY: `opts` is filled, its strings outlive the call (they
        // are copied), and `out` is writable.
        check(unsafe { nettask_client_new(&opts, &mut out) })?;
        NonNull::new(out)
            .map(|raw| Client { raw })
            .ok_or_else(|| NetError {
                code: nettask_code::NETTASK_E_INTERNAL,
                message: "nettask_client_new returned OK and no client".to_string(),
            })
    }

    fn as_ptr(&self) -> *mut nettask_client {
        self.raw.as_ptr()
    }

    /// The descriptor that is readable while events wait.
    pub fn event_fd(&self) -> i32 {
        // SAFETY: the client is live until `free`.
        unsafe { nettask_client_event_fd(self.as_ptr()) }
    }

    /// Runs the waiting events' listeners on this thread; the number of
    /// listener calls made.
    pub fn dispatch(&self, timeout_ms: u32) -> Result<usize, NetError> {
        let mut calls = 0usize;
        // SAFETY: the client is live; `calls` is writable.
        check(unsafe { nettask_client_dispatch(self.as_ptr(), timeout_ms, &mut calls) })?;
        Ok(calls)
    }

    /// Aborts every unfinished task, delivers their completions on this
    /// thread (the listeners run before this returns) and frees the client.
    pub fn free(self) -> Result<(), NetError> {
        let raw = self.as_ptr();
        std::mem::forget(self);
        // SAFETY: the client is live and is not used after this (`self`
        // was consumed and its Drop skipped).
        check(unsafe { nettask_client_free(raw) })
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // SAFETY: the client is live and this is its last use.
        let _ = unsafe { nettask_client_free(self.as_ptr()) };
    }
}

/// Which create function makes the task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Request,
    Download,
    Upload,
}

/// Owned inputs of one task, kept alive while `create` reads them.
#[derive(Default)]
pub struct TaskSpec {
    pub url: CString,
    pub method: Option<CString>,
    pub headers: Vec<(CString, CString)>,
    pub body: Vec<u8>,
    pub timeout_ms: u32,
    pub follow_redirects: bool,
    pub enable_http2: bool,
    pub enable_chunked: bool,
    pub chunk_framing: u32,
    pub file_path: Option<CString>,
    pub upload_file_path: Option<CString>,
    pub upload_name: Option<CString>,
    pub form_fields: Vec<(CString, CString)>,
}

fn views(pairs: &[(CString, CString)]) -> Vec<nettask_header> {
    pairs
        .iter()
        .map(|(n, v)| nettask_header {
            name: n.as_ptr(),
            value: v.as_ptr(),
        })
        .collect()
}

fn opt_ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(ptr::null(), |s| s.as_ptr())
}

/// One reference to a task; released on drop.
pub struct TaskHandle {
    raw: NonNull<nettask_task>,
}

impl TaskHandle {
    pub fn create(client: &Client, kind: Kind, spec: &TaskSpec) -> Result<TaskHandle, NetError> {
        let mut opts = std::mem::MaybeUninit::<nettask_request_options>::uninit();
        // SAFETY: `opts` is a writable struct of this header's version,
        // the version passed; init writes every field.
        check(unsafe {
            nettask_request_options_init_version(opts.as_mut_ptr(), NETTASK_REQUEST_OPTIONS_VERSION)
        })?;
        // SAFETY: initialised by the successful call above.
        let mut opts = unsafe { opts.assume_init() };
        let headers = views(&spec.headers);
        let fields = views(&spec.form_fields);
        opts.url = spec.url.as_ptr();
        opts.method = opt_ptr(&spec.method);
        if !headers.is_empty() {
            opts.headers = headers.as_ptr();
            opts.header_count = headers.len();
        }
        if !spec.body.is_empty() {
            opts.body = spec.body.as_ptr();
            opts.body_len = spec.body.len();
        }
        opts.timeout_ms = spec.timeout_ms;
        opts.follow_redirects = spec.follow_redirects;
        opts.enable_http2 = spec.enable_http2;
        opts.enable_chunked = spec.enable_chunked;
        opts.chunk_framing = spec.chunk_framing;
        opts.file_path = opt_ptr(&spec.file_path);
        opts.upload_file_path = opt_ptr(&spec.upload_file_path);
        opts.upload_name = opt_ptr(&spec.upload_name);
        if !fields.is_empty() {
            opts.form_fields = fields.as_ptr();
            opts.form_field_count = fields.len();
        }
        let create = match kind {
            Kind::Request => nettask_request_create,
            Kind::Download => nettask_download_create,
            Kind::Upload => nettask_upload_create,
        };
        let mut out = ptr::null_mut();
        // SAFETY: the client is live; every pointer in `opts` points into
        // `spec`, `headers` or `fields`, which outlive the call (create
        // copies them), with the counts of their lengths; `out` is
        // writable.
        check(unsafe { create(client.as_ptr(), &opts, &mut out) })?;
        NonNull::new(out)
            .map(|raw| TaskHandle { raw })
            .ok_or_else(|| NetError {
                code: nettask_code::NETTASK_E_INTERNAL,
                message: "create returned OK and no task".to_string(),
            })
    }

    fn as_ptr(&self) -> *mut nettask_task {
        self.raw.as_ptr()
    }

    pub fn start(&self) -> Result<(), NetError> {
        // SAFETY: we hold a reference to the task.
        check(unsafe { nettask_start(self.as_ptr()) })
    }

    pub fn abort(&self) -> Result<(), NetError> {
        // SAFETY: we hold a reference to the task.
        check(unsafe { nettask_abort(self.as_ptr()) })
    }

    /// Adds or removes this host's listener of `event`, keyed by `key`
    /// (passed back to the listener as its user_data).
    pub fn listen(&self, event: Listen, key: usize, on: bool) -> Result<(), NetError> {
        let task = self.as_ptr();
        let user_data = key as *mut c_void;
        // SAFETY: we hold a reference to the task; the callbacks are
        // `extern "C"` functions of the signatures the header declares,
        // valid for the whole program; `user_data` is a plain number, never
        // dereferenced.
        check(unsafe {
            match (event, on) {
                (Listen::Headers, true) => nettask_on_headers_received(task, HEADERS_CB, user_data),
                (Listen::Headers, false) => {
                    nettask_off_headers_received(task, HEADERS_CB, user_data)
                }
                (Listen::Chunk, true) => nettask_on_chunk_received(task, CHUNK_CB, user_data),
                (Listen::Chunk, false) => nettask_off_chunk_received(task, CHUNK_CB, user_data),
                (Listen::Progress, true) => {
                    nettask_on_progress_update(task, PROGRESS_CB, user_data)
                }
                (Listen::Progress, false) => {
                    nettask_off_progress_update(task, PROGRESS_CB, user_data)
                }
                (Listen::Complete, true) => nettask_on_complete(task, COMPLETE_CB, user_data),
                (Listen::Complete, false) => {
                    return Err(NetError {
                        code: nettask_code::NETTASK_E_INVALID_ARGUMENT,
                        message: "the completion listener stays".to_string(),
                    });
                }
            }
        })
    }
}

impl Drop for TaskHandle {
    fn drop(&mut self) {
        // SAFETY: we hold one reference and give it back exactly once.
        unsafe { nettask_release(self.as_ptr()) }
    }
}

/// The events the host listens to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listen {
    Headers,
    Chunk,
    Progress,
    Complete,
}

/// What a listener hands to the host, copied out of nettask's borrowed
/// views.
pub enum Event<'a> {
    Headers {
        status_code: i32,
        headers: Vec<(String, String)>,
        cookies: Vec<String>,
    },
    /// Borrowed: valid during the listener call only.
    Chunk(&'a [u8]),
    Progress {
        progress: u32,
        written: u64,
        expected_to_write: i64,
        sent: u64,
        expected_to_send: i64,
    },
    Complete(Box<Completion<'a>>),
}

/// A copy of `nettask_result`, but for the body, which stays borrowed.
pub struct Completion<'a> {
    pub code: nettask_code,
    pub err_msg: String,
    pub status_code: i32,
    pub headers: Vec<(String, String)>,
    pub cookies: Vec<String>,
    pub data: &'a [u8],
    pub file_path: Option<String>,
    pub data_length: u64,
    pub profile: Profile,
}

/// A copy of `nettask_profile`: its numbers by their C names (times in
/// microseconds from start, -1 = did not happen), and its strings.
#[derive(Default)]
pub struct Profile {
    pub numbers: Vec<(&'static str, f64)>,
    pub strings: Vec<(&'static str, String)>,
    pub socket_reused: bool,
}

impl Profile {
    /// # Safety
    /// `p` is NULL or points to a profile valid for this call whose
    /// strings are NUL-terminated or NULL.
    unsafe fn copy(p: *const nettask_profile) -> Profile {
        // SAFETY: by the caller's contract.
        let Some(p) = (unsafe { p.as_ref() }) else {
            return Profile::default();
        };
        let numbers = vec![
            ("queued_us", p.queued_us as f64),
            ("dns_done_us", p.dns_done_us as f64),
            ("connect_done_us", p.connect_done_us as f64),
            ("tls_done_us", p.tls_done_us as f64),
            ("request_sent_us", p.request_sent_us as f64),
            ("first_byte_us", p.first_byte_us as f64),
            ("total_us", p.total_us as f64),
            ("redirect_us", p.redirect_us as f64),
            ("redirect_count", f64::from(p.redirect_count)),
            ("peer_port", f64::from(p.peer_port)),
            ("local_port", f64::from(p.local_port)),
            ("bytes_sent", p.bytes_sent as f64),
            ("bytes_received", p.bytes_received as f64),
            ("fetch_start_us", p.fetch_start_us as f64),
            ("dns_start_us", p.dns_start_us as f64),
            ("connect_start_us", p.connect_start_us as f64),
            ("tls_start_us", p.tls_start_us as f64),
            ("tls_end_us", p.tls_end_us as f64),
            ("request_start_us", p.request_start_us as f64),
            ("request_end_us", p.request_end_us as f64),
            ("response_start_us", p.response_start_us as f64),
            ("response_end_us", p.response_end_us as f64),
            ("redirect_start_us", p.redirect_start_us as f64),
            ("redirect_end_us", p.redirect_end_us as f64),
            ("rtt_us", p.rtt_us as f64),
            ("throughput_kbps", p.throughput_kbps as f64),
            ("estimate_nettype", f64::from(p.estimate_nettype)),
        ];
        // SAFETY: NUL-terminated or NULL, by the caller's contract.
        let strings = unsafe {
            vec![
                ("peer_ip", opt_str(p.peer_ip).unwrap_or_default()),
                ("protocol", opt_str(p.protocol).unwrap_or_default()),
                ("dns_source", opt_str(p.dns_source).unwrap_or_default()),
            ]
        };
        Profile {
            numbers,
            strings,
            socket_reused: p.socket_reused,
        }
    }
}

/// The host's handler of every event, set once by the JS side: the key
/// is the listener's user_data.
pub type Handler = fn(key: usize, event: Event<'_>);

thread_local! {
    static HANDLER: std::cell::Cell<Option<Handler>> = const { std::cell::Cell::new(None) };
}

/// Sets the function the listeners of this thread's dispatch call.
pub fn set_handler(handler: Handler) {
    HANDLER.with(|h| h.set(Some(handler)));
}

fn deliver(key: *mut c_void, event: Event<'_>) {
    // A panic must not unwind into nettask's C frames.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if let Some(handler) = HANDLER.with(|h| h.get()) {
            handler(key as usize, event);
        }
    }));
}

const HEADERS_CB: nettask_headers_cb = Some(on_headers);
const CHUNK_CB: nettask_chunk_cb = Some(on_chunk);
const PROGRESS_CB: nettask_progress_cb = Some(on_progress);
const COMPLETE_CB: nettask_complete_cb = Some(on_complete);

unsafe extern "C" fn on_headers(
    _task: *mut nettask_task,
    head: *const nettask_response_head,
    user_data: *mut c_void,
) {
    if head.is_null() {
        return;
    }
    // SAFETY: nettask passes a head valid for this call; its headers and
    // cookies are arrays of the counts given, of NUL-terminated strings.
    let event = unsafe {
        let head = &*head;
        Event::Headers {
            status_code: head.status_code,
            headers: headers_of(head.headers, head.header_count),
            cookies: strings_of(head.cookies, head.cookie_count),
        }
    };
    deliver(user_data, event);
}

unsafe extern "C" fn on_chunk(
    _task: *mut nettask_task,
    data: *const u8,
    len: usize,
    user_data: *mut c_void,
) {
    let bytes = if data.is_null() || len == 0 {
        &[][..]
    } else {
        // SAFETY: nettask passes `len` readable bytes, valid for this call.
        unsafe { std::slice::from_raw_parts(data, len) }
    };
    deliver(user_data, Event::Chunk(bytes));
}

unsafe extern "C" fn on_progress(
    _task: *mut nettask_task,
    progress: *const nettask::ffi::nettask_progress,
    user_data: *mut c_void,
) {
    if progress.is_null() {
        return;
    }
    // SAFETY: nettask passes a progress struct valid for this call, of
    // the version this header describes (or a later, larger one).
    let p = unsafe { &*progress };
    deliver(
        user_data,
        Event::Progress {
            progress: p.progress,
            written: p.total_bytes_written,
            expected_to_write: p.total_bytes_expected_to_write,
            sent: p.total_bytes_sent,
            expected_to_send: p.total_bytes_expected_to_send,
        },
    );
}

unsafe extern "C" fn on_complete(
    _task: *mut nettask_task,
    result: *const nettask_result,
    user_data: *mut c_void,
) {
    if result.is_null() {
        return;
    }
    // SAFETY: nettask passes a result valid for this call: its strings
    // are NUL-terminated, its arrays have the counts given, `data` has
    // `data_len` bytes and `profile` is never NULL; everything is copied
    // here but the body, which is only borrowed for the call.
    let completion = unsafe {
        let r = &*result;
        let data = if r.data.is_null() || r.data_len == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(r.data, r.data_len)
        };
        Completion {
            code: r.code,
            err_msg: opt_str(r.err_msg).unwrap_or_default(),
            status_code: r.status_code,
            headers: headers_of(r.headers, r.header_count),
            cookies: strings_of(r.cookies, r.cookie_count),
            data,
            file_path: opt_str(r.file_path),
            data_length: r.data_length,
            profile: Profile::copy(r.profile),
        }
    };
    deliver(user_data, Event::Complete(Box::new(completion)));
}

/// nettask's version line.
pub fn version() -> String {
    // SAFETY: static and NUL-terminated.
    unsafe { opt_str(nettask::ffi::nettask_version()) }.unwrap_or_default()
}
