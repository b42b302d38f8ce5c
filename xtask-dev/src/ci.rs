//! `cargo dev ci`: install what the checks need, then run every check CI runs.

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::{Cmd, Shell};

use xtask::{
    child::{self, Env},
    setup_sccache, tools,
    workspace::{Workspace, XTASK_PACKAGE},
};

use crate::flags;

/// action-validator, with which `ci` checks the GitHub Actions workflow; 0.6 has the current schema.
const ACTION_VALIDATOR: tools::Tool = tools::Tool::on_path(
    &["action-validator"],
    Some(tools::Version(0, 6, 0)),
    "cargo install action-validator --locked",
);

/// Targets the xtask must keep compiling for: the reason this project exists is that the same
/// code runs on Windows and macOS, and `cargo check` proves that without their linkers.
const PORTABILITY_TARGETS: &[&str] = &["x86_64-pc-windows-msvc", "x86_64-apple-darwin"];

/// This crate's package, checked for the other systems beside the xtask.
const DEV_PACKAGE: &str = env!("CARGO_PKG_NAME");

/// The GitHub Actions workflows, checked so that a typo fails here rather than on GitHub.
const WORKFLOWS: &[&str] = &[".github/workflows/ci.yml"];

/// A Debian package the checks need, known to be installed by one of its programs.
struct DebianPackage {
    name: &'static str,
    program: &'static str,
    /// Where Debian puts the program when not on `PATH`.
    also_at: Option<&'static str>,
}

impl DebianPackage {
    const fn new(name: &'static str, program: &'static str) -> DebianPackage {
        DebianPackage { name, program, also_at: None }
    }

    fn program(&self, sh: &Shell) -> Option<Utf8PathBuf> {
        tools::locate(sh, self.program).or_else(|| self.also_at.map(Utf8PathBuf::from).filter(|path| path.is_file()))
    }
}

/// Programs the end-to-end tests run (Redis, memcached, fish), and on Linux, what runs the
/// Windows unit tests: Wine and the mingw-w64 linker.
const DEBIAN_PACKAGES: &[DebianPackage] = &[
    DebianPackage::new("redis-server", "redis-server"),
    DebianPackage::new("redis-tools", "redis-cli"),
    DebianPackage::new("memcached", "memcached"),
    DebianPackage::new("fish", "fish"),
    // The sandbox of the sccache-dist build server in the distributed-compilation test.
    DebianPackage::new("bubblewrap", "bwrap"),
    WINE,
    DebianPackage::new("gcc-mingw-w64-x86-64", MINGW_GCC),
];

/// Debian's Wine 8 puts `wine64` beside its libraries, not on `PATH`.
const WINE: DebianPackage = DebianPackage { name: "wine64", program: "wine64", also_at: Some("/usr/lib/wine/wine64") };
const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";

/// The Windows target whose unit tests run under Wine (mingw-w64 links it, no MSVC needed).
const WINE_TARGET: &str = "x86_64-pc-windows-gnu";

/// Tests that cannot run under Wine, and why; the Windows runner of the workflow runs them.
const NOT_UNDER_WINE: &[(&str, &str)] =
    &[("coverage::python::tests::finds_this_machines_python", "it needs a Windows Python, which Wine has none of")];

/// Azurite, Microsoft's Azure Storage emulator, for the azure backend's test: from npm, into
/// `<target>/npm`, where the test looks for it.
const AZURITE: &str = "azurite@3.35.0";

/// The wheels the Python-test coverage test installs into its environments, with pip's index
/// off: fetched once into `<target>/python-wheels`, where the test looks for them.
const PYTHON_TEST_WHEELS: &[&str] = &["maturin==1.16.0", "pytest==9.2.0"];

/// Wine 8 lacks `bcryptprimitives.dll`, which Rust's std imports; this stand-in is built into the
/// test prefix (see the file).
const PRNG_SHIM: &str = include_str!("../test_data/wine/bcryptprimitives.c");

