/*
 * nettask: the native network-task runtime of a mini-program / app engine
 * (wx.request, wx.downloadFile, Taro.request) over one libcurl multi handle
 * and one event thread per client.
 *
 * Generated from include/nettask.h.in and the Rust sources; do not edit.
 *
 * The objects, in the order of this header:
 *   codes     every call returns a nettask_code; nettask_last_error() says why
 *   client    nettask_client: one event thread running tasks
 *   cookies   the client's cookie jar: read, add, clear, save
 *   task      nettask_task: one request or download, created from options
 *   result    nettask_result: how a task ended, with its nettask_profile
 *   listeners callbacks for a task's events: headers, chunks, progress, complete
 *
 * Threading: every listener of a client runs on that client's event thread,
 * one at a time (or, with delivery = NETTASK_DELIVERY_QUEUED, inside
 * nettask_client_dispatch on the thread that calls it, e.g. a JS engine's).
 * A listener must not block; it may call any nettask_* function except
 * nettask_client_free of its own client. Every other call is allowed from
 * any thread and never blocks on network I/O (dispatch waits for events
 * up to its timeout: that is its purpose).
 *
 * Memory: the library copies what you pass in before the call returns.
 * What it hands to a listener is borrowed for the duration of that call.
 *
 * Structs that grow: option structs gain fields at their end from release
 * to release. Fill one with its _init function before you set fields:
 * nettask_request_options_init(&o) records in o.version the struct version
 * this header describes (NETTASK_REQUEST_OPTIONS_VERSION), and the library
 * reads exactly the fields of that version, keeps the defaults of later
 * ones, and never writes past your struct. A program built against an
 * older header therefore runs unchanged with a newer library, and its
 * source compiles unchanged against a newer header. The structs the
 * library hands out (nettask_result, nettask_profile, nettask_progress,
 * nettask_response_head) may grow at their end too: read them only through
 * the pointer you are given, never copy them by value into your own.
 */

#ifndef NETTASK_H
#define NETTASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Result codes and errors
 *
 * A call that fails returns a code other than NETTASK_OK and leaves a
 * sentence for nettask_last_error() on the calling thread. A task's
 * completion carries its code in nettask_result.code; an HTTP response of
 * any status (404, 500, ...) is a success, as in wx.request.
 * ------------------------------------------------------------------------ */

/**
 * What a call or a task ended with. Numbers never change: new codes are
 * appended.
 */
typedef enum nettask_code {
  NETTASK_OK = 0,
  /**
   * The caller passed something wrong: NULL where not allowed, a bad
   * URL, method or header, an unsupported scheme, an unknown struct
   * version.
   */
  NETTASK_E_INVALID_ARGUMENT,
  /**
   * The call does not fit the object's state: a task started twice,
   * `nettask_client_free` from a listener of the same client.
   */
  NETTASK_E_INVALID_STATE,
  /**
   * `nettask_abort` was called.
   */
  NETTASK_E_ABORTED,
  /**
   * The whole-task or idle timeout expired.
   */
  NETTASK_E_TIMEOUT,
  /**
   * The host name could not be resolved.
   */
  NETTASK_E_DNS,
  /**
   * No connection could be made.
   */
  NETTASK_E_CONNECT,
  /**
   * The TLS handshake or certificate verification failed.
   */
  NETTASK_E_TLS,
  /**
   * The request could not be sent.
   */
  NETTASK_E_SEND,
  /**
   * The connection was reset or closed mid-response, or the response
   * was not valid HTTP: a malformed status line, an invalid
   * Content-Length or chunk, a head past libcurl's limits (300 KiB or
   * 5,000 header lines), a redirect to a URL nettask cannot request.
   * `err_msg` says what the server sent.
   */
  NETTASK_E_RECV,
  /**
   * More redirects than `max_redirects`.
   */
  NETTASK_E_TOO_MANY_REDIRECTS,
  /**
   * The body exceeded `max_response_bytes`.
   */
  NETTASK_E_TOO_LARGE,
  /**
   * A download destination cannot be written.
   */
  NETTASK_E_FILE,
  /**
   * The client was freed while the task ran, or before the call.
   */
  NETTASK_E_SHUTDOWN,
  /**
   * A bug in nettask (or libcurl out of memory).
   */
  NETTASK_E_INTERNAL,
  /**
   * The client's network policy (`allowed_hosts`, `https_only`) refused
   * the URL, or a redirect hop's URL: nothing was sent to that host.
   */
  NETTASK_E_BLOCKED,
} nettask_code;

/**
 * The constant's name for a code, e.g. "NETTASK_E_TIMEOUT";
 * "NETTASK_E_UNKNOWN" for a number that is no code. Never NULL, static.
 */
const char *nettask_code_name(nettask_code code);

/**
 * A sentence on the last non-OK code a nettask function returned on this
 * thread, or NULL if there was none. Valid until the next failing call on
 * this thread.
 */
const char *nettask_last_error(void);

/**
 * The library's version and what it is built with, e.g.
 * "nettask 0.1.0 (libcurl 8.x.y, OpenSSL/3.x, nghttp2/1.x)". Static.
 */
