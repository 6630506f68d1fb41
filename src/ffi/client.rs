//! Client functions and types of the C API.

use std::ffi::{c_char, c_int};
use std::mem::{offset_of, size_of};
use std::ptr;
use std::time::Duration;

use once_cell::sync::OnceCell;

use super::input::{flag, millis, path, text, texts};
use super::versioned::{self, Versioned};
use super::{guard, guard_void, null_error};
use crate::client::Client;
use crate::error::{Error, nettask_code};
use crate::options::{ClientOptions, Delivery};

/// The version of `nettask_client_options` this header describes.
pub const NETTASK_CLIENT_OPTIONS_VERSION: u32 = 2;

/// A client: one event thread and one libcurl multi handle running tasks.
/// Opaque; create with `nettask_client_new`, free with `nettask_client_free`.
pub struct nettask_client {
    _private: [u8; 0],
}

/// How a client is configured. Fill it with `nettask_client_options_init`,
/// then set the fields you need. `nettask_client_new` copies the strings.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nettask_client_options {
    /// The struct version the caller was compiled with; set by
    /// `nettask_client_options_init`.
    pub version: u32,
    /// 0 = unlimited; beyond it started tasks wait, first in first out.
    pub max_concurrent_tasks: u32,
    /// 0 = libcurl's default (unlimited).
    pub max_connections_per_host: u32,
    /// Whole-task timeout for tasks that set none; 0 = 60000.
    pub default_timeout_ms: u32,
    /// NULL = "nettask/<version>".
    pub user_agent: *const c_char,
    /// PEM bundle of trusted CAs; NULL = the system default.
    pub ca_file: *const c_char,
    /// Proxy URL, e.g. "http://127.0.0.1:3128"; NULL = none, or the
    /// `http_proxy` / `https_proxy` / `all_proxy` environment variables
    /// (with `no_proxy`), as libcurl reads them. When none of them is set
    /// as the client is made, the client does without a proxy for good.
    pub proxy: *const c_char,
    /// Directory for downloads without `file_path`; NULL = the OS temp dir.
    pub temp_dir: *const c_char,
    // Version 2.
    /// Keep a cookie jar (RFC 6265, libcurl's cookie engine) shared by
    /// every task of the client, redirect hops included: Set-Cookie is
    /// stored, matching cookies are sent. A request with its own Cookie
    /// header sends that instead, and its response's cookies are not
    /// stored. false (init) = no jar: Cookie headers go as given.
    pub enable_cookies: bool,
    /// Needs `enable_cookies`. The jar is loaded from this Netscape-format
    /// file at `nettask_client_new` (a missing file is an empty jar) and
    /// saved to it, atomically, at `nettask_client_free` and
    /// `nettask_client_save_cookies`. Session cookies are saved too.
    /// NULL = the jar lives in memory only.
    pub cookie_file: *const c_char,
    /// The hosts tasks may reach, `allowed_host_count` entries; NULL and 0
    /// (init) = any host. An entry is a host name ("example.com": that
    /// host only), "*." and a domain ("*.example.com": its subdomains, not
    /// itself) or an IP address ("127.0.0.1", "[::1]"; an IP is reached
    /// only when listed), each with an optional ":port" (matching the
    /// URL's port, 80 / 443 when it names none). Matching is on the URL's
    /// WHATWG host: case-insensitive, IDNA-normalised, a trailing dot
    /// ignored. A URL outside the list is NETTASK_E_BLOCKED at create; a
    /// redirect to one completes the task with NETTASK_E_BLOCKED and
    /// "request:fail url not in domain list", nothing sent to that host.
    pub allowed_hosts: *const *const c_char,
    pub allowed_host_count: usize,
    /// Refuse http:// URLs (NETTASK_E_BLOCKED at create) and redirects to
    /// them (as `allowed_hosts` refuses a hop).
    pub https_only: bool,
    /// Address overrides, `resolve_count` entries "host:port:addr[,addr...]"
    /// as curl's --resolve takes them (IPv6 addresses may be bracketed):
    /// connections to host:port go to those addresses, while TLS still
    /// verifies the URL's host name. NULL and 0 (init) = none.
    pub resolve: *const *const c_char,
    pub resolve_count: usize,
    /// Resolve host names through DNS-over-HTTPS (RFC 8484) at this
    /// https:// URL, verified with `ca_file`; overrides still come first.
    /// NULL (init) = the system resolver.
    pub doh_url: *const c_char,
    /// Where listeners run: NETTASK_DELIVERY_EVENT_THREAD (init) on the
    /// client's event thread as events happen, or NETTASK_DELIVERY_QUEUED
    /// inside `nettask_client_dispatch`, on the thread that calls it (a JS
    /// engine's). Another value is NETTASK_E_INVALID_ARGUMENT.
    pub delivery: u32,
    /// Queued delivery: how many body bytes (chunks and server-sent
    /// events) of one task may wait undispatched before its transfer
    /// pauses; it resumes when the host has dispatched half of them. One
    /// libcurl write may overshoot it. A paused transfer's idle_timeout_ms
    /// does not run: it counts again from the resume. 0 (init) = 8 MiB.
    pub max_queued_bytes: u64,
}

