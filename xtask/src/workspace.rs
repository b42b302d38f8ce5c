//! The workspace as cargo sees it, from `cargo metadata`.
//!
//! Everything comes from cargo for the workspace found from the current directory, so the same
//! binary works from any subdirectory and inside any other workspace (the tests run it in
//! fixture workspaces). Target and build directories are cargo's answer, with `CARGO_TARGET_DIR`,
//! `build.target-dir` and `build.build-dir` already applied; never re-derive them.

use anyhow::{Context, bail};
use camino::{Utf8Component, Utf8Path, Utf8PathBuf};
use serde_json::{Map, Value};
use xshell::Shell;

use crate::child::{self, Env};

/// This xtask's own package: `xtask` here, whatever it is named in a workspace it was copied into.
pub const XTASK_PACKAGE: &str = env!("CARGO_PKG_NAME");

/// What the `cargo xtask` alias runs for `package`: `cargo run` of it, built without the rustc
/// wrapper of cargo's config files, so that `cargo xtask doctor` runs when that wrapper breaks
/// every build. This repository's `.cargo/config.toml` has the same (a test checks it).
pub fn alias_words(package: &str) -> [&str; 6] {
    ["run", "--package", package, "--config", "build.rustc-wrapper=''", "--"]
}

/// Packages whose presence in a crate's dependency graph means its tests link libpython.
const PYTHON_BINDINGS: &[&str] = &["pyo3", "pyo3-ffi"];

#[derive(Debug)]
pub struct Workspace {
    pub root: Utf8PathBuf,
    pub target_dir: Utf8PathBuf,
    /// Where intermediate artifacts go: `build.build-dir`, or the target directory.
    pub build_dir: Utf8PathBuf,
    /// Sorted by name.
    pub members: Vec<Member>,
    /// `[workspace.metadata.xtask]` from the root `Cargo.toml`, empty when absent.
    pub settings: Map<String, Value>,
}

#[derive(Debug)]
pub struct Member {
    pub name: String,
    pub manifest_dir: Utf8PathBuf,
    pub targets: Vec<Target>,
    /// Depends on pyo3, directly or through other crates, with all features on.
    pub uses_python: bool,
    /// The names of every package it depends on, directly or through others (members too), all
    /// dependency kinds and features: what a change to one of them can affect.
    pub dependencies: Vec<String>,
}

#[derive(Debug)]
pub struct Target {
    pub name: String,
    /// `lib`, `cdylib`, `bin`, `test`, `bench`, `example`, `custom-build`, ...
    pub kinds: Vec<String>,
}

/// The cargo configuration file in `dir` (a `.cargo` directory or `CARGO_HOME`): the legacy
/// `config` when it exists, as cargo prefers it over `config.toml`, else `config.toml`.
pub fn cargo_config_in(dir: &Utf8Path) -> Utf8PathBuf {
    let legacy = dir.join("config");
    if legacy.is_file() { legacy } else { dir.join("config.toml") }
}

/// The cargo configuration files that exist, as cargo reads them from `dir`: `.cargo/` in `dir`
/// and each ancestor, closest first, then `cargo_home`'s.
pub fn cargo_config_files(dir: &Utf8Path, cargo_home: Option<&Utf8Path>) -> Vec<Utf8PathBuf> {
    let dirs = dir.ancestors().map(|dir| dir.join(".cargo")).chain(cargo_home.map(Utf8Path::to_owned));
    let mut files: Vec<Utf8PathBuf> = Vec::new();
    for file in dirs.map(|dir| cargo_config_in(&dir)) {
        if file.is_file() && !files.contains(&file) {
            files.push(file);
        }
    }
    files
}

/// `path` as the user typed it in `cwd` (where they ran the command, not the workspace root the
/// shell moved to): absolute, and without `.` parts, so that `.` shows as the directory itself.
pub fn users_path(cwd: &Utf8Path, path: &Utf8Path) -> Utf8PathBuf {
    cwd.join(path).components().filter(|part| *part != Utf8Component::CurDir).collect()
}

/// The directory the user ran the command in: the process's own, which the xtask never changes
/// (`main` moves the shell to the workspace root instead). Paths the user typed are relative to it.
pub fn users_dir() -> anyhow::Result<Utf8PathBuf> {
    Utf8PathBuf::try_from(std::env::current_dir()?).context("the current directory is not UTF-8")
}

/// `path` as the user typed it, made absolute against the directory they ran the command in.
pub fn users_absolute(path: &Utf8Path) -> anyhow::Result<Utf8PathBuf> {
    Ok(users_path(&users_dir()?, path))
}

/// The workspace root, where `main` put the shell.
pub fn root_of(sh: &Shell) -> anyhow::Result<Utf8PathBuf> {
    Utf8PathBuf::from_path_buf(sh.current_dir())
        .map_err(|dir| anyhow::anyhow!("the workspace path {} is not UTF-8", dir.display()))
}

