//! Integration tests: the C ABI against a real server on 127.0.0.1.

mod harness;
mod httpbin;
mod server;

mod abort;
mod bad_input;
mod concurrency;
mod cookies;
mod decoding;
mod dns;
mod download;
mod failures;
mod hostile;
mod listeners;
mod policy;
mod queued;
mod requests;
mod streaming;
mod upload;
mod versions;
