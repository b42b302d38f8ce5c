//! This repository's own checks: its README, Makefile and CI workflow agree with the xtask's
//! command line. They are about the files around the xtask, not the xtask, so `cargo xtask adopt`
//! leaves this file out of the copy it makes for another workspace.

#[path = "../../xtask/tests/support/mod.rs"]
mod support;

use std::process::Command;

use support::*;

fn repo_file(name: &str) -> String {
    std::fs::read_to_string(repo_root().join(name)).unwrap_or_else(|err| panic!("{name}: {err}")).replace("\r\n", "\n")
}

/// The documentation: README.md, CONTRIBUTING.md and every page of docs/, by name.
fn documentation() -> Vec<(String, String)> {
    let mut names = vec!["README.md".to_owned(), "CONTRIBUTING.md".to_owned()];
    let mut pages: Vec<String> = std::fs::read_dir(repo_root().join("docs"))
        .unwrap()
        .map(|entry| format!("docs/{}", entry.unwrap().file_name().to_str().unwrap()))
        .filter(|name| name.ends_with(".md"))
        .collect();
    pages.sort();
    names.extend(pages);
    names.into_iter().map(|name| (repo_file(&name), name)).map(|(text, name)| (name, text)).collect()
}

fn xtask_stdout(args: &[&str]) -> String {
    let output = Command::new(XTASK).args(args).env("NO_COLOR", "1").output().unwrap();
    assert_success(&output, &format!("xtask {}", args.join(" ")));
    text(&output.stdout)
}

/// Every `cargo xtask ...` and `cargo dev ...` written in the documentation, the Makefile and the
/// CI workflow parses: with `--help` after its flags, the binary (this crate's, which runs both) reads
/// every argument before it and prints the help only if they are all valid.
#[test]
fn documented_commands_parse() {
    let mut checked = 0;
    let mut files = documentation();
    files.extend(["Makefile", ".github/workflows/ci.yml"].map(|name| (name.to_owned(), repo_file(name))));
    for (file, text) in files {
        for (number, line) in text.lines().enumerate() {
            for args in documented_invocations(line) {
                checked += 1;
                // Before a `--`, after which everything is the test binaries' (and valid).
                let flags_end = args.iter().position(|arg| *arg == "--").unwrap_or(args.len());
                let output = Command::new(XTASK)
                    .args(&args[..flags_end])
                    .arg("--help")
                    .args(&args[flags_end..])
                    .output()
                    .unwrap();
                assert!(
                    output.status.success(),
                    "{file}:{}: `cargo xtask|dev {}`: {}",
                    number + 1,
                    args.join(" "),
                    support::text(&output.stderr)
                );
            }
        }
    }
    assert!(checked >= 3, "found only {checked} documented commands; is the pattern still right?");
}

/// The arguments of each `cargo xtask` / `$(CARGO) xtask` (or `dev`) on `line`, up to a closing
/// backtick. Make variables such as `$(ARGS)` are dropped, and placeholders like `<task>` or `…`
/// skip the command.
fn documented_invocations(line: &str) -> Vec<Vec<&str>> {
    let mut found = Vec::new();
    let starts =
        line.match_indices(" xtask").chain(line.match_indices(" dev")).map(|(start, word)| (start, word.len()));
    let mut starts: Vec<(usize, usize)> = starts.collect();
    starts.sort();
    for (start, word) in starts {
        if !(line[..start].ends_with("cargo") || line[..start].ends_with("$(CARGO)")) {
            continue;
        }
        let rest = &line[start + word..];
        // `cargo xtask-ci` is another alias.
        if rest.starts_with(|c: char| c.is_alphanumeric() || c == '-' || c == '_') {
            continue;
        }
        let rest = rest.split('`').next().unwrap_or_default();
        // A shell comment, pipe, redirection or `)` ends the command.
        let rest = rest.split(['#', '|', '>', ';', ')']).next().unwrap_or_default();
        let args: Vec<&str> = rest.split_whitespace().filter(|arg| !arg.starts_with("$(")).collect();
        if !args.iter().any(|arg| arg.contains(['<', '…'])) {
            found.push(args);
        }
    }
    found
}

