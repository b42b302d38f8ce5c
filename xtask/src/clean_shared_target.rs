//! `cargo xtask clean-shared-target`: free disk in the target directory cargo uses for this
//! workspace (and its build directory), and never delete anything else.
//!
//! Order of work: find the directories and where their setting came from, run every safety check
//! on every directory (taking cargo's build locks), measure, show the plan, get consent, delete,
//! report. Nothing is deleted until all of that has passed.

mod safety;
mod source;
mod tree;

use std::{
    io::{BufRead, IsTerminal, Write},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use serde_json::{Value, json};
use xshell::Shell;

use self::{
    safety::{Locks, Protected, Refusal},
    source::{Setting, Source},
    tree::{Bytes, Deleted, Filters, Removal, Selection, Tree},
};
use crate::{
    finding::{Finding, Group},
    flags,
    output::human_bytes,
    safe_fs::{MountPoints, free_space},
    toml_file::TomlFile,
    tools,
    workspace::{self, Workspace},
};

/// How many of the largest entries the preview lists.
const LARGEST: usize = 10;

/// A directory to clean, as configured.
struct Directory {
    /// "target dir" or "build dir".
    role: &'static str,
    path: Utf8PathBuf,
    setting: Setting,
    source: Source,
}

/// A directory that passed every check, with its build locks held.
struct Checked {
    dir: Directory,
    /// The real directory (links resolved), which is what gets cleaned.
    real: Utf8PathBuf,
    is_link: bool,
    shared: bool,
    /// Whether it carries cargo's tag; without it (`--force`) only cargo's layout is cleaned.
    tagged: bool,
    locks: Locks,
    profiles: Vec<Utf8PathBuf>,
}

impl flags::CleanSharedTarget {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let (directories, ws) = self.directories(sh)?;
        let protected = protected(sh, &ws)?;
        let checked = self.check_all(directories, &protected, &ws)?;
        let progress = Progress::new(std::io::stderr().is_terminal());
        let mut plans = self.measure(sh, checked, &protected, &progress)?;
        let mut reports = reports(&plans);
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
    fn check_all(
        &self,
        directories: Vec<Directory>,
        protected: &Protected,
        ws: &Workspace,
    ) -> anyhow::Result<Vec<Checked>> {
        let workspace_root = ws.root.canonicalize_utf8().unwrap_or_else(|_| ws.root.clone());
        let mut checked: Vec<Checked> = Vec::new();
        for dir in directories {
            let Some(dir) = check(dir, protected, &workspace_root, self.force)? else { continue };
            if checked.iter().any(|other| dir.real.starts_with(&other.real)) {
                continue;
            }
            checked.retain(|other| !other.real.starts_with(&dir.real));
            checked.push(dir);
        }
        Ok(checked)
    }

    /// Each checked directory scanned, and what the flags select in it.
    fn measure(
        &self,
        sh: &Shell,
        checked: Vec<Checked>,
        protected: &Protected,
        progress: &Progress,
    ) -> anyhow::Result<Vec<Plan>> {
        let filters = self.filters()?;
        let mut plans = Vec::new();
        for dir in checked {
            let tree = Tree::scan(&dir.real, dir.profiles.clone(), &protected.mounts, progress)?;
            let selection = tree.select(&filters, !dir.tagged);
            plans.push(Plan { free_before: free_space(sh, &dir.real), dir, tree, selection });
        }
        progress.finish();
        Ok(plans)
    }

    /// Shows the plan and says whether to delete: `--yes`, or a yes on the terminal. When not,
    /// the plan is the output, with why nothing was deleted.
    fn consent_to(&self, reports: &[Report]) -> anyhow::Result<bool> {
        let anything = reports.iter().any(|report| report.remove != Bytes::default());
        let consent = if anything {
            consent(self.dry_run, self.yes, std::io::stdin().is_terminal() && std::io::stderr().is_terminal())
        } else {
            Consent::DryRun
        };
        let go = match consent {
            Consent::DryRun | Consent::NeedYes => false,
            Consent::Go => true,
            Consent::Ask => {
                eprint!("{}", preview(reports, None));
                ask("Delete these files? [y/N] ")?
            }
        };
        if go {
            if consent == Consent::Go && !self.json {
                eprint!("{}", preview(reports, None));
            }
            return Ok(true);
        }
        let note = match consent {
            _ if !anything => "Nothing to remove.",
            Consent::DryRun => "Dry run: nothing was deleted.",
            Consent::NeedYes => "Nothing was deleted: there is no terminal to ask on; pass --yes to delete.",
            Consent::Ask | Consent::Go => "Nothing was deleted.",
        };
        if self.json {
            println!("{:#}", to_json(reports, false, consent == Consent::NeedYes));
        } else if consent == Consent::Ask {
            println!("{note}");
        } else {
            print!("{}", preview(reports, Some(note)));
        }
        Ok(false)
    }

    fn print_result(&self, reports: &[Report]) {
        if self.json {
            println!("{:#}", to_json(reports, true, false));
        } else {
            for report in reports {
                print!("{}", result_lines(report));
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
            let dirs = vec![Directory {
                role: "target dir",
                path: workspace::users_absolute(&dir)?,
                setting: source::TARGET_DIR,
                source: Source::Flag,
            }];
            return Ok((dirs, Workspace::load(sh)?));
        }
        // Before `cargo metadata`, so that an empty variable gets this task's message.
        let sources = sources(sh)?;
        let ws = Workspace::load(sh)?;
        Ok((configured(&ws, sources), ws))
    }

    fn filters(&self) -> anyhow::Result<Filters> {
        let running_program = if cfg!(windows) {
            let exe = std::env::current_exe().and_then(|exe| exe.canonicalize())?;
            Utf8PathBuf::try_from(exe).ok()
        } else {
            None
        };
        Ok(Filters {
            only: self.only.clone(),
            profile: self.profile.as_deref().map(profile_dir_name).map(str::to_owned),
            older_than: self.older_than.map(|age| age.0),
            max_size: self.max_size.map(|size| size.0),
            now: SystemTime::now(),
            running_program,
        })
    }
}

/// What set the target directory and the build directory: the environment, or cargo's config files
/// as cargo reads them from its current directory, which is the workspace root here.
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

/// The directories cargo uses for `ws`, with what set them; the build directory only when it is
/// not the target directory.
fn configured(ws: &Workspace, [target_source, build_source]: [Source; 2]) -> Vec<Directory> {
    let mut dirs = vec![Directory {
        role: "target dir",
        path: ws.target_dir.clone(),
        setting: source::TARGET_DIR,
        source: target_source,
    }];
    if ws.build_dir != ws.target_dir {
        let path = ws.build_dir.clone();
        dirs.push(Directory { role: "build dir", path, setting: source::BUILD_DIR, source: build_source });
    }
    dirs
}

/// Where findings about disk use are listed.
const DISK: Group = Group::Disk;
/// With less free space than this beside the target directory, `doctor` points at the cleaning.
const LOW_FREE_SPACE: u64 = 5 << 30;

/// Disk findings, for `doctor`: each directory cargo uses for this workspace, what set it and what
/// it holds, and `coverage_dir` when it lies outside them, each measured by the one walk the
/// cleaning makes (a directory inside another is not walked again); then the free space.
pub(crate) fn findings(sh: &Shell, ws: &Workspace, coverage_dir: &Utf8Path) -> Vec<Finding> {
    let directories = match sources(sh) {
        Ok(sources) => configured(ws, sources),
        Err(err) => {
            return vec![Finding::error(DISK, format!("{err:#}"), "fix the setting it names, then run again")];
        }
    };
    let mut findings = Vec::new();
    let mut measured: Vec<&Utf8Path> = Vec::new();
    for dir in &directories {
        if !measured.iter().any(|done| dir.path.starts_with(done)) {
            let whose =
                if dir.path.starts_with(&ws.root) { "the workspace's own" } else { "shared: outside the workspace" };
            let label = format!("{} {} (set by {}; {whose})", dir.role, dir.path, dir.source.describe(dir.setting));
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
                DISK,
                what,
                "`cargo xtask clean-shared-target --dry-run` shows what cleaning the target dir frees; \
                 `cargo xtask setup-sccache clear` empties sccache's cache",
            ),
            false => Finding::ok(DISK, what),
        });
    }
    findings
}

