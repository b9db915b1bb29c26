//! The record of objects known to be on a remote, so push and status need not ask it.
//!
//! Invariants: an oid is added only after the remote confirmed it (an upload completed, a
//! download succeeded, or an existence check said yes). The record is keyed by the remote's
//! URL, so pointing a remote name elsewhere starts a fresh record. It can only go stale if
//! objects are deleted from the remote behind our back: `git data push --verify-remote`
//! re-asks the remote, `fsck --remote` forgets what it finds missing or damaged, and
//! `gc --remote` clears the record.

use super::log::RecordLog;
use crate::oid::Oid;
use foldhash::{HashSet, HashSetExt};
use std::path::Path;

/// Objects known to be present on one remote.
pub(crate) struct KnownObjects {
    log: RecordLog,
    set: HashSet<Oid>,
}

impl KnownObjects {
    /// Loads the record for the remote `name` at `url` from `dir`.
    pub(crate) fn load(dir: &Path, name: &str, url: &str) -> Self {
        let safe: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect();
        let tag = Oid::of_bytes(url.as_bytes()).short(12);
        let log = RecordLog::new(dir.join(format!("{safe}-{tag}.known")));
        let mut set = HashSet::new();
        if let Ok(records) = log.read() {
            for r in records.iter() {
                if let Ok(bytes) = <[u8; 32]>::try_from(r) {
                    set.insert(Oid::from_bytes(bytes));
                }
            }
        }
        KnownObjects { log, set }
    }

    pub(crate) fn contains(&self, oid: &Oid) -> bool {
        self.set.contains(oid)
    }

    /// Records oids as present and persists them (best effort: it is only a cache).
    pub(crate) fn add(&mut self, oids: impl IntoIterator<Item = Oid>) {
        let new: Vec<Oid> = oids.into_iter().filter(|o| self.set.insert(*o)).collect();
        let _ = self.log.append(new.iter().map(|o| &o.as_bytes()[..]));
    }

    /// Forgets specific objects (found missing on the remote).
    pub(crate) fn forget(&mut self, oids: &[Oid]) {
        if oids.iter().any(|o| self.set.remove(o)) {
            let _ = self.log.rewrite(self.set.iter().map(|o| &o.as_bytes()[..]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_per_url() {
        let dir = tempfile::tempdir().unwrap();
        let a = Oid::of_bytes(b"a");
        let mut k = KnownObjects::load(dir.path(), "storage", "/mnt/x");
        k.add([a, a]);
        assert!(KnownObjects::load(dir.path(), "storage", "/mnt/x").contains(&a));
        assert!(!KnownObjects::load(dir.path(), "storage", "/mnt/y").contains(&a));
        let mut k = KnownObjects::load(dir.path(), "storage", "/mnt/x");
        k.forget(&[a]);
        assert!(!KnownObjects::load(dir.path(), "storage", "/mnt/x").contains(&a));
    }
}
