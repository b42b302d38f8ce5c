//! What the flags select from a scanned tree: whole build units and categories, kept consistent
//! (a unit goes with all its files), and the removal that follows from it.

use std::time::{Duration, SystemTime};

use camino::{Utf8Path, Utf8PathBuf};

use super::{
    Tree, is_running_program,
    layout::{
        Bytes, CARGO_TOP_NAMES, COVERAGE_DIRS, Category, DOC_DEPTH, INCREMENTAL, Item, ItemKey, Kind, Layout, ROOT,
        label, split_first,
    },
};
use crate::{
    clean_shared_target::safety::CACHEDIR_TAG,
    flags::Only,
    hash::{FastMap, FastSet},
    safe_fs::FileId,
};

/// What the flags ask to remove.
pub(crate) struct Filters {
    pub(crate) only: Vec<Only>,
    /// A profile directory's name: `debug` for `dev`, as cargo names them.
    pub(crate) profile: Option<String>,
    pub(crate) older_than: Option<Duration>,
    pub(crate) max_size: Option<u64>,
    pub(crate) now: SystemTime,
    /// The running program, which Windows cannot delete: it and its `deps/` twin stay.
    pub(crate) running_program: Option<Utf8PathBuf>,
}

impl Filters {
    /// No flag: everything but the tag goes.
    pub(crate) fn everything() -> Filters {
        Filters {
            only: Vec::new(),
            profile: None,
            older_than: None,
            max_size: None,
            now: SystemTime::now(),
            running_program: None,
        }
    }

    fn by_unit(&self) -> bool {
        self.older_than.is_some() || self.max_size.is_some()
    }

    fn by_path(&self) -> bool {
        !self.only.is_empty() || self.profile.is_some()
    }

    /// Whether `--only` and `--profile` take `relative`, from its first `path_depth_read` parts.
    pub(super) fn takes_path(&self, layout: &Layout, relative: &str) -> bool {
        if !self.by_path() {
            return true;
        }
        let profile = layout.profile_of(relative);
        let in_profile =
            |name: &str| profile.is_some_and(|(index, _)| layout.profiles[index].file_name() == Some(name));
        let only = self.only.is_empty()
            || self.only.iter().any(|only| match only {
                Only::Coverage => COVERAGE_DIRS.contains(&split_first(relative).0),
                Only::Incremental => profile.is_some_and(|(_, rest)| split_first(rest).0 == INCREMENTAL),
                Only::Doc => {
                    profile.is_none()
                        && Utf8Path::new(relative).components().take(DOC_DEPTH).any(|c| c.as_str() == "doc")
                }
            });
        only && self.profile.as_deref().is_none_or(in_profile)
    }
}

impl Layout {
    /// How many leading components `Filters::takes_path` reads: a profile's and one more, or
    /// `DOC_DEPTH`.
    fn path_depth_read(&self) -> usize {
        self.profiles.iter().map(|profile| profile.components().count() + 1).max().unwrap_or(0).max(DOC_DEPTH)
    }
}

/// What removing a selection frees.
pub(crate) struct Removal {
    pub(crate) total: Bytes,
    pub(crate) categories: Vec<(String, Bytes)>,
    pub(crate) largest: Vec<(String, Bytes)>,
}

/// What would be removed from one tree.
pub(crate) struct Selection {
    /// Per entry, whether it goes.
    pub(super) selected: Vec<bool>,
    /// The limit `--max-size` could not reach by removing build units alone.
    pub(crate) over_limit: Option<u64>,
}

impl Tree {
    /// What `filters` take. With `cargos_layout_only` (no cargo tag, `--force`), what lies at the
    /// top outside cargo's layout stays (`Tree::foreign`).
    pub(crate) fn select(&self, filters: &Filters, cargos_layout_only: bool) -> Selection {
        let chosen = self.chosen_items(filters, cargos_layout_only);
        let mut selection = Selection { selected: self.selected_entries(&chosen, filters), over_limit: None };
        if let Some(limit) = filters.max_size {
            let links = removed_links([(self, &selection)]);
            let left = self.total.disk.saturating_sub(self.removal(&selection, &links, 0).total.disk);
            selection.over_limit = (left > limit).then_some(left);
        }
        selection
    }