const char *nettask_version(void);

/* ------------------------------------------------------------------------
 * Client
 *
 * A client owns one event thread and one libcurl multi handle; its tasks
 * share connections, the concurrency limit and the defaults set here.
 * ------------------------------------------------------------------------ */

/**
 * The version of `nettask_client_options` this header describes.
 */
#define NETTASK_CLIENT_OPTIONS_VERSION 2

/**
 * `delivery`: listeners run on the client's event thread.
 */
#define NETTASK_DELIVERY_EVENT_THREAD 0

/**
 * `delivery`: listeners run inside `nettask_client_dispatch`.
 */
#define NETTASK_DELIVERY_QUEUED 1

/**
 * A client: one event thread and one libcurl multi handle running tasks.
 * Opaque; create with `nettask_client_new`, free with `nettask_client_free`.
 */
typedef struct nettask_client nettask_client;

/**
 * How a client is configured. Fill it with `nettask_client_options_init`,
 * then set the fields you need. `nettask_client_new` copies the strings.
 */
typedef struct nettask_client_options {
  /**
   * The struct version the caller was compiled with; set by
   * `nettask_client_options_init`.
   */
  uint32_t version;
  /**
   * 0 = unlimited; beyond it started tasks wait, first in first out.
   */
  uint32_t max_concurrent_tasks;
  /**
   * 0 = libcurl's default (unlimited).
   */
  uint32_t max_connections_per_host;
  /**
   * Whole-task timeout for tasks that set none; 0 = 60000.
   */
  uint32_t default_timeout_ms;
  /**
   * NULL = "nettask/<version>".
   */
  const char *user_agent;
  /**
   * PEM bundle of trusted CAs; NULL = the system default.
   */
  const char *ca_file;
  /**
   * Proxy URL, e.g. "http://127.0.0.1:3128"; NULL = none, or the
   * `http_proxy` / `https_proxy` / `all_proxy` environment variables
   * (with `no_proxy`), as libcurl reads them. When none of them is set
   * as the client is made, the client does without a proxy for good.
   */
  const char *proxy;
  /**
   * Directory for downloads without `file_path`; NULL = the OS temp dir.
   */
  const char *temp_dir;
  /**
   * Keep a cookie jar (RFC 6265, libcurl's cookie engine) shared by
   * every task of the client, redirect hops included: Set-Cookie is
   * stored, matching cookies are sent. A request with its own Cookie
   * header sends that instead, and its response's cookies are not
   * stored. false (init) = no jar: Cookie headers go as given.
   */
  bool enable_cookies;
  /**
   * Needs `enable_cookies`. The jar is loaded from this Netscape-format
   * file at `nettask_client_new` (a missing file is an empty jar) and
   * saved to it, atomically, at `nettask_client_free` and
   * `nettask_client_save_cookies`. Session cookies are saved too.
   * NULL = the jar lives in memory only.
   */
  const char *cookie_file;
  /**
   * The hosts tasks may reach, `allowed_host_count` entries; NULL and 0
   * (init) = any host. An entry is a host name ("example.com": that
   * host only), "*." and a domain ("*.example.com": its subdomains, not
   * itself) or an IP address ("127.0.0.1", "[::1]"; an IP is reached
   * only when listed), each with an optional ":port" (matching the
   * URL's port, 80 / 443 when it names none). Matching is on the URL's
   * WHATWG host: case-insensitive, IDNA-normalised, a trailing dot
   * ignored. A URL outside the list is NETTASK_E_BLOCKED at create; a
   * redirect to one completes the task with NETTASK_E_BLOCKED and
   * "request:fail url not in domain list", nothing sent to that host.
   */
  const char *const *allowed_hosts;
  size_t allowed_host_count;
  /**
   * Refuse http:// URLs (NETTASK_E_BLOCKED at create) and redirects to
   * them (as `allowed_hosts` refuses a hop).
   */
  bool https_only;
  /**
   * Address overrides, `resolve_count` entries "host:port:addr[,addr...]"
   * as curl's --resolve takes them (IPv6 addresses may be bracketed):
   * connections to host:port go to those addresses, while TLS still
   * verifies the URL's host name. NULL and 0 (init) = none.
   */
  const char *const *resolve;
  size_t resolve_count;
  /**
   * Resolve host names through DNS-over-HTTPS (RFC 8484) at this
   * https:// URL, verified with `ca_file`; overrides still come first.
   * NULL (init) = the system resolver.
   */
  const char *doh_url;
  /**
   * Where listeners run: NETTASK_DELIVERY_EVENT_THREAD (init) on the
   * client's event thread as events happen, or NETTASK_DELIVERY_QUEUED
   * inside `nettask_client_dispatch`, on the thread that calls it (a JS
   * engine's). Another value is NETTASK_E_INVALID_ARGUMENT.
   */
  uint32_t delivery;
  /**
   * Queued delivery: how many body bytes (chunks and server-sent
   * events) of one task may wait undispatched before its transfer
   * pauses; it resumes when the host has dispatched half of them. One
   * libcurl write may overshoot it. A paused transfer's idle_timeout_ms
   * does not run: it counts again from the resume. 0 (init) = 8 MiB.
   */
  uint64_t max_queued_bytes;
} nettask_client_options;

