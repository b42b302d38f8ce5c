//! `adopted.json`, written into the copy: which version of the xtask it was made from and a
//! fingerprint of each file as copied, so that `adopt --update` can tell the files the workspace
//! changed from those it did not, and find the adopted version in the source's git history to
//! merge against.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use camino::Utf8Path;
use serde_json::{Value, json};
use xshell::Shell;

use crate::child;

/// The record's file name, at the root of the copy.
pub(crate) const RECORD: &str = "adopted.json";

const ABOUT: &str = "Written by `cargo xtask adopt`: the version of the xtask this copy was made from. \
                     `cargo xtask adopt --update` reads it to merge a newer one; keep it with the copy.";

/// Where a copy came from, and its files as they were copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// The source's git commit, when it was a git checkout.
    pub(crate) commit: Option<String>,
    /// The crate's directory inside that repository (`xtask/`), as git names paths.
    pub(crate) prefix: String,
    /// Each file's path in the copy (with `/`) and the fingerprint of its bytes as copied.
    pub(crate) files: BTreeMap<String, String>,
}

impl Record {
    /// The record of `files` (path → fingerprint) copied from the source at `git`.
    pub(crate) fn of(git: Option<&SourceGit>, files: BTreeMap<String, String>) -> Record {
        Record {
            commit: git.map(|git| git.commit.clone()),
            prefix: git.map(|git| git.prefix.clone()).unwrap_or_default(),
            files,
        }
    }

    pub(crate) fn to_json(&self) -> String {
        let record = json!({"about": ABOUT, "commit": self.commit, "prefix": self.prefix, "files": self.files});
        format!("{record:#}\n")
    }

    pub(crate) fn read(path: &Utf8Path) -> anyhow::Result<Record> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!("could not read {path}: `adopt --update` needs the record that `adopt` wrote into the copy")
        })?;
        let bad = || format!("{path} is not the record `cargo xtask adopt` writes; restore it from version control");
        let value: Value = serde_json::from_str(&text).with_context(bad)?;
        let Some(listed) = value["files"].as_object() else { bail!(bad()) };
        let mut files = BTreeMap::new();
        for (file, hash) in listed {
            let Some(hash) = hash.as_str() else { bail!(bad()) };
            if !is_relative_inside(file) {
                bail!("{path} names `{file}`, which is not a path inside the copy; restore it from version control");
            }
            files.insert(file.clone(), hash.to_owned());
        }
        Ok(Record {
            commit: value["commit"].as_str().map(str::to_owned),
            prefix: value["prefix"].as_str().unwrap_or_default().to_owned(),
            files,
        })
    }
}

/// Whether `path` (with `/`) stays inside the directory it is relative to.
fn is_relative_inside(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.contains(':')
        && path.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
}

/// The source crate's place in git: its commit and its directory in the repository, with the
/// files that differ from that commit; `None` when it is not a git checkout (or git is missing).
pub(crate) struct SourceGit {
    pub(crate) commit: String,
    pub(crate) prefix: String,
    pub(crate) dirty: Vec<String>,
}

impl SourceGit {
    pub(crate) fn find(sh: &Shell, source: &Utf8Path) -> Option<SourceGit> {
        let git =
            |args: &[&str]| child::command(sh, "git").arg("-C").arg(source).args(args).quiet().ignore_stderr().read();
        let commit = git(&["rev-parse", "--verify", "HEAD"]).ok()?;
        let prefix = git(&["rev-parse", "--show-prefix"]).ok()?;
        let status = git(&["status", "--porcelain", "--untracked-files=no", "--", "."]).ok()?;
        let dirty = status.lines().filter_map(|line| line.get(3..)).map(str::to_owned).collect();
        Some(SourceGit { commit: commit.trim().to_owned(), prefix: prefix.trim().to_owned(), dirty })
    }

    /// The bytes of `file` (a path in the copy) at `commit`, if the repository has them.
    pub(crate) fn show(sh: &Shell, source: &Utf8Path, commit: &str, prefix: &str, file: &str) -> Option<Vec<u8>> {
        let object = format!("{commit}:{prefix}{file}");
        let output = child::command(sh, "git").arg("-C").arg(source).args(["show", &object]).quiet().ignore_stderr();
        output.output().ok().filter(|output| output.status.success()).map(|output| output.stdout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_and_rejects_paths_outside_the_copy() {
        let record = Record {
            commit: Some("abc".into()),
            prefix: "xtask/".into(),
            files: BTreeMap::from([("src/main.rs".to_owned(), "00ff".to_owned())]),
        };
        let dir = std::env::temp_dir().join(format!("xtask-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = Utf8Path::from_path(&dir).unwrap().join(RECORD);
        std::fs::write(&path, record.to_json()).unwrap();
        assert_eq!(Record::read(&path).unwrap(), record);
        for hostile in ["../Cargo.toml", "/etc/passwd", "src/../../x", "C:/x", "a\\b", ""] {
            std::fs::write(&path, json!({"files": {hostile: "00"}}).to_string()).unwrap();
            assert!(Record::read(&path).is_err(), "{hostile}");
        }
        std::fs::write(&path, "{not json").unwrap();
        assert!(Record::read(&path).unwrap_err().to_string().contains("not the record"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
