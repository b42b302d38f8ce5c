//! The contents of one directory: a single walk that measures every entry and sorts it into
//! cargo's categories and build units, the selection the flags make, and the deletion.
//!
//! Links are never followed: a link is measured and removed as a link. Every error of the walk
//! stops the task (nothing is skipped silently), and the walk ends before anything is deleted.
//!
//! The walk meets hundreds of thousands of entries in the unoptimised build `cargo xtask` runs,
//! so it reads directories on every core and keeps the books per directory where it can: an
//! entry is sorted from its directory's place in cargo's layout and its own name, keeps numbers
//! and its name in a shared buffer, and gets a path only when it is shown or deleted.

use std::{
    fs,
    ops::Range,
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    time::{Duration, SystemTime},
};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};

pub(crate) use crate::hash::{FastMap, FastSet};

use super::{Progress, safety::CACHEDIR_TAG};
mod deletion;

pub(crate) use self::deletion::Deleted;
use crate::{
    flags::Only,
    safe_fs::{FileId, Measured, MountPoints, measure},
};

/// Directories of a profile whose entries are named `<name>-<16 hex digits>[.ext]` by cargo.
const UNIT_DIRS: &[&str] = &["deps", "build", ".fingerprint", "examples"];
const INCREMENTAL: &str = "incremental";
const COVERAGE_DIRS: &[&str] = &["llvm-cov-target", "llvm-cov"];
/// What cargo, cargo-llvm-cov and cargo-nextest put at the top of a target directory besides
/// profile directories and the directories above them (target triples, `llvm-cov-target`).
const CARGO_TOP_NAMES: &[&str] = &[
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
const DOC_DEPTH: usize = 3;

/// The root's index among the entries; it is its own directory.
const ROOT: usize = 0;
/// The index of the one item all containers share.
const CONTAINERS: usize = 0;

/// Bytes as `ls -l` (apparent) and `du` (on disk) count them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bytes {
    pub(crate) files: u64,
    pub(crate) apparent: u64,
    pub(crate) disk: u64,
}

