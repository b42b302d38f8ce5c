//! `cargo xtask setup-sccache explain`: one cargo build through sccache, and why each
//! compilation missed the cache, which sccache itself cannot say.
//!
//! The build runs against a server started for it with sccache's debug log on, so hit, miss or
//! not cacheable comes from sccache (`sccache_log`); the xtask, chained in front of sccache as
//! the rustc wrapper (`crate::rustc_wrapper`), writes down what each compilation was given. A miss is then
//! explained by comparing those inputs, the ones sccache hashes into its key (src/compiler/rust.rs
//! `generate_hash_key`), with the previous recorded compilation of the same unit.

mod sccache_log;

use std::{
    collections::{BTreeMap, HashMap},
    ffi::OsString,
    process::Stdio,
};

use anyhow::Context;
use camino::{Utf8Path, Utf8PathBuf};
use serde_json::{Value, json};
use xshell::Shell;

use self::sccache_log::Outcome;
use super::server::{Sccache, Stats};
use crate::{
    child::{self, Env},
    compile_record::{self, CompileRecord},
    flags,
    hash::fingerprint,
    output::{PassedOn, UsageError},
    roles::rustc_wrapper,
    secrets::{errln, outln},
    tools::Version,
    workspace,
};

/// Where the records live, under the workspace's target directory.
const RECORDS_DIR: &str = "xtask-explain";
const RECORDS_FILE: &str = "records.json";
/// Arguments sccache leaves out of its key: paths whose files are hashed by content instead.
const UNHASHED_ARGS: [&str; 5] = ["--extern", "-L", "--check-cfg", "--out-dir", "--diagnostic-width"];
/// rustc flags whose value is the next argument.
const FLAGS_WITH_VALUE: [&str; 22] = [
    "-C",
    "--codegen",
    "--cfg",
    "--check-cfg",
    "--crate-type",
    "--crate-name",
    "--cap-lints",
    "-L",
    "--extern",
    "--out-dir",
    "--target",
    "-A",
    "-W",
    "-D",
    "-F",
    "--force-warn",
    "--emit",
    "--error-format",
    "--json",
    "--remap-path-prefix",
    "-Z",
    "--edition",
];
/// cargo's hash of a unit, in its arguments: it changes with whatever else changed.
const UNIT_HASH_ARGS: [&str; 2] = ["-C metadata", "-C extra-filename"];

impl flags::Explain {
    pub(crate) fn run(&self, sh: &Shell, sccache: &Sccache<'_>) -> anyhow::Result<()> {
        let against = self.against.as_deref().map(read_records).transpose()?;
        let dir = records_dir(sh)?;
        let store = dir.join(RECORDS_FILE);
        // Read before the build, and before a `--clean` removes them.
        let kept = read_records(&store).unwrap_or_default();
        if self.clean {
            child::cargo(sh).arg("clean").run().context("`cargo clean` failed")?;
        }
        let scratch = dir.join("build");
        if scratch.exists() {
            std::fs::remove_dir_all(&scratch).with_context(|| format!("cannot empty {scratch}"))?;
        }
        std::fs::create_dir_all(&scratch).with_context(|| format!("cannot create {scratch}"))?;
        let log = scratch.join("sccache.log");

        let xtask = std::env::current_exe().context("cannot find the running xtask")?;
        let env = wrapper_env(xtask.as_os_str(), &sccache.path, &scratch, std::env::var_os("RUSTC_WRAPPER"));
        let args = cargo_args(&self.cargo_args);
        let (status, counted) = with_logging_server(sccache, &log, || {
            let cmd = env.apply(child::cargo(sh).args(&args));
            errln!("$ {cmd}");
            let mut command = std::process::Command::from(cmd);
            // JSON is what stdout holds then; the build's own output goes beside the rest of it.
            if self.json {
                command.stdout(Stdio::from(std::io::stderr()));
            }
            command.status().context("cannot run cargo")
        })?;

        let log_text = std::fs::read_to_string(&log).with_context(|| format!("cannot read sccache's log {log}"))?;
        let units = Unit::read_build(sh, &scratch, &log_text)?;
        // The log quotes every argument as it was; only the records, credentials hashed, stay.
        std::fs::remove_dir_all(&scratch).with_context(|| format!("cannot remove {scratch}"))?;
        let (previous, compared_with) = match against {
            Some(units) => (units, self.against.clone().unwrap_or_default()),
            None => (kept.clone(), store.clone()),
        };
        if previous.is_empty() {
            errln!(
                "nothing recorded in {compared_with} yet, so every miss is a first compilation (`cargo clean` \
                 removes the records: `explain --clean` keeps them)"
            );
        }
        let report = Report::new(units, previous, sccache.version);
        match self.json {
            true => outln!("{:#}", report.to_json(&compared_with, &counted, status.code())),
            false => outln!("{}", report.to_text(&compared_with, &counted).trim_end()),
        }

        let latest = latest_records(kept, &report.units);
        write_records(&store, &latest)?;
        if let Some(file) = &self.save {
            write_records(file, &latest)?;
            errln!("saved the records of {} compilations to {file}", latest.len());
        }
        match status.code() {
            Some(0) => Ok(()),
            code => Err(PassedOn(code.map_or(1, |code| code.clamp(1, 255) as u8)).into()),
        }
    }
}

/// The build, `cargo build` unless other arguments are given.
fn cargo_args(given: &[String]) -> Vec<String> {
    match given.is_empty() {
        true => vec!["build".to_owned()],
        false => given.to_vec(),
    }
}

/// What the build's cargo gets: the xtask as its rustc wrapper in front of sccache, told where
/// the records go.
fn wrapper_env(xtask: &std::ffi::OsStr, sccache: &Utf8Path, records: &Utf8Path, user_wrapper: Option<OsString>) -> Env {
    rustc_wrapper::env(xtask, sccache.as_ref(), user_wrapper).set(rustc_wrapper::RECORDS_VAR, records)
}

