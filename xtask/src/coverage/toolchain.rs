//! The tools a run needs and what its children get: cargo-llvm-cov, the toolchain (nightly for
//! doc tests), llvm-cov, the rustc wrapper in front of sccache, and the variables every child gets.

use std::{collections::BTreeMap, ffi::OsString};

use anyhow::{Context, bail};
use camino::Utf8PathBuf;
use xshell::Shell;

use super::{NIGHTLY_INSTALL, outputs::Dirs, plan};
use crate::secrets::errln;
use crate::{
    child::{self, Env},
    flags::{self},
    roles::rustc_wrapper,
    setup_sccache, tools,
};

/// The cargo that cargo-llvm-cov drives, and for `--doctests` or `--branch` on a stable default, the nightly.
#[derive(Debug)]
pub(super) struct Toolchain {
    pub(super) cargo: OsString,
    /// Nightly's cargo and rustc, when the active toolchain is not a nightly.
    pub(super) nightly: Option<(Utf8PathBuf, Utf8PathBuf)>,
}

impl Toolchain {
    /// `needs_nightly`: the flag that needs a nightly toolchain (`--doctests`, `--branch`), if any.
    fn for_run(sh: &Shell, needs_nightly: Option<&str>) -> anyhow::Result<Toolchain> {
        let cargo = sh.var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let Some(flag) = needs_nightly else { return Ok(Toolchain { cargo, nightly: None }) };
        let version =
            child::command(sh, tools::rustc(sh)).arg("-V").quiet().read().context("could not run `rustc -V`")?;
        if version.contains("-nightly") {
            return Ok(Toolchain { cargo, nightly: None });
        }
        let Some(nightly) = installed_nightly(sh) else {
            bail!(
                "{flag} needs a nightly toolchain (the active one is {}) and none is installed; install one with: {NIGHTLY_INSTALL}",
                version.trim()
            )
        };
        errln!("{flag}: the active toolchain is {}; using the nightly one", version.trim());
        Ok(Toolchain { cargo, nightly: Some(nightly) })
    }

    /// The compiler cargo-llvm-cov uses, whose llvm-tools must read its profiles: `RUSTC`, else
    /// the rustc beside the cargo (both as cargo-llvm-cov picks them).
    pub(super) fn rustc(&self, sh: &Shell) -> OsString {
        if let Some((_, rustc)) = &self.nightly {
            return rustc.as_str().into();
        }
        tools::rustc_from_env(sh).unwrap_or_else(|| {
            let beside =
                std::path::Path::new(&self.cargo).with_file_name(format!("rustc{}", std::env::consts::EXE_SUFFIX));
            if beside.is_file() { beside.into() } else { "rustc".into() }
        })
    }
}

/// The cargo and rustc of rustup's nightly toolchain, if it is installed. Doc-test coverage needs
/// rustdoc's unstable --persist-doctests (cargo-llvm-cov #2).
pub(super) fn installed_nightly(sh: &Shell) -> Option<(Utf8PathBuf, Utf8PathBuf)> {
    let which = |tool: &str| {
        child::command(sh, "rustup").args(["which", "--toolchain", "nightly", tool]).quiet().ignore_stderr().read()
    };
    Some((which("cargo").ok()?.trim().into(), which("rustc").ok()?.trim().into()))
}

/// What every cargo-llvm-cov child gets on top of the inherited environment.
pub(super) fn child_env(dirs: &Dirs, toolchain: &Toolchain, no_sccache: bool) -> Env {
    let cargo = toolchain.nightly.as_ref().map_or_else(|| toolchain.cargo.clone(), |(cargo, _)| cargo.as_str().into());
    let env = Env::default()
        .set("CARGO", cargo)
        // Its own build and its default report directory inside the workspace (its `clean`
        // removes `<target>/llvm-cov/html` and `text`, which would be everyone's in a shared one).
        .set("CARGO_TARGET_DIR", &dirs.own_target)
        .set("CARGO_LLVM_COV_TARGET_DIR", &dirs.cov_target)
        .set("CARGO_LLVM_COV_BUILD_DIR", &dirs.cov_target)
        // Never a prompt to install llvm-tools: an error naming the rustup command instead.
        .set("CARGO_LLVM_COV_SETUP", "no");
    let env = match &toolchain.nightly {
        Some((_, rustc)) => env.set("RUSTC", rustc).set("RUSTUP_TOOLCHAIN", "nightly"),
        None => env,
    };
    // Empty also overrides a `build.rustc-wrapper` from cargo's config.
    if no_sccache { env.set("RUSTC_WRAPPER", "") } else { env }
}

