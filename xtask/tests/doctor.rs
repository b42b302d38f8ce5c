//! End-to-end tests of `doctor`: each finding produced in a sandbox that has that problem, with
//! the real tools, its own HOME, CARGO_HOME, sccache config file and sccache port (on which no
//! server runs unless the test starts its own).

mod support;

use std::{
    fs,
    io::Read,
    net::TcpListener,
    process::{Command, Output},
};

use serde_json::Value;
use support::*;

/// A sandbox with a fixture workspace and an sccache of its own: config file and port. Builds
/// through the wrapper, `cargo metadata` included, start that server; it stops before the sandbox
/// goes.
struct Fixture {
    sccache: Sccache,
    sandbox: Sandbox,
}

impl Fixture {
    /// The fixture workspace: `app` reaches a package named `pyo3`; builds go to `../shared-target`.
    fn new(name: &str) -> Fixture {
        Fixture::with(name, Sandbox::fixture_workspace)
    }

    fn with(name: &str, workspace: impl FnOnce(&Sandbox)) -> Fixture {
        require_cargo_llvm_cov();
        let sandbox = Sandbox::new(name);
        workspace(&sandbox);
        Fixture { sccache: Sccache::new(&sandbox), sandbox }
    }

    fn path(&self, relative: &str) -> std::path::PathBuf {
        self.sandbox.path(relative)
    }
}

/// `doctor` in the fixture's workspace, with no rustc wrapper and sccache's default cache
/// directory (in the sandbox's home), talking to no server but the fixture's.
fn doctor(fixture: &Fixture, args: &[&str]) -> Command {
    let mut cmd = fixture.sandbox.command(XTASK, "ws");
    fixture.sccache.configure(&mut cmd).env_remove("RUSTC_WRAPPER").env_remove("SCCACHE_DIR").arg("doctor").args(args);
    cmd
}

/// The findings of `doctor --json`, and its exit code.
fn findings(cmd: &mut Command) -> (Vec<Value>, Option<i32>, Output) {
    let output = cmd.arg("--json").output().unwrap();
    let json: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}\n{}", text(&output.stdout), text(&output.stderr)));
    (json["findings"].as_array().unwrap().clone(), output.status.code(), output)
}

/// The one finding of `group` whose text contains `needle`.
fn find<'a>(findings: &'a [Value], group: &str, needle: &str) -> &'a Value {
    let matching: Vec<&Value> =
        findings.iter().filter(|f| f["group"] == group && f["what"].as_str().unwrap().contains(needle)).collect();
    assert_eq!(matching.len(), 1, "one {group} finding with {needle:?} in {findings:#?}");
    matching[0]
}

fn assert_level(finding: &Value, level: &str, fix: Option<&str>) {
    assert_eq!(finding["level"], level, "{finding:#}");
    match fix {
        Some(fix) => assert!(finding["fix"].as_str().unwrap().contains(fix), "{finding:#}"),
        None => assert_eq!(finding["fix"], Value::Null, "{finding:#}"),
    }
}

#[test]
fn a_healthy_setup_prints_each_group_with_ok_lines_and_exits_0() {
    let fixture = Fixture::new("doctor-healthy");
    let output = doctor(&fixture, &[]).env("RUSTC_WRAPPER", "sccache").output().unwrap();
    assert_success(&output, "doctor");
    let stdout = text(&output.stdout);
    let headings: Vec<&str> = stdout.lines().filter(|line| !line.starts_with(' ') && !line.is_empty()).collect();
    assert_eq!(headings[..4], ["toolchain", "sccache", "coverage", "disk"], "{stdout}");
    let cargo = Command::new(cargo()).arg("-V").output().unwrap();
    assert!(stdout.contains(&format!("  ok     {}", text(&cargo.stdout).trim())), "{stdout}");
    assert!(stdout.contains("  ok     rustc "), "{stdout}");
    assert!(stdout.contains("  ok     rustc wrapper sccache (from the RUSTC_WRAPPER variable)"), "{stdout}");
    assert!(stdout.contains("  ok     cargo-llvm-cov "), "{stdout}");
    assert!(stdout.contains("shared library in"), "the fixture reaches pyo3, so Python is checked: {stdout}");
    assert!(stdout.contains("\n0 errors, "), "{stdout}");
    assert!(!stdout.contains('\x1b'), "no colour without a terminal: {stdout}");
}

