//! What the cleaning shows: the plan before it deletes, the result after, as text or JSON, and the
//! advice about a global `CARGO_TARGET_DIR`.

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::{Value, json};
use xshell::Shell;

use super::{
    Checked, LARGEST,
    safety::Locks,
    source::Source,
    tree::{self, Bytes, Removal, Selection, Tree},
};
use crate::output::human_bytes;
use crate::safe_fs::free_space;
use crate::secrets::err;

/// Each directory's report, a hard-linked file counted as freed only if every link to it goes.
pub(super) fn reports(sh: &Shell, dirs: Vec<Checked>, plans: &[Plan]) -> Vec<Report> {
    let removed_links = tree::removed_links(plans.iter().map(|plan| (&plan.tree, &plan.selection)));
    let report = |(checked, Plan { tree, selection, .. }): (Checked, &Plan)| Report {
        total: tree.total,
        removal: tree.removal(selection, &removed_links, LARGEST),
        kept_foreign: if checked.tagged { Vec::new() } else { tree.foreign() },
        over_limit: selection.over_limit,
        free_before: free_space(sh, &checked.real),
        checked,
        removed: None,
        failed: None,
        free_after: None,
    };
    dirs.into_iter().zip(plans).map(report).collect()
}

/// What a directory's deletion works from, its build locks held until it is dropped.
pub(super) struct Plan {
    pub(super) tree: Tree,
    pub(super) selection: Selection,
    pub(super) locks: Locks,
}

/// What the user sees of one directory: the plan and, after deletion, the result.
pub(super) struct Report {
    pub(super) checked: Checked,
    pub(super) total: Bytes,
    pub(super) removal: Removal,
    /// What stays because it lies outside cargo's layout in a directory without cargo's tag.
    pub(super) kept_foreign: Vec<String>,
    pub(super) over_limit: Option<u64>,
    pub(super) free_before: Option<u64>,
    /// After deletion: what went, and how many removals failed with the first few of them.
    pub(super) removed: Option<Bytes>,
    pub(super) failed: Option<(u64, Vec<(Utf8PathBuf, String)>)>,
    pub(super) free_after: Option<u64>,
}

pub(super) fn sizes(bytes: Bytes) -> String {
    format!("{} files, {} ({} on disk)", bytes.files, human_bytes(bytes.apparent), human_bytes(bytes.disk))
}

pub(super) fn preview(reports: &[Report], note: Option<&str>) -> String {
    let mut out = String::new();
    for report in reports {
        let Checked { dir, real, is_link, shared, .. } = &report.checked;
        let whose = if *shared { "shared: outside the workspace" } else { "the workspace's own" };
        out += &format!("{:<10}  {} ({whose})\n", dir.setting.role, dir.path);
        out += &format!("  set by    {}\n", dir.source.describe(dir.setting));
        if *is_link {
            out += &format!("  link to   {real} (cleaned there; the link stays)\n");
        }
        out += &format!("  holds     {}\n", sizes(report.total));
        if !report.kept_foreign.is_empty() {
            let kept = report.kept_foreign.join(", ");
            out += &format!("  keeps     {kept} (outside cargo's layout, in a directory without cargo's tag)\n");
        }
        let Removal { total: remove, categories, largest } = &report.removal;
        if *remove == Bytes::default() {
            out += "  removes   nothing\n";
            continue;
        }
        out += &format!("  removes   {}\n", sizes(*remove));
        let width = categories.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
        for (name, bytes) in categories {
            out += &format!("    {name:<width$}  {}\n", sizes(*bytes));
        }
        out += "  largest\n";
        for (name, bytes) in largest {
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
        out += &format!("{note}\n");
    }
    out
}

/// `Removed N files, X (Y on disk) from DIR; free space A → B`, then what could not be removed.
pub(super) fn result_lines(report: &Report) -> String {
    let removed = report.removed.unwrap_or_default();
    let free = |bytes: Option<u64>| bytes.map_or_else(|| "unknown".to_owned(), human_bytes);
    let (before, after) = (free(report.free_before), free(report.free_after));
    let mut out = format!("Removed {} from {}; free space {before} → {after}\n", sizes(removed), report.checked.real);
    if let Some((errors @ 1.., failures)) = &report.failed {
        let planned = report.removal.total.files;
        let left = planned.saturating_sub(removed.files);
        out += &format!(
            "Not removed: {left} of the {} files planned; {errors} removal{} failed{}:\n",
            planned,
            if *errors == 1 { "" } else { "s" },
            if *errors as usize > failures.len() { format!(", the first {}", failures.len()) } else { String::new() }
        );
        for (path, why) in failures {
            out += &format!("  {path}: {why}\n");
        }
    }
    out
}

pub(super) fn to_json(reports: &[Report], deleted: bool, needs_yes: bool) -> Value {
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
            "role": r.checked.dir.setting.role,
            "path": r.checked.dir.path.as_str(),
            "real_path": r.checked.real.as_str(),
            "is_link": r.checked.is_link,
            "shared": r.checked.shared,
            "source": r.checked.dir.source.describe(r.checked.dir.setting),
            "total": bytes(r.total),
            "remove": bytes(r.removal.total),
            "categories": named(&r.removal.categories),
            "largest": named(&r.removal.largest),
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

/// After a dry run as after a clean, when a global `CARGO_TARGET_DIR` set a directory: the advice.
pub(super) fn advise_on_the_variable(reports: &[Report], root: &Utf8Path) {
    if let Some(dir) = reports.iter().map(|r| &r.checked.dir).find(|dir| dir.source == Source::Var("CARGO_TARGET_DIR"))
    {
        let shell = std::env::var("SHELL").ok();
        err!("{}", target_dir_variable_advice(&dir.path, root, std::env::consts::OS, shell.as_deref()));
    }
}

/// What a global `CARGO_TARGET_DIR` costs and how to do without it, for the user's OS and shell.
pub(super) fn target_dir_variable_advice(
    dir: &Utf8Path,
    workspace_root: &Utf8Path,
    os: &str,
    shell: Option<&str>,
) -> String {
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
            let launchd = "\n    and, if you set it for apps too: launchctl unsetenv CARGO_TARGET_DIR";
            let launchd = if os == "macos" { launchd } else { "" };
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
