//! The `xtask` binary: everything is in the library (`lib.rs`), which `cargo dev` builds on too.

fn main() -> std::process::ExitCode {
    xtask::main()
}
