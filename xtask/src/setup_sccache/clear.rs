//! `setup-sccache clear`: empties the local cache directory, after checking it is one.

use anyhow::{Context, bail};
use camino::Utf8Path;
use xshell::Shell;

use super::{running::Configured, server::Sccache, settings::BackendKind};
use crate::{
    output::human_bytes,
    safe_fs,
    secrets::{errln, outln},
    tools::{self},
};

/// Why `dir` must not be emptied as a cache directory, if it must not.
pub(super) fn unsafe_to_clear(dir: &Utf8Path, home: &Utf8Path) -> Option<String> {
    if dir.parent().is_none() || dir.as_str().is_empty() {
        return Some(format!("{dir} is a filesystem root"));
    }
    if dir == home || home.starts_with(dir) {
        return Some(format!("{dir} is the home directory or holds it"));
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => return Some(format!("{dir} cannot be read: {err}")),
    };
    entries.flatten().find_map(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
        // sccache's disk cache holds only one-character hex directories (and its preprocessor cache).
        let cache_like =
            is_dir && (name.len() == 1 && name.chars().all(|c| c.is_ascii_hexdigit()) || name == "preprocessor");
        (!cache_like).then(|| format!("{dir} holds `{name}`, which sccache does not put in a cache directory"))
    })
}

pub(super) fn clear(sh: &Shell, dry_run: bool) -> anyhow::Result<()> {
    let configured = Configured::read(sh)?;
    if configured.backend != BackendKind::Local {
        errln!("the {} cache is remote and is not touched; only the local directory is emptied", configured.backend);
    }
    let dir = &configured.dir;
    if !dir.exists() {
        outln!("{dir} does not exist: nothing to clear");
        return Ok(());
    }
    if let Some(reason) = unsafe_to_clear(dir, &tools::home_dir(sh)?) {
        bail!(
            "refusing to empty {dir}: {reason}.\nIf that is not sccache's cache, fix cache.disk.dir in {} or SCCACHE_DIR.",
            configured.config.path
        );
    }
    let usage = safe_fs::usage(dir).with_context(|| format!("could not read {dir}"))?;
    let what = format!("{} files, {} ({} on disk)", usage.files, human_bytes(usage.apparent), human_bytes(usage.disk));
    if dry_run {
        outln!("would remove {what} from {dir}");
        return Ok(());
    }
    if let Ok(found) = tools::SCCACHE.find(sh)
        && Sccache::new(sh, found).stop()?
    {
        errln!("stopped the sccache server (its statistics start again from zero)");
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        std::fs::remove_dir_all(&path).with_context(|| format!("could not remove {}", path.display()))?;
    }
    outln!("Removed {what} from {dir}");
    Ok(())
}