/// Programs from PyPI, and the packages that bring them: a WebDAV server with basic auth and an
/// S3 server (moto), for the backends' tests, and zizmor, the security audit of the workflows.
/// They go into a virtual environment of their own under the target directory
/// ([`python_tools_dir`]), never into the interpreter's own site-packages.
const PYTHON_PACKAGES: &[(&str, &[&str])] = &[
    ("wsgidav", &["wsgidav==4.4.0", "cheroot==11.1.2"]),
    ("moto_server", &["moto[server]==5.2.1"]),
    ("zizmor", &["zizmor==1.32.0"]),
];

/// The virtual environment of the Python tools, where the proofs and the bench look for them.
pub(crate) fn python_tools_dir(target_dir: &Utf8Path) -> Utf8PathBuf {
    target_dir.join("dev-tools/python")
}

/// A program of the Python tools' environment.
pub(crate) fn python_tool(target_dir: &Utf8Path, program: &str) -> Utf8PathBuf {
    let dir = python_tools_dir(target_dir);
    match cfg!(windows) {
        true => dir.join("Scripts").join(tools::exe(program)),
        false => dir.join("bin").join(program),
    }
}

impl flags::Ci {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let target_dir = Workspace::load(sh)?.target_dir;
        if self.dry_run {
            return self.print_plan(sh, &target_dir);
        }
        if !self.no_install {
            // First, as it may stop the run: the system's packages are the user's to change.
            install_debian_packages(sh, self.may_install_system_packages())?;
            for install in installs(sh) {
                install.run().context("installing what the checks need failed")?;
            }
            for tool in [&tools::CARGO_LLVM_COV, &tools::CARGO_NEXTEST, &ACTION_VALIDATOR] {
                if let Err(err) = tool.find(sh) {
                    errln!("{err:#}\nInstalling it now; this compiles it and takes a minute or two.");
                    child::cargo(sh).args(["install", tool.name, "--locked"]).run()?;
                }
            }
            setup_sccache::find_or_install(sh, false, false)?;
            install_python_tools(sh, &target_dir)?;
            install_azurite(sh, &target_dir)?;
            download_python_test_wheels(sh, &target_dir)?;
        }
        let action_validator = ACTION_VALIDATOR.find(sh)?.path;
        let zizmor = python_tool(&target_dir, "zizmor");
        if !zizmor.is_file() {
            bail!("{zizmor} is missing: `cargo dev ci` installs it (without --no-install)");
        }
        for check in checks(sh, &action_validator, &zizmor, &target_dir) {
            check.run()?;
        }
        if cfg!(target_os = "linux") {
            let wine = WINE.program(sh).context("Wine is missing: install it with `sudo apt-get install wine64`")?;
            let wine = Wine::in_dir(&target_dir.join("wine"), wine);
            wine.prepare(sh)?;
            for (test, why) in NOT_UNDER_WINE {
                errln!("under Wine, {test} is left out: {why}");
            }
            wine.unit_tests(sh).run().context("the xtask's unit tests failed on Windows (under Wine)")?;
        }
        errln!("all checks passed");
        Ok(())
    }

    /// apt-get changes the machine, not the checkout: only on CI or when asked.
    fn may_install_system_packages(&self) -> bool {
        self.install_system_packages || std::env::var_os("CI").is_some_and(|ci| !ci.is_empty() && ci != "false")
    }

    fn print_plan(&self, sh: &Shell, target_dir: &Utf8Path) -> anyhow::Result<()> {
        outln!("installs, each skipped when done already:");
        let debian: Vec<&str> = DEBIAN_PACKAGES.iter().map(|package| package.name).collect();
        let when = if self.may_install_system_packages() {
            ""
        } else {
            "; without CI set or --install-system-packages, a missing one stops the run"
        };
        outln!("  apt-get install {} (when their programs are missing{when})", debian.join(" "));
        for install in installs(sh) {
            outln!("  {}", shown(&install));
        }
        for tool in [&tools::CARGO_LLVM_COV, &tools::CARGO_NEXTEST, &ACTION_VALIDATOR, &tools::SCCACHE] {
            outln!("  {} (when missing or too old)", tool.install);
        }
        let venv = python_tools_dir(target_dir);
        outln!("  python3 -m venv {venv} (when missing)");
        for (program, packages) in PYTHON_PACKAGES {
            outln!(
                "  {} -m pip install {} (when {program} is missing there)",
                python_tool(target_dir, "python"),
                packages.join(" ")
            );
        }
        outln!("  npm install --prefix {} {AZURITE} (when missing)", target_dir.join("npm"));
        outln!(
            "  {} -m pip download --dest {} {} (when missing)",
            python_tool(target_dir, "python"),
            target_dir.join("python-wheels"),
            PYTHON_TEST_WHEELS.join(" ")
        );
        outln!("checks, in this order:");
        for check in checks(sh, "action-validator".into(), &python_tool(target_dir, "zizmor"), target_dir) {
            outln!("  {}", shown(&check));
        }
        if cfg!(target_os = "linux") {
            let wine = Wine::in_dir(&target_dir.join("wine"), "wine64".into());
            outln!("  {}", shown(&wine.unit_tests(sh)));
        }
        Ok(())
    }
}

