//! Client functions of the C API.

use std::ptr;

use once_cell::sync::OnceCell;

use super::types::*;
use super::{guard, guard_void, input, null_error};
use crate::client::Client;
use crate::error::Error;
use crate::options::ClientOptions;

/// What a `nettask_client *` points to.
pub(crate) struct ClientHandle {
    pub(crate) client: Client,
}

static DEFAULT_CLIENT: OnceCell<ClientHandle> = OnceCell::new();

/// Borrows the client behind a handle.
///
/// # Safety
/// `client` is NULL or a live handle from `nettask_client_new` /
/// `nettask_client_default`.
pub(crate) unsafe fn client_ref<'a>(client: *mut nettask_client) -> Result<&'a Client, Error> {
    // SAFETY: non-NULL handles point to a live ClientHandle by contract.
    unsafe { client.cast::<ClientHandle>().as_ref() }
        .map(|h| &h.client)
        .ok_or_else(|| null_error("client"))
}

/// Fills `opts` with the defaults and the current version. Call it before
/// setting fields, so a newer library sees defaults for fields it added.
///
/// # Safety
/// `opts` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_client_options_init(opts: *mut nettask_client_options) {
    guard_void(|| {
        let defaults = nettask_client_options {
            version: NETTASK_CLIENT_OPTIONS_VERSION,
            max_concurrent_tasks: 0,
            max_connections_per_host: 0,
            default_timeout_ms: 0,
            user_agent: ptr::null(),
            ca_file: ptr::null(),
            proxy: ptr::null(),
            temp_dir: ptr::null(),
        };
        // SAFETY: non-NULL `opts` points to writable memory for the struct
        // (the caller's own variable).
        unsafe { opts.as_mut() }
            .map(|o| *o = defaults)
            .ok_or_else(|| null_error("opts"))
    })
}

/// Creates a client and starts its event thread. `opts` may be NULL for
/// the defaults; its strings are copied. On success `*out` is the client,
/// to be freed with `nettask_client_free`.
///
/// Fails with NETTASK_E_INVALID_ARGUMENT for a NULL `out`, a wrong
/// `version`, or a `ca_file` that cannot be read.
///
/// # Safety
/// `opts` is NULL or a readable `nettask_client_options` with NULL or
/// NUL-terminated strings; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_client_new(
    opts: *const nettask_client_options,
    out: *mut *mut nettask_client,
) -> nettask_code {
    guard(|| {
        if out.is_null() {
            return Err(null_error("out"));
        }
        // SAFETY: `out` is non-NULL and writable by contract.
        unsafe { out.write(ptr::null_mut()) };
        // SAFETY: forwarded contract on `opts`.
        let options = unsafe { input::client_options(opts) }?;
        let handle = Box::new(ClientHandle {
            client: Client::new(options)?,
        });
        // SAFETY: as above.
        unsafe { out.write(Box::into_raw(handle).cast()) };
        Ok(())
    })
}

/// The process-wide client with default options, created on first use and
/// never freed. NULL only if it cannot be created (see
/// `nettask_last_error`).
#[unsafe(no_mangle)]
pub extern "C" fn nettask_client_default() -> *mut nettask_client {
    let mut client = ptr::null_mut();
    guard_void(|| {
        let handle = DEFAULT_CLIENT.get_or_try_init(|| {
            Client::new(ClientOptions::default()).map(|client| ClientHandle { client })
        })?;
        client = ptr::from_ref(handle).cast_mut().cast();
        Ok(())
    });
    client
}

/// Aborts every unfinished task of the client (each completes with
/// NETTASK_E_SHUTDOWN), waits until those completions have been delivered
/// and the event thread has exited, then frees the client. Task handles
/// stay valid until released; calls on them return NETTASK_E_SHUTDOWN.
///
/// Returns NETTASK_E_INVALID_STATE, freeing nothing, when called from a
/// listener of this client. Freeing the default client does nothing.
///
/// # Safety
/// `client` is NULL or a live client handle, not used after this returns OK.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_client_free(client: *mut nettask_client) -> nettask_code {
    guard(|| {
        let handle = client.cast::<ClientHandle>();
        if DEFAULT_CLIENT.get().is_some_and(|d| ptr::eq(d, handle)) {
            return Ok(());
        }
        // SAFETY: forwarded contract on `client`.
        unsafe { client_ref(client) }?.shutdown()?;
        // SAFETY: a live handle from `Box::into_raw` in nettask_client_new,
        // whose event thread has exited; the caller gives it up.
        drop(unsafe { Box::from_raw(handle) });
        Ok(())
    })
}
