//! `cargo xtask coverage` and `cargo xtask coverage-fast`: test coverage with cargo-llvm-cov.
//!
//! cargo-llvm-cov writes one format per invocation (its issue #60), so the tests run once, writing
//! the first exported format and (through the `llvm-cov` stand-in, `roles::llvm_cov`) the JSON summary the table is made from,
//! and each other format is one `cargo llvm-cov report`. Once the test run has merged the raw
//! profiles into its `.profdata`, the raw ones are removed: a `report` then only reads the merged
//! file (it merges only when raw profiles exist), so the formats render side by side instead of
//! one after another. Coverage builds in the
//! workspace's own `target/llvm-cov-target` whatever `CARGO_TARGET_DIR` or `build.target-dir`
//! say: in a shared directory cargo-llvm-cov merges every project's `*.profraw` and its cleaning
//! deletes other projects' reports (its issue #202). The rustc wrapper (sccache) stays: since 0.7
//! cargo-llvm-cov chains it, so dependencies come from the cache. Incremental compilation stays as
//! cargo has it: turning it off would let sccache cache the workspace's own crates too, but it
//! also changes how rustc splits them into codegen units (16 instead of 256), and with that the
//! counts of inlined and generic code (ripgrep's `ignore` crate loses executed lines), so the
//! figures would no longer be plain cargo-llvm-cov's. All of this is set on the children only.

mod artifacts;
mod browser;
mod changes;
mod checks;
mod patch;
mod python;
mod python_tests;
mod selection;
mod summary;

use checks::incremental_turned_off;
pub(crate) use checks::{findings, smoke_test};
use selection::{Settings, select};

use std::{
    collections::BTreeMap,
    ffi::OsString,
    io::Write,
    process::{Command, Stdio},
};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;
use xshell::{Cmd, Shell};

use crate::{
    child::{self, Env},
    flags::{self, Mode},
    output::{Stream, Style, UsageError, paint},
    roles::{llvm_cov, rustc_wrapper},
    setup_sccache, tools,
    workspace::{self, Member, Workspace},
};
use patch::Patch;
use python_tests::{Outcome, Place, Suite, SuiteSettings};
use summary::{Metric, Minimums, Summary};

/// The member that is the workspace's automation (this one): measured only when asked for by name.
const XTASK: &str = workspace::XTASK_PACKAGE;
/// Where the settings live, for messages.
const SETTINGS: &str = "[workspace.metadata.xtask.coverage]";
const NIGHTLY_INSTALL: &str = "rustup toolchain install nightly --component llvm-tools-preview";
const NIGHTLY_LLVM_TOOLS: &str = "rustup component add llvm-tools-preview --toolchain nightly";

/// Every report cargo-llvm-cov can write for us, once each (`open` writes `html`'s).
const FORMATS: [Mode; 6] = [Mode::Html, Mode::Lcov, Mode::Text, Mode::Json, Mode::Cobertura, Mode::Codecov];

impl Mode {
    /// The report this mode needs: `open` needs `html`'s.
    fn format(self) -> Mode {
        if self == Mode::Open { Mode::Html } else { self }
    }

    /// The cargo-llvm-cov flag that writes this mode's report.
    fn flag(self) -> &'static str {
        match self {
            Mode::Open | Mode::Html => "--html",
            Mode::Lcov => "--lcov",
            Mode::Text => "--text",
            Mode::Json => "--json",
            Mode::Cobertura => "--cobertura",
            Mode::Codecov => "--codecov",
        }
    }
}

/// Where the reports go: `lcov.info` at the workspace root (where Codecov and most CI steps
/// look), the others in `<target>/llvm-cov`; or all of them in `--output-dir`.
#[derive(Debug)]
struct Outputs {
    dir: Utf8PathBuf,
    lcov: Utf8PathBuf,
}

/// How cargo-llvm-cov is told where to write a format, and what it writes.
struct Destination {
    /// `--output-dir` or `--output-path`, and its value.
    option: OutputOption,
    value: Utf8PathBuf,
    /// The file to show the user.
    shown: Utf8PathBuf,
    /// What the format owns, to remove with `--clean`.
    owned: Utf8PathBuf,
}

/// cargo-llvm-cov writes a directory's formats into a directory it makes, the others to a path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OutputOption {
    Dir,
    Path,
}

impl OutputOption {
    fn flag(self) -> &'static str {
        match self {
            OutputOption::Dir => "--output-dir",
            OutputOption::Path => "--output-path",
        }
    }
}

impl Outputs {
    fn destination(&self, format: Mode) -> Destination {
        let in_dir = |sub: &str, file: &str| Destination {
            option: OutputOption::Dir,
            value: self.dir.clone(),
            shown: self.dir.join(sub).join(file),
            owned: self.dir.join(sub),
        };
        let file = |path: Utf8PathBuf| Destination {
            option: OutputOption::Path,
            value: path.clone(),
            shown: path.clone(),
            owned: path,
        };
        match format {
            // cargo-llvm-cov puts these in `<output-dir>/html` and `<output-dir>/text`.
            Mode::Open | Mode::Html => in_dir("html", "index.html"),
            Mode::Text => in_dir("text", "index.txt"),
            Mode::Lcov => file(self.lcov.clone()),
            Mode::Json => file(self.dir.join("coverage.json")),
            Mode::Cobertura => file(self.dir.join("cobertura.xml")),
            Mode::Codecov => file(self.dir.join("codecov.json")),
        }
    }
}

/// The directories coverage uses, all inside the workspace unless `--output-dir` says otherwise.
#[derive(Debug)]
struct Dirs {
    root: Utf8PathBuf,
    /// The workspace's own target directory: cargo's, unless that is shared with other projects.
    own_target: Utf8PathBuf,
    /// cargo-llvm-cov's build directory: instrumented objects and the `*.profraw` files.
    cov_target: Utf8PathBuf,
    outputs: Outputs,
}

