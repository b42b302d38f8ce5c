//! The bench's smoke test: the cheapest scenario, one pair, every JSON field present.

#[path = "../../xtask/tests/support/mod.rs"]
mod support;

use std::process::Command;

use support::*;

#[test]
fn the_cheapest_scenario_reports_every_field() {
    let output = Command::new(XTASK)
        .current_dir(repo_root())
        .args(["bench", "xtask-build", "--runs", "1", "--json"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_success(&output, "xtask bench xtask-build --runs 1 --json");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for key in ["date", "cores", "os", "rustc", "sccache", "cargo-llvm-cov"] {
        assert!(report["machine"][key].is_string(), "machine.{key} in {report:#}");
    }
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "the cold build against its dependencies, and the warm help: {report:#}");
    for result in results {
        assert_eq!(result["scenario"], "xtask-build");
        for key in ["label", "seconds", "median", "min", "max"] {
            assert!(!result["measured"][key].is_null(), "measured.{key} in {result:#}");
        }
        assert!(result["measured"]["median"].as_f64().unwrap() > 0.0);
        assert!(result["checks"].as_array().is_some_and(|checks| !checks.is_empty()), "{result:#}");
        assert!(result["pass"].is_boolean());
    }
    assert!(results[0]["ratio"].as_f64().unwrap() > 1.0, "xtask builds more than its dependencies alone: {report:#}");
    assert!(results[1]["baseline"].is_null());
}

#[test]
fn an_unknown_scenario_is_a_usage_error() {
    let output = Command::new(XTASK).current_dir(repo_root()).args(["bench", "warp-speed"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("unknown scenario `warp-speed`") && stderr.contains("sccache-rebuild"), "{stderr}");
}
