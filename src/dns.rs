//! Where a client's tasks get their addresses (API.md "Network policy and
//! DNS"): static overrides (`resolve`, as curl --resolve), answers a host
//! feeds at run time (`nettask_client_add_resolve`, e.g. from HTTPDNS), and
//! DNS-over-HTTPS (`doh_url`); the system resolver otherwise.
//!
//! Overrides reach libcurl as CURLOPT_RESOLVE lines, which load into the
//! multi handle's DNS cache when a transfer starts. The event loop hands
//! each transfer the changes since the last one it set up (read off a
//! journal of changed keys: the cost follows the changes, not the table),
//! plus the entry for the transfer's own host and port, so a task started
//! after a change uses it even if the transfer carrying the change starts
//! later.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CStr;
use std::net::IpAddr;

use ::url::{Host, Url};

use crate::error::Error;
use crate::util::lock;

/// Host (WHATWG-parsed, lowercase, IDNA) and port.
type Key = (String, u16);

/// Overrides by host and port: the libcurl address list ("a,[b]"), or
/// `None` once removed, so that a later transfer to it drops the cached
/// override too.
#[derive(Debug, Default)]
struct Table {
    entries: BTreeMap<Key, Option<String>>,
    /// The keys changed, in order; change number `base + i` is
    /// `journal[i]`. A reader behind `base` takes every entry.
    journal: Vec<Key>,
    base: usize,
}

impl Table {
    fn set(&mut self, key: Key, addresses: Option<String>) {
        self.entries.insert(key.clone(), addresses);
        self.journal.push(key);
        // Half is dropped when it holds twice as many changes as there are
        // entries: repeated changes of the same keys cannot grow it
        // without bound, and a reader in the newer half reads on.
        if self.journal.len() > 2 * JOURNAL_MIN.max(self.entries.len()) {
            let half = self.journal.len() / 2;
            self.journal.drain(..half);
            self.base += half;
        }
    }
}

/// Changes kept however small the table.
const JOURNAL_MIN: usize = 64;

/// How many changes the event loop has handed libcurl so far.
#[derive(Debug, Default)]
pub(crate) struct Applied(usize);

/// Which source gives a transfer its address, for the profile.
pub(crate) fn source_name(source: Option<Source>) -> &'static CStr {
    match source {
        None => c"",
        Some(Source::System) => c"system",
        Some(Source::Override) => c"override",
        Some(Source::Doh) => c"doh",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    System,
    Override,
    Doh,
}

#[derive(Debug)]
pub(crate) struct Dns {
    doh_url: Option<String>,
    table: std::sync::Mutex<Table>,
}

impl Dns {
    /// Checks `resolve` ("host:port:addr[,addr...]") and `doh_url` (an
    /// https URL); an entry that is neither is InvalidArgument, naming it.
    pub fn new(resolve: &[String], doh_url: Option<&str>) -> Result<Dns, Error> {
        let mut table = Table::default();
        for (i, entry) in resolve.iter().enumerate() {
            let (key, addresses) = parse_entry(entry)
                .map_err(|why| Error::invalid_argument(format!("resolve[{i}] {entry:?}: {why}")))?;
            table.set(key, Some(addresses));
        }
        let doh_url = doh_url.map(check_doh_url).transpose()?;
        Ok(Dns {
            doh_url,
            table: std::sync::Mutex::new(table),
        })
    }

    pub fn doh_url(&self) -> Option<&str> {
        self.doh_url.as_deref()
    }

    /// Sets (or, with `None` or "", removes) the addresses of `host`:`port`
    /// for transfers set up from now on.
    pub fn set(&self, host: &str, port: u16, addresses: Option<&str>) -> Result<(), Error> {
        let bad = |why: String| {
            Error::invalid_argument(format!("add_resolve {host:?} port {port}: {why}"))
        };
        let host = parse_host(host).map_err(bad)?;
        if port == 0 {
            return Err(bad("the port is 0".into()));
        }
        let addresses = match addresses.filter(|a| !a.is_empty()) {
            Some(a) => Some(parse_addresses(a).map_err(bad)?),
            None => None,
        };
        lock(&self.table).set((host, port), addresses);
        Ok(())
    }

