//! Running a plan: the one test run, the Python tests, the reports, the summary table and the
//! thresholds, the patch gate.

use std::{
    io::Write,
    process::{Command, Stdio},
};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;
use xshell::Shell;

use super::{
    artifacts, browser, changes,
    patch::{self, Patch},
    plan::Plan,
    python_tests::{self, Outcome, Place, Suite},
    summary::{self, Minimums, Summary},
};
use crate::secrets::{errln, out, outln};
use crate::{
    flags::Mode,
    output::{Stream, Style, paint},
    workspace::Workspace,
};

/// `--patch-base`: the changed lines, read before the run (a wrong ref fails before the tests),
/// and the minimum share.
pub(super) struct PatchGate {
    pub(super) base: String,
    /// Per file (canonical path), the changed lines.
    pub(super) changed: Vec<(Utf8PathBuf, Vec<u32>)>,
    /// The workspace root, canonical, which the files are shown relative to.
    pub(super) root: Utf8PathBuf,
    pub(super) minimum: Option<f64>,
}

impl PatchGate {
    pub(super) fn read(sh: &Shell, ws: &Workspace, base: &str, minimum: Option<f64>) -> anyhow::Result<PatchGate> {
        let git = changes::Git::open(sh, &ws.root, "--patch-base")?;
        let commit = git.commit(base, "--patch-base")?;
        let changed = git.changed_lines(&commit)?;
        let root = ws.root.canonicalize_utf8().unwrap_or_else(|_| ws.root.clone());
        Ok(PatchGate { base: base.to_owned(), changed, root, minimum })
    }

    /// The patch's figures from the run's LCOV report.
    pub(super) fn measure(&self, lcov: &str) -> Patch {
        let counts = patch::line_counts(lcov, |file| file.canonicalize_utf8().unwrap_or_else(|_| file.to_owned()));
        Patch::new(&self.base, &self.changed, &counts, &self.root)
    }
}

pub(super) struct Gates {
    pub(super) total: Minimums,
    pub(super) crates: Vec<(String, Minimums)>,
    pub(super) patch: Option<PatchGate>,
}

pub(super) struct Measured {
    pub(super) summary: Summary,
    /// Whether a Rust or a Python test failed.
    pub(super) tests_failed: bool,
    pub(super) python: Vec<Outcome>,
}

impl Plan {
    /// The one test run and its summary. Fails when no test wrote coverage data, which is what a
    /// plain `cargo llvm-cov` reports as "no object files found".
    pub(super) fn measure(&self, sh: &Shell) -> anyhow::Result<Measured> {
        let summary_file = self.summary_file();
        sh.remove_path(&summary_file)?;
        if let Some(format) = self.tested_format() {
            self.prepare_destination(sh, format)?;
        }
        // Before the build: a missing venv module or an unreachable index fails in seconds.
        if let Some(commands) = self.python_commands(sh) {
            for (suite, place) in self.python_places() {
                commands.prepare(&place, suite)?;
            }
            let clean = self.clean(sh);
            errln!("$ {clean}");
            clean.quiet().run().context("could not remove the previous coverage run's profiles")?;
        }
        // The tests' own output is progress, not the result: it goes to stderr.
        let test = self.test(sh);
        errln!("$ {test}");
        let status =
            Command::from(test).stdout(std::io::stderr()).status().context("could not start cargo-llvm-cov")?;
        let python = self.run_python_tests(sh)?;
        let raw_profiles = || files_with_extension(&self.dirs.cov_target, "profraw").unwrap_or_default();
        let tests_failed = !status.success() || python.iter().any(Outcome::failed);
        if raw_profiles().is_empty() {
            bail!(if tests_failed {
                "the test run failed before any test wrote coverage data (see cargo's messages above), so there is no report"
            } else {
                "no test wrote coverage data: do the measured crates have tests?"
            });
        }
        if tests_failed {
            let warning = paint(Stream::Stderr, Style::Bad, "warning");
            errln!("{warning}: tests failed; the reports are made from the tests that ran, so the figures are partial");
        }
        // Either way the profiles are now merged, which lets `write_reports` run the reports together.
        let json = match summary_file.exists() && !tests_failed {
            true => sh.read_file(&summary_file)?,
            false => self.summary(sh).read()?,
        };
        for profile in raw_profiles() {
            sh.remove_path(profile)?;
        }
        let json: Value = serde_json::from_str(&json).context("cargo-llvm-cov's JSON summary is not JSON")?;
        let crate_dirs: Vec<(&str, &Utf8Path)> =
            self.crate_dirs.iter().map(|(name, dir)| (name.as_str(), dir.as_path())).collect();
        Ok(Measured { summary: Summary::from_json(&json, &crate_dirs)?, tests_failed, python })
    }

