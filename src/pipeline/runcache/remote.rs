//! The run cache on the data remote: entries at `runs/<ab>/<key>` beside `objects/`, read one
//! key at a time by `repro`, pushed by `git data push` after the objects they name.
//!
//! Invariants: a lookup costs one read of one key (a miss is that read's "not found"), never
//! a listing; a remote that fails is reported once and then left alone for the rest of the
//! run (repro runs the stage instead); an entry is put on the remote only once every object
//! it names is known to be there (uploaded now, or found there), so a visible entry never
//! names an object a push has not finished; entries pushed are recorded
//! ([`Entries::mark_pushed`]) so the next push sends only new ones without listing the remote.

use super::entry::{Entries, Entry};
use super::restore::manifest_of;
use crate::fs::atomic::AtomicFile;
use crate::oid::Oid;
use crate::progress::Progress;
use crate::store::Store;
use crate::sync::remote::{ErrorKind, Key, Remote, RemoteError};
use crate::sync::transfer::Transfer;
use crate::sync::{Local, push};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The data remote as the run cache uses it.
pub(crate) struct RemoteRuns {
    remote: Arc<dyn Remote>,
    transfer: Transfer,
    store: Arc<Store>,
    /// Set after the remote failed once: later lookups do not ask it.
    down: AtomicBool,
}

/// What a remote lookup found.
pub(crate) enum Found {
    Entry(Entry),
    Missing,
    /// The remote failed (said once per run; later lookups are plain misses).
    Down(String),
}

impl RemoteRuns {
    /// The default data remote, if one is configured and can hold entries.
    pub(crate) fn open(local: &Local<'_>) -> Result<Option<RemoteRuns>, String> {
        if local.config.default_remote.is_none() {
            return Ok(None);
        }
        let remote =
            crate::sync::open_remote(local.config, local.repo, None).map_err(|e| e.to_string())?;
        if !remote.holds_runs() {
            return Ok(None);
        }
        let transfer = crate::sync::transfer(local.config).map_err(|e| format!("{e:#}"))?;
        Ok(Some(RemoteRuns {
            remote,
            transfer,
            store: local.store.clone(),
            down: AtomicBool::new(false),
        }))
    }

    pub(crate) fn name(&self) -> &str {
        self.remote.name()
    }

    pub(crate) fn location(&self) -> String {
        self.remote.location()
    }

    /// The entry stored under `key` on the remote: one read.
    pub(crate) fn entry(&self, key: &Oid) -> Found {
        if self.down.load(Ordering::Relaxed) {
            return Found::Missing;
        }
        match self.transfer.block_on(read_entry(
            &*self.remote,
            &self.transfer,
            key,
            self.store.tmp_dir(),
        )) {
            Ok(Some(entry)) => Found::Entry(entry),
            Ok(None) => Found::Missing,
            Err(e) => match self.down.swap(true, Ordering::Relaxed) {
                false => Found::Down(e.to_string()),
                true => Found::Missing,
            },
        }
    }

    /// Downloads `objects` into the cache; whether all of them arrived (a missing one is a
    /// miss, not an error).
    pub(crate) fn fetch(&self, objects: &[(Oid, u64)]) -> bool {
        if objects.is_empty() {
            return true;
        }
        let hidden = Progress::hidden();
        let report = self.transfer.download_teed(
            &self.remote,
            &self.store,
            objects,
            HashMap::new(),
            &hidden,
        );
        report.failed.is_empty()
    }
}

/// The entry at `key` on `remote`, read into a temp in `tmp` and checked; `None` when the
/// remote has none or holds one that is damaged.
pub(crate) async fn read_entry(
    remote: &dyn Remote,
    transfer: &Transfer,
    key: &Oid,
    tmp: &Path,
) -> Result<Option<Entry>, RemoteError> {
    let io_err = |e: std::io::Error| {
        RemoteError::new(
            remote.name(),
            ErrorKind::Other,
            format!("cannot write a temp in {}: {e}", tmp.display()),
        )
    };
    // what a killed read left
    crate::fs::stale::sweep(tmp, READ_KIND);
    let mut sink = AtomicFile::create(tmp).map_err(io_err)?;
    let hidden = Progress::hidden();
    let retry = transfer.retry();
    let mut attempts = retry.attempts(&hidden);
    loop {
        match remote.get(&Key::Run(*key), &mut sink, &hidden).await {
            Ok(()) => break,
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                attempts.after(e).await?;
                sink.reset().map_err(io_err)?;
            }
        }
    }
    // the temp is read back through a name of ours, then removed
    let name = format!("{}run-{}", crate::fs::stale::marker(READ_KIND), key.to_hex());
    let path = tmp.join(name);
    sink.commit(&path, None, false).map_err(|e| io_err(std::io::Error::other(e.to_string())))?;
    let bytes = std::fs::read(&path);
    let _ = std::fs::remove_file(&path);
    Ok(Entry::parse(&bytes.map_err(io_err)?, key))
}