/// What `dir` holds, in total and by category, from the cleaning's own scan.
fn measure(label: &str, dir: &Utf8Path) -> Finding {
    if !dir.exists() {
        return Finding::ok(DISK, format!("{label}: does not exist yet"));
    }
    let scanned = (|| -> anyhow::Result<Removal> {
        let real = dir.canonicalize_utf8().with_context(|| format!("could not resolve {dir}"))?;
        let progress = Progress::new(std::io::stderr().is_terminal());
        let tree = Tree::scan(&real, safety::profile_dirs(&real)?, &MountPoints::read()?, &progress)?;
        progress.finish();
        let selection = tree.select(&Filters::everything(), false);
        let mut links = tree::FastMap::default();
        tree.count_removed_links(&selection, &mut links);
        let mut removal = tree.removal(&selection, &links, 0);
        removal.total = tree.total;
        Ok(removal)
    })();
    match scanned {
        Ok(Removal { total, categories, .. }) => {
            let parts: Vec<String> =
                categories.iter().map(|(name, bytes)| format!("{name} {}", human_bytes(bytes.disk))).collect();
            let parts = if parts.is_empty() { String::new() } else { format!(": {}", parts.join(", ")) };
            Finding::ok(DISK, format!("{label} holds {}{parts}", sizes(total)))
        }
        Err(err) => Finding::warn(DISK, format!("{label} could not be measured: {err:#}"), "fix what it names"),
    }
}

