//! The contents of one directory: a single walk that measures every entry and sorts it into
//! cargo's categories and build units (`layout`). What the flags take from it is `selection`,
//! removing it `deletion`. Links are never followed, and every error of the walk stops the task
//! (nothing is skipped silently) before anything is deleted.
//!
//! The walk meets hundreds of thousands of entries in the unoptimised build `cargo xtask` runs,
//! so it reads directories on every core, and an entry keeps numbers and its name in a shared
//! buffer, getting a path only when it is shown or deleted.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};

pub(crate) use crate::hash::{FastMap, FastSet};

use super::Progress;
mod deletion;
mod layout;
mod selection;

pub(crate) use self::deletion::Deleted;
use crate::safe_fs::{FileId, Measured, MountPoints, measure};

pub(crate) use layout::Bytes;
use layout::{CONTAINERS, Category, Entry, Item, ItemKey, Kind, Layout, Owner, Place, ROOT, parse_hash};
pub(crate) use selection::{Filters, Removal, Selection, removed_links};

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
    /// Lists, measures and sorts the tree, one depth after the other: a depth's directories are
    /// read on every core, then taken in in the order they were handed out, so the result does
    /// not depend on timing. Entries are measured through their directory's handle
    /// (`DirEntry::metadata`, an `fstatat`), as `du` does: by full path, the kernel resolves
    /// every path again (a third more system time on 200,000 files). A mount point inside (by
    /// `mounts` or its device) is an error.
    pub(crate) fn scan(
        root: &Utf8Path,
        profiles: Vec<Utf8PathBuf>,
        mounts: &MountPoints,
        progress: &Progress,
    ) -> anyhow::Result<Tree> {
        let root_metadata = root.symlink_metadata().with_context(|| format!("could not read {root}"))?;
        let mounts_inside = mounts.inside(root).map(Utf8Path::to_owned).collect();
        let walk = Walk { root, device: FileId::of(&root_metadata).device, mounts_inside };
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
        let (kind, item, category, place) = (Kind::Dir, CONTAINERS, Category::Other, Place::AboveProfiles);
        let entry = Entry { parent: ROOT, name: 0..0, kind, id, apparent, disk, links: None, modified, item, category };
        tree.push(entry, &mut seen_links);
        progress.scanned(apparent);

        let mut units: FastMap<(usize, u64), usize> = FastMap::default();
        let mut level = vec![DirToRead { index: ROOT, place, category, relative: Utf8PathBuf::new(), depth: 0 }];
        while !level.is_empty() {
            // Biggest first (a directory's size grows with its entries), so that a big directory
            // read last does not leave the other cores idle.
            level.sort_by_key(|dir| std::cmp::Reverse(tree.entries[dir.index].apparent));
            let listings = in_parallel(&level, |dir| read_listing(&walk, &tree.layout, dir, progress))?;
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
        for entry in tree.entries.iter().filter(|entry| entry.kind != Kind::Dir) {
            let newest = &mut tree.items[entry.item].newest;
            *newest = (*newest).max(Some(entry.modified));
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
            .map(|&index| (self.entries[index].id, self.entries[index].item))
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

/// The tree's root, its device and the mount points inside it.
struct Walk<'a> {
    root: &'a Utf8Path,
    device: u64,
    mounts_inside: Vec<Utf8PathBuf>,
}

/// Reads, measures and sorts the entries of `dir`. A mount point is an error.
fn read_listing(walk: &Walk<'_>, layout: &Layout, dir: &DirToRead, progress: &Progress) -> anyhow::Result<Listing> {
    let root = walk.root;
    let unreadable = || format!("could not read all of {root}; nothing was deleted");
    let mut listing = Listing { names: String::new(), entries: Vec::new() };
    for entry in root.join(&dir.relative).read_dir().with_context(unreadable)? {
        let entry = entry.with_context(unreadable)?;
        let name = entry.file_name().into_string().map_err(|_| {
            anyhow::anyhow!(
                "{} is not a valid UTF-8 path; rename or remove it yourself, then run again. Nothing was deleted.",
                entry.path().display()
            )
        })?;
        let shown = || root.join(&dir.relative).join(&name);
        let metadata = entry.metadata().with_context(|| format!("could not read {}", shown()))?;
        let kind = match metadata.file_type() {
            t if t.is_symlink() => Kind::Link,
            t if t.is_dir() => {
                let inside = || walk.mounts_inside.iter().any(|point| point.as_std_path() == entry.path());
                if FileId::of(&metadata).device != walk.device || inside() {
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

/// `work` on each item, on a thread per core (and item), results in order. Each thread takes the
/// next item when done with one, so big items leave no thread idle. The first error stops every
/// thread; the one returned is the first in item order, as on one thread.
fn in_parallel<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> anyhow::Result<R> + Sync) -> anyhow::Result<Vec<R>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len());
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
    let mut done: Vec<(usize, anyhow::Result<R>)> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(run)).collect();
        let own = run();
        helpers.into_iter().flat_map(|helper| helper.join().expect("a worker thread panicked")).chain(own).collect()
    });
    // Items are taken in order, so every item before the first error has run.
    done.sort_unstable_by_key(|(at, _)| *at);
    done.into_iter().map(|(_, result)| result).collect()
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
    use std::time::SystemTime;

    use super::*;
    use crate::flags::Only;
    use layout::unit_hash;

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
        let doubled = in_parallel(&items, |&n| Ok(n * 2)).unwrap();
        assert_eq!(doubled, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        let failed = in_parallel(&items, |&n| match n {
            1234 | 4000 => anyhow::bail!("item {n} failed"),
            n => Ok(n),
        });
        assert_eq!(failed.unwrap_err().to_string(), "item 1234 failed");
        assert!(in_parallel(&items[..0], |&n| Ok(n)).unwrap().is_empty());
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
