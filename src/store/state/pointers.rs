//! The pointer blobs already read: git blob id → (oid, size), so `git data status` does not
//! look up, inflate and parse one git object per tracked file on every run.
//!
//! Invariants: a blob's content never changes under its id, so a record can never go stale;
//! only blobs that parsed as valid pointers are recorded (by `git data add`, which wrote
//! them, and by status, which read them). A record whose id has another length than the
//! repository's hash is ignored.

use super::log::{RecordLog, worth_compacting};
use crate::oid::Oid;
use crate::pointer::Pointer;
use foldhash::HashMap;
use gix::ObjectId;
use std::path::Path;
use std::sync::Mutex;

const FIXED: usize = 32 + 8;

/// Blob id → pointer, loaded once per command.
pub(crate) struct PointerIds {
    log: RecordLog,
    map: HashMap<ObjectId, Pointer>,
    records: usize,
    /// Found by this process, written by [`PointerIds::save`].
    new: Mutex<Vec<(ObjectId, Pointer)>>,
}

fn encode(id: &ObjectId, p: &Pointer) -> Vec<u8> {
    let mut rec = Vec::with_capacity(FIXED + id.as_bytes().len());
    rec.extend_from_slice(p.oid.as_bytes());
    super::put_u64(&mut rec, p.size);
    rec.extend_from_slice(id.as_bytes());
    rec
}

fn decode(rec: &[u8]) -> Option<(ObjectId, Pointer)> {
    let oid: [u8; 32] = rec.get(..32)?.try_into().ok()?;
    let size = super::get_u64(rec, 32)?;
    let id = ObjectId::try_from(rec.get(FIXED..)?).ok()?;
    Some((id, Pointer::new(Oid::from_bytes(oid), size)))
}

impl PointerIds {
    /// Loads the record at `path` (missing or damaged reads as empty, or up to the damage).
    pub(crate) fn load(path: &Path) -> Self {
        let log = RecordLog::new(path);
        let mut map = HashMap::default();
        let mut records = 0;
        if let Ok(recs) = log.read() {
            map.reserve(recs.len());
            for (id, p) in recs.iter().filter_map(decode) {
                map.insert(id, p);
                records += 1;
            }
        }
        PointerIds { log, map, records, new: Mutex::new(Vec::new()) }
    }

    /// The pointer blob `id` holds, if it was recorded.
    pub(crate) fn get(&self, id: &ObjectId) -> Option<Pointer> {
        self.map.get(id).copied()
    }

    /// Notes a pointer read from git (kept until [`PointerIds::save`]; callable from workers).
    pub(crate) fn note(&self, id: ObjectId, p: Pointer) {
        if let Ok(mut new) = self.new.lock() {
            new.push((id, p));
        }
    }

    /// Appends what was noted; rewrites the record with `live` alone when most records are
    /// for blobs no longer asked about (`live`: every id a full run looked up).
    pub(crate) fn save(mut self, live: Option<&[ObjectId]>) -> std::io::Result<()> {
        let new = std::mem::take(self.new.get_mut().map_err(|_| std::io::ErrorKind::Other)?);
        for (id, p) in &new {
            self.map.insert(*id, *p);
        }
        if let Some(live) = live
            && worth_compacting(self.records + new.len(), live.len())
        {
            let keep: Vec<Vec<u8>> =
                live.iter().filter_map(|id| self.map.get(id).map(|p| encode(id, p))).collect();
            return self.log.rewrite(keep.iter().map(Vec::as_slice));
        }
        if new.is_empty() {
            return Ok(());
        }
        let recs: Vec<Vec<u8>> = new.iter().map(|(id, p)| encode(id, p)).collect();
        self.log.append(recs.iter().map(Vec::as_slice))
    }

    /// Records pointers just written to git (by `git data add`).
    pub(crate) fn record(path: &Path, written: &[(ObjectId, Pointer)]) -> std::io::Result<()> {
        let recs: Vec<Vec<u8>> = written.iter().map(|(id, p)| encode(id, p)).collect();
        RecordLog::new(path).append(recs.iter().map(Vec::as_slice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId::from_bytes_or_panic(&[n; 20])
    }

    #[test]
    fn round_trips_and_compacts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pointers.log");
        let p = |n: u8| Pointer::new(Oid::from_bytes([n; 32]), n as u64 * 1000);
        PointerIds::record(&path, &[(id(1), p(1))]).unwrap();
        let ids = PointerIds::load(&path);
        assert_eq!(ids.get(&id(1)), Some(p(1)));
        assert_eq!(ids.get(&id(2)), None);
        ids.note(id(2), p(2));
        ids.save(None).unwrap();
        let ids = PointerIds::load(&path);
        assert_eq!((ids.get(&id(1)), ids.get(&id(2))), (Some(p(1)), Some(p(2))));
        // Past the compaction threshold, a full run keeps only the live ids.
        let many: Vec<(ObjectId, Pointer)> = (0..1100u32)
            .map(|i| {
                let mut b = [0u8; 20];
                b[..4].copy_from_slice(&i.to_le_bytes());
                (ObjectId::from_bytes_or_panic(&b), p(3))
            })
            .collect();
        PointerIds::record(&path, &many).unwrap();
        PointerIds::load(&path).save(Some(&[id(2)])).unwrap();
        let ids = PointerIds::load(&path);
        assert_eq!((ids.get(&id(1)), ids.get(&id(2))), (None, Some(p(2))));
        assert_eq!(ids.records, 1);
    }
}
