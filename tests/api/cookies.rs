//! The client's cookie jar (API.md "Cookies"): Set-Cookie stored and sent
//! back by every task and redirect hop of a client with `enable_cookies`,
//! the jar's file (load at client_new, atomic save), the four jar calls
//! from any thread, and the `cookies` array of heads and results.

use std::ffi::{CString, c_void};
use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nettask::ffi::nettask_code::*;
use nettask::ffi::*;

use crate::download::{entries, temp_dir};
use crate::harness::*;
use crate::httpbin::httpbin;
use crate::server::{raw_once, server};

// ---------------------------------------------------------------------------
// Helpers

fn path_cstring(path: &Path) -> CString {
    CString::new(path.to_str().unwrap()).unwrap()
}

/// A client with a memory-only jar.
fn jar_client() -> Client {
    Client::with(|o| o.enable_cookies = true)
}

/// A client whose jar is loaded from and saved to `file`.
fn file_client(file: &Path) -> Client {
    let file = path_cstring(file);
    Client::with(|o| {
        o.enable_cookies = true;
        o.cookie_file = file.as_ptr();
    })
}

/// nettask_client_new's code and sentence for these options (any client
/// it made is freed).
fn client_new_error(configure: impl FnOnce(&mut nettask_client_options)) -> (nettask_code, String) {
    // SAFETY: the options struct is plain data; all-zero is a valid value.
    let mut opts = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer.
    unsafe { nettask_client_options_init_version(&mut opts, NETTASK_CLIENT_OPTIONS_VERSION) };
    configure(&mut opts);
    let mut client = ptr::null_mut();
    // SAFETY: valid pointers; the strings `configure` set outlive the call.
    let code = unsafe { nettask_client_new(&opts, &mut client) };
    let error = last_error();
    if !client.is_null() {
        // SAFETY: the client just made, freed once; its code (a save that
        // may fail) does not matter here.
        unsafe { nettask_client_free(client) };
    }
    assert!(code != NETTASK_OK, "client_new succeeded");
    (code, error)
}

/// Fetches `opts` and checks it succeeded.
fn get(client: &Client, opts: Opts) -> Outcome {
    let (out, _) = fetch(client, opts);
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    out
}

/// The body of a `.../cookies` route: the Cookie header(s) it received.
fn sent(client: &Client, opts: Opts) -> String {
    let out = get(client, opts);
    assert_eq!(out.status, 200);
    String::from_utf8(out.data).unwrap()
}

/// The in-process server's `/set-cookie` route setting each of `values`.
fn set_cookie_path(prefix: &str, values: &[&str]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for v in values {
        query.append_pair("c", v);
    }
    format!("{prefix}/set-cookie?{}", query.finish())
}

/// The jar's lines, sorted (the jar lists them in libcurl's hash order).
fn jar_lines(client: &Client) -> Vec<String> {
    let jar = jar(client);
    assert!(jar.is_empty() || jar.ends_with('\n'), "{jar:?}");
    let mut lines: Vec<String> = jar.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

/// The (name, value) of each cookie in the jar, sorted.
fn jar_pairs(client: &Client) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = jar_lines(client)
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 7, "a Netscape line: {l:?}");
            (f[5].to_owned(), f[6].to_owned())
        })
        .collect();
    pairs.sort();
    pairs
}

