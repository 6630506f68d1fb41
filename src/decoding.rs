//! Response body decoding: the content codings of `Content-Encoding`
//! undone in nettask's own write path (libcurl's decoding is off), so that
//! gzip, deflate, br and zstd all stream the same way, and a decompression
//! bomb stops at the caller's byte limit with memory flat: each decoder
//! stage hands its output on in pieces of at most [`PIECE`] bytes from one
//! buffer, and keeps no more state than its format's window.
//!
//! What browsers tolerate is tolerated here too: an unknown coding leaves
//! the body raw, `deflate` may be zlib-wrapped or raw, and bytes after the
//! end of a gzip, deflate or br stream are ignored. A truncated stream is
//! an error.

use std::borrow::Cow;
use std::fmt;

use brotli_decompressor::{
    BrotliDecoderParameter, BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc,
};
use flate2::{Decompress, FlushDecompress, Status};
use zstd::zstd_safe::{self, DCtx, DParameter, InBuffer, OutBuffer};

use crate::error::{Code, Failure};

/// The largest piece of decoded output handed on at once; each stage of a
/// decoder reuses one buffer of this size.
pub(crate) const PIECE: usize = 64 * 1024;

/// More stacked codings than this leave the body raw: no server needs
/// them, and each stage costs a window and a buffer (curl has the same
/// limit, since CVE-2023-23916).
const MAX_CODINGS: usize = 5;

/// zstd frames may ask for a window of at most 8 MiB (2^23), as RFC 9659
/// sets for HTTP and browsers enforce; a larger one is an error rather
/// than a larger allocation.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// A content coding nettask decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    Deflate,
    Br,
    Zstd,
}

impl Coding {
    /// Every coding nettask decodes, in the order of the default
    /// `Accept-Encoding`.
    pub const ALL: [Coding; 4] = [Coding::Gzip, Coding::Deflate, Coding::Br, Coding::Zstd];

    /// The coding's name in `Accept-Encoding` and `Content-Encoding`.
    pub fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Br => "br",
            Coding::Zstd => "zstd",
        }
    }

    /// The coding a header token names, ignoring ASCII case; `x-gzip` is
    /// gzip (RFC 9110 §8.4.1.3).
    fn from_token(token: &[u8]) -> Option<Coding> {
        if token.eq_ignore_ascii_case(b"x-gzip") {
            return Some(Coding::Gzip);
        }
        Coding::ALL
            .into_iter()
            .find(|c| token.eq_ignore_ascii_case(c.name().as_bytes()))
    }
}

/// The Accept-Encoding of the default: every coding nettask decodes.
const OFFER_ALL: &str = "gzip, deflate, br, zstd";

/// The `accept_encoding` request option, parsed: the header to send and
/// the codings to decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AcceptEncoding {
    /// The `Accept-Encoding` value to send; `None` sends no such header.
    /// (Borrowed for the default, which every request would otherwise
    /// allocate.)
    pub header: Option<Cow<'static, str>>,
    /// The codings offered that nettask decodes; a response in any other
    /// coding is handed over raw.
    pub offered: Cow<'static, [Coding]>,
}

impl AcceptEncoding {
    /// `None` (NULL) offers every coding nettask decodes; `""` offers none;
    /// any other value is sent as the caller wrote it, and of the codings
    /// it accepts (`q=0` refuses one, `*` stands for those not listed),
    /// the ones nettask supports are decoded.
    pub fn parse(option: Option<&str>) -> AcceptEncoding {
        let Some(value) = option else {
            return AcceptEncoding {
                header: Some(Cow::Borrowed(OFFER_ALL)),
                offered: Cow::Borrowed(&Coding::ALL),
            };
        };
        if value.trim().is_empty() {
            return AcceptEncoding {
                header: None,
                offered: Cow::Borrowed(&[]),
            };
        }
        let mut listed = Vec::new();
        let mut wildcard = false;
        for element in value.split(',') {
            let mut parts = element.split(';');
            let token = parts.next().unwrap_or("").trim();
            let accepted = !parts.any(refuses);
            if token == "*" {
                wildcard = accepted;
            } else if let Some(coding) = Coding::from_token(token.as_bytes()) {
                listed.push((coding, accepted));
            }
        }
        let offered = Coding::ALL
            .into_iter()
            .filter(|&c| match listed.iter().find(|(l, _)| *l == c) {
                Some(&(_, accepted)) => accepted,
                None => wildcard,
            })
            .collect();
        AcceptEncoding {
            header: Some(Cow::Owned(value.to_owned())),
            offered: Cow::Owned(offered),
        }
    }
}

