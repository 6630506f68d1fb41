//! Client and request options as owned Rust values, and their validation.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Code, Error};
use crate::framing::Framing;

/// How a client is configured. `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// 0 = unlimited; beyond it started tasks wait in FIFO order.
    pub max_concurrent_tasks: u32,
    /// 0 = libcurl's default.
    pub max_connections_per_host: u32,
    /// Whole-task timeout for requests that do not set their own.
    pub default_timeout: Duration,
    pub user_agent: String,
    /// PEM bundle of trusted CAs; `None` = the system default.
    pub ca_file: Option<PathBuf>,
    /// Proxy URL; `None` = libcurl's environment handling (`http_proxy`, ...).
    pub proxy: Option<String>,
    /// Where downloads without a `file_path` go; `None` = the OS temp dir.
    pub temp_dir: Option<PathBuf>,
    /// Keep a cookie jar for the client's tasks (RFC 6265).
    pub enable_cookies: bool,
    /// Load the jar from here at start, save it here at shutdown.
    pub cookie_file: Option<PathBuf>,
    /// Hosts tasks may reach ("example.com", "*.example.com", optional
    /// ":port"); empty = any host.
    pub allowed_hosts: Vec<String>,
    /// Refuse http:// URLs and redirects to them.
    pub https_only: bool,
    /// Address overrides, "host:port:addr[,addr...]" (curl --resolve).
    pub resolve: Vec<String>,
    /// Resolve names through DNS-over-HTTPS at this https URL.
    pub doh_url: Option<String>,
    /// Where listeners run.
    pub delivery: Delivery,
    /// Queued delivery: a task's body bytes waiting for the host before its
    /// transfer pauses; 0 = 8 MiB.
    pub max_queued_bytes: u64,
}

/// Where a client's listeners run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// On the client's event thread, as events happen.
    #[default]
    EventThread,
    /// Inside `dispatch`, on the host's thread.
    Queued,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            max_concurrent_tasks: 0,
            max_connections_per_host: 0,
            default_timeout: DEFAULT_TIMEOUT,
            user_agent: format!("nettask/{}", env!("CARGO_PKG_VERSION")),
            ca_file: None,
            proxy: None,
            temp_dir: None,
            enable_cookies: false,
            cookie_file: None,
            allowed_hosts: Vec::new(),
            https_only: false,
            resolve: Vec::new(),
            doh_url: None,
            delivery: Delivery::EventThread,
            max_queued_bytes: 0,
        }
    }
}

impl ClientOptions {
    /// Checks what libcurl would refuse at start: a User-Agent that is no
    /// header value, a CA bundle that cannot be read; and a cookie file
    /// without a jar.
    pub fn validate(&self) -> Result<(), Error> {
        validate_header("User-Agent", &self.user_agent)?;
        if self
            .cookie_file
            .as_ref()
            .is_some_and(|f| f.as_os_str().is_empty())
        {
            return Err(Error::invalid_argument(
                "cookie_file is an empty string; give a file path, or NULL for a jar in memory",
            ));
        }
        if self.cookie_file.is_some() && !self.enable_cookies {
            return Err(Error::invalid_argument(
                "cookie_file is set but enable_cookies is not; set both to keep a jar in a file",
            ));
        }
        if let Some(ca) = &self.ca_file {
            let unreadable = |why: String| {
                Error::invalid_argument(format!("ca_file {} cannot be read: {why}", ca.display()))
            };
            let file = std::fs::File::open(ca).map_err(|e| unreadable(e.to_string()))?;
            if file.metadata().is_ok_and(|m| m.is_dir()) {
                return Err(unreadable("it is a directory".into()));
            }
        }
        Ok(())
    }
}

/// The HTTP methods `wx.request` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Options,
    Get,
    Head,
    Post,
    Put,
    Delete,
    Trace,
    Connect,
    Patch,
}

