//! The work tree as git-data sees it: the index entries of tracked files, and which work-tree
//! files still hold pointer text instead of their data.
//!
//! Invariant: a file counts as "pointer only" when its content is a valid pointer *and* the
//! index entry at that path is exactly that pointer blob — a file that merely looks like a
//! pointer, or one the user changed, is never overwritten.

use crate::fs::stat::FileStat;
use crate::git::scan::PathFilter;
use crate::git::{GitError, Repo};
use crate::pointer::{MAX_POINTER_SIZE, Pointer};
use gix::ObjectId;
use gix::bstr::{BString, ByteSlice};
use std::io::Read;
use std::path::Path;

/// A stage-0 regular-file entry of the index.
#[derive(Clone, Debug)]
pub(crate) struct IndexEntry {
    pub path: BString,
    pub id: ObjectId,
    pub executable: bool,
    /// The stat git recorded for the work-tree file.
    pub stat: FileStat,
}

/// The index entries selected by `filter` (stage 0, regular files, not skip-worktree), plus
/// the index file's own mtime (for git's racy-clean rule).
pub(crate) fn index_entries(
    repo: &Repo,
    filter: &PathFilter,
) -> Result<(Vec<IndexEntry>, i64), GitError> {
    let index = repo
        .gix
        .index_or_empty()
        .map_err(|e| GitError::Other(format!("cannot read the index: {e}")))?;
    let index_mtime = std::fs::metadata(&repo.index_path)
        .map(|m| FileStat::from_metadata(&m).mtime_ns)
        .unwrap_or(0);
    let mut out = Vec::new();
    for entry in index.entries() {
        use gix::index::entry::{Flags, Mode, Stage};
        if entry.stage() != Stage::Unconflicted
            || entry.flags.contains(Flags::SKIP_WORKTREE)
            || !(entry.mode == Mode::FILE || entry.mode == Mode::FILE_EXECUTABLE)
        {
            continue;
        }
        let path = entry.path(&index);
        if !filter.matches(path) {
            continue;
        }
        let s = &entry.stat;
        out.push(IndexEntry {
            path: path.to_owned(),
            id: entry.id,
            executable: entry.mode == Mode::FILE_EXECUTABLE,
            stat: FileStat {
                size: s.size as u64,
                mtime_ns: s.mtime.secs as i64 * 1_000_000_000 + s.mtime.nsecs as i64,
                ctime_ns: s.ctime.secs as i64 * 1_000_000_000 + s.ctime.nsecs as i64,
                ino: s.ino as u64,
                dev: s.dev as u64,
                uid: s.uid,
                gid: s.gid,
                mode: 0,
            },
        });
    }
    Ok((out, index_mtime))
}

/// The unmerged paths selected by `filter` (a conflict git could not resolve), one entry per
/// path: ours (stage 2) when the path has one, else the first stage git recorded.
pub(crate) fn conflicted_entries(
    repo: &Repo,
    filter: &PathFilter,
) -> Result<Vec<IndexEntry>, GitError> {
    use gix::index::entry::Stage;
    let index = repo
        .gix
        .index_or_empty()
        .map_err(|e| GitError::Other(format!("cannot read the index: {e}")))?;
    let mut out: Vec<IndexEntry> = Vec::new();
    for entry in index.entries().iter().filter(|e| e.stage() != Stage::Unconflicted) {
        let path = entry.path(&index);
        if !filter.matches(path) {
            continue;
        }
        let e = IndexEntry {
            path: path.to_owned(),
            id: entry.id,
            executable: false,
            stat: FileStat::default(),
        };
        match out.last_mut() {
            Some(last) if last.path == e.path => {
                if entry.stage() == Stage::Ours {
                    *last = e;
                }
            }
            _ => out.push(e),
        }
    }
    Ok(out)
}

