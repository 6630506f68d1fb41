//! The host's native side, on its one JS thread: the task table, the
//! listeners that turn nettask's events into calls of each task's JS
//! `sink`, the `__nettask` functions the prelude builds `wx` on, the
//! microtask checkpoint and unhandled-rejection check after every
//! macrotask, and the event loop (the client's event fd polled together
//! with the timers).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CString;
use std::io::Write;
use std::ptr::{self, NonNull};
use std::rc::Rc;
use std::time::Instant;

use rquickjs::function::{Opt, This};
use rquickjs::{
    Array, ArrayBuffer, Coerced, Ctx, Exception, Function, IntoJs, Object, Persistent, Promise,
    Value, qjs,
};

use crate::bytes::{body_of, bytes_of};
use crate::fs;
use crate::net::{self, Client, Event, Kind, Listen, TaskHandle, TaskSpec};

/// One started task: nettask's handle and the JS function its events go to.
struct Entry {
    handle: TaskHandle,
    sink: Persistent<Function<'static>>,
}

#[derive(Default)]
struct State {
    /// Cloned out (never borrowed) around calls that run listeners.
    client: Option<Rc<Client>>,
    tasks: HashMap<usize, Entry>,
    next_key: usize,
    /// The context, while the loop runs inside `Context::with`.
    ctx: Option<NonNull<qjs::JSContext>>,
    /// Set by `exit(code)` or an uncaught error: no more JS runs.
    exit: Option<i32>,
    /// Set while the client is freed: completions are dropped unseen.
    shutting_down: bool,
    /// The prelude's timer function: runs one due timer.
    tick: Option<Persistent<Function<'static>>>,
    /// When the next timer is due, as far as the host knows (the
    /// prelude tells it of every new timer).
    next_timer: Option<Instant>,
    /// Rejected promises without a handler, checked after each macrotask.
    rejections: Vec<(Persistent<Value<'static>>, Persistent<Value<'static>>)>,
    /// The script's module: settled or not.
    main_settled: bool,
    started: Option<Instant>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Runs `f` on the state. Never call JS or nettask functions that run
/// listeners (dispatch, client free) inside.
fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

pub fn exit_requested() -> bool {
    STATE
        .try_with(|s| s.try_borrow().map(|s| s.exit.is_some()).unwrap_or(false))
        .unwrap_or(false)
}

fn request_exit(code: i32) {
    with_state(|s| {
        s.exit.get_or_insert(code);
    });
}

pub fn set_client(client: Client) {
    with_state(|s| {
        s.client = Some(Rc::new(client));
        s.started = Some(Instant::now());
    });
    net::set_handler(on_event);
}

fn client() -> Option<Rc<Client>> {
    with_state(|s| s.client.clone())
}

fn print(fd: i32, text: &str) {
    let mut line = text.as_bytes().to_vec();
    line.push(b'\n');
    // A closed pipe is no reason to stop the script.
    let _ = if fd == 2 {
        std::io::stderr().lock().write_all(&line)
    } else {
        let mut out = std::io::stdout().lock();
        out.write_all(&line).and_then(|()| out.flush())
    };
}

// ---------------------------------------------------------------------
// Errors

/// A readable form of a thrown value: "Name: message" and the stack for
/// errors, JSON for other objects.
pub fn describe<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> String {
    if let Some(obj) = value.as_object() {
        let stack: Option<String> = obj.get("stack").ok();
        if value.is_error() || stack.is_some() {
            let name: Option<Coerced<String>> = obj.get("name").ok();
            let message: Option<Coerced<String>> = obj.get("message").ok();
            let mut text = format!(
                "{}: {}",
                name.map_or_else(|| "Error".to_string(), |n| n.0),
                message.map(|m| m.0).unwrap_or_default()
            );
            if let Some(stack) = stack.filter(|s| !s.trim().is_empty()) {
                text.push('\n');
                text.push_str(stack.trim_end());
            }
            return text;
        }
        if let Ok(Some(json)) = ctx.json_stringify(value.clone())
            && let Ok(json) = json.to_string()
        {
            return json;
        }
    }
    match value.get::<Coerced<String>>() {
        Ok(s) => s.0,
        Err(_) => format!("<{}>", value.type_name()),
    }
}

/// Reports an error that reached the host (a listener, timer or job
/// threw): printed, and the program ends with 1. Nothing while exiting.
fn report(ctx: &Ctx<'_>, error: rquickjs::Error) {
    let text = match error {
        rquickjs::Error::Exception => {
            let value = ctx.catch();
            if exit_requested() {
                return;
            }
            describe(ctx, &value)
        }
        other => {
            if exit_requested() {
                return;
            }
            format!("internal error: {other}")
        }
    };
    print(2, &format!("Uncaught {text}"));
    request_exit(1);
}

fn report_value<'js>(ctx: &Ctx<'js>, prefix: &str, value: &Value<'js>) {
    if exit_requested() {
        return;
    }
    print(2, &format!("{prefix}{}", describe(ctx, value)));
    request_exit(1);
}

