//! What a request sends: its body from memory or from a file, or an
//! upload's multipart/form-data form, built with libcurl's MIME API (text
//! parts in order, then the file part, which libcurl streams from disk),
//! and the progress of sending it.

use std::ffi::{CString, c_char, c_void};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use curl::easy::SeekResult;

use crate::error::{Code, Failure};
use crate::options::{RequestOptions, Upload};
use crate::result::Progress;
use crate::task::Task;

/// The sending side of a transfer, across its redirect hops.
#[derive(Default)]
pub(crate) struct SendBody {
    /// Where `read` is in a body kept in memory.
    pos: usize,
    /// The file the body comes from (an upload's, or `body_file`), to tell
    /// that it changed while it was sent.
    file: Option<SentFile>,
    /// `body_file`, read by `read`.
    reader: Option<File>,
    /// An upload's form, set on the current hop's handle.
    form: Option<Form>,
    progress: SendProgress,
    /// The body's size as libcurl reports it.
    total: u64,
}

impl SendBody {
    /// Opens the file `request` sends, if it sends one.
    pub fn new(request: &RequestOptions) -> Result<SendBody, Failure> {
        let path = request
            .upload
            .as_ref()
            .map(|u| &u.file_path)
            .or(request.body_file.as_ref());
        let reader = match &request.body_file {
            Some(path) => Some(File::open(path).map_err(|e| read_error(path, &e.to_string()))?),
            None => None,
        };
        Ok(SendBody {
            file: path.map(|p| SentFile::open(p)).transpose()?,
            reader,
            ..SendBody::default()
        })
    }

    /// The size of a body read from `body_file`.
    pub fn file_size(&self) -> Option<u64> {
        self.reader
            .as_ref()
            .and(self.file.as_ref())
            .map(SentFile::size)
    }

    /// Builds `request`'s form, if it is an upload, as the body of `easy`.
    ///
    /// # Safety
    /// `easy` is a live easy handle, used by this thread only.
    pub unsafe fn attach(
        &mut self,
        easy: *mut curl_sys::CURL,
        request: &RequestOptions,
    ) -> Result<(), curl::Error> {
        if let Some(upload) = &request.upload {
            // SAFETY: the caller's promise.
            self.form = Some(unsafe { Form::attach(easy, upload) }?);
        }
        Ok(())
    }

    /// Before a redirect's next hop, which sends `request` (a 301/302/303
    /// may have dropped the body): from its start again.
    pub fn next_hop(&mut self, request: &RequestOptions) -> Result<(), Failure> {
        self.pos = 0;
        self.progress = SendProgress::default();
        if request.upload.is_none() {
            self.form = None;
        }
        if request.upload.is_none() && request.body_file.is_none() {
            (self.file, self.reader) = (None, None);
        }
        match (&mut self.reader, &self.file) {
            (Some(reader), Some(file)) => reader
                .seek(SeekFrom::Start(0))
                .map(drop)
                .map_err(|e| read_error(file.path(), &e.to_string())),
            _ => Ok(()),
        }
    }

