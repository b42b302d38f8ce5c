//! `cargo xtask adopt --update DIR`: a newer xtask merged into a copy that `adopt` made.
//!
//! Each file is judged against the copy's record (`adopted.json`: the source commit and each
//! file's fingerprint as copied). A file the workspace never changed is replaced or removed; one
//! it changed is merged with `git merge-file` against the adopted version, read from the
//! source's git history and checked against the fingerprint; a file it added is never touched.
//! Every merge is computed before the first write, so a failure changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::Shell;

use super::{
    copied_files,
    record::{RECORD, Record, SourceGit},
};
use crate::secrets::outln;
use crate::{child, hash::fingerprint, safe_fs};

/// What happens to one file of the copy, with the bytes it is written with.
enum Action {
    /// New upstream: written.
    Add(Vec<u8>),
    /// Unchanged here, changed upstream: replaced.
    Replace(Vec<u8>),
    /// Changed on both sides and merged; `conflicts` hunks are left marked in the file.
    Merge { merged: Vec<u8>, conflicts: usize, two_way: bool },
    /// Removed upstream and never changed here: removed.
    Remove,
    /// Left as it is, with the reason (a change here that upstream did not touch is not listed).
    Keep(&'static str),
}

struct Step {
    file: String,
    action: Action,
}

/// The update, planned in full: what each file becomes, and the record that follows it.
pub(super) struct Update {
    copy: Utf8PathBuf,
    steps: Vec<Step>,
    record: Record,
    /// The permissions of each new file, as the source has them.
    permissions: BTreeMap<String, std::fs::Permissions>,
}

impl Update {
    pub(super) fn plan(
        sh: &Shell,
        copy: &Utf8Path,
        (source, git): (&Utf8Path, Option<&SourceGit>),
        rename: Option<&str>,
    ) -> anyhow::Result<Update> {
        let record_path = copy.join(RECORD);
        if !record_path.is_file() {
            bail!(
                "{copy} has no {RECORD}, so it cannot be told apart from your own changes: it was copied by hand or \
                 by an adopt older than --update. Move it aside and adopt again (`cargo xtask adopt DIR`), then \
                 carry your changes over"
            );
        }
        let adopted = Record::read(&record_path)?;
        let new = copied_files(source, rename)?;
        let base = |file: &str, wanted: &str| -> Option<Vec<u8>> {
            let commit = adopted.commit.as_deref()?;
            let bytes = SourceGit::show(sh, source, commit, &adopted.prefix, file)?;
            // The adopted bytes are the committed ones only if the source was clean then.
            let bytes = super::as_copied(file, bytes, rename).ok()?;
            (fingerprint(&bytes) == wanted).then_some(bytes)
        };
        let mut steps = Vec::new();
        let mut files = BTreeMap::new();
        let names: BTreeSet<&String> = adopted.files.keys().chain(new.keys()).collect();
        for file in names {
            let path = inside(copy, file)?;
            let mine = read_regular(&path)?;
            let recorded = adopted.files.get(file).map(String::as_str);
            let upstream = new.get(file).map(|(bytes, _)| bytes.as_slice());
            let changed_here = match (&mine, recorded) {
                (Mine::File(bytes), Some(hash)) => fingerprint(bytes) != hash,
                (Mine::Missing, None) => false,
                _ => true,
            };
            if let Some(bytes) = upstream {
                files.insert(file.clone(), fingerprint(bytes));
            }
            let action = match (mine, upstream) {
                (Mine::Other, _) => Action::Keep("not a regular file here: left alone"),
                (Mine::Missing, None) => continue,
                (Mine::File(_), None) if !changed_here => Action::Remove,
                (Mine::File(_), None) => Action::Keep("removed upstream, but changed here: now the workspace's"),
                (Mine::Missing, Some(upstream)) => match recorded {
                    None => Action::Add(upstream.to_vec()),
                    Some(hash) if fingerprint(upstream) == hash => continue,
                    Some(_) => Action::Keep("removed here, changed upstream: still removed"),
                },
                (Mine::File(mine), Some(upstream)) if mine == upstream => continue,
                (Mine::File(_), Some(upstream)) if !changed_here => Action::Replace(upstream.to_vec()),
                // Changed here only.
                (Mine::File(_), Some(upstream)) if recorded == Some(fingerprint(upstream).as_str()) => continue,
                (Mine::File(mine), Some(upstream)) => {
                    let base = recorded.and_then(|hash| base(file, hash));
                    let two_way = base.is_none();
                    let (merged, conflicts) = merge(sh, file, &mine, base.as_deref().unwrap_or_default(), upstream)
                        .with_context(|| format!("could not merge {file}"))?;
                    Action::Merge { merged, conflicts, two_way }
                }
            };
            steps.push(Step { file: file.clone(), action });
        }
        let permissions = new.into_iter().map(|(file, (_, permissions))| (file, permissions)).collect();
        Ok(Update { copy: copy.to_owned(), steps, record: Record::of(git, files), permissions })
    }

