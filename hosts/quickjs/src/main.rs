//! nettask-qjs: runs a script in QuickJS-ng with `wx` (request,
//! downloadFile, uploadFile), `Taro`, `console`, timers, `scriptArgs` and
//! `exit`, on nettask's C ABI in queued delivery: one thread runs JS and
//! every nettask listener (see README.md).
//!
//!   usage: nettask-qjs [--ca-file PEM] SCRIPT.js [ARGS...]

mod bytes;
mod fs;
mod host;
mod modules;
mod net;

use std::ffi::CString;
use std::process::ExitCode;

use rquickjs::loader::ScriptLoader;
use rquickjs::{Context, Runtime};

/// The prelude that builds the globals on `__nettask`.
const PRELUDE: &str = include_str!("js/prelude.js");
/// Taro's weapp runtime bundled from npm by taro/build.mjs, or a stub
/// that says how to build it (see build.rs).
const TARO: &str = include_str!(concat!(env!("OUT_DIR"), "/taro.js"));
const TARO_SOURCE: &str = env!("NETTASK_QJS_TARO_SOURCE");

const USAGE: &str = "usage: nettask-qjs [--ca-file PEM] SCRIPT.js [ARGS...]";

struct Args {
    ca_file: Option<String>,
    script: String,
    script_args: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut ca_file = std::env::var("NETTASK_QJS_CA_FILE").ok();
    loop {
        let Some(arg) = args.next() else {
            return Err(USAGE.to_string());
        };
        match arg.as_str() {
            "--ca-file" => ca_file = Some(args.next().ok_or(USAGE)?),
            "-h" | "--help" => return Err(USAGE.to_string()),
            "--version" => {
                return Err(format!(
                    "nettask-qjs {} ({}; {})",
                    env!("CARGO_PKG_VERSION"),
                    net::version(),
                    TARO_SOURCE
                ));
            }
            _ => {
                return Ok(Args {
                    ca_file,
                    script: arg,
                    script_args: args.collect(),
                });
            }
        }
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(text) => {
            eprintln!("{text}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(text) => {
            eprintln!("nettask-qjs: {text}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<i32, String> {
    let source = std::fs::read(&args.script).map_err(|e| format!("{}: {e}", args.script))?;
    let ca_file = match &args.ca_file {
        Some(path) => Some(CString::new(path.as_str()).map_err(|_| "--ca-file has a NUL")?),
        None => None,
    };
    // wx runs at most 10 network tasks at once; the rest wait, in order.
    let client = net::Client::new(&net::ClientConfig {
        max_concurrent_tasks: 10,
        ca_file,
        user_agent: None,
    })
    .map_err(|e| format!("cannot create the nettask client: {}", e.message))?;
    host::set_client(client);

    let rt = Runtime::new().map_err(|e| format!("cannot create the JS runtime: {e}"))?;
    rt.set_loader(
        modules::FileResolver,
        ScriptLoader::default().with_extension("mjs"),
    );
    rt.set_host_promise_rejection_tracker(Some(Box::new(host::track_rejection)));
    rt.set_interrupt_handler(Some(Box::new(host::exit_requested)));
    let context = Context::full(&rt).map_err(|e| format!("cannot create the JS context: {e}"))?;

    let code = context.with(|ctx| {
        host::enter(&ctx);
        let ok = (|| -> rquickjs::Result<bool> {
            let globals = ctx.globals();
            globals.set("__nettask", host::install(&ctx, TARO_SOURCE, TARO)?)?;
            let mut script_args = vec![args.script.clone()];
            script_args.extend(args.script_args.iter().cloned());
            globals.set("scriptArgs", script_args)?;
            Ok(host::run_prelude(&ctx, "nettask-qjs:prelude.js", PRELUDE))
        })()
        .unwrap_or_else(|e| {
            eprintln!("nettask-qjs: cannot set up the globals: {e}");
            false
        });
        if ok {
            host::run_main(&ctx, &args.script, source);
            host::run_loop(&ctx);
        }
        host::shut_down()
    });
    // Every JS value the host kept is gone; the runtime can be freed.
    drop(context);
    drop(rt);
    Ok(code)
}
