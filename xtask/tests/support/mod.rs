//! Helpers shared by the end-to-end test files: sandboxes with their own `HOME` and
//! `CARGO_HOME`, fixture workspaces, fake tools, and checks for the real tools.

// Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// The manifest of a package `name` 0.1.0 with the `[dependencies]` lines `deps`.
pub fn manifest(name: &str, deps: &str) -> String {
    format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n{deps}")
}

/// The binary under test; named after its package, which a workspace that adopted it may rename.
pub const XTASK: &str = env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME")));

/// The repository's root, where the xtask under test lives.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// A temporary directory, removed on drop, holding the fixture workspace and the fake home.
pub struct Sandbox {
    pub dir: PathBuf,
}

impl Sandbox {
    pub fn new(name: &str) -> Sandbox {
        let dir = std::env::temp_dir().join(format!("xtask-e2e-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("home")).unwrap();
        fs::create_dir_all(dir.join("cargo-home")).unwrap();
        Sandbox { dir }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.path(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    /// A command isolated from the user's home, cargo configuration and sccache settings (CI
    /// exports its own into every step), in `dir` of the sandbox.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>, dir: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.path(dir))
            .env("HOME", self.path("home"))
            .env("USERPROFILE", self.path("home"))
            .env("CARGO_HOME", self.path("cargo-home"))
            .env("NO_COLOR", "1");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("SCCACHE_") {
                cmd.env_remove(key);
            }
        }
        for var in [
            "CARGO_TARGET_DIR",
            "RUSTC_WRAPPER",
            "CARGO_BUILD_RUSTC_WRAPPER",
            "CARGO_INCREMENTAL",
            "CARGO_BUILD_INCREMENTAL",
            "GITHUB_STEP_SUMMARY",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// `command`, started as a user's shell starts it: without what `cargo test` gives the test
    /// (the xtask's `CARGO_PKG_*`, `CARGO_MANIFEST_*` and friends), which sccache would hash.
    pub fn users_command(&self, program: impl AsRef<std::ffi::OsStr>, dir: &str) -> Command {
        let mut cmd = self.command(program, dir);
        let from_cargo_test =
            ["CARGO_PKG_", "CARGO_BIN_", "CARGO_MANIFEST_", "CARGO_CRATE_NAME", "CARGO_PRIMARY_PACKAGE"];
        for (name, _) in std::env::vars() {
            if from_cargo_test.iter().any(|prefix| name.starts_with(prefix)) || name == "CARGO_TARGET_TMPDIR" {
                cmd.env_remove(name);
            }
        }
        cmd
    }

    /// A fixture workspace `ws/` with members `app` and `lib`: `app` reaches a package named
    /// `pyo3` through `bindings`. Both live outside the workspace, so they are not members, and
    /// they are path packages, so nothing is downloaded. Builds go to the shared `shared-target/`.
    pub fn fixture_workspace(&self) {
        self.write(
            "ws/Cargo.toml",
            "[workspace]\nresolver = \"3\"\nmembers = [\"app\", \"lib\"]\n\n\
             [workspace.metadata.xtask]\ncoverage-fast-exclude = [\"app\"]\n",
        );
        self.write("ws/.cargo/config.toml", "[build]\ntarget-dir = \"../shared-target\"\n");
        self.write("ws/app/Cargo.toml", &manifest("app", "bindings = { path = \"../../deps/bindings\" }\n"));
        self.write("ws/app/src/main.rs", "fn main() {}\n");
        self.write("ws/lib/Cargo.toml", &manifest("lib", ""));
        self.write("ws/lib/src/lib.rs", "");
        self.write("deps/bindings/Cargo.toml", &manifest("bindings", "pyo3 = { path = \"../pyo3\" }\n"));
        self.write("deps/bindings/src/lib.rs", "");
        self.write("deps/pyo3/Cargo.toml", &manifest("pyo3", ""));
        self.write("deps/pyo3/src/lib.rs", "");
    }

    /// Compiles a fake tool into `dir`: it prints `<name> <version>` (the version read from
    /// `version.txt` beside it) and appends its environment to `env.log` beside it.
    pub fn fake_tool(&self, dir: &str, name: &str, version: &str) -> PathBuf {
        let source = self.path("fake_tool.rs");
        if !source.exists() {
            fs::write(
                &source,
                r#"use std::io::Write;
fn main() {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    let name = exe.file_stem().unwrap().to_str().unwrap();
    let version = std::fs::read_to_string(dir.join("version.txt")).unwrap();
    let mut log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("env.log")).unwrap();
    for (key, value) in std::env::vars_os() {
        writeln!(log, "{}={}", key.to_string_lossy(), value.to_string_lossy()).unwrap();
    }
    writeln!(log, "---").unwrap();
    println!("{name} {}", version.trim());
}
"#,
            )
            .unwrap();
            let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
            let status = Command::new(rustc)
                .arg(&source)
                .arg("-o")
                .arg(self.path(&format!("fake_tool{}", std::env::consts::EXE_SUFFIX)))
                .status()
                .unwrap();
            assert!(status.success(), "could not compile the fake tool");
        }
        let target_dir = self.path(dir);
        fs::create_dir_all(&target_dir).unwrap();
        let exe = target_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        fs::copy(self.path(&format!("fake_tool{}", std::env::consts::EXE_SUFFIX)), &exe).unwrap();
        fs::write(target_dir.join("version.txt"), version).unwrap();
        exe
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
}

pub fn path_with(first: &Path) -> std::ffi::OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(first.to_path_buf()).chain(std::env::split_paths(&rest))).unwrap()
}

/// The real rustc binary of the toolchain that runs the tests (not a rustup proxy).
pub fn toolchain_rustc() -> PathBuf {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(rustc).args(["--print", "sysroot"]).output().unwrap();
    assert_success(&sysroot, "rustc --print sysroot");
    Path::new(text(&sysroot.stdout).trim()).join("bin").join(format!("rustc{}", std::env::consts::EXE_SUFFIX))
}

pub fn home_dir() -> PathBuf {
    std::env::home_dir().expect("a home directory")
}

/// cargo-llvm-cov must be installed; if it is not, the test fails with the command that installs it.
pub fn require_cargo_llvm_cov() {
    let output = Command::new(cargo()).args(["llvm-cov", "--version"]).output();
    assert!(
        output.is_ok_and(|output| output.status.success()),
        "cargo-llvm-cov is needed by this test; install it with: cargo install cargo-llvm-cov --locked"
    );
}

/// `program` must run with `args`; if it does not, the test fails with the command that installs it.
pub fn require_tool(program: &str, args: &[&str], install: &str) {
    let output = Command::new(program).args(args).output();
    assert!(
        output.is_ok_and(|output| output.status.success()),
        "`{program}` is needed by this test; install it with: {install}"
    );
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
pub fn free_loopback_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

/// A program that appends its arguments and environment to `<its name>.log` beside it, in one
/// write (runs in parallel share the log). Named `*-wrapper`, it then runs its arguments as a
/// command and exits with its code, as a rustc wrapper must.
const RECORDER: &str = r#"use std::io::Write;
fn main() {
    let exe = std::env::current_exe().unwrap();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut record = format!("ARGS {}\n", args.join("\u{1f}"));
    for (key, value) in std::env::vars_os() {
        record += &format!("{}={}\n", key.to_string_lossy(), value.to_string_lossy().replace('\n', " "));
    }
    record += "---\n";
    let log = exe.with_extension("log");
    std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap().write_all(record.as_bytes()).unwrap();
    if exe.file_stem().unwrap().to_string_lossy().ends_with("-wrapper") {
        let status = std::process::Command::new(&args[0]).args(&args[1..]).status().unwrap();
        std::process::exit(status.code().unwrap_or(1));
    }
}
"#;

/// One run of a recorder.
#[derive(Debug)]
pub struct Record {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Record {
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// The runs a recorder logged, oldest first; none if it never ran.
pub fn records(log: &Path) -> Vec<Record> {
    let log = fs::read_to_string(log).unwrap_or_default();
    log.split("---\n")
        .filter(|run| !run.trim().is_empty())
        .map(|run| {
            let mut lines = run.lines();
            let args = lines.next().unwrap().strip_prefix("ARGS ").unwrap();
            Record {
                args: args.split('\u{1f}').filter(|arg| !arg.is_empty()).map(str::to_owned).collect(),
                env: lines.filter_map(|line| line.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
            }
        })
        .collect()
}

impl Sandbox {
    /// Compiles a recorder (see `RECORDER`) into `dir` as `name`; its log is `<dir>/<name>.log`.
    pub fn recorder(&self, dir: &str, name: &str) -> PathBuf {
        let exe = |path: PathBuf| path.with_extension(std::env::consts::EXE_EXTENSION);
        let compiled = exe(self.path("recorder"));
        if !compiled.exists() {
            fs::write(self.path("recorder.rs"), RECORDER).unwrap();
            let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
            let status = Command::new(rustc).arg(self.path("recorder.rs")).arg("-o").arg(&compiled).status().unwrap();
            assert!(status.success(), "could not compile the recorder");
        }
        fs::create_dir_all(self.path(dir)).unwrap();
        let copy = exe(self.path(dir).join(name));
        fs::copy(&compiled, &copy).unwrap();
        copy
    }

    /// A coverage fixture `ws/` with no crates.io dependencies, so it builds in seconds:
    /// - `calc`: a tested `add` and an untested `never_called`; its test appends a line to
    ///   `ws/test-runs.log`, one per test run;
    /// - `app`, using `calc`: its test `fails_when_asked` fails when `FIXTURE_FAIL` is set;
    /// - `bindings`, depending on a package named `pyo3` (a local stand-in outside the
    ///   workspace): its test writes the loader's library path to `ws/loader-path.txt`;
    /// - `pyuser`, reaching `pyo3` only through `bindings`;
    /// - `slow`, listed in `fast-exclude`.
    ///
    /// `extra` is appended to the root `Cargo.toml`.
    /// A one-crate workspace, `walker`: a loop with branches (in `src/lib.rs`), a helper module
    /// (`src/generated.rs`), a unit test and an integration test (`tests/outside.rs`, two tests).
    pub fn walker_workspace(&self) {
        self.write("ws/Cargo.toml", "[workspace]\nresolver = \"3\"\nmembers = [\"walker\"]\n");
        self.write("ws/walker/Cargo.toml", "[package]\nname = \"walker\"\nversion = \"0.1.0\"\nedition = \"2024\"\n");
        self.write(
            "ws/walker/src/lib.rs",
            r#"mod generated;
pub use generated::marker;

/// Yields the numbers below each limit, skipping multiples of three; `None` yields a marker.
pub struct Walk {
    limits: Vec<Option<u32>>,
    current: Option<std::ops::Range<u32>>,
}

impl Walk {
    pub fn new(limits: Vec<Option<u32>>) -> Walk {
        Walk { limits, current: None }
    }
}

impl Iterator for Walk {
    type Item = u32;

    #[inline(always)]
    fn next(&mut self) -> Option<u32> {
        loop {
            let value = match self.current.as_mut().and_then(|range| range.next()) {
                Some(value) => value,
                None => {
                    match self.limits.pop() {
                        None => return None,
                        Some(None) => return Some(marker()),
                        Some(Some(limit)) => self.current = Some(0..limit),
                    }
                    continue;
                }
            };
            if value % 3 == 0 && value > 0 || value == 0 {
                continue;
            }
            return Some(value);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn skips_multiples_of_three() {
        assert_eq!(super::Walk::new(vec![Some(5), Some(4)]).collect::<Vec<_>>(), [1, 2, 1, 2, 4]);
    }
}
"#,
        );
        self.write("ws/walker/src/generated.rs", "pub fn marker() -> u32 {\n    u32::MAX\n}\n");
        self.write(
            "ws/walker/tests/outside.rs",
            "#[test]\nfn markers_and_limits() {\n    assert_eq!(walker::Walk::new(vec![Some(7), None]).count(), 5);\n}\n\n\
             #[test]\nfn nothing_to_walk() {\n    assert_eq!(walker::Walk::new(Vec::new()).next(), None);\n}\n",
        );
    }

    pub fn coverage_workspace(&self, extra: &str) {
        self.write(
            "ws/Cargo.toml",
            &format!(
                "[workspace]\nresolver = \"3\"\nmembers = [\"calc\", \"app\", \"bindings\", \"pyuser\", \"slow\"]\n\n\
                 [workspace.metadata.xtask.coverage]\nfast-exclude = [\"slow\"]\n{extra}"
            ),
        );
        self.write("ws/calc/Cargo.toml", &manifest("calc", ""));
        self.write(
            "ws/calc/src/lib.rs",
            r#"pub fn add(a: i64, b: i64) -> i64 {
    a + b
}

pub fn never_called(x: i64) -> i64 {
    if x > 0 { x } else { -x }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    #[test]
    fn adds() {
        assert_eq!(super::add(2, 3), 5);
        let log = concat!(env!("CARGO_MANIFEST_DIR"), "/../test-runs.log");
        let mut log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        writeln!(log, "calc's tests ran").unwrap();
    }
}
"#,
        );
        self.write("ws/app/Cargo.toml", &manifest("app", "calc = { path = \"../calc\" }\n"));
        self.write(
            "ws/app/src/lib.rs",
            r#"pub fn double_sum(a: i64, b: i64) -> i64 {
    calc::add(a, b) * 2
}

#[cfg(test)]
mod tests {
    #[test]
    fn doubles() {
        assert_eq!(super::double_sum(1, 2), 6);
    }

    #[test]
    fn fails_when_asked() {
        assert!(std::env::var_os("FIXTURE_FAIL").is_none(), "FIXTURE_FAIL is set");
    }
}
"#,
        );
        self.write("ws/bindings/Cargo.toml", &manifest("bindings", "pyo3 = { path = \"../../deps/pyo3\" }\n"));
        self.write(
            "ws/bindings/src/lib.rs",
            r#"pub fn loader_variable() -> &'static str {
    if cfg!(windows) { "PATH" } else if cfg!(target_os = "macos") { "DYLD_FALLBACK_LIBRARY_PATH" } else { "LD_LIBRARY_PATH" }
}

#[cfg(test)]
mod tests {
    #[test]
    fn records_the_loader_path() {
        let value = std::env::var(super::loader_variable()).unwrap_or_default();
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/../loader-path.txt"), value).unwrap();
    }
}
"#,
        );
        self.write("ws/pyuser/Cargo.toml", &manifest("pyuser", "bindings = { path = \"../bindings\" }\n"));
        self.write("ws/pyuser/src/lib.rs", "pub fn variable() -> &'static str {\n    bindings::loader_variable()\n}\n");
        self.write("ws/slow/Cargo.toml", &manifest("slow", ""));
        self.write(
            "ws/slow/src/lib.rs",
            "pub fn slow() -> u8 {\n    1\n}\n\n#[test]\nfn runs() {\n    assert_eq!(slow(), 1);\n}\n",
        );
        self.write("deps/pyo3/Cargo.toml", &manifest("pyo3", ""));
        self.write("deps/pyo3/src/lib.rs", "");
    }
}

/// An sccache server of a test's own: its own cache directory, an empty config file and a free
/// loopback port, so the user's server, cache and config are never touched. Stopped on drop.
pub struct Sccache {
    vars: Vec<(&'static str, std::ffi::OsString)>,
}

impl Sccache {
    pub fn new(sandbox: &Sandbox) -> Sccache {
        require_tool("sccache", &["--version"], "cargo install sccache --locked");
        sandbox.write("sccache/config", "");
        let vars = vec![
            ("SCCACHE_DIR", sandbox.path("sccache/cache").into_os_string()),
            ("SCCACHE_CONF", sandbox.path("sccache/config").into_os_string()),
            ("SCCACHE_SERVER_PORT", free_loopback_port().to_string().into()),
        ];
        Sccache { vars }
    }

    /// Points `cmd` at this server (and at no other sccache setting) with sccache as the wrapper.
    pub fn configure<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("SCCACHE_") {
                cmd.env_remove(key);
            }
        }
        cmd.envs(self.vars.iter().map(|(key, value)| (key, value))).env("RUSTC_WRAPPER", "sccache")
    }

    /// `sccache --show-stats` as JSON.
    pub fn stats(&self) -> serde_json::Value {
        let output = self
            .configure(&mut Command::new("sccache"))
            .args(["--show-stats", "--stats-format", "json"])
            .output()
            .unwrap();
        assert_success(&output, "sccache --show-stats");
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

impl Drop for Sccache {
    fn drop(&mut self) {
        let _ = self.configure(&mut Command::new("sccache")).arg("--stop-server").output();
    }
}

/// The marker of the lines `setup-sccache` writes into config files.
pub const MARK: &str = "# added by cargo xtask setup-sccache";

/// A sandbox whose commands reach only its own sccache server and configuration.
pub struct SccacheSandbox {
    pub sandbox: Sandbox,
    pub port: u16,
    /// Given to every command (a backend's credentials).
    pub env: Vec<(&'static str, String)>,
}

impl SccacheSandbox {
    pub fn new(name: &str) -> SccacheSandbox {
        require_tool("sccache", &["--version"], "cargo install sccache --locked");
        let sandbox = Sandbox::new(name);
        sandbox.fixture_workspace();
        SccacheSandbox { sandbox, port: free_loopback_port(), env: Vec::new() }
    }

    pub fn conf(&self) -> PathBuf {
        self.sandbox.path("sccache.conf")
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.sandbox.path("cache dir with 'quote'")
    }

    pub fn cargo_config(&self) -> PathBuf {
        self.sandbox.path("cargo-home/config.toml")
    }

    /// Where the xtask and sccache write for this sandbox: the home, cargo's home, the
    /// workspace, sccache's config and its cache.
    pub fn files(&self) -> Vec<PathBuf> {
        ["home", "cargo-home", "ws"]
            .iter()
            .map(|dir| self.sandbox.path(dir))
            .chain([self.conf(), self.cache_dir()])
            .collect()
    }

    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>, dir: &str) -> Command {
        self.reaching_its_server(self.sandbox.command(program, dir))
    }

    pub fn reaching_its_server(&self, mut cmd: Command) -> Command {
        cmd.env("SCCACHE_CONF", self.conf()).env("SCCACHE_SERVER_PORT", self.port.to_string());
        // The sandbox has removed the SCCACHE_* variables; these would move sccache's default paths.
        cmd.env_remove("XDG_CONFIG_HOME").env_remove("XDG_CACHE_HOME");
        cmd.envs(self.env.iter().map(|(name, value)| (name, value)));
        cmd
    }

    pub fn xtask(&self, args: &[&str]) -> Output {
        self.command(XTASK, "ws").arg("setup-sccache").args(args).output().unwrap()
    }

    pub fn setup(&self, extra: &[&str]) -> Output {
        let cache_dir = self.cache_dir();
        let mut args = vec!["--no-install", "--cache-dir", cache_dir.to_str().unwrap(), "--cache-size", "1G"];
        args.extend(extra);
        self.xtask(&args)
    }

    /// `cargo clean` then `cargo build` of the fixture, through whatever wrapper is configured.
    pub fn clean_build(&self) {
        for args in [&["clean"][..], &["build", "--quiet"]] {
            let output = self.command(cargo(), "ws").args(args).output().unwrap();
            assert_success(&output, &format!("cargo {args:?}"));
        }
    }

    pub fn stats(&self) -> serde_json::Value {
        let output = self.xtask(&["stats", "--json"]);
        assert_success(&output, "setup-sccache stats --json");
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

impl Drop for SccacheSandbox {
    fn drop(&mut self) {
        let _ = self.command("sccache", "home").arg("--stop-server").output();
    }
}

pub fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

pub fn stderr(output: &Output) -> String {
    text(&output.stderr)
}

/// `calc`'s figures in the summary table (lines, functions, regions: covered/total and %). They
/// are exact: any profile or object from elsewhere would change them.
pub const CALC_ROW: [&str; 6] = ["9/12", "75.00%", "2/3", "66.67%", "17/22", "77.27%"];

/// The xtask in the fixture workspace, with nothing from the outer CI leaking in.
pub fn coverage_xtask(sandbox: &Sandbox) -> Command {
    require_tool(&cargo(), &["llvm-cov", "--version"], "cargo install cargo-llvm-cov --locked");
    let mut cmd = sandbox.command(XTASK, "ws");
    cmd.env_remove("GITHUB_STEP_SUMMARY").env_remove("CI").env_remove("BROWSER");
    cmd
}

/// The cells after `name` in the row of the summary table that starts with it.
pub fn row<'a>(stdout: &'a str, name: &str) -> Option<Vec<&'a str>> {
    stdout
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .map(|line| line.split_whitespace().skip(1).collect())
}
