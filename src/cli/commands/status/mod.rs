//! `git data status`: every tracked file's state — modified (with its new size), deleted,
//! conflicted, pointer only, not in cache (and whether the remote holds it), not pushed,
//! committed to git unconverted — with sizes. Only objects that are neither cached nor known
//! to be on the remote are asked of it (and recorded). Never re-hashes an unchanged file: git's index stat data
//! and the stat cache answer first; files that must be hashed are hashed in parallel.
//! Per file it costs one stat of the work-tree file and one of the cache object (both
//! relative to open directories) and, once the pointer record knows the blob, no git object
//! read; the files are split between one worker per core.

mod print;

use crate::cli::args::StatusArgs;
use crate::cli::context::Context;
use crate::fs::openat::TreeStat;
use crate::fs::stat::FileStat;
use crate::git::Repo;
use crate::git::scan::PathFilter;
use crate::git::worktree::{self, IndexEntry};
use crate::oid::{Oid, hash_file};
use crate::pointer::Pointer;
use crate::store::Store;
use crate::store::state::known::KnownObjects;
use crate::store::state::pointers::PointerIds;
use crate::store::state::statcache::StatCache;
use anyhow::Result;
use gix::bstr::{BStr, ByteSlice};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[derive(Serialize, Default, Clone)]
struct FileState<'a> {
    #[serde(serialize_with = "lossy")]
    path: &'a BStr,
    #[serde(serialize_with = "hex")]
    oid: Option<Oid>,
    size: u64,
    /// The work-tree file's size, when it was modified.
    #[serde(skip_serializing_if = "Option::is_none")]
    worktree_size: Option<u64>,
    modified: bool,
    conflicted: bool,
    deleted: bool,
    pointer_only: bool,
    in_cache: bool,
    pushed: bool,
    /// Neither cached here nor on the remote (it says so): nobody can restore it from here.
    lost: bool,
    /// Tracked by pattern but committed as a plain git blob.
    not_converted: bool,
}

fn lossy<S: serde::Serializer>(path: &&BStr, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_str_lossy())
}

fn hex<S: serde::Serializer>(oid: &Option<Oid>, s: S) -> Result<S::Ok, S::Error> {
    match oid {
        Some(oid) => s.serialize_str(&oid.to_hex()),
        None => s.serialize_none(),
    }
}

impl FileState<'_> {
    fn labels(&self) -> Vec<&'static str> {
        let mut l = Vec::new();
        if self.not_converted {
            l.push("in git, not converted");
        }
        if self.conflicted {
            l.push("conflicted");
            return l;
        }
        if self.deleted {
            l.push("deleted");
        }
        if self.modified {
            l.push("modified");
        }
        if self.pointer_only {
            l.push("pointer only");
        }
        if self.not_converted {
            return l;
        }
        match (self.in_cache, self.pushed) {
            (true, true) => {}
            (true, false) => l.push("not pushed"),
            (false, true) => l.push("not in cache (on remote)"),
            (false, false) if self.lost => l.push("not in cache, not on the remote"),
            (false, false) => l.push("not in cache"),
        }
        l
    }
}

enum Disk {
    Deleted,
    Unchanged,
    PointerOnly,
    NeedsHash(PathBuf, FileStat),
    /// Its content and size, from the stat cache.
    Known(Oid, u64),
}

