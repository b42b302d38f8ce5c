//! The coverage task's checks: its findings for `doctor`, `doctor --coverage`'s smoke test, and
//! the note about incremental compilation turned off.

use camino::Utf8Path;
use xshell::Shell;

use super::{
    NIGHTLY_INSTALL, NIGHTLY_LLVM_TOOLS, Scope, build_dir,
    outputs::Dirs,
    plan::plan,
    python,
    python_tests::{self, Suite},
    run::Measured,
    selection::{Settings, select},
    summary::Metric,
    toolchain::{Tools, installed_nightly},
};
use crate::{
    child,
    finding::{Finding, Group, Level},
    flags, tools,
    workspace::Workspace,
};

/// Why the coverage build would not be incremental, when the environment turns it off.
pub(super) fn incremental_turned_off(sh: &Shell) -> Option<String> {
    let off = |var: &'static str| Some((var, sh.var(var).ok().filter(|value| value == "0" || value == "false")?));
    let (var, value) = ["CARGO_INCREMENTAL", "CARGO_BUILD_INCREMENTAL"].into_iter().find_map(off)?;
    Some(format!(
        "{var}={value} turns incremental compilation off, so rustc splits each crate into 16 codegen units \
         instead of 256, and the coverage of inlined and generic code differs from a default build's"
    ))
}

pub(super) const GROUP: Group = Group::Coverage;

/// `doctor`'s coverage checks: its tools, Python for the pyo3 crates, variables `cargo llvm-cov show-env` left.
pub(crate) fn findings(sh: &Shell, ws: &Workspace) -> Vec<Finding> {
    let mut findings = vec![
        tools::CARGO_LLVM_COV.finding(sh, GROUP, Level::Error, "runs coverage"),
        tools::LLVM_COV.finding(sh, GROUP, Level::Error, "llvm-tools: renders the reports"),
        tools::LLVM_PROFDATA.finding(sh, GROUP, Level::Error, "llvm-tools: merges the profiles"),
        tools::CARGO_NEXTEST.finding(sh, GROUP, Level::Warn, "optional: only `coverage --nextest` needs it"),
    ];
    let active = child::command(sh, tools::rustc(sh)).arg("-V").quiet().read();
    findings.push(match (active, installed_nightly(sh)) {
        (Ok(version), _) if version.contains("-nightly") => Finding::ok(
            GROUP,
            format!("the active toolchain is nightly ({}): `coverage --doctests` works", version.trim()),
        ),
        (_, Some((_, rustc))) => match tools::llvm_tools(sh, rustc.as_os_str(), NIGHTLY_LLVM_TOOLS) {
            Ok(_) => Finding::ok(GROUP, format!("nightly toolchain at {rustc}, for `coverage --doctests`")),
            Err(err) => Finding::warn(
                GROUP,
                format!("the nightly toolchain for `coverage --doctests` cannot render coverage: {err:#}"),
                NIGHTLY_LLVM_TOOLS,
            ),
        },
        (_, None) => Finding::warn(
            GROUP,
            "no nightly toolchain (optional: only `coverage --doctests` needs it, to measure doc tests)",
            NIGHTLY_INSTALL,
        ),
    });
    if let Some(why) = incremental_turned_off(sh) {
        findings.push(Finding::warn(
            GROUP,
            why,
            "unset it for coverage runs (sccache then caches the dependencies, and the figures are a default build's)",
        ));
    }
    let python_crates: Vec<&str> =
        ws.members.iter().filter(|member| member.uses_python).map(|member| member.name.as_str()).collect();
    if !python_crates.is_empty() {
        let role = format!("the pyo3 crates {} build against it and load its library", python_crates.join(", "));
        let python = python::Python::find(sh);
        findings.push(match &python {
            Ok(python) if has_shared_python(&python.library_dir) => Finding::ok(
                GROUP,
                format!("Python {}, shared library in {} ({role})", python.interpreter, python.library_dir),
            ),
            Ok(python) => Finding::warn(
                GROUP,
                format!(
                    "Python {} has no shared library in {}: the pyo3 crates' tests may not link or load ({role})",
                    python.interpreter, python.library_dir
                ),
                format!("use a Python built with --enable-shared, or install one: {}", tools::PYTHON.install),
            ),
            Err(err) => Finding::error(
                GROUP,
                format!("{err:#}").lines().next().unwrap_or_default().to_owned(),
                tools::PYTHON.install,
            ),
        });
        if let Ok(python) = &python {
            findings.extend(python_test_findings(sh, ws, python));
        }
    }
    let leftovers = child::llvm_cov_variables(std::env::vars_os());
    if !leftovers.is_empty() {
        findings.push(Finding::warn(
            GROUP,
            format!(
                "{} {} set in this environment, as `source <(cargo llvm-cov show-env --export-prefix)` leaves \
                 them: plain cargo builds from this shell are instrumented and build where they say (the \
                 xtask's own commands never see them)",
                leftovers.join(", "),
                if leftovers.len() == 1 { "is" } else { "are" }
            ),
            format!("unset {}", leftovers.join(" ")),
        ));
    }
    findings
}