/// The Debian packages whose programs are missing: installed with apt-get when `allowed`, else
/// an error naming them and the command that installs them.
fn install_debian_packages(sh: &Shell, allowed: bool) -> anyhow::Result<()> {
    let missing: Vec<&DebianPackage> = DEBIAN_PACKAGES.iter().filter(|package| package.program(sh).is_none()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(|package| package.name).collect();
    let programs: Vec<&str> = missing.iter().map(|package| package.program).collect();
    if tools::locate(sh, "apt-get").is_none() {
        bail!(
            "the tests need these programs: {}; install them with your package manager (Debian's packages: {})",
            programs.join(", "),
            names.join(" ")
        );
    }
    if !allowed {
        bail!(
            "the tests need these programs, which are missing: {}. Install them with\n  sudo apt-get install -y \
             --no-install-recommends {}\nor let this run do it: cargo dev ci --install-system-packages \
             (nothing was run)",
            programs.join(", "),
            names.join(" ")
        );
    }
    let apt_get = || Env::default().set("DEBIAN_FRONTEND", "noninteractive").apply(child::command(sh, "apt-get"));
    apt_get().args(["update", "-qq"]).run()?;
    apt_get().args(["install", "-y", "-qq", "--no-install-recommends"]).args(&names).run()?;
    Ok(())
}

/// The Python tools' own virtual environment, made with the `python3` on `PATH`, and in it the
/// packages whose programs it lacks.
fn install_python_tools(sh: &Shell, target_dir: &Utf8Path) -> anyhow::Result<()> {
    let venv = python_tools_dir(target_dir);
    let python = python_tool(target_dir, "python");
    if !python.is_file() {
        child::command(sh, "python3").args(["-m", "venv"]).arg(&venv).run().with_context(|| {
            format!("making the Python tools' environment {venv} failed (on Debian: sudo apt-get install python3-venv)")
        })?;
    }
    for (program, packages) in PYTHON_PACKAGES {
        if !python_tool(target_dir, program).is_file() {
            child::command(sh, &python)
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
                .args(*packages)
                .run()
                .with_context(|| {
                    format!("installing {} into {venv} failed; the tests need `{program}`", packages.join(" "))
                })?;
        }
    }
    Ok(())
}

/// Azurite with the machine's npm, unless it is there already.
fn install_azurite(sh: &Shell, target_dir: &Utf8Path) -> anyhow::Result<()> {
    let prefix = target_dir.join("npm");
    if prefix.join("node_modules/.bin").join(tools::exe("azurite-blob")).is_file() {
        return Ok(());
    }
    let npm = tools::locate(sh, "npm").context("npm is missing (Azurite comes from npm): install Node.js and npm")?;
    child::command(sh, npm)
        .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
        .arg(&prefix)
        .arg(AZURITE)
        .run()
        .with_context(|| format!("installing {AZURITE} with npm failed; the azure backend's test needs it"))?;
    Ok(())
}

/// maturin's and pytest's wheels (with their dependencies), unless they are there already.
fn download_python_test_wheels(sh: &Shell, target_dir: &Utf8Path) -> anyhow::Result<()> {
    let dir = target_dir.join("python-wheels");
    let have = |requirement: &str| {
        let wheel = requirement.replace("==", "-") + "-";
        dir.read_dir_utf8()
            .is_ok_and(|entries| entries.filter_map(Result::ok).any(|e| e.file_name().starts_with(&wheel)))
    };
    if PYTHON_TEST_WHEELS.iter().all(|requirement| have(requirement)) {
        return Ok(());
    }
    child::command(sh, python_tool(target_dir, "python"))
        .args(["-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary", ":all:", "--dest"])
        .arg(&dir)
        .args(PYTHON_TEST_WHEELS)
        .run()
        .with_context(|| {
            format!(
                "downloading {} with pip failed; the Python-test coverage test needs them",
                PYTHON_TEST_WHEELS.join(" ")
            )
        })?;
    Ok(())
}

/// `cmd` with the Python tools' environment first on its `PATH`.
fn with_python_tools_on_path<'a>(cmd: Cmd<'a>, target_dir: &Utf8Path) -> Cmd<'a> {
    let bin = python_tool(target_dir, "python").parent().expect("a program in a directory").to_owned();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(bin.into_std_path_buf()).chain(std::env::split_paths(&rest)))
        .expect("the directories on PATH joined again");
    cmd.env("PATH", path)
}

