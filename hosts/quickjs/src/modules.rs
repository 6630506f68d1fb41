//! `import` of the script's ES modules: relative ("./x.js", "../y.js")
//! or absolute file paths, resolved against the importing file's
//! directory (std paths, so absolute script paths work), with ".js"
//! added when the name has no extension. Loaded by rquickjs's
//! ScriptLoader (.js and .mjs files).

use std::path::{Component, Path, PathBuf};

use rquickjs::loader::{ImportAttributes, Resolver};
use rquickjs::{Ctx, Error, Result};

pub struct FileResolver;

/// `path` without "." and with ".." taken out, as text.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

impl Resolver for FileResolver {
    fn resolve<'js>(
        &mut self,
        _ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> Result<String> {
        let relative = name.starts_with("./") || name.starts_with("../");
        if !relative && !name.starts_with('/') {
            return Err(Error::new_resolving_message(
                base,
                name,
                "only file paths (./, ../ or /) can be imported",
            ));
        }
        let joined = if relative {
            Path::new(base)
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join(name)
        } else {
            PathBuf::from(name)
        };
        let mut path = normalize(&joined);
        if path.extension().is_none() && !path.is_file() {
            path.set_extension("js");
        }
        if !path.is_file() {
            return Err(Error::new_resolving_message(base, name, "no such file"));
        }
        path.into_os_string()
            .into_string()
            .map_err(|_| Error::new_resolving_message(base, name, "the path is not UTF-8"))
    }
}
