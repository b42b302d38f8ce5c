//! Finding the external tools the tasks run, and checking their versions.
//!
//! A tool is looked up on `PATH`, then in `$CARGO_HOME/bin` (where `cargo install` puts it, even
//! when that is not on `PATH`) and in `~/.local/bin` (where installers that need no root put programs).
//! The LLVM tools live in the Rust toolchain instead. A missing or too old tool is an error that
//! names the command that installs it.

use std::{ffi::OsStr, fmt, path::PathBuf};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::Shell;

use crate::{
    child,
    finding::{Finding, Group, Level},
};

/// An external program a task needs.
pub struct Tool {
    /// The name people know it by.
    pub name: &'static str,
    /// File names to look for, in order of preference, without the OS's executable suffix.
    programs: &'static [&'static str],
    /// Arguments that make it print its version.
    version_args: &'static [&'static str],
    /// Older versions lack what the tasks rely on.
    pub minimum: Option<Version>,
    /// The command that installs (or updates) it.
    pub install: &'static str,
    home: ToolHome,
}

/// Where a tool is looked for.
enum ToolHome {
    /// `PATH`, `$CARGO_HOME/bin`, `~/.local/bin`.
    SearchPath,
    /// `$(rustc --print target-libdir)/../bin`, where rustup's `llvm-tools` component puts them.
    RustToolchain,
}

impl Tool {
    /// A tool on the search path, `programs[0]` by name, that prints its version for `--version`.
    pub const fn on_path(programs: &'static [&'static str], minimum: Option<Version>, install: &'static str) -> Tool {
        let version_args = &["--version"];
        Tool { name: programs[0], programs, version_args, minimum, install, home: ToolHome::SearchPath }
    }
}

/// sccache: 0.7.7 is the first whose `--show-stats` neither starts a server nor misreports.
pub const SCCACHE: Tool = Tool::on_path(&["sccache"], Some(Version(0, 7, 7)), "cargo install sccache --locked");

/// cargo-llvm-cov: 0.9.0 chains an existing rustc wrapper and has `report` per format.
pub const CARGO_LLVM_COV: Tool = Tool {
    // Run directly, a cargo subcommand expects its own name as the first argument.
    version_args: &["llvm-cov", "--version"],
    ..Tool::on_path(&["cargo-llvm-cov"], Some(Version(0, 9, 0)), "cargo install cargo-llvm-cov --locked")
};

/// cargo-nextest, for `coverage --nextest`; 0.9 is the current series.
pub const CARGO_NEXTEST: Tool = Tool {
    version_args: &["nextest", "--version"],
    ..Tool::on_path(&["cargo-nextest"], Some(Version(0, 9, 0)), "cargo install cargo-nextest --locked")
};

pub const LLVM_COV: Tool = Tool {
    home: ToolHome::RustToolchain,
    ..Tool::on_path(&["llvm-cov"], None, "rustup component add llvm-tools-preview")
};

pub const LLVM_PROFDATA: Tool = Tool {
    home: ToolHome::RustToolchain,
    ..Tool::on_path(&["llvm-profdata"], None, "rustup component add llvm-tools-preview")
};

/// Python 3, for the pyo3 crates; pyo3 0.30 supports 3.8 and later.
pub const PYTHON: Tool = Tool::on_path(
    &["python3", "python"],
    Some(Version(3, 8, 0)),
    if cfg!(windows) {
        "winget install Python.Python.3.13"
    } else if cfg!(target_os = "macos") {
        "brew install python"
    } else {
        "sudo apt-get install python3-dev (or your distribution's python3 development package)"
    },
);

/// git, for `coverage --changed-since` and `--patch-base`.
pub const GIT: Tool = Tool::on_path(
    &["git"],
    None,
    if cfg!(windows) {
        "winget install Git.Git"
    } else if cfg!(target_os = "macos") {
        "xcode-select --install"
    } else {
        "sudo apt-get install git"
    },
);

/// Every tool the tasks know of, for reports.
pub const ALL: &[&Tool] = &[&SCCACHE, &CARGO_LLVM_COV, &CARGO_NEXTEST, &LLVM_COV, &LLVM_PROFDATA, &PYTHON];

/// A tool that was found and runs.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: Utf8PathBuf,
    pub version: Version,
}

