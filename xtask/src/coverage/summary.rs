//! The per-crate summary and the thresholds, from `cargo llvm-cov report --json --summary-only`.
//!
//! llvm-cov reports files; people think in crates. Each file is given to the member whose
//! manifest directory holds it (the deepest one, for nested members).

use anyhow::Context;
use camino::Utf8Path;
use serde_json::{Value, json};

use crate::flags::keywords;

keywords! {
    /// The figures llvm-cov counts for every file, in table order. Branches are counted only in a
    /// build with branch coverage (`--branch`), and are shown only then.
    pub(crate) enum Metric("metric") {
        Lines = "lines",
        Functions = "functions",
        Regions = "regions",
        Branches = "branches",
    }
}

impl Metric {
    pub(crate) const ALL: [Metric; 4] = [Metric::Lines, Metric::Functions, Metric::Regions, Metric::Branches];
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Count {
    pub(crate) covered: u64,
    pub(crate) total: u64,
}

impl Count {
    /// `None` when there is nothing to measure.
    pub(crate) fn percent(self) -> Option<f64> {
        (self.total > 0).then(|| self.covered as f64 * 100.0 / self.total as f64)
    }

    fn cell(self) -> String {
        self.percent().map_or("-".to_owned(), |percent| format!("{}/{} {percent:.2}%", self.covered, self.total))
    }
}

/// Lines, functions, regions and branches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Figures([Count; 4]);

impl Figures {
    pub(crate) fn get(&self, metric: Metric) -> Count {
        self.0[metric as usize]
    }

    fn from_json(summary: &Value) -> anyhow::Result<Figures> {
        let mut figures = Figures::default();
        for metric in Metric::ALL {
            // Older llvm-cov exports have no branches: none were counted.
            if metric == Metric::Branches && summary.get("branches").is_none() {
                continue;
            }
            let number = |field: &str| {
                summary
                    .pointer(&format!("/{}/{field}", metric.name()))
                    .and_then(Value::as_u64)
                    .with_context(|| format!("the coverage summary lacks `{}.{field}`", metric.name()))
            };
            figures.0[metric as usize] = Count { covered: number("covered")?, total: number("count")? };
        }
        Ok(figures)
    }

    fn add(&mut self, other: &Figures) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            (mine.covered, mine.total) = (mine.covered + theirs.covered, mine.total + theirs.total);
        }
    }
}

/// What the report says, by crate.
#[derive(Debug)]
pub(crate) struct Summary {
    /// Every measured crate, in the order asked for, whether or not it has files in the report.
    pub(crate) crates: Vec<(String, Figures)>,
    /// Files that belong to no measured crate, if any.
    pub(crate) elsewhere: Option<Figures>,
    /// llvm-cov's own totals, which the `--fail-under-*` figures are compared with.
    pub(crate) total: Figures,
}

impl Summary {
    /// Reads llvm-cov's JSON export; `crates` pairs each measured crate with its manifest dir.
    pub(crate) fn from_json(json: &Value, crates: &[(&str, &Utf8Path)]) -> anyhow::Result<Summary> {
        let data = json.pointer("/data/0").context("the coverage JSON has no `data[0]`")?;
        let mut by_crate: Vec<(String, Figures)> =
            crates.iter().map(|(name, _)| ((*name).to_owned(), Figures::default())).collect();
        let mut elsewhere: Option<Figures> = None;
        for file in data.get("files").and_then(Value::as_array).context("the coverage JSON has no `files`")? {
            let name =
                file.get("filename").and_then(Value::as_str).context("a file in the coverage JSON has no name")?;
            let figures = Figures::from_json(&file["summary"])?;
            match deepest_holder(crates.iter().map(|(_, dir)| *dir), name.as_ref()) {
                Some(index) => by_crate[index].1.add(&figures),
                None => elsewhere.get_or_insert_with(Figures::default).add(&figures),
            }
        }
        let total = Figures::from_json(data.get("totals").context("the coverage JSON has no `totals`")?)?;
        Ok(Summary { crates: by_crate, elsewhere, total })
    }

