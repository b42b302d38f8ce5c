//! The Windows side, on Linux, under Wine: what runs there without cargo (a Windows program
//! under Wine cannot drive the Linux cargo, so the tasks themselves stay on the Windows runner):
//! the Windows build's help, and `env --shell cmd`'s lines evaluated by Wine's `cmd`.
#![cfg(target_os = "linux")]

#[path = "../../xtask/tests/support/mod.rs"]
mod support;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::OnceLock,
};

use support::*;

const TARGET: &str = "x86_64-pc-windows-gnu";
const INSTALL: &str = "sudo apt-get install wine64 gcc-mingw-w64-x86-64 && rustup target add x86_64-pc-windows-gnu";

fn wine() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|dir| dir.join("wine64")).find(|wine| wine.is_file()))
        .unwrap_or_default();
    on_path
        .or_else(|| Some(PathBuf::from("/usr/lib/wine/wine64")).filter(|wine| wine.is_file()))
        .unwrap_or_else(|| panic!("Wine is missing; install it with: {INSTALL}"))
}

fn describe(output: &Output) -> String {
    format!("{}\nstdout:\n{}\nstderr:\n{}", output.status, text(&output.stdout), text(&output.stderr))
}

/// A Wine prefix of the tests' own, with the ProcessPrng stand-in that Rust's std needs on Wine 8.
struct Prefix {
    dir: PathBuf,
}

impl Prefix {
    fn get() -> &'static Prefix {
        static PREFIX: OnceLock<Prefix> = OnceLock::new();
        PREFIX.get_or_init(|| {
            // In the target directory, made once and reused: a prefix takes seconds to make.
            let dir = target_dir().join("wine-tests");
            std::fs::create_dir_all(&dir).unwrap();
            let dll = dir.join("bcryptprimitives.dll");
            require_tool("x86_64-w64-mingw32-gcc", &["--version"], INSTALL);
            let output = Command::new("x86_64-w64-mingw32-gcc")
                .args(["-shared", "-O2", "-o"])
                .arg(&dll)
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/wine/bcryptprimitives.c"))
                .args(["-ladvapi32", "-Wl,--kill-at"])
                .output()
                .unwrap();
            assert_success(&output, "building the ProcessPrng stand-in");
            let prefix = Prefix { dir };
            if !prefix.dir.join("prefix/drive_c/windows/system32").is_dir() {
                assert_success(&prefix.command().args(["wineboot", "--init"]).output().unwrap(), "wineboot --init");
            }
            std::fs::copy(&dll, prefix.dir.join("prefix/drive_c/windows/system32/bcryptprimitives.dll")).unwrap();
            prefix
        })
    }

    /// `wine64` with this prefix.
    fn command(&self) -> Command {
        let mut cmd = Command::new(wine());
        cmd.env("WINEPREFIX", self.dir.join("prefix"))
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .stdin(std::process::Stdio::null());
        cmd
    }
}

/// This workspace's target directory: where the built xtask is.
fn target_dir() -> PathBuf {
    Path::new(XTASK).parent().and_then(Path::parent).unwrap().to_owned()
}

/// The xtask built for Windows, into this workspace's target directory.
fn windows_xtask() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let package = env!("CARGO_PKG_NAME");
            let target_dir = target_dir();
            let output = Command::new(cargo())
                .args(["build", "--quiet", "-p", package, "--target", TARGET, "--target-dir"])
                .arg(&target_dir)
                .current_dir(repo_root())
                .env("CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER", "x86_64-w64-mingw32-gcc")
                .env("RUSTC_WRAPPER", "")
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "building for Windows failed (install: {INSTALL}):\n{}",
                describe(&output)
            );
            target_dir.join(TARGET).join("debug").join(format!("{package}.exe"))
        })
        .clone()
}

#[test]
fn the_windows_build_prints_the_same_help() {
    let prefix = Prefix::get();
    for (args, golden) in [
        (&["info", "--help"][..], "info"),
        (&["coverage", "--help"][..], "coverage"),
        (&["help", "setup-sccache"][..], "setup-sccache"),
    ] {
        let output = prefix.command().arg(windows_xtask()).args(args).output().unwrap();
        assert_success(&output, &format!("xtask.exe {args:?} under Wine"));
        let expected = std::fs::read_to_string(repo_root().join(format!("xtask/test_data/help/{golden}.txt"))).unwrap();
        assert_eq!(text(&output.stdout), expected, "{args:?}");
    }
}

#[test]
fn cmd_lines_from_env_hold_their_values_exactly_in_cmd() {
    require_tool("sccache", &["--version"], "cargo install sccache --locked");
    let sandbox = Sandbox::new("wine-env-cmd");
    sandbox.fixture_workspace();
    sandbox.write("sccache.conf", "");
    // Every character cmd treats specially that a path can hold (a quote or line break it
    // cannot: `env` refuses those).
    let cache_dir = r"C:\Users\A & B (x86)\100% done ^caret! ;semi=eq,comma <lt> >gt |bar\cache";
    let output = sandbox
        .command(XTASK, "ws")
        .args(["setup-sccache", "env", "--shell", "cmd", "--no-incremental"])
        .env("SCCACHE_CONF", sandbox.path("sccache.conf"))
        .env("SCCACHE_DIR", cache_dir)
        .output()
        .unwrap();
    assert_success(&output, "env --shell cmd");
    let lines = text(&output.stdout);
    let script = sandbox.path("apply.bat");
    std::fs::write(
        &script,
        format!("@echo off\r\n{}\r\nset SCCACHE_\r\nset CARGO_INCREMENTAL\r\n", lines.replace('\n', "\r\n")),
    )
    .unwrap();
    let output = Prefix::get()
        .command()
        .args(["cmd", "/c"])
        .arg(format!("Z:{}", script.display()).replace('/', "\\"))
        .output()
        .unwrap();
    assert_success(&output, "cmd /c apply.bat under Wine");
    let seen = text(&output.stdout);
    let value = |name: &str| {
        seen.lines().find_map(|line| line.trim_end_matches('\r').strip_prefix(&format!("{name}="))).map(str::to_owned)
    };
    assert_eq!(value("SCCACHE_DIR").as_deref(), Some(cache_dir), "{lines}\n{seen}");
    assert_eq!(value("SCCACHE_CACHE_SIZE").as_deref(), Some("10G"), "{seen}");
    assert_eq!(value("CARGO_INCREMENTAL").as_deref(), Some("0"), "{seen}");
}