/// Whether an `Accept-Encoding` parameter is `q=0` (the coding is not
/// acceptable).
fn refuses(param: &str) -> bool {
    param.split_once('=').is_some_and(|(name, value)| {
        name.trim().eq_ignore_ascii_case("q") && value.trim().parse::<f32>() == Ok(0.0)
    })
}

/// Why a body could not be decoded: a sentence for the user. nettask
/// reports it as `NETTASK_E_RECV`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError(pub String);

impl DecodeError {
    fn corrupt(coding: Coding, detail: &str) -> DecodeError {
        DecodeError(format!("the {} body is corrupt: {detail}", coding.name()))
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

impl From<DecodeError> for Failure {
    fn from(e: DecodeError) -> Failure {
        Failure::new(Code::NETTASK_E_RECV, e.0)
    }
}

/// Where decoded output goes, a piece at a time. An error (the caller's
/// size limit was hit, the task was aborted) stops decoding at once and is
/// passed back to the caller of [`Decoder::decode`].
pub(crate) type Out<'a, E> = dyn FnMut(&[u8]) -> Result<(), E> + 'a;

/// Undoes a response's content codings, streaming: compressed bytes in
/// pieces of any size, decoded bytes out in pieces of at most [`PIECE`].
pub(crate) struct Decoder {
    /// One per coding, in decoding order (the reverse of the header's).
    stages: Vec<Stage>,
}

impl Decoder {
    /// A decoder for a response with these `Content-Encoding` values (each
    /// a comma-separated list; the field may repeat), or `None` when the
    /// body is to be handed over as it is: no coding but `identity`, or a
    /// coding that is unknown or was not `offered` (browsers too show such
    /// a body raw rather than fail), or more than five.
    pub fn new<V: AsRef<[u8]>>(
        content_encodings: impl IntoIterator<Item = V>,
        offered: &[Coding],
    ) -> Option<Decoder> {
        let mut codings = Vec::new();
        for value in content_encodings {
            for token in value.as_ref().split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.is_empty() || token.eq_ignore_ascii_case(b"identity") {
                    continue;
                }
                codings.push(Coding::from_token(token).filter(|c| offered.contains(c))?);
            }
        }
        if codings.is_empty() || codings.len() > MAX_CODINGS {
            return None;
        }
        let stages = codings.into_iter().rev().map(Stage::new).collect();
        Some(Decoder { stages })
    }

    /// Decodes the next bytes of the body, handing the decoded bytes to
    /// `out`. Stops at `out`'s first error and returns it; a corrupt body
    /// returns its [`DecodeError`]. After an error the decoder is not to be
    /// used again.
    pub fn decode<E: From<DecodeError>>(
        &mut self,
        input: &[u8],
        out: &mut Out<'_, E>,
    ) -> Result<(), E> {
        run(&mut self.stages, input, out)
    }

    /// Ends the body: fails when a compressed stream was cut short. No
    /// output is left at this point: `decode` drains every stage before it
    /// returns.
    pub fn finish(&self) -> Result<(), DecodeError> {
        self.stages.iter().try_for_each(Stage::finish)
    }
}

/// Feeds `input` to the first stage, its output to the next, and the last
/// one's to `out`.
fn run<E: From<DecodeError>>(
    stages: &mut [Stage],
    input: &[u8],
    out: &mut Out<'_, E>,
) -> Result<(), E> {
    match stages {
        [] => out(input),
        [first, rest @ ..] => first.decode(input, &mut |piece| run(rest, piece, out)),
    }
}

/// One coding's decoder, with its output buffer.
struct Stage {
    coding: Coding,
    state: State,
    buf: Box<[u8]>,
    /// Whether any input came: an empty body (HEAD, 304) is complete in
    /// every coding.
    received: bool,
}

enum State {
    Flate(Flate),
    Br {
        state: Box<BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>>,
        ended: bool,
    },
    Zstd {
        dctx: DCtx<'static>,
        /// Whether the last frame was decoded and flushed in full.
        frame_ended: bool,
    },
}

/// gzip and deflate: inflate (zlib-rs, whose gzip mode checks the header,
/// CRC and length), and what comes around its streams.
enum Flate {
    /// deflate before its first two bytes tell a zlib header from raw
    /// deflate (browsers accept both); holds the first byte.
    Sniff(Option<u8>),
    Inflate(Decompress),
    /// A gzip member ended; holds the first byte after it until the second
    /// tells whether another member follows (zlib's gunzip decodes them
    /// all).
    Between(Option<u8>),
    /// The stream ended: what follows is ignored, as browsers do.
    Ended,
}

impl Stage {
    fn new(coding: Coding) -> Stage {
        let state = match coding {
            Coding::Gzip => State::Flate(Flate::Inflate(Decompress::new_gzip(15))),
            Coding::Deflate => State::Flate(Flate::Sniff(None)),
            Coding::Br => {
                let mut state = Box::new(BrotliState::new(
                    StandardAlloc::default(),
                    StandardAlloc::default(),
                    StandardAlloc::default(),
                ));
                // Large-window streams (up to 1 GiB) are not RFC 7932 brotli,
                // which keeps the window at 16 MiB.
                state.set_parameter(BrotliDecoderParameter::BROTLI_DECODER_PARAM_LARGE_WINDOW, 0);
                State::Br {
                    state,
                    ended: false,
                }
            }
            Coding::Zstd => {
                let mut dctx = DCtx::create();
                dctx.set_parameter(DParameter::WindowLogMax(ZSTD_WINDOW_LOG_MAX))
                    .expect("23 is within zstd's window log bounds");
                State::Zstd {
                    dctx,
                    frame_ended: false,
                }
            }
        };
        Stage {
            coding,
            state,
            buf: vec![0; PIECE].into_boxed_slice(),
            received: false,
        }
    }

