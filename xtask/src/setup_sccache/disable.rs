//! `setup-sccache disable`: removes what the set-up added, and only that, then stops the server.

use xshell::Shell;

use super::{
    DIST_KEYS, INCREMENTAL, MULTILEVEL, WRAPPER, cargo_config_path,
    server::Sccache,
    settings::{self, BackendKind, Scope},
    setup::report_changes,
};
use crate::{
    secrets::{errln, outln},
    toml_file::TomlFile,
    tools::{self},
};

pub(super) fn disable(sh: &Shell, dry_run: bool) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for scope in [Scope::User, Scope::Project] {
        let mut cargo_config = TomlFile::read(&cargo_config_path(sh, scope)?)?;
        cargo_config.remove_marked(&WRAPPER);
        cargo_config.remove_marked(&INCREMENTAL);
        files.push(cargo_config);
    }
    // The escape hatch works even when sccache's config is broken: without the wrapper in cargo's
    // config no build uses sccache, whatever that file says.
    let sccache_config = TomlFile::read(&settings::sccache_config_path(sh)?);
    let sccache_config_read = sccache_config.is_ok();
    match sccache_config {
        Ok(mut sccache_config) => {
            for kind in [BackendKind::Local].into_iter().chain(BackendKind::REMOTE) {
                for key in kind.keys() {
                    sccache_config.remove_marked(&["cache", kind.table(), key]);
                }
            }
            for key in [&MULTILEVEL[..]].into_iter().chain(DIST_KEYS) {
                sccache_config.remove_marked(key);
            }
            files.push(sccache_config);
        }
        Err(err) => errln!(
            "warning: {err:#}\nsetup's keys stay in that file until it is fixed; sccache is switched off all the same"
        ),
    }
    for file in files.iter().filter(|file| !file.changes.is_empty()) {
        report_changes(file, dry_run);
    }
    if files.iter().all(|file| file.changes.is_empty()) {
        outln!("nothing to remove: setup's keys are in none of the config files");
    }
    if dry_run {
        return Ok(());
    }
    for file in &files {
        file.save()?;
    }
    if let Ok(found) = tools::SCCACHE.find(sh) {
        match Sccache::new(sh, found).stop() {
            Ok(true) => outln!("stopped the sccache server"),
            Ok(false) => {}
            // sccache reads its config to stop too; the builds are off it already.
            Err(err) if !sccache_config_read => errln!(
                "warning: {err:#}\nthe server still runs; stop it with `sccache --stop-server` once its config is fixed"
            ),
            Err(err) => return Err(err),
        }
    }
    outln!("sccache is off: cargo builds no longer use it (the cache directory is kept; `clear` empties it)");
    Ok(())
}
