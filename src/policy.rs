//! The client's network policy (API.md "Network policy and DNS"): the
//! hosts its tasks may reach (`allowed_hosts`) and whether plain http is
//! refused (`https_only`). A task's URL is checked at create; the event
//! loop checks every redirect hop before the hop joins the multi handle,
//! so no connection is ever made to a refused host.

use ::url::{Host, Url};

use crate::error::{Code, Error};

/// One `allowed_hosts` entry: "example.com", "*.example.com" (subdomains
/// only), an IP address ("127.0.0.1", "[::1]"), each with an optional
/// ":port".
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostPattern {
    /// WHATWG-parsed: lowercase, IDNA (punycode), IPs in canonical form; a
    /// domain without its trailing dot.
    host: Host<String>,
    subdomains: bool,
    port: Option<u16>,
}

impl HostPattern {
    fn parse(entry: &str) -> Result<HostPattern, String> {
        let (subdomains, rest) = match entry.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, entry),
        };
        let (host, port) = split_port(rest)?;
        if host.is_empty() {
            return Err("it has no host".into());
        }
        if host.contains(['/', '?', '#', '@', '*']) || host.chars().any(char::is_whitespace) {
            return Err("it is not a host name, \"*.\" and a host name, or an IP address".into());
        }
        let host = Host::parse(host).map_err(|e| format!("its host is invalid: {e}"))?;
        let host = without_trailing_dot(host);
        if subdomains && !matches!(host, Host::Domain(_)) {
            return Err("\"*.\" goes before a domain name, not an IP address".into());
        }
        Ok(HostPattern {
            host,
            subdomains,
            port,
        })
    }

    fn matches(&self, host: &Host<String>, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        match (&self.host, host) {
            (Host::Domain(pattern), Host::Domain(host)) if self.subdomains => host
                .strip_suffix(pattern.as_str())
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
            (pattern, host) => pattern == host,
        }
    }
}

/// Splits "host:port" (and "[v6]:port"); the port must be 1 to 65535.
fn split_port(entry: &str) -> Result<(&str, Option<u16>), String> {
    let colon = match entry.rfind(':') {
        // An IPv6 address without brackets, or a colon inside them.
        Some(i) if entry.starts_with('[') && !entry[..i].ends_with(']') => None,
        Some(i) if !entry.starts_with('[') && entry[..i].contains(':') => None,
        other => other,
    };
    let Some(i) = colon else {
        return Ok((entry, None));
    };
    let port = entry[i + 1..]
        .parse::<u16>()
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| {
            format!(
                "its port {:?} is not a number from 1 to 65535",
                &entry[i + 1..]
            )
        })?;
    Ok((&entry[..i], Some(port)))
}

fn without_trailing_dot(host: Host<String>) -> Host<String> {
    match host {
        Host::Domain(d) if d.ends_with('.') && d.len() > 1 => {
            Host::Domain(d[..d.len() - 1].to_owned())
        }
        other => other,
    }
}

/// Where a client's tasks may go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Empty = any host.
    allowed: Vec<HostPattern>,
    https_only: bool,
}

/// The `reason` of a task a redirect took to a refused URL (wx's words).
pub(crate) const REFUSED_HOP: &str = "url not in domain list";

