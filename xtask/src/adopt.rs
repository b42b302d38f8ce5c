//! `cargo xtask adopt DIR`: this xtask, copied into another workspace in one step.
//!
//! It copies this crate (it inherits nothing from its workspace, so it builds the same anywhere),
//! adds it to the workspace's members and adds the `cargo xtask` alias, keeping every other byte
//! of those files. All is checked before anything is written: a directory, package or alias of
//! that name that is not this one is an error, and nothing changes.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;
use toml_edit::{Array, DocumentMut, Item, Table};
use xshell::Shell;

use crate::{
    flags,
    hash::fingerprint,
    output::{UsageError, usage},
    toml_file::TomlFile,
    workspace::{self, XTASK_PACKAGE},
};

mod record;
mod update;

use crate::secrets::{errln, outln};
use record::{RECORD, Record, SourceGit};

impl flags::Adopt {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let given = workspace::users_absolute(&self.dir)?;
        let host = given.canonicalize_utf8().with_context(|| format!("{given} is not a directory that exists"))?;
        let name = self.name.as_deref().unwrap_or(XTASK_PACKAGE);
        let alias = self.alias.as_deref().unwrap_or("xtask");
        for (flag, value) in [("--name", name), ("--alias", alias)] {
            check_name(flag, value)?;
        }
        let source = source_crate(self.from.as_deref())?;
        let source = source.as_path();
        let rename = (name != XTASK_PACKAGE).then_some(name);
        let git = SourceGit::find(sh, source);
        if self.update {
            if self.alias.is_some() {
                usage!("--alias is set at adoption; --update leaves the alias as it is");
            }
            return update(sh, &host, (source, git.as_ref()), name, rename, self.dry_run);
        }
        let plan = Plan::make(sh, &host, (source, git.as_ref()), name, rename, alias)?;
        plan.print(self.dry_run);
        warn_if_dirty(source, git.as_ref());
        if self.dry_run {
            outln!("--dry-run: nothing was written");
            return Ok(());
        }
        plan.apply()?;
        outln!(
            "\nNext, in {host}: `cargo {alias} doctor` (its first run builds the xtask and adds its dependencies to \
             Cargo.lock), then `cargo {alias} info`. The Makefile targets are in {}/Makefile, to copy the ones you \
             want. Later, `cargo xtask adopt --update {host}` from a newer xtask brings its changes in.",
            source.parent().unwrap_or(source)
        );
        Ok(())
    }
}

/// The xtask crate to copy: `--from`, else the one this binary was built from.
fn source_crate(from: Option<&Utf8Path>) -> anyhow::Result<Utf8PathBuf> {
    let Some(from) = from else {
        return Utf8Path::new(env!("CARGO_MANIFEST_DIR"))
            .canonicalize_utf8()
            .context("this xtask's own source directory, where it was built, is gone; give one with --from DIR");
    };
    let from = workspace::users_absolute(from)?;
    let found = from.canonicalize_utf8().with_context(|| format!("--from {from} is not a directory that exists"))?;
    if !found.join("Cargo.toml").is_file() || !found.join("src/adopt.rs").is_file() {
        let nested = found.join("xtask");
        let hint = nested.join("src/adopt.rs").is_file().then(|| format!(": give its crate, --from {nested}"));
        usage!("--from {from} is not an xtask crate (no Cargo.toml and src/adopt.rs){}", hint.unwrap_or_default());
    }
    Ok(found)
}

fn update(
    sh: &Shell,
    host: &Utf8Path,
    (source, git): (&Utf8Path, Option<&SourceGit>),
    name: &str,
    rename: Option<&str>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let copy = host.join(name);
    if !copy.is_dir() {
        bail!(
            "{copy} does not exist, so there is nothing to update; adopt first (`cargo xtask adopt {host}`), or name \
             the copy's directory with --name"
        );
    }
    if copy.canonicalize_utf8().ok().as_deref() == Some(source) {
        usage!(
            "{copy} is the copy itself: run the update from the newer xtask (in its workspace, `cargo xtask adopt \
             --update {host}`), or name that crate with --from DIR"
        );
    }
    warn_if_dirty(source, git);
    let update = update::Update::plan(sh, &copy, (source, git), rename)?;
    update.print(dry_run);
    if dry_run {
        outln!("--dry-run: nothing was written");
        return Ok(());
    }
    update.apply()?;
    let conflicts = update.conflicts();
    if !conflicts.is_empty() {
        bail!(
            "updated, with conflicts marked (<<<<<<< … >>>>>>>) in {}: resolve them, then `cargo build -p {name}`",
            conflicts.join(", ")
        );
    }
    outln!("updated: {copy} has the new xtask, and the changes made there");
    Ok(())
}