impl Method {
    /// Parses a method name, ignoring ASCII case.
    pub fn parse(name: &str) -> Result<Method, Error> {
        const ALL: [(&str, Method); 9] = [
            ("OPTIONS", Method::Options),
            ("GET", Method::Get),
            ("HEAD", Method::Head),
            ("POST", Method::Post),
            ("PUT", Method::Put),
            ("DELETE", Method::Delete),
            ("TRACE", Method::Trace),
            ("CONNECT", Method::Connect),
            ("PATCH", Method::Patch),
        ];
        ALL.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, m)| *m)
            .ok_or_else(|| {
                Error::invalid_argument(format!(
                    "unsupported method {name:?}; use one of OPTIONS GET HEAD POST PUT DELETE TRACE CONNECT PATCH"
                ))
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Options => "OPTIONS",
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Trace => "TRACE",
            Method::Connect => "CONNECT",
            Method::Patch => "PATCH",
        }
    }
}

/// One HTTP header line, name and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// How one request or download runs. Build with `RequestOptions::new(url)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOptions {
    pub url: String,
    pub method: Method,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
    /// Whole task, from start; `None` = the client's default.
    pub timeout: Option<Duration>,
    /// `false` = "manual": a 3xx is the final response.
    pub follow_redirects: bool,
    pub max_redirects: u32,
    /// Fail with a timeout when no byte arrives for this long.
    pub idle_timeout: Option<Duration>,
    /// Offer HTTP/2 through ALPN on https.
    pub enable_http2: bool,
    /// Do not keep the body for the result (chunk listeners get it).
    pub enable_chunked: bool,
    pub max_response_bytes: Option<u64>,
    /// Downloads: the destination; `None` = a new file in the temp dir.
    pub file_path: Option<PathBuf>,
    /// Speak HTTP/2 from the first byte on http:// (h2c), for servers
    /// known to support it.
    pub http2_prior_knowledge: bool,
    /// The Accept-Encoding to offer and decode; `None` = every coding
    /// nettask decodes, `Some("")` = none (raw bytes).
    pub accept_encoding: Option<String>,
    /// Uploads: the multipart form to send (boxed: most requests have none).
    pub upload: Option<Box<Upload>>,
    /// Stream the body from this file instead of `body`.
    pub body_file: Option<PathBuf>,
    /// Where chunk events are cut.
    pub chunk_framing: Framing,
    /// "sha256//<base64>[;sha256//...]": every TLS peer must match one.
    pub pinned_public_keys: Option<String>,
}

/// `RequestOptions::timeout` for no whole-task limit.
pub const NO_TIMEOUT: Duration = Duration::MAX;

/// The form of an upload: text parts in order, then the file part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub file_path: PathBuf,
    /// The file part's name.
    pub name: String,
    pub fields: Vec<Header>,
}

pub(crate) const DEFAULT_MAX_REDIRECTS: u32 = 15;

impl RequestOptions {
    pub fn new(url: impl Into<String>) -> RequestOptions {
        RequestOptions {
            url: url.into(),
            method: Method::Get,
            headers: Vec::new(),
            body: Vec::new(),
            timeout: None,
            follow_redirects: true,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            idle_timeout: None,
            enable_http2: true,
            enable_chunked: false,
            max_response_bytes: None,
            file_path: None,
            http2_prior_knowledge: false,
            accept_encoding: None,
            upload: None,
            body_file: None,
            chunk_framing: Framing::Raw,
            pinned_public_keys: None,
        }
    }

    /// Whether the request sends a body: bytes, a file, or an upload form.
    pub fn sends_body(&self) -> bool {
        !self.body.is_empty() || self.body_file.is_some() || self.upload.is_some()
    }

    /// Checks everything that can be checked without the network, and
    /// puts the URL in the form it is sent in (WHATWG-serialised).
    pub fn checked(mut self) -> Result<RequestOptions, Error> {
        self.url = crate::url::request_url(&self.url)?;
        for h in &self.headers {
            validate_header(&h.name, &h.value)?;
        }
        if !self.body.is_empty() && self.body_file.is_some() {
            return Err(Error::invalid_argument(
                "body and body_file_path are both set; a request sends one body",
            ));
        }
        if let Some(path) = &self.body_file {
            check_readable(path, "body_file_path")?;
        }
        if let Some(upload) = &self.upload {
            check_part_name(&upload.name, "upload_name")?;
            for (i, field) in upload.fields.iter().enumerate() {
                check_part_name(&field.name, &format!("form_fields[{i}].name"))?;
            }
            check_readable(&upload.file_path, "upload_file_path")?;
        }
        if let Some(codings) = &self.accept_encoding {
            validate_header("Accept-Encoding", codings)
                .map_err(|e| Error::invalid_argument(format!("accept_encoding: {}", e.message)))?;
        }
        if let Some(pins) = &self.pinned_public_keys {
            check_pins(pins)?;
        }
        if let Some(path) = &self.file_path {
            if path.as_os_str().is_empty() {
                return Err(Error::invalid_argument("file_path is an empty string"));
            }
            if path.file_name().is_none() {
                return Err(Error::invalid_argument(format!(
                    "file_path {} does not name a file",
                    path.display()
                )));
            }
        }
        Ok(self)
    }
}

