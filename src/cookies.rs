//! A client's cookie jar (API.md "Cookies"): libcurl's RFC 6265 cookie
//! engine in one share handle that every easy handle of the client links
//! to, so cookies set on one hop or task are sent by the next. API threads
//! reach the jar through a control easy handle of their own: they wait only
//! for the share's cookie lock, which libcurl holds while it adds or picks
//! cookies, never across a network wait or a listener call.

use std::ffi::{c_int, c_void};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

use curl::easy::Easy;
use curl_sys::{CURL, CURLSH, curl_lock_access, curl_lock_data};

use crate::error::{Code, Error};
use crate::util::{curl_result, lock};

/// One lock per kind of data libcurl may lock in a share (CURL_LOCK_DATA_*
/// up to CURL_LOCK_DATA_LAST), held across libcurl's lock and unlock
/// callbacks, which a `MutexGuard` cannot be.
#[derive(Default)]
struct ShareLocks([HeldLock; 8]);

#[derive(Default)]
struct HeldLock {
    held: Mutex<bool>,
    released: Condvar,
}

impl HeldLock {
    fn acquire(&self) {
        let mut held = lock(&self.held);
        while *held {
            held = self.released.wait(held).unwrap_or_else(|e| e.into_inner());
        }
        *held = true;
    }

    fn release(&self) {
        *lock(&self.held) = false;
        self.released.notify_one();
    }
}

extern "C" fn lock_share(
    _: *mut CURL,
    data: curl_lock_data,
    _: curl_lock_access,
    locks: *mut c_void,
) {
    // SAFETY: `locks` is the jar's `ShareLocks`, set as CURLSHOPT_USERDATA,
    // which outlives the share handle (see `Drop for CookieJar`).
    let locks = unsafe { &*locks.cast::<ShareLocks>() };
    if let Some(l) = locks.0.get(data as usize) {
        l.acquire();
    }
}

extern "C" fn unlock_share(_: *mut CURL, data: curl_lock_data, locks: *mut c_void) {
    // SAFETY: as in `lock_share`: the jar's `ShareLocks` outlive the share.
    let locks = unsafe { &*locks.cast::<ShareLocks>() };
    if let Some(l) = locks.0.get(data as usize) {
        l.release();
    }
}

/// The first line libcurl and the curl tool look for in a cookie file.
const FILE_HEADER: &str = "# Netscape HTTP Cookie File\n\
                           # Written by nettask; curl -b reads it too.\n\n";

/// A client's cookie jar.
pub(crate) struct CookieJar {
    share: *mut CURLSH,
    /// Boxed so their address, libcurl's user data, never moves.
    locks: Box<ShareLocks>,
    /// The API's own easy handle, linked to the share; it never transfers.
    control: Mutex<Easy>,
    /// Where the jar is loaded from and saved to.
    file: Option<PathBuf>,
    /// Saves run one at a time, so the newest snapshot is renamed last.
    saving: Mutex<()>,
}

// SAFETY: the share handle is used only through libcurl calls that take
// its locks (linking an easy handle, libcurl's cookie code) and through
// `Drop`; libcurl documents share handles as usable from many threads
// when lock functions are set, which `new` does before anything else.
unsafe impl Send for CookieJar {}
// SAFETY: as for Send: every shared use goes through the share's locks or
// the `control` mutex.
unsafe impl Sync for CookieJar {}

