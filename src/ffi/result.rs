//! The result a complete listener receives, as a C view of `TaskResult`.

use std::ffi::{CStr, c_char};
use std::ptr;

use super::task::nettask_header;
use crate::error::nettask_code;
use crate::profile::nettask_profile;
use crate::response::HeaderFields;
use crate::result::TaskResult;

/// How a task ended. Every pointer is borrowed and valid only during the
/// complete listener call: copy what you keep.
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
    /// Never NULL.
    pub profile: *const nettask_profile,
    // Version 2.
    /// The final response's Set-Cookie values, in wire order (wx
    /// `res.cookies`), whether or not the client keeps a jar; NULL and 0
    /// when there are none.
    pub cookies: *const *const c_char,
    pub cookie_count: usize,
}

/// C views of header fields, borrowing from them.
pub(crate) fn header_views(fields: &HeaderFields) -> Vec<nettask_header> {
    fields
        .iter()
        .map(|(name, value)| nettask_header {
            name: name.as_ptr(),
            value: value.as_ptr(),
        })
        .collect()
}

/// C views of the Set-Cookie values among header fields.
pub(crate) fn cookie_views(fields: &HeaderFields) -> Vec<*const c_char> {
    fields.all("set-cookie").map(CStr::as_ptr).collect()
}

/// The slice's address, or NULL when it is empty.
pub(crate) fn ptr_or_null<T>(items: &[T]) -> *const T {
    if items.is_empty() {
        ptr::null()
    } else {
        items.as_ptr()
    }
}

/// Calls `f` with a view of `result` that borrows from it.
pub(crate) fn with_result<R>(result: &TaskResult, f: impl FnOnce(&nettask_result) -> R) -> R {
    let headers = header_views(&result.headers);
    let cookies = cookie_views(&result.headers);
    f(&nettask_result {
        code: result.code,
        err_msg: result.err_msg.as_ptr(),
        curl_code: result.curl_code,
        status_code: result.status_code,
        headers: ptr_or_null(&headers),
        header_count: headers.len(),
        data: ptr_or_null(&result.data),
        data_len: result.data.len(),
        file_path: result
            .file_path
            .as_ref()
            .map_or(ptr::null(), |p| p.as_ptr()),
        data_length: result.data_length,
        profile: &*result.profile,
        cookies: ptr_or_null(&cookies),
        cookie_count: cookies.len(),
    })
}
