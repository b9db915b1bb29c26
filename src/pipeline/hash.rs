//! The object id of a stage's file or directory: a file's is the SHA-256 of its bytes (the
//! id its git-data pointer carries); a directory's is the id of its manifest, a text listing
//! one `<sha256> <size> <path>` line per file below it, sorted by path.
//!
//! A git-data pointer in the work tree (a clone that has not downloaded that file yet) has the
//! id of the data it stands for, and is flagged: a stage can be found up to date without the
//! data, but cannot run on it.
//!
//! With a [`Stats`], a file whose stat the work tree's stat cache vouches for is not read
//! (with a store, only when the store already holds its object), and a settled file hashed
//! is noted for the cache ([`super::statcache`]).
//!
//! Invariants: with a store, every byte hashed is also stored (file objects and the manifest
//! itself), so a recorded id always names objects in the cache; the manifest of the same
//! tree is the same bytes on every machine (paths `/`-separated, relative, byte-sorted).

use super::statcache::Stats;
use crate::fs::stat::FileStat;
use crate::oid::{self, Oid};
use crate::store::{Store, StoreError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What the lock file records for one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hashed {
    pub oid: Oid,
    /// Bytes of the file, or of all files of the directory.
    pub size: u64,
    /// Files in the directory; `None` for a file.
    pub nfiles: Option<u64>,
    /// The file, or a file of the directory, is a git-data pointer, not its data.
    pub pointers: bool,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum HashError {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot store {}: {source}", path.display())]
    Store { path: PathBuf, source: StoreError },
    #[error("{} has a name with a line break, which a directory manifest cannot hold", path.display())]
    Name { path: PathBuf },
}

/// The id of the file or directory at `abs`, stored into `store` when given; `None` when
/// nothing is there. Reads every byte (no stat cache).
pub(crate) fn hash(abs: &Path, store: Option<&Store>) -> Result<Option<Hashed>, HashError> {
    let (root, rel) = match (abs.parent(), abs.file_name()) {
        (Some(dir), Some(name)) => (dir, name.to_string_lossy().into_owned()),
        _ => (abs, String::new()),
    };
    hash_with(root, &rel, store, &Stats::none())
}

/// [`hash`] of the repository path `rel` under `root`, with `stats` vouching for unchanged
/// files and noting the settled files it had to read.
pub(crate) fn hash_with(
    root: &Path,
    rel: &str,
    store: Option<&Store>,
    stats: &Stats,
) -> Result<Option<Hashed>, HashError> {
    let abs = &root.join(rel);
    let io_err = |source| HashError::Io { path: abs.to_path_buf(), source };
    let observed = SystemTime::now();
    let meta = match std::fs::metadata(abs) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    if !meta.is_dir() {
        let file = Seen { rel, stat: FileStat::from_metadata(&meta), observed };
        let (oid, size, pointers) = hash_file(abs, &file, store, stats)?;
        return Ok(Some(Hashed { oid, size, nfiles: None, pointers }));
    }
    let mut files = Vec::new();
    walk(abs, "", observed, &mut files)?;
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut manifest = String::new();
    let (mut total, mut pointers) = (0, false);
    let base = rel.trim_end_matches('/');
    for (name, stat, observed) in &files {
        let key = match base {
            "" | "." => name.clone(),
            base => format!("{base}/{name}"),
        };
        let file = Seen { rel: &key, stat: *stat, observed: *observed };
        let (oid, size, pointer) = hash_file(&abs.join(name), &file, store, stats)?;
        total += size;
        pointers |= pointer;
        manifest.push_str(&format!("{} {size} {name}\n", oid.to_hex()));
    }
    let oid = match store {
        Some(store) => {
            store
                .insert_bytes(manifest.as_bytes())
                .map_err(|source| HashError::Store { path: abs.to_path_buf(), source })?
                .0
        }
        None => Oid::of_bytes(manifest.as_bytes()),
    };
    Ok(Some(Hashed { oid, size: total, nfiles: Some(files.len() as u64), pointers }))
}

/// Whether the file at `abs`, or a file of the directory at `abs`, is a git-data pointer;
/// only files small enough to be one are read.
pub(crate) fn holds_pointer(abs: &Path) -> Result<bool, HashError> {
    let is_pointer = |path: &Path| {
        crate::git::worktree::read_small(path)
            .is_some_and(|bytes| crate::pointer::Pointer::parse(&bytes).is_ok())
    };
    match std::fs::metadata(abs) {
        Ok(meta) if meta.is_dir() => {
            let mut files = Vec::new();
            walk(abs, "", SystemTime::now(), &mut files)?;
            Ok(files.iter().any(|(name, ..)| is_pointer(&abs.join(name))))
        }
        Ok(_) => Ok(is_pointer(abs)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(HashError::Io { path: abs.to_path_buf(), source }),
    }
}

/// A file as its stat was taken: repository path, stat, and a moment before the stat.
struct Seen<'a> {
    rel: &'a str,
    stat: FileStat,
    observed: SystemTime,
}

/// A file's id and size, and whether it is a pointer (then the id and size of its data).
fn hash_file(
    path: &Path,
    seen: &Seen<'_>,
    store: Option<&Store>,
    stats: &Stats,
) -> Result<(Oid, u64, bool), HashError> {
    let io_err = |source| HashError::Io { path: path.to_path_buf(), source };
    let size = seen.stat.size;
    if let Some(oid) = stats.lookup(seen.rel, &seen.stat)
        && store.is_none_or(|s| s.contains(&oid, size))
    {
        return Ok((oid, size, false));
    }
    let Some(store) = store else {
        if size < crate::pointer::MAX_POINTER_SIZE as u64 {
            let bytes = std::fs::read(path).map_err(io_err)?;
            if let Ok(p) = crate::pointer::Pointer::parse(&bytes) {
                return Ok((p.oid, p.size, true));
            }
            let oid = Oid::of_bytes(&bytes);
            if bytes.len() as u64 == size {
                stats.note(seen.rel, &seen.stat, seen.observed, oid);
            }
            return Ok((oid, bytes.len() as u64, false));
        }
        let (oid, read) = oid::hash_file(path).map_err(io_err)?;
        if read == size {
            stats.note(seen.rel, &seen.stat, seen.observed, oid);
        }
        return Ok((oid, read, false));
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let (oid, read) = store
        .insert_reader(file)
        .map_err(|source| HashError::Store { path: path.to_path_buf(), source })?;
    // a small file could be a pointer, whose id the cache must not stand for: the no-store
    // path, which tells them apart, notes it
    if read == size && read >= crate::pointer::MAX_POINTER_SIZE as u64 {
        stats.note(seen.rel, &seen.stat, seen.observed, oid);
    }
    Ok((oid, read, false))
}

/// Every file below `dir`, as `/`-separated paths after `prefix`, with its stat.
fn walk(
    dir: &Path,
    prefix: &str,
    observed: SystemTime,
    out: &mut Vec<(String, FileStat, SystemTime)>,
) -> Result<(), HashError> {
    let io_err = |source| HashError::Io { path: dir.to_path_buf(), source };
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.contains('\n') {
            return Err(HashError::Name { path: entry.path() });
        }
        let rel = format!("{prefix}{name}");
        let meta = std::fs::metadata(entry.path()).map_err(io_err)?;
        if meta.is_dir() {
            walk(&entry.path(), &format!("{rel}/"), observed, out)?;
        } else {
            out.push((rel, FileStat::from_metadata(&meta), observed));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_directories_and_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("out");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("b.txt"), b"bee").unwrap();
        std::fs::write(d.join("sub/a.txt"), b"a").unwrap();
        let file = hash(&d.join("b.txt"), None).unwrap().unwrap();
        assert_eq!((file.oid, file.size, file.nfiles), (Oid::of_bytes(b"bee"), 3, None));
        assert!(!file.pointers);
        let manifest = format!(
            "{} 3 b.txt\n{} 1 sub/a.txt\n",
            Oid::of_bytes(b"bee").to_hex(),
            Oid::of_bytes(b"a").to_hex()
        );
        let store = Store::new(dir.path().join("cache"));
        let stored = hash(&d, Some(&store)).unwrap().unwrap();
        let want = Hashed {
            oid: Oid::of_bytes(manifest.as_bytes()),
            size: 4,
            nfiles: Some(2),
            pointers: false,
        };
        assert_eq!(stored, want);
        assert_eq!(std::fs::read(store.object_path(&stored.oid)).unwrap(), manifest.as_bytes());
        assert_eq!(std::fs::read(store.object_path(&Oid::of_bytes(b"a"))).unwrap(), b"a");
        assert_eq!(hash(&d, None).unwrap(), Some(stored));
        assert_eq!(hash(&dir.path().join("missing"), None).unwrap(), None);
        // a pointer where the data should be: the data's id, flagged
        let pointer = crate::pointer::Pointer::new(Oid::of_bytes(b"a"), 1).encode();
        std::fs::write(d.join("sub/a.txt"), &pointer).unwrap();
        let seen = hash(&d, None).unwrap().unwrap();
        assert_eq!((seen.oid, seen.pointers), (want.oid, true));
        let file = hash(&d.join("sub/a.txt"), None).unwrap().unwrap();
        assert_eq!((file.oid, file.size, file.pointers), (Oid::of_bytes(b"a"), 1, true));
    }
}