impl Policy {
    /// The policy of `allowed_hosts` and `https_only`; an entry that is no
    /// host pattern is InvalidArgument, naming it.
    pub fn new(allowed_hosts: &[String], https_only: bool) -> Result<Policy, Error> {
        let allowed = allowed_hosts
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                HostPattern::parse(entry).map_err(|why| {
                    Error::invalid_argument(format!("allowed_hosts[{i}] {entry:?}: {why}"))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Policy {
            allowed,
            https_only,
        })
    }

    /// Whether a task may request `url` (a URL nettask has parsed and
    /// serialised); the error is Blocked, with a sentence saying why.
    pub fn check(&self, url: &str) -> Result<(), Error> {
        if self.allowed.is_empty() && !self.https_only {
            return Ok(());
        }
        let blocked = |why: String| Error::new(Code::NETTASK_E_BLOCKED, format!("{url}: {why}"));
        let parsed = Url::parse(url).map_err(|e| blocked(e.to_string()))?;
        if self.https_only && parsed.scheme() != "https" {
            return Err(blocked("https_only refuses every scheme but https".into()));
        }
        if self.allowed.is_empty() {
            return Ok(());
        }
        let host = parsed
            .host()
            .map(|h| without_trailing_dot(h.to_owned()))
            .ok_or_else(|| blocked("it has no host".into()))?;
        let port = parsed.port_or_known_default().unwrap_or(0);
        if self.allowed.iter().any(|p| p.matches(&host, port)) {
            return Ok(());
        }
        Err(blocked(format!(
            "{host} port {port} is not in allowed_hosts (url not in domain list)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(entries: &[&str]) -> Policy {
        let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        Policy::new(&entries, false).unwrap()
    }

    fn allows(p: &Policy, url: &str) -> bool {
        let url = crate::url::request_url(url).unwrap();
        match p.check(&url) {
            Ok(()) => true,
            Err(e) => {
                assert_eq!(e.code, Code::NETTASK_E_BLOCKED);
                false
            }
        }
    }

    #[test]
    fn exact_hosts_and_subdomains() {
        let p = policy(&["example.com", "*.api.test"]);
        assert!(allows(&p, "https://example.com/x"));
        assert!(
            allows(&p, "https://EXAMPLE.com./x"),
            "case and a trailing dot"
        );
        assert!(
            !allows(&p, "https://www.example.com/"),
            "an exact entry has no subdomains"
        );
        assert!(!allows(&p, "https://evil-example.com/"));
        assert!(!allows(&p, "https://example.com.evil.test/"));
        assert!(allows(&p, "http://a.api.test/"));
        assert!(allows(&p, "http://a.b.API.test./"));
        assert!(!allows(&p, "http://api.test/"), "*. is for subdomains only");
        assert!(!allows(&p, "http://evilapi.test/"));
        assert!(!allows(&p, "http://127.0.0.1/"), "IPs only when listed");
    }

    #[test]
    fn ports_match_the_effective_port() {
        let p = policy(&["a.test:443", "b.test:8080", "[::1]:81", "127.0.0.2"]);
        assert!(allows(&p, "https://a.test/"));
        assert!(!allows(&p, "http://a.test/"), "port 80");
        assert!(allows(&p, "http://b.test:8080/"));
        assert!(!allows(&p, "http://b.test/"));
        assert!(allows(&p, "http://[::1]:81/"));
        assert!(!allows(&p, "http://[::1]/"));
        assert!(allows(&p, "http://127.0.0.2:9/"));
        assert!(
            allows(&p, "http://0x7f.0.0.2/"),
            "IPv4 in WHATWG's canonical form"
        );
    }

    #[test]
    fn idn_hosts_match_in_either_form() {
        let p = policy(&["*.中文.example"]);
        assert!(allows(&p, "https://www.xn--fiq228c.example/"));
        assert!(allows(&p, "https://www.中文.EXAMPLE/"));
        let p = policy(&["xn--fiq228c.example"]);
        assert!(allows(&p, "https://中文.example/"));
    }

    #[test]
    fn https_only_refuses_http() {
        let p = Policy::new(&[], true).unwrap();
        assert!(allows(&p, "https://a.test/"));
        assert!(!allows(&p, "http://a.test/"));
    }

    #[test]
    fn malformed_entries_are_named() {
        for bad in [
            "",
            "*.",
            "*.127.0.0.1",
            "a.test:0",
            "a.test:99999",
            "a.test:http",
            "a.test/path",
            "user@a.test",
            "a b.test",
            "*a.test",
            "a.*.test",
            "[::1",
        ] {
            let e = Policy::new(&["ok.test".into(), bad.into()], false).unwrap_err();
            assert_eq!(e.code, Code::NETTASK_E_INVALID_ARGUMENT, "{bad:?}");
            assert!(e.message.starts_with("allowed_hosts[1] "), "{}", e.message);
        }
    }
}
