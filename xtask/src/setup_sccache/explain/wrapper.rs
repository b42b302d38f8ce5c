//! The xtask as cargo's rustc wrapper during `explain`, chained in front of sccache the way
//! cargo-llvm-cov chains itself in front of an existing wrapper: it writes down what sccache is
//! about to be given (arguments, working directory, the `CARGO_*` variables) and hands the call
//! to sccache unchanged. Which compilations hit is not guessed here: sccache's own log says it.
//!
//! Cargo gives its wrapper the variables below, which name the sccache to call and where the
//! records go. They are removed before sccache runs, and `RUSTC_WRAPPER` gets back the value the
//! user had, so sccache and rustc see exactly what a build without `explain` gives them.

use std::{
    ffi::OsString,
    process::{Command, ExitCode},
    time::{SystemTime, UNIX_EPOCH},
};

use serde_json::{Map, Value, json};

use crate::secrets;

/// The sccache to call: present only in the environment `explain` gives its cargo.
pub(crate) const SCCACHE_VAR: &str = "__XTASK_EXPLAIN_SCCACHE";
/// The directory the records go into.
pub(crate) const RECORDS_VAR: &str = "__XTASK_EXPLAIN_RECORDS";
/// The user's own `RUSTC_WRAPPER`, when there was one, put back for sccache.
pub(crate) const USER_WRAPPER_VAR: &str = "__XTASK_EXPLAIN_USER_RUSTC_WRAPPER";

/// Runs as the wrapper when cargo called the xtask as one; `None` otherwise.
pub(crate) fn run_if_called() -> Option<ExitCode> {
    let sccache = std::env::var_os(SCCACHE_VAR)?;
    let records = std::env::var_os(RECORDS_VAR)?;
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let status = match sccache_command(sccache, &args, std::env::var_os(USER_WRAPPER_VAR)).status() {
        Ok(status) => status,
        Err(err) => {
            eprintln!("error: cargo xtask setup-sccache explain could not run sccache: {err}");
            return Some(ExitCode::FAILURE);
        }
    };
    // Written once sccache is done, with its exit code: sccache logs the miss of a compilation
    // that then fails (a build script's probe of the compiler) but no result for it.
    if is_compilation(&args) {
        let mut record = record(&args, std::env::vars_os());
        record["exit_code"] = status.code().into();
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |time| time.as_nanos());
        let file = std::path::Path::new(&records).join(format!("{}-{nanos}.json", std::process::id()));
        // A record that cannot be written costs its explanation, never the build.
        if let Err(err) = std::fs::write(file, record.to_string()) {
            eprintln!("warning: cargo xtask setup-sccache explain could not record a compilation: {err}");
        }
    }
    Some(ExitCode::from(status.code().map_or(1, |code| code.clamp(0, 255) as u8)))
}

/// sccache with cargo's arguments, and the environment as it would be without `explain`.
fn sccache_command(sccache: OsString, args: &[OsString], user_wrapper: Option<OsString>) -> Command {
    let mut cmd = Command::new(sccache);
    cmd.args(args).env_remove(SCCACHE_VAR).env_remove(RECORDS_VAR).env_remove(USER_WRAPPER_VAR);
    match user_wrapper {
        Some(wrapper) => cmd.env("RUSTC_WRAPPER", wrapper),
        None => cmd.env_remove("RUSTC_WRAPPER"),
    };
    cmd
}

/// A rustc call that compiles a crate; cargo's probes (`-vV`, `--print`, reading stdin) are not.
fn is_compilation(args: &[OsString]) -> bool {
    args.iter().any(|arg| arg == "--crate-name" || arg.to_string_lossy().starts_with("--crate-name="))
        && !args.iter().any(|arg| arg == "-" || arg.to_string_lossy().starts_with("--print"))
}

/// What sccache is given: the compiler, its arguments, the working directory, and every `CARGO_*`
/// variable (sccache hashes them; which ones exactly depends on its version, so the comparison
/// decides). A value that looks like a credential is kept only as its fingerprint.
fn record(args: &[OsString], vars: impl Iterator<Item = (OsString, OsString)>) -> Value {
    let text = |arg: &OsString| arg.to_string_lossy().into_owned();
    let env: Map<String, Value> = vars
        .filter_map(|(name, value)| Some((name.into_string().ok()?, text(&value))))
        .filter(|(name, _)| name.starts_with("CARGO_"))
        .map(|(name, value)| {
            let value = kept_value(&name, &value);
            (name, value.into())
        })
        .collect();
    let cwd = std::env::current_dir().map(|dir| dir.to_string_lossy().into_owned()).unwrap_or_default();
    json!({
        "compiler": args.first().map(text),
        "args": args.iter().skip(1).map(text).collect::<Vec<_>>(),
        "cwd": cwd,
        "env": env,
    })
}

/// `value` as a record may keep it: a credential becomes its fingerprint.
pub(crate) fn kept_value(name: &str, value: &str) -> String {
    match secrets::credentials_in(name, value).is_empty() {
        true => value.to_owned(),
        false => format!("hashed {}", super::fingerprint(value.as_bytes())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
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
    fn sccache_gets_the_arguments_and_the_users_wrapper_and_none_of_the_markers() {
        let cmd = sccache_command("sccache".into(), &os(&["rustc", "--crate-name", "a"]), None);
        let envs: Vec<_> = cmd.get_envs().collect();
        for var in [SCCACHE_VAR, RECORDS_VAR, USER_WRAPPER_VAR, "RUSTC_WRAPPER"] {
            assert!(envs.contains(&(var.as_ref(), None)), "{var} is removed: {envs:?}");
        }
        assert_eq!(cmd.get_args().collect::<Vec<_>>(), ["rustc", "--crate-name", "a"]);
        let cmd = sccache_command("sccache".into(), &[], Some("/bin/sccache".into()));
        assert!(cmd.get_envs().any(|(name, value)| name == "RUSTC_WRAPPER" && value == Some("/bin/sccache".as_ref())));
    }

    #[test]
    fn records_keep_cargo_variables_and_hash_credentials() {
        let vars = [
            ("CARGO_PKG_NAME", "a"),
            ("CARGO_REGISTRIES_MINE_TOKEN", "s3cr3t-value"),
            ("CARGO_HTTP_PROXY", "http://me:hunter2@proxy:8080"),
            ("PATH", "/usr/bin"),
        ]
        .map(|(name, value)| (OsString::from(name), OsString::from(value)));
        let record = record(&os(&["rustc", "--crate-name", "a"]), vars.into_iter());
        assert_eq!(record["compiler"], "rustc");
        assert_eq!(record["args"], json!(["--crate-name", "a"]));
        assert_eq!(record["env"]["CARGO_PKG_NAME"], "a");
        assert!(record["env"].get("PATH").is_none());
        let text = record.to_string();
        assert!(!text.contains("s3cr3t") && !text.contains("hunter2"), "{text}");
        assert!(record["env"]["CARGO_REGISTRIES_MINE_TOKEN"].as_str().unwrap().starts_with("hashed "));
    }
}