/**
 * Fills `*opts` with the defaults of struct version `version`, writing
 * exactly the bytes that version has: pass the
 * NETTASK_CLIENT_OPTIONS_VERSION your code was compiled with (the
 * one-argument `nettask_client_options_init` below does). Versions 1 up to
 * this library's are accepted; for another one only `opts->version` is
 * written and NETTASK_E_INVALID_ARGUMENT is returned, naming both
 * versions. `opts` must point to a struct of that version; NULL is
 * NETTASK_E_INVALID_ARGUMENT.
 */
nettask_code nettask_client_options_init_version(struct nettask_client_options *opts,
                                                 uint32_t version);

/**
 * Creates a client and starts its event thread. `opts` may be NULL for
 * the defaults; its strings are copied. On success `*out` is the client,
 * to be freed with `nettask_client_free`; on failure `*out` is NULL.
 *
 * Fails with NETTASK_E_INVALID_ARGUMENT for a NULL `out`, an unknown
 * `opts->version`, a `user_agent` with CR, LF or NUL, a `ca_file` that
 * cannot be read, a `cookie_file` without `enable_cookies`, or a
 * `cookie_file` that exists but cannot be read, a malformed
 * `allowed_hosts` or `resolve` entry or a `doh_url` that is not https
 * (each named in `nettask_last_error`), or a count above 0 with a NULL
 * array; with NETTASK_E_INTERNAL if the thread cannot start.
 */
nettask_code nettask_client_new(const struct nettask_client_options *opts,
                                struct nettask_client **out);

/**
 * The process-wide client with default options, created on first use and
 * never freed. NULL only if it cannot be created (see
 * `nettask_last_error`).
 */
struct nettask_client *nettask_client_default(void);

/**
 * Aborts every unfinished task of the client (each completes with
 * NETTASK_E_SHUTDOWN), waits until those completions have been delivered
 * (in queued delivery: on the calling thread, before this returns, with
 * every completion already decided; other queued events are dropped) and
 * the event thread has exited, saves the cookie jar to its
 * `cookie_file`, then frees the client. Task handles stay valid until
 * released; calls on them return NETTASK_E_SHUTDOWN. Do not use `client`
 * after this returns NETTASK_OK or NETTASK_E_FILE.
 *
 * Returns NETTASK_E_FILE when the jar cannot be saved: the client is
 * freed all the same and the previous file is left as it was (call
 * `nettask_client_save_cookies` first to handle that while the jar is
 * still there). Returns NETTASK_E_INVALID_STATE, freeing nothing, when
 * called from a listener of this client (on its event thread, or inside
 * its `nettask_client_dispatch`). Freeing the default client does
 * nothing. NULL is NETTASK_E_INVALID_ARGUMENT.
 */
nettask_code nettask_client_free(struct nettask_client *client);

/**
 * Sets the addresses connections to `host`:`port` use, as an HTTPDNS
 * answer would: `addresses` is "a[,b...]" (IPv4 or IPv6), NULL or ""
 * removes the override (back to `doh_url` or the system resolver). It
 * applies to the new connections of tasks started after it returns; an
 * open keep-alive connection to the old address may still be reused. TLS
 * is still verified against the URL's host name. Callable from any
 * thread, listeners included.
 *
 * Fails with NETTASK_E_INVALID_ARGUMENT for a NULL client or host, a
 * host that is no host name (an IP address needs no override), port 0,
 * or an address that is no IP address.
 */
nettask_code nettask_client_add_resolve(struct nettask_client *client,
                                        const char *host,
                                        uint16_t port,
                                        const char *addresses);

/**
 * Queued delivery: a descriptor (an eventfd; a pipe where there is none)
 * that is readable while events wait for `nettask_client_dispatch`, to
 * watch in the host's own loop (poll, epoll, kqueue, a libuv poll handle,
 * an Android Looper). Events that arrive while a dispatch call waits go
 * straight to it and do not raise the descriptor. It belongs to the
 * client: do not read or close it.
 * -1 for a client in event-thread mode, or NULL.
 */
int nettask_client_event_fd(struct nettask_client *client);

/**
 * Queued delivery: runs the listeners of waiting events on the calling
 * thread, in order, waiting up to `timeout_ms` for the first event, and
 * returns once the events that waited then have run (events queued
 * meanwhile wait for the next call, and keep the event fd readable, so a
 * stream faster than its listeners cannot keep the host here). Listeners are looked up as each event is
 * dispatched, so on/off take effect for every event not yet dispatched;
 * every listener rule holds (per-task order, headers before chunks,
 * complete exactly once and last, nothing but the completion once
 * `nettask_abort` has returned). `*dispatched` (may be NULL) is set to
 * the number of listener calls made. Calls from two threads run one after
 * the other.
 *
 * Returns NETTASK_E_INVALID_STATE for a client in event-thread mode or a
 * call from a listener this dispatch is running; NULL `client` is
 * NETTASK_E_INVALID_ARGUMENT. It may block up to `timeout_ms`: that is
 * its purpose.
 */
