//! The record of one compilation that the rustc wrapper writes for `setup-sccache explain`: what
//! sccache was given (the compiler, its arguments, the working directory, every `CARGO_*`
//! variable) and its exit code, one JSON file per compilation in the directory explain names.
//! Both sides use this module, so the format is written down once.

use std::{
    collections::BTreeMap,
    ffi::OsString,
    path::Path,
    time::{SystemTime, UNIX_EPOCH},
};

use anyhow::Context;
use camino::Utf8Path;
use serde_json::{Value, json};

use crate::{hash::fingerprint, secrets};

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompileRecord {
    pub(crate) compiler: String,
    pub(crate) args: Vec<String>,
    pub(crate) cwd: String,
    /// sccache hashes the `CARGO_*` variables; which ones depends on its version, so all are kept
    /// and the comparison decides.
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) exit_code: Option<i32>,
}

impl CompileRecord {
    /// The record of `args` (the compiler first) run with `vars`; a value or argument that holds
    /// a credential is kept only as its fingerprint.
    pub(crate) fn of(args: &[OsString], vars: Vec<(OsString, OsString)>, cwd: String, exit_code: Option<i32>) -> Self {
        let text = |arg: &OsString| arg.to_string_lossy().into_owned();
        let env = vars
            .into_iter()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, text(&value))))
            .filter(|(name, _)| name.starts_with("CARGO_"))
            .map(|(name, value)| {
                let value = kept_value(&name, &value);
                (name, value)
            })
            .collect();
        CompileRecord {
            compiler: args.first().map(text).unwrap_or_default(),
            args: args.iter().skip(1).map(|arg| kept_value("", &text(arg))).collect(),
            cwd,
            env,
            exit_code,
        }
    }

    /// Writes the record into `dir` under a name no other compilation of the build takes.
    /// Owner-only: it holds the build's arguments and variables.
    pub(crate) fn write_into(&self, dir: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |time| time.as_nanos());
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(dir.join(format!("{}-{nanos}.json", std::process::id())))?;
        file.write_all(self.to_json().to_string().as_bytes())
    }

    /// Every record in `dir`; files that are not records are passed over.
    pub(crate) fn read_dir(dir: &Utf8Path) -> anyhow::Result<Vec<CompileRecord>> {
        let mut records = Vec::new();
        for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {dir}"))? {
            let path = entry?.path();
            if path.extension().is_some_and(|extension| extension == "json")
                && let Ok(value) = serde_json::from_str::<Value>(&std::fs::read_to_string(&path)?)
            {
                records.push(CompileRecord::from_json(&value));
            }
        }
        Ok(records)
    }

    fn to_json(&self) -> Value {
        json!({
            "compiler": self.compiler,
            "args": self.args,
            "cwd": self.cwd,
            "env": self.env,
            "exit_code": self.exit_code,
        })
    }

    fn from_json(value: &Value) -> CompileRecord {
        let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
        CompileRecord {
            compiler: text(&value["compiler"]),
            args: value["args"].as_array().into_iter().flatten().map(text).collect(),
            cwd: text(&value["cwd"]),
            env: value["env"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, value)| (name.clone(), text(value)))
                .collect(),
            exit_code: value["exit_code"].as_i64().and_then(|code| i32::try_from(code).ok()),
        }
    }
}

/// `value` as a record may keep it: a credential becomes its fingerprint.
pub(crate) fn kept_value(name: &str, value: &str) -> String {
    match secrets::credentials_in(name, value).is_empty() {
        true => value.to_owned(),
        false => format!("hashed {}", fingerprint(value.as_bytes())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_what_sccache_sees_hash_credentials_and_read_back_as_written() {
        let vars = [
            ("CARGO_PKG_NAME", "a"),
            ("CARGO_REGISTRIES_MINE_TOKEN", "s3cr3t-value"),
            ("CARGO_HTTP_PROXY", "http://me:hunter2@proxy:8080"),
            ("PATH", "/usr/bin"),
        ]
        .map(|(name, value)| (OsString::from(name), OsString::from(value)));
        let args = ["rustc", "--crate-name", "a", "-Clink-arg=https://u:hunter2@h/x"].map(OsString::from);
        let record = CompileRecord::of(&args, vars.to_vec(), "/ws".to_owned(), Some(0));
        assert_eq!(record.compiler, "rustc");
        assert_eq!(record.args[..2], ["--crate-name", "a"]);
        assert!(record.args[2].starts_with("hashed "), "{record:?}");
        assert_eq!(record.env.get("CARGO_PKG_NAME").map(String::as_str), Some("a"));
        assert!(!record.env.contains_key("PATH"));
        assert!(record.env["CARGO_REGISTRIES_MINE_TOKEN"].starts_with("hashed "));
        let text = record.to_json().to_string();
        assert!(!text.contains("s3cr3t") && !text.contains("hunter2"), "{text}");
        assert_eq!(CompileRecord::from_json(&record.to_json()), record);
    }
}
