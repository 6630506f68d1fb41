//! One task's libcurl transfer: the easy handle's set-up, the handler that
//! turns libcurl callbacks into task events, and the result it builds when
//! it ends. The body goes to a sink: memory for requests, a file for
//! downloads.

mod file_body;
mod memory_body;
mod upload;

use std::borrow::Cow;
use std::ffi::{c_char, c_int};
use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use curl::easy::{Easy2, Handler, HttpVersion, List, ReadError, SeekResult, WriteError};

use file_body::FileBody;
use memory_body::MemoryBody;
use upload::SendBody;

use crate::client_state::ClientState;
use crate::connection_sockets::{self, CloseSocket, Opening};
use crate::curl_info::Info;
use crate::decoding::{AcceptEncoding, Decoder};
use crate::dns::{self, Applied, Dns, Source};
use crate::error::{Code, Failure};
use crate::options::{ClientOptions, Method, NO_TIMEOUT, RequestOptions};
use crate::policy::{Policy, REFUSED_HOP};
use crate::profile::{Clock, Hops, Profile};
use crate::redirect;
use crate::response::{HeadParser, Malformed, ResponseHead};
use crate::result::{TaskKind, TaskResult};
use crate::task::Task;
use crate::url::{host_and_port, is_https};
use crate::util::{curl_result, message};

/// Where the response body goes. (A file's state is boxed: a request's
/// transfer, the common case, is the smaller.)
enum Sink {
    Memory(MemoryBody),
    File(Box<FileBody>),
}

/// How a transfer ended: libcurl's word, or the loop's (abort, timeout,
/// shutdown).
pub(crate) enum Ending {
    Curl(Result<(), curl::Error>),
    Loop(Failure),
}

/// What the loop does with a hop libcurl has finished.
pub(crate) enum Next {
    /// Complete the task.
    Complete(Ending),
    /// Start the transfer's next hop; `reusable` says whether the hop's
    /// connection stayed open for reuse.
    Follow { reusable: bool },
}

/// What has arrived of the current hop's response. Boxed in the transfer
/// and made with the first header line: a task waiting for its response
/// holds none of it.
enum Response {
    /// Head lines so far (interim 1xx heads pass through).
    Head(HeadParser),
    /// A redirect to follow: its status and Location, and how many bytes of
    /// its body were thrown away so far.
    Redirect {
        status: i32,
        location: String,
        discarded: u64,
    },
    /// The final response's head.
    Final(ResponseHead),
}

/// A redirect's body is thrown away: up to this much of it is read so the
/// connection can carry the next hop; past it the connection is closed.
const REDIRECT_BODY_LIMIT: u64 = 64 * 1024;

/// The `curl::easy::Handler` of every task, across its redirect hops.
pub(crate) struct Transfer {
    task: Arc<Task>,
    /// What the current hop sends (a redirect rewrites it).
    request: Box<RequestOptions>,
    /// `None` until the hop's first header line.
    response: Option<Box<Response>>,
    /// The hops followed so far.
    hops: Hops,
    /// When the first hop joined the multi handle, from start.
    queued: Option<Duration>,
    /// The content codings offered, and the decoder of the final
    /// response's, if it has one nettask undoes.
    codings: AcceptEncoding,
    decoder: Option<Decoder>,
    /// Body bytes handed on (decoded).
    received: u64,
    /// `None` when the request sends no body (boxed: most send none).
    send: Option<Box<SendBody>>,
    sink: Sink,
    /// When the last byte moved (or the hop began); kept only with an idle
    /// timeout, to spare a clock read per callback.
    last_activity: Instant,
    /// Why the handler stopped the transfer itself, if it did.
    stop: Option<Failure>,
    /// Where the current hop's address comes from; `None` for an IP.
    dns_source: Option<Source>,
}