/// A source with uncommitted changes cannot give those files back as adopted later: they are
/// then merged two ways. Said at adoption, when it can still be avoided.
fn warn_if_dirty(source: &Utf8Path, git: Option<&SourceGit>) {
    match git {
        None => errln!(
            "note: {source} is not a git checkout, so a later `adopt --update` cannot find this version to merge \
             against; files changed on both sides will be compared two ways"
        ),
        Some(git) if !git.dirty.is_empty() => errln!(
            "note: {source} has uncommitted changes ({}): a later `adopt --update` merges those files two ways",
            git.dirty.join(", ")
        ),
        Some(_) => {}
    }
}

/// A name cargo takes as a package and directory name, and as an alias.
fn check_name(flag: &str, name: &str) -> Result<(), UsageError> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        usage!("{flag} `{name}` is not a name cargo takes: use letters, digits, `-` and `_`, starting with a letter");
    }
    Ok(())
}

/// Everything `adopt` will do, checked against the other workspace before anything is written.
struct Plan {
    host: Utf8PathBuf,
    files: CopiedFiles,
    target: Utf8PathBuf,
    /// The package name of the copy, when it is not this one's.
    rename: Option<String>,
    record: Record,
    manifest: TomlFile,
    config: TomlFile,
    /// `.gitignore`, when it does not ignore the lcov report that coverage writes at the root.
    gitignore: Option<Utf8PathBuf>,
}

impl Plan {
    fn make(
        sh: &Shell,
        host: &Utf8Path,
        (source, git): (&Utf8Path, Option<&SourceGit>),
        name: &str,
        rename: Option<&str>,
        alias: &str,
    ) -> anyhow::Result<Plan> {
        let manifest_path = host.join("Cargo.toml");
        if !manifest_path.is_file() {
            bail!("{manifest_path} does not exist: give the root directory of a cargo workspace or package");
        }
        if source.parent() == Some(host) {
            bail!("{host} is this xtask's own workspace; give another workspace's root");
        }
        let has_package = has_package(sh, host, name)?;
        let target = host.join(name);
        if target.symlink_metadata().is_ok() {
            let hint = match has_package {
                true => format!("it holds the workspace's own `{name}` package"),
                false => "something is there already".to_owned(),
            };
            bail!(
                "{target} exists ({hint}), so nothing was changed; put this xtask beside it under another name: \
                 cargo xtask adopt {host} --name xtask-ci --alias xtask-ci"
            );
        }
        if has_package {
            bail!(
                "{host} already has a package named `{name}`, so nothing was changed; name the copy otherwise: \
                 cargo xtask adopt {host} --name xtask-ci --alias xtask-ci"
            );
        }

        let config_path = workspace::cargo_config_in(&host.join(".cargo"));
        let real_host = host.canonicalize_utf8().with_context(|| format!("could not resolve {host}"))?;
        for file in [&manifest_path, &config_path, &host.join(".gitignore")] {
            in_the_workspace(&real_host, file)?;
        }
        let mut manifest = TomlFile::read(&manifest_path)?;
        if let Some(change) = add_member(manifest.doc(), name)? {
            manifest.record(change);
        }
        let mut config = TomlFile::read(&config_path)?;
        let wanted = Array::from_iter(workspace::alias_words(name));
        let existing = config.doc().get("alias").and_then(|aliases| aliases.get(alias)).cloned();
        match existing {
            None => {
                let aliases = config.doc().entry("alias").or_insert_with(|| Item::Table(Table::new()));
                let Some(aliases) = aliases.as_table_like_mut() else {
                    bail!("`alias` in {} is not a table, so nothing was changed", config.path);
                };
                aliases.insert(alias, toml_edit::value(wanted.clone()));
                config.record(format!("set alias.{alias} = {wanted}"));
            }
            Some(existing) if alias_runs(&existing, name) => {}
            Some(existing) => bail!(
                "{} already has the alias `{alias}` = {}, which runs something else, so nothing was changed; add \
                 this xtask under another alias (`cargo xtask adopt {host} --alias xtask-ci`), or remove that one",
                config.path,
                existing.to_string().trim()
            ),
        }
        let files = copied_files(source, rename)?;
        let record =
            Record::of(git, files.iter().map(|(file, (bytes, _))| (file.clone(), fingerprint(bytes))).collect());
        Ok(Plan {
            host: host.to_owned(),
            files,
            target,
            rename: rename.map(str::to_owned),
            record,
            manifest,
            config,
            gitignore: lacks_lcov_line(host).then(|| host.join(".gitignore")),
        })
    }