    fn decode<E: From<DecodeError>>(
        &mut self,
        input: &[u8],
        out: &mut Out<'_, E>,
    ) -> Result<(), E> {
        if input.is_empty() {
            return Ok(()); // zstd would take it for the start of a frame
        }
        self.received = true;
        let (coding, buf) = (self.coding, &mut self.buf[..]);
        match &mut self.state {
            State::Flate(flate) => decode_flate(flate, coding, input, buf, out),
            State::Br { state, ended } => decode_br(state, ended, input, buf, out),
            State::Zstd { dctx, frame_ended } => decode_zstd(dctx, frame_ended, input, buf, out),
        }
    }

    fn finish(&self) -> Result<(), DecodeError> {
        let complete = !self.received
            || match &self.state {
                State::Flate(flate) => !matches!(flate, Flate::Sniff(_) | Flate::Inflate(_)),
                State::Br { ended, .. } => *ended,
                State::Zstd { frame_ended, .. } => *frame_ended,
            };
        if complete {
            return Ok(());
        }
        Err(DecodeError(format!(
            "the {} body ended before its compressed stream did",
            self.coding.name()
        )))
    }
}

fn decode_flate<E: From<DecodeError>>(
    flate: &mut Flate,
    coding: Coding,
    mut input: &[u8],
    buf: &mut [u8],
    out: &mut Out<'_, E>,
) -> Result<(), E> {
    while !input.is_empty() {
        let sniffing = matches!(flate, Flate::Sniff(_));
        match flate {
            Flate::Sniff(held) | Flate::Between(held) => {
                let (first, second) = match (*held, input) {
                    (Some(a), [b, ..]) => (a, *b),
                    (None, [a, b, ..]) => (*a, *b),
                    (_, _) => {
                        // One byte so far: keep it for the next input.
                        *held = input.first().copied();
                        return Ok(());
                    }
                };
                let inflate = if sniffing {
                    Decompress::new(is_zlib_header(first, second))
                } else if (first, second) == (0x1f, 0x8b) {
                    Decompress::new_gzip(15)
                } else {
                    *flate = Flate::Ended;
                    return Ok(());
                };
                let held = held.take();
                *flate = Flate::Inflate(inflate);
                if let Some(byte) = held {
                    decode_flate(flate, coding, &[byte], buf, out)?;
                }
            }
            Flate::Inflate(inflate) => match inflate_some(inflate, coding, input, buf, out)? {
                Some(rest) => {
                    input = rest;
                    *flate = match coding {
                        Coding::Gzip => Flate::Between(None),
                        _ => Flate::Ended,
                    };
                }
                None => return Ok(()),
            },
            Flate::Ended => return Ok(()),
        }
    }
    Ok(())
}

/// RFC 1950's header: deflate with a window of at most 32 KiB, and a check
/// that makes the 16 bits a multiple of 31.
fn is_zlib_header(cmf: u8, flg: u8) -> bool {
    cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
}

/// Inflates `input` to `out`; returns what follows the stream's end when
/// it ended.
fn inflate_some<'a, E: From<DecodeError>>(
    inflate: &mut Decompress,
    coding: Coding,
    mut input: &'a [u8],
    buf: &mut [u8],
    out: &mut Out<'_, E>,
) -> Result<Option<&'a [u8]>, E> {
    loop {
        let (total_in, total_out) = (inflate.total_in(), inflate.total_out());
        let status = inflate
            .decompress(input, buf, FlushDecompress::None)
            .map_err(|e| DecodeError::corrupt(coding, e.message().unwrap_or("invalid data")))?;
        let used = (inflate.total_in() - total_in) as usize;
        let made = (inflate.total_out() - total_out) as usize;
        input = &input[used..];
        if made > 0 {
            out(&buf[..made])?;
        }
        if status == Status::StreamEnd {
            return Ok(Some(input));
        }
        if input.is_empty() && made < buf.len() {
            return Ok(None);
        }
        if used == 0 && made == 0 {
            // zlib always moves with input and room; guard the loop anyway.
            return Err(DecodeError::corrupt(coding, "inflate made no progress").into());
        }
    }
}