nettask_code nettask_client_dispatch(struct nettask_client *client,
                                     uint32_t timeout_ms,
                                     size_t *dispatched);

/**
 * Fills `*opts` with the defaults and the struct version of this header.
 * Call it before setting fields.
 */
static inline void nettask_client_options_init(nettask_client_options *opts) {
  (void)nettask_client_options_init_version(opts, NETTASK_CLIENT_OPTIONS_VERSION);
}

/* ------------------------------------------------------------------------
 * Cookies
 *
 * A client created with enable_cookies keeps one jar (libcurl's RFC 6265
 * cookie engine) for all its tasks. These calls reach it from any thread,
 * listeners included, and never wait for the network.
 * ------------------------------------------------------------------------ */

/**
 * Adds one cookie to the client's jar, as if a response had set it.
 * `line` is a Netscape cookie-file line (7 tab-separated fields: domain,
 * include-subdomains TRUE/FALSE, path, secure TRUE/FALSE, expiry in Unix
 * seconds or 0 for a session cookie, name, value; a domain prefixed
 * "#HttpOnly_" marks it HttpOnly), or a "Set-Cookie: name=value; ..."
 * line that has a Domain attribute. A cookie of the same name, domain and
 * path is replaced; an expiry in the past deletes it.
 *
 * Fails with NETTASK_E_INVALID_ARGUMENT for NULL arguments, a line of
 * neither form, or one libcurl's cookie engine refuses; with
 * NETTASK_E_INVALID_STATE when the client has no jar (`enable_cookies`).
 * Callable from any thread, listeners included; it never waits for the
 * network.
 */
nettask_code nettask_client_set_cookie(nettask_client *client, const char *line);

/**
 * Sets `*out` to the client's jar as Netscape cookie-file lines, each
 * ending in "\n" ("" for an empty jar), to be freed with
 * `nettask_string_free`. On failure `*out` is NULL.
 *
 * Fails with NETTASK_E_INVALID_ARGUMENT for NULL arguments, and with
 * NETTASK_E_INVALID_STATE when the client has no jar. Callable from any
 * thread, listeners included; it never waits for the network.
 */
nettask_code nettask_client_cookies(nettask_client *client, char **out);

/**
 * Removes every cookie from the client's jar (its file changes at the
 * next save). Fails with NETTASK_E_INVALID_ARGUMENT for NULL, and with
 * NETTASK_E_INVALID_STATE when the client has no jar. Callable from any
 * thread, listeners included.
 */
nettask_code nettask_client_clear_cookies(nettask_client *client);

/**
 * Writes the client's jar to its `cookie_file` now: to a temporary file
 * in the same directory, synced, then renamed over the old one, so a
 * crash at any moment leaves the previous jar or the new one, whole.
 *
 * Fails with NETTASK_E_FILE (a sentence naming the path and the OS error)
 * when the file cannot be written: the jar is kept in memory and the old
 * file is left as it was. Fails with NETTASK_E_INVALID_STATE when the
 * client has no jar or no `cookie_file`, and with
 * NETTASK_E_INVALID_ARGUMENT for NULL. Callable from any thread; it does
 * file I/O but never waits for the network.
 */
nettask_code nettask_client_save_cookies(nettask_client *client);

/**
 * Frees a string the library handed out (`nettask_client_cookies`).
 * NULL does nothing.
 */
void nettask_string_free(char *s);

/* ------------------------------------------------------------------------
 * Tasks
 *
 * A task is created from options (nothing is sent yet), gets its
 * listeners, is started, may be aborted from any thread, and completes
 * exactly once. The caller holds one reference from *_create until
 * nettask_release; a listener's `task` argument is valid during the call.
 * ------------------------------------------------------------------------ */

/**
 * The version of `nettask_request_options` this header describes.
 */
#define NETTASK_REQUEST_OPTIONS_VERSION 2

/**
 * `timeout_ms`: no whole-task limit (`idle_timeout_ms` still applies),
 * for streams that run for minutes.
 */
#define NETTASK_TIMEOUT_NONE UINT32_MAX

/**
 * `chunk_framing`: chunk events as the bytes arrive.
 */
#define NETTASK_FRAMING_RAW 0

/**
 * `chunk_framing`: no chunk event ends inside a UTF-8 character (bytes
 * that can never become valid UTF-8 pass as they come).
 */
#define NETTASK_FRAMING_UTF8 1

/**
 * `chunk_framing`: every chunk event holds whole lines ending in `\n` (a
 * line longer than 1 MiB is delivered in pieces).
 */
#define NETTASK_FRAMING_LINES 2

/**
 * A request or download task. Opaque and reference counted: the caller
 * owns one reference from `nettask_request_create` /
 * `nettask_download_create` and drops it with `nettask_release`.
 */
