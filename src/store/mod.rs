//! The local content-addressed cache: `<root>/objects/ab/cd/<oid>`, read-only files.
//!
//! Invariants: an object appears under its name only after its bytes were hashed and found
//! equal to its name (temp file in `<root>/tmp`, or for a download in the object's own
//! directory, hash while writing, rename); an object is handed out only after a size check
//! and a content check — either a hash, or a match with the stat recorded the last time it
//! was hashed (any write or chmod changes the ctime). A corrupt object is moved to
//! `<root>/quarantine/` and reported, never served.

pub mod shards;
pub mod state;

use crate::fs::atomic::{AtomicFile, CommitError};
use crate::fs::openat::Dir;
use crate::fs::stat::FileStat;
use crate::oid::{Oid, hash_reader};
use crate::store::state::log::{RecordLog, worth_compacting};
use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

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
    verified: Mutex<Option<HashMap<Oid, FileStat>>>,
    /// `verified.log` opened for appending, once per process.
    verified_out: Mutex<Option<fs::File>>,
    /// `objects/` opened once it exists, for `contains`.
    objects_dir: OnceLock<Dir>,
    /// This process's writing mark in `tmp/`, set before its first temp file (see
    /// [`Store::writing`]).
    writing: OnceLock<Option<crate::fs::stale::WritingMark>>,
}

const VERIFIED_RECORD: usize = 32 + 8 * 4;