    /// Per item, whether the unit filters (`--older-than`, `--max-size`) take it: every item
    /// when none is given; `--max-size` takes the oldest units until the rest fits.
    fn chosen_items(&self, filters: &Filters, cargos_layout_only: bool) -> Vec<bool> {
        let mut chosen = vec![!filters.by_unit(); self.items.len()];
        if filters.by_unit() {
            let mut candidates: Vec<usize> = (0..self.items.len())
                .filter(|&i| self.items[i].key.is_unit())
                .filter(|&i| match (filters.older_than, self.items[i].newest) {
                    (Some(age), Some(newest)) => filters.now.duration_since(newest).is_ok_and(|elapsed| elapsed > age),
                    (Some(_), None) => false,
                    (None, _) => true,
                })
                .collect();
            if let Some(limit) = filters.max_size {
                let unit_disk = self.unit_disk();
                candidates.sort_by_key(|&i| self.items[i].newest);
                let mut remaining = self.total.disk;
                candidates.retain(|&i| {
                    let take = remaining > limit;
                    remaining = remaining.saturating_sub(unit_disk[i]);
                    take
                });
            }
            for i in candidates {
                chosen[i] = true;
            }
        }
        if cargos_layout_only {
            for item in self.foreign_items() {
                chosen[item] = false;
            }
        }
        chosen
    }

    /// Per entry, whether it goes: its item is `chosen`, the path filters take it, it is not the
    /// tag or the running program, and for a directory, everything in it goes.
    fn selected_entries(&self, chosen: &[bool], filters: &Filters) -> Vec<bool> {
        let taken_by_path = filters.by_path().then(|| self.taken_by_path(filters));
        // Every entry comes after its directory, so walking the list backwards meets each
        // directory after all of its contents.
        let mut selected = vec![false; self.entries.len()];
        // Per directory: whether all of its entries are selected, and whether it has any.
        let mut all_selected = vec![true; self.entries.len()];
        let mut has_children = vec![false; self.entries.len()];
        for index in (1..self.entries.len()).rev() {
            let entry = &self.entries[index];
            let taken_by_path = taken_by_path.as_ref().is_none_or(|taken| taken[index]);
            let kept = (entry.parent == ROOT && self.name(index) == CACHEDIR_TAG)
                || (entry.kind != Kind::Dir
                    && filters.running_program.as_ref().is_some_and(|exe| is_running_program(exe, &self.path(index))));
            let takes = !kept && chosen[entry.item] && taken_by_path;
            let this = match entry.kind {
                Kind::Dir => {
                    let own = match self.items[entry.item].key {
                        // Emptied containers go; empty ones only when no unit is asked for.
                        ItemKey::Container => taken_by_path && (has_children[index] || !filters.by_unit()),
                        _ => takes,
                    };
                    own && all_selected[index]
                }
                Kind::File | Kind::Link => takes,
            };
            selected[index] = this;
            all_selected[entry.parent] &= this;
            has_children[entry.parent] = true;
        }
        selected
    }

