//! Materialisation: turns work-tree files that hold pointer text into their data. Shared by
//! the post-checkout/post-merge hooks, `git data checkout` and `git data pull`.
//!
//! Steps: keep only files that still hold exactly their pointer; fetch missing objects in
//! parallel (a large one that would be copied is written to its first file by its download);
//! write each other file next to its target (reflink, read-only hard link, or copy) and
//! rename it over the pointer; then refresh the index's stat data so `git status` stays clean
//! without re-reading the files. Invariants: a file is replaced atomically or not at all;
//! only verified objects are written; a failure on one file never stops the others.

mod download;
mod guard;
mod index;
pub(crate) mod journal;
mod write;

pub(crate) use download::{Fetch, fetch_missing};
use download::{fetch_missing_teed, finish_teed, stage};
pub(crate) use index::repair_index;

use crate::config::LinkMode;
use crate::fs::stat::FileStat;
use crate::oid::Oid;
use crate::pointer::Pointer;
use crate::progress::Progress;
use crate::store::{Store, StoreError};
use crate::sync::{self, Local};
use gix::bstr::{BString, ByteSlice};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use write::Temps;

/// A work-tree file that holds pointer text.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    pub path: BString,
    pub pointer: Pointer,
}

/// What happened.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub written: usize,
    pub bytes: u64,
    /// Files left as pointers, with the reason and, where known, the fix.
    pub failed: Vec<(BString, String)>,
    /// The index could not be updated (another git process held its lock).
    pub index_locked: bool,
    /// The fix for the failures, when they share one known cause (a full cache disk, wrong
    /// credentials).
    pub hint: Option<String>,
    /// Candidates whose file no longer held its pointer: written already (by a run that
    /// may have been killed, or stopped by a locked index, before it recorded their stat).
    pub not_pointers: Vec<BString>,
}

impl Outcome {
    pub(crate) fn ok(&self) -> bool {
        self.failed.is_empty()
    }
}

struct Written {
    path: BString,
    pointer: Pointer,
    stat: FileStat,
}

