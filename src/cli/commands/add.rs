//! `git data add PATHS`: stages files as `git add` does, with the data files hashed and
//! stored on every core instead of passing one by one through git's clean filter.
//!
//! Steps: list the files under the paths (`git ls-files`), keep those whose attributes say
//! `filter=data`, store them ([`crate::filter::ingest`]), write their pointer blobs in one pack
//! ([`crate::git::odb`]), stage them with one `git update-index --index-info`, record their
//! stat in the index ([`crate::git::index`]) so git sees them as clean, then run
//! `git add` on the same paths for everything else (other files, deletions).
//! Invariants: the index is changed only after every object is safely stored, so a failure
//! leaves it as it was; a file git might see as racily clean is compared by git through the
//! filter, which gives the same pointer.

use crate::cli::args::AddArgs;
use crate::cli::context::Context;
use crate::filter::ingest::{self, Ingested, Source};
use crate::fs::stat;
use crate::git::IndexInfo;
use crate::git::index::{self, IndexError, StatUpdate};
use crate::git::worktree::{self, IndexEntry};
use crate::git::{GitError, git_command, rel_path};
use crate::progress::Progress;
use crate::store::state::pointers::PointerIds;
use anyhow::{Result, bail};
use gix::bstr::{BString, ByteSlice};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

pub(crate) fn run(ctx: &Context, args: &AddArgs) -> Result<i32> {
    let root = ctx.work_tree()?.to_path_buf();
    if ctx.repo.config_string("filter.data.process").is_none_or(|v| v.trim().is_empty()) {
        bail!("git-data's filter is not set up for this repository: run `git data install` first");
    }
    let paths = listed_files(args)?;
    let flags = worktree::data_paths(&ctx.repo, paths.iter().map(|p| p.as_bstr()))?;
    let sources: Vec<Source> = paths
        .into_iter()
        .zip(flags)
        .filter(|(_, data)| *data)
        .map(|(path, _)| Source { abs: root.join(rel_path(path.as_bstr())), path })
        .collect();
    let cache = ctx.stat_cache();
    let progress = if ctx.progress() {
        let total = sources.iter().filter_map(|s| s.abs.symlink_metadata().ok()).map(|m| m.len());
        Progress::bytes(true, "Adding", total.sum(), sources.len())
    } else {
        Progress::hidden()
    };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let results = ingest::ingest(&ctx.store, &cache, &sources, threads, &progress);
    progress.finish();
    let mut added = Vec::with_capacity(results.len());
    let mut failed = 0;
    for result in results {
        match result {
            Ok(Some(done)) => added.push(done),
            Ok(None) => {}
            Err(e) => {
                failed += 1;
                eprintln!("git-data: error: {e}");
                if let Some(hint) = e.store().and_then(|s| s.hint()) {
                    eprintln!("hint: {hint}");
                }
            }
        }
    }
    if failed > 0 {
        eprintln!("git-data: nothing was staged ({failed} file(s) could not be added)");
        return Ok(1);
    }
    let (staged, bytes) = stage(ctx, &added)?;
    remember(cache, &added);
    let code = git_add(args)?;
    if code == 0 && !ctx.global.quiet {
        println!(
            "{} data file{} staged ({}), {} unchanged",
            staged,
            if staged == 1 { "" } else { "s" },
            crate::units::human(bytes),
            added.len() - staged
        );
    }
    Ok(code)
}

/// Every file `git add` would consider under the paths: tracked ones and untracked ones
/// that are not ignored (unless --force), as repository paths.
fn listed_files(args: &AddArgs) -> Result<Vec<BString>> {
    let mut cmd = git_command();
    cmd.args(["ls-files", "-z", "--full-name", "--cached", "--others"]);
    if !args.force {
        cmd.arg("--exclude-standard");
    }
    let out = cmd.arg("--").args(&args.paths).output()?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(GitError::Other(format!("git ls-files failed: {msg}")).into());
    }
    let mut paths: Vec<BString> =
        out.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()).map(BString::from).collect();
    paths.sort_unstable();
    paths.dedup();
    Ok(paths)
}

