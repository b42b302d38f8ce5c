//! The command line: every task, flag and argument, parsed by xflags.
//!
//! Regenerate the code between `generated start` and `generated end` after editing the `xflags!`
//! block: `touch xtask/src/flags.rs && UPDATE_XFLAGS=1 cargo build -p xtask`, then build again.

use camino::Utf8PathBuf;

pub(crate) use crate::coverage::Mode;
use crate::setup_sccache::settings::{BackendKind, CacheSize, EnvShell, Scope};

xflags::xflags! {
    src "./src/flags.rs"

    /// The workspace's own automation, run the same way on Linux, macOS and Windows.
    cmd xtask {
        /// Print this help (also what a bare `cargo xtask` does).
        default cmd help {}

        /// Install, configure, start and inspect sccache. Without a subcommand: the whole set-up
        /// (install if missing, write the configuration, start the server, show the status); running
        /// it again changes nothing.
        cmd setup-sccache {
            /// Fail instead of installing sccache when it is missing.
            optional --no-install
            /// Print what would change, and change nothing (also for `clear` and `disable`).
            optional --dry-run
            /// Local cache directory. Default: sccache's own per-OS default (~/.cache/sccache on Linux).
            optional --cache-dir dir: Utf8PathBuf
            /// Cache size limit: a whole number with K, M, G or T. Default: 10G.
            optional --cache-size size: CacheSize
            /// Where the rustc wrapper goes: `user` ($CARGO_HOME/config.toml, the default) or
            /// `project` (the workspace's .cargo/config.toml; do not commit it).
            optional --scope scope: Scope
            /// Also write build.incremental = false, so workspace crates are cached too (for CI);
            /// with `env`, print CARGO_INCREMENTAL=0.
            optional --no-incremental
            /// Cache backend: local (the default), redis, memcached, s3, webdav or gha.
            optional --backend backend: BackendKind
            /// Redis server for --backend redis: redis://[user:password@]host:port[/db].
            optional --redis-url url: String
            /// Memcached server for --backend memcached: tcp://host:port.
            optional --memcached-url url: String
            /// S3 bucket for --backend s3.
            optional --s3-bucket bucket: String
            /// S3-compatible endpoint (R2, MinIO, ...) for --backend s3.
            optional --s3-endpoint url: String
            /// S3 region for --backend s3 (`auto` for R2).
            optional --s3-region region: String
            /// WebDAV endpoint for --backend webdav.
            optional --webdav-url url: String
            /// Keep the local disk cache in front of the remote backend (sccache 0.15 and later).
            optional --multilevel

            default cmd setup {}
            /// Show the binary and its backends, the server, the effective wrapper and where it
            /// comes from, the cache, and every problem found with its fix.
            cmd status {
                /// Print it as JSON on stdout.
                optional --json
            }
            /// Start the server with the configured cache (restart it if it runs with another).
            cmd start {}
            /// Stop the server (success when none runs).
            cmd stop {}
            /// Show requests, hits, misses, hit rate, why requests were not cacheable, and the
            /// cache size; appended as markdown to $GITHUB_STEP_SUMMARY when that is set.
            cmd stats {
                /// Print them as JSON on stdout.
                optional --json
                /// Then reset the counters.
                optional --zero
            }
            /// Stop the server and empty the local cache directory (remote caches are not touched).
            cmd clear {}
            /// Print the variables that make a shell use sccache as configured, in its syntax:
            /// `source <(cargo xtask setup-sccache env)`.
            cmd env {
                /// bash, zsh, fish, powershell, cmd, or github (lines for $GITHUB_ENV).
                /// Default: from $SHELL, or powershell on Windows.
                optional --shell shell: EnvShell
            }
            /// Remove what setup added to cargo's and sccache's configuration (and nothing else),
            /// and stop the server.
            cmd disable {}
        }

        /// Run every check CI runs (fmt, clippy, tests, Windows and macOS builds), first installing
        /// what they need: rustup components and targets, cargo-llvm-cov, cargo-nextest, sccache,
        /// and the Debian packages of redis-server and fish.
        cmd ci {
            /// Do not install anything; use the tools as they are.
            optional --no-install
        }

        /// Measure the speed claims side by side in one run: each scenario alternates its two sides
        /// (A B A B ...) and reports medians, ranges and the ratio against its goal.
        cmd bench {
            /// Scenarios to run (default: all): xtask-build, clean-scan, clean-delete,
            /// coverage-overhead, coverage-formats, coverage-sccache, sccache-rebuild.
            repeated scenario: String
            /// Pairs of runs per comparison. Default: 3.
            optional --runs n: u32
            /// Print the results as JSON on stdout.
            optional --json
            /// Keep the scenarios' workspaces under target/bench/ afterwards.
            optional --keep
            /// Also write the table into README.md's performance section.
            optional --readme
        }

        /// Measure test coverage with cargo-llvm-cov: one test run, then every report asked for,
        /// built in the workspace's own target/llvm-cov-target with sccache kept on.
        cmd coverage {
            /// Report to write; repeat for several, all from one test run: open (HTML, then
            /// open it in the browser), html, lcov, text, json, cobertura, codecov. Default: open.
            repeated --mode mode: Mode
            /// Crate to measure; repeat it or give a comma list (`-p a,b`). Default: every member
            /// except xtask.
            repeated -p, --package name: String
            /// Member to leave out; repeat it or give a comma list.
            repeated --exclude name: String
            /// Features to enable (space or comma list) instead of --all-features.
            repeated --features features: String
            /// Do not enable the default features (implies no --all-features).
            optional --no-default-features
            /// Put every report in this directory instead of lcov.info at the workspace root and
            /// the others in target/llvm-cov/.
            optional --output-dir dir: Utf8PathBuf
            /// Remove this workspace's coverage artifacts and reports first.
            optional --clean
            /// Only remove them, then stop.
            optional --clean-only
            /// Run the tests with cargo-nextest.
            optional --nextest
            /// Measure doc tests too; needs a nightly toolchain (used if installed).
            optional --doctests
            /// Switch the rustc wrapper (sccache) off for this run.
            optional --no-sccache
            /// Fail unless the total line coverage is at least this many percent.
            optional --fail-under-lines percent: f64
            /// Fail unless the total function coverage is at least this many percent.
            optional --fail-under-functions percent: f64
            /// Fail unless the total region coverage is at least this many percent.
            optional --fail-under-regions percent: f64
            /// Print what would be removed and run, and do nothing.
            optional --dry-run
        }

        /// The same as coverage, minus the crates that depend on pyo3 and those listed in
        /// `fast-exclude` under [workspace.metadata.xtask.coverage].
        cmd coverage-fast {
            /// Report to write; repeat for several, all from one test run: open (HTML, then
            /// open it in the browser), html, lcov, text, json, cobertura, codecov. Default: open.
            repeated --mode mode: Mode
            /// Crate to measure; repeat it or give a comma list (`-p a,b`). Default: every member
            /// except xtask.
            repeated -p, --package name: String
            /// Member to leave out; repeat it or give a comma list.
            repeated --exclude name: String
            /// Features to enable (space or comma list) instead of --all-features.
            repeated --features features: String
            /// Do not enable the default features (implies no --all-features).
            optional --no-default-features
            /// Put every report in this directory instead of lcov.info at the workspace root and
            /// the others in target/llvm-cov/.
            optional --output-dir dir: Utf8PathBuf
            /// Remove this workspace's coverage artifacts and reports first.
            optional --clean
            /// Only remove them, then stop.
            optional --clean-only
            /// Run the tests with cargo-nextest.
            optional --nextest
            /// Measure doc tests too; needs a nightly toolchain (used if installed).
            optional --doctests
            /// Switch the rustc wrapper (sccache) off for this run.
            optional --no-sccache
            /// Fail unless the total line coverage is at least this many percent.
            optional --fail-under-lines percent: f64
            /// Fail unless the total function coverage is at least this many percent.
            optional --fail-under-functions percent: f64
            /// Fail unless the total region coverage is at least this many percent.
            optional --fail-under-regions percent: f64
            /// Print what would be removed and run, and do nothing.
            optional --dry-run
        }

        /// Show what the tasks see: members, Python-bound crates, target and build directories,
        /// settings from [workspace.metadata.xtask], and the external tools with their versions.
        cmd info {
            /// Print it as JSON on stdout.
            optional --json
        }
    }
}
// generated start
// The following code is generated by `xflags` macro.
// Run `env UPDATE_XFLAGS=1 cargo build` to regenerate.
#[derive(Debug)]
pub struct Xtask {
    pub subcommand: XtaskCmd,
}