/// Runs `build` against a server of the same configuration with its log written to `log`, then
/// puts the server back as it was (running or not). Returns what `build` returned and the
/// server's statistics, which count this build alone.
fn with_logging_server<T>(
    sccache: &Sccache<'_>,
    log: &Utf8Path,
    build: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<(T, Stats)> {
    let was_running = sccache.stop()?;
    let logging =
        sccache.clone().with_env(&Env::default().set("SCCACHE_LOG", "sccache=debug").set("SCCACHE_ERROR_LOG", log));
    let outcome = logging.start().context("the sccache server with its log on did not start").map(|()| {
        let built = build();
        let stats = logging.stats();
        (built, stats, logging.stop())
    });
    // Whatever happened, the user's server is back as it was.
    if was_running {
        sccache.start()?;
    }
    let (built, stats, stopped) = outcome?;
    stopped?;
    Ok((built?, stats?))
}

/// The workspace's own target directory (`build.target-dir` or `target/`): what a
/// `CARGO_TARGET_DIR` says is left out, so a build with another one is compared with the usual.
fn records_dir(sh: &Shell) -> anyhow::Result<Utf8PathBuf> {
    let json = workspace::metadata_command(sh)
        .arg("--no-deps")
        .env_remove("CARGO_TARGET_DIR")
        .quiet()
        .read()
        .context("`cargo metadata` failed; its message above says why")?;
    let metadata: Value = serde_json::from_str(&json).context("`cargo metadata` printed something that is not JSON")?;
    let target = metadata["target_directory"].as_str().context("`cargo metadata` names no target directory")?;
    Ok(Utf8Path::new(target).join(RECORDS_DIR))
}

fn read_records(file: &Utf8Path) -> anyhow::Result<Vec<Unit>> {
    let text = std::fs::read_to_string(file).with_context(|| {
        format!("cannot read the records {file} (`cargo xtask setup-sccache explain --save FILE` writes them)")
    })?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|err| UsageError(format!("{file} is not a records file of `explain --save` ({err})")))?;
    let units = value["units"]
        .as_array()
        .ok_or_else(|| UsageError(format!("{file} is not a records file of `explain --save`: it has no `units`")))?;
    Ok(units.iter().filter_map(Unit::from_json).collect())
}

fn write_records(file: &Utf8Path, units: &[Unit]) -> anyhow::Result<()> {
    let json = json!({"units": units.iter().map(Unit::to_json).collect::<Vec<_>>()});
    if let Some(dir) = file.parent().filter(|dir| !dir.as_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {dir}"))?;
    }
    std::fs::write(file, format!("{json:#}\n")).with_context(|| format!("cannot write {file}"))
}

/// The kept records with this build's in place of the same units' older ones.
fn latest_records(kept: Vec<Unit>, built: &[Unit]) -> Vec<Unit> {
    let mut latest: Vec<Unit> =
        kept.into_iter().filter(|unit| !built.iter().any(|new| new.id() == unit.id())).collect();
    latest.extend(built.iter().cloned());
    latest
}

/// One compilation: what sccache was given, and what it did.
#[derive(Debug, Clone, Default, PartialEq)]
struct Unit {
    package: String,
    version: String,
    crate_name: String,
    /// lib, bin, test, build-script, proc-macro, ...
    kind: String,
    /// `--target`, or host.
    target: String,
    compiler: String,
    /// `rustc -vV`, the version sccache hashes.
    compiler_version: String,
    cwd: String,
    args: Vec<String>,
    /// The `CARGO_*` variables, and those the crate reads (`env!`, from rustc's dep-info; `None`
    /// when unset), credentials as fingerprints.
    env: BTreeMap<String, Option<String>>,
    /// Each source file rustc read, as dep-info names it, with its fingerprint.
    sources: BTreeMap<String, String>,
    key: Option<String>,
    outcome: Outcome,
}

impl Unit {
    /// This build's compilations: the wrapper's records in `dir`, each with the outcome sccache
    /// logged for its arguments, and its sources and compiler read now.
    fn read_build(sh: &Shell, dir: &Utf8Path, log: &str) -> anyhow::Result<Vec<Unit>> {
        let lookups: HashMap<String, sccache_log::Lookup> =
            sccache_log::lookups(log).into_iter().map(|lookup| (lookup.args.clone(), lookup)).collect();
        let mut versions: HashMap<String, String> = HashMap::new();
        let mut units = Vec::new();
        for record in CompileRecord::read_dir(dir)? {
            let mut unit = Unit::from_record(&record);
            if let Some(lookup) = lookups.get(&sccache_log::logged_args(&unit.args)) {
                unit.outcome = lookup.outcome.clone();
                unit.key = lookup.key.clone();
            }
            if record.exit_code.is_some_and(|code| code != 0) {
                unit.outcome = Outcome::Failed;
            }
            unit.compiler_version = versions
                .entry(unit.compiler.clone())
                .or_insert_with(|| {
                    child::command(sh, &unit.compiler).arg("-vV").quiet().read().unwrap_or_default().trim().to_owned()
                })
                .clone();
            if matches!(unit.outcome, Outcome::Hit | Outcome::Miss | Outcome::CacheError) {
                unit.read_dep_info();
            }
            units.push(unit);
        }
        units.sort_by_key(Unit::id);
        Ok(units)
    }

    /// A record the wrapper wrote.
    fn from_record(record: &CompileRecord) -> Unit {
        let args = record.args.clone();
        let env: BTreeMap<String, Option<String>> =
            record.env.iter().map(|(name, value)| (name.clone(), Some(value.clone()))).collect();
        let var = |name: &str| env.get(name).cloned().flatten().unwrap_or_default();
        let options = options(&args);
        let value = |flag: &str| values(&options, flag).next().map(str::to_owned);
        let crate_name = value("--crate-name").unwrap_or_default();
        let crate_types: Vec<&str> = values(&options, "--crate-type").collect();
        // cargo gives a running build script the target's `CARGO_CFG_*`; what it compiles is a probe.
        let kind = if env.keys().any(|name| name.starts_with("CARGO_CFG_")) {
            "build-script probe".to_owned()
        } else if options.iter().any(|option| option == "--test") {
            "test".to_owned()
        } else if crate_name.starts_with("build_script_") {
            "build-script".to_owned()
        } else if crate_types.is_empty() {
            "bin".to_owned()
        } else {
            crate_types.join("+")
        };
        Unit {
            package: var("CARGO_PKG_NAME"),
            version: var("CARGO_PKG_VERSION"),
            crate_name,
            kind,
            target: value("--target").unwrap_or_else(|| "host".to_owned()),
            compiler: record.compiler.clone(),
            cwd: record.cwd.clone(),
            args,
            env,
            ..Unit::default()
        }
    }

