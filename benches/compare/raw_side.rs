//! The baseline: a plain libcurl multi loop (the same static libcurl
//! nettask links), easy handles and a write callback, no task layer.

use std::ffi::{CString, c_char, c_void};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use curl::easy::{Easy2, Handler, HttpVersion, List, WriteError};
use curl::multi::{Easy2Handle, Multi};

use crate::{IN_FLIGHT, IdleProbe, IdleStats, LatencyParser, Proto, Side, Silent};

#[derive(Default)]
pub struct Sink {
    bytes: u64,
    latency: Option<LatencyParser>,
    file: Option<File>,
    /// An upload's form: the handle's body, freed with the handle.
    form: Option<Form>,
}

/// libcurl's MIME API, which curl-sys does not declare.
#[repr(C)]
struct CurlMime {
    _opaque: [u8; 0],
}
#[repr(C)]
struct CurlMimePart {
    _opaque: [u8; 0],
}
unsafe extern "C" {
    fn curl_mime_init(easy: *mut curl_sys::CURL) -> *mut CurlMime;
    fn curl_mime_free(mime: *mut CurlMime);
    fn curl_mime_addpart(mime: *mut CurlMime) -> *mut CurlMimePart;
    fn curl_mime_name(part: *mut CurlMimePart, name: *const c_char) -> curl_sys::CURLcode;
    fn curl_mime_data(
        part: *mut CurlMimePart,
        data: *const c_char,
        size: usize,
    ) -> curl_sys::CURLcode;
    fn curl_mime_filedata(part: *mut CurlMimePart, path: *const c_char) -> curl_sys::CURLcode;
}
const CURLOPT_MIMEPOST: curl_sys::CURLoption = curl_sys::CURLOPTTYPE_OBJECTPOINT + 269;

/// A form as a libcurl user writes one: a text part, then the file part,
/// which libcurl names after the file's base name, types
/// application/octet-stream and reads from disk as it sends it.
struct Form(*mut CurlMime);

impl Form {
    /// The form of `field` and `file` (as the part `name`), made the body
    /// of `easy`.
    fn attach(easy: &Easy2<Sink>, (field, value): (&str, &str), name: &str, file: &Path) -> Form {
        let c = |s: &str| CString::new(s).unwrap();
        let (field, name, path) = (c(field), c(name), c(file.to_str().unwrap()));
        let ok = |rc| assert_eq!(rc, curl_sys::CURLE_OK, "curl_mime_*");
        // SAFETY: `easy` is a live handle (borrowed); curl_mime_init only
        // draws the boundary's random bytes with it. Both parts belong to
        // the new form; libcurl copies every string and the value's bytes
        // before returning, and opens the file only when it sends it.
        // The option takes a curl_mime pointer, valid until the form is
        // dropped with the handle's sink, after curl_easy_cleanup unbound
        // it (and curl_mime_free unbinds it from a live handle too).
        unsafe {
            let form = Form(curl_mime_init(easy.raw()));
            assert!(!form.0.is_null(), "curl_mime_init");
            let part = curl_mime_addpart(form.0);
            assert!(!part.is_null(), "curl_mime_addpart");
            ok(curl_mime_name(part, field.as_ptr()));
            ok(curl_mime_data(part, value.as_ptr().cast(), value.len()));
            let part = curl_mime_addpart(form.0);
            assert!(!part.is_null(), "curl_mime_addpart");
            ok(curl_mime_name(part, name.as_ptr()));
            ok(curl_mime_filedata(part, path.as_ptr()));
            ok(curl_sys::curl_easy_setopt(
                easy.raw(),
                CURLOPT_MIMEPOST,
                form.0 as *mut c_void,
            ));
            form
        }
    }
}

impl Drop for Form {
    fn drop(&mut self) {
        // SAFETY: the form from curl_mime_init, freed once, here.
        unsafe { curl_mime_free(self.0) };
    }
}