    fn print(&self, dry_run: bool) {
        let verb = if dry_run { "would copy" } else { "copying" };
        outln!(
            "{verb} {} files of this xtask to {}, with {RECORD} (its version, for --update)",
            self.files.len(),
            self.target
        );
        if let Some(name) = &self.rename {
            outln!("  with its package named `{name}`");
        }
        if let Some(gitignore) = &self.gitignore {
            outln!("{gitignore}: {} /lcov.info (coverage's lcov report)", if dry_run { "would add" } else { "adding" });
        }
        for file in [&self.manifest, &self.config] {
            if file.changes.is_empty() {
                outln!("{}: already as wanted", file.path);
            } else {
                outln!("{}: {}", file.path, if dry_run { "would change" } else { "changing" });
                for change in &file.changes {
                    outln!("  {change}");
                }
            }
        }
    }

    /// Copies into a new directory beside the target, renamed into place once complete, then
    /// edits. All or nothing: every file it edits is checked first, and when a step fails the
    /// copy is removed and each file already edited is put back.
    fn apply(&self) -> anyhow::Result<()> {
        self.manifest.writable_target()?;
        self.config.writable_target()?;
        if let Some(gitignore) = &self.gitignore
            && gitignore.metadata().is_ok_and(|metadata| metadata.permissions().readonly())
        {
            bail!("{gitignore} is read-only, so nothing was changed; make it writable and run again");
        }
        let staging =
            self.host.join(format!(".{}.adopting-{}", self.target.file_name().unwrap_or("xtask"), std::process::id()));
        std::fs::create_dir(&staging).with_context(|| format!("could not create {staging}"))?;
        let copied = (|| -> anyhow::Result<()> {
            for (file, (bytes, permissions)) in &self.files {
                let to = staging.join(file);
                std::fs::create_dir_all(to.parent().expect("a file in a directory"))?;
                write_new_file(&to, bytes, Some(permissions)).with_context(|| format!("could not write {to}"))?;
            }
            write_new_file(&staging.join(RECORD), self.record.to_json().as_bytes(), None)?;
            std::fs::rename(&staging, &self.target)
                .with_context(|| format!("could not move the copy to {}", self.target))
        })();
        // On failure, only what this run created is removed.
        copied.inspect_err(|_| _ = std::fs::remove_dir_all(&staging))?;
        let mut saved = Vec::new();
        let edited = (|| -> anyhow::Result<()> {
            for file in [&self.manifest, &self.config] {
                file.save()?;
                saved.push(file);
            }
            if let Some(gitignore) = &self.gitignore {
                use std::io::Write;
                let text = std::fs::read_to_string(gitignore).unwrap_or_default();
                let line = if text.is_empty() || text.ends_with('\n') { "/lcov.info\n" } else { "\n/lcov.info\n" };
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(gitignore)
                    .and_then(|mut file| file.write_all(line.as_bytes()))
                    .with_context(|| format!("could not add /lcov.info to {gitignore}"))?;
            }
            Ok(())
        })();
        if let Err(err) = edited {
            for file in saved {
                if let Err(why) = file.restore() {
                    errln!("warning: could not put {} back as it was: {why:#}", file.path);
                }
            }
            let _ = std::fs::remove_dir_all(&self.target);
            return Err(err.context("nothing was adopted: the copy is removed and the edited files are as they were"));
        }
        outln!("adopted: {} now has this xtask", self.host);
        Ok(())
    }
}

