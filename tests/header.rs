//! The committed C header must be what the generator makes of the
//! template and the sources: include/nettask.h.in, with each
//! `/* cbindgen: <file> */` line replaced by what cbindgen generates from
//! that Rust file, and lines starting with `##` (notes on the template)
//! dropped. `NETTASK_UPDATE_HEADER=1 cargo test --test header` rewrites it.

use std::path::Path;

fn fragment(root: &Path, config: &cbindgen::Config, source: &str) -> String {
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_config(config.clone())
        .with_src(root.join(source))
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen cannot read {source}: {e}"))
        .write(&mut out);
    String::from_utf8(out)
        .expect("cbindgen writes UTF-8")
        .trim()
        .to_owned()
}

fn generate(root: &Path) -> String {
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let template =
        std::fs::read_to_string(root.join("include/nettask.h.in")).expect("include/nettask.h.in");
    let mut header = String::new();
    for line in template.lines().filter(|l| !l.starts_with("##")) {
        match line
            .strip_prefix("/* cbindgen: ")
            .and_then(|l| l.strip_suffix(" */"))
        {
            Some(source) => header += &fragment(root, &config, source),
            None => header += line,
        }
        header.push('\n');
    }
    header
}

#[test]
fn committed_header_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let generated = generate(root);
    let path = root.join("include/nettask.h");
    if std::env::var_os("NETTASK_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write include/nettask.h");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/nettask.h is stale: run `make header` and commit the result"
    );
}