/// `delivery`: listeners run on the client's event thread.
pub const NETTASK_DELIVERY_EVENT_THREAD: u32 = 0;
/// `delivery`: listeners run inside `nettask_client_dispatch`.
pub const NETTASK_DELIVERY_QUEUED: u32 = 1;

const _: () = assert!(std::mem::offset_of!(nettask_client_options, version) == 0);

impl Versioned for nettask_client_options {
    const NAME: &'static str = "nettask_client_options";
    const SIZES: &'static [usize] = &CLIENT_OPTIONS_SIZES;
    fn defaults() -> Self {
        // Every field's default is its zero: 0 and NULL mean "the
        // library's default" (`ClientOptions::default`).
        nettask_client_options {
            version: NETTASK_CLIENT_OPTIONS_VERSION,
            max_concurrent_tasks: 0,
            max_connections_per_host: 0,
            default_timeout_ms: 0,
            user_agent: ptr::null(),
            ca_file: ptr::null(),
            proxy: ptr::null(),
            temp_dir: ptr::null(),
            enable_cookies: false,
            cookie_file: ptr::null(),
            allowed_hosts: ptr::null(),
            allowed_host_count: 0,
            https_only: false,
            resolve: ptr::null(),
            resolve_count: 0,
            doh_url: ptr::null(),
            delivery: NETTASK_DELIVERY_EVENT_THREAD,
            max_queued_bytes: 0,
        }
    }
}

/// Where each version ends (see `Versioned::SIZES`); one entry per version.
const CLIENT_OPTIONS_SIZES: [usize; NETTASK_CLIENT_OPTIONS_VERSION as usize] = [
    offset_of!(nettask_client_options, enable_cookies),
    size_of::<nettask_client_options>(),
];

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

/// Fills `*opts` with the defaults of struct version `version`, writing
/// exactly the bytes that version has: pass the
/// NETTASK_CLIENT_OPTIONS_VERSION your code was compiled with (the
/// one-argument `nettask_client_options_init` below does). Versions 1 up to
/// this library's are accepted; for another one only `opts->version` is
/// written and NETTASK_E_INVALID_ARGUMENT is returned, naming both
/// versions. `opts` must point to a struct of that version; NULL is
/// NETTASK_E_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_client_options_init_version(
    opts: *mut nettask_client_options,
    version: u32,
) -> nettask_code {
    // SAFETY: the caller's struct is of `version`'s size, per the contract.
    guard(|| unsafe { versioned::init(opts, version) })
}

/// The version-1 symbol, for programs built against the first header,
/// which called it with a version-1 struct; it keeps that meaning. The
/// header now routes `nettask_client_options_init` to
/// `nettask_client_options_init_version` instead.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_client_options_init(opts: *mut nettask_client_options) {
    // SAFETY: programs that call this symbol pass a version-1 struct.
    guard_void(|| unsafe { versioned::init(opts, 1) })
}

