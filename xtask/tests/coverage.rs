//! End-to-end tests of `cargo xtask coverage` and `coverage-fast`: the built xtask with the real
//! cargo-llvm-cov (and sccache where said) on the tiny fixture workspace from
//! `Sandbox::coverage_workspace`.

mod support;

use std::{
    fs,
    path::Path,
    process::{Command, Output},
};

use support::*;

fn describe(output: &Output) -> String {
    format!("{}\nstdout:\n{}\nstderr:\n{}", output.status, text(&output.stdout), text(&output.stderr))
}

#[test]
fn all_formats_come_from_one_test_run_with_the_wrapper_kept() {
    let sandbox = Sandbox::new("cov-formats");
    sandbox.coverage_workspace("");
    let wrapper = sandbox.recorder("bin", "rustc-wrapper");
    let browser = sandbox.recorder("bin", "browser");
    let output = coverage_xtask(&sandbox)
        .args(["coverage", "-p", "calc,app", "--mode", "lcov", "--mode", "open", "--mode", "text"])
        .args(["--mode", "json", "--mode", "cobertura", "--mode", "codecov"])
        .env("RUSTC_WRAPPER", &wrapper)
        .env("DISPLAY", ":0")
        .env("BROWSER", &browser)
        // What `cargo run` gives the xtask; its children must not see it.
        .env("CARGO_PKG_NAME", "injected-by-the-test")
        .env("CARGO_MANIFEST_DIR", "injected-by-the-test")
        .output()
        .unwrap();
    assert_success(&output, "xtask coverage with six modes");
    let stdout = text(&output.stdout);

    let runs = fs::read_to_string(sandbox.path("ws/test-runs.log")).unwrap();
    assert_eq!(runs.lines().count(), 1, "the tests must run once for all formats:\n{runs}");

    let ws = fs::canonicalize(sandbox.path("ws")).unwrap();
    for written in [
        ws.join("lcov.info"),
        ws.join("target/llvm-cov/html/index.html"),
        ws.join("target/llvm-cov/text/index.txt"),
        ws.join("target/llvm-cov/coverage.json"),
        ws.join("target/llvm-cov/cobertura.xml"),
        ws.join("target/llvm-cov/codecov.json"),
    ] {
        assert!(written.is_file(), "{} is missing:\n{}", written.display(), describe(&output));
        assert!(stdout.contains(&format!("wrote {}\n", written.display())), "{stdout}");
    }
    let lcov = fs::read_to_string(ws.join("lcov.info")).unwrap();
    assert!(lcov.contains(&format!("SF:{}", ws.join("calc/src/lib.rs").display())), "{lcov}");

    assert_eq!(row(&stdout, "calc").as_deref(), Some(&CALC_ROW[..]), "{stdout}");
    assert!(row(&stdout, "app").is_some(), "{stdout}");
    assert!(row(&stdout, "total").is_some(), "{stdout}");
    assert!(row(&stdout, "bindings").is_none(), "only -p calc,app are measured:\n{stdout}");
    // `text` also prints llvm-cov's per-file table.
    assert!(stdout.contains("calc/src/lib.rs"), "{stdout}");

    let compilations = records(&sandbox.path("bin/rustc-wrapper.log"));
    assert!(
        compilations.iter().any(|run| run.args.iter().any(|arg| arg.contains("instrument-coverage"))),
        "cargo-llvm-cov must chain the existing wrapper for instrumented crates: {} runs",
        compilations.len()
    );
    for run in &compilations {
        // Incremental stays as cargo has it, as in a plain cargo-llvm-cov run: the figures depend on it.
        assert_eq!(run.var("CARGO_INCREMENTAL"), None, "{:?}", run.args);
        let leaked: Vec<&(String, String)> =
            run.env.iter().filter(|(_, value)| value == "injected-by-the-test").collect();
        assert!(leaked.is_empty(), "a child saw the xtask's own variables {leaked:?} in {:?}", run.args);
    }

    let page = ws.join("target/llvm-cov/html/index.html");
    let opened = wait_for_records(&sandbox.path("bin/browser.log"));
    assert_eq!(opened[0].args, [page.to_str().unwrap()]);
}

