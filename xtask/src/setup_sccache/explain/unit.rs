//! One compilation as explain sees it: the wrapper's record, the outcome sccache logged, the
//! sources and variables rustc's dep-info lists, and the inputs sccache hashes into its key.

use std::collections::{BTreeMap, HashMap};

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::{Value, json};
use xshell::Shell;

use super::sccache_log::{self, Outcome};
use crate::{
    child,
    compile_record::{self, CompileRecord},
    hash::fingerprint,
    tools::Version,
};

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
pub(super) const UNIT_HASH_ARGS: [&str; 2] = ["-C metadata", "-C extra-filename"];

/// One compilation: what sccache was given, and what it did.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Unit {
    pub(super) package: String,
    pub(super) version: String,
    pub(super) crate_name: String,
    /// lib, bin, test, build-script, proc-macro, ...
    pub(super) kind: String,
    /// `--target`, or host.
    pub(super) target: String,
    pub(super) compiler: String,
    /// `rustc -vV`, the version sccache hashes.
    pub(super) compiler_version: String,
    pub(super) cwd: String,
    pub(super) args: Vec<String>,
    /// The `CARGO_*` variables, and those the crate reads (`env!`, from rustc's dep-info; `None`
    /// when unset), credentials as fingerprints.
    pub(super) env: BTreeMap<String, Option<String>>,
    /// Each source file rustc read, as dep-info names it, with its fingerprint.
    pub(super) sources: BTreeMap<String, String>,
    pub(super) key: Option<String>,
    pub(super) outcome: Outcome,
}

impl Unit {
    /// This build's compilations: the wrapper's records in `dir`, each with the outcome sccache
    /// logged for its arguments, and its sources and compiler read now.
    pub(super) fn read_build(sh: &Shell, dir: &Utf8Path, log: &str) -> anyhow::Result<Vec<Unit>> {
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
        let kind = [
            (env.keys().any(|name| name.starts_with("CARGO_CFG_")), "build-script probe"),
            (options.iter().any(|option| option == "--test"), "test"),
            (crate_name.starts_with("build_script_"), "build-script"),
            (crate_types.is_empty(), "bin"),
        ];
        let kind = kind.into_iter().find(|(is, _)| *is).map_or_else(|| crate_types.join("+"), |(_, kind)| kind.into());
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
        let Some(text) = self.dep_info_file().and_then(|file| std::fs::read_to_string(file).ok()) else { return };
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
    pub(super) fn dep_info_file(&self) -> Option<Utf8PathBuf> {
        let options = options(&self.args);
        let emit =
            values(&options, "--emit").flat_map(|emit| emit.split(',')).find(|emit| emit.starts_with("dep-info"))?;
        let file = match emit.split_once('=') {
            Some((_, file)) => Utf8PathBuf::from(file),
            None => Utf8Path::new(values(&options, "--out-dir").next()?).join(format!("{}.d", self.output_stem())),
        };
        Some(Utf8Path::new(&self.cwd).join(file))
    }

    /// What makes two compilations the same unit from one build to the next.
    pub(super) fn id(&self) -> String {
        format!("{} {} {} {} {}", self.package, self.version, self.crate_name, self.kind, self.target)
    }

    /// The unit as people name it: `lib 0.1.0 (lib)`.
    pub(super) fn label(&self) -> String {
        let target = if self.target == "host" { String::new() } else { format!(" for {}", self.target) };
        let crate_name = match self.crate_name == self.package.replace('-', "_") || self.kind == "build-script" {
            true => String::new(),
            false => format!(" {}", self.crate_name),
        };
        format!("{} {} ({}{crate_name}){target}", self.package, self.version, self.kind)
    }

    /// The file names of the crates it links (`--extern name=path`), without `lib` and extension.
    pub(super) fn extern_stems(&self) -> Vec<String> {
        values(&options(&self.args), "--extern")
            .filter_map(|spec| Utf8Path::new(spec.split_once('=')?.1).file_stem())
            .map(|stem| stem.strip_prefix("lib").unwrap_or(stem).to_owned())
            .collect()
    }

    /// The crate name and `-C extra-filename`: the output files' name without extension.
    pub(super) fn output_stem(&self) -> String {
        let options = options(&self.args);
        let extra = values(&options, "-C").find_map(|codegen| codegen.strip_prefix("extra-filename="));
        format!("{}{}", self.crate_name, extra.unwrap_or_default())
    }

    /// The variables sccache (of `version`) hashes into the key.
    pub(super) fn hashed_env(&self, version: Version) -> BTreeMap<&str, Option<&str>> {
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

    pub(super) fn hashed_options(&self) -> Vec<String> {
        options(&self.args).into_iter().filter(|option| !UNHASHED_ARGS.contains(&option_key(option).as_str())).collect()
    }

    pub(super) fn to_json(&self) -> Value {
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

    pub(super) fn from_json(value: &Value) -> Option<Unit> {
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
pub(super) struct DepInfo {
    pub(super) sources: Vec<String>,
    pub(super) env: Vec<(String, Option<String>)>,
}

impl DepInfo {
    /// Each source gets a rule of its own, `path:`; variables are `# env-dep:NAME[=value]`.
    pub(super) fn parse(text: &str) -> DepInfo {
        let mut sources = Vec::new();
        let mut env = Vec::new();
        for line in text.lines() {
            if let Some(var) = line.strip_prefix("# env-dep:") {
                let (name, value) = var.split_once('=').map_or((var, None), |(name, value)| (name, Some(value)));
                env.push((name.to_owned(), value.map(str::to_owned)));
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
pub(super) fn options(args: &[String]) -> Vec<String> {
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
pub(super) fn values<'a>(options: &'a [String], flag: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    options.iter().filter_map(move |option| {
        option.strip_prefix(flag).and_then(|rest| rest.strip_prefix(' ').or_else(|| rest.strip_prefix('=')))
    })
}

/// What two values of one setting share: `-C opt-level`, `--edition`; a `--cfg` is its own.
pub(super) fn option_key(option: &str) -> String {
    let (flag, value) = option.split_once([' ', '=']).unwrap_or((option, ""));
    match flag {
        "-C" | "--codegen" | "-Z" => format!("{flag} {}", value.split('=').next().unwrap_or(value)),
        "--cfg" | "-A" | "-W" | "-D" | "-F" | "--force-warn" => option.to_owned(),
        _ => flag.to_owned(),
    }
}