/// A command as the README writes it: `cargo` for the cargo that runs the xtask.
fn shown(cmd: &Cmd<'_>) -> String {
    let text = cmd.to_string();
    match std::env::var("CARGO") {
        Ok(cargo) if text.starts_with(&cargo) => format!("cargo{}", &text[cargo.len()..]),
        _ => text,
    }
}

/// rustup steps; each is a no-op when its part is already installed. The nightly toolchain
/// (`coverage --branch`'s test) is installed only when missing: `toolchain install` on an
/// installed one would update it.
fn installs(sh: &Shell) -> Vec<Cmd<'_>> {
    let has_nightly =
        child::command(sh, "rustup").args(["run", "nightly", "rustc", "-V"]).quiet().ignore_stderr().read().is_ok();
    installs_given(sh, has_nightly)
}

fn installs_given(sh: &Shell, has_nightly: bool) -> Vec<Cmd<'_>> {
    let rustup = || child::command(sh, "rustup");
    vec![
        rustup().args(["component", "add", "rustfmt", "clippy", "llvm-tools-preview"]),
        rustup().args(["target", "add"]).args(PORTABILITY_TARGETS).arg(WINE_TARGET),
        match has_nightly {
            true => rustup().args(["component", "add", "llvm-tools-preview", "--toolchain", "nightly"]),
            false => rustup()
                .args(["toolchain", "install", "nightly", "--profile", "minimal"])
                .args(["--component", "llvm-tools-preview"]),
        },
    ]
}

/// Wine with a prefix of the checks' own (never the user's `~/.wine`), in `dir`.
struct Wine {
    program: Utf8PathBuf,
    dir: Utf8PathBuf,
}

impl Wine {
    fn in_dir(dir: &Utf8Path, program: Utf8PathBuf) -> Wine {
        Wine { program, dir: dir.to_owned() }
    }

