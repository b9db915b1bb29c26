//! `git data status`: every tracked file's state — modified, deleted, pointer only, not in
//! cache, not pushed — with sizes. Never re-hashes an unchanged file: git's index stat data
//! and the stat cache answer first; files that must be hashed are hashed in parallel.
//! Per file it costs one stat of the work-tree file and one of the cache object (both
//! relative to open directories) and, once the pointer record knows the blob, no git object
//! read; the files are split between one worker per core.

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
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[derive(Serialize, Default, Clone)]
struct FileState<'a> {
    #[serde(serialize_with = "lossy")]
    path: &'a BStr,
    #[serde(serialize_with = "hex")]
    oid: Option<Oid>,
    size: u64,
    modified: bool,
    deleted: bool,
    pointer_only: bool,
    in_cache: bool,
    pushed: bool,
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
        if self.deleted {
            l.push("deleted");
        }
        if self.modified {
            l.push("modified");
        }
        if self.pointer_only {
            l.push("pointer only");
        }
        if !self.not_converted && !self.in_cache {
            l.push("not in cache");
        }
        if !self.not_converted && !self.pushed {
            l.push("not pushed");
        }
        l
    }
}

enum Disk {
    Deleted,
    Unchanged,
    PointerOnly,
    NeedsHash(PathBuf, FileStat),
    Known(Oid),
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
            if let Some(oid) = oid
                && stat.settled_at(started)
            {
                cache.insert(states[*i].path, stat, oid);
            }
        }
        let _ = cache.save();
    }
    print(ctx, args, &states, remote.as_ref().map(|r| (r.name().to_string(), r.location())));
    Ok(0)
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
                st.not_converted = true;
                st.size = repo.blob_size(e.id)?;
                out.push((st, None));
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
                Disk::Known(oid) => st.modified = oid != p.oid,
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
            return Disk::Known(oid);
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

fn print(ctx: &Context, args: &StatusArgs, states: &[FileState], remote: Option<(String, String)>) {
    if args.json {
        let doc = serde_json::json!({
            "remote": remote.as_ref().map(|(n, l)| serde_json::json!({"name": n, "location": l})),
            "files": states,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return;
    }
    // one write per buffer, not per line (stdout is line-buffered): 20,000 lines cost 6 ms
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let _ = match &remote {
        Some((name, loc)) => writeln!(out, "Data remote: {name} ({loc})"),
        None => writeln!(out, "Data remote: none (add one with `git data remote add NAME URL`)"),
    };
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    let total = crate::units::checked_total(states.iter().map(|s| s.size));
    for s in states {
        let labels = s.labels();
        for l in &labels {
            *counts.entry(l).or_default() += 1;
        }
        if !labels.is_empty() {
            let (size, path) = (crate::units::human(s.size), &s.path);
            let _ = writeln!(out, "  {:<28} {size:>10}  {path}", labels.join(", "));
        }
    }
    let clean = states.iter().filter(|s| s.labels().is_empty()).count();
    let mut summary = format!(
        "{} tracked file{} ({}): {clean} up to date",
        states.len(),
        if states.len() == 1 { "" } else { "s" },
        crate::units::human_total(total)
    );
    for (label, n) in &counts {
        summary.push_str(&format!(", {n} {label}"));
    }
    let _ = writeln!(out, "{summary}");
    if ctx.global.quiet {
        return;
    }
    let hints = [
        ("modified", "`git add` stores modified files in the cache"),
        ("not pushed", "`git push` (or `git data push`) uploads what is not pushed"),
        ("pointer only", "`git data pull` writes files that are only pointers"),
        ("in git, not converted", "`git add --renormalize .` converts files still stored in git"),
    ];
    for (label, hint) in hints {
        if counts.contains_key(label) {
            let _ = writeln!(out, "hint: {hint}");
        }
    }
}
