//! How many kept-alive HTTP/1.1 connections each origin has idle in
//! libcurl's pool, as far as the event loop can tell. libcurl finds a
//! connection to reuse by walking every connection to the origin, busy ones
//! included, so n tasks opening n connections at once cost O(n²); a
//! transfer for which this ledger knows no idle connection asks libcurl for
//! a fresh one and skips the walk. The count is an estimate: too high costs
//! one walk that finds nothing (as without the ledger), too low one extra
//! connection. Never used where connections multiplex (HTTP/2).

use std::collections::HashMap;

#[derive(Default)]
pub(crate) struct IdleConnections {
    by_origin: HashMap<Box<str>, usize>,
}

impl IdleConnections {
    /// The origin ("http://host:port") of a URL whose connections carry one
    /// transfer at a time: http:// without HTTP/2 prior knowledge. https://
    /// may turn out to be HTTP/2 (ALPN), so it is never counted.
    pub fn origin(url: &str, http2_prior_knowledge: bool) -> Option<Box<str>> {
        let rest = url
            .get(..7)
            .filter(|s| s.eq_ignore_ascii_case("http://"))
            .map(|_| &url[7..])?;
        if http2_prior_knowledge {
            return None;
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let origin = &url[..7 + end];
        // Request URLs come serialised by WHATWG rules, already lower case.
        Some(match origin.bytes().any(|b| b.is_ascii_uppercase()) {
            true => origin.to_ascii_lowercase().into(),
            false => origin.into(),
        })
    }

    /// Whether a transfer to `origin` may find an idle connection; if so,
    /// it takes that one.
    pub fn take(&mut self, origin: &str) -> bool {
        match self.by_origin.get_mut(origin) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    /// A transfer to `origin` succeeded: its connection went back to the pool.
    pub fn put(&mut self, origin: Box<str>) {
        *self.by_origin.entry(origin).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_connections_per_origin_of_plain_http_only() {
        assert_eq!(
            IdleConnections::origin("http://Host:81/a?b", false).as_deref(),
            Some("http://host:81")
        );
        assert_eq!(
            IdleConnections::origin("HTTP://h#x", false).as_deref(),
            Some("http://h")
        );
        assert_eq!(IdleConnections::origin("http://h/", true), None);
        assert_eq!(IdleConnections::origin("https://h/", false), None);
        let mut idle = IdleConnections::default();
        assert!(!idle.take("http://h"));
        idle.put("http://h".into());
        idle.put("http://h".into());
        assert!(idle.take("http://h"));
        assert!(!idle.take("http://other"));
        assert!(idle.take("http://h"));
        assert!(!idle.take("http://h"));
    }
}