impl Handler for Sink {
    fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        self.bytes += data.len() as u64;
        if let Some(parser) = &mut self.latency {
            parser.feed(data);
        }
        if let Some(file) = &mut self.file {
            file.write_all(data).map_err(|_| WriteError::Pause)?;
        }
        Ok(data.len())
    }
}

/// The raw loop; `ca` is the CA bundle it trusts for https.
pub struct Raw {
    ca: Option<PathBuf>,
}

impl Raw {
    pub fn new(ca: Option<&Path>) -> Raw {
        Raw {
            ca: ca.map(Path::to_path_buf),
        }
    }

    fn easy(&self, url: &str, sink: Sink, proto: Proto) -> Easy2<Sink> {
        let mut easy = Easy2::new(sink);
        easy.url(url).unwrap();
        // The same request on the wire as nettask's, which sends its default
        // User-Agent: the server's work is then the same for both sides.
        easy.useragent(&crate::user_agent()).unwrap();
        match proto {
            Proto::Http1 => {}
            Proto::H2c => {
                easy.http_version(HttpVersion::V2PriorKnowledge).unwrap();
                easy.pipewait(true).unwrap();
            }
            Proto::H2Tls => {
                easy.http_version(HttpVersion::V2TLS).unwrap();
                easy.pipewait(true).unwrap();
            }
        }
        if let Some(ca) = &self.ca {
            easy.cainfo(ca).unwrap();
        }
        easy
    }

    /// One form of `field` and `file` (as the part `name`) POSTed to `url`:
    /// how long, and how many bytes libcurl sent.
    pub fn upload(
        &self,
        url: &str,
        field: (&str, &str),
        name: &str,
        file: &Path,
    ) -> (Duration, u64) {
        let started = Instant::now();
        let mut sent = 0;
        drive(
            1,
            1,
            || {
                let mut easy = self.easy(url, Sink::default(), Proto::Http1);
                // As nettask: no "Expect: 100-continue" round trip first.
                let mut headers = List::new();
                headers.append("Expect:").unwrap();
                easy.http_headers(headers).unwrap();
                let form = Form::attach(&easy, field, name, file);
                easy.get_mut().form = Some(form);
                easy
            },
            |e| {
                assert_eq!(e.response_code().unwrap(), 200, "raw: upload status");
                sent = e.upload_size().unwrap() as u64;
            },
        );
        (started.elapsed(), sent)
    }
}

fn new_multi() -> Multi {
    let mut multi = Multi::new();
    multi.pipelining(false, true).unwrap();
    multi
}

/// Runs `jobs` transfers on `multi`, at most `in_flight` at once, to
/// completion. Returns the sinks' byte total.
fn drive_on(
    multi: &Multi,
    jobs: usize,
    in_flight: usize,
    mut make: impl FnMut() -> Easy2<Sink>,
    mut done: impl FnMut(&mut Easy2<Sink>),
) -> u64 {
    let mut handles: Vec<Option<Easy2Handle<Sink>>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let (mut started, mut finished, mut bytes) = (0, 0, 0);
    while finished < jobs {
        while started < jobs && started - finished < in_flight {
            let mut handle = multi.add2(make()).unwrap();
            let slot = free.pop().unwrap_or_else(|| {
                handles.push(None);
                handles.len() - 1
            });
            handle.set_token(slot).unwrap();
            handles[slot] = Some(handle);
            started += 1;
        }
        multi.perform().unwrap();
        let mut ended = Vec::new();
        multi.messages(|m| {
            if let (Ok(token), Some(result)) = (m.token(), m.result()) {
                result.expect("transfer failed");
                ended.push(token);
            }
        });
        let progressed = !ended.is_empty();
        for slot in ended {
            let mut easy = multi.remove2(handles[slot].take().unwrap()).unwrap();
            free.push(slot);
            finished += 1;
            bytes += easy.get_ref().bytes;
            done(&mut easy);
        }
        // Freed places are refilled before sleeping.
        if !progressed {
            multi.poll(&mut [], Duration::from_secs(1)).unwrap();
        }
    }
    bytes
}