typedef struct nettask_task nettask_task;

/**
 * One HTTP header: NUL-terminated name and value.
 */
typedef struct nettask_header {
  const char *name;
  const char *value;
} nettask_header;

/**
 * How one task runs. Fill it with `nettask_request_options_init`, then
 * set the fields you need. `*_create` copies everything it points to.
 */
typedef struct nettask_request_options {
  /**
   * The struct version the caller was compiled with; set by
   * `nettask_request_options_init`.
   */
  uint32_t version;
  /**
   * http:// or https:// only.
   */
  const char *url;
  /**
   * NULL = "GET"; one of OPTIONS GET HEAD POST PUT DELETE TRACE CONNECT PATCH.
   */
  const char *method;
  /**
   * `header_count` request headers; NULL when `header_count` is 0.
   */
  const struct nettask_header *headers;
  size_t header_count;
  /**
   * Request body, copied at create; NULL when `body_len` is 0.
   */
  const uint8_t *body;
  size_t body_len;
  /**
   * Whole task, from `nettask_start`; 0 = the client's default;
   * NETTASK_TIMEOUT_NONE = no limit.
   */
  uint32_t timeout_ms;
  /**
   * init: true ("redirect: follow"), as fetch does: only a 301, 302, 303,
   * 307 or 308 with a non-blank Location is followed; 301/302 turn a POST
   * into a GET without body, 303 every method but HEAD; every other hop
   * re-sends the method and body. Authorization, Cookie and Host headers
   * are not sent to another origin. Any other response is the final one,
   * body included. false = "manual": a 3xx is the final response.
   */
  bool follow_redirects;
  /**
   * init: 15. One more fails the task with NETTASK_E_TOO_MANY_REDIRECTS.
   */
  uint32_t max_redirects;
  /**
   * Fail with NETTASK_E_TIMEOUT when no byte arrives for this long; 0 = off.
   * Every byte counts, response head included (on HTTP/2, any byte of
   * the stream's frames as libcurl hands them over).
   */
  uint32_t idle_timeout_ms;
  /**
   * init: true (HTTP/2 offered through ALPN on https).
   */
  bool enable_http2;
  /**
   * true: do not keep the body for the result; read it from chunk listeners.
   */
  bool enable_chunked;
  /**
   * Fail with NETTASK_E_TOO_LARGE past this many body bytes (decoded,
   * see `accept_encoding`); 0 = unlimited.
   */
  uint64_t max_response_bytes;
  /**
   * Downloads: the destination; NULL = a new file in the client's temp_dir.
   */
  const char *file_path;
  /**
   * init: false. true: speak HTTP/2 from the first byte on http:// (h2c
   * with prior knowledge), for servers known to support it.
   */
  bool http2_prior_knowledge;
  /**
   * The content codings offered and decoded. NULL (init): offer and
   * decode gzip, deflate, br and zstd; "" = offer none, hand over the
   * raw bytes; otherwise the Accept-Encoding value to send, decoding the
   * codings of it nettask supports. A response in a coding that was not
   * offered, or unknown, is handed over raw. Listeners, downloads,
   * `data`, `data_length` and `max_response_bytes` all see decoded
   * bytes. A caller's own Accept-Encoding header counts as this option.
   */
  const char *accept_encoding;
  /**
   * Uploads: the file sent as the form's file part (its base name is the
   * part's filename, its type application/octet-stream), streamed from
   * disk as it is sent. Opened at create: NETTASK_E_FILE if it cannot be.
   */
  const char *upload_file_path;
  /**
   * Uploads: the file part's name (wx's `name`); no CR, LF or `"`.
   */
  const char *upload_name;
  /**
   * Uploads: the text parts sent before the file part (wx's `formData`),
   * in order; names without CR, LF or `"`.
   */
  const struct nettask_header *form_fields;
  size_t form_field_count;
  /**
   * Requests: stream the body from this file instead of `body` (not
   * both); opened at create: NETTASK_E_FILE if it cannot be.
   */
  const char *body_file_path;
  /**
   * Where chunk events are cut: NETTASK_FRAMING_RAW (init), _UTF8 or
   * _LINES. Framing moves only the cuts: the chunks still concatenate to
   * exactly the body, and what is held back is delivered before the
   * completion. Another value is NETTASK_E_INVALID_ARGUMENT.
   */
  uint32_t chunk_framing;
  /**
   * "sha256//<base64>[;sha256//...]": the SHA-256 of the DER public key
   * (SubjectPublicKeyInfo) that every TLS peer of the task, redirect
   * hops included, must present one of, as libcurl's
   * CURLOPT_PINNEDPUBLICKEY takes them. A mismatch fails the task with
   * NETTASK_E_TLS, `err_msg` saying the public key did not match; a
   * malformed value is NETTASK_E_INVALID_ARGUMENT at create, and so is
   * any value in a build whose TLS library cannot pin (the rustls
   * flavour). NULL (init) = no pinning (the certificate chain is still
   * verified).
   */
  const char *pinned_public_keys;
} nettask_request_options;

