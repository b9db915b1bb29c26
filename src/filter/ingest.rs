//! Hashes and stores work-tree files on every core, for `git data add`: the result git's clean
//! filter would give (the pointer for data; the file itself when it is empty or already a
//! pointer), without git reading each file and piping it through the filter.
//!
//! Invariants: what is stored is what was hashed (bytes pass the hasher on their way into the
//! cache's temp file, see [`crate::store`]); a file whose stat changed while it was read is
//! reported and not staged, since its stat would vouch for content that was not stored; the
//! stat cache is trusted only on an exact match and only for an object present in the cache.

use crate::fs::dropbehind::{self, DropBehind};
use crate::fs::stat::FileStat;
use crate::pointer::{Cleaned, Pointer};
use crate::progress::Progress;
use crate::store::state::statcache::StatCache;
use crate::store::{Store, StoreError};
use gix::bstr::BString;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::SystemTime;

/// Files up to this size are read into memory in one go (one read, one write); larger ones
/// are streamed, hashing on the worker's core while another thread writes.
const WHOLE_FILE_MAX: u64 = 1 << 20;

/// A work-tree file to add.
pub(crate) struct Source {
    /// Repository-relative path, `/`-separated.
    pub path: BString,
    pub abs: PathBuf,
}

/// What the index entry of an added file must hold.
pub(crate) struct Ingested {
    pub path: BString,
    /// What git stores for it.
    pub cleaned: Cleaned,
    /// The file's stat, taken before it was read and unchanged after.
    pub stat: FileStat,
    /// Whether the file was settled when its stat was taken (see [`FileStat::settled_at`]).
    pub settled: bool,
    pub executable: bool,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum IngestError {
    #[error("{path} changed while it was being added; add it again once nothing writes to it")]
    Changed { path: String },
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("cannot store {path} in the cache: {source}")]
    Store { path: String, source: StoreError },
}

impl IngestError {
    pub(crate) fn store(&self) -> Option<&StoreError> {
        match self {
            IngestError::Store { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What became of one source: added, left to git (gone, not a regular file), or failed.
pub(crate) type Outcome = Result<Option<Ingested>, IngestError>;

/// Adds every file of `sources` on `threads` workers; files that vanished or are not regular
/// files are left out (git handles them). Results keep the order of `sources`.
pub(crate) fn ingest(
    store: &Store,
    cache: &StatCache,
    sources: &[Source],
    threads: usize,
    progress: &Progress,
) -> Vec<Outcome> {
    crate::par::map(sources, threads, Vec::new, |buf, source| {
        let result = one(store, cache, source, buf);
        if let Ok(Some(done)) = &result {
            progress.inc(done.stat.size);
        }
        result
    })
}

fn one(store: &Store, cache: &StatCache, source: &Source, buf: &mut Vec<u8>) -> Outcome {
    let path = || source.path.to_string();
    let io_err = |source| IngestError::Io { path: path(), source };
    let observed = SystemTime::now();
    let meta = match fs::symlink_metadata(&source.abs) {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    let before = FileStat::from_metadata(&meta);
    let done = |cleaned| Ingested {
        path: source.path.clone(),
        cleaned,
        stat: before,
        settled: before.settled_at(observed),
        executable: meta.permissions().mode() & 0o111 != 0,
    };
    if let Some(oid) = cache.lookup(&source.path, &before)
        && store.contains(&oid, before.size)
    {
        return Ok(Some(done(Cleaned::Stored(Pointer::new(oid, before.size)))));
    }
    let store_err = |source| IngestError::Store { path: path(), source };
    let file = fs::File::open(&source.abs).map_err(io_err)?;
    let cleaned = if before.size <= WHOLE_FILE_MAX {
        buf.clear();
        (&file).take(WHOLE_FILE_MAX + 1).read_to_end(buf).map_err(io_err)?;
        dropbehind::forget(&file, 0, 0);
        if Cleaned::keeps(buf) {
            Cleaned::Kept(buf.clone())
        } else {
            let (oid, size) = store.insert_bytes(buf).map_err(store_err)?;
            Cleaned::Stored(Pointer::new(oid, size))
        }
    } else {
        let (oid, size) = store.insert_reader(DropBehind::new(file)).map_err(store_err)?;
        Cleaned::Stored(Pointer::new(oid, size))
    };
    let after = fs::symlink_metadata(&source.abs).map_err(io_err)?;
    let read = match &cleaned {
        Cleaned::Stored(p) => p.size,
        Cleaned::Kept(content) => content.len() as u64,
    };
    if !FileStat::from_metadata(&after).same_content_stat(&before) || read != before.size {
        return Err(IngestError::Changed { path: path() });
    }
    Ok(Some(done(cleaned)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oid::Oid;

    fn sources(root: &std::path::Path, names: &[&str]) -> Vec<Source> {
        names.iter().map(|n| Source { path: BString::from(*n), abs: root.join(n) }).collect()
    }

    #[test]
    fn stores_data_and_passes_pointers_and_empty_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("cache"));
        let big: Vec<u8> = (0..(3u32 << 20)).map(|i| (i * 7 % 251) as u8).collect();
        fs::write(dir.path().join("big"), &big).unwrap();
        fs::write(dir.path().join("small"), b"hello").unwrap();
        fs::write(dir.path().join("empty"), b"").unwrap();
        let pointer = Pointer::new(Oid::of_bytes(b"x"), 1).encode();
        fs::write(dir.path().join("ptr"), &pointer).unwrap();
        let cache = StatCache::load(&dir.path().join("statcache"));
        let names = ["big", "small", "empty", "ptr", "missing"];
        let out = ingest(&store, &cache, &sources(dir.path(), &names), 2, &Progress::hidden());
        let out: Vec<_> = out.into_iter().map(|r| r.unwrap()).collect();
        let big_oid = Oid::of_bytes(&big);
        assert_eq!(
            out[0].as_ref().unwrap().cleaned.blob(),
            Pointer::new(big_oid, big.len() as u64).encode().into_bytes()
        );
        assert_eq!(fs::read(store.object_path(&big_oid)).unwrap(), big);
        let hello = Pointer::new(Oid::of_bytes(b"hello"), 5);
        assert_eq!(out[1].as_ref().unwrap().cleaned, Cleaned::Stored(hello));
        assert_eq!(out[2].as_ref().unwrap().cleaned, Cleaned::Kept(Vec::new()));
        assert_eq!(out[3].as_ref().unwrap().cleaned.blob(), pointer.as_bytes());
        assert!(out[3].as_ref().unwrap().cleaned.stored().is_none());
        assert!(out[4].is_none());
    }
}
