//! Embeds Taro's weapp runtime, bundled from npm by `taro/build.mjs`
//! (scripts/check-quickjs.sh runs `npm ci` and it first), as
//! `$OUT_DIR/taro.js`. Without the bundle the host still builds: `Taro`
//! then throws an error that says how to make it.

use std::path::Path;

fn main() {
    let bundle = Path::new("taro/dist/taro.js");
    let meta = Path::new("taro/dist/taro.version");
    println!("cargo:rerun-if-changed=taro/dist");
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    let target = Path::new(&out).join("taro.js");
    let (text, source) = match std::fs::read_to_string(bundle) {
        Ok(text) => {
            let version = std::fs::read_to_string(meta).unwrap_or_default();
            let version = version.trim();
            (text, format!("Taro from npm ({version})"))
        }
        Err(_) => (
            "throw new Error('this nettask-qjs was built without the Taro bundle: run \
             `npm ci && node build.mjs` in hosts/quickjs/taro (scripts/check-quickjs.sh does), \
             then build again')\n"
                .to_string(),
            "no Taro bundle".to_string(),
        ),
    };
    std::fs::write(&target, text).expect("write taro.js");
    println!("cargo:rustc-env=NETTASK_QJS_TARO_SOURCE={source}");
}