// ---------------------------------------------------------------------
// Microtasks and rejections

/// Runs every pending job (promise reactions), reporting any that threw.
fn drain_jobs(ctx: &Ctx<'_>) {
    // SAFETY: the context is live (we hold a Ctx of it) on its thread.
    let rt = unsafe { qjs::JS_GetRuntime(ctx.as_raw().as_ptr()) };
    loop {
        if exit_requested() {
            return;
        }
        let mut job_ctx: *mut qjs::JSContext = ptr::null_mut();
        // SAFETY: `rt` is this thread's live runtime, locked by the
        // Context::with we run in; `job_ctx` is writable.
        let ran = unsafe { qjs::JS_ExecutePendingJob(rt, &mut job_ctx) };
        if ran == 0 {
            return;
        }
        if ran < 0 && !job_ctx.is_null() {
            // SAFETY: the job threw in `job_ctx` (our only context); the
            // exception is taken from it, and owned by the Value.
            let exception = unsafe { qjs::JS_GetException(job_ctx) };
            // SAFETY: `exception` is an owned JSValue of this context.
            let value = unsafe { Value::from_raw(ctx.clone(), exception) };
            if !exit_requested() {
                report_value(ctx, "Uncaught ", &value);
            }
        }
    }
}

/// The promise rejection tracker: remembers promises rejected without a
/// handler, forgets those that get one.
pub fn track_rejection<'js>(ctx: Ctx<'js>, promise: Value<'js>, reason: Value<'js>, handled: bool) {
    if handled {
        // Compared outside the state: restoring and dropping JS values
        // must not happen while it is borrowed.
        let pending = with_state(|s| std::mem::take(&mut s.rejections));
        let mut kept = Vec::new();
        for (p, r) in pending {
            match p.clone().restore(&ctx) {
                Ok(v) if v == promise => {}
                _ => kept.push((p, r)),
            }
        }
        with_state(|s| {
            kept.append(&mut s.rejections);
            s.rejections = kept;
        });
    } else {
        let entry = (
            Persistent::save(&ctx, promise),
            Persistent::save(&ctx, reason),
        );
        with_state(|s| s.rejections.push(entry));
    }
}

/// After the microtasks: a rejection still unhandled goes to
/// `globalThis.onunhandledrejection(event)` if the script set one, and
/// otherwise ends the program with 1.
fn check_rejections(ctx: &Ctx<'_>) {
    loop {
        let pending = with_state(|s| std::mem::take(&mut s.rejections));
        if pending.is_empty() || exit_requested() {
            return;
        }
        let handler: Option<Function> = ctx.globals().get("onunhandledrejection").ok();
        for (promise, reason) in pending {
            if exit_requested() {
                return;
            }
            let (Ok(promise), Ok(reason)) = (promise.restore(ctx), reason.restore(ctx)) else {
                continue;
            };
            match &handler {
                Some(f) => {
                    let event = Object::new(ctx.clone()).and_then(|e| {
                        e.set("type", "unhandledrejection")?;
                        e.set("promise", promise)?;
                        e.set("reason", reason)?;
                        Ok(e)
                    });
                    if let Err(e) = event.and_then(|e| f.call::<_, ()>((e,))) {
                        report(ctx, e);
                    }
                }
                None => {
                    report_value(ctx, "Uncaught (in promise) ", &reason);
                    return;
                }
            }
        }
        drain_jobs(ctx);
    }
}