    /// libcurl's read callback: from `body_file`, or from `memory`.
    pub fn read(&mut self, memory: &[u8], into: &mut [u8]) -> Result<usize, Failure> {
        if let (Some(reader), Some(file)) = (&mut self.reader, &self.file) {
            return reader
                .read(into)
                .map_err(|e| read_error(file.path(), &e.to_string()));
        }
        let rest = &memory[self.pos..];
        let n = rest.len().min(into.len());
        into[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }

    /// libcurl rewinds the body to send it again on a new connection.
    pub fn seek(&mut self, memory: &[u8], whence: SeekFrom) -> SeekResult {
        if let Some(reader) = &mut self.reader {
            return match reader.seek(whence) {
                Ok(_) => SeekResult::Ok,
                Err(_) => SeekResult::Fail,
            };
        }
        match whence {
            SeekFrom::Start(pos) if pos as usize <= memory.len() => {
                self.pos = pos as usize;
                SeekResult::Ok
            }
            _ => SeekResult::CantSeek,
        }
    }

    /// libcurl's progress: `sent` of `total` body bytes. Returns whether
    /// more went out since the last call.
    pub fn sent(&mut self, task: &Task, sent: u64, total: u64) -> bool {
        self.total = total;
        self.progress.update(task, sent, total)
    }

    /// What a libcurl failure means when the body comes from a file: one
    /// it could not read as long as it was.
    pub fn failure(&self, e: &curl::Error, detail: Option<&str>) -> Option<Failure> {
        let file = self.file.as_ref().filter(|_| e.is_read_error())?;
        Some(read_error(
            file.path(),
            detail.unwrap_or("it could not be read"),
        ))
    }

    /// After a response to the whole body: the file did not change while
    /// it was sent, and an upload's last progress reports every byte.
    pub fn finish(&mut self, task: &Task) -> Result<(), Failure> {
        if let Some(file) = &self.file {
            file.check_unchanged()?;
        }
        if self.form.is_some() {
            self.progress.finish(task, self.total);
        }
        Ok(())
    }
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
    fn curl_mime_filename(part: *mut CurlMimePart, name: *const c_char) -> curl_sys::CURLcode;
    fn curl_mime_type(part: *mut CurlMimePart, mimetype: *const c_char) -> curl_sys::CURLcode;
    fn curl_mime_data(
        part: *mut CurlMimePart,
        data: *const c_char,
        size: usize,
    ) -> curl_sys::CURLcode;
    fn curl_mime_filedata(part: *mut CurlMimePart, path: *const c_char) -> curl_sys::CURLcode;
}
const CURLOPT_MIMEPOST: curl_sys::CURLoption = curl_sys::CURLOPTTYPE_OBJECTPOINT + 269;

/// An upload's form, set as the body of one easy handle. Freeing it also
/// unbinds it from that handle (curl_mime_free does), so the handle never
/// points to a freed form.
struct Form {
    mime: *mut CurlMime,
}

// SAFETY: a form is used by the event thread only, like the easy handle it
// belongs to; it moves between threads only inside its task's transfer.
unsafe impl Send for Form {}

impl Drop for Form {
    fn drop(&mut self) {
        // SAFETY: `mime` came from curl_mime_init and is freed once, here.
        unsafe { curl_mime_free(self.mime) };
    }
}

impl Form {
    /// Builds the form of `upload` and makes it the body of `easy`.
    ///
    /// # Safety
    /// `easy` is a live easy handle, used by this thread only.
    unsafe fn attach(easy: *mut curl_sys::CURL, upload: &Upload) -> Result<Form, curl::Error> {
        // SAFETY: `easy` is live (the caller's promise); libcurl only draws
        // the boundary's random bytes with it.
        let mime = unsafe { curl_mime_init(easy) };
        let form = Form { mime };
        if form.mime.is_null() {
            return Err(curl::Error::new(curl_sys::CURLE_OUT_OF_MEMORY));
        }
        let c = |bytes: &[u8]| {
            CString::new(bytes).map_err(|_| curl::Error::new(curl_sys::CURLE_BAD_FUNCTION_ARGUMENT))
        };
        let check = |rc| match rc {
            curl_sys::CURLE_OK => Ok(()),
            rc => Err(curl::Error::new(rc)),
        };
        for field in &upload.fields {
            let part = form.add_part()?;
            let name = c(field.name.as_bytes())?;
            // SAFETY: `part` is a live part of the form; libcurl copies the
            // name and `len` bytes of the value before returning.
            unsafe {
                check(curl_mime_name(part, name.as_ptr()))?;
                check(curl_mime_data(
                    part,
                    field.value.as_ptr().cast(),
                    field.value.len(),
                ))?;
            }
        }
        let part = form.add_part()?;
        let name = c(upload.name.as_bytes())?;
        let path = c(upload.file_path.as_os_str().as_bytes())?;
        let base = upload
            .file_path
            .file_name()
            .map(|n| n.as_bytes())
            .unwrap_or(b"file");
        let filename = c(base)?;
        // SAFETY: `part` is a live part of the form; libcurl copies every
        // string before returning, and opens the file only when it sends it.
        unsafe {
            check(curl_mime_name(part, name.as_ptr()))?;
            check(curl_mime_filedata(part, path.as_ptr()))?;
            check(curl_mime_filename(part, filename.as_ptr()))?;
            check(curl_mime_type(part, c"application/octet-stream".as_ptr()))?;
        }
        // SAFETY: `easy` is live and the option takes a curl_mime pointer,
        // valid until the form is dropped, which unbinds it from `easy`.
        let rc =
            unsafe { curl_sys::curl_easy_setopt(easy, CURLOPT_MIMEPOST, form.mime as *mut c_void) };
        check(rc)?;
        Ok(form)
    }