/// Creates a client and starts its event thread. `opts` may be NULL for
/// the defaults; its strings are copied. On success `*out` is the client,
/// to be freed with `nettask_client_free`; on failure `*out` is NULL.
///
/// Fails with NETTASK_E_INVALID_ARGUMENT for a NULL `out`, an unknown
/// `opts->version`, a `user_agent` with CR, LF or NUL, a `ca_file` that
/// cannot be read, a `cookie_file` without `enable_cookies`, or a
/// `cookie_file` that exists but cannot be read, a malformed
/// `allowed_hosts` or `resolve` entry or a `doh_url` that is not https
/// (each named in `nettask_last_error`), or a count above 0 with a NULL
/// array; with NETTASK_E_INTERNAL if the thread cannot start.
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
        let options = if opts.is_null() {
            ClientOptions::default()
        } else {
            // SAFETY: a readable struct of its version, by contract.
            unsafe { client_options(opts) }?
        };
        let handle = Box::new(ClientHandle {
            client: Client::new(options)?,
        });
        // SAFETY: `out` is non-NULL and writable by contract.
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
/// (in queued delivery: on the calling thread, before this returns, with
/// every completion already decided; other queued events are dropped) and
/// the event thread has exited, saves the cookie jar to its
/// `cookie_file`, then frees the client. Task handles stay valid until
/// released; calls on them return NETTASK_E_SHUTDOWN. Do not use `client`
/// after this returns NETTASK_OK or NETTASK_E_FILE.
///
/// Returns NETTASK_E_FILE when the jar cannot be saved: the client is
/// freed all the same and the previous file is left as it was (call
/// `nettask_client_save_cookies` first to handle that while the jar is
/// still there). Returns NETTASK_E_INVALID_STATE, freeing nothing, when
/// called from a listener of this client (on its event thread, or inside
/// its `nettask_client_dispatch`). Freeing the default client does
/// nothing. NULL is NETTASK_E_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_client_free(client: *mut nettask_client) -> nettask_code {
    guard(|| {
        let handle = client.cast::<ClientHandle>();
        if DEFAULT_CLIENT.get().is_some_and(|d| ptr::eq(d, handle)) {
            return Ok(());
        }
        // SAFETY: NULL or a live handle, by contract.
        let shut_down = unsafe { client_ref(client) }?.shutdown();
        if matches!(&shut_down, Err(e) if e.code == nettask_code::NETTASK_E_INVALID_STATE) {
            return shut_down;
        }
        // SAFETY: a live handle from `Box::into_raw` in nettask_client_new,
        // whose event thread has exited; the caller gives it up.
        drop(unsafe { Box::from_raw(handle) });
        shut_down
    })
}

/// Sets the addresses connections to `host`:`port` use, as an HTTPDNS
/// answer would: `addresses` is "a[,b...]" (IPv4 or IPv6), NULL or ""
/// removes the override (back to `doh_url` or the system resolver). It
/// applies to the new connections of tasks started after it returns; an
/// open keep-alive connection to the old address may still be reused. TLS
/// is still verified against the URL's host name. Callable from any
/// thread, listeners included.
///
/// Fails with NETTASK_E_INVALID_ARGUMENT for a NULL client or host, a
/// host that is no host name (an IP address needs no override), port 0,
/// or an address that is no IP address.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_client_add_resolve(
    client: *mut nettask_client,
    host: *const c_char,
    port: u16,
    addresses: *const c_char,
) -> nettask_code {
    guard(|| {
        // SAFETY: NULL or a live handle, by contract.
        let client = unsafe { client_ref(client) }?;
        // SAFETY: NULL or NUL-terminated, by contract.
        let host = unsafe { text(host, "host") }?.ok_or_else(|| null_error("host"))?;
        // SAFETY: NULL or NUL-terminated, by contract.
        let addresses = unsafe { text(addresses, "addresses") }?;
        client.add_resolve(&host, port, addresses.as_deref())
    })
}

/// Queued delivery: a descriptor (an eventfd; a pipe where there is none)
/// that is readable while events wait for `nettask_client_dispatch`, to
/// watch in the host's own loop (poll, epoll, kqueue, a libuv poll handle,
/// an Android Looper). Events that arrive while a dispatch call waits go
/// straight to it and do not raise the descriptor. It belongs to the
/// client: do not read or close it.
/// -1 for a client in event-thread mode, or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_client_event_fd(client: *mut nettask_client) -> c_int {
    let mut fd = -1;
    guard_void(|| {
        // SAFETY: NULL or a live handle, by contract.
        fd = unsafe { client_ref(client) }?.event_fd().unwrap_or(-1);
        Ok(())
    });
    fd
}

