//! Server-sent events parsed from a byte stream, as the WHATWG HTML
//! standard interprets an event stream (§9.2.6): a UTF-8 BOM skipped, CRLF,
//! CR or LF line ends (a CR at the end of one piece and an LF at the start
//! of the next are one line end), `:` comments, the `event`, `data`, `id`
//! and `retry` fields, an event dispatched at a blank line unless its data
//! buffer is empty. Text is decoded as UTF-8 with replacement characters.
//! Events are handed over as C strings without a copy.

use std::ffi::{CStr, CString};

/// One dispatched event, borrowed for the listener call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// `event:`, or "message" when there was none (up to a NUL in it).
    pub event_type: &'a CStr,
    /// The `data:` lines joined by "\n"; a NUL follows in memory.
    pub data: &'a [u8],
    /// The stream's last `id:` so far; "" when none.
    pub last_event_id: &'a CStr,
    /// The stream's last valid `retry:` so far, in ms; -1 when none.
    pub retry_ms: i64,
}

/// An event kept past the listener call (queued delivery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedSseEvent {
    event_type: CString,
    /// The data, then a NUL (not part of it).
    data_nul: Vec<u8>,
    last_event_id: CString,
    retry_ms: i64,
}

impl OwnedSseEvent {
    pub fn new(event: &SseEvent) -> OwnedSseEvent {
        let mut data_nul = Vec::with_capacity(event.data.len() + 1);
        data_nul.extend_from_slice(event.data);
        data_nul.push(0);
        OwnedSseEvent {
            event_type: event.event_type.to_owned(),
            data_nul,
            last_event_id: event.last_event_id.to_owned(),
            retry_ms: event.retry_ms,
        }
    }

    /// The data's length.
    pub fn data_len(&self) -> usize {
        self.data_nul.len() - 1
    }

    pub fn as_event(&self) -> SseEvent<'_> {
        SseEvent {
            event_type: &self.event_type,
            data: &self.data_nul[..self.data_len()],
            last_event_id: &self.last_event_id,
            retry_ms: self.retry_ms,
        }
    }
}

#[derive(Debug)]
pub struct SseParser {
    /// The start of a line that has not ended yet.
    line: Vec<u8>,
    /// The last byte was a CR: an LF right after it ends no other line.
    after_cr: bool,
    /// Bytes seen so far, up to 3, to skip a BOM split across pieces.
    bom_checked: bool,
    /// UTF-8: each `data:` value and a "\n".
    data: Vec<u8>,
    event_type: Vec<u8>,
    /// The last id, then a NUL; kept in one buffer (most streams send an
    /// id with every event).
    last_event_id: Vec<u8>,
    retry_ms: i64,
}