pub(crate) fn run(ctx: &Context, args: &StatusArgs) -> Result<i32> {
    let root = ctx.work_tree()?.to_path_buf();
    let filter = PathFilter::new(ctx.repo_paths(&args.paths)?);
    // The pointer record loads while the index is read.
    let pointers_path = ctx.pointer_ids_path();
    let (pointers, read) = std::thread::scope(|s| {
        let loading = s.spawn(|| PointerIds::load(&pointers_path));
        let read = worktree::index_entries(&ctx.repo, &filter);
        (loading.join(), read)
    });
    let (entries, index_mtime) = read?;
    let pointers = pointers.map_err(|_| anyhow::anyhow!("loading the pointer record panicked"))?;
    let remote = ctx.remote(None).ok();
    let look = Look {
        root: &root,
        store: &ctx.store,
        known: remote.as_ref().map(|r| ctx.known(&**r)),
        cache_path: ctx.stat_cache_path(),
        cache: OnceLock::new(),
        pointers,
        index_mtime,
    };
    let mut states = Vec::with_capacity(entries.len());
    let mut to_hash = Vec::new();
    for (st, hash) in look.all(&ctx.repo, &entries)? {
        if let Some((path, p, stat)) = hash {
            to_hash.push((states.len(), path, p, stat));
        }
        states.push(st);
    }
    let live: Vec<gix::ObjectId> = entries.iter().map(|e| e.id).collect();
    let _ = look.pointers.save(args.paths.is_empty().then_some(&live[..])); // only a cache
    if !to_hash.is_empty() {
        let started = std::time::SystemTime::now();
        let mut cache = look.cache.into_inner().unwrap_or_else(|| ctx.stat_cache());
        for (j, oid) in hash_parallel(&to_hash) {
            let (i, _, p, stat) = &to_hash[j];
            states[*i].modified = oid != Some(p.oid);
            if states[*i].modified {
                states[*i].worktree_size = Some(stat.size);
            }
            if let Some(oid) = oid
                && stat.settled_at(started)
            {
                cache.insert(states[*i].path, stat, oid);
            }
        }
        let _ = cache.save();
    }
    let unreachable = match (&remote, look.known) {
        (Some(remote), Some(mut known)) => ask_remote(ctx, remote, &mut known, &mut states),
        _ => None,
    };
    let conflicts = conflicted(&ctx.repo, &filter)?;
    states.extend(conflicts.iter().map(|path| FileState {
        path: path.as_bstr(),
        conflicted: true,
        ..Default::default()
    }));
    let setup = print::Setup {
        remote: remote.as_ref().map(|r| (r.name().to_string(), r.location())),
        filter_missing: !crate::git::hooks::filter_configured(&ctx.repo)
            || (ctx.filter_name() == crate::git::attributes::FilterName::Lfs
                && !crate::git::hooks::serves_lfs(&ctx.repo)),
        unreachable,
    };
    print::print(ctx, args, &states, &setup);
    Ok(0)
}

/// Asks the remote about the objects that are neither cached nor known to be on it (a clone
/// that never downloaded them), once, without retries: it answers whether anyone can restore
/// them. What it holds is recorded, so the next status need not ask. Returns why it could not
/// be asked, if so.
fn ask_remote(
    ctx: &Context,
    remote: &std::sync::Arc<dyn crate::sync::remote::Remote>,
    known: &mut KnownObjects,
    states: &mut [FileState],
) -> Option<String> {
    let mut objects: Vec<(Oid, u64)> = states
        .iter()
        .filter(|s| !s.in_cache && !s.pushed)
        .filter_map(|s| Some((s.oid?, s.size)))
        .collect();
    objects.sort();
    objects.dedup();
    if objects.is_empty() {
        return None;
    }
    let mut quick = ctx.config.clone();
    quick.retries = 0;
    let lacking = match crate::sync::push::lacking(remote, known, &quick, &objects, false) {
        Ok(l) => l.map(|l| l.objects).unwrap_or_default(),
        Err(e) => return Some(format!("{e:#}")),
    };
    let lacking: std::collections::HashSet<Oid> = lacking.into_iter().map(|(o, _)| o).collect();
    for s in states.iter_mut().filter(|s| !s.in_cache && !s.pushed) {
        let Some(oid) = s.oid else { continue };
        s.lost = lacking.contains(&oid);
        s.pushed = !s.lost;
    }
    None
}

/// The paths of `filter` that are in conflict (unmerged entries) and are data files.
fn conflicted(repo: &Repo, filter: &PathFilter) -> Result<Vec<gix::bstr::BString>> {
    let entries = worktree::conflicted_entries(repo, filter)?;
    let flags = worktree::data_flags(repo, &entries)?;
    Ok(entries.into_iter().zip(flags).filter(|(_, data)| *data).map(|(e, _)| e.path).collect())
}

/// A file that must be hashed to know whether it changed: its path, pointer and stat.
type ToHash = (PathBuf, Pointer, FileStat);

/// What every file is checked against; shared by the workers of [`Look::all`].
struct Look<'a> {
    root: &'a Path,
    store: &'a Store,
    known: Option<KnownObjects>,
    cache_path: PathBuf,
    /// Loaded by the first file whose stat differs from the index's.
    cache: OnceLock<StatCache>,
    pointers: PointerIds,
    index_mtime: i64,
}

