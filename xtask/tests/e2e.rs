//! End-to-end tests: the built `xtask` binary, run in fixture workspaces with real cargo (and
//! real cargo-llvm-cov), each test in its own temporary `HOME` and `CARGO_HOME`.

mod support;

use std::{fs, path::Path};

use support::*;

#[test]
fn bare_and_help_print_the_task_list_and_a_task_its_own_help_and_exit_0() {
    let golden = |name: &str| {
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("test_data/help/{name}.txt"))).unwrap()
    };
    let sandbox = Sandbox::new("help");
    let cases: [(&[&str], &str); 9] = [
        (&[], "overview"),
        (&["--help"], "overview"),
        (&["-h"], "overview"),
        (&["help"], "overview"),
        (&["help", "coverage"], "coverage"),
        (&["coverage", "--help"], "coverage"),
        (&["coverage-fast", "--mode", "lcov", "--help"], "coverage-fast"),
        (&["help", "coverage-fast"], "coverage-fast"),
        (&["setup-sccache", "status", "--help"], "setup-sccache"),
    ];
    for (args, name) in cases {
        let output = sandbox.command(XTASK, "home").args(args).output().unwrap();
        assert_success(&output, &format!("xtask {args:?}"));
        assert_eq!(text(&output.stdout), golden(name), "xtask {args:?}");
        assert_eq!(text(&output.stderr), "", "xtask {args:?}");
    }
}

#[test]
fn a_reader_that_has_gone_ends_the_output_quietly() {
    let sandbox = Sandbox::new("closed-pipe");
    sandbox.fixture_workspace();
    // `cargo xtask ... | head -0`: the reading end is closed before the xtask writes a byte.
    for args in [&["--help"][..], &["info"], &["info", "--json"], &["clean-shared-target", "--dry-run"]] {
        let mut child = sandbox
            .command(XTASK, "ws")
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = text(&output.stderr);
        assert!(!stderr.contains("panicked"), "xtask {args:?} panicked on a closed stdout:\n{stderr}");
        assert!(output.status.success(), "xtask {args:?}: {:?}\n{stderr}", output.status);
    }
}

#[test]
fn unknown_tasks_and_flags_are_named_with_exit_2() {
    let sandbox = Sandbox::new("usage");
    for (args, named) in [(&["nonsense"][..], "nonsense"), (&["info", "--bogus"], "--bogus")] {
        let output = sandbox.command(XTASK, "home").args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "xtask {args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(named), "xtask {args:?} must name `{named}`: {stderr}");
        assert!(stderr.contains("cargo xtask --help"), "xtask {args:?} must point at the help: {stderr}");
        assert_eq!(text(&output.stdout), "");
    }
}

#[test]
fn outside_a_workspace_is_a_clear_error_with_exit_1() {
    let sandbox = Sandbox::new("outside");
    let output = sandbox.command(XTASK, "home").arg("info").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("must run inside a cargo workspace"), "{stderr}");
}

#[test]
fn info_describes_the_workspace_found_from_a_subdirectory() {
    let sandbox = Sandbox::new("info");
    sandbox.fixture_workspace();
    let output = sandbox.command(XTASK, "ws/app/src").args(["info", "--json"]).output().unwrap();
    assert_success(&output, "xtask info --json");
    let info: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();

    let ws = fs::canonicalize(sandbox.path("ws")).unwrap();
    assert_eq!(info["workspace_root"], ws.to_str().unwrap());
    // cargo reports `ws/../shared-target`; the model resolves the `..`.
    assert_eq!(Path::new(info["target_directory"].as_str().unwrap()), ws.parent().unwrap().join("shared-target"));
    assert_eq!(info["target_directory_shared"], true);
    assert_eq!(info["settings"]["coverage-fast-exclude"], serde_json::json!(["app"]));

    let members = info["members"].as_array().unwrap();
    let names: Vec<&str> = members.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["app", "lib"]);
    assert_eq!(members[0]["uses_python"], true, "app reaches pyo3 through bindings");
    assert_eq!(members[1]["uses_python"], false);
    assert_eq!(members[0]["targets"][0]["kinds"], serde_json::json!(["bin"]));
    assert_eq!(Path::new(members[1]["manifest_dir"].as_str().unwrap()), ws.join("lib"));
}

