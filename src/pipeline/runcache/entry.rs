//! Run-cache entries: what a stage with a given run key wrote, and where entries are kept in
//! this repository (`.git/data/runs/<ab>/<key>`), with the record of those pushed to each
//! remote (`.git/data/runs/pushed/<remote>`).
//!
//! An entry is a small YAML text, the `outs` of a lock entry under a header naming its key:
//!
//! ```yaml
//! schema: git-data-run/1
//! key: <64 hex>
//! outs:
//! - path: model.pkl
//!   sha256: <64 hex>
//!   size: 52011
//! - path: report
//!   sha256: <id of the directory's manifest>
//!   size: 120
//!   nfiles: 2
//!   manifest_size: 150
//! ```
//!
//! (`size` is the files' total, as in the lock; `manifest_size` the manifest object's own, so
//! that a clone can download it by its id and size.)
//!
//! Invariants: an entry is written whole (temp, fsync, rename through `fs::textfile`), so a
//! kill leaves the old entry or the new one and no temp the next write does not remove; an
//! entry is trusted only when it parses and names the key it is stored under (a damaged or
//! misplaced one is a miss, never an error); the pushed record is a cache: lines are appended
//! after the remote holds the entry, a torn or unknown line is ignored, and losing the record
//! only means pushing again (a remote keeps what it already holds).

use crate::oid::Oid;
use crate::pipeline::lock::PathLock;
use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub(crate) const SCHEMA: &str = "git-data-run/1";

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub schema: String,
    pub key: String,
    #[serde(default)]
    pub outs: Vec<EntryOut>,
}

/// One output of an entry: its lock record, and for a directory its manifest's size.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) struct EntryOut {
    pub path: String,
    pub sha256: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfiles: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_size: Option<u64>,
}

impl EntryOut {
    pub(crate) fn new(out: &PathLock, manifest_size: Option<u64>) -> EntryOut {
        let PathLock { path, sha256, size, nfiles } = out.clone();
        EntryOut { path, sha256, size, nfiles, manifest_size }
    }

    pub(crate) fn lock(&self) -> PathLock {
        let (path, sha256) = (self.path.clone(), self.sha256.clone());
        PathLock { path, sha256, size: self.size, nfiles: self.nfiles }
    }

    /// The object the output names directly: the file, or the directory's manifest.
    pub(crate) fn object(&self) -> Option<(Oid, u64)> {
        let oid = Oid::from_hex(&self.sha256).ok()?;
        match self.nfiles {
            None => Some((oid, self.size)),
            Some(_) => Some((oid, self.manifest_size?)),
        }
    }
}

impl Entry {
    pub(crate) fn new(key: &Oid, outs: Vec<EntryOut>) -> Entry {
        Entry { schema: SCHEMA.into(), key: key.to_hex(), outs }
    }

    pub(crate) fn to_text(&self) -> String {
        // strings, numbers and lists: serde_yaml cannot fail on them
        serde_yaml::to_string(self).unwrap_or_default()
    }

    /// The entry in `bytes` if it is one of ours stored under `key`.
    pub(crate) fn parse(bytes: &[u8], key: &Oid) -> Option<Entry> {
        let entry: Entry = serde_yaml::from_slice(bytes).ok()?;
        let ids_ok = entry.outs.iter().all(|o| o.object().is_some());
        (entry.schema == SCHEMA && entry.key == key.to_hex() && ids_ok).then_some(entry)
    }
}

/// The entries of one repository: `<dir>/<ab>/<key>`.
#[derive(Clone, Debug)]
pub(crate) struct Entries {
    pub dir: PathBuf,
    /// Temps of the entries' atomic writes (the git directory's `data/tmp`).
    pub tmp: PathBuf,
}

impl Entries {
    pub(crate) fn path(&self, key: &Oid) -> PathBuf {
        let hex = key.to_hex();
        self.dir.join(&hex[..2]).join(hex)
    }

    /// The entry stored under `key`, if any and intact.
    pub(crate) fn read(&self, key: &Oid) -> Option<Entry> {
        Entry::parse(&std::fs::read(self.path(key)).ok()?, key)
    }

    /// Stores `entry` under its key, crash-safely.
    pub(crate) fn write(&self, key: &Oid, entry: &Entry) -> io::Result<()> {
        let path = self.path(key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let shared = crate::fs::textfile::Access::Shared;
        crate::fs::textfile::replace(&path, entry.to_text().as_bytes(), &self.tmp, shared)
    }

    pub(crate) fn remove(&self, key: &Oid) {
        let _ = std::fs::remove_file(self.path(key));
    }

    /// Every stored key with its file's last modification (unreadable shards are skipped).
    pub(crate) fn list(&self) -> Vec<(Oid, Option<std::time::SystemTime>)> {
        let mut out = Vec::new();
        let Ok(shards) = std::fs::read_dir(&self.dir) else { return out };
        for shard in shards.flatten() {
            let shard_name = shard.file_name().to_string_lossy().into_owned();
            if shard_name.len() != 2 {
                continue;
            }
            let Ok(files) = std::fs::read_dir(shard.path()) else { continue };
            for f in files.flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                let Ok(key) = Oid::from_hex(&name) else { continue };
                if name.starts_with(&shard_name) {
                    out.push((key, f.metadata().ok().and_then(|m| m.modified().ok())));
                }
            }
        }
        out.sort();
        out
    }