impl Transfer {
    /// A transfer for `task`, with its body sink (a download's temporary
    /// file is created here).
    pub fn new(
        task: Arc<Task>,
        request: Box<RequestOptions>,
        client: &ClientOptions,
    ) -> Result<Transfer, Failure> {
        let sink = match task.kind() {
            TaskKind::Request | TaskKind::Upload => Sink::Memory(MemoryBody::new(
                !request.enable_chunked,
                request.chunk_framing,
            )),
            TaskKind::Download => Sink::File(Box::new(FileBody::create(
                request.file_path.as_deref(),
                client.temp_dir.as_deref(),
            )?)),
        };
        let send = if request.sends_body() {
            Some(Box::new(SendBody::new(&request)?))
        } else {
            None
        };
        // A caller's own Accept-Encoding header stands for the option.
        let codings = match request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("accept-encoding"))
        {
            Some(h) => AcceptEncoding {
                header: None,
                ..AcceptEncoding::parse(Some(&h.value))
            },
            None => AcceptEncoding::parse(request.accept_encoding.as_deref()),
        };
        // (Set again as the hop joins the multi handle: no clock read here.)
        let last_activity = task.started_at();
        Ok(Transfer {
            task,
            request,
            response: None,
            hops: Hops::default(),
            queued: None,
            codings,
            decoder: None,
            received: 0,
            send,
            sink,
            last_activity,
            stop: None,
            dns_source: None,
        })
    }

    pub fn task(&self) -> &Arc<Task> {
        &self.task
    }

    /// What the current hop sends.
    pub fn request(&self) -> &RequestOptions {
        &self.request
    }

    /// The DNS overrides to hand libcurl with the current hop (see
    /// `Dns::lines_for`), noting where its address will come from.
    pub fn resolve_lines(&mut self, dns: &Dns, applied: &mut Applied) -> Vec<String> {
        let Some((host, port)) = host_and_port(&self.request.url) else {
            return Vec::new();
        };
        let (lines, source) = dns.lines_for(host, port, applied);
        self.dns_source = source;
        lines
    }

    /// Notes that a hop joins the multi handle at `now`, `since_start`
    /// after the task started.
    pub fn joined(&mut self, now: Instant, since_start: Duration) {
        self.queued.get_or_insert(since_start);
        self.last_activity = now;
    }

    /// When the idle timeout expires if no more bytes move. `socket_read`
    /// is when the transfer's connection last had bytes to read, which
    /// the callbacks may not have seen yet (a head trickling in).
    pub fn idle_deadline(&self, socket_read: Option<Instant>) -> Option<Instant> {
        let idle = self.request.idle_timeout?;
        // Paused for the host (queued delivery) is not the network idling.
        if self.task.is_paused() {
            return Some(Instant::now() + idle);
        }
        let last = socket_read.map_or(self.last_activity, |at| at.max(self.last_activity));
        Some(last + idle)
    }

    /// The host drained the queue: the idle timeout counts from now, not
    /// from the last byte before the pause.
    pub fn resumed(&mut self) {
        self.touch();
        self.task.resumed();
    }

    fn touch(&mut self) {
        if self.request.idle_timeout.is_some() {
            self.last_activity = Instant::now();
        }
    }

    /// Decides what follows a finished hop: the next hop of a redirect (if
    /// `policy` allows its URL), or the task's completion.
    ///
    /// # Safety
    /// `easy` is the hop's live easy handle, used by this thread only.
    pub unsafe fn next(
        &mut self,
        ending: Ending,
        easy: *mut curl_sys::CURL,
        policy: &Policy,
    ) -> Next {
        let Some(Response::Redirect {
            status,
            location,
            discarded,
        }) = self.response.as_deref_mut()
        else {
            return Next::Complete(ending);
        };
        let (status, location, discarded) = (*status, std::mem::take(location), *discarded);
        // The next hop's response starts from nothing.
        self.response = None;
        let reusable = matches!(ending, Ending::Curl(Ok(())));
        let cut = discarded > REDIRECT_BODY_LIMIT
            && matches!(&ending, Ending::Curl(Err(e)) if e.is_write_error());
        if !(reusable || cut) || self.task.is_aborted() {
            return Next::Complete(ending);
        }
        let max = self.request.max_redirects;
        if self.hops.count >= max {
            // With libcurl's code, as when libcurl followed redirects.
            return Next::Complete(Ending::Loop(Failure {
                curl_code: curl_sys::CURLE_TOO_MANY_REDIRECTS as i32,
                ..Failure::new(
                    Code::NETTASK_E_TOO_MANY_REDIRECTS,
                    format!("more than {max} redirects"),
                )
            }));
        }
        if let Err(failure) = redirect::next_hop(&mut self.request, status, &location) {
            return Next::Complete(Ending::Loop(failure));
        }
        // Before any connection to the hop's host.
        if policy.check(&self.request.url).is_err() {
            let refused = Failure::new(Code::NETTASK_E_BLOCKED, REFUSED_HOP);
            return Next::Complete(Ending::Loop(refused));
        }
        // SAFETY: the caller's promise.
        self.hops.add(&unsafe { Info::new(easy) });
        if let Some(send) = &mut self.send
            && let Err(failure) = send.next_hop(&self.request)
        {
            return Next::Complete(Ending::Loop(failure));
        }
        Next::Follow { reusable }
    }

    /// The task's result, once its handle has left the multi handle (or,
    /// aborted, is about to). `detail` is libcurl's error buffer; `easy`
    /// the live handle, for the profile. Consuming the transfer closes a
    /// failed download's temporary file before the listeners run. `rtt` is
    /// the connection's round-trip time, if known.
    ///
    /// # Safety
    /// `easy` is the transfer's live easy handle, used by this thread only.
    pub unsafe fn into_result(
        mut self,
        ending: Ending,
        detail: Option<String>,
        easy: *mut curl_sys::CURL,
        hop_start: Duration,
        rtt: Option<Duration>,
    ) -> TaskResult {
        let started = self.task.started_at();
        let clock = Clock {
            queued: self.queued.unwrap_or(hop_start),
            hop_start,
            total: started.elapsed(),
        };
        let dns_source = dns::source_name(self.dns_source);
        // SAFETY: the caller's promise.
        let profile = unsafe { Profile::read(easy, clock, &self.hops, rtt, dns_source) };
        // What framing held back goes out before the completion (nothing
        // does after an abort).
        if let Sink::Memory(body) = &mut self.sink {
            body.flush(&self.task);
        }
        let kind = self.task.kind();
        let body = match ending {
            // An abort that came before the completion wins.
            _ if self.task.is_aborted() => Err(Failure::aborted()),
            Ending::Curl(Ok(())) => self.finish_body(),
            Ending::Curl(Err(e)) => Err(self.stop.take().unwrap_or_else(|| {
                let send = self.send.as_ref();
                let body_file = send.and_then(|s| s.failure(&e, detail.as_deref()));
                body_file.unwrap_or_else(|| Failure::from_curl(&e, detail))
            })),
            Ending::Loop(failure) => Err(failure),
        };
        match body {
            Ok((head, data, file_path)) => TaskResult {
                status_code: head.status_code,
                headers: head.headers,
                data_length: self.received,
                data,
                file_path: file_path.map(|p| message(p.display().to_string())),
                ..TaskResult::ok(kind, profile)
            },
            Err(failure) => TaskResult::failed(kind, &failure, profile),
        }
    }

    /// The final response of a transfer that libcurl reported as done
    /// without error: its head, the bytes kept in memory, or the file
    /// renamed into place. Without a head there was no response to report.
    fn finish_body(&mut self) -> Result<(ResponseHead, Vec<u8>, Option<PathBuf>), Failure> {
        let Some(Response::Final(head)) = self.response.take().map(|r| *r) else {
            return Err(Failure::new(
                Code::NETTASK_E_RECV,
                "the server ended the response before a valid status line and head",
            ));
        };
        if let Some(decoder) = &self.decoder {
            decoder.finish()?;
        }
        if let Some(send) = &mut self.send {
            send.finish(&self.task)?;
        }
        match &mut self.sink {
            Sink::Memory(body) => Ok((head, body.take(), None)),
            Sink::File(file) => {
                let path = file.persist(&self.task, self.received)?;
                Ok((head, Vec::new(), Some(path)))
            }
        }
    }

    /// What a hop's final head makes of its response: a redirect to
    /// follow, or the final response, whose headers go to the listeners.
    fn on_final_head(&mut self, head: ResponseHead) -> Result<Response, Failure> {
        if self.request.follow_redirects
            && let Some(location) = head.redirect_location()
        {
            return Ok(Response::Redirect {
                status: head.status_code,
                location: location.to_string_lossy().into_owned(),
                discarded: 0,
            });
        }
        let expects_body = self.request.method != Method::Head;
        let encodings = head.headers.iter().filter_map(|(name, value)| {
            name.to_bytes()
                .eq_ignore_ascii_case(b"content-encoding")
                .then_some(value.to_bytes())
        });
        self.decoder = Decoder::new(encodings, &self.codings.offered);
        // A decoded body's length is not the Content-Length.
        let length = head
            .content_length()
            .filter(|_| expects_body && self.decoder.is_none());
        if let (Some(limit), Some(length)) = (self.request.max_response_bytes, length)
            && length > limit
        {
            return Err(Failure::too_large());
        }
        if let Sink::File(file) = &mut self.sink {
            file.set_expected(length);
        }
        self.task.emit_headers(&head);
        Ok(Response::Final(head))
    }

    /// Hands body bytes (decoded) to the sink, within the size limit.
    fn take_body(&mut self, piece: &[u8]) -> Result<(), Failure> {
        self.received += piece.len() as u64;
        if (self.request.max_response_bytes).is_some_and(|limit| self.received > limit) {
            return Err(Failure::too_large());
        }
        match &mut self.sink {
            Sink::Memory(body) => {
                body.write(&self.task, piece);
                Ok(())
            }
            Sink::File(file) => file.write(&self.task, piece, self.received),
        }
    }

    /// Stops the transfer with `failure`: the callback's "stop" value.
    fn fail(&mut self, failure: Failure) -> bool {
        self.stop = Some(failure);
        false
    }
}

