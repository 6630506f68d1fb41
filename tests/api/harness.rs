//! Drives nettask through its C ABI the way a C host does: options structs,
//! raw handles, and `extern "C"` listeners that record every event.

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use nettask::ffi::*;

pub fn cstr(p: *const c_char) -> Option<String> {
    // SAFETY: the library hands out NUL-terminated strings or NULL.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

pub fn last_error() -> String {
    cstr(nettask_last_error()).unwrap_or_default()
}

/// The user-mode emulator this test binary runs under, from
/// `NETTASK_EMULATOR` (scripts/check-aarch64.sh sets it to its
/// `qemu-aarch64` command line), or None when it runs natively.
pub fn emulator() -> Option<Vec<String>> {
    let line = std::env::var("NETTASK_EMULATOR").ok()?;
    let words: Vec<String> = line.split_whitespace().map(String::from).collect();
    (!words.is_empty()).then_some(words)
}

/// A command that runs this test binary again. Under an emulator the
/// binary is foreign code the kernel cannot exec, so the emulator runs it.
pub fn this_test_binary() -> std::process::Command {
    let exe = std::env::current_exe().unwrap();
    match emulator() {
        Some(words) => {
            let mut cmd = std::process::Command::new(&words[0]);
            cmd.args(&words[1..]).arg(exe);
            cmd
        }
        None => std::process::Command::new(exe),
    }
}

/// Copies of what a listener was given (the originals are borrowed).
#[derive(Debug, Clone)]
pub enum Event {
    Headers {
        status: i32,
        version: String,
        headers: Vec<(String, String)>,
        /// The head's `cookies` array (its Set-Cookie values).
        cookies: Vec<String>,
    },
    Chunk(Vec<u8>),
    Progress(nettask_progress),
    Complete(Box<Outcome>),
    Sse(Sse),
}

/// A copy of a server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sse {
    pub event_type: String,
    pub data: String,
    pub last_event_id: String,
    pub retry_ms: i64,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub code: nettask_code,
    pub err_msg: String,
    pub curl_code: i32,
    pub status: i32,
    pub headers: Vec<(String, String)>,
    /// The result's `cookies` array (the final response's Set-Cookie values).
    pub cookies: Vec<String>,
    pub data: Vec<u8>,
    pub file_path: Option<String>,
    pub data_length: u64,
    /// A copy whose string pointers are NULL; see `peer_ip` and `protocol`.
    pub profile: nettask_profile,
    pub peer_ip: String,
    pub protocol: String,
}

impl Outcome {
    /// The first header of that name, ignoring ASCII case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

// SAFETY: the only pointers in an Outcome are the profile's, set to NULL.
unsafe impl Send for Outcome {}
// SAFETY: the only pointers in an Outcome are the profile's, set to NULL.
unsafe impl Sync for Outcome {}

fn headers_of(list: *const nettask_header, count: usize) -> Vec<(String, String)> {
    if count == 0 {
        return Vec::new();
    }
    // SAFETY: the library passes `count` valid entries.
    unsafe { std::slice::from_raw_parts(list, count) }
        .iter()
        .map(|h| (cstr(h.name).unwrap(), cstr(h.value).unwrap()))
        .collect()
}

/// Copies of a `cookies` array of `count` strings.
fn cookies_of(list: *const *const c_char, count: usize) -> Vec<String> {
    if count == 0 {
        assert!(list.is_null(), "an empty cookies array is NULL");
        return Vec::new();
    }
    // SAFETY: the library passes `count` valid string pointers.
    unsafe { std::slice::from_raw_parts(list, count) }
        .iter()
        .map(|&c| cstr(c).expect("no NULL entry in cookies"))
        .collect()
}

/// Everything that happened to one task, with when and on which thread.
#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<(Instant, ThreadId, Event)>>,
    completed: Condvar,
}

