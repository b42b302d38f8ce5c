//! File operations for the tasks that delete: directories held open by handle, files opened
//! without following a link or blocking on a FIFO, the system's mount points and free space; and
//! private temporary directories for what holds a credential.
//!
//! Deleting by full path follows whatever the path names *now*: a directory swapped for a link
//! after the scan would have the link's target emptied. So each directory is opened relative to
//! the handle above it without following a link (`openat`, `O_NOFOLLOW`), checked to be the one
//! scanned (device and inode) and no mount's root, and emptied relative to it (`unlinkat`), the
//! way std's `remove_dir_all` was made safe for CVE-2022-21658.
//!
//! Windows: stable std gives no file index and no handle-relative calls, nor does rustix there;
//! a directory is checked (a directory, not a link or junction) by path right before it is used.
//! Junctions and volume mount points are reparse points, which std reports as links (not followed).

use std::{
    fs::{File, Permissions},
    io::{self, Write},
};

#[cfg(unix)]
use std::os::unix::fs::MetadataExt;

use anyhow::Context;
use camino::{Utf8Path, Utf8PathBuf};
use xshell::Shell;

/// A file's identity: its device and inode. Equal ids are the same file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct FileId {
    pub(crate) device: u64,
    pub(crate) inode: u64,
}

impl FileId {
    /// The id std read for an entry (always zero on Windows, where it is not checked).
    #[cfg_attr(not(unix), allow(unused_variables))]
    pub(crate) fn of(metadata: &std::fs::Metadata) -> FileId {
        #[cfg(unix)]
        return FileId { device: metadata.dev(), inode: metadata.ino() };
        #[cfg(not(unix))]
        FileId::default()
    }
}

/// A directory entry as the size scans count it (`links` only for a file with more than one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Measured {
    pub(crate) id: FileId,
    pub(crate) apparent: u64,
    pub(crate) disk: u64,
    pub(crate) links: Option<u64>,
}

/// The entry at `path`, whose `metadata` was read without following a link. On Unix all of it is
/// in the metadata (blocks of 512 bytes, the link count).
#[cfg(unix)]
pub(crate) fn measure(_path: &std::path::Path, metadata: &std::fs::Metadata) -> Measured {
    let links = (metadata.is_file() && metadata.nlink() > 1).then(|| metadata.nlink());
    Measured { id: FileId::of(metadata), apparent: metadata.len(), disk: metadata.blocks() * 512, links }
}

/// Stable std on Windows tells no file index, link count or allocation: a regular file (never a
/// link: the metadata says it is none) is opened and Windows asked for them. A file that cannot
/// be opened counts its length, as if it had one link.
#[cfg(not(unix))]
pub(crate) fn measure(path: &std::path::Path, metadata: &std::fs::Metadata) -> Measured {
    use fs4::FileExt;
    let apparent = metadata.len();
    let unknown = Measured { id: FileId::default(), apparent, disk: apparent, links: None };
    if !metadata.is_file() {
        return unknown;
    }
    let Ok(handle) = winapi_util::Handle::from_path_any(path) else { return unknown };
    let Ok(information) = winapi_util::file::information(&handle) else { return unknown };
    Measured {
        id: FileId { device: information.volume_serial_number(), inode: information.file_index() },
        apparent,
        disk: handle.as_file().allocated_size().unwrap_or(apparent),
        links: (information.number_of_links() > 1).then(|| information.number_of_links()),
    }
}

/// What a directory holds: its files (anything not a directory), and the bytes of its entries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) files: u64,
    pub(crate) apparent: u64,
    pub(crate) disk: u64,
}

/// What `dir` holds, counted as `du -s` (and the clean scan) count: every directory's own bytes,
/// `dir`'s included, a hard-linked file once, a link as itself (never followed).
pub(crate) fn usage(dir: &Utf8Path) -> io::Result<Usage> {
    fn walk(dir: &std::path::Path, usage: &mut Usage, seen: &mut std::collections::HashSet<FileId>) -> io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let metadata = entry.metadata()?;
            let measured = measure(&entry.path(), &metadata);
            if measured.links.is_some() && !seen.insert(measured.id) {
                continue;
            }
            (usage.apparent, usage.disk) = (usage.apparent + measured.apparent, usage.disk + measured.disk);
            if metadata.is_dir() {
                walk(&entry.path(), usage, seen)?;
            } else {
                usage.files += 1;
            }
        }
        Ok(())
    }
    let root = measure(dir.as_std_path(), &dir.symlink_metadata()?);
    let mut usage = Usage { files: 0, apparent: root.apparent, disk: root.disk };
    walk(dir.as_std_path(), &mut usage, &mut std::collections::HashSet::new())?;
    Ok(usage)
}