impl Dirs {
    /// `output_dir` as typed, relative to `cwd` (where the user ran the command).
    fn new(ws: &Workspace, output_dir: Option<&Utf8Path>, cwd: &Utf8Path) -> Dirs {
        let own_target = if ws.target_dir_is_shared() { ws.root.join("target") } else { ws.target_dir.clone() };
        let outputs = match output_dir {
            Some(dir) => {
                let dir = workspace::users_path(cwd, dir);
                Outputs { lcov: dir.join("lcov.info"), dir }
            }
            None => Outputs { dir: own_target.join("llvm-cov"), lcov: ws.root.join("lcov.info") },
        };
        Dirs { root: ws.root.clone(), cov_target: own_target.join("llvm-cov-target"), own_target, outputs }
    }

    /// Every report coverage can write here.
    fn reports(&self) -> Vec<Utf8PathBuf> {
        FORMATS.iter().map(|format| self.outputs.destination(*format).owned).collect()
    }
}

/// `coverage` measures every member (but this xtask); `coverage-fast`, the same command with the
/// same flags (`main` reads it as `coverage`), leaves the slow ones out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    Full,
    Fast,
}

impl flags::Coverage {
    pub(crate) fn run(self, sh: &Shell, scope: Scope) -> anyhow::Result<()> {
        run(sh, self, scope)
    }
}

fn run(sh: &Shell, flags: flags::Coverage, scope: Scope) -> anyhow::Result<()> {
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
        eprintln!("{task} leaves out `{name}`: {why}");
    }
    let measured = match &flags.changed_since {
        Some(reference) => changed_members(sh, &ws, reference, &selection.measured, task)?,
        None => selection.measured,
    };
    if measured.is_empty() {
        println!("{task}: nothing to measure, as the change affects no measured member");
        return Ok(());
    }
    let patch =
        flags.patch_base.as_deref().map(|base| PatchGate::read(sh, &ws, base, flags.fail_under_patch)).transpose()?;
    let dirs = Dirs::new(&ws, flags.output_dir.as_deref(), &workspace::users_dir()?);

    if flags.clean || flags.clean_only {
        remove_artifacts(&dirs, flags.dry_run)?;
    }
    // None only with --clean-only, which is done now.
    let Some(tools) = tools else { return Ok(()) };
    // No mode is `open`, as in cargo-llvm-cov.
    let modes = if flags.mode.is_empty() { vec![Mode::Open] } else { flags.mode.clone() };
    let plan = plan(sh, &ws, &flags, &modes, tools?, &measured, &settings.python, dirs)?;
    if flags.dry_run {
        print!("{}", plan.describe(sh));
        return Ok(());
    }
    if let Some(why) = incremental_turned_off(sh) {
        eprintln!("note: {why}; it is passed on as it is");
    }
    let gates = Gates { total: settings.total.overridden_by(&total_minimums), crates: settings.crates, patch };
    execute(sh, &plan, &gates, flags.json)
}

/// `--changed-since`: of the `selected` members, those the change from `reference` to the
/// working tree can affect, each said with why.
fn changed_members(
    sh: &Shell,
    ws: &Workspace,
    reference: &str,
    selected: &[String],
    task: &str,
) -> anyhow::Result<Vec<String>> {
    let git = changes::Git::open(sh, &ws.root, "--changed-since")?;
    let commit = git.commit(reference, "--changed-since")?;
    let files = in_workspace(ws, git.changed_files(&commit)?);
    let lock = ws.root.join("Cargo.lock");
    let lock_changed = match files.contains(&lock) {
        true => changes::lock_changes(
            git.file_at(&commit, &lock)?.as_deref(),
            std::fs::read_to_string(&lock).ok().as_deref(),
        )?,
        false => Vec::new(),
    };
    let affected = changes::affected(&ws.root, &ws.members, &files, &lock_changed);
    eprintln!(
        "{task} --changed-since {reference}: {} changed file{}, {} outside every member",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        affected.outside.len()
    );
    let mut measured = Vec::new();
    for name in selected {
        match affected.members.iter().find(|(member, _)| member == name) {
            Some((_, why)) => {
                eprintln!("{task} measures `{name}`: {why}");
                measured.push(name.clone());
            }
            None => eprintln!("{task} leaves out `{name}`: the change does not reach it"),
        }
    }
    for (name, why) in affected.members.iter().filter(|(member, _)| !selected.contains(member)) {
        eprintln!("`{name}` is affected ({why}) but not selected: name it with -p to measure it");
    }
    Ok(measured)
}

/// Paths from git (links resolved) as the workspace's paths, which are cargo's: the same file
/// under the root cargo reports, so that they compare with the members' directories.
fn in_workspace(ws: &Workspace, files: Vec<Utf8PathBuf>) -> Vec<Utf8PathBuf> {
    let Ok(real_root) = ws.root.canonicalize_utf8() else { return files };
    files
        .into_iter()
        .map(|file| match file.strip_prefix(&real_root) {
            Ok(relative) => ws.root.join(relative),
            Err(_) => file,
        })
        .collect()
}

/// `--patch-base`: the changed lines, read before the run (a wrong ref fails before the tests),
/// and the minimum share.
struct PatchGate {
    base: String,
    /// Per file (canonical path), the changed lines.
    changed: Vec<(Utf8PathBuf, Vec<u32>)>,
    /// The workspace root, canonical, which the files are shown relative to.
    root: Utf8PathBuf,
    minimum: Option<f64>,
}