/// `pinned_public_keys`: libcurl's "sha256//<base64 of 32 bytes>" hashes,
/// separated by ";" (libcurl would take a file name too; the API does not).
fn check_pins(pins: &str) -> Result<(), Error> {
    if !pins_supported() {
        return Err(Error::invalid_argument(
            "pinned_public_keys: this build's TLS library (rustls in libcurl 8.22) cannot pin \
             public keys; build nettask with OpenSSL, or leave it NULL",
        ));
    }
    let base64 = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    for pin in pins.split(';') {
        let ok = pin.strip_prefix("sha256//").is_some_and(|hash| {
            let b = hash.as_bytes();
            // 32 bytes are 43 base64 digits and one "=".
            b.len() == 44 && b[..43].iter().all(|&c| base64(c)) && b[43] == b'='
        });
        if !ok {
            return Err(Error::invalid_argument(format!(
                "pinned_public_keys: {pin:?} is not sha256// followed by the base64 SHA-256 \
                 of a public key (44 characters); separate pins with \";\""
            )));
        }
    }
    Ok(())
}

/// Whether libcurl's TLS backend takes CURLOPT_PINNEDPUBLICKEY, asked once.
pub fn pins_supported() -> bool {
    static SUPPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        let pin = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        // CURLE_NOT_BUILT_IN (4), which curl-sys does not name.
        !matches!(curl::easy::Easy::new().pinned_public_key(pin), Err(e) if e.code() == 4)
    })
}

/// A multipart part name goes into `Content-Disposition: form-data;
/// name="..."`: it cannot hold CR, LF or a quote.
fn check_part_name(name: &str, what: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::invalid_argument(format!("{what} is empty")));
    }
    if name.contains(['\r', '\n', '"']) {
        return Err(Error::invalid_argument(format!(
            "{what} {name:?} contains CR, LF or a quote, which a form part name cannot hold"
        )));
    }
    Ok(())
}

/// A file to send must open for reading now (it is opened again, and read,
/// when it is sent).
fn check_readable(path: &Path, what: &str) -> Result<(), Error> {
    let file_error = |why: String| {
        Error::new(
            Code::NETTASK_E_FILE,
            format!("{what} {}: {why}", path.display()),
        )
    };
    let file = std::fs::File::open(path).map_err(|e| file_error(e.to_string()))?;
    match file.metadata() {
        Ok(m) if m.is_dir() => Err(file_error("it is a directory".into())),
        Ok(_) => Ok(()),
        Err(e) => Err(file_error(e.to_string())),
    }
}

/// Accepts an RFC 9110 token as the name and a value without CR, LF or NUL.
pub fn validate_header(name: &str, value: &str) -> Result<(), Error> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(Error::invalid_argument(format!(
            "invalid header name {name:?}: a header name is a non-empty token without spaces, colons or control characters"
        )));
    }
    if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err(Error::invalid_argument(format!(
            "invalid value for header {name:?}: it contains CR, LF or NUL"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_methods() {
        assert!(validate_header("X-Trace-Id", "a b\tc").is_ok());
        assert!(validate_header("", "v").is_err());
        assert!(validate_header("Bad Name", "v").is_err());
        assert!(validate_header("X:y", "v").is_err());
        assert!(validate_header("X", "a\r\nInjected: 1").is_err());
        assert_eq!(Method::parse("patch").unwrap(), Method::Patch);
        assert!(Method::parse("FETCH").is_err());
        assert!(Method::parse("GE T").is_err());
    }
}
