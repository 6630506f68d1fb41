//! Response heads: the status line and header fields as libcurl hands them
//! to the header callback, one line at a time.

use std::ffi::CStr;
use std::ops::Range;

/// Response header fields in wire order, repeated names kept. One buffer
/// holds every name and value NUL-terminated, so a head costs two
/// allocations however many fields it has, and C views borrow from it. A
/// NUL byte sent by a server is dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderFields {
    text: Vec<u8>,
    /// Each field's name and value in `text`, without their NULs.
    fields: Vec<(Range<usize>, Range<usize>)>,
}

impl HeaderFields {
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// (name, value) pairs in wire order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&CStr, &CStr)> {
        self.fields
            .iter()
            .map(|(name, value)| (self.c_str(name), self.c_str(value)))
    }

    /// The value of the first field with this name, ignoring ASCII case.
    pub fn get(&self, name: &str) -> Option<&CStr> {
        self.fields
            .iter()
            .find(|(n, _)| self.text[n.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, value)| self.c_str(value))
    }

    fn c_str(&self, range: &Range<usize>) -> &CStr {
        let with_nul = &self.text[range.start..=range.end];
        // SAFETY: `push_c_str` wrote the range's bytes without any NUL and
        // one NUL right after them, so `with_nul` is a C string.
        unsafe { CStr::from_bytes_with_nul_unchecked(with_nul) }
    }

    fn push(&mut self, name: &[u8], value: &[u8]) {
        let name = self.push_c_str(name);
        let value = self.push_c_str(value);
        self.fields.push((name, value));
    }

    /// Appends to the last value (an obs-fold continuation line).
    fn extend_last(&mut self, more: &[u8]) {
        let Some((_, value)) = self.fields.last() else {
            return;
        };
        let start = value.start;
        self.text[value.end] = b' '; // the value's NUL
        let more = self.push_c_str(more);
        if let Some((_, value)) = self.fields.last_mut() {
            *value = start..more.end;
        }
    }

    /// Appends `bytes` without NULs, then a NUL; where the bytes went.
    fn push_c_str(&mut self, bytes: &[u8]) -> Range<usize> {
        let start = self.text.len();
        if bytes.contains(&0) {
            self.text.extend(bytes.iter().filter(|&&b| b != 0));
        } else {
            self.text.extend_from_slice(bytes);
        }
        let end = self.text.len();
        self.text.push(0);
        start..end
    }
}

/// The status line and headers of one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status_code: i32,
    /// "1.0", "1.1", "2" or "3".
    pub http_version: &'static CStr,
    pub headers: HeaderFields,
}

impl ResponseHead {
    pub fn content_length(&self) -> Option<u64> {
        self.headers
            .get("content-length")?
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
            || (following_redirects && redirect && self.headers.get("location").is_some())
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
            head.headers.extend_last(trim(line));
        } else if let Some(colon) = line.iter().position(|&b| b == b':') {
            head.headers
                .push(trim(&line[..colon]), trim(&line[colon + 1..]));
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
        // Room for a typical head, so pushing fields rarely reallocates.
        headers: HeaderFields {
            text: Vec::with_capacity(512),
            fields: Vec::with_capacity(16),
        },
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
            .map(|(n, v)| {
                (
                    n.to_str().unwrap().to_owned(),
                    v.to_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(pairs[0], ("set-cookie".into(), "a=1".into()));
        assert_eq!(pairs[1], ("Set-Cookie".into(), "b=2".into()));
        assert_eq!(pairs[2], ("X-Long".into(), "one two".into()));
        assert_eq!(head.content_length(), Some(42));
        assert_eq!(head.headers.get("SET-COOKIE"), Some(c"a=1"));
    }

    #[test]
    fn drops_nul_bytes_sent_by_a_server() {
        let mut p = HeadParser::default();
        p.feed(b"HTTP/1.1 200 OK\r\n");
        p.feed(b"X-A\0: b\0c\r\n");
        let head = p.feed(b"\r\n").unwrap();
        let (name, value) = head.headers.iter().next().unwrap();
        assert_eq!((name, value), (c"X-A", c"bc"));
    }
}
