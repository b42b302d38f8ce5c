//! End-to-end tests of `coverage --changed-since` and `--patch-base`: the built xtask, real git
//! and the real cargo-llvm-cov, in a fixture git repository whose three members form a chain
//! (`core` ← `middle` ← `leaf`); `leaf` also uses `leftpad`, a path package outside the members.

mod support;

use std::{fs, process::Output};

use support::*;

fn describe(output: &Output) -> String {
    format!("{}\nstdout:\n{}\nstderr:\n{}", output.status, text(&output.stdout), text(&output.stderr))
}

fn git(sandbox: &Sandbox, args: &[&str]) {
    require_tool("git", &["--version"], "sudo apt-get install git");
    let output = sandbox
        .command("git", "ws")
        .args(["-c", "user.name=xtask test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .unwrap();
    assert_success(&output, &format!("git {args:?}"));
}

/// The chain, committed with its lock file, and nothing else changed.
fn chain(name: &str) -> Sandbox {
    let sandbox = Sandbox::new(name);
    sandbox.write(
        "ws/Cargo.toml",
        "[workspace]\nresolver = \"3\"\nmembers = [\"core\", \"middle\", \"leaf\"]\nexclude = [\"vendor\"]\n",
    );
    let package = |name: &str, version: &str, deps: &str| {
        format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2024\"\n\n[dependencies]\n{deps}")
    };
    sandbox.write("ws/core/Cargo.toml", &package("core", "0.1.0", ""));
    sandbox.write(
        "ws/core/src/lib.rs",
        "pub fn one() -> u32 {\n    1\n}\n\n#[test]\nfn is_one() {\n    assert_eq!(one(), 1);\n}\n",
    );
    sandbox.write("ws/middle/Cargo.toml", &package("middle", "0.1.0", "core = { path = \"../core\" }\n"));
    sandbox.write("ws/middle/src/lib.rs", "pub fn two() -> u32 {\n    core::one() * 2\n}\n");
    sandbox.write(
        "ws/leaf/Cargo.toml",
        &package("leaf", "0.1.0", "middle = { path = \"../middle\" }\nleftpad = { path = \"../vendor/leftpad\" }\n"),
    );
    sandbox.write("ws/leaf/src/lib.rs", LEAF);
    sandbox.write("ws/vendor/leftpad/Cargo.toml", &package("leftpad", "0.1.0", ""));
    sandbox.write("ws/vendor/leftpad/src/lib.rs", "");
    sandbox.write("ws/README.md", "# The chain\n");
    sandbox.write("ws/.gitignore", "/target\n/lcov.info\n");
    lock(&sandbox);
    git(&sandbox, &["init", "-q", "-b", "main"]);
    git(&sandbox, &["add", "-A"]);
    git(&sandbox, &["commit", "-q", "-m", "the chain"]);
    sandbox
}

const LEAF: &str =
    "pub fn four() -> u32 {\n    middle::two() * 2\n}\n\n#[test]\nfn is_four() {\n    assert_eq!(four(), 4);\n}\n";

/// Brings `Cargo.lock` up to date with the manifests, as any cargo command would.
fn lock(sandbox: &Sandbox) {
    let output = sandbox.command(cargo(), "ws").args(["generate-lockfile", "--offline"]).output().unwrap();
    assert_success(&output, "cargo generate-lockfile");
}

fn xtask(sandbox: &Sandbox, args: &[&str]) -> Output {
    require_tool(&cargo(), &["llvm-cov", "--version"], "cargo install cargo-llvm-cov --locked");
    sandbox.command(XTASK, "ws").arg("coverage").args(args).env_remove("CI").env_remove("BROWSER").output().unwrap()
}

/// The `-p` list of the test run that `--dry-run` shows.
fn measured(output: &Output) -> Vec<String> {
    let stdout = text(&output.stdout);
    let test_run = stdout.lines().find(|line| line.contains("llvm-cov --no-fail-fast")).unwrap_or_default();
    let words: Vec<&str> = test_run.split_whitespace().collect();
    words.windows(2).filter(|pair| pair[0] == "-p").map(|pair| pair[1].to_owned()).collect()
}

#[test]
fn a_leaf_change_measures_the_leaf_alone_and_a_core_change_every_dependent() {
    let sandbox = chain("changes-chain");
    sandbox.write("ws/leaf/src/lib.rs", &LEAF.replace("* 2", "+ 2"));
    let output = xtask(&sandbox, &["--changed-since", "main", "--dry-run"]);
    assert_success(&output, "--changed-since after a leaf edit");
    assert_eq!(measured(&output), ["leaf"], "{}", describe(&output));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("coverage measures `leaf`: src/lib.rs changed"), "{stderr}");
    assert!(stderr.contains("coverage leaves out `core`: the change does not reach it"), "{stderr}");
    // Narrowed by -p, the affected member that is not named is said.
    let output = xtask(&sandbox, &["--changed-since", "main", "-p", "core", "--dry-run"]);
    assert!(text(&output.stdout).contains("nothing to measure"), "{}", describe(&output));
    assert!(
        text(&output.stderr).contains("`leaf` is affected (src/lib.rs changed) but not selected"),
        "{}",
        describe(&output)
    );

    // Staged and untracked files count, and a change at the bottom reaches both dependents.
    git(&sandbox, &["add", "leaf/src/lib.rs"]);
    sandbox.write("ws/core/src/extra.rs", "// not yet in git\n");
    let output = xtask(&sandbox, &["--changed-since", "main", "--dry-run"]);
    assert_success(&output, "--changed-since after a core addition");
    assert_eq!(measured(&output), ["core", "leaf", "middle"], "{}", describe(&output));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("coverage measures `core`: src/extra.rs changed"), "{stderr}");
    assert!(stderr.contains("coverage measures `middle`: depends on core"), "{stderr}");
    assert!(stderr.contains("coverage measures `leaf`: src/lib.rs changed"), "{stderr}");
}