/// What the pyo3 crates' Python tests need: Python's venv module, and each crate's environment.
fn python_test_findings(sh: &Shell, ws: &Workspace, python: &python::Python) -> Vec<Finding> {
    let settings = match Settings::from_workspace(&ws.settings, &ws.members) {
        Ok(settings) => settings.python,
        Err(err) => return vec![Finding::error(GROUP, format!("{err:#}"), format!("fix {}", super::SETTINGS))],
    };
    let (mut suites, mut findings) = (Vec::new(), Vec::new());
    for member in ws.members.iter().filter(|member| member.uses_python) {
        match Suite::of(member, &settings) {
            Ok(suite) => suites.extend(suite),
            Err(err) => findings.push(Finding::error(
                GROUP,
                format!("the Python tests of `{}`: {err:#}", member.name),
                "fix what it names; `coverage --no-python-tests` measures its Rust tests only meanwhile",
            )),
        }
    }
    findings.extend(python_tests::findings(sh, python, &suites, &build_dir(ws)));
    findings
}

/// Whether `dir` holds Python's shared library: `libpython3.x.so*`, `libpython3.x.dylib` or `python3x.dll`.
fn has_shared_python(dir: &Utf8Path) -> bool {
    let Ok(entries) = dir.read_dir_utf8() else { return false };
    entries.filter_map(Result::ok).any(|entry| {
        let name = entry.file_name();
        (name.starts_with("libpython3") || name.starts_with("python3"))
            && (name.contains(".so") || name.ends_with(".dylib") || name.ends_with(".dll"))
    })
}

/// `doctor --coverage`: one crate measured by the task's own run (`coverage -p <crate>`), writing no report:
/// the first that `coverage-fast` measures (no Python needed), else the first member.
pub(crate) fn smoke_test(sh: &Shell, ws: &Workspace) -> Finding {
    let mut name = String::new();
    let outcome = (|| -> anyhow::Result<Measured> {
        let settings = Settings::from_workspace(&ws.settings, &ws.members)?;
        let selection = select(&ws.members, &[], &[], Scope::Fast, &settings)
            .or_else(|_| select(&ws.members, &[], &[], Scope::Full, &Settings::default()))?;
        name.clone_from(&selection.measured[0]);
        let flags = flags::Coverage::from_args(&["-p", &name])?;
        let tools = Tools::find(sh, &flags)?;
        // No mode: the figures only, no report is written.
        plan(sh, ws, &flags, &[], tools, &selection.measured[..1], &settings.python, Dirs::new(ws, None, &ws.root))?
            .measure(sh)
    })();
    let command = format!("cargo xtask coverage -p {name} --mode text");
    match outcome {
        Ok(Measured { summary, tests_failed: false, .. }) => {
            let shown = |percent: Option<f64>| percent.map_or("-".to_owned(), |percent| format!("{percent:.1}%"));
            let figure = |metric: &Metric| format!("{} {}", metric.name(), shown(summary.total.get(*metric).percent()));
            let figures: Vec<String> = Metric::ALL.iter().map(figure).collect();
            Finding::ok(GROUP, format!("coverage smoke test of `{name}`: {}", figures.join(", ")))
        }
        Ok(Measured { tests_failed: true, .. }) => Finding::error(
            GROUP,
            format!("coverage smoke test of `{name}`: its tests failed"),
            format!("see the test output above, or run `{command}`"),
        ),
        Err(err) => Finding::error(
            GROUP,
            format!(
                "coverage smoke test{}: {err:#}",
                if name.is_empty() { String::new() } else { format!(" of `{name}`") }
            ),
            format!("fix what it names, then run `{command}` to see the whole run"),
        ),
    }
}
