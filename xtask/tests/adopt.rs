//! End-to-end tests of `adopt`: this xtask copied into fixture workspaces of our own, then run
//! there through the alias it added, as users would.

mod support;

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    process::Output,
};

use support::*;

/// Every file under `dir` and its bytes, to show that a refusal changed nothing.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, found: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found)
            } else {
                found.insert(path.clone(), fs::read(&path).unwrap());
            }
        }
    }
    let mut found = BTreeMap::new();
    walk(dir, &mut found);
    found
}

fn adopt(sandbox: &Sandbox, args: &[&str]) -> Output {
    sandbox.command(XTASK, "home").arg("adopt").args(args).output().unwrap()
}

/// A host with a root package and one member, a commented members list, an alias of its own
/// and a rustfmt.toml that would reformat the xtask.
fn host(sandbox: &Sandbox) -> PathBuf {
    sandbox.write(
        "host/Cargo.toml",
        "[package]\nname = \"host\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [workspace]\nmembers = [\n    \"crates/*\", # every crate\n]\n",
    );
    sandbox.write("host/src/main.rs", "fn main() {}\n");
    sandbox.write("host/crates/one/Cargo.toml", "[package]\nname = \"one\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    sandbox.write("host/crates/one/src/lib.rs", "");
    sandbox.write("host/.cargo/config.toml", "# ours\n[alias]\nb = \"build\"\n");
    sandbox.write("host/rustfmt.toml", "max_width = 60\nhard_tabs = true\n");
    sandbox.write("host/.gitignore", "/target\n");
    sandbox.path("host")
}

/// The copy's directory and package: this package's name, `xtask` unless the workspace that
/// holds this copy renamed it.
const NAME: &str = env!("CARGO_PKG_NAME");

#[test]
fn adopt_copies_the_crate_adds_member_and_alias_and_the_xtask_runs_there() {
    let sandbox = Sandbox::new("adopt");
    let host = host(&sandbox);
    let dry = adopt(&sandbox, &[host.to_str().unwrap(), "--dry-run"]);
    assert_success(&dry, "adopt --dry-run");
    assert!(!host.join(NAME).exists(), "--dry-run copied something");
    assert!(text(&dry.stdout).contains(&format!("add \"{NAME}\" to workspace.members")), "{}", text(&dry.stdout));

    let output = adopt(&sandbox, &[host.to_str().unwrap()]);
    assert_success(&output, "adopt");
    assert_eq!(
        fs::read_to_string(host.join("Cargo.toml")).unwrap(),
        "[package]\nname = \"host\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [workspace]\nmembers = [\n    \"crates/*\", # every crate\n    \"xtask\",\n]\n"
            .replace("\"xtask\"", &format!("\"{NAME}\""))
    );
    let config = fs::read_to_string(host.join(".cargo/config.toml")).unwrap();
    assert!(
        config.starts_with(&format!("# ours\n[alias]\nb = \"build\"\nxtask = [\"run\", \"--package\", \"{NAME}\"")),
        "{config}"
    );
    assert!(host.join(NAME).join("src/main.rs").is_file() && host.join(NAME).join("rustfmt.toml").is_file());
    assert_eq!(fs::read_to_string(host.join(".gitignore")).unwrap(), "/target\n/lcov.info\n");
    assert!(text(&output.stdout).contains("cargo xtask doctor"), "{}", text(&output.stdout));

    // The alias this repository uses (whatever its name) is the one adopt writes.
    let ours = fs::read_to_string(repo_root().join(".cargo/config.toml")).unwrap();
    let value = config.lines().find_map(|line| line.strip_prefix("xtask = ")).unwrap();
    assert!(ours.lines().any(|ours| ours.split_once(" = ").is_some_and(|(_, ours)| ours == value)), "{value}");

    // Built offline from this machine's registry, the copy runs there, sees the host's members,
    // and leaves itself out of coverage; the host's rustfmt.toml does not reformat it.
    let cargo_home = std::env::var_os("CARGO_HOME").map_or_else(|| home_dir().join(".cargo"), Into::into);
    let mut info = sandbox.command(cargo(), "host");
    info.args(["xtask", "info", "--json"]).env("CARGO_HOME", &cargo_home).env("CARGO_NET_OFFLINE", "true");
    let info = info.output().unwrap();
    assert_success(&info, "cargo xtask info in the host");
    let json: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    let members: Vec<&str> = json["members"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(members, ["host", "one", NAME], "{json:#}");
    let fmt = sandbox
        .command(cargo(), "host")
        .args(["fmt", "-p", NAME, "--check"])
        .env("CARGO_HOME", &cargo_home)
        .output()
        .unwrap();
    assert_success(&fmt, "cargo fmt --check of the copy, under the host's rustfmt.toml");
    let dry_coverage = sandbox
        .command(cargo(), "host")
        .args(["xtask", "coverage", "--dry-run"])
        .env("CARGO_HOME", &cargo_home)
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .unwrap();
    let plan = text(&dry_coverage.stdout);
    assert!(
        plan.contains("-p host -p one") && !plan.contains(&format!("-p {NAME}")),
        "{plan}\n{}",
        text(&dry_coverage.stderr)
    );

    // A second adoption finds the directory taken, and changes nothing.
    let before = snapshot(&host);
    let again = adopt(&sandbox, &[host.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again.stderr));
    assert!(text(&again.stderr).contains("--name xtask-ci"), "{}", text(&again.stderr));
    assert_eq!(snapshot(&host), before);
}

#[test]
fn an_alias_of_that_name_that_runs_something_else_is_refused_and_another_name_works() {
    let sandbox = Sandbox::new("adopt-alias");
    let host = host(&sandbox);
    sandbox.write("host/.cargo/config.toml", "[alias]\nxtask = \"run --manifest-path ./tools/Cargo.toml --\"\n");
    let before = snapshot(&host);
    let refused = adopt(&sandbox, &[host.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("already has the alias `xtask`"), "{}", text(&refused.stderr));
    assert_eq!(snapshot(&host), before, "a refusal changes nothing");

    let named = adopt(&sandbox, &[host.to_str().unwrap(), "--name", "xtask-ci", "--alias", "xtask-ci"]);
    assert_success(&named, "adopt --name xtask-ci --alias xtask-ci");
    let config = fs::read_to_string(host.join(".cargo/config.toml")).unwrap();
    assert!(
        config.contains(
            "xtask = \"run --manifest-path ./tools/Cargo.toml --\"\nxtask-ci = [\"run\", \"--package\", \"xtask-ci\""
        ),
        "{config}"
    );
    assert!(fs::read_to_string(host.join("xtask-ci/Cargo.toml")).unwrap().contains("name = \"xtask-ci\""));
    for bad in [&["--name", "../up"][..], &["--alias", "two words"]] {
        let output = adopt(&sandbox, &[&[host.to_str().unwrap()][..], bad].concat());
        assert_eq!(output.status.code(), Some(2), "{bad:?}: {}", text(&output.stderr));
    }
    let missing = adopt(&sandbox, &[sandbox.path("nowhere").to_str().unwrap()]);
    assert!(text(&missing.stderr).contains("is not a directory that exists"), "{}", text(&missing.stderr));
}