/// The root of the workspace that contains the current directory of `sh`.
pub fn locate_root(sh: &Shell) -> anyhow::Result<Utf8PathBuf> {
    // A manifest with a `[workspace]` table is always the root of its workspace: the usual case,
    // run from the root, needs no cargo process (about 20 ms of every task's start).
    if let Ok(dir) = Utf8PathBuf::try_from(sh.current_dir())
        && declares_workspace(&dir.join("Cargo.toml"))
    {
        return Ok(dir);
    }
    let manifest = child::cargo(sh)
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .quiet()
        .read()
        .with_context(|| {
            format!("`cargo xtask` must run inside a cargo workspace, and {} is not in one", sh.current_dir().display())
        })?;
    let manifest = Utf8PathBuf::from(manifest.trim());
    manifest
        .parent()
        .map(Utf8Path::to_owned)
        .with_context(|| format!("cargo named {manifest} as the workspace manifest"))
}

/// Whether `manifest` exists, parses, and has a `[workspace]` table.
fn declares_workspace(manifest: &Utf8Path) -> bool {
    let Ok(Some(text)) = crate::safe_fs::read_regular(manifest, true) else { return false };
    text.parse::<toml_edit::DocumentMut>()
        .is_ok_and(|doc| doc.get("workspace").is_some_and(toml_edit::Item::is_table_like))
}

/// `cargo metadata` in its stable format, changing nothing on disk.
pub fn metadata_command(sh: &Shell) -> xshell::Cmd<'_> {
    let env = Env::default()
        // Else cargo writes `.rustc_info.json` into the target and build directories, even into
        // an ordinary folder they name: a read must leave them as they were.
        .set("CARGO_CACHE_RUSTC_INFO", "0")
        // Reading needs no compiler wrapper, and a broken one (sccache refusing
        // CARGO_INCREMENTAL=1, a program that is gone) is what `doctor` must still report.
        .set("RUSTC_WRAPPER", "");
    env.apply(child::cargo(sh).args(["metadata", "--format-version", "1"]))
}

impl Workspace {
    /// Asks cargo about the workspace that contains the current directory of `sh`.
    pub fn load(sh: &Shell) -> anyhow::Result<Workspace> {
        // cargo writes a missing Cargo.lock when it resolves the dependencies; reading the
        // workspace must leave it as it was (else `--changed-since` would count the new lock).
        let missing_lock = locate_root(sh).map(|root| root.join("Cargo.lock")).ok().filter(|lock| !lock.exists());
        let json = metadata_command(sh).arg("--all-features").quiet().read();
        if let Some(lock) = missing_lock.filter(|lock| lock.is_file()) {
            std::fs::remove_file(&lock)
                .with_context(|| format!("could not remove {lock}, which `cargo metadata` wrote"))?;
        }
        let json = json.context("`cargo metadata` failed; its message above says why")?;
        let metadata: Value =
            serde_json::from_str(&json).context("`cargo metadata` printed something that is not JSON")?;
        Workspace::from_metadata(&metadata)
    }

    fn from_metadata(metadata: &Value) -> anyhow::Result<Workspace> {
        let root = path_field(metadata, "workspace_root")?;
        let target_dir = path_field(metadata, "target_directory")?;
        // cargo before 1.91 has no `build_directory`: intermediates live in the target directory.
        let build_dir = match metadata.get("build_directory") {
            Some(_) => path_field(metadata, "build_directory")?,
            None => target_dir.clone(),
        };
        let settings = match metadata.pointer("/metadata/xtask") {
            None => Map::new(),
            Some(Value::Object(settings)) => settings.clone(),
            Some(other) => {
                bail!("[workspace.metadata.xtask] in {} must be a table, not {other}", root.join("Cargo.toml"))
            }
        };

        let packages = array_field(metadata, "packages")?;
        let member_ids = array_field(metadata, "workspace_members")?;
        let graph = DependencyGraph::from_metadata(metadata, packages)?;
        let mut members = Vec::new();
        for package in packages.iter().filter(|package| member_ids.contains(&package["id"])) {
            let id = str_field(package, "id")?;
            let manifest_path = path_field(package, "manifest_path")?;
            let targets = array_field(package, "targets")?
                .iter()
                .map(|target| {
                    let kinds =
                        array_field(target, "kind")?.iter().filter_map(Value::as_str).map(str::to_owned).collect();
                    Ok(Target { name: str_field(target, "name")?.to_owned(), kinds })
                })
                .collect::<anyhow::Result<_>>()?;
            let dependencies = graph.reachable_names(id);
            members.push(Member {
                name: str_field(package, "name")?.to_owned(),
                manifest_dir: manifest_path.parent().context("a manifest path has a parent")?.to_owned(),
                targets,
                uses_python: dependencies.iter().any(|name| PYTHON_BINDINGS.contains(&name.as_str())),
                dependencies,
            });
        }
        members.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        Ok(Workspace { root, target_dir, build_dir, members, settings })
    }