    pub(super) fn print(&self, dry_run: bool) {
        let (would, verb) = if dry_run { ("would ", "would be ") } else { ("", "") };
        outln!("{}: {} of its files {verb}changed", self.copy, self.steps.len());
        for step in &self.steps {
            let what = match &step.action {
                Action::Add(_) => format!("{would}add"),
                Action::Replace(_) => format!("{would}replace (unchanged here)"),
                Action::Remove => format!("{would}remove (removed upstream, unchanged here)"),
                Action::Merge { conflicts: 0, two_way: false, .. } => format!("{would}merge: clean"),
                Action::Merge { conflicts, two_way, .. } => format!(
                    "{would}merge: {conflicts} conflict(s) marked in the file{}",
                    if *two_way { " (the adopted version is unknown: compared two ways)" } else { "" }
                ),
                Action::Keep(reason) => format!("keep: {reason}"),
            };
            outln!("  {}: {what}", step.file);
        }
    }

    /// The files with conflicts left in them.
    pub(super) fn conflicts(&self) -> Vec<&str> {
        let marked = |step: &&Step| matches!(step.action, Action::Merge { conflicts, .. } if conflicts > 0);
        self.steps.iter().filter(marked).map(|step| step.file.as_str()).collect()
    }

    /// Writes every file (each replaced whole, through a temporary file), removes, then the
    /// record last: an update cut short is one the next update finishes.
    pub(super) fn apply(&self) -> anyhow::Result<()> {
        for Step { file, action } in &self.steps {
            let path = inside(&self.copy, file)?;
            match action {
                Action::Add(bytes) | Action::Replace(bytes) => {
                    safe_fs::replace_file(&path, bytes, self.permissions.get(file))?;
                }
                // A merged file keeps its own permissions.
                Action::Merge { merged, .. } => {
                    let permissions = path.metadata().ok().map(|metadata| metadata.permissions());
                    safe_fs::replace_file(&path, merged, permissions.as_ref())?;
                }
                Action::Remove => std::fs::remove_file(&path).with_context(|| format!("could not remove {path}"))?,
                Action::Keep(_) => {}
            }
        }
        safe_fs::replace_file(&self.copy.join(RECORD), self.record.to_json().as_bytes(), None)
    }
}

/// A file of the copy as found.
enum Mine {
    File(Vec<u8>),
    Missing,
    /// A link, a directory or anything else the update does not write through.
    Other,
}

fn read_regular(path: &Utf8Path) -> anyhow::Result<Mine> {
    let context = || format!("could not read {path}");
    match path.symlink_metadata() {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Mine::Missing),
        Err(err) => Err(err).with_context(context),
        Ok(metadata) if metadata.is_file() => Ok(Mine::File(std::fs::read(path).with_context(context)?)),
        Ok(_) => Ok(Mine::Other),
    }
}

/// `file` (a recorded path, with `/`) inside the copy, through real directories only: a
/// directory of the copy replaced by a link is not written through.
fn inside(copy: &Utf8Path, file: &str) -> anyhow::Result<Utf8PathBuf> {
    let mut path = copy.to_owned();
    for part in file.split('/') {
        if path != copy && path.symlink_metadata().is_ok_and(|metadata| !metadata.is_dir()) {
            bail!(
                "{path} is not a directory (a link, or a file), so nothing was changed; make it the copy's directory again"
            );
        }
        path.push(part);
    }
    Ok(path)
}

/// `git merge-file` of the three versions: the merged bytes and the number of conflicts marked.
fn merge(sh: &Shell, file: &str, mine: &[u8], base: &[u8], upstream: &[u8]) -> anyhow::Result<(Vec<u8>, usize)> {
    let dir = safe_fs::PrivateDir::create("xtask-adopt-merge-")?;
    let mut paths = Vec::new();
    for (name, bytes) in [("mine", mine), ("base", base), ("upstream", upstream)] {
        let path = dir.path.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("could not write {path}"))?;
        paths.push(path);
    }
    let output = child::command(sh, "git")
        .args(["merge-file", "--stdout", "-L"])
        .arg(format!("{file} (this workspace)"))
        .args(["-L", "adopted", "-L"])
        .arg(format!("{file} (new xtask)"))
        .args(&paths)
        .quiet()
        .ignore_status()
        .output()
        .context("could not run `git merge-file`: install git (https://git-scm.com) and run again")?;
    // Its exit code is the number of conflicts (at most 127); above that, an error.
    match output.status.code() {
        Some(conflicts @ 0..=127) => Ok((output.stdout, conflicts as usize)),
        _ => bail!("`git merge-file` failed: {}", String::from_utf8_lossy(&output.stderr).trim()),
    }
}
