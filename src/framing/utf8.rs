//! UTF-8 framing: where to cut a byte stream so that no piece ends inside
//! a character that may still be completed. Bytes that can never become
//! valid UTF-8 are not held back.

/// The length of the sequence a lead byte starts (1 for any other byte).
pub fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 1,
    }
}

/// How many bytes at the end of `bytes` are the start of a UTF-8 sequence
/// that more bytes could complete (0 to 3).
pub fn incomplete_tail(bytes: &[u8]) -> usize {
    // A sequence is at most 4 bytes: look at the last 3 for its lead byte.
    for back in 1..=bytes.len().min(3) {
        let b = bytes[bytes.len() - back];
        if b & 0xC0 == 0x80 {
            continue; // a continuation byte: the lead is further back
        }
        let needed = sequence_len(b);
        if needed == 1 {
            return 0; // ASCII, or a byte no sequence starts with
        }
        let tail = &bytes[bytes.len() - back..];
        return if back < needed && could_continue(tail) {
            back
        } else {
            0
        };
    }
    0
}

/// Whether `prefix` (a lead byte and continuation bytes) can still become a
/// valid character: the second byte's range depends on the lead (no
/// overlong forms, no surrogates, nothing past U+10FFFF).
fn could_continue(prefix: &[u8]) -> bool {
    let Some(&second) = prefix.get(1) else {
        return true;
    };
    match prefix[0] {
        0xE0 => (0xA0..=0xBF).contains(&second),
        0xED => (0x80..=0x9F).contains(&second),
        0xF0 => (0x90..=0xBF).contains(&second),
        0xF4 => (0x80..=0x8F).contains(&second),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_back_only_what_can_still_be_completed() {
        let four = "😀".as_bytes(); // F0 9F 98 80
        let three = "中".as_bytes(); // E4 B8 AD
        assert_eq!(incomplete_tail(b"abc"), 0);
        assert_eq!(incomplete_tail(b""), 0);
        for cut in 1..4 {
            assert_eq!(incomplete_tail(&four[..cut]), cut, "{cut}");
        }
        assert_eq!(incomplete_tail(four), 0);
        for cut in 1..3 {
            let mut s = b"x".to_vec();
            s.extend_from_slice(&three[..cut]);
            assert_eq!(incomplete_tail(&s), cut);
        }
        assert_eq!(incomplete_tail(three), 0);
        // Never valid: passed through.
        for never in [
            &b"\xff"[..],
            b"\xc0",
            b"\xc1",
            b"\xf5",
            b"\x80",
            b"\xe0\x80",
            b"\xed\xa0",
            b"\xf4\x90",
        ] {
            assert_eq!(incomplete_tail(never), 0, "{never:?}");
        }
        assert_eq!(incomplete_tail(b"\xe0\xa0"), 2);
        assert_eq!(incomplete_tail(b"\xf4\x8f\xbf"), 3);
    }
}
