//! Listener registration of the C API. A C listener is the pair
//! (callback, user_data); the core keys it by both addresses.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use super::result::{cookie_views, header_views, nettask_result, ptr_or_null, with_result};
use super::task::{handle_of, nettask_header, nettask_task, task_arc};
use super::{guard, null_error};
use crate::error::nettask_code;
use crate::framing::SseEvent;
use crate::listeners::{ListenerKey, ListenerSet};
use crate::response::ResponseHead;
use crate::result::{Progress, TaskResult, nettask_progress};
use crate::task::{
    ChunkListener, CompleteListener, HeadersListener, Listeners, ProgressListener, SseListener,
    Task,
};

/// The final response's status line and headers.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nettask_response_head {
    pub status_code: i32,
    /// "1.0", "1.1", "2" or "3".
    pub http_version: *const c_char,
    /// In wire order, repeated names kept (Set-Cookie).
    pub headers: *const nettask_header,
    pub header_count: usize,
    // Version 2.
    /// The Set-Cookie values among `headers`, in wire order (wx
    /// `res.cookies`); NULL and 0 when there are none.
    pub cookies: *const *const c_char,
    pub cookie_count: usize,
}

/// Called once with the final response's head, before any chunk or progress.
pub type nettask_headers_cb = Option<
    unsafe extern "C" fn(
        task: *mut nettask_task,
        head: *const nettask_response_head,
        user_data: *mut c_void,
    ),
>;
/// Called with each piece of the response body, in order, as it arrives.
pub type nettask_chunk_cb = Option<
    unsafe extern "C" fn(
        task: *mut nettask_task,
        data: *const u8,
        len: usize,
        user_data: *mut c_void,
    ),
>;
/// Called with download progress, coalesced to one event per 1% (or per
/// 100 ms while the total is unknown).
pub type nettask_progress_cb = Option<
    unsafe extern "C" fn(
        task: *mut nettask_task,
        progress: *const nettask_progress,
        user_data: *mut c_void,
    ),
>;
/// A server-sent event, borrowed for the listener call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nettask_sse_event {
    /// The `event:` field; "message" when there was none.
    pub r#type: *const c_char,
    /// The `data:` lines joined by "\n", without a final "\n"; a NUL
    /// follows them (not counted in `data_len`). Never NULL.
    pub data: *const u8,
    pub data_len: usize,
    /// The stream's last `id:` so far; "" when none.
    pub last_event_id: *const c_char,
    /// The stream's last valid `retry:` so far, in milliseconds; -1 when
    /// none.
    pub retry_ms: i64,
}

/// Called with each server-sent event parsed from the body.
pub type nettask_sse_event_cb = Option<
    unsafe extern "C" fn(
        task: *mut nettask_task,
        event: *const nettask_sse_event,
        user_data: *mut c_void,
    ),
>;

/// Called exactly once for every started task, last of all its events.
pub type nettask_complete_cb = Option<
    unsafe extern "C" fn(
        task: *mut nettask_task,
        result: *const nettask_result,
        user_data: *mut c_void,
    ),
>;

/// Calls `f` with a view of `head` that borrows from it.
fn with_head<R>(head: &ResponseHead, f: impl FnOnce(&nettask_response_head) -> R) -> R {
    let headers = header_views(&head.headers);
    let cookies = cookie_views(&head.headers);
    f(&nettask_response_head {
        status_code: head.status_code,
        http_version: head.http_version.as_ptr(),
        headers: ptr_or_null(&headers),
        header_count: headers.len(),
        cookies: ptr_or_null(&cookies),
        cookie_count: cookies.len(),
    })
}

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
// SAFETY: sharing a UserData shares only the address, which nettask
// never dereferences.
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
        // SAFETY: `task` is NULL or a handle the caller holds, by contract.
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
        // SAFETY: `task` is NULL or a handle the caller holds, by contract.
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
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_on_headers_received(
    task: *mut nettask_task,
    callback: nettask_headers_cb,
    user_data: *mut c_void,
) -> nettask_code {
    let ud = UserData(user_data);
    let listener = callback.map(|f| {
        let call: Arc<HeadersListener> = Arc::new(move |task: &Task, head: &ResponseHead| {
            // SAFETY: the caller promised `f` is callable with `ud`.
            with_head(head, |view| unsafe { f(handle_of(task), view, ud.get()) })
        });
        (key(f as usize, user_data), call)
    });
    // SAFETY: `task` is NULL or a handle the caller holds, by contract.
    unsafe { add(task, |l| &l.headers, listener) }
}

