//! After files are written: their new stat goes into the index and the stat cache, so that
//! `git status` stays clean without git re-reading (and re-filtering) gigabytes.
//!
//! Invariants: a file is recorded only if its stat still matches what was written (else git
//! looks at it itself); an index we cannot patch is refreshed by git, never left wrong.

use super::Written;
use crate::context::Context;
use crate::index_refresh::{self, IndexError, StatUpdate};
use crate::state::{self, FileStat};
use gix::bstr::ByteSlice;
use std::fs;
use std::path::Path;
use std::time::Duration;

/// Records the new stat of written files in the index and the stat cache; false when the
/// index lock could not be taken.
pub(super) fn refresh_index(ctx: &Context, root: &Path, written: Vec<Written>) -> bool {
    if written.is_empty() {
        return true;
    }
    let latest = written.iter().map(|w| w.stat.ctime_ns.max(w.stat.mtime_ns)).max().unwrap_or(0);
    state::wait_until_settled(latest);
    let mut cache = ctx.stat_cache();
    let mut updates = Vec::with_capacity(written.len());
    let observed = std::time::SystemTime::now();
    for w in &written {
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
    match index_refresh::refresh(
        &ctx.repo.index_path,
        ctx.repo.hash_kind,
        &updates,
        Duration::from_secs(5),
    ) {
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
        Err(_) => {
            git_refresh(root, &updates);
            true
        }
    }
}

/// Lets git refresh entries (split index, or an index we do not patch). git treats a size
/// change as a content change without looking, so the entries' stat data is reset first
/// (`--index-info` with the same blob), which makes git compare content through the filter.
fn git_refresh(root: &Path, updates: &[StatUpdate]) {
    use std::io::Write;
    let mut info = Vec::new();
    for u in updates {
        let mode = if u.stat.mode & 0o111 != 0 { "100755" } else { "100644" };
        let hex: String = u.blob.iter().map(|b| format!("{b:02x}")).collect();
        info.extend_from_slice(format!("{mode} {hex}\t").as_bytes());
        info.extend_from_slice(&u.path);
        info.push(b'\n');
    }
    let reset = std::process::Command::new("git")
        .args(["update-index", "--index-info"])
        .current_dir(root)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(&info)?;
            }
            child.wait()
        });
    if reset.is_ok() {
        let _ = std::process::Command::new("git")
            .args(["update-index", "-q", "--refresh"])
            .current_dir(root)
            .output();
    }
}

/// Refreshes the index entries of data files whose content is right but whose recorded stat
/// is stale — git would report them as modified without looking, because their size differs
/// (a refresh that could not take the index lock leaves this). Content is checked first.
pub fn repair_index(ctx: &Context, filter: &crate::scan::PathFilter) -> anyhow::Result<usize> {
    let root = ctx.work_tree()?.to_path_buf();
    let (entries, _) = crate::worktree::index_entries(&ctx.repo, filter)?;
    let cache = ctx.stat_cache();
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
    Ok(if refresh_index(ctx, &root, stale) { n } else { 0 })
}
