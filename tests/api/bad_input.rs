//! Bad input is refused with NETTASK_E_INVALID_ARGUMENT and a sentence.

use std::ffi::{CString, c_char};
use std::ptr;

use nettask::ffi::nettask_code::*;
use nettask::ffi::*;

use crate::harness::*;

fn create_with(client: &Client, opts: &nettask_request_options) -> (nettask_code, String) {
    let mut task = ptr::null_mut();
    // SAFETY: valid pointers.
    let code = unsafe { nettask_request_create(client.0, opts, &mut task) };
    if !task.is_null() {
        // SAFETY: the reference just created.
        unsafe { nettask_release(task) };
    }
    assert!(code != NETTASK_OK || !task.is_null());
    (code, last_error())
}

#[test]
fn bad_request_options_are_refused_with_a_sentence() {
    let client = Client::new();
    let cases: Vec<(&str, Opts, &str)> = vec![
        ("empty url", Opts::new(""), "empty"),
        ("not a url", Opts::new("not a url"), "invalid URL"),
        ("no scheme", Opts::new("example.com/x"), "scheme"),
        (
            "ftp",
            Opts::new("ftp://127.0.0.1/file"),
            "unsupported URL scheme",
        ),
        (
            "file",
            Opts::new("file:///etc/passwd"),
            "unsupported URL scheme",
        ),
        ("no host", Opts::new("http://"), "no host"),
        ("bad port", Opts::new("http://127.0.0.1:99999/"), "port"),
        ("bad IPv6", Opts::new("http://[::1/"), "invalid IPv6"),
        (
            "bad method",
            Opts::new("http://127.0.0.1/").method("FETCH"),
            "unsupported method",
        ),
        (
            "method with space",
            Opts::new("http://127.0.0.1/").method("GE T"),
            "unsupported method",
        ),
        (
            "header injection",
            Opts::new("http://127.0.0.1/").header("X-A", "1\r\nX-Injected: 2"),
            "CR, LF",
        ),
        (
            "bare LF",
            Opts::new("http://127.0.0.1/").header("X-A", "1\nX"),
            "CR, LF",
        ),
        (
            "empty header name",
            Opts::new("http://127.0.0.1/").header("", "v"),
            "header name",
        ),
        (
            "header name with space",
            Opts::new("http://127.0.0.1/").header("X A", "v"),
            "header name",
        ),
        (
            "header name with colon",
            Opts::new("http://127.0.0.1/").header("X:A", "v"),
            "header name",
        ),
        (
            "wrong version",
            Opts::new("http://127.0.0.1/").set(|o| o.version = 99),
            "version",
        ),
        (
            "zero version",
            Opts::new("http://127.0.0.1/").set(|o| o.version = 0),
            "version",
        ),
        (
            "body NULL with length",
            Opts::new("http://127.0.0.1/"),
            "body is NULL",
        ),
        (
            "headers NULL with count",
            Opts::new("http://127.0.0.1/"),
            "headers is NULL",
        ),
    ];
    for (what, mut opts, expected) in cases {
        let mut raw = opts.as_raw();
        match what {
            "body NULL with length" => raw.body_len = 10,
            "headers NULL with count" => {
                raw.headers = ptr::null();
                raw.header_count = 2;
            }
            _ => {}
        }
        let (code, message) = create_with(&client, &raw);
        assert_eq!(code, NETTASK_E_INVALID_ARGUMENT, "{what}");
        assert!(
            message.contains(expected),
            "{what}: {message:?} should mention {expected:?}"
        );
    }
}

