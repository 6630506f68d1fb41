//! nettask: the network task runtime of a mini-program / cross-platform app
//! engine (`wx.request`, `wx.downloadFile`), as a native library with a C
//! ABI. Tasks run as libcurl easy handles on one multi handle driven by one
//! event thread per client. The C surface is in [`ffi`]; the rest is the
//! safe Rust core it wraps.

mod client;
mod error;
mod event_loop;
pub mod ffi;
mod listeners;
mod options;
mod profile;
mod response;
mod task;
mod transfer;

pub use client::Client;
pub use error::{Code, Error, Failure};
pub use listeners::ListenerKey;
pub use options::{ClientOptions, Header, Method, RequestOptions};
pub use profile::Profile;
pub use response::{HeaderFields, ResponseHead};
pub use task::{Listeners, Progress, Task, TaskKind, TaskResult};
