//! The checks a directory passes before anything in it is deleted. Each refusal names its check
//! and says what to do; all of them run before the first deletion.

use std::{fs::File, io::Read};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};

/// What cargo writes at the top of every target directory it creates (cargo PR #16712 checks it).
const CACHEDIR_TAG_SIGNATURE: &[u8] = b"Signature: 8a477f597d28d172789f06886806bc55";
pub(crate) const CACHEDIR_TAG: &str = "CACHEDIR.TAG";
/// Written by cargo before `CACHEDIR.TAG` existed; still written next to it.
const RUSTC_INFO: &str = ".rustc_info.json";
/// Cargo holds an exclusive lock on this file in each profile directory while it builds there.
pub(crate) const CARGO_LOCK: &str = ".cargo-lock";

/// Directories that are never cleaned, nor any directory that contains one of them.
pub(crate) struct Protected {
    /// Each with what it is, for the message: ("the home directory", path).
    pub(crate) dirs: Vec<(String, Utf8PathBuf)>,
}

impl Protected {
    /// The home directory, `CARGO_HOME`, `RUSTUP_HOME`, the workspace root and its members.
    pub(crate) fn new(
        home: Option<Utf8PathBuf>,
        cargo_home: Option<Utf8PathBuf>,
        rustup_home: Option<Utf8PathBuf>,
        workspace_root: &Utf8Path,
        members: impl IntoIterator<Item = Utf8PathBuf>,
    ) -> Protected {
        let mut dirs: Vec<(String, Utf8PathBuf)> = Vec::new();
        let named = [("the home directory", home), ("CARGO_HOME", cargo_home), ("RUSTUP_HOME", rustup_home)];
        dirs.extend(named.into_iter().filter_map(|(what, dir)| Some((what.to_owned(), dir?))));
        dirs.push(("the workspace root".to_owned(), workspace_root.to_owned()));
        dirs.extend(members.into_iter().map(|dir| (format!("workspace member {dir}"), dir)));
        // Compare real paths: a home behind a link must still be recognised.
        for (_, dir) in &mut dirs {
            if let Ok(real) = dir.canonicalize_utf8() {
                *dir = real;
            }
        }
        Protected { dirs }
    }
}

/// Why a directory is not cleaned.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    NotADirectory,
    FilesystemRoot,
    Protected(String),
    ContainsProtected(String),
    ProjectMarker(&'static str),
    NoCacheDirTag,
    BuildRunning(Utf8PathBuf),
}

impl Refusal {
    /// Whether `--force` lets the clean go ahead anyway.
    pub(crate) fn force_overrides(&self) -> bool {
        matches!(self, Refusal::NoCacheDirTag | Refusal::BuildRunning(_))
    }

