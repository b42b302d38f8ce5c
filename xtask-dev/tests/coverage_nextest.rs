//! `coverage --nextest`: the tests run by cargo-nextest, which `cargo dev ci` installs (the
//! coverage task does not, so the adopted suites leave this out).

#[path = "../../xtask/tests/support/mod.rs"]
mod support;

use support::*;

#[test]
fn nextest_runs_the_tests_and_the_figures_are_the_same() {
    require_tool("cargo-nextest", &["nextest", "--version"], "cargo install cargo-nextest --locked");
    let sandbox = Sandbox::new("cov-nextest");
    sandbox.coverage_workspace("");
    let output = coverage_xtask(&sandbox)
        .args(["coverage-fast", "--mode", "lcov", "--nextest", "--no-sccache"])
        .output()
        .unwrap();
    assert_success(&output, "xtask coverage-fast --nextest --no-sccache");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("cargo-llvm-cov llvm-cov nextest --no-fail-fast"), "{stderr}");
    let stdout = text(&output.stdout);
    assert_eq!(row(&stdout, "calc").as_deref(), Some(&CALC_ROW[..]), "{stdout}");
    assert!(row(&stdout, "app").is_some() && row(&stdout, "slow").is_none(), "{stdout}");
}
