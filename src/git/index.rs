//! Refreshes the stat data of index entries for files git-data wrote, so `git status` sees
//! them as clean without running the clean filter over their content again.
//!
//! How: under git's own lock protocol (`index.lock`), read the index, patch the stat fields
//! of the named stage-0 entries in place, recompute the trailing checksum and rename the lock
//! over the index. Entry sizes never change, so every other byte (extensions included: cache
//! tree, untracked cache, fsmonitor, end-of-index offsets) is kept exactly. An entry is only
//! touched when its blob id is still the pointer we expect. Index versions 2, 3 and 4 are
//! read; a split index (`link` extension) is not patched and the caller falls back to
//! `git update-index --refresh`. Files must be settled before this runs (see
//! [`crate::fs::stat::wait_until_settled`]) so git does not see them as racily clean.

use crate::fs::stat::FileStat;
use crate::fs::sys;
use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One entry to refresh: its path, the blob id the entry must still have, the new stat.
pub(crate) struct StatUpdate {
    pub path: Vec<u8>,
    pub blob: Vec<u8>,
    pub stat: FileStat,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum IndexError {
    #[error("the index at {} is locked by another git process (index.lock exists)", .0.display())]
    Locked(PathBuf),
    #[error("the index uses a split index; refresh it with git")]
    SplitIndex,
    #[error("unsupported or damaged index: {0}")]
    Format(String),
    #[error("index I/O error: {0}")]
    Io(#[from] io::Error),
}

/// Patches the entries of `updates` in the index at `index_path`; returns how many changed.
pub(crate) fn refresh(
    index_path: &Path,
    hash_kind: gix::hash::Kind,
    updates: &[StatUpdate],
    wait: Duration,
) -> Result<usize, IndexError> {
    if updates.is_empty() {
        return Ok(0);
    }
    let lock_path = index_path.with_extension("lock");
    // git removes its own locks on a fatal signal; a lock left behind blocks every later git
    // command (a rerun then finishes the work, see `materialize::journal::consume`)
    sys::install_lock_removal();
    let lock = acquire(&lock_path, wait)?;
    let held = sys::remove_on_signal(&lock_path);
    let result = patch_and_write(index_path, hash_kind, updates, lock);
    if result.is_err() {
        let _ = fs::remove_file(&lock_path);
    }
    drop(held);
    result
}

fn acquire(lock_path: &Path, wait: Duration) -> Result<fs::File, IndexError> {
    let start = Instant::now();
    loop {
        match fs::OpenOptions::new().write(true).create_new(true).open(lock_path) {
            Ok(f) => return Ok(f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && start.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(IndexError::Locked(lock_path.with_extension("")));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn patch_and_write(
    index_path: &Path,
    kind: gix::hash::Kind,
    updates: &[StatUpdate],
    mut lock: fs::File,
) -> Result<usize, IndexError> {
    let mut data = fs::read(index_path)?;
    let by_path: HashMap<&[u8], &StatUpdate> =
        updates.iter().map(|u| (u.path.as_slice(), u)).collect();
    let hash_len = kind.len_in_bytes();
    let offsets = entry_offsets(&data, hash_len)?;
    let mut changed = 0;
    for (offset, path) in offsets.entries {
        let Some(update) = by_path.get(path.as_slice()) else { continue };
        let oid_at = offset + 40;
        let flags = u16::from_be_bytes([data[oid_at + hash_len], data[oid_at + hash_len + 1]]);
        let stage = (flags >> 12) & 3;
        if stage != 0 || data[oid_at..oid_at + hash_len] != update.blob[..] {
            continue;
        }
        let s = &update.stat;
        let fields = [
            (s.ctime_ns.div_euclid(1_000_000_000)) as u32,
            (s.ctime_ns.rem_euclid(1_000_000_000)) as u32,
            (s.mtime_ns.div_euclid(1_000_000_000)) as u32,
            (s.mtime_ns.rem_euclid(1_000_000_000)) as u32,
            s.dev as u32,
            s.ino as u32,
        ];
        let before = data[offset..offset + 40].to_vec();
        for (i, v) in fields.iter().enumerate() {
            data[offset + 4 * i..offset + 4 * i + 4].copy_from_slice(&v.to_be_bytes());
        }
        // mode (offset + 24) is left as git wrote it
        for (i, v) in [s.uid, s.gid, s.size as u32].iter().enumerate() {
            let at = offset + 28 + 4 * i;
            data[at..at + 4].copy_from_slice(&v.to_be_bytes());
        }
        if data[offset..offset + 40] != before[..] {
            changed += 1;
        }
    }
    if changed == 0 {
        drop(lock);
        fs::remove_file(index_path.with_extension("lock"))?;
        return Ok(0);
    }
    let body_len = data.len() - hash_len;
    if data[body_len..].iter().any(|b| *b != 0) {
        // index.skipHash leaves the trailer zero; otherwise it is the hash of the body
        let mut hasher = gix::hash::hasher(kind);
        hasher.update(&data[..body_len]);
        let digest = hasher.try_finalize().map_err(|e| IndexError::Format(e.to_string()))?;
        data[body_len..].copy_from_slice(digest.as_bytes());
    }
    lock.write_all(&data)?;
    drop(lock);
    fs::rename(index_path.with_extension("lock"), index_path)?;
    Ok(changed)
}

struct Offsets {
    entries: Vec<(usize, Vec<u8>)>,
}

fn format(msg: &str) -> IndexError {
    IndexError::Format(msg.to_string())
}

/// Finds the byte offset and path of every entry (and rejects split indexes).
fn entry_offsets(data: &[u8], hash_len: usize) -> Result<Offsets, IndexError> {
    if data.len() < 12 + hash_len || &data[..4] != b"DIRC" {
        return Err(format("missing DIRC signature"));
    }
    let be32 = |at: usize| -> Result<u32, IndexError> {
        data.get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| format("truncated"))
    };
    let version = be32(4)?;
    if !(2..=4).contains(&version) {
        return Err(IndexError::Format(format!("index version {version}")));
    }
    let count = be32(8)? as usize;
    let end = data.len() - hash_len;
    let mut entries = Vec::with_capacity(count);
    let mut pos = 12;
    let mut previous: Vec<u8> = Vec::new();
    for _ in 0..count {
        let fixed = 40 + hash_len + 2;
        if pos + fixed > end {
            return Err(format("truncated entry"));
        }
        let flags = u16::from_be_bytes([data[pos + 40 + hash_len], data[pos + 41 + hash_len]]);
        let extended = flags & 0x4000 != 0;
        let name_at = pos + fixed + if extended { 2 } else { 0 };
        let path;
        let next;
        if version == 4 {
            let (strip, after) = varint(data, name_at).ok_or_else(|| format("bad path prefix"))?;
            let nul = memchr(data, after, end).ok_or_else(|| format("unterminated path"))?;
            let keep =
                previous.len().checked_sub(strip).ok_or_else(|| format("bad path prefix"))?;
            let mut p = previous[..keep].to_vec();
            p.extend_from_slice(&data[after..nul]);
            path = p;
            next = nul + 1;
        } else {
            let nul = memchr(data, name_at, end).ok_or_else(|| format("unterminated path"))?;
            path = data[name_at..nul].to_vec();
            let entry_len = (name_at - pos) + path.len();
            next = pos + ((entry_len + 8) & !7);
        }
        entries.push((pos, path.clone()));
        previous = path;
        pos = next;
    }
    // extensions: reject the split index, whose entries live elsewhere
    while pos + 8 <= end {
        let sig = &data[pos..pos + 4];
        let len = be32(pos + 4)? as usize;
        if sig == b"link" {
            return Err(IndexError::SplitIndex);
        }
        pos += 8 + len;
    }
    Ok(Offsets { entries })
}

fn memchr(data: &[u8], from: usize, end: usize) -> Option<usize> {
    data.get(from..end)?.iter().position(|b| *b == 0).map(|i| from + i)
}

/// git's offset varint (varint.c): 7 bits per byte, +1 per continuation.
fn varint(data: &[u8], mut pos: usize) -> Option<(usize, usize)> {
    let mut c = *data.get(pos)?;
    pos += 1;
    let mut val = (c & 127) as usize;
    while c & 128 != 0 {
        val = val.checked_add(1)?.checked_mul(128)?;
        c = *data.get(pos)?;
        pos += 1;
        val += (c & 127) as usize;
    }
    Some((val, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_matches_git() {
        assert_eq!(varint(&[0x05], 0), Some((5, 1)));
        assert_eq!(varint(&[0x80, 0x00], 0), Some((128, 2)));
        assert_eq!(varint(&[0x81, 0x7f], 0), Some((383, 2)));
    }

    #[test]
    fn rejects_garbage() {
        assert!(entry_offsets(b"not an index at all, really not", 20).is_err());
    }
}
