//! What keeps a no-op `repro` from reading file bytes: the work tree's stat cache (the one
//! `status` and `add` use, `<git dir>/data/statcache.log`: repository path, size, mtime,
//! ctime, inode → object id) vouches for deps and outputs whose stat is unchanged, and the
//! params files are read and parsed once per run.
//!
//! Invariants:
//! - an entry is trusted only on an exact stat match, and recorded only for a file that was
//!   settled when its stat was taken (changed at least a clock tick or two before: see
//!   [`FileStat::settled_at`]), so a same-size rewrite within the same timestamp tick as the
//!   observation (git's "racily clean" case) is never vouched for: it is hashed again;
//! - only plain files' byte hashes are recorded, never a git-data pointer's data id (a
//!   pointer is read each time: it is under 1 KiB), so every entry means the same thing to
//!   `status`, `add` and `repro`;
//! - the cache is written once at the end of the run, and only when something new was
//!   hashed; losing it costs a re-hash, never a wrong answer;
//! - a parsed params file is reused only while its stat is unchanged, so a stage that
//!   rewrites a params file is seen by the stages after it.

use crate::fs::stat::FileStat;
use crate::oid::Oid;
use crate::store::state::statcache::StatCache;
use std::path::Path;
use std::sync::Mutex;
use std::time::SystemTime;

/// A run's view of the stat cache, shared by the stage threads.
pub(crate) struct Stats {
    cache: Option<StatCache>,
    fresh: Mutex<Vec<(String, FileStat, Oid)>>,
    /// The params files, each read and parsed once per run.
    pub params: super::params::Files,
}

impl Stats {
    /// The stat cache stored at `path` (missing or damaged reads as empty).
    pub(crate) fn load(path: &Path) -> Stats {
        Stats { cache: Some(StatCache::load(path)), ..Stats::none() }
    }

    /// No cache: every file is hashed (tests, and the building blocks used alone).
    pub(crate) fn none() -> Stats {
        Stats { cache: None, fresh: Mutex::default(), params: Default::default() }
    }

    /// The id of the file at repository path `rel` if the cache vouches for `stat`.
    pub(crate) fn lookup(&self, rel: &str, stat: &FileStat) -> Option<Oid> {
        self.cache.as_ref()?.lookup(rel.as_bytes(), stat)
    }

    /// Notes that the plain file `rel`, whose stat was `stat` when observed at `observed`
    /// (a moment before the stat was taken), holds the bytes `oid`; kept only if settled.
    pub(crate) fn note(&self, rel: &str, stat: &FileStat, observed: SystemTime, oid: Oid) {
        if self.cache.is_none() || !stat.settled_at(observed) {
            return;
        }
        if let Ok(mut fresh) = self.fresh.lock() {
            fresh.push((rel.to_string(), *stat, oid));
        }
    }

    /// Writes what was noted (nothing at all when nothing new was hashed).
    pub(crate) fn save(self) -> std::io::Result<()> {
        let Some(mut cache) = self.cache else { return Ok(()) };
        let fresh = self.fresh.into_inner().unwrap_or_else(|e| e.into_inner());
        if fresh.is_empty() {
            return Ok(());
        }
        for (rel, stat, oid) in &fresh {
            cache.insert(rel.as_bytes(), stat, *oid);
        }
        cache.save()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn vouches_for_settled_files_only_and_saves_only_news() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("statcache.log");
        let f = dir.path().join("a");
        std::fs::write(&f, "x").unwrap();
        let stat = FileStat::from_metadata(&std::fs::metadata(&f).unwrap());
        let oid = Oid::of_bytes(b"x");
        let stats = Stats::load(&log);
        // observed before it settled: a same-tick rewrite could hide, so not recorded
        stats.note("a", &stat, SystemTime::now() - Duration::from_secs(5), oid);
        stats.save().unwrap();
        assert!(!log.exists(), "nothing new: nothing written");
        crate::fs::stat::wait_until_settled(stat.ctime_ns.max(stat.mtime_ns));
        let stats = Stats::load(&log);
        stats.note("a", &stat, SystemTime::now(), oid);
        stats.save().unwrap();
        let stats = Stats::load(&log);
        assert_eq!(stats.lookup("a", &stat), Some(oid));
        assert_eq!(stats.lookup("a", &FileStat { size: 2, ..stat }), None);
        assert_eq!(Stats::none().lookup("a", &stat), None);
    }
}
