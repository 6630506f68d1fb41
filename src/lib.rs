//! nettask: the network task runtime of a mini-program / cross-platform app
//! engine (`wx.request`, `wx.downloadFile`), as a native library with a C
//! ABI. Tasks run as libcurl easy handles on one multi handle driven by one
//! event thread per client. The C surface is in [`ffi`]; the rest is the
//! safe Rust core it wraps.
//!
//! The core, from the leaves up: `util`, `error`, `curl_info`,
//! `connection_sockets` (the sockets libcurl has open), `decoding`
//! (content codings), `inbox` (commands to the event thread), `url`
//! (WHATWG URLs), `options`, `redirect` (fetch's next hop), `response`,
//! `profile`, `result`, `listeners`, `task`, `cookies` (the client's jar),
//! `policy` (allowed hosts, https only), `dns` (overrides, DoH),
//! `delivery` (queued delivery on the host's thread), `client_state` (what
//! the façade and the thread share), `transfer` (one per kind, with its
//! body sinks), `event_loop`, `client`.

mod client;
mod client_state;
mod connection_sockets;
mod cookies;
mod curl_info;
mod curl_memory;
mod decoding;
mod delivery;
mod dns;
mod error;
mod event_loop;
pub mod ffi;
mod framing;
mod idle_connections;
mod idle_timers;
mod inbox;
mod listeners;
mod options;
mod policy;
mod poller;
mod profile;
mod redirect;
mod response;
mod result;
mod task;
mod transfer;
mod url;
mod util;

pub use client::Client;
pub use error::{Code, Error, Failure};
pub use framing::{Framing, SseEvent};
pub use listeners::ListenerKey;
pub use options::{ClientOptions, Header, Method, RequestOptions};
pub use profile::Profile;
pub use response::{HeaderFields, ResponseHead};
pub use result::{Progress, TaskKind, TaskResult};
pub use task::{Listeners, Task};
