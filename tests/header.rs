//! The committed C header must be what cbindgen generates from the sources.
//! `NETTASK_UPDATE_HEADER=1 cargo test --test header` rewrites it.

use std::path::Path;

#[test]
fn committed_header_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = root.join("include/nettask.h");
    if std::env::var_os("NETTASK_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write include/nettask.h");
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/nettask.h is stale: run `make header` and commit the result"
    );
}