impl Look<'_> {
    /// The state of every data file among `entries`, in order. Workers take contiguous runs
    /// of the index (so each opens each directory once), each with its own handle on git's
    /// object database and its own attribute stack.
    fn all<'e>(
        &self,
        repo: &Repo,
        entries: &'e [IndexEntry],
    ) -> Result<Vec<(FileState<'e>, Option<ToHash>)>> {
        // not `par::map`: a repository handle is not shared between threads, so each worker
        // gets its own clone, moved in
        let workers = crate::par::workers(entries.len() / 1000, usize::MAX);
        if workers == 1 {
            return self.run(repo, entries);
        }
        let chunk = entries.len().div_ceil(workers);
        std::thread::scope(|s| {
            let handles: Vec<_> = entries
                .chunks(chunk)
                .map(|part| {
                    let repo = repo.clone();
                    s.spawn(move || self.run(&repo, part))
                })
                .collect();
            let mut out = Vec::with_capacity(entries.len());
            for h in handles {
                let part = h.join().map_err(|_| anyhow::anyhow!("a status worker panicked"))?;
                out.extend(part?);
            }
            Ok(out)
        })
    }

    fn run<'e>(
        &self,
        repo: &Repo,
        entries: &'e [IndexEntry],
    ) -> Result<Vec<(FileState<'e>, Option<ToHash>)>> {
        let flags = worktree::data_flags(repo, entries)?;
        let mut tree = TreeStat::new(self.root);
        let mut out = Vec::with_capacity(entries.len());
        for (e, _) in entries.iter().zip(flags).filter(|(_, data)| *data) {
            let mut st = FileState { path: e.path.as_bstr(), ..Default::default() };
            let Some(p) = self.pointer(repo, e.id)? else {
                st.size = repo.blob_size(e.id)?;
                // an empty file (a `.gitkeep`) is never data: clean keeps it as it is
                if st.size > 0 {
                    st.not_converted = true;
                    out.push((st, None));
                }
                continue;
            };
            st.oid = Some(p.oid);
            st.size = p.size;
            st.in_cache = self.store.contains(&p.oid, p.size);
            st.pushed = self.known.as_ref().is_some_and(|k| k.contains(&p.oid));
            let mut hash = None;
            match self.disk_state(repo, &mut tree, e, &p) {
                Disk::Deleted => st.deleted = true,
                Disk::Unchanged => {}
                Disk::PointerOnly => st.pointer_only = true,
                Disk::Known(oid, size) => {
                    st.modified = oid != p.oid;
                    st.worktree_size = st.modified.then_some(size);
                }
                Disk::NeedsHash(path, stat) => hash = Some((path, p, stat)),
            }
            out.push((st, hash));
        }
        Ok(out)
    }

    /// The pointer blob `id` holds: from the record, else read from git and noted.
    fn pointer(&self, repo: &Repo, id: gix::ObjectId) -> Result<Option<Pointer>> {
        if let Some(p) = self.pointers.get(&id) {
            return Ok(Some(p));
        }
        let p = repo.read_pointer(id)?;
        if let Some(p) = p {
            self.pointers.note(id, p);
        }
        Ok(p)
    }

    fn disk_state(&self, repo: &Repo, tree: &mut TreeStat, e: &IndexEntry, p: &Pointer) -> Disk {
        let Ok(stat) = tree.lstat(e.path.as_slice()) else { return Disk::Deleted };
        let path = || self.root.join(crate::git::rel_path(e.path.as_ref()));
        let looks_pointer =
            (stat.size as usize) < crate::pointer::MAX_POINTER_SIZE && stat.size != p.size;
        if looks_pointer && worktree::pointer_file(repo, &path(), &e.id).is_some() {
            return Disk::PointerOnly;
        }
        if worktree::stat_clean(&e.stat, &stat, self.index_mtime) {
            return Disk::Unchanged;
        }
        let cache = self.cache.get_or_init(|| StatCache::load(&self.cache_path));
        if let Some(oid) = cache.lookup(e.path.as_slice(), &stat) {
            return Disk::Known(oid, stat.size);
        }
        Disk::NeedsHash(path(), stat)
    }
}

/// Hashes the files of `items`; returns (position in `items`, oid).
fn hash_parallel(items: &[(usize, PathBuf, Pointer, FileStat)]) -> Vec<(usize, Option<Oid>)> {
    let workers = crate::par::workers(items.len(), usize::MAX);
    let oids = crate::par::map(
        items,
        workers,
        || (),
        |_, (_, path, _, _)| hash_file(path).ok().map(|(o, _)| o),
    );
    oids.into_iter().enumerate().collect()
}
