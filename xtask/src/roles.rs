//! The three parts the one `xtask` executable plays, and how a process knows which is its own.
//!
//! | role | started by | told by | reads | passes through untouched | fails how |
//! |---|---|---|---|---|---|
//! | task runner | the user (`cargo xtask TASK`) | neither mark below | its flags, the workspace | — | exit 2 for a usage error, 1 with the error, or a child's code |
//! | rustc wrapper ([`rustc_wrapper`]) | cargo, as `RUSTC_WRAPPER` | `__XTASK_WRAPPER_SCCACHE` and a compiler as first argument | the `__XTASK_WRAPPER_*`/`__XTASK_EXPLAIN_RECORDS` variables | rustc's arguments, cargo's environment, the user's `RUSTC_WRAPPER` (given back to sccache) | sccache's exit code; a record it cannot write is a warning, never a failed build |
//! | `llvm-cov` stand-in ([`llvm_cov`]) | cargo-llvm-cov, as `LLVM_COV` | `XTASK_COVERAGE_REAL_LLVM_COV` and `export`/`show`/`report` as first argument | `XTASK_COVERAGE_SUMMARY_FILE` | llvm-cov's arguments, its output and exit code | the real llvm-cov's exit code; a failed summary is removed (the task then asks for one) |
//!
//! The marks are the only way in: a task's child inherits them, so each role also checks its
//! first argument, and an xtask started inside a wrapped build (a test of a measured crate
//! running `cargo xtask`) is a task runner again. The task runner never sets a mark in its own
//! environment; the tasks put them into the environment of the cargo they start.

pub(crate) mod llvm_cov;
pub(crate) mod rustc_wrapper;

use std::ffi::OsString;

#[derive(Debug, PartialEq)]
pub(crate) enum Role {
    LlvmCov(llvm_cov::Call),
    RustcWrapper(rustc_wrapper::Call),
    TaskRunner,
}

impl Role {
    /// The role of a process started with `args` (without the program) and the variables `var`
    /// reads.
    pub(crate) fn of(args: &[OsString], var: &dyn Fn(&str) -> Option<OsString>) -> Role {
        llvm_cov::Call::of(args, var)
            .map(Role::LlvmCov)
            .or_else(|| rustc_wrapper::Call::of(args, var).map(Role::RustcWrapper))
            .unwrap_or(Role::TaskRunner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(args: &[&str], vars: &[(&str, &str)]) -> &'static str {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let var = |name: &str| vars.iter().find(|(key, _)| *key == name).map(|(_, value)| OsString::from(value));
        match Role::of(&args, &var) {
            Role::LlvmCov(_) => "llvm-cov",
            Role::RustcWrapper(_) => "wrapper",
            Role::TaskRunner => "task",
        }
    }

    #[test]
    fn each_role_needs_its_mark_and_its_callers_arguments() {
        let wrapper = [(rustc_wrapper::SCCACHE_VAR, "/bin/sccache")];
        let tap = [(llvm_cov::REAL_LLVM_COV, "/t/llvm-cov")];
        assert_eq!(role(&["/t/rustc", "--crate-name", "a"], &wrapper), "wrapper");
        assert_eq!(role(&["export", "-format=lcov"], &tap), "llvm-cov");
        assert_eq!(role(&["report"], &[tap[0], wrapper[0]]), "llvm-cov");
        // Inherited marks with a task's command line: a task.
        assert_eq!(role(&["coverage", "--mode", "lcov"], &wrapper), "task");
        assert_eq!(role(&["coverage"], &tap), "task");
        assert_eq!(role(&[], &[tap[0], wrapper[0]]), "task");
        // A compiler's arguments without the mark: cargo never made the xtask its wrapper.
        assert_eq!(role(&["/t/rustc", "-vV"], &[]), "task");
    }
}