fn changed(what: &str) -> io::Error {
    io::Error::other(format!("{what}; left alone"))
}

/// An open directory, the place every removal inside it is made from.
pub(crate) struct DirHandle {
    #[cfg(unix)]
    fd: rustix::fd::OwnedFd,
    #[cfg(not(unix))]
    path: Utf8PathBuf,
}

impl DirHandle {
    /// Opens `path` (its last component must not be a link) and checks that it is `expected`.
    pub(crate) fn open(path: &Utf8Path, expected: FileId) -> io::Result<DirHandle> {
        #[cfg(unix)]
        return DirHandle::open_at(rustix::fs::CWD, path.as_std_path(), expected);
        #[cfg(not(unix))]
        DirHandle::checked(path.to_owned(), expected)
    }

    /// Opens the directory `name` inside this one, without following a link, and checks that it
    /// is `expected`.
    pub(crate) fn open_child(&self, name: &str, expected: FileId) -> io::Result<DirHandle> {
        #[cfg(unix)]
        return DirHandle::open_at(&self.fd, name.as_ref(), expected);
        #[cfg(not(unix))]
        DirHandle::checked(self.path.join(name), expected)
    }

    /// `O_NOFOLLOW` on a link fails with ELOOP (or ENOTDIR with `O_DIRECTORY`): it was replaced.
    #[cfg(unix)]
    fn open_at(dir: impl rustix::fd::AsFd, path: &std::path::Path, expected: FileId) -> io::Result<DirHandle> {
        use rustix::{fs::OFlags, io::Errno};
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let fd = rustix::fs::openat(dir, path, flags, rustix::fs::Mode::empty()).map_err(|err| match err {
            Errno::LOOP | Errno::NOTDIR => no_longer_a_directory(),
            err => err.into(),
        })?;
        let (id, mount_root) = identify(&fd)?;
        if id != expected {
            return Err(changed("it is no longer the directory that was scanned (it was replaced since)"));
        }
        if mount_root {
            return Err(changed("a file system is mounted there"));
        }
        Ok(DirHandle { fd })
    }

    #[cfg(not(unix))]
    fn checked(path: Utf8PathBuf, _expected: FileId) -> io::Result<DirHandle> {
        let metadata = path.symlink_metadata()?;
        if metadata.is_symlink() || !metadata.is_dir() {
            return Err(no_longer_a_directory());
        }
        Ok(DirHandle { path })
    }

    /// Removes the file or link `name` in this directory (a link, never what it points to).
    pub(crate) fn remove_file(&self, name: &str) -> io::Result<()> {
        #[cfg(unix)]
        return Ok(rustix::fs::unlinkat(&self.fd, name, rustix::fs::AtFlags::empty())?);
        #[cfg(not(unix))]
        {
            // A link to a directory is a directory entry on Windows and goes with `remove_dir`.
            use std::os::windows::fs::FileTypeExt;
            let path = self.path.join(name);
            if path.symlink_metadata()?.file_type().is_symlink_dir() {
                std::fs::remove_dir(path)
            } else {
                std::fs::remove_file(path)
            }
        }
    }

    /// Removes the empty directory `name` in this directory.
    pub(crate) fn remove_dir(&self, name: &str) -> io::Result<()> {
        #[cfg(unix)]
        return Ok(rustix::fs::unlinkat(&self.fd, name, rustix::fs::AtFlags::REMOVEDIR)?);
        #[cfg(not(unix))]
        std::fs::remove_dir(self.path.join(name))
    }
}

fn no_longer_a_directory() -> io::Error {
    changed("it is no longer a directory (it was replaced since, perhaps by a link)")
}

