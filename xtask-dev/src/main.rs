//! `cargo dev`: this repository's development tasks, beside every task of `cargo xtask`.
//!
//! The checks CI runs (`ci`) and the benchmarks (`bench`) are about developing this repository,
//! so they live in this crate, which `cargo xtask adopt` does not copy. Any other command line is
//! the xtask's own: this binary is then the xtask, which is what the end-to-end proofs in
//! `tests/` (servers, Wine, Python wheels: what `cargo dev ci` provisions) run.

// Printing goes through these, as in the xtask: redacted, and quiet when the reader has gone
// (`cargo dev ci --dry-run | head`).
#![deny(clippy::print_stdout, clippy::print_stderr)]

macro_rules! outln {
    ($($arg:tt)*) => { xtask::secrets::write_redacted(xtask::output::Stream::Stdout, format_args!($($arg)*), true) };
}
macro_rules! out {
    ($($arg:tt)*) => { xtask::secrets::write_redacted(xtask::output::Stream::Stdout, format_args!($($arg)*), false) };
}
macro_rules! errln {
    ($($arg:tt)*) => { xtask::secrets::write_redacted(xtask::output::Stream::Stderr, format_args!($($arg)*), true) };
}

mod bench;
mod ci;
mod flags;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let words: Vec<&str> = args.iter().map(|arg| arg.to_str().unwrap_or("")).collect();
    match words.as_slice() {
        [] | ["help" | "--help" | "-h"] => {
            out!("{}\nAny other task is `cargo xtask`'s: `cargo xtask --help` lists them.\n", flags::Dev::HELP);
            ExitCode::SUCCESS
        }
        ["ci" | "bench", ..] => match flags::Dev::from_vec(args) {
            Ok(flags) => xtask::exit_code(run(flags)),
            Err(err) if err.is_help() => {
                out!("{err}");
                ExitCode::SUCCESS
            }
            Err(err) => xtask::usage_error(&err),
        },
        _ => xtask::main(),
    }
}

fn run(flags: flags::Dev) -> anyhow::Result<()> {
    let sh = &xshell::Shell::new()?;
    let sh = xtask::at_workspace_root(sh)?;
    match flags.subcommand {
        flags::DevCmd::Ci(cmd) => cmd.run(sh),
        flags::DevCmd::Bench(cmd) => cmd.run(sh),
    }
}