    /// The check's name and what went wrong.
    pub(crate) fn explain(&self) -> String {
        match self {
            Refusal::NotADirectory => "it is not a directory (check: is a directory)".to_owned(),
            Refusal::FilesystemRoot => "it is a filesystem or drive root (check: protected directories)".to_owned(),
            Refusal::Protected(what) => format!("it is {what} (check: protected directories)"),
            Refusal::ContainsProtected(what) => format!("it contains {what} (check: protected directories)"),
            Refusal::ProjectMarker(name) => {
                format!("it has {name} at its top, so it is a project, not build output (check: project markers)")
            }
            Refusal::NoCacheDirTag => format!(
                "it has no {CACHEDIR_TAG} with cargo's signature and no {RUSTC_INFO}, so cargo did not make it \
                 (check: cargo's CACHEDIR.TAG); pass --force if you are sure it holds only build output"
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
    for (what, dir) in &protected.dirs {
        if dir == real {
            return Ok(Some(Refusal::Protected(what.clone())));
        }
        if dir.starts_with(real) {
            return Ok(Some(Refusal::ContainsProtected(format!("{what} ({dir})"))));
        }
    }
    for marker in [".git", "Cargo.toml"] {
        // `.git` is a file in worktrees and submodules, so any kind of entry counts.
        if real.join(marker).symlink_metadata().is_ok() {
            return Ok(Some(Refusal::ProjectMarker(marker)));
        }
    }
    Ok(None)
}

/// Whether `dir` carries cargo's `CACHEDIR.TAG` (a regular file, not a link, with the signature)
/// or, for target directories made by old cargo, a `.rustc_info.json`.
pub(crate) fn made_by_cargo(dir: &Utf8Path) -> anyhow::Result<bool> {
    let tag = dir.join(CACHEDIR_TAG);
    if tag.symlink_metadata().is_ok_and(|m| m.is_file()) {
        let mut start = [0; CACHEDIR_TAG_SIGNATURE.len()];
        let mut file = File::open(&tag).with_context(|| format!("could not open {tag}"))?;
        if file.read_exact(&mut start).is_ok() && start == CACHEDIR_TAG_SIGNATURE {
            return Ok(true);
        }
    }
    Ok(dir.join(RUSTC_INFO).symlink_metadata().is_ok_and(|m| m.is_file()))
}

/// The profile directories in `dir`: those holding `.cargo-lock` or `.fingerprint`, found at most
/// three levels down (`debug`, `x86_64-unknown-linux-gnu/debug`, `llvm-cov-target/<triple>/debug`),
/// relative to `dir`. Links are not followed.
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
                let is_profile =
                    [CARGO_LOCK, ".fingerprint"].iter().any(|m| entry.path().join(m).symlink_metadata().is_ok());
                if is_profile {
                    found.push(child);
                } else {
                    next.push(child);
                }
            }
        }
        level = next;
    }
    found.sort();
    Ok(found)
}

/// Locks held on profile directories until the clean is over, so that a build started meanwhile
/// waits instead of writing into a directory being deleted.
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
        for profile in profiles {
            let lock = dir.join(profile).join(CARGO_LOCK);
            if lock.symlink_metadata().is_err() {
                continue;
            }
            let file =
                File::open(&lock).with_context(|| format!("could not open {lock} to check for a running build"))?;
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
        let protected = Protected::new(Some(home.clone()), None, None, &ws, [ws.join("app")]);
        assert_eq!(never_clean(&home, &protected).unwrap(), Some(Refusal::Protected("the home directory".into())));
        assert_eq!(never_clean(&ws, &protected).unwrap(), Some(Refusal::Protected("the workspace root".into())));
        let Some(Refusal::ContainsProtected(what)) = never_clean(&dir, &protected).unwrap() else { panic!() };
        assert!(what.starts_with("the home directory"), "{what}");
        assert_eq!(never_clean(&target, &protected).unwrap(), None);
        std::fs::write(target.join("Cargo.toml"), "").unwrap();
        assert_eq!(never_clean(&target, &protected).unwrap(), Some(Refusal::ProjectMarker("Cargo.toml")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_root_is_refused() {
        let root = Utf8PathBuf::try_from(std::env::temp_dir()).unwrap().ancestors().last().unwrap().to_owned();
        let protected = Protected::new(None, None, None, Utf8Path::new("/nonexistent/ws"), []);
        assert_eq!(never_clean(&root, &protected).unwrap(), Some(Refusal::FilesystemRoot));
    }

    #[test]
    fn only_cargos_signature_or_rustc_info_marks_a_target_directory() {
        let dir = temp("tag");
        assert!(!made_by_cargo(&dir).unwrap());
        std::fs::write(dir.join(CACHEDIR_TAG), "Signature: 0000").unwrap();
        assert!(!made_by_cargo(&dir).unwrap());
        std::fs::write(dir.join(CACHEDIR_TAG), "Signature: 8a477f597d28d172789f06886806bc55\n# cargo").unwrap();
        assert!(made_by_cargo(&dir).unwrap());
        std::fs::remove_file(dir.join(CACHEDIR_TAG)).unwrap();
        std::fs::write(dir.join(RUSTC_INFO), "{}").unwrap();
        assert!(made_by_cargo(&dir).unwrap());
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