#[test]
fn a_docs_change_measures_nothing_and_succeeds() {
    let sandbox = chain("changes-docs");
    sandbox.write("ws/README.md", "# The chain, documented\n");
    sandbox.write("ws/docs/guide.md", "More.\n");
    let output = xtask(&sandbox, &["--changed-since", "main"]);
    assert_success(&output, "--changed-since after a docs change");
    assert!(text(&output.stdout).contains("nothing to measure"), "{}", describe(&output));
    assert!(text(&output.stderr).contains("2 changed files, 2 outside every member"), "{}", describe(&output));
    assert!(!sandbox.path("ws/target/llvm-cov-target").exists(), "no test ran");

    // The root manifest changes every member's build.
    let manifest = fs::read_to_string(sandbox.path("ws/Cargo.toml")).unwrap();
    sandbox.write("ws/Cargo.toml", &format!("{manifest}\n[workspace.package]\nlicense = \"MIT\"\n"));
    let output = xtask(&sandbox, &["--changed-since", "main", "--dry-run"]);
    assert_eq!(measured(&output), ["core", "leaf", "middle"], "{}", describe(&output));
    assert!(text(&output.stderr).contains("`Cargo.toml` changed, which affects every member"), "{}", describe(&output));
}

#[test]
fn a_workspace_without_a_lock_file_is_read_without_writing_one() {
    let sandbox = chain("changes-no-lock");
    git(&sandbox, &["rm", "-q", "--cached", "Cargo.lock"]);
    fs::remove_file(sandbox.path("ws/Cargo.lock")).unwrap();
    git(&sandbox, &["commit", "-q", "-m", "no lock file"]);
    let output = xtask(&sandbox, &["--changed-since", "main", "--dry-run"]);
    assert_success(&output, "--changed-since without a lock file");
    assert!(text(&output.stdout).contains("nothing to measure"), "{}", describe(&output));
    assert!(text(&output.stderr).contains("0 changed files"), "{}", describe(&output));
    assert!(!sandbox.path("ws/Cargo.lock").exists(), "reading the workspace wrote Cargo.lock");
    let info = sandbox.command(XTASK, "ws").arg("info").output().unwrap();
    assert_success(&info, "info");
    assert!(!sandbox.path("ws/Cargo.lock").exists(), "info wrote Cargo.lock");
}

