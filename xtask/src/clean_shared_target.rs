//! `cargo xtask clean-shared-target`: free disk in the target directory cargo uses for this
//! workspace (and its build directory), and never delete anything else.
//!
//! Order of work: find the directories and where their setting came from, run every safety check
//! on every directory (taking cargo's build locks), measure, show the plan, get consent, delete,
//! report. Nothing is deleted until all of that has passed.

mod findings;
mod progress;
mod report;
mod safety;
mod source;
mod tree;

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::Shell;

pub(crate) use self::{findings::findings, progress::Progress};
use self::{
    report::{Plan, Report, advise_on_the_variable, preview, reports, result_lines, to_json},
    safety::{Locks, Protected, Refusal},
    source::{Setting, Source},
    tree::{Bytes, Deleted, Filters, Tree},
};
use crate::secrets::{err, errln, out, outln};
use crate::{
    flags,
    safe_fs::{FileId, MountPoints, free_space},
    toml_file::TomlFile,
    tools,
    workspace::{self, Workspace},
};

/// How many of the largest entries the preview lists.
const LARGEST: usize = 10;

/// A directory to clean, as configured.
struct Directory {
    path: Utf8PathBuf,
    setting: Setting,
    source: Source,
}

/// A directory that passed every check (its build locks are held beside it).
struct Checked {
    dir: Directory,
    /// The real directory (links resolved), which is what gets cleaned.
    real: Utf8PathBuf,
    is_link: bool,
    shared: bool,
    /// Whether it carries cargo's tag; without it (`--force`) only cargo's layout is cleaned.
    tagged: bool,
    profiles: Vec<Utf8PathBuf>,
}

impl flags::CleanSharedTarget {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let (directories, ws) = self.directories(sh)?;
        let protected = protected(sh, &ws)?;
        let checked = self.check_all(directories, &protected)?;
        let filters = self.filters()?;
        let progress = Progress::new();
        let (mut dirs, mut plans) = (Vec::new(), Vec::new());
        for (dir, locks) in checked {
            let tree = Tree::scan(&dir.real, dir.profiles.clone(), &protected.mounts, &progress)?;
            plans.push(Plan { selection: tree.select(&filters, !dir.tagged), tree, locks });
            dirs.push(dir);
        }
        progress.finish();
        let mut reports = reports(sh, dirs, &plans);
        if self.consent_to(&reports)? {
            delete(sh, &mut plans, &mut reports, &progress);
            // The build locks go before the result is printed.
            drop(plans);
            self.print_result(&reports);
        }
        advise_on_the_variable(&reports, &ws.root);
        let errors: u64 = reports.iter().filter_map(|report| Some(report.failed.as_ref()?.0)).sum();
        if errors > 0 {
            bail!(
                "the clean stopped short: {errors} removal{} failed, and what they name is still there (see above)",
                if errors == 1 { "" } else { "s" }
            );
        }
        Ok(())
    }

    /// Every directory through every safety check, its build locks taken; a directory inside
    /// another (a build directory in the target directory, or the other way round) is cleaned once.
    fn check_all(&self, dirs: Vec<Directory>, protected: &Protected) -> anyhow::Result<Vec<(Checked, Locks)>> {
        let mut checked: Vec<(Checked, Locks)> = Vec::new();
        for dir in dirs {
            let Some((dir, locks)) = check(dir, protected, self.force)? else { continue };
            if checked.iter().any(|(other, _)| dir.real.starts_with(&other.real)) {
                continue;
            }
            checked.retain(|(other, _)| !other.real.starts_with(&dir.real));
            checked.push((dir, locks));
        }
        Ok(checked)
    }

    /// Shows the plan and says whether to delete: `--yes`, or a yes on the terminal. When not,
    /// the plan is the output, with why nothing was deleted.
    fn consent_to(&self, reports: &[Report]) -> anyhow::Result<bool> {
        let anything = reports.iter().any(|report| report.removal.total != Bytes::default());
        let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        let consent = if anything { consent(self.dry_run, self.yes, terminal) } else { Consent::DryRun };
        if consent == Consent::Ask || (consent == Consent::Go && !self.json) {
            err!("{}", preview(reports, None));
        }
        if consent == Consent::Go || (consent == Consent::Ask && ask("Delete these files? [y/N] ")?) {
            return Ok(true);
        }
        let note = match consent {
            _ if !anything => "Nothing to remove.",
            Consent::DryRun => "Dry run: nothing was deleted.",
            Consent::NeedYes => "Nothing was deleted: there is no terminal to ask on; pass --yes to delete.",
            Consent::Ask | Consent::Go => "Nothing was deleted.",
        };
        if self.json {
            outln!("{:#}", to_json(reports, false, consent == Consent::NeedYes));
        } else if consent == Consent::Ask {
            outln!("{note}");
        } else {
            out!("{}", preview(reports, Some(note)));
        }
        Ok(false)
    }

    fn print_result(&self, reports: &[Report]) {
        if self.json {
            outln!("{:#}", to_json(reports, true, false));
        } else {
            for report in reports {
                out!("{}", result_lines(report));
            }
        }
    }

    /// The directories to clean and where their settings came from, and the workspace.
    fn directories(&self, sh: &Shell) -> anyhow::Result<(Vec<Directory>, Workspace)> {
        if let Some(dir) = &self.target_dir {
            let dir = Utf8PathBuf::try_from(dir.clone()).map_err(|err| {
                anyhow::anyhow!(
                    "--target-dir {} is not a valid UTF-8 path; name the directory another way. Nothing was deleted.",
                    err.as_path().display()
                )
            })?;
            if dir.as_str().is_empty() {
                bail!("--target-dir is empty, which names no directory. Nothing was deleted.");
            }
            // Relative to where the user is, not to the workspace root the shell moved to.
            let path = workspace::users_absolute(&dir)?;
            let dirs = vec![Directory { path, setting: source::TARGET_DIR, source: Source::Flag }];
            return Ok((dirs, Workspace::load(sh)?));
        }
        // Before `cargo metadata`, so that an empty variable gets this task's message.
        let sources = sources(sh)?;
        let ws = Workspace::load(sh)?;
        Ok((configured(&ws, sources), ws))
    }

    fn filters(&self) -> anyhow::Result<Filters> {
        let exe = || std::env::current_exe().and_then(|exe| exe.canonicalize());
        let running_program = if cfg!(windows) { Utf8PathBuf::try_from(exe()?).ok() } else { None };
        Ok(Filters {
            only: self.only.clone(),
            profile: self.profile.as_deref().map(profile_dir_name).map(str::to_owned),
            older_than: self.older_than.map(|age| age.0),
            max_size: self.max_size.map(|size| size.0),
            running_program,
            ..Filters::everything()
        })
    }
}