    fn add_part(&self) -> Result<*mut CurlMimePart, curl::Error> {
        // SAFETY: `mime` is live while the form is.
        let part = unsafe { curl_mime_addpart(self.mime) };
        if part.is_null() {
            return Err(curl::Error::new(curl_sys::CURLE_OUT_OF_MEMORY));
        }
        Ok(part)
    }
}

/// A file the body is read from: its size when it was opened, to tell that
/// it changed while it was sent.
struct SentFile {
    path: std::path::PathBuf,
    size: u64,
}

impl SentFile {
    fn open(path: &Path) -> Result<SentFile, Failure> {
        let size = std::fs::metadata(path)
            .map_err(|e| read_error(path, &e.to_string()))?
            .len();
        Ok(SentFile {
            path: path.to_path_buf(),
            size,
        })
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// After a body was sent: fails if the file is not the size it had.
    fn check_unchanged(&self) -> Result<(), Failure> {
        match std::fs::metadata(&self.path) {
            Ok(m) if m.len() == self.size => Ok(()),
            Ok(m) => Err(read_error(
                &self.path,
                &format!(
                    "its size changed from {} to {} bytes while it was sent",
                    self.size,
                    m.len()
                ),
            )),
            Err(e) => Err(read_error(&self.path, &e.to_string())),
        }
    }
}

/// The `uploadFile:fail file read error: <path>: <why>` failure.
fn read_error(path: &Path, why: &str) -> Failure {
    Failure::new(
        Code::NETTASK_E_FILE,
        format!("file read error: {}: {why}", path.display()),
    )
}

/// Upload progress, coalesced like downloads': at most one event per 1 %
/// step, the last one reporting every byte.
#[derive(Default)]
struct SendProgress {
    /// What libcurl last said went out.
    sent: u64,
    /// The last event's bytes and percentage.
    reported: Option<(u64, u32)>,
}

impl SendProgress {
    /// libcurl says `sent` of `total` body bytes went out (`total` 0 while
    /// unknown). Returns whether more went out than at the last call.
    fn update(&mut self, task: &Task, sent: u64, total: u64) -> bool {
        let more = sent > self.sent;
        self.sent = sent;
        let percent = match total {
            0 => 0,
            total => (sent.min(total) * 100 / total) as u32,
        };
        if total > 0 && self.reported.is_none_or(|(_, p)| p < percent) {
            self.report(task, sent, total, percent);
        }
        more
    }

    /// Before a successful completion: every byte was sent.
    fn finish(&mut self, task: &Task, total: u64) {
        if self.reported.map(|(sent, _)| sent) != Some(total) {
            self.report(task, total, total, 100);
        }
    }

    fn report(&mut self, task: &Task, sent: u64, total: u64, percent: u32) {
        self.reported = Some((sent, percent));
        task.emit_progress(&Progress {
            progress: percent,
            total_bytes_written: 0,
            total_bytes_expected_to_write: -1,
            total_bytes_sent: sent,
            total_bytes_expected_to_send: total as i64,
        });
    }
}
