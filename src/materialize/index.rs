//! The index around a materialisation: before, the entries to be written are marked so git
//! looks at them (a killed materialisation is then noticed and finished by the next git
//! command); after, written files get their new stat, so `git status` stays clean without
//! git re-reading (and re-filtering) gigabytes, and the other entries get theirs back.
//!
//! Invariants: a file is recorded only if its stat still matches what was written (else git
//! looks at it itself); an entry is only touched while its blob is the one seen before; an
//! index we cannot patch is refreshed by git, never left wrong.

use super::Written;
use super::guard::IndexView;
use crate::fs::stat::{self, FileStat};
use crate::git::index::{self, IndexError, StatUpdate};
use crate::git::{IndexInfo, git_with_filter};
use crate::store::state::statcache::StatCache;
use crate::sync::Local;
use gix::bstr::BString;
use gix::bstr::ByteSlice;
use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::time::Duration;

/// Before anything is written: the entries of `paths` get a zero stat, git's own mark for
/// an entry whose stat cannot be trusted (size 0: git compares content instead of trusting
/// the stat). If git-data is killed before [`settle`], the next git command that looks at the
/// work tree — `status`, `diff`, a rerun of `reset --hard` — sees these files, runs the
/// filter, and the filter finishes the work the killed process left (see `filter_process`).
/// False when the index could not be patched.
pub(super) fn mark(ctx: &Local<'_>, root: &Path, view: &IndexView, paths: &[BString]) -> bool {
    let updates: Vec<StatUpdate> = paths
        .iter()
        .filter_map(|p| view.entry(p))
        .filter(|e| e.stat != FileStat::default()) // marked already: no need for the lock
        .map(|e| StatUpdate {
            path: e.path.to_vec(),
            blob: e.id.as_bytes().to_vec(),
            stat: FileStat::default(),
        })
        .collect();
    apply(ctx, root, &updates, false)
}

/// After writing: a written file whose entry is its own pointer gets its new stat (and goes
/// into the stat cache); every other entry [`mark`] touched gets back the stat git recorded
/// (its file was not written, or holds another version, whose change git must see itself).
/// False when the index lock could not be taken.
pub(super) fn settle(
    ctx: &Local<'_>,
    root: &Path,
    view: &IndexView,
    marked: &[BString],
    written: Vec<Written>,
) -> bool {
    let mut updates = recorded(ctx, root, &written, |p| view.is_own(p));
    let done: HashSet<&[u8]> = updates.iter().map(|u| u.path.as_slice()).collect();
    let back: Vec<StatUpdate> = marked
        .iter()
        .filter(|p| !done.contains(p.as_slice()))
        .filter_map(|p| view.entry(p))
        .map(|e| StatUpdate { path: e.path.to_vec(), blob: e.id.as_bytes().to_vec(), stat: e.stat })
        .collect();
    updates.extend(back);
    apply(ctx, root, &updates, true)
}

/// The index updates for written files whose entry is their own pointer (after waiting until
/// they are settled, so git does not find them racily clean); they also go into the stat
/// cache. A file that changed since it was written is left for git to look at.
fn recorded(
    ctx: &Local<'_>,
    root: &Path,
    written: &[Written],
    own: impl Fn(&BString) -> bool,
) -> Vec<StatUpdate> {
    let latest = written.iter().map(|w| w.stat.ctime_ns.max(w.stat.mtime_ns)).max().unwrap_or(0);
    stat::wait_until_settled(latest);
    let mut cache = StatCache::load(&ctx.repo.stat_cache_path());
    let mut updates = Vec::with_capacity(written.len());
    let observed = std::time::SystemTime::now();
    for w in written.iter().filter(|w| own(&w.path)) {
        let path = root.join(crate::git::rel_path(w.path.as_bstr()));
        let Ok(meta) = fs::symlink_metadata(&path) else { continue };
        let now = FileStat::from_metadata(&meta);
        if !now.same_content_stat(&w.stat) {
            continue; // changed since we wrote it: let git look at it
        }
        if now.settled_at(observed) {
            cache.insert(w.path.as_slice(), &now, w.pointer.oid);
        }
        let blob = ctx.repo.blob_id(w.pointer.encode().as_bytes());
        updates.push(StatUpdate {
            path: w.path.to_vec(),
            blob: blob.as_bytes().to_vec(),
            stat: now,
        });
    }
    let _ = cache.save();
    updates
}

/// Patches the index; where it cannot be patched in place (a split index), git resets the
/// entries and, when `refresh`, refreshes them. False when the lock could not be taken.
fn apply(ctx: &Local<'_>, root: &Path, updates: &[StatUpdate], refresh: bool) -> bool {
    match index::refresh(&ctx.repo.index_path, ctx.repo.hash_kind, updates, Duration::from_secs(5))
    {
        Ok(_) => true,
        Err(IndexError::Locked(path)) => {
            eprintln!(
                "git-data: warning: could not record the written files in the index: {} is locked by \
                 another git process; if none is running, remove {}.lock, then run `git data checkout`",
                path.display(),
                path.display()
            );
            false
        }
        // a split index: git resets and refreshes the written entries; marking is skipped
        // (git cannot be given a zero stat, and the work is then not crash-safe there)
        Err(_) if !refresh => true,
        Err(_) => {
            git_refresh(root, updates);
            true
        }
    }
}

/// Lets git refresh entries (split index, or an index we do not patch). git treats a size
/// change as a content change without looking, so the entries' stat data is reset first
/// (`--index-info` with the same blob), which makes git compare content through the filter.
fn git_refresh(root: &Path, updates: &[StatUpdate]) {
    let mut info = IndexInfo::default();
    for u in updates {
        info.set(&u.path, &u.blob, u.stat.mode & 0o111 != 0);
    }
    if crate::git::update_index(root, info).is_ok() {
        // through the filter: git compares the content it can no longer trust by stat
        let _ = git_with_filter(root).args(["update-index", "-q", "--refresh"]).output();
    }
}

/// Refreshes the index entries of data files whose content is right but whose recorded stat
/// is stale — git would report them as modified without looking, because their size differs
/// (a refresh that could not take the index lock leaves this). Content is checked first.
pub(crate) fn repair_index(
    ctx: &Local<'_>,
    filter: &crate::git::scan::PathFilter,
) -> anyhow::Result<usize> {
    let root = ctx.repo.work_tree()?.to_path_buf();
    let (entries, _) = crate::git::worktree::index_entries(ctx.repo, filter)?;
    let cache = StatCache::load(&ctx.repo.stat_cache_path());
    let mut stale = Vec::new();
    for e in entries {
        let path = root.join(crate::git::rel_path(e.path.as_bstr()));
        let Ok(meta) = fs::symlink_metadata(&path) else { continue };
        let disk = FileStat::from_metadata(&meta);
        if e.stat.size == disk.size & 0xffff_ffff {
            continue; // equal sizes: git compares content itself when the stat differs
        }
        let Some(pointer) = ctx.repo.read_pointer(e.id)? else { continue };
        if pointer.size != disk.size {
            continue;
        }
        let oid = match cache.lookup(e.path.as_slice(), &disk) {
            Some(oid) => oid,
            None => crate::oid::hash_file(&path)?.0,
        };
        if oid == pointer.oid {
            stale.push(Written { path: e.path, pointer, stat: disk });
        }
    }
    let n = stale.len();
    let updates = recorded(ctx, &root, &stale, |_| true);
    Ok(if apply(ctx, &root, &updates, true) { n } else { 0 })
}