/// Removes everything in `dir` through the cleaning's checked deletion (`Tree::delete`): links
/// go as links, a mount point inside is an error, and each directory is checked to be the one
/// scanned. With `made_by_cargo` the directory must pass the cleaning's cargo check (its tag
/// stays, as in every clean) and no build may be running there; otherwise `dir` must be
/// `expected` and goes too. Returns the number of files removed (with `dry_run`, that would be),
/// or `Err(why)` when it stays.
pub(crate) fn remove_tree(
    dir: &Utf8Path,
    made_by_cargo: bool,
    expected: crate::safe_fs::FileId,
    dry_run: bool,
) -> anyhow::Result<Result<u64, String>> {
    let mut locks = Locks::none();
    let mut profiles = Vec::new();
    if made_by_cargo {
        profiles = safety::profile_dirs(dir)?;
        if let Some(why) = safety::not_made_by_cargo(dir, &profiles)? {
            return Ok(Err(why.to_owned()));
        }
        locks = Locks::take(dir, &profiles, false)?.0;
    }
    let progress = Progress::new(std::io::stderr().is_terminal());
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
fn check(
    dir: Directory,
    protected: &Protected,
    workspace_root: &Utf8Path,
    force: bool,
) -> anyhow::Result<Option<Checked>> {
    let metadata = match dir.path.symlink_metadata() {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("{} {} does not exist: nothing to clean there", dir.role, dir.path);
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
        let shown = match is_link {
            true => format!("{} (a link to {real})", dir.path),
            false => dir.path.to_string(),
        };
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
        eprintln!(
            "warning: {real}: {why}; because of --force, cleaning only what lies in cargo's layout there and \
             leaving everything else"
        );
    }
    let (locks, busy) = Locks::take(&real, &profiles, force)?;
    for lock in busy {
        eprintln!("warning: {lock} is locked by a running build; cleaning anyway because of --force");
    }
    if is_link {
        eprintln!("{} {} is a link to {real}: checked and cleaning {real}; the link stays", dir.role, dir.path);
    }
    let (shared, tagged) = (!real.starts_with(workspace_root), not_cargos.is_none());
    Ok(Some(Checked { shared, tagged, dir, real, is_link, locks, profiles }))
}

/// What to protect: the home, cargo's and rustup's homes, the workspace and its members, and
/// the mount points.
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
        deletions.push(plan.tree.delete(&plan.selection, &mut plan.dir.locks, progress));
        progress.finish();
    }
    let mut removed_links = tree::FastMap::default();
    for (plan, deleted) in plans.iter().zip(&deletions) {
        plan.tree.count_removed_links(&deleted.removed, &mut removed_links);
    }
    for ((plan, report), deleted) in plans.iter().zip(reports.iter_mut()).zip(deletions) {
        report.removed = Some(plan.tree.removal(&deleted.removed, &removed_links, 0).total);
        report.free_after = free_space(sh, &plan.dir.real);
        report.failed = Some((deleted.errors, deleted.failures));
    }
}