impl Handler for Transfer {
    fn progress(&mut self, _dltotal: f64, _dlnow: f64, ultotal: f64, ulnow: f64) -> bool {
        if self.task.is_aborted() {
            return false;
        }
        // Bytes of the form going out count as activity for the idle timeout.
        let send = self.send.as_mut();
        if send.is_some_and(|s| s.sent(&self.task, ulnow as u64, ultotal as u64)) {
            self.touch();
        }
        true
    }

    fn header(&mut self, line: &[u8]) -> bool {
        self.touch();
        if self.task.is_aborted() {
            return false;
        }
        let response = self
            .response
            .get_or_insert_with(|| Box::new(Response::Head(HeadParser::default())));
        let Response::Head(parser) = &mut **response else {
            return true; // trailers
        };
        match parser.feed(line) {
            Ok(Some(head)) if !head.is_interim() => match self.on_final_head(head) {
                Ok(next) => {
                    if let Some(response) = &mut self.response {
                        **response = next;
                    }
                    true
                }
                Err(failure) => self.fail(failure),
            },
            Ok(_) => true,
            Err(Malformed(why)) => self.fail(Failure::new(Code::NETTASK_E_RECV, why)),
        }
    }

    fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        self.touch();
        if self.task.is_aborted() {
            return Ok(0); // libcurl fails with CURLE_WRITE_ERROR; the loop reports the abort
        }
        match self.response.as_deref_mut() {
            Some(Response::Final(_)) => {}
            Some(Response::Redirect { discarded, .. }) => {
                *discarded += data.len() as u64;
                let keep_reading = *discarded <= REDIRECT_BODY_LIMIT;
                return Ok(if keep_reading { data.len() } else { 0 });
            }
            Some(Response::Head(_)) | None => {
                let why = "the server sent a body without a valid status line and head";
                self.fail(Failure::new(Code::NETTASK_E_RECV, why));
                return Ok(0);
            }
        }
        if self.task.must_pause() {
            // libcurl keeps `data` and hands it over again on resume.
            return Err(WriteError::Pause);
        }
        let mut decoder = self.decoder.take();
        let taken = match decoder.as_mut() {
            Some(decoder) => decoder.decode(data, &mut |piece| self.take_body(piece)),
            None => self.take_body(data),
        };
        self.decoder = decoder;
        match taken {
            Ok(()) => Ok(data.len()),
            Err(failure) => {
                self.fail(failure);
                Ok(0)
            }
        }
    }

    fn read(&mut self, into: &mut [u8]) -> Result<usize, ReadError> {
        self.touch();
        let Some(send) = &mut self.send else {
            return Ok(0); // no body
        };
        send.read(&self.request.body, into).map_err(|failure| {
            self.stop = Some(failure);
            ReadError::Abort
        })
    }

    fn seek(&mut self, whence: SeekFrom) -> SeekResult {
        match &mut self.send {
            Some(send) => send.seek(&self.request.body, whence),
            None if whence == SeekFrom::Start(0) => SeekResult::Ok,
            None => SeekResult::CantSeek,
        }
    }
}