impl PatchGate {
    fn read(sh: &Shell, ws: &Workspace, base: &str, minimum: Option<f64>) -> anyhow::Result<PatchGate> {
        let git = changes::Git::open(sh, &ws.root, "--patch-base")?;
        let commit = git.commit(base, "--patch-base")?;
        let changed = git.changed_lines(&commit)?;
        let root = ws.root.canonicalize_utf8().unwrap_or_else(|_| ws.root.clone());
        Ok(PatchGate { base: base.to_owned(), changed, root, minimum })
    }

    /// The patch's figures from the run's LCOV report.
    fn measure(&self, lcov: &str) -> Patch {
        let counts = patch::line_counts(lcov, |file| file.canonicalize_utf8().unwrap_or_else(|_| file.to_owned()));
        Patch::new(&self.base, &self.changed, &counts, &self.root)
    }
}

/// The plan for measuring the members named `measured`, once what their tests need is found.
#[allow(clippy::too_many_arguments)]
fn plan(
    sh: &Shell,
    ws: &Workspace,
    flags: &flags::Coverage,
    modes: &[Mode],
    tools: Tools,
    measured: &[String],
    python_settings: &[(String, SuiteSettings)],
    dirs: Dirs,
) -> anyhow::Result<Plan> {
    let measured: Vec<&Member> = ws.members.iter().filter(|member| measured.contains(&member.name)).collect();
    let python_members: Vec<&Member> = measured.iter().copied().filter(|member| member.uses_python).collect();
    if python_members.is_empty() {
        return Ok(Plan::new(flags, modes, tools, &measured, &Env::default(), None, dirs));
    }
    let python = python::Python::find(sh)?;
    let run_env = python_env(sh, &python)?;
    let mut suites = Vec::new();
    if !flags.no_python_tests {
        for member in python_members {
            match Suite::of(member, python_settings)? {
                Some(suite) => suites.push(suite),
                None => eprintln!(
                    "`{}` has no Python tests (no maturin pyproject.toml with tests/test_*.py or a pytest \
                     configuration): its Rust tests only",
                    member.name
                ),
            }
        }
    }
    let python_tests = (!suites.is_empty()).then_some(PythonTests { python, suites });
    Ok(Plan::new(flags, modes, tools, &measured, &run_env, python_tests, dirs))
}

/// What pyo3 crates' tests need to start: the directory of Python's shared library in the
/// loader's path. Not passed on as PYO3_PYTHON: pyo3 finds the same interpreter, and a changed
/// PYO3_PYTHON would rebuild pyo3 and everything above it whenever plain `cargo llvm-cov` ran between.
fn python_env(sh: &Shell, python: &python::Python) -> anyhow::Result<Env> {
    eprintln!("pyo3 crates: tests load Python's library from {} ({})", python.library_dir, python.interpreter);
    let (name, value) = python::library_path(std::env::consts::OS, &python.library_dir, |name| sh.var_os(name))?;
    Ok(Env::default().set(name, value))
}

/// The Python tests of the measured pyo3 crates, and the interpreter their environments are made with.
#[derive(Debug)]
struct PythonTests {
    python: python::Python,
    suites: Vec<Suite>,
}

/// Usage errors the parser cannot see; returns the `--fail-under-*` minimums.
fn check_flags(flags: &flags::Coverage) -> Result<Minimums, UsageError> {
    if flags.doctests && flags.nextest {
        return Err(UsageError(
            "--doctests does not work with --nextest: cargo-nextest cannot run doc tests; drop one of them".into(),
        ));
    }
    if let Some(minimum) = flags.fail_under_patch {
        if flags.patch_base.is_none() {
            return Err(UsageError("--fail-under-patch needs --patch-base REF: the change to measure".into()));
        }
        if !(0.0..=100.0).contains(&minimum) {
            return Err(UsageError(format!("--fail-under-patch must be a percentage from 0 to 100, not {minimum}")));
        }
    }
    let mut minimums = Minimums::default();
    for (metric, value) in [
        (Metric::Lines, flags.fail_under_lines),
        (Metric::Functions, flags.fail_under_functions),
        (Metric::Regions, flags.fail_under_regions),
    ] {
        let Some(value) = value else { continue };
        if !(0.0..=100.0).contains(&value) {
            return Err(UsageError(format!(
                "--fail-under-{} must be a percentage from 0 to 100, not {value}",
                metric.name()
            )));
        }
        minimums.set(metric, value);
    }
    Ok(minimums)
}

/// `--all-features` unless features were chosen: every feature's code is measured.
fn feature_args(features: &[String], no_default_features: bool) -> Vec<String> {
    if features.is_empty() && !no_default_features {
        return vec!["--all-features".into()];
    }
    let mut args: Vec<String> = features.iter().flat_map(|list| ["--features".into(), list.clone()]).collect();
    if no_default_features {
        args.push("--no-default-features".into());
    }
    args
}

/// The cargo that cargo-llvm-cov drives, and for `--doctests` on a stable default, the nightly.
#[derive(Debug)]
struct Toolchain {
    cargo: OsString,
    /// Nightly's cargo and rustc, when the active toolchain is not a nightly.
    nightly: Option<(Utf8PathBuf, Utf8PathBuf)>,
}