impl CookieJar {
    /// An empty jar, or the one in `file` when it exists. A file that
    /// exists but cannot be read as a cookie file is InvalidArgument.
    pub fn new(file: Option<PathBuf>) -> Result<CookieJar, Error> {
        let internal =
            |what: &str| Error::new(Code::NETTASK_E_INTERNAL, format!("cookie jar: {what}"));
        // SAFETY: plain constructor; NULL is checked.
        let share = unsafe { curl_sys::curl_share_init() };
        if share.is_null() {
            return Err(internal("cannot create a libcurl share handle"));
        }
        let jar = CookieJar {
            share,
            locks: Box::default(),
            control: Mutex::new(Easy::new()),
            file,
            saving: Mutex::new(()),
        };
        let lock_fn: curl_sys::curl_lock_function = lock_share;
        let unlock_fn: curl_sys::curl_unlock_function = unlock_share;
        let locks: *const ShareLocks = &*jar.locks;
        // SAFETY: `share` is live; each option gets the type libcurl reads
        // for it (two functions, a pointer, an int), and the lock functions
        // are set before the share is shared with anything.
        let codes = unsafe {
            [
                curl_sys::curl_share_setopt(share, curl_sys::CURLSHOPT_LOCKFUNC, lock_fn),
                curl_sys::curl_share_setopt(share, curl_sys::CURLSHOPT_UNLOCKFUNC, unlock_fn),
                curl_sys::curl_share_setopt(share, curl_sys::CURLSHOPT_USERDATA, locks),
                curl_sys::curl_share_setopt(
                    share,
                    curl_sys::CURLSHOPT_SHARE,
                    curl_sys::CURL_LOCK_DATA_COOKIE as c_int,
                ),
            ]
        };
        if codes.iter().any(|&c| c != curl_sys::CURLSHE_OK) {
            return Err(internal("libcurl refused the share handle's options"));
        }
        {
            let control = lock(&jar.control);
            // SAFETY: the control handle is live and not in any transfer.
            unsafe { jar.link(control.raw(), true) }
                .map_err(|e| internal(&format!("cannot link the control handle: {e}")))?;
        }
        if let Some(file) = &jar.file {
            jar.load(file)?;
        }
        Ok(jar)
    }

    /// Links `easy` to the jar (`send_and_store`) or unlinks it, for a
    /// request that brings its own Cookie header: that header replaces the
    /// jar's, and the jar learns nothing from its response.
    ///
    /// # Safety
    /// `easy` is a live easy handle that no transfer is using right now,
    /// used by the calling thread only.
    pub unsafe fn link(&self, easy: *mut CURL, send_and_store: bool) -> Result<(), curl::Error> {
        // SAFETY: `easy` is live and idle (the caller's promise); a NULL
        // share unlinks, the other calls take the types libcurl reads.
        unsafe {
            curl_result(curl_sys::curl_easy_setopt(
                easy,
                curl_sys::CURLOPT_SHARE,
                std::ptr::null_mut::<CURLSH>(),
            ))?;
            if send_and_store {
                // A share's cookies are used only by a handle whose cookie
                // engine is on; an (ignored) empty cookie line turns it on.
                curl_result(curl_sys::curl_easy_setopt(
                    easy,
                    curl_sys::CURLOPT_COOKIELIST,
                    c"".as_ptr(),
                ))?;
                curl_result(curl_sys::curl_easy_setopt(
                    easy,
                    curl_sys::CURLOPT_SHARE,
                    self.share,
                ))?;
            }
        }
        Ok(())
    }

    fn load(&self, file: &Path) -> Result<(), Error> {
        let unreadable = |why: &dyn std::fmt::Display| {
            Error::invalid_argument(format!(
                "cookie_file {} cannot be read: {why}",
                file.display()
            ))
        };
        let bytes = match fs::read(file) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(unreadable(&e)),
        };
        if bytes.contains(&0) {
            return Err(unreadable(&"it is not a text file of cookie lines"));
        }
        let mut control = lock(&self.control);
        // libcurl reads "-" as standard input.
        let name = if file.as_os_str() == "-" {
            Path::new("./-")
        } else {
            file
        };
        control
            .cookie_file(name)
            .and_then(|()| control.cookie_list("RELOAD"))
            .map_err(|e| unreadable(&e))
    }

    /// Adds one cookie: a Netscape-format line, or "Set-Cookie: ..." with
    /// a Domain attribute (there is no response to take the host from).
    pub fn set(&self, line: &str) -> Result<(), Error> {
        let cookie = parse_line(line).map_err(|why| {
            Error::invalid_argument(format!("not a cookie line ({why}): {line:?}"))
        })?;
        let refused = |e: &dyn std::fmt::Display| {
            Error::invalid_argument(format!("libcurl refused the cookie ({e}): {line:?}"))
        };
        // libcurl drops a cookie it refuses without a word: try it in an
        // empty jar of its own first, where finding it costs nothing
        // (listing the shared jar would cost its size, under its lock).
        if cookie.check_kept {
            let mut trial = Easy::new();
            trial.cookie_list(line).map_err(|e| refused(&e))?;
            if !netscape_lines(&mut trial)?
                .iter()
                .any(|l| cookie.matches(l))
            {
                return Err(refused(&"RFC 6265 rules"));
            }
        }
        let mut control = lock(&self.control);
        if cookie.is_header {
            // libcurl takes at most 50 Set-Cookie lines per transfer, and
            // the control handle never starts one: a reset (and a new link)
            // starts its count again.
            control.reset();
            // SAFETY: the control handle is live and in no transfer.
            unsafe { self.link(control.raw(), true) }.map_err(|e| refused(&e))?;
        }
        control.cookie_list(line).map_err(|e| refused(&e))
    }

    /// The jar in Netscape format, one cookie per line.
    pub fn netscape(&self) -> Result<String, Error> {
        let lines = netscape_lines(&mut lock(&self.control))?;
        Ok(lines.iter().map(|l| format!("{l}\n")).collect())
    }

    pub fn clear(&self) -> Result<(), Error> {
        lock(&self.control)
            .cookie_list("ALL")
            .map_err(|e| Error::new(Code::NETTASK_E_INTERNAL, format!("cookie jar: {e}")))
    }

    /// Whether the jar has a file to save to.
    pub fn has_file(&self) -> bool {
        self.file.is_some()
    }

    /// Writes the jar to its file atomically: a temporary file beside it,
    /// synced, then renamed over it, so a crash leaves the old jar or the
    /// new one, never a mix. Session cookies are kept (as libcurl does),
    /// so a login survives the restart that reloads the jar.
    pub fn save(&self) -> Result<(), Error> {
        let Some(file) = &self.file else {
            return Err(Error::invalid_state(
                "the client has no cookie_file to save the jar to",
            ));
        };
        let _one_at_a_time = lock(&self.saving);
        let contents = format!("{FILE_HEADER}{}", self.netscape()?);
        write_atomically(file, contents.as_bytes()).map_err(|e| {
            Error::new(
                Code::NETTASK_E_FILE,
                format!(
                    "cannot save the cookie jar to {}: {e}; the jar is kept in memory",
                    file.display()
                ),
            )
        })
    }
}

