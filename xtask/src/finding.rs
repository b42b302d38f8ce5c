//! What a check found: each task module states its own checks as findings, `setup-sccache status`
//! renders sccache's, and `doctor` gathers every task's into one report.

use serde_json::{Value, json};

use crate::{
    flags::keywords,
    output::{Stream, Style, paint},
};

keywords! {
    #[derive(PartialOrd, Ord)]
    pub(crate) enum Level("level") {
        Ok = "ok",
        /// Works, but costs something (cache misses, disk) or lacks an optional part.
        Warn = "warn",
        /// A task that depends on it fails.
        Error = "error",
    }
}

keywords! {
    /// The heading a finding is listed under, in the order `doctor` lists them: what everything
    /// needs first.
    #[derive(PartialOrd, Ord)]
    pub(crate) enum Group("group") {
        Toolchain = "toolchain",
        Workspace = "workspace",
        Sccache = "sccache",
        Coverage = "coverage",
        Disk = "disk",
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub(crate) group: Group,
    pub(crate) level: Level,
    pub(crate) what: String,
    /// The exact fix; none for a finding that is fine.
    pub(crate) fix: Option<String>,
}

impl Finding {
    pub(crate) fn ok(group: Group, what: impl Into<String>) -> Finding {
        Finding { group, level: Level::Ok, what: what.into(), fix: None }
    }

    pub(crate) fn warn(group: Group, what: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding { group, level: Level::Warn, what: what.into(), fix: Some(fix.into()) }
    }

    pub(crate) fn error(group: Group, what: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding { group, level: Level::Error, what: what.into(), fix: Some(fix.into()) }
    }

    pub(crate) fn is_problem(&self) -> bool {
        self.level != Level::Ok
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({"group": self.group.name(), "level": self.level.name(), "what": self.what, "fix": self.fix})
    }
}

/// One line per finding (continuation lines and the fix indented under it), under a heading per
/// group in `Group`'s order; coloured on a terminal.
pub(crate) fn render(findings: &[Finding]) -> String {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by_key(|finding| finding.group);
    let indent = "\n         ";
    let mut out = String::new();
    for group in sorted.chunk_by(|a, b| a.group == b.group) {
        out += &format!("{}\n", paint(Stream::Stdout, Style::Heading, group[0].group.name()));
        for finding in group {
            let style = if finding.is_problem() { Style::Bad } else { Style::Good };
            let marker = paint(Stream::Stdout, style, &format!("{:<5}", finding.level.name()));
            out += &format!("  {marker}  {}\n", finding.what.replace('\n', indent));
            if let Some(fix) = &finding.fix {
                out += &format!("         fix: {}\n", fix.replace('\n', indent));
            }
        }
    }
    out
}

/// How many findings are errors, and how many warnings.
pub(crate) fn tally(findings: &[Finding]) -> (usize, usize) {
    let count = |level| findings.iter().filter(|finding| finding.level == level).count();
    (count(Level::Error), count(Level::Warn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_are_grouped_one_line_each_with_the_fix_below() {
        let findings = [
            Finding::ok(Group::Toolchain, "cargo 1.95.0"),
            Finding::warn(Group::Disk, "CARGO_TARGET_DIR is set\nfor every project", "unset it"),
            Finding::error(Group::Toolchain, "sccache was not found", "cargo xtask setup-sccache"),
        ];
        // Without a terminal there is no colour.
        assert_eq!(
            render(&findings),
            "toolchain\n  ok     cargo 1.95.0\n  error  sccache was not found\n         fix: cargo xtask setup-sccache\n\
             disk\n  warn   CARGO_TARGET_DIR is set\n         for every project\n         fix: unset it\n"
        );
        assert_eq!(tally(&findings), (1, 1));
    }

    #[test]
    fn json_names_the_level() {
        let json = Finding::warn(Group::Disk, "low", "clean").to_json();
        assert_eq!(json, json!({"group": "disk", "level": "warn", "what": "low", "fix": "clean"}));
        assert_eq!(Finding::ok(Group::Disk, "fine").to_json()["fix"], Value::Null);
    }
}