impl Toolchain {
    fn for_run(sh: &Shell, doctests: bool) -> anyhow::Result<Toolchain> {
        let cargo = sh.var_os("CARGO").unwrap_or_else(|| "cargo".into());
        if !doctests {
            return Ok(Toolchain { cargo, nightly: None });
        }
        let version =
            child::command(sh, tools::rustc(sh)).arg("-V").quiet().read().context("could not run `rustc -V`")?;
        if version.contains("-nightly") {
            return Ok(Toolchain { cargo, nightly: None });
        }
        match installed_nightly(sh) {
            Some(nightly) => {
                eprintln!("--doctests: the active toolchain is {}; using the nightly one", version.trim());
                Ok(Toolchain { cargo, nightly: Some(nightly) })
            }
            None => bail!(
                "--doctests needs a nightly toolchain (the active one is {}) and none is installed; install one with: {NIGHTLY_INSTALL}",
                version.trim()
            ),
        }
    }

    /// The compiler cargo-llvm-cov uses, whose llvm-tools must read its profiles: `RUSTC`, else
    /// the rustc beside the cargo (both as cargo-llvm-cov picks them).
    fn rustc(&self, sh: &Shell) -> OsString {
        if let Some((_, rustc)) = &self.nightly {
            return rustc.as_str().into();
        }
        tools::rustc_from_env(sh).unwrap_or_else(|| {
            let beside =
                std::path::Path::new(&self.cargo).with_file_name(format!("rustc{}", std::env::consts::EXE_SUFFIX));
            if beside.is_file() { beside.into() } else { "rustc".into() }
        })
    }
}

/// The cargo and rustc of rustup's nightly toolchain, if it is installed. Doc-test coverage needs
/// rustdoc's unstable --persist-doctests (cargo-llvm-cov #2).
fn installed_nightly(sh: &Shell) -> Option<(Utf8PathBuf, Utf8PathBuf)> {
    let which = |tool: &str| {
        child::command(sh, "rustup").args(["which", "--toolchain", "nightly", tool]).quiet().ignore_stderr().read()
    };
    Some((which("cargo").ok()?.trim().into(), which("rustc").ok()?.trim().into()))
}

/// What every cargo-llvm-cov child gets on top of the inherited environment.
fn child_env(dirs: &Dirs, toolchain: &Toolchain, no_sccache: bool) -> Env {
    let cargo = toolchain.nightly.as_ref().map_or_else(|| toolchain.cargo.clone(), |(cargo, _)| cargo.as_str().into());
    let env = Env::default()
        .set("CARGO", cargo)
        // Its own build and its default report directory inside the workspace (its `clean`
        // removes `<target>/llvm-cov/html` and `text`, which would be everyone's in a shared one).
        .set("CARGO_TARGET_DIR", &dirs.own_target)
        .set("CARGO_LLVM_COV_TARGET_DIR", &dirs.cov_target)
        .set("CARGO_LLVM_COV_BUILD_DIR", &dirs.cov_target)
        // Never a prompt to install llvm-tools: an error naming the rustup command instead.
        .set("CARGO_LLVM_COV_SETUP", "no");
    let env = match &toolchain.nightly {
        Some((_, rustc)) => env.set("RUSTC", rustc).set("RUSTUP_TOOLCHAIN", "nightly"),
        None => env,
    };
    // Empty also overrides a `build.rustc-wrapper` from cargo's config.
    if no_sccache { env.set("RUSTC_WRAPPER", "") } else { env }
}

/// The coverage run's own `CARGO_*` variables: those `child_env` sets, and cargo-llvm-cov's
/// (`CARGO_LLVM_COV`, and `CARGO_BUILD_BUILD_DIR` when a build directory is configured).
const COVERAGE_VARS: [&str; 6] = [
    "CARGO_TARGET_DIR",
    "CARGO_LLVM_COV_TARGET_DIR",
    "CARGO_LLVM_COV_BUILD_DIR",
    "CARGO_LLVM_COV_SETUP",
    "CARGO_LLVM_COV",
    "CARGO_BUILD_BUILD_DIR",
];

/// The rustc wrapper cargo-llvm-cov will chain, as far as sccache goes.
#[derive(Debug, Clone, PartialEq)]
enum Wrapper {
    /// Not sccache (or none): chained as it is.
    Other,
    /// sccache, at this path, named by `RUSTC_WRAPPER` with this value or else by cargo's config.
    Sccache { path: Utf8PathBuf, variable: Option<String> },
    /// The xtask already stands in front of sccache (`setup-sccache explain` runs this coverage).
    Xtask,
}

/// What puts the xtask in front of sccache, so that the compilations cargo-llvm-cov does not
/// instrument (the dependencies, whose figures are not measured) get `user_vars`, the user's
/// values of the coverage run's own variables: sccache hashes every `CARGO_*` variable, and with
/// the run's values they could never hit what `cargo build` or `cargo test` cached.
fn dependency_env(wrapper: &Wrapper, xtask: &OsString, user_vars: &BTreeMap<&str, Option<String>>) -> Env {
    let dependency_env =
        Env::default().set(rustc_wrapper::DEPENDENCY_ENV_VAR, rustc_wrapper::dependency_env(user_vars));
    match wrapper {
        Wrapper::Other => Env::default(),
        Wrapper::Sccache { path, variable } => {
            rustc_wrapper::env(xtask, path.as_ref(), variable.clone().map(OsString::from)).and(&dependency_env)
        }
        Wrapper::Xtask => dependency_env,
    }
}

/// The programs a coverage run needs, checked to exist and be recent enough.
struct Tools {
    cargo_llvm_cov: Utf8PathBuf,
    toolchain: Toolchain,
    llvm_cov: Utf8PathBuf,
    llvm_profdata: Utf8PathBuf,
    /// This program, which stands in for llvm-cov in the test run and for the rustc wrapper in
    /// front of sccache.
    xtask: OsString,
    wrapper: Wrapper,
    /// The user's values of `COVERAGE_VARS`.
    user_vars: BTreeMap<&'static str, Option<String>>,
}

