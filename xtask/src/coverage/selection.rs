//! Which members a coverage run measures, and `[workspace.metadata.xtask.coverage]`: the
//! exclusions and the minimums.

use anyhow::{Context, bail};
use serde_json::{Map, Value};

use super::{
    SETTINGS, Scope, XTASK,
    summary::{Metric, Minimums},
};
use crate::{output::UsageError, workspace::Member};

/// `[workspace.metadata.xtask.coverage]`.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Settings {
    /// Members no run measures unless they are named with `-p`.
    pub(super) exclude: Vec<String>,
    pub(super) fast_exclude: Vec<String>,
    pub(super) total: Minimums,
    pub(super) crates: Vec<(String, Minimums)>,
}

impl Settings {
    pub(super) fn from_workspace(settings: &Map<String, Value>, members: &[Member]) -> anyhow::Result<Settings> {
        let mut parsed = Settings::default();
        let Some(table) = settings.get("coverage") else { return Ok(parsed) };
        let table = table.as_object().with_context(|| format!("{SETTINGS} must be a table, not {table}"))?;
        let member = |name: &str, key: &str| {
            if members.iter().any(|member| member.name == name) {
                Ok(name.to_owned())
            } else {
                bail!(
                    "`{key}` in {SETTINGS} names `{name}`, which is not a workspace member; {}",
                    members_list(members)
                )
            }
        };
        for (key, value) in table {
            match key.as_str() {
                "exclude" | "fast-exclude" => {
                    let names = value
                        .as_array()
                        .with_context(|| format!("`{key}` in {SETTINGS} must be a list of crate names, not {value}"))?;
                    let list = if key == "exclude" { &mut parsed.exclude } else { &mut parsed.fast_exclude };
                    for name in names {
                        let name = name
                            .as_str()
                            .with_context(|| format!("`{key}` in {SETTINGS} must list crate names, not {name}"))?;
                        list.push(member(name, key)?);
                    }
                }
                "crates" => {
                    let crates = value.as_object().with_context(|| {
                        format!("`crates` in {SETTINGS} must be a table of crate names, not {value}")
                    })?;
                    for (name, minimums) in crates {
                        let name = member(name, key)?;
                        let minimums = Minimums::from_table(minimums, &format!("{SETTINGS} crates.{name}"))?;
                        parsed.crates.push((name, minimums));
                    }
                }
                _ => match Metric::ALL.iter().find(|metric| *key == format!("fail-under-{}", metric.name())) {
                    Some(metric) => parsed.total.set(*metric, percentage(value, &format!("`{key}` in {SETTINGS}"))?),
                    None => bail!(
                        "unknown key `{key}` in {SETTINGS}; the keys are exclude, fast-exclude, fail-under-lines, \
                         fail-under-functions, fail-under-regions and crates"
                    ),
                },
            }
        }
        Ok(parsed)
    }
}

impl Minimums {
    /// `{ fail-under-lines = 80, ... }` for one crate.
    fn from_table(value: &Value, what: &str) -> anyhow::Result<Minimums> {
        let table = value
            .as_object()
            .with_context(|| format!("{what} must be a table such as {{ fail-under-lines = 80 }}, not {value}"))?;
        let mut minimums = Minimums::default();
        for (key, value) in table {
            let metric = Metric::ALL
                .iter()
                .find(|metric| *key == format!("fail-under-{}", metric.name()))
                .with_context(|| format!("unknown key `{key}` in {what}; the keys are fail-under-lines, fail-under-functions and fail-under-regions"))?;
            minimums.set(*metric, percentage(value, &format!("`{key}` in {what}"))?);
        }
        Ok(minimums)
    }

    /// These minimums, with each one given in `flags` taking precedence.
    pub(super) fn overridden_by(&self, flags: &Minimums) -> Minimums {
        let mut merged = *self;
        for metric in Metric::ALL {
            if let Some(minimum) = flags.get(metric) {
                merged.set(metric, minimum);
            }
        }
        merged
    }
}

fn percentage(value: &Value, what: &str) -> anyhow::Result<f64> {
    match value.as_f64() {
        Some(percent) if (0.0..=100.0).contains(&percent) => Ok(percent),
        _ => bail!("{what} must be a percentage from 0 to 100, not {value}"),
    }
}

pub(super) fn members_list(members: &[Member]) -> String {
    let names: Vec<&str> = members.iter().map(|member| member.name.as_str()).collect();
    format!("the members are: {}", names.join(", "))
}

/// Which members are measured, and which `coverage-fast` left out and why.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Selection {
    pub(super) measured: Vec<String>,
    pub(super) skipped: Vec<(String, String)>,
}

/// `-p` and `--exclude` take repeats and comma lists (`-p a,b`).
pub(super) fn select(
    members: &[Member],
    packages: &[String],
    excluded: &[String],
    scope: Scope,
    settings: &Settings,
) -> Result<Selection, UsageError> {
    let names = |values: &[String], flag: &str| -> Result<Vec<String>, UsageError> {
        let mut names = Vec::new();
        for name in values.iter().flat_map(|value| value.split(',')).map(str::trim).filter(|name| !name.is_empty()) {
            if !members.iter().any(|member| member.name == name) {
                return Err(UsageError(format!("unknown package `{name}` in {flag}; {}", members_list(members))));
            }
            names.push(name.to_owned());
        }
        Ok(names)
    };
    let packages = names(packages, "--package")?;
    let excluded = names(excluded, "--exclude")?;
    let mut selection = Selection { measured: Vec::new(), skipped: Vec::new() };
    for member in members {
        let wanted = if packages.is_empty() { member.name != XTASK } else { packages.contains(&member.name) };
        if !wanted || excluded.contains(&member.name) {
            continue;
        }
        let skip_because = match scope {
            _ if packages.is_empty() && settings.exclude.contains(&member.name) => {
                Some("it is listed in `exclude` in [workspace.metadata.xtask.coverage] (name it with -p to measure it)")
            }
            Scope::Fast if member.uses_python => {
                Some("it depends on pyo3 (directly or through other crates), so its tests need Python")
            }
            Scope::Fast if settings.fast_exclude.contains(&member.name) => {
                Some("it is listed in `fast-exclude` in [workspace.metadata.xtask.coverage]")
            }
            _ => None,
        };
        match skip_because {
            Some(why) => selection.skipped.push((member.name.clone(), why.to_owned())),
            None => selection.measured.push(member.name.clone()),
        }
    }
    if selection.measured.is_empty() {
        return Err(UsageError(format!(
            "nothing left to measure after --package, --exclude{}; {}",
            if scope == Scope::Fast { " and coverage-fast's exclusions" } else { "" },
            members_list(members)
        )));
    }
    Ok(selection)
}
