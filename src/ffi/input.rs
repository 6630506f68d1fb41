//! Reading C values (strings, paths, bools, durations) into owned Rust
//! values, checking every pointer.

use std::ffi::{CStr, OsStr, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::Error;

/// A NUL-terminated string that may be NULL.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
unsafe fn bytes<'a>(p: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: non-NULL `p` is NUL-terminated by the caller's contract.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// A NUL-terminated UTF-8 string that may be NULL.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
pub(crate) unsafe fn text(p: *const c_char, what: &str) -> Result<Option<String>, Error> {
    // SAFETY: `p` is NULL or NUL-terminated, by contract.
    match unsafe { bytes(p) } {
        None => Ok(None),
        Some(b) => std::str::from_utf8(b)
            .map(|s| Some(s.to_owned()))
            .map_err(|_| Error::invalid_argument(format!("{what} is not valid UTF-8"))),
    }
}

/// More entries than any real list has; a larger count is taken for an
/// uninitialised field rather than read.
pub(crate) const MAX_LIST: usize = 10_000;

/// The `count` entries of a C array: none when `count` is 0. NULL with a
/// count, or a count past `MAX_LIST`, is InvalidArgument; `field` and
/// `count_field` name the array and its count in the sentence.
///
/// # Safety
/// `list` is NULL or valid for `count` entries.
pub(crate) unsafe fn entries<'a, T>(
    list: *const T,
    count: usize,
    field: &str,
    count_field: &str,
) -> Result<&'a [T], Error> {
    if count == 0 {
        return Ok(&[]);
    }
    if list.is_null() {
        return Err(Error::invalid_argument(format!(
            "{field} is NULL but {count_field} is {count}"
        )));
    }
    if count > MAX_LIST {
        return Err(Error::invalid_argument(format!(
            "{count_field} is {count}; at most {MAX_LIST} are accepted"
        )));
    }
    // SAFETY: valid for `count` entries by contract.
    Ok(unsafe { std::slice::from_raw_parts(list, count) })
}

/// `count` UTF-8 strings, none NULL.
///
/// # Safety
/// `list` is NULL or valid for `count` entries that are NULL or
/// NUL-terminated.
pub(crate) unsafe fn texts(
    list: *const *const c_char,
    count: usize,
    field: &str,
    count_field: &str,
) -> Result<Vec<String>, Error> {
    // SAFETY: the caller's promise.
    let list = unsafe { entries(list, count, field, count_field) }?;
    list.iter()
        .enumerate()
        .map(|(i, &p)| {
            let what = format!("{field}[{i}]");
            // SAFETY: NULL or NUL-terminated by contract.
            unsafe { text(p, &what) }?
                .ok_or_else(|| Error::invalid_argument(format!("{what} is NULL")))
        })
        .collect()
}

/// A path (any bytes but NUL) that may be NULL.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
pub(crate) unsafe fn path(p: *const c_char) -> Option<PathBuf> {
    // SAFETY: `p` is NULL or NUL-terminated, by contract.
    unsafe { bytes(p) }.map(|b| PathBuf::from(OsStr::from_bytes(b)))
}

/// Reads a C `bool` by its byte, so a stray non-0/1 value is not UB.
///
/// # Safety
/// `p` points to a readable byte.
pub(crate) unsafe fn flag(p: *const bool) -> bool {
    // SAFETY: the caller guarantees the byte is readable.
    unsafe { p.cast::<u8>().read() != 0 }
}

pub(crate) fn millis(ms: u32) -> Option<Duration> {
    (ms != 0).then(|| Duration::from_millis(ms.into()))
}
