//! `cargo xtask setup-sccache explain`: one cargo build through sccache, and why each
//! compilation missed the cache, which sccache itself cannot say.
//!
//! The build runs against a server started for it with sccache's debug log on, so hit, miss or
//! not cacheable comes from sccache (`sccache_log`); the xtask, chained in front of sccache as
//! the rustc wrapper (`crate::roles::rustc_wrapper`), writes down what each compilation was given
//! (`crate::compile_record`), read back with its sources as a `unit`. A miss is then explained
//! (`cause`) by comparing those inputs, the ones sccache hashes into its key (src/compiler/rust.rs
//! `generate_hash_key`), with the previous recorded compilation of the same unit; `report` tells
//! the result. This file runs the build and keeps the records.

mod cause;
mod report;
mod sccache_log;
mod unit;

use std::{ffi::OsString, process::Stdio};

use anyhow::Context;
use camino::{Utf8Path, Utf8PathBuf};
use serde_json::{Value, json};
use xshell::Shell;

use self::{report::Report, unit::Unit};
use super::server::{Sccache, Stats};
use crate::{
    child::{self, Env},
    flags,
    output::{PassedOn, UsageError},
    roles::rustc_wrapper,
    safe_fs,
    secrets::{errln, outln},
    workspace,
};

impl flags::Explain {
    pub(crate) fn run(&self, sh: &Shell, sccache: &Sccache<'_>) -> anyhow::Result<()> {
        let against = self.against.as_ref().map(|file| anyhow::Ok((read_records(file)?, file.clone()))).transpose()?;
        if let Some(file) = &self.save {
            check_save_target(file)?;
        }
        let dir = records_dir(sh)?;
        let store = dir.join("records.json");
        // Read before the build, and before a `--clean` removes them.
        let kept = read_records(&store).unwrap_or_default();
        if self.clean {
            child::cargo(sh).arg("clean").run().context("`cargo clean` failed")?;
        }
        let scratch = dir.join("build");
        if scratch.exists() {
            std::fs::remove_dir_all(&scratch).with_context(|| format!("cannot empty {scratch}"))?;
        }
        // The records hold the build's arguments and variables: the user's alone.
        for dir in [&dir, &scratch] {
            safe_fs::create_private_dir(dir).with_context(|| format!("cannot create {dir}"))?;
        }
        let log = scratch.join("sccache.log");

        let xtask = std::env::current_exe().context("cannot find the running xtask")?;
        let env = wrapper_env(xtask.as_os_str(), &sccache.path, &scratch, std::env::var_os("RUSTC_WRAPPER"));
        let args = cargo_args(&self.cargo_args);
        let (status, counted) = with_logging_server(sccache, &log, || {
            let cmd = env.apply(child::cargo(sh).args(&args));
            errln!("$ {cmd}");
            let mut command = std::process::Command::from(cmd);
            // JSON is what stdout holds then; the build's own output goes beside the rest of it.
            if self.json {
                command.stdout(Stdio::from(std::io::stderr()));
            }
            command.status().context("cannot run cargo")
        })?;

        let log_text = std::fs::read_to_string(&log).with_context(|| format!("cannot read sccache's log {log}"))?;
        let units = Unit::read_build(sh, &scratch, &log_text)?;
        // The log quotes every argument as it was; only the records, credentials hashed, stay.
        std::fs::remove_dir_all(&scratch).with_context(|| format!("cannot remove {scratch}"))?;
        let (previous, compared_with) = against.unwrap_or_else(|| (kept.clone(), store.clone()));
        if previous.is_empty() {
            errln!(
                "nothing recorded in {compared_with} yet, so every miss is a first compilation (`cargo clean` \
                 removes the records: `explain --clean` keeps them)"
            );
        }
        let report = Report::new(units, previous, sccache.version);
        match self.json {
            true => outln!("{:#}", report.to_json(&compared_with, &counted, status.code())),
            false => outln!("{}", report.to_text(&compared_with, &counted).trim_end()),
        }

        let latest = latest_records(kept, &report.units);
        write_records(&store, &latest)?;
        if let Some(file) = &self.save {
            write_records(file, &latest)?;
            errln!("saved the records of {} compilations to {file}", latest.len());
        }
        match status.code() {
            Some(0) => Ok(()),
            code => Err(PassedOn(code.map_or(1, |code| code.clamp(1, 255) as u8)).into()),
        }
    }
}

