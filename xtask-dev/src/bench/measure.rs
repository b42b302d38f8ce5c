//! Timing: samples, the medians and ranges of a comparison, and its row in the table.

use super::*;

/// Times of one side of a comparison, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sample {
    pub(super) label: String,
    pub(super) seconds: Vec<f64>,
}

impl Sample {
    pub(super) fn median(&self) -> f64 {
        median(&self.seconds)
    }

    pub(super) fn range(&self) -> (f64, f64) {
        let min = self.seconds.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.seconds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (min, max)
    }

    pub(super) fn shown(&self) -> String {
        let (min, max) = self.range();
        format!("{}: {} ({}–{})", self.label, seconds(self.median()), seconds(min), seconds(max))
    }
}

/// A goal and how the run did against it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Check {
    pub(super) goal: String,
    pub(super) actual: String,
    pub(super) pass: bool,
}

/// One line of the report: a measurement, usually against a baseline.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Row {
    pub(super) scenario: &'static str,
    pub(super) measured: Sample,
    pub(super) baseline: Option<Sample>,
    pub(super) checks: Vec<Check>,
}

impl Row {
    pub(super) fn ratio(&self) -> Option<f64> {
        self.baseline.as_ref().map(|baseline| self.measured.median() / baseline.median())
    }

    /// A row whose goal is a ratio of medians at most `max` (no goal: reported only).
    pub(super) fn compared(scenario: &'static str, measured: Sample, baseline: Sample, max: Option<f64>) -> Row {
        let mut row = Row { scenario, measured, baseline: Some(baseline), checks: Vec::new() };
        if let (Some(max), Some(ratio)) = (max, row.ratio()) {
            row.checks.push(Check {
                goal: format!("ratio ≤ {max}"),
                actual: format!("{ratio:.2}"),
                pass: ratio <= max,
            });
        }
        row
    }
}

pub(super) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

pub(super) fn seconds(value: f64) -> String {
    if value < 10.0 { format!("{value:.2} s") } else { format!("{value:.1} s") }
}

/// Runs `a` and `b` alternately, `runs` times each, A first.
pub(super) fn pairs(
    runs: u32,
    mut a: impl FnMut() -> anyhow::Result<f64>,
    mut b: impl FnMut() -> anyhow::Result<f64>,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let (mut times_a, mut times_b) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        times_a.push(a()?);
        times_b.push(b()?);
        errln!(
            "bench:   pair {run}/{runs}: {} / {}",
            seconds(times_a[times_a.len() - 1]),
            seconds(times_b[times_b.len() - 1])
        );
    }
    Ok((times_a, times_b))
}

/// The running xtask, as users run it, in the shell's directory.
pub(super) fn xtask(sh: &Shell) -> anyhow::Result<Cmd<'_>> {
    let exe = std::env::current_exe().context("cannot find the running xtask")?;
    Ok(child::command(sh, exe))
}

/// What a build compared with and without sccache gets: the private server's variables, and the
/// wrapper set or blanked (which also overrides one in cargo's config).
pub(super) fn wrapped(sccache: &Sccache<'_>, with_sccache: bool) -> Env {
    sccache.env.clone().set("RUSTC_WRAPPER", if with_sccache { sccache.path.as_str() } else { "" })
}

/// Runs `cmd` to completion and returns its wall time; a failure shows the end of its output.
pub(super) fn time(cmd: Cmd<'_>) -> anyhow::Result<f64> {
    let shown = cmd.to_string();
    let start = Instant::now();
    let output = cmd.quiet().ignore_status().output()?;
    let elapsed = start.elapsed().as_secs_f64();
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect();
        bail!("`{shown}` failed ({}):\n{}", output.status, tail.join("\n"));
    }
    Ok(elapsed)
}
