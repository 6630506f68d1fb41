//! Result codes, and the mapping from libcurl and I/O failures to them.

use std::fmt;

/// What a task or a call ended with. The numbering is the C ABI's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    Ok = 0,
    InvalidArgument,
    InvalidState,
    Aborted,
    Timeout,
    Dns,
    Connect,
    Tls,
    Send,
    Recv,
    TooManyRedirects,
    TooLarge,
    File,
    Shutdown,
    Internal,
}

impl Code {
    /// Every code, in numeric order.
    pub const ALL: [Code; 15] = [
        Code::Ok,
        Code::InvalidArgument,
        Code::InvalidState,
        Code::Aborted,
        Code::Timeout,
        Code::Dns,
        Code::Connect,
        Code::Tls,
        Code::Send,
        Code::Recv,
        Code::TooManyRedirects,
        Code::TooLarge,
        Code::File,
        Code::Shutdown,
        Code::Internal,
    ];

    /// The constant's name in the C header, e.g. `"NETTASK_E_TIMEOUT"`.
    pub fn name(self) -> &'static str {
        match self {
            Code::Ok => "NETTASK_OK",
            Code::InvalidArgument => "NETTASK_E_INVALID_ARGUMENT",
            Code::InvalidState => "NETTASK_E_INVALID_STATE",
            Code::Aborted => "NETTASK_E_ABORTED",
            Code::Timeout => "NETTASK_E_TIMEOUT",
            Code::Dns => "NETTASK_E_DNS",
            Code::Connect => "NETTASK_E_CONNECT",
            Code::Tls => "NETTASK_E_TLS",
            Code::Send => "NETTASK_E_SEND",
            Code::Recv => "NETTASK_E_RECV",
            Code::TooManyRedirects => "NETTASK_E_TOO_MANY_REDIRECTS",
            Code::TooLarge => "NETTASK_E_TOO_LARGE",
            Code::File => "NETTASK_E_FILE",
            Code::Shutdown => "NETTASK_E_SHUTDOWN",
            Code::Internal => "NETTASK_E_INTERNAL",
        }
    }

    /// The code with this number, if there is one.
    pub fn from_raw(raw: i64) -> Option<Code> {
        usize::try_from(raw)
            .ok()
            .and_then(|i| Code::ALL.get(i).copied())
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
        Error::new(Code::InvalidArgument, message)
    }

    pub fn invalid_state(message: impl Into<String>) -> Error {
        Error::new(Code::InvalidState, message)
    }

    pub fn shutdown() -> Error {
        Error::new(Code::Shutdown, "the client of this task has been freed")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.name(), self.message)
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
        Failure::new(Code::Aborted, "abort")
    }

    pub fn timeout() -> Failure {
        Failure::new(Code::Timeout, "timeout")
    }

    pub fn shutdown() -> Failure {
        Failure::new(Code::Shutdown, "client shut down")
    }

    pub fn too_large() -> Failure {
        Failure::new(Code::TooLarge, "exceed max file size")
    }

    /// A libcurl transfer error, with the text of its error buffer when
    /// libcurl wrote one.
    pub fn from_curl(err: &curl::Error, detail: Option<String>) -> Failure {
        let code = code_of_curl(err.code());
        let reason = match code {
            Code::Timeout => "timeout".to_owned(),
            Code::TooLarge => "exceed max file size".to_owned(),
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
        CURLE_OK => Code::Ok,
        CURLE_UNSUPPORTED_PROTOCOL | CURLE_URL_MALFORMAT => Code::InvalidArgument,
        CURLE_COULDNT_RESOLVE_PROXY | CURLE_COULDNT_RESOLVE_HOST => Code::Dns,
        CURLE_COULDNT_CONNECT => Code::Connect,
        CURLE_OPERATION_TIMEDOUT => Code::Timeout,
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
        | CURLE_USE_SSL_FAILED => Code::Tls,
        CURLE_SEND_ERROR | CURLE_SEND_FAIL_REWIND | CURLE_READ_ERROR => Code::Send,
        CURLE_RECV_ERROR
        | CURLE_PARTIAL_FILE
        | CURLE_GOT_NOTHING
        | CURLE_HTTP2
        | CURLE_HTTP2_STREAM
        | CURLE_FTP_WEIRD_SERVER_REPLY
        | CURLE_BAD_CONTENT_ENCODING => Code::Recv,
        CURLE_TOO_MANY_REDIRECTS => Code::TooManyRedirects,
        CURLE_FILESIZE_EXCEEDED => Code::TooLarge,
        CURLE_ABORTED_BY_CALLBACK => Code::Aborted,
        _ => Code::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_numbers() {
        for (i, code) in Code::ALL.iter().enumerate() {
            assert_eq!(*code as usize, i);
            assert_eq!(Code::from_raw(i as i64), Some(*code));
        }
        assert_eq!(Code::from_raw(-1), None);
        assert_eq!(Code::from_raw(Code::ALL.len() as i64), None);
    }

    #[test]
    fn curl_failures_map_to_host_codes() {
        assert_eq!(code_of_curl(curl_sys::CURLE_COULDNT_CONNECT), Code::Connect);
        assert_eq!(
            code_of_curl(curl_sys::CURLE_PEER_FAILED_VERIFICATION),
            Code::Tls
        );
        assert_eq!(code_of_curl(curl_sys::CURLE_PARTIAL_FILE), Code::Recv);
        let f = Failure::from_curl(&curl::Error::new(curl_sys::CURLE_OPERATION_TIMEDOUT), None);
        assert_eq!(f.err_msg("request"), "request:fail timeout");
        assert_eq!(f.curl_code, 28);
    }
}
