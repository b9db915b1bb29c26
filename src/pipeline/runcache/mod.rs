//! The run cache of `git data repro`: a stage that must run is first looked up by its run key
//! ([`key`]: its commands, deps' ids, params' values and output paths); when this repository
//! or the data remote holds an entry for that key ([`entry`]) and every object it names can
//! be had, the outputs are restored from the cache ([`restore`]) and the stage's lock entry
//! is recorded as if it had run. After a stage runs, its entry is written here, and
//! `git data push` sends it to the remote after its objects ([`remote`]); `gc` keeps the
//! objects of recent entries ([`gc`]).
//!
//! Invariants: a lookup never fails a stage — a missing or damaged entry, a missing object, a
//! remote that is down are all misses (the stage runs); a restore writes nothing until every
//! object is in the cache; the lock entry of a restored stage is the one its run would have
//! written (same deps, params and output ids). Stages that run whatever they read
//! (`always_changed`, no deps and no params), stages without outputs (run for their effect)
//! and stages with `persist` outputs (their outputs depend on the previous ones) neither look
//! up nor record; `-f` runs without looking up, and records.

pub(crate) mod entry;
pub(crate) mod gc;
pub(crate) mod key;
pub(crate) mod remote;
pub(crate) mod restore;

use super::lock::{Cmd, StageLock};
use super::spec::Stage;
use super::state::Inputs;
use crate::oid::Oid;
use crate::store::Store;
use entry::{Entries, Entry, EntryOut};
use std::path::{Path, PathBuf};

/// The run cache of one `repro`.
pub(crate) struct RunCache {
    pub entries: Entries,
    /// Where restored files are written before their rename (the git directory's `data/tmp`).
    pub tmp: PathBuf,
    /// The data remote, when one is configured.
    pub remote: Option<remote::RemoteRuns>,
}

/// What a lookup gave.
pub(crate) enum Lookup {
    /// The outputs were restored; the stage's new lock entry.
    Restored(Box<StageLock>),
    /// Not in the run cache (the stage runs), with a note to show once (the remote is down).
    Miss(Option<String>),
}

impl RunCache {
    /// Whether `stage` may be restored and recorded: not when it runs whatever it reads
    /// (`always_changed`, no deps and no params), has no outputs, or a `persist` one.
    pub(crate) fn applies(stage: &Stage) -> bool {
        let runs_anyway = stage.always_changed
            || (stage.deps.is_empty() && stage.params.is_empty())
            || stage.outs.is_empty();
        !runs_anyway && stage.outs.iter().all(|o| !o.persist)
    }

    /// Looks `stage` (with inputs `now`, run key `key`) up: here, then on the remote;
    /// restores its outputs under `root` from `store` on a hit.
    pub(crate) fn lookup(
        &self,
        root: &Path,
        stage: &Stage,
        now: &Inputs,
        key: Oid,
        store: &Store,
    ) -> Lookup {
        let restored = |outs| {
            Lookup::Restored(Box::new(StageLock {
                cmd: Cmd::of(&stage.cmds),
                deps: now.deps.clone(),
                params: now.params.clone(),
                outs,
            }))
        };
        let local = self.entries.read(&key);
        if let Some(outs) = local.as_ref().and_then(|e| self.restore(root, stage, e, store)) {
            return restored(outs);
        }
        let Some(remote) = &self.remote else { return Lookup::Miss(None) };
        match remote.entry(&key) {
            // the same entry as here: its objects were just found missing
            remote::Found::Entry(e) if Some(&e) == local.as_ref() => Lookup::Miss(None),
            remote::Found::Entry(e) => {
                // kept here, and known to be on that remote
                if self.entries.write(&key, &e).is_ok() {
                    let _ = self.entries.mark_pushed(remote.name(), &remote.location(), &[key]);
                }
                self.restore(root, stage, &e, store).map_or(Lookup::Miss(None), restored)
            }
            remote::Found::Down(why) => Lookup::Miss(Some(format!(
                "the run cache on remote {} cannot be read ({why}); stages not found here run",
                remote.name()
            ))),
            remote::Found::Missing => Lookup::Miss(None),
        }
    }

    /// The outputs of `entry` written under `root`, with their lock records; `None` (nothing
    /// written) when the entry does not fit the stage or an object cannot be had.
    fn restore(
        &self,
        root: &Path,
        stage: &Stage,
        entry: &Entry,
        store: &Store,
    ) -> Option<Vec<super::lock::PathLock>> {
        let paths_match = entry.outs.len() == stage.outs.len()
            && entry.outs.iter().zip(&stage.outs).all(|(e, o)| e.path == o.at.path);
        if !paths_match {
            return None;
        }
        // the outputs' own objects (files, manifests), then the files the manifests list
        let direct: Vec<(Oid, u64)> =
            entry.outs.iter().map(|o| o.object()).collect::<Option<_>>()?;
        self.have(store, &direct)?;
        let all = remote::objects_of(store, entry)?;
        self.have(store, &all)?;
        let outs: Vec<super::lock::PathLock> = entry.outs.iter().map(EntryOut::lock).collect();
        restore::restore(root, stage, &outs, store, &self.tmp).ok()?;
        Some(outs)
    }