impl Tools {
    fn find(sh: &Shell, flags: &flags::Coverage) -> anyhow::Result<Tools> {
        let cargo_llvm_cov = tools::CARGO_LLVM_COV.find(sh)?.path;
        if flags.nextest {
            tools::CARGO_NEXTEST.find(sh)?;
        }
        let toolchain = Toolchain::for_run(sh, flags.doctests)?;
        // Found once here and passed on, which saves each cargo-llvm-cov child the same rustc call.
        let install = if toolchain.nightly.is_some() { NIGHTLY_INSTALL } else { tools::LLVM_COV.install };
        let (llvm_cov, llvm_profdata) = tools::llvm_tools(sh, &toolchain.rustc(sh), install)?;
        let xtask = std::env::current_exe().context("cannot find the running xtask")?.into();
        let wrapper = match (sh.var_os(rustc_wrapper::SCCACHE_VAR), setup_sccache::sccache_wrapper(sh)) {
            (Some(_), _) => Wrapper::Xtask,
            (None, Some((path, variable))) => Wrapper::Sccache { path, variable },
            (None, None) => Wrapper::Other,
        };
        let user_vars = COVERAGE_VARS.into_iter().map(|name| (name, sh.var(name).ok())).collect();
        Ok(Tools { cargo_llvm_cov, toolchain, llvm_cov, llvm_profdata, xtask, wrapper, user_vars })
    }
}

/// Every command of one coverage run, decided before any runs.
#[derive(Debug)]
struct Plan {
    cargo_llvm_cov: Utf8PathBuf,
    env: Env,
    /// The toolchain's `llvm-cov`, and the xtask standing in for it in the test run.
    llvm_cov: Utf8PathBuf,
    xtask: OsString,
    packages: Vec<String>,
    /// The measured members and their directories, which the summary gives each file to.
    crate_dirs: Vec<(String, Utf8PathBuf)>,
    feature_args: Vec<String>,
    nextest: bool,
    doctests: bool,
    formats: Vec<Mode>,
    /// Whether the HTML report is opened in a browser at the end.
    open: bool,
    /// The LCOV report patch coverage reads (`--patch-base`): lcov's destination when it is
    /// asked for, else a file of its own in the coverage build directory.
    patch_lcov: Option<Utf8PathBuf>,
    /// The pyo3 crates' Python tests, run after the Rust tests against an instrumented build.
    python_tests: Option<PythonTests>,
    dirs: Dirs,
}

impl Plan {
    /// Decides the run's commands and their environment from what was found: no I/O, so tests
    /// build their plans the way the run does. `modes` are those asked for (no mode: the figures
    /// only); `run_env` is what the measured crates' tests need to start (see `python_env`).
    fn new(
        flags: &flags::Coverage,
        modes: &[Mode],
        tools: Tools,
        measured: &[&Member],
        run_env: &Env,
        python_tests: Option<PythonTests>,
        dirs: Dirs,
    ) -> Plan {
        let Tools { cargo_llvm_cov, toolchain, llvm_cov, llvm_profdata, xtask, wrapper, user_vars } = tools;
        let wrapper = if flags.no_sccache { Wrapper::Other } else { wrapper };
        let env = child_env(&dirs, &toolchain, flags.no_sccache)
            .and(&dependency_env(&wrapper, &xtask, &user_vars))
            .set("LLVM_PROFDATA", &llvm_profdata)
            .set("LLVM_COV", &llvm_cov)
            .and(run_env);
        let mut formats: Vec<Mode> = Vec::new();
        for mode in modes {
            if !formats.contains(&mode.format()) {
                formats.push(mode.format());
            }
        }
        Plan {
            cargo_llvm_cov,
            env,
            llvm_cov,
            xtask,
            crate_dirs: measured.iter().map(|member| (member.name.clone(), member.manifest_dir.clone())).collect(),
            packages: measured.iter().map(|member| member.name.clone()).collect(),
            feature_args: feature_args(&flags.features, flags.no_default_features),
            nextest: flags.nextest,
            doctests: flags.doctests,
            patch_lcov: flags.patch_base.as_ref().map(|_| match formats.contains(&Mode::Lcov) {
                true => dirs.outputs.destination(Mode::Lcov).shown,
                false => dirs.cov_target.join("xtask-patch.lcov"),
            }),
            formats,
            open: modes.contains(&Mode::Open),
            python_tests,
            dirs,
        }
    }

