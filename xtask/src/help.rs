//! The help, a screen at a time: `cargo xtask` lists the tasks, a line each; `cargo xtask TASK
//! --help` and `cargo xtask help TASK` print that task's flags and subcommands only. Both are cut
//! from xflags' one text, so they say what the parser takes.

use std::ffi::OsString;

use crate::{
    flags::{FAST_ABOUT, Xtask},
    output::UsageError,
};

/// `coverage-fast` is `coverage` read with a narrower default (see `main`); it has no section of
/// its own in xflags' text.
const FAST: &str = "coverage-fast";

/// The help asked for without a task's arguments: `cargo xtask`, `cargo xtask help [TASK]`.
pub(crate) fn answer(args: &[OsString]) -> Option<Result<String, UsageError>> {
    let words: Vec<&str> = args.iter().map(|arg| arg.to_str().unwrap_or("")).collect();
    match words.as_slice() {
        [] | ["help"] | ["--help" | "-h"] => Some(Ok(overview())),
        ["help", task] => Some(for_task(task).ok_or_else(|| {
            let names: Vec<String> = tasks().into_iter().map(|(name, _)| name).collect();
            UsageError(format!("there is no task `{task}`; the tasks are: {}", names.join(", ")))
        })),
        _ => None,
    }
}

/// The help for `args` that ended in `--help` and parsed: their task's, else the list.
pub(crate) fn for_args(args: &[OsString], fast: bool) -> String {
    let task = if fast { Some(FAST) } else { args.first().and_then(|arg| arg.to_str()) };
    task.and_then(for_task).unwrap_or_else(overview)
}

/// Every task, a line each, like `cargo --list`.
pub(crate) fn overview() -> String {
    let tasks = tasks();
    let width = tasks.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    // xflags' text before the first task, after its header line.
    let (_, text) = Xtask::HELP.split_once('\n').unwrap_or_default();
    let intro = about(text.split("\n\n").next().unwrap_or_default());
    let intro = intro.get(..1).map_or(String::new(), str::to_lowercase) + intro.get(1..).unwrap_or_default();
    let mut out = format!("cargo xtask: {intro}\n\nUsage: cargo xtask <task> [flags]\n\nTasks:\n");
    for (name, about) in &tasks {
        out += &format!("  {name:width$}  {about}\n");
    }
    out += "\n`cargo xtask <task> --help` (or `cargo xtask help <task>`) prints a task's flags and subcommands.\n";
    out
}

/// The tasks and what each is, in the order of xflags' text, `coverage-fast` after `coverage`.
fn tasks() -> Vec<(String, String)> {
    let mut tasks = Vec::new();
    for (header, body) in sections() {
        let mut words = header.split_whitespace().skip(1);
        if let (Some(name), None) = (words.next(), words.next()) {
            tasks.push((name.to_owned(), about(body)));
            if name == "coverage" {
                tasks.push((FAST.to_owned(), about(FAST_ABOUT)));
            }
        }
    }
    tasks
}

/// Whether `name` is a task: what the xtask's own command line starts with.
pub(crate) fn is_task(name: &str) -> bool {
    tasks().iter().any(|(task, _)| task == name)
}

/// A task's sections (its own and its subcommands'), or `None` for no such task.
pub(crate) fn for_task(task: &str) -> Option<String> {
    let (name, fast) = if task == FAST { ("coverage", true) } else { (task, false) };
    let own = |header: &str| header == format!("xtask {name}") || header.starts_with(&format!("xtask {name} "));
    let mut out = String::new();
    for (header, body) in sections().into_iter().filter(|(header, _)| own(header)) {
        match fast {
            // The flags are coverage's; the name and what it is, its own.
            true => {
                let flags = body.find("\n\n").map_or("", |start| &body[start..]);
                out += &format!("xtask {FAST}\n  {}{flags}", FAST_ABOUT);
            }
            false => out += &format!("{header}\n{body}"),
        }
    }
    (!out.is_empty()).then(|| out.trim_end().to_owned() + "\n")
}

