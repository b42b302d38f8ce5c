//! The xtask as cargo's rustc wrapper, chained in front of sccache the way cargo-llvm-cov chains
//! itself in front of an existing wrapper. It has two jobs, each asked for by a variable the task
//! gives its cargo:
//!
//! - for `setup-sccache explain`, it writes down what sccache is given (arguments, working
//!   directory, the `CARGO_*` variables, the exit code); which compilations hit is not guessed
//!   here, sccache's own log says it;
//! - for `coverage`, it gives the compilations cargo-llvm-cov does not instrument (the
//!   dependencies) the variables a normal build has: the coverage run's own `CARGO_*` variables
//!   (its target directories, cargo-llvm-cov's `CARGO_LLVM_COV`) would be in sccache's key, so
//!   those compilations could never reuse what `cargo build` or `cargo test` cached.

use std::{
    collections::BTreeMap,
    ffi::{OsStr, OsString},
    process::ExitCode,
};

use serde_json::{Value, json};

use crate::secrets::errln;
use crate::{child::Env, compile_record::CompileRecord, help};

/// The sccache to call: the wrapper's own mark, present only in what a task gives its cargo.
pub(crate) const SCCACHE_VAR: &str = "__XTASK_WRAPPER_SCCACHE";
/// The user's own `RUSTC_WRAPPER`, when there was one, put back for sccache.
pub(crate) const USER_WRAPPER_VAR: &str = "__XTASK_WRAPPER_USER_RUSTC_WRAPPER";
/// `explain`: the directory the records go into.
pub(crate) const RECORDS_VAR: &str = "__XTASK_EXPLAIN_RECORDS";
/// `coverage`: a JSON object of the variables uninstrumented compilations get instead (`null`:
/// unset), the values the user's own builds have.
pub(crate) const DEPENDENCY_ENV_VAR: &str = "__XTASK_WRAPPER_DEPENDENCY_ENV";

/// The variables that make the xtask a wrapper in front of `sccache`, for a build whose own
/// `RUSTC_WRAPPER` was `user_wrapper`.
pub(crate) fn env(xtask: &OsStr, sccache: &OsStr, user_wrapper: Option<OsString>) -> Env {
    let env = Env::default().set("RUSTC_WRAPPER", xtask).set(SCCACHE_VAR, sccache);
    match user_wrapper.filter(|wrapper| !wrapper.is_empty()) {
        Some(wrapper) => env.set(USER_WRAPPER_VAR, wrapper),
        None => env,
    }
}

#[derive(Debug, PartialEq)]
pub(crate) struct Call {
    sccache: OsString,
    args: Vec<OsString>,
}

impl Call {
    /// The call, when `args` and the variable that marks the wrapper say the xtask is one.
    pub(crate) fn of(args: &[OsString], var: &dyn Fn(&str) -> Option<OsString>) -> Option<Call> {
        let sccache = var(SCCACHE_VAR)?;
        is_wrapper_call(args).then(|| Call { sccache, args: args.to_vec() })
    }

    /// Runs sccache with cargo's arguments and the environment it would have without the xtask,
    /// and passes its exit code on.
    pub(crate) fn run(self) -> ExitCode {
        let Call { sccache, args } = self;
        let var = |name: &str| std::env::var_os(name);
        let changes = sccache_env(&args, var(USER_WRAPPER_VAR), var(DEPENDENCY_ENV_VAR));
        let status = xshell::Shell::new()
            .map_err(std::io::Error::other)
            .and_then(|sh| std::process::Command::from(changes.apply(sh.cmd(sccache).args(&args))).status());
        let Ok(status) =
            status.inspect_err(|err| errln!("error: the xtask's rustc wrapper could not run sccache: {err}"))
        else {
            return ExitCode::FAILURE;
        };
        // Written once sccache is done, with its exit code: sccache logs the miss of a compilation
        // that then fails (a build script's probe of the compiler) but no result for it.
        if let Some(records) = var(RECORDS_VAR)
            && is_compilation(&args)
        {
            let cwd = std::env::current_dir().map(|dir| dir.to_string_lossy().into_owned()).unwrap_or_default();
            let record = CompileRecord::of(&args, seen_vars(std::env::vars_os(), &changes), cwd, status.code());
            // A record that cannot be written costs its explanation, never the build.
            if let Err(err) = record.write_into(records.as_ref()) {
                errln!("warning: cargo xtask setup-sccache explain could not record a compilation: {err}");
            }
        }
        ExitCode::from(status.code().map_or(1, |code| code.clamp(0, 255) as u8))
    }
}

/// cargo gives everything it starts its variables, so the xtask's own command line too (`cargo
/// xtask coverage` in an explained build); a wrapper's first argument is the compiler.
fn is_wrapper_call(args: &[OsString]) -> bool {
    let first = args.first().map(|first| first.to_string_lossy());
    first.is_some_and(|first| !first.starts_with('-') && !help::is_task(&first))
}

/// What sccache gets on top of cargo's environment: none of the wrapper's own variables, the
/// user's `RUSTC_WRAPPER`, and for an uninstrumented compilation the dependency environment.
fn sccache_env(args: &[OsString], user_wrapper: Option<OsString>, dependency_env: Option<OsString>) -> Env {
    let env =
        [SCCACHE_VAR, USER_WRAPPER_VAR, RECORDS_VAR, DEPENDENCY_ENV_VAR].into_iter().fold(Env::default(), Env::remove);
    let env = match user_wrapper {
        Some(wrapper) => env.set("RUSTC_WRAPPER", wrapper),
        None => env.remove("RUSTC_WRAPPER"),
    };
    let dependency_env = dependency_env
        .filter(|_| !is_instrumented(args))
        .and_then(|json| serde_json::from_str::<Value>(&json.to_string_lossy()).ok()?.as_object().cloned());
    dependency_env.into_iter().flatten().fold(env, |env, (name, value)| match value.as_str() {
        Some(value) => env.set(name, value),
        None => env.remove(name),
    })
}

