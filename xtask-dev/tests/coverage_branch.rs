//! `coverage --branch`: branch coverage with the nightly toolchain, which `cargo dev ci`
//! installs (the coverage task does not, so the adopted suites leave this out).

#[path = "../../xtask/tests/support/mod.rs"]
mod support;

use support::*;

#[test]
fn branch_coverage_reaches_the_lcov_the_table_the_json_and_the_minimum_as_plain_cargo_llvm_covs() {
    require_tool(
        "rustup",
        &["run", "nightly", "llvm-cov", "--version"],
        "rustup toolchain install nightly --profile minimal --component llvm-tools-preview",
    );
    let sandbox = Sandbox::new("cov-branch");
    sandbox.walker_workspace();
    let output = coverage_xtask(&sandbox)
        .args(["coverage", "-p", "walker", "--mode", "lcov", "--branch", "--fail-under-branches", "100", "--json"])
        // The test that never reaches the loop's condition: its branches are there, not taken.
        .args(["--", "nothing_to_walk"])
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "the minimum is not met:\n{stderr}");
    assert!(stderr.contains("total: branches coverage"), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("--json prints JSON");
    let branches = &json["total"]["branches"];
    let (covered, count) = (branches["covered"].as_u64().unwrap(), branches["count"].as_u64().unwrap());
    assert!(count > 0 && covered < count, "{json}");
    let ours = read(&sandbox.path("ws/lcov.info"));
    let brda = ours.lines().filter(|line| line.starts_with("BRDA:")).count() as u64;
    assert_eq!(brda, count, "one BRDA record per branch:\n{ours}");

    let plain = sandbox
        .command("rustup", "ws")
        .args(["run", "nightly", "cargo", "llvm-cov", "-p", "walker", "--all-features", "--branch"])
        // As the xtask's run above has it (`coverage_xtask`): on nightly, a `CI` variable changes
        // the symbols' crate hashes, though not a count.
        .env_remove("CI")
        .args(["--lcov", "--output-path", "plain.lcov", "--", "nothing_to_walk"])
        .output()
        .unwrap();
    assert_success(&plain, "plain cargo +nightly llvm-cov --branch --lcov");
    assert_eq!(ours, read(&sandbox.path("ws/plain.lcov")), "the xtask's lcov differs from plain cargo-llvm-cov's");
}
