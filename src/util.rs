//! Small helpers the whole core uses.

use std::ffi::CString;
use std::sync::{Mutex, MutexGuard};

/// A C string from text, with any NUL byte dropped (a C reader would see
/// the text end there).
pub fn message(text: String) -> CString {
    CString::new(text).unwrap_or_else(|e| {
        let mut bytes = e.into_vec();
        bytes.retain(|&b| b != 0);
        CString::new(bytes).unwrap_or_default()
    })
}

/// A libcurl return code as a Result (for calls the curl crate does not
/// wrap).
pub fn curl_result(code: curl_sys::CURLcode) -> Result<(), curl::Error> {
    match code {
        curl_sys::CURLE_OK => Ok(()),
        code => Err(curl::Error::new(code)),
    }
}

/// Locks `m`; a poisoned lock only means a panic elsewhere, and every
/// value kept under a lock here stays consistent between statements.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `bytes` for a message: quoted, escaped, at most 80 bytes of them.
pub fn quote(bytes: &[u8]) -> String {
    const MAX: usize = 80;
    let shown = &bytes[..bytes.len().min(MAX)];
    let more = if bytes.len() > MAX { "..." } else { "" };
    format!("\"{}\"{more}", shown.escape_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_the_server_sent_briefly() {
        assert_eq!(quote(b"a\"\x01"), "\"a\\\"\\x01\"");
        assert_eq!(quote(&[b'x'; 100]), format!("\"{}\"...", "x".repeat(80)));
    }
}