/// Whether the index's stat for a file still matches the file on disk (git's own check:
/// sizes and times as truncated to 32 bits, and not racily clean).
pub(crate) fn stat_clean(entry: &FileStat, disk: &FileStat, index_mtime_ns: i64) -> bool {
    let t32 =
        |ns: i64| ((ns.div_euclid(1_000_000_000) as u32), (ns.rem_euclid(1_000_000_000) as u32));
    entry.size == disk.size & 0xffff_ffff
        && t32(entry.mtime_ns) == t32(disk.mtime_ns)
        && t32(entry.ctime_ns) == t32(disk.ctime_ns)
        && entry.ino == disk.ino & 0xffff_ffff
        && disk.mtime_ns < index_mtime_ns
}

/// Reads a work-tree file if it is small enough to be a pointer.
pub(crate) fn read_small(path: &Path) -> Option<Vec<u8>> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() as usize >= MAX_POINTER_SIZE {
        return None;
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path).ok()?.take(MAX_POINTER_SIZE as u64).read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// The pointer a work-tree file holds, if its content is the pointer blob `expected`.
pub(crate) fn pointer_file(repo: &Repo, path: &Path, expected: &ObjectId) -> Option<Pointer> {
    let content = read_small(path)?;
    let pointer = Pointer::parse(&content).ok()?;
    (repo.blob_id(&content) == *expected).then_some(pointer)
}

/// For each entry, whether git attributes give it `filter=data` (work-tree .gitattributes
/// first, then the index's).
pub(crate) fn data_flags(repo: &Repo, entries: &[IndexEntry]) -> Result<Vec<bool>, GitError> {
    data_paths(repo, entries.iter().map(|e| e.path.as_bstr()))
}

/// For each repository path, whether git attributes give it `filter=data` (work-tree
/// .gitattributes first, then the index's), or `filter=lfs` where git-data serves that name.
pub(crate) fn data_paths<'a>(
    repo: &Repo,
    paths: impl IntoIterator<Item = &'a gix::bstr::BStr>,
) -> Result<Vec<bool>, GitError> {
    use gix::attrs::StateRef;
    use gix::worktree::stack::state::attributes::Source;
    let err =
        |e: &dyn std::fmt::Display| GitError::Other(format!("cannot read .gitattributes: {e}"));
    let index = repo.gix.index_or_empty().map_err(|e| err(&e))?;
    let mut stack =
        repo.gix.attributes_only(&index, Source::WorktreeThenIdMapping).map_err(|e| err(&e))?;
    let mut outcome = stack.selected_attribute_matches(["filter"]);
    let lfs = super::hooks::serves_lfs(repo);
    let mut out = Vec::new();
    for path in paths {
        let platform =
            stack.at_entry(path, Some(gix::index::entry::Mode::FILE)).map_err(|e| err(&e))?;
        platform.matching_attributes(&mut outcome);
        let is_data = outcome.iter_selected().next().is_some_and(|m| {
            matches!(m.assignment.state, StateRef::Value(v)
                if v.as_bstr() == "data" || (lfs && v.as_bstr() == "lfs"))
        });
        out.push(is_data);
    }
    Ok(out)
}

/// Every work-tree file selected by `filter` that holds pointer text where git has a tracked
/// data file: the index entry is that very pointer, or another pointer (an unstaged change,
/// as `git stash pop` leaves). Writing the pointer's data there loses nothing: the data cleans
/// back to the same pointer.
pub(crate) fn pointer_files(
    repo: &Repo,
    filter: &PathFilter,
) -> Result<Vec<(BString, Pointer)>, GitError> {
    let root = repo.work_tree()?;
    let (entries, _) = index_entries(repo, filter)?;
    let mut out = Vec::new();
    for e in entries {
        let path = root.join(crate::git::rel_path(e.path.as_ref()));
        let Some(content) = read_small(&path) else { continue };
        let Ok(pointer) = Pointer::parse(&content) else { continue };
        if repo.blob_id(&content) == e.id || repo.read_pointer(e.id)?.is_some() {
            out.push((e.path, pointer));
        }
    }
    Ok(out)
}
