//! Every command of one run, decided before any runs (`Plan::new` is pure): the test run, one
//! `report` per further format, the Python tests, and the dry run's description of them.

use std::ffi::OsString;

use camino::Utf8PathBuf;
use xshell::{Cmd, Shell};

use super::{
    outputs::Dirs,
    python,
    python_tests::{self, Place, Suite, SuiteSettings},
    toolchain::{Tools, Wrapper, child_env, dependency_env},
};
use crate::secrets::errln;
use crate::{
    child::{self, Env},
    flags::{self, Mode},
    output::usage,
    roles::llvm_cov,
    workspace::{Member, Workspace},
};

/// The plan for measuring the members named `measured`, once what their tests need is found.
#[allow(clippy::too_many_arguments)]
pub(super) fn plan(
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
    // What pyo3 crates' tests need to start: the directory of Python's shared library in the
    // loader's path. Not passed on as PYO3_PYTHON: pyo3 finds the same interpreter, and a changed
    // PYO3_PYTHON would rebuild pyo3 and everything above it whenever plain `cargo llvm-cov` ran between.
    errln!("pyo3 crates: tests load Python's library from {} ({})", python.library_dir, python.interpreter);
    let (name, value) = python::library_path(std::env::consts::OS, &python.library_dir, |name| sh.var_os(name))?;
    let run_env = Env::default().set(name, value);
    let mut suites = Vec::new();
    if !flags.no_python_tests {
        for member in python_members {
            match Suite::of(member, python_settings)? {
                Some(suite) => suites.push(suite),
                None => errln!(
                    "`{}` has no Python tests (no maturin pyproject.toml with tests/test_*.py or a pytest \
                     configuration): its Rust tests only",
                    member.name
                ),
            }
        }
    }
    if !suites.is_empty() {
        // Flags that the module build cannot follow (`cargo llvm-cov show-env` takes none of these),
        // so that its coverage would be lost or measured another way.
        let not_for_python_tests = [
            ("--release", flags.release),
            ("--profile", flags.profile.is_some()),
            ("--target", flags.target.is_some()),
            ("--branch", flags.branch),
        ];
        if let Some(flag) = given(&not_for_python_tests).next() {
            usage!(
                "{flag} does not work with the Python tests of `{}`: their extension module is built apart from \
                 the Rust tests, by maturin with cargo-llvm-cov's environment, which has no {flag}; add \
                 --no-python-tests to measure the Rust tests only, or leave {flag} out",
                suites[0].package
            );
        }
        if !flags.test_args.is_empty() {
            errln!("the arguments after `--` reach the Rust test binaries; pytest does not get them");
        }
    }
    let python_tests = (!suites.is_empty()).then_some(PythonTests { python, suites });
    Ok(Plan::new(flags, modes, tools, &measured, &run_env, python_tests, dirs))
}

/// The Python tests of the measured pyo3 crates, and the interpreter their environments are made with.
#[derive(Debug)]
pub(super) struct PythonTests {
    pub(super) python: python::Python,
    pub(super) suites: Vec<Suite>,
}

/// `--all-features` unless features were chosen: every feature's code is measured.
pub(super) fn feature_args(features: &[String], no_default_features: bool) -> Vec<String> {
    if features.is_empty() && !no_default_features {
        return vec!["--all-features".into()];
    }
    let mut args: Vec<String> = with_values(&[("--features", features)]).collect();
    args.extend(given(&[("--no-default-features", no_default_features)]).map(Into::into));
    args
}

pub(super) fn given<'a>(switches: &[(&'a str, bool)]) -> impl Iterator<Item = &'a str> {
    switches.iter().filter(|(_, given)| *given).map(|(flag, _)| *flag)
}

/// Each flag of `options` with each of its values: `--test a --test b`.
fn with_values(options: &[(&str, &[String])]) -> impl Iterator<Item = String> {
    options.iter().flat_map(|(flag, values)| values.iter().flat_map(|value| [flag.to_string(), value.clone()]))
}