/// What set the target and build directories: the environment, or cargo's config files as cargo
/// reads them from the workspace root.
fn sources(sh: &Shell) -> anyhow::Result<[Source; 2]> {
    let root = workspace::root_of(sh)?;
    let cargo_home = tools::cargo_home(sh).ok();
    let configs = workspace::cargo_config_files(&root, cargo_home.as_deref())
        .iter()
        .map(|file| TomlFile::read(file))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let var = |name: &str| sh.var_os(name);
    Ok([source::find(source::TARGET_DIR, var, &configs)?, source::find(source::BUILD_DIR, var, &configs)?])
}

/// The directories cargo uses for `ws` and what set them; the build dir only when it is its own.
fn configured(ws: &Workspace, [target_source, build_source]: [Source; 2]) -> Vec<Directory> {
    let mut dirs = vec![Directory { path: ws.target_dir.clone(), setting: source::TARGET_DIR, source: target_source }];
    if ws.build_dir != ws.target_dir {
        dirs.push(Directory { path: ws.build_dir.clone(), setting: source::BUILD_DIR, source: build_source });
    }
    dirs
}

/// Removes everything in `dir` through the cleaning's checked deletion (`Tree::delete`). With
/// `made_by_cargo` it must pass the cleaning's cargo check (its tag stays) and no build may be
/// running there; otherwise `dir` must be `expected` and goes too. Returns the files removed
/// (with `dry_run`, that would be), or `Err(why)` when it stays.
pub(crate) fn remove_tree(
    dir: &Utf8Path,
    made_by_cargo: bool,
    expected: FileId,
    dry_run: bool,
) -> anyhow::Result<Result<u64, String>> {
    let mut locks = Locks::default();
    let mut profiles = Vec::new();
    if made_by_cargo {
        profiles = safety::profile_dirs(dir)?;
        if let Some(why) = safety::not_made_by_cargo(dir, &profiles)? {
            return Ok(Err(why.to_owned()));
        }
        locks = Locks::take(dir, &profiles, false)?.0;
    }
    let progress = Progress::new();
    let tree = Tree::scan(dir, profiles, &MountPoints::read()?, &progress)?;
    if !made_by_cargo && tree.root_id() != expected {
        return Ok(Err("it is not the directory an earlier run wrote (it was replaced since)".to_owned()));
    }
    let selection = tree.select(&Filters::everything(), false);
    progress.finish();
    if dry_run {
        return Ok(Ok(selection.count_files(&tree)));
    }
    let deleted = tree.delete(&selection, &mut locks, &progress);
    progress.finish();
    if let Some((path, why)) = deleted.failures.first() {
        bail!("could not remove all of {dir}: {path}: {why} ({} removals failed)", deleted.errors);
    }
    if !made_by_cargo {
        std::fs::remove_dir(dir).with_context(|| format!("could not remove {dir}"))?;
    }
    Ok(Ok(deleted.removed.count_files(&tree)))
}