/// The id of an open file, and whether it is the root of a mount (Linux's statx says so even for
/// a bind mount, which has the device of the file system it came from).
#[cfg(target_os = "linux")]
fn identify(fd: &rustix::fd::OwnedFd) -> io::Result<(FileId, bool)> {
    use rustix::fs::{AtFlags, StatxAttributes, StatxFlags};
    let stat = rustix::fs::statx(fd, "", AtFlags::EMPTY_PATH, StatxFlags::INO)?;
    let device = rustix::fs::makedev(stat.stx_dev_major, stat.stx_dev_minor);
    let mount_root = stat.stx_attributes.contains(StatxAttributes::MOUNT_ROOT);
    Ok((FileId { device, inode: stat.stx_ino }, mount_root))
}

/// Elsewhere a mount has a device of its own, which the id check catches.
#[cfg(all(unix, not(target_os = "linux")))]
fn identify(fd: &rustix::fd::OwnedFd) -> io::Result<(FileId, bool)> {
    let stat = rustix::fs::fstat(fd)?;
    #[allow(clippy::unnecessary_cast, reason = "the types differ between systems")]
    Ok((FileId { device: stat.st_dev as u64, inode: stat.st_ino as u64 }, false))
}

/// Opens `path` for reading if it is a regular file: a FIFO, socket or device is an error, not a
/// read that never returns; so is a link, without `follow_link`. `Ok(None)` when nothing is there.
pub(crate) fn open_regular(path: &Utf8Path, follow_link: bool) -> io::Result<Option<File>> {
    let a_link = || io::Error::other(format!("{path} is a link, not a regular file"));
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use rustix::fs::OFlags;
        use std::os::unix::fs::OpenOptionsExt;
        let nofollow = if follow_link { OFlags::empty() } else { OFlags::NOFOLLOW };
        options.custom_flags((OFlags::NONBLOCK | nofollow).bits() as i32);
    }
    #[cfg(not(unix))]
    if !follow_link && path.symlink_metadata().is_ok_and(|metadata| metadata.is_symlink()) {
        return Err(a_link());
    }
    let file = match options.open(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        #[cfg(unix)]
        Err(err) if !follow_link && err.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(a_link());
        }
        other => other?,
    };
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(format!("{path} is not a regular file (a directory, FIFO, socket or device)")));
    }
    Ok(Some(file))
}

/// Reads `path` as text if it is a regular file (see `open_regular`); `Ok(None)` when missing.
pub(crate) fn read_regular(path: &Utf8Path, follow_link: bool) -> io::Result<Option<String>> {
    open_regular(path, follow_link)?.map(io::read_to_string).transpose()
}

