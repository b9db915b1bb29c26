//! Materialisation: turns work-tree files that hold pointer text into their data. Shared by
//! the post-checkout/post-merge hooks, `git data checkout` and `git data pull`.
//!
//! Steps: keep only files that still hold exactly their pointer; fetch missing objects in
//! parallel; write each file next to its target (reflink, read-only hard link, or copy) and
//! rename it over the pointer; then refresh the index's stat data so `git status` stays clean
//! without re-reading the files. Invariants: a file is replaced atomically or not at all;
//! only verified objects are written; a failure on one file never stops the others.

use crate::config::LinkMode;
use crate::context::Context;
use crate::index_refresh::{self, IndexError, StatUpdate};
use crate::pointer::Pointer;
use crate::progress::Progress;
use crate::state::{self, FileStat};
use crate::store::{Store, StoreError};
use gix::bstr::{BString, ByteSlice};
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A work-tree file that holds pointer text.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub path: BString,
    pub pointer: Pointer,
}

/// What happened.
#[derive(Debug, Default)]
pub struct Outcome {
    pub written: usize,
    pub bytes: u64,
    /// Files left as pointers, with the reason and, where known, the fix.
    pub failed: Vec<(BString, String)>,
    /// The index could not be updated (another git process held its lock).
    pub index_locked: bool,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }
}

struct Written {
    path: BString,
    pointer: Pointer,
    stat: FileStat,
}

/// Materialises `candidates`, fetching missing objects from the default remote when `fetch`.
pub fn materialize(
    ctx: &Context,
    candidates: Vec<Candidate>,
    fetch: bool,
) -> anyhow::Result<Outcome> {
    let root = ctx.work_tree()?.to_path_buf();
    let mut outcome = Outcome::default();
    let todo: Vec<Candidate> =
        dedup(candidates).into_iter().filter(|c| holds_pointer(&root, c)).collect();
    if todo.is_empty() {
        return Ok(outcome);
    }
    let missing: Vec<(gix::bstr::BString, Pointer)> = todo
        .iter()
        .filter(|c| !ctx.store.contains(&c.pointer.oid, c.pointer.size))
        .map(|c| (c.path.clone(), c.pointer))
        .collect();
    let mut unavailable = std::collections::HashMap::new();
    if !missing.is_empty() {
        unavailable = fetch_missing(ctx, &missing, fetch);
    }
    let (ready, skipped): (Vec<Candidate>, Vec<Candidate>) =
        todo.into_iter().partition(|c| !unavailable.contains_key(&c.pointer.oid));
    for c in skipped {
        let reason = unavailable.get(&c.pointer.oid).cloned().unwrap_or_default();
        outcome.failed.push((c.path, reason));
    }
    let (mut written, corrupt) = write_all(ctx, &root, ready, &mut outcome);
    if !corrupt.is_empty() {
        // corrupt objects were quarantined: download good copies and write those files again
        let again: Vec<(BString, Pointer)> =
            corrupt.iter().map(|c| (c.path.clone(), c.pointer)).collect();
        let still = fetch_missing(ctx, &again, fetch);
        let (retry, lost): (Vec<Candidate>, Vec<Candidate>) =
            corrupt.into_iter().partition(|c| !still.contains_key(&c.pointer.oid));
        for c in lost {
            let why = still.get(&c.pointer.oid).cloned().unwrap_or_default();
            outcome
                .failed
                .push((c.path, format!("its cached object was corrupt (quarantined) and {why}")));
        }
        let (more, corrupt_again) = write_all(ctx, &root, retry, &mut outcome);
        written.extend(more);
        for c in corrupt_again {
            outcome.failed.push((c.path, "the downloaded object is corrupt too".into()));
        }
    }
    outcome.index_locked = !refresh_index(ctx, &root, written);
    Ok(outcome)
}

fn dedup(candidates: Vec<Candidate>) -> Vec<Candidate> {
    let mut by_path = std::collections::BTreeMap::new();
    for c in candidates {
        by_path.insert(c.path.clone(), c);
    }
    by_path.into_values().collect()
}

fn holds_pointer(root: &Path, c: &Candidate) -> bool {
    crate::worktree::read_small(&root.join(crate::git::rel_path(c.path.as_bstr())))
        .is_some_and(|content| content == c.pointer.encode().as_bytes())
}

/// Downloads missing objects; returns, per oid that is still missing, why.
pub fn fetch_missing(
    ctx: &Context,
    missing: &[(BString, Pointer)],
    fetch: bool,
) -> std::collections::HashMap<crate::oid::Oid, String> {
    let mut out = std::collections::HashMap::new();
    let fail_all = |why: String, out: &mut std::collections::HashMap<_, _>| {
        for (_, p) in missing {
            out.insert(p.oid, why.clone());
        }
    };
    if !fetch {
        fail_all("not in the local cache; run `git data pull` to download it".into(), &mut out);
        return out;
    }
    let remote = match ctx.remote(None) {
        Ok(r) => r,
        Err(e) => {
            let hint = e.hint.clone().map(|h| format!(" ({h})")).unwrap_or_default();
            fail_all(
                format!("not in the local cache and cannot be downloaded: {e}{hint}"),
                &mut out,
            );
            return out;
        }
    };
    let transfer = match ctx.transfer() {
        Ok(t) => t,
        Err(e) => {
            fail_all(format!("{e:#}"), &mut out);
            return out;
        }
    };
    let objects: Vec<_> = missing.iter().map(|(_, p)| (p.oid, p.size)).collect();
    let total = objects.iter().map(|o| o.1).sum();
    let progress = Progress::bytes(ctx.progress(), "Downloading", total, objects.len());
    let report = transfer.download(&remote, &ctx.store, &objects, &progress);
    progress.finish();
    let mut known = ctx.known(&*remote);
    known.add(report.done.iter().copied());
    for (oid, err) in report.failed {
        let hint = err.hint().map(|h| format!("; {h}")).unwrap_or_default();
        out.insert(oid, format!("{err}{hint}"));
    }
    out
}