/**
 * Fills `*opts` with the defaults of struct version `version` (GET,
 * follow up to 15 redirects, HTTP/2 offered, the client's timeout),
 * writing exactly the bytes that version has: pass the
 * NETTASK_REQUEST_OPTIONS_VERSION your code was compiled with (the
 * one-argument `nettask_request_options_init` below does). Versions 1 up
 * to this library's are accepted; for another one only `opts->version`
 * is written and NETTASK_E_INVALID_ARGUMENT is returned, naming both
 * versions. `opts` must point to a struct of that version; NULL is
 * NETTASK_E_INVALID_ARGUMENT.
 */
nettask_code nettask_request_options_init_version(struct nettask_request_options *opts,
                                                  uint32_t version);

/**
 * Creates a request task. Checks everything it can without the network
 * (the URL: http/https, host, port; the method; header names and values:
 * no CR, LF or NUL; the struct version) and copies every input: free them
 * when this returns. Nothing is sent before `nettask_start`. On success
 * `*out` is the task, to be released with `nettask_release`; on failure
 * it is NULL.
 *
 * `client` is a live client, `opts` a filled options struct whose
 * pointers are valid for what their fields say (strings NUL-terminated,
 * `headers` for `header_count` entries, `body` for `body_len` bytes).
 * NULL for any of the three is NETTASK_E_INVALID_ARGUMENT.
 */
nettask_code nettask_request_create(nettask_client *client,
                                    const struct nettask_request_options *opts,
                                    struct nettask_task **out);

/**
 * Creates a download task: the body streams to a temporary file beside
 * `file_path` (or in the client's temp_dir) that is renamed into place
 * only on success. Checks and copies like `nettask_request_create`.
 */
nettask_code nettask_download_create(nettask_client *client,
                                     const struct nettask_request_options *opts,
                                     struct nettask_task **out);

/**
 * Creates an upload task (wx.uploadFile): a multipart/form-data POST (or
 * `method`) of the text parts `form_fields`, then the file
 * `upload_file_path` as the part `upload_name`, streamed from disk.
 * Progress listeners see the bytes sent; the result holds the server's
 * answer as for requests. NETTASK_E_INVALID_ARGUMENT without a file or a
 * name; NETTASK_E_FILE (a sentence with the path and the OS error) when
 * the file cannot be opened. Checks and copies like
 * `nettask_request_create`.
 */
nettask_code nettask_upload_create(nettask_client *client,
                                   const struct nettask_request_options *opts,
                                   struct nettask_task **out);

/**
 * Starts the task on its client's event thread. Returns
 * NETTASK_E_SHUTDOWN if its client was freed (whether the task ran or
 * not), else NETTASK_E_INVALID_STATE if it was started before. A task
 * aborted before start completes as aborted without any network traffic.
 * `task` is a handle the caller holds; NULL is NETTASK_E_INVALID_ARGUMENT.
 */
nettask_code nettask_start(struct nettask_task *task);

/**
 * Cancels the task from any thread, without blocking; idempotent. If the
 * task has not completed it completes with NETTASK_E_ABORTED, and once
 * this returns no headers, chunk or progress listener of it is started.
 * After completion it does nothing and returns NETTASK_OK. `task` is a
 * handle the caller holds (or a listener's `task`); NULL is
 * NETTASK_E_INVALID_ARGUMENT.
 */
nettask_code nettask_abort(struct nettask_task *task);

/**
 * Drops the caller's reference; do not use `task` afterwards. It does not
 * abort: a started task runs to completion and its listeners still fire.
 * NULL is ignored.
 */
void nettask_release(struct nettask_task *task);

/**
 * Fills `*opts` with the defaults (GET, follow up to 15 redirects, HTTP/2
 * offered, the client's timeout) and the struct version of this header.
 * Call it before setting fields.
 */
static inline void nettask_request_options_init(nettask_request_options *opts) {
  (void)nettask_request_options_init_version(opts, NETTASK_REQUEST_OPTIONS_VERSION);
}

/* ------------------------------------------------------------------------
 * Results
 *
 * What a complete listener receives. Every pointer in these structs is
 * valid only during that call.
 * ------------------------------------------------------------------------ */

/**
 * Timings and connection facts of a finished task. Times are
 * microseconds from `nettask_start`; -1 = the step did not happen.
 */
