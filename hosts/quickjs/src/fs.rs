//! The few file functions under `wx.getFileSystemManager()` (read, write,
//! stat, unlink, mkdir, rmdir, readdir, access): enough for a script to
//! make a file to upload and to check a download. Failures throw an Error
//! whose message is the OS error in wx's words ("no such file or
//! directory"); the prelude adds the API name and the path.

use std::io::ErrorKind;

use rquickjs::function::Opt;
use rquickjs::{ArrayBuffer, Ctx, Exception, Function, Object, Value};

fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::NotFound => "no such file or directory".to_string(),
        ErrorKind::PermissionDenied => "permission denied".to_string(),
        ErrorKind::AlreadyExists => "file already exists".to_string(),
        ErrorKind::IsADirectory => "illegal operation on a directory".to_string(),
        ErrorKind::NotADirectory => "not a directory".to_string(),
        ErrorKind::DirectoryNotEmpty => "directory not empty".to_string(),
        _ => e.to_string(),
    }
}

fn fail(ctx: &Ctx<'_>, e: std::io::Error) -> rquickjs::Error {
    Exception::throw_message(ctx, &reason(&e))
}

fn read<'js>(ctx: Ctx<'js>, path: String) -> rquickjs::Result<ArrayBuffer<'js>> {
    let bytes = std::fs::read(&path).map_err(|e| fail(&ctx, e))?;
    ArrayBuffer::new(ctx, bytes)
}

fn write<'js>(
    ctx: Ctx<'js>,
    path: String,
    data: Value<'js>,
    append: Opt<bool>,
) -> rquickjs::Result<()> {
    let Some(bytes) = crate::bytes::body_of(&data) else {
        return Err(Exception::throw_type(
            &ctx,
            "data should be a string, ArrayBuffer or Uint8Array",
        ));
    };
    let result = if append.0.unwrap_or(false) {
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .and_then(|mut f| f.write_all(&bytes))
    } else {
        std::fs::write(&path, bytes)
    };
    result.map_err(|e| fail(&ctx, e))
}

fn stat<'js>(ctx: Ctx<'js>, path: String) -> rquickjs::Result<Object<'js>> {
    let meta = std::fs::metadata(&path).map_err(|e| fail(&ctx, e))?;
    let obj = Object::new(ctx)?;
    obj.set("size", meta.len() as f64)?;
    obj.set("isFile", meta.is_file())?;
    obj.set("isDirectory", meta.is_dir())?;
    let seconds = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs_f64().floor());
    obj.set("lastModifiedTime", seconds)?;
    Ok(obj)
}

fn unlink(ctx: Ctx<'_>, path: String) -> rquickjs::Result<()> {
    std::fs::remove_file(&path).map_err(|e| fail(&ctx, e))
}

fn mkdir(ctx: Ctx<'_>, path: String, recursive: Opt<bool>) -> rquickjs::Result<()> {
    if recursive.0.unwrap_or(false) {
        std::fs::create_dir_all(&path)
    } else {
        std::fs::create_dir(&path)
    }
    .map_err(|e| fail(&ctx, e))
}

fn rmdir(ctx: Ctx<'_>, path: String, recursive: Opt<bool>) -> rquickjs::Result<()> {
    if recursive.0.unwrap_or(false) {
        std::fs::remove_dir_all(&path)
    } else {
        std::fs::remove_dir(&path)
    }
    .map_err(|e| fail(&ctx, e))
}

fn readdir(ctx: Ctx<'_>, path: String) -> rquickjs::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&path).map_err(|e| fail(&ctx, e))? {
        let entry = entry.map_err(|e| fail(&ctx, e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

fn access(ctx: Ctx<'_>, path: String) -> rquickjs::Result<()> {
    std::fs::metadata(&path)
        .map(|_| ())
        .map_err(|e| fail(&ctx, e))
}

pub fn install<'js>(ctx: &Ctx<'js>, n: &Object<'js>) -> rquickjs::Result<()> {
    let fs = Object::new(ctx.clone())?;
    fs.set("read", Function::new(ctx.clone(), read)?)?;
    fs.set("write", Function::new(ctx.clone(), write)?)?;
    fs.set("stat", Function::new(ctx.clone(), stat)?)?;
    fs.set("unlink", Function::new(ctx.clone(), unlink)?)?;
    fs.set("mkdir", Function::new(ctx.clone(), mkdir)?)?;
    fs.set("rmdir", Function::new(ctx.clone(), rmdir)?)?;
    fs.set("readdir", Function::new(ctx.clone(), readdir)?)?;
    fs.set("access", Function::new(ctx.clone(), access)?)?;
    n.set("fs", fs)
}
