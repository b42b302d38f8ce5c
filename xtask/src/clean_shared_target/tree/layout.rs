//! cargo's layout of a target directory: which category and build unit each entry belongs to,
//! from its directory's place in the layout and its own name.

use std::{ops::Range, time::SystemTime};

use camino::{Utf8Path, Utf8PathBuf};

use crate::{clean_shared_target::safety::CACHEDIR_TAG, safe_fs::FileId};

/// Directories of a profile whose entries are named `<name>-<16 hex digits>[.ext]` by cargo.
const UNIT_DIRS: &[&str] = &["deps", "build", ".fingerprint", "examples"];
pub(super) const INCREMENTAL: &str = "incremental";
pub(super) const COVERAGE_DIRS: &[&str] = &["llvm-cov-target", "llvm-cov"];
/// What cargo, cargo-llvm-cov and cargo-nextest put at the top of a target directory besides
/// profile directories and the directories above them (target triples, `llvm-cov-target`).
pub(super) const CARGO_TOP_NAMES: &[&str] = &[
    CACHEDIR_TAG,
    ".rustc_info.json",
    ".future-incompat-report.json",
    "doc",
    "package",
    "tmp",
    "llvm-cov",
    "llvm-cov-target",
    "nextest",
];
/// Outside the profiles, what has a `doc` among its first this many components is documentation
/// (`doc/`, `<triple>/doc/`).
pub(super) const DOC_DEPTH: usize = 3;

/// The root's index among the entries; it is its own directory.
pub(super) const ROOT: usize = 0;
/// The index of the one item all containers share.
pub(super) const CONTAINERS: usize = 0;

/// Files, and bytes as `ls -l` (apparent) and `du` (on disk) count them.
pub(crate) use crate::safe_fs::Usage as Bytes;

impl Bytes {
    pub(super) fn add(&mut self, entry: &Entry, count_size: bool) {
        self.files += u64::from(entry.kind != Kind::Dir);
        if count_size {
            self.apparent += entry.apparent;
            self.disk += entry.disk;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Dir,
    File,
    Link,
}

/// One entry of the tree, without its path: that is made from the names up the `parent` chain.
pub(super) struct Entry {
    /// The directory it is in; the root is its own.
    pub(super) parent: usize,
    /// Its name, in `Tree::names`.
    pub(super) name: Range<usize>,
    pub(super) kind: Kind,
    pub(super) apparent: u64,
    pub(super) disk: u64,
    /// A directory is checked to be still this one before anything inside it is removed.
    pub(super) id: FileId,
    /// For a file with more than one hard link: how many links it has.
    pub(super) links: Option<u64>,
    pub(super) modified: SystemTime,
    pub(super) item: usize,
    pub(super) category: Category,
}

/// What an entry belongs to; build units and incremental caches are what `--older-than` and
/// `--max-size` remove whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ItemKey {
    /// The root, a profile directory, `deps/` and the like: removed only when emptied.
    Container,
    /// Everything cargo named with this hash in one profile directory (its index in the layout).
    Unit { profile: usize, hash: u64 },
    /// One crate's directory in `incremental/`, with everything in it.
    Incremental,
    /// Anything else, by its top directory or file, with everything in it.
    Loose,
}

impl ItemKey {
    pub(super) fn is_unit(self) -> bool {
        matches!(self, ItemKey::Unit { .. } | ItemKey::Incremental)
    }
}

pub(super) struct Item {
    pub(super) key: ItemKey,
    /// The entry it was first seen in (for all but units, its top directory or file): its label.
    pub(super) first: usize,
    /// The newest modification time of its files (not directories).
    pub(super) newest: Option<SystemTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Category {
    Coverage,
    Doc,
    Incremental,
    /// Index into the tree's profiles.
    Profile(usize),
    Other,
}

impl Category {
    /// Its index in `Layout::categories`.
    pub(super) fn slot(self) -> usize {
        match self {
            Category::Coverage => 0,
            Category::Doc => 1,
            Category::Incremental => 2,
            Category::Other => 3,
            Category::Profile(index) => 4 + index,
        }
    }
}

/// Where a directory lies in cargo's layout, which decides what its entries are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// The root, or a directory with profile directories below it (`llvm-cov-target`, a triple).
    AboveProfiles,
    /// A profile directory such as `debug`, by its index in the layout.
    Profile(usize),
    /// `deps/`, `build/`, `.fingerprint/` or `examples/` of a profile: entries named by unit.
    UnitDir(usize),
    /// `incremental/` of a profile: each entry one crate's cache.
    IncrementalDir(usize),
    /// Inside an item: everything in it belongs to that item.
    InItem,
}

/// Whom an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    /// The item of the directory it is in.
    Directory,
    Item(ItemKey),
}

/// Where cargo keeps what, learnt from the profile directories found in the tree.
pub(crate) struct Layout {
    /// Relative to the root, such as `debug` or `llvm-cov-target/x86_64-apple-darwin/debug`.
    pub(crate) profiles: Vec<Utf8PathBuf>,
}

/// `path` starts with `prefix`, compared as text at a component boundary (fast on big trees).
pub(super) fn under<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix(std::path::MAIN_SEPARATOR).or_else(|| rest.strip_prefix('/'))
    }
}

/// The first component of `path` (relative; `/` is a separator on every OS, as in std's paths)
/// and the rest. A plain loop: with `--only` or `--profile` this runs for most entries, in the
/// debug build `cargo xtask` uses, where iterator and pattern machinery cost many times more.
pub(super) fn split_first(path: &str) -> (&str, Option<&str>) {
    let bytes = path.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'/' || bytes[at] == std::path::MAIN_SEPARATOR as u8 {
            return (&path[..at], Some(&path[at + 1..]));
        }
        at += 1;
    }
    (path, None)
}

