//! How many kept-alive HTTP/1.1 connections each origin has idle in
//! libcurl's pool, as far as the event loop can tell. libcurl finds a
//! connection to reuse by walking every connection to the origin, busy ones
//! included, so n tasks opening n connections at once cost O(n²); a
//! transfer for which this ledger knows no idle connection asks libcurl for
//! a fresh one and skips the walk. The count is an estimate: too high costs
//! one walk that finds nothing (as without the ledger), too low one extra
//! connection. Never used where connections multiplex (HTTP/2).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// An origin ("http://host:port"), known by a 64-bit FNV-1a hash of its
/// lower-case text: a transfer neither allocates nor hashes a string
/// twice. Two origins with one hash would only share an estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Origin(u64);

/// Hashes an `Origin` to itself: it is a hash already.
#[derive(Default)]
struct OriginHasher(u64);

impl Hasher for OriginHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    // An `Origin` arrives through `write_u64`; anything else is folded in.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Default)]
pub(crate) struct IdleConnections {
    by_origin: HashMap<Origin, usize, BuildHasherDefault<OriginHasher>>,
}

impl IdleConnections {
    /// The origin of a URL whose connections carry one transfer at a time:
    /// http:// without HTTP/2 prior knowledge. https:// may turn out to be
    /// HTTP/2 (ALPN), so it is never counted.
    pub fn origin(url: &str, http2_prior_knowledge: bool) -> Option<Origin> {
        let scheme = url.get(..7)?;
        if http2_prior_knowledge || !scheme.eq_ignore_ascii_case("http://") {
            return None;
        }
        let end = memchr::memchr3(b'/', b'?', b'#', &url.as_bytes()[7..]).unwrap_or(url.len() - 7);
        let hash = url.as_bytes()[..7 + end]
            .iter()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01b3)
            });
        Some(Origin(hash))
    }

    /// Whether a transfer to `origin` may find an idle connection; if so,
    /// it takes that one.
    pub fn take(&mut self, origin: Origin) -> bool {
        match self.by_origin.get_mut(&origin) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    /// A transfer to `origin` succeeded: its connection went back to the pool.
    pub fn put(&mut self, origin: Origin) {
        *self.by_origin.entry(origin).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_connections_per_origin_of_plain_http_only() {
        let origin = |url| IdleConnections::origin(url, false);
        assert_eq!(origin("http://Host:81/a?b"), origin("http://host:81"));
        assert_eq!(origin("HTTP://h#x"), origin("http://h/y"));
        assert_ne!(origin("http://h:81/"), origin("http://h/"));
        assert_eq!(IdleConnections::origin("http://h/", true), None);
        assert_eq!(origin("https://h/"), None);
        let h = origin("http://h").unwrap();
        let mut idle = IdleConnections::default();
        assert!(!idle.take(h));
        idle.put(h);
        idle.put(h);
        assert!(idle.take(h));
        assert!(!idle.take(origin("http://other").unwrap()));
        assert!(idle.take(h));
        assert!(!idle.take(h));
    }
}
