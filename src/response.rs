//! Response heads: the status line and header fields as libcurl hands them
//! to the header callback, one line at a time.

use std::ffi::CStr;
use std::ops::Range;

use crate::util::quote;

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
    pub fn get<'a>(&'a self, name: &'a str) -> Option<&'a CStr> {
        self.all(name).next()
    }

    /// The values of every field with this name, in wire order, ignoring
    /// ASCII case (e.g. each Set-Cookie).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a CStr> {
        self.fields
            .iter()
            .filter(move |(n, _)| self.text[n.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, value)| self.c_str(value))
    }

    fn c_str(&self, range: &Range<usize>) -> &CStr {
        let with_nul = &self.text[range.start..=range.end];
        // SAFETY: `push_c_str` wrote the range's bytes, which come from a
        // line `HeadParser::feed` cleared of NULs, and one NUL right after
        // them, so `with_nul` is a C string.
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

    /// Appends `bytes`, which hold no NUL (`HeadParser::feed` dropped
    /// any), then a NUL; where the bytes went.
    fn push_c_str(&mut self, bytes: &[u8]) -> Range<usize> {
        let start = self.text.len();
        self.text.extend_from_slice(bytes);
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

    /// An interim 1xx response: libcurl reads the final one after it.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status_code)
    }

    /// Where a redirect that fetch follows points: a 301, 302, 303, 307 or
    /// 308 with a non-blank `Location`. Any other response is final.
    pub fn redirect_location(&self) -> Option<&CStr> {
        if !matches!(self.status_code, 301 | 302 | 303 | 307 | 308) {
            return None;
        }
        self.headers
            .get("location")
            .filter(|l| !l.to_bytes().iter().all(u8::is_ascii_whitespace))
    }
}

/// Collects header lines into complete response heads.
#[derive(Debug, Default)]
pub struct HeadParser {
    current: Option<ResponseHead>,
}

/// A head that is not valid HTTP, with a sentence saying what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl HeadParser {
    /// Feeds one line (with its CRLF). Returns the head when the blank line
    /// that ends it arrives. libcurl hands over the lines of every head it
    /// accepts; the first must be a status line as RFC 9112 writes it,
    /// which libcurl checks less strictly (it takes `http/1.1 200` or a
    /// tab between fields).
    pub fn feed(&mut self, line: &[u8]) -> Result<Option<ResponseHead>, Malformed> {
        // libcurl refuses a NUL in a head (and nghttp2 in a field), but the
        // C strings made of the fields must not rely on that.
        let without_nul: Vec<u8>;
        let line = match memchr::memchr(0, line) {
            None => line,
            Some(_) => {
                without_nul = line.iter().copied().filter(|&b| b != 0).collect();
                &without_nul
            }
        };
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(head) = self.current.as_mut() else {
            return match parse_status_line(line) {
                Some(head) => {
                    self.current = Some(head);
                    Ok(None)
                }
                None => Err(Malformed(format!(
                    "the server sent a malformed status line: {}",
                    quote(line)
                ))),
            };
        };
        if line.is_empty() {
            return Ok(self.current.take());
        }
        if matches!(line[0], b' ' | b'\t') {
            // obs-fold: a continuation of the previous value.
            head.headers.extend_last(trim(line));
        } else if let Some(colon) = memchr::memchr(b':', line) {
            head.headers
                .push(trim(&line[..colon]), trim(&line[colon + 1..]));
        }
        Ok(None)
    }
}

