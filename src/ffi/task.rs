//! Task functions of the C API: create, start, abort, release.

use std::ptr;
use std::sync::Arc;

use super::client::client_ref;
use super::types::*;
use super::{guard, guard_void, input, null_error};
use crate::error::Error;
use crate::task::Task;

/// Takes a new reference to the task behind a handle.
///
/// # Safety
/// `task` is NULL or a handle the caller holds a reference to (or the
/// `task` argument of a running listener).
pub(crate) unsafe fn task_arc(task: *mut nettask_task) -> Result<Arc<Task>, Error> {
    if task.is_null() {
        return Err(null_error("task"));
    }
    let raw = task.cast_const().cast::<Task>();
    // SAFETY: `raw` came from `Arc::into_raw` and a reference is alive, so
    // the count is at least one; we add ours before taking it.
    unsafe {
        Arc::increment_strong_count(raw);
        Ok(Arc::from_raw(raw))
    }
}

pub(crate) fn handle_of(task: &Task) -> *mut nettask_task {
    ptr::from_ref(task).cast_mut().cast()
}

/// Fills `opts` with the defaults and the current version: GET, follow
/// up to 15 redirects, HTTP/2 offered, the client's timeout. Call it before
/// setting fields.
///
/// # Safety
/// `opts` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_request_options_init(opts: *mut nettask_request_options) {
    guard_void(|| {
        let defaults = nettask_request_options {
            version: NETTASK_REQUEST_OPTIONS_VERSION,
            url: ptr::null(),
            method: ptr::null(),
            headers: ptr::null(),
            header_count: 0,
            body: ptr::null(),
            body_len: 0,
            timeout_ms: 0,
            follow_redirects: true,
            max_redirects: crate::options::DEFAULT_MAX_REDIRECTS,
            idle_timeout_ms: 0,
            enable_http2: true,
            enable_chunked: false,
            max_response_bytes: 0,
            file_path: ptr::null(),
            http2_prior_knowledge: false,
        };
        // SAFETY: non-NULL `opts` is writable by contract.
        unsafe { opts.as_mut() }
            .map(|o| *o = defaults)
            .ok_or_else(|| null_error("opts"))
    })
}

/// # Safety
/// As `nettask_request_create`.
unsafe fn create(
    client: *mut nettask_client,
    opts: *const nettask_request_options,
    out: *mut *mut nettask_task,
    make: fn(&crate::Client, crate::RequestOptions) -> Result<Arc<Task>, Error>,
) -> nettask_code {
    guard(|| {
        if out.is_null() {
            return Err(null_error("out"));
        }
        // SAFETY: `out` is non-NULL and writable by contract.
        unsafe { out.write(ptr::null_mut()) };
        // SAFETY: forwarded contracts on `client` and `opts`.
        let client = unsafe { client_ref(client) }?;
        // SAFETY: as above.
        let options = unsafe { input::request_options(opts) }?;
        let task = make(client, options)?;
        // SAFETY: as above.
        unsafe { out.write(Arc::into_raw(task).cast_mut().cast()) };
        Ok(())
    })
}

/// Creates a request task. Checks the URL (http/https, host, port), the
/// method, header names and values (no CR, LF or NUL) and the options
/// version, and copies every input: free them when this returns. Nothing
/// is sent before `nettask_start`. Release `*out` with `nettask_release`.
///
/// # Safety
/// `client` is NULL or a live client; `opts` is NULL or a readable options
/// struct whose pointers are valid for what their fields say; `out` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_request_create(
    client: *mut nettask_client,
    opts: *const nettask_request_options,
    out: *mut *mut nettask_task,
) -> nettask_code {
    // SAFETY: forwarded contract.
    unsafe { create(client, opts, out, crate::Client::request) }
}

/// Creates a download task: the body streams to a temporary file beside
/// `file_path` (or in the client's temp_dir) that is renamed into place
/// only on success. Checks and copies like `nettask_request_create`.
///
/// # Safety
/// As `nettask_request_create`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_download_create(
    client: *mut nettask_client,
    opts: *const nettask_request_options,
    out: *mut *mut nettask_task,
) -> nettask_code {
    // SAFETY: forwarded contract.
    unsafe { create(client, opts, out, crate::Client::download) }
}

/// Starts the task on its client's event thread. Returns
/// NETTASK_E_SHUTDOWN if its client was freed (whether the task ran or
/// not), else NETTASK_E_INVALID_STATE if it was started before. A task
/// aborted before start completes as aborted without any network traffic.
///
/// # Safety
/// `task` is NULL or a handle the caller holds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_start(task: *mut nettask_task) -> nettask_code {
    // SAFETY: forwarded contract.
    guard(|| unsafe { task_arc(task) }?.start())
}

/// Cancels the task from any thread, without blocking; idempotent. If the
/// task has not completed it completes with NETTASK_E_ABORTED, and once
/// this returns no headers, chunk or progress listener of it is started.
/// After completion it does nothing and returns NETTASK_OK.
///
/// # Safety
/// `task` is NULL or a handle the caller holds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_abort(task: *mut nettask_task) -> nettask_code {
    // SAFETY: forwarded contract.
    guard(|| unsafe { task_arc(task) }?.abort())
}

/// Drops the caller's reference. It does not abort: a started task runs
/// to completion and its listeners still fire. NULL is ignored.
///
/// # Safety
/// `task` is NULL or a handle the caller holds, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_release(task: *mut nettask_task) {
    guard_void(|| {
        if !task.is_null() {
            // SAFETY: the caller gives up the reference it got from *_create.
            drop(unsafe { Arc::from_raw(task.cast_const().cast::<Task>()) });
        }
        Ok(())
    })
}