/// The `<16 hex digits>` after a `-` in a unit's file names (`libfoo-0123456789abcdef.rlib`):
/// usually the last `-`, but rustc's `*.long-type-*.txt` files put one after it.
pub(super) fn unit_hash(name: &str) -> Option<u64> {
    let bytes = name.as_bytes();
    let hash_at = |at: usize| {
        let after = bytes.get(at + 17..)?;
        if !(after.is_empty() || after[0] == b'.') {
            return None;
        }
        parse_hash(&bytes[at + 1..at + 17])
    };
    let last = name.rfind('-')?;
    hash_at(last).or_else(|| name[..last].match_indices('-').find_map(|(at, _)| hash_at(at)))
}

/// Lowercase hex digits as a number (callers pass sixteen); a plain loop, as `split_first`.
pub(super) fn parse_hash(digits: &[u8]) -> Option<u64> {
    let mut value = 0;
    let mut at = 0;
    while at < digits.len() {
        let digit = match digits[at] {
            byte @ b'0'..=b'9' => byte - b'0',
            byte @ b'a'..=b'f' => byte - b'a' + 10,
            _ => return None,
        };
        value = value << 4 | u64::from(digit);
        at += 1;
    }
    Some(value)
}

/// The unit cargo named `name` for, or an item of its own.
fn unit_or_loose(profile: usize, name: &str) -> ItemKey {
    unit_hash(name).map_or(ItemKey::Loose, |hash| ItemKey::Unit { profile, hash })
}

/// Outside the profiles' own rules, documentation is what has a `doc` among its first components.
fn nested_category(category: Category, name: &str, depth: usize) -> Category {
    if category == Category::Other && depth <= DOC_DEPTH && name == "doc" { Category::Doc } else { category }
}

impl Layout {
    /// The profile directory `relative` lies in, and the rest of its path.
    pub(super) fn profile_of<'a>(&self, relative: &'a str) -> Option<(usize, &'a str)> {
        self.profiles.iter().enumerate().find_map(|(index, profile)| Some((index, under(relative, profile.as_str())?)))
    }

    /// Sorts the entry `name` at `depth` of the directory `relative` (at `place`, of `category`):
    /// whom it belongs to, its category, and (for a directory) its entries' place. Most entries
    /// are sorted by their directory's place alone, and units by their name.
    pub(super) fn classify(
        &self,
        place: Place,
        category: Category,
        relative: &Utf8Path,
        name: &str,
        depth: usize,
    ) -> (Owner, Category, Place) {
        match place {
            Place::InItem => (Owner::Directory, nested_category(category, name, depth), Place::InItem),
            Place::AboveProfiles => {
                let relative = relative.join(name);
                let coverage = category == Category::Coverage || (depth == 1 && COVERAGE_DIRS.contains(&name));
                if let Some(index) = self.profiles.iter().position(|profile| *profile == relative) {
                    let category = if coverage { Category::Coverage } else { Category::Profile(index) };
                    return (Owner::Item(ItemKey::Container), category, Place::Profile(index));
                }
                let category = if coverage { Category::Coverage } else { nested_category(category, name, depth) };
                if self.profiles.iter().any(|profile| profile.starts_with(&relative)) {
                    (Owner::Item(ItemKey::Container), category, Place::AboveProfiles)
                } else {
                    (Owner::Item(ItemKey::Loose), category, Place::InItem)
                }
            }
            Place::Profile(profile) => {
                let incremental = name == INCREMENTAL && category != Category::Coverage;
                let category = if incremental { Category::Incremental } else { category };
                let (key, place) = match name {
                    INCREMENTAL => (ItemKey::Container, Place::IncrementalDir(profile)),
                    _ if UNIT_DIRS.contains(&name) => (ItemKey::Container, Place::UnitDir(profile)),
                    _ => (unit_or_loose(profile, name), Place::InItem),
                };
                (Owner::Item(key), category, place)
            }
            Place::UnitDir(profile) => (Owner::Item(unit_or_loose(profile, name)), category, Place::InItem),
            Place::IncrementalDir(_) => (Owner::Item(ItemKey::Incremental), category, Place::InItem),
        }
    }

    /// Every category of this layout, each at its `Category::slot`.
    pub(super) fn categories(&self) -> Vec<Category> {
        [Category::Coverage, Category::Doc, Category::Incremental, Category::Other]
            .into_iter()
            .chain((0..self.profiles.len()).map(Category::Profile))
            .collect()
    }

    pub(crate) fn category_name(&self, category: Category) -> String {
        match category {
            Category::Coverage => "coverage".to_owned(),
            Category::Doc => "doc".to_owned(),
            Category::Incremental => "incremental".to_owned(),
            Category::Profile(index) => format!("profile {}", self.profiles[index]),
            Category::Other => "other".to_owned(),
        }
    }
}

/// An item first seen at `relative`: a unit by its profile and cargo's name up to the hash.
pub(super) fn label(layout: &Layout, key: ItemKey, relative: &Utf8Path) -> String {
    let ItemKey::Unit { profile, hash } = key else { return relative.to_string() };
    let profile = &layout.profiles[profile];
    let hash = format!("{hash:016x}");
    let named = relative.components().map(|c| c.as_str()).find(|c| c.contains(hash.as_str()));
    let name = named.and_then(|name| name.split(hash.as_str()).next()).unwrap_or_default();
    format!("{profile}/{name}{hash} (build unit)")
}