fn decode_br<E: From<DecodeError>>(
    state: &mut BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>,
    ended: &mut bool,
    input: &[u8],
    buf: &mut [u8],
    out: &mut Out<'_, E>,
) -> Result<(), E> {
    if *ended {
        return Ok(()); // what follows the stream is ignored, as browsers do
    }
    let (mut available_in, mut input_offset) = (input.len(), 0);
    let mut total_out = 0;
    loop {
        let (mut available_out, mut output_offset) = (buf.len(), 0);
        let result = BrotliDecompressStream(
            &mut available_in,
            &mut input_offset,
            input,
            &mut available_out,
            &mut output_offset,
            buf,
            &mut total_out,
            state,
        );
        if output_offset > 0 {
            out(&buf[..output_offset])?;
        }
        match result {
            BrotliResult::NeedsMoreOutput => {}
            BrotliResult::NeedsMoreInput => return Ok(()),
            BrotliResult::ResultSuccess => {
                *ended = true;
                return Ok(());
            }
            BrotliResult::ResultFailure => {
                // e.g. BROTLI_DECODER_ERROR_FORMAT_PADDING_1 → "format padding 1"
                let code = format!("{:?}", state.error_code);
                let detail = code.trim_start_matches("BROTLI_DECODER_ERROR_");
                let detail = detail.to_ascii_lowercase().replace('_', " ");
                return Err(DecodeError::corrupt(Coding::Br, &detail).into());
            }
        }
    }
}