/// The browser is started, not waited for: give it a moment to write its log.
fn wait_for_records(log: &Path) -> Vec<Record> {
    for _ in 0..100 {
        let found = records(log);
        if !found.is_empty() {
            return found;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{} was never written", log.display());
}

/// Another project's coverage run left profiles, objects of a crate also named `calc`, and an
/// HTML report in the shared target directory. Our figures are exactly those of a clean run,
/// and nothing of the other project is deleted.
#[test]
fn a_shared_target_dir_with_another_projects_leftovers_does_not_change_our_numbers() {
    let sandbox = Sandbox::new("cov-shared");
    sandbox.coverage_workspace("");
    sandbox.write("other/Cargo.toml", "[package]\nname = \"calc\"\nversion = \"0.2.0\"\nedition = \"2024\"\n");
    sandbox.write(
        "other/src/lib.rs",
        "pub fn add(a: i64, b: i64) -> i64 {\n    a - b\n}\n\n#[test]\nfn subtracts() {\n    assert_eq!(add(3, 2), 1);\n}\n",
    );
    let shared = sandbox.path("shared-target");
    let mut other = sandbox.command(cargo(), "other");
    let output = other.args(["llvm-cov", "--no-report"]).env("CARGO_TARGET_DIR", &shared).output().unwrap();
    assert_success(&output, "cargo llvm-cov --no-report in the other project");
    let files_ending = |dir: &Path, extension: &str| {
        fs::read_dir(dir).map_or(0, |entries| {
            entries
                .filter(|entry| entry.as_ref().unwrap().path().extension().is_some_and(|ext| ext == extension))
                .count()
        })
    };
    let profiles = |dir: &Path| files_ending(dir, "profraw");
    let others_profiles = profiles(&shared.join("llvm-cov-target"));
    assert!(others_profiles > 0, "the other project left no profiles");
    sandbox.write("shared-target/llvm-cov/html/index.html", "the other project's report");

    let output = coverage_xtask(&sandbox)
        .args(["coverage", "--mode", "lcov", "-p", "calc"])
        .env("CARGO_TARGET_DIR", &shared)
        .output()
        .unwrap();
    assert_success(&output, "xtask coverage with a shared CARGO_TARGET_DIR");
    let stdout = text(&output.stdout);
    assert_eq!(row(&stdout, "calc").as_deref(), Some(&CALC_ROW[..]), "{stdout}");
    assert!(sandbox.path("ws/lcov.info").is_file());
    // Our raw profiles are merged and removed once the tests ran; the merged file stays.
    let merged = files_ending(&sandbox.path("ws/target/llvm-cov-target"), "profdata");
    assert_eq!(merged, 1, "coverage must build and merge its profiles in the workspace");
    assert_eq!(profiles(&shared.join("llvm-cov-target")), others_profiles, "the other project's profiles were touched");
    assert_eq!(
        fs::read_to_string(shared.join("llvm-cov/html/index.html")).unwrap(),
        "the other project's report",
        "the other project's report was touched"
    );
}

#[test]
fn coverage_fast_leaves_out_python_crates_and_fast_exclude_and_says_why() {
    let sandbox = Sandbox::new("cov-fast");
    sandbox.coverage_workspace("");
    let wrapper = sandbox.recorder("bin", "rustc-wrapper");
    let output = coverage_xtask(&sandbox)
        .args(["coverage-fast", "--mode", "lcov", "--no-sccache"])
        .env("RUSTC_WRAPPER", &wrapper)
        .output()
        .unwrap();
    assert_success(&output, "xtask coverage-fast --no-sccache");
    let stderr = text(&output.stderr);
    for (name, why) in [
        ("bindings", "depends on pyo3 (directly or through other crates)"),
        ("pyuser", "depends on pyo3 (directly or through other crates)"),
        ("slow", "listed in `fast-exclude`"),
    ] {
        let line = stderr.lines().find(|line| line.contains(&format!("leaves out `{name}`"))).unwrap_or_default();
        assert!(line.contains(why), "coverage-fast must say it left out {name} because it {why}:\n{stderr}");
    }
    let stdout = text(&output.stdout);
    assert_eq!(row(&stdout, "calc").as_deref(), Some(&CALC_ROW[..]), "{stdout}");
    assert!(row(&stdout, "app").is_some(), "{stdout}");
    for skipped in ["bindings", "pyuser", "slow"] {
        assert!(row(&stdout, skipped).is_none(), "{skipped} must not be measured:\n{stdout}");
    }
    // Only the xtask's own `cargo metadata` may call the wrapper: the coverage run has it off.
    let under_coverage = records(&sandbox.path("bin/rustc-wrapper.log"))
        .into_iter()
        .filter(|run| run.var("CARGO_LLVM_COV").is_some())
        .count();
    assert_eq!(under_coverage, 0, "--no-sccache must switch the wrapper off for the coverage run");
}

#[test]
fn a_failing_test_still_gives_the_report_and_exit_1() {
    let sandbox = Sandbox::new("cov-failing");
    sandbox.coverage_workspace("");
    let output = coverage_xtask(&sandbox)
        .args(["coverage", "--mode", "lcov", "-p", "calc,app"])
        .env("FIXTURE_FAIL", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("fails_when_asked"), "cargo's test output must show the failure:\n{stderr}");
    assert!(stderr.contains("error: tests failed, so the coverage figures are partial"), "{stderr}");
    assert!(sandbox.path("ws/lcov.info").is_file(), "the report must still be written");
    // calc's tests passed and count in full.
    assert_eq!(row(&text(&output.stdout), "calc").as_deref(), Some(&CALC_ROW[..]));
}

#[test]
fn thresholds_from_flags_and_workspace_metadata_name_each_shortfall() {
    let sandbox = Sandbox::new("cov-gates");
    sandbox.coverage_workspace(
        "fail-under-functions = 10\n\n[workspace.metadata.xtask.coverage.crates]\n\
         calc = { fail-under-lines = 100, fail-under-functions = 50 }\napp = { fail-under-lines = 100 }\n",
    );
    let step_summary = sandbox.path("step-summary.md");
    let output = coverage_xtask(&sandbox)
        .args(["coverage", "--mode", "lcov", "-p", "calc,app", "--fail-under-regions", "99.5"])
        .env("GITHUB_STEP_SUMMARY", &step_summary)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("total: regions coverage 85.71% (30/35) is below the minimum 99.5%"), "{stderr}");
    assert!(stderr.contains("crate `calc`: lines coverage 75.00% (9/12) is below the minimum 100%"), "{stderr}");
    // Met minimums are not reported: app's lines, calc's functions, the total functions.
    assert_eq!(stderr.matches("is below the minimum").count(), 2, "{stderr}");
    assert!(sandbox.path("ws/lcov.info").is_file(), "the report must still be written");
    let markdown = fs::read_to_string(&step_summary).unwrap();
    assert!(markdown.contains("| `calc` | 9/12 75.00% | 2/3 66.67% | 17/22 77.27% |"), "{markdown}");
    assert!(markdown.contains("**Failed:** crate `calc`: lines coverage"), "{markdown}");
}

#[test]
fn pyo3_crates_get_pythons_library_on_the_loader_path() {
    let sandbox = Sandbox::new("cov-python");
    sandbox.coverage_workspace("");
    // Without these, Python's directory can only reach the test binary through the xtask (on
    // Windows it is PATH, which cannot be emptied).
    let output = coverage_xtask(&sandbox)
        .args(["coverage", "--mode", "lcov", "-p", "bindings"])
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("DYLD_FALLBACK_LIBRARY_PATH")
        .output()
        .unwrap();
    assert_success(&output, "xtask coverage -p bindings");
    let python = Command::new(if cfg!(windows) { "python" } else { "python3" })
        .args(["-c", "import sys, sysconfig; print(sys.base_prefix if sys.platform == 'win32' else sysconfig.get_config_var('LIBDIR'))"])
        .output()
        .expect("Python 3 is needed by this test (see `cargo xtask info` for how to install it)");
    let library_dir = text(&python.stdout).trim().to_owned();
    let loader_path = fs::read_to_string(sandbox.path("ws/loader-path.txt")).unwrap();
    // cargo puts its own directories in front; Python's must be there.
    assert!(
        std::env::split_paths(&loader_path).any(|dir| dir == Path::new(&library_dir)),
        "the test binary must find Python's library ({library_dir}) in its loader path {loader_path:?}"
    );
    assert!(text(&output.stderr).contains(&format!("pyo3 crates: tests load Python's library from {library_dir}")));
}

#[test]
fn bad_selections_and_flag_mixes_are_usage_errors_before_any_build() {
    let sandbox = Sandbox::new("cov-usage");
    sandbox.coverage_workspace("");
    for (args, message) in [
        (
            &["coverage", "-p", "calc,nope"][..],
            "unknown package `nope` in --package; the members are: app, bindings, calc, pyuser, slow",
        ),
        (&["coverage-fast", "--exclude", "gone"], "unknown package `gone` in --exclude"),
        (&["coverage-fast", "-p", "bindings"], "nothing left to measure"),
        (&["coverage", "--doctests", "--nextest"], "--doctests does not work with --nextest"),
        (&["coverage", "--mode", "pdf"], "invalid mode `pdf`: use open, html, lcov"),
    ] {
        let output = coverage_xtask(&sandbox).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "xtask {args:?}: {}", describe(&output));
        assert!(text(&output.stderr).contains(message), "xtask {args:?}: {}", describe(&output));
    }
    assert!(!sandbox.path("ws/target").exists(), "nothing may be built");
}