/// The `name=value` pairs of a Cookie header, sorted: libcurl orders
/// cookies of the same path and domain by name length, then newest first
/// (RFC 6265 5.4 only asks for longer paths first).
fn cookie_set(header: &[u8]) -> Vec<String> {
    let header = std::str::from_utf8(header).unwrap();
    let mut pairs: Vec<String> = header.split("; ").map(str::to_owned).collect();
    pairs.sort();
    pairs
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

fn code_of(r: Result<(), (nettask_code, String)>) -> nettask_code {
    match r {
        Ok(()) => NETTASK_OK,
        Err((code, _)) => code,
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `nettask_client_clear_cookies`, which must succeed.
fn client_clear(client: &Client) {
    // SAFETY: `client` holds a live handle until it is dropped.
    let code = unsafe { nettask_client_clear_cookies(client.0) };
    assert_eq!(code, NETTASK_OK, "{}", last_error());
}

/// `nettask_client_save_cookies`.
fn save(client: &Client) -> nettask_code {
    // SAFETY: a live client.
    unsafe { nettask_client_save_cookies(client.0) }
}

/// Frees the client with nettask_client_free, returning its code (the
/// harness's drop insists on NETTASK_OK).
fn free(mut client: Client) -> nettask_code {
    let raw = std::mem::replace(&mut client.0, ptr::null_mut());
    // SAFETY: a live client, given up here (`client` now holds NULL).
    unsafe { nettask_client_free(raw) }
}

const NETSCAPE_HEADER: &str = "# Netscape HTTP Cookie File";

// ---------------------------------------------------------------------------
// 1. Redirect hops

#[test]
fn cookies_set_on_a_redirect_hop_are_sent_to_its_target() {
    let client = jar_client();
    let out = get(&client, Opts::new(&server().url("/cookies/set?a=1&b=2")));
    assert_eq!((out.status, out.profile.redirect_count), (200, 1));
    assert_eq!(cookie_set(&out.data), ["a=1", "b=2"]);
    // The final response (/cookies) set none; the 302's are in the jar.
    assert!(out.cookies.is_empty(), "{:?}", out.cookies);
    assert_eq!(
        jar_lines(&client),
        [
            "127.0.0.1\tFALSE\t/\tFALSE\t0\ta\t1",
            "127.0.0.1\tFALSE\t/\tFALSE\t0\tb\t2",
        ]
    );
    // Other tasks of the client send them too.
    let again = sent(&client, Opts::new(&server().url("/cookies")));
    assert_eq!(cookie_set(again.as_bytes()), ["a=1", "b=2"]);
    // Without a jar the hop's cookies go nowhere.
    let plain = Client::new();
    let out = get(&plain, Opts::new(&server().url("/cookies/set?a=1&b=2")));
    assert_eq!((out.status, out.data.as_slice()), (200, &b""[..]));
}

#[test]
fn httpbin_sees_cookies_set_on_a_redirect_and_deleted_by_one() {
    let client = jar_client();
    let json = |out: Outcome| -> serde_json::Value {
        assert_eq!(out.status, 200);
        serde_json::from_slice(&out.data).unwrap()
    };
    let out = get(&client, Opts::new(&httpbin().url("/cookies/set?a=1&b=2")));
    assert_eq!(out.profile.redirect_count, 1);
    assert_eq!(
        json(out)["cookies"],
        serde_json::json!({"a": "1", "b": "2"})
    );
    let out = get(&client, Opts::new(&httpbin().url("/cookies/delete?a")));
    assert_eq!(out.profile.redirect_count, 1);
    assert_eq!(json(out)["cookies"], serde_json::json!({"b": "2"}));
    assert_eq!(jar_pairs(&client), pairs(&[("b", "2")]));
}

// ---------------------------------------------------------------------------
// 2. RFC 6265 rules: Domain, Path, Secure, HttpOnly, expiry

#[test]
fn a_domain_cookie_reaches_subdomains_and_a_host_only_one_its_host() {
    // libcurl takes the cookie host from a caller's Host header, for
    // storing and for sending.
    let client = jar_client();
    let path = set_cookie_path(
        "",
        &[
            "d=1; Domain=example.com",
            "h=1",
            "x=1; Domain=other.org",
            "y=1; Domain=b.example.com",
        ],
    );
    let out = get(
        &client,
        Opts::new(&server().url(&path)).header("Host", "a.example.com"),
    );
    assert_eq!(out.cookies.len(), 4);
    // Domain=other.org and a sibling's domain are refused (RFC 6265 5.3.6).
    assert_eq!(
        jar_lines(&client),
        [
            ".example.com\tTRUE\t/\tFALSE\t0\td\t1",
            "a.example.com\tFALSE\t/\tFALSE\t0\th\t1",
        ]
    );
    let cookies_as = |host: &str| {
        sent(
            &client,
            Opts::new(&server().url("/cookies")).header("Host", host),
        )
    };
    assert_eq!(cookies_as("a.example.com"), "h=1; d=1");
    assert_eq!(cookies_as("b.example.com"), "d=1");
    assert_eq!(cookies_as("example.com"), "d=1");
    assert_eq!(cookies_as("deep.b.example.com"), "d=1");
    assert_eq!(cookies_as("badexample.com"), "");
    assert_eq!(cookies_as("other.org"), "");
    // The URL's host, 127.0.0.1, has none of them.
    assert_eq!(sent(&client, Opts::new(&server().url("/cookies"))), "");
}

#[test]
fn a_path_cookie_is_sent_under_its_path_only() {
    let client = jar_client();
    // One with Path=/p, one with the default path of /p/sub/set-cookie.
    let path = set_cookie_path("/p/sub", &["pc=1; Path=/p", "dp=1"]);
    get(&client, Opts::new(&server().url(&path)));
    assert_eq!(
        jar_lines(&client),
        [
            "127.0.0.1\tFALSE\t/p\tFALSE\t0\tpc\t1",
            "127.0.0.1\tFALSE\t/p/sub\tFALSE\t0\tdp\t1",
        ]
    );
    let to = |path: &str| sent(&client, Opts::new(&server().url(path)));
    assert_eq!(to("/p/cookies"), "pc=1");
    assert_eq!(to("/p/x/cookies"), "pc=1");
    // Longer paths first (RFC 6265 5.4).
    assert_eq!(to("/p/sub/cookies"), "dp=1; pc=1");
    assert_eq!(to("/q/cookies"), "");
    assert_eq!(to("/pq/cookies"), "", "/p does not path-match /pq");
    assert_eq!(to("/cookies"), "");
}

#[test]
fn secure_cookies_go_only_to_secure_contexts() {
    let ca = CString::new(server().ca_file.to_str().unwrap()).unwrap();
    let client = Client::with(|o| {
        o.enable_cookies = true;
        o.ca_file = ca.as_ptr();
    });
    // 127.0.0.2 over plain HTTP is no secure context for libcurl.
    for line in [
        "127.0.0.2\tFALSE\t/\tTRUE\t0\tsec\t1",
        "127.0.0.2\tFALSE\t/\tFALSE\t0\tplain\t1",
    ] {
        set_cookie(&client, line).unwrap();
    }
    assert_eq!(
        sent(&client, Opts::new(&server().alt_url("/cookies"))),
        "plain=1"
    );
    // A Secure Set-Cookie over plain HTTP is not stored (RFC 6265bis).
    let path = set_cookie_path("", &["s2=1; Secure", "n2=1"]);
    let out = get(&client, Opts::new(&server().alt_url(&path)));
    assert_eq!(out.cookies, ["s2=1; Secure", "n2=1"]);
    assert_eq!(
        jar_pairs(&client),
        pairs(&[("n2", "1"), ("plain", "1"), ("sec", "1")])
    );
    // A Secure cookie of a named host: not sent over http, sent over https
    // (the host comes from the Host header, the connection's security
    // from the scheme).
    set_cookie(&client, "shop.example\tFALSE\t/\tTRUE\t0\tsid\tsecret").unwrap();
    let to_shop = |url: String| sent(&client, Opts::new(&url).header("Host", "shop.example"));
    assert_eq!(to_shop(server().url("/cookies")), "");
    let https = format!("https://127.0.0.1:{}/cookies", server().https.port());
    assert_eq!(to_shop(https), "sid=secret");
    // Set over https, a Secure cookie is stored and sent back over https.
    let path = set_cookie_path("", &["hs=1; Secure; Path=/"]);
    get(&client, Opts::new(&server().https_url(&path)));
    assert!(
        jar_lines(&client).contains(&"localhost\tFALSE\t/\tTRUE\t0\ths\t1".to_string()),
        "{:?}",
        jar_lines(&client)
    );
    assert_eq!(
        sent(&client, Opts::new(&server().https_url("/cookies"))),
        "hs=1"
    );
}

#[test]
fn httponly_cookies_are_marked_in_the_jar_and_still_sent_over_http() {
    let client = jar_client();
    let path = set_cookie_path("", &["ho=1; HttpOnly", "plain=2"]);
    get(&client, Opts::new(&server().url(&path)));
    assert_eq!(
        jar_lines(&client),
        [
            "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tho\t1",
            "127.0.0.1\tFALSE\t/\tFALSE\t0\tplain\t2",
        ]
    );
    let got = sent(&client, Opts::new(&server().url("/cookies")));
    assert_eq!(cookie_set(got.as_bytes()), ["ho=1", "plain=2"]);
    // The mark goes in through set_cookie too.
    client_clear(&client);
    set_cookie(&client, "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tset\t3").unwrap();
    assert_eq!(
        jar_lines(&client),
        ["#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tset\t3"]
    );
    assert_eq!(sent(&client, Opts::new(&server().url("/cookies"))), "set=3");
}

#[test]
fn max_age_zero_and_a_past_expires_delete_cookies() {
    let client = jar_client();
    get(
        &client,
        Opts::new(&server().url("/cookies/set?a=1&b=2&c=3")),
    );
    assert_eq!(jar_pairs(&client).len(), 3);
    let path = set_cookie_path(
        "",
        &[
            "a=; Max-Age=0; Path=/",
            "b=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
        ],
    );
    get(&client, Opts::new(&server().url(&path)));
    assert_eq!(jar_pairs(&client), pairs(&[("c", "3")]));
    assert_eq!(sent(&client, Opts::new(&server().url("/cookies"))), "c=3");
    // The same through set_cookie: Max-Age=0, and a Netscape line whose
    // expiry has passed.
    let future = unix_now() + 3600;
    set_cookie(&client, "Set-Cookie: k=1; Domain=example.com").unwrap();
    set_cookie(
        &client,
        &format!("127.0.0.1\tFALSE\t/\tFALSE\t{future}\tn\t1"),
    )
    .unwrap();
    assert_eq!(
        jar_pairs(&client),
        pairs(&[("c", "3"), ("k", "1"), ("n", "1")])
    );
    set_cookie(&client, "Set-Cookie: k=; Domain=example.com; Max-Age=0").unwrap();
    set_cookie(&client, "127.0.0.1\tFALSE\t/\tFALSE\t1\tn\t1").unwrap();
    assert_eq!(jar_pairs(&client), pairs(&[("c", "3")]));
}

#[test]
fn a_max_age_cookie_expires_when_its_time_is_up() {
    let client = jar_client();
    let path = set_cookie_path("", &["short=1; Max-Age=1", "long=1; Max-Age=3600"]);
    get(&client, Opts::new(&server().url(&path)));
    let expiry = |name: &str| -> u64 {
        let lines = jar_lines(&client);
        let line = lines
            .iter()
            .find(|l| l.ends_with(&format!("\t{name}\t1")))
            .unwrap_or_else(|| panic!("{name} in {lines:?}"));
        line.split('\t').nth(4).unwrap().parse().unwrap()
    };
    let now = unix_now();
    assert!(
        (now..=now + 2).contains(&expiry("short")),
        "{}",
        expiry("short")
    );
    assert!((now + 3599..=now + 3601).contains(&expiry("long")));
    let to_cookies = || sent(&client, Opts::new(&server().url("/cookies")));
    assert_eq!(cookie_set(to_cookies().as_bytes()), ["long=1", "short=1"]);
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(to_cookies(), "long=1");
    assert_eq!(jar_pairs(&client), pairs(&[("long", "1")]));
}

// ---------------------------------------------------------------------------
// 3. One jar per client

#[test]
fn two_clients_keep_separate_jars() {
    let (a, b) = (jar_client(), jar_client());
    get(&a, Opts::new(&server().url("/cookies/set?who=a")));
    get(&b, Opts::new(&server().url("/cookies/set?who=b&only_b=1")));
    let to_cookies = |c: &Client| sent(c, Opts::new(&server().url("/cookies")));
    assert_eq!(to_cookies(&a), "who=a");
    assert_eq!(cookie_set(to_cookies(&b).as_bytes()), ["only_b=1", "who=b"]);
    set_cookie(&a, "127.0.0.1\tFALSE\t/\tFALSE\t0\tonly_a\t1").unwrap();
    client_clear(&b);
    assert_eq!(jar_pairs(&a), pairs(&[("only_a", "1"), ("who", "a")]));
    assert_eq!(jar(&b), "");
    assert_eq!(to_cookies(&b), "");
    assert_eq!(cookie_set(to_cookies(&a).as_bytes()), ["only_a=1", "who=a"]);
}

// ---------------------------------------------------------------------------
// 4. The jar's file

#[test]
fn a_jar_saved_at_free_is_loaded_and_sent_by_the_next_client() {
    let dir = temp_dir("cookie-save");
    let file = dir.join("jar.txt");
    let future = unix_now() + 86_400;
    let expected = {
        // A missing file is an empty jar.
        let client = file_client(&file);
        assert_eq!(jar(&client), "");
        get(&client, Opts::new(&server().url("/cookies/set?sid=abc")));
        let path = set_cookie_path("", &["ho=1; HttpOnly; Max-Age=86400"]);
        get(&client, Opts::new(&server().url(&path)));
        set_cookie(
            &client,
            &format!("example.com\tFALSE\t/x\tTRUE\t{future}\tkeep\t1"),
        )
        .unwrap();
        assert!(!file.exists(), "nothing saved before free or save_cookies");
        jar_lines(&client)
    }; // freed: saved
    assert_eq!(expected.len(), 3, "{expected:?}");
    assert!(expected.contains(&"127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\tabc".to_string()));
    assert!(
        expected
            .iter()
            .any(|l| l.starts_with("#HttpOnly_127.0.0.1\t"))
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().next(), Some(NETSCAPE_HEADER));
    let mut saved: Vec<String> = text
        .lines()
        .filter(|l| l.contains('\t'))
        .map(str::to_owned)
        .collect();
    saved.sort();
    assert_eq!(saved, expected, "the session cookie is saved too");
    assert_eq!(entries(&dir), ["jar.txt"], "no temporary file left");

    let client = file_client(&file);
    assert_eq!(jar_lines(&client), expected);
    let got = sent(&client, Opts::new(&server().url("/cookies")));
    assert_eq!(cookie_set(got.as_bytes()), ["ho=1", "sid=abc"]);
    // save_cookies writes it now, without a free.
    client_clear(&client);
    set_cookie(&client, "127.0.0.1\tFALSE\t/\tFALSE\t0\tnext\t2").unwrap();
    assert_eq!(save(&client), NETTASK_OK, "{}", last_error());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with(NETSCAPE_HEADER), "{text}");
    assert!(
        text.ends_with("127.0.0.1\tFALSE\t/\tFALSE\t0\tnext\t2\n"),
        "{text}"
    );
    assert_eq!(text.matches('\t').count(), 6, "one cookie: {text}");
    assert_eq!(free(client), NETTASK_OK);
    // A memory-only jar has nothing to save to.
    let memory = jar_client();
    assert_eq!(save(&memory), NETTASK_E_INVALID_STATE);
    assert!(last_error().contains("cookie_file"), "{}", last_error());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_cookie_file_that_cannot_be_read_is_refused_at_client_new() {
    let dir = temp_dir("cookie-unreadable");
    let nul = dir.join("nul.txt");
    std::fs::write(
        &nul,
        b"# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\ta\t\0\n",
    )
    .unwrap();
    for bad in [dir.clone(), nul] {
        let path = path_cstring(&bad);
        let (code, error) = client_new_error(|o| {
            o.enable_cookies = true;
            o.cookie_file = path.as_ptr();
        });
        assert_eq!(code, NETTASK_E_INVALID_ARGUMENT, "{bad:?}: {error}");
        assert!(error.contains(bad.to_str().unwrap()), "{error}");
    }
    // cookie_file needs enable_cookies, even for a good file.
    let good = dir.join("good.txt");
    std::fs::write(&good, "127.0.0.1\tFALSE\t/\tFALSE\t0\ta\t1\n").unwrap();
    let path = path_cstring(&good);
    let (code, error) = client_new_error(|o| o.cookie_file = path.as_ptr());
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
    assert!(error.contains("enable_cookies"), "{error}");
    // That file loads with it.
    assert_eq!(
        jar(&file_client(&good)),
        "127.0.0.1\tFALSE\t/\tFALSE\t0\ta\t1\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_jar_that_cannot_be_saved_stays_in_memory_and_the_old_file_stays() {
    let dir = temp_dir("cookie-unwritable");
    let away = dir.with_extension("away");
    let _ = std::fs::remove_dir_all(&away);
    let file = dir.join("jar.txt");
    {
        let first = file_client(&file);
        set_cookie(&first, "127.0.0.1\tFALSE\t/\tFALSE\t0\told\t1").unwrap();
    }
    let old = std::fs::read(&file).unwrap();
    let client = file_client(&file);
    set_cookie(&client, "127.0.0.1\tFALSE\t/\tFALSE\t0\tnew\t2").unwrap();
    let both = pairs(&[("new", "2"), ("old", "1")]);

    // The jar's directory replaced by a regular file: ENOTDIR.
    std::fs::rename(&dir, &away).unwrap();
    std::fs::write(&dir, "not a directory").unwrap();
    assert_eq!(save(&client), NETTASK_E_FILE);
    let error = last_error();
    assert!(error.contains(file.to_str().unwrap()), "{error}");
    assert_eq!(jar_pairs(&client), both, "the jar is kept in memory");
    std::fs::remove_file(&dir).unwrap();
    std::fs::rename(&away, &dir).unwrap();
    assert_eq!(
        std::fs::read(&file).unwrap(),
        old,
        "the old file is untouched"
    );
    assert_eq!(entries(&dir), ["jar.txt"]);

    // A directory that does not exist yet: an empty jar that cannot be
    // saved until it does.
    let missing = dir.join("missing").join("jar.txt");
    let elsewhere = file_client(&missing);
    assert_eq!(jar(&elsewhere), "");
    assert_eq!(save(&elsewhere), NETTASK_E_FILE);
    std::fs::create_dir(dir.join("missing")).unwrap();
    assert_eq!(free(elsewhere), NETTASK_OK, "{}", last_error());
    assert_eq!(
        std::fs::read_to_string(&missing).unwrap().lines().next(),
        Some(NETSCAPE_HEADER)
    );
    std::fs::remove_dir_all(dir.join("missing")).unwrap();

    // The directory removed: ENOENT, at save_cookies and at free.
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(save(&client), NETTASK_E_FILE);
    assert_eq!(jar_pairs(&client), both);
    // Back again, the same client saves fine.
    std::fs::create_dir(&dir).unwrap();
    assert_eq!(save(&client), NETTASK_OK, "{}", last_error());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("\tnew\t2\n") && text.contains("\told\t1\n"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(free(client), NETTASK_E_FILE, "freed anyway");
    assert!(
        last_error().contains(file.to_str().unwrap()),
        "{}",
        last_error()
    );
    assert!(!dir.exists());
}

// ---------------------------------------------------------------------------
// 5. The jar from other threads and from listeners

#[test]
fn the_jar_is_usable_from_another_thread_while_a_hundred_tasks_run() {
    let dir = temp_dir("cookie-threads");
    let file = dir.join("jar.txt");
    let client = Arc::new(file_client(&file));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let worker_client = Arc::clone(&client);
    // Everything runs on a thread, so a deadlock fails the test instead
    // of hanging it.
    std::thread::spawn(move || {
        let client = worker_client;
        let stop = Arc::new(AtomicBool::new(false));
        let rounds = Arc::new(AtomicUsize::new(0));
        let jar_thread = {
            let (client, stop, rounds) =
                (Arc::clone(&client), Arc::clone(&stop), Arc::clone(&rounds));
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) || i < 20 {
                    let line = format!("example.com\tFALSE\t/\tFALSE\t0\tx{i}\t1");
                    set_cookie(&client, &line).unwrap();
                    assert!(jar(&client).contains(&line), "round {i}");
                    if i % 7 == 6 {
                        client_clear(&client);
                    }
                    if i % 10 == 9 {
                        assert_eq!(save(&client), NETTASK_OK, "{}", last_error());
                    }
                    i += 1;
                    rounds.store(i, Ordering::Relaxed);
                }
            })
        };
        let runs: Vec<Run> = (0..100)
            .map(|i| {
                let path = match i % 2 {
                    0 => format!("/set-cookie?c=t{i}%3D{i}"),
                    _ => "/cookies".to_string(),
                };
                let run = Run::request(&client, Opts::new(&server().url(&path)));
                run.start();
                run
            })
            .collect();
        let outcomes: Vec<Outcome> = runs.iter().map(Run::wait).collect();
        stop.store(true, Ordering::Relaxed);
        jar_thread.join().unwrap();
        // Before telling: the test's own reference must be the last, so
        // that its drop frees the client (and saves the jar) there.
        drop((runs, client));
        done_tx
            .send((outcomes, rounds.load(Ordering::Relaxed)))
            .unwrap();
    });
    let (outcomes, rounds) = done_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("100 tasks and the jar thread finish (no deadlock)");
    assert_eq!(outcomes.len(), 100);
    for (i, out) in outcomes.iter().enumerate() {
        assert_eq!(
            (out.code, out.status),
            (NETTASK_OK, 200),
            "task {i}: {}",
            out.err_msg
        );
        if i % 2 == 0 {
            assert_eq!(out.cookies, [format!("t{i}={i}")]);
        }
    }
    assert!(rounds >= 20, "{rounds} rounds");
    // The jar still works as a whole.
    client_clear(&client);
    set_cookie(&client, "127.0.0.1\tFALSE\t/\tFALSE\t0\tlast\t1").unwrap();
    assert_eq!(jar(&client), "127.0.0.1\tFALSE\t/\tFALSE\t0\tlast\t1\n");
    assert_eq!(
        sent(&client, Opts::new(&server().url("/cookies"))),
        "last=1"
    );
    drop(client);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.ends_with("\tlast\t1\n"), "saved at free: {text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What a listener saw of the jar it changed from the event thread.
struct ListenerProbe {
    client: *mut nettask_client,
    jar_seen: Mutex<Vec<String>>,
}

unsafe extern "C" fn jar_from_headers_listener(
    _: *mut nettask_task,
    _: *const nettask_response_head,
    ud: *mut c_void,
) {
    // SAFETY: the test passes a ListenerProbe that outlives the task.
    let probe = unsafe { &*(ud as *const ListenerProbe) };
    let line = c"127.0.0.1\tFALSE\t/\tFALSE\t0\tfrom_listener\t1";
    // SAFETY: a live client and a NUL-terminated line.
    let code = unsafe { nettask_client_set_cookie(probe.client, line.as_ptr()) };
    let seen = match (code, try_jar(probe.client)) {
        (NETTASK_OK, Ok(jar)) => jar,
        (code, jar) => format!("set_cookie: {code:?}, cookies: {jar:?}"),
    };
    probe.jar_seen.lock().unwrap().push(seen);
}

unsafe extern "C" fn sleep_in_headers(
    _: *mut nettask_task,
    _: *const nettask_response_head,
    ud: *mut c_void,
) {
    // SAFETY: the test's flag, alive until the task completes.
    let entered = unsafe { &*(ud as *const AtomicBool) };
    entered.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1500));
}

#[test]
fn a_long_listener_does_not_hold_up_the_jar() {
    let client = jar_client();
    let entered = AtomicBool::new(false);
    let run = Run::request(&client, Opts::new(&server().url("/set-cookie?c=slow%3D1")));
    let ud = ptr::from_ref(&entered).cast_mut().cast();
    // SAFETY: a live task; `entered` outlives its completion (waited below).
    let code = unsafe { nettask_on_headers_received(run.task, Some(sleep_in_headers), ud) };
    assert_eq!(code, NETTASK_OK);
    run.start();
    while !entered.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    // The event thread sleeps in the listener for 1.5 s: the jar calls do
    // not wait for it.
    let started = Instant::now();
    set_cookie(&client, "example.com\tFALSE\t/\tFALSE\t0\tquick\t1").unwrap();
    assert!(jar(&client).contains("quick"));
    client_clear(&client);
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(750),
        "the jar calls waited {took:?}"
    );
    assert_eq!(run.wait().code, NETTASK_OK);
}

