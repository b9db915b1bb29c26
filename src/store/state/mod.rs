//! Local state under `.git/data/`: caches that make commands fast and never hold the only
//! copy of anything. Deleting any of it costs a re-hash or a remote query, never data.
//!
//! - [`log`]: the checksummed append-only record file everything below is stored in;
//! - [`statcache`]: (path, stat) → oid, so unchanged files are not hashed twice;
//! - [`known`]: the objects known to be on each remote, so push does not ask again;
//! - [`pointers`]: git blob id → pointer, so status need not read every pointer blob;
//! - [`pending`]: files the smudge filter left as pointers for the hooks to materialise.

pub(crate) mod known;
pub(crate) mod log;
pub mod pending;
pub(crate) mod pointers;
pub(crate) mod statcache;

/// Little-endian field helpers for fixed-layout records.
pub(crate) fn put_u64(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn get_u64(buf: &[u8], at: usize) -> Option<u64> {
    buf.get(at..at + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
}
