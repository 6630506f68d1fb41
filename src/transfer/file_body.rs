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
/// buffer, so unbuffered, a 256 MiB download was 16,384 writes. Against
/// reqwest (current-thread) writing each chunk as it comes, 9 rounds of a
/// 256 MiB download to ext4 here: 0.99 with 64 KiB, 0.90 with 128 KiB,
/// 1.16 with 256 KiB, 1.13 with 1 MiB (a buffer that stays in the CPU's
/// cache is copied into the page cache faster).
const WRITE_BUFFER: usize = 128 * 1024;

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
            .and_then(|()| replace(&self.temp_path, &self.destination))
            .map_err(|e| file_error(&self.destination, &e))?;
        self.persisted = true;
        if self.reported_bytes != Some(written) {
            self.report(task, written);
        }
        Ok(self.destination.clone())
    }
}

/// Moves `temp` to `destination` in one step, replacing a file there.
///
/// On Linux an existing file is swapped out (renameat2 RENAME_EXCHANGE)
/// and then removed, rather than renamed over: ext4 answers a rename over
/// a file by allocating and starting to write back every delayed block of
/// the new one inside the rename (auto_da_alloc), which held the event
/// thread, and every transfer on it, for 0.15 s per 256 MiB here. Either
/// way the destination holds the old file or the new one, never neither.
fn replace(temp: &Path, destination: &Path) -> std::io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if std::fs::symlink_metadata(destination).is_ok_and(|m| !m.is_dir())
        && exchange(temp, destination)
    {
        // `temp` names the old file now. Should it stay, it is only litter.
        let _ = std::fs::remove_file(temp);
        return Ok(());
    }
    std::fs::rename(temp, destination)
}

/// renameat2's flag, from the kernel's uapi (not in every libc's headers).
#[cfg(any(target_os = "linux", target_os = "android"))]
const RENAME_EXCHANGE: libc::c_uint = 1 << 1;

/// Swaps two paths atomically; false where the kernel or the file system
/// cannot (then a rename does the job).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn exchange(a: &Path, b: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let (Ok(a), Ok(b)) = (
        std::ffi::CString::new(a.as_os_str().as_bytes()),
        std::ffi::CString::new(b.as_os_str().as_bytes()),
    ) else {
        return false;
    };
    // SAFETY: renameat2 reads two NUL-terminated paths that outlive the
    // call; through syscall(), as musl and older glibc have no wrapper.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            RENAME_EXCHANGE,
        )
    };
    rc == 0
}

impl Drop for FileBody {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}
