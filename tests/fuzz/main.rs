//! Fuzz targets that run on a stable toolchain, without libFuzzer: each
//! draws its cases from a small seeded PRNG, so a finding is replayed from
//! its seed and iteration alone. `cargo test` runs each for a few seconds
//! (smoke mode); `NETTASK_FUZZ_SECS=3600` runs it for an hour. See
//! docs/fuzzing.md.
//!
//! - `options`: the C entry points fed arbitrary option structs.
//! - `responses`: requests and downloads against a raw-socket server that
//!   answers with mutated HTTP/1.1 responses.

mod options;
mod responses;
mod support;

#[test]
fn options() {
    options::run(support::Config::from_env("options"));
}

#[test]
fn responses() {
    responses::run(support::Config::from_env("responses"));
}
