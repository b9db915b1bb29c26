//! The local content-addressed cache: `<root>/objects/ab/cd/<oid>`, read-only files.
//!
//! Invariants: an object appears under its name only after its bytes were hashed and found
//! equal to its name (temp file in `<root>/tmp`, or for a download in the object's own
//! directory, hash while writing, rename); an object is handed out only after a size check
//! and a content check — either a hash, or a match with the stat recorded the last time it
//! was hashed (any write or chmod changes the ctime). A corrupt object is moved to
//! `<root>/quarantine/` and reported, never served.

pub(crate) mod shards;
pub mod state;
mod verified;

use crate::fs::atomic::{AtomicFile, CommitError};
use crate::fs::openat::Dir;
use crate::oid::{Oid, hash_reader};
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use verified::Verified;

/// Errors of the local cache, carrying the object and the path.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("object {oid} is not in the local cache")]
    Missing { oid: Oid },
    #[error(
        "corrupt object {oid} in the local cache: {reason} (moved to {quarantined})",
        quarantined = .quarantined.display()
    )]
    Corrupt { oid: Oid, reason: String, quarantined: PathBuf },
    /// The object is intact, and a pointer names it with another size: the pointer is wrong.
    #[error(
        "its pointer says {expected} bytes, but object {oid} has {actual} bytes: the pointer is wrong (the object is intact)"
    )]
    WrongSize { oid: Oid, expected: u64, actual: u64 },
    #[error("cache I/O error on {}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Commit(#[from] CommitError),
}

impl StoreError {
    pub fn io(path: &Path, source: io::Error) -> Self {
        StoreError::Io { path: path.to_path_buf(), source }
    }

    /// What to do about a full disk, when that is what went wrong.
    pub fn hint(&self) -> Option<String> {
        self.full_disk_hint().map(str::to_string)
    }

    /// [`StoreError::hint`], borrowed.
    pub fn full_disk_hint(&self) -> Option<&'static str> {
        let io = match self {
            StoreError::Io { source, .. } => source,
            StoreError::Commit(CommitError::Io { source, .. }) => source,
            _ => return None,
        };
        matches!(io.kind(), io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded).then_some(
            "the disk holding the git-data cache is full: free space, or move the cache with \
             `git config data.cacheDir PATH` (see `git data env`)",
        )
    }
}

/// The local object cache.
pub struct Store {
    root: PathBuf,
    objects: PathBuf,
    tmp: PathBuf,
    /// The stat of objects whose content was checked (`verified.log`).
    verified: Verified,
    /// `objects/` opened once it exists, for `contains`.
    objects_dir: OnceLock<Dir>,
    /// This process's writing mark in `tmp/`, set before its first temp file (see
    /// [`Store::writing`]).
    writing: OnceLock<Option<crate::fs::stale::WritingMark>>,
}

