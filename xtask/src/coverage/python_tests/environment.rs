//! A suite's own environment and its commands: the virtual environment under the coverage build
//! directory, maturin building the instrumented module, pytest, and what the run tells.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;
use xshell::{Cmd, Shell};

use super::{SETTINGS, STAMP, Suite, venv_program};
use crate::secrets::errln;
use crate::{
    child::{self, Env},
    coverage::{python::Python, run::files_with_extension},
};

/// The files of one suite's run, all under the coverage build directory.
#[derive(Debug)]
pub(in crate::coverage) struct Place {
    /// `xtask-python` and the crate's directory in it, which hold the rest.
    pub(super) dirs: [Utf8PathBuf; 2],
    pub(in crate::coverage) venv: Utf8PathBuf,
    pub(in crate::coverage) wheels: Utf8PathBuf,
    pub(super) junit: Utf8PathBuf,
}

impl Place {
    pub(in crate::coverage) fn new(cov_target: &Utf8Path, package: &str) -> Place {
        let root = cov_target.join("xtask-python");
        let dir = root.join(package);
        Place { venv: dir.join("venv"), wheels: dir.join("wheels"), junit: dir.join("pytest.xml"), dirs: [root, dir] }
    }

    /// Before anything in it is emptied or removed (venv's `--clear`, old wheels): each directory
    /// must be one, not a link, so that what is removed is never what a link points to.
    pub(super) fn check(&self) -> anyhow::Result<()> {
        for dir in self.dirs.iter().chain([&self.venv, &self.wheels]) {
            if let Some(metadata) = dir.symlink_metadata().ok().filter(|metadata| !metadata.is_dir()) {
                let what = if metadata.is_symlink() { "a link" } else { "a file" };
                bail!("{dir} is {what}, not a directory the coverage run made; move it away");
            }
        }
        Ok(())
    }

    pub(in crate::coverage) fn program(&self, name: &str) -> Utf8PathBuf {
        venv_program(&self.venv, std::env::consts::OS, name)
    }
}

/// What an environment is made from, as its stamp says it: a change in any line remakes it.
pub(in crate::coverage) fn stamp(python: &Python, requirements: &[String]) -> String {
    let requirements: String = requirements.iter().map(|requirement| format!("requirement: {requirement}\n")).collect();
    format!("interpreter: {}\nversion: {}\n{requirements}", python.executable, python.version)
}

/// Every command of the Python side of a run, built from the plan: no I/O.
pub(in crate::coverage) struct Commands<'a> {
    pub(in crate::coverage) sh: &'a Shell,
    pub(in crate::coverage) python: &'a Python,
    /// The cargo-llvm-cov children's environment.
    pub(in crate::coverage) env: &'a Env,
    pub(in crate::coverage) cov_target: &'a Utf8Path,
}

/// What the user's environment must not bring into a suite's Python processes: another
/// environment (`VIRTUAL_ENV`, `PYTHONHOME`), modules found before the installed one
/// (`PYTHONPATH`, `PYTHONSTARTUP`, the user site).
const FOREIGN_PYTHON_VARS: [&str; 5] = ["VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONUSERBASE"];
/// Nor pip settings that install somewhere else than the suite's own environment. pip's index,
/// proxy and certificate settings stay.
const FOREIGN_PIP_VARS: [&str; 6] = ["PIP_TARGET", "PIP_PREFIX", "PIP_ROOT", "PIP_USER", "PIP_SRC", "PIP_EDITABLE"];

