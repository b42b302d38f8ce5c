//! `cargo xtask`: the workspace's own automation, in Rust so that it runs the same on Linux, macOS
//! and Windows. See <https://github.com/matklad/cargo-xtask/> for the convention and README.md
//! for the tasks.
//!
//! Each task is a module with `impl flags::Task { fn run(self, sh: &Shell) }`. The shell starts
//! at the root of the workspace that contains the current directory, which need not be this one.
//!
//! A library as well as the binary (`main.rs` only calls [`main`]): this repository's own
//! development tasks (`cargo dev`, in `xtask-dev/`, which `adopt` does not copy) build on its
//! modules. The modules they use are `pub`; nothing else is promised to other crates.

// Printing goes through `secrets`' macros: redacted, and quiet when the reader has gone.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod adopt;
pub mod child;
mod clean_shared_target;
mod compile_record;
mod coverage;
mod doctor;
mod finding;
pub mod flags;
mod hash;
mod help;
mod info;
pub mod output;
mod roles;
mod safe_fs;
pub mod secrets;
pub mod setup_sccache;
mod toml_file;
pub mod tools;
pub mod workspace;

use std::process::ExitCode;

use crate::secrets::out;
use output::{Stream, Style, UsageError, paint};
use xshell::Shell;

/// The xtask's entry point: one of its three roles (see `roles`), for its command line and
/// environment.
pub fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    match roles::Role::of(&args, &|name| std::env::var_os(name)) {
        roles::Role::LlvmCov(call) => call.run(),
        roles::Role::RustcWrapper(call) => call.run(),
        roles::Role::TaskRunner => run_task(args),
    }
}

/// The task runner: `cargo xtask TASK [FLAGS]`.
fn run_task(mut args: Vec<std::ffi::OsString>) -> ExitCode {
    // `coverage-fast` is `coverage` with a narrower default selection: one definition of the flags.
    let fast = args.first().is_some_and(|arg| arg == "coverage-fast");
    if fast {
        args[0] = "coverage".into();
    }
    // Before anything can print: the credentials in the variables sccache reads.
    secrets::keep_from_env(
        std::env::vars_os().filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?))),
    );
    if let Some(answer) = help::answer(&args) {
        return exit_code(answer.map(|text| out!("{text}")).map_err(Into::into));
    }
    let flags = match flags::Xtask::from_vec(args.clone()) {
        Ok(flags) => flags,
        // `--help` after the task's arguments, once they all parsed.
        Err(err) if err.is_help() => {
            out!("{}", help::for_args(&args, fast));
            return ExitCode::SUCCESS;
        }
        Err(err) => return usage_error(&err),
    };
    exit_code(run(flags, if fast { coverage::Scope::Fast } else { coverage::Scope::Full }))
}

/// How a task's result ends the process: 0, 2 for a usage error, a child's code passed on, or 1
/// with the error (its credentials hidden).
pub fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.is::<UsageError>() => usage_error(&err),
        Err(err) => match err.downcast::<output::PassedOn>() {
            Ok(output::PassedOn(code)) => ExitCode::from(code),
            Err(err) => {
                secrets::errln!("{}: {err:#}", paint(Stream::Stderr, Style::Bad, "error"));
                ExitCode::FAILURE
            }
        },
    }
}

/// The shell, moved to the root of the workspace that contains the current directory.
pub fn at_workspace_root(sh: &Shell) -> anyhow::Result<&Shell> {
    sh.change_dir(workspace::locate_root(sh)?);
    Ok(sh)
}

pub fn usage_error(err: &dyn std::fmt::Display) -> ExitCode {
    secrets::errln!(
        "{}: {err}\nRun `cargo xtask --help` for the tasks and their flags.",
        paint(Stream::Stderr, Style::Bad, "error")
    );
    ExitCode::from(2)
}

fn run(flags: flags::Xtask, scope: coverage::Scope) -> anyhow::Result<()> {
    let sh = &Shell::new()?;
    match flags.subcommand {
        flags::XtaskCmd::Help(_) => {
            out!("{}", help::overview());
            Ok(())
        }
        // Run from anywhere: it copies this xtask, wherever it was built.
        flags::XtaskCmd::Adopt(cmd) => cmd.run(sh),
        flags::XtaskCmd::SetupSccache(cmd) => cmd.run(at_workspace_root(sh)?),
        flags::XtaskCmd::Info(cmd) => cmd.run(at_workspace_root(sh)?),
        flags::XtaskCmd::Coverage(cmd) => cmd.run(at_workspace_root(sh)?, scope),
        flags::XtaskCmd::CleanSharedTarget(cmd) => cmd.run(at_workspace_root(sh)?),
        flags::XtaskCmd::Doctor(cmd) => cmd.run(at_workspace_root(sh)?),
    }
}
