//! Response heads: the status line and header fields as libcurl hands them
//! to the header callback, one line at a time.

use std::ffi::{CStr, CString};

/// One response header field. Kept as C strings so the C view borrows them
/// without copying; a NUL byte sent by a server is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderField {
    pub name: CString,
    pub value: CString,
}

impl HeaderField {
    fn new(name: &[u8], value: &[u8]) -> HeaderField {
        HeaderField {
            name: c_string(name),
            value: c_string(value),
        }
    }

    pub fn name(&self) -> &str {
        self.name.to_str().unwrap_or("")
    }

    pub fn value_lossy(&self) -> String {
        self.value.to_string_lossy().into_owned()
    }
}

fn c_string(bytes: &[u8]) -> CString {
    let clean: Vec<u8> = bytes.iter().copied().filter(|&b| b != 0).collect();
    CString::new(clean).unwrap_or_default()
}

/// The status line and headers of one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status_code: i32,
    /// "1.0", "1.1", "2" or "3".
    pub http_version: &'static CStr,
    /// In wire order, repeated names kept.
    pub headers: Vec<HeaderField>,
}

impl ResponseHead {
    /// The first header with this name, ignoring ASCII case.
    pub fn header(&self, name: &str) -> Option<&HeaderField> {
        self.headers
            .iter()
            .find(|h| h.name().eq_ignore_ascii_case(name))
    }

    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length")?
            .value
            .to_str()
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Whether libcurl moves on from this response: an interim 1xx, or a
    /// redirect it follows. The other responses are final.
    pub fn is_interim(&self, following_redirects: bool) -> bool {
        let redirect = matches!(self.status_code, 301 | 302 | 303 | 307 | 308);
        (100..200).contains(&self.status_code)
            || (following_redirects && redirect && self.header("location").is_some())
    }
}

/// Collects header lines into complete response heads.
#[derive(Debug, Default)]
pub struct HeadParser {
    current: Option<ResponseHead>,
}

impl HeadParser {
    /// Feeds one line (with its CRLF). Returns the head when the blank line
    /// that ends it arrives.
    pub fn feed(&mut self, line: &[u8]) -> Option<ResponseHead> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return self.current.take();
        }
        if let Some(head) = parse_status_line(line) {
            self.current = Some(head);
            return None;
        }
        let head = self.current.as_mut()?;
        if matches!(line[0], b' ' | b'\t') {
            // obs-fold: a continuation of the previous value.
            if let Some(last) = head.headers.last_mut() {
                let mut value = last.value.as_bytes().to_vec();
                value.push(b' ');
                value.extend_from_slice(trim(line));
                last.value = c_string(&value);
            }
        } else if let Some(colon) = line.iter().position(|&b| b == b':') {
            head.headers.push(HeaderField::new(
                trim(&line[..colon]),
                trim(&line[colon + 1..]),
            ));
        }
        None
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b" \t".contains(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b" \t".contains(b))
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

fn parse_status_line(line: &[u8]) -> Option<ResponseHead> {
    let rest = line.strip_prefix(b"HTTP/")?;
    let mut parts = rest.splitn(3, |&b| b == b' ');
    let http_version: &'static CStr = match parts.next()? {
        b"1.0" => c"1.0",
        b"1.1" => c"1.1",
        b"2" | b"2.0" => c"2",
        b"3" => c"3",
        _ => return None,
    };
    let status_code = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    Some(ResponseHead {
        status_code,
        http_version,
        headers: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_heads_in_wire_order() {
        let mut p = HeadParser::default();
        assert!(p.feed(b"HTTP/1.1 302 Found\r\n").is_none());
        p.feed(b"Location: /next\r\n");
        let first = p.feed(b"\r\n").unwrap();
        assert!(first.is_interim(true));
        assert!(!first.is_interim(false));

        p.feed(b"HTTP/2 200\r\n");
        p.feed(b"set-cookie: a=1\r\n");
        p.feed(b"Set-Cookie:  b=2 \r\n");
        p.feed(b"X-Long: one\r\n");
        p.feed(b"\t two\r\n");
        p.feed(b"Content-Length: 42\r\n");
        let head = p.feed(b"\r\n").unwrap();
        assert_eq!(head.status_code, 200);
        assert_eq!(head.http_version, c"2");
        let pairs: Vec<(String, String)> = head
            .headers
            .iter()
            .map(|h| (h.name().to_owned(), h.value_lossy()))
            .collect();
        assert_eq!(pairs[0], ("set-cookie".into(), "a=1".into()));
        assert_eq!(pairs[1], ("Set-Cookie".into(), "b=2".into()));
        assert_eq!(pairs[2], ("X-Long".into(), "one two".into()));
        assert_eq!(head.content_length(), Some(42));
    }
}
