//! The disk findings for `doctor`: each directory cargo uses for this workspace, measured by the
//! cleaning's own walk, and the free space beside it.

use anyhow::Context;
use camino::Utf8Path;
use xshell::Shell;

use super::{
    configured,
    progress::Progress,
    report::sizes,
    safety, sources,
    tree::{self, Bytes, Filters, Tree},
};
use crate::{
    finding::{Finding, Group},
    output::human_bytes,
    safe_fs::{MountPoints, free_space},
    workspace::Workspace,
};

/// With less free space than this beside the target directory, `doctor` points at the cleaning.
const LOW_FREE_SPACE: u64 = 5 << 30;

/// Each directory cargo uses for `ws`, what set it and what it holds, and `coverage_dir` when it
/// lies outside them, each walked once as the cleaning walks it; then the free space.
pub(crate) fn findings(sh: &Shell, ws: &Workspace, coverage_dir: &Utf8Path) -> Vec<Finding> {
    let directories = match sources(sh) {
        Ok(sources) => configured(ws, sources),
        Err(err) => {
            return vec![Finding::error(Group::Disk, format!("{err:#}"), "fix the setting it names, then run again")];
        }
    };
    let mut findings = Vec::new();
    let mut measured: Vec<&Utf8Path> = Vec::new();
    for dir in &directories {
        if !measured.iter().any(|done| dir.path.starts_with(done)) {
            let whose =
                if dir.path.starts_with(&ws.root) { "the workspace's own" } else { "shared: outside the workspace" };
            let label =
                format!("{} {} (set by {}; {whose})", dir.setting.role, dir.path, dir.source.describe(dir.setting));
            findings.push(measure(&label, &dir.path));
            measured.push(&dir.path);
        }
    }
    if !measured.iter().any(|done| coverage_dir.starts_with(done)) && coverage_dir.exists() {
        findings.push(measure(&format!("coverage build dir {coverage_dir}"), coverage_dir));
    }
    let beside = ws.target_dir.ancestors().find(|dir| dir.exists()).unwrap_or(&ws.root);
    if let Some(free) = free_space(sh, beside) {
        let what = format!("{} free on the target dir's filesystem", human_bytes(free));
        findings.push(match free < LOW_FREE_SPACE {
            true => Finding::warn(
                Group::Disk,
                what,
                "`cargo xtask clean-shared-target --dry-run` shows what cleaning the target dir frees; \
                 `cargo xtask setup-sccache clear` empties sccache's cache",
            ),
            false => Finding::ok(Group::Disk, what),
        });
    }
    findings
}

/// What `dir` holds, in total and by category, from the cleaning's own scan.
pub(super) fn measure(label: &str, dir: &Utf8Path) -> Finding {
    if !dir.exists() {
        return Finding::ok(Group::Disk, format!("{label}: does not exist yet"));
    }
    let scanned = (|| -> anyhow::Result<(Bytes, Vec<(String, Bytes)>)> {
        let real = dir.canonicalize_utf8().with_context(|| format!("could not resolve {dir}"))?;
        let progress = Progress::new();
        let tree = Tree::scan(&real, safety::profile_dirs(&real)?, &MountPoints::read()?, &progress)?;
        progress.finish();
        let selection = tree.select(&Filters::everything(), false);
        Ok((tree.total, tree.removal(&selection, &tree::removed_links([(&tree, &selection)]), 0).categories))
    })();
    match scanned {
        Ok((total, categories)) => {
            let parts: Vec<String> =
                categories.iter().map(|(name, bytes)| format!("{name} {}", human_bytes(bytes.disk))).collect();
            let parts = if parts.is_empty() { String::new() } else { format!(": {}", parts.join(", ")) };
            Finding::ok(Group::Disk, format!("{label} holds {}{parts}", sizes(total)))
        }
        Err(err) => Finding::warn(Group::Disk, format!("{label} could not be measured: {err:#}"), "fix what it names"),
    }
}