/// Each plan's report, a hard-linked file counted as freed only if every link to it goes.
fn reports(plans: &[Plan]) -> Vec<Report> {
    let mut removed_links = tree::FastMap::default();
    for plan in plans {
        plan.tree.count_removed_links(&plan.selection, &mut removed_links);
    }
    plans.iter().map(|plan| plan.report(&removed_links)).collect()
}

struct Plan {
    dir: Checked,
    tree: Tree,
    selection: Selection,
    free_before: Option<u64>,
}

impl Plan {
    fn report(&self, removed_links: &tree::FastMap<crate::safe_fs::FileId, u64>) -> Report {
        let removal = self.tree.removal(&self.selection, removed_links, LARGEST);
        Report {
            role: self.dir.dir.role,
            path: self.dir.dir.path.clone(),
            real: self.dir.real.clone(),
            is_link: self.dir.is_link,
            shared: self.dir.shared,
            source: self.dir.dir.source.clone(),
            source_text: self.dir.dir.source.describe(self.dir.dir.setting),
            total: self.tree.total,
            remove: removal.total,
            categories: removal.categories,
            largest: removal.largest,
            kept_foreign: if self.dir.tagged { Vec::new() } else { self.tree.foreign() },
            over_limit: self.selection.over_limit,
            free_before: self.free_before,
            removed: None,
            failed: None,
            free_after: None,
        }
    }
}

/// What the user sees of one directory: the plan and, after deletion, the result.
struct Report {
    role: &'static str,
    path: Utf8PathBuf,
    real: Utf8PathBuf,
    is_link: bool,
    shared: bool,
    source: Source,
    source_text: String,
    total: Bytes,
    remove: Bytes,
    categories: Vec<(String, Bytes)>,
    largest: Vec<(String, Bytes)>,
    /// What stays because it lies outside cargo's layout in a directory without cargo's tag.
    kept_foreign: Vec<String>,
    over_limit: Option<u64>,
    free_before: Option<u64>,
    /// After deletion: what went, and how many removals failed with the first few of them.
    removed: Option<Bytes>,
    failed: Option<(u64, Vec<(Utf8PathBuf, String)>)>,
    free_after: Option<u64>,
}

fn sizes(bytes: Bytes) -> String {
    format!("{} files, {} ({} on disk)", bytes.files, human_bytes(bytes.apparent), human_bytes(bytes.disk))
}

fn preview(reports: &[Report], note: Option<&str>) -> String {
    let mut out = String::new();
    for report in reports {
        let whose = if report.shared { "shared: outside the workspace" } else { "the workspace's own" };
        out += &format!("{:<10}  {} ({whose})\n", report.role, report.path);
        out += &format!("  set by    {}\n", report.source_text);
        if report.is_link {
            out += &format!("  link to   {} (cleaned there; the link stays)\n", report.real);
        }
        out += &format!("  holds     {}\n", sizes(report.total));
        if !report.kept_foreign.is_empty() {
            out += &format!(
                "  keeps     {} (outside cargo's layout, in a directory without cargo's tag)\n",
                report.kept_foreign.join(", ")
            );
        }
        if report.remove == Bytes::default() {
            out += "  removes   nothing\n";
            continue;
        }
        out += &format!("  removes   {}\n", sizes(report.remove));
        let width = report.categories.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
        for (name, bytes) in &report.categories {
            out += &format!("    {name:<width$}  {}\n", sizes(*bytes));
        }
        out += "  largest\n";
        for (name, bytes) in &report.largest {
            out += &format!("    {:>10}  {name}\n", human_bytes(bytes.disk));
        }
        if let Some(left) = report.over_limit {
            out += &format!(
                "  note      removing every build unit leaves {} on disk, more than --max-size: the rest is not \
                 build units (see the categories with --dry-run and no filter)\n",
                human_bytes(left)
            );
        }
    }
    if let Some(note) = note {
        out += note;
        out += "\n";
    }
    out
}

fn free(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "unknown".to_owned(), human_bytes)
}

