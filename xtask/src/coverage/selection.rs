//! Which members a coverage run measures, and `[workspace.metadata.xtask.coverage]`: the
//! exclusions and the minimums.

use anyhow::{Context, anyhow, bail};
use serde_json::{Map, Value};

use super::{
    SETTINGS, Scope, XTASK,
    python_tests::SuiteSettings,
    summary::{Metric, Minimums},
};
use crate::{
    output::{UsageError, usage},
    workspace::Member,
};

/// `[workspace.metadata.xtask.coverage]`.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Settings {
    /// Members no run measures unless they are named with `-p`.
    pub(super) exclude: Vec<String>,
    pub(super) fast_exclude: Vec<String>,
    pub(super) total: Minimums,
    pub(super) crates: Vec<(String, Minimums)>,
    /// Per crate, what its Python tests are (`python`).
    pub(super) python: Vec<(String, SuiteSettings)>,
}

impl Settings {
    pub(super) fn from_workspace(settings: &Map<String, Value>, members: &[Member]) -> anyhow::Result<Settings> {
        let mut parsed = Settings::default();
        let Some(table) = settings.get("coverage") else { return Ok(parsed) };
        let table = table.as_object().with_context(|| format!("{SETTINGS} must be a table, not {table}"))?;
        let member = |name: &str, key: &str| match members.iter().any(|member| member.name == name) {
            true => Ok(name.to_owned()),
            false => Err(anyhow!(
                "`{key}` in {SETTINGS} names `{name}`, which is not a workspace member; {}",
                members_list(members)
            )),
        };
        for (key, value) in table {
            let what = format!("`{key}` in {SETTINGS}");
            let crate_table =
                || value.as_object().with_context(|| format!("{what} must be a table of crate names, not {value}"));
            match key.as_str() {
                "exclude" | "fast-exclude" => {
                    let names = value
                        .as_array()
                        .with_context(|| format!("{what} must be a list of crate names, not {value}"))?;
                    let list = if key == "exclude" { &mut parsed.exclude } else { &mut parsed.fast_exclude };
                    for name in names {
                        let name =
                            name.as_str().with_context(|| format!("{what} must list crate names, not {name}"))?;
                        list.push(member(name, key)?);
                    }
                }
                "crates" => {
                    for (name, minimums) in crate_table()? {
                        let name = member(name, key)?;
                        let minimums = Minimums::from_table(minimums, &format!("{SETTINGS} crates.{name}"))?;
                        parsed.crates.push((name, minimums));
                    }
                }
                "python" => {
                    for (name, settings) in crate_table()? {
                        let settings = SuiteSettings::from_table(settings, name)?;
                        parsed.python.push((member(name, key)?, settings));
                    }
                }
                _ => match minimum_of(key) {
                    Some(metric) => parsed.total.set(metric, percentage(value, &what)?),
                    None => bail!(
                        "unknown key `{key}` in {SETTINGS}; the keys are exclude, fast-exclude, fail-under-lines, \
                         fail-under-functions, fail-under-regions, crates and python"
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
            let metric = minimum_of(key).with_context(|| {
                format!("unknown key `{key}` in {what}; the keys are fail-under-lines, fail-under-functions and fail-under-regions")
            })?;
            minimums.set(metric, percentage(value, &format!("`{key}` in {what}"))?);
        }
        Ok(minimums)
    }

    /// These minimums, with each one given in `flags` taking precedence.
    pub(super) fn overridden_by(&self, flags: &Minimums) -> Minimums {
        Minimums(std::array::from_fn(|metric| flags.0[metric].or(self.0[metric])))
    }
}

/// The metric a `fail-under-<metric>` key sets.
fn minimum_of(key: &str) -> Option<Metric> {
    key.strip_prefix("fail-under-")?.parse().ok()
}

fn percentage(value: &Value, what: &str) -> anyhow::Result<f64> {
    let percent = value.as_f64().filter(|percent| (0.0..=100.0).contains(percent));
    percent.with_context(|| format!("{what} must be a percentage from 0 to 100, not {value}"))
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
        let names = values.iter().flat_map(|value| value.split(',')).map(str::trim).filter(|name| !name.is_empty());
        let known = |name: &str| match members.iter().any(|member| member.name == name) {
            true => Ok(name.to_owned()),
            false => Err(UsageError(format!("unknown package `{name}` in {flag}; {}", members_list(members)))),
        };
        names.map(known).collect()
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
        usage!(
            "nothing left to measure after --package, --exclude{}; {}",
            if scope == Scope::Fast { " and coverage-fast's exclusions" } else { "" },
            members_list(members)
        );
    }
    Ok(selection)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{members, strings};
    use super::*;

    #[test]
    fn default_selection_is_every_member_but_xtask() {
        let selection = select(&members(), &[], &[], Scope::Full, &Settings::default()).unwrap();
        assert_eq!(selection.measured, strings(&["app", "bindings", "core", "slow"]));
        assert!(selection.skipped.is_empty());
    }

    #[test]
    fn packages_take_repeats_and_comma_lists_and_exclude_wins() {
        let selection =
            select(&members(), &strings(&["core, app", XTASK]), &strings(&["app"]), Scope::Full, &Settings::default())
                .unwrap();
        assert_eq!(selection.measured, strings(&["core", XTASK]));
        let selection =
            select(&members(), &[], &strings(&["slow,bindings"]), Scope::Full, &Settings::default()).unwrap();
        assert_eq!(selection.measured, strings(&["app", "core"]));
    }

    #[test]
    fn unknown_names_are_usage_errors_listing_the_members() {
        let err = select(&members(), &strings(&["core,nope"]), &[], Scope::Full, &Settings::default()).unwrap_err();
        assert_eq!(
            err.0,
            format!("unknown package `nope` in --package; the members are: app, bindings, core, slow, {XTASK}")
        );
        let err = select(&members(), &[], &strings(&["gone"]), Scope::Full, &Settings::default()).unwrap_err();
        assert!(err.0.starts_with("unknown package `gone` in --exclude"), "{}", err.0);
    }

    #[test]
    fn exclude_leaves_members_out_of_every_run_unless_named() {
        let settings = Settings { exclude: strings(&["slow"]), ..Settings::default() };
        for scope in [Scope::Full, Scope::Fast] {
            let selection = select(&members(), &[], &[], scope, &settings).unwrap();
            assert!(!selection.measured.contains(&"slow".to_owned()), "{selection:?}");
            assert!(selection.skipped.iter().any(|(name, why)| name == "slow" && why.contains("`exclude`")));
        }
        let named = select(&members(), &strings(&["slow"]), &[], Scope::Full, &settings).unwrap();
        assert_eq!(named.measured, strings(&["slow"]));
    }

    #[test]
    fn fast_leaves_out_python_crates_and_the_configured_ones_and_says_why() {
        let settings = Settings { fast_exclude: strings(&["slow"]), ..Settings::default() };
        let selection = select(&members(), &[], &[], Scope::Fast, &settings).unwrap();
        assert_eq!(selection.measured, strings(&["core"]));
        let skipped: Vec<&str> = selection.skipped.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(skipped, ["app", "bindings", "slow"]);
        assert!(selection.skipped[0].1.contains("depends on pyo3 (directly or through other crates)"));
        assert!(selection.skipped[2].1.contains("fast-exclude"));
        let err = select(&members(), &strings(&["app"]), &[], Scope::Fast, &Settings::default()).unwrap_err();
        assert!(err.0.starts_with("nothing left to measure after --package, --exclude and coverage-fast's exclusions"));
    }

    #[test]
    fn settings_give_fast_excludes_and_minimums() {
        let settings = serde_json::json!({"coverage": {
            "fast-exclude": ["slow"],
            "fail-under-lines": 70,
            "crates": {"core": {"fail-under-regions": 90.5, "fail-under-functions": 80}},
        }});
        let settings = Settings::from_workspace(settings.as_object().unwrap(), &members()).unwrap();
        assert_eq!(settings.fast_exclude, ["slow"]);
        assert_eq!(settings.total, Minimums([Some(70.0), None, None, None]));
        assert_eq!(settings.crates, [("core".to_owned(), Minimums([None, Some(80.0), Some(90.5), None]))]);
        assert_eq!(
            settings.total.overridden_by(&Minimums([None, Some(50.0), None, None])),
            Minimums([Some(70.0), Some(50.0), None, None])
        );
    }

    #[test]
    fn bad_settings_say_what_is_wrong_and_where() {
        let error = |coverage: Value| {
            let settings = serde_json::json!({ "coverage": coverage });
            Settings::from_workspace(settings.as_object().unwrap(), &members()).unwrap_err().to_string()
        };
        assert!(error(serde_json::json!({"fast-exclude": ["nope"]})).starts_with(
            "`fast-exclude` in [workspace.metadata.xtask.coverage] names `nope`, which is not a workspace member; the members are: app,"
        ));
        assert_eq!(
            error(serde_json::json!({"fail-under-lines": 120})),
            "`fail-under-lines` in [workspace.metadata.xtask.coverage] must be a percentage from 0 to 100, not 120"
        );
        assert!(error(serde_json::json!({"fail_under_lines": 1})).starts_with("unknown key `fail_under_lines`"));
        assert!(error(serde_json::json!({"crates": {"core": {"lines": 1}}})).starts_with(
            "unknown key `lines` in [workspace.metadata.xtask.coverage] crates.core; the keys are fail-under-lines"
        ));
        assert_eq!(error(serde_json::json!(3)), "[workspace.metadata.xtask.coverage] must be a table, not 3");
    }
}
