//! What coverage writes, recorded so that `--clean` removes exactly that: the reports an earlier
//! run of ours wrote, and the coverage build when cargo made it. Anything else found where a
//! report would go (a `html/` of the user's in `--output-dir .`) stays, and is named.

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use serde_json::{Value, json};

use super::outputs::Dirs;
use crate::secrets::{errln, outln};
use crate::{
    clean_shared_target,
    safe_fs::{self, FileId},
};

/// The record, in the coverage build directory (always the workspace's own).
const RECORD: &str = "xtask-reports.json";

/// The reports earlier runs wrote: each path with the file or directory it was then.
fn recorded(cov_target: &Utf8Path) -> anyhow::Result<Vec<(Utf8PathBuf, FileId)>> {
    let path = cov_target.join(RECORD);
    let Some(text) = safe_fs::read_regular(&path, false).with_context(|| format!("could not read {path}"))? else {
        return Ok(Vec::new());
    };
    let value: Value = serde_json::from_str(&text).with_context(|| format!("{path} is not JSON"))?;
    let reports = value["written"].as_array().into_iter().flatten();
    let written = reports.filter_map(|report| {
        let number = |field: &str| report[field].as_u64();
        let id = FileId { device: number("device")?, inode: number("inode")? };
        Some((Utf8PathBuf::from(report["path"].as_str()?), id))
    });
    Ok(written.collect())
}

/// Adds `reports`, as they are on disk now, to the record of what coverage wrote.
pub(super) fn record(cov_target: &Utf8Path, reports: &[Utf8PathBuf]) -> anyhow::Result<()> {
    let mut written = recorded(cov_target)?;
    for path in reports {
        let metadata = path.symlink_metadata().with_context(|| format!("could not read {path}"))?;
        written.retain(|(written, _)| written != path);
        written.push((path.clone(), FileId::of(&metadata)));
    }
    let entry =
        |(path, id): &(Utf8PathBuf, FileId)| json!({"path": path.as_str(), "device": id.device, "inode": id.inode});
    let written: Vec<Value> = written.iter().map(entry).collect();
    let path = cov_target.join(RECORD);
    std::fs::write(&path, format!("{:#}\n", json!({ "written": written })))
        .with_context(|| format!("could not write {path}"))
}

/// `--clean`: removes the coverage build and the reports an earlier run wrote, saying what; `dry_run` only says it.
pub(super) fn remove(dirs: &Dirs, dry_run: bool) -> anyhow::Result<()> {
    let cov_target = &dirs.cov_target;
    // The coverage build must be the workspace's own: never a shared directory.
    if !cov_target.starts_with(&dirs.root) {
        bail!("refusing to remove {cov_target}: it is outside the workspace {}", dirs.root);
    }
    let written = recorded(cov_target)?;
    let mut left = Vec::new();
    let mut anything = false;
    for path in &dirs.reports() {
        let Ok(metadata) = path.symlink_metadata() else { continue };
        anything = true;
        let id = FileId::of(&metadata);
        if !written.contains(&(path.clone(), id)) {
            left.push(format!("{path}: no coverage run of this xtask wrote it"));
        } else if dry_run {
            outln!("would remove {path}");
        } else {
            errln!("removing {path}");
            if metadata.is_dir() {
                if let Err(why) = clean_shared_target::remove_tree(path, false, id, false)? {
                    left.push(format!("{path}: {why}"));
                }
            } else {
                // A file, or a link: never what it points to.
                std::fs::remove_file(path).with_context(|| format!("could not remove {path}"))?;
            }
        }
    }
    if let Ok(metadata) = cov_target.symlink_metadata() {
        anything = true;
        match clean_shared_target::remove_tree(cov_target, true, FileId::of(&metadata), dry_run)? {
            Ok(files) if dry_run => outln!("would remove {cov_target} ({files} files; its CACHEDIR.TAG stays)"),
            Ok(files) => errln!("removed {files} files from {cov_target} (its CACHEDIR.TAG stays)"),
            Err(why) => left.push(format!("{cov_target}: {why}")),
        }
    }
    if !anything {
        errln!("no coverage artifacts to remove");
    }
    for why in left {
        errln!("leaving {why}; move it away yourself if it should go");
    }
    Ok(())
}
