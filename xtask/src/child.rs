//! The environment of child processes: every command the xtask runs is made here.
//!
//! `cargo run` hands the xtask `CARGO_PKG_*`, `CARGO_MANIFEST_*` and friends, and an outer
//! `cargo llvm-cov` run adds its own variables and wrapper. Passed on, they would change what a
//! child cargo builds, and sccache hashes every `CARGO_*` variable into its keys, so the xtask's
//! builds would miss the cache a plain `cargo build` filled. The xtask never edits its own
//! environment: each child gets the inherited one minus these, plus what its task adds ([`Env`]).

use std::ffi::{OsStr, OsString};

use xshell::{Cmd, Shell};

/// Variables that `cargo run` / `cargo test` set for the program they start.
const CARGO_RUN_VARS: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
];
const CARGO_RUN_PREFIXES: &[&str] = &["CARGO_PKG_", "CARGO_BIN_EXE_"];

/// The prefix of what a task gives the xtask it starts in another role (coverage's test run gets
/// it as its llvm-cov): meant for that one process, never passed further down.
pub const PRIVATE_PREFIX: &str = "XTASK_COVERAGE_";

/// Set by cargo-llvm-cov (0.7+) when it puts itself in `RUSTC_WRAPPER`; the wrapper it replaced
/// is kept in `__CARGO_LLVM_COV_RUSTC_WRAPPER_PRE_EXISTING`.
const LLVM_COV_WRAPPER_MARK: &str = "__CARGO_LLVM_COV_RUSTC_WRAPPER";
const LLVM_COV_PRE_EXISTING_WRAPPER: &str = "__CARGO_LLVM_COV_RUSTC_WRAPPER_PRE_EXISTING";

/// One change to the environment a child inherits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvChange {
    Remove(OsString),
    Set(OsString, OsString),
}

impl EnvChange {
    fn name(&self) -> &OsStr {
        match self {
            EnvChange::Remove(name) | EnvChange::Set(name, _) => name,
        }
    }
}

/// What a child gets on top of the environment it inherits: the one shape in which every task
/// gives a command its variables, that `--dry-run` prints and tests read, so what is shown is
/// what runs. A name appears once; setting or removing it again replaces the earlier change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env(Vec<EnvChange>);

impl Env {
    pub fn set(self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Env {
        self.with(EnvChange::Set(name.as_ref().to_owned(), value.as_ref().to_owned()))
    }

    pub fn remove(self, name: impl AsRef<OsStr>) -> Env {
        self.with(EnvChange::Remove(name.as_ref().to_owned()))
    }

    /// `self` with every change of `other`, which wins where both name a variable.
    pub fn and(self, other: &Env) -> Env {
        other.0.iter().cloned().fold(self, Env::with)
    }

    fn with(mut self, change: EnvChange) -> Env {
        match self.0.iter_mut().find(|old| same_name(old.name(), &change.name().to_string_lossy())) {
            Some(old) => *old = change,
            None => self.0.push(change),
        }
        self
    }

    /// What the child sees of `name`: `Some(None)` when it is removed, `None` when it is inherited.
    pub fn get(&self, name: &str) -> Option<Option<&OsStr>> {
        self.0.iter().find(|change| same_name(change.name(), name)).map(|change| match change {
            EnvChange::Remove(_) => None,
            EnvChange::Set(_, value) => Some(value.as_os_str()),
        })
    }

    pub fn changes(&self) -> &[EnvChange] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `cmd` with these changes made to what it inherits.
    pub fn apply<'a>(&self, cmd: Cmd<'a>) -> Cmd<'a> {
        self.0.iter().fold(cmd, |cmd, change| match change {
            EnvChange::Remove(name) => cmd.env_remove(name),
            EnvChange::Set(name, value) => cmd.env(name, value),
        })
    }

    /// Each change as `env(1)` takes it: `NAME=value`, or `-u NAME` for a removal.
    pub fn words(&self) -> impl Iterator<Item = String> + '_ {
        self.0.iter().map(|change| match change {
            EnvChange::Remove(name) => format!("-u {}", name.to_string_lossy()),
            EnvChange::Set(name, value) => format!("{}={}", name.to_string_lossy(), value.to_string_lossy()),
        })
    }
}

/// The changes on one line, in `env(1)`'s syntax: the prefix of a command shown to the user.
impl std::fmt::Display for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.words().collect::<Vec<_>>().join(" "))
    }
}

