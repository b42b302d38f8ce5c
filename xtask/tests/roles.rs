//! The xtask's two roles besides the task runner, each driven by its real caller: cargo runs it
//! as the rustc wrapper, cargo-llvm-cov as `llvm-cov`. The contracts are in `src/roles.rs`.

mod support;

use std::{path::PathBuf, process::Command};

use support::{Sandbox, XTASK, assert_success, cargo, read, records, require_cargo_llvm_cov, text};

const USER_WRAPPER: &str = "the-users-own-wrapper";

#[test]
fn cargo_runs_sccache_through_the_wrapper_untouched_and_explains_records_each_compilation() {
    let sandbox = Sandbox::new("role-wrapper");
    sandbox.fixture_workspace();
    // Stands in for sccache: logs what it is given and runs the compiler.
    let sccache = sandbox.recorder("bin", "sccache-wrapper");
    let record_dir = sandbox.path("records");
    std::fs::create_dir_all(&record_dir).unwrap();
    let output = sandbox
        .users_command(cargo(), "ws")
        .args(["build", "--quiet"])
        .env("RUSTC_WRAPPER", XTASK)
        .env("__XTASK_WRAPPER_SCCACHE", &sccache)
        .env("__XTASK_WRAPPER_USER_RUSTC_WRAPPER", USER_WRAPPER)
        .env("__XTASK_EXPLAIN_RECORDS", &record_dir)
        .output()
        .unwrap();
    assert_success(&output, "cargo build with the xtask as its rustc wrapper");

    let calls = records(&sandbox.path("bin/sccache-wrapper.log"));
    // app, lib, bindings, pyo3; cargo's probes (`--print`, source from stdin) are no compilations.
    let compilations: Vec<_> = calls
        .iter()
        .filter(|call| call.args.iter().any(|arg| arg == "--crate-name"))
        .filter(|call| !call.args.iter().any(|arg| arg == "-" || arg.starts_with("--print")))
        .collect();
    assert_eq!(compilations.len(), 4, "{calls:#?}");
    for call in &calls {
        assert!(call.args[0].contains("rustc"), "sccache gets the compiler first: {:?}", call.args);
        assert_eq!(call.var("RUSTC_WRAPPER"), Some(USER_WRAPPER), "the user's wrapper is given back");
        let marks: Vec<_> = call.env.iter().filter(|(name, _)| name.starts_with("__XTASK_")).collect();
        assert!(marks.is_empty(), "the wrapper's own variables reach sccache: {marks:?}");
    }
    for call in &compilations {
        assert!(call.var("CARGO_PKG_NAME").is_some(), "cargo's variables pass through: {call:?}");
    }

    let written: Vec<serde_json::Value> = std::fs::read_dir(&record_dir)
        .unwrap()
        .map(|entry| serde_json::from_str(&read(&entry.unwrap().path())).unwrap())
        .collect();
    assert_eq!(written.len(), compilations.len(), "one record per compilation, none for cargo's probes");
    let mut packages: Vec<&str> =
        written.iter().map(|record| record["env"]["CARGO_PKG_NAME"].as_str().unwrap()).collect();
    packages.sort();
    assert_eq!(packages, ["app", "bindings", "lib", "pyo3"]);
    for record in &written {
        assert_eq!(record["exit_code"], 0, "{record}");
        assert!(record["compiler"].as_str().unwrap().contains("rustc"), "{record}");
        assert!(record["args"].as_array().unwrap().iter().any(|arg| arg == "--crate-name"), "{record}");
    }
}

#[test]
fn a_failing_compilation_keeps_its_exit_code_through_the_wrapper() {
    let sandbox = Sandbox::new("role-wrapper-fails");
    sandbox.fixture_workspace();
    sandbox.write("ws/lib/src/lib.rs", "pub fn broken() -> u8 { \"not a number\" }\n");
    let sccache = sandbox.recorder("bin", "sccache-wrapper");
    let output = sandbox
        .users_command(cargo(), "ws")
        .args(["build", "--quiet", "-p", "lib"])
        .env("RUSTC_WRAPPER", XTASK)
        .env("__XTASK_WRAPPER_SCCACHE", &sccache)
        .output()
        .unwrap();
    assert!(!output.status.success(), "a type error must fail the build");
    assert!(text(&output.stderr).contains("mismatched types"), "rustc's own message: {}", text(&output.stderr));
}

/// The toolchain's own `llvm-cov`, the one cargo-llvm-cov would run.
fn real_llvm_cov() -> PathBuf {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = text(&Command::new(&rustc).arg("-vV").output().unwrap().stdout);
    let host = version.lines().find_map(|line| line.strip_prefix("host: ")).unwrap().to_owned();
    let sysroot = text(&Command::new(&rustc).args(["--print", "sysroot"]).output().unwrap().stdout);
    let llvm_cov = PathBuf::from(sysroot.trim())
        .join("lib/rustlib")
        .join(host)
        .join("bin")
        .join(format!("llvm-cov{}", std::env::consts::EXE_SUFFIX));
    assert!(
        llvm_cov.exists(),
        "{} is missing; install it with: rustup component add llvm-tools-preview",
        llvm_cov.display()
    );
    llvm_cov
}

/// LCOV's `LF`/`LH` totals.
fn lcov_lines(lcov: &str) -> (u64, u64) {
    let total = |key: &str| lcov.lines().filter_map(|line| line.strip_prefix(key)?.parse::<u64>().ok()).sum();
    (total("LF:"), total("LH:"))
}

#[test]
fn cargo_llvm_cov_gets_its_report_from_the_stand_in_and_the_summary_has_the_same_figures() {
    require_cargo_llvm_cov();
    let sandbox = Sandbox::new("role-llvm-cov");
    sandbox.coverage_workspace("");
    let lcov = sandbox.path("out/lcov.info");
    let summary = sandbox.path("out/summary.json");
    std::fs::create_dir_all(sandbox.path("out")).unwrap();
    let output = sandbox
        .users_command(cargo(), "ws")
        .args(["llvm-cov", "--quiet", "-p", "calc", "--lcov", "--output-path"])
        .arg(&lcov)
        .env("LLVM_COV", XTASK)
        .env("XTASK_COVERAGE_REAL_LLVM_COV", real_llvm_cov())
        .env("XTASK_COVERAGE_SUMMARY_FILE", &summary)
        .output()
        .unwrap();
    assert_success(&output, "cargo llvm-cov with the xtask as its llvm-cov");

    let lcov = read(&lcov);
    assert!(lcov.contains("calc/src/lib.rs"), "the report cargo-llvm-cov asked for:\n{lcov}");
    let json: serde_json::Value = serde_json::from_str(&read(&summary)).unwrap();
    let totals = &json["data"][0]["totals"]["lines"];
    assert_eq!(
        (totals["count"].as_u64().unwrap(), totals["covered"].as_u64().unwrap()),
        lcov_lines(&lcov),
        "the summary counts what the report counts"
    );
}