impl Bytes {
    fn add(&mut self, entry: &Entry, count_size: bool) {
        self.files += u64::from(entry.kind != Kind::Dir);
        if count_size {
            self.apparent += entry.apparent;
            self.disk += entry.disk;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
    Link,
}

/// One entry of the tree, without its path: that is made from the names up the `parent` chain
/// when needed.
struct Entry {
    /// The directory it is in; the root is its own.
    parent: usize,
    /// Its name, in `Tree::names`.
    name: Range<usize>,
    kind: Kind,
    apparent: u64,
    disk: u64,
    /// Which file it is: a directory is checked to be still the same before anything inside it
    /// is removed.
    id: FileId,
    /// For a file with more than one hard link: how many links it has (`id` says which file).
    links: Option<u64>,
    modified: SystemTime,
    item: usize,
    category: Category,
}

/// What an entry belongs to; build units and incremental caches are what `--older-than` and
/// `--max-size` remove whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemKey {
    /// The root, a profile directory, `deps/` and the like: removed only when emptied.
    Container,
    /// Everything cargo named with this hash in one profile directory (by its index in the
    /// layout).
    Unit { profile: usize, hash: u64 },
    /// One crate's directory in `incremental/`, with everything in it.
    Incremental,
    /// Anything else, by its top directory or file, with everything in it.
    Loose,
}

impl ItemKey {
    fn is_unit(self) -> bool {
        matches!(self, ItemKey::Unit { .. } | ItemKey::Incremental)
    }
}

struct Item {
    key: ItemKey,
    /// The entry it was first seen in: for all but units, its top directory or file. Its label
    /// is made from it when shown.
    first: usize,
    /// The newest modification time of its files (not directories).
    newest: Option<SystemTime>,
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
    fn slot(self) -> usize {
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
enum Place {
    /// The root, or a directory with profile directories below it (`llvm-cov-target`, a target
    /// triple).
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
enum Owner {
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
fn under<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix(std::path::MAIN_SEPARATOR).or_else(|| rest.strip_prefix('/'))
    }
}

/// The first component of `path` (relative, as the tree joins it; `/` is a separator on every
/// OS, as in std's paths) and the rest. A plain loop:
/// with `--only` or `--profile` this runs for most entries of trees with hundreds of thousands,
/// in the debug build `cargo xtask` uses, where iterator and pattern machinery cost many times
/// more.
fn split_first(path: &str) -> (&str, Option<&str>) {
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

/// The `<16 hex digits>` cargo puts after a `-` in a unit's file names: `libfoo-0123456789abcdef.rlib`.
/// Usually after the last `-`, which is tried first; rustc's `*.long-type-*.txt` files put one
/// after it, so then every `-` is tried.
fn unit_hash(name: &str) -> Option<u64> {
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

/// Lowercase hex digits as a number (callers pass sixteen). A plain loop, for the same reason
/// as `split_first`.
fn parse_hash(digits: &[u8]) -> Option<u64> {
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
    match unit_hash(name) {
        Some(hash) => ItemKey::Unit { profile, hash },
        None => ItemKey::Loose,
    }
}

/// The category of an entry named `name` at `depth` in a directory of `category`, outside the
/// profiles' own rules: documentation is what has a `doc` among its first components.
fn nested_category(category: Category, name: &str, depth: usize) -> Category {
    if category == Category::Other && depth <= DOC_DEPTH && name == "doc" { Category::Doc } else { category }
}

impl Layout {
    /// The profile directory `relative` lies in, and the rest of its path.
    fn profile_of<'a>(&self, relative: &'a str) -> Option<(usize, &'a str)> {
        self.profiles.iter().enumerate().find_map(|(index, profile)| Some((index, under(relative, profile.as_str())?)))
    }

    /// Sorts the entry `name`, at `depth`, of the directory at `relative` that lies at `place`
    /// and is of `category`: whom it belongs to, its category, and (for a directory) the place
    /// of its own entries. Everything in an item shares it, so most entries are sorted by their
    /// directory's place alone, and units by their name.
    fn classify(
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
                let category = match category {
                    Category::Coverage => Category::Coverage,
                    _ if name == INCREMENTAL => Category::Incremental,
                    other => other,
                };
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
    fn categories(&self) -> Vec<Category> {
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

/// A label for an item first seen at `relative`: for a unit, its profile and the name cargo gave
/// it up to the hash; for the others, that path.
fn label(layout: &Layout, key: ItemKey, relative: &Utf8Path) -> String {
    match key {
        ItemKey::Unit { profile, hash } => {
            let profile = &layout.profiles[profile];
            let hash = format!("{hash:016x}");
            let named = relative.components().map(|c| c.as_str()).find(|c| c.contains(hash.as_str()));
            let name = named.and_then(|name| name.split(hash.as_str()).next()).unwrap_or_default();
            format!("{profile}/{name}{hash} (build unit)")
        }
        ItemKey::Incremental | ItemKey::Loose | ItemKey::Container => relative.to_string(),
    }
}

/// One directory, measured.
pub(crate) struct Tree {
    pub(crate) root: Utf8PathBuf,
    pub(crate) layout: Layout,
    /// In walk order: each directory before its contents. The root is the first.
    entries: Vec<Entry>,
    /// The names of all entries, one after the other.
    names: String,
    /// The entries that are files with more than one hard link.
    linked: Vec<usize>,
    items: Vec<Item>,
    /// Everything in the tree, each hard-linked file once, as `du` counts it.
    pub(crate) total: Bytes,
}

/// A directory for the walk to read.
struct DirToRead {
    /// Its entry.
    index: usize,
    place: Place,
    category: Category,
    /// Relative to the root.
    relative: Utf8PathBuf,
    depth: usize,
}

/// The entries of one directory, read and sorted, for the tree to take in.
struct Listing {
    /// Their names, one after the other; each entry's `name` is a range of it.
    names: String,
    entries: Vec<Listed>,
}

struct Listed {
    /// Its `item` is set from `owner` when the tree takes it in.
    entry: Entry,
    owner: Owner,
    /// For a directory: where it lies and its path relative to the root.
    dir: Option<(Place, Utf8PathBuf)>,
}

impl Tree {
    /// Lists, measures and sorts the tree, one depth after the other: the directories of a
    /// depth are read on every core, then the tree takes their entries in, directory after
    /// directory in the order they were handed out, so the result does not depend on timing
    /// (every directory still comes before its contents). Each entry is measured through its
    /// directory's handle (`DirEntry::metadata`, an `fstatat` on Linux), as `du` does:
    /// measuring by full path, as walkdir does, makes the kernel resolve every path again
    /// (about a third more system time on 200,000 files). Links are never followed, and a
    /// mount point inside (by `mounts` or its device) is an error.
    pub(crate) fn scan(
        root: &Utf8Path,
        profiles: Vec<Utf8PathBuf>,
        mounts: &MountPoints,
        progress: &Progress,
    ) -> anyhow::Result<Tree> {
        let root_metadata = root.symlink_metadata().with_context(|| format!("could not read {root}"))?;
        let mounts = Mounts {
            device: FileId::of(&root_metadata).device,
            inside: mounts
                .inside(root)
                .filter_map(|point| point.strip_prefix(root).ok())
                .map(Utf8Path::to_owned)
                .collect(),
        };
        let mut tree = Tree {
            root: root.to_owned(),
            layout: Layout { profiles },
            entries: Vec::new(),
            names: String::new(),
            linked: Vec::new(),
            items: vec![Item { key: ItemKey::Container, first: ROOT, newest: None }],
            total: Bytes::default(),
        };
        let mut seen_links = FastSet::default();
        let modified = root_metadata.modified().with_context(|| format!("could not read the time of {root}"))?;
        let Measured { id, apparent, disk, .. } = measure(root.as_std_path(), &root_metadata);
        let (kind, item, category) = (Kind::Dir, CONTAINERS, Category::Other);
        let entry = Entry { parent: ROOT, name: 0..0, kind, id, apparent, disk, links: None, modified, item, category };
        tree.push(entry, &mut seen_links);
        progress.scanned(apparent);

        let mut units: FastMap<(usize, u64), usize> = FastMap::default();
        let mut level = vec![DirToRead {
            index: ROOT,
            place: Place::AboveProfiles,
            category: Category::Other,
            relative: Utf8PathBuf::new(),
            depth: 0,
        }];
        while !level.is_empty() {
            // Biggest first (a directory's size grows with its entries), so that a big directory
            // read last does not leave the other cores idle.
            level.sort_by_key(|dir| std::cmp::Reverse(tree.entries[dir.index].apparent));
            let listings = in_parallel(&level, 1, |dir| read_listing(root, &mounts, &tree.layout, dir, progress))?;
            let mut next = Vec::new();
            for (dir, listing) in level.iter().zip(listings) {
                if let Place::Profile(_) | Place::UnitDir(_) = dir.place {
                    // Room for a unit per entry up front: growing rehashes every unit so far.
                    units.reserve(listing.entries.len());
                }
                let names_start = tree.names.len();
                tree.names.push_str(&listing.names);
                for Listed { mut entry, owner, dir: subdir } in listing.entries {
                    let index = tree.entries.len();
                    entry.name = names_start + entry.name.start..names_start + entry.name.end;
                    entry.item = match owner {
                        Owner::Directory => tree.entries[dir.index].item,
                        Owner::Item(ItemKey::Container) => CONTAINERS,
                        Owner::Item(ItemKey::Unit { profile, hash }) => *units
                            .entry((profile, hash))
                            .or_insert_with(|| tree.new_item(ItemKey::Unit { profile, hash }, index)),
                        Owner::Item(key) => tree.new_item(key, index),
                    };
                    if let Some((place, relative)) = subdir {
                        let (category, depth) = (entry.category, dir.depth + 1);
                        next.push(DirToRead { index, place, category, relative, depth });
                    }
                    tree.push(entry, &mut seen_links);
                }
            }
            level = next;
        }

        tree.join_links_to_units();
        for entry in &tree.entries {
            let newest = &mut tree.items[entry.item].newest;
            if entry.kind != Kind::Dir && *newest < Some(entry.modified) {
                *newest = Some(entry.modified);
            }
        }
        Ok(tree)
    }

    pub(crate) fn root_id(&self) -> FileId {
        self.entries[ROOT].id
    }

    fn new_item(&mut self, key: ItemKey, first: usize) -> usize {
        self.items.push(Item { key, first, newest: None });
        self.items.len() - 1
    }

    /// Records an entry and counts it in the total, each hard-linked file once.
    fn push(&mut self, entry: Entry, seen_links: &mut FastSet<FileId>) {
        self.total.add(&entry, entry.links.is_none() || seen_links.insert(entry.id));
        if entry.links.is_some() {
            self.linked.push(self.entries.len());
        }
        self.entries.push(entry);
    }

    fn name(&self, index: usize) -> &str {
        &self.names[self.entries[index].name.clone()]
    }

    /// The path of an entry relative to the root, from the names up its directories.
    fn relative(&self, index: usize) -> Utf8PathBuf {
        let mut names = Vec::new();
        let mut at = index;
        while at != ROOT {
            names.push(self.name(at));
            at = self.entries[at].parent;
        }
        names.iter().rev().collect()
    }

    fn path(&self, index: usize) -> Utf8PathBuf {
        self.root.join(self.relative(index))
    }

    /// Cargo hard-links each final artifact from `deps/` into the profile directory: such a
    /// file belongs to the unit whose file it is (found by inode, so on Unix only).
    fn join_links_to_units(&mut self) {
        let unit_of: FastMap<FileId, usize> = self
            .linked
            .iter()
            .map(|&index| &self.entries[index])
            .map(|entry| (entry.id, entry.item))
            .filter(|(_, item)| self.items[*item].key.is_unit())
            .collect();
        for &index in &self.linked {
            let entry = &mut self.entries[index];
            if self.items[entry.item].key == ItemKey::Loose
                && let Some(&unit) = unit_of.get(&entry.id)
            {
                entry.item = unit;
            }
        }
    }
}

/// Where the tree's root is, and the mount points inside it (relative to the root).
struct Mounts {
    device: u64,
    inside: Vec<Utf8PathBuf>,
}

impl Mounts {
    fn is_mount(&self, metadata: &fs::Metadata, relative: &Utf8Path, name: &str) -> bool {
        FileId::of(metadata).device != self.device
            || (!self.inside.is_empty() && self.inside.iter().any(|point| *point == relative.join(name)))
    }
}

/// Reads, measures and sorts the entries of `dir`. A mount point is an error.
fn read_listing(
    root: &Utf8Path,
    mounts: &Mounts,
    layout: &Layout,
    dir: &DirToRead,
    progress: &Progress,
) -> anyhow::Result<Listing> {
    let unreadable = || format!("could not read all of {root}; nothing was deleted");
    let mut listing = Listing { names: String::new(), entries: Vec::new() };
    for entry in root.join(&dir.relative).read_dir().with_context(unreadable)? {
        let entry = entry.with_context(unreadable)?;
        let name = entry.file_name().into_string().map_err(|name| {
            let path = root.join(&dir.relative).into_std_path_buf().join(name);
            anyhow::anyhow!(
                "{} is not a valid UTF-8 path; rename or remove it yourself, then run again. Nothing was deleted.",
                path.display()
            )
        })?;
        let shown = || root.join(&dir.relative).join(&name);
        let metadata = entry.metadata().with_context(|| format!("could not read {}", shown()))?;
        let kind = match metadata.file_type() {
            t if t.is_symlink() => Kind::Link,
            t if t.is_dir() => {
                if mounts.is_mount(&metadata, &dir.relative, &name) {
                    bail!("{} is a mount point inside {root}; unmount it first. Nothing was deleted.", shown());
                }
                Kind::Dir
            }
            _ => Kind::File,
        };
        let modified = metadata.modified().with_context(|| format!("could not read the time of {}", shown()))?;
        let Measured { id, apparent, disk, links } = measure(&entry.path(), &metadata);
        let links = links.filter(|_| kind == Kind::File);
        let (owner, category, place) = layout.classify(dir.place, dir.category, &dir.relative, &name, dir.depth + 1);
        let subdir = (kind == Kind::Dir).then(|| (place, dir.relative.join(&name)));
        let start = listing.names.len();
        listing.names.push_str(&name);
        let name = start..listing.names.len();
        let (parent, item) = (dir.index, CONTAINERS);
        let entry = Entry { parent, name, kind, id, apparent, disk, links, modified, item, category };
        listing.entries.push(Listed { entry, owner, dir: subdir });
        progress.scanned(apparent);
    }
    Ok(listing)
}

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

    /// Whether the path-based flags (`--only`, `--profile`) take `relative`. It reads no more
    /// than `Layout::path_depth_read` components of it.
    fn takes_path(&self, layout: &Layout, relative: &str) -> bool {
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
    /// How many leading components of a path `Filters::takes_path` reads: the profile's and
    /// the one after it, or the first `DOC_DEPTH`.
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
    selected: Vec<bool>,
    /// The limit `--max-size` could not reach by removing build units alone.
    pub(crate) over_limit: Option<u64>,
}

impl Tree {
    /// What `filters` take. With `cargos_layout_only` (a directory that has no cargo tag, cleaned
    /// with `--force`) what lies at the top outside cargo's layout stays (`Tree::foreign`).
    pub(crate) fn select(&self, filters: &Filters, cargos_layout_only: bool) -> Selection {
        let chosen = self.chosen_items(filters, cargos_layout_only);
        let mut selection = Selection { selected: self.selected_entries(&chosen, filters), over_limit: None };
        if let Some(limit) = filters.max_size {
            let mut links = FastMap::default();
            self.count_removed_links(&selection, &mut links);
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

    /// Per entry, whether it goes: its item is `chosen` and the path filters take it, it is not
    /// the tag or the running program, and for a directory, everything in it goes.
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

    /// The items at the top that are neither a profile directory, nor above one, nor something
    /// cargo or the tools it runs put there.
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

    /// Per entry, whether `--only` and `--profile` take its path. Entries deeper than what
    /// `takes_path` reads share their directory's answer, and get no path of their own.
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
        for entry in &self.entries {
            if entry.links.is_none() || seen.insert(entry.id) {
                disk[entry.item] += entry.disk;
            }
        }
        disk
    }

    /// Links to each hard-linked file that the selection removes, to add up across trees.
    pub(crate) fn count_removed_links(&self, selection: &Selection, counts: &mut FastMap<FileId, u64>) {
        for &index in &self.linked {
            if selection.selected[index] {
                *counts.entry(self.entries[index].id).or_default() += 1;
            }
        }
    }

    /// What removing the selection frees: in total, per category, and its `largest` items. A
    /// hard-linked file counts once, and only when all its links go (`removed_links` from
    /// `count_removed_links` over every tree of this run).
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
        let selected = &selection.selected[..];
        for (index, entry) in self.entries.iter().enumerate() {
            if !selected[index] {
                continue;
            }
            let frees =
                entry.links.is_none_or(|links| removed_links.get(&entry.id) >= Some(&links) && seen.insert(entry.id));
            total.add(entry, frees);
            by_category[entry.category.slot()].get_or_insert_default().add(entry, frees);
            by_item[entry.item].add(entry, frees);
        }
        let mut categories: Vec<(Category, Bytes)> =
            categories.into_iter().zip(by_category).filter_map(|(category, bytes)| Some((category, bytes?))).collect();
        categories.sort_by_key(|(category, bytes)| (std::cmp::Reverse(bytes.disk), *category));
        // The `largest` by disk, the first found among equals: kept in order as they come, which
        // is cheaper than sorting tens of thousands of items for the few shown.
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
        Removal {
            total,
            categories: categories.into_iter().map(|(c, bytes)| (self.layout.category_name(c), bytes)).collect(),
            largest: items
                .into_iter()
                .map(|(item, bytes)| {
                    let item = &self.items[item];
                    (label(&self.layout, item.key, &self.relative(item.first)), bytes)
                })
                .collect(),
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

/// `work` on each item, on as many threads as there are cores but with at least `per_thread`
/// items each (with fewer, on this thread alone); results in order. Each thread takes the next
/// item when it is done with one, so a few big items do not leave the others idle. The first
/// error stops every thread; the one returned is the first in item order, as on one thread.
fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    per_thread: usize,
    work: impl Fn(&T) -> anyhow::Result<R> + Sync,
) -> anyhow::Result<Vec<R>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len() / per_thread);
    if threads <= 1 {
        return items.iter().map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let run = || {
        let mut done = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            let at = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(at) else { break };
            let result = work(item);
            if result.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            done.push((at, result));
        }
        done
    };
    let mut results: Vec<Option<anyhow::Result<R>>> = items.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(run)).collect();
        let own = run();
        for (at, result) in helpers.into_iter().flat_map(|helper| helper.join().expect("a worker thread panicked")) {
            results[at] = Some(result);
        }
        for (at, result) in own {
            results[at] = Some(result);
        }
    });
    // Items are taken in order, so every item before the first error has run.
    results.into_iter().map(|result| result.expect("an item before the first error did not run")).collect()
}

/// Whether `path` is the running program `exe` or, in a `deps/` directory beside it, the file
/// cargo hard-linked it from: Windows cannot delete a program while it runs.
pub(crate) fn is_running_program(exe: &Utf8Path, path: &Utf8Path) -> bool {
    if path == exe {
        return true;
    }
    let (Some(stem), Some(ext), Some(name)) = (exe.file_stem(), exe.extension(), path.file_name()) else {
        return false;
    };
    path.parent() == exe.parent().map(|dir| dir.join("deps")).as_deref()
        && name
            .strip_prefix(stem)
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|rest| rest.strip_suffix(ext))
            .and_then(|rest| rest.strip_suffix('.'))
            .is_some_and(|hash| hash.len() == 16 && parse_hash(hash.as_bytes()).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            profiles: ["debug", "release", "llvm-cov-target/debug", "x86_64-pc-windows-msvc/debug"]
                .map(Utf8PathBuf::from)
                .to_vec(),
        }
    }

    fn unit(profile: &str, hash: &str) -> ItemKey {
        let profile = layout().profiles.iter().position(|known| known == profile).expect("a profile of the layout");
        ItemKey::Unit { profile, hash: u64::from_str_radix(hash, 16).unwrap() }
    }

    /// What the walk makes of `path`, one component after the other: its item's key, the path
    /// at which that was decided, and its category.
    fn classify_path(layout: &Layout, path: &str) -> (ItemKey, Utf8PathBuf, Category) {
        let (mut key, mut decided_at) = (ItemKey::Container, Utf8PathBuf::new());
        let (mut category, mut place) = (Category::Other, Place::AboveProfiles);
        let mut relative = Utf8PathBuf::new();
        for (at, name) in path.split('/').filter(|name| !name.is_empty()).enumerate() {
            let (owner, entry_category, entry_place) = layout.classify(place, category, &relative, name, at + 1);
            (category, place) = (entry_category, entry_place);
            relative.push(name);
            if let Owner::Item(owner) = owner {
                (key, decided_at) = (owner, relative.clone());
            }
        }
        (key, decided_at, category)
    }

    #[test]
    fn reads_the_hash_cargo_puts_in_unit_names() {
        assert_eq!(unit_hash("libalpha-9ec3fb85effc4f3f.rlib"), Some(0x9ec3fb85effc4f3f));
        assert_eq!(unit_hash("my-tool-18d8a149f01c59b2"), Some(0x18d8a149f01c59b2));
        assert_eq!(unit_hash("build_script_build-e89f9ae6b053e47d.d"), Some(0xe89f9ae6b053e47d));
        assert_eq!(unit_hash("alpha-082ob5z0pi82r"), None);
        assert_eq!(unit_hash("libalpha.rlib"), None);
        assert_eq!(unit_hash("x-9ec3fb85effc4f3f0"), None, "17 digits are no hash");
        assert_eq!(unit_hash("x-9EC3FB85EFFC4F3F"), None);
        assert_eq!(unit_hash("alpha-9ec3fb85effc4f3f.long-type-1234567.txt"), Some(0x9ec3fb85effc4f3f));
        assert_eq!(unit_hash("-9ec3fb85effc4f3f"), Some(0x9ec3fb85effc4f3f));
        assert_eq!(unit_hash(""), None);
    }

    #[test]
    fn sorts_cargos_layout_into_units_and_categories() {
        let layout = layout();
        let h = "9ec3fb85effc4f3f";
        let (container, loose, incremental) = (ItemKey::Container, ItemKey::Loose, ItemKey::Incremental);
        let cases: &[(&str, ItemKey, &str, Category)] = &[
            ("", container, "", Category::Other),
            ("debug", container, "debug", Category::Profile(0)),
            ("debug/deps", container, "debug/deps", Category::Profile(0)),
            (
                "debug/deps/libalpha-9ec3fb85effc4f3f.rlib",
                unit("debug", h),
                "debug/deps/libalpha-9ec3fb85effc4f3f.rlib",
                Category::Profile(0),
            ),
            (
                "debug/.fingerprint/alpha-9ec3fb85effc4f3f/lib-alpha.json",
                unit("debug", h),
                "debug/.fingerprint/alpha-9ec3fb85effc4f3f",
                Category::Profile(0),
            ),
            (
                "debug/build/alpha-9ec3fb85effc4f3f/out/gen.rs",
                unit("debug", h),
                "debug/build/alpha-9ec3fb85effc4f3f",
                Category::Profile(0),
            ),
            ("debug/deps/stray/x", loose, "debug/deps/stray", Category::Profile(0)),
            ("release/libalpha.rlib", loose, "release/libalpha.rlib", Category::Profile(1)),
            ("debug/.cargo-lock", loose, "debug/.cargo-lock", Category::Profile(0)),
            ("debug/doc/alpha", loose, "debug/doc", Category::Profile(0)),
            ("debug/incremental", container, "debug/incremental", Category::Incremental),
            (
                "debug/incremental/alpha-082ob5z0pi82r/s-x/dep-graph.bin",
                incremental,
                "debug/incremental/alpha-082ob5z0pi82r",
                Category::Incremental,
            ),
            ("llvm-cov-target", container, "llvm-cov-target", Category::Coverage),
            (
                "llvm-cov-target/debug/deps/libalpha-9ec3fb85effc4f3f.rlib",
                unit("llvm-cov-target/debug", h),
                "llvm-cov-target/debug/deps/libalpha-9ec3fb85effc4f3f.rlib",
                Category::Coverage,
            ),
            (
                "llvm-cov-target/debug/incremental/a-1/x",
                incremental,
                "llvm-cov-target/debug/incremental/a-1",
                Category::Coverage,
            ),
            ("llvm-cov-target/ws-1-2.profraw", loose, "llvm-cov-target/ws-1-2.profraw", Category::Coverage),
            ("llvm-cov/html/index.html", loose, "llvm-cov", Category::Coverage),
            ("doc/alpha/index.html", loose, "doc", Category::Doc),
            ("x86_64-pc-windows-msvc", container, "x86_64-pc-windows-msvc", Category::Other),
            ("x86_64-pc-windows-msvc/doc/alpha", loose, "x86_64-pc-windows-msvc/doc", Category::Doc),
            ("CACHEDIR.TAG", loose, "CACHEDIR.TAG", Category::Other),
            ("package/alpha-0.1.0.crate", loose, "package", Category::Other),
            ("package/doc/x", loose, "package", Category::Doc),
            ("package/a/doc/x", loose, "package", Category::Doc),
            ("package/a/b/doc/x", loose, "package", Category::Other),
        ];
        for (path, key, decided_at, category) in cases {
            // As paths: the tree joins with the OS's separator.
            assert_eq!(classify_path(&layout, path), (*key, Utf8PathBuf::from(decided_at), *category), "{path}");
        }
    }

    #[test]
    fn path_flags_pick_categories_and_profiles() {
        let layout = layout();
        let filters = |only: &[Only], profile: Option<&str>| Filters {
            only: only.to_vec(),
            profile: profile.map(str::to_owned),
            older_than: None,
            max_size: None,
            now: SystemTime::now(),
            running_program: None,
        };
        let coverage = filters(&[Only::Coverage], None);
        assert!(coverage.takes_path(&layout, "llvm-cov-target/debug/deps/x"));
        assert!(coverage.takes_path(&layout, "llvm-cov/html"));
        assert!(!coverage.takes_path(&layout, "debug/deps/x"));
        let incremental_release = filters(&[Only::Incremental], Some("release"));
        assert!(incremental_release.takes_path(&layout, "release/incremental/a-1/x"));
        assert!(!incremental_release.takes_path(&layout, "debug/incremental/a-1/x"));
        assert!(!incremental_release.takes_path(&layout, "release/deps/x"));
        let doc_or_coverage = filters(&[Only::Doc, Only::Coverage], None);
        assert!(doc_or_coverage.takes_path(&layout, "doc/alpha"));
        assert!(doc_or_coverage.takes_path(&layout, "llvm-cov"));
        assert!(!doc_or_coverage.takes_path(&layout, "debug/deps/doc"));
        let debug = filters(&[], Some("debug"));
        assert!(debug.takes_path(&layout, "x86_64-pc-windows-msvc/debug/deps/x"));
        assert!(!debug.takes_path(&layout, "x86_64-pc-windows-msvc"));
    }

    #[test]
    fn work_on_every_core_keeps_the_order_and_reports_the_first_error() {
        let items: Vec<usize> = (0..5000).collect();
        let doubled = in_parallel(&items, 1, |&n| Ok(n * 2)).unwrap();
        assert_eq!(doubled, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        let failed = in_parallel(&items, 1, |&n| match n {
            1234 | 4000 => anyhow::bail!("item {n} failed"),
            n => Ok(n),
        });
        assert_eq!(failed.unwrap_err().to_string(), "item 1234 failed");
        assert!(in_parallel(&items[..0], 1, |&n| Ok(n)).unwrap().is_empty());
    }

    #[test]
    fn the_running_program_and_its_deps_twin_are_recognised() {
        let exe = Utf8Path::new("C:/t/debug/xtask.exe");
        assert!(is_running_program(exe, exe));
        assert!(is_running_program(exe, Utf8Path::new("C:/t/debug/deps/xtask-9ec3fb85effc4f3f.exe")));
        assert!(!is_running_program(exe, Utf8Path::new("C:/t/debug/deps/xtask-9ec3fb85effc4f3f.pdb")));
        assert!(!is_running_program(exe, Utf8Path::new("C:/t/release/deps/xtask-9ec3fb85effc4f3f.exe")));
        assert!(!is_running_program(exe, Utf8Path::new("C:/t/debug/deps/xtask-helper-9ec3fb85effc4f3f.exe")));
    }
}
