//! An append-only file of checksummed records: the storage under every piece of local state.
//!
//! Layout: an 8-byte magic, then records of `u32 len, u32 crc32(payload), payload` (little
//! endian). Invariants: an append is one `write` on an `O_APPEND` descriptor, so concurrent
//! writers never interleave inside a record; a torn or corrupt record ends the readable part
//! (everything before it stays valid) and the next rewrite drops it. Local state is a cache:
//! losing records costs time, never data.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"gdlog\x01\0\0";
const MAX_RECORD: usize = 1 << 20;

/// A record log at a path (created on first append).
#[derive(Clone, Debug)]
pub(crate) struct RecordLog {
    path: PathBuf,
}

/// The records read from a log.
#[derive(Default)]
pub(crate) struct Records {
    data: Vec<u8>,
    spans: Vec<(usize, usize)>,
    /// Bytes after the last valid record (a torn write or damage).
    pub damaged_tail: bool,
}

impl Records {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.spans.iter().map(|&(a, b)| &self.data[a..b])
    }

    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

fn frame(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Whether a log holding `records` records for `live` distinct keys is worth rewriting: once
/// superseded records outnumber the live ones (with some slack for small logs).
pub(crate) fn worth_compacting(records: usize, live: usize) -> bool {
    records > 2 * live + 1024
}

impl RecordLog {
    pub(crate) fn new(path: impl Into<PathBuf>) -> Self {
        RecordLog { path: path.into() }
    }

    /// Reads every valid record; a missing file reads as empty.
    pub(crate) fn read(&self) -> io::Result<Records> {
        let mut data = Vec::new();
        match File::open(&self.path) {
            Ok(mut f) => {
                f.read_to_end(&mut data)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Records::default()),
            Err(e) => return Err(e),
        }
        let mut records = Records { data: Vec::new(), spans: Vec::new(), damaged_tail: false };
        if data.len() < MAGIC.len() || &data[..MAGIC.len()] != MAGIC {
            records.damaged_tail = !data.is_empty();
            return Ok(records);
        }
        let mut pos = MAGIC.len();
        while pos < data.len() {
            let Some(header) = data.get(pos..pos + 8) else { break };
            let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
            let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            let start = pos + 8;
            let Some(payload) = data.get(start..start + len) else { break };
            if len > MAX_RECORD || crc32fast::hash(payload) != crc {
                break;
            }
            records.spans.push((start, start + len));
            pos = start + len;
        }
        records.damaged_tail = pos < data.len();
        records.data = data;
        Ok(records)
    }

    /// Appends records with one write (creating the log if needed).
    pub(crate) fn append<'a>(
        &self,
        payloads: impl IntoIterator<Item = &'a [u8]>,
    ) -> io::Result<()> {
        let mut buf = Vec::new();
        for p in payloads {
            frame(p, &mut buf);
        }
        if buf.is_empty() {
            return Ok(());
        }
        self.create_if_missing()?;
        let mut f = OpenOptions::new().append(true).open(&self.path)?;
        f.write_all(&buf)
    }

    /// An append handle for many [`append_to`](Self::append_to) calls (creating the log if
    /// needed), so a long session opens the log once.
    pub(crate) fn open_append(&self) -> io::Result<fs::File> {
        self.create_if_missing()?;
        OpenOptions::new().append(true).open(&self.path)
    }

    /// Appends one record through a handle from [`open_append`](Self::open_append).
    pub(crate) fn append_to(file: &mut fs::File, payload: &[u8]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(payload.len() + 8);
        frame(payload, &mut buf);
        file.write_all(&buf)
    }

    /// Replaces the whole log atomically with `payloads`.
    pub(crate) fn rewrite<'a>(
        &self,
        payloads: impl IntoIterator<Item = &'a [u8]>,
    ) -> io::Result<()> {
        let mut buf = MAGIC.to_vec();
        for p in payloads {
            frame(p, &mut buf);
        }
        let dir = self.parent()?;
        let mut tmp = tempfile::Builder::new().prefix(".log-").tempfile_in(dir)?;
        tmp.write_all(&buf)?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Deletes the log (a missing log is fine).
    pub(crate) fn remove(&self) -> io::Result<()> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn parent(&self) -> io::Result<&Path> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        Ok(dir)
    }

    /// Creates the file holding just the magic, atomically: a hard link never replaces.
    fn create_if_missing(&self) -> io::Result<()> {
        if self.path.exists() {
            return Ok(());
        }
        let dir = self.parent()?;
        let mut tmp = tempfile::Builder::new().prefix(".log-").tempfile_in(dir)?;
        tmp.write_all(MAGIC)?;
        match fs::hard_link(tmp.path(), &self.path) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_read_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let log = RecordLog::new(dir.path().join("sub/x.log"));
        assert!(log.read().unwrap().is_empty());
        log.append([&b"one"[..], b"two"]).unwrap();
        log.append([&b""[..]]).unwrap();
        let r = log.read().unwrap();
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![&b"one"[..], b"two", b""]);
        assert!(!r.damaged_tail);
        log.rewrite([&b"three"[..]]).unwrap();
        assert_eq!(log.read().unwrap().iter().collect::<Vec<_>>(), vec![&b"three"[..]]);
    }

    #[test]
    fn torn_tail_keeps_earlier_records() {
        let dir = tempfile::tempdir().unwrap();
        let log = RecordLog::new(dir.path().join("x.log"));
        log.append([&b"good"[..], b"also good"]).unwrap();
        let mut f = OpenOptions::new().append(true).open(&log.path).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2, 3, 4, b'p']).unwrap();
        let r = log.read().unwrap();
        assert_eq!(r.len(), 2);
        assert!(r.damaged_tail);
    }

    #[test]
    fn flipped_byte_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let log = RecordLog::new(dir.path().join("x.log"));
        log.append([&b"first"[..], b"second"]).unwrap();
        let mut bytes = fs::read(&log.path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&log.path, &bytes).unwrap();
        let r = log.read().unwrap();
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![&b"first"[..]]);
        assert!(r.damaged_tail);
    }

    #[test]
    fn garbage_file_reads_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        fs::write(&path, b"not a log").unwrap();
        let r = RecordLog::new(&path).read().unwrap();
        assert!(r.is_empty() && r.damaged_tail);
    }
}