#[test]
fn missing_cargo_llvm_cov_names_the_install_command() {
    let sandbox = Sandbox::new("cov-missing");
    sandbox.coverage_workspace("");
    // Only the sandbox on PATH (cargo is $CARGO, rustc named directly): no cargo-llvm-cov anywhere.
    let output = coverage_xtask(&sandbox)
        .args(["coverage", "--mode", "lcov"])
        .env("PATH", sandbox.path("home"))
        .env("RUSTC", toolchain_rustc())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("`cargo-llvm-cov` was not found"), "{stderr}");
    assert!(stderr.contains("Install it with: cargo install cargo-llvm-cov --locked"), "{stderr}");
}

#[test]
fn clean_removes_only_what_a_coverage_run_wrote_and_names_the_rest() {
    let sandbox = Sandbox::new("cov-clean");
    sandbox.coverage_workspace("");
    let ws = fs::canonicalize(sandbox.path("ws")).unwrap();
    // Files where reports and the coverage build go, which no coverage run wrote.
    let theirs = ["ws/html/mine.html", "ws/text/notes.txt", "ws/lcov.info", "ws/target/llvm-cov-target/debug/old"];
    for file in theirs.iter().chain(&["ws/target/debug/keep"]) {
        sandbox.write(file, "theirs");
    }
    let runs: &[&[&str]] = &[
        &["coverage", "--clean-only", "--output-dir", "."],
        &["coverage", "--clean-only"],
        &["coverage-fast", "--clean-only", "--dry-run"],
    ];
    for args in runs {
        let output = coverage_xtask(&sandbox).args(*args).output().unwrap();
        assert_success(&output, &format!("xtask {args:?}"));
        let stderr = text(&output.stderr);
        for file in theirs.iter().chain(&["ws/target/debug/keep"]) {
            assert_eq!(fs::read_to_string(sandbox.path(file)).unwrap(), "theirs", "{args:?} touched {file}: {stderr}");
        }
        assert!(stderr.contains("llvm-cov-target: it has no CACHEDIR.TAG"), "{args:?}: {stderr}");
        assert!(stderr.contains(&format!("leaving {}: no coverage run", ws.join("lcov.info").display())), "{stderr}");
        if args.contains(&"--output-dir") {
            for dir in ["html", "text"] {
                let shown = format!("leaving {}: no coverage run of this xtask wrote it", ws.join(dir).display());
                assert!(stderr.contains(&shown), "{args:?}: {stderr}");
            }
        }
    }

    // A real run, into a fresh coverage build: what it writes is recorded, and goes.
    fs::remove_file(sandbox.path("ws/lcov.info")).unwrap();
    fs::remove_dir_all(sandbox.path("ws/target/llvm-cov-target")).unwrap();
    let output =
        coverage_xtask(&sandbox).args(["coverage", "-p", "calc", "--mode", "lcov", "--mode", "html"]).output().unwrap();
    assert_success(&output, "xtask coverage --mode lcov --mode html");
    let ours = [ws.join("lcov.info"), ws.join("target/llvm-cov/html")];
    let output = coverage_xtask(&sandbox).args(["coverage", "--clean-only", "--dry-run"]).output().unwrap();
    assert_success(&output, "xtask coverage --clean-only --dry-run");
    for path in &ours {
        assert!(text(&output.stdout).contains(&format!("would remove {}\n", path.display())), "{}", describe(&output));
        assert!(path.exists(), "--dry-run removed {}", path.display());
    }
    let cov_target = ws.join("target/llvm-cov-target");
    assert!(
        text(&output.stdout).contains(&format!("would remove {} (", cov_target.display())),
        "{}",
        describe(&output)
    );

    let output = coverage_xtask(&sandbox).args(["coverage-fast", "--clean-only"]).output().unwrap();
    assert_success(&output, "xtask coverage-fast --clean-only");
    for path in &ours {
        assert!(text(&output.stderr).contains(&format!("removing {}\n", path.display())), "{}", describe(&output));
        assert!(!path.exists(), "{} is still there", path.display());
    }
    let left: Vec<_> = fs::read_dir(&cov_target).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert_eq!(left, ["CACHEDIR.TAG"], "the coverage build is emptied, its tag kept");
    for file in ["ws/html/mine.html", "ws/text/notes.txt", "ws/target/debug/keep"] {
        assert_eq!(fs::read_to_string(sandbox.path(file)).unwrap(), "theirs", "{file}");
    }
}

