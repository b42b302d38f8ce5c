//! `cargo xtask`: the workspace's own automation, in Rust so that it runs the same on Linux, macOS
//! and Windows. See <https://github.com/matklad/cargo-xtask/> for the convention and README.md
//! for the tasks.
//!
//! Each task is a module with `impl flags::Task { fn run(self, sh: &Shell) }`. The shell starts
//! at the root of the workspace that contains the current directory, which need not be this one.

// The xtask's job is to print.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod child;
mod ci;
mod clean_shared_target;
mod flags;
mod info;
mod output;
#[cfg(test)]
mod tidy;
mod tools;
mod workspace;

use std::process::ExitCode;

use output::{Stream, Style, paint};
use xshell::Shell;

fn main() -> ExitCode {
    let flags = match flags::Xtask::from_env() {
        Ok(flags) => flags,
        Err(err) if err.is_help() => {
            print!("{err}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!(
                "{}: {err}\nRun `cargo xtask --help` for the tasks and their flags.",
                paint(Stream::Stderr, Style::Bad, "error")
            );
            return ExitCode::from(2);
        }
    };
    match run(flags) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}: {err:#}", paint(Stream::Stderr, Style::Bad, "error"));
            ExitCode::FAILURE
        }
    }
}

fn run(flags: flags::Xtask) -> anyhow::Result<()> {
    let sh = &Shell::new()?;
    match flags.subcommand {
        flags::XtaskCmd::Help(_) => {
            print!("{}", flags::Xtask::HELP);
            Ok(())
        }
        flags::XtaskCmd::Ci(cmd) => {
            sh.change_dir(workspace::locate_root(sh)?);
            cmd.run(sh)
        }
        flags::XtaskCmd::Info(cmd) => {
            sh.change_dir(workspace::locate_root(sh)?);
            cmd.run(sh)
        }
        flags::XtaskCmd::CleanSharedTarget(cmd) => {
            sh.change_dir(workspace::locate_root(sh)?);
            cmd.run(sh)
        }
    }
}
