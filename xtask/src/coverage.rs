//! `cargo xtask coverage` and `cargo xtask coverage-fast`: test coverage with cargo-llvm-cov.
//!
//! cargo-llvm-cov writes one format per invocation (its issue #60), so the tests run once, writing
//! the first exported format and (through the `llvm-cov` stand-in, `roles::llvm_cov`) the JSON
//! summary; each other format is one `cargo llvm-cov report`, run side by side once the raw profiles
//! are merged and removed (a `report` merges only when raw ones exist). Coverage builds in the
//! workspace's own `target/llvm-cov-target`: in a shared directory cargo-llvm-cov merges every
//! project's `*.profraw` and its cleaning deletes other projects' reports (its issue #202). The
//! rustc wrapper (sccache) stays: cargo-llvm-cov chains it (since 0.7), so dependencies come from the
//! cache. Incremental compilation stays as cargo has it: turning it off would let sccache cache the
//! workspace's crates too, but changes the figures (`checks::incremental_turned_off` says how; with
//! ripgrep's `ignore` crate, executed lines are lost). All of this is set on the children only.

mod artifacts;
mod browser;
mod changes;
mod checks;
mod outputs;
mod patch;
mod plan;
mod python;
mod python_tests;
mod run;
mod selection;
mod summary;
mod toolchain;

use checks::incremental_turned_off;
pub(crate) use checks::{findings, smoke_test};
use selection::{Settings, select};

use camino::Utf8PathBuf;
use xshell::Shell;

use crate::secrets::{errln, out, outln};
use crate::{
    flags::{self, Mode},
    output::{UsageError, usage},
    workspace::{self, Workspace},
};
use outputs::Dirs;
use plan::plan;
use run::{Gates, PatchGate, execute};
use summary::{Metric, Minimums};
use toolchain::Tools;

/// The member that is the workspace's automation (this one): measured only when asked for by name.
const XTASK: &str = workspace::XTASK_PACKAGE;
const SETTINGS: &str = "[workspace.metadata.xtask.coverage]";
const NIGHTLY_INSTALL: &str = "rustup toolchain install nightly --component llvm-tools-preview";
const NIGHTLY_LLVM_TOOLS: &str = "rustup component add llvm-tools-preview --toolchain nightly";

/// `coverage` measures every member (but this xtask); `coverage-fast`, the same command with the
/// same flags (`main` reads it as `coverage`), leaves the slow ones out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    Full,
    Fast,
}

impl flags::Coverage {
    pub(crate) fn run(self, sh: &Shell, scope: Scope) -> anyhow::Result<()> {
        let flags = self;
        let total_minimums = check_flags(&flags)?;
        // The tool checks (a rustc and a cargo-llvm-cov start) overlap `cargo metadata`: a fixed cost
        // of every run, which the overhead goal is about.
        let (ws, tools) = std::thread::scope(|scope| {
            let (tools_sh, flags) = (sh.clone(), &flags);
            let tools = (!flags.clean_only).then(|| scope.spawn(move || Tools::find(&tools_sh, flags)));
            let ws = Workspace::load(sh);
            (ws, tools.map(|tools| tools.join().expect("finding the coverage tools panicked")))
        });
        let ws = ws?;
        let settings = Settings::from_workspace(&ws.settings, &ws.members)?;
        let selection = select(&ws.members, &flags.package, &flags.exclude, scope, &settings)?;
        let task = if scope == Scope::Fast { "coverage-fast" } else { "coverage" };
        for (name, why) in &selection.skipped {
            errln!("{task} leaves out `{name}`: {why}");
        }
        let measured = match &flags.changed_since {
            Some(reference) => changed_members(sh, &ws, reference, &selection.measured, task)?,
            None => selection.measured,
        };
        if measured.is_empty() {
            outln!("{task}: nothing to measure, as the change affects no measured member");
            return Ok(());
        }
        let patch =
            flags.patch_base.as_ref().map(|base| PatchGate::read(sh, &ws, base, flags.fail_under_patch)).transpose()?;
        let dirs = Dirs::new(&ws, flags.output_dir.as_deref(), &workspace::users_dir()?);

        // None only with --clean-only.
        let Some(tools) = tools else { return artifacts::remove(&dirs, flags.dry_run) };
        // No mode is `open`, as in cargo-llvm-cov.
        let modes = if flags.mode.is_empty() { vec![Mode::Open] } else { flags.mode.clone() };
        // Planned before --clean removes anything, so that a refused plan leaves everything as it was.
        let plan = plan(sh, &ws, &flags, &modes, tools?, &measured, &settings.python, dirs)?;
        if flags.clean {
            artifacts::remove(&plan.dirs, flags.dry_run)?;
        }
        if flags.dry_run {
            out!("{}", plan.describe(sh));
            return Ok(());
        }
        if let Some(why) = incremental_turned_off(sh) {
            errln!("note: {why}; it is passed on as it is");
        }
        let gates = Gates { total: settings.total.overridden_by(&total_minimums), crates: settings.crates, patch };
        execute(sh, &plan, &gates, flags.json)
    }
}

