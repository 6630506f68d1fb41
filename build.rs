//! Gives the shared library a SONAME, so that programs linked against it
//! record `libnettask.so` (not the path they were linked with), and
//! Android's loader, which requires one, accepts it; and keeps every
//! symbol of the archives linked in out of its exports.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "android" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnettask.so");
        // Only nettask's own functions leave the shared library: rustc
        // also exports every #[no_mangle] function of the crates linked in
        // (rustls-ffi's rustls_* in the rustls flavour), and those come
        // from archives.
        // zig's linker (cargo-zigbuild, the musl builds of scripts/dist.sh)
        // has no --exclude-libs: there rustls-ffi's functions stay exported.
        let linker = std::env::var("RUSTC_LINKER").unwrap_or_default();
        if !linker.contains("zigcc") {
            println!("cargo:rustc-cdylib-link-arg=-Wl,--exclude-libs,ALL");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
}