fn decode_zstd<E: From<DecodeError>>(
    dctx: &mut DCtx<'static>,
    frame_ended: &mut bool,
    input: &[u8],
    buf: &mut [u8],
    out: &mut Out<'_, E>,
) -> Result<(), E> {
    // libzstd goes on to the next frame by itself (RFC 8878 allows several).
    let len = input.len();
    let mut input = InBuffer::around(input);
    loop {
        let mut output = OutBuffer::around(&mut *buf);
        let hint = dctx
            .decompress_stream(&mut output, &mut input)
            .map_err(|code| DecodeError::corrupt(Coding::Zstd, zstd_safe::get_error_name(code)))?;
        let made = output.pos();
        // 0: a frame is decoded and flushed in full.
        *frame_ended = hint == 0;
        if made > 0 {
            out(&buf[..made])?;
        }
        if input.pos() == len && made < buf.len() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// What a test's `out` may fail with.
    #[derive(Debug, PartialEq)]
    enum Halt {
        Stop,
        Decode(DecodeError),
    }

    impl From<DecodeError> for Halt {
        fn from(e: DecodeError) -> Halt {
            Halt::Decode(e)
        }
    }

    /// xorshift64: reproducible splits and data without a crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Compressible text, a few pieces long.
    fn text(len: usize) -> Vec<u8> {
        let words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut v = Vec::with_capacity(len + 16);
        while v.len() < len {
            let r = rng.next();
            write!(v, "{}-{} ", words[(r % 6) as usize], r % 997).unwrap();
        }
        v.truncate(len);
        v
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn br(data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        let mut w = brotli::CompressorWriter::new(&mut v, 4096, 5, 22);
        w.write_all(data).unwrap();
        drop(w);
        v
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        zstd::bulk::compress(data, 3).unwrap()
    }

    fn decoder(content_encoding: &str) -> Decoder {
        Decoder::new([content_encoding], &Coding::ALL).expect("a coding to decode")
    }

    /// Decodes `body` fed in pieces of the given sizes (cycled), checking
    /// that no output piece exceeds PIECE.
    fn decode_split(content_encoding: &str, body: &[u8], sizes: &[usize]) -> Result<Vec<u8>, Halt> {
        let mut d = decoder(content_encoding);
        let mut decoded = Vec::new();
        let mut rest = body;
        for &size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at(size.clamp(1, rest.len()));
            rest = tail;
            d.decode(chunk, &mut |piece: &[u8]| {
                assert!(!piece.is_empty() && piece.len() <= PIECE);
                decoded.extend_from_slice(piece);
                Ok::<(), Halt>(())
            })?;
        }
        d.finish()?;
        Ok(decoded)
    }

    /// Decodes `body` whole, in 1-byte pieces and in random pieces.
    fn assert_round_trip(content_encoding: &str, body: &[u8], plain: &[u8]) {
        let mut rng = Rng(0x1234_5678);
        let random: Vec<usize> = (0..64).map(|_| (rng.next() % 3000) as usize + 1).collect();
        for sizes in [&[usize::MAX][..], &[1], &random] {
            let decoded = decode_split(content_encoding, body, sizes).unwrap();
            assert!(
                decoded == plain,
                "{content_encoding} in pieces of {sizes:?}"
            );
        }
    }

    #[test]
    fn each_coding_round_trips_in_any_split() {
        let plain = text(300_000); // several pieces of output
        assert_round_trip("gzip", &gzip(&plain), &plain);
        assert_round_trip("x-gzip", &gzip(&plain), &plain);
        assert_round_trip("deflate", &zlib(&plain), &plain);
        assert_round_trip("deflate", &raw_deflate(&plain), &plain);
        assert_round_trip("br", &br(&plain), &plain);
        assert_round_trip("zstd", &zstd(&plain), &plain);
    }

    #[test]
    fn small_and_empty_bodies() {
        for (name, encode) in [
            ("gzip", gzip as fn(&[u8]) -> Vec<u8>),
            ("deflate", zlib),
            ("deflate", raw_deflate),
            ("br", br),
            ("zstd", zstd),
        ] {
            for plain in [&b""[..], b"x", b"hello"] {
                assert_round_trip(name, &encode(plain), plain);
            }
            // HEAD and 304 responses carry the header without a body.
            assert_eq!(decode_split(name, b"", &[1]), Ok(Vec::new()));
        }
    }

    #[test]
    fn stacked_codings_are_undone_in_reverse() {
        let plain = text(200_000);
        let body = br(&gzip(&plain)); // gzip applied first, then br
        assert_round_trip("gzip, br", &body, &plain);
        assert_round_trip(" GZip ,  identity,BR ", &body, &plain);
        // The same list over two header fields.
        let mut d = Decoder::new(["gzip", "br"], &Coding::ALL).unwrap();
        let mut decoded = Vec::new();
        d.decode(&body, &mut |p: &[u8]| {
            decoded.extend_from_slice(p);
            Ok::<(), Halt>(())
        })
        .unwrap();
        d.finish().unwrap();
        assert!(decoded == plain);
        assert_round_trip("deflate, zstd, gzip", &gzip(&zstd(&zlib(&plain))), &plain);
    }

    #[test]
    fn deflate_header_sniffing() {
        assert!(is_zlib_header(0x78, 0x9c));
        assert!(is_zlib_header(0x78, 0x01));
        assert!(is_zlib_header(0x78, 0xda));
        assert!(!is_zlib_header(0x78, 0x9d));
        assert!(!is_zlib_header(0x1f, 0x8b));
    }

    #[test]
    fn concatenated_gzip_members_are_all_decoded() {
        let (a, b) = (text(100_000), b"and a second member".to_vec());
        let body = [gzip(&a), gzip(&b), gzip(b"")].concat();
        assert_round_trip("gzip", &body, &[a, b].concat());
    }

    #[test]
    fn bytes_after_the_end_are_ignored_but_not_in_zstd() {
        let plain = text(10_000);
        for tail in [&b"\0"[..], b"\x1f", b"\0\0\0\0 junk", b"\x1f\x00garbage"] {
            assert_round_trip("gzip", &[gzip(&plain), tail.to_vec()].concat(), &plain);
            assert_round_trip("deflate", &[zlib(&plain), tail.to_vec()].concat(), &plain);
            assert_round_trip(
                "deflate",
                &[raw_deflate(&plain), tail.to_vec()].concat(),
                &plain,
            );
            assert_round_trip("br", &[br(&plain), tail.to_vec()].concat(), &plain);
        }
        // zstd frames may follow one another, so junk is a frame gone bad.
        let body = [zstd(&plain), zstd(b"two frames")].concat();
        assert_round_trip("zstd", &body, &[&plain[..], b"two frames"].concat());
        let junk = [zstd(&plain), b"junk".to_vec()].concat();
        assert!(matches!(
            decode_split("zstd", &junk, &[7]),
            Err(Halt::Decode(_))
        ));
    }

    #[test]
    fn truncated_streams_fail_in_finish() {
        let plain = text(100_000);
        for (name, body) in [
            ("gzip", gzip(&plain)),
            ("deflate", zlib(&plain)),
            ("deflate", raw_deflate(&plain)),
            ("br", br(&plain)),
            ("zstd", zstd(&plain)),
            ("gzip, br", br(&gzip(&plain))),
        ] {
            for cut in [1, 2, 5, body.len() / 2, body.len() - 4, body.len() - 1] {
                let got = decode_split(name, &body[..cut], &[1000]);
                let ended = "body ended before its compressed stream did";
                match got {
                    Err(Halt::Decode(DecodeError(why))) => {
                        assert!(why.starts_with("the ") && why.ends_with(ended), "{why}")
                    }
                    other => panic!("{name} cut at {cut} of {}: {other:?}", body.len()),
                }
            }
        }
        // A gzip member cut in its 8-byte trailer (CRC, length).
        let body = gzip(b"hello");
        let got = decode_split("gzip", &body[..body.len() - 3], &[1]);
        let why = "the gzip body ended before its compressed stream did";
        assert_eq!(got, Err(Halt::Decode(DecodeError(why.into()))));
    }

    #[test]
    fn corrupt_input_fails_with_a_sentence() {
        let junk = b"this is not compressed at all, not even a little".to_vec();
        for name in ["gzip", "deflate", "br", "zstd"] {
            match decode_split(name, &junk, &[3]) {
                Err(Halt::Decode(DecodeError(why))) => {
                    let start = format!("the {name} body is corrupt: ");
                    assert!(why.starts_with(&start) && why.len() > start.len(), "{why}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        // A wrong CRC in the gzip trailer.
        let mut body = gzip(b"hello");
        let crc = body.len() - 8;
        body[crc] ^= 1;
        let got = decode_split("gzip", &body, &[1]);
        let why = "the gzip body is corrupt: incorrect data check";
        assert_eq!(got, Err(Halt::Decode(DecodeError(why.into()))));
    }

    #[test]
    fn windows_past_the_http_limits_are_refused() {
        let plain = text(50_000);
        // zstd without a known size keeps its window log: 24 is 16 MiB.
        let mut e = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        e.set_parameter(zstd::zstd_safe::CParameter::WindowLog(24))
            .unwrap();
        e.write_all(&plain).unwrap();
        let body = e.finish().unwrap();
        let got = decode_split("zstd", &body, &[usize::MAX]);
        assert!(matches!(got, Err(Halt::Decode(_))), "{got:?}");

        let mut body = Vec::new();
        let params = brotli::enc::BrotliEncoderParams {
            large_window: true,
            lgwin: 26,
            ..Default::default()
        };
        brotli::BrotliCompress(&mut &plain[..], &mut body, &params).unwrap();
        let got = decode_split("br", &body, &[usize::MAX]);
        assert!(matches!(got, Err(Halt::Decode(_))), "{got:?}");
    }

    /// Feeds `body` in 16 KiB pieces (libcurl's) to an `out` that stops
    /// past `limit` bytes; returns how many bytes were fed.
    fn feed_until_stopped(content_encoding: &str, body: &[u8], limit: usize) -> usize {
        let mut d = decoder(content_encoding);
        let (mut total, mut largest, mut calls_after_stop) = (0, 0, 0);
        let mut fed = 0;
        for chunk in body.chunks(16 * 1024) {
            fed += chunk.len();
            let got = d.decode(chunk, &mut |piece: &[u8]| {
                calls_after_stop += usize::from(total > limit);
                largest = largest.max(piece.len());
                total += piece.len();
                if total > limit {
                    Err(Halt::Stop)
                } else {
                    Ok(())
                }
            });
            if got.is_err() {
                assert_eq!(got, Err(Halt::Stop));
                break;
            }
        }
        assert_eq!(calls_after_stop, 0);
        assert!(largest <= PIECE, "{largest}");
        assert!(limit < total && total <= limit + PIECE, "{total}");
        fed
    }

    #[test]
    fn a_bomb_stops_when_out_says_so() {
        // 1 GiB of zeros in 1 MiB: one gzip member of 16 MiB repeated 64
        // times, so the test compresses only 16 MiB.
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..16 {
            e.write_all(&zeros).unwrap();
        }
        let body = e.finish().unwrap().repeat(64);
        assert!(body.len() < 2 << 20, "{}", body.len());
        let limit = 10 << 20;
        let fed = feed_until_stopped("gzip", &body, limit);
        assert!(fed < body.len() / 8, "fed {fed} of {}", body.len());
        // The same 1 GiB gzipped again: under 2 KiB, so it arrives whole.
        let twice = gzip(&body);
        assert!(twice.len() < 16 * 1024, "{}", twice.len());
        feed_until_stopped("gzip, gzip", &twice, limit);
    }

    #[test]
    fn out_stopping_at_the_first_piece_stops_every_coding() {
        let plain = text(300_000);
        for (name, body) in [
            ("gzip", gzip(&plain)),
            ("deflate", zlib(&plain)),
            ("br", br(&plain)),
            ("zstd", zstd(&plain)),
        ] {
            let mut calls = 0;
            let got = decoder(name).decode(&body, &mut |_: &[u8]| {
                calls += 1;
                Err(Halt::Stop)
            });
            assert_eq!((got, calls), (Err(Halt::Stop), 1), "{name}");
        }
    }

    #[test]
    fn what_is_not_decoded() {
        let all = &Coding::ALL;
        assert!(Decoder::new(Vec::<&str>::new(), all).is_none());
        assert!(Decoder::new([""], all).is_none());
        assert!(Decoder::new(["identity", " , "], all).is_none());
        // Unknown codings leave the body raw, even beside known ones.
        assert!(Decoder::new(["compress"], all).is_none());
        assert!(Decoder::new(["gzip, snappy"], all).is_none());
        assert!(Decoder::new(["gzip", "aes128gcm"], all).is_none());
        // So do codings that were not offered.
        assert!(Decoder::new(["br"], &[Coding::Gzip]).is_none());
        assert!(Decoder::new(["gzip"], &[]).is_none());
        assert!(Decoder::new(["gzip"], &[Coding::Gzip]).is_some());
        assert!(Decoder::new([&b"ZSTD"[..]], all).is_some());
        // At most five stacked codings.
        assert!(Decoder::new(["gzip, gzip, gzip, gzip, gzip"], all).is_some());
        assert!(Decoder::new(["gzip, gzip, gzip, gzip, gzip, gzip"], all).is_none());
    }

    #[test]
    fn accept_encoding_option() {
        use Coding::*;
        let parse = AcceptEncoding::parse;
        let default = parse(None);
        assert_eq!(default.header.as_deref(), Some("gzip, deflate, br, zstd"));
        assert_eq!(*default.offered, Coding::ALL);
        assert_eq!(
            parse(Some("")),
            AcceptEncoding {
                header: None,
                offered: Cow::Borrowed(&[])
            }
        );
        assert_eq!(parse(Some("  ")).header, None);

        let caller = parse(Some("br;q=1.0, GZIP ;q=0.5, compress, zstd; q=0"));
        assert_eq!(
            caller.header.as_deref(),
            Some("br;q=1.0, GZIP ;q=0.5, compress, zstd; q=0")
        );
        assert_eq!(*caller.offered, [Gzip, Br]);
        assert_eq!(*parse(Some("x-gzip")).offered, [Gzip]);
        assert_eq!(*parse(Some("identity")).offered, []);
        assert_eq!(*parse(Some("*")).offered, Coding::ALL);
        assert_eq!(*parse(Some("br, *;q=0")).offered, [Br]);
        assert_eq!(*parse(Some("*, deflate;q=0.000")).offered, [Gzip, Br, Zstd]);
    }

    #[test]
    fn decode_errors_become_recv_failures() {
        let failure = Failure::from(DecodeError("the br body is corrupt: x".into()));
        assert_eq!(failure.code, Code::NETTASK_E_RECV);
        assert_eq!(failure.reason, "the br body is corrupt: x");
    }
}
