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

/// Locks `m`; a poisoned lock only means a panic elsewhere, and every
/// value kept under a lock here stays consistent between statements.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
