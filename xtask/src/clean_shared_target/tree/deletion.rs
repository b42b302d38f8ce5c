//! The deletion of a selection, on every core, through checked directory handles (`safe_fs`).

use std::{
    ops::Range,
    sync::{
        Arc, Condvar, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use camino::Utf8PathBuf;

use super::{Kind, ROOT, Selection, Tree};
use crate::{
    clean_shared_target::{
        Progress,
        safety::{CARGO_LOCK, Locks},
    },
    safe_fs::DirHandle,
};

impl Tree {
    /// Deletes the selection, exactly the entries the scan found (`Deletion`). A directory that
    /// changed is left whole; an entry that cannot be removed is recorded, and the rest goes on.
    /// In each directory the lock file we hold goes last, so builds keep out until the end, and
    /// only if all else went. A file that appeared since the scan keeps its directory.
    pub(crate) fn delete(&self, selection: &Selection, locks: &mut Locks, progress: &Progress) -> Deleted {
        let count = self.entries.len();
        // Each directory's entries were taken in together, so they are one run of indices (the
        // root is entry 0, so an empty run is 0..0).
        let mut children = vec![0..0; count];
        for (index, entry) in self.entries.iter().enumerate().skip(1) {
            let run = &mut children[entry.parent];
            *run = if run.end == 0 { index..index + 1 } else { run.start..index + 1 };
        }
        // Whether anything in an entry (or the entry itself) is selected: where to go.
        let mut visit = selection.selected.clone();
        for index in (1..count).rev() {
            visit[self.entries[index].parent] |= visit[index];
        }
        let deletion = Deletion {
            tree: self,
            selection,
            children,
            visit,
            locks: Mutex::new(locks),
            progress,
            removed: (0..count).map(|_| AtomicBool::new(false)).collect(),
            failures: Mutex::new((0, Vec::new())),
            queue: Mutex::new(Queue { jobs: vec![Job { parent: None, index: ROOT }], busy: 0 }),
            ready: Condvar::new(),
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        std::thread::scope(|scope| {
            for _ in 1..threads {
                scope.spawn(|| deletion.work());
            }
            deletion.work();
        });
        let selected = deletion.removed.iter().map(|removed| removed.load(Ordering::Relaxed)).collect();
        let (errors, failures) = deletion.failures.into_inner().unwrap_or_else(PoisonError::into_inner);
        Deleted { removed: Selection { selected, over_limit: None }, errors, failures }
    }
}

/// What a deletion did.
pub(crate) struct Deleted {
    /// The entries that are gone.
    pub(crate) removed: Selection,
    /// How many removals failed (a directory that changed counts once, for all in it).
    pub(crate) errors: u64,
    /// The first few of them: the path and why.
    pub(crate) failures: Vec<(Utf8PathBuf, String)>,
}

/// How many failed paths are shown.
const FAILURES_SHOWN: usize = 10;

/// Each directory is a job: opened from its parent's handle, its files removed, its subdirectories
/// queued as jobs of their own; it is finished (its lock file removed, then itself) when its last
/// job is, so its handle stays open only while work below it is left.
struct Deletion<'a> {
    tree: &'a Tree,
    selection: &'a Selection,
    /// Per directory, the indices of its entries.
    children: Vec<Range<usize>>,
    visit: Vec<bool>,
    locks: Mutex<&'a mut Locks>,
    progress: &'a Progress,
    removed: Vec<AtomicBool>,
    /// How many removals failed, and the first few.
    failures: Mutex<(u64, Vec<(Utf8PathBuf, String)>)>,
    queue: Mutex<Queue>,
    ready: Condvar,
}

struct Queue {
    jobs: Vec<Job>,
    /// Jobs taken and not yet done: while there are any, more may come.
    busy: usize,
}

/// A job being run: done when dropped, even by a panic, so that the other workers do not wait for
/// it forever and the threads' scope passes the panic on.
struct Taken<'a>(&'a Mutex<Queue>, &'a Condvar);

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        let mut queue = locked(self.0);
        queue.busy -= 1;
        // The last job is done: the threads still waiting end too.
        if queue.busy == 0 {
            self.1.notify_all();
        }
    }
}

/// A directory to empty: its entry, and the open directory it is in (none for the root).
struct Job {
    parent: Option<Arc<Open>>,
    index: usize,
}

