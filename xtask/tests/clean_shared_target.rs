//! End-to-end tests of `cargo xtask clean-shared-target`: every refusal leaves the sandbox
//! exactly as it was, and the real cases run on target directories built by real cargo.

mod support;

use std::{
    collections::BTreeMap,
    fs,
    hash::{Hash, Hasher},
    path::{Path, PathBuf},
    process::{Command, Output},
    time::{Duration, SystemTime},
};

use serde_json::Value;
use support::*;

const TAG: &str =
    "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by cargo.\n";

/// A workspace `ws/` with two independent members (a library and a program, no dependencies,
/// so nothing downloads) and a `victim/` directory that must survive everything.
fn fixture(name: &str) -> Sandbox {
    let sandbox = Sandbox::new(&format!("clean-{name}"));
    sandbox.write("ws/Cargo.toml", "[workspace]\nresolver = \"3\"\nmembers = [\"alpha\", \"beta\"]\n");
    let package = |name: &str| format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n");
    sandbox.write("ws/alpha/Cargo.toml", &package("alpha"));
    sandbox.write("ws/alpha/src/lib.rs", "pub fn alpha() -> u32 {\n    1\n}\n");
    sandbox.write("ws/beta/Cargo.toml", &package("beta"));
    sandbox.write("ws/beta/src/main.rs", "fn main() {\n    println!(\"beta\");\n}\n");
    sandbox.write("victim/precious.txt", "keep me\n");
    sandbox.write("victim/inner/also.txt", "and me\n");
    // `cargo metadata` writes the lock file the first time; do that before any snapshot.
    let output = sandbox.command(cargo(), "ws").args(["metadata", "--format-version", "1"]).output().unwrap();
    assert_success(&output, "cargo metadata");
    sandbox
}

/// A directory that looks like a target directory made by cargo, with one build unit.
fn tagged_target(sandbox: &Sandbox, dir: &str) {
    sandbox.write(&format!("{dir}/CACHEDIR.TAG"), TAG);
    sandbox.write(&format!("{dir}/debug/.cargo-lock"), "");
    sandbox.write(&format!("{dir}/debug/deps/libalpha-0123456789abcdef.rlib"), "rlib bytes");
    sandbox.write(&format!("{dir}/debug/.fingerprint/alpha-0123456789abcdef/lib-alpha"), "fingerprint");
    // Plain `cargo metadata` writes `.rustc_info.json` into the workspace's own target directory,
    // as cargo does for a real one: let it, before any snapshot.
    let output = sandbox.command(cargo(), "ws").args(["metadata", "--format-version", "1"]).output().unwrap();
    assert_success(&output, "cargo metadata");
}

/// Every path under `dir` (links not followed) with its kind, and its contents or link target
/// hashed, leaving out `cargo-home` (cargo keeps its own locks there).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let metadata = fs::symlink_metadata(&path).unwrap();
        let what = if metadata.is_symlink() {
            format!("link to {}", fs::read_link(&path).unwrap().display())
        } else if metadata.is_dir() {
            for entry in fs::read_dir(&path).unwrap() {
                let entry = entry.unwrap();
                if entry.file_name() != "cargo-home" {
                    stack.push(entry.path());
                }
            }
            "dir".to_owned()
        } else if metadata.is_file() {
            let mut hasher = std::hash::DefaultHasher::new();
            fs::read(&path).unwrap().hash(&mut hasher);
            format!("file {} {:x}", metadata.len(), hasher.finish())
        } else {
            // A FIFO, socket or device: reading it could block.
            format!("special file {:?}", metadata.file_type())
        };
        found.insert(path.strip_prefix(dir).unwrap().to_path_buf(), what);
    }
    found
}

fn assert_unchanged(before: &BTreeMap<PathBuf, String>, after: &BTreeMap<PathBuf, String>, how: &str) {
    let changed: Vec<_> = before
        .iter()
        .filter(|(path, what)| after.get(*path) != Some(what))
        .map(|(path, _)| path)
        .chain(after.keys().filter(|path| !before.contains_key(*path)))
        .take(10)
        .collect();
    assert!(changed.is_empty(), "{how}: these changed: {changed:?}");
    assert!(!before.is_empty(), "{how}: the snapshot saw nothing");
}

fn clean(sandbox: &Sandbox, dir: &str, args: &[&str]) -> Output {
    sandbox.command(XTASK, dir).arg("clean-shared-target").args(args).output().unwrap()
}

/// Runs the xtask with `configure` applied and checks that it fails with exit 1, says `reason`
/// and that nothing in the sandbox changed.
fn assert_refused(
    sandbox: &Sandbox,
    dir: &str,
    args: &[&std::ffi::OsStr],
    reason: &str,
    configure: impl Fn(&mut Command),
) {
    let before = snapshot(&sandbox.dir);
    let mut cmd = sandbox.command(XTASK, dir);
    cmd.arg("clean-shared-target").args(args);
    configure(&mut cmd);
    let output = cmd.output().unwrap();
    let how = format!("clean-shared-target {args:?}");
    assert_eq!(output.status.code(), Some(1), "{how} must fail: {}\n{}", text(&output.stdout), text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains(reason), "{how} must say `{reason}`: {stderr}");
    assert!(stderr.contains("Nothing was deleted"), "{how}: {stderr}");
    assert_unchanged(&before, &snapshot(&sandbox.dir), &how);
}