/// Owner-only (0600) on Unix; Windows keeps a user's files under their own profile.
pub(crate) fn private_permissions() -> Option<Permissions> {
    #[cfg(unix)]
    return Some(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    #[cfg(not(unix))]
    None
}

/// Creates `dir` and its parents, `dir` made owner-only (0700 on Unix) even when it existed.
pub(crate) fn create_private_dir(dir: &Utf8Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    Ok(())
}

/// A new directory in the system's temporary directory only its owner can enter (0700 on Unix;
/// Windows' is under the user's profile), removed with all it holds when dropped, on every way out.
pub(crate) struct PrivateDir {
    pub(crate) path: Utf8PathBuf,
}

impl PrivateDir {
    /// Named `<prefix><pid>-<n>`. Directories of that prefix that a killed run left behind (the
    /// same owner's, over ten minutes old: a trial takes seconds) are removed first.
    pub(crate) fn create(prefix: &str) -> anyhow::Result<PrivateDir> {
        let temp = Utf8PathBuf::try_from(std::env::temp_dir()).context("the temporary directory is not UTF-8")?;
        let name = |attempt| format!("{prefix}{}-{attempt}", std::process::id());
        let (path, ()) = create_new(&temp, "a directory", name, |path| {
            #[cfg_attr(not(unix), allow(unused_mut))] // Only Unix sets a mode.
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(path)
        })?;
        let dir = PrivateDir { path };
        dir.remove_leftovers(&temp, prefix);
        Ok(dir)
    }

    /// Creates `name` in the directory, holding `text`, readable by its owner alone from its
    /// first byte.
    pub(crate) fn write(&self, name: &str, text: &str) -> anyhow::Result<Utf8PathBuf> {
        let path = self.path.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(&path)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .with_context(|| format!("could not write {path}"))?;
        Ok(path)
    }

    #[cfg_attr(not(unix), allow(unused_variables))] // Only Unix compares owners.
    fn remove_leftovers(&self, temp: &Utf8Path, prefix: &str) {
        let Ok(own) = self.path.symlink_metadata() else { return };
        let Ok(entries) = temp.read_dir_utf8() else { return };
        for entry in entries.flatten() {
            let Ok(metadata) = entry.path().symlink_metadata() else { continue };
            let old =
                metadata.modified().ok().and_then(|time| time.elapsed().ok()).is_some_and(|age| age.as_secs() > 600);
            #[cfg(unix)]
            let same_owner = metadata.uid() == own.uid();
            #[cfg(not(unix))]
            let same_owner = true;
            if entry.file_name().starts_with(prefix) && metadata.is_dir() && old && same_owner {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The first of `dir/name(0)`, `dir/name(1)`, … that `create` makes anew: two runs never share one.
fn create_new<T>(
    dir: &Utf8Path,
    what: &str,
    name: impl Fn(usize) -> String,
    create: impl Fn(&Utf8Path) -> io::Result<T>,
) -> anyhow::Result<(Utf8PathBuf, T)> {
    for attempt in 0..100 {
        let path = dir.join(name(attempt));
        match create(&path) {
            Ok(made) => return Ok((path, made)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err).with_context(|| format!("could not create {path}")),
        }
    }
    anyhow::bail!("could not create {what} in {dir}: every name was taken")
}

/// Replaces (or creates) `target` with `bytes`: written to a new temporary file beside it,
/// `.<name>.<pid>-<n>.xtask.tmp`, then renamed over it, so an interruption never leaves half a
/// file. On Unix the file has `permissions` from its first byte.
pub(crate) fn replace_file(target: &Utf8Path, bytes: &[u8], permissions: Option<&Permissions>) -> anyhow::Result<()> {
    let dir = target.parent().with_context(|| format!("{target} has no parent directory"))?;
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {dir}"))?;
    let name = target.file_name().unwrap_or("file");
    let temp_name = |attempt| format!(".{name}.{}-{attempt}.xtask.tmp", std::process::id());
    let (temp, mut file) = create_new(dir, "a temporary file", temp_name, |temp| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if let Some(permissions) = permissions {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            options.mode(permissions.mode() & 0o7777);
        }
        options.open(temp)
    })?;
    let written = (|| -> io::Result<()> {
        file.write_all(bytes)?;
        file.sync_all()?;
        // The mode asked for at creation went through the umask: now exactly.
        if let Some(permissions) = permissions {
            std::fs::set_permissions(&temp, permissions.clone())?;
        }
        std::fs::rename(&temp, target)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.with_context(|| format!("could not replace {target}"))
}

/// Free bytes for this user on the filesystem of `dir`: from POSIX `df -P -k` (stable std cannot
/// ask the OS), and on Windows, which has no `df`, from the volume (GetDiskFreeSpaceExW).
#[cfg_attr(windows, allow(unused_variables))]
pub(crate) fn free_space(sh: &Shell, dir: &Utf8Path) -> Option<u64> {
    #[cfg(windows)]
    return fs4::available_space(dir).ok();
    #[cfg(not(windows))]
    parse_df(&crate::child::command(sh, "df").args(["-P", "-k"]).arg(dir).quiet().ignore_stderr().read().ok()?)
}

/// The "Available" column (KiB) of `df -P -k`'s data line, found from the capacity column so that
/// a filesystem or mount point name with spaces does not shift it.
#[cfg(any(not(windows), test))]
fn parse_df(output: &str) -> Option<u64> {
    let line = output.lines().nth(1)?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let capacity =
        fields.iter().position(|field| field.ends_with('%') && field[..field.len() - 1].parse::<u64>().is_ok())?;
    let kib: u64 = fields.get(capacity.checked_sub(1)?)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Where file systems are mounted, from the system's mount table.
pub(crate) struct MountPoints {
    points: Vec<Utf8PathBuf>,
}

impl MountPoints {
    /// Linux: `/proc/self/mountinfo`. Elsewhere the table stays empty and a mount is found by
    /// its device (macOS has no bind mounts; Windows' mount points are reparse points, which
    /// are never followed) and, for the directory to clean, by `is_mount_root`.
    pub(crate) fn read() -> anyhow::Result<MountPoints> {
        #[cfg(target_os = "linux")]
        {
            const TABLE: &str = "/proc/self/mountinfo";
            let text = read_regular(TABLE.into(), true)
                .ok()
                .flatten()
                .with_context(|| format!("could not read the mount table {TABLE}, which says where file systems are mounted; nothing was deleted"))?;
            Ok(MountPoints { points: parse_mountinfo(&text) })
        }
        #[cfg(not(target_os = "linux"))]
        Ok(MountPoints { points: Vec::new() })
    }

    /// Whether a file system is mounted on `real` (a path with links resolved).
    pub(crate) fn is_mount_root(&self, real: &Utf8Path) -> bool {
        self.points.iter().any(|point| point == real) || is_mount_root_by_statfs(real)
    }

    /// The mount points strictly inside `real`.
    pub(crate) fn inside<'a>(&'a self, real: &'a Utf8Path) -> impl Iterator<Item = &'a Utf8Path> + 'a {
        self.points.iter().map(Utf8PathBuf::as_path).filter(move |point| *point != real && point.starts_with(real))
    }
}

/// macOS names the mount point of every file system in `statfs`.
#[cfg(target_os = "macos")]
fn is_mount_root_by_statfs(real: &Utf8Path) -> bool {
    let Ok(stat) = rustix::fs::statfs(real.as_std_path()) else { return false };
    let name: Vec<u8> = stat.f_mntonname.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect();
    name == real.as_str().as_bytes()
}

#[cfg(not(target_os = "macos"))]
fn is_mount_root_by_statfs(_: &Utf8Path) -> bool {
    false
}

/// The mount points (fifth field) of `/proc/self/mountinfo`, with the kernel's octal escapes
/// (`\040` for a space) undone. Points that are not UTF-8 cannot be a UTF-8 path's prefix.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_mountinfo(text: &str) -> Vec<Utf8PathBuf> {
    let unescape = |field: &str| {
        let mut parts = field.split('\\');
        let mut out = parts.next().unwrap_or_default().as_bytes().to_vec();
        for part in parts {
            match part.as_bytes() {
                [a @ b'0'..=b'7', b @ b'0'..=b'7', c @ b'0'..=b'7', rest @ ..] => {
                    out.push((a - b'0') << 6 | (b - b'0') << 3 | (c - b'0'));
                    out.extend(rest);
                }
                rest => out.extend([b'\\'].iter().chain(rest)),
            }
        }
        String::from_utf8(out).ok().map(Utf8PathBuf::from)
    };
    text.lines().filter_map(|line| line.split(' ').nth(4)).filter_map(unescape).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_a_hard_linked_file_once_and_never_follows_a_link() {
        let temp = PrivateDir::create("xtask-test-usage-").unwrap();
        let dir = temp.path.join("cache");
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::write(dir.join("a/object"), vec![1; 10_000]).unwrap();
        std::fs::hard_link(dir.join("a/object"), dir.join("object-again")).unwrap();
        std::fs::write(temp.path.join("outside"), vec![2; 1_000_000]).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(temp.path.join("outside"), dir.join("link")).unwrap();
        let usage = usage(&dir).unwrap();
        assert_eq!(usage.files, 1 + u64::from(cfg!(unix)), "{usage:?}");
        let size = |path: &Utf8Path| {
            let measured = measure(path.as_std_path(), &std::fs::symlink_metadata(path).unwrap());
            (measured.apparent, measured.disk)
        };
        let mut expected = [dir.clone(), dir.join("a"), dir.join("a/object")].map(|path| size(&path));
        // Allocated, not apparent, on every OS: whole blocks (or clusters) of at least the length.
        let (apparent, disk) = expected[2];
        assert!(apparent == 10_000 && disk >= 10_000 && disk % 512 == 0, "{:?}", expected[2]);
        if cfg!(unix) {
            expected[0] = (expected[0].0 + size(&dir.join("link")).0, expected[0].1 + size(&dir.join("link")).1);
        }
        let expected = expected.iter().fold((0, 0), |total, (apparent, disk)| (total.0 + apparent, total.1 + disk));
        assert_eq!((usage.apparent, usage.disk), expected, "{usage:?}");
    }

    #[test]
    fn free_space_is_known_on_every_os() {
        let sh = Shell::new().unwrap();
        let temp = PrivateDir::create("xtask-test-free-").unwrap();
        let free = free_space(&sh, &temp.path);
        assert!(free.is_some_and(|bytes| bytes > 0), "{free:?}");
    }

    #[test]
    fn reads_available_space_from_posix_df() {
        let linux = "Filesystem     1024-blocks     Used Available Capacity Mounted on\n\
                     /dev/vda         263174212 13092232  82657512      14% /\n";
        assert_eq!(parse_df(linux), Some(82_657_512 * 1024));
        let spaces = "Filesystem 1024-blocks Used Available Capacity Mounted on\n\
                      map auto_home 0 0 0 100% /System/Volumes/Data/home\n\
                      ";
        assert_eq!(parse_df(spaces), Some(0));
        assert_eq!(parse_df("df: /nope: No such file or directory\n"), None);
    }

    #[test]
    fn reads_mount_points_with_escapes() {
        let table = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
                     40 22 0:35 / /mnt/my\\040disk rw - tmpfs tmpfs rw\n\
                     41 22 8:1 /home/me/src /work/target/bound rw - ext4 /dev/sda1 rw\n";
        assert_eq!(parse_mountinfo(table), ["/", "/mnt/my disk", "/work/target/bound"]);
        let points = MountPoints { points: parse_mountinfo(table) };
        assert!(points.is_mount_root("/mnt/my disk".into()));
        assert!(!points.is_mount_root("/mnt".into()));
        assert_eq!(points.inside("/work".into()).collect::<Vec<_>>(), ["/work/target/bound"]);
        assert_eq!(points.inside("/work/target/bound".into()).count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn special_files_and_links_are_not_opened_as_regular_files() {
        let temp = PrivateDir::create("xtask-safe-fs-").unwrap();
        let dir = temp.path.clone();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("file"), "text").unwrap();
        std::os::unix::fs::symlink(dir.join("file"), dir.join("link")).unwrap();
        let status = std::process::Command::new("mkfifo").arg(dir.join("fifo")).status().unwrap();
        assert!(status.success());
        assert_eq!(read_regular(&dir.join("file"), false).unwrap().as_deref(), Some("text"));
        assert_eq!(read_regular(&dir.join("link"), true).unwrap().as_deref(), Some("text"));
        assert!(read_regular(&dir.join("link"), false).unwrap_err().to_string().contains("is a link"));
        assert!(read_regular(&dir.join("fifo"), true).unwrap_err().to_string().contains("not a regular file"));
        assert!(read_regular(&dir, true).is_err());
        assert_eq!(read_regular(&dir.join("missing"), true).unwrap(), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_swapped_for_a_link_is_not_opened() {
        let temp = PrivateDir::create("xtask-handle-").unwrap();
        let dir = temp.path.clone();
        std::fs::create_dir_all(dir.join("root/sub")).unwrap();
        std::fs::create_dir_all(dir.join("victim")).unwrap();
        std::fs::write(dir.join("victim/precious"), "keep").unwrap();
        let id = |path: &Utf8Path| FileId::of(&path.symlink_metadata().unwrap());
        let (root_id, sub_id) = (id(&dir.join("root")), id(&dir.join("root/sub")));
        let root = DirHandle::open(&dir.join("root"), root_id).unwrap();
        assert!(root.open_child("sub", sub_id).is_ok());
        assert!(root.open_child("sub", root_id).err().unwrap().to_string().contains("no longer the directory"));
        std::fs::remove_dir(dir.join("root/sub")).unwrap();
        std::os::unix::fs::symlink(dir.join("victim"), dir.join("root/sub")).unwrap();
        let err = root.open_child("sub", sub_id).err().unwrap().to_string();
        assert!(err.contains("no longer a directory"), "{err}");
        root.remove_file("sub").unwrap();
        assert!(dir.join("victim/precious").exists());
    }
}