/// `Removed N files, X (Y on disk) from DIR; free space A → B`, then what could not be removed.
fn result_lines(report: &Report) -> String {
    let removed = report.removed.unwrap_or_default();
    let mut out = format!(
        "Removed {} files, {} ({} on disk) from {}; free space {} → {}\n",
        removed.files,
        human_bytes(removed.apparent),
        human_bytes(removed.disk),
        report.real,
        free(report.free_before),
        free(report.free_after)
    );
    if let Some((errors @ 1.., failures)) = &report.failed {
        let left = report.remove.files.saturating_sub(removed.files);
        out += &format!(
            "Not removed: {left} of the {} files planned; {errors} removal{} failed{}:\n",
            report.remove.files,
            if *errors == 1 { "" } else { "s" },
            if *errors as usize > failures.len() { format!(", the first {}", failures.len()) } else { String::new() }
        );
        for (path, why) in failures {
            out += &format!("  {path}: {why}\n");
        }
    }
    out
}

fn to_json(reports: &[Report], deleted: bool, needs_yes: bool) -> Value {
    let bytes = |b: Bytes| json!({"files": b.files, "apparent_bytes": b.apparent, "disk_bytes": b.disk});
    let named = |list: &[(String, Bytes)]| {
        list.iter()
            .map(
                |(name, b)| json!({"name": name, "files": b.files, "apparent_bytes": b.apparent, "disk_bytes": b.disk}),
            )
            .collect::<Vec<_>>()
    };
    json!({
        "deleted": deleted,
        "needs_yes": needs_yes,
        "directories": reports.iter().map(|r| json!({
            "role": r.role,
            "path": r.path.as_str(),
            "real_path": r.real.as_str(),
            "is_link": r.is_link,
            "shared": r.shared,
            "source": r.source_text,
            "total": bytes(r.total),
            "remove": bytes(r.remove),
            "categories": named(&r.categories),
            "largest": named(&r.largest),
            "kept_outside_cargos_layout": r.kept_foreign,
            "over_limit_disk_bytes": r.over_limit,
            "free_bytes_before": r.free_before,
            "removed_files": r.removed.map(|b| b.files),
            "removed": r.removed.map(bytes),
            "failed_removals": r.failed.as_ref().map(|(errors, _)| errors),
            "failures": r.failed.as_ref().map(|(_, failures)| failures.iter()
                .map(|(path, why)| json!({"path": path.as_str(), "error": why}))
                .collect::<Vec<_>>()),
            "free_bytes_after": r.free_after,
        })).collect::<Vec<_>>(),
    })
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
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// When a directory came from a global `CARGO_TARGET_DIR`: what that costs and how to do without
/// it, after a dry run as after a clean.
fn advise_on_the_variable(reports: &[Report], root: &Utf8Path) {
    if let Some(report) = reports.iter().find(|r| r.source == Source::Var("CARGO_TARGET_DIR")) {
        let shell = std::env::var("SHELL").ok();
        eprint!("{}", target_dir_variable_advice(&report.path, root, std::env::consts::OS, shell.as_deref()));
    }
}

/// What a global `CARGO_TARGET_DIR` costs and how to do without it, for the user's OS and shell.
fn target_dir_variable_advice(dir: &Utf8Path, workspace_root: &Utf8Path, os: &str, shell: Option<&str>) -> String {
    let shell_name = shell.and_then(|shell| Utf8Path::new(shell).file_name()).unwrap_or("sh");
    let unset = match (os, shell_name) {
        ("windows", _) => "PowerShell: [Environment]::SetEnvironmentVariable(\"CARGO_TARGET_DIR\", $null, \"User\"); \
             Remove-Item Env:CARGO_TARGET_DIR"
            .to_owned(),
        (_, "fish") => "fish: set -e CARGO_TARGET_DIR; set -Ue CARGO_TARGET_DIR\n    and delete the \
             `set -gx CARGO_TARGET_DIR ...` line from ~/.config/fish/config.fish"
            .to_owned(),
        (_, name) => {
            let files = match name {
                "zsh" => "~/.zshenv, ~/.zprofile or ~/.zshrc",
                "bash" => "~/.bashrc, ~/.bash_profile or ~/.profile",
                _ => "your shell's startup file (~/.profile)",
            };
            let launchd = if os == "macos" {
                "\n    and, if you set it for apps too: launchctl unsetenv CARGO_TARGET_DIR"
            } else {
                ""
            };
            format!(
                "{name}: unset CARGO_TARGET_DIR\n    and delete the `export CARGO_TARGET_DIR=...` line from {files}{launchd}"
            )
        }
    };
    format!(
        "\nThe target directory came from the CARGO_TARGET_DIR environment variable, which every project on \
         this machine then shares. It costs:\n\
         - coverage: cargo-llvm-cov builds in {dir}/llvm-cov-target, so the profiles of different projects mix \
         there and a report can pick up another project's runs;\n\
         - sccache: the variable is passed to every compile and sccache hashes all CARGO_* variables into its \
         keys, so builds that differ in it (another shell, CI) miss the cache; build.target-dir in a config file \
         does not change the keys.\n\
         To choose the directory per project instead, put this in {workspace_root}/.cargo/config.toml:\n    \
         [build]\n    target-dir = \"{dir}\"\n\
         To stop setting the variable ({unset_for}):\n    {unset}\n\
         (This task edits none of your files.)\n",
        unset_for = if os == "windows" { "Windows" } else { shell_name },
    )
}

/// Files scanned or removed, on stderr: refreshed in place on a terminal, an occasional line
/// otherwise, and nothing for a directory done in under half a second. Shared by the threads of
/// the scan and the deletion.
pub(crate) struct Progress {
    terminal: bool,
    scanned: AtomicU64,
    bytes: AtomicU64,
    removed: AtomicU64,
    /// When the phase started and when a line was last shown.
    shown: Mutex<(Instant, Option<Instant>)>,
}

impl Progress {
    fn new(terminal: bool) -> Progress {
        Progress {
            terminal,
            scanned: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            removed: AtomicU64::new(0),
            shown: Mutex::new((Instant::now(), None)),
        }
    }

    /// One more entry scanned, of `bytes` (apparent).
    pub(crate) fn scanned(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.tick(self.scanned.fetch_add(1, Ordering::Relaxed));
    }

    pub(crate) fn removed(&self) {
        self.tick(self.removed.fetch_add(1, Ordering::Relaxed));
    }

    fn tick(&self, count: u64) {
        if count % 1024 == 1023 {
            self.show();
        }
    }

    fn show(&self) {
        let Ok(mut shown) = self.shown.try_lock() else { return };
        let (started, last) = &mut *shown;
        let now = Instant::now();
        let every = if self.terminal { Duration::from_millis(100) } else { Duration::from_secs(5) };
        if now - *started < Duration::from_millis(500) || last.is_some_and(|last| now - last < every) {
            return;
        }
        *last = Some(now);
        let [scanned, bytes, removed] =
            [&self.scanned, &self.bytes, &self.removed].map(|count| count.load(Ordering::Relaxed));
        let text = match removed {
            0 => format!("scanned {scanned} entries, {}", human_bytes(bytes)),
            removed => format!("removed {removed} files"),
        };
        if self.terminal {
            eprint!("\r\x1b[K{text}");
        } else {
            eprintln!("{text}");
        }
    }

    /// Ends a phase: clears the progress line.
    fn finish(&self) {
        let mut shown = self.shown.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.terminal && shown.1.is_some() {
            eprint!("\r\x1b[K");
        }
        *shown = (Instant::now(), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let report = Report {
            role: "target dir",
            path: "/t".into(),
            real: "/t".into(),
            is_link: false,
            shared: true,
            source: Source::Default,
            source_text: String::new(),
            total: Bytes::default(),
            remove: Bytes { files: 3, apparent: 2048, disk: 12288 },
            categories: Vec::new(),
            largest: Vec::new(),
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
        let stopped =
            Report { remove: Bytes { files: 5, apparent: 4096, disk: 20480 }, failed: Some((3, failures)), ..report };
        assert_eq!(
            result_lines(&stopped),
            "Removed 3 files, 2.0 KiB (12.0 KiB on disk) from /t; free space 1.0 GiB → unknown\n\
             Not removed: 2 of the 5 files planned; 3 removals failed, the first 1:\n  \
             /t/debug/deps/x: Operation not permitted (os error 1)\n"
        );
    }
}