/// Materialises `candidates`, fetching missing objects as `fetch` says; a large object that
/// is downloaded streams into its first file as it arrives.
pub(crate) fn materialize(
    ctx: &Local<'_>,
    candidates: Vec<Candidate>,
    fetch: Fetch<'_>,
) -> anyhow::Result<Outcome> {
    let root = ctx.repo.work_tree()?.to_path_buf();
    let mut outcome = Outcome::default();
    let (view, admitted) =
        guard::IndexView::admit(ctx.repo, &root, dedup(candidates), &mut outcome.failed)?;
    let (todo, done): (Vec<Candidate>, Vec<Candidate>) =
        admitted.into_iter().partition(|c| holds_pointer(&root, c));
    outcome.not_pointers = done.into_iter().map(|c| c.path).collect();
    if todo.is_empty() {
        // temps a killed writer left go even when nothing is left to write
        drop(Temps::new(ctx.repo.tmp_dir()));
        return Ok(outcome);
    }
    let marked: Vec<BString> = todo.iter().map(|c| c.path.clone()).collect();
    if !index::mark(ctx, &root, &view, &marked) {
        outcome.index_locked = true;
        for c in todo {
            outcome.failed.push((c.path, "not written: the index is locked".into()));
        }
        return Ok(outcome);
    }
    let temps = Temps::new(ctx.repo.tmp_dir());
    let missing: Vec<(gix::bstr::BString, Pointer)> = todo
        .iter()
        .filter(|c| !ctx.store.holds(&c.pointer.oid, c.pointer.size))
        .map(|c| (c.path.clone(), c.pointer))
        .collect();
    let mut unavailable = HashMap::new();
    let mut early = Vec::new();
    if !missing.is_empty() {
        let staged = match fetch {
            Fetch::From(_) => stage(ctx, &temps, &root, &missing),
            Fetch::Never => HashMap::new(),
        };
        let tees = staged
            .iter()
            .filter_map(|(oid, (_, _, s))| s.file().try_clone().ok().map(|f| (*oid, f)))
            .collect();
        let teed;
        let hint;
        (unavailable, teed, hint) = fetch_missing_teed(ctx, &missing, fetch, tees);
        outcome.hint = hint;
        early = finish_teed(staged, &teed, &mut outcome);
    }
    // files their download wrote are done (or failed) already
    let decided: HashSet<BString> = (early.iter().map(|w| w.path.clone()))
        .chain(outcome.failed.iter().map(|(p, _)| p.clone()))
        .collect();
    let todo: Vec<Candidate> = todo.into_iter().filter(|c| !decided.contains(&c.path)).collect();
    let (ready, skipped): (Vec<Candidate>, Vec<Candidate>) =
        todo.into_iter().partition(|c| !unavailable.contains_key(&c.pointer.oid));
    for c in skipped {
        let reason = unavailable.get(&c.pointer.oid).cloned().unwrap_or_default();
        outcome.failed.push((c.path, reason));
    }
    let (mut written, corrupt) = write_all(ctx, &temps, &root, ready, &mut outcome);
    outcome.written += early.len();
    outcome.bytes += early.iter().map(|w| w.pointer.size).sum::<u64>();
    written.extend(early);
    if !corrupt.is_empty() {
        // corrupt objects were quarantined, pruned ones deleted: download them again
        let again: Vec<(BString, Pointer)> =
            corrupt.iter().map(|c| (c.path.clone(), c.pointer)).collect();
        let still = fetch_missing_teed(ctx, &again, fetch, HashMap::new()).0;
        let (retry, lost): (Vec<Candidate>, Vec<Candidate>) =
            corrupt.into_iter().partition(|c| !still.contains_key(&c.pointer.oid));
        for c in lost {
            let why = still.get(&c.pointer.oid).cloned().unwrap_or_default();
            outcome.failed.push((
                c.path,
                format!("its cached object was corrupt (quarantined) or deleted, and {why}"),
            ));
        }
        let (more, corrupt_again) = write_all(ctx, &temps, &root, retry, &mut outcome);
        written.extend(more);
        for c in corrupt_again {
            outcome.failed.push((c.path, "the downloaded object is corrupt too".into()));
        }
    }
    view.unmask(&mut written, &root);
    outcome.index_locked = !index::settle(ctx, &root, &view, &marked, written);
    Ok(outcome)
}

/// Marks the index entries of `candidates` that still hold their pointer so git looks at
/// them (see `index::mark`): a consumer of the pending journal does this before it takes the
/// entries, so that if it is killed after taking them, the next git command notices.
pub(crate) fn mark(ctx: &Local<'_>, candidates: Vec<Candidate>) -> anyhow::Result<()> {
    let root = ctx.repo.work_tree()?.to_path_buf();
    let mut refused = Vec::new();
    let (view, admitted) =
        guard::IndexView::admit(ctx.repo, &root, dedup(candidates), &mut refused)?;
    let paths: Vec<BString> =
        admitted.into_iter().filter(|c| holds_pointer(&root, c)).map(|c| c.path).collect();
    if !paths.is_empty() {
        index::mark(ctx, &root, &view, &paths);
    }
    Ok(())
}

fn dedup(candidates: Vec<Candidate>) -> Vec<Candidate> {
    let mut by_path = std::collections::BTreeMap::new();
    for c in candidates {
        by_path.insert(c.path.clone(), c);
    }
    by_path.into_values().collect()
}

fn holds_pointer(root: &Path, c: &Candidate) -> bool {
    crate::git::worktree::read_small(&root.join(crate::git::rel_path(c.path.as_bstr())))
        .is_some_and(|content| content == c.pointer.encode().as_bytes())
}

