//! Result codes, and the mapping from libcurl and I/O failures to them.

use std::ffi::{CStr, CString, c_int};
use std::fmt;

use once_cell::sync::Lazy;

use crate::util::message;

// The one definition of the codes: the header's enum is generated from
// it, and `nettask_code_name` gives its variants' names.
/// What a call or a task ended with. Numbers never change: new codes are
/// appended.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum nettask_code {
    NETTASK_OK = 0,
    /// The caller passed something wrong: NULL where not allowed, a bad
    /// URL, method or header, an unsupported scheme, an unknown struct
    /// version.
    NETTASK_E_INVALID_ARGUMENT,
    /// The call does not fit the object's state: a task started twice,
    /// `nettask_client_free` from a listener of the same client.
    NETTASK_E_INVALID_STATE,
    /// `nettask_abort` was called.
    NETTASK_E_ABORTED,
    /// The whole-task or idle timeout expired.
    NETTASK_E_TIMEOUT,
    /// The host name could not be resolved.
    NETTASK_E_DNS,
    /// No connection could be made.
    NETTASK_E_CONNECT,
    /// The TLS handshake or certificate verification failed.
    NETTASK_E_TLS,
    /// The request could not be sent.
    NETTASK_E_SEND,
    /// The connection was reset or closed mid-response, or the response
    /// was not valid HTTP.
    NETTASK_E_RECV,
    /// More redirects than `max_redirects`.
    NETTASK_E_TOO_MANY_REDIRECTS,
    /// The body exceeded `max_response_bytes`.
    NETTASK_E_TOO_LARGE,
    /// A download destination cannot be written.
    NETTASK_E_FILE,
    /// The client was freed while the task ran, or before the call.
    NETTASK_E_SHUTDOWN,
    /// A bug in nettask (or libcurl out of memory).
    NETTASK_E_INTERNAL,
}

/// The Rust name of the codes.
pub use nettask_code as Code;

/// The code with the highest number. A new code goes after it, and this
/// moves to the new one (a test compares it with the header).
const LAST_CODE: Code = Code::NETTASK_E_INTERNAL;

impl Code {
    /// The constant's name in the C header, e.g. `c"NETTASK_E_TIMEOUT"`.
    pub fn name(self) -> &'static CStr {
        static NAMES: Lazy<Vec<CString>> = Lazy::new(|| {
            (0..=LAST_CODE as i64)
                .filter_map(Code::from_raw)
                .map(|code| message(format!("{code:?}")))
                .collect()
        });
        &NAMES[self as usize]
    }

    /// The code with this number, if there is one.
    pub fn from_raw(raw: i64) -> Option<Code> {
        if !(0..=LAST_CODE as i64).contains(&raw) {
            return None;
        }
        // SAFETY: `Code` is a fieldless `repr(C)` enum (the size of a C int)
        // whose variants are numbered 0..=LAST_CODE without gaps, and `raw`
        // is in that range.
        Some(unsafe { std::mem::transmute::<c_int, Code>(raw as c_int) })
    }
}

/// A failed call: a code and a sentence for `nettask_last_error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub message: String,
}

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Error {
        Error::new(Code::NETTASK_E_INVALID_ARGUMENT, message)
    }

    pub fn invalid_state(message: impl Into<String>) -> Error {
        Error::new(Code::NETTASK_E_INVALID_STATE, message)
    }

    pub fn shutdown() -> Error {
        Error::new(
            Code::NETTASK_E_SHUTDOWN,
            "the client of this task has been freed",
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            self.code.name().to_string_lossy(),
            self.message
        )
    }
}

impl std::error::Error for Error {}

/// Why a started task did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: Code,
    /// The raw `CURLcode`, 0 when the failure did not come from libcurl.
    pub curl_code: i32,
    /// The `<reason>` in `"request:fail <reason>"`.
    pub reason: String,
}

impl Failure {
    pub fn new(code: Code, reason: impl Into<String>) -> Failure {
        Failure {
            code,
            curl_code: 0,
            reason: reason.into(),
        }
    }

    pub fn aborted() -> Failure {
        Failure::new(Code::NETTASK_E_ABORTED, "abort")
    }

    pub fn timeout() -> Failure {
        Failure::new(Code::NETTASK_E_TIMEOUT, "timeout")
    }

    pub fn shutdown() -> Failure {
        Failure::new(Code::NETTASK_E_SHUTDOWN, "client shut down")
    }

    pub fn too_large() -> Failure {
        Failure::new(Code::NETTASK_E_TOO_LARGE, "exceed max file size")
    }