    /// `Some` when every object is in the cache, downloading the missing ones.
    fn have(&self, store: &Store, objects: &[(Oid, u64)]) -> Option<()> {
        let missing: Vec<(Oid, u64)> =
            objects.iter().filter(|(o, s)| !store.contains(o, *s)).copied().collect();
        if missing.is_empty() {
            return Some(());
        }
        self.remote.as_ref()?.fetch(&missing).then_some(())
    }

    /// Records the outputs of a stage that ran with the run key `now_key` (its new lock entry
    /// `lock`), every output being in `store`.
    pub(crate) fn record(
        &self,
        now_key: &Oid,
        lock: &StageLock,
        store: &Store,
    ) -> Result<(), String> {
        let mut outs = Vec::with_capacity(lock.outs.len());
        for out in &lock.outs {
            let oid = Oid::from_hex(&out.sha256).map_err(|e| e.to_string())?;
            let manifest_size = match out.nfiles {
                None => None,
                Some(_) => Some(
                    std::fs::metadata(store.object_path(&oid))
                        .map_err(|e| format!("the manifest of `{}`: {e}", out.path))?
                        .len(),
                ),
            };
            outs.push(EntryOut::new(out, manifest_size));
        }
        self.entries
            .write(now_key, &Entry::new(now_key, outs))
            .map_err(|e| format!("cannot write {}: {e}", self.entries.path(now_key).display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::spec::parse_stage;
    use crate::pipeline::state::inputs;

    fn stage(yaml: &str) -> Stage {
        parse_stage("s", &serde_yaml::from_str(yaml).unwrap(), "").unwrap()
    }

    #[test]
    fn which_stages_use_it() {
        assert!(RunCache::applies(&stage("cmd: x\ndeps: [a]\nouts: [o]\n")));
        assert!(RunCache::applies(&stage("cmd: x\nparams: [lr]\nouts: [o]\n")));
        let persist = stage("cmd: x\ndeps: [a]\nouts: [{o: {persist: true}}]\n");
        assert!(!RunCache::applies(&persist));
        assert!(!RunCache::applies(&stage("cmd: x\ndeps: [a]\n")));
        assert!(!RunCache::applies(&stage("cmd: x\nouts: [o]\n")));
        let always = stage("cmd: x\ndeps: [a]\nouts: [o]\nalways_changed: true\n");
        assert!(!RunCache::applies(&always));
    }

    #[test]
    fn a_recorded_run_is_restored_here_and_a_changed_input_misses() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("wt");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("in.txt"), "x").unwrap();
        let s = stage(
            "cmd: mkdir -p d && cat in.txt > d/f && echo 1 > m.json\ndeps: [in.txt]\nouts: [d, {m.json: {cache: false}}]\n",
        );
        let store = Store::new(dir.path().join("cache"));
        let tmp = dir.path().join("tmp");
        let entries = Entries { dir: dir.path().join("runs"), tmp: tmp.clone() };
        let cache = RunCache { entries, tmp, remote: None };
        let now = inputs(&root, &s).unwrap();
        let k = key::key(&s, &now);
        assert!(matches!(cache.lookup(&root, &s, &now, k, &store), Lookup::Miss(None)));
        let lock = crate::pipeline::exec::execute(
            &root,
            &s,
            now.clone(),
            &store,
            &dir.path().join("logs"),
            &crate::pipeline::groups::Groups::none(),
        )
        .unwrap();
        cache.record(&k, &lock, &store).unwrap();
        std::fs::remove_dir_all(root.join("d")).unwrap();
        std::fs::remove_file(root.join("m.json")).unwrap();
        let Lookup::Restored(restored) = cache.lookup(&root, &s, &now, k, &store) else {
            panic!("not restored")
        };
        assert_eq!(*restored, lock);
        assert_eq!(std::fs::read(root.join("d/f")).unwrap(), b"x");
        assert_eq!(std::fs::read(root.join("m.json")).unwrap(), b"1\n");
        std::fs::write(root.join("in.txt"), "y").unwrap();
        let changed = inputs(&root, &s).unwrap();
        let k2 = key::key(&s, &changed);
        assert_ne!(k, k2);
        assert!(matches!(cache.lookup(&root, &s, &changed, k2, &store), Lookup::Miss(None)));
    }
}
