//! Writing one work-tree file in place of its pointer: a temp file (out of the work tree
//! where it can be, see [`Temps`]), filled by a reflink, a hard link or a copy of the cache
//! object (or by the download itself, see [`Staged`]), then swapped in.
//!
//! Invariants: the target is replaced atomically or not at all; a temp that is not finished
//! is removed when dropped, and one a killed process left is removed by the next
//! materialisation; the new file keeps the mode of the file it replaces.

use super::Candidate;
use crate::config::LinkMode;
use crate::fs::stat::{self, FileStat};
use gix::bstr::{BStr, ByteSlice};
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Where the temps of one materialisation go: `.git/data/tmp/` for a target on the same file
/// system (a killed process leaves nothing in the work tree), else next to the target as
/// `.<name>.wt-<pid>-<start>-<random>.git-data`. Either way the name carries the process, so
/// the next materialisation removes what a killed one left (see [`crate::fs::stale`]).
pub(super) struct Temps {
    dir: PathBuf,
    dev: Option<u64>,
    /// Work-tree directories already swept for temps of ended processes.
    swept: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
}

const KIND: &str = "wt";

impl Temps {
    /// The temps of a materialisation in `dir` (the git directory's `data/tmp`); removes the
    /// ones ended processes left there.
    pub(super) fn new(dir: PathBuf) -> Temps {
        use std::os::unix::fs::MetadataExt;
        let dev = fs::create_dir_all(&dir).and_then(|()| fs::metadata(&dir)).ok().map(|m| m.dev());
        crate::fs::stale::sweep(&dir, KIND);
        Temps { dir, dev, swept: Default::default() }
    }

    /// Whether a temp for `target` goes to the git directory (same file system).
    fn outside(&self, target: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        let parent = target.parent().map(fs::metadata);
        self.dev.is_some() && parent.and_then(Result::ok).map(|m| m.dev()) == self.dev
    }

    /// The prefix and suffix of a temp's name for `target`, and the directory to make it in.
    fn place<'a>(&'a self, target: &'a Path) -> (String, &'static str, &'a Path) {
        let marker = crate::fs::stale::marker(KIND);
        if self.outside(target) {
            return (marker, "", &self.dir);
        }
        let parent = target.parent().unwrap_or(Path::new("."));
        if let Ok(mut swept) = self.swept.lock()
            && swept.insert(parent.to_path_buf())
        {
            crate::fs::stale::sweep(parent, KIND);
        }
        let name = target.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        (format!(".{name}.{marker}"), ".git-data", parent)
    }
}

/// A temp file for a work-tree file, to be filled and then swapped in.
pub(super) struct Staged {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
    mode: u32,
}

impl Staged {
    /// A new, empty temp for `path` (relative to `root`).
    pub(super) fn new(temps: &Temps, root: &Path, path: &BStr) -> Result<Staged, String> {
        let (target, mode) = target_of(root, path);
        let (prefix, suffix, dir) = temps.place(&target);
        let tmp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(suffix)
            .tempfile_in(dir)
            .map_err(io_err(&target))?;
        Ok(Staged { tmp, target, mode })
    }

    /// A new temp for a download to fill, only out of the work tree (it lives through the
    /// whole download): `None` where the target is on another file system.
    pub(super) fn for_download(temps: &Temps, root: &Path, path: &BStr) -> Option<Staged> {
        let (target, _) = target_of(root, path);
        if !temps.outside(&target) {
            return None;
        }
        Staged::new(temps, root, path).ok()
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
        f.set_modified(stat::before_this_second()).map_err(&err)?;
        replace(self.tmp.into_temp_path(), &self.target).map_err(&err)?;
        let meta = fs::symlink_metadata(&self.target).map_err(&err)?;
        Ok(FileStat::from_metadata(&meta))
    }
}

/// Whether a file in the cache's `tmp_dir` can share its blocks with `file` (a reflink):
/// probed with an empty file, which leaves `file` as it was.
pub(super) fn reflinks_to(tmp_dir: &Path, file: &fs::File) -> bool {
    let _ = fs::create_dir_all(tmp_dir);
    crate::fs::sys::reflinks_between(tmp_dir, file)
}

fn target_of(root: &Path, path: &BStr) -> (PathBuf, u32) {
    let target = root.join(crate::git::rel_path(path));
    let mode =
        fs::symlink_metadata(&target).map(|m| m.permissions().mode() & 0o777).unwrap_or(0o644);
    (target, mode)
}

fn io_err(target: &Path) -> impl Fn(io::Error) -> String + '_ {
    move |e| format!("cannot write {}: {e}", target.display())
}

/// Writes `c`'s file from the cache `object` the way `link` asks.
pub(super) fn write_file(
    temps: &Temps,
    object: &Path,
    link: LinkMode,
    root: &Path,
    c: &Candidate,
) -> Result<FileStat, String> {
    let (target, mode) = target_of(root, c.path.as_bstr());
    if link == LinkMode::Hardlink && mode & 0o111 == 0 {
        let err = io_err(&target);
        let (prefix, suffix, dir) = temps.place(&target);
        let tmp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(suffix)
            .make_in(dir, |p| fs::hard_link(object, p))
            .map_err(&err)?
            .into_temp_path();
        replace(tmp, &target).map_err(&err)?;
        let meta = fs::symlink_metadata(&target).map_err(&err)?;
        return Ok(FileStat::from_metadata(&meta));
    }
    let mut staged = Staged::new(temps, root, c.path.as_bstr())?;
    let src = fs::File::open(object).map_err(io_err(&target))?;
    if link == LinkMode::Copy {
        crate::fs::copy::copy(&src, staged.tmp.as_file(), c.pointer.size)
    } else {
        crate::fs::copy::clone_or_copy(&src, staged.tmp.as_file_mut(), c.pointer.size)
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
    if !fs::symlink_metadata(target).is_ok_and(|m| m.is_file()) {
        // nothing there, or not a file (never swap a directory or a link away)
        return tmp.persist(target).map_err(|e| e.error);
    }
    if crate::fs::sys::exchange(&tmp, target).is_ok() {
        // `tmp` now names the old file: dropping it removes that
        return tmp.close();
    }
    tmp.persist(target).map_err(|e| e.error)
}
