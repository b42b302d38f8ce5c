//! The checks a directory passes before anything in it is deleted. Each refusal names its check
//! and says what to do; all of them run before the first deletion.

use std::{fs::File, io::Read};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};

use crate::safe_fs::{self, MountPoints};

/// How cargo's `CACHEDIR.TAG` starts: every program's signature, then cargo's line. Cargo writes
/// it into `$CARGO_HOME/registry` too, so cargo's layout must be there as well (and `CARGO_HOME`
/// is refused whole). `.rustc_info.json` proves nothing: any cargo command, `cargo metadata`
/// too, writes it into whatever directory is named as the target directory.
const CARGO_TAG_START: &[u8] =
    b"Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by cargo.\n";
pub(crate) const CACHEDIR_TAG: &str = "CACHEDIR.TAG";
/// Cargo holds an exclusive lock on this file in each profile directory while it builds there.
pub(crate) const CARGO_LOCK: &str = ".cargo-lock";

/// Directories that are never cleaned, nor any directory that contains one of them; nor, for
/// cargo's and rustup's homes, anything inside them.
pub(crate) struct Protected {
    /// Each with what it is, for the message: ("the home directory", path).
    pub(crate) dirs: Vec<(String, Utf8PathBuf)>,
    /// Their caches carry cargo's tag (the registry) but are no build output.
    pub(crate) homes: Vec<(String, Utf8PathBuf)>,
    pub(crate) mounts: MountPoints,
    /// Real, as the others: a directory outside it is shared with other projects.
    pub(crate) workspace_root: Utf8PathBuf,
}

impl Protected {
    /// The home directory, `CARGO_HOME`, `RUSTUP_HOME`, the workspace root and its members.
    pub(crate) fn new(
        home: Option<Utf8PathBuf>,
        cargo_home: Option<Utf8PathBuf>,
        rustup_home: Option<Utf8PathBuf>,
        workspace_root: &Utf8Path,
        members: impl IntoIterator<Item = Utf8PathBuf>,
        mounts: MountPoints,
    ) -> Protected {
        let homes: Vec<(String, Utf8PathBuf)> = [("CARGO_HOME", cargo_home), ("RUSTUP_HOME", rustup_home)]
            .into_iter()
            .filter_map(|(what, dir)| Some((what.to_owned(), real(dir?))))
            .collect();
        let dirs = home
            .into_iter()
            .map(|home| ("the home directory".to_owned(), home))
            .chain(homes.iter().cloned())
            .chain([("the workspace root".to_owned(), workspace_root.to_owned())])
            .chain(members.into_iter().map(|dir| (format!("workspace member {dir}"), dir)))
            .map(|(what, dir)| (what, real(dir)))
            .collect();
        Protected { dirs, homes, mounts, workspace_root: real(workspace_root.to_owned()) }
    }
}

/// Compare real paths: a home behind a link must still be recognised.
fn real(dir: Utf8PathBuf) -> Utf8PathBuf {
    dir.canonicalize_utf8().unwrap_or(dir)
}