impl Recorder {
    fn push(&self, event: Event) {
        let mut events = self.events.lock().unwrap();
        events.push((Instant::now(), std::thread::current().id(), event));
        self.completed.notify_all();
    }

    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|(_, _, e)| e.clone())
            .collect()
    }

    pub fn completions(&self) -> Vec<Outcome> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Complete(o) => Some(*o),
                _ => None,
            })
            .collect()
    }

    pub fn sse_events(&self) -> Vec<Sse> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Sse(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    pub fn chunks(&self) -> Vec<u8> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Chunk(c) => Some(c),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// Waits for the completion; panics after `limit`.
    pub fn wait(&self, limit: Duration) -> Outcome {
        let deadline = Instant::now() + limit;
        let mut events = self.events.lock().unwrap();
        loop {
            if let Some((_, _, Event::Complete(o))) = events
                .iter()
                .find(|(_, _, e)| matches!(e, Event::Complete(_)))
            {
                return (**o).clone();
            }
            let left = deadline
                .checked_duration_since(Instant::now())
                .expect("task did not complete in time");
            events = self.completed.wait_timeout(events, left).unwrap().0;
        }
    }

    pub fn as_user_data(self: &Arc<Self>) -> *mut c_void {
        Arc::as_ptr(self) as *mut c_void
    }
}

fn recorder<'a>(user_data: *mut c_void) -> &'a Recorder {
    // SAFETY: tests pass a Recorder that outlives the task's events.
    unsafe { &*(user_data as *const Recorder) }
}

pub unsafe extern "C" fn on_headers(
    _: *mut nettask_task,
    head: *const nettask_response_head,
    ud: *mut c_void,
) {
    // SAFETY: valid for this call.
    let head = unsafe { &*head };
    recorder(ud).push(Event::Headers {
        status: head.status_code,
        version: cstr(head.http_version).unwrap(),
        headers: headers_of(head.headers, head.header_count),
        cookies: cookies_of(head.cookies, head.cookie_count),
    });
}

pub unsafe extern "C" fn on_chunk(
    _: *mut nettask_task,
    data: *const u8,
    len: usize,
    ud: *mut c_void,
) {
    // SAFETY: valid for this call.
    let bytes = unsafe { std::slice::from_raw_parts(data, len) }.to_vec();
    recorder(ud).push(Event::Chunk(bytes));
}