/// The checkpoint after every macrotask (a listener call, a timer, the
/// module's evaluation): microtasks, then unhandled rejections.
fn after_macrotask(ctx: &Ctx<'_>) {
    drain_jobs(ctx);
    check_rejections(ctx);
}

// ---------------------------------------------------------------------
// Events from nettask

/// The handler of every listener call (inside `nettask_client_dispatch`,
/// on this thread): `sink(type, payload)` of the task, then the
/// checkpoint.
fn on_event(key: usize, event: Event<'_>) {
    let complete = matches!(event, Event::Complete(_));
    let found = with_state(|s| {
        let quiet = s.exit.is_some() || s.shutting_down;
        if complete {
            // The task is done: out of the table before JS sees it, so
            // that abort() from its callbacks is a no-op.
            let entry = s.tasks.remove(&key)?;
            Some((quiet, entry.sink.clone(), Some(entry), s.ctx))
        } else {
            let entry = s.tasks.get(&key)?;
            Some((quiet, entry.sink.clone(), None, s.ctx))
        }
    });
    let Some((quiet, sink, done, Some(raw))) = found else {
        return;
    };
    if !quiet {
        // SAFETY: events are dispatched only by the loop, which runs
        // inside Context::with on this thread: the runtime is locked by
        // our own stack and the context `raw` is live.
        let ctx = unsafe { Ctx::from_raw(raw) };
        let result = sink.restore(&ctx).and_then(|sink| {
            let (name, payload) = payload(&ctx, event)?;
            sink.call::<_, ()>((name, payload))
        });
        if let Err(e) = result {
            report(&ctx, e);
        }
        after_macrotask(&ctx);
        // One dispatch runs every event that waited when it began, which
        // with a slow listener may take long: the timers that came due
        // meanwhile run here, between two events.
        if timer_due() {
            run_due_timers(&ctx);
        }
    }
    // Releases nettask's task (allowed inside its listener) once JS is done.
    drop(done);
}

fn pairs<'js>(ctx: &Ctx<'js>, list: &[(String, String)]) -> rquickjs::Result<Array<'js>> {
    let array = Array::new(ctx.clone())?;
    for (i, (name, value)) in list.iter().enumerate() {
        let pair = Array::new(ctx.clone())?;
        pair.set(0, name.as_str())?;
        pair.set(1, value.as_str())?;
        array.set(i, pair)?;
    }
    Ok(array)
}

fn strings<'js>(ctx: &Ctx<'js>, list: &[String]) -> rquickjs::Result<Array<'js>> {
    let array = Array::new(ctx.clone())?;
    for (i, s) in list.iter().enumerate() {
        array.set(i, s.as_str())?;
    }
    Ok(array)
}

fn payload<'js>(ctx: &Ctx<'js>, event: Event<'_>) -> rquickjs::Result<(&'static str, Value<'js>)> {
    let obj = Object::new(ctx.clone())?;
    let name = match event {
        Event::Headers {
            status_code,
            headers,
            cookies,
        } => {
            obj.set("statusCode", status_code)?;
            obj.set("headers", pairs(ctx, &headers)?)?;
            obj.set("cookies", strings(ctx, &cookies)?)?;
            "headers"
        }
        Event::Chunk(data) => {
            return Ok((
                "chunk",
                ArrayBuffer::new_copy(ctx.clone(), data)?.into_value(),
            ));
        }
        Event::Progress {
            progress,
            written,
            expected_to_write,
            sent,
            expected_to_send,
        } => {
            obj.set("progress", progress)?;
            obj.set("written", written as f64)?;
            obj.set("expectedToWrite", expected_to_write as f64)?;
            obj.set("sent", sent as f64)?;
            obj.set("expectedToSend", expected_to_send as f64)?;
            "progress"
        }
        Event::Complete(c) => {
            obj.set("code", c.code as i32)?;
            obj.set("codeName", net::code_name(c.code))?;
            obj.set("errMsg", c.err_msg.as_str())?;
            obj.set("statusCode", c.status_code)?;
            obj.set("headers", pairs(ctx, &c.headers)?)?;
            obj.set("cookies", strings(ctx, &c.cookies)?)?;
            obj.set("data", ArrayBuffer::new_copy(ctx.clone(), c.data)?)?;
            obj.set("filePath", c.file_path.as_deref())?;
            obj.set("dataLength", c.data_length as f64)?;
            let profile = Object::new(ctx.clone())?;
            for (name, number) in &c.profile.numbers {
                profile.set(*name, *number)?;
            }
            for (name, text) in &c.profile.strings {
                profile.set(*name, text.as_str())?;
            }
            profile.set("socket_reused", c.profile.socket_reused)?;
            obj.set("profile", profile)?;
            "complete"
        }
    };
    Ok((name, obj.into_value()))
}

