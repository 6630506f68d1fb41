//! Where chunk events are cut (`chunk_framing`), and server-sent events
//! parsed from a body: pure code over byte slices, between the transfer's
//! write path and the task's listeners, unit-tested and fuzzed without a
//! network. Framing moves only the cuts: the pieces concatenate to exactly
//! the bytes fed.

mod sse;
mod utf8;

pub(crate) use sse::SseParser;
pub use sse::{OwnedSseEvent, SseEvent};

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

    /// A fuzz target run as a unit test (NETTASK_FUZZ_SECS sets how long;
    /// a few thousand streams by default): random streams of the bytes
    /// that matter, fed whole and in random pieces, must frame to the same
    /// bytes and parse to the same events.
    #[test]
    fn fuzz_framing_and_events_do_not_depend_on_the_pieces() {
        const ATOMS: [&[u8]; 14] = [
            b"data:",
            b"data: x",
            b"event: e",
            b"id: 1",
            b"retry: 9",
            b":",
            b" ",
            b"\r",
            b"\n",
            "中😀".as_bytes(),
            b"\xff",
            b"\xef\xbb\xbf",
            b"\0",
            b"id",
        ];
        let secs: f64 = std::env::var("NETTASK_FUZZ_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0.0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
        let mut seed = 0x5eed_u64;
        let mut next = move || {
            // splitmix64
            seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as usize
        };
        let mut runs = 0;
        while runs < 3000 || std::time::Instant::now() < deadline {
            let stream: Vec<u8> = (0..next() % 40)
                .flat_map(|_| ATOMS[next() % ATOMS.len()].to_vec())
                .collect();
            let mut cuts: Vec<usize> = (0..next() % 6)
                .map(|_| next() % (stream.len() + 1))
                .collect();
            cuts.sort_unstable();
            let events = |cuts: &[usize]| {
                let mut parser = SseParser::default();
                let mut got = Vec::new();
                let mut at = 0;
                for &end in cuts.iter().chain([stream.len()].iter()) {
                    parser.feed(&stream[at..end], &mut |e| {
                        got.push((
                            e.event_type.to_owned(),
                            e.data.to_vec(),
                            e.last_event_id.to_owned(),
                            e.retry_ms,
                        ))
                    });
                    at = end;
                }
                got
            };
            assert_eq!(events(&cuts), events(&[]), "{stream:?} cut at {cuts:?}");
            for framing in [Framing::Utf8, Framing::Lines] {
                let got = pieces(framing, &stream, &cuts);
                assert_eq!(
                    got.concat(),
                    stream,
                    "{framing:?} {stream:?} cut at {cuts:?}"
                );
            }
            runs += 1;
        }
    }
}
