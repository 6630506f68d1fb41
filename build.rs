//! Gives the shared library a SONAME, so that programs linked against it
//! record `libnettask.so` (not the path they were linked with), and
//! Android's loader, which requires one, accepts it.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "android" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnettask.so");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