fn cargo_args(given: &[String]) -> Vec<String> {
    if given.is_empty() { vec!["build".to_owned()] } else { given.to_vec() }
}

/// What the build's cargo gets: the xtask as its rustc wrapper in front of sccache, told where
/// the records go.
fn wrapper_env(xtask: &std::ffi::OsStr, sccache: &Utf8Path, records: &Utf8Path, user_wrapper: Option<OsString>) -> Env {
    rustc_wrapper::env(xtask, sccache.as_ref(), user_wrapper).set(rustc_wrapper::RECORDS_VAR, records)
}

/// Runs `build` against a server of the same configuration with its log written to `log`, then
/// puts the server back as it was (running or not). Returns what `build` returned and the
/// server's statistics, which count this build alone.
fn with_logging_server<T>(
    sccache: &Sccache<'_>,
    log: &Utf8Path,
    build: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<(T, Stats)> {
    let was_running = sccache.stop()?;
    let logging =
        sccache.clone().with_env(&Env::default().set("SCCACHE_LOG", "sccache=debug").set("SCCACHE_ERROR_LOG", log));
    let outcome = logging.start().context("the sccache server with its log on did not start").map(|()| {
        let built = build();
        let stats = logging.stats();
        (built, stats, logging.stop())
    });
    // Whatever happened, the user's server is back as it was.
    if was_running {
        sccache.start()?;
    }
    let (built, stats, stopped) = outcome?;
    stopped?;
    Ok((built?, stats?))
}

/// Where the records live, under the workspace's own target directory (`build.target-dir` or `target/`):
/// what a `CARGO_TARGET_DIR` says is left out, so a build with another one is compared with the usual.
fn records_dir(sh: &Shell) -> anyhow::Result<Utf8PathBuf> {
    let json = workspace::metadata_command(sh)
        .arg("--no-deps")
        .env_remove("CARGO_TARGET_DIR")
        .quiet()
        .read()
        .context("`cargo metadata` failed; its message above says why")?;
    let metadata: Value = serde_json::from_str(&json).context("`cargo metadata` printed something that is not JSON")?;
    let target = metadata["target_directory"].as_str().context("`cargo metadata` names no target directory")?;
    Ok(Utf8Path::new(target).join("xtask-explain"))
}

/// The largest records file read: a real build's are a few megabytes.
const MAX_RECORDS_BYTES: u64 = 256 << 20;

fn read_records(file: &Utf8Path) -> anyhow::Result<Vec<Unit>> {
    let not_records = |why: String| UsageError(format!("{file} is not a records file of `explain --save`: {why}"));
    if let Ok(metadata) = file.symlink_metadata()
        && metadata.len() > MAX_RECORDS_BYTES
    {
        return Err(not_records(format!("it holds {} bytes, more than any build's records", metadata.len())).into());
    }
    // Never through a link: what it points at may be anyone's file.
    let text =
        safe_fs::read_regular(file, false).with_context(|| format!("cannot read the records {file}"))?.with_context(
            || format!("{file} does not exist (`cargo xtask setup-sccache explain --save FILE` writes records)"),
        )?;
    let value: Value = serde_json::from_str(&text).map_err(|err| not_records(format!("{err}")))?;
    let units = value["units"].as_array().ok_or_else(|| not_records("it has no `units`".into()))?;
    Ok(units.iter().filter_map(Unit::from_json).collect())
}

/// `--save` writes only a new file or records it wrote before: never through a link, never over
/// a file of the user's. Checked before the build.
fn check_save_target(file: &Utf8Path) -> anyhow::Result<()> {
    let refuse = |why: &str| {
        Err(UsageError(format!("--save {file}: {why}, so it was left as it is; give the path of a new file")).into())
    };
    match file.symlink_metadata() {
        Ok(metadata) if metadata.is_symlink() => refuse("it is a link"),
        Ok(metadata) if !metadata.is_file() => refuse("it is not a regular file"),
        Ok(_) if read_records(file).is_err() => refuse("it exists and is not a records file of `explain --save`"),
        _ => Ok(()),
    }
}

/// Owner-only, replaced whole (a link in its place is replaced, not followed).
fn write_records(file: &Utf8Path, units: &[Unit]) -> anyhow::Result<()> {
    let json = json!({"units": units.iter().map(Unit::to_json).collect::<Vec<_>>()});
    safe_fs::replace_file(file, format!("{json:#}\n").as_bytes(), safe_fs::private_permissions().as_ref())
}

/// The kept records with this build's in place of the same units' older ones.
fn latest_records(kept: Vec<Unit>, built: &[Unit]) -> Vec<Unit> {
    kept.into_iter()
        .filter(|unit| !built.iter().any(|new| new.id() == unit.id()))
        .chain(built.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cause::{Cause, argument_changes, own_causes};
    use sccache_log::Outcome;
    use unit::{DepInfo, Unit, options, values};

    use crate::tools::Version;

    const SCCACHE: Version = Version(0, 19, 0);

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|arg| (*arg).to_owned()).collect()
    }

    /// A library unit of package `name` as cargo compiles a workspace member at `/ws`.
    fn unit(name: &str, outcome: Outcome, externs: &[&str]) -> Unit {
        let mut args = strings(&[
            "--crate-name",
            name,
            "--edition=2024",
            &format!("{name}/src/lib.rs"),
            "--crate-type",
            "lib",
            "--emit=dep-info,metadata,link",
            "-C",
            "opt-level=0",
            "-C",
            &format!("metadata={name}1"),
            "-C",
            &format!("extra-filename=-{name}1"),
            "--out-dir",
            "/ws/target/debug/deps",
            "-L",
            "dependency=/ws/target/debug/deps",
        ]);
        for dep in externs {
            args.extend(strings(&["--extern", &format!("{dep}=/ws/target/debug/deps/lib{dep}-{dep}1.rlib")]));
        }
        Unit {
            package: name.to_owned(),
            version: "0.1.0".to_owned(),
            crate_name: name.to_owned(),
            kind: "lib".to_owned(),
            target: "host".to_owned(),
            compiler: "rustc".to_owned(),
            compiler_version: "rustc 1.95.0".to_owned(),
            cwd: "/ws".to_owned(),
            args,
            env: [("CARGO_MANIFEST_DIR", format!("/ws/{name}")), ("CARGO_PKG_NAME", name.to_owned())]
                .into_iter()
                .map(|(key, value)| (key.to_owned(), Some(value)))
                .collect(),
            sources: [(format!("{name}/src/lib.rs"), "1111".to_owned())].into_iter().collect(),
            key: Some(format!("key-{name}")),
            outcome,
        }
    }

    #[test]
    fn options_pair_flags_with_their_values() {
        let options =
            options(&strings(&["--crate-name", "a", "--edition=2021", "src/lib.rs", "-C", "opt-level=3", "--test"]));
        assert_eq!(options, ["--crate-name a", "--edition=2021", "src/lib.rs", "-C opt-level=3", "--test"]);
        assert_eq!(values(&options, "--edition").collect::<Vec<_>>(), ["2021"]);
        assert_eq!(values(&options, "-C").collect::<Vec<_>>(), ["opt-level=3"]);
    }

    #[test]
    fn argument_changes_pair_one_setting_and_hide_the_unit_hash_behind_them() {
        let before = strings(&["-C opt-level=0", "--cfg feature=\"std\"", "-C metadata=1", "-C debuginfo=2"]);
        let after = strings(&["-C opt-level=3", "-C metadata=2", "-C debuginfo=2", "-C instrument-coverage"]);
        assert_eq!(
            argument_changes(&before, &after),
            ["-C opt-level=0 → -C opt-level=3", "removed --cfg feature=\"std\"", "added -C instrument-coverage"]
        );
        assert_eq!(
            argument_changes(&strings(&["-C metadata=1"]), &strings(&["-C metadata=2"])),
            ["-C metadata=1 → -C metadata=2"]
        );
        assert!(argument_changes(&before, &before).is_empty());
    }

    #[test]
    fn dep_info_lists_sources_and_the_variables_read() {
        let text = "/ws/target/debug/deps/a-1.d: a/src/lib.rs a/src/my\\ mod.rs\n\n\
                    a/src/lib.rs:\na/src/my\\ mod.rs:\n\n# env-dep:CARGO_PKG_NAME=a\n# env-dep:MY_SETTING\n";
        let parsed = DepInfo::parse(text);
        assert_eq!(parsed.sources, ["a/src/lib.rs", "a/src/my mod.rs"]);
        assert_eq!(parsed.env, [("CARGO_PKG_NAME".to_owned(), Some("a".to_owned())), ("MY_SETTING".to_owned(), None)]);
        assert_eq!(unit("a", Outcome::Miss, &[]).dep_info_file().unwrap(), "/ws/target/debug/deps/a-a1.d");
    }

    #[test]
    fn each_cause_in_its_order() {
        let before = unit("a", Outcome::Miss, &[]);
        let cause = |change: fn(&mut Unit)| {
            let mut after = before.clone();
            change(&mut after);
            own_causes(&after, Some(&before), SCCACHE)
        };
        assert_eq!(own_causes(&before, None, SCCACHE), [Cause::First]);
        assert!(cause(|_| ()).is_empty());
        assert_eq!(cause(|unit| unit.compiler_version = "rustc 1.96.0".into())[0].kind(), "compiler changed");
        assert_eq!(
            cause(|unit| {
                unit.env.insert("CARGO_TARGET_DIR".into(), Some("/t".into()));
                unit.env.insert("CARGO_BUILD_JOBS".into(), Some("2".into()));
            }),
            [Cause::Environment(vec![("CARGO_TARGET_DIR".into(), None, Some("/t".into()))])]
        );
        assert_eq!(
            cause(|unit| unit.args.extend(strings(&["-C", "instrument-coverage"]))),
            [Cause::Arguments(vec!["added -C instrument-coverage".into()])]
        );
        let flags_and_out_dir = cause(|unit| {
            unit.args.extend(strings(&["-C", "debuginfo=1"]));
            unit.env.insert("OUT_DIR".into(), Some("/ws/target/debug/build/a-2/out".into()));
        });
        assert_eq!(
            flags_and_out_dir.iter().map(Cause::kind).collect::<Vec<_>>(),
            ["arguments changed", "environment variable changed"],
            "a variable cargo derives follows the arguments"
        );
        assert_eq!(
            cause(|unit| {
                unit.sources.insert("a/src/lib.rs".into(), "2222".into());
                unit.sources.insert("a/src/new.rs".into(), "3333".into());
            }),
            [Cause::Sources(vec!["a/src/lib.rs".into(), "a/src/new.rs (added)".into()])]
        );
    }

    #[test]
    fn a_moved_workspace_is_its_directory_and_only_what_else_changed() {
        let before = unit("a", Outcome::Miss, &[]);
        let mut after = before.clone();
        after.cwd = "/elsewhere/ws".into();
        after.env.insert("CARGO_MANIFEST_DIR".into(), Some("/elsewhere/ws/a".into()));
        assert_eq!(
            own_causes(&after, Some(&before), SCCACHE),
            [Cause::WorkingDirectory { before: "/ws".into(), after: "/elsewhere/ws".into() }]
        );
        after.env.insert("CARGO_PROFILE_DEV_DEBUG".into(), Some("0".into()));
        assert_eq!(own_causes(&after, Some(&before), SCCACHE)[1].kind(), "environment variable changed");
    }

    #[test]
    fn an_edit_reads_as_one_cause_with_its_dependents() {
        let previous =
            vec![unit("a", Outcome::Miss, &[]), unit("b", Outcome::Miss, &["a"]), unit("c", Outcome::Miss, &["b"])];
        let mut edited = unit("a", Outcome::Miss, &[]);
        edited.sources.insert("a/src/lib.rs".into(), "2222".into());
        edited.key = Some("key-a2".into());
        let built = vec![
            edited,
            unit("b", Outcome::Miss, &["a"]),
            unit("c", Outcome::Miss, &["b"]),
            unit("d", Outcome::Hit, &[]),
        ];
        let report = Report::new(built, previous, SCCACHE);
        assert_eq!(report.causes[0], [Cause::Sources(vec!["a/src/lib.rs".into()])]);
        assert_eq!(
            report.causes[2],
            [Cause::Dependency { changed: vec!["b 0.1.0 (lib)".into()], roots: vec!["a 0.1.0 (lib)".into()] }]
        );
        assert!(report.causes[3].is_empty(), "a hit has no cause");
        let groups = report.groups();
        assert_eq!(groups.len(), 1);
        assert_eq!(
            groups[0].describe(),
            "source files changed in a 0.1.0 (lib), and 2 dependent(s) rebuilt through it (b 0.1.0 (lib), c 0.1.0 (lib))"
        );
        let text = report.to_text(Utf8Path::new("records.json"), &Stats { hits: 1, misses: 3, ..Stats::default() });
        assert!(text.contains("miss           c 0.1.0 (lib): a dependency changed: b 0.1.0 (lib), rebuilt because a 0.1.0 (lib) changed\n"), "{text}");
        assert!(
            text.contains("4 compilations: 1 hits, 3 misses, 0 not cacheable (sccache counted 1 hits and 3 misses)"),
            "{text}"
        );
    }

    #[test]
    fn same_inputs_without_an_entry_and_the_not_cacheable_are_told() {
        let mut app = unit("app", Outcome::NotCacheable("crate-type".into()), &[]);
        app.kind = "bin".into();
        let report = Report::new(vec![app, unit("a", Outcome::Miss, &[])], vec![unit("a", Outcome::Hit, &[])], SCCACHE);
        assert_eq!(report.causes, [vec![Cause::NotCacheable("crate-type".into())], vec![Cause::NoEntry]]);
        let json = report.to_json(Utf8Path::new("r.json"), &Stats::default(), Some(0));
        assert_eq!(json["summary"]["misses"], 1);
        assert_eq!(json["summary"]["by_cause"][1]["title"], "not cacheable (crate-type)");
        assert_eq!(json["compilations"][1]["cause"]["kind"], "no cache entry for the same inputs");
    }

    #[test]
    fn records_read_back_as_written() {
        let recorded = unit("a", Outcome::NotCacheable("incremental".into()), &["b"]);
        assert_eq!(Unit::from_json(&recorded.to_json()), Some(recorded.clone()));
        assert_eq!(recorded.extern_stems(), ["b-b1"]);
        assert_eq!(recorded.output_stem(), "a-a1");
        let latest =
            latest_records(vec![recorded.clone(), unit("z", Outcome::Hit, &[])], std::slice::from_ref(&recorded));
        assert_eq!(latest.iter().map(Unit::id).collect::<Vec<_>>(), ["z 0.1.0 z lib host", "a 0.1.0 a lib host"]);
    }

    #[test]
    fn labels_name_what_differs_from_the_package() {
        let mut script = unit("my-pkg", Outcome::Hit, &[]);
        script.crate_name = "build_script_build".into();
        script.kind = "build-script".into();
        assert_eq!(script.label(), "my-pkg 0.1.0 (build-script)");
        let mut cross = unit("a", Outcome::Hit, &[]);
        cross.target = "wasm32-unknown-unknown".into();
        assert_eq!(cross.label(), "a 0.1.0 (lib) for wasm32-unknown-unknown");
    }

    #[test]
    fn the_build_is_cargo_build_through_the_xtask_in_front_of_sccache() {
        assert_eq!(cargo_args(&[]), ["build"]);
        assert_eq!(cargo_args(&strings(&["test", "--no-run"])), ["test", "--no-run"]);
        let env = wrapper_env("/bin/xtask".as_ref(), Utf8Path::new("/bin/sccache"), Utf8Path::new("/t/x"), None);
        assert_eq!(
            env.to_string(),
            "RUSTC_WRAPPER=/bin/xtask __XTASK_WRAPPER_SCCACHE=/bin/sccache __XTASK_EXPLAIN_RECORDS=/t/x"
        );
        let env =
            wrapper_env("/bin/xtask".as_ref(), Utf8Path::new("/bin/sccache"), Utf8Path::new("/t/x"), Some("w".into()));
        assert_eq!(env.get(rustc_wrapper::USER_WRAPPER_VAR), Some(Some("w".as_ref())));
    }
}