impl<'a> Commands<'a> {
    /// `program` with none of the foreign variables, and no user site on `sys.path`.
    fn python_command(&self, program: impl AsRef<std::path::Path>) -> Cmd<'a> {
        let foreign = FOREIGN_PYTHON_VARS.into_iter().chain(FOREIGN_PIP_VARS);
        let env = foreign.fold(Env::default(), Env::remove).set("PYTHONNOUSERSITE", "1");
        env.apply(child::command(self.sh, program))
    }

    /// Makes the environment anew (`--clear` empties one that is out of date).
    pub(in crate::coverage) fn create_venv(&self, place: &Place) -> Cmd<'a> {
        self.python_command(&self.python.interpreter).args(["-m", "venv", "--clear"]).arg(&place.venv)
    }

    pub(in crate::coverage) fn install_requirements(&self, place: &Place, suite: &Suite) -> Cmd<'a> {
        // After `--`, nothing can be read as an option.
        self.pip(place).arg("--").args(&suite.requirements)
    }

    pub(super) fn pip(&self, place: &Place) -> Cmd<'a> {
        let python = self.python_command(place.program("python"));
        python.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
    }

    /// The extension module, instrumented: built with `build_env` (show-env's) into the coverage
    /// build, where `report` finds it; run in the project's directory, where users build it.
    pub(in crate::coverage) fn build_module(&self, place: &Place, build_env: &Env) -> Cmd<'a> {
        let env = self.env.clone().and(build_env).set("CARGO_TARGET_DIR", self.cov_target);
        let maturin = env.apply(self.python_command(place.program("maturin"))).args(["build", "--interpreter"]);
        maturin.arg(place.program("python")).arg("--out").arg(&place.wheels).args(["--auditwheel", "skip"])
    }

    pub(in crate::coverage) fn install_module(&self, place: &Place, wheel: &Utf8Path) -> Cmd<'a> {
        self.pip(place).args(["--no-deps", "--force-reinstall"]).arg(wheel)
    }

    /// pytest in the project's directory, its profiles beside the Rust tests', no cache or bytecode left.
    pub(in crate::coverage) fn pytest(&self, place: &Place, suite: &Suite, profile_file: &std::ffi::OsStr) -> Cmd<'a> {
        let env = Env::default().set("LLVM_PROFILE_FILE", profile_file).set("PYTHONDONTWRITEBYTECODE", "1");
        let pytest = env.apply(self.python_command(place.program("pytest"))).args(["-p", "no:cacheprovider"]);
        pytest.arg("--junitxml").arg(&place.junit).args(&suite.tests).args(&suite.pytest_args)
    }

    /// Makes `place`'s environment for `suite` unless one made from the same interpreter and requirements is there.
    pub(in crate::coverage) fn prepare(&self, place: &Place, suite: &Suite) -> anyhow::Result<()> {
        let stamp = stamp(self.python, &suite.requirements);
        place.check()?;
        let stamp_path = place.venv.join(STAMP);
        if std::fs::read_to_string(&stamp_path).is_ok_and(|text| text == stamp) {
            errln!("{}: reusing the Python environment {}", suite.package, place.venv);
            return Ok(());
        }
        // `--clear` empties the directory: only ever one that venv made.
        let venv = &place.venv;
        if venv.exists() && !venv.join("pyvenv.cfg").is_file() {
            bail!(
                "{venv} is not a Python virtual environment (it has no pyvenv.cfg), so it is not remade; move it away"
            );
        }
        let started = Instant::now();
        errln!("{}: making the Python environment {} with {}", suite.package, place.venv, self.python.interpreter);
        let create = self.create_venv(place);
        let shown = create.to_string();
        create.quiet().ignore_stdout().run().with_context(|| {
            format!(
                "`{shown}` failed: Python's venv module is missing or broken (on Debian and Ubuntu: sudo apt-get \
                 install python3-venv)"
            )
        })?;
        let install = self.install_requirements(place, suite);
        errln!("{}: installing {}", suite.package, suite.requirements.join(" "));
        install.quiet().run().with_context(|| {
            format!(
                "{} could not install its Python tests' requirements (pip's messages are above): they come from \
                 PyPI, or from the index or wheel directory pip's own settings name (PIP_INDEX_URL, \
                 PIP_FIND_LINKS, pip.conf); `--no-python-tests` measures without them",
                suite.package
            )
        })?;
        std::fs::write(&stamp_path, stamp).with_context(|| format!("could not write {stamp_path}"))?;
        errln!("{}: Python environment ready in {:.1} s", suite.package, started.elapsed().as_secs_f64());
        Ok(())
    }

    /// Builds the module, installs it and runs pytest: a failure in any step fails the suite,
    /// not the run, so the other suites and the reports still happen.
    pub(in crate::coverage) fn run(&self, place: &Place, suite: &Suite, build_env: &Env) -> anyhow::Result<Outcome> {
        let outcome = |problem: Option<String>, counts| Outcome { package: suite.package.clone(), counts, problem };
        let failed = |problem: String| Ok(outcome(Some(problem), Counts::default()));
        place.check()?;
        // Only `*.whl` files of an earlier build, in the directory maturin writes.
        for wheel in files_with_extension(&place.wheels, "whl").unwrap_or_default() {
            if wheel.symlink_metadata().is_ok_and(|metadata| metadata.is_file()) {
                std::fs::remove_file(&wheel).with_context(|| format!("could not remove {wheel}"))?;
            }
        }
        let project_sh = self.sh.clone();
        project_sh.change_dir(&suite.dir);
        let in_project = Commands { sh: &project_sh, ..*self };
        let build = in_project.build_module(place, build_env);
        errln!("$ {build}");
        if let Err(err) = build.run() {
            return failed(format!("the extension module did not build: {err}"));
        }
        let (dir, wheels) = (&place.wheels, files_with_extension(&place.wheels, "whl"));
        let wheels = wheels.with_context(|| format!("maturin wrote no wheel into {dir}"))?;
        let [wheel] = wheels.as_slice() else {
            bail!("expected one wheel from maturin in {dir}, found {}", wheels.len())
        };
        self.install_module(place, wheel).quiet().run().context("could not install the module's wheel")?;
        if place.junit.exists() {
            std::fs::remove_file(&place.junit).with_context(|| format!("could not remove {}", place.junit))?;
        }
        let profile_file = build_env.get("LLVM_PROFILE_FILE").flatten();
        let profile_file = profile_file.context("`cargo llvm-cov show-env` did not say LLVM_PROFILE_FILE")?;
        let pytest = in_project.pytest(place, suite, profile_file);
        errln!("$ {pytest}");
        let mut child =
            std::process::Command::from(pytest).stdout(std::io::stderr()).spawn().context("could not start pytest")?;
        let Some(status) = wait_at_most(&mut child, suite.timeout)? else {
            let (limit, package) = (suite.timeout.as_secs(), &suite.package);
            return failed(format!(
                "pytest did not finish within {limit} s and was stopped (`timeout-seconds` under {SETTINGS}.{package} \
                 sets the limit)"
            ));
        };
        let counts = std::fs::read_to_string(&place.junit).ok().as_deref().and_then(junit_counts);
        let problem = match (status.code(), counts) {
            (Some(0 | 1), Some(_)) => None,
            (Some(5), _) => Some("pytest collected no tests".to_owned()),
            _ => Some(format!("pytest stopped ({status}); see its messages above")),
        };
        Ok(outcome(problem, counts.unwrap_or_default()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::coverage) struct Outcome {
    pub(in crate::coverage) package: String,
    pub(in crate::coverage) counts: Counts,
    /// Why the run failed other than by failing tests (the module did not build, pytest
    /// collected nothing or stopped), if it did.
    pub(in crate::coverage) problem: Option<String>,
}

impl Outcome {
    pub(in crate::coverage) fn failed(&self) -> bool {
        self.problem.is_some() || self.counts.failed + self.counts.errors > 0
    }

    /// `textstats-py: 3 passed`, `app-py: 2 passed, 1 failed, 1 skipped`.
    pub(in crate::coverage) fn line(&self) -> String {
        let Counts { passed, failed, errors, skipped } = self.counts;
        let mut parts = vec![format!("{passed} passed")];
        let others = [(failed, "failed"), (errors, "errors"), (skipped, "skipped")];
        parts.extend(others.iter().filter(|(count, _)| *count > 0).map(|(count, what)| format!("{count} {what}")));
        let problem = self.problem.as_ref().map(|problem| format!(" ({problem})")).unwrap_or_default();
        format!("{}: {}{problem}", self.package, parts.join(", "))
    }

    pub(in crate::coverage) fn to_json(&self) -> Value {
        serde_json::json!({
            "crate": self.package,
            "passed": self.counts.passed,
            "failed": self.counts.failed,
            "errors": self.counts.errors,
            "skipped": self.counts.skipped,
            "problem": self.problem,
        })
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(in crate::coverage) struct Counts {
    pub(in crate::coverage) passed: u64,
    pub(in crate::coverage) failed: u64,
    pub(in crate::coverage) errors: u64,
    pub(in crate::coverage) skipped: u64,
}

/// The totals of pytest's JUnit XML report: the attributes of its `<testsuite>` elements.
pub(super) fn junit_counts(xml: &str) -> Option<Counts> {
    let mut counts = Counts::default();
    let mut tests = 0;
    let mut found = false;
    for element in xml.split("<testsuite ").skip(1) {
        // With the space the split took, so that every attribute follows one.
        let head = format!(" {}", element.split('>').next()?);
        let attribute = |name: &str| -> Option<u64> {
            let marker = format!(" {name}=\"");
            let value = &head[head.find(&marker)? + marker.len()..];
            value[..value.find('"')?].parse().ok()
        };
        tests += attribute("tests")?;
        counts.failed += attribute("failures")?;
        counts.errors += attribute("errors")?;
        counts.skipped += attribute("skipped").unwrap_or(0);
        found = true;
    }
    counts.passed = tests.checked_sub(counts.failed + counts.errors + counts.skipped)?;
    found.then_some(counts)
}

/// The variables of `cargo llvm-cov show-env --with-pwsh-env-prefix`: each line is
/// `$env:NAME="…"` with every character of the value escaped as `` `u{hex} ``, which reads back
/// without any shell's quoting rules.
pub(in crate::coverage) fn parse_show_env(text: &str) -> anyhow::Result<Env> {
    let mut env = Env::default();
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let parsed = (|| {
            let (name, value) = line.strip_prefix("$env:")?.split_once('=')?;
            let value = value.strip_prefix('"')?.strip_suffix('"')?;
            let decode = |escape: &str| char::from_u32(u32::from_str_radix(escape.strip_suffix('}')?, 16).ok()?);
            let decoded = value.split("`u{").skip(1).map(decode).collect::<Option<String>>()?;
            (value.is_empty() || value.starts_with("`u{")).then_some((name.to_owned(), decoded))
        })();
        let (name, value) =
            parsed.with_context(|| format!("cannot read this line of `cargo llvm-cov show-env`: {line}"))?;
        env = env.set(name, value);
    }
    Ok(env)
}

/// The child's exit status, or `None` when it ran longer than `limit` and was killed.
fn wait_at_most(child: &mut std::process::Child, limit: Duration) -> anyhow::Result<Option<std::process::ExitStatus>> {
    let deadline = Instant::now() + limit;
    while child.try_wait()?.is_none() {
        if Instant::now() >= deadline {
            child.kill()?;
            child.wait()?;
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(Some(child.wait()?))
}