    /// Reads the sources and the variables rustc's dep-info file lists.
    fn read_dep_info(&mut self) {
        let Some(file) = self.dep_info_file() else { return };
        let Ok(text) = std::fs::read_to_string(&file) else { return };
        let DepInfo { sources, env } = DepInfo::parse(&text);
        let cwd = Utf8Path::new(&self.cwd);
        self.sources = sources
            .into_iter()
            .map(|source| {
                let content = std::fs::read(cwd.join(&source)).unwrap_or_default();
                (source, fingerprint(&content))
            })
            .collect();
        for (name, value) in env {
            let value = value.map(|value| compile_record::kept_value(&name, &value));
            self.env.entry(name).or_insert(value);
        }
    }

    /// `--emit dep-info=<file>`, or `<out-dir>/<crate><extra-filename>.d`.
    fn dep_info_file(&self) -> Option<Utf8PathBuf> {
        let options = options(&self.args);
        let emit =
            values(&options, "--emit").flat_map(|emit| emit.split(',')).find(|emit| emit.starts_with("dep-info"))?;
        let file = match emit.split_once('=') {
            Some((_, file)) => Utf8PathBuf::from(file),
            None => Utf8Path::new(values(&options, "--out-dir").next()?).join(format!(
                "{}{}.d",
                self.crate_name,
                self.extra_filename()
            )),
        };
        Some(Utf8Path::new(&self.cwd).join(file))
    }

    fn extra_filename(&self) -> String {
        values(&options(&self.args), "-C")
            .find_map(|codegen| codegen.strip_prefix("extra-filename="))
            .unwrap_or_default()
            .to_owned()
    }

    /// What makes two compilations the same unit from one build to the next.
    fn id(&self) -> String {
        format!("{} {} {} {} {}", self.package, self.version, self.crate_name, self.kind, self.target)
    }

    /// The unit as people name it: `lib 0.1.0 (lib)`.
    fn label(&self) -> String {
        let target = match self.target.as_str() {
            "host" => String::new(),
            target => format!(" for {target}"),
        };
        let crate_name = match self.crate_name == self.package.replace('-', "_") || self.kind == "build-script" {
            true => String::new(),
            false => format!(" {}", self.crate_name),
        };
        format!("{} {} ({}{crate_name}){target}", self.package, self.version, self.kind)
    }

    /// The file names of the crates it links (`--extern name=path`), without `lib` and extension.
    fn extern_stems(&self) -> Vec<String> {
        values(&options(&self.args), "--extern")
            .filter_map(|spec| spec.split_once('=').map(|(_, path)| path))
            .filter_map(|path| Utf8Path::new(path).file_stem().map(str::to_owned))
            .map(|stem| stem.strip_prefix("lib").map_or(stem.clone(), str::to_owned))
            .collect()
    }

    fn output_stem(&self) -> String {
        format!("{}{}", self.crate_name, self.extra_filename())
    }

    /// The variables sccache (of `version`) hashes into the key.
    fn hashed_env(&self, version: Version) -> BTreeMap<&str, Option<&str>> {
        let unhashed = |name: &str| {
            name == "CARGO_MAKEFLAGS"
                || name.starts_with("CARGO_REGISTRIES_")
                || (name == "CARGO_BUILD_JOBS" && version >= Version(0, 12, 0))
                || (name == "CARGO_ENCODED_RUSTFLAGS" && version >= Version(0, 15, 0))
        };
        self.env
            .iter()
            .filter(|(name, _)| !unhashed(name))
            .map(|(name, value)| (name.as_str(), value.as_deref()))
            .collect()
    }

    fn hashed_options(&self) -> Vec<String> {
        options(&self.args).into_iter().filter(|option| !UNHASHED_ARGS.contains(&option_key(option).as_str())).collect()
    }

    fn to_json(&self) -> Value {
        json!({
            "unit": self.label(),
            "package": self.package,
            "version": self.version,
            "crate_name": self.crate_name,
            "kind": self.kind,
            "target": self.target,
            "outcome": self.outcome.name(),
            "not_cacheable_because": match &self.outcome { Outcome::NotCacheable(why) => Some(why), _ => None },
            "sccache_key": self.key,
            "compiler": self.compiler,
            "compiler_version": self.compiler_version,
            "cwd": self.cwd,
            "args": self.args,
            "env": self.env,
            "sources": self.sources,
        })
    }

    fn from_json(value: &Value) -> Option<Unit> {
        let text = |key: &str| value[key].as_str().map(str::to_owned);
        let map = |key: &str| value[key].as_object().cloned().unwrap_or_default();
        Some(Unit {
            package: text("package")?,
            version: text("version")?,
            crate_name: text("crate_name")?,
            kind: text("kind")?,
            target: text("target")?,
            compiler: text("compiler").unwrap_or_default(),
            compiler_version: text("compiler_version").unwrap_or_default(),
            cwd: text("cwd").unwrap_or_default(),
            args: value["args"].as_array()?.iter().filter_map(|arg| arg.as_str().map(str::to_owned)).collect(),
            env: map("env").into_iter().map(|(name, value)| (name, value.as_str().map(str::to_owned))).collect(),
            sources: map("sources")
                .into_iter()
                .filter_map(|(name, value)| Some((name, value.as_str()?.to_owned())))
                .collect(),
            key: text("sccache_key"),
            outcome: Outcome::from_name(&text("outcome")?, value["not_cacheable_because"].as_str()),
        })
    }
}

/// What a rustc dep-info file lists: the source files, and the variables read with `env!`.
#[derive(Debug, PartialEq)]
struct DepInfo {
    sources: Vec<String>,
    env: Vec<(String, Option<String>)>,
}

impl DepInfo {
    /// Each source gets a rule of its own, `path:`; variables are `# env-dep:NAME[=value]`.
    fn parse(text: &str) -> DepInfo {
        let mut sources = Vec::new();
        let mut env = Vec::new();
        for line in text.lines() {
            if let Some(var) = line.strip_prefix("# env-dep:") {
                env.push(match var.split_once('=') {
                    Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                    None => (var.to_owned(), None),
                });
            } else if let Some(path) = line.strip_suffix(':').filter(|path| !path.is_empty() && !line.starts_with('#'))
            {
                sources.push(path.replace("\\ ", " "));
            }
        }
        DepInfo { sources, env }
    }
}

/// rustc's arguments as options: a flag with its value (`-C opt-level=0`, `--crate-type lib`),
/// or one argument (`--edition=2021`, the source file).
fn options(args: &[String]) -> Vec<String> {
    let mut options = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match FLAGS_WITH_VALUE.contains(&arg.as_str()) {
            true => options.push(format!("{arg} {}", args.next().map_or("", String::as_str))),
            false => options.push(arg.clone()),
        }
    }
    options
}