fn os(args: &[&str]) -> Vec<std::ffi::OsString> {
    args.iter().map(Into::into).collect()
}

fn refused(sandbox: &Sandbox, dir: &str, args: &[&str], reason: &str) {
    let args = os(args);
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    assert_refused(sandbox, dir, &args, reason, |_| {});
}

fn path_arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn an_empty_cargo_target_dir_is_an_error_not_the_current_directory() {
    let sandbox = fixture("empty-var");
    for yes in [&[][..], &["--yes"], &["--yes", "--force"]] {
        let args = os(yes);
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        assert_refused(&sandbox, "ws", &args, "CARGO_TARGET_DIR environment variable is set but empty", |cmd| {
            cmd.env("CARGO_TARGET_DIR", "");
        });
    }
}

#[test]
fn protected_directories_are_refused_even_with_force() {
    let sandbox = fixture("protected");
    // Give each a valid tag, so only the protected-directory checks can stop the clean.
    for dir in ["home", "ws", "."] {
        sandbox.write(&format!("{dir}/CACHEDIR.TAG"), TAG);
    }
    let root = sandbox.dir.ancestors().last().unwrap().to_path_buf();
    let home = sandbox.path("home");
    let ws = sandbox.path("ws");
    let cases: &[(&str, &str, String)] = &[
        ("ws", "filesystem or drive root", path_arg(&root).to_owned()),
        ("ws", "it is the home directory", path_arg(&home).to_owned()),
        ("ws", "it is the workspace root", ".".to_owned()),
        ("ws", "it is the workspace root", path_arg(&ws).to_owned()),
        ("ws", "it contains the home directory", path_arg(&sandbox.dir).to_owned()),
        ("ws/alpha/src", "it is the workspace root", "../..".to_owned()),
        ("ws", "it is the workspace root", "alpha/../beta/..".to_owned()),
        ("ws", "it is workspace member", "alpha".to_owned()),
    ];
    for (dir, reason, target) in cases {
        for force in [&[][..], &["--force"]] {
            let mut args = vec!["--target-dir", target.as_str(), "--yes"];
            args.extend(force);
            refused(&sandbox, dir, &args, reason);
        }
    }
    refused(&sandbox, "ws", &["--target-dir", path_arg(&root), "--yes", "--force"], "--force does not override this");
}

#[test]
fn cargo_home_and_rustup_home_are_refused() {
    let sandbox = fixture("tool-homes");
    sandbox.write("rustup-home/CACHEDIR.TAG", TAG);
    sandbox.write("cargo-home/CACHEDIR.TAG", TAG);
    for (dir, reason) in [("cargo-home", "it is CARGO_HOME"), ("rustup-home", "it is RUSTUP_HOME")] {
        let target = sandbox.path(dir);
        let args = os(&["--target-dir", path_arg(&target), "--yes", "--force"]);
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        assert_refused(&sandbox, "ws", &args, reason, |cmd| {
            cmd.env("RUSTUP_HOME", sandbox.path("rustup-home"));
            // rustup's proxies need the real RUSTUP_HOME: run the toolchain's own binaries.
            cmd.env("CARGO", cargo_binary()).env("RUSTC", toolchain_rustc());
        });
    }
}

#[test]
fn projects_files_and_untagged_directories_are_refused() {
    let sandbox = fixture("markers");
    sandbox.write("with-manifest/Cargo.toml", "[package]\n");
    sandbox.write("with-manifest/CACHEDIR.TAG", TAG);
    sandbox.write("with-git/.git", "gitdir: elsewhere\n");
    sandbox.write("with-git/CACHEDIR.TAG", TAG);
    sandbox.write("bad-tag/CACHEDIR.TAG", "Signature: not cargo's\n");
    for force in [&[][..], &["--force"]] {
        for (dir, reason) in [
            ("with-manifest", "it has Cargo.toml at its top"),
            ("with-git", "it has .git at its top"),
            ("victim/precious.txt", "it is not a directory"),
        ] {
            let mut args = vec!["--target-dir", path_arg(&sandbox.path(dir)).to_owned().leak(), "--yes"];
            args.extend(force);
            refused(&sandbox, "ws", &args, reason);
        }
    }
    for dir in ["victim", "bad-tag"] {
        refused(
            &sandbox,
            "ws",
            &["--target-dir", path_arg(&sandbox.path(dir)), "--yes"],
            "check: cargo's CACHEDIR.TAG",
        );
    }
}

#[cfg(unix)]
#[test]
fn a_target_dir_that_links_to_a_victim_is_refused_and_a_link_inside_is_removed_as_a_link() {
    let sandbox = fixture("links");
    std::os::unix::fs::symlink(sandbox.path("victim"), sandbox.path("linked-target")).unwrap();
    refused(&sandbox, "ws", &["--target-dir", path_arg(&sandbox.path("linked-target")), "--yes"], "a link to");

    tagged_target(&sandbox, "real-target");
    std::os::unix::fs::symlink(sandbox.path("victim"), sandbox.path("real-target/debug/victim-link")).unwrap();
    std::os::unix::fs::symlink(sandbox.path("victim/precious.txt"), sandbox.path("real-target/file-link")).unwrap();
    std::os::unix::fs::symlink(sandbox.path("real-target"), sandbox.path("target-link")).unwrap();
    let victim = snapshot(&sandbox.path("victim"));
    let output = clean(&sandbox, "ws", &["--target-dir", path_arg(&sandbox.path("target-link")), "--yes"]);
    assert_success(&output, "clean through a link");
    assert!(text(&output.stderr).contains("is a link to"), "{}", text(&output.stderr));
    assert_unchanged(&victim, &snapshot(&sandbox.path("victim")), "the victim behind links inside the target");
    assert!(fs::symlink_metadata(sandbox.path("target-link")).unwrap().is_symlink(), "the link itself stays");
    let left: Vec<_> = fs::read_dir(sandbox.path("real-target")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["CACHEDIR.TAG"], "only the tag stays in the real directory");
}

