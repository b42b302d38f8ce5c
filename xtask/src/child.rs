//! The environment of child processes: every command the xtask runs is made here.
//!
//! `cargo run` hands the xtask `CARGO_PKG_*`, `CARGO_MANIFEST_*` and friends, and an outer
//! `cargo llvm-cov` run adds its own variables and wrapper. Passed on, they would change what a
//! child cargo builds, and sccache hashes every `CARGO_*` variable into its cache keys, so a
//! build started from the xtask would miss the cache that a plain `cargo build` filled. The xtask
//! never edits its own environment; each child gets the inherited one minus these, plus exactly
//! what its task adds with `Cmd::env`.

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
pub(crate) const PRIVATE_PREFIX: &str = "XTASK_COVERAGE_";

/// Variables that an outer `cargo llvm-cov` run sets (its own settings and its wrapper's).
const LLVM_COV_VARS: &[&str] = &["LLVM_PROFILE_FILE"];
const LLVM_COV_PREFIXES: &[&str] = &["CARGO_LLVM_COV", "__CARGO_LLVM_COV"];

/// Set by cargo-llvm-cov (0.7+) when it puts itself in `RUSTC_WRAPPER`; the wrapper it replaced
/// is kept in `__CARGO_LLVM_COV_RUSTC_WRAPPER_PRE_EXISTING`.
const LLVM_COV_WRAPPER_MARK: &str = "__CARGO_LLVM_COV_RUSTC_WRAPPER";
const LLVM_COV_PRE_EXISTING_WRAPPER: &str = "__CARGO_LLVM_COV_RUSTC_WRAPPER_PRE_EXISTING";

/// One change to the inherited environment of a child.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EnvChange {
    Remove(OsString),
    Set(OsString, OsString),
}

/// What to change in `inherited` (the xtask's own environment) for a child process.
pub(crate) fn env_changes(inherited: impl IntoIterator<Item = (OsString, OsString)>) -> Vec<EnvChange> {
    let inherited: Vec<(OsString, OsString)> = inherited.into_iter().collect();
    let value_of = |name: &str| inherited.iter().find(|(key, _)| same_name(key, name)).map(|(_, value)| value);

    let mut changes: Vec<EnvChange> =
        inherited.iter().filter(|(key, _)| injected(key)).map(|(key, _)| EnvChange::Remove(key.clone())).collect();

    // cargo-llvm-cov's wrapper only works under its own run; give the child the wrapper the user had.
    if value_of(LLVM_COV_WRAPPER_MARK).is_some() {
        changes.push(match value_of(LLVM_COV_PRE_EXISTING_WRAPPER).filter(|wrapper| !wrapper.is_empty()) {
            Some(wrapper) => EnvChange::Set("RUSTC_WRAPPER".into(), wrapper.clone()),
            None => EnvChange::Remove("RUSTC_WRAPPER".into()),
        });
    }
    changes
}

fn injected(key: &OsStr) -> bool {
    let Some(key) = key.to_str() else { return false };
    let key = normalize(key);
    CARGO_RUN_VARS.iter().any(|name| key == *name)
        || CARGO_RUN_PREFIXES.iter().any(|prefix| key.starts_with(prefix))
        || key.starts_with(PRIVATE_PREFIX)
        || set_by_llvm_cov(&key)
}

fn set_by_llvm_cov(key: &str) -> bool {
    LLVM_COV_VARS.contains(&key) || LLVM_COV_PREFIXES.iter().any(|prefix| key.starts_with(prefix))
}

/// The names in `vars` that a `cargo llvm-cov` run sets, sorted: in a shell they are leftovers of
/// `source <(cargo llvm-cov show-env --export-prefix)`.
pub(crate) fn llvm_cov_variables(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Vec<String> {
    let mut names: Vec<String> = vars
        .into_iter()
        .filter_map(|(key, _)| key.into_string().ok())
        .filter(|key| set_by_llvm_cov(&normalize(key)))
        .collect();
    names.sort();
    names
}

fn same_name(key: &OsStr, name: &str) -> bool {
    key.to_str().is_some_and(|key| normalize(key) == name)
}

/// Environment variable names are case-insensitive on Windows.
fn normalize(key: &str) -> std::borrow::Cow<'_, str> {
    if cfg!(windows) { key.to_ascii_uppercase().into() } else { key.into() }
}

/// A command for `program` with the child environment applied.
pub(crate) fn command<'a>(sh: &'a Shell, program: impl AsRef<std::path::Path>) -> Cmd<'a> {
    env_changes(std::env::vars_os()).into_iter().fold(sh.cmd(program), |cmd, change| match change {
        EnvChange::Remove(key) => cmd.env_remove(key),
        EnvChange::Set(key, value) => cmd.env(key, value),
    })
}

/// A command for cargo: the one that started the xtask (`$CARGO`), else `cargo` from `PATH`.
pub(crate) fn cargo(sh: &Shell) -> Cmd<'_> {
    command(sh, sh.var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs.iter().map(|(k, v)| (k.into(), v.into())).collect()
    }

    fn removed(changes: &[EnvChange]) -> Vec<&str> {
        changes
            .iter()
            .filter_map(|change| match change {
                EnvChange::Remove(key) => key.to_str(),
                EnvChange::Set(..) => None,
            })
            .collect()
    }

    #[test]
    fn strips_what_cargo_run_injects_and_keeps_user_settings() {
        let changes = env_changes(vars(&[
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
        assert_eq!(changes.len(), 7, "nothing is set: {changes:?}");
    }

    #[test]
    fn strips_an_outer_llvm_cov_run_and_restores_the_wrapper_it_replaced() {
        let changes = env_changes(vars(&[
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
        assert_eq!(changes.last(), Some(&EnvChange::Set("RUSTC_WRAPPER".into(), "/usr/bin/sccache".into())));
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
        let changes = env_changes(vars(&[
            ("RUSTC_WRAPPER", "/bin/cargo-llvm-cov"),
            ("__CARGO_LLVM_COV_RUSTC_WRAPPER", "1"),
            ("__CARGO_LLVM_COV_RUSTC_WRAPPER_PRE_EXISTING", ""),
        ]));
        assert_eq!(changes.last(), Some(&EnvChange::Remove("RUSTC_WRAPPER".into())));
    }

    #[test]
    fn a_user_wrapper_without_llvm_cov_is_left_alone() {
        assert!(env_changes(vars(&[("RUSTC_WRAPPER", "sccache"), ("SCCACHE_DIR", "/c")])).is_empty());
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