/// Why a directory is not cleaned.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    NotADirectory,
    FilesystemRoot,
    Protected(String),
    ContainsProtected(String),
    InsideHome(String),
    MountPoint,
    ProjectMarker(&'static str),
    NotMadeByCargo(&'static str),
    BuildRunning(Utf8PathBuf),
}

impl Refusal {
    /// Whether `--force` lets the clean go ahead anyway.
    pub(crate) fn force_overrides(&self) -> bool {
        matches!(self, Refusal::NotMadeByCargo(_) | Refusal::BuildRunning(_))
    }

    /// The check's name and what went wrong.
    pub(crate) fn explain(&self) -> String {
        match self {
            Refusal::NotADirectory => "it is not a directory (check: is a directory)".to_owned(),
            Refusal::FilesystemRoot => "it is a filesystem or drive root (check: protected directories)".to_owned(),
            Refusal::Protected(what) => format!("it is {what} (check: protected directories)"),
            Refusal::ContainsProtected(what) => format!("it contains {what} (check: protected directories)"),
            Refusal::InsideHome(what) => {
                format!("it is inside {what}, whose caches are cargo's or rustup's own (check: protected directories)")
            }
            Refusal::MountPoint => "a file system is mounted on it (check: mount points); name a directory \
                 inside that file system instead, or unmount it"
                .to_owned(),
            Refusal::ProjectMarker(name) => {
                format!("it has {name} at its top, so it is a project, not build output (check: project markers)")
            }
            Refusal::NotMadeByCargo(why) => format!(
                "{why}, so nothing shows that cargo made it (check: cargo's CACHEDIR.TAG and layout); pass \
                 --force to remove only what lies in cargo's layout there (profile directories such as debug/, \
                 doc/, package/, llvm-cov-target/), leaving everything else"
            ),
            Refusal::BuildRunning(lock) => format!(
                "a build is running there: {lock} is locked (check: no build running); wait for it to finish, \
                 or pass --force"
            ),
        }
    }
}

/// The checks that need no `--force` to fail: `real` must be a canonical path (links resolved).
pub(crate) fn never_clean(real: &Utf8Path, protected: &Protected) -> anyhow::Result<Option<Refusal>> {
    let metadata = real.symlink_metadata().with_context(|| format!("could not read {real}"))?;
    if !metadata.is_dir() {
        return Ok(Some(Refusal::NotADirectory));
    }
    if real.parent().is_none() {
        return Ok(Some(Refusal::FilesystemRoot));
    }
    if protected.mounts.is_mount_root(real) {
        return Ok(Some(Refusal::MountPoint));
    }
    if let Some((what, dir)) = protected.homes.iter().find(|(_, dir)| real.starts_with(dir) && real != dir) {
        return Ok(Some(Refusal::InsideHome(format!("{what} ({dir})"))));
    }
    for (what, dir) in &protected.dirs {
        if dir == real {
            return Ok(Some(Refusal::Protected(what.clone())));
        }
        if dir.starts_with(real) {
            return Ok(Some(Refusal::ContainsProtected(format!("{what} ({dir})"))));
        }
    }
    // `.git` is a file in worktrees and submodules, so any kind of entry counts.
    let marker = [".git", "Cargo.toml"].into_iter().find(|marker| real.join(marker).symlink_metadata().is_ok());
    Ok(marker.map(Refusal::ProjectMarker))
}

/// Why `dir` does not look like cargo made it, or `None`: a `CACHEDIR.TAG` (a regular file, not a
/// link) that starts as cargo's does, and a profile directory (`profiles`, from `profile_dirs`).
pub(crate) fn not_made_by_cargo(dir: &Utf8Path, profiles: &[Utf8PathBuf]) -> anyhow::Result<Option<&'static str>> {
    let tag = dir.join(CACHEDIR_TAG);
    let Some(file) = safe_fs::open_regular(&tag, false).ok().flatten() else {
        return Ok(Some("it has no CACHEDIR.TAG (a regular file)"));
    };
    let mut start = Vec::with_capacity(CARGO_TAG_START.len());
    file.take(CARGO_TAG_START.len() as u64).read_to_end(&mut start).with_context(|| format!("could not read {tag}"))?;
    if start != CARGO_TAG_START {
        return Ok(Some("its CACHEDIR.TAG is not the one cargo writes (another program's, or edited)"));
    }
    if profiles.is_empty() {
        return Ok(Some("it has no profile directory (such as debug/ with .fingerprint/ or .cargo-lock)"));
    }
    Ok(None)
}

/// The directories, relative to `dir`, holding `.cargo-lock` or `.fingerprint`, up to three levels
/// down (`debug`, `<triple>/debug`, `llvm-cov-target/<triple>/debug`). Links are not followed.
pub(crate) fn profile_dirs(dir: &Utf8Path) -> anyhow::Result<Vec<Utf8PathBuf>> {
    let mut found = Vec::new();
    let mut level = vec![Utf8PathBuf::new()];
    for _ in 0..3 {
        let mut next = Vec::new();
        for relative in level {
            let parent = dir.join(&relative);
            for entry in parent.read_dir_utf8().with_context(|| format!("could not list {parent}"))? {
                let entry = entry.with_context(|| format!("could not list {parent}"))?;
                if !entry.file_type().with_context(|| format!("could not read {}", entry.path()))?.is_dir() {
                    continue;
                }
                let child = relative.join(entry.file_name());
                let is_a = |name: &str, dir: bool| {
                    entry.path().join(name).symlink_metadata().is_ok_and(|m| if dir { m.is_dir() } else { m.is_file() })
                };
                let is_profile = is_a(CARGO_LOCK, false) || is_a(".fingerprint", true);
                if is_profile { &mut found } else { &mut next }.push(child);
            }
        }
        level = next;
    }
    found.sort_unstable();
    Ok(found)
}

