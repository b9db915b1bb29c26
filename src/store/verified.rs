//! The record of verified objects (`<cache>/verified.log`): the stat an object had when its
//! content was last hashed, so an unchanged object is served without hashing it again.
//!
//! Invariants: a record is trusted only while the object's size, mtime and inode are
//! unchanged; every write to the log is best effort, since a lost record costs one more hash
//! and never a wrong answer; the log is compacted when re-verifications have doubled it.

use crate::fs::stat::FileStat;
use crate::oid::Oid;
use crate::store::state::log::{RecordLog, worth_compacting};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const VERIFIED_RECORD: usize = 32 + 8 * 4;

pub(super) struct Verified {
    path: PathBuf,
    map: Mutex<Option<HashMap<Oid, FileStat>>>,
    /// The log opened for appending, once per process.
    out: Mutex<Option<fs::File>>,
}

impl Verified {
    pub(super) fn new(path: PathBuf) -> Self {
        Verified { path, map: Mutex::new(None), out: Mutex::new(None) }
    }

    fn log(&self) -> RecordLog {
        RecordLog::new(self.path.clone())
    }

    /// Whether the object was verified before and its file has not changed since: same
    /// size, modification time and inode. Not the ctime: linking an object into the work
    /// tree (link mode `hardlink`) and git removing that link change it on every switch,
    /// while the read-only object's content stays what was verified.
    pub(super) fn trusted(&self, oid: &Oid, meta: &fs::Metadata) -> bool {
        let stat = FileStat::from_metadata(meta);
        self.recorded(oid).is_some_and(|r| {
            r.size == stat.size && r.mtime_ns == stat.mtime_ns && r.ino == stat.ino
        })
    }

    fn recorded(&self, oid: &Oid) -> Option<FileStat> {
        let mut guard = self.map.lock().ok()?;
        let map = guard.get_or_insert_with(|| self.load());
        map.get(oid).copied()
    }

    fn load(&self) -> HashMap<Oid, FileStat> {
        let mut map = HashMap::new();
        let log = self.log();
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
                self.compact(&log, &map);
            }
        }
        map
    }

    /// Rewrites the verified log with one record per object when re-verifications have
    /// doubled it. Best effort, like every record: an append another process makes to the
    /// old file meanwhile is lost, which costs that process's object one more hash later.
    fn compact(&self, log: &RecordLog, map: &HashMap<Oid, FileStat>) {
        let records: Vec<Vec<u8>> =
            map.iter().map(|(oid, stat)| verified_record(oid, stat)).collect();
        if log.rewrite(records.iter().map(Vec::as_slice)).is_ok()
            && let Ok(mut out) = self.out.lock()
        {
            *out = None; // an open handle points at the replaced file
        }
    }

    /// Remembers the stat of an object whose content was just checked.
    pub(super) fn record(&self, oid: &Oid, path: &Path) {
        if let Ok(meta) = fs::metadata(path) {
            self.record_meta(oid, &meta);
        }
    }

    pub(super) fn record_meta(&self, oid: &Oid, meta: &fs::Metadata) {
        let mut stat = FileStat::from_metadata(meta);
        stat.dev = 0;
        let rec = verified_record(oid, &stat);
        // Best effort: a lost record only means one more hash later.
        if let Ok(mut out) = self.out.lock() {
            if out.is_none() {
                *out = self.log().open_append().ok();
            }
            if let Some(f) = out.as_mut()
                && RecordLog::append_to(f, &rec).is_err()
            {
                *out = None;
            }
        }
        if let Ok(mut guard) = self.map.lock()
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