// ---------------------------------------------------------------------
// The `__nettask` functions

fn error_object<'js>(ctx: &Ctx<'js>, code: &str, message: &str) -> rquickjs::Result<Value<'js>> {
    let obj = Object::new(ctx.clone())?;
    obj.set("code", code)?;
    obj.set("message", message)?;
    Ok(obj.into_value())
}

fn invalid<'js>(ctx: &Ctx<'js>, message: &str) -> rquickjs::Result<Value<'js>> {
    error_object(ctx, "NETTASK_E_INVALID_ARGUMENT", message)
}

fn c_string(what: &str, text: String) -> Result<CString, String> {
    CString::new(text).map_err(|_| format!("{what} contains a NUL character"))
}

fn opt_c_string(o: &Object<'_>, key: &str) -> Result<Option<CString>, String> {
    match o.get::<_, Option<String>>(key) {
        Ok(None) => Ok(None),
        Ok(Some(s)) => c_string(key, s).map(Some),
        Err(_) => Err(format!("{key} should be a string")),
    }
}

fn c_pairs(o: &Object<'_>, key: &str) -> Result<Vec<(CString, CString)>, String> {
    let list: Option<Vec<Vec<String>>> = o
        .get(key)
        .map_err(|_| format!("{key} should be a list of [name, value] strings"))?;
    let mut out = Vec::new();
    for pair in list.unwrap_or_default() {
        let [name, value]: [String; 2] = pair
            .try_into()
            .map_err(|_| format!("{key} should be a list of [name, value] strings"))?;
        out.push((
            c_string(&format!("{key} name"), name)?,
            c_string(&format!("{key} value"), value)?,
        ));
    }
    Ok(out)
}

fn flag(o: &Object<'_>, key: &str, default: bool) -> Result<bool, String> {
    o.get::<_, Option<bool>>(key)
        .map(|v| v.unwrap_or(default))
        .map_err(|_| format!("{key} should be a boolean"))
}

fn spec_of(o: &Object<'_>) -> Result<TaskSpec, String> {
    let url: String = o
        .get("url")
        .map_err(|_| "url should be a string".to_string())?;
    let body = match o.get::<_, Value>("body") {
        Ok(v) if v.is_undefined() || v.is_null() => Vec::new(),
        Ok(v) => body_of(&v).ok_or("body should be a string, ArrayBuffer or Uint8Array")?,
        Err(_) => Vec::new(),
    };
    let timeout: Option<f64> = o
        .get("timeout")
        .map_err(|_| "timeout should be a number".to_string())?;
    // 0 = the client's default; past u32 is "no limit".
    let timeout_ms = match timeout {
        Some(t) if t.is_finite() && t >= 1.0 => t.min(f64::from(u32::MAX)) as u32,
        _ => 0,
    };
    let framing: Option<u32> = o
        .get("chunkFraming")
        .map_err(|_| "chunkFraming should be a number".to_string())?;
    Ok(TaskSpec {
        url: c_string("url", url)?,
        method: opt_c_string(o, "method")?,
        headers: c_pairs(o, "headers")?,
        body,
        timeout_ms,
        follow_redirects: flag(o, "followRedirects", true)?,
        enable_http2: flag(o, "enableHttp2", true)?,
        enable_chunked: flag(o, "enableChunked", false)?,
        chunk_framing: framing.unwrap_or(0),
        file_path: opt_c_string(o, "filePath")?,
        upload_file_path: opt_c_string(o, "uploadFilePath")?,
        upload_name: opt_c_string(o, "uploadName")?,
        form_fields: c_pairs(o, "formData")?,
    })
}