impl Tool {
    /// Finds the first copy of the tool that runs and meets the minimum version.
    pub fn find(&self, sh: &Shell) -> anyhow::Result<Found> {
        let dirs = match self.home {
            ToolHome::SearchPath => search_dirs(sh),
            ToolHome::RustToolchain => vec![toolchain_bin_dir(sh, &rustc(sh))?],
        };
        let candidates: Vec<Utf8PathBuf> = dirs
            .iter()
            .flat_map(|dir| self.programs.iter().map(move |program| dir.join(exe(program))))
            .filter(|path| path.is_file())
            .collect();
        if candidates.is_empty() {
            bail!(
                "`{}` was not found (looked in {}).\nInstall it with: {}",
                self.name,
                describe_dirs(&dirs),
                self.install
            );
        }
        let mut rejected = Vec::new();
        for path in candidates {
            match self.check(sh, &path) {
                Ok(found) => return Ok(found),
                Err(err) => rejected.push(format!("{err:#}")),
            }
        }
        bail!("no usable `{}`: {}.\nInstall or update it with: {}", self.name, rejected.join("; "), self.install)
    }

    /// Whether the tool is usable, as a finding: its version and path, or `missing` (the level for
    /// a tool that is absent or too old) with the command that installs it. `role` says what needs it.
    pub(crate) fn finding(&self, sh: &Shell, group: Group, missing: Level, role: &str) -> Finding {
        match self.find(sh) {
            Ok(found) => Finding::ok(group, format!("{} {} at {} ({role})", self.name, found.version, found.path)),
            Err(err) => {
                let err = format!("{err:#}");
                // The error's last line names the install command, which is the fix.
                let what = err.lines().next().unwrap_or_default();
                Finding { group, level: missing, what: format!("{what} ({role})"), fix: Some(self.install.to_owned()) }
            }
        }
    }

    /// The tool at `path`, if it runs and meets the minimum version: the check of a copy just
    /// installed, before it is declared installed.
    pub fn check(&self, sh: &Shell, path: &Utf8Path) -> anyhow::Result<Found> {
        let version = self.version_of(sh, path)?;
        if let Some(minimum) = self.minimum.filter(|minimum| version < *minimum) {
            bail!("{path} is version {version}, older than the minimum {minimum}");
        }
        Ok(Found { path: path.to_owned(), version })
    }

    fn version_of(&self, sh: &Shell, path: &Utf8Path) -> anyhow::Result<Version> {
        let output = child::command(sh, path)
            .args(self.version_args)
            .quiet()
            .ignore_status()
            .output()
            .with_context(|| format!("could not run {path}"))?;
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        if !output.status.success() {
            bail!("`{path} {}` failed ({}): {}", self.version_args.join(" "), output.status, text.trim());
        }
        Version::find_in(&text).with_context(|| format!("no version in the output of {path}: {:?}", text.trim()))
    }
}

/// Where `program` is, if it is in one of the places tools are looked for.
pub fn locate(sh: &Shell, program: &str) -> Option<Utf8PathBuf> {
    search_dirs(sh).into_iter().map(|dir| dir.join(exe(program))).find(|path| path.is_file())
}