/// Locks held on profile directories until the clean is over, so that a build started meanwhile
/// waits instead of writing into a directory being deleted.
#[derive(Default)]
pub(crate) struct Locks {
    held: Vec<(Utf8PathBuf, File)>,
}

impl Locks {
    /// Takes cargo's lock in each profile directory of `dir` without waiting. A lock that is busy
    /// is a refusal, or with `force` a warning (returned as the second element).
    pub(crate) fn take(
        dir: &Utf8Path,
        profiles: &[Utf8PathBuf],
        force: bool,
    ) -> anyhow::Result<(Locks, Vec<Utf8PathBuf>)> {
        let mut held = Vec::new();
        let mut busy = Vec::new();
        // A link, FIFO or device by that name is no lock cargo could hold.
        let locks = profiles.iter().map(|profile| dir.join(profile).join(CARGO_LOCK));
        for lock in locks.filter(|lock| lock.symlink_metadata().is_ok_and(|m| m.is_file())) {
            let Some(file) = safe_fs::open_regular(&lock, false)
                .with_context(|| format!("could not open {lock} to check for a running build"))?
            else {
                continue;
            };
            match file.try_lock() {
                Ok(()) => held.push((lock, file)),
                Err(std::fs::TryLockError::WouldBlock) if force => busy.push(lock),
                Err(std::fs::TryLockError::WouldBlock) => {
                    bail!("refusing to clean {dir}: {}. Nothing was deleted.", Refusal::BuildRunning(lock).explain())
                }
                Err(std::fs::TryLockError::Error(err)) => {
                    return Err(err).with_context(|| format!("could not lock {lock} to check for a running build"));
                }
            }
        }
        Ok((Locks { held }, busy))
    }

    /// Gives up the lock on `path`, just before that lock file is deleted (Windows cannot delete
    /// an open file).
    pub(crate) fn release(&mut self, path: &std::path::Path) {
        self.held.retain(|(lock, _)| lock.as_std_path() != path);
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> Utf8PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-safety-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Utf8PathBuf::try_from(dir).unwrap().canonicalize_utf8().unwrap()
    }