/// `create(kind, options, sink)`: a task's key, or `{code, message}`.
fn js_create<'js>(
    ctx: Ctx<'js>,
    kind: String,
    options: Object<'js>,
    sink: Function<'js>,
) -> rquickjs::Result<Value<'js>> {
    let kind = match kind.as_str() {
        "request" => Kind::Request,
        "download" => Kind::Download,
        "upload" => Kind::Upload,
        _ => return invalid(&ctx, "unknown task kind"),
    };
    let spec = match spec_of(&options) {
        Ok(spec) => spec,
        Err(message) => return invalid(&ctx, &message),
    };
    let Some(client) = client() else {
        return error_object(&ctx, "NETTASK_E_SHUTDOWN", "the host is shutting down");
    };
    let handle = match TaskHandle::create(&client, kind, &spec) {
        Ok(handle) => handle,
        Err(e) => return error_object(&ctx, &e.code_name(), &e.message),
    };
    let key = with_state(|s| {
        s.next_key += 1;
        s.next_key
    });
    if let Err(e) = handle.listen(Listen::Complete, key, true) {
        return error_object(&ctx, &e.code_name(), &e.message);
    }
    let sink = Persistent::save(&ctx, sink);
    with_state(|s| s.tasks.insert(key, Entry { handle, sink }));
    (key as f64).into_js(&ctx)
}

/// `start(key)`: null, or `{code, message}` (the task is then dropped).
fn js_start<'js>(ctx: Ctx<'js>, key: f64) -> rquickjs::Result<Value<'js>> {
    let key = key as usize;
    let started = with_state(|s| s.tasks.get(&key).map(|e| e.handle.start()));
    match started {
        Some(Ok(())) => Ok(Value::new_null(ctx)),
        Some(Err(e)) => {
            let entry = with_state(|s| s.tasks.remove(&key));
            drop(entry);
            error_object(&ctx, &e.code_name(), &e.message)
        }
        None => error_object(&ctx, "NETTASK_E_INVALID_STATE", "no such task"),
    }
}

/// `abort(key)`: aborts the task if it has not completed.
fn js_abort(key: f64) {
    with_state(|s| {
        if let Some(e) = s.tasks.get(&(key as usize)) {
            let _ = e.handle.abort();
        }
    });
}

/// `listen(key, event, on)`: adds or removes the host's nettask listener
/// of "headers", "chunk" or "progress" (added when the task's first JS
/// listener is, removed with its last).
fn js_listen(key: f64, event: String, on: bool) {
    let event = match event.as_str() {
        "headers" => Listen::Headers,
        "chunk" => Listen::Chunk,
        "progress" => Listen::Progress,
        _ => return,
    };
    let key = key as usize;
    with_state(|s| {
        if let Some(e) = s.tasks.get(&key) {
            let _ = e.handle.listen(event, key, on);
        }
    });
}

fn js_utf8_decode<'js>(
    ctx: Ctx<'js>,
    data: Value<'js>,
    fatal: Opt<bool>,
) -> rquickjs::Result<String> {
    let Some(bytes) = bytes_of(&data) else {
        return Err(Exception::throw_type(
            &ctx,
            "expected an ArrayBuffer or Uint8Array",
        ));
    };
    if fatal.0.unwrap_or(false) {
        String::from_utf8(bytes).map_err(|_| {
            Exception::throw_type(&ctx, "The encoded data was not valid for encoding utf-8")
        })
    } else {
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

fn js_utf8_encode<'js>(ctx: Ctx<'js>, text: Coerced<String>) -> rquickjs::Result<ArrayBuffer<'js>> {
    ArrayBuffer::new_copy(ctx, text.0.as_bytes())
}

fn js_now() -> f64 {
    let started = with_state(|s| s.started);
    started.map_or(0.0, |t| t.elapsed().as_secs_f64() * 1000.0)
}

fn js_print(fd: i32, text: Coerced<String>) {
    print(fd, &text.0);
}

/// `exit(code)`: stops the program. Throws an uncatchable error so that
/// no more of the script runs; the loop then shuts down.
fn js_exit<'js>(ctx: Ctx<'js>, code: Opt<Coerced<i32>>) -> rquickjs::Result<()> {
    request_exit(code.0.map_or(0, |c| c.0));
    let error = Exception::from_message(ctx.clone(), "exit")?;
    // SAFETY: `error` is a live object of this context; marking it
    // uncatchable only sets a flag on it.
    unsafe { qjs::JS_SetUncatchableError(ctx.as_raw().as_ptr(), error.as_raw()) };
    Err(ctx.throw(error.into_value()))
}