/// Removes the (callback, user_data) headers listener; a NULL callback
/// removes every headers listener.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_off_headers_received(
    task: *mut nettask_task,
    callback: nettask_headers_cb,
    user_data: *mut c_void,
) -> nettask_code {
    // SAFETY: `task` is NULL or a handle the caller holds, by contract.
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
    // SAFETY: `task` is NULL or a handle the caller holds, by contract.
    unsafe { add(task, |l| &l.chunk, listener) }
}

/// Adds a server-sent event listener: the body is parsed as an event
/// stream (WHATWG HTML: BOM, CRLF / CR / LF, comments, `event`, `data`,
/// `id`, `retry`; an event is dispatched at a blank line unless its data
/// is empty) whenever the task has one, whatever the Content-Type; add it
/// before `nettask_start` to see every event. Chunk listeners still get
/// the raw bytes. Requests and uploads, HTTP/1.1 and h2.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_on_sse_event(
    task: *mut nettask_task,
    callback: nettask_sse_event_cb,
    user_data: *mut c_void,
) -> nettask_code {
    let ud = UserData(user_data);
    let listener = callback.map(|f| {
        let call: Arc<SseListener> = Arc::new(move |task: &Task, e: &SseEvent| {
            let event = nettask_sse_event {
                r#type: e.event_type.as_ptr(),
                data: e.data.as_ptr(),
                data_len: e.data.len(),
                last_event_id: e.last_event_id.as_ptr(),
                retry_ms: e.retry_ms,
            };
            // SAFETY: the caller promised `f` is callable with `ud`; the
            // event's pointers are valid for the call (the parser keeps a
            // NUL after the data).
            unsafe { f(handle_of(task), &event, ud.get()) }
        });
        (key(f as usize, user_data), call)
    });
    // SAFETY: `task` is NULL or a handle the caller holds, by contract.
    unsafe { add(task, |l| &l.sse, listener) }
}

/// Removes a server-sent event listener; a NULL callback removes them all.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_off_sse_event(
    task: *mut nettask_task,
    callback: nettask_sse_event_cb,
    user_data: *mut c_void,
) -> nettask_code {
    // SAFETY: `task` is NULL or a handle the caller holds, by contract.
    unsafe { remove(task, |l| &l.sse, callback.map(|f| f as usize), user_data) }
}

/// Removes a chunk listener; a NULL callback removes them all.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_off_chunk_received(
    task: *mut nettask_task,
    callback: nettask_chunk_cb,
    user_data: *mut c_void,
) -> nettask_code {
    // SAFETY: `task` is NULL or a handle the caller holds, by contract.
    unsafe { remove(task, |l| &l.chunk, callback.map(|f| f as usize), user_data) }
}

/// Adds a progress listener (downloads only). `total_bytes_written` never
/// decreases; the last event before a successful completion reports every
/// byte.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_on_progress_update(
    task: *mut nettask_task,
    callback: nettask_progress_cb,
    user_data: *mut c_void,
) -> nettask_code {
    let ud = UserData(user_data);
    let listener = callback.map(|f| {
        let call: Arc<ProgressListener> = Arc::new(move |task: &Task, progress: &Progress| {
            // SAFETY: the caller promised `f` is callable with `ud`.
            unsafe { f(handle_of(task), progress, ud.get()) }
        });
        (key(f as usize, user_data), call)
    });
    // SAFETY: `task` is NULL or a handle the caller holds, by contract.
    unsafe { add(task, |l| &l.progress, listener) }
}

/// Removes a progress listener; a NULL callback removes them all.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_off_progress_update(
    task: *mut nettask_task,
    callback: nettask_progress_cb,
    user_data: *mut c_void,
) -> nettask_code {
    // SAFETY: `task` is NULL or a handle the caller holds, by contract.
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
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_on_complete(
    task: *mut nettask_task,
    callback: nettask_complete_cb,
    user_data: *mut c_void,
) -> nettask_code {
    let ud = UserData(user_data);
    let listener = callback.map(|f| {
        let call: Arc<CompleteListener> = Arc::new(move |task: &Task, result: &TaskResult| {
            // SAFETY: the caller promised `f` is callable with `ud`.
            with_result(result, |view| unsafe { f(handle_of(task), view, ud.get()) })
        });
        (key(f as usize, user_data), call)
    });
    // SAFETY: `task` is NULL or a handle the caller holds, by contract.
    unsafe { add(task, |l| &l.complete, listener) }
}

/// Removes a complete listener; a NULL callback removes them all.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_off_complete(
    task: *mut nettask_task,
    callback: nettask_complete_cb,
    user_data: *mut c_void,
) -> nettask_code {
    // SAFETY: `task` is NULL or a handle the caller holds, by contract.
    unsafe {
        remove(
            task,
            |l| &l.complete,
            callback.map(|f| f as usize),
            user_data,
        )
    }
}