    /// The report that writes the LCOV file for patch coverage, when no `--mode lcov` does.
    fn patch_report<'a>(&self, sh: &'a Shell) -> Option<Cmd<'a>> {
        let lcov = self.patch_lcov.as_ref().filter(|_| !self.formats.contains(&Mode::Lcov))?;
        Some(self.scoped(self.llvm_cov(sh, &self.env).arg("report")).args(["--lcov", "--output-path", lcov.as_str()]))
    }

    /// What the test run gets on top of `env`: with a format to export, the xtask stands in for
    /// llvm-cov (see `roles::llvm_cov`) and is told where the real one and the summary are.
    fn stand_in(&self) -> Env {
        match self.tested_format() {
            Some(_) => Env::default()
                .set("LLVM_COV", &self.xtask)
                .set(llvm_cov::REAL_LLVM_COV, &self.llvm_cov)
                .set(llvm_cov::SUMMARY_FILE, self.summary_file()),
            None => Env::default(),
        }
    }

    /// cargo-llvm-cov with `env`, run directly rather than as `cargo llvm-cov`, so that it is the
    /// copy that `Tools` checked.
    fn llvm_cov<'a>(&self, sh: &'a Shell, env: &Env) -> Cmd<'a> {
        env.apply(child::command(sh, &self.cargo_llvm_cov).arg("llvm-cov"))
    }

    /// `report` must see the same packages and doc-test setting as the test run.
    fn scoped<'a>(&self, cmd: Cmd<'a>) -> Cmd<'a> {
        let cmd = self.packages.iter().fold(cmd, |cmd, package| cmd.args(["-p", package]));
        if self.doctests { cmd.arg("--doctests") } else { cmd }
    }

    /// The JSON summary the test run writes.
    fn summary_file(&self) -> Utf8PathBuf {
        self.dirs.cov_target.join("xtask-summary.json")
    }

    /// The format the test run writes itself: the first one that llvm-cov `export`s, so that
    /// The `llvm-cov` stand-in gets the summary from the same call. None when Python tests run after it:
    /// every report then comes after theirs.
    fn tested_format(&self) -> Option<Mode> {
        if self.python_tests.is_some() {
            return None;
        }
        self.formats
            .iter()
            .copied()
            .find(|format| matches!(format, Mode::Lcov | Mode::Json | Mode::Cobertura | Mode::Codecov))
    }

    /// The one test run. Like every `cargo llvm-cov` run with a report, it first removes the
    /// previous profiles and the measured crates' objects (stale ones would count old code).
    /// When every test passes it writes, in the same process, `tested_format` and the JSON
    /// summary (or only the summary if no format is exported); the other formats are then
    /// rendered from its profiles.
    fn test<'a>(&self, sh: &'a Shell) -> Cmd<'a> {
        let cmd = self.llvm_cov(sh, &self.env.clone().and(&self.stand_in()));
        let cmd = if self.nextest { cmd.arg("nextest") } else { cmd };
        // --no-fail-fast: a failing test still leaves every other test's profile for the reports.
        let cmd = self.scoped(cmd.arg("--no-fail-fast")).args(&self.feature_args);
        match self.tested_format() {
            Some(format) => self.written_by(cmd, format),
            None if self.python_tests.is_some() => cmd.arg("--no-report"),
            None => cmd.args(["--json", "--summary-only", "--output-path", self.summary_file().as_str()]),
        }
    }

    /// Before a test run without a report: what the report run would remove first (earlier
    /// profiles, the workspace's objects), keeping the dependencies and the Python environments.
    fn clean<'a>(&self, sh: &'a Shell) -> Cmd<'a> {
        self.llvm_cov(sh, &self.env).args(["clean", "--workspace"])
    }

    /// cargo-llvm-cov's build environment, which the extension modules are built with, in a form
    /// that reads back exactly.
    fn show_env<'a>(&self, sh: &'a Shell) -> Cmd<'a> {
        self.llvm_cov(sh, &self.env).args(["show-env", "--with-pwsh-env-prefix"])
    }

    fn python_commands<'a>(&'a self, sh: &'a Shell, python: &'a python::Python) -> python_tests::Commands<'a> {
        python_tests::Commands { sh, python, env: &self.env, cov_target: &self.dirs.cov_target }
    }

    fn report<'a>(&self, sh: &'a Shell, format: Mode) -> Cmd<'a> {
        self.written_by(self.scoped(self.llvm_cov(sh, &self.env).arg("report")), format)
    }

    /// `cmd` writing `format` where it belongs.
    fn written_by<'a>(&self, cmd: Cmd<'a>, format: Mode) -> Cmd<'a> {
        let destination = self.dirs.outputs.destination(format);
        cmd.args([format.flag(), destination.option.flag(), destination.value.as_str()])
    }

    /// The formats left for `report` once the test run is over: all of them if a test failed,
    /// as cargo-llvm-cov then writes no report.
    fn formats_after(&self, tests_failed: bool) -> Vec<Mode> {
        let tested = if tests_failed { None } else { self.tested_format() };
        self.formats.iter().copied().filter(|format| Some(*format) != tested).collect()
    }

    /// cargo-llvm-cov creates --output-dir but not the parent of --output-path.
    fn prepare_destination(&self, sh: &Shell, format: Mode) -> anyhow::Result<()> {
        let destination = self.dirs.outputs.destination(format);
        let dir = match destination.option {
            OutputOption::Dir => destination.value.as_path(),
            OutputOption::Path => destination.value.parent().unwrap_or(&self.dirs.root),
        };
        sh.create_dir(dir)?;
        Ok(())
    }

    /// The summary, when a failing test kept the test run from writing it.
    fn summary<'a>(&self, sh: &'a Shell) -> Cmd<'a> {
        self.scoped(self.llvm_cov(sh, &self.env).arg("report")).args(["--json", "--summary-only"])
    }

    /// For `--dry-run`.
    fn describe(&self, sh: &Shell) -> String {
        let mut out = String::from("environment of the cargo-llvm-cov commands (added to yours):\n");
        for word in self.env.words() {
            out += &format!("  {word}\n");
        }
        if let Some(python_tests) = &self.python_tests {
            let commands = self.python_commands(sh, &python_tests.python);
            out += "each Python environment, unless one made from the same interpreter and requirements is there:\n";
            for suite in &python_tests.suites {
                let place = Place::new(&self.dirs.cov_target, &suite.package);
                out += &format!(
                    "  {}\n  {}\n",
                    commands.create_venv(&place),
                    commands.install_requirements(&place, suite)
                );
            }
            out += &format!("then the previous run's profiles and objects go:\n  {}\n", self.clean(sh));
        }
        let (test, stand_in) = (self.test(sh), self.stand_in());
        out += &match stand_in.is_empty() {
            false => format!(
                "the test run (the xtask stands in for llvm-cov to write the summary as well):\n  {test}\n  with \
                 {stand_in}\n"
            ),
            true => format!("the test run:\n  {test}\n"),
        };
        if let Some(python_tests) = &self.python_tests {
            let commands = self.python_commands(sh, &python_tests.python);
            out += &format!(
                "then each crate's Python tests, its module built into {} (CARGO_TARGET_DIR) with the environment of:\n  {}\n",
                self.dirs.cov_target,
                self.show_env(sh)
            );
            for suite in &python_tests.suites {
                let place = Place::new(&self.dirs.cov_target, &suite.package);
                out += &format!(
                    "  (in {dir}) {}\n  {}\n  (in {dir}) {}\n",
                    commands.build_module(&place, &Env::default()),
                    commands.install_module(&place, &place.wheels.join("<the wheel maturin built>")),
                    commands.pytest(&place, suite, "<from show-env>".as_ref()),
                    dir = suite.dir,
                );
            }
            out += &format!("then the summary:\n  {}\n", self.summary(sh));
        } else {
            out += &format!("if a test fails, then the summary:\n  {}\n", self.summary(sh));
        }
        let mut after: Vec<Cmd<'_>> =
            self.formats_after(false).into_iter().map(|format| self.report(sh, format)).collect();
        after.extend(self.patch_report(sh));
        if !after.is_empty() {
            out += &format!("then, with {}/*.profraw merged and removed, all at once:\n", self.dirs.cov_target);
            for report in after {
                out += &format!("  {report}\n");
            }
        }
        if let Some(tested) = self.tested_format() {
            out += &format!("if a test failed, its report after the summary:\n  {}\n", self.report(sh, tested));
        }
        out
    }
}

