//! The C surface: validates and copies C input, catches panics, records
//! `nettask_last_error`, and shows Rust results as borrowed C views. No
//! networking logic lives here.

mod client;
mod input;
mod listeners;
mod task;
mod types;
mod views;

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};

use once_cell::sync::Lazy;

pub use client::*;
pub use listeners::*;
pub use task::*;
pub use types::*;

use crate::error::{Code, Error};

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_last_error(message: &str) {
    let text = crate::task::message(message.to_owned());
    LAST_ERROR.with(|last| *last.borrow_mut() = Some(text));
}

impl From<Code> for nettask_code {
    fn from(code: Code) -> nettask_code {
        use nettask_code::*;
        match code {
            Code::Ok => NETTASK_OK,
            Code::InvalidArgument => NETTASK_E_INVALID_ARGUMENT,
            Code::InvalidState => NETTASK_E_INVALID_STATE,
            Code::Aborted => NETTASK_E_ABORTED,
            Code::Timeout => NETTASK_E_TIMEOUT,
            Code::Dns => NETTASK_E_DNS,
            Code::Connect => NETTASK_E_CONNECT,
            Code::Tls => NETTASK_E_TLS,
            Code::Send => NETTASK_E_SEND,
            Code::Recv => NETTASK_E_RECV,
            Code::TooManyRedirects => NETTASK_E_TOO_MANY_REDIRECTS,
            Code::TooLarge => NETTASK_E_TOO_LARGE,
            Code::File => NETTASK_E_FILE,
            Code::Shutdown => NETTASK_E_SHUTDOWN,
            Code::Internal => NETTASK_E_INTERNAL,
        }
    }
}

/// Runs the body of an `extern "C"` function: a returned error or a panic
/// becomes its code, with its sentence in `nettask_last_error`.
fn guard(body: impl FnOnce() -> Result<(), Error>) -> nettask_code {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => nettask_code::NETTASK_OK,
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.code.into()
        }
        Err(_) => {
            set_last_error("internal error: a panic was caught at the C boundary");
            nettask_code::NETTASK_E_INTERNAL
        }
    }
}

/// Like `guard`, for functions that return nothing to report into.
fn guard_void(body: impl FnOnce() -> Result<(), Error>) {
    let _ = guard(body);
}

fn null_error(what: &str) -> Error {
    Error::invalid_argument(format!("{what} is NULL"))
}

static CODE_NAMES: [&CStr; 15] = [
    c"NETTASK_OK",
    c"NETTASK_E_INVALID_ARGUMENT",
    c"NETTASK_E_INVALID_STATE",
    c"NETTASK_E_ABORTED",
    c"NETTASK_E_TIMEOUT",
    c"NETTASK_E_DNS",
    c"NETTASK_E_CONNECT",
    c"NETTASK_E_TLS",
    c"NETTASK_E_SEND",
    c"NETTASK_E_RECV",
    c"NETTASK_E_TOO_MANY_REDIRECTS",
    c"NETTASK_E_TOO_LARGE",
    c"NETTASK_E_FILE",
    c"NETTASK_E_SHUTDOWN",
    c"NETTASK_E_INTERNAL",
];

/// The constant's name for a code, e.g. "NETTASK_E_TIMEOUT";
/// "NETTASK_E_UNKNOWN" for a number that is no code. Never NULL.
///
/// Declared in the header (cbindgen.toml) with a `nettask_code` parameter:
/// taking an `int` here keeps any value the caller passes defined.
#[unsafe(no_mangle)]
pub extern "C" fn nettask_code_name(code: c_int) -> *const c_char {
    Code::from_raw(code.into())
        .map_or(c"NETTASK_E_UNKNOWN", |c| CODE_NAMES[c as usize])
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
    let text = format!(
        "nettask {} ({})",
        env!("CARGO_PKG_VERSION"),
        parts.join(", ")
    );
    crate::task::message(text)
});

/// "nettask 0.1.0 (libcurl 8.x.y, OpenSSL/3.x, nghttp2/1.x)". Static.
#[unsafe(no_mangle)]
pub extern "C" fn nettask_version() -> *const c_char {
    catch_unwind(|| VERSION.as_ptr()).unwrap_or(c"nettask".as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_match_the_core() {
        for code in Code::ALL {
            // SAFETY: nettask_code_name returns a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(nettask_code_name(code as c_int)) };
            assert_eq!(name.to_str().unwrap(), code.name());
            assert_eq!(nettask_code::from(code) as u32, code as u32);
        }
    }
}