    /// The metrics the tables show: branches only when the build counted some.
    fn shown(&self) -> &'static [Metric] {
        if self.total.get(Metric::Branches).total == 0 { &Metric::ALL[..3] } else { &Metric::ALL }
    }

    /// The cells of both tables: the header, a row per crate (its name as `name` shows it), one for
    /// the other files, and the total.
    fn grid(&self, name: impl Fn(&str) -> String, total: &str) -> Vec<Vec<String>> {
        let shown = self.shown();
        let row = |name: String, figures: &Figures| {
            std::iter::once(name).chain(shown.iter().map(|metric| figures.get(*metric).cell())).collect()
        };
        let mut rows =
            vec![std::iter::once("crate").chain(shown.iter().map(|metric| metric.name())).map(Into::into).collect()];
        rows.extend(self.crates.iter().map(|(crate_name, figures)| row(name(crate_name), figures)));
        rows.extend(self.elsewhere.as_ref().map(|figures| row(name("(other files)"), figures)));
        rows.push(row(total.to_owned(), &self.total));
        rows
    }

    /// The table for the terminal: a row per crate, then the total.
    pub(crate) fn table(&self) -> String {
        let rows = self.grid(str::to_owned, "total");
        let widths: Vec<usize> =
            (0..rows[0].len()).map(|column| rows.iter().map(|row| row[column].len()).max().unwrap_or(0)).collect();
        let mut out = String::new();
        for row in &rows {
            let mut line = format!("{:<w$}", row[0], w = widths[0]);
            for (cell, width) in row.iter().zip(&widths).skip(1) {
                line += &format!("  {cell:>width$}");
            }
            out += line.trim_end();
            out += "\n";
        }
        out
    }

    /// `--json`: each crate's figures, the other files' and the total.
    pub(crate) fn to_json(&self) -> Value {
        let figures = |figures: &Figures| -> Value {
            let counts = self.shown().iter().map(|metric| (metric.name().to_owned(), figures.get(*metric)));
            let object = counts.map(|(name, count)| {
                (name, json!({"covered": count.covered, "count": count.total, "percent": count.percent()}))
            });
            Value::Object(object.collect())
        };
        json!({
            "crates": self.crates.iter().map(|(name, crate_figures)| {
                let mut row = figures(crate_figures);
                row["name"] = name.as_str().into();
                row
            }).collect::<Vec<_>>(),
            "other_files": self.elsewhere.as_ref().map(figures),
            "total": figures(&self.total),
        })
    }

    /// The same table in GitHub markdown, for `$GITHUB_STEP_SUMMARY`, followed by `notes`.
    pub(crate) fn markdown(&self, notes: &[String]) -> String {
        let rows = self.grid(|name| format!("`{name}`"), "**total**");
        let mut out =
            format!("### Coverage\n\n| {} |\n|---|{}\n", rows[0].join(" | "), "---:|".repeat(rows[0].len() - 1));
        for row in &rows[1..] {
            out += &format!("| {} |\n", row.join(" | "));
        }
        for note in notes {
            out += &format!("\n{note}\n");
        }
        out
    }
}

/// Which of `dirs` holds `file`, the deepest one for nested members.
pub(super) fn deepest_holder<'a>(dirs: impl Iterator<Item = &'a Utf8Path>, file: &Utf8Path) -> Option<usize> {
    let holders = dirs.enumerate().filter(|(_, dir)| file.starts_with(dir));
    holders.max_by_key(|(_, dir)| dir.components().count()).map(|(index, _)| index)
}

/// Minimum percentages; `None` is no minimum.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Minimums(pub(crate) [Option<f64>; 4]);

impl Minimums {
    pub(crate) fn get(&self, metric: Metric) -> Option<f64> {
        self.0[metric as usize]
    }

    pub(crate) fn set(&mut self, metric: Metric, minimum: f64) {
        self.0[metric as usize] = Some(minimum);
    }
}