/// Each `xtask TASK [SUBCOMMAND]` section of xflags' text: its header line and the rest.
fn sections() -> Vec<(&'static str, &'static str)> {
    let help = Xtask::HELP;
    let starts: Vec<usize> =
        help.match_indices("\nxtask ").map(|(at, _)| at + 1).chain(std::iter::once(help.len())).collect();
    starts
        .windows(2)
        .map(|pair| {
            let section = &help[pair[0]..pair[1]];
            section.split_once('\n').unwrap_or((section, ""))
        })
        .collect()
}

/// The first clause of a description: up to its first `.`, `:` or `;` at a word's end.
fn about(description: &str) -> String {
    let text = description.split_whitespace().collect::<Vec<_>>().join(" ");
    let end = text
        .match_indices(['.', ':', ';'])
        .map(|(at, _)| at)
        .find(|at| text[at + 1..].is_empty() || text[at + 1..].starts_with(' '))
        .unwrap_or(text.len());
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The help texts are kept in the repository, one file a task, so that every change to the
    /// command line shows up in review. A change rewrites the files and fails once: commit them.
    #[test]
    fn help_matches_the_golden_files() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/help");
        let mut texts = vec![("overview".to_owned(), overview())];
        texts.extend(tasks().into_iter().map(|(name, _)| (name.clone(), for_task(&name).unwrap())));
        let mut stale = Vec::new();
        for (name, text) in &texts {
            let golden = dir.join(format!("{name}.txt"));
            if std::fs::read_to_string(&golden).unwrap_or_default().replace("\r\n", "\n") != *text {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&golden, text).unwrap();
                stale.push(name.clone());
            }
        }
        assert!(
            stale.is_empty(),
            "the help of {stale:?} was out of date and has been rewritten in {}: commit it",
            dir.display()
        );
    }

    #[test]
    fn the_overview_is_a_line_a_task_and_fits_a_screen() {
        let text = overview();
        assert!(text.lines().count() < 30, "{text}");
        for task in ["setup-sccache", "coverage", "coverage-fast", "clean-shared-target", "doctor", "adopt"] {
            assert!(text.lines().any(|line| line.trim_start().starts_with(&format!("{task} "))), "{task}: {text}");
        }
        assert!(text.contains("  coverage-fast        Coverage without the slow crates\n"), "{text}");
    }

    #[test]
    fn a_task_gets_its_own_sections_only() {
        let sccache = for_task("setup-sccache").unwrap();
        assert!(sccache.starts_with("xtask setup-sccache\n") && sccache.contains("xtask setup-sccache disable"));
        assert!(!sccache.contains("xtask coverage"), "{sccache}");
        let fast = for_task("coverage-fast").unwrap();
        assert!(fast.starts_with("xtask coverage-fast\n  Coverage without the slow crates"), "{fast}");
        assert!(fast.contains("--fail-under-lines"), "{fast}");
        assert_eq!(for_task("bogus"), None);
    }

    #[test]
    fn help_is_answered_for_each_way_of_asking() {
        let args = |words: &[&str]| words.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(answer(&args(&[])).unwrap().unwrap(), overview());
        assert_eq!(answer(&args(&["help", "doctor"])).unwrap().unwrap(), for_task("doctor").unwrap());
        assert!(answer(&args(&["help", "nope"])).unwrap().unwrap_err().0.contains("the tasks are: setup-sccache"));
        assert!(answer(&args(&["doctor", "--json"])).is_none());
        assert_eq!(for_args(&args(&["doctor", "--json", "--help"]), false), for_task("doctor").unwrap());
        assert_eq!(for_args(&args(&["coverage", "--help"]), true), for_task("coverage-fast").unwrap());
    }

    #[test]
    fn abouts_are_first_clauses() {
        assert_eq!(
            about("Install, configure, start and inspect sccache. Without a subcommand"),
            "Install, configure, start and inspect sccache"
        );
        assert_eq!(
            about("Measure test coverage with cargo-llvm-cov: one run"),
            "Measure test coverage with cargo-llvm-cov"
        );
        assert_eq!(about("Copy it (see `a.b`)"), "Copy it (see `a.b`)");
    }
}