/// The minimums to check after the run.
struct Gates {
    total: Minimums,
    crates: Vec<(String, Minimums)>,
    patch: Option<PatchGate>,
}

/// A test run's outcome.
struct Measured {
    summary: Summary,
    /// Whether a Rust or a Python test failed.
    tests_failed: bool,
    python: Vec<Outcome>,
}

impl Plan {
    /// The one test run and its summary. Fails when no test wrote coverage data, which is what a
    /// plain `cargo llvm-cov` reports as "no object files found".
    fn measure(&self, sh: &Shell) -> anyhow::Result<Measured> {
        let summary_file = self.summary_file();
        if summary_file.exists() {
            sh.remove_path(&summary_file)?;
        }
        if let Some(format) = self.tested_format() {
            self.prepare_destination(sh, format)?;
        }
        if let Some(python_tests) = &self.python_tests {
            // Before the build: a missing venv module or an unreachable index fails in seconds.
            let commands = self.python_commands(sh, &python_tests.python);
            for suite in &python_tests.suites {
                commands.prepare(&Place::new(&self.dirs.cov_target, &suite.package), suite)?;
            }
            let clean = self.clean(sh);
            eprintln!("$ {clean}");
            clean.quiet().run().context("could not remove the previous coverage run's profiles")?;
        }
        // The tests' own output is progress, not the result: it goes to stderr.
        let test = self.test(sh);
        eprintln!("$ {test}");
        let status =
            Command::from(test).stdout(std::io::stderr()).status().context("could not start cargo-llvm-cov")?;
        let python = self.run_python_tests(sh)?;
        let tests_failed = !status.success() || python.iter().any(Outcome::failed);
        if raw_profiles(&self.dirs.cov_target).is_empty() {
            bail!(if tests_failed {
                "the test run failed before any test wrote coverage data (see cargo's messages above), so there is no report"
            } else {
                "no test wrote coverage data: do the measured crates have tests?"
            });
        }
        if tests_failed {
            eprintln!(
                "{}: tests failed; the reports are made from the tests that ran, so the figures are partial",
                paint(Stream::Stderr, Style::Bad, "warning")
            );
        }
        // Either way the profiles are now merged, which lets `write_reports` run the reports together.
        let json = match summary_file.exists() && !tests_failed {
            true => sh.read_file(&summary_file)?,
            false => self.summary(sh).read()?,
        };
        for profile in raw_profiles(&self.dirs.cov_target) {
            sh.remove_path(profile)?;
        }
        let json: Value = serde_json::from_str(&json).context("cargo-llvm-cov's JSON summary is not JSON")?;
        let crate_dirs: Vec<(&str, &Utf8Path)> =
            self.crate_dirs.iter().map(|(name, dir)| (name.as_str(), dir.as_path())).collect();
        Ok(Measured { summary: Summary::from_json(&json, &crate_dirs)?, tests_failed, python })
    }

