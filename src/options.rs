//! Client and request options as owned Rust values, and their validation.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::Error;

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
        }
    }
}

impl ClientOptions {
    /// Checks what libcurl would refuse at start: a User-Agent that is no
    /// header value, a CA bundle that cannot be read.
    pub fn validate(&self) -> Result<(), Error> {
        validate_header("User-Agent", &self.user_agent)?;
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
        }
    }

    /// Checks everything that can be checked without the network.
    pub fn validate(&self) -> Result<(), Error> {
        validate_url(&self.url)?;
        for h in &self.headers {
            validate_header(&h.name, &h.value)?;
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
        Ok(())
    }
}

/// The longest URL libcurl takes (its CURL_MAX_INPUT_LENGTH).
pub const MAX_URL_LEN: usize = 8_000_000;

/// Accepts absolute `http://` and `https://` URLs with a host and a valid
/// port, and nothing that could split the request line.
pub fn validate_url(url: &str) -> Result<(), Error> {
    if url.len() > MAX_URL_LEN {
        return Err(Error::invalid_argument(format!(
            "the URL is {} bytes long; libcurl takes at most {MAX_URL_LEN}",
            url.len()
        )));
    }
    let bad = |why: &str| {
        Err(Error::invalid_argument(format!(
            "invalid URL {url:?}: {why}"
        )))
    };
    if url.is_empty() {
        return bad("it is empty");
    }
    if url.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return bad("it contains a space or a control character");
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return bad("it has no scheme; use http:// or https://");
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(Error::invalid_argument(format!(
            "unsupported URL scheme {scheme:?} in {url:?}; only http:// and https:// are supported"
        )));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return bad("an IPv6 address is missing its ']'");
        };
        if addr.is_empty()
            || !addr
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return bad("the IPv6 address is malformed");
        }
        match after {
            "" => (addr, None),
            p if p.starts_with(':') => (addr, Some(&p[1..])),
            _ => return bad("unexpected characters after the IPv6 address"),
        }
    } else {
        match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return bad("it has no host");
    }
    let host_ok = |b: u8| b.is_ascii_alphanumeric() || b"-._%:".contains(&b) || b >= 0x80;
    if !host.bytes().all(host_ok) {
        return bad("the host contains characters a host name cannot have");
    }
    let port_ok =
        |p: &str| p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok_and(|p| p != 0);
    if port.is_some_and(|p| !port_ok(p)) {
        return bad("the port is not a number from 1 to 65535");
    }
    Ok(())
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
    fn urls() {
        for ok in [
            "http://127.0.0.1:8080/a?b=c#d",
            "HTTPS://example.com",
            "http://user:pw@host/",
            "http://[::1]:80/x",
            "http://例子.测试/",
        ] {
            assert!(validate_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "example.com",
            "ftp://example.com/",
            "file:///etc/passwd",
            "http://",
            "http:///path",
            "http://exa mple.com/",
            "http://host:0/",
            "http://host:65536/",
            "http://host:80x/",
            "http://[::1/",
            "http://host/\r\nX: y",
        ] {
            assert!(validate_url(bad).is_err(), "{bad}");
        }
        let longest = format!("http://h/{}", "a".repeat(MAX_URL_LEN - 9));
        assert!(validate_url(&longest).is_ok());
        let why = validate_url(&format!("{longest}a")).unwrap_err().message;
        assert_eq!(
            why,
            "the URL is 8000001 bytes long; libcurl takes at most 8000000"
        );
    }

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