/// The directory cargo builds a profile in: `dev` and `test` build in `debug`, `bench` in `release`.
fn profile_dir_name(profile: &str) -> &str {
    match profile {
        "dev" | "test" => "debug",
        "bench" => "release",
        other => other,
    }
}

/// Runs every check on `dir`. `Ok(None)` when it does not exist (nothing to clean).
fn check(dir: Directory, protected: &Protected, force: bool) -> anyhow::Result<Option<(Checked, Locks)>> {
    let metadata = match dir.path.symlink_metadata() {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            errln!("{} {} does not exist: nothing to clean there", dir.setting.role, dir.path);
            return Ok(None);
        }
        other => other.with_context(|| format!("could not read {}", dir.path))?,
    };
    let is_link = metadata.is_symlink();
    let real = dir.path.canonicalize_utf8().with_context(|| match is_link {
        true => format!(
            "{} is a link to something that does not exist or is not a UTF-8 path. Nothing was deleted.",
            dir.path
        ),
        false => format!("could not resolve {} (it must be a UTF-8 path). Nothing was deleted.", dir.path),
    })?;
    let refuse = |refusal: Refusal| {
        let shown = if is_link { format!("{} (a link to {real})", dir.path) } else { dir.path.to_string() };
        let unforceable =
            if force && !refusal.force_overrides() { " --force does not override this check." } else { "" };
        anyhow::anyhow!("refusing to clean {shown}: {}.{unforceable} Nothing was deleted.", refusal.explain())
    };
    if let Some(refusal) = safety::never_clean(&real, protected)? {
        return Err(refuse(refusal));
    }
    let profiles = safety::profile_dirs(&real)?;
    let not_cargos = safety::not_made_by_cargo(&real, &profiles)?;
    if let Some(why) = not_cargos {
        if !force {
            return Err(refuse(Refusal::NotMadeByCargo(why)));
        }
        errln!(
            "warning: {real}: {why}; because of --force, cleaning only what lies in cargo's layout there and \
             leaving everything else"
        );
    }
    let (locks, busy) = Locks::take(&real, &profiles, force)?;
    for lock in busy {
        errln!("warning: {lock} is locked by a running build; cleaning anyway because of --force");
    }
    if is_link {
        errln!("{} {} is a link to {real}: checked and cleaning {real}; the link stays", dir.setting.role, dir.path);
    }
    let (shared, tagged) = (!real.starts_with(&protected.workspace_root), not_cargos.is_none());
    Ok(Some((Checked { shared, tagged, dir, real, is_link, profiles }, locks)))
}

/// What to protect: the home, cargo's and rustup's homes, the workspace, its members, the mounts.
fn protected(sh: &Shell, ws: &Workspace) -> anyhow::Result<Protected> {
    let home = tools::home_dir(sh).ok();
    let var_dir = |name: &str, default: &str| match sh.var_os(name).filter(|v| !v.is_empty()) {
        Some(dir) => Utf8PathBuf::try_from(std::path::PathBuf::from(dir)).ok(),
        None => home.as_ref().map(|home| home.join(default)),
    };
    Ok(Protected::new(
        home.clone(),
        var_dir("CARGO_HOME", ".cargo"),
        var_dir("RUSTUP_HOME", ".rustup"),
        &ws.root,
        ws.members.iter().map(|member| member.manifest_dir.clone()),
        MountPoints::read()?,
    ))
}

