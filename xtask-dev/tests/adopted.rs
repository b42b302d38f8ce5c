//! Green on adoption: the xtask adopted into a workspace of someone else's, whose `cargo test
//! --workspace` then passes on a machine with only what the tasks install themselves. The
//! servers, Wine, nextest and Python tools this repository's CI provisions are hidden from it.

#[path = "../../xtask/tests/support/mod.rs"]
mod support;

use std::{
    fs,
    path::{Path, PathBuf},
};

use support::*;

/// What `cargo dev ci` provisions and a team adopting the xtask need not have.
const HIDDEN: &[&str] = &[
    "redis-server",
    "redis-cli",
    "memcached",
    "wine",
    "wine64",
    "wineserver",
    "npm",
    "npx",
    "node",
    "fish",
    "bwrap",
    "cargo-nextest",
    "action-validator",
    "zizmor",
    "wsgidav",
    "moto_server",
    "azurite",
    "x86_64-w64-mingw32-gcc",
    "python",
    "python3",
    "pip",
    "pip3",
];

/// A directory of links to every program on `PATH` but the hidden ones, first one found wins.
#[cfg(unix)]
fn path_without_provisioned(dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    for entry in std::env::split_paths(&std::env::var_os("PATH").unwrap()) {
        let Ok(programs) = fs::read_dir(&entry) else { continue };
        for program in programs.flatten() {
            let name = program.file_name();
            let hidden = name.to_str().is_none_or(|name| HIDDEN.contains(&name) || name.starts_with("python"));
            let link = dir.join(&name);
            if !hidden && link.symlink_metadata().is_err() {
                std::os::unix::fs::symlink(program.path(), link).unwrap();
            }
        }
    }
    dir.to_owned()
}

#[cfg(unix)]
#[test]
fn an_adopted_xtask_passes_its_tests_in_a_foreign_workspace() {
    let sandbox = Sandbox::new("adopted-green");
    sandbox.write(
        "host/Cargo.toml",
        "[package]\nname = \"host\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\nmembers = []\n",
    );
    sandbox.write(
        "host/src/lib.rs",
        "pub fn one() -> u8 {\n    1\n}\n\n#[test]\nfn works() {\n    assert_eq!(one(), 1);\n}\n",
    );
    let host = sandbox.path("host");
    let adopted = sandbox.command(XTASK, "home").arg("adopt").arg(&host).output().unwrap();
    assert_success(&adopted, "adopt");

    // Python 3 as a fresh interpreter has it: a venv of its own, with nothing installed.
    let venv = sandbox.path("python");
    let made = sandbox.command("python3", "home").args(["-m", "venv"]).arg(&venv).output().unwrap();
    assert_success(&made, "python3 -m venv (install python3-venv: sudo apt-get install python3-venv)");
    let bin = path_without_provisioned(&sandbox.path("bin"));
    let path = std::env::join_paths([venv.join("bin"), bin]).unwrap();

    // The user's own home, cargo home and toolchains, as their `cargo test` has them: the
    // adopted suites isolate themselves.
    let cargo_home = std::env::var_os("CARGO_HOME").map_or_else(|| home_dir().join(".cargo"), Into::into);
    let output = sandbox
        .users_command(cargo(), "host")
        .args(["test", "--workspace", "--quiet"])
        .env("PATH", &path)
        .env("HOME", home_dir())
        .env("USERPROFILE", home_dir())
        .env("CARGO_HOME", &cargo_home)
        .env("CARGO_TARGET_DIR", sandbox.path("target"))
        .env_remove("CI")
        .output()
        .unwrap();
    let stdout = text(&output.stdout);
    assert_success(&output, &format!("cargo test --workspace in the adopted workspace\n{stdout}"));
    // They ran: the copy's suites, not an empty set.
    let passed: usize = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert!(passed > 150, "only {passed} tests ran in the adopted workspace:\n{stdout}");
}