/// One message per figure below its minimum: the workspace total first, then each crate.
pub(crate) fn shortfalls(summary: &Summary, total: &Minimums, per_crate: &[(String, Minimums)]) -> Vec<String> {
    let mut found = Vec::new();
    let mut check = |whose: &str, figures: &Figures, minimums: &Minimums| {
        for metric in Metric::ALL {
            let Some(minimum) = minimums.get(metric) else { continue };
            let (name, count @ Count { covered, total: counted }) = (metric.name(), figures.get(metric));
            match count.percent() {
                Some(percent) if percent >= minimum => {}
                Some(percent) => found.push(format!(
                    "{whose}: {name} coverage {percent:.2}% ({covered}/{counted}) is below the minimum {minimum}%"
                )),
                None => {
                    found.push(format!("{whose}: no {name} were measured, so the minimum {minimum}% cannot be met"))
                }
            }
        }
    };
    check("total", &summary.total, total);
    for (name, minimums) in per_crate {
        // A crate that was not measured this time (left out by -p or coverage-fast) has no figures to check.
        if let Some((_, figures)) = summary.crates.iter().find(|(crate_name, _)| crate_name == name) {
            check(&format!("crate `{name}`"), figures, minimums);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn file(name: &str, lines: (u64, u64), functions: (u64, u64), regions: (u64, u64)) -> Value {
        json!({"filename": name, "summary": {
            "lines": {"covered": lines.0, "count": lines.1, "percent": 0.0},
            "functions": {"covered": functions.0, "count": functions.1, "percent": 0.0},
            "regions": {"covered": regions.0, "count": regions.1, "notcovered": regions.1 - regions.0, "percent": 0.0},
            "branches": {"covered": 0, "count": 0, "percent": 0.0},
        }})
    }

    /// Two crates, `core` nested inside `app`'s directory, and a file outside both.
    fn summary() -> Summary {
        let json = json!({"data": [{
            "files": [
                file("/ws/app/src/main.rs", (3, 4), (1, 2), (5, 8)),
                file("/ws/app/core/src/lib.rs", (10, 10), (2, 2), (6, 6)),
                file("/ws/app/core/src/more.rs", (0, 5), (0, 1), (0, 2)),
                file("/elsewhere/gen.rs", (1, 1), (1, 1), (1, 1)),
            ],
            "totals": file("", (14, 20), (4, 6), (12, 17))["summary"].clone(),
        }]});
        Summary::from_json(
            &json,
            &[("app", "/ws/app".into()), ("core", "/ws/app/core".into()), ("idle", "/ws/idle".into())],
        )
        .unwrap()
    }

    #[test]
    fn files_go_to_the_deepest_crate_directory() {
        let summary = summary();
        let figures = |name: &str| summary.crates.iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!(figures("app").get(Metric::Lines), Count { covered: 3, total: 4 });
        assert_eq!(figures("core").get(Metric::Lines), Count { covered: 10, total: 15 });
        assert_eq!(figures("core").get(Metric::Functions), Count { covered: 2, total: 3 });
        assert_eq!(figures("idle").get(Metric::Regions), Count::default());
        assert_eq!(summary.elsewhere.unwrap().get(Metric::Lines), Count { covered: 1, total: 1 });
        assert_eq!(summary.total.get(Metric::Regions), Count { covered: 12, total: 17 });
    }

    #[test]
    fn the_table_aligns_and_shows_nothing_measured_as_a_dash() {
        let expected = "\
crate                 lines    functions       regions
app              3/4 75.00%   1/2 50.00%    5/8 62.50%
core           10/15 66.67%   2/3 66.67%    6/8 75.00%
idle                      -            -             -
(other files)   1/1 100.00%  1/1 100.00%   1/1 100.00%
total          14/20 70.00%   4/6 66.67%  12/17 70.59%
";
        assert_eq!(summary().table(), expected);
    }

    #[test]
    fn branches_are_shown_checked_and_exported_when_the_build_counted_them() {
        let mut branched = file("/ws/app/src/main.rs", (3, 4), (1, 2), (5, 8));
        branched["summary"]["branches"] = json!({"covered": 1, "count": 4, "percent": 25.0});
        let json = json!({"data": [{"files": [branched.clone()], "totals": branched["summary"].clone()}]});
        let summary = Summary::from_json(&json, &[("app", "/ws/app".into())]).unwrap();
        assert_eq!(summary.table().lines().next().unwrap(), "crate       lines   functions     regions    branches");
        assert!(summary.table().contains("1/4 25.00%"), "{}", summary.table());
        assert!(summary.markdown(&[]).contains("| branches |"));
        assert_eq!(summary.to_json()["total"]["branches"]["covered"], 1);
        let minimums = Minimums([None, None, None, Some(30.0)]);
        assert_eq!(
            shortfalls(&summary, &minimums, &[]),
            ["total: branches coverage 25.00% (1/4) is below the minimum 30%"]
        );
        // Without branch coverage there is no column and no field.
        assert!(!self::summary().table().contains("branches"));
        assert!(self::summary().to_json()["total"].get("branches").is_none());
    }

    #[test]
    fn markdown_has_a_row_per_crate_and_the_notes() {
        let markdown = summary().markdown(&["Tests failed.".to_owned()]);
        assert!(
            markdown.starts_with("### Coverage\n\n| crate | lines | functions | regions |\n|---|---:|---:|---:|\n")
        );
        assert!(markdown.contains("| `core` | 10/15 66.67% | 2/3 66.67% | 6/8 75.00% |\n"), "{markdown}");
        assert!(markdown.contains("| **total** | 14/20 70.00% | 4/6 66.67% | 12/17 70.59% |\n"), "{markdown}");
        assert!(markdown.ends_with("\nTests failed.\n"), "{markdown}");
    }

    #[test]
    fn shortfalls_name_the_crate_the_figure_and_the_minimum() {
        let summary = summary();
        let total = Minimums([Some(70.0), None, Some(71.0), None]);
        let per_crate = vec![
            ("core".to_owned(), Minimums([Some(90.0), Some(60.0), None, None])),
            ("idle".to_owned(), Minimums([None, Some(50.0), None, None])),
            ("unmeasured".to_owned(), Minimums([Some(100.0), None, None, None])),
        ];
        assert_eq!(
            shortfalls(&summary, &total, &per_crate),
            [
                "total: regions coverage 70.59% (12/17) is below the minimum 71%",
                "crate `core`: lines coverage 66.67% (10/15) is below the minimum 90%",
                "crate `idle`: no functions were measured, so the minimum 50% cannot be met",
            ]
        );
        assert!(shortfalls(&summary, &Minimums([Some(70.0), Some(66.0), None, None]), &[]).is_empty());
    }

    #[test]
    fn malformed_json_is_an_error_naming_what_is_missing() {
        let err =
            Summary::from_json(&json!({"data": [{"files": [{"filename": "a", "summary": {}}]}]}), &[]).unwrap_err();
        assert_eq!(err.to_string(), "the coverage summary lacks `lines.covered`");
    }
}
