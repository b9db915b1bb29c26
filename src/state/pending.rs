//! The journal of files the smudge filter left as pointers, for the hooks to materialise.
//!
//! Invariants: the filter appends one record per pointer it leaves (oid, size, path); a
//! consumer takes the whole journal by renaming it away first, so records appended meanwhile
//! go to a fresh journal and none is processed twice or lost; records it could not finish
//! are put back. An entry is only a hint: the consumer re-checks the work tree and the index.

use super::log::RecordLog;
use crate::oid::Oid;
use crate::pointer::Pointer;
use std::io;
use std::path::PathBuf;

/// One file left as a pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingFile {
    pub path: Vec<u8>,
    pub pointer: Pointer,
}

fn encode(p: &PendingFile) -> Vec<u8> {
    let mut rec = Vec::with_capacity(40 + p.path.len());
    rec.extend_from_slice(p.pointer.oid.as_bytes());
    super::put_u64(&mut rec, p.pointer.size);
    rec.extend_from_slice(&p.path);
    rec
}

fn decode(rec: &[u8]) -> Option<PendingFile> {
    let oid: [u8; 32] = rec.get(..32)?.try_into().ok()?;
    let size = super::get_u64(rec, 32)?;
    Some(PendingFile {
        path: rec.get(40..)?.to_vec(),
        pointer: Pointer::new(Oid::from_bytes(oid), size),
    })
}

/// The journal of one work tree.
pub struct Journal {
    log: RecordLog,
}

impl Journal {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Journal { log: RecordLog::new(path) }
    }

    /// Appends one entry. The journal is opened for each entry so that an entry never goes
    /// to a journal a consumer has already taken.
    pub fn record(&self, entry: &PendingFile) -> io::Result<()> {
        self.log.append([encode(entry).as_slice()])
    }

    /// Takes every entry out of the journal.
    pub fn take(&self) -> io::Result<Vec<PendingFile>> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = self.log.path();
        let taken = path.with_extension(format!("taken-{}-{nanos}", std::process::id()));
        match std::fs::rename(path, &taken) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
        let log = RecordLog::new(&taken);
        let entries = log.read()?.iter().filter_map(decode).collect();
        log.remove()?;
        Ok(entries)
    }

    /// Puts entries back (they could not be finished now).
    pub fn put_back(&self, entries: &[PendingFile]) -> io::Result<()> {
        let encoded: Vec<Vec<u8>> = entries.iter().map(encode).collect();
        self.log.append(encoded.iter().map(Vec::as_slice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> PendingFile {
        PendingFile {
            path: name.as_bytes().to_vec(),
            pointer: Pointer::new(Oid::of_bytes(name.as_bytes()), 7),
        }
    }

    #[test]
    fn record_take_put_back() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path().join("pending.log"));
        assert!(j.take().unwrap().is_empty());
        j.record(&entry("a")).unwrap();
        j.record(&entry("b")).unwrap();
        assert_eq!(j.take().unwrap(), vec![entry("a"), entry("b")]);
        assert!(j.take().unwrap().is_empty());
        j.record(&entry("c")).unwrap();
        assert_eq!(j.take().unwrap(), vec![entry("c")]);
        j.put_back(&[entry("d")]).unwrap();
        assert_eq!(j.take().unwrap(), vec![entry("d")]);
    }
}