/// The handler of a pooled easy handle: the transfer of the task it runs,
/// or nothing while the handle waits for its next task.
#[derive(Default)]
pub(crate) struct Job {
    pub transfer: Option<Transfer>,
    /// `Some(https)`: the handle holds a plain request's options and no
    /// other, for an https:// URL or an http:// one (see `attach`): the
    /// next plain request of that scheme sets only what differs.
    plain: Option<bool>,
    /// The Accept-Encoding value set on the handle since its last reset.
    codings: Option<Cow<'static, str>>,
    /// The socket the current transfer opened, if it opened one.
    pub opened: Option<Opening>,
}

impl Handler for Job {
    fn progress(&mut self, dltotal: f64, dlnow: f64, ultotal: f64, ulnow: f64) -> bool {
        self.transfer
            .as_mut()
            .is_none_or(|t| t.progress(dltotal, dlnow, ultotal, ulnow))
    }

    fn header(&mut self, line: &[u8]) -> bool {
        self.transfer.as_mut().is_some_and(|t| t.header(line))
    }

    fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        self.transfer.as_mut().map_or(Ok(0), |t| t.write(data))
    }

    fn read(&mut self, into: &mut [u8]) -> Result<usize, ReadError> {
        self.transfer
            .as_mut()
            .map_or(Err(ReadError::Abort), |t| t.read(into))
    }

    fn seek(&mut self, whence: SeekFrom) -> SeekResult {
        self.transfer
            .as_mut()
            .map_or(SeekResult::CantSeek, |t| t.seek(whence))
    }

    /// Opens the socket as curl-rust does (close-on-exec), and records it
    /// for the poller (`connection_sockets`).
    fn open_socket(
        &mut self,
        family: c_int,
        socktype: c_int,
        protocol: c_int,
    ) -> Option<curl_sys::curl_socket_t> {
        let socket = CurlRustDefaults.open_socket(family, socktype, protocol)?;
        self.opened = connection_sockets::opened(socket);
        Some(socket)
    }
}