    /// Each crate's Python tests against its instrumented module, one after another.
    fn run_python_tests(&self, sh: &Shell) -> anyhow::Result<Vec<Outcome>> {
        let Some(python_tests) = &self.python_tests else { return Ok(Vec::new()) };
        let show_env = self.show_env(sh);
        let shown = show_env.to_string();
        let output = show_env.quiet().ignore_status().output().with_context(|| format!("could not run `{shown}`"))?;
        if !output.status.success() {
            bail!("`{shown}` failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim());
        }
        let build_env = python_tests::parse_show_env(&String::from_utf8_lossy(&output.stdout))?;
        let commands = self.python_commands(sh, &python_tests.python);
        let mut outcomes = Vec::new();
        for suite in &python_tests.suites {
            eprintln!("{}: Python tests ({}), against the instrumented module", suite.package, suite.collected());
            let outcome = commands.run(&Place::new(&self.dirs.cov_target, &suite.package), suite, &build_env)?;
            eprintln!("pytest {}", outcome.line());
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }
}

impl Plan {
    /// Every format at once: after `measure` each `report` only reads the merged profiles, and
    /// writes a file or directory of its own.
    fn write_reports(&self, sh: &Shell, formats: &[Mode]) -> anyhow::Result<()> {
        let mut reports = Vec::new();
        for format in formats {
            self.prepare_destination(sh, *format)?;
            reports.push(self.report(sh, *format));
        }
        reports.extend(self.patch_report(sh));
        let mut running = Vec::new();
        for report in reports {
            eprintln!("$ {report}");
            let shown = report.to_string();
            let child = Command::from(report)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .with_context(|| format!("could not start `{shown}`"))?;
            running.push((shown, child));
        }
        let mut failed = Vec::new();
        for (shown, child) in running {
            let output = child.wait_with_output().with_context(|| format!("`{shown}` did not finish"))?;
            // Each report's messages in one piece, in the order of --mode.
            std::io::stderr().write_all(&output.stderr)?;
            std::io::stderr().write_all(&output.stdout)?;
            if !output.status.success() {
                failed.push(format!("`{shown}` failed ({})", output.status));
            }
        }
        if !failed.is_empty() {
            bail!("{} (its messages are above)", failed.join("; "));
        }
        Ok(())
    }
}

fn execute(sh: &Shell, plan: &Plan, gates: &Gates, json: bool) -> anyhow::Result<()> {
    let Measured { summary, tests_failed, python } = plan.measure(sh)?;
    plan.write_reports(sh, &plan.formats_after(tests_failed))?;
    let patch = match (&gates.patch, &plan.patch_lcov) {
        (Some(gate), Some(lcov)) => Some(gate.measure(&sh.read_file(lcov)?)),
        _ => None,
    };
    let mut owned: Vec<Utf8PathBuf> =
        plan.formats.iter().map(|format| plan.dirs.outputs.destination(*format).owned).collect();
    owned.dedup();
    artifacts::record(&plan.dirs.cov_target, &owned)?;
    let written: Vec<Utf8PathBuf> =
        plan.formats.iter().map(|format| plan.dirs.outputs.destination(*format).shown).collect();
    let shortfalls = summary::shortfalls(&summary, &gates.total, &gates.crates);

    if json {
        let mut figures = summary.to_json();
        figures["patch"] = patch.as_ref().map_or(Value::Null, Patch::to_json);
        figures["tests_failed"] = tests_failed.into();
        figures["python_tests"] = python.iter().map(Outcome::to_json).collect();
        println!("{figures:#}");
    } else if plan.formats.contains(&Mode::Text) {
        // llvm-cov's per-file table, the part of the text report people read in a terminal (and
        // that GitLab's coverage regex reads).
        let index = sh.read_file(plan.dirs.outputs.destination(Mode::Text).shown)?;
        println!("{}\n", index.split("\n\n").next().unwrap_or_default().trim_end());
    }
    if !json {
        print!("{}", summary.table());
        if let Some(patch) = &patch {
            print!("\n{}", patch.text());
        }
        if !python.is_empty() {
            println!("\n{}", python_summary(&python));
        }
    }

    let mut problems = Vec::new();
    if tests_failed {
        problems.push(
            "tests failed, so the coverage figures are partial (the reports were written from the tests that ran)"
                .to_owned(),
        );
    }
    problems.extend(shortfalls);
    let minimum = gates.patch.as_ref().and_then(|gate| gate.minimum);
    problems.extend(patch.as_ref().zip(minimum).and_then(|(patch, minimum)| patch.shortfall(minimum)));
    let mut notes: Vec<String> = patch.iter().map(Patch::markdown).collect();
    if !python.is_empty() {
        notes.push(python_summary(&python));
    }
    notes.extend(problems.iter().map(|problem| format!("**Failed:** {problem}")));
    crate::output::append_step_summary(sh, &summary.markdown(&notes))?;

    for path in &written {
        // On stderr under --json, which keeps stdout one JSON document.
        match json {
            false => println!("{}wrote {path}", if path == &written[0] { "\n" } else { "" }),
            true => eprintln!("wrote {path}"),
        }
    }
    if plan.open {
        browser::open(sh, &plan.dirs.outputs.destination(Mode::Html).shown);
    }
    match problems.as_slice() {
        [] => Ok(()),
        [problem] => bail!("{problem}"),
        _ => bail!("coverage failed:\n  {}", problems.join("\n  ")),
    }
}

/// Which Python tests ran and how they went, said once after the table.
fn python_summary(outcomes: &[Outcome]) -> String {
    let lines: Vec<String> = outcomes.iter().map(Outcome::line).collect();
    format!("Python tests (their coverage is included above): {}", lines.join("; "))
}

/// The `*.profraw` files the test run left in the coverage build directory.
fn raw_profiles(cov_target: &Utf8Path) -> Vec<Utf8PathBuf> {
    let Ok(entries) = cov_target.read_dir_utf8() else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension() == Some("profraw"))
        .map(|entry| entry.into_path())
        .collect()
}

/// `--clean`: removes what coverage wrote, after saying what; `--dry-run` only says it.
fn remove_artifacts(dirs: &Dirs, dry_run: bool) -> anyhow::Result<()> {
    // The coverage build must be the workspace's own: never a shared directory.
    if !dirs.cov_target.starts_with(&dirs.root) {
        bail!("refusing to remove {}: it is outside the workspace {}", dirs.cov_target, dirs.root);
    }
    artifacts::remove(&dirs.cov_target, &dirs.reports(), dry_run)
}

/// Where coverage builds for this workspace: findings about the disk report its size.
pub(crate) fn build_dir(ws: &Workspace) -> Utf8PathBuf {
    Dirs::new(ws, None, &ws.root).cov_target
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::Target;

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
            Err("unknown mode `pdf`; the modes are open, html, lcov, text, json, cobertura, codecov".into())
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
        assert_eq!(check_flags(&flags).unwrap(), Minimums([None, None, Some(99.5)]));
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