    /// A libcurl transfer error, with the text of its error buffer when
    /// libcurl wrote one.
    pub fn from_curl(err: &curl::Error, detail: Option<String>) -> Failure {
        let code = code_of_curl(err.code());
        let reason = match code {
            Code::NETTASK_E_TIMEOUT => "timeout".to_owned(),
            Code::NETTASK_E_TOO_LARGE => "exceed max file size".to_owned(),
            _ => detail
                .filter(|d| !d.trim().is_empty())
                .map(|d| d.trim().to_owned())
                .unwrap_or_else(|| err.description().to_owned()),
        };
        Failure {
            code,
            curl_code: err.code() as i32,
            reason,
        }
    }

    /// The wx-style message: `"<api>:fail <reason>"`.
    pub fn err_msg(&self, api: &str) -> String {
        format!("{api}:fail {}", self.reason)
    }
}

/// Maps a `CURLcode` to the nettask code a host can act on.
pub fn code_of_curl(code: curl_sys::CURLcode) -> Code {
    use curl_sys::*;
    match code {
        CURLE_OK => Code::NETTASK_OK,
        CURLE_UNSUPPORTED_PROTOCOL | CURLE_URL_MALFORMAT => Code::NETTASK_E_INVALID_ARGUMENT,
        CURLE_COULDNT_RESOLVE_PROXY | CURLE_COULDNT_RESOLVE_HOST => Code::NETTASK_E_DNS,
        CURLE_COULDNT_CONNECT => Code::NETTASK_E_CONNECT,
        CURLE_OPERATION_TIMEDOUT => Code::NETTASK_E_TIMEOUT,
        CURLE_SSL_CONNECT_ERROR
        | CURLE_PEER_FAILED_VERIFICATION
        | CURLE_SSL_CERTPROBLEM
        | CURLE_SSL_CIPHER
        | CURLE_SSL_CACERT_BADFILE
        | CURLE_SSL_CRL_BADFILE
        | CURLE_SSL_ISSUER_ERROR
        | CURLE_SSL_PINNEDPUBKEYNOTMATCH
        | CURLE_SSL_INVALIDCERTSTATUS
        | CURLE_SSL_ENGINE_NOTFOUND
        | CURLE_SSL_ENGINE_SETFAILED
        | CURLE_SSL_ENGINE_INITFAILED
        | CURLE_USE_SSL_FAILED => Code::NETTASK_E_TLS,
        CURLE_SEND_ERROR | CURLE_SEND_FAIL_REWIND | CURLE_READ_ERROR => Code::NETTASK_E_SEND,
        CURLE_RECV_ERROR
        | CURLE_PARTIAL_FILE
        | CURLE_GOT_NOTHING
        | CURLE_HTTP2
        | CURLE_HTTP2_STREAM
        | CURLE_FTP_WEIRD_SERVER_REPLY
        | CURLE_BAD_CONTENT_ENCODING => Code::NETTASK_E_RECV,
        CURLE_TOO_MANY_REDIRECTS => Code::NETTASK_E_TOO_MANY_REDIRECTS,
        CURLE_FILESIZE_EXCEEDED => Code::NETTASK_E_TOO_LARGE,
        CURLE_ABORTED_BY_CALLBACK => Code::NETTASK_E_ABORTED,
        _ => Code::NETTASK_E_INTERNAL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_headers_enum_in_order() {
        let header = include_str!("../include/nettask.h");
        let body = header
            .split_once("typedef enum nettask_code {")
            .and_then(|(_, rest)| rest.split_once("} nettask_code;"))
            .expect("the header declares enum nettask_code")
            .0;
        let names: Vec<&str> = body
            .lines()
            .map(|l| l.trim().trim_end_matches(',').trim_end_matches(" = 0"))
            .filter(|l| l.starts_with("NETTASK_"))
            .collect();
        assert_eq!(
            names.len(),
            LAST_CODE as usize + 1,
            "LAST_CODE is not the last code"
        );
        for (i, name) in names.iter().enumerate() {
            let code = Code::from_raw(i as i64).unwrap();
            assert_eq!(code as usize, i);
            assert_eq!(code.name().to_str().unwrap(), *name);
        }
        assert_eq!(Code::from_raw(-1), None);
        assert_eq!(Code::from_raw(names.len() as i64), None);
    }

    #[test]
    fn curl_failures_map_to_host_codes() {
        assert_eq!(
            code_of_curl(curl_sys::CURLE_COULDNT_CONNECT),
            Code::NETTASK_E_CONNECT
        );
        assert_eq!(
            code_of_curl(curl_sys::CURLE_PEER_FAILED_VERIFICATION),
            Code::NETTASK_E_TLS
        );
        assert_eq!(
            code_of_curl(curl_sys::CURLE_PARTIAL_FILE),
            Code::NETTASK_E_RECV
        );
        let f = Failure::from_curl(&curl::Error::new(curl_sys::CURLE_OPERATION_TIMEDOUT), None);
        assert_eq!(f.err_msg("request"), "request:fail timeout");
        assert_eq!(f.curl_code, 28);
    }
}