#[test]
fn a_listener_may_read_and_change_the_jar() {
    let client = jar_client();
    let probe = ListenerProbe {
        client: client.0,
        jar_seen: Mutex::new(Vec::new()),
    };
    let path = set_cookie_path("", &["from_server=1"]);
    let run = Run::request(&client, Opts::new(&server().url(&path)));
    let ud = &probe as *const ListenerProbe as *mut c_void;
    assert_eq!(
        // SAFETY: a live task; `probe` outlives it (waited for below).
        unsafe { nettask_on_headers_received(run.task, Some(jar_from_headers_listener), ud) },
        NETTASK_OK
    );
    run.start();
    assert_eq!(run.wait().code, NETTASK_OK);
    let seen = probe.jar_seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let mut lines: Vec<&str> = seen[0].lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "127.0.0.1\tFALSE\t/\tFALSE\t0\tfrom_listener\t1",
            "127.0.0.1\tFALSE\t/\tFALSE\t0\tfrom_server\t1",
        ]
    );
    let got = sent(&client, Opts::new(&server().url("/cookies")));
    assert_eq!(
        cookie_set(got.as_bytes()),
        ["from_listener=1", "from_server=1"]
    );
}

// ---------------------------------------------------------------------------
// 6. A save killed mid-way

/// Set in the child this test runs: the jar file to save to, over and over.
const SAVER_ENV: &str = "NETTASK_COOKIE_SAVER";
const SAVER_READY: &str = "nettask-cookie-saver: ready";
/// 2,000 cookies: a 100 KB file, some 50 ms a save in a debug build. (A
/// jar built with set_cookie would take minutes: see
/// `set_cookie_takes_time_independent_of_the_jar_size`.)
const BIG_JAR: usize = 2_000;

