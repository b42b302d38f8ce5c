//! `cargo xtask doctor`: everything the tasks depend on, checked in one go, each finding with its
//! fix. The checks live with their tasks (`setup_sccache::findings`, `coverage::findings`,
//! `clean_shared_target::findings`); this module only adds the toolchain's versions, gathers the
//! rest and renders them.

use anyhow::bail;
use serde_json::json;
use xshell::Shell;

use crate::{
    child, clean_shared_target, coverage,
    finding::{self, Finding, Group},
    flags,
    secrets::outln,
    setup_sccache, tools,
    workspace::Workspace,
};

impl flags::Doctor {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let mut findings = toolchain(sh);
        match setup_sccache::findings(sh) {
            Ok(sccache) => findings.extend(sccache),
            Err(err) => findings.push(Finding::error(
                Group::Sccache,
                format!("{err:#}"),
                "fix what it names, then run `cargo xtask setup-sccache status`",
            )),
        }
        match Workspace::load(sh) {
            Ok(ws) => {
                findings.extend(coverage::findings(sh, &ws));
                findings.extend(clean_shared_target::findings(sh, &ws, &coverage::build_dir(&ws)));
                if self.coverage {
                    findings.push(coverage::smoke_test(sh, &ws));
                }
            }
            Err(err) => findings.push(Finding::error(
                Group::Workspace,
                format!("{err:#}"),
                "fix what cargo names, then run `cargo metadata` until it succeeds",
            )),
        }
        findings.sort_by_key(|finding| finding.group);

        let (errors, warnings) = finding::tally(&findings);
        if self.json {
            let findings: Vec<_> = findings.iter().map(Finding::to_json).collect();
            outln!("{:#}", json!({"findings": findings, "errors": errors, "warnings": warnings}));
        } else {
            outln!("{}", finding::render(&findings).trim_end());
            outln!("\n{errors} {}, {warnings} {}", plural(errors, "error"), plural(warnings, "warning"));
        }
        if errors > 0 {
            let verb = if errors == 1 { "makes" } else { "make" };
            bail!("doctor found {errors} {} that {verb} a task fail; the fix is under each", plural(errors, "problem"));
        }
        Ok(())
    }
}

fn plural(count: usize, word: &str) -> String {
    if count == 1 { word.to_owned() } else { format!("{word}s") }
}

/// The versions of cargo (`$CARGO`, the one running the xtask) and rustc (`$RUSTC`, else the one
/// on `PATH`).
fn toolchain(sh: &Shell) -> Vec<Finding> {
    let rustc = tools::rustc(sh);
    [("cargo", child::cargo(sh)), ("rustc", child::command(sh, rustc))]
        .into_iter()
        .map(|(name, cmd)| match cmd.arg("-V").quiet().ignore_stderr().read() {
            Ok(version) => Finding::ok(Group::Toolchain, version.trim()),
            Err(err) => Finding::error(
                Group::Toolchain,
                format!("`{name} -V` failed: {err}"),
                "install Rust with rustup (https://rustup.rs), or fix the RUSTC / CARGO variable",
            ),
        })
        .collect()
}
