//! A client's cookie jar, from C: read, add, clear, save.

use std::ffi::{CString, c_char};
use std::ptr;

use super::client::{client_ref, nettask_client};
use super::input::text;
use super::{guard, guard_void, null_error};
use crate::error::{Error, nettask_code};

/// Adds one cookie to the client's jar, as if a response had set it.
/// `line` is a Netscape cookie-file line (7 tab-separated fields: domain,
/// include-subdomains TRUE/FALSE, path, secure TRUE/FALSE, expiry in Unix
/// seconds or 0 for a session cookie, name, value; a domain prefixed
/// "#HttpOnly_" marks it HttpOnly), or a "Set-Cookie: name=value; ..."
/// line that has a Domain attribute. A cookie of the same name, domain and
/// path is replaced; an expiry in the past deletes it.
///
/// Fails with NETTASK_E_INVALID_ARGUMENT for NULL arguments, a line of
/// neither form, or one libcurl's cookie engine refuses; with
/// NETTASK_E_INVALID_STATE when the client has no jar (`enable_cookies`).
/// Callable from any thread, listeners included; it never waits for the
/// network.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_client_set_cookie(
    client: *mut nettask_client,
    line: *const c_char,
) -> nettask_code {
    guard(|| {
        // SAFETY: NULL or a live handle, by contract.
        let client = unsafe { client_ref(client) }?;
        // SAFETY: NULL or NUL-terminated, by contract.
        let line = unsafe { text(line, "line") }?.ok_or_else(|| null_error("line"))?;
        client.set_cookie(&line)
    })
}

/// Sets `*out` to the client's jar as Netscape cookie-file lines, each
/// ending in "\n" ("" for an empty jar), to be freed with
/// `nettask_string_free`. On failure `*out` is NULL.
///
/// Fails with NETTASK_E_INVALID_ARGUMENT for NULL arguments, and with
/// NETTASK_E_INVALID_STATE when the client has no jar. Callable from any
/// thread, listeners included; it never waits for the network.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_client_cookies(
    client: *mut nettask_client,
    out: *mut *mut c_char,
) -> nettask_code {
    guard(|| {
        if out.is_null() {
            return Err(null_error("out"));
        }
        // SAFETY: `out` is non-NULL and writable by contract.
        unsafe { out.write(ptr::null_mut()) };
        // SAFETY: NULL or a live handle, by contract.
        let jar = unsafe { client_ref(client) }?.cookies()?;
        let jar = CString::new(jar)
            .map_err(|_| Error::invalid_state("a cookie in the jar holds a NUL byte"))?;
        // SAFETY: `out` is non-NULL and writable by contract.
        unsafe { out.write(jar.into_raw()) };
        Ok(())
    })
}

/// Removes every cookie from the client's jar (its file changes at the
/// next save). Fails with NETTASK_E_INVALID_ARGUMENT for NULL, and with
/// NETTASK_E_INVALID_STATE when the client has no jar. Callable from any
/// thread, listeners included.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_client_clear_cookies(client: *mut nettask_client) -> nettask_code {
    // SAFETY: NULL or a live handle, by contract.
    guard(|| unsafe { client_ref(client) }?.clear_cookies())
}

/// Writes the client's jar to its `cookie_file` now: to a temporary file
/// in the same directory, synced, then renamed over the old one, so a
/// crash at any moment leaves the previous jar or the new one, whole.
///
/// Fails with NETTASK_E_FILE (a sentence naming the path and the OS error)
/// when the file cannot be written: the jar is kept in memory and the old
/// file is left as it was. Fails with NETTASK_E_INVALID_STATE when the
/// client has no jar or no `cookie_file`, and with
/// NETTASK_E_INVALID_ARGUMENT for NULL. Callable from any thread; it does
/// file I/O but never waits for the network.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_client_save_cookies(client: *mut nettask_client) -> nettask_code {
    // SAFETY: NULL or a live handle, by contract.
    guard(|| unsafe { client_ref(client) }?.save_cookies())
}

/// Frees a string the library handed out (`nettask_client_cookies`).
/// NULL does nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_string_free(s: *mut c_char) {
    guard_void(|| {
        if !s.is_null() {
            // SAFETY: a string from `CString::into_raw` in this library,
            // given up by the caller.
            drop(unsafe { CString::from_raw(s) });
        }
        Ok(())
    })
}