fn big_jar_line(set: char, i: usize) -> String {
    format!("example.com\tFALSE\t/\tFALSE\t0\t{set}{i}\t{set}-value-{i}")
}

/// The child: two clients on the same file, one holding cookies a0..,
/// the other b0.., saving in turn until killed.
fn run_saver(file: &Path) {
    // Each client loads its set from the file (written plainly here,
    // before the parent may kill).
    let load = |set: char| {
        let lines: String = (0..BIG_JAR).map(|i| big_jar_line(set, i) + "\n").collect();
        std::fs::write(file, lines).unwrap();
        let client = file_client(file);
        assert_eq!(jar_lines(&client).len(), BIG_JAR);
        client
    };
    let (a, b) = (load('a'), load('b'));
    assert_eq!(save(&a), NETTASK_OK, "{}", last_error());
    println!("{SAVER_READY}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        for client in [&b, &a] {
            assert_eq!(save(client), NETTASK_OK, "{}", last_error());
        }
    }
    // Not killed: leave without the saves at free.
    std::process::exit(3);
}

/// Which set (a or b) the jar in `file` holds, checking it is whole.
fn whole_jar_in(file: &Path) -> char {
    let client = file_client(file);
    let lines = jar_lines(&client);
    assert_eq!(lines.len(), BIG_JAR, "a whole jar of {BIG_JAR} cookies");
    let set = lines[0].split('\t').nth(5).unwrap().chars().next().unwrap();
    let mut expected: Vec<String> = (0..BIG_JAR).map(|i| big_jar_line(set, i)).collect();
    expected.sort();
    assert!(lines == expected, "the jar is exactly set {set}");
    let text = std::fs::read_to_string(file).unwrap();
    assert_eq!(text.lines().next(), Some(NETSCAPE_HEADER));
    drop(client);
    set
}