#[derive(Debug)]
pub enum XtaskCmd {
    Help(Help),
    SetupSccache(SetupSccache),
    Ci(Ci),
    Bench(Bench),
    Coverage(Coverage),
    CoverageFast(CoverageFast),
    Info(Info),
}

#[derive(Debug)]
pub struct Help;

#[derive(Debug)]
pub struct SetupSccache {
    pub no_install: bool,
    pub dry_run: bool,
    pub cache_dir: Option<Utf8PathBuf>,
    pub cache_size: Option<CacheSize>,
    pub scope: Option<Scope>,
    pub no_incremental: bool,
    pub backend: Option<BackendKind>,
    pub redis_url: Option<String>,
    pub memcached_url: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    pub webdav_url: Option<String>,
    pub multilevel: bool,
    pub subcommand: SetupSccacheCmd,
}

#[derive(Debug)]
pub enum SetupSccacheCmd {
    Setup(Setup),
    Status(Status),
    Start(Start),
    Stop(Stop),
    Stats(Stats),
    Clear(Clear),
    Env(Env),
    Disable(Disable),
}

#[derive(Debug)]
pub struct Setup;

#[derive(Debug)]
pub struct Status {
    pub json: bool,
}

#[derive(Debug)]
pub struct Start;

#[derive(Debug)]
pub struct Stop;

