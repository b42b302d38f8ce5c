//! The xtask standing in for `llvm-cov` (cargo-llvm-cov's `LLVM_COV`) during the test run, so that
//! one cargo-llvm-cov process writes both the requested report and the JSON summary of the
//! per-crate table: an `export` runs the real `llvm-cov` as asked and, on the other core, once more
//! into the summary file, from the same profile, objects and filters. docs/performance.md says what
//! that saves.

use crate::secrets::errln;
use std::{
    ffi::OsString,
    fs::File,
    process::{Command, ExitCode},
};

/// The real `llvm-cov`, for the xtask started as cargo-llvm-cov's `LLVM_COV`. Both names start
/// with `child::PRIVATE_PREFIX`, so no child of the xtask inherits them.
pub(crate) const REAL_LLVM_COV: &str = "XTASK_COVERAGE_REAL_LLVM_COV";
/// Where that `export` also writes the summary.
pub(crate) const SUMMARY_FILE: &str = "XTASK_COVERAGE_SUMMARY_FILE";

#[derive(Debug, PartialEq)]
pub(crate) struct Call {
    real: OsString,
    args: Vec<OsString>,
    summary: Option<OsString>,
}

impl Call {
    /// The call, when the variable naming the real `llvm-cov` is set and `args` are llvm-cov's.
    pub(crate) fn of(args: &[OsString], var: &dyn Fn(&str) -> Option<OsString>) -> Option<Call> {
        let real = var(REAL_LLVM_COV)?;
        // Tests of a measured crate inherit the variable; an xtask they start is asked for a task,
        // never for one of llvm-cov's commands.
        if !matches!(args.first().and_then(|arg| arg.to_str()), Some("export" | "show" | "report")) {
            return None;
        }
        let summary = var(SUMMARY_FILE).filter(|_| args[0] == "export");
        Some(Call { real, args: args.to_vec(), summary })
    }

    /// Runs the real `llvm-cov` with the same arguments (and the summary beside an `export`), and
    /// passes its exit code on.
    pub(crate) fn run(self) -> ExitCode {
        let Call { real, args, summary } = self;
        // A failed summary only costs time: the xtask then asks `cargo llvm-cov report` for one.
        let tap = summary.as_ref().and_then(|path| {
            let file = File::create(path).ok()?;
            Command::new(&real).args(summary_args(&args)).stdout(file).spawn().ok()
        });
        let status = Command::new(&real).args(&args).status();
        if let Some(mut tap) = tap {
            let written = tap.wait().is_ok_and(|status| status.success());
            if !written && let Some(path) = summary {
                let _ = std::fs::remove_file(path);
            }
        }
        match status {
            Ok(status) if status.success() => ExitCode::SUCCESS,
            Ok(status) => ExitCode::from(status.code().and_then(|code| u8::try_from(code).ok()).unwrap_or(1)),
            Err(err) => {
                errln!("error: could not run {}: {err}", real.to_string_lossy());
                ExitCode::FAILURE
            }
        }
    }
}

/// The arguments of an `llvm-cov export`, changed to give the summary as JSON.
fn summary_args(args: &[OsString]) -> Vec<OsString> {
    let mut summary: Vec<OsString> = args
        .iter()
        .filter(|arg| !matches!(arg.to_str(), Some("-summary-only" | "-skip-functions")))
        .map(|arg| match arg.to_str() {
            Some(format) if format.starts_with("-format=") => "-format=text".into(),
            _ => arg.clone(),
        })
        .collect();
    summary.push("-summary-only".into());
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<OsString> {
        values.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_variables_are_private_to_the_process_they_are_for() {
        for name in [REAL_LLVM_COV, SUMMARY_FILE] {
            assert!(name.starts_with(crate::child::PRIVATE_PREFIX), "{name} would reach the xtask's children");
        }
    }

    #[test]
    fn the_summary_is_the_same_export_as_json_totals() {
        let lcov = strings(&[
            "export",
            "-format=lcov",
            "-instr-profile=/t/ws.profdata",
            "-object",
            "/t/debug/deps/calc-1",
            "-ignore-filename-regex",
            "/rustc/|/tests/",
        ]);
        assert_eq!(
            summary_args(&lcov),
            strings(&[
                "export",
                "-format=text",
                "-instr-profile=/t/ws.profdata",
                "-object",
                "/t/debug/deps/calc-1",
                "-ignore-filename-regex",
                "/rustc/|/tests/",
                "-summary-only",
            ])
        );
        let json = strings(&["export", "-format=text", "-summary-only", "-skip-functions", "-object", "/o"]);
        assert_eq!(summary_args(&json), strings(&["export", "-format=text", "-object", "/o", "-summary-only"]));
    }
}