/// `--changed-since`: the `selected` members the change from `reference` can affect, each said with why.
fn changed_members(
    sh: &Shell,
    ws: &Workspace,
    reference: &str,
    selected: &[String],
    task: &str,
) -> anyhow::Result<Vec<String>> {
    let git = changes::Git::open(sh, &ws.root, "--changed-since")?;
    let commit = git.commit(reference, "--changed-since")?;
    // git resolves links: put back under cargo's root, the paths compare with the members' directories.
    let real_root = ws.root.canonicalize_utf8().ok();
    let files: Vec<Utf8PathBuf> = (git.changed_files(&commit)?.into_iter())
        .map(|file| match real_root.as_ref().and_then(|root| file.strip_prefix(root).ok()) {
            Some(relative) => ws.root.join(relative),
            None => file,
        })
        .collect();
    // Cargo.lock then and now, when it changed.
    let lock = Some(ws.root.join("Cargo.lock")).filter(|lock| files.contains(lock));
    let old_lock = lock.as_ref().map(|lock| git.file_at(&commit, lock)).transpose()?.flatten();
    let lock_now = lock.as_ref().and_then(|lock| std::fs::read_to_string(lock).ok());
    let lock_changed = changes::lock_changes(old_lock.as_deref(), lock_now.as_deref())?;
    let affected = changes::affected(&ws.root, &ws.members, &files, &lock_changed);
    let (count, outside, plural) = (files.len(), affected.outside.len(), if files.len() == 1 { "" } else { "s" });
    errln!("{task} --changed-since {reference}: {count} changed file{plural}, {outside} outside every member");
    let mut measured = Vec::new();
    for name in selected {
        match affected.members.iter().find(|(member, _)| member == name) {
            Some((_, why)) => {
                errln!("{task} measures `{name}`: {why}");
                measured.push(name.clone());
            }
            None => errln!("{task} leaves out `{name}`: the change does not reach it"),
        }
    }
    for (name, why) in affected.members.iter().filter(|(member, _)| !selected.contains(member)) {
        errln!("`{name}` is affected ({why}) but not selected: name it with -p to measure it");
    }
    Ok(measured)
}

/// Usage errors the parser cannot see, each conflict naming both flags; returns the `--fail-under-*` minimums.
fn check_flags(flags: &flags::Coverage) -> Result<Minimums, UsageError> {
    if flags.doctests && flags.nextest {
        usage!("--doctests does not work with --nextest: cargo-nextest cannot run doc tests; drop one of them");
    }
    if let (Some(flag), true) = (plan::target_selection(flags).first(), flags.doctests) {
        usage!("--doctests does not work with {flag}: doc tests run only when no target is selected; drop one of them");
    }
    if flags.release && flags.profile.is_some() {
        usage!("--release and --profile both choose the profile: give one (--release is --profile release)");
    }
    if flags.fail_under_branches.is_some() && !flags.branch {
        usage!("--fail-under-branches needs --branch: branches are counted only in a build that measures them");
    }
    if flags.fail_under_patch.is_some() && flags.patch_base.is_none() {
        usage!("--fail-under-patch needs --patch-base REF: the change to measure");
    }
    let minimums =
        [flags.fail_under_lines, flags.fail_under_functions, flags.fail_under_regions, flags.fail_under_branches];
    let names = std::iter::once("patch").chain(Metric::ALL.map(Metric::name));
    for (name, value) in names.zip(std::iter::once(flags.fail_under_patch).chain(minimums)) {
        if let Some(value) = value.filter(|value| !(0.0..=100.0).contains(value)) {
            usage!("--fail-under-{name} must be a percentage from 0 to 100, not {value}");
        }
    }
    Ok(Minimums(minimums))
}

