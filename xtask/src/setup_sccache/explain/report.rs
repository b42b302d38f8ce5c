//! The report of one explained build: the counts, the misses grouped by cause, as text or JSON.

use std::collections::HashMap;

use camino::Utf8Path;
use serde_json::{Value, json};

use super::super::server::Stats;
use super::{
    cause::{Cause, cascade_roots, match_previous, names, own_causes},
    sccache_log::Outcome,
    unit::Unit,
};
use crate::tools::Version;

/// This build's compilations, each missed one with its causes: the first is the one that
/// counts, the others are there too.
pub(super) struct Report {
    pub(super) units: Vec<Unit>,
    pub(super) causes: Vec<Vec<Cause>>,
}

impl Report {
    pub(super) fn new(units: Vec<Unit>, previous: Vec<Unit>, sccache: Version) -> Report {
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

    pub(super) fn counts(&self) -> (usize, usize, usize) {
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
    pub(super) fn groups(&self) -> Vec<Group> {
        let mut groups: Vec<Group> = Vec::new();
        let firsts = self.units.iter().zip(&self.causes).filter_map(|(unit, causes)| Some((unit, causes.first()?)));
        // The dependents last, so that each finds the group of the unit it was rebuilt through.
        let (dependents, own): (Vec<_>, Vec<_>) =
            firsts.partition(|(_, cause)| matches!(cause, Cause::Dependency { .. }));
        for (unit, cause) in own.into_iter().chain(dependents) {
            let title = match cause {
                Cause::Environment(changes) => format!("{} ({})", cause.kind(), names(changes).join(", ")),
                Cause::NotCacheable(why) => format!("{} ({why})", cause.kind()),
                _ => cause.kind().to_owned(),
            };
            let found = match cause {
                Cause::Dependency { roots, .. } => {
                    let root = roots.first().cloned().unwrap_or_default();
                    groups.iter_mut().find(|group| group.units.contains(&root)).map(|group| &mut group.dependents)
                }
                _ => groups.iter_mut().find(|group| group.title == title).map(|group| &mut group.units),
            };
            match found {
                Some(units) => units.push(unit.label()),
                None => groups.push(Group {
                    title,
                    cause: cause.clone(),
                    units: vec![unit.label()],
                    dependents: Vec::new(),
                }),
            }
        }
        groups.sort_by_key(|group| matches!(group.cause, Cause::NotCacheable(_)));
        groups
    }

    pub(super) fn to_text(&self, compared_with: &Utf8Path, counted: &Stats) -> String {
        let mut out = String::new();
        for (unit, causes) in self.units.iter().zip(&self.causes) {
            let Some(first) = causes.first() else { continue };
            let outcome = if matches!(first, Cause::NotCacheable(_)) { "not cacheable" } else { "miss" };
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

    pub(super) fn to_json(&self, compared_with: &Utf8Path, counted: &Stats, exit_code: Option<i32>) -> Value {
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
pub(super) struct Group {
    pub(super) title: String,
    pub(super) cause: Cause,
    pub(super) units: Vec<String>,
    pub(super) dependents: Vec<String>,
}

impl Group {
    pub(super) fn describe(&self) -> String {
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