#[test]
fn a_global_cargo_target_dir_is_named_with_its_source_and_its_coverage_share() {
    let fixture = Fixture::new("doctor-target-dir");
    // Another project's coverage build in the shared directory: 1 MiB of profiles.
    fixture.sandbox.write("global-target/CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n");
    fixture.sandbox.write("global-target/llvm-cov-target/other-1.profraw", &"x".repeat(1 << 20));
    let global = fixture.path("global-target");
    let (findings, code, _) =
        findings(doctor(&fixture, &[]).env("RUSTC_WRAPPER", "sccache").env("CARGO_TARGET_DIR", &global));
    assert_eq!(code, Some(0), "warnings only: {findings:#?}");
    let sccache = find(&findings, "sccache", "CARGO_TARGET_DIR=");
    assert_level(sccache, "warn", Some("set build.target-dir in a cargo config file instead"));
    let disk = find(&findings, "disk", &format!("target dir {}", global.display()));
    assert_level(disk, "ok", None);
    let what = disk["what"].as_str().unwrap();
    assert!(what.contains("set by the CARGO_TARGET_DIR environment variable; shared: outside the workspace"), "{what}");
    assert!(what.contains(": coverage 1.0 MiB"), "{what}");
}

#[test]
fn the_target_dir_from_a_config_file_is_named_and_measured() {
    let fixture = Fixture::new("doctor-config-target-dir");
    let (findings, _, _) = findings(&mut doctor(&fixture, &[]));
    let disk = find(&findings, "disk", "target dir ");
    let what = disk["what"].as_str().unwrap();
    assert!(what.contains("does not exist yet"), "nothing was built: {what}");
    assert!(what.contains(&format!("set by build.target-dir in {}", fixture.path("ws/.cargo/config.toml").display())));
}

#[test]
fn wrappers_in_the_wrong_places_are_named_with_their_files() {
    let fixture = Fixture::new("doctor-env-wrapper");
    let config = fixture.path("ws/.cargo/config.toml");
    fixture.sandbox.write(
        "ws/.cargo/config.toml",
        "[build]\ntarget-dir = \"../shared-target\"\nrustc-wrapper = \"sccache\"\n\n[env]\nRUSTC_WRAPPER = \"sccache\"\n",
    );
    let (findings, code, _) = findings(&mut doctor(&fixture, &[]));
    assert_eq!(code, Some(0), "{findings:#?}");
    let config = config.display().to_string();
    let env_table = find(&findings, "sccache", "sets RUSTC_WRAPPER under [env]");
    assert_level(env_table, "warn", Some(&format!("remove it from [env] in {config}")));
    let committed = find(&findings, "sccache", "inside the workspace, sets build.rustc-wrapper");
    assert_level(committed, "warn", Some(&format!("remove build.rustc-wrapper from {config}")));
    assert_level(find(&findings, "sccache", &format!("rustc wrapper sccache (from {config})")), "ok", None);
}

#[test]
fn a_wrapper_that_does_not_exist_is_an_error_and_exit_1() {
    let fixture = Fixture::new("doctor-missing-wrapper");
    let missing = fixture.path("nowhere/sccache");
    let (findings, code, output) = findings(doctor(&fixture, &[]).env("RUSTC_WRAPPER", &missing));
    assert_eq!(code, Some(1), "{findings:#?}");
    let wrapper =
        find(&findings, "sccache", &format!("the rustc wrapper {} (from the RUSTC_WRAPPER", missing.display()));
    assert_level(wrapper, "error", Some("cargo xtask setup-sccache"));
    // The xtask reads the workspace without the wrapper, so the rest of the findings are there.
    assert!(findings.iter().all(|f| f["group"] != "workspace" || f["level"] == "ok"), "{findings:#?}");
    assert!(findings.iter().any(|f| f["group"] == "coverage"), "{findings:#?}");
    assert!(text(&output.stderr).contains("doctor found 1 problem that makes a task fail"), "{}", text(&output.stderr));
}

#[test]
fn incremental_compilation_with_sccache_is_an_error() {
    let fixture = Fixture::new("doctor-incremental");
    let (findings, code, _) =
        findings(doctor(&fixture, &[]).env("RUSTC_WRAPPER", "sccache").env("CARGO_INCREMENTAL", "1"));
    assert_eq!(code, Some(1), "{findings:#?}");
    let incremental = find(&findings, "sccache", "CARGO_INCREMENTAL=1: sccache refuses");
    assert_level(incremental, "error", Some("unset CARGO_INCREMENTAL"));
}