/// What to change in `inherited` (the xtask's own environment) for any child process.
pub fn inherited_changes(inherited: impl IntoIterator<Item = (OsString, OsString)>) -> Env {
    let inherited: Vec<(OsString, OsString)> = inherited.into_iter().collect();
    let value_of = |name: &str| inherited.iter().find(|(key, _)| same_name(key, name)).map(|(_, value)| value);

    let stripped =
        inherited.iter().filter(|(key, _)| injected(key)).fold(Env::default(), |env, (key, _)| env.remove(key));
    // cargo-llvm-cov's wrapper only works under its own run; give the child the wrapper the user had.
    if value_of(LLVM_COV_WRAPPER_MARK).is_none() {
        return stripped;
    }
    match value_of(LLVM_COV_PRE_EXISTING_WRAPPER).filter(|wrapper| !wrapper.is_empty()) {
        Some(wrapper) => stripped.set("RUSTC_WRAPPER", wrapper),
        None => stripped.remove("RUSTC_WRAPPER"),
    }
}

fn injected(key: &OsStr) -> bool {
    let Some(key) = key.to_str() else { return false };
    let key = normalize(key);
    CARGO_RUN_VARS.iter().any(|name| key == *name)
        || CARGO_RUN_PREFIXES.iter().any(|prefix| key.starts_with(prefix))
        || key.starts_with(PRIVATE_PREFIX)
        || set_by_llvm_cov(&key)
}

/// Whether an outer `cargo llvm-cov` run sets `key` (its own settings and its wrapper's).
fn set_by_llvm_cov(key: &str) -> bool {
    key == "LLVM_PROFILE_FILE" || ["CARGO_LLVM_COV", "__CARGO_LLVM_COV"].iter().any(|prefix| key.starts_with(prefix))
}

/// The names in `vars` that a `cargo llvm-cov` run sets, sorted: in a shell they are leftovers of
/// `source <(cargo llvm-cov show-env --export-prefix)`.
pub fn llvm_cov_variables(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Vec<String> {
    let mut names: Vec<String> = vars
        .into_iter()
        .filter_map(|(key, _)| key.into_string().ok())
        .filter(|key| set_by_llvm_cov(&normalize(key)))
        .collect();
    names.sort_unstable();
    names
}

fn same_name(key: &OsStr, name: &str) -> bool {
    key.to_str().is_some_and(|key| normalize(key) == name)
}

/// Environment variable names are case-insensitive on Windows.
fn normalize(key: &str) -> std::borrow::Cow<'_, str> {
    if cfg!(windows) { key.to_ascii_uppercase().into() } else { key.into() }
}

/// A command for `program` with the child environment applied; a task adds its own variables
/// with [`Env::apply`].
pub fn command<'a>(sh: &'a Shell, program: impl AsRef<std::path::Path>) -> Cmd<'a> {
    inherited_changes(std::env::vars_os()).apply(sh.cmd(program))
}