/// A handler with all of curl-rust's defaults, for the open-socket hook.
struct CurlRustDefaults;

impl Handler for CurlRustDefaults {}

/// libcurl's receive buffer: what one read from the socket can hold (its
/// write callback still gets at most 16 KiB at a time, CURL_MAX_WRITE_SIZE).
/// 16 KiB (libcurl's default) moves a 256 MiB body from nginx to a chunk
/// listener in 0.15 s here, 64 KiB in 0.12 s, 256 KiB in 0.07 s, 1 MiB no
/// faster. libcurl keeps one such buffer per multi handle, not per
/// transfer, so idle tasks do not pay it.
const RECEIVE_BUFFER: usize = 256 * 1024;

/// libcurl's send buffer for request bodies, shared per multi handle too:
/// five 256 MiB POSTs to nginx took 2.37 s with the 64 KiB default, 2.14 s
/// with 256 KiB, 2.70 s with 1 MiB.
const SEND_BUFFER: usize = 256 * 1024;

// Not exported by curl-sys; value from curl/curl.h.
const CURLOPT_SUPPRESS_CONNECT_HEADERS: curl_sys::CURLoption = curl_sys::CURLOPTTYPE_LONG + 265;

/// Sets up `easy` (new, or reset after an earlier hop or task) to run
/// the current hop of `transfer`. `timeout` is what is left of the task's
/// whole-task timeout. On failure the transfer is dropped.
/// `resolve` are the DNS override lines to load with it.
pub(crate) fn attach(
    easy: &mut Easy2<Job>,
    mut transfer: Transfer,
    client: &ClientState,
    resolve: Vec<String>,
    timeout: Duration,
    fresh_connection: bool,
) -> Result<(), Failure> {
    let plain = is_plain(&transfer.request, &resolve).then(|| is_https(&transfer.request.url));
    // A handle that ran a plain request keeps every option a plain request
    // needs: resetting it and setting them again (30 calls into libcurl,
    // a third of a small GET's set-up) would change nothing.
    // (Taken first: a set-up that fails midway leaves it `None`.)
    let was_plain = std::mem::take(&mut easy.get_mut().plain);
    let reuse = plain.is_some() && plain == was_plain;
    if !reuse {
        easy.reset();
        easy.get_mut().codings = None;
    }
    let codings = transfer.codings.header.clone();
    let internal = |e: curl::Error| Failure {
        code: Code::NETTASK_E_INTERNAL,
        ..Failure::from_curl(&e, Some(format!("cannot set up the transfer: {e}")))
    };
    configure_hop(easy, &transfer.request, codings, timeout, fresh_connection).map_err(internal)?;
    if !reuse {
        let file_size = transfer.send.as_ref().and_then(|s| s.file_size());
        configure(easy, &transfer.request, file_size, client)
            .and_then(|()| configure_network(easy, &transfer.request, client, resolve))
            .map_err(internal)?;
        link_and_attach(easy, &mut transfer, client)?;
    }
    let job = easy.get_mut();
    job.transfer = Some(transfer);
    job.plain = plain;
    job.opened = None;
    Ok(())
}