/// The values of `flag` among `options`, in both forms (`--flag value` and `--flag=value`).
fn values<'a>(options: &'a [String], flag: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    options.iter().filter_map(move |option| {
        option.strip_prefix(flag).and_then(|rest| rest.strip_prefix(' ').or_else(|| rest.strip_prefix('=')))
    })
}

/// What two values of one setting share: `-C opt-level`, `--edition`; a `--cfg` is its own.
fn option_key(option: &str) -> String {
    let (flag, value) = option.split_once([' ', '=']).unwrap_or((option, ""));
    match flag {
        "-C" | "--codegen" | "-Z" => format!("{flag} {}", value.split('=').next().unwrap_or(value)),
        "--cfg" | "-A" | "-W" | "-D" | "-F" | "--force-warn" => option.to_owned(),
        _ => flag.to_owned(),
    }
}

/// How the hashed arguments differ: `-C opt-level=0 → -C opt-level=3`, `added -C
/// instrument-coverage`, `removed --cfg coverage`. cargo's unit hash only shows when nothing
/// else differs, since it follows from the rest.
fn argument_changes(before: &[String], after: &[String]) -> Vec<String> {
    let missing_from = |from: &[String], other: &[String]| {
        let mut other = other.to_vec();
        from.iter()
            .filter(|option| match other.iter().position(|candidate| candidate == *option) {
                Some(index) => {
                    other.remove(index);
                    false
                }
                None => true,
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    let removed = missing_from(before, after);
    let mut added = missing_from(after, before);
    let mut changes = Vec::new();
    for old in removed {
        match added.iter().position(|new| option_key(new) == option_key(&old)) {
            Some(index) => changes.push(format!("{old} → {}", added.remove(index))),
            None => changes.push(format!("removed {old}")),
        }
    }
    changes.extend(added.into_iter().map(|new| format!("added {new}")));
    let is_unit_hash = |change: &String| UNIT_HASH_ARGS.iter().any(|arg| change.contains(arg));
    if changes.iter().any(|change| !is_unit_hash(change)) {
        changes.retain(|change| !is_unit_hash(change));
    }
    changes
}

/// Why a compilation missed the cache, or could not use it.
#[derive(Debug, Clone, PartialEq)]
enum Cause {
    /// Nothing recorded of this unit before.
    First,
    Compiler {
        before: String,
        after: String,
    },
    WorkingDirectory {
        before: String,
        after: String,
    },
    /// Each variable with its value before and after (`None`: unset).
    Environment(Vec<(String, Option<String>, Option<String>)>),
    Arguments(Vec<String>),
    /// The files, each `changed`, `added` or `removed`.
    Sources(Vec<String>),
    /// The units of this build it links that were rebuilt, and the units whose own change
    /// started that (the cascade's start).
    Dependency {
        changed: Vec<String>,
        roots: Vec<String>,
    },
    /// Same inputs as recorded, yet no entry.
    NoEntry,
    NotCacheable(String),
}

impl Cause {
    fn kind(&self) -> &'static str {
        match self {
            Cause::First => "first compilation",
            Cause::Compiler { .. } => "compiler changed",
            Cause::WorkingDirectory { .. } => "working directory changed",
            Cause::Environment(_) => "environment variable changed",
            Cause::Arguments(_) => "arguments changed",
            Cause::Sources(_) => "source files changed",
            Cause::Dependency { .. } => "a dependency changed",
            Cause::NoEntry => "no cache entry for the same inputs",
            Cause::NotCacheable(_) => "not cacheable",
        }
    }

    fn describe(&self) -> String {
        let show = |value: &Option<String>| value.clone().unwrap_or_else(|| "(unset)".to_owned());
        match self {
            Cause::First => "first compilation of this unit (nothing recorded before)".to_owned(),
            Cause::Compiler { before, after } => format!("the compiler changed: {before} → {after}"),
            Cause::WorkingDirectory { before, after } => format!("the working directory changed: {before} → {after}"),
            Cause::Environment(changes) => format!(
                "an environment variable changed: {}",
                changes
                    .iter()
                    .map(|(name, before, after)| format!("{name} {} → {}", show(before), show(after)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Cause::Arguments(changes) => format!("arguments changed: {}", changes.join(", ")),
            Cause::Sources(files) => format!("source files changed: {}", files.join(", ")),
            Cause::Dependency { changed, roots } => {
                let started = match roots.as_slice() == changed.as_slice() {
                    true => String::new(),
                    false => format!(", rebuilt because {} changed", roots.join(", ")),
                };
                format!("a dependency changed: {}{started}", changed.join(", "))
            }
            Cause::NoEntry => "no cache entry, though the inputs match the recorded compilation".to_owned(),
            Cause::NotCacheable(why) => format!("sccache's reason: {why}"),
        }
    }

    /// What to do about it.
    fn advice(&self) -> String {
        match self {
            Cause::First => "nothing to do: the next explain compares with this build".to_owned(),
            Cause::Compiler { .. } => "expected once per toolchain; pin one with rust-toolchain.toml so builds share entries".to_owned(),
            Cause::WorkingDirectory { .. } => "sccache hashes the working directory (SCCACHE_BASEDIRS does not apply to Rust), so workspace crates hit only from the same path: build other checkouts at one path, or accept these misses".to_owned(),
            Cause::Environment(changes) => {
                let names: Vec<&str> = changes.iter().map(|(name, _, _)| name.as_str()).collect();
                if names.contains(&"CARGO_TARGET_DIR") {
                    "set `build.target-dir` in .cargo/config.toml (or pass --target-dir) instead of CARGO_TARGET_DIR: sccache hashes every CARGO_* variable, not cargo's arguments".to_owned()
                } else if names.contains(&"CARGO_HOME") {
                    "keep one CARGO_HOME for every build: sccache hashes it, and registry crates compile from under it".to_owned()
                } else if names.iter().any(|name| name.starts_with("CARGO_")) {
                    "set these the same way for every build, or not at all: sccache hashes every CARGO_* variable (but CARGO_MAKEFLAGS, CARGO_REGISTRIES_*, CARGO_BUILD_JOBS and CARGO_ENCODED_RUSTFLAGS)".to_owned()
                } else {
                    "the crate reads these with env!: give them the same value in every build".to_owned()
                }
            }
            Cause::Arguments(_) => "features, profile settings or RUSTFLAGS differ from the recorded build: use the same ones (RUSTFLAGS in one place, `[build] rustflags`), or accept an entry per set".to_owned(),
            Cause::Sources(_) => "expected after an edit".to_owned(),
            Cause::Dependency { .. } => "follows from the dependency's own cause".to_owned(),
            Cause::NoEntry => "the cache was cleared or evicted (raise its size: cargo xtask setup-sccache --cache-size 20G), or the recorded build used another cache".to_owned(),
            Cause::NotCacheable(why) if why == "incremental" => "cargo compiles workspace members incrementally, which sccache cannot cache: `cargo xtask setup-sccache --no-incremental` (or CARGO_INCREMENTAL=0) makes them cacheable".to_owned(),
            Cause::NotCacheable(why) if why == "crate-type" => "sccache never caches what links (bin, dylib, cdylib, proc-macro, build scripts, test harnesses): nothing to do".to_owned(),
            Cause::NotCacheable(_) => "sccache cannot cache compilations given these arguments".to_owned(),
        }
    }

    fn to_json(&self) -> Value {
        let mut json = json!({"kind": self.kind(), "text": self.describe()});
        match self {
            Cause::Environment(changes) => {
                json["variables"] = changes
                    .iter()
                    .map(|(name, before, after)| json!({"name": name, "before": before, "after": after}))
                    .collect();
            }
            Cause::Arguments(changes) | Cause::Sources(changes) => json["changes"] = json!(changes),
            Cause::Dependency { changed, roots } => {
                json["dependencies"] = json!(changed);
                json["started_by"] = json!(roots);
            }
            Cause::Compiler { before, after } | Cause::WorkingDirectory { before, after } => {
                json["before"] = json!(before);
                json["after"] = json!(after);
            }
            Cause::First | Cause::NoEntry | Cause::NotCacheable(_) => {}
        }
        json
    }
}

/// This build's compilations, each missed one with its causes: the first is the one that
/// counts, the others are there too.
struct Report {
    units: Vec<Unit>,
    causes: Vec<Vec<Cause>>,
}

impl Report {
    fn new(units: Vec<Unit>, previous: Vec<Unit>, sccache: Version) -> Report {
        let matched = match_previous(&units, previous);
        let own: Vec<Vec<Cause>> =
            units.iter().zip(&matched).map(|(unit, before)| own_causes(unit, before.as_ref(), sccache)).collect();
        let by_stem: HashMap<String, usize> =
            units.iter().enumerate().map(|(index, unit)| (unit.output_stem(), index)).collect();
        // The units of this build that each one links.
        let deps: Vec<Vec<usize>> = units
            .iter()
            .map(|unit| unit.extern_stems().iter().filter_map(|stem| by_stem.get(stem).copied()).collect())
            .collect();
        // Rebuilt: compiled anew, or served another entry than last time.
        let rebuilt = |index: usize| {
            let before = matched[index].as_ref().and_then(|before| before.key.as_ref());
            units[index].outcome == Outcome::Miss
                || matches!((&units[index].key, before), (Some(now), Some(before)) if now != before)
        };
        let causes = (0..units.len())
            .map(|index| match &units[index].outcome {
                Outcome::NotCacheable(why) => vec![Cause::NotCacheable(why.clone())],
                Outcome::Miss | Outcome::CacheError if !own[index].is_empty() => own[index].clone(),
                Outcome::Miss | Outcome::CacheError => {
                    let changed: Vec<usize> = deps[index].iter().copied().filter(|dep| rebuilt(*dep)).collect();
                    if changed.is_empty() {
                        return vec![Cause::NoEntry];
                    }
                    let mut roots = Vec::new();
                    cascade_roots(&changed, &own, &deps, &rebuilt, &mut roots, &mut Vec::new());
                    let labels = |indices: &[usize]| indices.iter().map(|index| units[*index].label()).collect();
                    vec![Cause::Dependency { changed: labels(&changed), roots: labels(&roots) }]
                }
                Outcome::Hit | Outcome::Failed | Outcome::Unknown => Vec::new(),
            })
            .collect();
        Report { units, causes }
    }

    fn counts(&self) -> (usize, usize, usize) {
        let count = |wanted: fn(&Outcome) -> bool| self.units.iter().filter(|unit| wanted(&unit.outcome)).count();
        (
            count(|outcome| *outcome == Outcome::Hit),
            count(|outcome| matches!(outcome, Outcome::Miss | Outcome::CacheError)),
            count(|outcome| matches!(outcome, Outcome::NotCacheable(_))),
        )
    }

    /// The misses, then the not cacheable, grouped by their first cause, with the units of
    /// each. A cascade reads as one cause: the dependents rebuilt through a unit are counted in
    /// that unit's group.
    fn groups(&self) -> Vec<Group> {
        let mut groups: Vec<Group> = Vec::new();
        let firsts = self.units.iter().zip(&self.causes).filter_map(|(unit, causes)| Some((unit, causes.first()?)));
        for (unit, cause) in firsts.clone().filter(|(_, cause)| !matches!(cause, Cause::Dependency { .. })) {
            let title = match cause {
                Cause::Environment(changes) => format!("{} ({})", cause.kind(), names(changes).join(", ")),
                Cause::NotCacheable(why) => format!("{} ({why})", cause.kind()),
                _ => cause.kind().to_owned(),
            };
            match groups.iter_mut().find(|group| group.title == title) {
                Some(group) => group.units.push(unit.label()),
                None => groups.push(Group {
                    title,
                    cause: cause.clone(),
                    units: vec![unit.label()],
                    dependents: Vec::new(),
                }),
            }
        }
        for (unit, cause) in firsts {
            let Cause::Dependency { roots, .. } = cause else { continue };
            let root = roots.first().cloned().unwrap_or_default();
            match groups.iter_mut().find(|group| group.units.contains(&root)) {
                Some(group) => group.dependents.push(unit.label()),
                None => groups.push(Group {
                    title: cause.kind().to_owned(),
                    cause: cause.clone(),
                    units: vec![unit.label()],
                    dependents: Vec::new(),
                }),
            }
        }
        groups.sort_by_key(|group| matches!(group.cause, Cause::NotCacheable(_)));
        groups
    }

    fn to_text(&self, compared_with: &Utf8Path, counted: &Stats) -> String {
        let mut out = String::new();
        for (unit, causes) in self.units.iter().zip(&self.causes) {
            let Some(first) = causes.first() else { continue };
            let outcome = match first {
                Cause::NotCacheable(_) => "not cacheable",
                _ => "miss",
            };
            let also: String = causes[1..].iter().map(|cause| format!("; also {}", cause.describe())).collect();
            out += &format!("{outcome:13}  {}: {}{also}\n", unit.label(), first.describe());
        }
        let (hits, misses, not_cacheable) = self.counts();
        if self.units.is_empty() {
            out += "cargo compiled nothing: every unit was fresh (run `cargo clean` first to explain a whole build)\n";
        } else if misses == 0 {
            out += "no misses\n";
        }
        let others: String = [(Outcome::Failed, "failed (nothing cached)"), (Outcome::Unknown, "not in sccache's log")]
            .iter()
            .map(|(outcome, what)| (self.units.iter().filter(|unit| unit.outcome == *outcome).count(), what))
            .filter(|(count, _)| *count > 0)
            .map(|(count, what)| format!(", {count} {what}"))
            .collect();
        out += &format!(
            "\n{} compilations: {hits} hits, {misses} misses, {not_cacheable} not cacheable{others} \
             (sccache counted {} hits and {} misses); compared with {compared_with}\n",
            self.units.len(),
            counted.hits,
            counted.misses + counted.errors,
        );
        let groups = self.groups();
        if !groups.is_empty() {
            out += "By cause:\n";
        }
        for group in groups {
            out += &format!(
                "  {:3}  {}: {}\n",
                group.units.len() + group.dependents.len(),
                group.describe(),
                group.cause.advice()
            );
        }
        out
    }

    fn to_json(&self, compared_with: &Utf8Path, counted: &Stats, exit_code: Option<i32>) -> Value {
        let (hits, misses, not_cacheable) = self.counts();
        json!({
            "compared_with": compared_with.as_str(),
            "build_exit_code": exit_code,
            "compilations": self.units.iter().zip(&self.causes).map(|(unit, causes)| {
                let mut json = unit.to_json();
                json["cause"] = causes.first().map_or(Value::Null, Cause::to_json);
                json["also"] = causes.iter().skip(1).map(Cause::to_json).collect();
                json
            }).collect::<Vec<_>>(),
            "summary": {
                "hits": hits,
                "misses": misses,
                "not_cacheable": not_cacheable,
                "by_cause": self.groups().into_iter().map(|group| json!({
                    "cause": group.cause.kind(),
                    "title": group.title,
                    "count": group.units.len() + group.dependents.len(),
                    "units": group.units,
                    "dependents": group.dependents,
                    "advice": group.cause.advice(),
                })).collect::<Vec<_>>(),
            },
            "sccache": {"hits": counted.hits, "misses": counted.misses, "errors": counted.errors},
        })
    }
}

/// Units that missed for one cause, and those rebuilt through them.
struct Group {
    title: String,
    cause: Cause,
    units: Vec<String>,
    dependents: Vec<String>,
}

impl Group {
    fn describe(&self) -> String {
        let units = match matches!(self.cause, Cause::Sources(_)) {
            true => format!(" in {}", self.units.join(", ")),
            false => String::new(),
        };
        match self.dependents.len() {
            0 => format!("{}{units}", self.title),
            count => format!(
                "{}{units}, and {count} dependent(s) rebuilt through it ({})",
                self.title,
                self.dependents.join(", ")
            ),
        }
    }
}

fn names(changes: &[(String, Option<String>, Option<String>)]) -> Vec<&str> {
    changes.iter().map(|(name, _, _)| name.as_str()).collect()
}

/// Each unit's previous recorded compilation: the one of the same unit whose arguments differ least.
fn match_previous(units: &[Unit], mut previous: Vec<Unit>) -> Vec<Option<Unit>> {
    units
        .iter()
        .map(|unit| {
            let best = previous
                .iter()
                .enumerate()
                .filter(|(_, before)| before.id() == unit.id())
                .min_by_key(|(_, before)| argument_changes(&before.hashed_options(), &unit.hashed_options()).len())
                .map(|(index, _)| index)?;
            Some(previous.remove(best))
        })
        .collect()
}

/// What differs in the unit's own inputs, in the order of what hides what: the compiler, the
/// directory, the `CARGO_*` variables, the arguments, the variables read, the sources. After a move, paths under the old
/// directory are read as under the new one, so only what else changed is listed too.
fn own_causes(unit: &Unit, before: Option<&Unit>, sccache: Version) -> Vec<Cause> {
    let Some(before) = before else { return vec![Cause::First] };
    let moved = |text: &str| match before.cwd.is_empty() {
        true => text.to_owned(),
        false => text.replace(&before.cwd, &unit.cwd),
    };
    let mut causes = Vec::new();
    if before.compiler_version != unit.compiler_version {
        let first_line = |version: &str| version.lines().next().unwrap_or_default().to_owned();
        causes.push(Cause::Compiler {
            before: first_line(&before.compiler_version),
            after: first_line(&unit.compiler_version),
        });
    }
    if before.cwd != unit.cwd {
        causes.push(Cause::WorkingDirectory { before: before.cwd.clone(), after: unit.cwd.clone() });
    }
    let old_env: BTreeMap<&str, Option<String>> =
        before.hashed_env(sccache).into_iter().map(|(name, value)| (name, value.map(moved))).collect();
    let new_env = unit.hashed_env(sccache);
    let mut vars: Vec<&str> = old_env.keys().chain(new_env.keys()).copied().collect();
    vars.sort();
    vars.dedup();
    let changed: Vec<(String, Option<String>, Option<String>)> = vars
        .into_iter()
        .map(|name| {
            let old = old_env.get(name).cloned().flatten();
            let new = new_env.get(name).copied().flatten().map(str::to_owned);
            (name.to_owned(), old, new)
        })
        .filter(|(_, old, new)| old != new)
        .map(|(name, _, new)| {
            // Shown as they were: the unmoved value.
            let old = before.env.get(&name).cloned().flatten();
            (name, old, new)
        })
        .collect();
    // What is set from outside (`CARGO_*`) comes before the arguments; what the crate reads
    // with `env!` after them, since cargo derives some (`OUT_DIR` holds its unit hash).
    let (set, read): (Vec<_>, Vec<_>) = changed.into_iter().partition(|(name, _, _)| name.starts_with("CARGO_"));
    if !set.is_empty() {
        causes.push(Cause::Environment(set));
    }
    let old_options: Vec<String> = before.hashed_options().iter().map(|option| moved(option)).collect();
    let arguments = argument_changes(&old_options, &unit.hashed_options());
    if !arguments.is_empty() {
        causes.push(Cause::Arguments(arguments));
    }
    if !read.is_empty() {
        causes.push(Cause::Environment(read));
    }
    let old_sources: BTreeMap<String, &String> =
        before.sources.iter().map(|(file, hash)| (moved(file), hash)).collect();
    let mut files: Vec<String> = unit
        .sources
        .iter()
        .filter_map(|(file, hash)| match old_sources.get(file) {
            None => Some(format!("{file} (added)")),
            Some(old) if *old != hash => Some(file.clone()),
            Some(_) => None,
        })
        .collect();
    files.extend(
        old_sources.keys().filter(|file| !unit.sources.contains_key(*file)).map(|file| format!("{file} (removed)")),
    );
    if !files.is_empty() {
        causes.push(Cause::Sources(files));
    }
    causes
}

/// The units that started the rebuild of `changed`: following rebuilt dependencies down to those
/// with a cause of their own.
fn cascade_roots(
    changed: &[usize],
    own: &[Vec<Cause>],
    deps: &[Vec<usize>],
    rebuilt: &dyn Fn(usize) -> bool,
    roots: &mut Vec<usize>,
    seen: &mut Vec<usize>,
) {
    for &index in changed {
        if seen.contains(&index) {
            continue;
        }
        seen.push(index);
        match own[index].is_empty() {
            false => roots.push(index),
            true => {
                let next: Vec<usize> = deps[index].iter().copied().filter(|dep| rebuilt(*dep)).collect();
                cascade_roots(&next, own, deps, rebuilt, roots, seen);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCCACHE: Version = Version(0, 19, 0);

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|arg| (*arg).to_owned()).collect()
    }

    /// A library unit of package `name` as cargo compiles a workspace member at `/ws`.
    fn unit(name: &str, outcome: Outcome, externs: &[&str]) -> Unit {
        let mut args = strings(&[
            "--crate-name",
            name,
            "--edition=2024",
            &format!("{name}/src/lib.rs"),
            "--crate-type",
            "lib",
            "--emit=dep-info,metadata,link",
            "-C",
            "opt-level=0",
            "-C",
            &format!("metadata={name}1"),
            "-C",
            &format!("extra-filename=-{name}1"),
            "--out-dir",
            "/ws/target/debug/deps",
            "-L",
            "dependency=/ws/target/debug/deps",
        ]);
        for dep in externs {
            args.extend(strings(&["--extern", &format!("{dep}=/ws/target/debug/deps/lib{dep}-{dep}1.rlib")]));
        }
        Unit {
            package: name.to_owned(),
            version: "0.1.0".to_owned(),
            crate_name: name.to_owned(),
            kind: "lib".to_owned(),
            target: "host".to_owned(),
            compiler: "rustc".to_owned(),
            compiler_version: "rustc 1.95.0".to_owned(),
            cwd: "/ws".to_owned(),
            args,
            env: [("CARGO_MANIFEST_DIR", format!("/ws/{name}")), ("CARGO_PKG_NAME", name.to_owned())]
                .into_iter()
                .map(|(key, value)| (key.to_owned(), Some(value)))
                .collect(),
            sources: [(format!("{name}/src/lib.rs"), "1111".to_owned())].into_iter().collect(),
            key: Some(format!("key-{name}")),
            outcome,
        }
    }

    #[test]
    fn options_pair_flags_with_their_values() {
        let options =
            options(&strings(&["--crate-name", "a", "--edition=2021", "src/lib.rs", "-C", "opt-level=3", "--test"]));
        assert_eq!(options, ["--crate-name a", "--edition=2021", "src/lib.rs", "-C opt-level=3", "--test"]);
        assert_eq!(values(&options, "--edition").collect::<Vec<_>>(), ["2021"]);
        assert_eq!(values(&options, "-C").collect::<Vec<_>>(), ["opt-level=3"]);
    }

    #[test]
    fn argument_changes_pair_one_setting_and_hide_the_unit_hash_behind_them() {
        let before = strings(&["-C opt-level=0", "--cfg feature=\"std\"", "-C metadata=1", "-C debuginfo=2"]);
        let after = strings(&["-C opt-level=3", "-C metadata=2", "-C debuginfo=2", "-C instrument-coverage"]);
        assert_eq!(
            argument_changes(&before, &after),
            ["-C opt-level=0 → -C opt-level=3", "removed --cfg feature=\"std\"", "added -C instrument-coverage"]
        );
        assert_eq!(
            argument_changes(&strings(&["-C metadata=1"]), &strings(&["-C metadata=2"])),
            ["-C metadata=1 → -C metadata=2"]
        );
        assert!(argument_changes(&before, &before).is_empty());
    }

    #[test]
    fn dep_info_lists_sources_and_the_variables_read() {
        let text = "/ws/target/debug/deps/a-1.d: a/src/lib.rs a/src/my\\ mod.rs\n\n\
                    a/src/lib.rs:\na/src/my\\ mod.rs:\n\n# env-dep:CARGO_PKG_NAME=a\n# env-dep:MY_SETTING\n";
        let parsed = DepInfo::parse(text);
        assert_eq!(parsed.sources, ["a/src/lib.rs", "a/src/my mod.rs"]);
        assert_eq!(parsed.env, [("CARGO_PKG_NAME".to_owned(), Some("a".to_owned())), ("MY_SETTING".to_owned(), None)]);
        assert_eq!(unit("a", Outcome::Miss, &[]).dep_info_file().unwrap(), "/ws/target/debug/deps/a-a1.d");
    }

    #[test]
    fn each_cause_in_its_order() {
        let before = unit("a", Outcome::Miss, &[]);
        let cause = |change: fn(&mut Unit)| {
            let mut after = before.clone();
            change(&mut after);
            own_causes(&after, Some(&before), SCCACHE)
        };
        assert_eq!(own_causes(&before, None, SCCACHE), [Cause::First]);
        assert!(cause(|_| ()).is_empty());
        assert_eq!(cause(|unit| unit.compiler_version = "rustc 1.96.0".into())[0].kind(), "compiler changed");
        assert_eq!(
            cause(|unit| {
                unit.env.insert("CARGO_TARGET_DIR".into(), Some("/t".into()));
                unit.env.insert("CARGO_BUILD_JOBS".into(), Some("2".into()));
            }),
            [Cause::Environment(vec![("CARGO_TARGET_DIR".into(), None, Some("/t".into()))])]
        );
        assert_eq!(
            cause(|unit| unit.args.extend(strings(&["-C", "instrument-coverage"]))),
            [Cause::Arguments(vec!["added -C instrument-coverage".into()])]
        );
        let flags_and_out_dir = cause(|unit| {
            unit.args.extend(strings(&["-C", "debuginfo=1"]));
            unit.env.insert("OUT_DIR".into(), Some("/ws/target/debug/build/a-2/out".into()));
        });
        assert_eq!(
            flags_and_out_dir.iter().map(Cause::kind).collect::<Vec<_>>(),
            ["arguments changed", "environment variable changed"],
            "a variable cargo derives follows the arguments"
        );
        assert_eq!(
            cause(|unit| {
                unit.sources.insert("a/src/lib.rs".into(), "2222".into());
                unit.sources.insert("a/src/new.rs".into(), "3333".into());
            }),
            [Cause::Sources(vec!["a/src/lib.rs".into(), "a/src/new.rs (added)".into()])]
        );
    }

    #[test]
    fn a_moved_workspace_is_its_directory_and_only_what_else_changed() {
        let before = unit("a", Outcome::Miss, &[]);
        let mut after = before.clone();
        after.cwd = "/elsewhere/ws".into();
        after.env.insert("CARGO_MANIFEST_DIR".into(), Some("/elsewhere/ws/a".into()));
        assert_eq!(
            own_causes(&after, Some(&before), SCCACHE),
            [Cause::WorkingDirectory { before: "/ws".into(), after: "/elsewhere/ws".into() }]
        );
        after.env.insert("CARGO_PROFILE_DEV_DEBUG".into(), Some("0".into()));
        assert_eq!(own_causes(&after, Some(&before), SCCACHE)[1].kind(), "environment variable changed");
    }

    #[test]
    fn an_edit_reads_as_one_cause_with_its_dependents() {
        let previous =
            vec![unit("a", Outcome::Miss, &[]), unit("b", Outcome::Miss, &["a"]), unit("c", Outcome::Miss, &["b"])];
        let mut edited = unit("a", Outcome::Miss, &[]);
        edited.sources.insert("a/src/lib.rs".into(), "2222".into());
        edited.key = Some("key-a2".into());
        let built = vec![
            edited,
            unit("b", Outcome::Miss, &["a"]),
            unit("c", Outcome::Miss, &["b"]),
            unit("d", Outcome::Hit, &[]),
        ];
        let report = Report::new(built, previous, SCCACHE);
        assert_eq!(report.causes[0], [Cause::Sources(vec!["a/src/lib.rs".into()])]);
        assert_eq!(
            report.causes[2],
            [Cause::Dependency { changed: vec!["b 0.1.0 (lib)".into()], roots: vec!["a 0.1.0 (lib)".into()] }]
        );
        assert!(report.causes[3].is_empty(), "a hit has no cause");
        let groups = report.groups();
        assert_eq!(groups.len(), 1);
        assert_eq!(
            groups[0].describe(),
            "source files changed in a 0.1.0 (lib), and 2 dependent(s) rebuilt through it (b 0.1.0 (lib), c 0.1.0 (lib))"
        );
        let text = report.to_text(Utf8Path::new("records.json"), &Stats { hits: 1, misses: 3, ..Stats::default() });
        assert!(text.contains("miss           c 0.1.0 (lib): a dependency changed: b 0.1.0 (lib), rebuilt because a 0.1.0 (lib) changed\n"), "{text}");
        assert!(
            text.contains("4 compilations: 1 hits, 3 misses, 0 not cacheable (sccache counted 1 hits and 3 misses)"),
            "{text}"
        );
    }

    #[test]
    fn same_inputs_without_an_entry_and_the_not_cacheable_are_told() {
        let mut app = unit("app", Outcome::NotCacheable("crate-type".into()), &[]);
        app.kind = "bin".into();
        let report = Report::new(vec![app, unit("a", Outcome::Miss, &[])], vec![unit("a", Outcome::Hit, &[])], SCCACHE);
        assert_eq!(report.causes, [vec![Cause::NotCacheable("crate-type".into())], vec![Cause::NoEntry]]);
        let json = report.to_json(Utf8Path::new("r.json"), &Stats::default(), Some(0));
        assert_eq!(json["summary"]["misses"], 1);
        assert_eq!(json["summary"]["by_cause"][1]["title"], "not cacheable (crate-type)");
        assert_eq!(json["compilations"][1]["cause"]["kind"], "no cache entry for the same inputs");
    }

    #[test]
    fn records_read_back_as_written() {
        let recorded = unit("a", Outcome::NotCacheable("incremental".into()), &["b"]);
        assert_eq!(Unit::from_json(&recorded.to_json()), Some(recorded.clone()));
        assert_eq!(recorded.extern_stems(), ["b-b1"]);
        assert_eq!(recorded.output_stem(), "a-a1");
        let latest =
            latest_records(vec![recorded.clone(), unit("z", Outcome::Hit, &[])], std::slice::from_ref(&recorded));
        assert_eq!(latest.iter().map(Unit::id).collect::<Vec<_>>(), ["z 0.1.0 z lib host", "a 0.1.0 a lib host"]);
    }

    #[test]
    fn labels_name_what_differs_from_the_package() {
        let mut script = unit("my-pkg", Outcome::Hit, &[]);
        script.crate_name = "build_script_build".into();
        script.kind = "build-script".into();
        assert_eq!(script.label(), "my-pkg 0.1.0 (build-script)");
        let mut cross = unit("a", Outcome::Hit, &[]);
        cross.target = "wasm32-unknown-unknown".into();
        assert_eq!(cross.label(), "a 0.1.0 (lib) for wasm32-unknown-unknown");
    }

    #[test]
    fn the_build_is_cargo_build_through_the_xtask_in_front_of_sccache() {
        assert_eq!(cargo_args(&[]), ["build"]);
        assert_eq!(cargo_args(&strings(&["test", "--no-run"])), ["test", "--no-run"]);
        let env = wrapper_env("/bin/xtask".as_ref(), Utf8Path::new("/bin/sccache"), Utf8Path::new("/t/x"), None);
        assert_eq!(
            env.to_string(),
            "RUSTC_WRAPPER=/bin/xtask __XTASK_WRAPPER_SCCACHE=/bin/sccache __XTASK_EXPLAIN_RECORDS=/t/x"
        );
        let env =
            wrapper_env("/bin/xtask".as_ref(), Utf8Path::new("/bin/sccache"), Utf8Path::new("/t/x"), Some("w".into()));
        assert_eq!(env.get(rustc_wrapper::USER_WRAPPER_VAR), Some(Some("w".as_ref())));
    }
}