/// A command for cargo: the one that started the xtask (`$CARGO`), else `cargo` from `PATH`.
pub fn cargo(sh: &Shell) -> Cmd<'_> {
    command(sh, sh.var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs.iter().map(|(k, v)| (k.into(), v.into())).collect()
    }

    fn removed(env: &Env) -> Vec<&str> {
        env.changes()
            .iter()
            .filter_map(|change| match change {
                EnvChange::Remove(key) => key.to_str(),
                EnvChange::Set(..) => None,
            })
            .collect()
    }

    #[test]
    fn strips_what_cargo_run_injects_and_keeps_user_settings() {
        let changes = inherited_changes(vars(&[
            ("CARGO_PKG_NAME", "xtask"),
            ("CARGO_PKG_VERSION", "0.0.0"),
            ("CARGO_MANIFEST_DIR", "/ws/xtask"),
            ("CARGO_MANIFEST_PATH", "/ws/xtask/Cargo.toml"),
            ("CARGO_CRATE_NAME", "xtask"),
            ("CARGO_BIN_NAME", "xtask"),
            ("CARGO_PRIMARY_PACKAGE", "1"),
            ("CARGO", "/toolchain/bin/cargo"),
            ("CARGO_HOME", "/home/me/.cargo"),
            ("CARGO_TARGET_DIR", "/shared/target"),
            ("CARGO_INCREMENTAL", "0"),
            ("RUSTC_WRAPPER", "sccache"),
            ("PATH", "/usr/bin"),
        ]));
        assert_eq!(
            removed(&changes),
            [
                "CARGO_PKG_NAME",
                "CARGO_PKG_VERSION",
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE"
            ]
        );
        assert_eq!(changes.changes().len(), 7, "nothing is set: {changes:?}");
    }

    #[test]
    fn strips_an_outer_llvm_cov_run_and_restores_the_wrapper_it_replaced() {
        let changes = inherited_changes(vars(&[
            ("CARGO_LLVM_COV", "1"),
            ("CARGO_LLVM_COV_TARGET_DIR", "/ws/target/llvm-cov-target"),
            ("LLVM_PROFILE_FILE", "/ws/target/llvm-cov-target/ws-%p-%m.profraw"),
            ("RUSTC_WRAPPER", "/home/me/.cargo/bin/cargo-llvm-cov"),
            ("__CARGO_LLVM_COV_RUSTC_WRAPPER", "1"),
            ("__CARGO_LLVM_COV_RUSTC_WRAPPER_RUSTFLAGS", "-C\x1finstrument-coverage"),
            ("__CARGO_LLVM_COV_RUSTC_WRAPPER_PRE_EXISTING", "/usr/bin/sccache"),
            ("LLVM_PROFILE_FILE_NAME", "mine-%p.profraw"),
        ]));
        assert_eq!(
            removed(&changes),
            [
                "CARGO_LLVM_COV",
                "CARGO_LLVM_COV_TARGET_DIR",
                "LLVM_PROFILE_FILE",
                "__CARGO_LLVM_COV_RUSTC_WRAPPER",
                "__CARGO_LLVM_COV_RUSTC_WRAPPER_RUSTFLAGS",
                "__CARGO_LLVM_COV_RUSTC_WRAPPER_PRE_EXISTING",
            ]
        );
        assert_eq!(changes.get("RUSTC_WRAPPER"), Some(Some(OsStr::new("/usr/bin/sccache"))));
    }

    #[test]
    fn names_the_variables_a_llvm_cov_run_left() {
        let names = llvm_cov_variables(vars(&[
            ("PATH", "/usr/bin"),
            ("LLVM_PROFILE_FILE", "/t/x-%p.profraw"),
            ("CARGO_LLVM_COV_TARGET_DIR", "/t"),
            ("CARGO_TARGET_DIR", "/t"),
        ]));
        assert_eq!(names, ["CARGO_LLVM_COV_TARGET_DIR", "LLVM_PROFILE_FILE"]);
    }

    #[test]
    fn drops_the_llvm_cov_wrapper_when_there_was_none_before() {
        let changes = inherited_changes(vars(&[
            ("RUSTC_WRAPPER", "/bin/cargo-llvm-cov"),
            ("__CARGO_LLVM_COV_RUSTC_WRAPPER", "1"),
            ("__CARGO_LLVM_COV_RUSTC_WRAPPER_PRE_EXISTING", ""),
        ]));
        assert_eq!(changes.get("RUSTC_WRAPPER"), Some(None));
    }

    #[test]
    fn a_user_wrapper_without_llvm_cov_is_left_alone() {
        assert!(inherited_changes(vars(&[("RUSTC_WRAPPER", "sccache"), ("SCCACHE_DIR", "/c")])).is_empty());
    }

    #[test]
    fn a_name_is_changed_once_and_the_last_change_wins() {
        let env =
            Env::default().set("A", "1").remove("B").set("C", "3").set("A", "one").and(&Env::default().set("B", "2"));
        assert_eq!(env.to_string(), "A=one B=2 C=3");
        assert_eq!(Env::default().set("A", "1").remove("A").to_string(), "-u A");
        assert_eq!(env.get("B"), Some(Some(OsStr::new("2"))));
        assert_eq!(env.get("D"), None);
        let sh = Shell::new().unwrap();
        let cmd = std::process::Command::from(Env::default().set("A", "1").remove("B").apply(sh.cmd("true")));
        let envs: Vec<_> = cmd.get_envs().collect();
        assert!(
            envs.contains(&(OsStr::new("A"), Some(OsStr::new("1")))) && envs.contains(&(OsStr::new("B"), None)),
            "{envs:?}"
        );
    }

    #[test]
    fn commands_carry_the_changes() {
        let sh = Shell::new().unwrap();
        let cmd = std::process::Command::from(cargo(&sh).arg("metadata"));
        // The test binary itself runs under `cargo test`, which sets CARGO_PKG_NAME and friends.
        let envs: Vec<_> = cmd.get_envs().collect();
        assert!(envs.contains(&(OsStr::new("CARGO_PKG_NAME"), None)), "{envs:?}");
        assert!(envs.contains(&(OsStr::new("CARGO_MANIFEST_DIR"), None)), "{envs:?}");
    }
}