#[test]
fn a_save_killed_midway_leaves_one_whole_jar() {
    if let Ok(file) = std::env::var(SAVER_ENV) {
        return run_saver(Path::new(&file));
    }
    let dir = temp_dir("cookie-kill");
    let file = dir.join("jar.txt");
    let test = concat!(
        module_path!(),
        "::a_save_killed_midway_leaves_one_whole_jar"
    );
    let test = test.split_once("::").unwrap().1; // without the crate name
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill delays seeded with {seed}");
    let mut random_ms = move || {
        // xorshift64
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % 51
    };
    let mut seen = Vec::new();
    let mut temporaries = 0;
    for round in 0..20 {
        let mut child = this_test_binary()
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(SAVER_ENV, &file)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        // libtest writes "test <name> ... " before it, on the same line.
        let ready = (stdout.lines().map_while(Result::ok)).any(|l| l.ends_with(SAVER_READY));
        assert!(ready, "round {round}: the saver got ready");
        let delay = random_ms();
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert_eq!(
            status.code(),
            None,
            "round {round}: killed, not exited: {status}"
        );
        seen.push(whole_jar_in(&file));
        temporaries = entries(&dir).len() - 1;
        assert!(
            entries(&dir)
                .iter()
                .all(|n| n == "jar.txt" || n.ends_with(".tmp"))
        );
    }
    eprintln!("jars after each kill: {seen:?}; {temporaries} temporary files left");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------
// 7. The cookies array of heads and results

fn headers_event_cookies(rec: &Recorder) -> Vec<String> {
    let heads: Vec<Vec<String>> = rec
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Headers { cookies, .. } => Some(cookies),
            _ => None,
        })
        .collect();
    assert_eq!(heads.len(), 1);
    heads.into_iter().next().unwrap()
}