impl Store {
    /// A store rooted at `root` (created lazily).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Store {
            objects: root.join("objects"),
            tmp: root.join("tmp"),
            verified: Verified::new(root.join("verified.log")),
            root,
            objects_dir: OnceLock::new(),
            writing: OnceLock::new(),
        }
    }

    /// Called before this process makes its first temp file: cleans up after killed writers
    /// (see [`Store::recover`]) and sets this process's writing mark.
    fn writing(&self) {
        self.writing.get_or_init(|| {
            self.recover();
            crate::fs::stale::WritingMark::set(&self.tmp).ok()
        });
    }

    /// If a process that ended (killed) left its writing mark, removes that process's temp
    /// files from `tmp/` and the shard directories (where downloads write), then its mark.
    /// Temp files of running processes are never touched; without a crash this costs one
    /// directory read. Runs when a command opens the repository and before this process
    /// writes, so that even a rerun with nothing to write leaves no leftovers.
    pub fn recover(&self) {
        let kind = crate::fs::atomic::TEMP_KIND;
        crate::fs::stale::remove_ended_writers_temps(&self.tmp, kind, || {
            let in_shards = crate::store::shards::walk(&self.objects).unwrap_or_default();
            in_shards.into_iter().map(|e| (e.name, e.path)).collect()
        });
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn objects_dir(&self) -> &Path {
        &self.objects
    }

    pub fn tmp_dir(&self) -> &Path {
        &self.tmp
    }

    pub fn object_path(&self, oid: &Oid) -> PathBuf {
        oid.path_in(&self.objects)
    }

    /// Whether an object of the right size is present (no content check).
    pub fn contains(&self, oid: &Oid, size: u64) -> bool {
        let dir = match self.objects_dir.get() {
            Some(dir) => Some(dir),
            None => Dir::open(&self.objects).ok().map(|d| self.objects_dir.get_or_init(|| d)),
        };
        let found = match dir {
            Some(dir) => dir.stat(oid.shard_path().as_bytes(), true).map(|s| s.size),
            None => fs::metadata(self.object_path(oid)).map(|m| m.len()),
        };
        found.is_ok_and(|n| n == size)
    }

    /// A new temp file for an object that is about to be written.
    pub fn begin(&self) -> Result<AtomicFile, StoreError> {
        self.writing();
        AtomicFile::create(&self.tmp).map_err(|e| StoreError::io(&self.tmp, e))
    }

    /// A new temp file for the object `oid`, in the directory it will be renamed into (as
    /// git does for loose objects): the rename then stays within one directory, where a rename
    /// from `tmp/` takes the file system's rename lock and `tmp/`'s lock, which parallel
    /// downloads of many small objects otherwise queue on.
    pub fn begin_for(&self, oid: &Oid) -> Result<AtomicFile, StoreError> {
        self.writing();
        let path = self.object_path(oid);
        let dir = path.parent().unwrap_or(&self.objects);
        AtomicFile::create(dir).map_err(|e| StoreError::io(dir, e))
    }

    /// The file `src` as a temp of this cache by a hard link, to be checked and placed by
    /// [`Store::commit`]; `None` where it cannot be linked (see [`AtomicFile::link`]).
    pub fn begin_link(&self, src: &Path) -> Result<Option<AtomicFile>, StoreError> {
        self.writing();
        AtomicFile::link(&self.tmp, src).map_err(|e| StoreError::io(src, e))
    }

    /// Streams `reader` into the cache; returns the oid and size of what was read.
    pub fn insert_reader(&self, reader: impl Read) -> Result<(Oid, u64), StoreError> {
        let mut file = self.begin()?;
        file.copy_from(reader).map_err(|e| StoreError::io(&self.tmp, e))?;
        self.commit(file, None)
    }

    /// Stores `bytes` (already in memory) in the cache; returns their oid and size.
    pub fn insert_bytes(&self, bytes: &[u8]) -> Result<(Oid, u64), StoreError> {
        let mut file = self.begin()?;
        file.write_all(bytes).map_err(|e| StoreError::io(&self.tmp, e))?;
        self.commit(file, None)
    }

    /// Moves a fully written temp file into place, checking it against `expect` if given.
    pub fn commit(
        &self,
        file: AtomicFile,
        expect: Option<(Oid, u64)>,
    ) -> Result<(Oid, u64), StoreError> {
        let (oid, size) = file.digest();
        let dest = self.object_path(&oid);
        if let Some(meta) = file.commit(&dest, expect, false)? {
            self.verified.record_meta(&oid, &meta);
        } else if let Some(meta) = freshen(&dest) {
            self.verified.record_meta(&oid, &meta);
        } else {
            self.verified.record(&oid, &dest);
        }
        Ok((oid, size))
    }

    /// Opens an object for reading after checking its size and content (see module doc).
    /// The content checked is the opened file's, so a copy another process puts in place
    /// meanwhile can never pass for it.
    pub fn open_verified(&self, oid: &Oid, size: u64) -> Result<(fs::File, PathBuf), StoreError> {
        let path = self.object_path(oid);
        let Some((file, meta)) = open(&path)? else {
            return Err(StoreError::Missing { oid: *oid });
        };
        if meta.len() != size {
            // Blame the pointer when the object is intact: it serves other files.
            if self.intact(oid, &path, &file, &meta)? {
                return Err(StoreError::WrongSize {
                    oid: *oid,
                    expected: size,
                    actual: meta.len(),
                });
            }
            let reason = format!("size is {} bytes, expected {size}", meta.len());
            return Err(self.quarantine(oid, reason, &meta));
        }
        if !self.intact(oid, &path, &file, &meta)? {
            return Err(self.quarantine(oid, "its content hashes to another id".into(), &meta));
        }
        io::Seek::seek(&mut &file, io::SeekFrom::Start(0)).map_err(|e| StoreError::io(&path, e))?;
        Ok((file, path))
    }

    /// Whether the opened object `file` (with `meta`) holds the bytes of `oid`: the record of
    /// its last check says so, or its hash does now (then recorded).
    fn intact(
        &self,
        oid: &Oid,
        path: &Path,
        file: &fs::File,
        meta: &fs::Metadata,
    ) -> Result<bool, StoreError> {
        if self.verified.trusted(oid, meta) {
            return Ok(true);
        }
        let (actual, _) = hash_reader(file).map_err(|e| StoreError::io(path, e))?;
        if actual == *oid {
            self.verified.record_meta(oid, meta);
        }
        Ok(actual == *oid)
    }

    /// The size of `oid` in the cache when it is there and intact; a corrupt object is
    /// quarantined. For pointers whose size disagrees with the object they name.
    pub fn intact_size(&self, oid: &Oid) -> Option<u64> {
        let path = self.object_path(oid);
        let (file, meta) = open(&path).ok()??;
        match self.intact(oid, &path, &file, &meta) {
            Ok(true) => Some(meta.len()),
            Ok(false) => {
                let _ = self.quarantine(oid, "its content hashes to another id".into(), &meta);
                None
            }
            Err(_) => None,
        }
    }

    /// The real size of the object a pointer of `size` bytes names, when the cache holds that
    /// object intact with another size (the pointer is then wrong); `None` otherwise.
    pub fn wrong_size(&self, oid: &Oid, size: u64) -> Option<u64> {
        if self.contains(oid, size) {
            return None;
        }
        self.intact_size(oid).filter(|actual| *actual != size)
    }

    /// Whether the cache holds the object a pointer of `size` bytes names, even when the
    /// pointer's size is wrong (reading it with that size then says so): such a file needs
    /// no download.
    pub fn holds(&self, oid: &Oid, size: u64) -> bool {
        self.contains(oid, size) || self.wrong_size(oid, size).is_some()
    }

    /// Re-hashes an object regardless of records (for `fsck`).
    pub fn check(&self, oid: &Oid) -> Result<u64, StoreError> {
        let path = self.object_path(oid);
        let Some((file, meta)) = open(&path)? else {
            return Err(StoreError::Missing { oid: *oid });
        };
        let (actual, size) = hash_reader(&file).map_err(|e| StoreError::io(&path, e))?;
        if actual != *oid {
            return Err(self.quarantine(oid, format!("content hashes to {actual}"), &meta));
        }
        self.verified.record_meta(oid, &meta);
        Ok(size)
    }

    /// Every object file name under `objects/` (for fsck and gc).
    pub fn list(&self) -> io::Result<Vec<Oid>> {
        Ok(crate::store::shards::walk(&self.objects)?
            .into_iter()
            .filter_map(|e| Oid::from_hex(&e.name).ok())
            .collect())
    }

    /// Moves the object file found bad (`examined`) to `quarantine/`. Another process may
    /// have put a good copy in its place since it was examined: what was moved is then not
    /// the bad file, and goes back (unless yet another copy is there already).
    fn quarantine(&self, oid: &Oid, reason: String, examined: &fs::Metadata) -> StoreError {
        let src = self.object_path(oid);
        let dir = self.root.join("quarantine");
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let dest = dir.join(format!("{oid}.{stamp}"));
        let moved = fs::create_dir_all(&dir).and_then(|_| fs::rename(&src, &dest)).is_ok();
        let newer = |m: fs::Metadata| m.ino() != examined.ino() || m.dev() != examined.dev();
        if moved && fs::metadata(&dest).is_ok_and(newer) {
            let _ = fs::hard_link(&dest, &src);
            let _ = fs::remove_file(&dest);
            return StoreError::Corrupt { oid: *oid, reason, quarantined: src };
        }
        let quarantined = if moved { dest } else { src };
        StoreError::Corrupt { oid: *oid, reason, quarantined }
    }
}

/// Opens the file at `path` with its metadata; `None` when there is no such file.
fn open(path: &Path) -> Result<Option<(fs::File, fs::Metadata)>, StoreError> {
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(path, e)),
    };
    let meta = file.metadata().map_err(|e| StoreError::io(path, e))?;
    Ok(Some((file, meta)))
}

/// Sets the modification time of an object that was stored again to now, as git does for its
/// loose objects, so that `git data gc` counts its age from its last use. An object hard-linked
/// into a work tree is left alone (its mtime is the work-tree file's, which git's index
/// records): a work tree that uses it already keeps it. Best effort: a shared cache owned by
/// someone else refuses, and the object then keeps its age. Returns the object's metadata
/// after the change (from the same open file), `None` when it could not be opened or read.
fn freshen(path: &Path) -> Option<fs::Metadata> {
    let file = fs::File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    if meta.nlink() != 1 || file.set_modified(std::time::SystemTime::now()).is_err() {
        return Some(meta);
    }
    file.metadata().ok()
}

#[cfg(test)]
mod tests;