/// On a handle just configured for `transfer`: the cookie jar, and an
/// upload's form.
fn link_and_attach(
    easy: &mut Easy2<Job>,
    transfer: &mut Transfer,
    client: &ClientState,
) -> Result<(), Failure> {
    if let Some(jar) = &client.jar {
        // A caller's own Cookie header replaces the jar's (API.md).
        let own_cookie =
            (transfer.request.headers.iter()).any(|h| h.name.eq_ignore_ascii_case("cookie"));
        // SAFETY: `easy` is live, idle (not in the multi handle yet) and
        // used by the event thread only.
        unsafe { jar.link(easy.raw(), !own_cookie) }.map_err(|e| Failure {
            code: Code::NETTASK_E_INTERNAL,
            ..Failure::from_curl(&e, Some(format!("cannot link the cookie jar: {e}")))
        })?;
    }
    let Some(send) = &mut transfer.send else {
        return Ok(());
    };
    // SAFETY: `easy` is live and used by the event thread only; a form
    // unbinds itself from it when dropped.
    unsafe { send.attach(easy.raw(), &transfer.request) }.map_err(|e| Failure {
        code: Code::NETTASK_E_INTERNAL,
        ..Failure::from_curl(&e, Some(format!("cannot build the upload form: {e}")))
    })
}