    fn env(&self) -> Env {
        Env::default()
            .set("WINEPREFIX", self.dir.join("prefix"))
            .set("WINEDEBUG", "-all")
            // No dialog asking to install Mono or Gecko when the prefix is made.
            .set("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .set("CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER", MINGW_GCC)
            .set("CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER", &self.program)
    }

    /// The prefix, made once, with the ProcessPrng stand-in in its `system32`, built when its
    /// source changed.
    fn prepare(&self, sh: &Shell) -> anyhow::Result<()> {
        let source = self.dir.join("bcryptprimitives.c");
        let dll = self.dir.join("bcryptprimitives.dll");
        if sh.read_file(&source).ok().as_deref() != Some(PRNG_SHIM) || !dll.is_file() {
            sh.write_file(&source, PRNG_SHIM)?;
            child::command(sh, MINGW_GCC)
                .args(["-shared", "-O2", "-o"])
                .arg(&dll)
                .arg(&source)
                .args(["-ladvapi32", "-Wl,--kill-at"])
                .run()
                .context("building the ProcessPrng stand-in for Wine failed")?;
        }
        let system32 = self.dir.join("prefix/drive_c/windows/system32");
        if !system32.is_dir() {
            self.env().apply(child::command(sh, &self.program).args(["wineboot", "--init"])).run()?;
        }
        sh.copy_file(&dll, system32.join("bcryptprimitives.dll"))?;
        Ok(())
    }

    /// The xtask's unit tests built for Windows and run by Wine.
    fn unit_tests<'a>(&self, sh: &'a Shell) -> Cmd<'a> {
        let cmd = child::cargo(sh).args(["test", "-p", XTASK_PACKAGE, "--lib", "--target", WINE_TARGET]);
        let skips = NOT_UNDER_WINE.iter().flat_map(|(test, _)| ["--skip", test]);
        self.env().apply(cmd.arg("--").args(skips))
    }
}

/// The checks, in the order that fails fastest. The tests find the Python tools' servers on
/// their `PATH`.
fn checks<'a>(sh: &'a Shell, action_validator: &Utf8Path, zizmor: &Utf8Path, target_dir: &Utf8Path) -> Vec<Cmd<'a>> {
    let tests = child::cargo(sh).args(["test", "--workspace", "--all-features"]);
    let mut checks = vec![
        child::cargo(sh).args(["fmt", "--all", "--check"]),
        child::command(sh, action_validator).args(WORKFLOWS),
        // Offline: the audits that need GitHub's API are left out, and nothing leaves the machine.
        child::command(sh, zizmor).arg("--offline").args(WORKFLOWS),
        child::cargo(sh).args(["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"]),
        with_python_tools_on_path(tests, target_dir),
    ];
    checks.extend(
        PORTABILITY_TARGETS
            .iter()
            .map(|target| child::cargo(sh).args(["check", "-p", XTASK_PACKAGE, "-p", DEV_PACKAGE, "--target", target])),
    );
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown_all(cmds: Vec<Cmd<'_>>) -> Vec<String> {
        cmds.iter().map(shown).collect()
    }

    #[test]
    fn checks_are_the_documented_ones() {
        let sh = Shell::new().unwrap();
        assert_eq!(
            shown_all(checks(&sh, "action-validator".into(), "zizmor".into(), "target".into())),
            [
                "cargo fmt --all --check",
                "action-validator .github/workflows/ci.yml",
                "zizmor --offline .github/workflows/ci.yml",
                "cargo clippy --workspace --all-targets --all-features -- -D warnings",
                "cargo test --workspace --all-features",
                &format!("cargo check -p {XTASK_PACKAGE} -p {DEV_PACKAGE} --target x86_64-pc-windows-msvc"),
                &format!("cargo check -p {XTASK_PACKAGE} -p {DEV_PACKAGE} --target x86_64-apple-darwin"),
            ]
        );
    }

    #[test]
    fn installs_are_idempotent_rustup_calls() {
        let sh = Shell::new().unwrap();
        let rustup = [
            "rustup component add rustfmt clippy llvm-tools-preview",
            "rustup target add x86_64-pc-windows-msvc x86_64-apple-darwin x86_64-pc-windows-gnu",
        ];
        assert_eq!(
            shown_all(installs_given(&sh, true)),
            [rustup[0], rustup[1], "rustup component add llvm-tools-preview --toolchain nightly"]
        );
        assert_eq!(
            shown_all(installs_given(&sh, false)),
            [rustup[0], rustup[1], "rustup toolchain install nightly --profile minimal --component llvm-tools-preview"]
        );
    }
}