/// What a temp of a remote entry being read is called after (see `fs::stale`).
pub(crate) const READ_KIND: &str = "runread";

/// Every object `entry` names, found with the manifests in `store`; `None` when a manifest
/// is not there.
pub(crate) fn objects_of(store: &Store, entry: &Entry) -> Option<Vec<(Oid, u64)>> {
    let mut out = Vec::new();
    for o in &entry.outs {
        out.push(o.object()?);
        if o.nfiles.is_some() {
            let files = manifest_of(store, &o.lock())?;
            out.extend(files.into_iter().map(|f| (f.oid, f.size)));
        }
    }
    Some(out)
}

/// What pushing entries did.
#[derive(Default, Debug)]
pub(crate) struct Pushed {
    pub entries: usize,
    pub objects: usize,
    /// Entries left local because an object they name is not in the cache.
    pub incomplete: usize,
}

/// Pushes the entries made here that the remote `name` (or the default) lacks, after the
/// objects they name; asks the remote nothing when the record says all are there.
pub(crate) fn push(
    local: &Local<'_>,
    name: Option<&str>,
    entries: &Entries,
    verify: bool,
) -> anyhow::Result<Pushed> {
    let all = entries.list();
    if all.is_empty() || (name.is_none() && local.config.default_remote.is_none()) {
        return Ok(Pushed::default());
    }
    let remote = crate::sync::open_remote(local.config, local.repo, name)?;
    if !remote.holds_runs() {
        return Ok(Pushed::default());
    }
    let pushed = entries.pushed(remote.name(), &remote.location());
    let mut todo = Vec::new();
    let mut pushed_report = Pushed::default();
    for (key, _) in all.iter().filter(|(k, _)| verify || !pushed.contains(k)) {
        let Some(entry) = entries.read(key) else { continue };
        match objects_of(local.store, &entry) {
            Some(objects) if objects.iter().all(|(o, s)| local.store.contains(o, *s)) => {
                todo.push((*key, objects))
            }
            _ => pushed_report.incomplete += 1,
        }
    }
    if todo.is_empty() {
        return Ok(pushed_report);
    }
    let mut known = crate::sync::known(local.repo, &*remote);
    let objects: Vec<(Oid, u64)> = todo.iter().flat_map(|(_, o)| o.iter().copied()).collect();
    let transfer = match push::lacking(&remote, &mut known, local.config, &objects, verify)? {
        None => crate::sync::transfer(local.config)?,
        Some(push::Lacking { objects: lacking, transfer }) => {
            let total = crate::progress::total_of(lacking.iter().map(|(_, s)| *s));
            let progress = Progress::bytes(local.progress, "Uploading", total, lacking.len());
            let report = transfer.upload(&remote, local.store, &lacking, &progress);
            progress.finish();
            known.add(report.done.iter().copied());
            pushed_report.objects = report.done.len();
            if let Some((oid, err)) = report.failed.first() {
                return Err(crate::hint::hinted(
                    format!(
                        "{} object{} of run-cache entries could not be uploaded to {} (first: {}: {err}); no entry naming them was pushed",
                        report.failed.len(),
                        if report.failed.len() == 1 { "" } else { "s" },
                        remote.name(),
                        oid.short(12)
                    ),
                    "fix the cause above, then run `git data push` again",
                ));
            }
            transfer
        }
    };
    // every object is on the remote now: the entries may appear
    let retry = transfer.retry();
    let keys: Vec<Oid> = todo.iter().map(|(k, _)| *k).collect();
    let results = transfer.run(
        keys,
        |remote, key| {
            let retry = retry.clone();
            let path = entries.path(&key);
            async move {
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                let (hidden, run_key) = (Progress::hidden(), Key::Run(key));
                let r = retry.run(&hidden, || remote.put(&run_key, &path, size, &hidden)).await;
                (key, r)
            }
        },
        &remote,
    );
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for (key, r) in results {
        match r {
            Ok(()) => done.push(key),
            Err(e) => failed.push(format!("{}: {e}", key.short(12))),
        }
    }
    pushed_report.entries = done.len();
    let _ = entries.mark_pushed(remote.name(), &remote.location(), &done);
    if !failed.is_empty() {
        return Err(crate::hint::hinted(
            format!(
                "{} run-cache entr{} could not be uploaded to {}:\n  {}",
                failed.len(),
                if failed.len() == 1 { "y" } else { "ies" },
                remote.name(),
                failed.join("\n  ")
            ),
            "fix the cause above, then run `git data push` again",
        ));
    }
    Ok(pushed_report)
}