#[test]
fn a_held_cargo_lock_is_refused_unless_forced() {
    let sandbox = fixture("lock");
    tagged_target(&sandbox, "ws/target");
    let lock = fs::File::open(sandbox.path("ws/target/debug/.cargo-lock")).unwrap();
    lock.lock().unwrap();
    refused(&sandbox, "ws", &["--yes"], "a build is running there");
    let output = clean(&sandbox, "ws", &["--yes", "--force"]);
    assert_success(&output, "clean --force");
    assert!(text(&output.stderr).contains("locked by a running build"), "{}", text(&output.stderr));
    assert!(!sandbox.path("ws/target/debug").exists());
}

#[cfg(target_os = "linux")]
#[test]
fn paths_that_are_not_utf8_are_an_error() {
    use std::os::unix::ffi::OsStrExt;
    let sandbox = fixture("utf8");
    tagged_target(&sandbox, "ws/target");
    let bad = std::ffi::OsStr::from_bytes(b"bad-\xff");
    fs::write(sandbox.path("ws/target/debug").join(bad), "x").unwrap();
    assert_refused(&sandbox, "ws", &["--yes".as_ref()], "is not a valid UTF-8 path", |_| {});
    let arg = sandbox.dir.join(bad).into_os_string();
    assert_refused(
        &sandbox,
        "ws",
        &["--target-dir".as_ref(), &arg, "--yes".as_ref()],
        "not a valid UTF-8 path",
        |_| {},
    );
}

#[test]
fn a_dry_run_and_a_run_without_a_terminal_change_nothing() {
    let sandbox = fixture("dry");
    tagged_target(&sandbox, "ws/target");
    for (args, says) in [
        (&["--dry-run"][..], "Dry run: nothing was deleted"),
        (&[], "there is no terminal to ask on; pass --yes to delete"),
        (&["--dry-run", "--yes"], "Dry run: nothing was deleted"),
    ] {
        let before = snapshot(&sandbox.dir);
        let output = clean(&sandbox, "ws", args);
        assert_success(&output, &format!("{args:?}"));
        let stdout = text(&output.stdout);
        assert!(stdout.contains(says), "{args:?}: {stdout}");
        assert!(stdout.contains("removes   4 files"), "{args:?}: {stdout}");
        assert_unchanged(&before, &snapshot(&sandbox.dir), &format!("{args:?}"));
    }
}

#[test]
fn a_path_with_spaces_and_non_ascii_letters_is_cleaned_and_nothing_else() {
    let sandbox = fixture("names");
    tagged_target(&sandbox, "shared target ünï");
    let outside = snapshot(&sandbox.path("victim"));
    let output = clean(&sandbox, "ws", &["--target-dir", "../shared target ünï", "--yes"]);
    assert_success(&output, "clean");
    let stdout = text(&output.stdout);
    assert!(stdout.contains("Removed 3 files") && stdout.contains("shared target ünï; free space"), "{stdout}");
    assert_unchanged(&outside, &snapshot(&sandbox.path("victim")), "outside the target");
}

/// The real cargo and rustc, not rustup's proxies (which a fake RUSTUP_HOME would break).
fn cargo_binary() -> PathBuf {
    toolchain_rustc().with_file_name(format!("cargo{}", std::env::consts::EXE_SUFFIX))
}

fn build(sandbox: &Sandbox, args: &[&str]) -> String {
    let output = sandbox.command(cargo(), "ws").arg("build").args(args).output().unwrap();
    assert_success(&output, &format!("cargo build {args:?}"));
    text(&output.stderr)
}

fn json(output: &Output, what: &str) -> Value {
    assert_success(output, what);
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("{what}: {err}: {}", text(&output.stdout)))
}

/// `du` over `dir` with `args`, in bytes.
#[cfg(target_os = "linux")]
fn du(dir: &Path, args: &[&str]) -> u64 {
    let output = Command::new("du").args(args).arg(dir).output();
    let output = output.expect("`du` is needed by this test; install it with: sudo apt-get install coreutils");
    assert_success(&output, "du");
    text(&output.stdout).split_whitespace().next().unwrap().parse().unwrap()
}