/// A GET with nothing but options every request sets: no header, body,
/// form, key pins or DNS override lines. Such a request leaves no option
/// behind that the next one would have to undo.
fn is_plain(request: &RequestOptions, resolve: &[String]) -> bool {
    request.method == Method::Get
        && request.headers.is_empty()
        && !request.sends_body()
        && request.pinned_public_keys.is_none()
        && resolve.is_empty()
}

/// Where the hop's address comes from, and whose keys its TLS peer must
/// have.
fn configure_network(
    easy: &mut Easy2<Job>,
    request: &RequestOptions,
    client: &ClientState,
    resolve: Vec<String>,
) -> Result<(), curl::Error> {
    if !resolve.is_empty() {
        let mut list = List::new();
        for line in &resolve {
            list.append(line)?;
        }
        easy.resolve(list)?;
    }
    if let Some(doh) = client.dns.doh_url() {
        easy.doh_url(Some(doh))?;
    }
    if let Some(pins) = &request.pinned_public_keys {
        easy.pinned_public_key(pins)?;
    }
    Ok(())
}

/// Sets what every request and hop sets, plain or not: the URL, whether
/// to open a new connection, the Accept-Encoding value to send (`None`:
/// no such header), the HTTP version, and what is left of the timeout.
fn configure_hop(
    easy: &mut Easy2<Job>,
    options: &RequestOptions,
    accept_encoding: Option<Cow<'static, str>>,
    timeout: Duration,
    fresh_connection: bool,
) -> Result<(), curl::Error> {
    easy.url(&options.url)?;
    easy.fresh_connect(fresh_connection)?;
    // libcurl writes the header; nettask decodes (`configure` turns
    // libcurl's decoding off). Set only when it changes: libcurl copies it.
    if easy.get_ref().codings != accept_encoding {
        easy.get_mut().codings = None;
        match accept_encoding.as_deref() {
            Some(codings) => easy.accept_encoding(codings)?,
            // SAFETY: the handle is live; NULL turns the option off.
            None => curl_result(unsafe {
                curl_sys::curl_easy_setopt(
                    easy.raw(),
                    curl_sys::CURLOPT_ACCEPT_ENCODING,
                    std::ptr::null::<c_char>(),
                )
            })?,
        }
        easy.get_mut().codings = accept_encoding;
    }
    // Redirects are followed by the loop, one hop at a time (`Transfer::next`).
    easy.http_version(
        match (options.http2_prior_knowledge, options.enable_http2) {
            (true, _) => HttpVersion::V2PriorKnowledge,
            (false, true) => HttpVersion::V2TLS,
            (false, false) => HttpVersion::V11,
        },
    )?;
    // Wait for a connection that may multiplex rather than open another,
    // only where HTTP/2 is possible: on http:// libcurl learns that a
    // connection cannot multiplex from its first response, so a slow first
    // request would hold back every other one to the host.
    let https = is_https(&options.url);
    easy.pipewait(options.http2_prior_knowledge || (options.enable_http2 && https))?;
    // libcurl's 0 is no whole-transfer limit.
    easy.timeout(match timeout {
        NO_TIMEOUT => Duration::ZERO,
        t => t.max(Duration::from_millis(1)),
    })
}