/// Where coverage builds for this workspace: findings about the disk report its size.
pub(crate) fn build_dir(ws: &Workspace) -> Utf8PathBuf {
    Dirs::new(ws, None, &ws.root).cov_target
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeMap, process::Command};

    use camino::Utf8Path;
    use xshell::Cmd;

    use super::*;
    use crate::{
        child::{self, Env},
        roles::{llvm_cov, rustc_wrapper},
        workspace::{Member, Target},
    };
    use plan::{Plan, PythonTests, feature_args};
    use python_tests::{Place, Suite};
    use toolchain::{Toolchain, Wrapper, dependency_env};

    pub(super) fn member(name: &str, uses_python: bool) -> Member {
        Member {
            name: name.into(),
            manifest_dir: format!("/ws/{name}").into(),
            targets: vec![Target { name: name.into(), kinds: vec!["lib".into()] }],
            uses_python,
            dependencies: Vec::new(),
        }
    }

    /// `bindings` uses pyo3 directly, `app` through `bindings`; `xtask` is the automation.
    pub(super) fn members() -> Vec<Member> {
        vec![
            member("app", true),
            member("bindings", true),
            member("core", false),
            member("slow", false),
            // This xtask, by the name it has in the workspace that holds it.
            member(XTASK, false),
        ]
    }

    pub(super) fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    fn workspace(target_dir: &str) -> Workspace {
        Workspace {
            root: "/ws".into(),
            target_dir: target_dir.into(),
            build_dir: target_dir.into(),
            members: members(),
            settings: serde_json::Map::new(),
        }
    }

    #[test]
    fn modes_parse_and_unknown_ones_list_the_choices() {
        assert_eq!("cobertura".parse::<Mode>(), Ok(Mode::Cobertura));
        assert_eq!(
            "pdf".parse::<Mode>(),
            Err("invalid mode `pdf`: use open, html, lcov, text, json, cobertura or codecov".into())
        );
    }

    #[test]
    fn features_default_to_all_and_pass_through_otherwise() {
        assert_eq!(feature_args(&[], false), ["--all-features"]);
        assert_eq!(feature_args(&strings(&["a,b"]), false), ["--features", "a,b"]);
        assert_eq!(feature_args(&[], true), ["--no-default-features"]);
    }

    #[test]
    fn flag_mistakes_are_usage_errors() {
        let mut flags = flags::Coverage::from_args(&["--nextest", "--doctests"]).unwrap();
        assert!(check_flags(&flags).unwrap_err().0.starts_with("--doctests does not work with --nextest"));
        flags.doctests = false;
        flags.fail_under_regions = Some(101.0);
        assert_eq!(
            check_flags(&flags).unwrap_err().0,
            "--fail-under-regions must be a percentage from 0 to 100, not 101"
        );
        flags.fail_under_regions = Some(99.5);
        assert_eq!(check_flags(&flags).unwrap(), Minimums([None, None, Some(99.5), None]));
    }

    #[test]
    fn coverage_builds_and_reports_inside_the_workspace_even_with_a_shared_target_dir() {
        let dirs = Dirs::new(&workspace("/shared/target"), None, "/elsewhere".into());
        assert_eq!(dirs.own_target, "/ws/target");
        assert_eq!(dirs.cov_target, "/ws/target/llvm-cov-target");
        assert_eq!(dirs.outputs.dir, "/ws/target/llvm-cov");
        assert_eq!(dirs.outputs.lcov, "/ws/lcov.info");
        // A target directory inside the workspace is the workspace's own.
        assert_eq!(Dirs::new(&workspace("/ws/out"), None, "/ws".into()).cov_target, "/ws/out/llvm-cov-target");
        // --output-dir is relative to where the command was typed.
        let dirs = Dirs::new(&workspace("/ws/target"), Some("cov".into()), "/ws/app".into());
        assert_eq!(dirs.outputs.dir, "/ws/app/cov");
        assert_eq!(dirs.outputs.lcov, "/ws/app/cov/lcov.info");
    }

    #[test]
    fn clean_looks_at_every_report_but_no_more() {
        let dirs = Dirs::new(&workspace("/ws/target"), None, "/ws".into());
        assert_eq!(
            dirs.reports(),
            [
                "/ws/target/llvm-cov/html",
                "/ws/lcov.info",
                "/ws/target/llvm-cov/text",
                "/ws/target/llvm-cov/coverage.json",
                "/ws/target/llvm-cov/cobertura.xml",
                "/ws/target/llvm-cov/codecov.json",
            ]
        );
    }

    /// The plan of `cargo xtask coverage ARGS` measuring `core` and `app`, made as the run makes it.
    fn plan(args: &[&str], toolchain: Toolchain) -> Plan {
        plan_with(args, toolchain, None)
    }

    fn plan_with(args: &[&str], toolchain: Toolchain, python_tests: Option<PythonTests>) -> Plan {
        let flags = flags::Coverage::from_args(args).unwrap();
        let modes = if flags.mode.is_empty() { vec![Mode::Open] } else { flags.mode.clone() };
        let tools = Tools {
            cargo_llvm_cov: "/bin/cargo-llvm-cov".into(),
            toolchain,
            llvm_cov: "/toolchain/lib/bin/llvm-cov".into(),
            llvm_profdata: "/toolchain/lib/bin/llvm-profdata".into(),
            xtask: "/bin/xtask".into(),
            wrapper: Wrapper::Other,
            user_vars: BTreeMap::new(),
        };
        let (core, app) = (member("core", false), member("app", true));
        let dirs = Dirs::new(&workspace("/shared/target"), None, "/ws".into());
        Plan::new(&flags, &modes, tools, &[&core, &app], &Env::default(), python_tests, dirs)
    }

    /// `app`'s Python tests, found as a maturin crate with a `tests/` of pytest files.
    fn app_python_tests() -> PythonTests {
        let pyproject = "[build-system]\nrequires = [\"maturin>=1.7\"]\nbuild-backend = \"maturin\"\n";
        let layout = python_tests::Layout { test_files: true, pytest_config_file: false };
        let suite = Suite::from_files("app", "/ws/app".into(), Some(pyproject), &layout, None).unwrap().unwrap();
        let python = python::Python {
            interpreter: "/usr/bin/python3".into(),
            executable: "/usr/bin/python3.11".into(),
            version: "3.11.7".into(),
            library_dir: "/usr/lib".into(),
        };
        PythonTests { python, suites: vec![suite] }
    }

    #[test]
    fn with_python_tests_the_test_run_writes_no_report_and_every_format_comes_after_pytest() {
        let sh = Shell::new().unwrap();
        let plan = plan_with(&["--mode", "lcov", "--mode", "html"], stable(), Some(app_python_tests()));
        assert_eq!(plan.tested_format(), None);
        assert!(plan.stand_in().is_empty(), "no export in the test run, so no stand-in");
        assert!(plan.test(&sh).to_string().ends_with("-p core -p app --all-features --no-report"));
        assert_eq!(plan.formats_after(false), [Mode::Lcov, Mode::Html]);
        let described = plan.describe(&sh);
        let position = |text: &str| described.find(text).unwrap_or_else(|| panic!("no `{text}` in:\n{described}"));
        let place = Place::new(&plan.dirs.cov_target, "app");
        let app = Utf8Path::new("/ws/app");
        let steps = [
            format!("-m venv --clear {}", place.venv),
            "llvm-cov clean --workspace".to_owned(),
            "--no-report".to_owned(),
            "llvm-cov show-env --with-pwsh-env-prefix".to_owned(),
            format!("(in {app}) {} build --interpreter", place.program("maturin")),
            format!("(in {app}) {} -p no:cacheprovider", place.program("pytest")),
            "report -p core -p app --json --summary-only".to_owned(),
            "report -p core -p app --lcov".to_owned(),
        ];
        // The requirements come after `--`: none can be read as one of pip's options.
        position("install --quiet --disable-pip-version-check -- ");
        let positions: Vec<usize> = steps.iter().map(|step| position(step)).collect();
        assert!(positions.is_sorted(), "the steps must come in this order: {steps:#?}\n{described}");
    }

    /// Three formats, lcov first.
    const THREE: &[&str] = &["--mode", "lcov", "--mode", "html", "--mode", "text"];

    fn stable() -> Toolchain {
        Toolchain { cargo: "/toolchain/bin/cargo".into(), nightly: None }
    }

    fn envs(cmd: Cmd<'_>) -> Vec<(String, Option<String>)> {
        Command::from(cmd)
            .get_envs()
            .map(|(key, value)| {
                (key.to_string_lossy().into_owned(), value.map(|value| value.to_string_lossy().into_owned()))
            })
            .collect()
    }

    /// `/ws/a/b` as the plans write it: the fixture root `/ws` joined with the OS's separator.
    fn native(path: &str) -> String {
        let mut parts = path.split('/').filter(|part| !part.is_empty());
        let root = Utf8PathBuf::from(format!("/{}", parts.next().unwrap_or_default()));
        parts.fold(root, |path, part| path.join(part)).into_string()
    }

    fn env_value(cmd: Cmd<'_>, key: &str) -> Option<Option<String>> {
        envs(cmd).into_iter().find(|(name, _)| name == key).map(|(_, value)| value)
    }

    #[test]
    fn cargo_llvm_covs_flags_reach_the_test_run_and_the_reports_that_take_them() {
        let sh = Shell::new().unwrap();
        let args = [
            "--mode",
            "lcov",
            "--mode",
            "html",
            "--lib",
            "--test",
            "it",
            "--branch",
            "--release",
            "--target",
            "x86_64-unknown-linux-gnu",
            "--ignore-filename-regex",
            "gen/",
            "--no-cfg-coverage",
            "--locked",
            "-v",
            "--",
            "one_test",
            "--nocapture",
        ];
        let plan = plan(&args, stable());
        let every = "--target x86_64-unknown-linux-gnu --ignore-filename-regex gen/ --release --locked -v";
        let test = plan.test(&sh).to_string();
        assert!(
            test.contains(&format!(
                "-p core -p app {every} --all-features --lib --test it --branch --no-cfg-coverage --lcov"
            )),
            "{test}"
        );
        assert!(test.ends_with(" -- one_test --nocapture"), "{test}");
        let report = plan.report(&sh, Mode::Html).to_string();
        assert!(report.contains(&format!("report -p core -p app {every} --html")), "{report}");
        for test_only in ["--lib", "--branch", "--no-cfg-coverage", "one_test"] {
            assert!(!report.contains(test_only), "{report}");
            assert!(!plan.summary(&sh).to_string().contains(test_only));
        }
        assert!(plan.clean(&sh).to_string().ends_with("clean --workspace --locked -v"));
    }

    #[test]
    fn flags_that_cannot_work_together_are_refused_naming_both() {
        for (args, message) in [
            (&["--doctests", "--lib"][..], "--doctests does not work with --lib"),
            (&["--doctests", "--test", "it"], "--doctests does not work with --test"),
            (&["--release", "--profile", "ci"], "--release and --profile"),
            (&["--fail-under-branches", "50"], "--fail-under-branches needs --branch"),
        ] {
            let flags = flags::Coverage::from_args(args).unwrap();
            let error = check_flags(&flags).unwrap_err().0;
            assert!(error.starts_with(message), "{args:?}: {error}");
        }
        let flags = flags::Coverage::from_args(&["--branch", "--fail-under-branches", "50"]).unwrap();
        assert_eq!(check_flags(&flags).unwrap(), Minimums([None, None, None, Some(50.0)]));
    }

    #[test]
    fn one_test_run_writing_the_first_exported_format_then_one_report_per_other_format() {
        let sh = Shell::new().unwrap();
        let plan = plan(THREE, stable());
        assert_eq!(
            plan.test(&sh).to_string(),
            format!(
                "/bin/cargo-llvm-cov llvm-cov --no-fail-fast -p core -p app --all-features --lcov --output-path {}",
                native("/ws/lcov.info")
            )
        );
        let reports = |plan: &Plan, tests_failed| -> Vec<String> {
            plan.formats_after(tests_failed).iter().map(|format| plan.report(&sh, *format).to_string()).collect()
        };
        let report = "/bin/cargo-llvm-cov llvm-cov report -p core -p app";
        let lcov = format!("{report} --lcov --output-path {}", native("/ws/lcov.info"));
        let html = format!("{report} --html --output-dir {}", native("/ws/target/llvm-cov"));
        let text = format!("{report} --text --output-dir {}", native("/ws/target/llvm-cov"));
        assert_eq!(reports(&plan, false), [html.clone(), text.clone()]);
        // A failing test keeps cargo-llvm-cov from writing any report.
        assert_eq!(reports(&plan, true), [lcov, html.clone(), text]);

        // Nothing exported: the test run writes only the summary.
        let plan = self::plan(&["--mode", "html"], stable());
        assert_eq!(plan.tested_format(), None);
        assert!(plan.test(&sh).to_string().ends_with(&format!(
            "--json --summary-only --output-path {}",
            native("/ws/target/llvm-cov-target/xtask-summary.json")
        )));
        assert_eq!(reports(&plan, false), [html]);
        let plan = self::plan(&["--mode", "html", "--mode", "cobertura", "--mode", "json"], stable());
        assert_eq!(plan.tested_format(), Some(Mode::Cobertura));
        assert_eq!(
            plan.summary(&sh).to_string(),
            "/bin/cargo-llvm-cov llvm-cov report -p core -p app --json --summary-only"
        );
    }

    #[test]
    fn nextest_and_doctests_reach_the_right_commands() {
        let sh = Shell::new().unwrap();
        let nextest = plan(&["--nextest"], stable());
        assert!(
            nextest.test(&sh).to_string().starts_with("/bin/cargo-llvm-cov llvm-cov nextest --no-fail-fast -p core")
        );
        let plan = plan(&["--doctests"], stable());
        assert!(plan.test(&sh).to_string().contains("-p app --doctests --all-features"), "{}", plan.test(&sh));
        assert!(plan.report(&sh, Mode::Lcov).to_string().contains("-p app --doctests --lcov"));
    }

    #[test]
    fn children_build_in_the_workspace_keep_the_wrapper_and_never_prompt() {
        let sh = Shell::new().unwrap();
        let plan = plan(THREE, stable());
        for cmd in [plan.test(&sh), plan.report(&sh, Mode::Html), plan.summary(&sh)] {
            let env = envs(cmd);
            let value = |key: &str| env.iter().find(|(name, _)| name == key).map(|(_, value)| value.clone());
            assert_eq!(value("CARGO_LLVM_COV_TARGET_DIR"), Some(Some(native("/ws/target/llvm-cov-target"))));
            assert_eq!(value("CARGO_LLVM_COV_BUILD_DIR"), Some(Some(native("/ws/target/llvm-cov-target"))));
            assert_eq!(value("CARGO_TARGET_DIR"), Some(Some(native("/ws/target"))));
            assert_eq!(value("CARGO_LLVM_COV_SETUP"), Some(Some("no".into())));
            assert_eq!(value("CARGO_INCREMENTAL"), None, "incremental stays as cargo has it: the figures depend on it");
            assert_eq!(value("CARGO"), Some(Some("/toolchain/bin/cargo".into())));
            // Left to the child policy, which also holds when these tests run under `cargo llvm-cov`.
            let policy = env_value(child::command(&sh, "anything"), "RUSTC_WRAPPER");
            assert_eq!(value("RUSTC_WRAPPER"), policy, "the wrapper is the one every child gets");
            // The test binary runs under `cargo test`: its CARGO_PKG_* must not reach the child.
            assert_eq!(value("CARGO_PKG_NAME"), Some(None));
        }
    }

    #[test]
    fn the_test_run_has_the_xtask_stand_in_for_llvm_cov_and_reports_get_the_real_one() {
        let sh = Shell::new().unwrap();
        let plan = plan(THREE, stable());
        let test = envs(plan.test(&sh));
        let value = |env: &[(String, Option<String>)], key: &str| {
            env.iter().find(|(name, _)| name == key).and_then(|(_, value)| value.clone())
        };
        assert_eq!(value(&test, "LLVM_COV").as_deref(), Some("/bin/xtask"));
        assert_eq!(value(&test, llvm_cov::REAL_LLVM_COV).as_deref(), Some("/toolchain/lib/bin/llvm-cov"));
        assert_eq!(value(&test, llvm_cov::SUMMARY_FILE), Some(native("/ws/target/llvm-cov-target/xtask-summary.json")));
        for cmd in [plan.report(&sh, Mode::Html), plan.summary(&sh)] {
            let env = envs(cmd);
            assert_eq!(value(&env, "LLVM_COV").as_deref(), Some("/toolchain/lib/bin/llvm-cov"));
            assert_eq!(value(&env, llvm_cov::SUMMARY_FILE), None);
        }
        // When the test run writes the summary itself, nothing stands in.
        let plan = self::plan(&["--mode", "text"], stable());
        assert_eq!(value(&envs(plan.test(&sh)), "LLVM_COV").as_deref(), Some("/toolchain/lib/bin/llvm-cov"));
    }

    #[test]
    fn dependencies_reach_sccache_through_the_xtask_with_the_users_variables() {
        let user_vars: BTreeMap<&str, Option<String>> =
            [("CARGO_TARGET_DIR", None), ("CARGO_LLVM_COV", None)].into_iter().collect();
        let sccache = Wrapper::Sccache { path: "/bin/sccache".into(), variable: None };
        let env = dependency_env(&sccache, &"/bin/xtask".into(), &user_vars);
        assert_eq!(env.get("RUSTC_WRAPPER"), Some(Some("/bin/xtask".as_ref())));
        assert_eq!(env.get(rustc_wrapper::SCCACHE_VAR), Some(Some("/bin/sccache".as_ref())));
        assert_eq!(
            env.get(rustc_wrapper::DEPENDENCY_ENV_VAR),
            Some(Some(r#"{"CARGO_LLVM_COV":null,"CARGO_TARGET_DIR":null}"#.as_ref()))
        );
        let inside_explain = dependency_env(&Wrapper::Xtask, &"/bin/xtask".into(), &user_vars);
        assert_eq!(inside_explain.get("RUSTC_WRAPPER"), None, "explain's chain stays");
        assert!(inside_explain.get(rustc_wrapper::DEPENDENCY_ENV_VAR).is_some());
        assert!(dependency_env(&Wrapper::Other, &"/bin/xtask".into(), &user_vars).is_empty());
    }

    #[test]
    fn no_sccache_blanks_the_wrapper_for_that_run_only() {
        let sh = Shell::new().unwrap();
        let plan = plan(&["--no-sccache"], stable());
        assert_eq!(env_value(plan.test(&sh), "RUSTC_WRAPPER"), Some(Some(String::new())));
    }

    #[test]
    fn doctests_on_stable_drive_the_nightly_toolchain() {
        let sh = Shell::new().unwrap();
        let nightly = Toolchain {
            cargo: "/stable/cargo".into(),
            nightly: Some(("/nightly/cargo".into(), "/nightly/rustc".into())),
        };
        let plan = plan(&[], nightly);
        assert_eq!(env_value(plan.test(&sh), "CARGO"), Some(Some("/nightly/cargo".into())));
        assert_eq!(env_value(plan.test(&sh), "RUSTC"), Some(Some("/nightly/rustc".into())));
        assert_eq!(env_value(plan.test(&sh), "RUSTUP_TOOLCHAIN"), Some(Some("nightly".into())));
    }

    #[test]
    fn dry_run_shows_the_environment_and_every_command() {
        let sh = Shell::new().unwrap();
        let described = plan(THREE, stable()).describe(&sh);
        let target = native("/ws/target/llvm-cov-target");
        assert!(described.contains(&format!("  CARGO_LLVM_COV_TARGET_DIR={target}\n")), "{described}");
        assert_eq!(described.matches("/bin/cargo-llvm-cov llvm-cov").count(), 5, "{described}");
        // One format: no empty "all at once" list.
        let one = plan(&["--mode", "lcov"], stable());
        let described = one.describe(&sh);
        assert!(!described.contains("all at once"), "{described}");
        assert!(described.contains("if a test failed, its report after the summary:\n  "), "{described}");
    }
}