/// sccache in the chain changes nothing in the report. The fixture's crates are all local, which
/// cargo compiles incrementally, so sccache passes them through (it caches dependencies from a
/// registry); with the user's own `CARGO_INCREMENTAL=0` it caches them too, after a note that the
/// figures then are not a default build's: after `--clean` (an empty coverage build directory)
/// the libraries come from the cache.
#[test]
fn the_report_is_the_same_with_and_without_sccache_which_caches_what_it_can() {
    let sandbox = Sandbox::new("cov-sccache");
    sandbox.coverage_workspace("");
    let sccache = Sccache::new(&sandbox);
    let coverage = |extra: &[&str], vars: &[(&str, &str)]| {
        let mut cmd = coverage_xtask(&sandbox);
        sccache.configure(&mut cmd).args(["coverage", "--mode", "lcov", "-p", "calc,app"]).args(extra);
        let output = cmd.envs(vars.iter().copied()).output().unwrap();
        assert_success(&output, &format!("xtask coverage {extra:?} {vars:?} with sccache as the wrapper"));
        (fs::read_to_string(sandbox.path("ws/lcov.info")).unwrap(), text(&output.stderr))
    };
    let counts = |stats: &serde_json::Value, field: &str| stats["stats"][field]["counts"]["Rust"].as_u64().unwrap_or(0);

    let (with_sccache, _) = coverage(&[], &[]);
    let stats = sccache.stats();
    assert!(stats["stats"]["compile_requests"].as_u64().unwrap() > 0, "sccache saw no compilation: {stats}");
    assert!(stats["stats"]["not_cached"]["incremental"].as_u64().unwrap_or(0) > 0, "{stats}");
    let (without_sccache, _) = coverage(&["--no-sccache"], &[]);
    assert_eq!(with_sccache, without_sccache, "the lcov report differs with sccache");

    let (_, stderr) = coverage(&["--clean"], &[("CARGO_INCREMENTAL", "0")]);
    assert!(stderr.contains("note: CARGO_INCREMENTAL=0 turns incremental compilation off"), "{stderr}");
    assert!(counts(&sccache.stats(), "cache_misses") > 0, "sccache compiled nothing: {}", sccache.stats());
    let hits_before = counts(&sccache.stats(), "cache_hits");
    coverage(&["--clean"], &[("CARGO_INCREMENTAL", "0")]);
    let stats = sccache.stats();
    assert!(counts(&stats, "cache_hits") > hits_before, "a fresh coverage build must hit the cache: {stats}");
}