/// The rest of a hop's options, on a handle just reset: the method and
/// body, headers, and the client's settings. `file_body_size` is the size
/// of `body_file`, when the body comes from it.
fn configure(
    easy: &mut Easy2<Job>,
    options: &RequestOptions,
    file_body_size: Option<u64>,
    state: &ClientState,
) -> Result<(), curl::Error> {
    let client = &state.options;
    let (method, headers) = (options.method, &options.headers);
    let upload = options.upload.is_some();
    // The body: in memory, or `body_file` of this size, or the form.
    let body_len = file_body_size.unwrap_or(options.body.len() as u64);
    let has_body = body_len > 0 || file_body_size.is_some() || upload;
    match method {
        // The form (CURLOPT_MIMEPOST, set by `attach`) makes it a POST.
        _ if upload => {
            easy.progress(true)?;
            if !matches!(method, Method::Get | Method::Post) {
                easy.custom_request(method.as_str())?;
            }
        }
        Method::Head => easy.nobody(true)?,
        Method::Get if !has_body => {}
        _ if !has_body && method != Method::Post => easy.custom_request(method.as_str())?,
        _ => {
            // The body is read from `Transfer::read`, for every method.
            easy.post(true)?;
            easy.post_field_size(body_len)?;
            if method != Method::Post {
                easy.custom_request(method.as_str())?;
            }
        }
    }
    if !headers.is_empty() || has_body {
        let mut list = List::new();
        for h in headers {
            // libcurl drops a header written "Name:"; "Name;" sends it empty.
            if h.value.is_empty() {
                list.append(&format!("{};", h.name))?;
            } else {
                list.append(&format!("{}: {}", h.name, h.value))?;
            }
        }
        let given = |name: &str| headers.iter().any(|h| h.name.eq_ignore_ascii_case(name));
        if has_body && !given("expect") {
            // No "Expect: 100-continue" round trip before large bodies.
            list.append("Expect:")?;
        }
        if has_body && !upload && !given("content-type") {
            // libcurl would invent application/x-www-form-urlencoded.
            list.append("Content-Type:")?;
        }
        easy.http_headers(list)?;
    }
    easy.http_content_decoding(false)?;
    easy.useragent(&client.user_agent)?;
    easy.buffer_size(RECEIVE_BUFFER)?;
    easy.upload_buffer_size(SEND_BUFFER)?;
    if !is_https(&options.url) && state.dns.doh_url().is_none() {
        // No TLS on an http:// hop without DoH (whose requests take the
        // hop's CA options; an HTTPS proxy has options of its own): without
        // the CA paths curl-rust set, libcurl copies none into the hop's
        // connection, which an idle task keeps. (A TLS library without CA
        // directories, rustls, refuses CAPATH: then curl-rust set none.)
        for option in [curl_sys::CURLOPT_CAINFO, curl_sys::CURLOPT_CAPATH] {
            // SAFETY: the handle is live; NULL is allowed for both options.
            unsafe { curl_sys::curl_easy_setopt(easy.raw(), option, std::ptr::null::<c_char>()) };
        }
    } else if let Some(ca) = &client.ca_file {
        easy.cainfo(ca)?;
    }
    if let Some(proxy) = &client.proxy {
        easy.proxy(proxy)?;
    } else if !state.env_proxy {
        // No proxy, said once: libcurl would otherwise look up five
        // variables of the environment for every request.
        easy.proxy("")?;
        easy.noproxy("")?;
    }
    if connection_sockets::TRACKED {
        // The poller learns of every close of a socket the open-socket
        // hook recorded (libcurl stores the callback with the connection).
        let close: CloseSocket = connection_sockets::close_socket;
        // SAFETY: the handle is live, and the option takes a function of
        // the close-socket callback's type; its data (unset) is unused.
        curl_result(unsafe {
            curl_sys::curl_easy_setopt(easy.raw(), curl_sys::CURLOPT_CLOSESOCKETFUNCTION, close)
        })?;
    }
    // SAFETY: the handle is live and the option takes a long.
    curl_result(unsafe {
        curl_sys::curl_easy_setopt(
            easy.raw(),
            CURLOPT_SUPPRESS_CONNECT_HEADERS,
            1 as std::ffi::c_long,
        )
    })
}