/// GNU `du`'s flags.
#[cfg(target_os = "linux")]
#[test]
fn real_target_dir_sizes_match_du_and_the_dry_run_matches_the_run() {
    let sandbox = fixture("real");
    // A configured, shared target directory whose name has a space and non-ASCII letters.
    sandbox.write("ws/.cargo/config.toml", "[build]\ntarget-dir = \"../shared tärget\"\n");
    build(&sandbox, &[]);
    build(&sandbox, &["--release"]);
    let target = sandbox.path("shared tärget");

    let plan = json(&clean(&sandbox, "ws", &["--dry-run", "--json"]), "dry run");
    let dir = &plan["directories"][0];
    assert_eq!(dir["shared"], true);
    assert!(dir["source"].as_str().unwrap().starts_with("build.target-dir in "), "{dir}");
    assert!(dir["source"].as_str().unwrap().ends_with("config.toml"), "{dir}");
    assert_eq!(dir["total"]["apparent_bytes"], du(&target, &["-s", "--apparent-size", "-b"]));
    assert_eq!(dir["total"]["disk_bytes"], du(&target, &["-s", "-B1"]));
    let categories: Vec<&str> =
        dir["categories"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    for category in ["profile debug", "profile release", "incremental"] {
        assert!(categories.contains(&category), "{categories:?}");
    }
    assert_eq!(dir["largest"].as_array().unwrap().len(), 10);

    let disk_before = du(&target, &["-s", "-B1"]);
    let result = json(&clean(&sandbox, "ws", &["--yes", "--json"]), "run");
    let done = &result["directories"][0];
    assert_eq!(result["deleted"], true);
    assert_eq!(done["remove"], dir["remove"], "the dry run's total is the run's");
    assert_eq!(done["removed_files"], dir["remove"]["files"]);
    assert_eq!(disk_before - du(&target, &["-s", "-B1"]), done["remove"]["disk_bytes"].as_u64().unwrap());
    let left: Vec<_> = fs::read_dir(&target).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["CACHEDIR.TAG"]);
}

#[test]
fn only_coverage_keeps_debug_so_the_next_build_is_fresh() {
    let sandbox = fixture("coverage");
    build(&sandbox, &[]);
    // What cargo-llvm-cov builds into: a target directory of its own inside the target.
    build(&sandbox, &["--target-dir", "target/llvm-cov-target"]);
    sandbox.write("ws/target/llvm-cov/html/index.html", "<html></html>");
    let debug = snapshot(&sandbox.path("ws/target/debug"));
    let output = clean(&sandbox, "ws", &["--only", "coverage", "--yes"]);
    assert_success(&output, "clean --only coverage");
    assert!(!sandbox.path("ws/target/llvm-cov-target").exists() && !sandbox.path("ws/target/llvm-cov").exists());
    assert_unchanged(&debug, &snapshot(&sandbox.path("ws/target/debug")), "debug/");
    let stderr = build(&sandbox, &["-v"]);
    assert!(!stderr.contains("Compiling"), "nothing may be rebuilt: {stderr}");
    assert!(stderr.contains("Fresh alpha") && stderr.contains("Fresh beta"), "{stderr}");
}

#[test]
fn older_than_removes_only_old_units_and_cargo_rebuilds_just_those() {
    let sandbox = fixture("older");
    build(&sandbox, &[]);
    let debug = sandbox.path("ws/target/debug");
    // Make every file of alpha's build units a month old.
    let month_ago = SystemTime::now() - Duration::from_secs(30 * 86_400);
    let alpha_units = |debug: &Path| -> Vec<PathBuf> {
        ["deps", ".fingerprint", "build"]
            .iter()
            .flat_map(|dir| fs::read_dir(debug.join(dir)).unwrap())
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.file_name().unwrap().to_str().unwrap().contains("alpha-"))
            .collect()
    };
    let aged = alpha_units(&debug);
    assert!(aged.len() >= 3, "{aged:?}");
    for path in &aged {
        let files = if path.is_dir() {
            fs::read_dir(path).unwrap().map(|e| e.unwrap().path()).collect()
        } else {
            vec![path.clone()]
        };
        for file in files {
            fs::File::options().write(true).open(&file).unwrap().set_modified(month_ago).unwrap();
        }
    }
    let beta_before: Vec<_> = fs::read_dir(debug.join(".fingerprint"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_str().unwrap().starts_with("beta-"))
        .collect();

    let output = clean(&sandbox, "ws", &["--older-than", "14d", "--yes"]);
    assert_success(&output, "clean --older-than 14d");
    assert!(alpha_units(&debug).is_empty(), "alpha's units must go: {:?}", alpha_units(&debug));
    assert!(!debug.join("libalpha.rlib").exists(), "the hard link cargo made of alpha's library goes with its unit");
    for name in &beta_before {
        assert!(debug.join(".fingerprint").join(name).exists(), "beta's unit {name:?} must stay");
    }
    assert!(debug.join("beta").exists());

    let stderr = build(&sandbox, &["-v"]);
    assert!(stderr.contains("Compiling alpha"), "{stderr}");
    assert!(stderr.contains("Fresh beta") && !stderr.contains("Compiling beta"), "{stderr}");
}

#[cfg(target_os = "linux")]
#[test]
fn max_size_ends_under_the_limit() {
    let sandbox = fixture("max-size");
    build(&sandbox, &[]);
    let target = sandbox.path("ws/target");
    let total = du(&target, &["-s", "-B1"]);
    let limit = total / 2;
    let output = clean(&sandbox, "ws", &["--max-size", &limit.to_string(), "--yes"]);
    assert_success(&output, "clean --max-size");
    let after = du(&target, &["-s", "-B1"]);
    assert!(after <= limit, "{after} bytes left, limit {limit}");
    assert!(after > 0 && sandbox.path("ws/target/debug/.cargo-lock").exists(), "only units go");
}