    #[test]
    fn protected_directories_and_their_ancestors_are_refused() {
        let dir = temp("protected");
        let home = dir.join("home");
        let ws = dir.join("home/ws");
        let target = dir.join("home/ws/target");
        for d in [&ws, &target] {
            std::fs::create_dir_all(d).unwrap();
        }
        let cargo_home = dir.join("home/.cargo");
        std::fs::create_dir_all(cargo_home.join("registry")).unwrap();
        let protected =
            Protected::new(Some(home.clone()), Some(cargo_home.clone()), None, &ws, [ws.join("app")], mounts());
        assert_eq!(never_clean(&home, &protected).unwrap(), Some(Refusal::Protected("the home directory".into())));
        assert_eq!(never_clean(&ws, &protected).unwrap(), Some(Refusal::Protected("the workspace root".into())));
        let Some(Refusal::ContainsProtected(what)) = never_clean(&dir, &protected).unwrap() else { panic!() };
        assert!(what.starts_with("the home directory"), "{what}");
        assert_eq!(never_clean(&target, &protected).unwrap(), None);
        let Some(Refusal::InsideHome(what)) = never_clean(&cargo_home.join("registry"), &protected).unwrap() else {
            panic!()
        };
        assert!(what.starts_with("CARGO_HOME"), "{what}");
        std::fs::write(target.join("Cargo.toml"), "").unwrap();
        assert_eq!(never_clean(&target, &protected).unwrap(), Some(Refusal::ProjectMarker("Cargo.toml")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_root_is_refused() {
        let root = Utf8PathBuf::try_from(std::env::temp_dir()).unwrap().ancestors().last().unwrap().to_owned();
        let protected = Protected::new(None, None, None, Utf8Path::new("/nonexistent/ws"), [], mounts());
        assert_eq!(never_clean(&root, &protected).unwrap(), Some(Refusal::FilesystemRoot));
    }

    fn mounts() -> MountPoints {
        MountPoints::read().unwrap()
    }

    #[test]
    fn only_cargos_own_tag_beside_a_profile_marks_a_target_directory() {
        let dir = temp("tag");
        let refused = |why: &str| {
            assert!(
                not_made_by_cargo(&dir, &profile_dirs(&dir).unwrap()).unwrap().is_some_and(|it| it.contains(why)),
                "{why}"
            )
        };
        refused("no CACHEDIR.TAG");
        std::fs::write(dir.join(".rustc_info.json"), "{}").unwrap();
        refused("no CACHEDIR.TAG");
        let signature = "Signature: 8a477f597d28d172789f06886806bc55\n";
        std::fs::write(
            dir.join(CACHEDIR_TAG),
            format!("{signature}# This file is a cache directory tag created by fontconfig.\n"),
        )
        .unwrap();
        refused("not the one cargo writes");
        std::fs::write(
            dir.join(CACHEDIR_TAG),
            "Signature: 8a477f597d28d172789f06886806bc55\r\n# This file is a cache directory tag created by cargo.\r\n",
        )
        .unwrap();
        refused("not the one cargo writes");
        std::fs::write(dir.join(CACHEDIR_TAG), format!("{signature}# This file is a cache directory tag created by cargo.\n# For information see https://bford.info/cachedir/\n")).unwrap();
        refused("no profile directory");
        std::fs::create_dir_all(dir.join("debug/.fingerprint")).unwrap();
        assert_eq!(not_made_by_cargo(&dir, &profile_dirs(&dir).unwrap()).unwrap(), None);
        std::fs::remove_file(dir.join(CACHEDIR_TAG)).unwrap();
        #[cfg(unix)]
        {
            std::fs::write(
                dir.join("elsewhere"),
                format!("{signature}# This file is a cache directory tag created by cargo.\n"),
            )
            .unwrap();
            std::os::unix::fs::symlink(dir.join("elsewhere"), dir.join(CACHEDIR_TAG)).unwrap();
            refused("no CACHEDIR.TAG");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn finds_profiles_at_every_depth_cargo_uses() {
        let dir = temp("profiles");
        for profile in ["debug", "release", "x86_64-pc-windows-msvc/debug", "llvm-cov-target/x86_64-apple-darwin/debug"]
        {
            std::fs::create_dir_all(dir.join(profile).join(".fingerprint")).unwrap();
        }
        std::fs::create_dir_all(dir.join("doc/textstats/all")).unwrap();
        std::fs::create_dir_all(dir.join("build-only")).unwrap();
        std::fs::write(dir.join("build-only").join(CARGO_LOCK), "").unwrap();
        assert_eq!(
            profile_dirs(&dir).unwrap(),
            [
                "build-only",
                "debug",
                "llvm-cov-target/x86_64-apple-darwin/debug",
                "release",
                "x86_64-pc-windows-msvc/debug"
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_held_lock_is_refused_unless_forced() {
        let dir = temp("lock");
        std::fs::create_dir_all(dir.join("debug")).unwrap();
        let lock = dir.join("debug").join(CARGO_LOCK);
        std::fs::write(&lock, "").unwrap();
        let profiles = profile_dirs(&dir).unwrap();
        let (locks, busy) = Locks::take(&dir, &profiles, false).unwrap();
        assert!(!locks.is_empty() && busy.is_empty());
        // A second, separate open file stands for cargo: flock and LockFileEx locks are per open file.
        let err = Locks::take(&dir, &profiles, false).err().unwrap().to_string();
        assert!(err.contains("a build is running there") && err.contains("Nothing was deleted"), "{err}");
        let (forced, busy) = Locks::take(&dir, &profiles, true).unwrap();
        assert!(forced.is_empty());
        assert_eq!(busy, [lock]);
        drop(locks);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