#[test]
fn the_cookies_array_is_the_set_cookie_values_in_wire_order() {
    let values = [
        "a=1",
        "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/",
        "c=3; Max-Age=60; HttpOnly",
        "d=\"quoted, with comma\"; SameSite=Lax",
        "a=again",
    ];
    let path = set_cookie_path("", &values);
    for client in [jar_client(), Client::new()] {
        let (out, rec) = fetch(&client, Opts::new(&server().url(&path)));
        assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
        assert_eq!(out.cookies, values);
        assert_eq!(headers_event_cookies(&rec), values);
        let from_headers: Vec<&str> = out
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(from_headers, values);
    }
    // Names in any case, between other fields, byte for byte.
    let port = raw_once(
        b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-Other: y\r\nset-cookie: b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT\r\nContent-Length: 2\r\nSET-COOKIE: c=3, d=4\r\n\r\nok",
    );
    let (out, rec) = fetch(
        &Client::new(),
        Opts::new(&format!("http://127.0.0.1:{port}/")),
    );
    assert_eq!(out.code, NETTASK_OK, "{}", out.err_msg);
    let expected = [
        "a=1",
        "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT",
        "c=3, d=4",
    ];
    assert_eq!(out.cookies, expected);
    assert_eq!(headers_event_cookies(&rec), expected);
}

