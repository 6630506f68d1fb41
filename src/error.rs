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
    /// was not valid HTTP: a malformed status line, an invalid
    /// Content-Length or chunk, a head past libcurl's limits (300 KiB or
    /// 5,000 header lines), a redirect to a URL nettask cannot request.
    /// `err_msg` says what the server sent.
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
    /// The client's network policy (`allowed_hosts`, `https_only`) refused
    /// the URL, or a redirect hop's URL: nothing was sent to that host.
    NETTASK_E_BLOCKED,
}

/// The Rust name of the codes.
pub use nettask_code as Code;

/// The code with the highest number. A new code goes after it, and this
/// moves to the new one (a test compares it with the header).
const LAST_CODE: Code = Code::NETTASK_E_BLOCKED;

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
            _ if err.code() == curl_sys::CURLE_SSL_PINNEDPUBKEYNOTMATCH => {
                "the server's public key did not match pinned_public_keys".to_owned()
            }
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

/// Maps a `CURLcode` to the nettask code a host can act on: every code of
/// the bundled libcurl, on purpose. A task's URL, method and headers were
/// checked at create, so what fails at run time is the network or the
/// server (a malformed or unsupported reply is `NETTASK_E_RECV`), never
/// the caller; only what cannot happen unless nettask or libcurl is wrong
/// (or out of memory) is `NETTASK_E_INTERNAL`.
pub fn code_of_curl(code: curl_sys::CURLcode) -> Code {
    use Code::*;
    match code {
        0 => NETTASK_OK,
        // 1 UNSUPPORTED_PROTOCOL: an HTTP version libcurl does not speak
        //   (HTTP/1.2, HTTP/0.9); 3 URL_MALFORMAT: a Location libcurl
        //   cannot use; 8 WEIRD_SERVER_REPLY; 16 HTTP2; 18 PARTIAL_FILE;
        //   52 GOT_NOTHING; 56 RECV_ERROR; 61 BAD_CONTENT_ENCODING; 92
        //   HTTP2_STREAM; 95 HTTP3; 100 TOO_LARGE: a head past libcurl's
        //   limits (300 KiB, 5,000 fields).
        1 | 3 | 8 | 16 | 18 | 52 | 56 | 61 | 92 | 95 | 100 => NETTASK_E_RECV,
        // 23 WRITE_ERROR: a callback refused the data; the handler says
        //   why (abort, limit, file), else libcurl's decoder refused it.
        // 43 BAD_FUNCTION_ARGUMENT: at run time, libcurl's verdict on a
        //   header it cannot parse (a folded line in chunked trailers);
        //   setting options up fails as NETTASK_E_INTERNAL before this.
        23 | 43 => NETTASK_E_RECV,
        5 | 6 => NETTASK_E_DNS, // COULDNT_RESOLVE_PROXY, _HOST
        // 7 COULDNT_CONNECT, 45 INTERFACE_FAILED, 89 NO_CONNECTION_AVAILABLE,
        // 96 QUIC_CONNECT_ERROR, 97 PROXY (the proxy refused the tunnel)
        7 | 45 | 89 | 96 | 97 => NETTASK_E_CONNECT,
        28 => NETTASK_E_TIMEOUT,
        // 35 SSL_CONNECT_ERROR, 53/54/66 SSL_ENGINE_*, 58 SSL_CERTPROBLEM,
        // 59 SSL_CIPHER, 60 PEER_FAILED_VERIFICATION, 64 USE_SSL_FAILED,
        // 77 SSL_CACERT_BADFILE, 80 SSL_SHUTDOWN_FAILED, 82 SSL_CRL_BADFILE,
        // 83 SSL_ISSUER_ERROR, 90 PINNEDPUBKEYNOTMATCH, 91 INVALIDCERTSTATUS,
        // 98 SSL_CLIENTCERT, 101 ECH_REQUIRED
        35 | 53 | 54 | 58 | 59 | 60 | 64 | 66 | 77 | 80 | 82 | 83 | 90 | 91 | 98 | 101 => {
            NETTASK_E_TLS
        }
        // 25 UPLOAD_FAILED, 26 READ_ERROR (the body could not be read),
        // 55 SEND_ERROR, 65 SEND_FAIL_REWIND
        25 | 26 | 55 | 65 => NETTASK_E_SEND,
        47 => NETTASK_E_TOO_MANY_REDIRECTS,
        63 => NETTASK_E_TOO_LARGE, // FILESIZE_EXCEEDED
        42 => NETTASK_E_ABORTED,   // ABORTED_BY_CALLBACK
        // 22 HTTP_RETURNED_ERROR and 94 AUTH_ERROR need options nettask does
        // not set; 2 FAILED_INIT, 4 NOT_BUILT_IN, 27 OUT_OF_MEMORY, 41
        // FUNCTION_NOT_FOUND, 48 UNKNOWN_OPTION,
        // 81 AGAIN, 93 RECURSIVE_API_CALL, 99 UNRECOVERABLE_POLL are bugs or
        // exhaustion; the rest belong to protocols nettask does not enable
        // (FTP, TFTP, LDAP, SSH, RTSP, TELNET) or are obsolete. Past 101
        // (CURLE_ECH_REQUIRED): a libcurl newer than this table.
        _ => NETTASK_E_INTERNAL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The highest `CURLcode` of the bundled libcurl (8.22: CURLE_ECH_REQUIRED).
    const LAST_CURL_CODE: curl_sys::CURLcode = 101;

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
    fn every_curl_code_is_mapped_on_purpose() {
        // What a server or the network can cause, by code.
        let by_network = [
            (1, Code::NETTASK_E_RECV),
            (3, Code::NETTASK_E_RECV),
            (5, Code::NETTASK_E_DNS),
            (6, Code::NETTASK_E_DNS),
            (7, Code::NETTASK_E_CONNECT),
            (8, Code::NETTASK_E_RECV),
            (16, Code::NETTASK_E_RECV),
            (18, Code::NETTASK_E_RECV),
            (23, Code::NETTASK_E_RECV),
            (43, Code::NETTASK_E_RECV),
            (28, Code::NETTASK_E_TIMEOUT),
            (35, Code::NETTASK_E_TLS),
            (47, Code::NETTASK_E_TOO_MANY_REDIRECTS),
            (52, Code::NETTASK_E_RECV),
            (55, Code::NETTASK_E_SEND),
            (56, Code::NETTASK_E_RECV),
            (60, Code::NETTASK_E_TLS),
            (61, Code::NETTASK_E_RECV),
            (63, Code::NETTASK_E_TOO_LARGE),
            (90, Code::NETTASK_E_TLS),
            (92, Code::NETTASK_E_RECV),
            (97, Code::NETTASK_E_CONNECT),
            (100, Code::NETTASK_E_RECV),
        ];
        for (curl, code) in by_network {
            assert_eq!(code_of_curl(curl), code, "CURLcode {curl}");
        }
        // Nothing maps to "the caller was wrong": create checked that.
        for curl in 0..=LAST_CURL_CODE + 5 {
            assert_ne!(
                code_of_curl(curl),
                Code::NETTASK_E_INVALID_ARGUMENT,
                "{curl}"
            );
        }
        // The bugs and exhaustion that stay INTERNAL.
        for curl in [2, 27, 48, 93, 99] {
            assert_eq!(code_of_curl(curl), Code::NETTASK_E_INTERNAL, "{curl}");
        }
        assert_eq!(
            curl::Error::new(LAST_CURL_CODE).description(),
            "ECH attempted but failed"
        );
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