#[test]
fn missing_tools_are_errors_or_warnings_naming_the_install_command() {
    let fixture = Fixture::new("doctor-missing-tools");
    // Only an empty directory on PATH: cargo is $CARGO, rustc is named directly, and no sccache,
    // cargo-llvm-cov, cargo-nextest, rustup or Python is found anywhere.
    fs::create_dir_all(fixture.path("empty-bin")).unwrap();
    let mut cmd = doctor(&fixture, &[]);
    cmd.env("PATH", fixture.path("empty-bin")).env("RUSTC", toolchain_rustc());
    for var in ["PYO3_PYTHON", "VIRTUAL_ENV", "CONDA_PREFIX"] {
        cmd.env_remove(var);
    }
    let (findings, code, _) = findings(&mut cmd);
    assert_eq!(code, Some(1), "{findings:#?}");
    assert_level(find(&findings, "sccache", "`sccache` was not found"), "error", Some("cargo xtask setup-sccache"));
    assert_level(
        find(&findings, "coverage", "`cargo-llvm-cov` was not found"),
        "error",
        Some("cargo install cargo-llvm-cov --locked"),
    );
    assert_level(
        find(&findings, "coverage", "`cargo-nextest` was not found"),
        "warn",
        Some("cargo install cargo-nextest --locked"),
    );
    assert_level(
        find(&findings, "coverage", "no nightly toolchain"),
        "warn",
        Some("rustup toolchain install nightly --component llvm-tools-preview"),
    );
    let python = find(&findings, "coverage", "`python3` was not found");
    assert_eq!(python["level"], "error", "{python:#}");
    assert_level(find(&findings, "sccache", "no rustc wrapper"), "warn", Some("cargo xtask setup-sccache"));
    // The llvm-tools live in the toolchain, which RUSTC names.
    assert_level(find(&findings, "coverage", "llvm-cov "), "ok", None);
}

#[test]
fn variables_left_by_cargo_llvm_cov_show_env_are_named() {
    let fixture = Fixture::new("doctor-llvm-cov-leftovers");
    let (findings, code, _) = findings(
        doctor(&fixture, &[])
            .env("CARGO_LLVM_COV_TARGET_DIR", fixture.path("elsewhere"))
            .env("LLVM_PROFILE_FILE", fixture.path("elsewhere/%p.profraw")),
    );
    assert_eq!(code, Some(0), "{findings:#?}");
    let leftovers = find(&findings, "coverage", "CARGO_LLVM_COV_TARGET_DIR, LLVM_PROFILE_FILE are set");
    assert_level(leftovers, "warn", Some("unset CARGO_LLVM_COV_TARGET_DIR LLVM_PROFILE_FILE"));
}

#[test]
fn a_running_server_its_hit_rate_and_a_cache_other_than_configured() {
    let fixture = Fixture::new("doctor-server");
    let started = fixture.sccache.configure(&mut Command::new("sccache")).arg("--start-server").output().unwrap();
    assert_success(&started, "sccache --start-server");
    // The server runs with its own SCCACHE_DIR; this shell names another one.
    let other = fixture.path("other-cache");
    let (findings, code, _) = findings(doctor(&fixture, &[]).env("SCCACHE_DIR", &other));
    assert_eq!(code, Some(0), "{findings:#?}");
    let differs = find(&findings, "sccache", "the running server differs from the configuration");
    assert_level(differs, "warn", Some("cargo xtask setup-sccache start"));
    assert!(differs["what"].as_str().unwrap().contains(&format!("not {}", other.display())), "{differs:#}");
    assert_level(find(&findings, "sccache", "no cache lookups yet since the server started"), "ok", None);
    let overrides = find(&findings, "sccache", "SCCACHE_DIR=");
    assert_level(overrides, "warn", Some("unset SCCACHE_DIR"));
}

#[test]
fn another_program_on_the_sccache_port_is_named() {
    let fixture = Fixture::new("doctor-squatter");
    // It accepts a connection and hangs up without a word.
    let squatter = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = squatter.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in squatter.incoming().flatten() {
            let _ = (&stream).read(&mut [0; 64]);
        }
    });
    let (findings, _, _) = findings(doctor(&fixture, &[]).env("SCCACHE_SERVER_PORT", port.to_string()));
    let squatted = find(&findings, "sccache", &format!("127.0.0.1:{port} answers, but not as an sccache server"));
    assert_level(squatted, "warn", Some("SCCACHE_SERVER_PORT"));
}

#[test]
fn a_cache_limit_beyond_the_free_space_is_a_warning() {
    let fixture = Fixture::new("doctor-cache-limit");
    fixture.sandbox.write("sccache/config", "[cache.disk]\nsize = 1099511627776000\n");
    let (findings, _, _) = findings(&mut doctor(&fixture, &[]));
    let limit = find(&findings, "disk", "sccache cache ");
    assert_level(limit, "warn", Some("cargo xtask setup-sccache clear"));
    assert!(limit["what"].as_str().unwrap().contains("free there"), "{limit:#}");
}