/// `PATH`, then `$CARGO_HOME/bin`, then `~/.local/bin`, without repeats.
fn search_dirs(sh: &Shell) -> Vec<Utf8PathBuf> {
    let mut candidates: Vec<PathBuf> =
        sh.var_os("PATH").map(|path| std::env::split_paths(&path).collect()).unwrap_or_default();
    candidates.extend(cargo_home(sh).ok().map(|dir| dir.join("bin").into_std_path_buf()));
    candidates.extend(home_dir(sh).ok().map(|home| home.join(".local").join("bin").into_std_path_buf()));
    let mut dirs = Vec::new();
    // A directory whose name is not UTF-8 could not be named in a message: tools there are not found.
    for dir in candidates.into_iter().filter_map(|dir| Utf8PathBuf::try_from(dir).ok()) {
        if !dir.as_str().is_empty() && !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

/// The user's home directory, from the environment the shell passes on (`HOME`, or
/// `USERPROFILE` on Windows).
pub fn home_dir(sh: &Shell) -> anyhow::Result<Utf8PathBuf> {
    let var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    match sh.var(var) {
        Ok(home) if !home.is_empty() => Ok(home.into()),
        _ => bail!("{var} is not set: cannot find the home directory"),
    }
}

/// `$CARGO_HOME`, else `~/.cargo`.
pub fn cargo_home(sh: &Shell) -> anyhow::Result<Utf8PathBuf> {
    match sh.var("CARGO_HOME") {
        Ok(dir) if !dir.is_empty() => Ok(dir.into()),
        _ => Ok(home_dir(sh)?.join(".cargo")),
    }
}

/// `llvm-cov` and `llvm-profdata` of the toolchain whose compiler is `rustc`, checked to exist.
pub fn llvm_tools(sh: &Shell, rustc: &OsStr, install: &str) -> anyhow::Result<(Utf8PathBuf, Utf8PathBuf)> {
    let dir = toolchain_bin_dir(sh, rustc)?;
    let (cov, profdata) = (dir.join(exe("llvm-cov")), dir.join(exe("llvm-profdata")));
    for tool in [&cov, &profdata] {
        if !tool.is_file() {
            bail!("{tool} is missing: the toolchain lacks rustup's llvm-tools; install them with: {install}");
        }
    }
    Ok((cov, profdata))
}

/// The compiler named by `RUSTC`, if it names one (an empty value names none).
pub fn rustc_from_env(sh: &Shell) -> Option<std::ffi::OsString> {
    sh.var_os("RUSTC").filter(|rustc| !rustc.is_empty())
}

/// The compiler the tasks ask about: `RUSTC`, else the `rustc` on `PATH`.
pub fn rustc(sh: &Shell) -> std::ffi::OsString {
    rustc_from_env(sh).unwrap_or_else(|| "rustc".into())
}

/// Where rustup's `llvm-tools` component installs `llvm-cov` and `llvm-profdata`.
fn toolchain_bin_dir(sh: &Shell, rustc: &OsStr) -> anyhow::Result<Utf8PathBuf> {
    let libdir = child::command(sh, rustc)
        .args(["--print", "target-libdir"])
        .quiet()
        .read()
        .context("could not ask rustc for its target-libdir")?;
    let libdir = Utf8PathBuf::from(libdir.trim());
    let parent = libdir.parent().with_context(|| format!("rustc's target-libdir {libdir} has no parent"))?;
    Ok(parent.join("bin"))
}

/// `program` with the OS's executable suffix (`.exe` on Windows).
pub fn exe(program: &str) -> String {
    format!("{program}{}", std::env::consts::EXE_SUFFIX)
}

fn describe_dirs(dirs: &[Utf8PathBuf]) -> String {
    match dirs {
        [] => "no directories: PATH is empty and no home directory is known".to_owned(),
        _ => dirs.iter().map(|dir| dir.as_str()).collect::<Vec<_>>().join(", "),
    }
}

/// A `major.minor.patch` version; pre-release and build suffixes are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u64, pub u64, pub u64);

impl Version {
    /// The first `N.N` or `N.N.N` in `text`, as in `sccache 0.10.0` or `LLVM version 20.1.8-rust`.
    pub fn find_in(text: &str) -> Option<Version> {
        text.split(|c: char| !(c.is_ascii_digit() || c == '.')).find_map(|word| {
            let mut parts = word.trim_matches('.').split('.');
            let major = parts.next()?.parse().ok()?;
            let minor = parts.next()?.parse().ok()?;
            let patch = parts.next().map_or(Some(0), |patch| patch.parse().ok())?;
            Some(Version(major, minor, patch))
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_versions_from_real_outputs() {
        assert_eq!(Version::find_in("sccache 0.10.0\n"), Some(Version(0, 10, 0)));
        assert_eq!(Version::find_in("cargo-llvm-cov 0.9.1"), Some(Version(0, 9, 1)));
        assert_eq!(Version::find_in("Python 3.11.7"), Some(Version(3, 11, 7)));
        assert_eq!(
            Version::find_in("LLVM (http://llvm.org/):\n  LLVM version 20.1.8-rust-1.95.0-stable\n"),
            Some(Version(20, 1, 8))
        );
        assert_eq!(Version::find_in("sccache 0.4.0-pre.6"), Some(Version(0, 4, 0)));
        assert_eq!(Version::find_in("tool 2.1 (build 7)"), Some(Version(2, 1, 0)));
        assert_eq!(Version::find_in("no digits here, 7 alone"), None);
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(Version(0, 10, 0) > Version(0, 9, 9));
        assert!(Version(0, 7, 6) < SCCACHE.minimum.unwrap());
        assert_eq!(Version(1, 2, 3).to_string(), "1.2.3");
    }

    #[test]
    fn a_missing_tool_names_where_it_looked_and_how_to_install_it() {
        let sh = Shell::new().unwrap();
        let empty = sh.create_temp_dir().unwrap();
        let empty = Utf8Path::from_path(empty.path()).unwrap();
        sh.set_var("PATH", empty);
        sh.set_var("CARGO_HOME", empty);
        sh.set_var(if cfg!(windows) { "USERPROFILE" } else { "HOME" }, empty);
        let err = SCCACHE.find(&sh).unwrap_err().to_string();
        assert!(err.contains("`sccache` was not found"), "{err}");
        assert!(err.contains(&format!("{empty}")), "{err}");
        assert!(err.contains("Install it with: cargo install sccache --locked"), "{err}");
    }
}