/// Queued delivery: runs the listeners of waiting events on the calling
/// thread, in order, waiting up to `timeout_ms` for the first event, and
/// returns once the events that waited then have run (events queued
/// meanwhile wait for the next call, and keep the event fd readable, so a
/// stream faster than its listeners cannot keep the host here). Listeners are looked up as each event is
/// dispatched, so on/off take effect for every event not yet dispatched;
/// every listener rule holds (per-task order, headers before chunks,
/// complete exactly once and last, nothing but the completion once
/// `nettask_abort` has returned). `*dispatched` (may be NULL) is set to
/// the number of listener calls made. Calls from two threads run one after
/// the other.
///
/// Returns NETTASK_E_INVALID_STATE for a client in event-thread mode or a
/// call from a listener this dispatch is running; NULL `client` is
/// NETTASK_E_INVALID_ARGUMENT. It may block up to `timeout_ms`: that is
/// its purpose.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nettask_client_dispatch(
    client: *mut nettask_client,
    timeout_ms: u32,
    dispatched: *mut usize,
) -> nettask_code {
    guard(|| {
        if !dispatched.is_null() {
            // SAFETY: non-NULL and writable by contract.
            unsafe { dispatched.write(0) };
        }
        // SAFETY: NULL or a live handle, by contract.
        let client = unsafe { client_ref(client) }?;
        let calls = client.dispatch(Duration::from_millis(timeout_ms.into()))?;
        if !dispatched.is_null() {
            // SAFETY: non-NULL and writable by contract.
            unsafe { dispatched.write(calls) };
        }
        Ok(())
    })
}

/// # Safety
/// `opts` points to a readable `nettask_client_options` of its version
/// whose string fields are NULL or NUL-terminated.
pub(crate) unsafe fn client_options(
    opts: *const nettask_client_options,
) -> Result<ClientOptions, Error> {
    // SAFETY: readable and of its version, by contract.
    let filled = unsafe { versioned::read(opts) }?;
    let o = filled.as_ptr();
    let mut options = ClientOptions::default();
    // SAFETY: `o` points to a filled struct (the caller's fields, defaults
    // after them), whose bools are read by their byte, and whose strings
    // and arrays are NULL or valid, by contract.
    unsafe {
        options.max_concurrent_tasks = (*o).max_concurrent_tasks;
        options.max_connections_per_host = (*o).max_connections_per_host;
        if let Some(t) = millis((*o).default_timeout_ms) {
            options.default_timeout = t;
        }
        if let Some(ua) = text((*o).user_agent, "user_agent")? {
            options.user_agent = ua;
        }
        options.ca_file = path((*o).ca_file);
        options.proxy = text((*o).proxy, "proxy")?;
        options.temp_dir = path((*o).temp_dir);
        options.enable_cookies = flag(&raw const (*o).enable_cookies);
        options.cookie_file = path((*o).cookie_file);
        options.allowed_hosts = texts(
            (*o).allowed_hosts,
            (*o).allowed_host_count,
            "allowed_hosts",
            "allowed_host_count",
        )?;
        options.https_only = flag(&raw const (*o).https_only);
        options.resolve = texts((*o).resolve, (*o).resolve_count, "resolve", "resolve_count")?;
        options.doh_url = text((*o).doh_url, "doh_url")?;
        options.delivery = match (*o).delivery {
            NETTASK_DELIVERY_EVENT_THREAD => Delivery::EventThread,
            NETTASK_DELIVERY_QUEUED => Delivery::Queued,
            other => {
                return Err(Error::invalid_argument(format!(
                    "delivery is {other}; it is NETTASK_DELIVERY_EVENT_THREAD or \
                     NETTASK_DELIVERY_QUEUED (0, 1)"
                )));
            }
        };
        options.max_queued_bytes = (*o).max_queued_bytes;
    }
    Ok(options)
}