/// Why one file could not be written.
enum WriteFailure {
    /// The cached object was corrupt (and is now quarantined).
    Corrupt(String),
    Other(String),
}

/// Writes every ready file in parallel; returns what was written and the candidates whose
/// cached object turned out corrupt (other failures go to `outcome`).
fn write_all(
    ctx: &Context,
    root: &Path,
    ready: Vec<Candidate>,
    outcome: &mut Outcome,
) -> (Vec<Written>, Vec<Candidate>) {
    let total: u64 = ready.iter().map(|c| c.pointer.size).sum();
    let progress = if total > 64 << 20 {
        Progress::bytes(ctx.progress(), "Writing", total, ready.len())
    } else {
        Progress::hidden()
    };
    let next = AtomicUsize::new(0);
    let written = Mutex::new(Vec::new());
    let failed = Mutex::new(Vec::new());
    let (store, link) = (&*ctx.store, ctx.config.link_mode);
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
                    match write_one(store, link, root, c) {
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
            WriteFailure::Other(msg) => outcome.failed.push((c.path, msg)),
        }
    }
    (written, corrupt)
}

/// Replaces one pointer file by its data; returns the new file's stat.
fn write_one(
    store: &Store,
    link: LinkMode,
    root: &Path,
    c: &Candidate,
) -> Result<FileStat, WriteFailure> {
    let (file, object) =
        store.open_verified(&c.pointer.oid, c.pointer.size).map_err(|e| match e {
            StoreError::Corrupt { .. } => WriteFailure::Corrupt(e.to_string()),
            other => WriteFailure::Other(other.to_string()),
        })?;
    drop(file);
    write_file(&object, link, root, c).map_err(WriteFailure::Other)
}

fn write_file(
    object: &Path,
    link: LinkMode,
    root: &Path,
    c: &Candidate,
) -> Result<FileStat, String> {
    let target = root.join(crate::git::rel_path(c.path.as_bstr()));
    let dir = target.parent().unwrap_or(root).to_path_buf();
    let mode =
        fs::symlink_metadata(&target).map(|m| m.permissions().mode() & 0o777).unwrap_or(0o644);
    let executable = mode & 0o111 != 0;
    let io_err = |e: io::Error| format!("cannot write {}: {e}", target.display());
    let prefix =
        format!(".{}.", target.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
    let builder = {
        let mut b = tempfile::Builder::new();
        b.prefix(&prefix).suffix(".git-data");
        b
    };
    let tmp: tempfile::TempPath = if link == LinkMode::Hardlink && !executable {
        builder.make_in(&dir, |p| fs::hard_link(object, p)).map_err(io_err)?.into_temp_path()
    } else {
        let mut t = builder.tempfile_in(&dir).map_err(io_err)?;
        let src = fs::File::open(object).map_err(io_err)?;
        let n = if link == LinkMode::Copy {
            io::copy(&mut &src, t.as_file_mut())
        } else {
            crate::atomic::clone_or_copy(&src, t.as_file_mut())
        }
        .map_err(io_err)?;
        if n != c.pointer.size {
            return Err(format!(
                "short copy of {}: {n} of {} bytes",
                object.display(),
                c.pointer.size
            ));
        }
        t.as_file().set_permissions(fs::Permissions::from_mode(mode | 0o200)).map_err(io_err)?;
        t.as_file().set_modified(state::before_this_second()).map_err(io_err)?;
        t.into_temp_path()
    };
    replace(tmp, &target).map_err(io_err)?;
    let meta = fs::symlink_metadata(&target).map_err(io_err)?;
    Ok(FileStat::from_metadata(&meta))
}

/// Puts the finished temp file at `target`. An existing `target` (the pointer git wrote) is
/// exchanged with it (`renameat2` RENAME_EXCHANGE) and then removed under the temp's name:
/// the path never goes missing, and ext4 does not start writing the new file's data out at
/// once, as it does when a rename replaces a file (its `auto_da_alloc`: ~60 ms per 256 MiB
/// on a switch). Where exchange is not supported, a plain rename.
fn replace(tmp: tempfile::TempPath, target: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    if !fs::symlink_metadata(target).is_ok_and(|m| m.is_file()) {
        // nothing there, or not a file (never swap a directory or a link away)
        return tmp.persist(target).map_err(|e| e.error);
    }
    let from = std::ffi::CString::new(tmp.as_os_str().as_bytes())?;
    let to = std::ffi::CString::new(target.as_os_str().as_bytes())?;
    // SAFETY: two NUL-terminated paths that live across the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        // `tmp` now names the old file: dropping it removes that
        return tmp.close();
    }
    tmp.persist(target).map_err(|e| e.error)
}

/// Records the new stat of written files in the index and the stat cache; false when the
/// index lock could not be taken.
fn refresh_index(ctx: &Context, root: &Path, written: Vec<Written>) -> bool {
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