pub unsafe extern "C" fn on_sse(
    _: *mut nettask_task,
    e: *const nettask_sse_event,
    ud: *mut c_void,
) {
    // SAFETY: valid for this call.
    let e = unsafe { &*e };
    // SAFETY: `data_len` bytes, then a NUL, valid for this call.
    let data = unsafe { std::slice::from_raw_parts(e.data, e.data_len + 1) };
    assert_eq!(data[e.data_len], 0, "a NUL after the data");
    recorder(ud).push(Event::Sse(Sse {
        event_type: cstr(e.r#type).unwrap(),
        data: String::from_utf8(data[..e.data_len].to_vec()).unwrap(),
        last_event_id: cstr(e.last_event_id).unwrap(),
        retry_ms: e.retry_ms,
    }));
}

pub unsafe extern "C" fn on_progress(
    _: *mut nettask_task,
    p: *const nettask_progress,
    ud: *mut c_void,
) {
    // SAFETY: valid for this call.
    recorder(ud).push(Event::Progress(unsafe { *p }));
}

pub unsafe extern "C" fn on_complete(
    _: *mut nettask_task,
    r: *const nettask_result,
    ud: *mut c_void,
) {
    // SAFETY: valid for this call.
    let r = unsafe { &*r };
    // SAFETY: a result's profile pointer is valid for the same call.
    let profile = unsafe { *r.profile };
    let detached = nettask_profile {
        peer_ip: std::ptr::null(),
        protocol: std::ptr::null(),
        ..profile
    };
    let data = if r.data_len == 0 {
        Vec::new()
    } else {
        // SAFETY: valid for this call.
        unsafe { std::slice::from_raw_parts(r.data, r.data_len) }.to_vec()
    };
    recorder(ud).push(Event::Complete(Box::new(Outcome {
        code: r.code,
        err_msg: cstr(r.err_msg).unwrap(),
        curl_code: r.curl_code,
        status: r.status_code,
        headers: headers_of(r.headers, r.header_count),
        cookies: cookies_of(r.cookies, r.cookie_count),
        data,
        file_path: cstr(r.file_path),
        data_length: r.data_length,
        peer_ip: cstr(profile.peer_ip).unwrap(),
        protocol: cstr(profile.protocol).unwrap(),
        profile: detached,
    })));
}

/// A client handle freed on drop.
pub struct Client(pub *mut nettask_client);

// SAFETY: client handles may be used from any thread.
unsafe impl Send for Client {}
// SAFETY: client handles may be used from any thread at once.
unsafe impl Sync for Client {}

impl Client {
    pub fn new() -> Client {
        Client::with(|_| {})
    }

    pub fn with(configure: impl FnOnce(&mut nettask_client_options)) -> Client {
        // SAFETY: the options struct is plain data; all-zero is a valid value.
        let mut opts = unsafe { std::mem::zeroed() };
        // SAFETY: a valid pointer.
        unsafe { nettask_client_options_init_version(&mut opts, NETTASK_CLIENT_OPTIONS_VERSION) };
        configure(&mut opts);
        let mut client = ptr::null_mut();
        // SAFETY: valid pointers.
        let code = unsafe { nettask_client_new(&opts, &mut client) };
        assert_eq!(code, nettask_code::NETTASK_OK, "{}", last_error());
        Client(client)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if !self.0.is_null() {
            assert_eq!(
                // SAFETY: a live client.
                unsafe { nettask_client_free(self.0) },
                nettask_code::NETTASK_OK
            );
        }
    }
}

/// The client's cookie jar (`nettask_client_cookies`), or the code and
/// sentence it failed with.
pub fn try_jar(client: *mut nettask_client) -> Result<String, (nettask_code, String)> {
    let mut out: *mut c_char = ptr::null_mut();
    // SAFETY: `out` is a valid place for the string pointer; `client` is a
    // live handle or NULL (which the call refuses).
    let code = unsafe { nettask_client_cookies(client, &mut out) };
    if code != nettask_code::NETTASK_OK {
        assert!(out.is_null(), "*out is NULL on failure");
        return Err((code, last_error()));
    }
    assert!(!out.is_null());
    let jar = cstr(out).unwrap();
    // SAFETY: the string nettask_client_cookies just handed out, freed once.
    unsafe { nettask_string_free(out) };
    Ok(jar)
}

/// The client's cookie jar, in Netscape format (one line per cookie).
pub fn jar(client: &Client) -> String {
    try_jar(client.0).unwrap_or_else(|(code, e)| panic!("nettask_client_cookies: {code:?}: {e}"))
}

/// `nettask_client_set_cookie`, and the sentence of a failure.
pub fn set_cookie(client: &Client, line: &str) -> Result<(), (nettask_code, String)> {
    let line = CString::new(line).unwrap();
    // SAFETY: a live client and a NUL-terminated line.
    match unsafe { nettask_client_set_cookie(client.0, line.as_ptr()) } {
        nettask_code::NETTASK_OK => Ok(()),
        code => Err((code, last_error())),
    }
}

/// Request options that own their strings.
pub struct Opts {
    pub url: CString,
    pub method: Option<CString>,
    pub headers: Vec<(CString, CString)>,
    pub body: Vec<u8>,
    pub file_path: Option<CString>,
    /// Uploads (API.md "Uploads"): the file part, its name, the text parts.
    pub upload_file_path: Option<CString>,
    pub upload_name: Option<CString>,
    pub form_fields: Vec<(CString, CString)>,
    /// Requests: the body streamed from this file.
    pub body_file_path: Option<CString>,
    pub raw: nettask_request_options,
    header_views: Vec<nettask_header>,
    form_field_views: Vec<nettask_header>,
}

fn path_cstring(path: &std::path::Path) -> CString {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).unwrap()
}