#[cfg(unix)]
#[test]
fn file_names_with_spaces_quotes_newlines_and_bytes_that_are_not_utf8_are_followed() {
    use std::os::unix::ffi::OsStrExt;
    let sandbox = chain("changes-odd-names");
    let names: [&[u8]; 4] = [b"leaf/sp ace.txt", b"leaf/quo\"te.txt", b"leaf/new\nline.txt", b"leaf/caf\xe9.txt"];
    let path = |name: &[u8]| sandbox.path("ws").join(std::ffi::OsStr::from_bytes(name));
    for name in names {
        fs::write(path(name), "one\n").unwrap();
    }
    git(&sandbox, &["add", "-A"]);
    git(&sandbox, &["commit", "-q", "-m", "odd names"]);
    for name in names {
        fs::write(path(name), "two\n").unwrap();
    }
    for flag in ["--changed-since", "--patch-base"] {
        let output = xtask(&sandbox, &[flag, "main", "--dry-run"]);
        assert_success(&output, &format!("{flag} over odd file names"));
        if flag == "--changed-since" {
            assert_eq!(measured(&output), ["leaf"], "{}", describe(&output));
            assert!(text(&output.stderr).contains("4 changed files, 0 outside every member"), "{}", describe(&output));
        }
    }
}

#[test]
fn a_lock_file_change_measures_the_members_that_resolve_the_package() {
    let sandbox = chain("changes-lock");
    let manifest = fs::read_to_string(sandbox.path("ws/vendor/leftpad/Cargo.toml")).unwrap();
    sandbox.write("ws/vendor/leftpad/Cargo.toml", &manifest.replace("0.1.0", "0.2.0"));
    lock(&sandbox);
    let output = xtask(&sandbox, &["--changed-since", "main", "--dry-run"]);
    assert_success(&output, "--changed-since after a lock change");
    assert_eq!(measured(&output), ["leaf"], "{}", describe(&output));
    assert!(
        text(&output.stderr).contains("coverage measures `leaf`: Cargo.lock: `leftpad` changed"),
        "{}",
        describe(&output)
    );
}