/// The JSON object `DEPENDENCY_ENV_VAR` holds: each name with its value, or `null` when unset.
pub(crate) fn dependency_env(vars: &BTreeMap<&str, Option<String>>) -> String {
    Value::Object(vars.iter().map(|(name, value)| ((*name).to_owned(), json!(value))).collect()).to_string()
}

/// Whether cargo-llvm-cov's wrapper added the coverage flags: a crate it measures.
fn is_instrumented(args: &[OsString]) -> bool {
    args.windows(2).any(|pair| pair[0] == "-C" && pair[1] == "instrument-coverage")
        || args.iter().any(|arg| arg == "-Cinstrument-coverage")
}

/// `vars` as the child sees them after `changes`.
fn seen_vars(vars: impl Iterator<Item = (OsString, OsString)>, changes: &Env) -> Vec<(OsString, OsString)> {
    let mut seen: Vec<(OsString, OsString)> =
        vars.filter(|(name, _)| changes.get(&name.to_string_lossy()).is_none()).collect();
    seen.extend(changes.changes().iter().filter_map(|change| match change {
        crate::child::EnvChange::Set(name, value) => Some((name.clone(), value.clone())),
        crate::child::EnvChange::Remove(_) => None,
    }));
    seen
}

/// A rustc call that compiles a crate; cargo's probes (`-vV`, `--print`, reading stdin) are not.
fn is_compilation(args: &[OsString]) -> bool {
    args.iter().any(|arg| arg == "--crate-name" || arg.to_string_lossy().starts_with("--crate-name="))
        && !args.iter().any(|arg| arg == "-" || arg.to_string_lossy().starts_with("--print"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_xtasks_own_command_line_is_no_wrapper_call() {
        assert!(is_wrapper_call(&os(&["/toolchain/bin/rustc", "-vV"])));
        assert!(is_wrapper_call(&os(&["clippy-driver", "/toolchain/bin/rustc", "--crate-name", "a"])));
        for own in
            [&["coverage", "--mode", "lcov"][..], &["coverage-fast"], &["--help"], &["setup-sccache", "explain"], &[]]
        {
            assert!(!is_wrapper_call(&os(own)), "{own:?}");
        }
    }

    #[test]
    fn only_compilations_are_recorded() {
        assert!(is_compilation(&os(&["rustc", "--crate-name", "a", "src/lib.rs"])));
        assert!(!is_compilation(&os(&["rustc", "-vV"])));
        // What anyhow's build script compiles to probe the compiler.
        assert!(is_compilation(&os(&["rustc", "--cfg=anyhow_build_probe", "--crate-name=anyhow", "src/nightly.rs"])));
        assert!(!is_compilation(&os(&["rustc", "-", "--crate-name", "___", "--print=file-names"])));
    }

    #[test]
    fn sccache_gets_the_users_wrapper_and_none_of_the_wrappers_variables() {
        let env = sccache_env(&os(&["rustc", "--crate-name", "a"]), None, None);
        for var in [SCCACHE_VAR, RECORDS_VAR, USER_WRAPPER_VAR, DEPENDENCY_ENV_VAR, "RUSTC_WRAPPER"] {
            assert_eq!(env.get(var), Some(None), "{var} is removed: {env}");
        }
        let env = sccache_env(&[], Some("/bin/sccache".into()), None);
        assert_eq!(env.get("RUSTC_WRAPPER"), Some(Some(OsStr::new("/bin/sccache"))));
        let env = super::env("/bin/xtask".as_ref(), "/bin/sccache".as_ref(), Some("sccache".into()));
        assert_eq!(
            env.to_string(),
            "RUSTC_WRAPPER=/bin/xtask __XTASK_WRAPPER_SCCACHE=/bin/sccache __XTASK_WRAPPER_USER_RUSTC_WRAPPER=sccache"
        );
    }

    #[test]
    fn only_uninstrumented_compilations_get_the_dependency_environment() {
        let vars: BTreeMap<&str, Option<String>> =
            [("CARGO_LLVM_COV", None), ("CARGO_TARGET_DIR", Some("/mine".to_owned()))].into_iter().collect();
        let json: OsString = dependency_env(&vars).into();
        let dependency = sccache_env(&os(&["rustc", "--crate-name", "serde"]), None, Some(json.clone()));
        assert_eq!(dependency.get("CARGO_LLVM_COV"), Some(None));
        assert_eq!(dependency.get("CARGO_TARGET_DIR"), Some(Some(OsStr::new("/mine"))));
        for measured in
            [&["rustc", "--crate-name", "calc", "-C", "instrument-coverage"][..], &["rustc", "-Cinstrument-coverage"]]
        {
            let env = sccache_env(&os(measured), None, Some(json.clone()));
            assert_eq!((env.get("CARGO_LLVM_COV"), env.get("CARGO_TARGET_DIR")), (None, None), "{measured:?}");
        }
    }

    #[test]
    fn records_see_the_environment_sccache_gets() {
        let vars = [("CARGO_PKG_NAME", "a"), ("CARGO_LLVM_COV", "1")]
            .map(|(name, value)| (OsString::from(name), OsString::from(value)));
        let seen = seen_vars(vars.into_iter(), &Env::default().remove("CARGO_LLVM_COV").set("CARGO_TARGET_DIR", "/t"));
        assert_eq!(seen, [("CARGO_PKG_NAME", "a"), ("CARGO_TARGET_DIR", "/t")].map(|(n, v)| (n.into(), v.into())));
    }
}