#[test]
fn the_cookies_array_is_empty_without_set_cookie() {
    for client in [jar_client(), Client::new()] {
        let (out, rec) = fetch(&client, Opts::new(&server().url("/hello")));
        assert_eq!((out.code, out.status), (NETTASK_OK, 200));
        assert!(out.cookies.is_empty() && headers_event_cookies(&rec).is_empty());
        // Only the final response counts, not the hop that set cookies.
        let (out, rec) = fetch(&client, Opts::new(&server().url("/cookies/set?x=1")));
        assert_eq!((out.code, out.profile.redirect_count), (NETTASK_OK, 1));
        assert!(out.cookies.is_empty() && headers_event_cookies(&rec).is_empty());
        // A failed task has none either.
        let (out, _) = fetch(&client, Opts::new("http://127.0.0.1:1/"));
        assert_eq!(out.code, NETTASK_E_CONNECT, "{}", out.err_msg);
        assert!(out.cookies.is_empty());
    }
}

// ---------------------------------------------------------------------------
// 8. The caller's own Cookie header

#[test]
fn a_callers_cookie_header_replaces_the_jars_and_stores_nothing() {
    let client = jar_client();
    get(&client, Opts::new(&server().url("/cookies/set?jar=1")));
    let own = |opts: Opts| opts.header("Cookie", "mine=1; other=2");
    assert_eq!(
        sent(&client, own(Opts::new(&server().url("/cookies")))),
        "mine=1; other=2"
    );
    // Its response's Set-Cookie are reported, not stored.
    let path = set_cookie_path("", &["stored=no"]);
    let out = get(&client, own(Opts::new(&server().url(&path))));
    assert_eq!(out.cookies, ["stored=no"]);
    // Across a same-origin hop too.
    let hop = format!("{}&to=%2Fcookies", set_cookie_path("", &["hop=no"]));
    let out = get(
        &client,
        Opts::new(&server().url(&hop)).header("cookie", "mine=1"),
    );
    assert_eq!(
        (out.profile.redirect_count, out.data.as_slice()),
        (1, &b"mine=1"[..])
    );
    assert_eq!(jar_pairs(&client), pairs(&[("jar", "1")]));
    // The next task without one gets the jar again (the handle is reused).
    assert_eq!(sent(&client, Opts::new(&server().url("/cookies"))), "jar=1");
    get(&client, Opts::new(&server().url(&hop)));
    assert_eq!(jar_pairs(&client), pairs(&[("hop", "no"), ("jar", "1")]));
}

#[test]
fn without_a_jar_the_cookie_header_is_sent_as_given_and_nothing_is_kept() {
    let client = Client::new();
    let got = sent(
        &client,
        Opts::new(&server().url("/cookies")).header("Cookie", "a=1;b=2; c"),
    );
    assert_eq!(got, "a=1;b=2; c");
    let out = get(&client, Opts::new(&server().url("/cookies/set?kept=no")));
    assert_eq!(out.data, b"");
    assert_eq!(sent(&client, Opts::new(&server().url("/cookies"))), "");
}

// ---------------------------------------------------------------------------
// 9. set_cookie's lines and bad input

#[test]
fn set_cookie_takes_netscape_and_set_cookie_lines() {
    let client = jar_client();
    let future = unix_now() + 3600;
    for line in [
        "127.0.0.1\tFALSE\t/\tFALSE\t0\tn1\tv1".to_string(),
        format!("#HttpOnly_.example.com\tTRUE\t/app\ttrue\t{future}\tn2\tv 2"),
        "Set-Cookie: n3=v3; Domain=example.com; Path=/".to_string(),
        "set-cookie:n4=v4;domain=.shop.example;secure;httponly".to_string(),
    ] {
        set_cookie(&client, &line).unwrap_or_else(|e| panic!("{line:?}: {e:?}"));
    }
    assert_eq!(
        jar_lines(&client),
        [
            format!("#HttpOnly_.example.com\tTRUE\t/app\tTRUE\t{future}\tn2\tv 2"),
            "#HttpOnly_.shop.example\tTRUE\t/\tTRUE\t0\tn4\tv4".to_string(),
            ".example.com\tTRUE\t/\tFALSE\t0\tn3\tv3".to_string(),
            "127.0.0.1\tFALSE\t/\tFALSE\t0\tn1\tv1".to_string(),
        ]
    );
    assert_eq!(sent(&client, Opts::new(&server().url("/cookies"))), "n1=v1");
    let as_www = sent(
        &client,
        Opts::new(&server().url("/cookies")).header("Host", "www.example.com"),
    );
    assert_eq!(as_www, "n3=v3");
    // The same name, domain and path replaces.
    set_cookie(&client, "127.0.0.1\tFALSE\t/\tFALSE\t0\tn1\tnew").unwrap();
    assert_eq!(
        sent(&client, Opts::new(&server().url("/cookies"))),
        "n1=new"
    );
    assert_eq!(jar_pairs(&client).len(), 4);
}