#[derive(Debug)]
pub struct Stats {
    pub json: bool,
    pub zero: bool,
}

#[derive(Debug)]
pub struct Clear;

#[derive(Debug)]
pub struct Env {
    pub shell: Option<EnvShell>,
}

#[derive(Debug)]
pub struct Disable;

#[derive(Debug)]
pub struct Ci {
    pub no_install: bool,
}

#[derive(Debug)]
pub struct Bench {
    pub scenario: Vec<String>,

    pub runs: Option<u32>,
    pub json: bool,
    pub keep: bool,
    pub readme: bool,
}

#[derive(Debug)]
pub struct Coverage {
    pub mode: Vec<Mode>,
    pub package: Vec<String>,
    pub exclude: Vec<String>,
    pub features: Vec<String>,
    pub no_default_features: bool,
    pub output_dir: Option<Utf8PathBuf>,
    pub clean: bool,
    pub clean_only: bool,
    pub nextest: bool,
    pub doctests: bool,
    pub no_sccache: bool,
    pub fail_under_lines: Option<f64>,
    pub fail_under_functions: Option<f64>,
    pub fail_under_regions: Option<f64>,
    pub dry_run: bool,
}

#[derive(Debug)]
pub struct CoverageFast {
    pub mode: Vec<Mode>,
    pub package: Vec<String>,
    pub exclude: Vec<String>,
    pub features: Vec<String>,
    pub no_default_features: bool,
    pub output_dir: Option<Utf8PathBuf>,
    pub clean: bool,
    pub clean_only: bool,
    pub nextest: bool,
    pub doctests: bool,
    pub no_sccache: bool,
    pub fail_under_lines: Option<f64>,
    pub fail_under_functions: Option<f64>,
    pub fail_under_regions: Option<f64>,
    pub dry_run: bool,
}

#[derive(Debug)]
pub struct Info {
    pub json: bool,
}

impl Xtask {
    #[allow(dead_code)]
    pub fn from_env_or_exit() -> Self {
        Self::from_env_or_exit_()
    }

    #[allow(dead_code)]
    pub fn from_env() -> xflags::Result<Self> {
        Self::from_env_()
    }

    #[allow(dead_code)]
    pub fn from_vec(args: Vec<std::ffi::OsString>) -> xflags::Result<Self> {
        Self::from_vec_(args)
    }
}
// generated end

impl Xtask {
    pub(crate) const HELP: &'static str = Self::HELP_;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The help text is kept in the repository so that every change to the command line shows up
    /// in review. A change rewrites the file and fails once; commit the new file.
    #[test]
    fn help_matches_the_golden_file() {
        let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/help.txt");
        let committed = std::fs::read_to_string(&golden).unwrap_or_default().replace("\r\n", "\n");
        if committed != Xtask::HELP {
            std::fs::write(&golden, Xtask::HELP).unwrap();
            panic!("{} was out of date and has been rewritten: review it and commit it", golden.display());
        }
    }

    #[test]
    fn help_flag_gives_the_same_text() {
        let err = Xtask::from_vec(vec!["--help".into()]).unwrap_err();
        assert!(err.is_help());
        assert_eq!(err.to_string(), Xtask::HELP);
    }
}
