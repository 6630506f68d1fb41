//! Struct versions through the C ABI (API.md "Growing the ABI"): `_init`
//! writes exactly the caller's version, unknown versions are refused with
//! a sentence naming both. tests/abi/ runs a program built against the
//! frozen version-1 header.

use std::mem::{MaybeUninit, size_of};
use std::ptr;

use nettask::ffi::nettask_code::*;
use nettask::ffi::*;

use crate::harness::{Client, Opts, last_error};

/// An options struct filled with 0xA5 bytes, and guard bytes after it.
/// The struct stays `MaybeUninit` (0xA5 is no valid bool): its fields are
/// read through the pointer, one by one.
#[repr(C)]
struct Guarded<T> {
    opts: MaybeUninit<T>,
    guard: [u8; 64],
}

impl<T> Guarded<T> {
    fn ptr(&mut self) -> *mut T {
        self.opts.as_mut_ptr()
    }

    /// The struct, once a successful `_init` has written all of it.
    fn valid(&mut self) -> &mut T {
        // SAFETY: called only after an `_init` that returned OK for the
        // struct's whole size, which writes a valid value.
        unsafe { self.opts.assume_init_mut() }
    }
}

fn guarded<T>() -> Guarded<T> {
    let mut g: Guarded<T> = Guarded {
        opts: MaybeUninit::uninit(),
        guard: [0xA5; 64],
    };
    // SAFETY: `opts` is writable for the size of T.
    unsafe { ptr::write_bytes(g.ptr().cast::<u8>(), 0xA5, size_of::<T>()) };
    g
}

fn versions_named(message: &str, theirs: u32, ours: u32) -> bool {
    message.contains(&format!("version is {theirs}")) && message.contains(&format!("1 to {ours}"))
}

#[test]
fn init_writes_the_struct_and_no_byte_past_it() {
    let mut r = guarded::<nettask_request_options>();
    // SAFETY: a writable struct of the current version.
    let code =
        unsafe { nettask_request_options_init_version(r.ptr(), NETTASK_REQUEST_OPTIONS_VERSION) };
    assert_eq!(code, NETTASK_OK);
    assert_eq!(r.valid().version, NETTASK_REQUEST_OPTIONS_VERSION);
    assert_eq!(r.valid().max_redirects, 15);
    assert!(r.valid().url.is_null());
    assert_eq!(r.guard, [0xA5; 64]);

    let mut c = guarded::<nettask_client_options>();
    // SAFETY: a writable struct of the current version.
    let code =
        unsafe { nettask_client_options_init_version(c.ptr(), NETTASK_CLIENT_OPTIONS_VERSION) };
    assert_eq!(code, NETTASK_OK);
    assert_eq!(c.valid().version, NETTASK_CLIENT_OPTIONS_VERSION);
    assert!(c.valid().user_agent.is_null());
    assert_eq!(c.guard, [0xA5; 64]);

    // The version-1 symbols write version 1.
    let mut r1 = guarded::<nettask_request_options>();
    // SAFETY: a writable struct at least as large as version 1.
    unsafe { nettask_request_options_init(r1.ptr()) };
    assert_eq!(r1.valid().version, 1);
    let mut c1 = guarded::<nettask_client_options>();
    // SAFETY: a writable struct at least as large as version 1.
    unsafe { nettask_client_options_init(c1.ptr()) };
    assert_eq!(c1.valid().version, 1);
}

#[test]
fn init_of_an_unknown_version_writes_only_the_version() {
    for bad in [0, NETTASK_REQUEST_OPTIONS_VERSION + 1, u32::MAX] {
        let mut r = guarded::<nettask_request_options>();
        // SAFETY: a writable struct.
        let code = unsafe { nettask_request_options_init_version(r.ptr(), bad) };
        assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
        assert!(
            versions_named(&last_error(), bad, NETTASK_REQUEST_OPTIONS_VERSION),
            "{}",
            last_error()
        );
        assert!(last_error().contains("nettask_request_options"));
        // SAFETY: reading two u32 fields through the pointer; the struct's
        // other bytes are not read.
        let (version, max_redirects) = unsafe { ((*r.ptr()).version, (*r.ptr()).max_redirects) };
        assert_eq!(version, bad);
        assert_eq!(max_redirects, 0xA5A5_A5A5, "only the version is written");
        assert_eq!(r.guard, [0xA5; 64]);
    }
    let mut c = guarded::<nettask_client_options>();
    let bad = NETTASK_CLIENT_OPTIONS_VERSION + 1;
    // SAFETY: a writable struct.
    let code = unsafe { nettask_client_options_init_version(c.ptr(), bad) };
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
    assert!(
        versions_named(&last_error(), bad, NETTASK_CLIENT_OPTIONS_VERSION),
        "{}",
        last_error()
    );
    // SAFETY: NULL is allowed and refused.
    let code = unsafe { nettask_request_options_init_version(ptr::null_mut(), 1) };
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
    assert!(last_error().contains("opts is NULL"));
}

#[test]
fn create_refuses_unknown_versions_naming_both() {
    let client = Client::new();
    for bad in [0, NETTASK_REQUEST_OPTIONS_VERSION + 1] {
        let mut opts = Opts::new("http://127.0.0.1/").set(|o| o.version = bad);
        let raw = opts.as_raw();
        let mut task = ptr::null_mut();
        // SAFETY: valid pointers.
        let code = unsafe { nettask_request_create(client.0, &raw, &mut task) };
        assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
        assert!(
            versions_named(&last_error(), bad, NETTASK_REQUEST_OPTIONS_VERSION),
            "{}",
            last_error()
        );
        assert!(task.is_null());
    }
    for bad in [0, NETTASK_CLIENT_OPTIONS_VERSION + 1] {
        let mut c = guarded::<nettask_client_options>();
        // SAFETY: a writable struct of the current version.
        unsafe { nettask_client_options_init_version(c.ptr(), NETTASK_CLIENT_OPTIONS_VERSION) };
        c.valid().version = bad;
        let mut out = ptr::null_mut();
        // SAFETY: valid pointers.
        let code = unsafe { nettask_client_new(c.ptr(), &mut out) };
        assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
        assert!(
            versions_named(&last_error(), bad, NETTASK_CLIENT_OPTIONS_VERSION),
            "{}",
            last_error()
        );
        assert!(out.is_null());
    }
}

#[test]
fn a_ca_file_that_is_a_directory_is_refused_at_client_new() {
    let mut c = guarded::<nettask_client_options>();
    // SAFETY: a writable struct of the current version.
    unsafe { nettask_client_options_init_version(c.ptr(), NETTASK_CLIENT_OPTIONS_VERSION) };
    c.valid().ca_file = c"/tmp".as_ptr();
    let mut out = ptr::null_mut();
    // SAFETY: valid pointers.
    let code = unsafe { nettask_client_new(c.ptr(), &mut out) };
    assert_eq!(code, NETTASK_E_INVALID_ARGUMENT);
    assert!(
        last_error().contains("/tmp") && last_error().contains("directory"),
        "{}",
        last_error()
    );
    assert!(out.is_null());
}
