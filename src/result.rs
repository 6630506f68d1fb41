//! What a task reports: its kind (which names its messages), download
//! progress, and the result its completion carries.

use std::borrow::Cow;
use std::ffi::{CStr, CString};

use crate::error::{Code, Failure};
use crate::profile::Profile;
use crate::response::HeaderFields;
use crate::util::message;

/// Requests keep the body in memory; downloads stream it to a file;
/// uploads send a file as a multipart form and keep the answer in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    Request,
    Download,
    Upload,
}

impl TaskKind {
    /// The wx API name used in `err_msg`.
    pub fn api_name(self) -> &'static str {
        match self {
            TaskKind::Request => "request",
            TaskKind::Download => "downloadFile",
            TaskKind::Upload => "uploadFile",
        }
    }

    /// The `err_msg` of a success.
    fn ok_message(self) -> &'static CStr {
        match self {
            TaskKind::Request => c"request:ok",
            TaskKind::Download => c"downloadFile:ok",
            TaskKind::Upload => c"uploadFile:ok",
        }
    }
}

// The one definition of progress: the header's struct is generated from it.
/// Download or upload progress, as progress listeners see it.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct nettask_progress {
    /// 0..100; 0 while the total is unknown.
    pub progress: u32,
    /// Body bytes written so far; never decreases.
    pub total_bytes_written: u64,
    /// The body's length from Content-Length; -1 when unknown.
    pub total_bytes_expected_to_write: i64,
    // Version 2: uploads (downloads report 0 and -1 here, uploads report
    // 0 and -1 in the two fields above).
    /// Request body bytes sent so far on this hop (a 307/308 re-send starts
    /// again from 0).
    pub total_bytes_sent: u64,
    /// The whole request body; -1 when unknown.
    pub total_bytes_expected_to_send: i64,
}

/// The Rust name of download progress.
pub use nettask_progress as Progress;

/// How a task ended, as the complete listeners see it.
#[derive(Debug, Clone)]
pub struct TaskResult {
    pub code: Code,
    pub err_msg: Cow<'static, CStr>,
    pub curl_code: i32,
    /// 0 if no response arrived.
    pub status_code: i32,
    pub headers: HeaderFields,
    /// Requests: the body, unless `enable_chunked`.
    pub data: Vec<u8>,
    /// Downloads: the file holding the body; `None` on failure.
    pub file_path: Option<CString>,
    pub data_length: u64,
    pub profile: Profile,
}

impl TaskResult {
    /// A result without a response: no status, headers or body yet.
    fn without_response(
        code: Code,
        err_msg: Cow<'static, CStr>,
        curl_code: i32,
        profile: Profile,
    ) -> TaskResult {
        TaskResult {
            code,
            err_msg,
            curl_code,
            status_code: 0,
            headers: HeaderFields::default(),
            data: Vec::new(),
            file_path: None,
            data_length: 0,
            profile,
        }
    }

    pub fn failed(kind: TaskKind, failure: &Failure, profile: Profile) -> TaskResult {
        let err_msg = Cow::Owned(message(failure.err_msg(kind.api_name())));
        TaskResult::without_response(failure.code, err_msg, failure.curl_code, profile)
    }

    /// A success; the caller fills in the response.
    pub fn ok(kind: TaskKind, profile: Profile) -> TaskResult {
        let err_msg = Cow::Borrowed(kind.ok_message());
        TaskResult::without_response(Code::NETTASK_OK, err_msg, 0, profile)
    }
}