#[test]
fn a_global_cargo_target_dir_is_named_and_its_costs_explained() {
    let sandbox = fixture("env-var");
    tagged_target(&sandbox, "shared");
    let dry_run = sandbox
        .command(XTASK, "ws")
        .args(["clean-shared-target", "--dry-run"])
        .env("CARGO_TARGET_DIR", sandbox.path("shared"))
        .env("SHELL", "/bin/bash")
        .output()
        .unwrap();
    assert_success(&dry_run, "clean --dry-run with CARGO_TARGET_DIR");
    assert!(text(&dry_run.stderr).contains("bash: unset CARGO_TARGET_DIR"), "the dry run explains it too");
    let output = sandbox
        .command(XTASK, "ws")
        .args(["clean-shared-target", "--yes"])
        .env("CARGO_TARGET_DIR", sandbox.path("shared"))
        .env("SHELL", "/bin/bash")
        .output()
        .unwrap();
    assert_success(&output, "clean with CARGO_TARGET_DIR");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("set by    the CARGO_TARGET_DIR environment variable"), "{stderr}");
    assert!(stderr.contains("(shared: outside the workspace)"), "{stderr}");
    assert!(stderr.contains("sccache") && stderr.contains("llvm-cov-target"), "{stderr}");
    assert!(stderr.contains("bash: unset CARGO_TARGET_DIR"), "{stderr}");
    // The tag, the lock, the rlib and the fingerprint: the xtask's own `cargo metadata` wrote no
    // `.rustc_info.json` there.
    assert!(text(&output.stdout).starts_with("Removed 3 files"), "{}", text(&output.stdout));
}