    /// The items at the top that are no profile directory, nor above one, nor put there by cargo
    /// or the tools it runs.
    fn foreign_items(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.items.len()).filter(|&item| {
            let Item { key, first, .. } = self.items[item];
            key == ItemKey::Loose && self.entries[first].parent == ROOT && !CARGO_TOP_NAMES.contains(&self.name(first))
        })
    }

    /// The names of `foreign_items`, for the preview.
    pub(crate) fn foreign(&self) -> Vec<String> {
        self.foreign_items().map(|item| self.name(self.items[item].first).to_owned()).collect()
    }

    /// Per entry, whether `--only` and `--profile` take its path; deeper than `takes_path` reads,
    /// its directory's answer (no path is made).
    fn taken_by_path(&self, filters: &Filters) -> Vec<bool> {
        let read = self.layout.path_depth_read();
        let mut depth = vec![0; self.entries.len()];
        let mut taken = vec![false; self.entries.len()];
        for (index, entry) in self.entries.iter().enumerate().skip(1) {
            depth[index] = depth[entry.parent] + 1;
            taken[index] = if depth[index] > read {
                taken[entry.parent]
            } else {
                filters.takes_path(&self.layout, self.relative(index).as_str())
            };
        }
        taken
    }

    /// Each unit's on-disk bytes, hard links inside it counted once.
    fn unit_disk(&self) -> Vec<u64> {
        let mut disk = vec![0; self.items.len()];
        let mut seen = FastSet::default();
        for entry in self.entries.iter().filter(|entry| entry.links.is_none() || seen.insert(entry.id)) {
            disk[entry.item] += entry.disk;
        }
        disk
    }

    /// What removing the selection frees: in total, per category, and its `largest` items. A
    /// hard-linked file counts once, and only when all its links go (`removed_links` over every
    /// tree of this run).
    pub(crate) fn removal(
        &self,
        selection: &Selection,
        removed_links: &FastMap<FileId, u64>,
        largest: usize,
    ) -> Removal {
        let mut seen = FastSet::default();
        let mut total = Bytes::default();
        let categories = self.layout.categories();
        let mut by_category: Vec<Option<Bytes>> = vec![None; categories.len()];
        let mut by_item = vec![Bytes::default(); self.items.len()];
        for (entry, _) in self.entries.iter().zip(&selection.selected).filter(|(_, selected)| **selected) {
            let frees =
                entry.links.is_none_or(|links| removed_links.get(&entry.id) >= Some(&links) && seen.insert(entry.id));
            total.add(entry, frees);
            by_category[entry.category.slot()].get_or_insert_default().add(entry, frees);
            by_item[entry.item].add(entry, frees);
        }
        let mut categories: Vec<(Category, Bytes)> =
            categories.into_iter().zip(by_category).filter_map(|(category, bytes)| Some((category, bytes?))).collect();
        categories.sort_unstable_by_key(|(category, bytes)| (std::cmp::Reverse(bytes.disk), *category));
        // The `largest` by disk, the first found among equals: cheaper than sorting every item.
        let mut items: Vec<(usize, Bytes)> = Vec::with_capacity(largest + 1);
        for (item, bytes) in by_item.into_iter().enumerate() {
            let full = items.len() == largest && items.last().is_none_or(|(_, last)| last.disk >= bytes.disk);
            if full || bytes == Bytes::default() || self.items[item].key == ItemKey::Container {
                continue;
            }
            let at = items.partition_point(|(_, shown)| shown.disk >= bytes.disk);
            items.insert(at, (item, bytes));
            items.truncate(largest);
        }
        let label_of = |item: &Item| label(&self.layout, item.key, &self.relative(item.first));
        Removal {
            total,
            categories: categories.into_iter().map(|(c, bytes)| (self.layout.category_name(c), bytes)).collect(),
            largest: items.into_iter().map(|(item, bytes)| (label_of(&self.items[item]), bytes)).collect(),
        }
    }
}

impl Selection {
    /// How many files (not directories) it holds.
    pub(crate) fn count_files(&self, tree: &Tree) -> u64 {
        let files =
            tree.entries.iter().zip(&self.selected).filter(|(entry, chosen)| **chosen && entry.kind != Kind::Dir);
        files.count() as u64
    }
}

/// How many links to each hard-linked file the selections remove, over the trees of this run.
pub(crate) fn removed_links<'a>(removed: impl IntoIterator<Item = (&'a Tree, &'a Selection)>) -> FastMap<FileId, u64> {
    let mut counts = FastMap::default();
    for (tree, selection) in removed {
        for &index in tree.linked.iter().filter(|&&index| selection.selected[index]) {
            *counts.entry(tree.entries[index].id).or_default() += 1;
        }
    }
    counts
}