/// cargo's target selection as given to `coverage` (`--lib`, `--test NAME`, ...), as arguments.
pub(super) fn target_selection(flags: &flags::Coverage) -> Vec<String> {
    let mut args: Vec<String> = given(&[("--lib", flags.lib), ("--bins", flags.bins)]).map(Into::into).collect();
    let named =
        [("--bin", &flags.bin[..]), ("--example", &flags.example), ("--test", &flags.test), ("--bench", &flags.bench)];
    args.extend(with_values(&named));
    let all = [
        ("--examples", flags.examples),
        ("--tests", flags.tests),
        ("--benches", flags.benches),
        ("--all-targets", flags.all_targets),
    ];
    args.extend(given(&all).map(Into::into));
    args
}

/// cargo-llvm-cov's flags given to `coverage`, as two lists: those every run takes (the profile and target
/// find the build; the rest shape the reports or run cargo), and those of the test run alone.
pub(super) fn passed_on(flags: &flags::Coverage) -> (Vec<String>, Vec<String>) {
    let mut every: Vec<String> = with_values(&[
        ("--profile", flags.profile.as_slice()),
        ("--target", flags.target.as_slice()),
        ("--ignore-filename-regex", flags.ignore_filename_regex.as_slice()),
    ])
    .collect();
    let switches = [
        ("--release", flags.release),
        ("--include-build-script", flags.include_build_script),
        ("--locked", flags.locked),
        ("--offline", flags.offline),
        ("--frozen", flags.frozen),
    ];
    every.extend(given(&switches).map(Into::into));
    every.extend((0..flags.verbose).map(|_| "-v".to_owned()));
    let mut test_run = feature_args(&flags.features, flags.no_default_features);
    test_run.extend(target_selection(flags));
    test_run.extend(given(&[("--branch", flags.branch), ("--no-cfg-coverage", flags.no_cfg_coverage)]).map(Into::into));
    (every, test_run)
}

#[derive(Debug)]
pub(super) struct Plan {
    pub(super) cargo_llvm_cov: Utf8PathBuf,
    pub(super) env: Env,
    /// The toolchain's `llvm-cov`, and the xtask standing in for it in the test run.
    pub(super) llvm_cov: Utf8PathBuf,
    pub(super) xtask: OsString,
    /// The measured members (`-p`) and their directories, which the summary gives each file to.
    pub(super) crate_dirs: Vec<(String, Utf8PathBuf)>,
    /// `passed_on`'s two lists; `test_args` go to the test binaries (or cargo-nextest) after `--`.
    pub(super) every_run_args: Vec<String>,
    pub(super) test_run_args: Vec<String>,
    pub(super) test_args: Vec<OsString>,
    pub(super) nextest: bool,
    pub(super) doctests: bool,
    pub(super) formats: Vec<Mode>,
    pub(super) open: bool,
    /// The LCOV report patch coverage reads (`--patch-base`): lcov's destination when it is
    /// asked for, else a file of its own in the coverage build directory.
    pub(super) patch_lcov: Option<Utf8PathBuf>,
    /// The pyo3 crates' Python tests, run after the Rust tests against an instrumented build.
    pub(super) python_tests: Option<PythonTests>,
    pub(super) dirs: Dirs,
}

