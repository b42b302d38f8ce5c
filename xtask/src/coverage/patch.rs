//! Patch coverage (`--patch-base`): of the lines a change adds or edits, those that are
//! executable (llvm-cov counts them: lines with a `DA` record in the LCOV report), how many the
//! tests ran, and which they did not. Comments, blank lines and files without coverage data
//! (no measured crate's, or not Rust) never count.

use std::collections::{BTreeMap, HashMap};

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::{Value, json};

/// Execution counts per line, per source file (canonical paths).
pub(super) type LineCounts = HashMap<Utf8PathBuf, BTreeMap<u32, u64>>;

/// The `SF`/`DA` records of an LCOV report; a line reported twice is covered if either ran it.
/// `canonical` maps each file name to the form the changed files are compared in.
pub(super) fn line_counts(lcov: &str, canonical: impl Fn(&Utf8Path) -> Utf8PathBuf) -> LineCounts {
    let mut counts = LineCounts::new();
    let mut file: Option<Utf8PathBuf> = None;
    for line in lcov.lines() {
        if let Some(name) = line.strip_prefix("SF:") {
            file = Some(canonical(Utf8Path::new(name)));
        } else if line == "end_of_record" {
            file = None;
        } else if let (Some(record), Some(file)) = (line.strip_prefix("DA:"), &file) {
            let mut fields = record.split(',');
            let (Some(Ok(number)), Some(Ok(count))) =
                (fields.next().map(str::parse::<u32>), fields.next().map(str::parse::<u64>))
            else {
                continue;
            };
            let slot = counts.entry(file.clone()).or_default().entry(number).or_default();
            *slot = (*slot).max(count);
        }
    }
    counts
}

/// The patch's figures against one base.
#[derive(Debug, PartialEq)]
pub(super) struct Patch {
    pub(super) base: String,
    pub(super) executable: u64,
    pub(super) covered: u64,
    /// Per file (as shown: relative to the workspace root), the uncovered changed lines as ranges.
    pub(super) uncovered: Vec<(String, Vec<(u32, u32)>)>,
}

impl Patch {
    /// `changed` holds each file's changed lines, its path canonical like `counts`' keys.
    pub(super) fn new(base: &str, changed: &[(Utf8PathBuf, Vec<u32>)], counts: &LineCounts, root: &Utf8Path) -> Patch {
        let mut patch = Patch { base: base.to_owned(), executable: 0, covered: 0, uncovered: Vec::new() };
        let mut changed: Vec<&(Utf8PathBuf, Vec<u32>)> = changed.iter().collect();
        changed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (file, lines) in changed {
            let Some(file_counts) = counts.get(file) else { continue };
            let executable: Vec<(u32, u64)> =
                lines.iter().filter_map(|line| Some((*line, *file_counts.get(line)?))).collect();
            let missed: Vec<u32> = executable.iter().filter(|(_, count)| *count == 0).map(|(line, _)| *line).collect();
            patch.executable += executable.len() as u64;
            patch.covered += (executable.len() - missed.len()) as u64;
            if !missed.is_empty() {
                let shown = file.strip_prefix(root).unwrap_or(file).as_str().replace('\\', "/");
                patch.uncovered.push((shown, ranges(&missed)));
            }
        }
        patch
    }

    /// `None` when no changed line is executable.
    pub(super) fn percent(&self) -> Option<f64> {
        (self.executable > 0).then(|| self.covered as f64 * 100.0 / self.executable as f64)
    }

    fn figure(&self) -> String {
        let Some(percent) = self.percent() else { return "no changed line is executable".to_owned() };
        format!("{} of {} changed executable lines covered ({percent:.2}%)", self.covered, self.executable)
    }

    /// For the terminal, after the table.
    pub(super) fn text(&self) -> String {
        let uncovered =
            self.uncovered.iter().map(|(file, ranges)| format!("  not covered: {file}: {}\n", shown(ranges)));
        format!("patch coverage since {}: {}\n{}", self.base, self.figure(), uncovered.collect::<String>())
    }

    /// For `$GITHUB_STEP_SUMMARY`.
    pub(super) fn markdown(&self) -> String {
        let uncovered =
            self.uncovered.iter().map(|(file, ranges)| format!("\n- not covered: `{file}`: {}", shown(ranges)));
        format!("**Patch coverage** since `{}`: {}{}", self.base, self.figure(), uncovered.collect::<String>())
    }