    /// The CURLOPT_RESOLVE lines for a transfer to `host`:`port`, and which
    /// source will give its address (`None` for an IP address: nothing to
    /// resolve). `applied` is what earlier transfers carried; it is moved
    /// up to now.
    pub fn lines_for(
        &self,
        host: &str,
        port: u16,
        applied: &mut Applied,
    ) -> (Vec<String>, Option<Source>) {
        let table = lock(&self.table);
        let mut lines = Vec::new();
        let end = table.base + table.journal.len();
        if applied.0 < table.base {
            for (key, value) in &table.entries {
                lines.push(line(key, value.as_deref()));
            }
        } else if applied.0 < end {
            let mut seen = BTreeSet::new();
            for key in &table.journal[applied.0 - table.base..] {
                if seen.insert(key) {
                    lines.push(line(key, table.entries[key].as_deref()));
                }
            }
        }
        applied.0 = end;
        let literal = host.starts_with('[') || host.parse::<IpAddr>().is_ok();
        // (No key made, which allocates, when there are no entries.)
        let own = if table.entries.is_empty() {
            None
        } else {
            table.entries.get_key_value(&(host.to_owned(), port))
        };
        if let Some((key, value)) = own {
            let own_line = line(key, value.as_deref());
            if !lines.contains(&own_line) {
                lines.push(own_line);
            }
        }
        // libcurl answers "localhost" itself, before any resolver.
        let localhost = host == "localhost" || host.ends_with(".localhost");
        let source = match own.map(|(_, value)| value) {
            _ if literal => None,
            Some(Some(_)) => Some(Source::Override),
            _ if localhost => Some(Source::System),
            _ if self.doh_url.is_some() => Some(Source::Doh),
            _ => Some(Source::System),
        };
        (lines, source)
    }
}

fn line((host, port): &Key, addresses: Option<&str>) -> String {
    match addresses {
        Some(addresses) => format!("{host}:{port}:{addresses}"),
        None => format!("-{host}:{port}"),
    }
}

/// "host:port:addr[,addr...]" into its key and libcurl's address list.
fn parse_entry(entry: &str) -> Result<(Key, String), String> {
    let mut parts = entry.splitn(3, ':');
    let (Some(host), Some(port), Some(addresses)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err("it is not host:port:address[,address...]".into());
    };
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| format!("the port {port:?} is not a number from 1 to 65535"))?;
    Ok(((parse_host(host)?, port), parse_addresses(addresses)?))
}

/// A host name as URLs name it (lowercase, IDNA), which is how libcurl's
/// DNS cache finds it.
fn parse_host(host: &str) -> Result<String, String> {
    // A leading "+" or "-" means something else to CURLOPT_RESOLVE.
    if host.is_empty() || host.starts_with(['+', '-']) || host.contains(['*', '[', ']', ':', '/']) {
        return Err("the host is not a host name".into());
    }
    match Host::parse(host) {
        Ok(Host::Domain(d)) => Ok(d),
        Ok(_) => Err("the host is an IP address, which needs no resolving".into()),
        Err(e) => Err(format!("the host is invalid: {e}")),
    }
}

/// "a,b,[v6]" into libcurl's form, each an IP address.
fn parse_addresses(list: &str) -> Result<String, String> {
    let parsed: Result<Vec<String>, String> = list
        .split(',')
        .map(|a| {
            let a = a.trim();
            let bare = a
                .strip_prefix('[')
                .and_then(|a| a.strip_suffix(']'))
                .unwrap_or(a);
            match bare.parse::<IpAddr>() {
                Ok(IpAddr::V4(v4)) => Ok(v4.to_string()),
                Ok(IpAddr::V6(v6)) => Ok(format!("[{v6}]")),
                Err(_) => Err(format!("{a:?} is not an IP address")),
            }
        })
        .collect();
    Ok(parsed?.join(","))
}

