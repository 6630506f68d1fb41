//! Library-wide functions of the C API: the names of codes, the last
//! error, the version.

use std::ffi::{CString, c_char, c_int};
use std::panic::catch_unwind;

use once_cell::sync::Lazy;

use super::LAST_ERROR;
use crate::error::Code;
use crate::util::message;

/// The constant's name for a code, e.g. "NETTASK_E_TIMEOUT";
/// "NETTASK_E_UNKNOWN" for a number that is no code. Never NULL.
///
/// Declared in the header (include/nettask.h.in) with a `nettask_code`
/// parameter: taking an `int` here keeps any value the caller passes
/// defined.
#[unsafe(no_mangle)]
pub extern "C" fn nettask_code_name(code: c_int) -> *const c_char {
    Code::from_raw(code.into())
        .map_or(c"NETTASK_E_UNKNOWN", Code::name)
        .as_ptr()
}

/// A sentence on the last non-OK code a nettask function returned on this
/// thread, or NULL if there was none. Valid until the next failing call on
/// this thread.
#[unsafe(no_mangle)]
pub extern "C" fn nettask_last_error() -> *const c_char {
    LAST_ERROR
        .try_with(|last| {
            last.borrow()
                .as_ref()
                .map_or(std::ptr::null(), |m| m.as_ptr())
        })
        .unwrap_or(std::ptr::null())
}

static VERSION: Lazy<CString> = Lazy::new(|| {
    let curl = curl::Version::get();
    let mut parts = vec![format!("libcurl {}", curl.version())];
    parts.extend(curl.ssl_version().map(str::to_owned));
    parts.extend(curl.nghttp2_version().map(|v| format!("nghttp2/{v}")));
    message(format!(
        "nettask {} ({})",
        env!("CARGO_PKG_VERSION"),
        parts.join(", ")
    ))
});

/// The library's version and what it is built with, e.g.
/// "nettask 0.1.0 (libcurl 8.x.y, OpenSSL/3.x, nghttp2/1.x)". Static.
#[unsafe(no_mangle)]
pub extern "C" fn nettask_version() -> *const c_char {
    catch_unwind(|| VERSION.as_ptr()).unwrap_or(c"nettask".as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn code_names_are_the_variants() {
        for raw in 0..64 {
            // SAFETY: nettask_code_name returns a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(nettask_code_name(raw)) };
            match Code::from_raw(raw.into()) {
                Some(code) => assert_eq!(name, code.name()),
                None => assert_eq!(name, c"NETTASK_E_UNKNOWN"),
            }
        }
        assert_eq!(Code::NETTASK_E_TIMEOUT.name(), c"NETTASK_E_TIMEOUT");
    }
}