/// The objects known to be on the default remote. In hard-link mode only these are linked
/// into the work tree: the cache object and the work-tree file are then one file, and an edit
/// made in place through it (root ignores the read-only mode) would change the only copy of a
/// committed version. An object that is not on a remote yet is copied (or reflinked) instead.
fn on_remote(ctx: &Local<'_>) -> Option<crate::store::state::known::KnownObjects> {
    sync::open_remote(ctx.config, ctx.repo, None).ok().map(|remote| sync::known(ctx.repo, &*remote))
}

/// Why one file could not be written.
enum WriteFailure {
    /// The cached object was corrupt (and is now quarantined).
    Corrupt(String),
    /// The cached object was deleted meanwhile (`git data prune` deletes only objects a
    /// remote holds): it is downloaded again.
    Gone,
    Other(String),
}

/// Writes every ready file in parallel; returns what was written and the candidates whose
/// cached object turned out corrupt or deleted (other failures go to `outcome`).
fn write_all(
    ctx: &Local<'_>,
    temps: &Temps,
    root: &Path,
    ready: Vec<Candidate>,
    outcome: &mut Outcome,
) -> (Vec<Written>, Vec<Candidate>) {
    let total = crate::progress::total_of(ready.iter().map(|c| c.pointer.size));
    let progress = if total > 64 << 20 {
        Progress::bytes(ctx.progress, "Writing", total, ready.len())
    } else {
        Progress::hidden()
    };
    let next = AtomicUsize::new(0);
    let written = Mutex::new(Vec::new());
    let failed = Mutex::new(Vec::new());
    let (store, link) = (ctx.store, ctx.config.link_mode);
    let linkable = (link == LinkMode::Hardlink).then(|| on_remote(ctx));
    // an object only this cache holds is never linked: see `on_remote`
    let link_for = |oid: &Oid| match &linkable {
        Some(known) if !known.as_ref().is_some_and(|k| k.contains(oid)) => LinkMode::Auto,
        _ => link,
    };
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 8)
        .min(ready.len());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(c) = ready.get(i) else { break };
                    match write_one(store, temps, link_for(&c.pointer.oid), root, c) {
                        Ok(stat) => {
                            progress.inc(c.pointer.size);
                            if let Ok(mut w) = written.lock() {
                                w.push(Written { path: c.path.clone(), pointer: c.pointer, stat });
                            }
                        }
                        Err(e) => {
                            if let Ok(mut f) = failed.lock() {
                                f.push((c.clone(), e));
                            }
                        }
                    }
                }
            });
        }
    });
    progress.finish();
    let written = written.into_inner().unwrap_or_default();
    outcome.written += written.len();
    outcome.bytes += written.iter().map(|w| w.pointer.size).sum::<u64>();
    let mut corrupt = Vec::new();
    for (c, e) in failed.into_inner().unwrap_or_default() {
        match e {
            WriteFailure::Corrupt(msg) => {
                eprintln!("git-data: warning: {msg}");
                corrupt.push(c);
            }
            WriteFailure::Gone => corrupt.push(c),
            WriteFailure::Other(msg) => outcome.failed.push((c.path, msg)),
        }
    }
    (written, corrupt)
}

/// Replaces one pointer file by its data; returns the new file's stat.
fn write_one(
    store: &Store,
    temps: &Temps,
    link: LinkMode,
    root: &Path,
    c: &Candidate,
) -> Result<FileStat, WriteFailure> {
    let (file, object) =
        store.open_verified(&c.pointer.oid, c.pointer.size).map_err(|e| match e {
            StoreError::Corrupt { .. } => WriteFailure::Corrupt(e.to_string()),
            StoreError::Missing { .. } => WriteFailure::Gone,
            other => WriteFailure::Other(other.to_string()),
        })?;
    drop(file);
    write::write_file(temps, &object, link, root, c).map_err(|e| {
        // the object may have been deleted between the check and the copy or link
        if store.contains(&c.pointer.oid, c.pointer.size) {
            WriteFailure::Other(e)
        } else {
            WriteFailure::Gone
        }
    })
}