    fn pushed_path(&self, remote: &str) -> PathBuf {
        let safe: String = remote
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
            .collect();
        self.dir.join("pushed").join(safe)
    }

    /// The keys recorded as pushed to the remote `name` at `location` (a record made for
    /// another location is ignored: the remote was moved).
    pub(crate) fn pushed(&self, name: &str, location: &str) -> std::collections::HashSet<Oid> {
        let text = std::fs::read_to_string(self.pushed_path(name)).unwrap_or_default();
        let mut lines = text.split_inclusive('\n');
        if lines.next() != Some(&format!("location {location}\n")) {
            return Default::default();
        }
        lines.filter_map(|l| l.strip_suffix('\n')).filter_map(|l| Oid::from_hex(l).ok()).collect()
    }

    /// Records `keys` as pushed to the remote `name` at `location` (appended; the record is
    /// started over when it was made for another location).
    pub(crate) fn mark_pushed(&self, name: &str, location: &str, keys: &[Oid]) -> io::Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let path = self.pushed_path(name);
        let header = format!("location {location}\n");
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        let mut text: String = keys.iter().map(|k| format!("{}\n", k.to_hex())).collect();
        if !current.starts_with(&header) || !(current.is_empty() || current.ends_with('\n')) {
            // a new record, or one whose last line was torn: rewrite it whole
            let kept = if current.starts_with(&header) { &current[header.len()..] } else { "" };
            let kept: String = kept
                .lines()
                .filter(|l| Oid::from_hex(l).is_ok())
                .map(|l| format!("{l}\n"))
                .collect();
            text = format!("{header}{kept}{text}");
            let shared = crate::fs::textfile::Access::Shared;
            std::fs::create_dir_all(self.dir.join("pushed"))?;
            return crate::fs::textfile::replace(&path, text.as_bytes(), &self.tmp, shared);
        }
        let mut f = std::fs::OpenOptions::new().append(true).open(&path)?;
        f.write_all(text.as_bytes())?;
        f.sync_data()
    }
}

/// The directory of the entries of the repository whose shared data directory is `data_dir`.
pub(crate) fn entries_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("runs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_damaged_ones_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let entries = Entries { dir: dir.path().join("runs"), tmp: dir.path().join("tmp") };
        let key = Oid::of_bytes(b"key");
        assert!(entries.read(&key).is_none());
        let out = PathLock { path: "m.pkl".into(), sha256: "ab".repeat(32), size: 3, nfiles: None };
        let entry = Entry::new(&key, vec![EntryOut::new(&out, None)]);
        entries.write(&key, &entry).unwrap();
        let text = std::fs::read_to_string(entries.path(&key)).unwrap();
        let want = format!(
            "schema: git-data-run/1\nkey: {}\nouts:\n- path: m.pkl\n  sha256: {}\n  size: 3\n",
            key.to_hex(),
            "ab".repeat(32)
        );
        assert_eq!(text, want);
        assert_eq!(entries.read(&key), Some(entry.clone()));
        assert_eq!(entries.list().iter().map(|e| e.0).collect::<Vec<_>>(), [key]);
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        // stored under another key, or cut short: a miss
        let other = Oid::of_bytes(b"other");
        std::fs::create_dir_all(entries.path(&other).parent().unwrap()).unwrap();
        std::fs::write(entries.path(&other), &text).unwrap();
        assert!(entries.read(&other).is_none());
        std::fs::write(entries.path(&key), &text[..text.len() - 20]).unwrap();
        assert!(entries.read(&key).is_none());
    }

    #[test]
    fn the_pushed_record_survives_a_torn_line_and_forgets_a_moved_remote() {
        let dir = tempfile::tempdir().unwrap();
        let entries = Entries { dir: dir.path().join("runs"), tmp: dir.path().join("tmp") };
        let (a, b, c) = (Oid::of_bytes(b"a"), Oid::of_bytes(b"b"), Oid::of_bytes(b"c"));
        assert!(entries.pushed("storage", "/x").is_empty());
        entries.mark_pushed("storage", "/x", &[a]).unwrap();
        entries.mark_pushed("storage", "/x", &[b]).unwrap();
        assert_eq!(entries.pushed("storage", "/x"), [a, b].into_iter().collect());
        assert!(entries.pushed("storage", "/elsewhere").is_empty());
        // a line torn by a kill is dropped, the rest kept
        let path = entries.pushed_path("storage");
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&c.to_hex().as_bytes()[..10]).unwrap();
        assert_eq!(entries.pushed("storage", "/x"), [a, b].into_iter().collect());
        entries.mark_pushed("storage", "/x", &[c]).unwrap();
        assert_eq!(entries.pushed("storage", "/x"), [a, b, c].into_iter().collect());
    }
}
