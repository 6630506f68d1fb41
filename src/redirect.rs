//! The next hop of a redirect, as fetch makes it (RFC 9110 §15.4): which
//! method and body it sends, and which of the caller's headers stay behind
//! when it leaves the origin. The event loop follows every hop itself, so
//! each one is a request it starts.

use crate::error::{Code, Failure};
use crate::options::{Method, RequestOptions};
use crate::url;
use crate::util::quote;

/// Headers that describe a body, dropped with it (fetch's "request-body-
/// header names", and the length).
const BODY_HEADERS: [&str; 5] = [
    "content-type",
    "content-encoding",
    "content-language",
    "content-location",
    "content-length",
];

/// Headers for the origin the caller addressed, not for another one.
const ORIGIN_HEADERS: [&str; 3] = ["authorization", "cookie", "host"];

/// Turns `request` into the request for the redirect `status` to
/// `location`, resolved against the request's URL as WHATWG URLs resolve.
pub fn next_hop(request: &mut RequestOptions, status: i32, location: &str) -> Result<(), Failure> {
    let refuse = |why: &str| {
        Failure::new(
            Code::NETTASK_E_RECV,
            format!(
                "the server redirected to {}: {why}",
                quote(location.as_bytes())
            ),
        )
    };
    let target = url::resolve(&request.url, location).map_err(|why| refuse(&why))?;
    let to_get = match status {
        301 | 302 => request.method == Method::Post,
        303 => request.method != Method::Head,
        _ => false,
    };
    if to_get {
        request.method = Method::Get;
        request.body = Vec::new();
        (request.body_file, request.upload) = (None, None);
        drop_headers(request, &BODY_HEADERS);
    }
    if !url::same_origin(&request.url, &target) {
        drop_headers(request, &ORIGIN_HEADERS);
    }
    request.url = target;
    Ok(())
}

fn drop_headers(request: &mut RequestOptions, names: &[&str]) {
    request
        .headers
        .retain(|h| !names.iter().any(|n| h.name.eq_ignore_ascii_case(n)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Header;

    fn request(method: Method) -> RequestOptions {
        let header = |name: &str, value: &str| Header {
            name: name.into(),
            value: value.into(),
        };
        RequestOptions {
            method,
            body: b"payload".to_vec(),
            headers: vec![
                header("Content-Type", "text/plain"),
                header("Authorization", "Bearer x"),
                header("Cookie", "a=1"),
                header("X-Other", "kept"),
            ],
            ..RequestOptions::new("http://a.test/start")
        }
    }

    fn names(r: &RequestOptions) -> Vec<&str> {
        r.headers.iter().map(|h| h.name.as_str()).collect()
    }

    #[test]
    fn rewrites_methods_as_fetch_does() {
        use Method::*;
        for (status, from, to, keeps_body) in [
            (301, Post, Get, false),
            (302, Post, Get, false),
            (301, Put, Put, true),
            (302, Patch, Patch, true),
            (302, Delete, Delete, true),
            (303, Put, Get, false),
            (303, Delete, Get, false),
            (303, Post, Get, false),
            (303, Head, Head, true),
            (307, Post, Post, true),
            (308, Put, Put, true),
        ] {
            let mut r = request(from);
            next_hop(&mut r, status, "/next").unwrap();
            assert_eq!(
                (r.method, r.url.as_str()),
                (to, "http://a.test/next"),
                "{status} {from:?}"
            );
            assert_eq!(r.body.is_empty(), !keeps_body, "{status} {from:?}");
            let typed = names(&r).contains(&"Content-Type");
            assert_eq!(typed, keeps_body, "{status} {from:?}");
            assert!(names(&r).contains(&"Authorization"));
        }
    }

    #[test]
    fn leaves_credentials_at_the_origin() {
        for target in [
            "http://b.test/",
            "https://a.test/start",
            "http://a.test:8080/",
        ] {
            let mut r = request(Method::Get);
            next_hop(&mut r, 307, target).unwrap();
            assert_eq!(names(&r), ["Content-Type", "X-Other"], "{target}");
        }
        let mut r = request(Method::Get);
        next_hop(&mut r, 307, "http://A.test:80/other").unwrap();
        assert_eq!(names(&r).len(), 4);
    }

    #[test]
    fn resolves_locations_against_the_request_url() {
        for (location, url) in [
            ("/b?q=1", "http://a.test/b?q=1"),
            ("c d", "http://a.test/c%20d"),
            ("//b.test/x#frag", "http://b.test/x"),
            ("  https://B.test:443/%7e  ", "https://b.test/%7e"),
            ("/\u{4f60}\u{597d}", "http://a.test/%E4%BD%A0%E5%A5%BD"),
        ] {
            let mut r = request(Method::Get);
            next_hop(&mut r, 302, location).unwrap();
            assert_eq!(r.url, url, "{location}");
        }
    }

    #[test]
    fn refuses_targets_it_cannot_request() {
        for target in [
            "ftp://a.test/",
            "file:///etc/passwd",
            "https://",
            "http://[::1",
            "http://a b/",
        ] {
            let mut r = request(Method::Get);
            let f = next_hop(&mut r, 302, target).unwrap_err();
            assert_eq!(f.code, Code::NETTASK_E_RECV, "{target}");
            assert!(
                f.reason.starts_with("the server redirected to "),
                "{}",
                f.reason
            );
            assert_eq!(r.url, "http://a.test/start");
        }
    }
}