/// Deletes each plan's selection and records in its report what went: a hard-linked file is
/// freed only when all its links went, in any tree.
fn delete(sh: &Shell, plans: &mut [Plan], reports: &mut [Report], progress: &Progress) {
    let mut deletions: Vec<Deleted> = Vec::new();
    for plan in plans.iter_mut() {
        deletions.push(plan.tree.delete(&plan.selection, &mut plan.locks, progress));
        progress.finish();
    }
    let removed_links =
        tree::removed_links(plans.iter().zip(&deletions).map(|(plan, done)| (&plan.tree, &done.removed)));
    for ((plan, report), deleted) in plans.iter().zip(reports.iter_mut()).zip(deletions) {
        report.removed = Some(plan.tree.removal(&deleted.removed, &removed_links, 0).total);
        report.free_after = free_space(sh, &report.checked.real);
        report.failed = Some((deleted.errors, deleted.failures));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Consent {
    DryRun,
    /// No terminal to ask on and no `--yes`: a dry run that says so.
    NeedYes,
    Ask,
    Go,
}

fn consent(dry_run: bool, yes: bool, terminal: bool) -> Consent {
    match (dry_run, yes, terminal) {
        (true, _, _) => Consent::DryRun,
        (false, true, _) => Consent::Go,
        (false, false, true) => Consent::Ask,
        (false, false, false) => Consent::NeedYes,
    }
}

fn ask(question: &str) -> anyhow::Result<bool> {
    err!("{question}");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use report::target_dir_variable_advice;
    use tree::Removal;

    #[test]
    fn asks_only_on_a_terminal_and_never_in_a_dry_run() {
        assert_eq!(consent(true, true, true), Consent::DryRun);
        assert_eq!(consent(false, true, false), Consent::Go);
        assert_eq!(consent(false, false, true), Consent::Ask);
        assert_eq!(consent(false, false, false), Consent::NeedYes);
    }

    #[test]
    fn profiles_map_to_the_directories_cargo_builds_them_in() {
        assert_eq!(profile_dir_name("dev"), "debug");
        assert_eq!(profile_dir_name("test"), "debug");
        assert_eq!(profile_dir_name("bench"), "release");
        assert_eq!(profile_dir_name("release"), "release");
        assert_eq!(profile_dir_name("ci-fast"), "ci-fast");
    }

    #[test]
    fn advice_names_the_costs_and_the_commands_for_the_shell() {
        let advice = |os, shell| target_dir_variable_advice("/shared".into(), "/ws".into(), os, shell);
        let bash = advice("linux", Some("/bin/bash"));
        assert!(bash.contains("cargo-llvm-cov builds in /shared/llvm-cov-target"), "{bash}");
        assert!(bash.contains("sccache"), "{bash}");
        assert!(bash.contains("/ws/.cargo/config.toml:\n    [build]\n    target-dir = \"/shared\""), "{bash}");
        assert!(bash.contains("bash: unset CARGO_TARGET_DIR"), "{bash}");
        assert!(bash.contains("~/.bashrc"), "{bash}");
        assert!(advice("linux", Some("/usr/bin/fish")).contains("set -Ue CARGO_TARGET_DIR"));
        assert!(advice("macos", Some("/bin/zsh")).contains("launchctl unsetenv CARGO_TARGET_DIR"));
        let windows = advice("windows", None);
        assert!(windows.contains("SetEnvironmentVariable(\"CARGO_TARGET_DIR\", $null, \"User\")"), "{windows}");
        assert!(!windows.contains("unset CARGO_TARGET_DIR"), "{windows}");
    }

    #[test]
    fn the_result_line_has_the_issues_shape() {
        let dir = Directory { path: "/t".into(), setting: source::TARGET_DIR, source: Source::Default };
        let checked =
            Checked { dir, real: "/t".into(), is_link: false, shared: true, tagged: true, profiles: Vec::new() };
        let removal = |files, apparent, disk| Removal {
            total: Bytes { files, apparent, disk },
            categories: Vec::new(),
            largest: Vec::new(),
        };
        let report = Report {
            checked,
            total: Bytes::default(),
            removal: removal(3, 2048, 12288),
            kept_foreign: Vec::new(),
            over_limit: None,
            free_before: Some(1 << 30),
            removed: Some(Bytes { files: 3, apparent: 2048, disk: 12288 }),
            failed: Some((0, Vec::new())),
            free_after: None,
        };
        assert_eq!(
            result_lines(&report),
            "Removed 3 files, 2.0 KiB (12.0 KiB on disk) from /t; free space 1.0 GiB → unknown\n"
        );
        let failures = vec![("/t/debug/deps/x".into(), "Operation not permitted (os error 1)".to_owned())];
        let stopped = Report { removal: removal(5, 4096, 20480), failed: Some((3, failures)), ..report };
        assert_eq!(
            result_lines(&stopped),
            "Removed 3 files, 2.0 KiB (12.0 KiB on disk) from /t; free space 1.0 GiB → unknown\n\
             Not removed: 2 of the 5 files planned; 3 removals failed, the first 1:\n  \
             /t/debug/deps/x: Operation not permitted (os error 1)\n"
        );
    }
}
