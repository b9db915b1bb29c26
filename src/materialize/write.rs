//! Writing one work-tree file in place of its pointer: a temp file next to the target, filled
//! by a reflink, a hard link or a copy of the cache object (or by the download itself, see
//! [`Staged`]), then swapped in.
//!
//! Invariants: the target is replaced atomically or not at all; a temp that is not finished
//! is removed when dropped; the new file keeps the mode of the file it replaces.

use super::Candidate;
use crate::config::LinkMode;
use crate::state::{self, FileStat};
use gix::bstr::{BStr, ByteSlice};
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A temp file next to a work-tree file, to be filled and then swapped in.
pub(super) struct Staged {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
    mode: u32,
}

impl Staged {
    /// A new, empty temp next to `path` (relative to `root`).
    pub(super) fn new(root: &Path, path: &BStr) -> Result<Staged, String> {
        let (target, mode) = target_of(root, path);
        let tmp = tempfile::Builder::new()
            .prefix(&prefix(&target))
            .suffix(".git-data")
            .tempfile_in(parent(root, &target))
            .map_err(io_err(&target))?;
        Ok(Staged { tmp, target, mode })
    }

    /// A new, empty temp in `dir` (an existing directory on device `dev`) for `path`, when
    /// the target is on that file system too (so that the temp can be renamed into place);
    /// `None` otherwise. A temp that must live through a long download goes there, out of the
    /// work tree: if the process is killed, what is left is out of sight (and of `git status`).
    pub(super) fn new_in(dir: &Path, dev: u64, root: &Path, path: &BStr) -> Option<Staged> {
        use std::os::unix::fs::MetadataExt;
        let (target, mode) = target_of(root, path);
        if fs::metadata(parent(root, &target)).map(|m| m.dev()).ok() != Some(dev) {
            return None;
        }
        let tmp = tempfile::Builder::new().prefix("download-").tempfile_in(dir).ok()?;
        Some(Staged { tmp, target, mode })
    }

    pub(super) fn file(&self) -> &fs::File {
        self.tmp.as_file()
    }

    /// Checks the length, sets mode and time, and swaps the file in; returns its stat.
    pub(super) fn finish(self, size: u64) -> Result<FileStat, String> {
        let err = io_err(&self.target);
        let f = self.tmp.as_file();
        let n = f.metadata().map_err(&err)?.len();
        if n != size {
            return Err(format!("short write of {}: {n} of {size} bytes", self.target.display()));
        }
        f.set_permissions(fs::Permissions::from_mode(self.mode | 0o200)).map_err(&err)?;
        f.set_modified(state::before_this_second()).map_err(&err)?;
        replace(self.tmp.into_temp_path(), &self.target).map_err(&err)?;
        let meta = fs::symlink_metadata(&self.target).map_err(&err)?;
        Ok(FileStat::from_metadata(&meta))
    }
}

/// Whether a file in the cache's `tmp_dir` can share its blocks with `file` (a reflink):
/// probed with an empty file, which leaves `file` as it was.
pub(super) fn reflinks_to(tmp_dir: &Path, file: &fs::File) -> bool {
    use std::os::fd::AsRawFd;
    let _ = fs::create_dir_all(tmp_dir);
    let Ok(src) = tempfile::tempfile_in(tmp_dir) else { return false };
    // SAFETY: FICLONE on two descriptors we own; it fails cleanly where unsupported.
    unsafe { libc::ioctl(file.as_raw_fd(), libc::FICLONE, src.as_raw_fd()) == 0 }
}

fn target_of(root: &Path, path: &BStr) -> (PathBuf, u32) {
    let target = root.join(crate::git::rel_path(path));
    let mode =
        fs::symlink_metadata(&target).map(|m| m.permissions().mode() & 0o777).unwrap_or(0o644);
    (target, mode)
}

fn parent<'a>(root: &'a Path, target: &'a Path) -> &'a Path {
    target.parent().unwrap_or(root)
}

/// The temp's name: `.<name>.<random>.git-data`, hidden and easy to recognise.
fn prefix(target: &Path) -> String {
    format!(".{}.", target.file_name().map(|n| n.to_string_lossy()).unwrap_or_default())
}

fn io_err(target: &Path) -> impl Fn(io::Error) -> String + '_ {
    move |e| format!("cannot write {}: {e}", target.display())
}

/// Writes `c`'s file from the cache `object` the way `link` asks.
pub(super) fn write_file(
    object: &Path,
    link: LinkMode,
    root: &Path,
    c: &Candidate,
) -> Result<FileStat, String> {
    let (target, mode) = target_of(root, c.path.as_bstr());
    if link == LinkMode::Hardlink && mode & 0o111 == 0 {
        let err = io_err(&target);
        let tmp = tempfile::Builder::new()
            .prefix(&prefix(&target))
            .suffix(".git-data")
            .make_in(parent(root, &target), |p| fs::hard_link(object, p))
            .map_err(&err)?
            .into_temp_path();
        replace(tmp, &target).map_err(&err)?;
        let meta = fs::symlink_metadata(&target).map_err(&err)?;
        return Ok(FileStat::from_metadata(&meta));
    }
    let mut staged = Staged::new(root, c.path.as_bstr())?;
    let src = fs::File::open(object).map_err(io_err(&target))?;
    if link == LinkMode::Copy {
        crate::bgwrite::copy(&src, staged.tmp.as_file(), c.pointer.size)
    } else {
        crate::atomic::clone_or_copy(&src, staged.tmp.as_file_mut(), c.pointer.size)
    }
    .map_err(io_err(&target))?;
    staged.finish(c.pointer.size)
}

/// Puts the finished temp file at `target`. An existing `target` (the pointer git wrote) is
/// exchanged with it (`renameat2` RENAME_EXCHANGE) and then removed under the temp's name:
/// the path never goes missing, and ext4 does not start writing the new file's data out at
/// once, as it does when a rename replaces a file (its `auto_da_alloc`: ~60 ms per 256 MiB
/// on a switch). Where exchange is not supported, a plain rename.
fn replace(tmp: tempfile::TempPath, target: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    if !fs::symlink_metadata(target).is_ok_and(|m| m.is_file()) {
        // nothing there, or not a file (never swap a directory or a link away)
        return tmp.persist(target).map_err(|e| e.error);
    }
    let from = std::ffi::CString::new(tmp.as_os_str().as_bytes())?;
    let to = std::ffi::CString::new(target.as_os_str().as_bytes())?;
    // SAFETY: two NUL-terminated paths that live across the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        // `tmp` now names the old file: dropping it removes that
        return tmp.close();
    }
    tmp.persist(target).map_err(|e| e.error)
}