/// The coverage run's own `CARGO_*` variables that `child_env` sets.
const CHILD_VARS: [&str; 4] =
    ["CARGO_TARGET_DIR", "CARGO_LLVM_COV_TARGET_DIR", "CARGO_LLVM_COV_BUILD_DIR", "CARGO_LLVM_COV_SETUP"];
/// Those cargo-llvm-cov sets itself (`CARGO_BUILD_BUILD_DIR` when a build directory is configured).
const LLVM_COV_VARS: [&str; 2] = ["CARGO_LLVM_COV", "CARGO_BUILD_BUILD_DIR"];

/// The rustc wrapper cargo-llvm-cov will chain, as far as sccache goes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Wrapper {
    /// Not sccache (or none): chained as it is.
    Other,
    /// sccache, at this path, named by `RUSTC_WRAPPER` with this value or else by cargo's config.
    Sccache { path: Utf8PathBuf, variable: Option<String> },
    /// The xtask already stands in front of sccache (`setup-sccache explain` runs this coverage).
    Xtask,
}

/// What puts the xtask in front of sccache, so that the dependencies (not instrumented) get
/// `user_vars`, the user's values of the run's own variables: sccache hashes every `CARGO_*`
/// variable, and with the run's values they could never hit what `cargo build` or `cargo test` cached.
pub(super) fn dependency_env(wrapper: &Wrapper, xtask: &OsString, user_vars: &BTreeMap<&str, Option<String>>) -> Env {
    let dependency_env =
        Env::default().set(rustc_wrapper::DEPENDENCY_ENV_VAR, rustc_wrapper::dependency_env(user_vars));
    match wrapper {
        Wrapper::Other => Env::default(),
        Wrapper::Sccache { path, variable } => {
            rustc_wrapper::env(xtask, path.as_ref(), variable.clone().map(OsString::from)).and(&dependency_env)
        }
        Wrapper::Xtask => dependency_env,
    }
}

/// The programs a coverage run needs, checked to exist and be recent enough.
pub(super) struct Tools {
    pub(super) cargo_llvm_cov: Utf8PathBuf,
    pub(super) toolchain: Toolchain,
    pub(super) llvm_cov: Utf8PathBuf,
    pub(super) llvm_profdata: Utf8PathBuf,
    /// This program: the stand-in for llvm-cov in the test run, and the rustc wrapper in front of sccache.
    pub(super) xtask: OsString,
    pub(super) wrapper: Wrapper,
    /// The user's values of `CHILD_VARS` and `LLVM_COV_VARS`.
    pub(super) user_vars: BTreeMap<&'static str, Option<String>>,
}

impl Tools {
    pub(super) fn find(sh: &Shell, flags: &flags::Coverage) -> anyhow::Result<Tools> {
        let cargo_llvm_cov = tools::CARGO_LLVM_COV.find(sh)?.path;
        if flags.nextest {
            tools::CARGO_NEXTEST.find(sh)?;
        }
        let needs_nightly = plan::given(&[("--doctests", flags.doctests), ("--branch", flags.branch)]).next();
        let toolchain = Toolchain::for_run(sh, needs_nightly)?;
        // Found once here and passed on, which saves each cargo-llvm-cov child the same rustc call.
        let install = if toolchain.nightly.is_some() { NIGHTLY_INSTALL } else { tools::LLVM_COV.install };
        let (llvm_cov, llvm_profdata) = tools::llvm_tools(sh, &toolchain.rustc(sh), install)?;
        let xtask = std::env::current_exe().context("cannot find the running xtask")?.into();
        let wrapper = match (sh.var_os(rustc_wrapper::SCCACHE_VAR), setup_sccache::sccache_wrapper(sh)) {
            (Some(_), _) => Wrapper::Xtask,
            (None, Some((path, variable))) => Wrapper::Sccache { path, variable },
            (None, None) => Wrapper::Other,
        };
        let user_vars = CHILD_VARS.into_iter().chain(LLVM_COV_VARS).map(|name| (name, sh.var(name).ok())).collect();
        Ok(Tools { cargo_llvm_cov, toolchain, llvm_cov, llvm_profdata, xtask, wrapper, user_vars })
    }
}