#[test]
fn a_separate_build_dir_is_checked_and_cleaned_too() {
    let sandbox = fixture("build-dir");
    let build_dir = sandbox.path("build dir");
    let output = sandbox.command(cargo(), "ws").arg("build").env("CARGO_BUILD_BUILD_DIR", &build_dir).output().unwrap();
    assert_success(&output, "cargo build with a build dir");
    let output = sandbox
        .command(XTASK, "ws")
        .args(["clean-shared-target", "--yes", "--json"])
        .env("CARGO_BUILD_BUILD_DIR", &build_dir)
        .output()
        .unwrap();
    let result = json(&output, "clean with a build dir");
    let roles: Vec<&str> =
        result["directories"].as_array().unwrap().iter().map(|d| d["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["target dir", "build dir"]);
    assert_eq!(result["directories"][1]["source"], "the CARGO_BUILD_BUILD_DIR environment variable");
    for dir in [sandbox.path("ws/target"), build_dir] {
        let left: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["CACHEDIR.TAG"], "{}", dir.display());
    }
}

// The hostile cases: each leaves every file outside what cargo made exactly as it was.

/// Runs `cmd` and fails the test if it has not ended within a minute: no task may hang.
fn output_within_a_minute(cmd: &mut Command, what: &str) -> Output {
    use std::process::Stdio;
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("{what} hung: still running after a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn an_ordinary_folder_named_as_target_or_build_dir_is_never_written_to_nor_emptied() {
    let sandbox = fixture("ordinary-folder");
    sandbox.write("home/Documents/thesis.txt", "x\n");
    sandbox.write("home/Documents/drafts/chapter1.txt", "y\n");
    let documents = sandbox.path("home/Documents");
    let settings: &[(&str, &str)] =
        &[("CARGO_TARGET_DIR", ""), ("CARGO_BUILD_TARGET_DIR", ""), ("CARGO_BUILD_BUILD_DIR", ""), ("", "config")];
    for (var, config) in settings {
        let configure = |cmd: &mut Command| {
            if var.is_empty() {
                cmd.arg("--config").arg(format!("build.target-dir={:?}", path_arg(&documents)));
            } else {
                cmd.env(var, &documents);
            }
        };
        let before = snapshot(&sandbox.dir);
        for task in
            [&["clean-shared-target", "--yes"][..], &["clean-shared-target", "--dry-run"], &["doctor"], &["info"]]
        {
            let mut cmd = sandbox.command(XTASK, "ws");
            if *config == "config" {
                // The xtask reads cargo's config files: put the setting in the workspace's.
                sandbox.write("ws/.cargo/config.toml", &format!("[build]\ntarget-dir = {:?}\n", path_arg(&documents)));
            } else {
                configure(&mut cmd);
            }
            let before = snapshot(&sandbox.dir);
            let output = output_within_a_minute(cmd.args(task), &format!("{task:?} with {var}"));
            if task[0] == "clean-shared-target" && task[1] == "--yes" {
                assert_eq!(output.status.code(), Some(1), "{task:?} with {var}: {}", text(&output.stderr));
                assert!(text(&output.stderr).contains("no CACHEDIR.TAG"), "{}", text(&output.stderr));
            }
            assert_unchanged(&before, &snapshot(&sandbox.dir), &format!("{task:?} with {var}{config}"));
        }
        let _ = fs::remove_dir_all(sandbox.path("ws/.cargo"));
        assert_unchanged(&before, &snapshot(&sandbox.dir), &format!("the tasks with {var}{config}"));
    }

    // A real build into the folder: cargo finds it there already, so it writes no tag. With
    // --force only cargo's layout goes; the user's files stay.
    let output = sandbox.command(cargo(), "ws").arg("build").env("CARGO_TARGET_DIR", &documents).output().unwrap();
    assert_success(&output, "cargo build into Documents");
    let mut forced = sandbox.command(XTASK, "ws");
    forced.args(["clean-shared-target", "--yes", "--force"]).env("CARGO_TARGET_DIR", &documents);
    let output = output_within_a_minute(&mut forced, "clean --force");
    assert_success(&output, "clean --force of a folder cargo built in");
    assert!(text(&output.stderr).contains("keeps     drafts, thesis.txt"), "{}", text(&output.stderr));
    assert_eq!(fs::read_to_string(documents.join("thesis.txt")).unwrap(), "x\n");
    assert_eq!(fs::read_to_string(documents.join("drafts/chapter1.txt")).unwrap(), "y\n");
    assert!(!documents.join("debug").exists(), "cargo's profile directory must be gone");
}

#[test]
fn tags_of_other_programs_and_caches_in_cargo_and_rustup_homes_are_refused() {
    let sandbox = fixture("foreign-tags");
    let signature = "Signature: 8a477f597d28d172789f06886806bc55\n";
    let foreign = [
        ("fontconfig", format!("{signature}# This file is a cache directory tag created by fontconfig.\n")),
        ("man-db", format!("{signature}# This file is a cache directory tag created by man-db.\n")),
        ("crlf", TAG.replace('\n', "\r\n")),
    ];
    for (name, tag) in &foreign {
        sandbox.write(&format!("{name}/CACHEDIR.TAG"), tag);
        sandbox.write(&format!("{name}/debug/.fingerprint/x-0123456789abcdef/f"), "cache data");
        refused(&sandbox, "ws", &["--target-dir", path_arg(&sandbox.path(name)), "--yes"], "not the one cargo writes");
    }
    // Cargo writes its own tag into the registry; the registry still is no build output.
    for (home, var) in [("cargo-home", "CARGO_HOME"), ("rustup-home", "RUSTUP_HOME")] {
        let cache = format!("{home}/registry");
        sandbox.write(&format!("{cache}/CACHEDIR.TAG"), TAG);
        sandbox.write(&format!("{cache}/debug/.cargo-lock"), "");
        sandbox.write(&format!("{cache}/cache/index.crates.io/serde-1.0.0.crate"), "crate");
        for force in [&[][..], &["--force"]] {
            let mut args = os(&["--target-dir", path_arg(&sandbox.path(&cache)), "--yes"]);
            args.extend(os(force));
            let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
            assert_refused(&sandbox, "ws", &args, &format!("it is inside {var}"), |cmd| {
                cmd.env("RUSTUP_HOME", sandbox.path("rustup-home"));
                cmd.env("CARGO", cargo_binary()).env("RUSTC", toolchain_rustc());
            });
        }
    }
}

#[cfg(unix)]
#[test]
fn fifos_sockets_and_devices_never_hang_a_task() {
    let sandbox = fixture("special-files");
    tagged_target(&sandbox, "ws/target");
    let mkfifo = |path: &str| {
        let status = Command::new("mkfifo").arg(sandbox.path(path)).status();
        assert!(status.is_ok_and(|s| s.success()), "mkfifo is needed: sudo apt-get install coreutils");
    };
    let mknod = |path: &str| {
        let status = Command::new("mknod").arg(sandbox.path(path)).args(["c", "1", "3"]).status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "mknod failed: this test makes a device node and needs root, as CI has"
        );
    };
    mkfifo("ws/target/debug/deps/a-fifo");
    mkfifo("ws/target/release-fifo");
    mknod("ws/target/debug/deps/null-device");
    let _socket = std::os::unix::net::UnixListener::bind(sandbox.path("ws/target/debug/deps/socket")).unwrap();
    // Where the xtask reads files: cargo's lock, the tag of another candidate, beside the tree.
    fs::create_dir_all(sandbox.path("fifo-tagged/debug/.fingerprint")).unwrap();
    mkfifo("fifo-tagged/CACHEDIR.TAG");
    mkfifo("fifo-tagged/debug/.cargo-lock");
    let before = snapshot(&sandbox.path("fifo-tagged"));
    let fifo_target = path_arg(&sandbox.path("fifo-tagged")).to_owned();
    for args in
        [&["--target-dir", fifo_target.as_str(), "--yes"][..], &["--target-dir", fifo_target.as_str(), "--dry-run"]]
    {
        let output =
            output_within_a_minute(sandbox.command(XTASK, "ws").arg("clean-shared-target").args(args), "clean");
        assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
        assert!(text(&output.stderr).contains("no CACHEDIR.TAG (a regular file)"), "{}", text(&output.stderr));
    }
    assert_unchanged(&before, &snapshot(&sandbox.path("fifo-tagged")), "a FIFO for a tag and a lock");

    mkfifo("ws/target/debug/deps/.cargo-lock");
    for task in [&["clean-shared-target", "--dry-run"][..], &["doctor"], &["info"]] {
        output_within_a_minute(sandbox.command(XTASK, "ws").args(task), &format!("{task:?}"));
    }
    let output = output_within_a_minute(sandbox.command(XTASK, "ws").args(["clean-shared-target", "--yes"]), "clean");
    assert_success(&output, "clean a target holding a FIFO, a socket and a device");
    let left: Vec<_> = fs::read_dir(sandbox.path("ws/target")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["CACHEDIR.TAG"]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_deletion_that_stops_midway_says_what_went_and_what_did_not() {
    let sandbox = fixture("stops-midway");
    tagged_target(&sandbox, "ws/target");
    sandbox.write("ws/target/debug/deps/stuck-0123456789abcdef.rmeta", "cannot go");
    sandbox.write("ws/target/debug/deps/libbeta-0123456789abcdef.rlib", "can go");
    let stuck = sandbox.path("ws/target/debug/deps/stuck-0123456789abcdef.rmeta");
    let chattr = |flag: &str| {
        let status = Command::new("chattr").arg(flag).arg(&stuck).status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "chattr {flag} failed: this test needs root and a file system with attributes (ext4), as CI has"
        );
    };
    chattr("+i");
    let output = sandbox.command(XTASK, "ws").args(["clean-shared-target", "--yes", "--json"]).output().unwrap();
    let text_run = sandbox.command(XTASK, "ws").args(["clean-shared-target", "--yes"]).output().unwrap();
    chattr("-i");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    let dir = &result["directories"][0];
    // The file; the directory holding it is then not tried.
    assert_eq!(dir["failed_removals"], 1, "{dir:#}");
    // All but the stuck file and cargo's lock beside it, which keeps the directory cargo's.
    assert_eq!((dir["remove"]["files"].as_u64(), dir["removed_files"].as_u64()), (Some(6), Some(4)), "{dir:#}");
    assert!(dir["removed"]["apparent_bytes"].as_u64().unwrap() > 0, "{dir:#}");
    let failure = &dir["failures"][0];
    assert!(failure["path"].as_str().unwrap().ends_with("deps/stuck-0123456789abcdef.rmeta"), "{failure}");
    assert!(failure["error"].as_str().unwrap().contains("Operation not permitted"), "{failure}");
    assert!(text(&output.stderr).contains("the clean stopped short"), "{}", text(&output.stderr));
    // The second run, in text, finds the file again and says the same.
    assert_eq!(text_run.status.code(), Some(1));
    let stdout = text(&text_run.stdout);
    assert!(stdout.contains("Not removed: 2 of the 2 files planned; 1 removal failed:"), "{stdout}");
    assert!(stdout.contains("stuck-0123456789abcdef.rmeta: Operation not permitted"), "{stdout}");
    assert!(stuck.exists());
    let output = sandbox.command(XTASK, "ws").args(["clean-shared-target", "--yes"]).output().unwrap();
    assert_success(&output, "the clean once the file can go");
    assert!(text(&output.stdout).starts_with("Removed 2 files"), "{}", text(&output.stdout));
}

/// A mount that the test undoes when it ends, whatever happens (before the sandbox is removed,
/// which would otherwise reach into it).
#[cfg(target_os = "linux")]
struct Mount(PathBuf);

#[cfg(target_os = "linux")]
impl Mount {
    fn new(args: &[&std::ffi::OsStr], point: PathBuf) -> Mount {
        fs::create_dir_all(&point).unwrap();
        let output = Command::new("mount").args(args).arg(&point).output().unwrap();
        assert!(
            output.status.success(),
            "mount {args:?} {} failed: this test mounts for real and needs root, as CI has: {}",
            point.display(),
            text(&output.stderr)
        );
        Mount(point)
    }
}

#[cfg(target_os = "linux")]
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[cfg(target_os = "linux")]
#[test]
fn mounts_are_never_entered_and_a_mount_root_is_never_cleaned() {
    let sandbox = fixture("mounts");
    tagged_target(&sandbox, "ws/target");
    let victim = sandbox.path("victim");
    let before = snapshot(&victim);
    {
        let _bind = Mount::new(&["--bind".as_ref(), victim.as_os_str()], sandbox.path("ws/target/debug/deps/bound"));
        for force in [&[][..], &["--force"]] {
            let output =
                sandbox.command(XTASK, "ws").args(["clean-shared-target", "--yes"]).args(force).output().unwrap();
            assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
            assert!(text(&output.stderr).contains("is a mount point inside"), "{}", text(&output.stderr));
        }
        assert_unchanged(&before, &snapshot(&victim), "a bind mount inside the target dir");
    }
    // A whole file system as the target dir, with cargo's tag and layout: refused even forced.
    let usb = sandbox.path("usb");
    let _tmpfs = Mount::new(&["-t".as_ref(), "tmpfs".as_ref(), "tmpfs".as_ref()], usb.clone());
    sandbox.write("usb/CACHEDIR.TAG", TAG);
    sandbox.write("usb/debug/.cargo-lock", "");
    sandbox.write("usb/photos/holiday.jpg", "jpeg");
    let mounted = snapshot(&usb);
    for force in [&[][..], &["--force"]] {
        let output = sandbox
            .command(XTASK, "ws")
            .args(["clean-shared-target", "--yes", "--target-dir", path_arg(&usb)])
            .args(force)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
        assert!(text(&output.stderr).contains("a file system is mounted on it"), "{}", text(&output.stderr));
    }
    assert_unchanged(&mounted, &snapshot(&usb), "the root of a tmpfs");
}

/// A target dir with a big subdirectory `debug/deps/sub`, for the link-swap races.
#[cfg(unix)]
fn big_target(sandbox: &Sandbox, files: usize) {
    tagged_target(sandbox, "ws/target");
    for dir in 0..files / 500 {
        let sub = sandbox.path(&format!("ws/target/debug/deps/sub/d{dir}"));
        fs::create_dir_all(&sub).unwrap();
        for file in 0..500 {
            fs::write(sub.join(format!("f{file}")), "build output").unwrap();
        }
    }
}

/// The victim's files, which must all survive: `d<n>/f<m>`, as in `big_target`'s `sub`, so that
/// any removal that goes through a swapped link would hit one.
#[cfg(unix)]
fn victim_files(sandbox: &Sandbox, count: usize) -> Vec<PathBuf> {
    (0..count)
        .map(|n| {
            let path = sandbox.path(&format!("victim/d{}/f{}", n / 500, n % 500));
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, "precious").unwrap();
            path
        })
        .collect()
}

#[cfg(unix)]
#[test]
fn a_directory_swapped_for_a_link_during_the_deletion_loses_no_victim_file() {
    use std::{
        io::{BufRead, BufReader},
        process::Stdio,
        sync::{
            Arc,
            atomic::{AtomicBool, Ordering},
        },
    };
    let sandbox = fixture("swap-race");
    let victims = victim_files(&sandbox, 5000);
    for round in 0..12 {
        big_target(&sandbox, 5000);
        let deps = sandbox.path("ws/target/debug/deps");
        let mut child = sandbox
            .command(XTASK, "ws")
            .args(["clean-shared-target", "--yes"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Once the preview is out, the scan is over and the deletion starts: from then on, swap
        // `sub` (or one `d<n>` in it) for a link to the victim's directory and back, half the time
        // each.
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut shown = String::new();
        while stderr.read_line(&mut shown).unwrap() > 0 && !shown.contains("  largest") {}
        let stop = Arc::new(AtomicBool::new(false));
        let swapper = {
            let (stop, deps, victim) = (stop.clone(), deps.clone(), sandbox.path("victim"));
            std::thread::spawn(move || {
                let mut swaps = 0;
                while !stop.load(Ordering::Relaxed) {
                    let (target, link) = if swaps % 3 == 0 {
                        let dir = format!("d{}", swaps % 10);
                        (victim.join(&dir), deps.join("sub").join(dir))
                    } else {
                        (victim.clone(), deps.join("sub"))
                    };
                    let aside = link.with_extension("aside");
                    if fs::rename(&link, &aside).is_ok() {
                        let _ = std::os::unix::fs::symlink(&target, &link);
                        std::thread::sleep(Duration::from_micros(300));
                        let _ = fs::remove_file(&link);
                        let _ = fs::rename(&aside, &link);
                        std::thread::sleep(Duration::from_micros(300));
                    }
                    swaps += 1;
                }
                swaps
            })
        };
        std::io::Read::read_to_string(&mut stderr, &mut shown).unwrap();
        let status = child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        let swaps = swapper.join().unwrap();
        let lost: Vec<_> =
            victims.iter().filter(|path| fs::read_to_string(path).ok().as_deref() != Some("precious")).collect();
        assert!(
            lost.is_empty(),
            "round {round}: lost {} victim files, e.g. {:?} ({swaps} swaps, {status}): {shown}",
            lost.len(),
            lost.first()
        );
        assert!(swaps > 0, "round {round}: the swapper never ran: {shown}");
        let _ = fs::remove_dir_all(sandbox.path("ws/target"));
    }
}

/// Runs the clean on a terminal (a pty, from Python's standard library), swaps `debug/deps/sub`
/// for a link to the victim while it asks, then answers yes.
#[cfg(unix)]
#[test]
fn a_directory_swapped_for_a_link_at_the_prompt_loses_no_victim_file() {
    let sandbox = fixture("swap-prompt");
    let victims = victim_files(&sandbox, 100);
    require_tool("python3", &["--version"], "sudo apt-get install python3");
    let script = r#"
import os, pty, sys
sub, victim = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[3], sys.argv[3:])
seen = b""
while b"[y/N]" not in seen:
    chunk = os.read(fd, 4096)
    if not chunk:
        sys.exit("the clean never asked")
    seen += chunk
os.rename(sub, sub + ".aside")
os.symlink(victim, sub)
os.write(fd, b"y\n")
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    for round in 0..3 {
        big_target(&sandbox, 1000);
        let sub = sandbox.path("ws/target/debug/deps/sub");
        let output = sandbox
            .command("python3", "ws")
            .args(["-c", script])
            .arg(&sub)
            .arg(sandbox.path("victim"))
            .args([XTASK, "clean-shared-target"])
            .output()
            .unwrap();
        let shown = text(&output.stdout);
        assert!(shown.contains("Delete these files?"), "round {round}: {shown}{}", text(&output.stderr));
        assert_eq!(output.status.code(), Some(1), "round {round}: the swapped directory is reported: {shown}");
        assert!(shown.contains("no longer a directory"), "round {round}: {shown}");
        let lost: Vec<_> = victims.iter().filter(|path| !path.exists()).collect();
        assert!(lost.is_empty(), "round {round}: lost {} victim files: {shown}", lost.len());
        assert!(fs::symlink_metadata(&sub).unwrap().is_symlink(), "the link is left as it is");
        let _ = fs::remove_file(&sub);
        let _ = fs::remove_dir_all(sandbox.path("ws/target"));
    }
}
