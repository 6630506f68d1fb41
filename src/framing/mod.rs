//! Where chunk events are cut (`chunk_framing`), and server-sent events
//! parsed from a body: pure code over byte slices, between the transfer's
//! write path and the task's listeners, unit-tested and fuzzed without a
//! network. Framing moves only the cuts: the pieces concatenate to exactly
//! the bytes fed.

mod sse;
mod utf8;

pub(crate) use sse::{SseEvent, SseParser};

/// How chunk events are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// As the bytes arrive.
    Raw,
    /// Never inside a UTF-8 character.
    Utf8,
    /// Whole lines ending in `\n` (a line longer than `MAX_HELD` is cut).
    Lines,
}

/// Bytes held back for a line that has not ended yet, at most: a longer
/// line is handed on in pieces rather than held without bound.
pub const MAX_HELD: usize = 1 << 20;

/// Cuts a byte stream into pieces by its `Framing`.
#[derive(Debug)]
pub struct Framer {
    framing: Framing,
    held: Vec<u8>,
}

impl Framer {
    pub fn new(framing: Framing) -> Framer {
        Framer {
            framing,
            held: Vec::new(),
        }
    }

    /// Feeds the next bytes; `out` gets every piece that is whole now.
    pub fn feed(&mut self, mut data: &[u8], out: &mut dyn FnMut(&[u8])) {
        let cut = |bytes: &[u8]| match self.framing {
            Framing::Raw => bytes.len(),
            Framing::Utf8 => bytes.len() - utf8::incomplete_tail(bytes),
            Framing::Lines => bytes
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |nl| nl + 1),
        };
        if !self.held.is_empty() {
            // Complete what was held with as little of `data` as it needs:
            // the rest of its character, or of its line.
            let take = match self.framing {
                Framing::Lines => data.iter().position(|&b| b == b'\n').map(|nl| nl + 1),
                _ => Some((utf8::sequence_len(self.held[0]) - self.held.len()).min(data.len())),
            };
            let Some(take) = take else {
                self.held.extend_from_slice(data);
                if self.held.len() >= MAX_HELD {
                    out(&std::mem::take(&mut self.held));
                }
                return;
            };
            self.held.extend_from_slice(&data[..take]);
            data = &data[take..];
            if cut(&self.held) < self.held.len() {
                return; // the character is still incomplete: `data` is used up
            }
            out(&std::mem::take(&mut self.held));
        }
        let whole = cut(data);
        if whole > 0 {
            out(&data[..whole]);
        }
        self.held.extend_from_slice(&data[whole..]);
        if self.held.len() >= MAX_HELD {
            out(&std::mem::take(&mut self.held));
        }
    }

    /// At the end of the body: hands on what was held back.
    pub fn finish(&mut self, out: &mut dyn FnMut(&[u8])) {
        if !self.held.is_empty() {
            out(&std::mem::take(&mut self.held));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pieces `framing` makes of `stream` fed in `splits`.
    fn pieces(framing: Framing, stream: &[u8], splits: &[usize]) -> Vec<Vec<u8>> {
        let mut framer = Framer::new(framing);
        let mut got = Vec::new();
        let mut at = 0;
        for &end in splits.iter().chain([stream.len()].iter()) {
            framer.feed(&stream[at..end], &mut |p| got.push(p.to_vec()));
            at = end;
        }
        framer.finish(&mut |p| got.push(p.to_vec()));
        got
    }

    /// Every way to split `stream` in two places: the pieces concatenate to
    /// the stream in every framing, and `framing`'s pass `check`.
    fn every_split(stream: &[u8], framing: Framing, check: impl Fn(&[usize], &[Vec<u8>])) {
        for other in [Framing::Raw, Framing::Utf8, Framing::Lines] {
            for a in 0..=stream.len() {
                for b in a..=stream.len() {
                    let splits = [a, b];
                    let got = pieces(other, stream, &splits);
                    assert_eq!(got.concat(), stream, "{other:?} {splits:?}");
                    assert!(got.iter().all(|p| !p.is_empty()));
                    if other == framing {
                        check(&splits, &got);
                    }
                }
            }
        }
    }

    #[test]
    fn utf8_pieces_never_end_inside_a_character() {
        let text = "a中😀b\u{10FFFF}é\n".as_bytes();
        every_split(text, Framing::Utf8, |splits, got| {
            for p in got {
                assert!(std::str::from_utf8(p).is_ok(), "{splits:?} {got:?}");
            }
        });
        let got = pieces(Framing::Utf8, "😀".as_bytes(), &[1, 2, 3]);
        assert_eq!(got, ["😀".as_bytes()]);
    }

    #[test]
    fn utf8_passes_bytes_that_never_become_valid() {
        let got = pieces(Framing::Utf8, b"a\xff\xc0b\xe4", &[2, 3]);
        assert_eq!(
            got,
            [
                b"a\xff".to_vec(),
                b"\xc0".to_vec(),
                b"b".to_vec(),
                b"\xe4".to_vec()
            ]
        );
    }

    #[test]
    fn lines_pieces_hold_whole_lines() {
        let text = b"one\ntwo\r\n\nthree";
        every_split(text, Framing::Lines, |splits, got| {
            for p in &got[..got.len() - 1] {
                assert!(p.ends_with(b"\n"), "{splits:?} {got:?}");
            }
        });
        assert_eq!(
            pieces(Framing::Lines, b"ab\ncd\nef", &[1, 4]),
            [b"ab\n".to_vec(), b"cd\n".to_vec(), b"ef".to_vec()]
        );
    }

    #[test]
    fn a_line_without_end_is_held_only_up_to_the_cap() {
        let mut framer = Framer::new(Framing::Lines);
        let mut got = 0;
        for _ in 0..3 {
            framer.feed(&vec![b'x'; MAX_HELD / 2 + 1], &mut |p| got += p.len());
        }
        assert!(got >= MAX_HELD && framer.held.len() < MAX_HELD);
    }
}