#[test]
fn unknown_refs_and_directories_outside_git_are_clear_errors() {
    let sandbox = chain("changes-errors");
    let output = xtask(&sandbox, &["--changed-since", "no-such-branch", "--dry-run"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        text(&output.stderr).contains("unknown git ref `no-such-branch` in --changed-since"),
        "{}",
        describe(&output)
    );
    // A ref that git would read as an option is only ever a name.
    for flag in ["--changed-since", "--patch-base"] {
        let output = xtask(&sandbox, &[flag, "--output=pwned", "--dry-run"]);
        assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
        assert!(
            text(&output.stderr).contains(&format!("unknown git ref `--output=pwned` in {flag}")),
            "{}",
            describe(&output)
        );
        assert!(!sandbox.path("ws/pwned").exists(), "git took the ref as its --output option");
    }
    fs::remove_dir_all(sandbox.path("ws/.git")).unwrap();
    let output = xtask(&sandbox, &["--patch-base", "main", "--dry-run"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(text(&output.stderr).contains("--patch-base needs a git checkout"), "{}", describe(&output));
    let output = xtask(&sandbox, &["--fail-under-patch", "80"]);
    assert_eq!(output.status.code(), Some(2), "a usage error: {}", describe(&output));
}

/// `leaf` with one tested and one untested function added after `four`.
const ADDED: &str = "\npub fn tested(x: u32) -> u32 {\n    x + 1\n}\n\npub fn untested(x: u32) -> u32 {\n    x * 3\n}\n\n\
                     #[test]\nfn tested_adds_one() {\n    assert_eq!(tested(1), 2);\n}\n";

#[test]
fn patch_coverage_counts_the_changed_executable_lines_and_lists_the_missed_ones() {
    let sandbox = chain("changes-patch");
    // Settings of the user's that change what `git diff` prints must not change what is read.
    for (key, value) in [("diff.noprefix", "true"), ("diff.mnemonicPrefix", "true"), ("diff.relative", "true")] {
        git(&sandbox, &["config", key, value]);
    }
    sandbox.write("ws/leaf/src/lib.rs", &format!("{LEAF}{ADDED}"));
    let output = xtask(&sandbox, &["--mode", "lcov", "--patch-base", "main", "--changed-since", "main"]);
    assert_success(&output, "patch coverage");
    let stdout = text(&output.stdout);
    // What llvm-cov counts in the added lines: `tested` and its test ran, `untested` did not.
    let lcov = fs::read_to_string(sandbox.path("ws/lcov.info")).unwrap();
    let first_added = LEAF.lines().count() as u32 + 1;
    let (mut covered, mut missed) = (Vec::new(), Vec::new());
    let leaf_records = lcov.split("end_of_record").find(|record| record.contains("leaf/src/lib.rs")).unwrap();
    for line in leaf_records.lines().filter_map(|line| line.strip_prefix("DA:")) {
        let (number, count) = line.split_once(',').unwrap();
        let number: u32 = number.parse().unwrap();
        if number >= first_added {
            if count.starts_with('0') { missed.push(number) } else { covered.push(number) }
        }
    }
    let untested = LEAF.lines().count() as u32 + 6;
    assert_eq!(missed, [untested, untested + 1, untested + 2], "llvm-cov counts `untested`'s three lines:\n{lcov}");
    let executable = covered.len() + missed.len();
    assert!(
        stdout.contains(&format!(
            "patch coverage since main: {} of {executable} changed executable lines covered ({:.2}%)",
            covered.len(),
            covered.len() as f64 * 100.0 / executable as f64
        )),
        "{}",
        describe(&output)
    );
    assert!(stdout.contains(&format!("not covered: leaf/src/lib.rs: {untested}-{}", untested + 2)), "{stdout}");

    // Above the share: exit 1, the figure named, the reports still written; --json has it.
    fs::remove_file(sandbox.path("ws/lcov.info")).unwrap();
    let output = xtask(
        &sandbox,
        &["--mode", "lcov", "-p", "leaf", "--patch-base", "main", "--fail-under-patch", "90", "--json"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(text(&output.stderr).contains("is under the minimum 90%"), "{}", describe(&output));
    assert!(sandbox.path("ws/lcov.info").is_file(), "the reports are written before the check");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("stdout is one JSON document");
    assert_eq!(json["patch"]["covered_lines"], covered.len());
    assert_eq!(json["patch"]["uncovered"][0]["file"], "leaf/src/lib.rs");
    assert_eq!(json["patch"]["uncovered"][0]["lines"][0], serde_json::json!([untested, untested + 2]));
    assert_eq!(json["crates"][0]["name"], "leaf");

    // Without --mode lcov the patch reads a report of its own; the user's files stay as asked.
    let output = xtask(&sandbox, &["--mode", "text", "-p", "leaf", "--patch-base", "main"]);
    assert_success(&output, "patch coverage with text only");
    assert!(text(&output.stdout).contains("not covered: leaf/src/lib.rs"), "{}", describe(&output));
}

#[test]
fn renames_and_deletions_count_on_both_sides_and_a_submodule_holding_members_reaches_them() {
    let sandbox = chain("changes-moves");
    sandbox.write("ws/core/src/old.rs", "// to be deleted\n");
    sandbox.write("ws/middle/src/moving.rs", "// to be moved into leaf\n");
    git(&sandbox, &["add", "-A"]);
    git(&sandbox, &["commit", "-q", "-m", "two more files"]);
    git(&sandbox, &["rm", "-q", "core/src/old.rs"]);
    let output = xtask(&sandbox, &["--changed-since", "HEAD", "--dry-run"]);
    assert_eq!(measured(&output), ["core", "leaf", "middle"], "a deletion: {}", describe(&output));
    assert!(text(&output.stderr).contains("coverage measures `core`: src/old.rs changed"), "{}", describe(&output));
    git(&sandbox, &["reset", "-q", "--hard"]);
    git(&sandbox, &["mv", "middle/src/moving.rs", "leaf/src/moved.rs"]);
    let output = xtask(&sandbox, &["--changed-since", "HEAD", "--dry-run"]);
    assert_eq!(
        measured(&output),
        ["leaf", "middle"],
        "a rename counts where it left and arrived: {}",
        describe(&output)
    );
    git(&sandbox, &["reset", "-q", "--hard"]);

    // A member inside a submodule, which the superproject sees as one changed path.
    let third = Sandbox { dir: sandbox.path("third-src") };
    third.write("gadget/Cargo.toml", "[package]\nname = \"gadget\"\nversion = \"0.1.0\"\nedition = \"2024\"\n");
    third.write("gadget/src/lib.rs", "pub fn gadget() -> u8 {\n    1\n}\n");
    let in_third = |args: &[&str]| {
        let output = sandbox
            .command("git", "third-src")
            .args(["-c", "user.name=xtask test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"])
            .args(args)
            .output()
            .unwrap();
        assert_success(&output, &format!("git {args:?} in the submodule's source"));
    };
    in_third(&["init", "-q", "-b", "main"]);
    in_third(&["add", "-A"]);
    in_third(&["commit", "-q", "-m", "gadget"]);
    git(&sandbox, &["-c", "protocol.file.allow=always", "submodule", "add", "-q", "../third-src", "third"]);
    let manifest = read(&sandbox.path("ws/Cargo.toml")).replace("\"leaf\"]", "\"leaf\", \"third/gadget\"]");
    sandbox.write("ws/Cargo.toml", &manifest);
    lock(&sandbox);
    // A .gitmodules that hides the submodule's changes from `git diff` hides nothing here.
    git(&sandbox, &["config", "-f", ".gitmodules", "submodule.third.ignore", "all"]);
    git(&sandbox, &["add", "-A"]);
    git(&sandbox, &["commit", "-q", "-m", "a member in a submodule"]);
    sandbox.write("ws/third/gadget/src/lib.rs", "pub fn gadget() -> u8 {\n    2\n}\n");
    let output = xtask(&sandbox, &["--changed-since", "HEAD", "--dry-run"]);
    assert_eq!(measured(&output), ["gadget"], "an edit inside the submodule: {}", describe(&output));
    assert!(
        text(&output.stderr).contains("coverage measures `gadget`: third changed (a submodule that holds it)"),
        "{}",
        describe(&output)
    );
}

#[test]
fn a_shallow_clone_without_the_base_commit_says_how_to_fetch_it() {
    let sandbox = chain("changes-shallow");
    sandbox.write("ws/leaf/src/lib.rs", &LEAF.replace("* 2", "+ 2"));
    git(&sandbox, &["commit", "-q", "-am", "a second commit"]);
    let origin = format!("file://{}", sandbox.path("ws").display());
    let output =
        sandbox.command("git", ".").args(["clone", "-q", "--depth", "1", &origin, "shallow"]).output().unwrap();
    assert_success(&output, "git clone --depth 1");
    let output = sandbox
        .command(XTASK, "shallow")
        .args(["coverage", "--changed-since", "HEAD~1", "--dry-run"])
        .env_remove("CI")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("unknown git ref `HEAD~1` in --changed-since"), "{stderr}");
    assert!(stderr.contains("a shallow clone") && stderr.contains("git fetch --deepen="), "{stderr}");
}
