//! `git data status`: every tracked file's state — modified, deleted, pointer only, not in
//! cache, not pushed — with sizes. Never re-hashes an unchanged file: git's index stat data
//! and the stat cache answer first; files that must be hashed are hashed in parallel.

use crate::cli::StatusArgs;
use crate::context::Context;
use crate::oid::{Oid, hash_file};
use crate::pointer::Pointer;
use crate::scan::PathFilter;
use crate::state::FileStat;
use crate::worktree::{self, IndexEntry};
use anyhow::Result;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Serialize, Default, Clone)]
struct FileState {
    path: String,
    oid: Option<String>,
    size: u64,
    modified: bool,
    deleted: bool,
    pointer_only: bool,
    in_cache: bool,
    pushed: bool,
    /// Tracked by pattern but committed as a plain git blob.
    not_converted: bool,
}

impl FileState {
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

pub fn run(ctx: &Context, args: &StatusArgs) -> Result<i32> {
    let root = ctx.work_tree()?.to_path_buf();
    let filter = PathFilter::new(ctx.repo_paths(&args.paths)?);
    let (entries, index_mtime) = worktree::index_entries(&ctx.repo, &filter)?;
    let flags = worktree::data_flags(&ctx.repo, &entries)?;
    let tracked: Vec<IndexEntry> =
        entries.into_iter().zip(flags).filter(|(_, d)| *d).map(|(e, _)| e).collect();
    let cache = ctx.stat_cache();
    let remote = ctx.remote(None).ok();
    let known = remote.as_ref().map(|r| ctx.known(&**r));
    let mut states = Vec::with_capacity(tracked.len());
    let mut to_hash = Vec::new();
    for e in &tracked {
        let pointer = ctx.repo.read_pointer(e.id)?;
        let mut st = FileState { path: e.path.to_string(), ..Default::default() };
        let Some(p) = pointer else {
            st.not_converted = true;
            st.size = ctx.repo.blob_size(e.id)?;
            states.push(st);
            continue;
        };
        st.oid = Some(p.oid.to_hex());
        st.size = p.size;
        st.in_cache = ctx.store.contains(&p.oid, p.size);
        st.pushed = known.as_ref().is_some_and(|k| k.contains(&p.oid));
        match disk_state(ctx, &root, e, &p, index_mtime, &cache) {
            Disk::Deleted => st.deleted = true,
            Disk::Unchanged => {}
            Disk::PointerOnly => st.pointer_only = true,
            Disk::Known(oid) => st.modified = oid != p.oid,
            Disk::NeedsHash(path, stat) => to_hash.push((states.len(), path, p, stat)),
        }
        states.push(st);
    }
    let started = std::time::SystemTime::now();
    let mut cache = cache;
    for (j, oid) in hash_parallel(&to_hash) {
        let (i, _, p, stat) = &to_hash[j];
        states[*i].modified = oid != Some(p.oid);
        if let Some(oid) = oid
            && stat.settled_at(started)
        {
            cache.insert(states[*i].path.as_bytes(), stat, oid);
        }
    }
    let _ = cache.save();
    print(ctx, args, &states, remote.as_ref().map(|r| (r.name().to_string(), r.location())));
    Ok(0)
}

fn disk_state(
    ctx: &Context,
    root: &std::path::Path,
    e: &IndexEntry,
    p: &Pointer,
    index_mtime: i64,
    cache: &crate::state::statcache::StatCache,
) -> Disk {
    let path = root.join(crate::git::rel_path(e.path.as_ref()));
    let Ok(meta) = std::fs::symlink_metadata(&path) else { return Disk::Deleted };
    let stat = FileStat::from_metadata(&meta);
    let looks_pointer =
        (stat.size as usize) < crate::pointer::MAX_POINTER_SIZE && stat.size != p.size;
    if looks_pointer && worktree::pointer_file(&ctx.repo, &path, &e.id).is_some() {
        return Disk::PointerOnly;
    }
    if worktree::stat_clean(&e.stat, &stat, index_mtime) {
        return Disk::Unchanged;
    }
    if let Some(oid) = cache.lookup(e.path.as_slice(), &stat) {
        return Disk::Known(oid);
    }
    Disk::NeedsHash(path, stat)
}

/// Hashes the files of `items`; returns (position in `items`, oid).
fn hash_parallel(items: &[(usize, PathBuf, Pointer, FileStat)]) -> Vec<(usize, Option<Oid>)> {
    let next = AtomicUsize::new(0);
    let out = Mutex::new(Vec::with_capacity(items.len()));
    let workers =
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).min(items.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    let Some((_, path, _, _)) = items.get(j) else { break };
                    let oid = hash_file(path).ok().map(|(o, _)| o);
                    if let Ok(mut v) = out.lock() {
                        v.push((j, oid));
                    }
                }
            });
        }
    });
    out.into_inner().unwrap_or_default()
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
    match &remote {
        Some((name, loc)) => println!("Data remote: {name} ({loc})"),
        None => println!("Data remote: none (add one with `git data remote add NAME URL`)"),
    }
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    let total: u64 = states.iter().map(|s| s.size).sum();
    for s in states {
        let labels = s.labels();
        for l in &labels {
            *counts.entry(l).or_default() += 1;
        }
        if !labels.is_empty() {
            println!("  {:<28} {:>10}  {}", labels.join(", "), super::human(s.size), s.path);
        }
    }
    let clean = states.iter().filter(|s| s.labels().is_empty()).count();
    let mut summary = format!(
        "{} tracked file{} ({}): {clean} up to date",
        states.len(),
        if states.len() == 1 { "" } else { "s" },
        super::human(total)
    );
    for (label, n) in &counts {
        summary.push_str(&format!(", {n} {label}"));
    }
    println!("{summary}");
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
            println!("hint: {hint}");
        }
    }
}