impl Drop for CookieJar {
    fn drop(&mut self) {
        // SAFETY: the control handle is live and idle; unlinking it leaves
        // the share without users once the event loop's handles are gone
        // (the loop holds the jar until it has dropped them).
        let _ = unsafe { self.link(lock(&self.control).raw(), false) };
        // SAFETY: `share` is live and no longer used by this jar.
        let code = unsafe { curl_sys::curl_share_cleanup(self.share) };
        if code != curl_sys::CURLSHE_OK {
            // Still in use: libcurl may call the lock functions later, so
            // their user data must stay.
            Box::leak(std::mem::take(&mut self.locks));
        }
    }
}

fn netscape_lines(control: &mut Easy) -> Result<Vec<String>, Error> {
    let list = control
        .cookies()
        .map_err(|e| Error::new(Code::NETTASK_E_INTERNAL, format!("cookie jar: {e}")))?;
    Ok(list
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect())
}

/// What `CookieJar::set` checks a line against once libcurl took it.
#[derive(Debug, PartialEq, Eq)]
struct Cookie<'a> {
    name: &'a str,
    value: &'a str,
    /// Without a leading dot or "#HttpOnly_".
    domain: &'a str,
    /// `None`: the Set-Cookie line names none (libcurl picks "/").
    path: Option<&'a str>,
    /// A "Set-Cookie:" line, not a Netscape one.
    is_header: bool,
    /// False for a line that may delete rather than add (an expiry).
    check_kept: bool,
}

impl Cookie<'_> {
    /// Whether a jar line (Netscape format) holds this cookie.
    fn matches(&self, jar_line: &str) -> bool {
        let fields: Vec<&str> = jar_line.split('\t').collect();
        fields.len() == 7
            && bare_domain(fields[0]).eq_ignore_ascii_case(self.domain)
            && self.path.is_none_or(|p| p == fields[2])
            && fields[5] == self.name
            && fields[6] == self.value
    }
}

fn bare_domain(domain: &str) -> &str {
    let domain = domain.strip_prefix("#HttpOnly_").unwrap_or(domain);
    domain.strip_prefix('.').unwrap_or(domain)
}