#[test]
fn the_coverage_smoke_test_reports_percentages_and_failing_tests() {
    let fixture = Fixture::with("doctor-coverage", |sandbox| sandbox.coverage_workspace(""));
    // `app` is the first crate coverage-fast measures; its test `fails_when_asked` fails on demand.
    let (failing, code, _) = findings(doctor(&fixture, &["--coverage"]).env("FIXTURE_FAIL", "1"));
    assert_eq!(code, Some(1), "{failing:#?}");
    let smoke = find(&failing, "coverage", "coverage smoke test of `app`");
    assert_level(smoke, "error", Some("cargo xtask coverage -p app --mode text"));
    assert!(smoke["what"].as_str().unwrap().ends_with("its tests failed"), "{smoke:#}");

    let (passing, _, _) = findings(&mut doctor(&fixture, &["--coverage"]));
    let smoke = find(&passing, "coverage", "coverage smoke test of `app`: lines ");
    assert_level(smoke, "ok", None);
    assert!(smoke["what"].as_str().unwrap().contains("lines 100.0%, functions 100.0%"), "{smoke:#}");
    assert!(!fixture.path("ws/lcov.info").exists(), "the smoke test writes no report");
}

/// `cargo xtask doctor`, through the workspace's alias, as users type it, in the workspace that
/// holds this xtask, where the environment breaks every build through the rustc wrapper. The
/// xtask builds into the sandbox from the registry already on this machine (offline), without
/// the wrapper, and says what is wrong.
#[test]
fn cargo_xtask_doctor_runs_and_names_the_problem_when_the_wrapper_breaks_every_build() {
    require_tool("sccache", &["--version"], "cargo install sccache --locked");
    let sandbox = Sandbox::new("doctor-broken-wrapper");
    let closed_port = free_loopback_port();
    sandbox.write("sccache/config", &format!("[cache.redis]\nendpoint = \"redis://127.0.0.1:{closed_port}\"\n"));
    let cargo_home = std::env::var_os("CARGO_HOME").map_or_else(|| home_dir().join(".cargo"), Into::into);
    // The workspace's alias for this xtask: `xtask` here, another name where `adopt --alias` gave one.
    let config = fs::read_to_string(repo_root().join(".cargo/config.toml")).unwrap();
    let runs_this = format!("\"--package\", \"{}\"", env!("CARGO_PKG_NAME"));
    let alias = config
        .lines()
        .find_map(|line| line.split_once(" = [").filter(|(_, rest)| rest.contains(&runs_this)).map(|(name, _)| name))
        .expect("the workspace's .cargo/config.toml has an alias that runs this xtask")
        .to_owned();
    let doctor = |vars: &[(&str, &std::ffi::OsStr)]| {
        let mut cmd = sandbox.command(cargo(), "home");
        cmd.current_dir(repo_root())
            .args([alias.as_str(), "doctor"])
            .env("CARGO_HOME", &cargo_home)
            .env("CARGO_NET_OFFLINE", "true")
            .env("CARGO_TARGET_DIR", sandbox.path("target"))
            .env("SCCACHE_SERVER_PORT", free_loopback_port().to_string())
            .env("SCCACHE_CONF", sandbox.path("sccache/empty-config"))
            .env("SCCACHE_DIR", sandbox.path("sccache/cache"));
        cmd.envs(vars.iter().copied());
        findings(&mut cmd)
    };
    let sccache = std::ffi::OsString::from("sccache");

    let gone = sandbox.path("gone/sccache");
    let (found, code, output) = doctor(&[("CARGO_BUILD_RUSTC_WRAPPER", gone.as_os_str())]);
    assert_eq!(code, Some(1), "{}", text(&output.stderr));
    assert_level(find(&found, "sccache", "does not exist, so every cargo build fails"), "error", Some("setup-sccache"));

    let (found, code, output) =
        doctor(&[("CARGO_BUILD_RUSTC_WRAPPER", &sccache), ("CARGO_INCREMENTAL", std::ffi::OsStr::new("1"))]);
    assert_eq!(code, Some(1), "{}", text(&output.stderr));
    assert_level(find(&found, "sccache", "CARGO_INCREMENTAL=1"), "error", Some("unset CARGO_INCREMENTAL"));

    let conf = sandbox.path("sccache/config");
    let (found, code, output) = doctor(&[("CARGO_BUILD_RUSTC_WRAPPER", &sccache), ("SCCACHE_CONF", conf.as_os_str())]);
    assert_eq!(code, Some(1), "{}", text(&output.stderr));
    assert_level(find(&found, "sccache", "none can start"), "error", Some("bring the redis backend back"));
}
