//! The report: the machine, and the rows as Markdown (for docs/performance.md) or JSON.

use super::*;

/// Cores, OS, tool versions and the date, for the report.
pub(super) fn machine(sh: &Shell) -> Vec<(&'static str, String)> {
    let version = |tool: &tools::Tool| {
        tool.find(sh).map_or_else(|_| "not installed".to_owned(), |f: Found| f.version.to_string())
    };
    let rustc = child::command(sh, tools::rustc(sh)).arg("--version").quiet().read();
    vec![
        ("date", today()),
        ("cores", std::thread::available_parallelism().map_or("unknown".into(), |n| n.to_string())),
        ("os", format!("{} {}", std::env::consts::OS, std::env::consts::ARCH)),
        ("rustc", rustc.unwrap_or_else(|_| "unknown".into())),
        ("sccache", version(&tools::SCCACHE)),
        ("cargo-llvm-cov", version(&tools::CARGO_LLVM_COV)),
    ]
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock.
fn today() -> String {
    let days = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs() / 86_400;
    civil_date(days as i64)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub(super) fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The report as a markdown table (what docs/performance.md shows).
pub(super) fn to_markdown(machine: &[(&str, String)], rows: &[Row]) -> String {
    let mut out = String::new();
    let facts: Vec<String> = machine.iter().map(|(key, value)| format!("{key}: {value}")).collect();
    let _ = writeln!(out, "Measured by `cargo dev bench` ({}).\n", facts.join(", "));
    out += "| scenario | measured: median (min–max) | baseline: median (min–max) | ratio | goal | result |\n";
    out += "|---|---|---|---|---|---|\n";
    for row in rows {
        let baseline = row.baseline.as_ref().map_or_else(|| "—".to_owned(), Sample::shown);
        let ratio = row.ratio().map_or_else(|| "—".to_owned(), |ratio| format!("{ratio:.2}"));
        let goals: Vec<String> = row.checks.iter().map(|c| format!("{} (got {})", c.goal, c.actual)).collect();
        let result = match row.checks.iter().all(|c| c.pass) {
            _ if row.checks.is_empty() => "reported",
            true => "pass",
            false => "FAIL",
        };
        let goals = if goals.is_empty() { "—".to_owned() } else { goals.join("; ") };
        let _ = writeln!(
            out,
            "| {} | {} | {baseline} | {ratio} | {goals} | {result} |",
            row.scenario,
            row.measured.shown()
        );
    }
    out
}

pub(super) fn to_json(machine: &[(&str, String)], rows: &[Row]) -> Value {
    let sample = |sample: &Sample| {
        let (min, max) = sample.range();
        json!({"label": sample.label, "seconds": sample.seconds, "median": sample.median(), "min": min, "max": max})
    };
    json!({
        "machine": machine.iter().map(|(key, value)| (key.to_string(), json!(value))).collect::<serde_json::Map<_, _>>(),
        "results": rows.iter().map(|row| json!({
            "scenario": row.scenario,
            "measured": sample(&row.measured),
            "baseline": row.baseline.as_ref().map(sample),
            "ratio": row.ratio(),
            "checks": row.checks.iter().map(|c| json!({"goal": c.goal, "actual": c.actual, "pass": c.pass})).collect::<Vec<_>>(),
            "pass": row.checks.iter().all(|c| c.pass),
        })).collect::<Vec<_>>(),
    })
}

/// `text` with what lies between the `start` and `end` marker lines replaced by `body`.
pub(super) fn replace_between(text: &str, start: &str, end: &str, body: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = from + text[from..].find(end)?;
    Some(format!("{}\n{}{}", &text[..from], body, &text[to..]))
}
