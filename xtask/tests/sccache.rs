//! End-to-end tests of `setup-sccache` with the real sccache and its local disk cache, each test
//! with its own HOME, CARGO_HOME, sccache config file, cache directory and server port on
//! 127.0.0.1. Every test stops the servers it started, so the user's own sccache is never touched.
//! The remote backends' tests, which need servers, are this repository's (xtask-dev/tests).

mod support;

use std::{
    fs,
    net::TcpListener,
    process::{Command, Output, Stdio},
};

use serde_json::Value;
use support::*;

#[test]
fn setup_twice_changes_nothing_keeps_other_content_and_disable_restores_it() {
    let sb = SccacheSandbox::new("sccache-idempotent");
    let cargo_config = "# my cargo settings\n\n[build]\njobs = 2   # two cores\n\n[alias]\nb = \"build\"\n";
    let sccache_config = "# team settings\nserver_startup_timeout_ms = 15000\n";
    fs::write(sb.cargo_config(), cargo_config).unwrap();
    fs::write(sb.conf(), sccache_config).unwrap();

    let first = sb.setup(&[]);
    assert_success(&first, "setup");
    let after_first = (read(&sb.cargo_config()), read(&sb.conf()));
    assert!(after_first.0.starts_with("# my cargo settings\n\n[build]\njobs = 2   # two cores\n"), "{}", after_first.0);
    assert!(after_first.0.contains("rustc-wrapper = \"") && after_first.0.contains(MARK), "{}", after_first.0);
    assert!(after_first.0.ends_with("[alias]\nb = \"build\"\n"), "{}", after_first.0);
    assert!(after_first.1.starts_with(sccache_config), "{}", after_first.1);
    assert!(after_first.1.contains(&format!("size = 1073741824 {MARK}")), "{}", after_first.1);
    let status = text(&first.stdout);
    assert!(status.contains(&format!("running on 127.0.0.1:{}", sb.port)), "{status}");

    let second = sb.setup(&[]);
    assert_success(&second, "second setup");
    assert_eq!((read(&sb.cargo_config()), read(&sb.conf())), after_first, "a second run changes nothing");
    assert!(stderr(&second).contains("already runs with this cache"), "{}", stderr(&second));

    let disable = sb.xtask(&["disable"]);
    assert_success(&disable, "disable");
    assert_eq!(read(&sb.cargo_config()), cargo_config, "disable removes what setup added, and nothing else");
    assert_eq!(read(&sb.conf()), sccache_config);
}

#[test]
fn disable_after_a_setup_from_nothing_leaves_no_files() {
    let sb = SccacheSandbox::new("sccache-from-nothing");
    assert_success(&sb.setup(&[]), "setup");
    assert!(sb.cargo_config().exists() && sb.conf().exists());
    assert_success(&sb.xtask(&["disable"]), "disable");
    assert!(!sb.cargo_config().exists(), "{}", read(&sb.cargo_config()));
    assert!(!sb.conf().exists(), "{}", read(&sb.conf()));

    // A file setup created and the user then wrote into is theirs: only setup's keys go.
    assert_success(&sb.setup(&[]), "setup again");
    let created = read(&sb.cargo_config());
    fs::write(sb.cargo_config(), format!("{created}\n[alias]\nb = \"build\"\n")).unwrap();
    assert_success(&sb.xtask(&["disable"]), "disable");
    let kept = read(&sb.cargo_config());
    assert!(kept.contains("[alias]\nb = \"build\"\n") && !kept.contains("rustc-wrapper"), "{kept}");
}

#[test]
fn project_scope_writes_the_workspace_config_with_a_warning() {
    let sb = SccacheSandbox::new("sccache-project");
    let project_config = sb.sandbox.path("ws/.cargo/config.toml");
    let before = read(&project_config);
    let output = sb.setup(&["--scope", "project"]);
    assert_success(&output, "setup --scope project");
    assert!(stderr(&output).contains("Do not commit it"), "{}", stderr(&output));
    let after = read(&project_config);
    assert!(after.starts_with(&before) && after.contains(MARK), "{after}");
    assert!(!sb.cargo_config().exists(), "the user's config is not touched");
    assert_success(&sb.xtask(&["disable"]), "disable");
    assert_eq!(read(&project_config), before);
}