impl Default for SseParser {
    fn default() -> SseParser {
        SseParser {
            line: Vec::new(),
            after_cr: false,
            bom_checked: false,
            data: Vec::new(),
            event_type: Vec::new(),
            last_event_id: vec![0],
            retry_ms: -1,
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl SseParser {
    /// Feeds the next bytes of the stream; `on_event` gets every event
    /// they complete.
    pub fn feed(&mut self, mut bytes: &[u8], on_event: &mut dyn FnMut(&SseEvent)) {
        if !self.bom_checked {
            // Gather up to 3 bytes in `line` to tell a BOM from the text.
            let need = (BOM.len() - self.line.len()).min(bytes.len());
            self.line.extend_from_slice(&bytes[..need]);
            bytes = &bytes[need..];
            if self.line.len() < BOM.len() && BOM.starts_with(&self.line) {
                return;
            }
            self.bom_checked = true;
            let start = std::mem::take(&mut self.line);
            let start = start.strip_prefix(BOM).unwrap_or(&start);
            self.scan(start, on_event);
        }
        self.scan(bytes, on_event);
    }

    fn scan(&mut self, mut bytes: &[u8], on_event: &mut dyn FnMut(&SseEvent)) {
        if bytes.is_empty() {
            return;
        }
        if self.after_cr && bytes[0] == b'\n' {
            bytes = &bytes[1..];
        }
        self.after_cr = false;
        while let Some(end) = memchr::memchr2(b'\n', b'\r', bytes) {
            if self.line.is_empty() {
                self.process_line(&bytes[..end], on_event);
            } else {
                self.line.extend_from_slice(&bytes[..end]);
                let line = std::mem::take(&mut self.line);
                self.process_line(&line, on_event);
            }
            let cr = bytes[end] == b'\r';
            bytes = &bytes[end + 1..];
            if cr {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.line.extend_from_slice(bytes);
    }

    fn process_line(&mut self, line: &[u8], on_event: &mut dyn FnMut(&SseEvent)) {
        if line.is_empty() {
            return self.dispatch(on_event);
        }
        if line[0] == b':' {
            return; // a comment
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        // Valid UTF-8 (the usual case) is checked fast and used as it is.
        let value = match simdutf8::basic::from_utf8(value) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(value),
        };
        match field {
            b"event" => self.event_type = value.as_bytes().to_vec(),
            b"data" => {
                self.data.extend_from_slice(value.as_bytes());
                self.data.push(b'\n');
            }
            // An id with a NUL is ignored.
            b"id" if memchr::memchr(0, value.as_bytes()).is_none() => {
                self.last_event_id.clear();
                self.last_event_id.extend_from_slice(value.as_bytes());
                self.last_event_id.push(0);
            }
            b"retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry_ms = value.parse().unwrap_or(i64::MAX);
            }
            _ => {} // unknown fields are ignored
        }
    }

    fn dispatch(&mut self, on_event: &mut dyn FnMut(&SseEvent)) {
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        // The last "\n" becomes the NUL after the data.
        self.data.pop();
        self.data.push(0);
        self.event_type.push(0);
        let event_type = match CStr::from_bytes_until_nul(&self.event_type) {
            Ok(t) if !t.is_empty() => t,
            _ => c"message",
        };
        on_event(&SseEvent {
            event_type,
            data: &self.data[..self.data.len() - 1],
            // One NUL, at the end: ids with a NUL are never stored.
            last_event_id: CStr::from_bytes_until_nul(&self.last_event_id).unwrap_or_default(),
            retry_ms: self.retry_ms,
        });
        self.data.clear();
        self.event_type.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Owned = (String, String, String, i64);

    fn owned(e: &SseEvent) -> Owned {
        let text = |c: &CStr| c.to_str().unwrap().to_owned();
        let data = std::str::from_utf8(e.data).unwrap().to_owned();
        // The NUL after the data, for C readers.
        // SAFETY: the parser keeps a NUL right after the data's bytes.
        assert_eq!(unsafe { *e.data.as_ptr().add(e.data.len()) }, 0);
        (text(e.event_type), data, text(e.last_event_id), e.retry_ms)
    }

    fn events_of(stream: &[u8], splits: &[usize]) -> Vec<Owned> {
        let mut parser = SseParser::default();
        let mut got = Vec::new();
        let mut at = 0;
        for &end in splits.iter().chain([stream.len()].iter()) {
            parser.feed(&stream[at..end], &mut |e| got.push(owned(e)));
            at = end;
        }
        got
    }

    /// The same events whatever two places the stream is split at.
    fn parses_alike_when_split(stream: &[u8]) -> Vec<Owned> {
        let whole = events_of(stream, &[]);
        for a in 0..=stream.len() {
            for b in a..=stream.len() {
                assert_eq!(events_of(stream, &[a, b]), whole, "split at {a}, {b}");
            }
        }
        whole
    }

    fn ev(t: &str, data: &str, id: &str, retry: i64) -> Owned {
        (t.into(), data.into(), id.into(), retry)
    }

    #[test]
    fn the_standards_examples() {
        // WHATWG HTML §9.2.6's examples.
        let stream = b"data: YHOO\ndata: +2\ndata: 10\n\n";
        assert_eq!(
            parses_alike_when_split(stream),
            [ev("message", "YHOO\n+2\n10", "", -1)]
        );
        let stream = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n";
        assert_eq!(
            parses_alike_when_split(stream),
            [
                ev("message", "first event", "1", -1),
                ev("message", "second event", "", -1),
                ev("message", " third event", "", -1),
            ]
        );
        let stream = b"data\n\ndata\ndata\n\ndata:";
        assert_eq!(
            parses_alike_when_split(stream),
            [ev("message", "", "", -1), ev("message", "\n", "", -1)]
        );
        let stream = b"data:test\n\ndata: test\n\n";
        assert_eq!(
            parses_alike_when_split(stream),
            [ev("message", "test", "", -1), ev("message", "test", "", -1)]
        );
    }

    #[test]
    fn line_ends_bom_fields_and_chinese_text() {
        let stream = "\u{FEFF}event: answer\r\ndata: 你好\rdata: 世界\r\nretry: 3000\nid: 7\r\r: ping\n\nretry: 1x\nid: a\0b\ndata\n\n"
            .as_bytes();
        assert_eq!(
            parses_alike_when_split(stream),
            [
                ev("answer", "你好\n世界", "7", 3000),
                ev("message", "", "7", 3000)
            ]
        );
    }

    #[test]
    fn nothing_without_data_and_a_lone_cr_ends_a_line_at_once() {
        assert!(parses_alike_when_split(b"event: x\n\nid: 3\n\n: c\n\n").is_empty());
        // A CR at the very end dispatches at once; an LF after it ends no
        // other line.
        let mut parser = SseParser::default();
        let mut got = Vec::new();
        parser.feed(b"data: a\r\r", &mut |e| got.push(owned(e).1));
        assert_eq!(got, ["a"]);
        parser.feed(b"\ndata: b\n\n", &mut |e| got.push(owned(e).1));
        assert_eq!(got, ["a", "b"]);
    }

    #[test]
    fn invalid_utf8_is_replaced_and_a_bom_only_at_the_start() {
        let got = events_of(b"data: \xff\xfe\n\n\xEF\xBB\xBFdata: x\n\n", &[]);
        assert_eq!(got[0].1, "\u{FFFD}\u{FFFD}");
        assert_eq!(
            got.len(),
            1,
            "a BOM in the middle makes an unknown field: {got:?}"
        );
        assert!(events_of(b"\xEF\xBB", &[1]).is_empty());
        // Not a BOM: decoded, the line is "\u{FFFD}data: x", an unknown field.
        assert!(events_of(b"\xEFdata: x\n\n", &[1]).is_empty());
    }
}