/// A coverage run right after a normal `cargo test` reuses the dependencies that build cached:
/// their compilations get the user's values of the run's own `CARGO_*` variables (its target
/// directories, cargo-llvm-cov's `CARGO_LLVM_COV`), which sccache would otherwise hash into their
/// keys. The measured crate is compiled as before, so the report is the same as without sccache.
#[test]
fn coverage_after_a_test_build_reuses_its_dependencies_and_reports_the_same() {
    let sandbox = Sandbox::new("cov-after-test");
    sandbox.write("ws/Cargo.toml", "[workspace]\nresolver = \"3\"\nmembers = [\"calc\"]\n");
    sandbox.write("ws/calc/Cargo.toml", &manifest("calc", "helper = { path = \"../../deps/helper\" }\n"));
    sandbox.write(
        "ws/calc/src/lib.rs",
        "pub fn add(a: u32, b: u32) -> u32 {\n    helper::id(a) + b\n}\n\n#[test]\nfn adds() {\n    assert_eq!(add(1, 2), 3);\n}\n",
    );
    // A path package outside the workspace: built like a registry one, and not instrumented.
    sandbox.write("deps/helper/Cargo.toml", &manifest("helper", ""));
    sandbox.write("deps/helper/src/lib.rs", "pub fn id(x: u32) -> u32 {\n    x\n}\n");
    let sccache = Sccache::new(&sandbox);
    let hits = || sccache.stats()["stats"]["cache_hits"]["counts"]["Rust"].as_u64().unwrap_or(0);
    // Incremental off: cargo compiles path packages incrementally, which sccache cannot cache.
    let test = sccache
        .configure(&mut sandbox.users_command(cargo(), "ws"))
        .args(["test", "--quiet"])
        .env("CARGO_INCREMENTAL", "0")
        .output()
        .unwrap();
    assert_success(&test, "cargo test through sccache");
    let before = hits();
    let coverage = |extra: &[&str]| {
        let mut cmd = coverage_xtask(&sandbox);
        sccache.configure(&mut cmd).args(["coverage", "--mode", "lcov"]).args(extra).env("CARGO_INCREMENTAL", "0");
        let output = cmd.output().unwrap();
        assert_success(&output, &format!("xtask coverage {extra:?}"));
        fs::read_to_string(sandbox.path("ws/lcov.info")).unwrap()
    };
    let reused = coverage(&[]);
    assert_eq!(hits() - before, 1, "helper comes from what cargo test cached: {}", sccache.stats());
    let without_sccache = coverage(&["--clean", "--no-sccache"]);
    assert_eq!(reused, without_sccache, "the lcov report differs");
    assert!(reused.contains("SF:") && reused.contains("calc"), "{reused}");
}