impl Opts {
    pub fn new(url: &str) -> Opts {
        // SAFETY: the options struct is plain data; all-zero is a valid value.
        let mut raw = unsafe { std::mem::zeroed() };
        // SAFETY: a valid pointer.
        unsafe { nettask_request_options_init_version(&mut raw, NETTASK_REQUEST_OPTIONS_VERSION) };
        Opts {
            url: CString::new(url).unwrap(),
            method: None,
            headers: Vec::new(),
            body: Vec::new(),
            file_path: None,
            upload_file_path: None,
            upload_name: None,
            form_fields: Vec::new(),
            body_file_path: None,
            raw,
            header_views: Vec::new(),
            form_field_views: Vec::new(),
        }
    }

    pub fn method(mut self, m: &str) -> Opts {
        self.method = Some(CString::new(m).unwrap());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Opts {
        self.headers
            .push((CString::new(name).unwrap(), CString::new(value).unwrap()));
        self
    }

    pub fn body(mut self, body: Vec<u8>) -> Opts {
        self.body = body;
        self
    }

    pub fn file(mut self, path: &std::path::Path) -> Opts {
        self.file_path = Some(CString::new(path.to_str().unwrap()).unwrap());
        self
    }

    /// An upload of `path` as the file part named `name`.
    pub fn upload(self, path: &std::path::Path, name: &str) -> Opts {
        self.upload_file(path).upload_name(name)
    }

    /// Only the upload's file (to test an upload without a name).
    pub fn upload_file(mut self, path: &std::path::Path) -> Opts {
        self.upload_file_path = Some(path_cstring(path));
        self
    }

    /// Only the upload's part name (to test an upload without a file).
    pub fn upload_name(mut self, name: &str) -> Opts {
        self.upload_name = Some(CString::new(name).unwrap());
        self
    }

    /// A text part of the upload, sent before the file part, in call order.
    pub fn form_field(mut self, name: &str, value: &str) -> Opts {
        self.form_fields
            .push((CString::new(name).unwrap(), CString::new(value).unwrap()));
        self
    }

    /// A request whose body is streamed from `path`.
    pub fn body_file(mut self, path: &std::path::Path) -> Opts {
        self.body_file_path = Some(path_cstring(path));
        self
    }

    pub fn set(mut self, f: impl FnOnce(&mut nettask_request_options)) -> Opts {
        f(&mut self.raw);
        self
    }

    /// The C struct, pointing into `self`.
    pub fn as_raw(&mut self) -> nettask_request_options {
        self.header_views = self
            .headers
            .iter()
            .map(|(n, v)| nettask_header {
                name: n.as_ptr(),
                value: v.as_ptr(),
            })
            .collect();
        let mut raw = self.raw;
        raw.url = self.url.as_ptr();
        raw.method = self.method.as_ref().map_or(ptr::null(), |m| m.as_ptr());
        raw.headers = self.header_views.as_ptr();
        raw.header_count = self.header_views.len();
        raw.body = if self.body.is_empty() {
            ptr::null()
        } else {
            self.body.as_ptr()
        };
        raw.body_len = self.body.len();
        raw.file_path = self.file_path.as_ref().map_or(ptr::null(), |p| p.as_ptr());
        self.form_field_views = self
            .form_fields
            .iter()
            .map(|(n, v)| nettask_header {
                name: n.as_ptr(),
                value: v.as_ptr(),
            })
            .collect();
        raw.upload_file_path = opt_ptr(&self.upload_file_path);
        raw.upload_name = opt_ptr(&self.upload_name);
        raw.form_fields = if self.form_field_views.is_empty() {
            ptr::null()
        } else {
            self.form_field_views.as_ptr()
        };
        raw.form_field_count = self.form_field_views.len();
        raw.body_file_path = opt_ptr(&self.body_file_path);
        raw
    }
}

fn opt_ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(ptr::null(), |s| s.as_ptr())
}

/// A created task with every listener recording into `rec`.
pub struct Run {
    pub task: *mut nettask_task,
    pub rec: Arc<Recorder>,
}

// SAFETY: task handles may be used from any thread.
unsafe impl Send for Run {}
// SAFETY: task handles may be used from any thread at once.
unsafe impl Sync for Run {}