/// Refuses a file that adopt would edit when it is, through a link (of its own or of a directory
/// on the way), somewhere outside the workspace at `real_host` (links resolved): an edit there
/// would change another project or the user's own files. A link within it is followed and kept.
fn in_the_workspace(real_host: &Utf8Path, file: &Utf8Path) -> anyhow::Result<()> {
    // Not there yet: where it would be created.
    let created = || Some(file.parent()?.canonicalize_utf8().ok()?.join(file.file_name()?));
    let Some(real) = file.canonicalize_utf8().ok().or_else(created) else { return Ok(()) };
    if !real.starts_with(real_host) {
        bail!(
            "{file} leads through a link to {real}, outside the workspace, so nothing was changed: adopt edits only \
             the workspace's own files; put a copy of the file in place of the link and run again"
        );
    }
    Ok(())
}

/// Whether `host/.gitignore` lacks a line that ignores `lcov.info` at the root. (Only the usual
/// forms are recognised; another one means a second, harmless line.)
fn lacks_lcov_line(host: &Utf8Path) -> bool {
    let text = std::fs::read_to_string(host.join(".gitignore")).unwrap_or_default();
    !text.lines().map(str::trim).any(|line| ["lcov.info", "/lcov.info", "*.info", "lcov.*"].contains(&line))
}

/// Writes a new file `to` (one that exists is an error, never overwritten), with `permissions`.
fn write_new_file(to: &Utf8Path, bytes: &[u8], permissions: Option<&std::fs::Permissions>) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(to)?;
    file.write_all(bytes)?;
    permissions.map_or(Ok(()), |permissions| file.set_permissions(permissions.clone()))
}

/// Whether the workspace at `host`, which must be that workspace's root, has a package `name`.
fn has_package(sh: &Shell, host: &Utf8Path, name: &str) -> anyhow::Result<bool> {
    let json = workspace::metadata_command(sh)
        .args(["--no-deps", "--manifest-path"])
        .arg(host.join("Cargo.toml"))
        .quiet()
        .read()
        .with_context(|| format!("`cargo metadata` failed in {host}; its message above says why"))?;
    let metadata: Value = serde_json::from_str(&json).context("`cargo metadata` printed something that is not JSON")?;
    let root = metadata["workspace_root"].as_str().unwrap_or_default();
    if Utf8Path::new(root).canonicalize_utf8().ok().as_deref() != Some(host) {
        bail!("{host} is inside the workspace at {root}; adopt the xtask there: cargo xtask adopt {root}");
    }
    Ok(metadata["packages"].as_array().into_iter().flatten().any(|package| package["name"] == name))
}

/// Adds `name` to the workspace's members unless one of them names it already; the change, if any.
fn add_member(doc: &mut DocumentMut, name: &str) -> anyhow::Result<Option<String>> {
    let workspace = doc.entry("workspace").or_insert_with(|| Item::Table(Table::new()));
    let Some(workspace) = workspace.as_table_like_mut() else { bail!("`workspace` in Cargo.toml is not a table") };
    let listed = |key: &str, workspace: &dyn toml_edit::TableLike| -> Vec<String> {
        let array = workspace.get(key).and_then(Item::as_array);
        array.into_iter().flatten().filter_map(|member| member.as_str().map(str::to_owned)).collect()
    };
    if listed("exclude", workspace).iter().any(|pattern| matches_member(pattern, name)) {
        bail!("`workspace.exclude` in Cargo.toml leaves `{name}` out of the workspace; remove it from there first");
    }
    if listed("members", workspace).iter().any(|pattern| matches_member(pattern, name)) {
        return Ok(None);
    }
    match workspace.get_mut("members") {
        Some(members) => {
            let Some(members) = members.as_array_mut() else {
                bail!("`workspace.members` in Cargo.toml is not a list")
            };
            push_like_the_others(members, name);
        }
        None => {
            workspace.insert("members", toml_edit::value(Array::from_iter([name])));
        }
    }
    Ok(Some(format!("add \"{name}\" to workspace.members")))
}