fn js_on_tick<'js>(ctx: Ctx<'js>, tick: Function<'js>) {
    let tick = Persistent::save(&ctx, tick);
    with_state(|s| s.tick = Some(tick));
}

fn js_report_error<'js>(ctx: Ctx<'js>, error: Value<'js>) {
    report_value(&ctx, "Uncaught ", &error);
}

/// Installs `__nettask`, the prelude's native functions.
pub fn install<'js>(
    ctx: &Ctx<'js>,
    taro_source: &str,
    taro_bundle: &'static str,
) -> rquickjs::Result<Object<'js>> {
    let n = Object::new(ctx.clone())?;
    n.set(
        "loadTaro",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>| {
            ctx.eval_with_options::<(), _>(taro_bundle, script_options("nettask-qjs:taro.js"))
        })?,
    )?;
    n.set("create", Function::new(ctx.clone(), js_create)?)?;
    n.set("start", Function::new(ctx.clone(), js_start)?)?;
    n.set("abort", Function::new(ctx.clone(), js_abort)?)?;
    n.set("listen", Function::new(ctx.clone(), js_listen)?)?;
    n.set("utf8Decode", Function::new(ctx.clone(), js_utf8_decode)?)?;
    n.set("utf8Encode", Function::new(ctx.clone(), js_utf8_encode)?)?;
    n.set("now", Function::new(ctx.clone(), js_now)?)?;
    n.set("print", Function::new(ctx.clone(), js_print)?)?;
    n.set("exit", Function::new(ctx.clone(), js_exit)?)?;
    n.set("onTick", Function::new(ctx.clone(), js_on_tick)?)?;
    n.set("timerAt", Function::new(ctx.clone(), js_timer_at)?)?;
    n.set("reportError", Function::new(ctx.clone(), js_report_error)?)?;
    fs::install(ctx, &n)?;
    n.set("version", net::version())?;
    n.set("taroSource", taro_source)?;
    n.set(
        "tempDir",
        std::env::temp_dir().to_string_lossy().into_owned(),
    )?;
    Ok(n)
}

// ---------------------------------------------------------------------
// Running

fn script_options(name: &str) -> rquickjs::context::EvalOptions {
    let mut options = rquickjs::context::EvalOptions::default();
    options.global = true;
    options.strict = false;
    options.filename = Some(name.to_string());
    options
}

/// Evaluates the prelude script (it receives `__nettask` and removes it).
pub fn run_prelude<'js>(ctx: &Ctx<'js>, name: &str, source: &str) -> bool {
    let result = ctx.eval_with_options::<(), _>(source, script_options(name));
    match result {
        Ok(()) => {
            after_macrotask(ctx);
            !exit_requested()
        }
        Err(e) => {
            report(ctx, e);
            false
        }
    }
}

/// Evaluates the script as an ES module (top-level await allowed) and
/// watches its promise: a rejection is an uncaught error.
pub fn run_main<'js>(ctx: &Ctx<'js>, name: &str, source: Vec<u8>) {
    let promise = match rquickjs::Module::evaluate(ctx.clone(), name, source) {
        Ok(p) => p,
        Err(e) => {
            report(ctx, e);
            with_state(|s| s.main_settled = true);
            return;
        }
    };
    if let Err(e) = watch(ctx, &promise) {
        report(ctx, e);
    }
    after_macrotask(ctx);
}

fn watch<'js>(ctx: &Ctx<'js>, promise: &Promise<'js>) -> rquickjs::Result<()> {
    let settled = Function::new(ctx.clone(), || with_state(|s| s.main_settled = true))?;
    let failed = Function::new(ctx.clone(), |ctx: Ctx<'js>, error: Value<'js>| {
        with_state(|s| s.main_settled = true);
        report_value(&ctx, "Uncaught ", &error);
    })?;
    let then: Function = promise.get("then")?;
    then.call::<_, Value>((This(promise.clone()), settled, failed))?;
    Ok(())
}

/// Whether a timer is due now.
fn timer_due() -> bool {
    with_state(|s| s.next_timer.is_some_and(|at| at <= Instant::now()))
}