    /// Each crate's Python tests against its instrumented module, one after another.
    fn run_python_tests(&self, sh: &Shell) -> anyhow::Result<Vec<Outcome>> {
        let Some(commands) = self.python_commands(sh) else { return Ok(Vec::new()) };
        let show_env = self.show_env(sh);
        let shown = show_env.to_string();
        let output = show_env.quiet().ignore_status().output().with_context(|| format!("could not run `{shown}`"))?;
        if !output.status.success() {
            bail!("`{shown}` failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim());
        }
        let build_env = python_tests::parse_show_env(&String::from_utf8_lossy(&output.stdout))?;
        let run = |(suite, place): (&Suite, Place)| {
            errln!("{}: Python tests ({}), against the instrumented module", suite.package, suite.collected());
            let outcome = commands.run(&place, suite, &build_env)?;
            errln!("pytest {}", outcome.line());
            Ok(outcome)
        };
        self.python_places().into_iter().map(run).collect()
    }

    /// Every format at once: after `measure` each `report` only reads the merged profiles, and
    /// writes a file or directory of its own.
    fn write_reports(&self, sh: &Shell, formats: &[Mode]) -> anyhow::Result<()> {
        for format in formats {
            self.prepare_destination(sh, *format)?;
        }
        let reports = formats.iter().map(|format| self.report(sh, *format)).chain(self.patch_report(sh));
        let mut running = Vec::new();
        for report in reports {
            errln!("$ {report}");
            let shown = report.to_string();
            let child = Command::from(report).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
            let child = child.with_context(|| format!("could not start `{shown}`"))?;
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

pub(super) fn execute(sh: &Shell, plan: &Plan, gates: &Gates, json: bool) -> anyhow::Result<()> {
    let Measured { summary, tests_failed, python } = plan.measure(sh)?;
    plan.write_reports(sh, &plan.formats_after(tests_failed))?;
    let patch = match (&gates.patch, &plan.patch_lcov) {
        (Some(gate), Some(lcov)) => Some(gate.measure(&sh.read_file(lcov)?)),
        _ => None,
    };
    let destinations = plan.formats.iter().map(|format| plan.dirs.outputs.destination(*format));
    let (owned, written): (Vec<_>, Vec<_>) =
        destinations.map(|destination| (destination.owned, destination.shown)).unzip();
    artifacts::record(&plan.dirs.cov_target, &owned)?;
    // Which Python tests ran and how they went, said once after the table.
    let outcomes: Vec<String> = python.iter().map(Outcome::line).collect();
    let python_summary = (!python.is_empty())
        .then(|| format!("Python tests (their coverage is included above): {}", outcomes.join("; ")));

    if json {
        let mut figures = summary.to_json();
        figures["patch"] = patch.as_ref().map_or(Value::Null, Patch::to_json);
        figures["tests_failed"] = tests_failed.into();
        figures["python_tests"] = python.iter().map(Outcome::to_json).collect();
        outln!("{figures:#}");
    } else {
        if plan.formats.contains(&Mode::Text) {
            // llvm-cov's per-file table, the part of the text report people read in a terminal (and
            // that GitLab's coverage regex reads).
            let index = sh.read_file(plan.dirs.outputs.destination(Mode::Text).shown)?;
            outln!("{}\n", index.split("\n\n").next().unwrap_or_default().trim_end());
        }
        out!("{}", summary.table());
        if let Some(patch) = &patch {
            out!("\n{}", patch.text());
        }
        if let Some(python_summary) = &python_summary {
            outln!("\n{python_summary}");
        }
    }

    let partial =
        "tests failed, so the coverage figures are partial (the reports were written from the tests that ran)";
    let mut problems: Vec<String> = tests_failed.then(|| partial.to_owned()).into_iter().collect();
    problems.extend(summary::shortfalls(&summary, &gates.total, &gates.crates));
    let minimum = gates.patch.as_ref().and_then(|gate| gate.minimum);
    problems.extend(patch.as_ref().zip(minimum).and_then(|(patch, minimum)| patch.shortfall(minimum)));
    let mut notes: Vec<String> = patch.iter().map(Patch::markdown).collect();
    notes.extend(python_summary);
    notes.extend(problems.iter().map(|problem| format!("**Failed:** {problem}")));
    crate::output::append_step_summary(sh, &summary.markdown(&notes))?;

    for path in &written {
        // On stderr under --json, which keeps stdout one JSON document.
        match json {
            false => outln!("{}wrote {path}", if path == &written[0] { "\n" } else { "" }),
            true => errln!("wrote {path}"),
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

/// The entries of `dir` whose names end in `.<extension>`: the test run's `*.profraw`, maturin's wheels.
pub(super) fn files_with_extension(dir: &Utf8Path, extension: &str) -> std::io::Result<Vec<Utf8PathBuf>> {
    let entries = dir.read_dir_utf8()?.filter_map(Result::ok);
    Ok(entries.map(|entry| entry.into_path()).filter(|path| path.extension() == Some(extension)).collect())
}