/// The figures are plain cargo-llvm-cov's, file by file, down to the symbols: nothing the xtask
/// gives its children changes how the code is compiled. An `#[inline(always)]` iterator, called
/// from unit and integration tests, is where a different compilation (`CARGO_INCREMENTAL=0`: 16
/// codegen units instead of 256) first shows, in its symbols and, in larger crates, its counts.
#[test]
fn the_report_equals_plain_cargo_llvm_covs_file_by_file() {
    let sandbox = Sandbox::new("cov-equals-plain");
    sandbox.walker_workspace();
    let ours = coverage_xtask(&sandbox).args(["coverage", "-p", "walker", "--mode", "lcov"]).output().unwrap();
    assert_success(&ours, "xtask coverage -p walker --mode lcov");
    let ours = fs::read_to_string(sandbox.path("ws/lcov.info")).unwrap();
    let plain = sandbox
        .command(cargo(), "ws")
        .args(["llvm-cov", "-p", "walker", "--all-features", "--lcov", "--output-path", "plain.lcov"])
        .output()
        .unwrap();
    assert_success(&plain, "plain cargo llvm-cov --lcov");
    let plain = fs::read_to_string(sandbox.path("ws/plain.lcov")).unwrap();
    assert!(ours.contains("walker/src/lib.rs") && ours.contains("DA:"), "{ours}");
    assert_eq!(ours, plain, "the xtask's lcov differs from plain cargo-llvm-cov's");
}

/// `coverage -p walker --mode lcov` and plain `cargo llvm-cov -p walker --all-features --lcov`,
/// each given `flags` and then `-- test_args`: both LCOV reports.
fn ours_and_plain(sandbox: &Sandbox, flags: &[&str], test_args: &[&str]) -> (String, String) {
    let what = format!("coverage -p walker --mode lcov {} -- {}", flags.join(" "), test_args.join(" "));
    let ours = coverage_xtask(sandbox)
        .args(["coverage", "-p", "walker", "--mode", "lcov"])
        .args(flags)
        .arg("--")
        .args(test_args)
        .output()
        .unwrap();
    assert_success(&ours, &what);
    let plain = sandbox
        .command(cargo(), "ws")
        .args(["llvm-cov", "-p", "walker", "--all-features", "--lcov", "--output-path", "plain.lcov"])
        .args(flags)
        .arg("--")
        .args(test_args)
        .output()
        .unwrap();
    assert_success(&plain, &format!("plain cargo llvm-cov with {what}"));
    (read(&sandbox.path("ws/lcov.info")), read(&sandbox.path("ws/plain.lcov")))
}