/// Writes the pointer blobs and stages every added file whose index entry differs (and
/// records the stat of those git would otherwise re-read); returns how many entries got a new
/// blob or mode, and their data's size.
fn stage(ctx: &Context, added: &[Ingested]) -> Result<(usize, u64)> {
    let repo = &ctx.repo;
    let (entries, index_mtime) =
        worktree::index_entries(repo, &crate::git::scan::PathFilter::new([]))?;
    let by_path: HashMap<&[u8], &IndexEntry> =
        entries.iter().map(|e| (e.path.as_slice(), e)).collect();
    // git's boolean spellings (false, no, off, 0) all turn the executable bit off
    let filemode = repo.gix.config_snapshot().boolean("core.fileMode").unwrap_or(true);
    let mut info = IndexInfo::default();
    let mut blobs: Vec<Vec<u8>> = Vec::new();
    let mut seen = HashSet::new();
    let mut written = Vec::new();
    let mut updates = Vec::new();
    let (mut staged, mut bytes) = (0, 0);
    for a in added {
        let blob = a.cleaned.blob();
        let id = repo.blob_id(&blob);
        let entry = by_path.get(a.path.as_slice());
        let executable = if filemode { a.executable } else { entry.is_some_and(|e| e.executable) };
        let same_entry = entry.is_some_and(|e| e.id == id && e.executable == executable);
        if same_entry && entry.is_some_and(|e| worktree::stat_clean(&e.stat, &a.stat, index_mtime))
        {
            continue;
        }
        if !same_entry {
            info.set(&a.path, id.as_bytes(), executable);
            if seen.insert(id) && entry.is_none_or(|e| e.id != id) {
                if let Some(pointer) = a.cleaned.stored() {
                    written.push((id, pointer));
                }
                blobs.push(blob);
            }
            staged += 1;
            bytes += a.cleaned.stored().map_or(0, |p| p.size);
        }
        updates.push(StatUpdate {
            path: a.path.to_vec(),
            blob: id.as_bytes().to_vec(),
            stat: a.stat,
        });
    }
    if updates.is_empty() {
        return Ok((0, 0));
    }
    crate::git::odb::write_blobs(repo, &blobs.iter().map(Vec::as_slice).collect::<Vec<_>>())?;
    let _ = PointerIds::record(&ctx.pointer_ids_path(), &written); // only a cache
    if !info.is_empty() {
        crate::git::update_index(repo.work_tree()?, info)?;
    }
    let latest = added.iter().map(|a| a.stat.ctime_ns.max(a.stat.mtime_ns)).max().unwrap_or(0);
    stat::wait_until_settled(latest);
    match index::refresh(&repo.index_path, repo.hash_kind, &updates, Duration::from_secs(5)) {
        // git compares what it cannot trust by stat through the filter: slower, same result
        Ok(_) | Err(IndexError::SplitIndex) | Err(IndexError::Format(_)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok((staged, bytes))
}

/// Records the added files in the stat cache, so the next add or status need not hash them.
fn remember(mut cache: crate::store::state::statcache::StatCache, added: &[Ingested]) {
    for a in added.iter().filter(|a| a.settled) {
        if let Some(p) = a.cleaned.stored() {
            cache.insert(a.path.as_slice(), &a.stat, p.oid);
        }
    }
    let _ = cache.save();
}

/// Runs `git add` on the same paths (with the filter) for what is not a data file.
fn git_add(args: &AddArgs) -> Result<i32> {
    let mut cmd = crate::git::user_git();
    cmd.arg("add");
    if args.force {
        cmd.arg("--force");
    }
    let status = cmd.arg("--").args(&args.paths).status()?;
    Ok(status.code().unwrap_or(1))
}
