//! Reading C input into owned Rust values, checking every pointer.

use std::ffi::{CStr, OsStr, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

use super::types::*;
use crate::error::Error;
use crate::options::{ClientOptions, Header, Method, RequestOptions};

/// More request headers than any real request has; a larger count is
/// taken for an uninitialised field rather than read.
const MAX_HEADERS: usize = 10_000;

/// A NUL-terminated string that may be NULL.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
unsafe fn bytes<'a>(p: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: non-NULL `p` is NUL-terminated by the caller's contract.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// # Safety
/// As `bytes`.
unsafe fn text(p: *const c_char, what: &str) -> Result<Option<String>, Error> {
    // SAFETY: forwarded contract.
    match unsafe { bytes(p) } {
        None => Ok(None),
        Some(b) => std::str::from_utf8(b)
            .map(|s| Some(s.to_owned()))
            .map_err(|_| Error::invalid_argument(format!("{what} is not valid UTF-8"))),
    }
}

/// # Safety
/// As `bytes`.
unsafe fn path(p: *const c_char) -> Option<PathBuf> {
    // SAFETY: forwarded contract.
    unsafe { bytes(p) }.map(|b| PathBuf::from(OsStr::from_bytes(b)))
}

/// Reads a C `bool` by its byte, so a stray non-0/1 value is not UB.
///
/// # Safety
/// `p` points to a readable byte.
unsafe fn flag(p: *const bool) -> bool {
    // SAFETY: the caller guarantees the byte is readable.
    unsafe { p.cast::<u8>().read() != 0 }
}

fn millis(ms: u32) -> Option<Duration> {
    (ms != 0).then(|| Duration::from_millis(ms.into()))
}

fn check_version(version: u32, expected: u32, what: &str) -> Result<(), Error> {
    if version != expected {
        return Err(Error::invalid_argument(format!(
            "{what}.version is {version}, but this library expects {expected}; fill the struct with {what}_init first"
        )));
    }
    Ok(())
}

/// # Safety
/// `opts` is NULL or points to a readable `nettask_client_options` whose
/// string fields are NULL or NUL-terminated.
pub(crate) unsafe fn client_options(
    opts: *const nettask_client_options,
) -> Result<ClientOptions, Error> {
    let mut options = ClientOptions::default();
    if opts.is_null() {
        return Ok(options);
    }
    // SAFETY: non-NULL and readable by contract; all fields are plain data.
    let o = unsafe { opts.read() };
    check_version(
        o.version,
        NETTASK_CLIENT_OPTIONS_VERSION,
        "nettask_client_options",
    )?;
    options.max_concurrent_tasks = o.max_concurrent_tasks;
    options.max_connections_per_host = o.max_connections_per_host;
    if let Some(t) = millis(o.default_timeout_ms) {
        options.default_timeout = t;
    }
    // SAFETY: string fields are NULL or NUL-terminated by contract.
    let user_agent = unsafe { text(o.user_agent, "user_agent") }?;
    if let Some(ua) = user_agent {
        crate::options::validate_header("User-Agent", &ua)?;
        options.user_agent = ua;
    }
    // SAFETY: as above.
    options.ca_file = unsafe { path(o.ca_file) };
    // SAFETY: as above.
    options.proxy = unsafe { text(o.proxy, "proxy") }?;
    // SAFETY: as above.
    options.temp_dir = unsafe { path(o.temp_dir) };
    if let Some(ca) = &options.ca_file {
        std::fs::File::open(ca).map_err(|e| {
            Error::invalid_argument(format!("ca_file {} cannot be read: {e}", ca.display()))
        })?;
    }
    Ok(options)
}

/// # Safety
/// `opts` points to a readable `nettask_request_options` whose pointers are
/// NULL or valid for what their fields say (strings NUL-terminated,
/// `headers` for `header_count` entries, `body` for `body_len` bytes).
pub(crate) unsafe fn request_options(
    opts: *const nettask_request_options,
) -> Result<RequestOptions, Error> {
    if opts.is_null() {
        return Err(super::null_error("options"));
    }
    // SAFETY: the version field comes first and is readable in every
    // version of the struct; check it before reading the rest.
    let version = unsafe { opts.cast::<u32>().read() };
    check_version(
        version,
        NETTASK_REQUEST_OPTIONS_VERSION,
        "nettask_request_options",
    )?;
    // Fields are read one by one through the raw pointer: a whole-struct
    // copy would read the bools as Rust bools, and a byte that is not 0 or 1
    // would be undefined behaviour. `flag` reads them by their byte.
    // SAFETY: `opts` is non-NULL, of this version and readable by contract;
    // its strings are NULL or NUL-terminated, `headers` valid for
    // `header_count` entries and `body` for `body_len` bytes.
    unsafe {
        let url = text((*opts).url, "url")?.ok_or_else(|| super::null_error("url"))?;
        let mut r = RequestOptions::new(url);
        if let Some(method) = text((*opts).method, "method")? {
            r.method = Method::parse(&method)?;
        }
        r.file_path = path((*opts).file_path);
        r.headers = headers((*opts).headers, (*opts).header_count)?;
        r.body = body((*opts).body, (*opts).body_len)?;
        r.timeout = millis((*opts).timeout_ms);
        r.idle_timeout = millis((*opts).idle_timeout_ms);
        r.max_redirects = (*opts).max_redirects;
        let max = (*opts).max_response_bytes;
        r.max_response_bytes = (max != 0).then_some(max);
        r.follow_redirects = flag(&raw const (*opts).follow_redirects);
        r.enable_http2 = flag(&raw const (*opts).enable_http2);
        r.enable_chunked = flag(&raw const (*opts).enable_chunked);
        r.http2_prior_knowledge = flag(&raw const (*opts).http2_prior_knowledge);
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

/// # Safety
/// `list` is valid for `count` entries whose strings are NUL-terminated.
unsafe fn headers(list: *const nettask_header, count: usize) -> Result<Vec<Header>, Error> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if list.is_null() {
        return Err(Error::invalid_argument(
            "headers is NULL but header_count is not 0",
        ));
    }
    if count > MAX_HEADERS {
        return Err(Error::invalid_argument(format!(
            "header_count is {count}; at most {MAX_HEADERS} request headers are accepted"
        )));
    }
    // SAFETY: valid for `count` entries by contract.
    let entries = unsafe { std::slice::from_raw_parts(list, count) };
    entries
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let what = format!("headers[{i}]");
            // SAFETY: the strings are NULL or NUL-terminated by contract.
            let name = unsafe { text(h.name, &format!("{what}.name")) }?
                .ok_or_else(|| super::null_error(&format!("{what}.name")))?;
            // SAFETY: as above.
            let value = unsafe { text(h.value, &format!("{what}.value")) }?
                .ok_or_else(|| super::null_error(&format!("{what}.value")))?;
            crate::options::validate_header(&name, &value)?;
            Ok(Header { name, value })
        })
        .collect()
}
