//! Listener registration of the C API. A C listener is the pair
//! (callback, user_data); the core keys it by both addresses.

use std::ffi::c_void;
use std::sync::Arc;

use super::task::{handle_of, task_arc};
use super::types::*;
use super::{guard, null_error, views};
use crate::listeners::{ListenerKey, ListenerSet};
use crate::task::{
    ChunkListener, CompleteListener, HeadersListener, Listeners, ProgressListener, Task,
};

/// The caller's `user_data`, handed back to its callback untouched.
#[derive(Clone, Copy)]
struct UserData(*mut c_void);

impl UserData {
    /// Taking `self` makes closures capture the whole (Send) wrapper.
    fn get(self) -> *mut c_void {
        self.0
    }
}

// SAFETY: nettask never dereferences user_data; it only passes it back to
// the caller's callback, on the event thread, as the API documents.
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}

type Select<F> = fn(&Listeners) -> &ListenerSet<F>;

/// # Safety
/// `task` is NULL or a handle the caller holds.
unsafe fn add<F: ?Sized>(
    task: *mut nettask_task,
    select: Select<F>,
    listener: Option<(ListenerKey, Arc<F>)>,
) -> nettask_code {
    guard(|| {
        // SAFETY: forwarded contract.
        let task = unsafe { task_arc(task) }?;
        let (key, callback) = listener.ok_or_else(|| null_error("callback"))?;
        select(task.listeners()?).add(key, callback);
        Ok(())
    })
}

fn key(callback: usize, user_data: *mut c_void) -> ListenerKey {
    ListenerKey(callback, user_data as usize)
}

/// # Safety
/// `task` is NULL or a handle the caller holds.
unsafe fn remove<F: ?Sized>(
    task: *mut nettask_task,
    select: Select<F>,
    callback: Option<usize>,
    user_data: *mut c_void,
) -> nettask_code {
    guard(|| {
        // SAFETY: forwarded contract.
        let task = unsafe { task_arc(task) }?;
        let set = select(task.listeners()?);
        match callback {
            Some(callback) => set.remove(key(callback, user_data)),
            None => set.clear(),
        }
        Ok(())
    })
}

/// Adds a headers listener: called once with the final response's head
/// (after redirects), before any chunk or progress. Adding the same
/// (callback, user_data) pair twice does nothing.
///
/// # Safety
/// `task` is NULL or a handle the caller holds; `callback` is callable
/// with `user_data` on the event thread until removed or completed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_on_headers_received(
    task: *mut nettask_task,
    callback: nettask_headers_cb,
    user_data: *mut c_void,
) -> nettask_code {
    let ud = UserData(user_data);
    let listener = callback.map(|f| {
        let call: Arc<HeadersListener> =
            Arc::new(move |task: &Task, head: &crate::ResponseHead| {
                // SAFETY: the caller promised `f` is callable with `ud`.
                views::with_head(head, |view| unsafe { f(handle_of(task), view, ud.get()) })
            });
        (key(f as usize, user_data), call)
    });
    // SAFETY: forwarded contract.
    unsafe { add(task, |l| &l.headers, listener) }
}

/// Removes the (callback, user_data) headers listener; a NULL callback
/// removes every headers listener.
///
/// # Safety
/// `task` is NULL or a handle the caller holds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_off_headers_received(
    task: *mut nettask_task,
    callback: nettask_headers_cb,
    user_data: *mut c_void,
) -> nettask_code {
    // SAFETY: forwarded contract.
    unsafe {
        remove(
            task,
            |l| &l.headers,
            callback.map(|f| f as usize),
            user_data,
        )
    }
}

/// Adds a chunk listener: called with each piece of a request's body in
/// order, as it arrives; the pieces concatenate to the body. Not called
/// for downloads.
///
/// # Safety
/// As `nettask_on_headers_received`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_on_chunk_received(
    task: *mut nettask_task,
    callback: nettask_chunk_cb,
    user_data: *mut c_void,
) -> nettask_code {
    let ud = UserData(user_data);
    let listener = callback.map(|f| {
        let call: Arc<ChunkListener> = Arc::new(move |task: &Task, data: &[u8]| {
            // SAFETY: the caller promised `f` is callable with `ud`.
            unsafe { f(handle_of(task), data.as_ptr(), data.len(), ud.get()) }
        });
        (key(f as usize, user_data), call)
    });
    // SAFETY: forwarded contract.
    unsafe { add(task, |l| &l.chunk, listener) }
}

/// Removes a chunk listener; a NULL callback removes them all.
///
/// # Safety
/// `task` is NULL or a handle the caller holds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_off_chunk_received(
    task: *mut nettask_task,
    callback: nettask_chunk_cb,
    user_data: *mut c_void,
) -> nettask_code {
    // SAFETY: forwarded contract.
    unsafe { remove(task, |l| &l.chunk, callback.map(|f| f as usize), user_data) }
}

/// Adds a progress listener (downloads only). `total_bytes_written` never
/// decreases; the last event before a successful completion reports every
/// byte.
///
/// # Safety
/// As `nettask_on_headers_received`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_on_progress_update(
    task: *mut nettask_task,
    callback: nettask_progress_cb,
    user_data: *mut c_void,
) -> nettask_code {
    let ud = UserData(user_data);
    let listener = callback.map(|f| {
        let call: Arc<ProgressListener> =
            Arc::new(move |task: &Task, progress: &crate::Progress| {
                let view = views::progress(progress);
                // SAFETY: the caller promised `f` is callable with `ud`.
                unsafe { f(handle_of(task), &view, ud.get()) }
            });
        (key(f as usize, user_data), call)
    });
    // SAFETY: forwarded contract.
    unsafe { add(task, |l| &l.progress, listener) }
}

/// Removes a progress listener; a NULL callback removes them all.
///
/// # Safety
/// `task` is NULL or a handle the caller holds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_off_progress_update(
    task: *mut nettask_task,
    callback: nettask_progress_cb,
    user_data: *mut c_void,
) -> nettask_code {
    // SAFETY: forwarded contract.
    unsafe {
        remove(
            task,
            |l| &l.progress,
            callback.map(|f| f as usize),
            user_data,
        )
    }
}

/// Adds a complete listener: called exactly once for every started task,
/// last of all its events, on success (any HTTP status), failure, abort or
/// client free.
///
/// # Safety
/// As `nettask_on_headers_received`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_on_complete(
    task: *mut nettask_task,
    callback: nettask_complete_cb,
    user_data: *mut c_void,
) -> nettask_code {
    let ud = UserData(user_data);
    let listener = callback.map(|f| {
        let call: Arc<CompleteListener> =
            Arc::new(move |task: &Task, result: &crate::TaskResult| {
                // SAFETY: the caller promised `f` is callable with `ud`.
                views::with_result(result, |view| unsafe { f(handle_of(task), view, ud.get()) })
            });
        (key(f as usize, user_data), call)
    });
    // SAFETY: forwarded contract.
    unsafe { add(task, |l| &l.complete, listener) }
}

/// Removes a complete listener; a NULL callback removes them all.
///
/// # Safety
/// `task` is NULL or a handle the caller holds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_off_complete(
    task: *mut nettask_task,
    callback: nettask_complete_cb,
    user_data: *mut c_void,
) -> nettask_code {
    // SAFETY: forwarded contract.
    unsafe {
        remove(
            task,
            |l| &l.complete,
            callback.map(|f| f as usize),
            user_data,
        )
    }
}