/// Appends `name`, laid out as the last element is: on its own line in a list written one per
/// line, after a space in one written on a line. What followed the last element (a comment, the
/// line break before `]`) still follows it.
fn push_like_the_others(members: &mut Array, name: &str) {
    let text = |part: Option<&toml_edit::RawString>| part.and_then(|part| part.as_str()).unwrap_or_default().to_owned();
    let trailing = text(Some(members.trailing()));
    let with_comma = members.trailing_comma();
    let Some(last) = members.iter_mut().last() else {
        members.push(name);
        return;
    };
    let (prefix, suffix) = (text(last.decor().prefix()), text(last.decor().suffix()));
    let indent = prefix.rsplit_once('\n').map(|(_, indent)| indent.to_owned());
    let (prefix, suffix, trailing) = match indent {
        // `"a", # comment⏎]`: the comment stays after "a", the new line comes after it.
        Some(indent) if with_comma && trailing.contains('\n') => {
            let (comment, rest) = trailing.rsplit_once('\n').expect("checked");
            (format!("{comment}\n{indent}"), String::new(), format!("\n{rest}"))
        }
        // `"a"⏎]`: the line break before `]` moves behind the new one.
        Some(indent) => {
            last.decor_mut().set_suffix("");
            (format!("\n{indent}"), suffix, trailing)
        }
        None => (" ".to_owned(), String::new(), trailing),
    };
    members.push_formatted(toml_edit::Value::from(name).decorated(prefix, suffix));
    members.set_trailing(trailing);
}

/// Whether a `members` entry names the directory `name` at the root: itself, or a glob such as `*`.
fn matches_member(pattern: &str, name: &str) -> bool {
    let pattern = pattern.trim_start_matches("./").trim_end_matches('/');
    match pattern.split_once('*') {
        None => pattern == name,
        Some((before, after)) => {
            !pattern.contains('/')
                && name.len() >= before.len() + after.len()
                && name.starts_with(before)
                && name.ends_with(after)
        }
    }
}

/// Whether an existing alias runs the package `name` (this alias, or the usual string form).
fn alias_runs(existing: &Item, name: &str) -> bool {
    let words: Vec<String> = match existing {
        Item::Value(toml_edit::Value::String(text)) => text.value().split_whitespace().map(str::to_owned).collect(),
        other => other.as_array().into_iter().flatten().filter_map(|word| word.as_str().map(str::to_owned)).collect(),
    };
    words.windows(2).any(|pair| (pair[0] == "--package" || pair[0] == "-p") && pair[1] == name)
        && words.first().is_some_and(|word| word == "run")
}

/// Each file of a copy (its path with `/`): its bytes as copied and the source's permissions.
type CopiedFiles = BTreeMap<String, (Vec<u8>, std::fs::Permissions)>;

/// The files of the crate at `source` as a copy has them: everything but build output, hidden
/// files and a record of its own adoption, with the package renamed if asked.
fn copied_files(source: &Utf8Path, rename: Option<&str>) -> anyhow::Result<CopiedFiles> {
    fn walk(dir: &Utf8Path, relative: &str, rename: Option<&str>, files: &mut CopiedFiles) -> anyhow::Result<()> {
        for entry in dir.read_dir_utf8().with_context(|| format!("could not read {dir}"))? {
            let entry = entry?;
            let (name, path) = (entry.file_name(), entry.path());
            let file = if relative.is_empty() { name.to_owned() } else { format!("{relative}/{name}") };
            if name.starts_with('.') || file == "target" || file == RECORD {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                walk(path, &file, rename, files)?;
            } else if kind.is_file() {
                let read = || -> std::io::Result<_> { Ok((std::fs::read(path)?, path.metadata()?.permissions())) };
                let (bytes, permissions) = read().with_context(|| format!("could not read {path}"))?;
                files.insert(file.clone(), (as_copied(&file, bytes, rename)?, permissions));
            } else {
                bail!("{path} is neither a file nor a directory; the xtask's crate holds only those");
            }
        }
        Ok(())
    }
    let mut files = BTreeMap::new();
    walk(source, "", rename, &mut files)?;
    Ok(files)
}