impl Store {
    /// A store rooted at `root` (created lazily).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Store {
            objects: root.join("objects"),
            tmp: root.join("tmp"),
            root,
            verified: Mutex::new(None),
            verified_out: Mutex::new(None),
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
            self.record_verified_meta(&oid, &meta);
        } else if let Some(meta) = freshen(&dest) {
            self.record_verified_meta(&oid, &meta);
        } else {
            self.record_verified(&oid, &dest);
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
        if self.trusted(oid, meta) {
            return Ok(true);
        }
        let (actual, _) = hash_reader(file).map_err(|e| StoreError::io(path, e))?;
        if actual == *oid {
            self.record_verified_meta(oid, meta);
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
        self.record_verified_meta(oid, &meta);
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

    fn verified_log(&self) -> RecordLog {
        RecordLog::new(self.root.join("verified.log"))
    }

    /// Whether the object was verified before and its file has not changed since: same
    /// size, modification time and inode. Not the ctime: linking an object into the work
    /// tree (link mode `hardlink`) and git removing that link change it on every switch,
    /// while the read-only object's content stays what was verified.
    fn trusted(&self, oid: &Oid, meta: &fs::Metadata) -> bool {
        let stat = FileStat::from_metadata(meta);
        self.recorded(oid).is_some_and(|r| {
            r.size == stat.size && r.mtime_ns == stat.mtime_ns && r.ino == stat.ino
        })
    }

    fn recorded(&self, oid: &Oid) -> Option<FileStat> {
        let mut guard = self.verified.lock().ok()?;
        let map = guard.get_or_insert_with(|| self.load_verified());
        map.get(oid).copied()
    }

    fn load_verified(&self) -> HashMap<Oid, FileStat> {
        let mut map = HashMap::new();
        let log = self.verified_log();
        if let Ok(records) = log.read() {
            for r in records.iter().filter(|r| r.len() == VERIFIED_RECORD) {
                let mut oid = [0u8; 32];
                oid.copy_from_slice(&r[..32]);
                let field = |i: usize| crate::store::state::get_u64(r, 32 + 8 * i).unwrap_or(0);
                let stat = FileStat {
                    size: field(0),
                    mtime_ns: field(1) as i64,
                    ctime_ns: field(2) as i64,
                    ino: field(3),
                    ..FileStat::default()
                };
                map.insert(Oid::from_bytes(oid), stat);
            }
            if records.damaged_tail || worth_compacting(records.len(), map.len()) {
                self.compact_verified(&log, &map);
            }
        }
        map
    }

    /// Rewrites the verified log with one record per object when re-verifications have
    /// doubled it. Best effort, like every record: an append another process makes to the
    /// old file meanwhile is lost, which costs that process's object one more hash later.
    fn compact_verified(&self, log: &RecordLog, map: &HashMap<Oid, FileStat>) {
        let records: Vec<Vec<u8>> =
            map.iter().map(|(oid, stat)| verified_record(oid, stat)).collect();
        if log.rewrite(records.iter().map(Vec::as_slice)).is_ok()
            && let Ok(mut out) = self.verified_out.lock()
        {
            *out = None; // an open handle points at the replaced file
        }
    }

    /// Remembers the stat of an object whose content was just checked.
    fn record_verified(&self, oid: &Oid, path: &Path) {
        if let Ok(meta) = fs::metadata(path) {
            self.record_verified_meta(oid, &meta);
        }
    }

    fn record_verified_meta(&self, oid: &Oid, meta: &fs::Metadata) {
        let mut stat = FileStat::from_metadata(meta);
        stat.dev = 0;
        let rec = verified_record(oid, &stat);
        // Best effort: a lost record only means one more hash later.
        if let Ok(mut out) = self.verified_out.lock() {
            if out.is_none() {
                *out = self.verified_log().open_append().ok();
            }
            if let Some(f) = out.as_mut()
                && RecordLog::append_to(f, &rec).is_err()
            {
                *out = None;
            }
        }
        if let Ok(mut guard) = self.verified.lock()
            && let Some(map) = guard.as_mut()
        {
            map.insert(*oid, FileStat { mode: 0, uid: 0, gid: 0, ..stat });
        }
    }
}

/// One record of the verified log: the oid, then size, mtime, ctime and inode.
fn verified_record(oid: &Oid, stat: &FileStat) -> Vec<u8> {
    let mut rec = Vec::with_capacity(VERIFIED_RECORD);
    rec.extend_from_slice(oid.as_bytes());
    for v in [stat.size, stat.mtime_ns as u64, stat.ctime_ns as u64, stat.ino] {
        crate::store::state::put_u64(&mut rec, v);
    }
    rec
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
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, SystemTime};

    #[test]
    fn storing_an_object_again_freshens_it_unless_a_work_tree_links_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("cache"));
        let old = SystemTime::now() - Duration::from_secs(30 * 86_400);
        let age = |oid: &Oid| {
            let mtime = fs::metadata(store.object_path(oid)).unwrap().modified().unwrap();
            SystemTime::now().duration_since(mtime).unwrap_or_default()
        };
        let (oid, _) = store.insert_bytes(b"model weights").unwrap();
        fs::File::open(store.object_path(&oid)).unwrap().set_modified(old).unwrap();
        assert!(age(&oid) > Duration::from_secs(29 * 86_400));
        assert_eq!(store.insert_bytes(b"model weights").unwrap().0, oid);
        assert!(age(&oid) < Duration::from_secs(3600), "stored again: fresh");
        assert_eq!(fs::read(store.object_path(&oid)).unwrap(), b"model weights");

        // hard-linked into a work tree: its times are the work-tree file's, left alone
        let (linked, _) = store.insert_bytes(b"linked data").unwrap();
        fs::hard_link(store.object_path(&linked), dir.path().join("work-file")).unwrap();
        fs::File::open(store.object_path(&linked)).unwrap().set_modified(old).unwrap();
        store.insert_bytes(b"linked data").unwrap();
        assert!(age(&linked) > Duration::from_secs(29 * 86_400));
    }

    #[test]
    fn insert_is_read_only_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let (oid, size) = store.insert_reader(&b"weights v1"[..]).unwrap();
        assert_eq!((oid, size), (Oid::of_bytes(b"weights v1"), 10));
        let path = store.object_path(&oid);
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o222, 0);
        assert_eq!(store.insert_reader(&b"weights v1"[..]).unwrap().0, oid);
        assert!(store.contains(&oid, 10));
        assert_eq!(store.list().unwrap(), vec![oid]);
        let temps = std::fs::read_dir(store.tmp_dir()).unwrap().flatten();
        let temps: Vec<_> =
            temps.filter(|e| !e.file_name().to_string_lossy().starts_with("writing-")).collect();
        assert!(temps.is_empty(), "no temp left behind: {temps:?}");
    }

    #[test]
    fn corrupt_object_is_detected_and_quarantined() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let (oid, size) = store.insert_reader(&b"0123456789"[..]).unwrap();
        let path = store.object_path(&oid);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(&path, b"0123456780").unwrap();
        let err = store.open_verified(&oid, size).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains(&oid.to_hex()));
        assert!(!path.exists(), "corrupt object is no longer served");
        assert!(matches!(store.open_verified(&oid, size), Err(StoreError::Missing { .. })));
    }

    #[test]
    fn a_wrong_size_blames_the_pointer_when_the_object_is_intact() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let (oid, _) = store.insert_reader(&b"abc"[..]).unwrap();
        let err = store.open_verified(&oid, 4).unwrap_err();
        assert!(
            matches!(err, StoreError::WrongSize { expected: 4, actual: 3, .. }),
            "{err}: the object is intact, the pointer is wrong"
        );
        assert_eq!(store.wrong_size(&oid, 4), Some(3));
        assert_eq!(store.wrong_size(&oid, 3), None);
        store.open_verified(&oid, 3).unwrap();
        // a damaged object of another size is corrupt, and quarantined
        let path = store.object_path(&oid);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(&path, b"abcd").unwrap();
        assert!(matches!(store.open_verified(&oid, 3), Err(StoreError::Corrupt { .. })));
        assert!(!path.exists());
    }

    #[test]
    fn a_good_copy_put_in_place_after_the_check_is_not_quarantined() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let (oid, _) = store.insert_bytes(b"model").unwrap();
        let path = store.object_path(&oid);
        let examined = fs::metadata(&path).unwrap(); // found bad by one process ...
        // ... while another moved it away and stored a good copy (another inode)
        fs::rename(&path, dir.path().join("elsewhere")).unwrap();
        store.insert_bytes(b"model").unwrap();
        let err = store.quarantine(&oid, "test".into(), &examined);
        assert!(matches!(err, StoreError::Corrupt { .. }));
        assert_eq!(fs::read(&path).unwrap(), b"model", "the good copy stays in place");
        assert_eq!(fs::read_dir(dir.path().join("quarantine")).unwrap().count(), 0);
        // the file that was examined is moved
        let examined = fs::metadata(&path).unwrap();
        store.quarantine(&oid, "test".into(), &examined);
        assert!(!path.exists());
    }

    #[test]
    fn verified_record_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let oid = Store::new(dir.path()).insert_reader(&b"abc"[..]).unwrap().0;
        let store = Store::new(dir.path());
        let meta = fs::metadata(store.object_path(&oid)).unwrap();
        assert!(store.trusted(&oid, &meta), "a verified, unchanged object is not hashed again");
        store.open_verified(&oid, 3).unwrap();
        // A link in the work tree (hardlink mode) moves only the ctime: still trusted.
        std::thread::sleep(crate::fs::stat::racy_margin());
        let link = dir.path().join("work-tree-copy");
        fs::hard_link(store.object_path(&oid), &link).unwrap();
        fs::remove_file(&link).unwrap();
        let meta = fs::metadata(store.object_path(&oid)).unwrap();
        assert!(store.trusted(&oid, &meta), "linking does not change the content");
        // A write to the file (its mtime moves) makes it untrusted again.
        let path = store.object_path(&oid);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&path, b"abd").unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert!(!store.trusted(&oid, &meta));
        assert!(matches!(store.open_verified(&oid, 3), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn verified_log_is_compacted_when_re_verifications_double_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let oid = store.insert_reader(&b"abc"[..]).unwrap().0;
        for _ in 0..1500 {
            store.record_verified(&oid, &store.object_path(&oid));
        }
        drop(store);
        let log = RecordLog::new(dir.path().join("verified.log"));
        assert!(log.read().unwrap().len() > 1500);
        let store = Store::new(dir.path());
        let meta = fs::metadata(store.object_path(&oid)).unwrap();
        assert!(store.trusted(&oid, &meta), "compaction keeps the record");
        assert_eq!(log.read().unwrap().len(), 1);
        // records made after the compaction go to the new file
        let other = store.insert_reader(&b"xyz"[..]).unwrap().0;
        drop(store);
        let store = Store::new(dir.path());
        let meta = fs::metadata(store.object_path(&other)).unwrap();
        assert!(store.trusted(&other, &meta));
        assert_eq!(log.read().unwrap().len(), 2);
    }
}