    pub(super) fn to_json(&self) -> Value {
        json!({
            "base": self.base,
            "executable_lines": self.executable,
            "covered_lines": self.covered,
            "percent": self.percent(),
            "uncovered": self.uncovered.iter().map(|(file, ranges)| json!({
                "file": file,
                "lines": ranges.iter().map(|(first, last)| [first, last]).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }

    /// The message when the share is under `minimum` percent.
    pub(super) fn shortfall(&self, minimum: f64) -> Option<String> {
        let percent = self.percent().unwrap_or(100.0);
        (percent < minimum).then(|| {
            format!(
                "patch coverage {percent:.2}% ({} of {} changed executable lines since {}) is under the minimum {minimum}%",
                self.covered, self.executable, self.base
            )
        })
    }
}

/// Sorted line numbers as runs of consecutive ones.
fn ranges(lines: &[u32]) -> Vec<(u32, u32)> {
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for &line in lines {
        match ranges.last_mut() {
            Some((_, last)) if *last + 1 == line => *last = line,
            _ => ranges.push((line, line)),
        }
    }
    ranges
}

fn shown(ranges: &[(u32, u32)]) -> String {
    let range = |(first, last): &(u32, u32)| if first == last { first.to_string() } else { format!("{first}-{last}") };
    ranges.iter().map(range).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LCOV: &str = "SF:/ws/src/lib.rs\nFN:1,a\nDA:1,3\nDA:2,3\nDA:3,3\nDA:5,0\nDA:6,0\nDA:7,0\nDA:9,1\nLF:7\nLH:4\n\
                        end_of_record\nSF:/ws/src/other.rs\nDA:1,0\nend_of_record\nSF:/ws/src/lib.rs\nDA:9,0\nDA:10,0\nend_of_record\n";

    fn counts() -> LineCounts {
        line_counts(LCOV, Utf8Path::to_path_buf)
    }

    #[test]
    fn lcov_lines_merge_records_of_the_same_file() {
        let counts = counts();
        assert_eq!(counts[Utf8Path::new("/ws/src/lib.rs")].get(&9), Some(&1), "covered by either record");
        assert_eq!(counts[Utf8Path::new("/ws/src/lib.rs")].get(&10), Some(&0));
        assert_eq!(counts[Utf8Path::new("/ws/src/lib.rs")].get(&4), None, "not executable");
    }

    #[test]
    fn only_executable_changed_lines_count_and_the_missed_ones_are_ranges() {
        // Lines 1-7 changed: 1-3 ran, 4 is not executable (blank), 5-7 did not run; line 10 missed;
        // a changed README has no coverage data and does not count.
        let changed = vec![
            (Utf8PathBuf::from("/ws/src/lib.rs"), vec![1, 2, 3, 4, 5, 6, 7, 10]),
            (Utf8PathBuf::from("/ws/README.md"), vec![1, 2]),
        ];
        let patch = Patch::new("main", &changed, &counts(), "/ws".into());
        assert_eq!((patch.covered, patch.executable), (3, 7));
        assert_eq!(patch.uncovered, [("src/lib.rs".to_owned(), vec![(5, 7), (10, 10)])]);
        assert_eq!(
            patch.text(),
            "patch coverage since main: 3 of 7 changed executable lines covered (42.86%)\n  not covered: src/lib.rs: 5-7, 10\n"
        );
        assert!(patch.shortfall(50.0).unwrap().starts_with(
            "patch coverage 42.86% (3 of 7 changed executable lines since main) is under the minimum 50%"
        ));
        assert_eq!(patch.shortfall(40.0), None);
        assert_eq!(patch.to_json()["uncovered"][0]["lines"], json!([[5, 7], [10, 10]]));
    }

    #[test]
    fn a_patch_without_executable_lines_fails_no_minimum() {
        let patch = Patch::new("main", &[(Utf8PathBuf::from("/ws/README.md"), vec![1])], &counts(), "/ws".into());
        assert_eq!(patch.percent(), None);
        assert_eq!(patch.shortfall(100.0), None);
        assert!(patch.text().contains("no changed line is executable"));
    }
}