impl Plan {
    /// The run's commands, without I/O, as tests build them too. `modes` are those asked for (none: the
    /// figures only); `run_env` is what the measured crates' tests need to start (see `plan`).
    pub(super) fn new(
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
        let (every_run_args, test_run_args) = passed_on(flags);
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
            every_run_args,
            test_run_args,
            test_args: flags.test_args.clone(),
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
    pub(super) fn patch_report<'a>(&self, sh: &'a Shell) -> Option<Cmd<'a>> {
        let lcov = self.patch_lcov.as_ref().filter(|_| !self.formats.contains(&Mode::Lcov))?;
        Some(self.scoped(self.llvm_cov(sh, &self.env).arg("report")).args(["--lcov", "--output-path", lcov.as_str()]))
    }

    /// What the test run gets on top of `env`: with a format to export, the xtask stands in for
    /// llvm-cov (see `roles::llvm_cov`) and is told where the real one and the summary are.
    pub(super) fn stand_in(&self) -> Env {
        let Some(_) = self.tested_format() else { return Env::default() };
        Env::default()
            .set("LLVM_COV", &self.xtask)
            .set(llvm_cov::REAL_LLVM_COV, &self.llvm_cov)
            .set(llvm_cov::SUMMARY_FILE, self.summary_file())
    }

    /// cargo-llvm-cov with `env`, run directly, not as `cargo llvm-cov`: it is the copy `Tools` checked.
    pub(super) fn llvm_cov<'a>(&self, sh: &'a Shell, env: &Env) -> Cmd<'a> {
        env.apply(child::command(sh, &self.cargo_llvm_cov).arg("llvm-cov"))
    }

    /// `report` must see the same packages, doc-test setting, profile and target as the test run.
    fn scoped<'a>(&self, cmd: Cmd<'a>) -> Cmd<'a> {
        let cmd = self.crate_dirs.iter().fold(cmd, |cmd, (package, _)| cmd.args(["-p", package]));
        let cmd = if self.doctests { cmd.arg("--doctests") } else { cmd };
        cmd.args(&self.every_run_args)
    }

    pub(super) fn summary_file(&self) -> Utf8PathBuf {
        self.dirs.cov_target.join("xtask-summary.json")
    }

    /// The format the test run writes itself: the first one that llvm-cov `export`s, so that the
    /// `llvm-cov` stand-in gets the summary from the same call. None when Python tests run after it.
    pub(super) fn tested_format(&self) -> Option<Mode> {
        let exported = |format: &Mode| matches!(format, Mode::Lcov | Mode::Json | Mode::Cobertura | Mode::Codecov);
        self.formats.iter().copied().find(exported).filter(|_| self.python_tests.is_none())
    }

    /// The one test run. Like every `cargo llvm-cov` run with a report, it first removes the previous
    /// profiles and the measured crates' objects (stale ones would count old code); when every test
    /// passes it writes `tested_format` and the JSON summary (or only the summary).
    pub(super) fn test<'a>(&self, sh: &'a Shell) -> Cmd<'a> {
        let cmd = self.llvm_cov(sh, &self.env.clone().and(&self.stand_in()));
        let cmd = if self.nextest { cmd.arg("nextest") } else { cmd };
        // --no-fail-fast: a failing test still leaves every other test's profile for the reports.
        let cmd = self.scoped(cmd.arg("--no-fail-fast")).args(&self.test_run_args);
        let cmd = match self.tested_format() {
            Some(format) => self.written_by(cmd, format),
            None if self.python_tests.is_some() => cmd.arg("--no-report"),
            None => cmd.args(["--json", "--summary-only", "--output-path", self.summary_file().as_str()]),
        };
        if self.test_args.is_empty() { cmd } else { cmd.arg("--").args(&self.test_args) }
    }

    /// Before a test run without a report: what the report run would remove first (earlier
    /// profiles, the workspace's objects), keeping the dependencies and the Python environments.
    pub(super) fn clean<'a>(&self, sh: &'a Shell) -> Cmd<'a> {
        let cargo_flags = ["--locked", "--offline", "--frozen", "-v"];
        let passed = self.every_run_args.iter().filter(|arg| cargo_flags.contains(&arg.as_str()));
        self.llvm_cov(sh, &self.env).args(["clean", "--workspace"]).args(passed)
    }

    /// cargo-llvm-cov's build environment, for the extension modules, in a form that reads back exactly.
    pub(super) fn show_env<'a>(&self, sh: &'a Shell) -> Cmd<'a> {
        let passed = self.test_run_args.iter().filter(|arg| *arg == "--no-cfg-coverage");
        self.llvm_cov(sh, &self.env).args(["show-env", "--with-pwsh-env-prefix"]).args(passed)
    }

    pub(super) fn python_commands<'a>(&'a self, sh: &'a Shell) -> Option<python_tests::Commands<'a>> {
        let python = &self.python_tests.as_ref()?.python;
        Some(python_tests::Commands { sh, python, env: &self.env, cov_target: &self.dirs.cov_target })
    }

    pub(super) fn report<'a>(&self, sh: &'a Shell, format: Mode) -> Cmd<'a> {
        self.written_by(self.scoped(self.llvm_cov(sh, &self.env).arg("report")), format)
    }

    fn written_by<'a>(&self, cmd: Cmd<'a>, format: Mode) -> Cmd<'a> {
        let destination = self.dirs.outputs.destination(format);
        cmd.args([&*format.flag(), destination.option(), destination.value.as_str()])
    }

    /// The formats left for `report` once the test run is over: all of them if a test failed,
    /// as cargo-llvm-cov then writes no report.
    pub(super) fn formats_after(&self, tests_failed: bool) -> Vec<Mode> {
        let tested = if tests_failed { None } else { self.tested_format() };
        self.formats.iter().copied().filter(|format| Some(*format) != tested).collect()
    }

    /// cargo-llvm-cov creates --output-dir but not the parent of --output-path.
    pub(super) fn prepare_destination(&self, sh: &Shell, format: Mode) -> anyhow::Result<()> {
        let destination = self.dirs.outputs.destination(format);
        let dir = match destination.into_dir {
            true => destination.value.as_path(),
            false => destination.value.parent().unwrap_or(&self.dirs.root),
        };
        sh.create_dir(dir)?;
        Ok(())
    }

    /// The summary, when a failing test kept the test run from writing it.
    pub(super) fn summary<'a>(&self, sh: &'a Shell) -> Cmd<'a> {
        self.scoped(self.llvm_cov(sh, &self.env).arg("report")).args(["--json", "--summary-only"])
    }

    pub(super) fn python_places(&self) -> Vec<(&Suite, Place)> {
        let suites = self.python_tests.iter().flat_map(|python_tests| &python_tests.suites);
        suites.map(|suite| (suite, Place::new(&self.dirs.cov_target, &suite.package))).collect()
    }

    /// For `--dry-run`: each step's commands under what it does, in the order `measure` runs them.
    pub(super) fn describe(&self, sh: &Shell) -> String {
        let mut out = String::new();
        let mut section = |heading: &str, lines: &[String]| {
            out += &format!("{heading}:\n");
            lines.iter().for_each(|line| out += &format!("  {line}\n"));
        };
        section("environment of the cargo-llvm-cov commands (added to yours)", &self.env.words().collect::<Vec<_>>());
        let python = self.python_commands(sh);
        if let Some(commands) = &python {
            let made = self.python_places().into_iter().flat_map(|(suite, place)| {
                [commands.create_venv(&place).to_string(), commands.install_requirements(&place, suite).to_string()]
            });
            let heading =
                "each Python environment, unless one made from the same interpreter and requirements is there";
            section(heading, &made.collect::<Vec<_>>());
            section("then the previous run's profiles and objects go", &[self.clean(sh).to_string()]);
        }
        let (test, stand_in) = (self.test(sh).to_string(), self.stand_in());
        match stand_in.is_empty() {
            true => section("the test run", &[test]),
            false => section(
                "the test run (the xtask stands in for llvm-cov to write the summary as well)",
                &[test, format!("with {stand_in}")],
            ),
        }
        let summary = [self.summary(sh).to_string()];
        match &python {
            Some(commands) => {
                let mut lines = vec![self.show_env(sh).to_string()];
                for (suite, place) in self.python_places() {
                    let wheel = place.wheels.join("<the wheel maturin built>");
                    lines.push(format!("(in {}) {}", suite.dir, commands.build_module(&place, &Env::default())));
                    lines.push(commands.install_module(&place, &wheel).to_string());
                    let pytest = commands.pytest(&place, suite, "<from show-env>".as_ref());
                    lines.push(format!("(in {}) {pytest}", suite.dir));
                }
                let built = format!("its module built into {} (CARGO_TARGET_DIR)", self.dirs.cov_target);
                section(&format!("then each crate's Python tests, {built} with the environment of"), &lines);
                section("then the summary", &summary);
            }
            None => section("if a test fails, then the summary", &summary),
        }
        let mut after: Vec<String> =
            self.formats_after(false).into_iter().map(|format| self.report(sh, format).to_string()).collect();
        after.extend(self.patch_report(sh).map(|report| report.to_string()));
        if !after.is_empty() {
            section(&format!("then, with {}/*.profraw merged and removed, all at once", self.dirs.cov_target), &after);
        }
        if let Some(tested) = self.tested_format() {
            section("if a test failed, its report after the summary", &[self.report(sh, tested).to_string()]);
        }
        out
    }
}