#[test]
fn bad_cookie_lines_are_refused_with_a_sentence() {
    let client = jar_client();
    set_cookie(&client, "127.0.0.1\tFALSE\t/\tFALSE\t0\tkeep\t1").unwrap();
    let before = jar(&client);
    for line in [
        "",
        "garbage",
        "a=1",
        "Cookie: a=1",
        "Set-Cookie: a=1",
        "Set-Cookie: a=1; Path=/",
        "Set-Cookie: =1; Domain=example.com",
        "Set-Cookie: novalue; Domain=example.com",
        "Set-Cookie: a=1; Domain=example.com\r\nX-Injected: 1",
        "Set-Cookie: a=1; Domain=example.com\nb",
        "127.0.0.1\tFALSE\t/\tFALSE\t0\tname",
        "127.0.0.1\tFALSE\t/\tFALSE\t0\tname\tvalue\textra",
        "\tFALSE\t/\tFALSE\t0\tname\tvalue",
        "#HttpOnly_\tFALSE\t/\tFALSE\t0\tname\tvalue",
        "127.0.0.1\tmaybe\t/\tFALSE\t0\tname\tvalue",
        "127.0.0.1\tFALSE\tnoslash\tFALSE\t0\tname\tvalue",
        "127.0.0.1\tFALSE\t/\tyes\t0\tname\tvalue",
        "127.0.0.1\tFALSE\t/\tFALSE\tsoon\tname\tvalue",
        "127.0.0.1\tFALSE\t/\tFALSE\t0\t\tvalue",
        "127.0.0.1 FALSE / FALSE 0 name value",
        "127.0.0.1\tFALSE\t/\tFALSE\t0\tname\tva\u{1}lue",
        // Ones libcurl's cookie engine refuses: a __Secure- cookie that is
        // not Secure, a __Host- one with a domain.
        "127.0.0.1\tFALSE\t/\tFALSE\t0\t__Secure-id\t1",
        "Set-Cookie: __Host-id=1; Domain=example.com; Secure; Path=/",
    ] {
        let (code, error) = set_cookie(&client, line).expect_err(line);
        assert_eq!(code, NETTASK_E_INVALID_ARGUMENT, "{line:?}");
        assert!(
            error.contains("cookie"),
            "{line:?}: a sentence, not {error:?}"
        );
    }
    assert_eq!(jar(&client), before, "nothing added");
    // NULLs.
    // SAFETY: a live client; a NULL line is refused, not read.
    let code = unsafe { nettask_client_set_cookie(client.0, ptr::null()) };
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
    assert!(last_error().contains("line"), "{}", last_error());
    let line = c"127.0.0.1\tFALSE\t/\tFALSE\t0\ta\t1";
    // SAFETY: NULL client (refused), valid line.
    let code = unsafe { nettask_client_set_cookie(ptr::null_mut(), line.as_ptr()) };
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
    // SAFETY: a live client; NULL out (refused).
    let code = unsafe { nettask_client_cookies(client.0, ptr::null_mut()) };
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
    assert_eq!(
        try_jar(ptr::null_mut()).unwrap_err().0,
        NETTASK_E_INVALID_ARGUMENT
    );
    // SAFETY: NULL clients (refused).
    unsafe {
        assert_eq!(
            nettask_client_clear_cookies(ptr::null_mut()),
            NETTASK_E_INVALID_ARGUMENT
        );
        assert_eq!(
            nettask_client_save_cookies(ptr::null_mut()),
            NETTASK_E_INVALID_ARGUMENT
        );
        nettask_string_free(ptr::null_mut());
    }
    assert_eq!(jar(&client), before);
}

#[test]
fn jar_calls_on_a_client_without_a_jar_are_invalid_state() {
    let client = Client::new();
    assert_eq!(
        code_of(set_cookie(&client, "127.0.0.1\tFALSE\t/\tFALSE\t0\ta\t1")),
        NETTASK_E_INVALID_STATE
    );
    assert!(last_error().contains("enable_cookies"), "{}", last_error());
    assert_eq!(try_jar(client.0).unwrap_err().0, NETTASK_E_INVALID_STATE);
    // SAFETY: a live client.
    unsafe {
        assert_eq!(
            nettask_client_clear_cookies(client.0),
            NETTASK_E_INVALID_STATE
        );
        assert_eq!(
            nettask_client_save_cookies(client.0),
            NETTASK_E_INVALID_STATE
        );
    }
    // The default client keeps no jar either.
    let default = nettask_client_default();
    assert_eq!(try_jar(default).unwrap_err().0, NETTASK_E_INVALID_STATE);
}

// ---------------------------------------------------------------------------
// Limits of libcurl's engine that set_cookie must not show

#[test]
fn set_cookie_keeps_more_than_fifty_set_cookie_lines() {
    let client = jar_client();
    let mut refused = Vec::new();
    for i in 0..60 {
        let line = format!("Set-Cookie: c{i}=1; Domain=example.com");
        if let Err((code, _)) = set_cookie(&client, &line) {
            refused.push((i, code));
        }
    }
    // With an expiry set_cookie cannot check: reported OK, not stored.
    for i in 0..10 {
        set_cookie(
            &client,
            &format!("Set-Cookie: m{i}=1; Domain=example.com; Max-Age=600"),
        )
        .unwrap();
    }
    // Today: 50 stored; c50..c59 refused, m0..m9 reported OK but dropped.
    let stored = jar_pairs(&client).len();
    assert_eq!(
        (refused, stored),
        (vec![], 70),
        "every line accepted and kept"
    );
}

#[test]
fn set_cookie_reports_a_refused_cookie_whatever_else_is_in_the_jar() {
    let client = jar_client();
    // A __Secure- cookie needs the Secure flag: libcurl refuses it without.
    let refused = "b.example\tFALSE\t/\tFALSE\t0\t__Secure-id\tv";
    assert_eq!(
        code_of(set_cookie(&client, refused)),
        NETTASK_E_INVALID_ARGUMENT
    );
    set_cookie(&client, "a.example\tFALSE\t/\tTRUE\t0\t__Secure-id\tv").unwrap();
    let before = jar_lines(&client);
    let code = code_of(set_cookie(&client, refused));
    assert_eq!(jar_lines(&client), before, "libcurl did not store it");
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT, "so set_cookie fails");
}

#[test]
fn an_empty_cookie_file_is_refused_at_client_new() {
    // Otherwise: an empty jar, then NETTASK_E_FILE "the path names no
    // file" at every save_cookies and at nettask_client_free.
    let (code, error) = client_new_error(|o| {
        o.enable_cookies = true;
        o.cookie_file = c"".as_ptr();
    });
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT, "{error}");
}