pub type Create = unsafe extern "C" fn(
    *mut nettask_client,
    *const nettask_request_options,
    *mut *mut nettask_task,
) -> nettask_code;

impl Run {
    pub fn create(client: *mut nettask_client, opts: Opts, create: Create) -> Run {
        Run::try_create(client, opts, create)
            .unwrap_or_else(|(code, e)| panic!("create: {code:?}: {e}"))
    }

    /// Creates a task, or says which code and sentence (`last_error`)
    /// `create` refused it with.
    pub fn try_create(
        client: *mut nettask_client,
        mut opts: Opts,
        create: Create,
    ) -> Result<Run, (nettask_code, String)> {
        let raw = opts.as_raw();
        let mut task = ptr::null_mut();
        // SAFETY: valid pointers; `raw` points into `opts`, alive here.
        let code = unsafe { create(client, &raw, &mut task) };
        if code != nettask_code::NETTASK_OK {
            let error = last_error();
            if !task.is_null() {
                // SAFETY: whatever a failed create left there is released once.
                unsafe { nettask_release(task) };
            }
            return Err((code, error));
        }
        assert!(!task.is_null());
        let rec = Arc::new(Recorder::default());
        let ud = rec.as_user_data();
        // SAFETY: `rec` outlives the task's events (Run keeps it).
        unsafe {
            assert_eq!(
                nettask_on_headers_received(task, Some(on_headers), ud),
                nettask_code::NETTASK_OK
            );
            assert_eq!(
                nettask_on_chunk_received(task, Some(on_chunk), ud),
                nettask_code::NETTASK_OK
            );
            assert_eq!(
                nettask_on_progress_update(task, Some(on_progress), ud),
                nettask_code::NETTASK_OK
            );
            assert_eq!(
                nettask_on_complete(task, Some(on_complete), ud),
                nettask_code::NETTASK_OK
            );
        }
        Ok(Run { task, rec })
    }

    pub fn request(client: &Client, opts: Opts) -> Run {
        Run::create(client.0, opts, nettask_request_create)
    }

    pub fn download(client: &Client, opts: Opts) -> Run {
        Run::create(client.0, opts, nettask_download_create)
    }

    pub fn upload(client: &Client, opts: Opts) -> Run {
        Run::create(client.0, opts, nettask_upload_create)
    }

    pub fn try_upload(client: &Client, opts: Opts) -> Result<Run, (nettask_code, String)> {
        Run::try_create(client.0, opts, nettask_upload_create)
    }

    /// Adds the SSE listener (the body is parsed for events only then).
    pub fn listen_sse(&self) -> &Run {
        let ud = self.rec.as_user_data();
        assert_eq!(
            // SAFETY: `rec` outlives the task's events (Run keeps it).
            unsafe { nettask_on_sse_event(self.task, Some(on_sse), ud) },
            nettask_code::NETTASK_OK
        );
        self
    }

    pub fn start(&self) -> &Run {
        assert_eq!(
            // SAFETY: a live task.
            unsafe { nettask_start(self.task) },
            nettask_code::NETTASK_OK,
            "{}",
            last_error()
        );
        self
    }

    pub fn abort(&self) -> nettask_code {
        // SAFETY: a live task.
        unsafe { nettask_abort(self.task) }
    }

    pub fn wait(&self) -> Outcome {
        self.rec.wait(Duration::from_secs(20))
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        // SAFETY: the reference from create.
        unsafe { nettask_release(self.task) };
        // Events may still be delivered to `rec` after release (release
        // does not abort); keep it alive until the completion.
        let rec = Arc::clone(&self.rec);
        if !rec.events().iter().any(|e| matches!(e, Event::Complete(_))) {
            std::mem::forget(rec);
        }
    }
}

/// Starts a request and waits for its completion.
pub fn fetch(client: &Client, opts: Opts) -> (Outcome, Arc<Recorder>) {
    let run = Run::request(client, opts);
    run.start();
    (run.wait(), Arc::clone(&run.rec))
}