/// `drive_on` a multi of its own.
fn drive(
    jobs: usize,
    in_flight: usize,
    make: impl FnMut() -> Easy2<Sink>,
    done: impl FnMut(&mut Easy2<Sink>),
) -> u64 {
    drive_on(&new_multi(), jobs, in_flight, make, done)
}

impl Side for Raw {
    fn bulk(&self, url: &str) -> (Duration, u64) {
        let started = Instant::now();
        let bytes = drive(
            1,
            1,
            || self.easy(url, Sink::default(), Proto::Http1),
            |_| {},
        );
        (started.elapsed(), bytes)
    }

    /// libcurl decodes (its zlib) only when asked to offer gzip.
    fn decode(&self, url: &str) -> (Duration, u64) {
        let started = Instant::now();
        let bytes = drive(
            1,
            1,
            || {
                let mut easy = self.easy(url, Sink::default(), Proto::Http1);
                easy.accept_encoding("gzip").unwrap();
                easy
            },
            |_| {},
        );
        (started.elapsed(), bytes)
    }

    fn download(&self, url: &str, path: &Path) -> Duration {
        let started = Instant::now();
        let sink = Sink {
            file: Some(File::create(path).unwrap()),
            ..Sink::default()
        };
        let mut sink = Some(sink);
        drive(
            1,
            1,
            || self.easy(url, sink.take().unwrap(), Proto::Http1),
            |_| {},
        );
        started.elapsed()
    }

    fn small(&self, url: &str, count: usize, proto: Proto) -> Duration {
        let started = Instant::now();
        drive(
            count,
            IN_FLIGHT,
            || self.easy(url, Sink::default(), proto),
            |_| {},
        );
        started.elapsed()
    }

    /// One multi for every batch, so that its connections are reused.
    fn growth(&self, url: &str, total: usize) -> Duration {
        let multi = new_multi();
        let started = Instant::now();
        let mut done = 0;
        while done < total {
            let batch = IN_FLIGHT.min(total - done);
            drive_on(
                &multi,
                batch,
                batch,
                || self.easy(url, Sink::default(), Proto::Http1),
                |_| {},
            );
            done += batch;
        }
        started.elapsed()
    }

    fn chunk_latency(&self, url: &str) -> Vec<Duration> {
        let mut latencies = Vec::new();
        let sink = Sink {
            latency: Some(LatencyParser::default()),
            ..Sink::default()
        };
        let mut sink = Some(sink);
        drive(
            1,
            1,
            || self.easy(url, sink.take().unwrap(), Proto::Http1),
            |e| {
                latencies = std::mem::take(&mut e.get_mut().latency.as_mut().unwrap().latencies);
            },
        );
        latencies
    }
}

/// `count` transfers against the silent server on one multi; "aborted" by
/// removing every easy handle.
pub fn idle(silent: &Silent, count: usize) -> IdleStats {
    let raw = Raw::new(None);
    let multi = new_multi();
    let probe = IdleProbe::start();
    let handles: Vec<_> = (0..count)
        .map(|_| {
            multi
                .add2(raw.easy(&silent.url, Sink::default(), Proto::Http1))
                .unwrap()
        })
        .collect();
    let pump = |window: Duration| {
        let until = Instant::now() + window;
        while Instant::now() < until {
            multi.perform().unwrap();
            let timeout = until
                .saturating_duration_since(Instant::now())
                .min(Duration::from_secs(1));
            if let Err(e) = multi.poll(&mut [], timeout) {
                eprintln!("poll: {e}");
            }
        }
    };
    silent.wait_all(pump);
    let idle = crate::measure_idle(pump);
    let abort_started = Instant::now();
    for handle in handles {
        multi.remove2(handle).unwrap();
    }
    probe.finish(silent, count, idle, abort_started, std::thread::sleep)
}