    /// Whether the target directory lies outside the workspace, shared with other projects.
    pub fn target_dir_is_shared(&self) -> bool {
        !self.target_dir.starts_with(&self.root)
    }
}

/// The resolved dependency graph, by package id: all dependency kinds, all features.
struct DependencyGraph<'a> {
    names: std::collections::HashMap<&'a str, &'a str>,
    deps: std::collections::HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> DependencyGraph<'a> {
    fn from_metadata(metadata: &'a Value, packages: &'a [Value]) -> anyhow::Result<DependencyGraph<'a>> {
        let names =
            packages.iter().map(|p| Ok((str_field(p, "id")?, str_field(p, "name")?))).collect::<anyhow::Result<_>>()?;
        let nodes = metadata
            .pointer("/resolve/nodes")
            .and_then(Value::as_array)
            .context("`cargo metadata` has no resolve graph")?;
        let mut deps = std::collections::HashMap::new();
        for node in nodes {
            let edges =
                array_field(node, "deps")?.iter().map(|dep| str_field(dep, "pkg")).collect::<anyhow::Result<_>>()?;
            deps.insert(str_field(node, "id")?, edges);
        }
        Ok(DependencyGraph { names, deps })
    }

    /// The names of the packages reachable from `start` (itself excluded, unless a cycle leads
    /// back), sorted, each once.
    fn reachable_names(&self, start: &str) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        let mut stack: Vec<&str> = self.deps.get(start).cloned().unwrap_or_default();
        while let Some(id) = stack.pop() {
            if seen.insert(id) {
                stack.extend(self.deps.get(id).into_iter().flatten());
            }
        }
        let mut names: Vec<String> = seen.iter().filter_map(|id| Some((*self.names.get(id)?).to_owned())).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

fn str_field<'a>(value: &'a Value, key: &str) -> anyhow::Result<&'a str> {
    value.get(key).and_then(Value::as_str).with_context(|| format!("`cargo metadata` output lacks the string `{key}`"))
}

fn array_field<'a>(value: &'a Value, key: &str) -> anyhow::Result<&'a [Value]> {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .with_context(|| format!("`cargo metadata` output lacks the list `{key}`"))
}