struct Open {
    handle: DirHandle,
    index: usize,
    parent: Option<Arc<Open>>,
    /// Its own job and its subdirectories' that are not finished yet.
    pending: AtomicUsize,
    /// Whether everything selected inside it went so far.
    complete: AtomicBool,
}

impl Deletion<'_> {
    /// Takes jobs until there are none and none is running (which could queue more).
    fn work(&self) {
        loop {
            let waiting = |queue: &mut Queue| queue.jobs.is_empty() && queue.busy > 0;
            let queue = self.ready.wait_while(locked(&self.queue), waiting);
            let mut queue = queue.unwrap_or_else(PoisonError::into_inner);
            let Some(job) = queue.jobs.pop() else { return };
            queue.busy += 1;
            drop(queue);
            let _taken = Taken(&self.queue, &self.ready);
            self.run(job);
        }
    }

    /// Opens the job's directory, checked to be the one scanned, removes its files and queues its
    /// subdirectories.
    fn run(&self, Job { parent, index }: Job) {
        let (tree, entry) = (self.tree, &self.tree.entries[index]);
        let handle = match &parent {
            None => DirHandle::open(&tree.root, entry.id),
            Some(parent) => parent.handle.open_child(tree.name(index), entry.id),
        };
        let handle = match handle {
            Ok(handle) => handle,
            Err(err) => {
                self.fail(index, &err);
                if let Some(parent) = parent {
                    parent.complete.store(false, Ordering::Relaxed);
                    self.finish(parent);
                }
                return;
            }
        };
        let open =
            Arc::new(Open { handle, index, parent, pending: AtomicUsize::new(1), complete: AtomicBool::new(true) });
        let mut subdirs = Vec::new();
        for child in self.children[index].clone().filter(|&child| self.visit[child]) {
            let name = tree.name(child);
            match tree.entries[child].kind {
                Kind::Dir => subdirs.push(child),
                // Last, in `finish`.
                Kind::File if name == CARGO_LOCK => {}
                Kind::File | Kind::Link => {
                    if !self.remove(child, open.handle.remove_file(name)) {
                        open.complete.store(false, Ordering::Relaxed);
                    }
                    self.progress.removed();
                }
            }
        }
        if !subdirs.is_empty() {
            open.pending.fetch_add(subdirs.len(), Ordering::AcqRel);
            let mut queue = locked(&self.queue);
            queue.jobs.extend(subdirs.into_iter().map(|index| Job { parent: Some(open.clone()), index }));
            self.ready.notify_all();
        }
        self.finish(open);
    }

    /// One job less for `open`; after its last one, removes its lock file (only if all else
    /// went: it keeps the directory recognisable as cargo's, so that a second clean can finish
    /// the job), then the directory itself if it is selected, and tells its parent.
    fn finish(&self, open: Arc<Open>) {
        if open.pending.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let tree = self.tree;
        let mut complete = open.complete.load(Ordering::Acquire);
        let lock_file = self.children[open.index].clone().find(|&child| {
            self.visit[child] && tree.entries[child].kind == Kind::File && tree.name(child) == CARGO_LOCK
        });
        if let Some(child) = lock_file
            && complete
        {
            locked(&self.locks).release(tree.path(child).as_std_path());
            complete = self.remove(child, open.handle.remove_file(CARGO_LOCK));
        }
        let Some(parent) = open.parent.clone() else { return };
        if complete && self.selection.selected[open.index] {
            complete = self.remove(open.index, parent.handle.remove_dir(tree.name(open.index)));
        }
        if !complete {
            parent.complete.store(false, Ordering::Release);
        }
        drop(open);
        self.finish(parent);
    }

    fn remove(&self, index: usize, removed: std::io::Result<()>) -> bool {
        match &removed {
            Ok(()) => self.removed[index].store(true, Ordering::Relaxed),
            Err(err) => self.fail(index, err),
        }
        removed.is_ok()
    }

    fn fail(&self, index: usize, err: &std::io::Error) {
        let (errors, failures) = &mut *locked(&self.failures);
        *errors += 1;
        if failures.len() < FAILURES_SHOWN {
            failures.push((self.tree.path(index), err.to_string()));
        }
    }
}

/// Poisoning is passed over: a worker's panic reaches the caller when the threads' scope ends.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