/// Checks the form of a line `nettask_client_set_cookie` takes.
fn parse_line(line: &str) -> Result<Cookie<'_>, &'static str> {
    if line.contains(['\r', '\n']) {
        return Err("it holds a line break");
    }
    if let Some(header) = strip_prefix_ignore_case(line, "set-cookie:") {
        let mut parts = header.split(';');
        let (name, value) = parts
            .next()
            .and_then(|pair| pair.split_once('='))
            .map(|(n, v)| (n.trim(), v.trim()))
            .ok_or("no name=value")?;
        if name.is_empty() {
            return Err("an empty cookie name");
        }
        let attribute = |wanted: &str| {
            parts.clone().find_map(|a| {
                let (key, value) = a.split_once('=').unwrap_or((a, ""));
                key.trim()
                    .eq_ignore_ascii_case(wanted)
                    .then(|| value.trim())
            })
        };
        let domain = attribute("domain")
            .map(bare_domain)
            .filter(|d| !d.is_empty())
            .ok_or("a Set-Cookie line needs a Domain attribute")?;
        let check_kept = attribute("max-age").is_none() && attribute("expires").is_none();
        return Ok(Cookie {
            name,
            value,
            domain,
            path: attribute("path").filter(|p| p.starts_with('/')),
            is_header: true,
            check_kept,
        });
    }
    let fields: Vec<&str> = line.split('\t').collect();
    let [domain, _subdomains, path, _secure, expires, name, value] = fields[..] else {
        return Err("a Netscape line has 7 tab-separated fields");
    };
    let bool_field = |f: &str| f.eq_ignore_ascii_case("true") || f.eq_ignore_ascii_case("false");
    if bare_domain(domain).is_empty() {
        return Err("an empty domain");
    }
    if !bool_field(fields[1]) || !bool_field(fields[3]) {
        return Err("fields 2 and 4 are TRUE or FALSE");
    }
    if !path.starts_with('/') {
        return Err("the path starts with /");
    }
    let expires: i64 = expires
        .parse()
        .map_err(|_| "the expiry is a number of seconds")?;
    if name.is_empty() {
        return Err("an empty cookie name");
    }
    Ok(Cookie {
        name,
        value,
        domain: bare_domain(domain),
        path: Some(path),
        is_header: false,
        check_kept: expires == 0 || expires > unix_now(),
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Writes `contents` to `path` through a synced temporary file in the same
/// directory and a rename, then syncs the directory so the rename lasts.
fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    static SAVES: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let mut temporary = name.to_os_string();
    temporary.push(format!(
        ".{}-{}.tmp",
        std::process::id(),
        SAVES.fetch_add(1, Ordering::Relaxed)
    ));
    let temporary = dir.join(temporary);
    let written = (|| {
        // Cookies are credentials: owner-only, like curl's jars.
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written?;
    // Some file systems cannot sync a directory; the rename stands anyway.
    let _ = File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_lines_need_a_domain_and_a_name() {
        let ok = parse_line("Set-Cookie: a=1; Domain=example.com; Path=/").unwrap();
        assert_eq!((ok.name, ok.value, ok.check_kept), ("a", "1", true));
        let deleting = parse_line("set-cookie: a=; domain=example.com; Max-Age=0").unwrap();
        assert!(!deleting.check_kept);
        assert!(parse_line("Set-Cookie: a=1; Path=/").is_err());
        assert!(parse_line("Set-Cookie: =1; Domain=x.com").is_err());
        assert!(parse_line("Set-Cookie: novalue; Domain=x.com").is_err());
        assert!(parse_line("Set-Cookie: a=1; Domain=x.com\r\nX: y").is_err());
    }

    #[test]
    fn netscape_lines_have_seven_checked_fields() {
        let line = "example.com\tFALSE\t/\tFALSE\t0\tsid\tabc";
        assert_eq!(parse_line(line).unwrap().name, "sid");
        assert!(parse_line("#HttpOnly_.example.com\tTRUE\t/\tTRUE\t0\tsid\tabc").is_ok());
        assert!(
            !parse_line("example.com\tFALSE\t/\tFALSE\t1\tsid\tabc")
                .unwrap()
                .check_kept
        );
        for bad in [
            "example.com\tFALSE\t/\tFALSE\t0\tsid",
            "\tFALSE\t/\tFALSE\t0\tsid\tabc",
            "example.com\tmaybe\t/\tFALSE\t0\tsid\tabc",
            "example.com\tFALSE\tnoslash\tFALSE\t0\tsid\tabc",
            "example.com\tFALSE\t/\tFALSE\tsoon\tsid\tabc",
            "example.com\tFALSE\t/\tFALSE\t0\t\tabc",
        ] {
            assert!(parse_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_saved_jar_replaces_the_file_whole() {
        let dir = std::env::temp_dir().join(format!("nettask-jar-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("jar.txt");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        let into_dir = write_atomically(&dir, b"x").unwrap_err();
        assert!(into_dir.to_string().contains("directory"), "{into_dir}");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
