//! The C surface: validates and copies C input, catches panics, records
//! `nettask_last_error`, handles struct versions, and shows Rust results
//! as borrowed C views. No networking logic lives here.
//!
//! One file per object of the header, in its order (`include/nettask.h.in`
//! pulls each in): `library` (codes, errors, version), `client`, `cookies`
//! (the client's jar), `task`, `result`, `listeners`. `input` and `versioned` read C structs.

// The functions' documentation is written for C readers: each states its
// pointer contract in words, where a Rust reader would look for a
// "# Safety" heading, which would otherwise end up in the C header.
#![allow(clippy::missing_safety_doc)]
#![allow(non_camel_case_types)]

mod client;
mod cookies;
mod input;
mod library;
mod listeners;
mod result;
mod task;
mod versioned;

use std::cell::RefCell;
use std::ffi::CString;
use std::panic::{AssertUnwindSafe, catch_unwind};

pub use client::*;
pub use cookies::*;
pub use library::*;
pub use listeners::*;
pub use result::*;
pub use task::*;

pub use crate::error::nettask_code;
pub use crate::profile::nettask_profile;
pub use crate::result::nettask_progress;

use crate::error::Error;
use crate::util::message;

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_last_error(text: &str) {
    let text = message(text.to_owned());
    LAST_ERROR.with(|last| *last.borrow_mut() = Some(text));
}

/// Runs the body of an `extern "C"` function: a returned error or a panic
/// becomes its code, with its sentence in `nettask_last_error`.
fn guard(body: impl FnOnce() -> Result<(), Error>) -> nettask_code {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => nettask_code::NETTASK_OK,
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.code
        }
        Err(_) => {
            set_last_error("internal error: a panic was caught at the C boundary");
            nettask_code::NETTASK_E_INTERNAL
        }
    }
}

/// Like `guard`, for functions that return nothing to report into.
fn guard_void(body: impl FnOnce() -> Result<(), Error>) {
    let _ = guard(body);
}

fn null_error(what: &str) -> Error {
    Error::invalid_argument(format!("{what} is NULL"))
}