/// The lines an LCOV report counts as covered, over every file (its LH records).
fn covered_lines(lcov: &str) -> u64 {
    lcov.lines().filter_map(|line| line.strip_prefix("LH:")).map(|count| count.parse::<u64>().unwrap()).sum()
}

#[test]
fn cargo_llvm_covs_flags_narrow_the_run_exactly_as_plain_cargo_llvm_cov_does() {
    let sandbox = Sandbox::new("cov-flags");
    sandbox.walker_workspace();
    let (full, _) = ours_and_plain(&sandbox, &[], &[]);

    // One integration test, chosen by target and name filter.
    let (ours, plain) = ours_and_plain(&sandbox, &["--test", "outside"], &["nothing_to_walk", "--exact"]);
    assert_eq!(ours, plain, "a filtered run differs from plain cargo-llvm-cov's");
    assert!(covered_lines(&ours) < covered_lines(&full), "filtered:\n{ours}\nfull:\n{full}");
    assert!(covered_lines(&ours) > 0, "{ours}");

    // The library's tests under the release profile, with a file left out of the report.
    let release = ["--lib", "--release", "--ignore-filename-regex", "generated\\.rs$"];
    let (ours, plain) = ours_and_plain(&sandbox, &release, &[]);
    assert_eq!(ours, plain, "a release run differs from plain cargo-llvm-cov's");
    assert!(full.contains("generated.rs") && !ours.contains("generated.rs"), "{ours}");
    assert!(ours.contains("lib.rs"), "{ours}");
    let release_dir = sandbox.path("ws/target/llvm-cov-target/release");
    assert!(release_dir.is_dir(), "--release must build under {}", release_dir.display());

    // For an explicit target (this machine's, so that the tests run), with cargo kept offline.
    let rustc = Command::new(toolchain_rustc()).arg("-vV").output().unwrap();
    let host = text(&rustc.stdout).lines().find_map(|line| line.strip_prefix("host: ").map(str::to_owned)).unwrap();
    let (ours, plain) = ours_and_plain(&sandbox, &["--target", &host, "--offline"], &[]);
    assert_eq!(ours, plain, "a run with --target differs from plain cargo-llvm-cov's");
    assert_eq!(covered_lines(&ours), covered_lines(&full), "{ours}");
    let target_dir = sandbox.path(&format!("ws/target/llvm-cov-target/{host}"));
    assert!(target_dir.is_dir(), "--target must build under {}", target_dir.display());
}

#[test]
fn cargo_llvm_covs_flags_show_in_the_dry_run_and_conflicts_stop_before_anything_runs() {
    let sandbox = Sandbox::new("cov-flags-dry");
    sandbox.walker_workspace();
    let output = coverage_xtask(&sandbox)
        .args([
            "coverage",
            "--dry-run",
            "--mode",
            "text",
            "--bins",
            "--profile",
            "ci",
            "--offline",
            "--",
            "--nocapture",
        ])
        .output()
        .unwrap();
    assert_success(&output, "coverage --dry-run with cargo-llvm-cov's flags");
    let stdout = text(&output.stdout);
    assert!(stdout.contains("-p walker --profile ci --offline --all-features --bins --json"), "{stdout}");
    assert!(stdout.contains("-- --nocapture"), "{stdout}");
    assert!(stdout.contains("report -p walker --profile ci --offline --text"), "{stdout}");
    assert!(!sandbox.path("ws/target").exists(), "a dry run builds nothing");

    let output =
        coverage_xtask(&sandbox).args(["coverage", "--clean", "--release", "--profile", "ci"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(text(&output.stderr).contains("--release and --profile both choose the profile"), "{}", describe(&output));
    assert!(!sandbox.path("ws/target").exists(), "a refused run builds nothing");
}