#[test]
fn a_malformed_config_is_an_error_naming_the_line_and_stays_untouched() {
    let sb = SccacheSandbox::new("sccache-malformed");
    let broken = "[build]\njobs = 2\nrustc-wrapper = \n";
    fs::write(sb.cargo_config(), broken).unwrap();
    let output = sb.setup(&[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("config.toml is not valid TOML, so it was left untouched"), "{message}");
    assert!(message.contains("line 3"), "{message}");
    assert_eq!(read(&sb.cargo_config()), broken);
    assert!(!sb.conf().exists(), "nothing else was written either");
}

/// `cargo config get` on the sandbox's cargo config: cargo itself reads what setup wrote.
fn cargo_reads(sb: &SccacheSandbox, key: &str) -> String {
    let output = sb
        .command(cargo(), "ws")
        .args(["-Zunstable-options", "config", "get", "--format", "json-value", key])
        .env("RUSTC_BOOTSTRAP", "1")
        .output()
        .unwrap();
    assert_success(&output, &format!("cargo config get {key}"));
    text(&output.stdout).trim().to_owned()
}

#[test]
fn every_form_of_config_is_edited_into_valid_toml_and_disable_restores_every_byte() {
    let sb = SccacheSandbox::new("sccache-forms");
    let cargo_configs = [
        "build = { jobs = 2 }\n",
        "build.jobs = 2\n",
        "[build]\r\njobs = 2\r\n",
        "\u{feff}[build]\njobs = 2\n",
        "[build]\njobs = 2",
        "[build]\nrustc-wrapper = \"sccache\"\n",
        // A file that exists, empty: it is given back existing and empty.
        "",
    ];
    let sccache_configs = ["cache = { disk = { rw_mode = \"READ_WRITE\" } }\n", "cache.disk.size = 10\n", ""];
    for (cargo_config, sccache_config) in cargo_configs.iter().zip(sccache_configs.iter().cycle()) {
        fs::write(sb.cargo_config(), cargo_config).unwrap();
        fs::write(sb.conf(), sccache_config).unwrap();
        let output = sb.setup(&[]);
        assert_success(&output, &format!("setup over {cargo_config:?} and {sccache_config:?}"));
        let wrapper = cargo_reads(&sb, "build.rustc-wrapper");
        assert!(wrapper.ends_with("sccache\"") && wrapper.len() > "\"sccache\"".len(), "{cargo_config:?}: {wrapper}");
        if cargo_config.contains("jobs") {
            assert_eq!(cargo_reads(&sb, "build.jobs"), "2", "{cargo_config:?}");
        }
        let stats = sb.xtask(&["status", "--json"]);
        assert_success(&stats, &format!("status after setup over {sccache_config:?}"));
        let disable = sb.xtask(&["disable"]);
        assert_success(&disable, "disable");
        assert_eq!(fs::read(sb.cargo_config()).unwrap(), cargo_config.as_bytes(), "{cargo_config:?}");
        assert_eq!(fs::read(sb.conf()).unwrap(), sccache_config.as_bytes(), "{sccache_config:?}");
    }
}

#[cfg(unix)]
#[test]
fn a_linked_config_is_edited_where_it_points_and_a_read_only_one_is_refused() {
    let sb = SccacheSandbox::new("sccache-linked");
    let dotfiles = sb.sandbox.path("dotfiles/cargo-config.toml");
    sb.sandbox.write("dotfiles/cargo-config.toml", "[build]\njobs = 2\n");
    std::os::unix::fs::symlink(&dotfiles, sb.cargo_config()).unwrap();
    assert_success(&sb.setup(&[]), "setup through a link");
    assert!(fs::symlink_metadata(sb.cargo_config()).unwrap().is_symlink(), "the link stays");
    assert!(read(&dotfiles).contains(MARK), "the linked file is edited: {}", read(&dotfiles));
    assert_success(&sb.xtask(&["disable"]), "disable through a link");
    assert!(fs::symlink_metadata(sb.cargo_config()).unwrap().is_symlink(), "the link stays");
    assert_eq!(read(&dotfiles), "[build]\njobs = 2\n");

    fs::remove_file(sb.cargo_config()).unwrap();
    fs::write(sb.cargo_config(), "[build]\njobs = 2\n").unwrap();
    let mut permissions = fs::metadata(sb.cargo_config()).unwrap().permissions();
    permissions.set_readonly(true);
    fs::set_permissions(sb.cargo_config(), permissions).unwrap();
    let output = sb.setup(&[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("is read-only, so it was left untouched"), "{}", stderr(&output));
    assert!(stderr(&output).contains("chmod u+w"), "{}", stderr(&output));
    assert_eq!(read(&sb.cargo_config()), "[build]\njobs = 2\n");
}

#[test]
fn two_setups_at_once_both_succeed_and_leave_valid_files() {
    let sb = SccacheSandbox::new("sccache-concurrent");
    fs::write(sb.cargo_config(), "[build]\njobs = 2\n").unwrap();
    // Set up once, so that the two runs race on editing, not on starting the server.
    assert_success(&sb.setup(&[]), "first setup");
    assert_success(&sb.xtask(&["disable"]), "disable");
    let cache_dir = sb.cache_dir();
    let spawn = || {
        sb.command(XTASK, "ws")
            .args(["setup-sccache", "--no-install", "--cache-size", "1G", "--cache-dir"])
            .arg(&cache_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        assert_success(&output, "a setup beside another");
    }
    assert!(cargo_reads(&sb, "build.rustc-wrapper").contains("sccache"));
    assert_eq!(cargo_reads(&sb, "build.jobs"), "2");
    let leftovers: Vec<_> = fs::read_dir(sb.sandbox.path("cargo-home"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn disable_works_when_sccaches_config_is_malformed() {
    let sb = SccacheSandbox::new("sccache-disable-broken");
    assert_success(&sb.setup(&[]), "setup");
    let broken = format!("{}\n[cache\n", read(&sb.conf()));
    fs::write(sb.conf(), &broken).unwrap();
    let output = sb.xtask(&["disable"]);
    assert_success(&output, "disable with a broken sccache config");
    assert!(stderr(&output).contains("is not valid TOML"), "{}", stderr(&output));
    assert!(!sb.cargo_config().exists(), "the wrapper is gone: {}", read(&sb.cargo_config()));
    assert_eq!(read(&sb.conf()), broken, "the broken file is left as it is");
    assert!(stderr(&output).contains("the server still runs"), "{}", stderr(&output));
    // sccache reads its config to stop too: mend it, so that no server outlives the test.
    fs::write(sb.conf(), "").unwrap();
    assert_success(&sb.xtask(&["stop"]), "stop once the config is mended");
}

#[test]
fn a_relative_cache_dir_is_relative_to_where_the_command_ran() {
    let sb = SccacheSandbox::new("sccache-relative");
    let output = sb
        .command(XTASK, "ws/app/src")
        .args(["setup-sccache", "--no-install", "--dry-run", "--cache-dir", "mycache"])
        .output()
        .unwrap();
    assert_success(&output, "setup --dry-run from a subdirectory");
    let wanted = fs::canonicalize(sb.sandbox.path("ws/app/src")).unwrap().join("mycache");
    let wanted = wanted.to_str().unwrap();
    assert!(stderr(&output).contains(&format!("--cache-dir mycache is {wanted}")), "{}", stderr(&output));
    let output = sb.xtask(&["--no-install", "--dry-run", "--cache-dir", ""]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("--cache-dir is empty"), "{}", stderr(&output));
}

#[test]
fn stats_with_an_empty_step_summary_variable_work_and_a_failed_write_names_the_file() {
    let sb = SccacheSandbox::new("sccache-step-summary");
    assert_success(&sb.setup(&[]), "setup");
    let output =
        sb.command(XTASK, "ws").args(["setup-sccache", "stats"]).env("GITHUB_STEP_SUMMARY", "").output().unwrap();
    assert_success(&output, "stats with GITHUB_STEP_SUMMARY empty");
    let unwritable = sb.sandbox.path("no such dir/summary.md");
    let output = sb
        .command(XTASK, "ws")
        .args(["setup-sccache", "stats", "--zero"])
        .env("GITHUB_STEP_SUMMARY", &unwritable)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains(unwritable.to_str().unwrap()), "{}", stderr(&output));
    assert!(stderr(&output).contains("statistics reset"), "--zero still ran: {}", stderr(&output));
    assert_success(&sb.xtask(&["stop"]), "stop");
}

#[test]
fn bad_flags_are_usage_errors() {
    let sb = SccacheSandbox::new("sccache-usage");
    for (args, expected) in [
        (&["--cache-size", "10GB"][..], "whole number above 0 with K, M, G or T"),
        (&["--cache-size", "1.5G"], "whole number above 0 with K, M, G or T"),
        (&["status", "--cache-size", "1G"], "--cache-size belongs to the set-up"),
        (&["stop", "--azure-container", "c"], "--azure-container belongs to the set-up"),
        (&["stats", "--dist-scheduler", "http://127.0.0.1:1"], "--dist-scheduler belongs to the set-up"),
        (&["env", "--dist-token-file", "t"], "--dist-token-file belongs to the set-up"),
        (&["--backend", "redis"], "--backend redis needs --redis-url"),
    ] {
        let output = sb.xtask(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(expected), "{args:?}: {}", stderr(&output));
    }
}

#[test]
fn a_clean_rebuild_hits_the_cache_for_library_crates() {
    let sb = SccacheSandbox::new("sccache-hits");
    assert_success(&sb.setup(&["--no-incremental"]), "setup --no-incremental");
    assert!(read(&sb.cargo_config()).contains(&format!("incremental = false {MARK}")));
    sb.clean_build();
    let cold = sb.stats();
    sb.clean_build();
    let summary = sb.sandbox.path("step-summary.md");
    let output = sb
        .command(XTASK, "ws")
        .args(["setup-sccache", "stats", "--json"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_success(&output, "stats with GITHUB_STEP_SUMMARY");
    let warm: Value = serde_json::from_slice(&output.stdout).unwrap();
    let markdown = read(&summary);
    assert!(markdown.starts_with("### sccache\n") && markdown.contains("| Hit rate | "), "{markdown}");
    let hits = warm["cache_hits"].as_u64().unwrap() - cold["cache_hits"].as_u64().unwrap();
    // The fixture's library crates: lib, bindings and the fake pyo3. The app binary is not cacheable.
    assert_eq!(hits, 3, "cold: {cold:#}\nwarm: {warm:#}");
    assert_eq!(warm["server_running"], true);
    assert!(warm["not_cached_reasons"].to_string().contains("crate-type"), "{warm:#}");
}

#[test]
fn start_and_stop_are_idempotent_and_a_taken_port_is_named() {
    let sb = SccacheSandbox::new("sccache-start-stop");
    assert_success(&sb.setup(&[]), "setup");
    for (args, expected) in [
        ("start", "already runs with this cache"),
        ("stop", "stopped the sccache server"),
        ("stop", "no sccache server is running"),
        ("start", "started the sccache server"),
        ("stop", "stopped the sccache server"),
    ] {
        let output = sb.xtask(&[args]);
        assert_success(&output, args);
        assert!(text(&output.stdout).contains(expected), "{args}: {}", text(&output.stdout));
    }
    // Something else holds the port: it accepts connections and never answers.
    let _squatter = TcpListener::bind(("127.0.0.1", sb.port)).unwrap();
    let output = sb.xtask(&["start"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("SCCACHE_SERVER_PORT"), "{}", stderr(&output));
}

#[test]
fn clear_frees_the_cache_and_refuses_a_directory_that_is_not_one() {
    let sb = SccacheSandbox::new("sccache-clear");
    assert_success(&sb.setup(&["--no-incremental"]), "setup");
    sb.clean_build();
    let dry = sb.xtask(&["clear", "--dry-run"]);
    assert_success(&dry, "clear --dry-run");
    assert!(text(&dry.stdout).starts_with("would remove "), "{}", text(&dry.stdout));
    assert!(fs::read_dir(sb.cache_dir()).unwrap().next().is_some(), "the dry run deleted nothing");

    let output = sb.xtask(&["clear"]);
    assert_success(&output, "clear");
    assert!(text(&output.stdout).starts_with("Removed "), "{}", text(&output.stdout));
    assert_eq!(fs::read_dir(sb.cache_dir()).unwrap().count(), 0, "the cache directory is empty");

    // A cache directory that holds a project: nothing may go.
    let victim = sb.sandbox.path("ws");
    let before = read(&victim.join("Cargo.toml"));
    let output = sb.command(XTASK, "ws").args(["setup-sccache", "clear"]).env("SCCACHE_DIR", &victim).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("refusing to empty"), "{}", stderr(&output));
    assert_eq!(read(&victim.join("Cargo.toml")), before);
    let home = sb.sandbox.path("home");
    let output = sb.command(XTASK, "ws").args(["setup-sccache", "clear"]).env("SCCACHE_DIR", &home).output().unwrap();
    assert!(stderr(&output).contains("home directory"), "{}", stderr(&output));
}

#[test]
fn setup_says_first_when_the_environment_would_break_every_build_through_the_wrapper() {
    let sb = SccacheSandbox::new("sccache-incremental-forced");
    let output = sb
        .command(XTASK, "ws")
        .args(["setup-sccache", "--no-install", "--dry-run"])
        .env("CARGO_INCREMENTAL", "1")
        .output()
        .unwrap();
    assert_success(&output, "setup --dry-run with CARGO_INCREMENTAL=1");
    let stderr = stderr(&output);
    let warning = stderr.find("CARGO_INCREMENTAL=1 is set here").expect(&stderr);
    assert!(
        stderr[warning..].contains("every cargo build from this environment fails until you unset CARGO_INCREMENTAL"),
        "{stderr}"
    );
    assert!(
        warning < stderr.find("--dry-run: nothing was written").expect(&stderr),
        "the warning comes before: {stderr}"
    );
}

/// `setup-sccache explain`: a fixture workspace of its own, `explain/ws`, with no crates.io
/// dependencies: `app` (a binary) uses `top`, which uses `middle`, which uses `base`. The three
/// libraries are what sccache caches (incremental off); the binary is not cacheable.
struct ExplainSandbox {
    sb: SccacheSandbox,
}

impl ExplainSandbox {
    fn new(name: &str) -> ExplainSandbox {
        let sb = SccacheSandbox::new(name);
        assert_success(&sb.setup(&["--no-incremental"]), "setup --no-incremental");
        let write = |path: &str, text: &str| sb.sandbox.write(&format!("explain/ws/{path}"), text);
        write("Cargo.toml", "[workspace]\nresolver = \"3\"\nmembers = [\"base\", \"middle\", \"top\", \"app\"]\n");
        let package = |name: &str, dep: &str| match dep {
            "" => manifest(name, ""),
            dep => manifest(name, &format!("{dep} = {{ path = \"../{dep}\" }}\n")),
        };
        write("base/Cargo.toml", &package("base", ""));
        write("base/src/lib.rs", "pub fn value() -> u32 {\n    1\n}\n");
        write("middle/Cargo.toml", &package("middle", "base"));
        write("middle/src/lib.rs", "pub fn value() -> u32 {\n    base::value() + 1\n}\n");
        write("top/Cargo.toml", &package("top", "middle"));
        write("top/src/lib.rs", "pub fn value() -> u32 {\n    middle::value() + 1\n}\n");
        write("app/Cargo.toml", &package("app", "top"));
        write("app/src/main.rs", "fn main() {\n    println!(\"{}\", top::value());\n}\n");
        ExplainSandbox { sb }
    }

    /// cargo as a user's shell starts it, reaching the sandbox's server.
    fn cargo_command(&self, dir: &str) -> Command {
        self.sb.reaching_its_server(self.sb.sandbox.users_command(cargo(), dir))
    }

    fn cargo(&self, dir: &str, args: &[&str]) {
        let output = self.cargo_command(dir).args(args).output().unwrap();
        assert_success(&output, &format!("cargo {args:?} in {dir}"));
    }

    /// `explain --json` in `dir` with `args`, and the variables `env`; the report, and the output.
    fn explain(&self, dir: &str, args: &[&str], env: &[(&str, &str)]) -> (Value, Output) {
        let mut cmd = self.sb.command(XTASK, dir);
        cmd.args(["setup-sccache", "explain", "--json"]).args(args);
        cmd.envs(env.iter().copied());
        let output = cmd.output().unwrap();
        let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
            panic!("explain printed no JSON ({err}): {}\n{}", text(&output.stdout), stderr(&output))
        });
        (report, output)
    }
}

const LIBRARIES: [&str; 3] = ["base 0.1.0 (lib)", "middle 0.1.0 (lib)", "top 0.1.0 (lib)"];

/// Each missed compilation's unit and the kind of its cause, sorted.
fn misses(report: &Value) -> Vec<(String, String)> {
    let mut misses: Vec<(String, String)> = report["compilations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|unit| unit["outcome"] == "miss")
        .map(|unit| (unit["unit"].as_str().unwrap().to_owned(), unit["cause"]["kind"].as_str().unwrap().to_owned()))
        .collect();
    misses.sort();
    misses
}

fn cause_of<'a>(report: &'a Value, unit: &str) -> &'a Value {
    let units = report["compilations"].as_array().unwrap();
    &units.iter().find(|compilation| compilation["unit"] == unit).unwrap_or_else(|| panic!("no {unit}: {report:#}"))["cause"]
}

#[test]
fn explain_after_a_clean_build_has_no_misses_and_names_a_changed_target_dir_for_every_unit() {
    let ex = ExplainSandbox::new("sccache-explain-target-dir");
    ex.cargo("explain/ws", &["build"]);
    ex.cargo("explain/ws", &["clean"]);
    let (report, output) = ex.explain("explain/ws", &[], &[]);
    assert_success(&output, "explain after cargo clean");
    assert!(
        stderr(&output).contains("Compiling base v0.1.0"),
        "the build's output passes through: {}",
        stderr(&output)
    );
    assert_eq!(misses(&report), [], "{report:#}");
    assert_eq!(
        (report["summary"]["hits"].as_u64(), report["sccache"]["hits"].as_u64()),
        (Some(3), Some(3)),
        "{report:#}"
    );
    assert_eq!(cause_of(&report, "app 0.1.0 (bin)")["text"], "sccache's reason: crate-type", "{report:#}");

    let elsewhere = ex.sb.sandbox.path("explain/elsewhere");
    let (report, output) = ex.explain("explain/ws", &[], &[("CARGO_TARGET_DIR", elsewhere.to_str().unwrap())]);
    assert_success(&output, "explain with CARGO_TARGET_DIR");
    let expected: Vec<(String, String)> =
        LIBRARIES.iter().map(|unit| (unit.to_string(), "environment variable changed".to_owned())).collect();
    assert_eq!(misses(&report), expected, "{report:#}");
    for unit in LIBRARIES {
        let variables = &cause_of(&report, unit)["variables"];
        assert_eq!(variables.as_array().unwrap().len(), 1, "{unit}: {variables:#}");
        assert_eq!(variables[0]["name"], "CARGO_TARGET_DIR");
        assert_eq!((&variables[0]["before"], variables[0]["after"].as_str()), (&Value::Null, elsewhere.to_str()));
    }
    assert_eq!(report["sccache"]["misses"], 3, "sccache counted the same misses: {report:#}");
    let advice = report["summary"]["by_cause"][0]["advice"].as_str().unwrap();
    assert!(advice.contains("build.target-dir"), "{advice}");

    // A build that misses everything again: `stats` points at explain.
    let third = ex.sb.sandbox.path("explain/third");
    let output = ex.cargo_command("explain/ws").arg("build").env("CARGO_TARGET_DIR", &third).output().unwrap();
    assert_success(&output, "cargo build with a third CARGO_TARGET_DIR");
    let stats = ex.sb.xtask(&["stats"]);
    assert!(stderr(&stats).contains("cargo xtask setup-sccache explain"), "{}", stderr(&stats));
}

#[test]
fn explain_reads_an_edit_as_one_cascade_rustflags_as_arguments_and_passes_the_exit_code_on() {
    let ex = ExplainSandbox::new("sccache-explain-cascade");
    let (report, output) = ex.explain("explain/ws", &[], &[]);
    assert_success(&output, "the first explain");
    assert_eq!(cause_of(&report, "base 0.1.0 (lib)")["kind"], "first compilation", "{report:#}");

    ex.sb.sandbox.write("explain/ws/base/src/lib.rs", "pub fn value() -> u32 {\n    2\n}\n");
    let (report, output) = ex.explain("explain/ws", &[], &[]);
    assert_success(&output, "explain after an edit");
    let base = cause_of(&report, "base 0.1.0 (lib)");
    assert_eq!(
        (&base["kind"], &base["changes"]),
        (&json_str("source files changed"), &serde_json::json!(["base/src/lib.rs"]))
    );
    for unit in ["middle 0.1.0 (lib)", "top 0.1.0 (lib)"] {
        let cause = cause_of(&report, unit);
        assert_eq!(cause["kind"], "a dependency changed", "{unit}: {report:#}");
        assert_eq!(cause["started_by"], serde_json::json!(["base 0.1.0 (lib)"]), "{unit}: {report:#}");
    }
    let groups = report["summary"]["by_cause"].as_array().unwrap();
    assert_eq!(groups[0]["cause"], "source files changed", "{report:#}");
    assert_eq!(groups[0]["count"], 3, "one cause, with its two dependents: {report:#}");
    assert_eq!(groups[0]["dependents"], serde_json::json!(["middle 0.1.0 (lib)", "top 0.1.0 (lib)"]));

    let (report, output) = ex.explain("explain/ws", &[], &[("RUSTFLAGS", "--cfg xtask_explain_test")]);
    assert_success(&output, "explain with RUSTFLAGS");
    for unit in LIBRARIES {
        let cause = cause_of(&report, unit);
        assert_eq!(cause["kind"], "arguments changed", "{unit}: {report:#}");
        assert_eq!(cause["changes"], serde_json::json!(["added --cfg xtask_explain_test"]), "{unit}: {report:#}");
    }

    // Another subcommand, given after `--`; its failure is the task's, with the same code.
    ex.sb.sandbox.write("explain/ws/top/src/lib.rs", "pub fn value() -> u32 {\n    middle::value() +\n}\n");
    let output = ex
        .sb
        .command(XTASK, "explain/ws")
        .args(["setup-sccache", "explain", "--", "check", "-p", "top"])
        .env("RUSTFLAGS", "--cfg xtask_explain_test")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(101), "cargo's own code: {}", stderr(&output));
    assert!(
        stderr(&output).contains("cargo check -p top\n") && stderr(&output).contains("error"),
        "{}",
        stderr(&output)
    );
}

fn json_str(text: &str) -> Value {
    Value::String(text.to_owned())
}

#[test]
fn explain_names_the_working_directory_of_a_moved_workspace_and_compares_checkouts_with_saved_records() {
    let ex = ExplainSandbox::new("sccache-explain-checkouts");
    let saved = ex.sb.sandbox.path("explain/saved.json");
    // sccache hashes every CARGO_* variable, so the records keep this one: as its fingerprint.
    let token = "Zq9-explain-s3cr3t";
    let (report, output) =
        ex.explain("explain/ws", &["--save", saved.to_str().unwrap()], &[("CARGO_XTASK_TEST_TOKEN", token)]);
    assert_success(&output, "explain --save");
    let records = read(&saved);
    assert!(records.contains("\"CARGO_XTASK_TEST_TOKEN\": \"hashed "), "{records}");
    for shown in [
        records,
        report.to_string(),
        stderr(&output),
        read(&ex.sb.sandbox.path("explain/ws/target/xtask-explain/records.json")),
    ] {
        assert!(!shown.contains(token), "the token is never stored or shown: {shown}");
    }

    // The same workspace, moved with its target directory and the records in it; cargo finds
    // its units fresh there, so it is cleaned first, keeping the records.
    fs::rename(ex.sb.sandbox.path("explain/ws"), ex.sb.sandbox.path("explain/moved")).unwrap();
    let (report, output) = ex.explain("explain/moved", &["--clean"], &[("CARGO_XTASK_TEST_TOKEN", token)]);
    assert_success(&output, "explain in the moved workspace");
    let moved_to = ex.sb.sandbox.path("explain/moved");
    for unit in LIBRARIES {
        let cause = cause_of(&report, unit);
        assert_eq!(cause["kind"], "working directory changed", "{unit}: {report:#}");
        assert_eq!(cause["after"].as_str(), moved_to.to_str(), "{unit}: {report:#}");
        assert_eq!(
            report["compilations"].as_array().unwrap().iter().find(|c| c["unit"] == unit).unwrap()["also"],
            serde_json::json!([]),
            "nothing else changed: {report:#}"
        );
    }

    // A second checkout, built from scratch, against the records of the first.
    let checkout = ex.sb.sandbox.path("explain/checkout");
    fs::create_dir_all(&checkout).unwrap();
    for member in ["base", "middle", "top", "app"] {
        for file in ["Cargo.toml", if member == "app" { "src/main.rs" } else { "src/lib.rs" }] {
            let text = read(&moved_to.join(member).join(file));
            ex.sb.sandbox.write(&format!("explain/checkout/{member}/{file}"), &text);
        }
    }
    fs::copy(moved_to.join("Cargo.toml"), checkout.join("Cargo.toml")).unwrap();
    let (report, output) =
        ex.explain("explain/checkout", &["--against", saved.to_str().unwrap()], &[("CARGO_XTASK_TEST_TOKEN", token)]);
    assert_success(&output, "explain --against");
    assert_eq!(report["compared_with"].as_str(), saved.to_str(), "{report:#}");
    let expected: Vec<(String, String)> =
        LIBRARIES.iter().map(|unit| (unit.to_string(), "working directory changed".to_owned())).collect();
    assert_eq!(misses(&report), expected, "{report:#}");

    let missing = ex
        .sb
        .command(XTASK, "explain/checkout")
        .args(["setup-sccache", "explain", "--against", "nowhere.json"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1), "{}", stderr(&missing));
    assert!(stderr(&missing).contains("nowhere.json"), "{}", stderr(&missing));
}

#[cfg(unix)]
#[test]
fn explain_records_are_private_hold_no_credential_and_saving_never_writes_through_a_link() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let ex = ExplainSandbox::new("sccache-explain-hostile");
    let secrets = ["ghp_R3cordsNeverHoldThis0", "hunter2-in-rustflags", "cargo-registry-s3cret"];
    let rustflags = format!("--cfg=api_token=\"{}\" --cfg=db_password=\"{}\"", secrets[0], secrets[1]);
    let saved = ex.sb.sandbox.path("saved.json");
    let env = [("RUSTFLAGS", rustflags.as_str()), ("CARGO_REGISTRIES_MINE_TOKEN", secrets[2])];
    let (_, output) = ex.explain("explain/ws", &["--save", saved.to_str().unwrap()], &env);
    assert_success(&output, "explain with credentials in its build's flags and variables");
    let dir = ex.sb.sandbox.path("explain/ws/target/xtask-explain");
    let mode = |path: &std::path::Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "the records' directory");
    for file in [dir.join("records.json"), saved.clone()] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
        let records = read(&file);
        assert!(records.contains("\"hashed "), "the flags holding credentials are kept as fingerprints: {records}");
        for secret in secrets {
            assert!(!records.contains(secret), "{} holds {secret}", file.display());
        }
    }
    for secret in secrets {
        assert!(!text(&output.stdout).contains(secret) && !stderr(&output).contains(secret), "{secret} was printed");
    }

    let refused = |args: &[&str], why: &str| {
        let mut cmd = ex.sb.command(XTASK, "explain/ws");
        let output = cmd.args(["setup-sccache", "explain"]).args(args).output().unwrap();
        assert!(matches!(output.status.code(), Some(1 | 2)), "explain {args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(why), "explain {args:?}: {}", stderr(&output));
    };
    let users_file = ex.sb.sandbox.path("home/.bashrc");
    fs::write(&users_file, "export EDITOR=vi\n").unwrap();
    let link = ex.sb.sandbox.path("link.json");
    symlink(&users_file, &link).unwrap();
    refused(&["--save", link.to_str().unwrap()], "it is a link");
    refused(&["--save", users_file.to_str().unwrap()], "is not a records file");
    refused(&["--against", link.to_str().unwrap()], "link");
    assert_eq!(read(&users_file), "export EDITOR=vi\n", "the user's file is as it was");
    let truncated = ex.sb.sandbox.path("truncated.json");
    let whole = read(&saved);
    fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    refused(&["--against", truncated.to_str().unwrap()], "is not a records file");
}