/// Calls the prelude's tick: -2 when it ran a timer, else the delay of
/// the next one in ms (-1: none). Records when the next one is due.
fn tick(ctx: &Ctx<'_>) -> f64 {
    let tick = with_state(|s| s.tick.clone());
    let delay = match tick.map(|t| t.restore(ctx).and_then(|t| t.call::<_, f64>(()))) {
        None => -1.0,
        Some(Ok(delay)) => delay,
        Some(Err(e)) => {
            report(ctx, e);
            -2.0
        }
    };
    let now = Instant::now();
    with_state(|s| {
        s.next_timer = if delay == -1.0 {
            None
        } else if delay < 0.0 {
            Some(now)
        } else {
            after_ms(now, delay)
        }
    });
    delay
}

/// Runs the timers that are due, each followed by its microtasks.
fn run_due_timers(ctx: &Ctx<'_>) {
    while !exit_requested() && tick(ctx) == -2.0 {
        after_macrotask(ctx);
    }
}

/// `ms` milliseconds after `now`; None when that is beyond any clock.
fn after_ms(now: Instant, ms: f64) -> Option<Instant> {
    let ms = if ms.is_nan() { 0.0 } else { ms.max(0.0) };
    std::time::Duration::try_from_secs_f64(ms / 1000.0)
        .ok()
        .and_then(|d| now.checked_add(d))
}

/// `timerAt(delay)`: a timer was set, due in `delay` ms.
fn js_timer_at(delay: f64) {
    let Some(at) = after_ms(Instant::now(), delay) else {
        return;
    };
    with_state(|s| {
        if s.next_timer.is_none_or(|next| at < next) {
            s.next_timer = Some(at);
        }
    });
}

/// The event loop: microtasks, one due timer at a time, and the client's
/// event fd polled with the next timer's delay as the timeout; dispatch
/// runs the listeners here. Ends when no task, timer or job is left, or
/// at `exit()`.
pub fn run_loop(ctx: &Ctx<'_>) {
    let Some(fd) = client().map(|c| c.event_fd()) else {
        return;
    };
    loop {
        after_macrotask(ctx);
        if exit_requested() {
            return;
        }
        let delay = tick(ctx);
        if exit_requested() {
            return;
        }
        if delay == -2.0 {
            // A timer ran: its microtasks first, then the next one.
            continue;
        }
        let active = with_state(|s| !s.tasks.is_empty());
        if !active && delay < 0.0 {
            return;
        }
        let timeout = if delay < 0.0 {
            -1
        } else {
            delay.ceil().min(f64::from(i32::MAX)) as i32
        };
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for the duration of the call.
        let ready = unsafe { libc::poll(&mut pfd, 1, timeout) };
        if ready < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            print(2, &format!("nettask-qjs: poll failed: {err}"));
            request_exit(1);
            return;
        }
        if ready > 0 {
            // Listeners run inside, on this thread (on_event).
            if let Some(client) = client()
                && let Err(e) = client.dispatch(0)
            {
                print(2, &format!("nettask-qjs: dispatch failed: {}", e.message));
                request_exit(1);
                return;
            }
        }
    }
}

/// Lets the listeners find the context while the loop runs.
pub fn enter(ctx: &Ctx<'_>) {
    with_state(|s| s.ctx = Some(ctx.as_raw()));
}

/// Aborts what is left, frees the client (its completions are delivered
/// here and dropped unseen) and drops every JS value the host kept, so
/// that the runtime can be freed. Returns the exit code.
pub fn shut_down() -> i32 {
    let client = with_state(|s| {
        s.shutting_down = true;
        for entry in s.tasks.values() {
            let _ = entry.handle.abort();
        }
        s.client.take()
    });
    if let Some(client) = client.and_then(|c| Rc::try_unwrap(c).ok()) {
        let _ = client.free();
    }
    let (tasks, tick, rejections, settled, exit) = with_state(|s| {
        s.ctx = None;
        (
            std::mem::take(&mut s.tasks),
            s.tick.take(),
            std::mem::take(&mut s.rejections),
            s.main_settled,
            s.exit,
        )
    });
    drop((tasks, tick, rejections));
    match exit {
        Some(code) => code,
        None if !settled => {
            print(
                2,
                "nettask-qjs: the script's top-level await never settled (nothing was left to wait for)",
            );
            1
        }
        None => 0,
    }
}