/// Without the optional whitespace (spaces and tabs) at either end.
fn trim(bytes: &[u8]) -> &[u8] {
    let ows = |b: &u8| matches!(b, b' ' | b'\t');
    let start = bytes.iter().position(|b| !ows(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !ows(b)).map_or(start, |e| e + 1);
    &bytes[start..end]
}

/// `HTTP/<digit>.<digit> <3 digits>[ <reason>]` as RFC 9112 has it (the
/// reason may be missing, as many servers send it), or the `HTTP/2 200`
/// and `HTTP/3 200` lines libcurl writes for those protocols.
fn parse_status_line(line: &[u8]) -> Option<ResponseHead> {
    let rest = line.strip_prefix(b"HTTP/")?;
    let (version, rest) = rest.split_at_checked(rest.iter().position(|&b| b == b' ')?)?;
    let http_version: &'static CStr = match version {
        b"1.0" => c"1.0",
        b"1.1" => c"1.1",
        b"2" => c"2",
        b"3" => c"3",
        _ => return None,
    };
    let (code, reason) = rest[1..].split_at_checked(3)?;
    if !code.iter().all(u8::is_ascii_digit) || code[0] == b'0' {
        return None;
    }
    if !(reason.is_empty() || reason[0] == b' ') {
        return None;
    }
    let status_code = code.iter().fold(0, |n, &d| n * 10 + i32::from(d - b'0'));
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

    fn feed_all(p: &mut HeadParser, lines: &[&[u8]]) -> Option<ResponseHead> {
        lines.iter().map(|l| p.feed(l).unwrap()).last().flatten()
    }

    #[test]
    fn parses_heads_in_wire_order() {
        let mut p = HeadParser::default();
        let first = feed_all(
            &mut p,
            &[b"HTTP/1.1 302 Found\r\n", b"Location: /next\r\n", b"\r\n"],
        );
        let first = first.unwrap();
        assert!(!first.is_interim());
        assert_eq!(first.redirect_location(), Some(c"/next"));

        let head = feed_all(
            &mut p,
            &[
                b"HTTP/2 200 \r\n",
                b"set-cookie: a=1\r\n",
                b"Set-Cookie:  b=2 \r\n",
                b"X-Long: one\r\n",
                b"\t two\r\n",
                b"Content-Length: 42\r\n",
                b"\r\n",
            ],
        )
        .unwrap();
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
        assert_eq!(head.redirect_location(), None);
    }

    #[test]
    fn accepts_only_rfc_9112_status_lines() {
        for ok in [
            &b"HTTP/1.1 200 OK\r\n"[..],
            b"HTTP/1.0 404 Not Found\r\n",
            b"HTTP/1.1 200\r\n",
            b"HTTP/1.1 599 \r\n",
            b"HTTP/1.1 200 OK \t with\ttabs\r\n",
            b"HTTP/2 200 \r\n",
            b"HTTP/3 103 \r\n",
        ] {
            let head = HeadParser::default().feed(ok);
            assert_eq!(head, Ok(None), "{}", ok.escape_ascii());
        }
        for bad in [
            &b"http/1.1 200 OK\r\n"[..],
            b"HTTP/1.1\t200\tOK\r\n",
            b"HTTP/1.2 200 OK\r\n",
            b"HTTP/2.0 200 OK\r\n",
            b"HTTP/1.1 20 OK\r\n",
            b"HTTP/1.1 abc OK\r\n",
            b"HTTP/1.1 0200 OK\r\n",
            b"HTTP/1.1 2000 OK\r\n",
            b"HTTP/1.1 099 OK\r\n",
            b"HTTP/1.1  200 OK\r\n",
            b"HTTP/1.1 200\tOK\r\n",
            b" HTTP/1.1 200 OK\r\n",
            b"\r\n",
            b"garbage\r\n",
        ] {
            let Err(Malformed(why)) = HeadParser::default().feed(bad) else {
                panic!("accepted {}", bad.escape_ascii());
            };
            assert!(
                why.starts_with("the server sent a malformed status line: \""),
                "{why}"
            );
        }
    }

    #[test]
    fn follows_only_fetch_redirects_with_a_location() {
        let head = |status: &str, location: &str| {
            let mut p = HeadParser::default();
            p.feed(format!("HTTP/1.1 {status} X\r\n").as_bytes())
                .unwrap();
            p.feed(format!("Location:{location}\r\n").as_bytes())
                .unwrap();
            p.feed(b"\r\n").unwrap().unwrap()
        };
        for status in ["301", "302", "303", "307", "308"] {
            assert_eq!(head(status, " /a").redirect_location(), Some(c"/a"));
            assert_eq!(head(status, "").redirect_location(), None);
            assert_eq!(head(status, " \t ").redirect_location(), None);
        }
        for status in ["300", "304", "305", "306", "399", "200"] {
            assert_eq!(head(status, " /a").redirect_location(), None);
        }
        assert!(head("100", "").is_interim());
    }

    #[test]
    fn drops_nul_bytes_sent_by_a_server() {
        let mut p = HeadParser::default();
        let head = feed_all(
            &mut p,
            &[b"HTTP/1.1 200 OK\r\n", b"X-A\0: b\0c\r\n", b"\r\n"],
        );
        let head = head.unwrap();
        let (name, value) = head.headers.iter().next().unwrap();
        assert_eq!((name, value), (c"X-A", c"bc"));
    }
}
