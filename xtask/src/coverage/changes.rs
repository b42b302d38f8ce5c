//! What a change touches: the files changed from a git ref to the working tree, the members
//! they can affect (`--changed-since`), and the changed lines (`--patch-base`).
//!
//! A changed file affects the member whose directory holds it (the deepest) and every member that
//! depends on it; the root `Cargo.toml`, cargo's config and the toolchain file affect every member,
//! `Cargo.lock` those whose resolved dependencies changed, any other file none. Build scripts that
//! read files elsewhere and environment changes are not seen: a full run now and then stays worthwhile.

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::Shell;

use super::summary::deepest_holder;
use crate::{child, tools, workspace::Member};

/// Files at the workspace root that change every member's build.
const AFFECT_EVERY_MEMBER: &[&str] =
    &["Cargo.toml", ".cargo/config.toml", ".cargo/config", "rust-toolchain", "rust-toolchain.toml"];

/// The git checkout that holds the workspace.
pub(super) struct Git<'a> {
    sh: &'a Shell,
    program: Utf8PathBuf,
    /// The checkout's top directory, as git gives it (links resolved), which every command runs in.
    top: Utf8PathBuf,
}

impl<'a> Git<'a> {
    /// The checkout holding `dir`; `flag` names the option that needs it.
    pub(super) fn open(sh: &'a Shell, dir: &Utf8Path, flag: &str) -> anyhow::Result<Git<'a>> {
        let git = tools::GIT.find(sh).with_context(|| format!("{flag} reads the change from git"))?;
        // Asked in `dir` first; the top git names then replaces it.
        let mut checkout = Git { sh, program: git.path, top: dir.to_owned() };
        let output = checkout.git().args(["rev-parse", "--show-toplevel"]).ignore_status().output()?;
        if !output.status.success() {
            bail!(
                "{flag} needs a git checkout, and {dir} is not in one (git says: {})",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let top = String::from_utf8(output.stdout).context("git's top directory is not UTF-8")?;
        checkout.top = top.trim_end_matches(['\n', '\r']).into();
        Ok(checkout)
    }

    /// What git prints for `args`, a name that is not UTF-8 read with replacement characters (its
    /// directory, which says which member it is in, stays as it is).
    fn read(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = self.git().args(args).output()?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn git(&self) -> xshell::Cmd<'a> {
        // Paths as they are (no octal quoting) and from the top whatever the user's settings, and
        // no pager, colour or external diff.
        let git = child::command(self.sh, &self.program).arg("-C").arg(&self.top);
        git.args(["-c", "core.quotePath=false", "-c", "diff.relative=false", "--no-pager"]).quiet()
    }

    /// The commit `reference` names; an error that says so when it names none.
    pub(super) fn commit(&self, reference: &str, flag: &str) -> anyhow::Result<String> {
        let spec = format!("{reference}^{{commit}}");
        let verify = ["rev-parse", "--verify", "--quiet", "--end-of-options", &spec];
        let output = self.git().args(verify).ignore_status().output()?;
        if !output.status.success() || reference.is_empty() {
            let shallow = self.read(&["rev-parse", "--is-shallow-repository"])?.trim() == "true";
            let hint = match shallow {
                true => {
                    "this checkout is a shallow clone, which may not hold it: fetch more history with \
                         `git fetch --deepen=100` or `git fetch --unshallow` (in GitHub Actions, `fetch-depth: 0` \
                         in actions/checkout)"
                }
                false => "a remote branch may need `git fetch` first",
            };
            bail!("unknown git ref `{reference}` in {flag}: no commit in {} has that name ({hint})", self.top);
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// Every file changed from `commit` to the working tree, staged or not, and every untracked
    /// file git does not ignore; a rename gives both names. Absolute paths.
    pub(super) fn changed_files(&self, commit: &str) -> anyhow::Result<Vec<Utf8PathBuf>> {
        // Every submodule change counts, whatever `.gitmodules` or the user's settings ignore.
        let diff = self.read(&["diff", "--name-status", "-z", "-M", "--ignore-submodules=none", commit, "--"])?;
        let untracked = self.read(&["ls-files", "--others", "--exclude-standard", "-z"])?;
        let mut files: Vec<Utf8PathBuf> = names_in_status(&diff)
            .chain(untracked.split('\0'))
            .filter(|name| !name.is_empty())
            .map(|name| self.top.join(name))
            .collect();
        files.sort_unstable();
        files.dedup();
        Ok(files)
    }

    /// The text of `path` (absolute, inside the checkout) at `commit`; `None` when it was not there.
    pub(super) fn file_at(&self, commit: &str, path: &Utf8Path) -> anyhow::Result<Option<String>> {
        let Ok(relative) = path.strip_prefix(&self.top) else { return Ok(None) };
        let spec = format!("{commit}:{}", relative.as_str().replace('\\', "/"));
        let output = self.git().args(["show", &spec]).ignore_status().output()?;
        Ok(output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned()))
    }

    /// Per file (absolute), the lines of the working tree that are new or changed since `commit`,
    /// renames followed; an untracked file's lines are all new.
    pub(super) fn changed_lines(&self, commit: &str) -> anyhow::Result<Vec<(Utf8PathBuf, Vec<u32>)>> {
        // The prefixes are given: `diff.noprefix` or `diff.mnemonicPrefix` would change them.
        let options = ["--unified=0", "-M", "--no-color", "--no-ext-diff", "--src-prefix=a/", "--dst-prefix=b/"];
        let diff = self.read(&[&["diff"][..], &options, &[commit, "--"]].concat())?;
        let mut changed: Vec<(Utf8PathBuf, Vec<u32>)> =
            new_lines_in_diff(&diff).into_iter().map(|(name, lines)| (self.top.join(name), lines)).collect();
        let untracked = self.read(&["ls-files", "--others", "--exclude-standard", "-z"])?;
        for name in untracked.split('\0').filter(|name| !name.is_empty()) {
            let path = self.top.join(name);
            // A file that is not text has no lines to cover.
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            changed.push((path, (1..=text.lines().count() as u32).collect()));
        }
        Ok(changed)
    }
}

/// The names in `git diff --name-status -z`: a status, then one name, or two for a rename or copy (`R100`).
fn names_in_status(output: &str) -> impl Iterator<Item = &str> {
    let mut fields = output.split('\0').filter(|field| !field.is_empty());
    std::iter::from_fn(move || {
        let status = fields.next()?;
        let names = if status.starts_with(['R', 'C']) { 2 } else { 1 };
        Some(fields.by_ref().take(names).collect::<Vec<_>>())
    })
    .flatten()
}

/// Per file, the new side's line numbers of each hunk in `git diff --unified=0`; deleted files are left out.
fn new_lines_in_diff(diff: &str) -> Vec<(String, Vec<u32>)> {
    let mut files: Vec<(String, Vec<u32>)> = Vec::new();
    let mut current: Option<usize> = None;
    for line in diff.lines() {
        if let Some(name) = line.strip_prefix("+++ ") {
            // git ends a name holding a space with a tab, and quotes one with a quote, a tab, a
            // newline or a byte that is not UTF-8.
            let name = unquote(name.strip_suffix('\t').unwrap_or(name));
            current = name.strip_prefix("b/").map(|name| {
                files.push((name.to_owned(), Vec::new()));
                files.len() - 1
            });
        } else if let (Some(hunk), Some(index)) = (line.strip_prefix("@@ "), current) {
            // `@@ -a[,b] +c[,d] @@`: d lines from c on the new side (d is 1 when left out).
            let Some(new) = hunk.split(' ').find_map(|field| field.strip_prefix('+')) else { continue };
            let (start, count) = new.split_once(',').unwrap_or((new, "1"));
            if let (Ok(start), Ok(count)) = (start.parse::<u32>(), count.parse::<u32>()) {
                files[index].1.extend(start..start + count);
            }
        }
    }
    files.retain(|(_, lines)| !lines.is_empty());
    files
}

/// A name as git writes it: quoted in C's way (`"a\"b\tc\303\251"`) when it holds a quote, a
/// control character or a byte that is not UTF-8, else as it is.
fn unquote(name: &str) -> String {
    const NAMED_ESCAPES: [(u8, u8); 7] =
        [(b'a', 0x07), (b'b', 0x08), (b't', b'\t'), (b'n', b'\n'), (b'v', 0x0b), (b'f', 0x0c), (b'r', b'\r')];
    let Some(quoted) = name.strip_prefix('"').and_then(|name| name.strip_suffix('"')) else {
        return name.to_owned();
    };
    // Byte by byte: every escape is ASCII, and UTF-8 passes through as it is.
    let (mut bytes, mut rest) = (Vec::new(), quoted.bytes().peekable());
    while let Some(byte) = rest.next() {
        if byte != b'\\' {
            bytes.push(byte);
            continue;
        }
        let Some(escape) = rest.next() else { break };
        bytes.push(match escape {
            b'0'..=b'7' => {
                let mut value = u32::from(escape - b'0');
                for _ in 0..2 {
                    if let Some(digit) = rest.next_if(|next| (b'0'..=b'7').contains(next)) {
                        value = value * 8 + u32::from(digit - b'0');
                    }
                }
                value as u8
            }
            other => NAMED_ESCAPES.iter().find(|(name, _)| *name == other).map_or(other, |(_, byte)| *byte),
        });
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Which members a change can affect, and why; and how many changed files lie outside them all.
#[derive(Debug, PartialEq)]
pub(super) struct Affected {
    /// Member names with the reason, in the members' order.
    pub(super) members: Vec<(String, String)>,
    pub(super) outside: Vec<Utf8PathBuf>,
}

/// The members that the `changed` files (absolute) can affect; `lock_changed` are the packages
/// whose entry in `Cargo.lock` changed.
pub(super) fn affected(
    root: &Utf8Path,
    members: &[Member],
    changed: &[Utf8PathBuf],
    lock_changed: &[String],
) -> Affected {
    let mut outside = Vec::new();
    let mut owned: Vec<Vec<&Utf8Path>> = vec![Vec::new(); members.len()];
    // A changed path that holds members is a submodule (git lists it as one path).
    let mut holders: Vec<Option<&Utf8Path>> = vec![None; members.len()];
    let affects_every = |relative: &Utf8Path| AFFECT_EVERY_MEMBER.iter().any(|name| relative == *name);
    let mut every = None;
    for file in changed {
        let relative = file.strip_prefix(root).ok();
        if let Some(relative) = relative.filter(|relative| affects_every(relative)) {
            every.get_or_insert(relative);
        } else if let Some(index) = deepest_holder(members.iter().map(|member| member.manifest_dir.as_path()), file) {
            owned[index].push(file.strip_prefix(&members[index].manifest_dir).unwrap_or(file));
        } else if relative != Some(Utf8Path::new("Cargo.lock")) {
            let holds = |member: &Member| member.manifest_dir.starts_with(file);
            for (holder, _) in holders.iter_mut().zip(members).filter(|(_, member)| holds(member)) {
                *holder = Some(relative.unwrap_or(file));
            }
            if !members.iter().any(holds) {
                outside.push(file.clone());
            }
        }
    }
    if let Some(relative) = every {
        let why = format!("`{relative}` changed, which affects every member");
        return Affected {
            members: members.iter().map(|member| (member.name.clone(), why.clone())).collect(),
            outside,
        };
    }
    let reasons = owned.iter().zip(&holders).map(|(files, holder)| match files.as_slice() {
        [] => holder.map(|holder| format!("{holder} changed (a submodule that holds it)")),
        [file] => Some(format!("{file} changed")),
        [file, rest @ ..] => Some(format!("{file} and {} more changed", rest.len())),
    });
    let mut reasons: Vec<Option<String>> = reasons.collect();
    let changed_members: Vec<&str> =
        members.iter().zip(&reasons).filter(|(_, why)| why.is_some()).map(|(member, _)| member.name.as_str()).collect();
    for (member, why) in members.iter().zip(reasons.iter_mut()).filter(|(_, why)| why.is_none()) {
        *why = match changed_members.iter().find(|name| member.dependencies.iter().any(|dep| dep == *name)) {
            Some(name) => Some(format!("depends on {name}")),
            None => lock_changed
                .iter()
                .find(|package| **package == member.name || member.dependencies.contains(package))
                .map(|package| format!("Cargo.lock: `{package}` changed")),
        };
    }
    let members = members.iter().zip(reasons).filter_map(|(member, why)| Some((member.name.clone(), why?))).collect();
    Affected { members, outside }
}

/// The packages whose entries differ between two `Cargo.lock` texts (version, source, checksum or
/// dependencies; added or removed), by name. A missing file has no entries.
pub(super) fn lock_changes(old: Option<&str>, new: Option<&str>) -> anyhow::Result<Vec<String>> {
    let entries = |text: Option<&str>, which: &str| -> anyhow::Result<Vec<(String, String)>> {
        let Some(text) = text else { return Ok(Vec::new()) };
        let doc: toml_edit::DocumentMut =
            text.parse().with_context(|| format!("the {which} Cargo.lock is not valid TOML"))?;
        let packages = doc.get("package").and_then(toml_edit::Item::as_array_of_tables).into_iter().flatten();
        let entries = packages.map(|package| {
            let name = package.get("name").and_then(toml_edit::Item::as_str).unwrap_or_default().to_owned();
            let mut fields: Vec<String> = package.iter().map(|(key, value)| format!("{key}={value}")).collect();
            fields.sort_unstable();
            (name, fields.join("\n"))
        });
        Ok(entries.collect())
    };
    let (old, new) = (entries(old, "old")?, entries(new, "current")?);
    let changed =
        old.iter().filter(|entry| !new.contains(entry)).chain(new.iter().filter(|entry| !old.contains(entry)));
    let names: std::collections::BTreeSet<&String> = changed.map(|(name, _)| name).collect();
    Ok(names.into_iter().cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::Target;

    fn member(name: &str, dependencies: &[&str]) -> Member {
        Member {
            name: name.into(),
            manifest_dir: format!("/ws/crates/{name}").into(),
            targets: vec![Target { name: name.into(), kinds: vec!["lib".into()] }],
            uses_python: false,
            dependencies: dependencies.iter().map(|dep| (*dep).to_owned()).collect(),
        }
    }

    /// `base` ← `mid` ← `leaf`; `leaf` also uses `regex`.
    fn chain() -> Vec<Member> {
        vec![member("base", &[]), member("leaf", &["base", "mid", "regex"]), member("mid", &["base"])]
    }

    fn paths(names: &[&str]) -> Vec<Utf8PathBuf> {
        names.iter().map(|name| Utf8Path::new("/ws").join(name)).collect()
    }

    fn names(affected: &Affected) -> Vec<(&str, &str)> {
        affected.members.iter().map(|(name, why)| (name.as_str(), why.as_str())).collect()
    }

    #[test]
    fn a_leaf_change_affects_the_leaf_alone() {
        let affected = affected("/ws".into(), &chain(), &paths(&["crates/leaf/src/lib.rs"]), &[]);
        assert_eq!(names(&affected), [("leaf", "src/lib.rs changed")]);
    }

    #[test]
    fn a_change_at_the_bottom_reaches_every_dependent() {
        let affected =
            affected("/ws".into(), &chain(), &paths(&["crates/base/src/lib.rs", "crates/base/Cargo.toml"]), &[]);
        assert_eq!(
            names(&affected),
            [("base", "src/lib.rs and 1 more changed"), ("leaf", "depends on base"), ("mid", "depends on base")]
        );
    }

    #[test]
    fn root_files_affect_every_member_and_others_none() {
        for root_file in ["Cargo.toml", ".cargo/config.toml", "rust-toolchain.toml"] {
            let found = affected("/ws".into(), &chain(), &paths(&["README.md", root_file]), &[]);
            assert_eq!(found.members.len(), 3, "{root_file}");
            assert!(found.members[0].1.starts_with(&format!("`{root_file}` changed")), "{found:?}");
            // The files outside every member are counted whatever order git lists them in.
            for order in [[root_file, "README.md"], ["README.md", root_file]] {
                assert_eq!(affected("/ws".into(), &chain(), &paths(&order), &[]).outside, paths(&["README.md"]));
            }
        }
        let found = affected("/ws".into(), &chain(), &paths(&["README.md", ".github/workflows/ci.yml"]), &[]);
        assert!(found.members.is_empty());
        assert_eq!(found.outside, paths(&["README.md", ".github/workflows/ci.yml"]));
        // A member's own Cargo.toml is that member's.
        let found = affected("/ws".into(), &chain(), &paths(&["crates/mid/Cargo.toml"]), &[]);
        assert_eq!(names(&found), [("leaf", "depends on mid"), ("mid", "Cargo.toml changed")]);
    }

    #[test]
    fn a_lock_change_affects_the_members_that_resolve_the_package() {
        let affected = affected("/ws".into(), &chain(), &paths(&["Cargo.lock"]), &["regex".into()]);
        assert_eq!(names(&affected), [("leaf", "Cargo.lock: `regex` changed")]);
        assert!(affected.outside.is_empty(), "Cargo.lock is read as a resolve, not as a file outside");
    }

    #[test]
    fn lock_files_are_compared_entry_by_entry() {
        let lock = |regex: &str| {
            format!(
                "version = 4\n\n[[package]]\nname = \"base\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \
                 \"regex\"\nversion = \"{regex}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
            )
        };
        assert_eq!(lock_changes(Some(&lock("1.10.0")), Some(&lock("1.11.0"))).unwrap(), ["regex"]);
        assert!(lock_changes(Some(&lock("1.10.0")), Some(&lock("1.10.0"))).unwrap().is_empty());
        assert_eq!(lock_changes(None, Some(&lock("1.10.0"))).unwrap(), ["base", "regex"]);
        assert!(lock_changes(Some("[[package"), None).unwrap_err().to_string().contains("old Cargo.lock"));
    }

    #[test]
    fn status_names_include_both_sides_of_a_rename() {
        let output = "M\0crates/a/src/lib.rs\0R087\0old name.rs\0new name.rs\0D\0gone.rs\0";
        assert_eq!(
            names_in_status(output).collect::<Vec<_>>(),
            ["crates/a/src/lib.rs", "old name.rs", "new name.rs", "gone.rs"]
        );
    }

    #[test]
    fn names_git_quotes_or_ends_with_a_tab_are_read_back() {
        // As git 2.39 writes them, with core.quotePath off.
        let diff = "+++ \"b/new\\nline.rs\"\n@@ -1 +1 @@\n+++ \"b/quo\\\"te.rs\"\n@@ -1 +1 @@\n\
                    +++ b/sp ace.rs\t\n@@ -1 +1 @@\n+++ \"b/tab\\tt.rs\"\n@@ -1 +1 @@\n\
                    +++ \"b/caf\\351.rs\"\n@@ -1 +1 @@\n+++ \"b/\\303\\251t\\303\\251.rs\"\n@@ -2,0 +3 @@\n";
        let names: Vec<(String, Vec<u32>)> = new_lines_in_diff(diff);
        let expected = ["new\nline.rs", "quo\"te.rs", "sp ace.rs", "tab\tt.rs", "caf\u{fffd}.rs", "\u{e9}t\u{e9}.rs"];
        assert_eq!(names.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(), expected);
        assert_eq!(names[5].1, [3]);
    }

    #[test]
    fn diff_hunks_give_the_new_sides_lines() {
        let diff = "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -3,0 +4,2 @@ fn a()\n+x\n+y\n\
                    @@ -10 +12 @@\n-a\n+b\n@@ -20,3 +21,0 @@\n-gone\n\
                    diff --git a/old.rs b/old.rs\ndeleted file mode 100644\n--- a/old.rs\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n\
                    diff --git a/new file.rs b/new file.rs\n--- /dev/null\n+++ b/new file.rs\n@@ -0,0 +1,3 @@\n+a\n+b\n+c\n";
        assert_eq!(
            new_lines_in_diff(diff),
            [("src/lib.rs".to_owned(), vec![4, 5, 12]), ("new file.rs".to_owned(), vec![1, 2, 3])]
        );
    }
}