#[test]
fn invocations_are_read_from_markdown_and_make_lines() {
    assert_eq!(documented_invocations("Run `cargo xtask info --json` now."), [vec!["info", "--json"]]);
    assert_eq!(documented_invocations("\t$(CARGO) xtask info $(ARGS)"), [vec!["info"]]);
    assert_eq!(documented_invocations("`cargo xtask <task> --help`"), Vec::<Vec<&str>>::new());
    assert_eq!(documented_invocations("cargo xtask"), [Vec::<&str>::new()]);
    assert_eq!(documented_invocations("cargo xtask ci   # runs the checks"), [vec!["ci"]]);
    assert_eq!(documented_invocations("source <(cargo xtask info --json)"), [vec!["info", "--json"]]);
    assert_eq!(documented_invocations("cargo xtask info | jq >> out"), [vec!["info"]]);
    assert_eq!(documented_invocations("then `cargo xtask-ci doctor`"), Vec::<Vec<&str>>::new());
    assert_eq!(
        documented_invocations("`cargo dev ci --dry-run`, `cargo xtask info`"),
        [vec!["ci", "--dry-run"], vec!["info"]]
    );
}

/// The Makefile's targets: each is declared `.PHONY`, listed by `make help`, and a one-line recipe.
#[test]
fn makefile_targets_are_phony_listed_and_one_liners() {
    let makefile = repo_file("Makefile");
    let phony: Vec<&str> =
        makefile.lines().filter_map(|line| line.strip_prefix(".PHONY:")).flat_map(str::split_whitespace).collect();
    let mut rules = Vec::new();
    let mut lines = makefile.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((name, _)) = line.split_once(':') else { continue };
        if line.starts_with(['.', '\t', '#']) || name.contains(['=', ' ', '$']) {
            continue;
        }
        let mut recipe = 0;
        while lines.peek().is_some_and(|next| next.starts_with('\t')) {
            if !lines.next().unwrap().trim_start().starts_with("$(info") {
                recipe += 1;
            }
        }
        assert_eq!(recipe, 1, "Makefile target `{name}` must be a one-line recipe");
        rules.push(name);
    }
    assert_eq!(rules, phony, "every rule is .PHONY and the other way round");
    for rule in rules {
        assert!(makefile.contains(&format!("$(info make {rule} ")), "`make help` must list `{rule}`");
    }
}

/// Every task in the xtask's help (its golden file, which the xtask's own tests hold to the
/// binary) has a section in docs/, and the README's table links that page.
#[test]
fn every_task_has_a_documented_section_linked_from_the_readme() {
    let help = repo_file("xtask/test_data/help/overview.txt");
    // The task list: a line each, `  NAME  what it is`, after `Tasks:`.
    let tasks: Vec<&str> = help
        .lines()
        .skip_while(|line| *line != "Tasks:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(tasks.len() > 3, "the help lists no tasks; has its format changed?\n{help}");
    let docs = documentation();
    let readme = repo_file("README.md");
    for task in tasks {
        let heading = format!("### `cargo xtask {task}`");
        let page =
            docs.iter().find(|(name, text)| name.starts_with("docs/") && text.lines().any(|line| line == heading));
        let Some((page, _)) = page else { panic!("docs/ needs a page with the section `{heading}`") };
        assert!(readme.contains(&format!("({page}")), "README.md's table must link {page} for `{task}`");
    }
}

/// CONTRIBUTING.md lists every check `cargo dev ci` runs, as it runs them (programs by name:
/// the private Python environment's path differs between checkouts).
#[test]
fn contributing_lists_every_check_of_ci() {
    let contributing = repo_file("CONTRIBUTING.md");
    let plan = xtask_stdout(&["ci", "--dry-run"]);
    let checks: Vec<&str> =
        plan.lines().skip_while(|line| !line.starts_with("checks")).skip(1).map(str::trim).collect();
    assert!(checks.len() > 3, "{plan}");
    for check in checks {
        let (program, rest) = check.split_once(' ').unwrap_or((check, ""));
        let program = program.rsplit(['/', '\\']).next().unwrap_or(program);
        let check = format!("{program} {rest}");
        assert!(contributing.contains(check.trim()), "CONTRIBUTING.md must list `{check}`");
    }
}
