//! Stat calls relative to an open directory (`fstatat`), for the commands that stat one file
//! per tracked path. A path given from `/` makes the kernel look up every component again for
//! each call; from an open directory it walks only what is left, which on 20,000 files is most
//! of the cost of `git data status`.
//!
//! Invariant: the answers are those `std::fs::metadata` / `symlink_metadata` give for the same
//! path; any failure to open a directory falls back to the path-based call.

use crate::fs::stat::FileStat;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// An open directory (an `O_PATH` descriptor: no read permission needed, nothing to read).
pub(crate) struct Dir {
    fd: OwnedFd,
}

impl Dir {
    /// Opens `path`, which must be a directory.
    pub(crate) fn open(path: &Path) -> io::Result<Dir> {
        Self::open_at(libc::AT_FDCWD, path.as_os_str().as_bytes())
    }

    /// Opens `rel` relative to this directory.
    pub(crate) fn open_sub(&self, rel: &[u8]) -> io::Result<Dir> {
        Self::open_at(self.fd.as_raw_fd(), rel)
    }

    fn open_at(at: libc::c_int, rel: &[u8]) -> io::Result<Dir> {
        let c = cstring(rel)?;
        let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
        // SAFETY: `c` is a valid NUL-terminated string; the returned fd is owned here.
        let fd = unsafe { libc::openat(at, c.as_ptr(), flags) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and is not owned elsewhere.
        Ok(Dir { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// The stat of `rel` below this directory; `follow` follows a final symlink (`metadata`)
    /// or not (`symlink_metadata`).
    pub(crate) fn stat(&self, rel: &[u8], follow: bool) -> io::Result<FileStat> {
        let c = cstring(rel)?;
        let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
        // SAFETY: an all-zero `stat` is a valid value for the kernel to overwrite.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid fd, valid C string, `st` is a writable `stat`.
        let rc = unsafe { libc::fstatat(self.fd.as_raw_fd(), c.as_ptr(), &mut st, flags) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(FileStat {
            size: st.st_size as u64,
            mtime_ns: st.st_mtime * 1_000_000_000 + st.st_mtime_nsec,
            ctime_ns: st.st_ctime * 1_000_000_000 + st.st_ctime_nsec,
            ino: st.st_ino,
            dev: st.st_dev,
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
        })
    }
}

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a path"))
}

/// `lstat` of work-tree paths given relative to the root, one open directory per parent:
/// callers that go through paths in index order (sorted, so siblings come together) open each
/// directory once.
pub(crate) struct TreeStat {
    root: PathBuf,
    root_dir: Option<Dir>,
    /// The parent last looked up, and its directory if it could be opened.
    parent: Option<(Vec<u8>, Option<Dir>)>,
}

impl TreeStat {
    pub(crate) fn new(root: &Path) -> TreeStat {
        TreeStat { root: root.to_path_buf(), root_dir: Dir::open(root).ok(), parent: None }
    }

    /// `symlink_metadata` of `root/rel` (`rel` uses `/`, as git's index does).
    pub(crate) fn lstat(&mut self, rel: &[u8]) -> io::Result<FileStat> {
        let Some(root_dir) = &self.root_dir else { return self.by_path(rel) };
        let (parent, name) = match rel.iter().rposition(|&b| b == b'/') {
            Some(i) => (&rel[..i], &rel[i + 1..]),
            None => return root_dir.stat(rel, false),
        };
        if self.parent.as_ref().is_none_or(|(p, _)| p != parent) {
            self.parent = Some((parent.to_vec(), root_dir.open_sub(parent).ok()));
        }
        match self.parent.as_ref().and_then(|(_, d)| d.as_ref()) {
            Some(dir) => dir.stat(name, false),
            // A missing parent means a missing file; anything else gets the plain call.
            None => self.by_path(rel),
        }
    }

    fn by_path(&self, rel: &[u8]) -> io::Result<FileStat> {
        let path = self.root.join(std::ffi::OsStr::from_bytes(rel));
        std::fs::symlink_metadata(path).map(|m| FileStat::from_metadata(&m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_as_the_path_based_calls() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f"), b"hello").unwrap();
        std::fs::write(root.join("top"), b"x").unwrap();
        std::os::unix::fs::symlink("f", root.join("a/b/link")).unwrap();
        let mut tree = TreeStat::new(root);
        for rel in ["a/b/f", "top", "a/b/link", "a/b/f"] {
            let want = FileStat::from_metadata(&std::fs::symlink_metadata(root.join(rel)).unwrap());
            assert_eq!(tree.lstat(rel.as_bytes()).unwrap(), want, "{rel}");
        }
        for rel in ["a/b/missing", "nodir/f", "top/f"] {
            assert!(tree.lstat(rel.as_bytes()).is_err(), "{rel}");
        }
        let d = Dir::open(&root.join("a")).unwrap();
        let followed = d.stat(b"b/link", true).unwrap();
        assert_eq!(followed.size, 5);
        assert_eq!(d.stat(b"b/link", false).unwrap().size, 1);
    }
}