typedef struct nettask_profile {
  /**
   * Until the transfer began (waiting for `max_concurrent_tasks`).
   */
  int64_t queued_us;
  int64_t dns_done_us;
  int64_t connect_done_us;
  int64_t tls_done_us;
  int64_t request_sent_us;
  int64_t first_byte_us;
  int64_t total_us;
  /**
   * Time spent on redirects; -1 without redirects.
   */
  int64_t redirect_us;
  uint32_t redirect_count;
  /**
   * The connection came from the pool.
   */
  bool socket_reused;
  /**
   * The peer's address; "" when no connection was made.
   */
  const char *peer_ip;
  uint16_t peer_port;
  uint16_t local_port;
  /**
   * "http/1.0", "http/1.1", "h2", "h3", or "" without a response.
   */
  const char *protocol;
  /**
   * Headers and bodies, on the wire.
   */
  uint64_t bytes_sent;
  uint64_t bytes_received;
  /**
   * [fetchStart] The final hop began (after any redirects).
   */
  int64_t fetch_start_us;
  /**
   * [domainLookUpStart]
   */
  int64_t dns_start_us;
  /**
   * [connectStart]
   */
  int64_t connect_start_us;
  /**
   * [SSLconnectionStart]
   */
  int64_t tls_start_us;
  /**
   * [SSLconnectionEnd] The same as `tls_done_us`.
   */
  int64_t tls_end_us;
  /**
   * [requestStart] libcurl began sending the request: the same as
   * `request_sent_us`, which despite its name is measured here.
   */
  int64_t request_start_us;
  /**
   * [requestEnd] The whole request, body included, was sent.
   */
  int64_t request_end_us;
  /**
   * [responseStart] The first response byte: the same as `first_byte_us`.
   */
  int64_t response_start_us;
  /**
   * [responseEnd] The last response byte.
   */
  int64_t response_end_us;
  /**
   * [redirectStart] The first hop began; -1 without redirects.
   */
  int64_t redirect_start_us;
  /**
   * [redirectEnd] The last redirect hop ended; -1 without redirects.
   */
  int64_t redirect_end_us;
  /**
   * [rtt] The connection's smoothed round-trip time (TCP_INFO, Linux and
   * Android), read as the transfer ends; on a kept-alive connection
   * read at most 100 ms before, when an earlier transfer on it ended.
   * -1 when unknown.
   */
  int64_t rtt_us;
  /**
   * [throughputKbps] Body kilobits per second from first to last byte
   * of the final response; 0 when unknown.
   */
  uint64_t throughput_kbps;
  /**
   * [estimate_nettype] From `rtt_us`, as Chrome's effective connection
   * type: 0 unknown, 2 slow-2g, 3 2g, 4 3g, 5 4g or better.
   */
  uint32_t estimate_nettype;
  /**
   * Where the final hop's address came from: "system" (the OS
   * resolver), "override" (`resolve` or `nettask_client_add_resolve`)
   * or "doh" (`doh_url`); "" when no name was resolved (an IP address
   * in the URL, a reused connection). Static, never NULL.
   */
  const char *dns_source;
} nettask_profile;

/**
 * How a task ended. Every pointer is borrowed and valid only during the
 * complete listener call: copy what you keep.
 */
typedef struct nettask_result {
  nettask_code code;
  /**
   * wx form: "request:ok", "downloadFile:ok", "request:fail abort",
   * "request:fail timeout", "downloadFile:fail exceed max file size"
   * (TOO_LARGE), "downloadFile:fail download save file error: <path>:
   * <os error>" (FILE), "request:fail <reason>" otherwise.
   */
  const char *err_msg;
  /**
   * The raw CURLcode behind a failure, 0 if none.
   */
  int32_t curl_code;
  /**
   * 0 if no response.
   */
  int32_t status_code;
  /**
   * Final response headers, in wire order.
   */
  const nettask_header *headers;
  size_t header_count;
  /**
   * Requests: the whole body (NULL and 0 with enable_chunked or no body).
   */
  const uint8_t *data;
  size_t data_len;
  /**
   * Downloads: where the body is; NULL on failure.
   */
  const char *file_path;
  /**
   * Body bytes received.
   */
  uint64_t data_length;
  /**
   * Never NULL.
   */
  const nettask_profile *profile;
  /**
   * The final response's Set-Cookie values, in wire order (wx
   * `res.cookies`), whether or not the client keeps a jar; NULL and 0
   * when there are none.
   */
  const char *const *cookies;
  size_t cookie_count;
} nettask_result;

/* ------------------------------------------------------------------------
 * Listeners
 *
 * A listener is the pair (callback, user_data): adding a pair that is
 * already registered does nothing, `off` removes that pair, and `off` with
 * a NULL callback removes every listener of the event. Listeners run in
 * registration order, on the client's event thread; on/off may be called
 * at any time, from any thread or from inside a listener (a listener
 * removed from another thread may still be running once). `task` is a
 * handle the caller holds; NULL for it, or for the callback of `on`, is
 * NETTASK_E_INVALID_ARGUMENT. After completion the listeners are dropped.
 * ------------------------------------------------------------------------ */

/**
 * Download or upload progress, as progress listeners see it.
 */
typedef struct nettask_progress {
  /**
   * 0..100; 0 while the total is unknown.
   */
  uint32_t progress;
  /**
   * Body bytes written so far; never decreases.
   */
  uint64_t total_bytes_written;
  /**
   * The body's length from Content-Length; -1 when unknown.
   */
  int64_t total_bytes_expected_to_write;
  /**
   * Request body bytes sent so far on this hop (a 307/308 re-send starts
   * again from 0).
   */
  uint64_t total_bytes_sent;
  /**
   * The whole request body; -1 when unknown.
   */
  int64_t total_bytes_expected_to_send;
} nettask_progress;