#[test]
fn null_pointers_are_refused() {
    let client = Client::new();
    let mut opts = Opts::new("http://127.0.0.1/");
    let raw = opts.as_raw();
    let mut task = ptr::null_mut();
    // SAFETY: NULLs are what is tested.
    unsafe {
        assert_eq!(
            nettask_request_create(ptr::null_mut(), &raw, &mut task),
            NETTASK_E_INVALID_ARGUMENT
        );
        assert!(last_error().contains("client is NULL"));
        assert_eq!(
            nettask_request_create(client.0, ptr::null(), &mut task),
            NETTASK_E_INVALID_ARGUMENT
        );
        assert!(last_error().contains("options is NULL"));
        assert_eq!(
            nettask_download_create(client.0, &raw, ptr::null_mut()),
            NETTASK_E_INVALID_ARGUMENT
        );
        assert!(last_error().contains("out is NULL"));
        let mut no_url = raw;
        no_url.url = ptr::null();
        assert_eq!(
            nettask_request_create(client.0, &no_url, &mut task),
            NETTASK_E_INVALID_ARGUMENT
        );
        assert!(last_error().contains("url is NULL"));
        let name = CString::new("X").unwrap();
        let header = nettask_header {
            name: name.as_ptr(),
            value: ptr::null(),
        };
        let mut null_value = raw;
        null_value.headers = &header;
        null_value.header_count = 1;
        assert_eq!(
            nettask_request_create(client.0, &null_value, &mut task),
            NETTASK_E_INVALID_ARGUMENT
        );
        assert!(last_error().contains("headers[0].value is NULL"));
        assert!(task.is_null());
        assert_eq!(nettask_start(ptr::null_mut()), NETTASK_E_INVALID_ARGUMENT);
        assert_eq!(nettask_abort(ptr::null_mut()), NETTASK_E_INVALID_ARGUMENT);
        nettask_release(ptr::null_mut());
        nettask_request_options_init(ptr::null_mut());
        nettask_client_options_init(ptr::null_mut());
        assert_eq!(
            nettask_client_options_init_version(ptr::null_mut(), NETTASK_CLIENT_OPTIONS_VERSION),
            NETTASK_E_INVALID_ARGUMENT
        );
        assert_eq!(
            nettask_client_free(ptr::null_mut()),
            NETTASK_E_INVALID_ARGUMENT
        );
        assert_eq!(
            nettask_client_new(ptr::null(), ptr::null_mut()),
            NETTASK_E_INVALID_ARGUMENT
        );
    }
}

#[test]
fn bad_client_options_are_refused() {
    let mut client = ptr::null_mut();
    // SAFETY: the options struct is plain data; all-zero is a valid value.
    let mut opts = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer.
    unsafe { nettask_client_options_init_version(&mut opts, NETTASK_CLIENT_OPTIONS_VERSION) };
    opts.version = 7;
    assert_eq!(
        // SAFETY: valid pointers.
        unsafe { nettask_client_new(&opts, &mut client) },
        NETTASK_E_INVALID_ARGUMENT
    );
    assert!(last_error().contains("version"));
    // SAFETY: a valid pointer.
    unsafe { nettask_client_options_init_version(&mut opts, NETTASK_CLIENT_OPTIONS_VERSION) };
    opts.ca_file = c"/nonexistent/ca.pem".as_ptr();
    assert_eq!(
        // SAFETY: valid pointers.
        unsafe { nettask_client_new(&opts, &mut client) },
        NETTASK_E_INVALID_ARGUMENT
    );
    assert!(last_error().contains("/nonexistent/ca.pem"));
    assert!(client.is_null());
}

#[test]
fn odd_bool_bytes_and_code_values_are_harmless() {
    let client = Client::new();
    let mut opts = Opts::new(&crate::server::server().url("/hello"));
    let mut raw = opts.as_raw();
    // A C caller that memset the struct to 0xff leaves bools as 0xff.
    // SAFETY: writing a byte into the bool's storage, as C could.
    unsafe { (&raw mut raw.enable_chunked).cast::<u8>().write(0xff) };
    let mut task = ptr::null_mut();
    assert_eq!(
        // SAFETY: valid pointers.
        unsafe { nettask_request_create(client.0, &raw, &mut task) },
        NETTASK_OK
    );
    // SAFETY: the handle create returned.
    unsafe { nettask_release(task) };
    let unknown = cstr(nettask_code_name(12345)).unwrap();
    assert_eq!(unknown, "NETTASK_E_UNKNOWN");
    assert_eq!(cstr(nettask_code_name(-1)).unwrap(), "NETTASK_E_UNKNOWN");
    assert_eq!(cstr(nettask_code_name(4)).unwrap(), "NETTASK_E_TIMEOUT");
    let _: *const c_char = nettask_last_error();
}
