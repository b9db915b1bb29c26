//! The stat cache: (path, size, mtime, ctime, inode) → oid, so an unchanged file is never
//! hashed twice.
//!
//! Invariants: an entry is recorded only for a file that was settled when its stat was taken
//! (see [`FileStat::settled_at`]) and whose stat did not change while it was hashed, so any
//! later write shows as a different stat; a lookup trusts an entry only on an exact match.

use super::log::RecordLog;
use crate::fs::stat::FileStat;
use crate::oid::Oid;
use foldhash::{HashMap, HashMapExt};
use std::path::Path;

const FIXED: usize = 32 + 8 * 4;

/// The stat cache of one work tree.
pub struct StatCache {
    log: RecordLog,
    map: HashMap<Vec<u8>, (FileStat, Oid)>,
    records: usize,
    pending: Vec<Vec<u8>>,
}

fn encode(path: &[u8], stat: &FileStat, oid: &Oid) -> Vec<u8> {
    let mut rec = Vec::with_capacity(FIXED + path.len());
    rec.extend_from_slice(oid.as_bytes());
    for v in [stat.size, stat.mtime_ns as u64, stat.ctime_ns as u64, stat.ino] {
        super::put_u64(&mut rec, v);
    }
    rec.extend_from_slice(path);
    rec
}

fn decode(rec: &[u8]) -> Option<(Vec<u8>, FileStat, Oid)> {
    if rec.len() < FIXED {
        return None;
    }
    let mut oid = [0u8; 32];
    oid.copy_from_slice(&rec[..32]);
    let f = |i: usize| super::get_u64(rec, 32 + 8 * i);
    let stat = FileStat {
        size: f(0)?,
        mtime_ns: f(1)? as i64,
        ctime_ns: f(2)? as i64,
        ino: f(3)?,
        ..FileStat::default()
    };
    Some((rec[FIXED..].to_vec(), stat, Oid::from_bytes(oid)))
}

impl StatCache {
    /// Loads the cache stored at `path` (missing or damaged reads as empty).
    pub fn load(path: &Path) -> Self {
        let log = RecordLog::new(path);
        let mut map = HashMap::new();
        let mut records = 0;
        if let Ok(recs) = log.read() {
            for (p, stat, oid) in recs.iter().filter_map(decode) {
                map.insert(p, (stat, oid));
                records += 1;
            }
            if recs.damaged_tail {
                records = usize::MAX; // force a clean rewrite on save
            }
        }
        StatCache { log, map, records, pending: Vec::new() }
    }

    /// The oid recorded for `path` if its stat still matches exactly.
    pub fn lookup(&self, path: &[u8], stat: &FileStat) -> Option<Oid> {
        let (known, oid) = self.map.get(path)?;
        known
            .same_content_stat(&FileStat { dev: 0, mode: 0, uid: 0, gid: 0, ..*stat })
            .then_some(*oid)
    }

    /// Records `path` → `oid` (kept in memory until [`StatCache::save`]).
    pub fn insert(&mut self, path: &[u8], stat: &FileStat, oid: Oid) {
        let stat = FileStat { dev: 0, mode: 0, uid: 0, gid: 0, ..*stat };
        if self.map.get(path).is_some_and(|(s, o)| *s == stat && *o == oid) {
            return;
        }
        self.pending.push(encode(path, &stat, &oid));
        self.map.insert(path.to_vec(), (stat, oid));
    }

    /// Writes new entries: appended, or the whole cache rewritten when it has grown stale.
    pub fn save(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() && self.records != usize::MAX {
            return Ok(());
        }
        let total = self.records.saturating_add(self.pending.len());
        if super::log::worth_compacting(total, self.map.len()) {
            let all: Vec<Vec<u8>> = self.map.iter().map(|(p, (s, o))| encode(p, s, o)).collect();
            self.log.rewrite(all.iter().map(Vec::as_slice))?;
            self.records = all.len();
        } else {
            self.log.append(self.pending.iter().map(Vec::as_slice))?;
            self.records = total;
        }
        self.pending.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(size: u64, ino: u64) -> FileStat {
        FileStat { size, mtime_ns: 5, ctime_ns: 6, ino, dev: 9, mode: 0o644, uid: 1, gid: 1 }
    }

    #[test]
    fn exact_match_only_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("statcache.log");
        let oid = Oid::of_bytes(b"x");
        let mut c = StatCache::load(&path);
        c.insert(b"data/a.bin", &stat(10, 1), oid);
        c.save().unwrap();
        let c = StatCache::load(&path);
        assert_eq!(c.lookup(b"data/a.bin", &stat(10, 1)), Some(oid));
        assert_eq!(c.lookup(b"data/a.bin", &stat(11, 1)), None);
        assert_eq!(c.lookup(b"data/a.bin", &stat(10, 2)), None);
        assert_eq!(c.lookup(b"data/b.bin", &stat(10, 1)), None);
    }

    #[test]
    fn rewrite_compacts_superseded_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("statcache.log");
        for i in 0..3000u64 {
            let mut c = StatCache::load(&path);
            c.insert(b"same", &stat(i, 1), Oid::of_bytes(&i.to_le_bytes()));
            c.save().unwrap();
        }
        let c = StatCache::load(&path);
        assert!(c.records < 1100, "log was compacted: {} records", c.records);
        assert_eq!(c.lookup(b"same", &stat(2999, 1)), Some(Oid::of_bytes(&2999u64.to_le_bytes())));
    }
}