fn check_doh_url(url: &str) -> Result<String, Error> {
    let bad = |why: &str| Error::invalid_argument(format!("doh_url {url:?}: {why}"));
    let parsed = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if parsed.scheme() != "https" {
        return Err(bad("DNS-over-HTTPS needs an https:// URL"));
    }
    crate::url::request_url(url).map_err(|e| bad(&e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(entries: &[&str]) -> Dns {
        let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        Dns::new(&entries, None).unwrap()
    }

    #[test]
    fn entries_are_checked_and_normalised() {
        let d = dns(&["API.Test:443:127.0.0.2", "中文.test:80:::1, 127.0.0.1"]);
        let mut applied = Applied::default();
        let (lines, source) = d.lines_for("api.test", 443, &mut applied);
        assert_eq!(
            lines,
            [
                "api.test:443:127.0.0.2",
                "xn--fiq228c.test:80:[::1],127.0.0.1"
            ]
        );
        assert_eq!(source, Some(Source::Override));
        for bad in [
            "a.test:443",
            "a.test:0:127.0.0.1",
            "a.test:x:127.0.0.1",
            "a.test:443:",
            "a.test:443:example.com",
            ":443:127.0.0.1",
            "*:443:127.0.0.1",
            "127.0.0.1:443:127.0.0.2",
            "+a.test:443:127.0.0.1",
            "-a.test:443:127.0.0.1",
        ] {
            let entries = vec!["ok.test:1:127.0.0.1".to_string(), bad.to_string()];
            let e = Dns::new(&entries, None).unwrap_err();
            assert!(
                e.message.starts_with("resolve[1] "),
                "{bad:?}: {}",
                e.message
            );
        }
    }

    #[test]
    fn each_transfer_carries_changes_once_and_its_own_entry_always() {
        let d = dns(&["a.test:80:127.0.0.2"]);
        let mut applied = Applied::default();
        assert_eq!(
            d.lines_for("b.test", 80, &mut applied).0,
            ["a.test:80:127.0.0.2"]
        );
        assert!(d.lines_for("b.test", 80, &mut applied).0.is_empty());
        assert_eq!(
            d.lines_for("a.test", 80, &mut applied).0,
            ["a.test:80:127.0.0.2"]
        );

        d.set("a.test", 80, Some("127.0.0.3")).unwrap();
        d.set("c.test", 81, Some("::1")).unwrap();
        let (lines, source) = d.lines_for("b.test", 80, &mut applied);
        assert_eq!(lines, ["a.test:80:127.0.0.3", "c.test:81:[::1]"]);
        assert_eq!(source, Some(Source::System));

        d.set("a.test", 80, None).unwrap();
        assert_eq!(d.lines_for("b.test", 80, &mut applied).0, ["-a.test:80"]);
        let (lines, source) = d.lines_for("a.test", 80, &mut applied);
        assert_eq!(lines, ["-a.test:80"], "a removed override stays removed");
        assert_eq!(source, Some(Source::System));
        assert_eq!(d.lines_for("127.0.0.1", 80, &mut applied).1, None);
    }

    #[test]
    fn a_reader_behind_a_dropped_journal_gets_every_entry() {
        let d = dns(&["a.test:80:127.0.0.2"]);
        let (mut behind, mut current) = (Applied::default(), Applied::default());
        d.lines_for("x.test", 80, &mut current);
        for i in 0..1000 {
            d.set("b.test", 80, Some(&format!("127.0.0.{}", i % 200 + 1)))
                .unwrap();
            if i % 10 == 0 {
                let lines = d.lines_for("x.test", 80, &mut current).0;
                assert_eq!(lines, [format!("b.test:80:127.0.0.{}", i % 200 + 1)]);
            }
        }
        let table = lock(&d.table);
        assert!(
            table.journal.len() <= 2 * JOURNAL_MIN,
            "{}",
            table.journal.len()
        );
        drop(table);
        assert_eq!(
            d.lines_for("x.test", 80, &mut behind).0,
            ["a.test:80:127.0.0.2", "b.test:80:127.0.0.200"]
        );
        assert!(d.lines_for("x.test", 80, &mut behind).0.is_empty());
    }

    #[test]
    fn runtime_entries_are_checked() {
        let d = dns(&[]);
        assert!(d.set("", 80, Some("127.0.0.1")).is_err());
        assert!(d.set("a.test", 0, Some("127.0.0.1")).is_err());
        assert!(d.set("a.test", 80, Some("nope")).is_err());
        assert!(d.set("a.test", 80, Some("")).is_ok(), "\"\" removes");
    }

    #[test]
    fn doh_needs_https() {
        assert!(Dns::new(&[], Some("https://127.0.0.1:8443/dns-query")).is_ok());
        for bad in ["http://127.0.0.1/dns-query", "dns.test", ""] {
            let e = Dns::new(&[], Some(bad)).unwrap_err();
            assert!(e.message.starts_with("doh_url "), "{}", e.message);
        }
        let d = Dns::new(&[], Some("https://doh.test/q")).unwrap();
        let (_, source) = d.lines_for("a.test", 443, &mut Applied::default());
        assert_eq!(source, Some(Source::Doh));
    }
}
