//! Helpers shared by the end-to-end tests: sandboxes with their own home, fixture workspaces,
//! fake tools, and the checks that a needed tool is installed.
// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

pub const XTASK: &str = env!("CARGO_BIN_EXE_xtask");

/// The repository's root, where the xtask under test lives.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// A temporary directory, removed on drop, holding the fixture workspace and the fake home.
pub struct Sandbox {
    dir: PathBuf,
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

    /// A command isolated from the user's home and cargo configuration, in `dir` of the sandbox.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>, dir: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.path(dir))
            .env("HOME", self.path("home"))
            .env("USERPROFILE", self.path("home"))
            .env("CARGO_HOME", self.path("cargo-home"))
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTC_WRAPPER")
            .env("NO_COLOR", "1");
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
        let package = |name: &str, deps: &str| {
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n{deps}")
        };
        self.write("ws/app/Cargo.toml", &package("app", "bindings = { path = \"../../deps/bindings\" }\n"));
        self.write("ws/app/src/main.rs", "fn main() {}\n");
        self.write("ws/lib/Cargo.toml", &package("lib", ""));
        self.write("ws/lib/src/lib.rs", "");
        self.write("deps/bindings/Cargo.toml", &package("bindings", "pyo3 = { path = \"../pyo3\" }\n"));
        self.write("deps/bindings/src/lib.rs", "");
        self.write("deps/pyo3/Cargo.toml", &package("pyo3", ""));
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
