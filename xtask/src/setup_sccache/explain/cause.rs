//! Why a compilation missed: its inputs compared with the previous compilation of the same unit,
//! and a dependency's miss told as the cause of its dependents'.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::unit::{UNIT_HASH_ARGS, Unit, option_key};
use crate::tools::Version;

/// How the hashed arguments differ: `-C opt-level=0 → -C opt-level=3`, `added -C
/// instrument-coverage`, `removed --cfg coverage`. cargo's unit hash only shows when nothing
/// else differs, since it follows from the rest.
pub(super) fn argument_changes(before: &[String], after: &[String]) -> Vec<String> {
    // Each option of `other` pairs with one of `from` at the most: a repeated option counts.
    let missing_from = |from: &[String], other: &[String]| {
        let mut other = other.to_vec();
        let mut pair =
            |option: &&String| other.iter().position(|candidate| candidate == *option).map(|i| other.remove(i));
        from.iter().filter(|option| pair(option).is_none()).cloned().collect::<Vec<_>>()
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
pub(super) enum Cause {
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
    pub(super) fn kind(&self) -> &'static str {
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

    pub(super) fn describe(&self) -> String {
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
    pub(super) fn advice(&self) -> String {
        match self {
            Cause::First => "nothing to do: the next explain compares with this build".to_owned(),
            Cause::Compiler { .. } => "expected once per toolchain; pin one with rust-toolchain.toml so builds share entries".to_owned(),
            Cause::WorkingDirectory { .. } => "sccache hashes the working directory (SCCACHE_BASEDIRS does not apply to Rust), so workspace crates hit only from the same path: build other checkouts at one path, or accept these misses".to_owned(),
            Cause::Environment(changes) => {
                let names = names(changes);
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

    pub(super) fn to_json(&self) -> Value {
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

pub(super) fn names(changes: &[(String, Option<String>, Option<String>)]) -> Vec<&str> {
    changes.iter().map(|(name, _, _)| name.as_str()).collect()
}

/// Each unit's previous recorded compilation: the one of the same unit whose arguments differ least.
pub(super) fn match_previous(units: &[Unit], mut previous: Vec<Unit>) -> Vec<Option<Unit>> {
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
/// directory, the `CARGO_*` variables, the arguments, the variables read, the sources. After a
/// move, paths under the old directory are read as under the new one, so only what else changed is
/// listed too.
pub(super) fn own_causes(unit: &Unit, before: Option<&Unit>, sccache: Version) -> Vec<Cause> {
    let Some(before) = before else { return vec![Cause::First] };
    let moved = |text: &str| if before.cwd.is_empty() { text.to_owned() } else { text.replace(&before.cwd, &unit.cwd) };
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
    let new = |name: &str| new_env.get(name).copied().flatten();
    let vars: BTreeSet<&str> = old_env.keys().chain(new_env.keys()).copied().collect();
    // What is set from outside (`CARGO_*`) comes before the arguments; what the crate reads
    // with `env!` after them, since cargo derives some (`OUT_DIR` holds its unit hash).
    let (set, read): (Vec<_>, Vec<_>) = vars
        .into_iter()
        .filter(|name| old_env.get(name).and_then(Option::as_deref) != new(name))
        // Shown as they were: the unmoved value.
        .map(|name| (name.to_owned(), before.env.get(name).cloned().flatten(), new(name).map(str::to_owned)))
        .partition(|(name, _, _)| name.starts_with("CARGO_"));
    causes.extend((!set.is_empty()).then_some(Cause::Environment(set)));
    let old_options: Vec<String> = before.hashed_options().iter().map(|option| moved(option)).collect();
    let arguments = argument_changes(&old_options, &unit.hashed_options());
    causes.extend((!arguments.is_empty()).then_some(Cause::Arguments(arguments)));
    causes.extend((!read.is_empty()).then_some(Cause::Environment(read)));
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
    causes.extend((!files.is_empty()).then_some(Cause::Sources(files)));
    causes
}

/// The units that started the rebuild of `changed`: following rebuilt dependencies down to those
/// with a cause of their own.
pub(super) fn cascade_roots(
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
        if !own[index].is_empty() {
            roots.push(index);
            continue;
        }
        let next: Vec<usize> = deps[index].iter().copied().filter(|dep| rebuilt(*dep)).collect();
        cascade_roots(&next, own, deps, rebuilt, roots, seen);
    }
}
