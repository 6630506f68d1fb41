//! The body of a download: a temporary file beside the destination, renamed
//! into place on success and removed otherwise, with coalesced progress.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::{Code, Failure};
use crate::result::Progress;
use crate::task::Task;

/// What is gathered before one write to the file. libcurl hands a write
/// callback at most 16 KiB (CURL_MAX_WRITE_SIZE) whatever its receive
/// buffer, so unbuffered, a 256 MiB download was 16,384 writes.
const WRITE_BUFFER: usize = 256 * 1024;

/// Progress events without a known total are at most this frequent.
const UNKNOWN_TOTAL_INTERVAL: Duration = Duration::from_millis(100);

pub(crate) struct FileBody {
    file: BufWriter<File>,
    temp_path: PathBuf,
    destination: PathBuf,
    /// Removed on drop unless the download was persisted.
    persisted: bool,
    expected: Option<u64>,
    reported_bytes: Option<u64>,
    reported_percent: Option<u32>,
    reported_at: Option<Instant>,
}

fn file_error(path: &Path, err: &std::io::Error) -> Failure {
    Failure::new(
        Code::NETTASK_E_FILE,
        format!("download save file error: {}: {err}", path.display()),
    )
}

/// A name no other download of this process, or of another, is using.
fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}{}-{}-{nanos:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl FileBody {
    /// Creates the temporary file: beside `file_path`, or in `temp_dir` (the
    /// OS temp dir when `None`) for a download without a destination.
    pub fn create(file_path: Option<&Path>, temp_dir: Option<&Path>) -> Result<FileBody, Failure> {
        let destination = match file_path {
            Some(path) => path.to_path_buf(),
            None => temp_dir
                .map(Path::to_path_buf)
                .unwrap_or_else(std::env::temp_dir)
                .join(unique_name("nettask-download-")),
        };
        let dir = match destination.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let temp_path = dir.join(unique_name(".nettask-part-"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp_path)
            .map_err(|e| file_error(&destination, &e))?;
        Ok(FileBody {
            file: BufWriter::with_capacity(WRITE_BUFFER, file),
            temp_path,
            destination,
            persisted: false,
            expected: None,
            reported_bytes: None,
            reported_percent: None,
            reported_at: None,
        })
    }

    pub fn set_expected(&mut self, total: Option<u64>) {
        self.expected = total;
    }

    /// Writes one piece of the body; `written` counts every byte so far.
    pub fn write(&mut self, task: &Task, data: &[u8], written: u64) -> Result<(), Failure> {
        self.file
            .write_all(data)
            .map_err(|e| file_error(&self.destination, &e))?;
        let due = match self.expected {
            Some(_) => self.reported_percent != Some(self.percent(written)),
            None => self
                .reported_at
                .is_none_or(|at| at.elapsed() >= UNKNOWN_TOTAL_INTERVAL),
        };
        if due {
            self.report(task, written);
        }
        Ok(())
    }

    fn percent(&self, written: u64) -> u32 {
        match self.expected {
            Some(0) => 100,
            Some(total) => (written.min(total) * 100 / total) as u32,
            None => 0,
        }
    }

    fn report(&mut self, task: &Task, written: u64) {
        let progress = self.percent(written);
        self.reported_bytes = Some(written);
        self.reported_percent = Some(progress);
        self.reported_at = Some(Instant::now());
        task.emit_progress(&Progress {
            progress,
            total_bytes_written: written,
            total_bytes_expected_to_write: self.expected.map_or(-1, |t| t as i64),
            total_bytes_sent: 0,
            total_bytes_expected_to_send: -1,
        });
    }

    /// Renames the file into place after a last progress event that
    /// reports every byte. Returns the final path.
    pub fn persist(&mut self, task: &Task, written: u64) -> Result<PathBuf, Failure> {
        self.file
            .flush()
            .and_then(|()| std::fs::rename(&self.temp_path, &self.destination))
            .map_err(|e| file_error(&self.destination, &e))?;
        self.persisted = true;
        if self.reported_bytes != Some(written) {
            self.report(task, written);
        }
        Ok(self.destination.clone())
    }
}

impl Drop for FileBody {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}