/// A path from cargo with `.` and `..` resolved in the text: cargo reports a configured
/// `target-dir = "../shared"` as `<root>/../shared`. Links are left alone, so a linked directory
/// still shows as a link.
fn path_field(value: &Value, key: &str) -> anyhow::Result<Utf8PathBuf> {
    let mut path = Utf8PathBuf::new();
    for component in Utf8Path::new(str_field(value, key)?).components() {
        match component {
            Utf8Component::CurDir => {}
            Utf8Component::ParentDir if matches!(path.components().next_back(), Some(Utf8Component::Normal(_))) => {
                path.pop();
            }
            other => path.push(other),
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A trimmed `cargo metadata` answer: `app` -> `bindings` -> `pyo3` -> `pyo3-ffi`, and a plain `lib`.
    fn metadata() -> Value {
        let package = |id: &str, name: &str, dir: &str, kinds: &[&str]| {
            json!({
                "id": id, "name": name, "manifest_path": format!("{dir}/Cargo.toml"),
                "targets": kinds.iter().map(|kind| json!({"name": name.replace('-', "_"), "kind": [kind]})).collect::<Vec<_>>(),
            })
        };
        let node = |id: &str, deps: &[&str]| json!({"id": id, "deps": deps.iter().map(|d| json!({"pkg": d})).collect::<Vec<_>>()});
        json!({
            "workspace_root": "/ws",
            "target_directory": "/ws/./../shared/target",
            "build_directory": "/shared/build",
            "workspace_members": ["path+file:///ws/app#0.1.0", "path+file:///ws/lib#0.1.0"],
            "packages": [
                package("path+file:///ws/app#0.1.0", "app", "/ws/app", &["bin", "test"]),
                package("path+file:///ws/lib#0.1.0", "lib", "/ws/lib", &["lib"]),
                package("registry+x#bindings@1.0.0", "bindings", "/reg/bindings", &["lib"]),
                package("registry+x#pyo3@0.30.1", "pyo3", "/reg/pyo3", &["lib"]),
                package("registry+x#pyo3-ffi@0.30.1", "pyo3-ffi", "/reg/pyo3-ffi", &["lib"]),
            ],
            "resolve": {"nodes": [
                node("path+file:///ws/app#0.1.0", &["registry+x#bindings@1.0.0", "path+file:///ws/lib#0.1.0"]),
                node("path+file:///ws/lib#0.1.0", &[]),
                node("registry+x#bindings@1.0.0", &["registry+x#pyo3@0.30.1"]),
                node("registry+x#pyo3@0.30.1", &["registry+x#pyo3-ffi@0.30.1"]),
                node("registry+x#pyo3-ffi@0.30.1", &[]),
            ]},
            "metadata": {"xtask": {"coverage-fast-exclude": ["app"]}},
        })
    }

    #[test]
    fn reads_members_directories_and_settings() {
        let ws = Workspace::from_metadata(&metadata()).unwrap();
        assert_eq!(ws.root, "/ws");
        assert_eq!(ws.target_dir, "/shared/target");
        assert_eq!(ws.build_dir, "/shared/build");
        assert!(ws.target_dir_is_shared());
        assert_eq!(ws.members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["app", "lib"]);
        let app = &ws.members[0];
        assert_eq!(app.manifest_dir, "/ws/app");
        assert_eq!(app.targets.iter().map(|t| t.kinds[0].as_str()).collect::<Vec<_>>(), ["bin", "test"]);
        assert_eq!(ws.settings["coverage-fast-exclude"], json!(["app"]));
    }

    #[test]
    fn finds_python_bindings_through_other_crates() {
        let ws = Workspace::from_metadata(&metadata()).unwrap();
        assert!(ws.members[0].uses_python, "app reaches pyo3 through bindings");
        assert!(!ws.members[1].uses_python);
    }

    #[test]
    fn old_cargo_without_build_directory_builds_in_the_target_directory() {
        let mut metadata = metadata();
        metadata.as_object_mut().unwrap().remove("build_directory");
        metadata["target_directory"] = json!("/ws/target");
        let ws = Workspace::from_metadata(&metadata).unwrap();
        assert_eq!(ws.build_dir, "/ws/target");
        assert!(!ws.target_dir_is_shared());
    }

    #[test]
    fn settings_that_are_not_a_table_are_an_error_naming_the_file() {
        let mut metadata = metadata();
        metadata["metadata"]["xtask"] = json!("fast");
        let err = Workspace::from_metadata(&metadata).unwrap_err().to_string();
        // The root as the workspace reads it (on Windows `/ws` is read as `\ws`).
        let manifest = Workspace::from_metadata(&self::metadata()).unwrap().root.join("Cargo.toml");
        assert_eq!(err, format!("[workspace.metadata.xtask] in {manifest} must be a table, not \"fast\""));
    }

    #[test]
    fn config_files_are_found_closest_first_with_cargos_preference_for_the_legacy_name() {
        let sh = Shell::new().unwrap();
        let temp = sh.create_temp_dir().unwrap();
        let root = Utf8Path::from_path(temp.path()).unwrap();
        for (file, text) in [
            ("ws/sub/.cargo/config.toml", ""),
            ("ws/.cargo/config", ""),
            ("ws/.cargo/config.toml", ""),
            ("home/config.toml", ""),
        ] {
            std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
            std::fs::write(root.join(file), text).unwrap();
        }
        let files = cargo_config_files(&root.join("ws/sub"), Some(&root.join("home")));
        let relative: Vec<&Utf8Path> = files.iter().map(|f| f.strip_prefix(root).unwrap()).collect();
        assert_eq!(relative, ["ws/sub/.cargo/config.toml", "ws/.cargo/config", "home/config.toml"].map(Utf8Path::new));
        assert_eq!(cargo_config_in(&root.join("nowhere")), root.join("nowhere/config.toml"));
    }

    #[test]
    fn a_manifest_is_a_workspace_root_when_it_has_a_workspace_table() {
        let sh = Shell::new().unwrap();
        let temp = sh.create_temp_dir().unwrap();
        let root = Utf8Path::from_path(temp.path()).unwrap();
        for (name, text, is_root) in [
            ("table", "[workspace]\nmembers = [\"a\"]\n", true),
            ("inline", "workspace = { members = [] }\n", true),
            ("dotted", "workspace.members = []\n", true),
            ("package", "[package]\nname = \"p\"\nworkspace = \"..\"\n", false),
            ("broken", "[workspace\n", false),
        ] {
            let manifest = root.join(format!("{name}.toml"));
            std::fs::write(&manifest, text).unwrap();
            assert_eq!(declares_workspace(&manifest), is_root, "{name}");
        }
        assert!(!declares_workspace(&root.join("missing.toml")));
    }

    #[test]
    fn a_dependency_cycle_through_dev_dependencies_terminates() {
        let mut metadata = metadata();
        metadata["resolve"]["nodes"][1]["deps"] = json!([{"pkg": "path+file:///ws/app#0.1.0"}]);
        let ws = Workspace::from_metadata(&metadata).unwrap();
        assert!(ws.members[1].uses_python, "lib reaches pyo3 through app");
    }
}
