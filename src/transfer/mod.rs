//! One task's libcurl transfer: the easy handle's set-up, the handler that
//! turns libcurl callbacks into task events, and the result it builds when
//! it ends. The body goes to a sink: memory for requests, a file for
//! downloads.

mod file_body;
mod memory_body;

use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use curl::easy::{Easy2, Handler, HttpVersion, List, ReadError, SeekResult, WriteError};

use file_body::FileBody;
use memory_body::MemoryBody;

use crate::error::{Code, Failure};
use crate::options::{ClientOptions, Method, RequestOptions};
use crate::profile::Profile;
use crate::response::{HeadParser, ResponseHead};
use crate::result::{TaskKind, TaskResult};
use crate::task::Task;
use crate::util::message;

/// Where the response body goes.
enum Sink {
    Memory(MemoryBody),
    File(FileBody),
}

/// How a transfer ended: libcurl's word, or the loop's (abort, timeout,
/// shutdown).
pub(crate) enum Ending {
    Curl(Result<(), curl::Error>),
    Loop(Failure),
}

/// The `curl::easy::Handler` of every task.
pub(crate) struct Transfer {
    task: Arc<Task>,
    parser: HeadParser,
    following_redirects: bool,
    /// HEAD responses announce a length they do not send.
    expects_body: bool,
    head: Option<ResponseHead>,
    limit: Option<u64>,
    received: u64,
    upload: Vec<u8>,
    upload_pos: usize,
    sink: Sink,
    idle_timeout: Option<Duration>,
    /// When the last byte of the response arrived (or the transfer began);
    /// kept only with an idle timeout, to spare a clock read per callback.
    last_activity: Instant,
    /// Why the handler stopped the transfer itself, if it did.
    stop: Option<Failure>,
}

impl Transfer {
    pub fn task(&self) -> &Arc<Task> {
        &self.task
    }

    /// When the idle timeout expires if no more bytes arrive.
    pub fn idle_deadline(&self) -> Option<Instant> {
        Some(self.last_activity + self.idle_timeout?)
    }

    fn touch(&mut self) {
        if self.idle_timeout.is_some() {
            self.last_activity = Instant::now();
        }
    }

    /// The task's result, once its handle has left the multi handle.
    /// `detail` is libcurl's error buffer. Consuming the transfer closes a
    /// failed download's temporary file before the listeners run.
    pub fn into_result(
        mut self,
        ending: Ending,
        detail: Option<String>,
        profile: Profile,
    ) -> TaskResult {
        let kind = self.task.kind();
        let body = match ending {
            // An abort that came before the completion wins.
            _ if self.task.is_aborted() => Err(Failure::aborted()),
            Ending::Curl(Ok(())) => self.finish_body(),
            Ending::Curl(Err(e)) => Err(self
                .stop
                .take()
                .unwrap_or_else(|| Failure::from_curl(&e, detail))),
            Ending::Loop(failure) => Err(failure),
        };
        match body {
            Ok((data, file_path)) => {
                let head = self.head.take();
                TaskResult {
                    status_code: head.as_ref().map_or(0, |h| h.status_code),
                    headers: head.map(|h| h.headers).unwrap_or_default(),
                    data_length: self.received,
                    data,
                    file_path: file_path.map(|p| message(p.display().to_string())),
                    ..TaskResult::ok(kind, profile)
                }
            }
            Err(failure) => TaskResult::failed(kind, &failure, profile),
        }
    }

    /// The body of a transfer that libcurl reported as done without error:
    /// the bytes kept in memory, or the file renamed into place.
    fn finish_body(&mut self) -> Result<(Vec<u8>, Option<PathBuf>), Failure> {
        match &mut self.sink {
            Sink::Memory(body) => Ok((body.take(), None)),
            Sink::File(file) => Ok((Vec::new(), Some(file.persist(&self.task, self.received)?))),
        }
    }

    fn on_final_head(&mut self, head: ResponseHead) -> bool {
        let length = head.content_length().filter(|_| self.expects_body);
        if let (Some(limit), Some(length)) = (self.limit, length)
            && length > limit
        {
            self.stop = Some(Failure::too_large());
            return false;
        }
        if let Sink::File(file) = &mut self.sink {
            file.set_expected(length);
        }
        self.task.emit_headers(&head);
        self.head = Some(head);
        true
    }
}

impl Handler for Transfer {
    fn header(&mut self, line: &[u8]) -> bool {
        self.touch();
        if self.task.is_aborted() {
            return false;
        }
        if self.head.is_some() {
            return true; // trailers
        }
        match self.parser.feed(line) {
            Some(head) if !head.is_interim(self.following_redirects) => self.on_final_head(head),
            _ => true,
        }
    }

    fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        self.touch();
        if self.task.is_aborted() {
            return Ok(0); // libcurl fails with CURLE_WRITE_ERROR; the loop reports the abort
        }
        if self.head.is_none() {
            return Ok(data.len()); // body of a response libcurl does not keep
        }
        self.received += data.len() as u64;
        if self.limit.is_some_and(|limit| self.received > limit) {
            self.stop = Some(Failure::too_large());
            return Ok(0);
        }
        let written = match &mut self.sink {
            Sink::Memory(body) => {
                body.write(&self.task, data);
                Ok(())
            }
            Sink::File(file) => file.write(&self.task, data, self.received),
        };
        match written {
            Ok(()) => Ok(data.len()),
            Err(failure) => {
                self.stop = Some(failure);
                Ok(0)
            }
        }
    }

    fn read(&mut self, into: &mut [u8]) -> Result<usize, ReadError> {
        let rest = &self.upload[self.upload_pos..];
        let n = rest.len().min(into.len());
        into[..n].copy_from_slice(&rest[..n]);
        self.upload_pos += n;
        Ok(n)
    }

    fn seek(&mut self, whence: SeekFrom) -> SeekResult {
        // libcurl rewinds the body to resend it after a 307/308 redirect.
        match whence {
            SeekFrom::Start(pos) if pos as usize <= self.upload.len() => {
                self.upload_pos = pos as usize;
                SeekResult::Ok
            }
            _ => SeekResult::CantSeek,
        }
    }
}

/// The handler of a pooled easy handle: the transfer of the task it runs,
/// or nothing while the handle waits for its next task.
#[derive(Default)]
pub(crate) struct Job(pub Option<Transfer>);

impl Handler for Job {
    fn header(&mut self, line: &[u8]) -> bool {
        self.0.as_mut().is_some_and(|t| t.header(line))
    }

    fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        self.0.as_mut().map_or(Ok(0), |t| t.write(data))
    }

    fn read(&mut self, into: &mut [u8]) -> Result<usize, ReadError> {
        self.0
            .as_mut()
            .map_or(Err(ReadError::Abort), |t| t.read(into))
    }

    fn seek(&mut self, whence: SeekFrom) -> SeekResult {
        self.0
            .as_mut()
            .map_or(SeekResult::CantSeek, |t| t.seek(whence))
    }
}

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

/// Sets up `easy` (new, or reset after an earlier task) to run `task`.
/// `timeout` is what is left of the task's whole-task timeout. On failure
/// the handle is left without a job.
pub(crate) fn prepare(
    easy: &mut Easy2<Job>,
    task: Arc<Task>,
    options: RequestOptions,
    client: &ClientOptions,
    timeout: Duration,
    fresh_connection: bool,
) -> Result<(), Failure> {
    configure(easy, &options, client, timeout, fresh_connection).map_err(|e| Failure {
        code: Code::NETTASK_E_INTERNAL,
        ..Failure::from_curl(&e, Some(format!("cannot set up the transfer: {e}")))
    })?;
    let sink = match task.kind() {
        TaskKind::Request => Sink::Memory(MemoryBody::new(!options.enable_chunked)),
        TaskKind::Download => Sink::File(FileBody::create(
            options.file_path.as_deref(),
            client.temp_dir.as_deref(),
        )?),
    };
    easy.get_mut().0 = Some(Transfer {
        task,
        parser: HeadParser::default(),
        following_redirects: options.follow_redirects,
        expects_body: options.method != Method::Head,
        head: None,
        limit: options.max_response_bytes,
        received: 0,
        upload_pos: 0,
        upload: options.body,
        sink,
        idle_timeout: options.idle_timeout,
        last_activity: Instant::now(),
        stop: None,
    });
    Ok(())
}

fn configure(
    easy: &mut Easy2<Job>,
    options: &RequestOptions,
    client: &ClientOptions,
    timeout: Duration,
    fresh_connection: bool,
) -> Result<(), curl::Error> {
    let (method, headers) = (options.method, &options.headers);
    let has_body = !options.body.is_empty();
    easy.url(&options.url)?;
    easy.fresh_connect(fresh_connection)?;
    match method {
        Method::Head => easy.nobody(true)?,
        Method::Get if !has_body => {}
        _ if !has_body && method != Method::Post => easy.custom_request(method.as_str())?,
        _ => {
            // The body is read from `Transfer::read`, for every method.
            easy.post(true)?;
            easy.post_field_size(options.body.len() as u64)?;
            if method != Method::Post {
                easy.custom_request(method.as_str())?;
            }
        }
    }
    if !headers.is_empty() || has_body {
        let mut list = List::new();
        for h in headers {
            list.append(&format!("{}: {}", h.name, h.value))?;
        }
        if has_body
            && !headers
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case("expect"))
        {
            // No "Expect: 100-continue" round trip before large bodies.
            list.append("Expect:")?;
        }
        easy.http_headers(list)?;
    }
    easy.follow_location(options.follow_redirects)?;
    easy.max_redirections(options.max_redirects)?;
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
    let https = options
        .url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
    easy.pipewait(options.http2_prior_knowledge || (options.enable_http2 && https))?;
    easy.useragent(&client.user_agent)?;
    easy.buffer_size(RECEIVE_BUFFER)?;
    easy.upload_buffer_size(SEND_BUFFER)?;
    if let Some(ca) = &client.ca_file {
        easy.cainfo(ca)?;
    }
    if let Some(proxy) = &client.proxy {
        easy.proxy(proxy)?;
    }
    easy.timeout(timeout.max(Duration::from_millis(1)))?;
    // SAFETY: the handle is live and the option takes a long.
    let rc = unsafe {
        curl_sys::curl_easy_setopt(
            easy.raw(),
            CURLOPT_SUPPRESS_CONNECT_HEADERS,
            1 as std::ffi::c_long,
        )
    };
    if rc != curl_sys::CURLE_OK {
        return Err(curl::Error::new(rc));
    }
    Ok(())
}