/**
 * The final response's status line and headers.
 */
typedef struct nettask_response_head {
  int32_t status_code;
  /**
   * "1.0", "1.1", "2" or "3".
   */
  const char *http_version;
  /**
   * In wire order, repeated names kept (Set-Cookie).
   */
  const nettask_header *headers;
  size_t header_count;
  /**
   * The Set-Cookie values among `headers`, in wire order (wx
   * `res.cookies`); NULL and 0 when there are none.
   */
  const char *const *cookies;
  size_t cookie_count;
} nettask_response_head;

/**
 * Called once with the final response's head, before any chunk or progress.
 */
typedef void (*nettask_headers_cb)(nettask_task *task,
                                   const struct nettask_response_head *head,
                                   void *user_data);

/**
 * Called with each piece of the response body, in order, as it arrives.
 */
typedef void (*nettask_chunk_cb)(nettask_task *task,
                                 const uint8_t *data,
                                 size_t len,
                                 void *user_data);

/**
 * A server-sent event, borrowed for the listener call.
 */
typedef struct nettask_sse_event {
  /**
   * The `event:` field; "message" when there was none.
   */
  const char *type;
  /**
   * The `data:` lines joined by "\n", without a final "\n"; a NUL
   * follows them (not counted in `data_len`). Never NULL.
   */
  const uint8_t *data;
  size_t data_len;
  /**
   * The stream's last `id:` so far; "" when none.
   */
  const char *last_event_id;
  /**
   * The stream's last valid `retry:` so far, in milliseconds; -1 when
   * none.
   */
  int64_t retry_ms;
} nettask_sse_event;

/**
 * Called with each server-sent event parsed from the body.
 */
typedef void (*nettask_sse_event_cb)(nettask_task *task,
                                     const struct nettask_sse_event *event,
                                     void *user_data);

/**
 * Called with download progress, coalesced to one event per 1% (or per
 * 100 ms while the total is unknown).
 */
typedef void (*nettask_progress_cb)(nettask_task *task,
                                    const nettask_progress *progress,
                                    void *user_data);

/**
 * Called exactly once for every started task, last of all its events.
 */
typedef void (*nettask_complete_cb)(nettask_task *task,
                                    const nettask_result *result,
                                    void *user_data);

/**
 * Adds a headers listener: called once with the final response's head
 * (after redirects), before any chunk or progress. Adding the same
 * (callback, user_data) pair twice does nothing.
 */
nettask_code nettask_on_headers_received(nettask_task *task,
                                         nettask_headers_cb callback,
                                         void *user_data);

/**
 * Removes the (callback, user_data) headers listener; a NULL callback
 * removes every headers listener.
 */
nettask_code nettask_off_headers_received(nettask_task *task,
                                          nettask_headers_cb callback,
                                          void *user_data);

/**
 * Adds a chunk listener: called with each piece of a request's body in
 * order, as it arrives; the pieces concatenate to the body. Not called
 * for downloads.
 */
nettask_code nettask_on_chunk_received(nettask_task *task,
                                       nettask_chunk_cb callback,
                                       void *user_data);

/**
 * Adds a server-sent event listener: the body is parsed as an event
 * stream (WHATWG HTML: BOM, CRLF / CR / LF, comments, `event`, `data`,
 * `id`, `retry`; an event is dispatched at a blank line unless its data
 * is empty) whenever the task has one, whatever the Content-Type; add it
 * before `nettask_start` to see every event. Chunk listeners still get
 * the raw bytes. Requests and uploads, HTTP/1.1 and h2.
 */
nettask_code nettask_on_sse_event(nettask_task *task,
                                  nettask_sse_event_cb callback,
                                  void *user_data);

/**
 * Removes a server-sent event listener; a NULL callback removes them all.
 */
nettask_code nettask_off_sse_event(nettask_task *task,
                                   nettask_sse_event_cb callback,
                                   void *user_data);

/**
 * Removes a chunk listener; a NULL callback removes them all.
 */
nettask_code nettask_off_chunk_received(nettask_task *task,
                                        nettask_chunk_cb callback,
                                        void *user_data);

/**
 * Adds a progress listener (downloads only). `total_bytes_written` never
 * decreases; the last event before a successful completion reports every
 * byte.
 */
nettask_code nettask_on_progress_update(nettask_task *task,
                                        nettask_progress_cb callback,
                                        void *user_data);

/**
 * Removes a progress listener; a NULL callback removes them all.
 */
nettask_code nettask_off_progress_update(nettask_task *task,
                                         nettask_progress_cb callback,
                                         void *user_data);

/**
 * Adds a complete listener: called exactly once for every started task,
 * last of all its events, on success (any HTTP status), failure, abort or
 * client free.
 */
nettask_code nettask_on_complete(nettask_task *task, nettask_complete_cb callback, void *user_data);

/**
 * Removes a complete listener; a NULL callback removes them all.
 */
nettask_code nettask_off_complete(nettask_task *task,
                                  nettask_complete_cb callback,
                                  void *user_data);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* NETTASK_H */