/// A file of the source as the copy has it: the same bytes, but for the package name in
/// `Cargo.toml` when the copy is renamed. Also applied to the adopted version read back from git.
fn as_copied(file: &str, bytes: Vec<u8>, rename: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let (Some(name), "Cargo.toml") = (rename, file) else { return Ok(bytes) };
    let text = String::from_utf8(bytes).context("the xtask's Cargo.toml is not UTF-8")?;
    let mut manifest: DocumentMut = text.parse().context("the xtask's Cargo.toml is not TOML")?;
    manifest["package"]["name"] = toml_edit::value(name);
    Ok(manifest.to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members_after(manifest: &str, name: &str) -> (String, Option<String>) {
        let mut doc: DocumentMut = manifest.parse().unwrap();
        let change = add_member(&mut doc, name).unwrap();
        (doc.to_string(), change)
    }

    #[test]
    fn the_member_is_added_in_the_lists_own_layout() {
        let (text, change) = members_after("[workspace]\nmembers = [\"crates/*\"]  # all\n", "xtask");
        assert_eq!(text, "[workspace]\nmembers = [\"crates/*\", \"xtask\"]  # all\n");
        assert_eq!(change.unwrap(), "add \"xtask\" to workspace.members");
        let (text, _) = members_after("[workspace]\nmembers = [\n    \"a\",\n    \"b\",\n]\n", "xtask");
        assert_eq!(text, "[workspace]\nmembers = [\n    \"a\",\n    \"b\",\n    \"xtask\",\n]\n");
        // No comma after the last one (ast-grep's).
        let (text, _) = members_after("[workspace]\nmembers = [\n  \"crates/*\",\n  \"xtask\"\n]\n", "ci");
        assert_eq!(text, "[workspace]\nmembers = [\n  \"crates/*\",\n  \"xtask\",\n  \"ci\"\n]\n");
        let (text, _) = members_after("[workspace]\nmembers = [\n  \"a\", # all\n]\n", "ci");
        assert_eq!(text, "[workspace]\nmembers = [\n  \"a\", # all\n  \"ci\",\n]\n");
        let (text, _) = members_after("[workspace]\nmembers = [\"a\", \"b\"]\n", "ci");
        assert_eq!(text, "[workspace]\nmembers = [\"a\", \"b\", \"ci\"]\n");
        let (text, _) = members_after("[package]\nname = \"rg\"\n", "xtask");
        assert_eq!(text, "[package]\nname = \"rg\"\n\n[workspace]\nmembers = [\"xtask\"]\n");
        let (text, _) = members_after("[package]\nname = \"rg\"\n\n[workspace]\nresolver = \"2\"\n", "xtask");
        assert!(text.ends_with("[workspace]\nresolver = \"2\"\nmembers = [\"xtask\"]\n"), "{text}");
    }

    #[test]
    fn a_member_already_listed_or_excluded_is_seen() {
        for listed in ["\"xtask\"", "\"./xtask/\"", "\"*\"", "\"x*\""] {
            let manifest = format!("[workspace]\nmembers = [{listed}]\n");
            assert_eq!(members_after(&manifest, "xtask"), (manifest.clone(), None), "{listed}");
        }
        let mut doc: DocumentMut = "[workspace]\nmembers = []\nexclude = [\"xtask\"]\n".parse().unwrap();
        assert!(add_member(&mut doc, "xtask").unwrap_err().to_string().contains("workspace.exclude"));
        assert!(!matches_member("crates/*", "xtask"));
    }

    #[test]
    fn aliases_that_run_the_package_are_this_one() {
        let item = |text: &str| text.parse::<DocumentMut>().unwrap()["a"].clone();
        assert!(alias_runs(&item("a = \"run --package xtask --\""), "xtask"));
        assert!(alias_runs(&item("a = \"run -p xtask --\""), "xtask"));
        assert!(alias_runs(&toml_edit::value(Array::from_iter(workspace::alias_words("xtask"))), "xtask"));
        assert!(!alias_runs(&item("a = \"run --package xtask-other --\""), "xtask"));
        assert!(!alias_runs(&item("a = \"test --package xtask\""), "xtask"));
    }

    #[test]
    fn names_are_what_cargo_takes() {
        assert!(check_name("--name", "xtask-ci").is_ok());
        for bad in ["", "1x", "x y", "../x", "x/y"] {
            assert!(check_name("--name", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_copy_leaves_out_this_repositorys_checks_and_build_output() {
        let files = copied_files(Utf8Path::new(env!("CARGO_MANIFEST_DIR")), Some("xtask-ci")).unwrap();
        for wanted in ["Cargo.toml", "rustfmt.toml", "src/main.rs", "src/adopt.rs", "tests/support/mod.rs"] {
            assert!(files.contains_key(wanted), "{wanted} in {:?}", files.keys());
        }
        assert!(!files.keys().any(|path| path.starts_with("target/") || path.starts_with('.')));
        let manifest = String::from_utf8(files["Cargo.toml"].0.clone()).unwrap();
        assert!(manifest.contains("name = \"xtask-ci\""), "{manifest}");
    }
}