#[test]
fn tools_are_found_past_a_too_old_copy_and_missing_ones_say_how_to_install() {
    let sandbox = Sandbox::new("tools");
    sandbox.fixture_workspace();
    // An sccache older than the minimum comes first on PATH; a good one sits in $CARGO_HOME/bin.
    sandbox.fake_tool("old-bin", "sccache", "0.4.0");
    let good = sandbox.fake_tool("cargo-home/bin", "sccache", "0.10.2");
    // With PATH cut down, cargo still needs rustc: name it directly.
    let rustc = toolchain_rustc();
    let run = |path: std::ffi::OsString| {
        let output = sandbox
            .command(XTASK, "ws")
            .args(["info", "--json"])
            .env("PATH", path)
            .env("RUSTC", &rustc)
            .output()
            .unwrap();
        assert_success(&output, "xtask info --json");
        let info: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        info["tools"].as_array().unwrap().iter().find(|t| t["name"] == "sccache").unwrap().clone()
    };

    // PATH holds only the old copy: a real sccache elsewhere on the machine must not interfere.
    let only_old = || std::env::join_paths([sandbox.path("old-bin")]).unwrap();
    let sccache = run(only_old());
    assert_eq!(sccache["version"], "0.10.2");
    assert_eq!(Path::new(sccache["path"].as_str().unwrap()), good);

    fs::remove_file(&good).unwrap();
    let sccache = run(only_old());
    let error = sccache["error"].as_str().unwrap();
    assert!(error.contains("is version 0.4.0, older than the minimum 0.7.7"), "{error}");
    assert!(error.contains("cargo install sccache --locked"), "{error}");

    let sccache = run(std::env::join_paths([sandbox.path("home")]).unwrap());
    let error = sccache["error"].as_str().unwrap();
    assert!(error.contains("`sccache` was not found"), "{error}");
    assert!(error.contains("Install it with: cargo install sccache --locked"), "{error}");
}

/// Names that `cargo run` and `cargo llvm-cov` put into the xtask's environment and that no child
/// of the xtask may see.
fn injected(key: &str) -> bool {
    ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_LLVM_COV", "__CARGO_LLVM_COV"].iter().any(|p| key.starts_with(p))
        || ["CARGO_CRATE_NAME", "CARGO_BIN_NAME", "CARGO_PRIMARY_PACKAGE", "LLVM_PROFILE_FILE"].contains(&key)
}

/// The environments the fake sccache saw, one map per run.
fn logged_environments(log: &Path) -> Vec<Vec<(String, String)>> {
    let log = fs::read_to_string(log).unwrap_or_default();
    log.split("---\n")
        .filter(|run| !run.trim().is_empty())
        .map(|run| run.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
        .collect()
}

fn assert_clean(environments: &[Vec<(String, String)>], how: &str) {
    assert!(!environments.is_empty(), "{how}: the fake sccache never ran");
    for env in environments {
        let leaked: Vec<&String> = env.iter().map(|(k, _)| k).filter(|k| injected(k)).collect();
        assert!(leaked.is_empty(), "{how}: the child saw {leaked:?}");
        assert!(env.iter().any(|(k, v)| k == "XTASK_E2E_MARK" && v == "kept"), "{how}: the user's variables must pass");
        if let Some((_, wrapper)) = env.iter().find(|(k, _)| k == "RUSTC_WRAPPER") {
            assert!(!wrapper.contains("cargo-llvm-cov"), "{how}: the child got llvm-cov's wrapper {wrapper}");
        }
    }
}

/// The xtask started the way users start it (`cargo run`, through the `cargo xtask` alias) and
/// inside a real `cargo llvm-cov run`: the children it starts see neither run's variables.
#[test]
fn children_get_a_clean_environment_under_cargo_run_and_cargo_llvm_cov() {
    let sandbox = Sandbox::new("child-env");
    sandbox.fixture_workspace();
    sandbox.fake_tool("bin", "sccache", "0.10.2");
    let log = sandbox.path("bin/env.log");
    let manifest = repo_root().join("Cargo.toml");
    // The user's cargo home: building the xtask needs its registry cache. Only HOME is faked.
    let cargo_home = std::env::var_os("CARGO_HOME").unwrap_or_else(|| home_dir().join(".cargo").into_os_string());
    let target_dir = sandbox.path("xtask-target");
    let isolated = |program: &str| {
        let mut cmd = sandbox.command(program, "ws");
        cmd.env("CARGO_HOME", &cargo_home)
            .env("CARGO_TARGET_DIR", &target_dir)
            .env("PATH", path_with(&sandbox.path("bin")))
            .env("XTASK_E2E_MARK", "kept");
        cmd
    };

    let output = isolated(&cargo())
        .args(["run", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .args(["--package", env!("CARGO_PKG_NAME"), "--", "info"])
        .output()
        .unwrap();
    assert_success(&output, "cargo run -p xtask -- info");
    assert_clean(&logged_environments(&log), "under `cargo run`");
    fs::remove_file(&log).unwrap();

    require_cargo_llvm_cov();
    let mut cmd = isolated(&cargo());
    // This test may itself run under cargo-llvm-cov; the nested run must start fresh.
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(injected) {
            cmd.env_remove(key);
        }
    }
    let output = cmd
        .args(["llvm-cov", "run", "--no-report", "--manifest-path"])
        .arg(&manifest)
        .args(["--package", env!("CARGO_PKG_NAME"), "--", "info"])
        .output()
        .unwrap();
    assert_success(&output, "cargo llvm-cov run -p xtask -- info");
    // Proof that the xtask really ran instrumented: it wrote a coverage profile.
    let profiles = fs::read_dir(target_dir.join("llvm-cov-target"))
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().extension().is_some_and(|ext| ext == "profraw"))
        .count();
    assert!(profiles > 0, "cargo llvm-cov left no .profraw: the xtask did not run under it");
    assert_clean(&logged_environments(&log), "under `cargo llvm-cov run`");
}
