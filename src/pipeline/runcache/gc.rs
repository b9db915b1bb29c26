//! Run-cache entries as `gc` roots: the objects named by the entries written in the last
//! `data.runCacheDays` days (30 by default) are kept, here and on the remote; older entries
//! are dropped, and so are remote entries that are damaged or name an object the remote no
//! longer holds (a restore would miss on them anyway).
//!
//! Invariants: an entry is kept only with every object it names (the files, a directory's
//! manifest and the files it lists), so gc never makes a kept entry point at nothing; a
//! directory's manifest missing from the cache is downloaded (verified) to learn its files;
//! on a remote, only `gc` lists entries — a lookup never does.

use super::entry::{Entries, Entry};
use super::remote::{objects_of, read_entry};
use crate::oid::Oid;
use crate::progress::Progress;
use crate::store::Store;
use crate::sync::remote::{Remote, RemoteError};
use crate::sync::transfer::Transfer;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Entries younger than this many days are roots, unless `data.runCacheDays` says otherwise.
pub(crate) const DEFAULT_DAYS: u64 = 30;

/// The entries of one place, sorted for gc.
#[derive(Default, Debug)]
pub(crate) struct Roots {
    /// Every object a kept entry names.
    pub objects: HashSet<Oid>,
    /// The kept entries, with the objects each names.
    pub kept: Vec<(Oid, Vec<Oid>)>,
    /// Entries to drop: older than the cutoff, damaged, or naming an object gone.
    pub drop: Vec<Oid>,
}

impl Roots {
    fn keep(&mut self, key: Oid, objects: Vec<(Oid, u64)>) {
        let oids: Vec<Oid> = objects.into_iter().map(|(o, _)| o).collect();
        self.objects.extend(oids.iter().copied());
        self.kept.push((key, oids));
    }

    /// Moves the kept entries naming an object outside `present` to the dropped ones.
    pub(crate) fn drop_unless_present<S: std::hash::BuildHasher>(
        &mut self,
        present: &HashSet<Oid, S>,
    ) {
        let (ok, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut self.kept)
            .into_iter()
            .partition(|(_, objects)| objects.iter().all(|o| present.contains(o)));
        self.kept = ok;
        self.drop.extend(gone.into_iter().map(|(k, _)| k));
    }
}

/// The cutoff of `days` days before now.
pub(crate) fn cutoff(days: u64) -> SystemTime {
    let age = Duration::from_secs(days.saturating_mul(86_400));
    SystemTime::now().checked_sub(age).unwrap_or(SystemTime::UNIX_EPOCH)
}

fn young(modified: Option<SystemTime>, cutoff: SystemTime) -> bool {
    modified.is_none_or(|m| m >= cutoff)
}

/// The roots of this repository's entries (the objects a young entry names whose manifests
/// are not in the cache are not known, so only their direct objects count).
pub(crate) fn local(entries: &Entries, store: &Store, cutoff: SystemTime) -> Roots {
    let mut roots = Roots::default();
    for (key, modified) in entries.list() {
        let Some(entry) = entries.read(&key) else {
            roots.drop.push(key);
            continue;
        };
        if !young(modified, cutoff) {
            roots.drop.push(key);
            continue;
        }
        let objects = objects_of(store, &entry)
            .unwrap_or_else(|| entry.outs.iter().filter_map(|o| o.object()).collect());
        roots.keep(key, objects);
    }
    roots
}

/// The roots of the entries on `remote`; `None` when it cannot list them.
pub(crate) fn remote(
    remote: &Arc<dyn Remote>,
    transfer: &Transfer,
    store: &Arc<Store>,
    cutoff: SystemTime,
) -> Result<Option<Roots>, RemoteError> {
    let Some(listed) = transfer.call(|| remote.list_runs())? else { return Ok(None) };
    let mut roots = Roots::default();
    let mut read: Vec<(Oid, Entry)> = Vec::new();
    for l in listed {
        let crate::sync::remote::Key::Run(key) = l.key else { continue };
        if !young(l.modified, cutoff) {
            roots.drop.push(key);
            continue;
        }
        match transfer.block_on(read_entry(&**remote, transfer, &key, store.tmp_dir()))? {
            Some(entry) => read.push((key, entry)),
            None => roots.drop.push(key),
        }
    }
    // the manifests of directory outputs, to learn their files
    let manifests: Vec<(Oid, u64)> = read
        .iter()
        .flat_map(|(_, e)| e.outs.iter().filter(|o| o.nfiles.is_some()).filter_map(|o| o.object()))
        .filter(|(o, s)| !store.contains(o, *s))
        .collect();
    if !manifests.is_empty() {
        let hidden = Progress::hidden();
        let _ = transfer.download_teed(remote, store, &manifests, HashMap::new(), &hidden);
    }
    for (key, entry) in read {
        match objects_of(store, &entry) {
            Some(objects) => roots.keep(key, objects),
            None => roots.drop.push(key),
        }
    }
    Ok(Some(roots))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::lock::PathLock;
    use crate::pipeline::runcache::entry::EntryOut;

    #[test]
    fn young_entries_are_roots_and_old_or_gone_ones_drop() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("cache"));
        let entries = Entries { dir: dir.path().join("runs"), tmp: dir.path().join("tmp") };
        let (oid, _) = store.insert_bytes(b"out").unwrap();
        let out = PathLock { path: "o".into(), sha256: oid.to_hex(), size: 3, nfiles: None };
        let key = Oid::of_bytes(b"k");
        entries.write(&key, &Entry::new(&key, vec![EntryOut::new(&out, None)])).unwrap();
        let mut roots = local(&entries, &store, cutoff(30));
        assert_eq!(roots.objects, [oid].into_iter().collect());
        assert!(roots.drop.is_empty());
        roots.drop_unless_present(&HashSet::new());
        assert_eq!((roots.kept.len(), roots.drop.clone()), (0, vec![key]));
        // written "in the future" of a zero-day cutoff is still young; a cutoff ahead drops it
        let ahead = SystemTime::now() + Duration::from_secs(3600);
        assert_eq!(local(&entries, &store, ahead).drop, vec![key]);
    }
}
