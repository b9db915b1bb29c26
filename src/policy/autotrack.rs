//! Tracking by size (`git data track --above` and the pre-commit hook): git attributes cannot
//! match a file by its size, so files over the threshold get an exact-path line in
//! `.gitattributes`, and their staged content is replaced by its pointer in the index.
//!
//! Invariants: what is committed is exactly what the user staged (the staged blob is cleaned,
//! never the work-tree file, which may hold unstaged edits); the content is streamed from git
//! into the cache (constant memory); the index is changed in one `git update-index` call after
//! every object is safely in the cache, so a failure leaves the index as it was. Finding the
//! candidates costs one pass over the index's in-memory entries: only entries whose recorded
//! work-tree size is over the threshold (or unknown) have their object header looked up.

use super::Policy;
use crate::git::IndexInfo;
use crate::git::attributes;
use crate::git::scan::PathFilter;
use crate::git::worktree::{self, IndexEntry};
use crate::git::{GitError, Repo, git_command, rel_path};
use crate::pointer::Pointer;
use crate::store::{Store, StoreError};
use gix::ObjectId;
use gix::bstr::{BString, ByteSlice};
use std::path::Path;
use std::process::Stdio;

#[derive(Debug, thiserror::Error)]
pub(crate) enum AutotrackError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("cannot store {path} in the cache: {source}")]
    Store { path: String, source: StoreError },
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
}

/// A staged file over the threshold that git would store whole.
#[derive(Clone, Debug)]
pub(crate) struct Oversized {
    pub path: BString,
    pub blob: ObjectId,
    pub size: u64,
    pub executable: bool,
    /// Already covered by a `filter=data` pattern (staged without the filter).
    pub tracked: bool,
}

/// The staged files larger than `threshold` whose blob is not a pointer and that the policy
/// does not `allow`. With `only_new`, a file whose blob is the one HEAD has at the same path
/// is left alone (it was committed before).
pub(crate) fn oversized(
    repo: &Repo,
    policy: &Policy,
    threshold: u64,
    only_new: bool,
) -> Result<Vec<Oversized>, GitError> {
    let (entries, _) = worktree::index_entries(repo, &PathFilter::default())?;
    let head_tree =
        if only_new { repo.gix.head_commit().ok().and_then(|c| c.tree().ok()) } else { None };
    let mut picked: Vec<(IndexEntry, u64)> = Vec::new();
    for e in entries {
        // the index records the work-tree size (mod 2^32): a cheap first filter
        if e.stat.size != 0 && e.stat.size <= threshold {
            continue;
        }
        let size = repo.blob_size(e.id)?;
        if size <= threshold || policy.is_allowed(e.path.as_bstr()) {
            continue;
        }
        if let Some(tree) = &head_tree
            && let Ok(Some(entry)) = tree.lookup_entry_by_path(rel_path(e.path.as_bstr()))
            && entry.object_id() == e.id
        {
            continue;
        }
        picked.push((e, size));
    }
    let entries: Vec<IndexEntry> = picked.iter().map(|(e, _)| e.clone()).collect();
    let flags = worktree::data_flags(repo, &entries)?;
    Ok(picked
        .into_iter()
        .zip(flags)
        .map(|((e, size), tracked)| Oversized {
            path: e.path,
            blob: e.id,
            size,
            executable: e.executable,
            tracked,
        })
        .collect())
}

/// Streams the blob `id` out of git into the cache; returns its pointer.
fn store_blob(
    root: &Path,
    store: &Store,
    path: &str,
    id: ObjectId,
) -> Result<Pointer, AutotrackError> {
    let io = |what: &str| {
        let what = format!("{what} {path}");
        move |source| AutotrackError::Io { what, source }
    };
    let mut child = git_command()
        .current_dir(root)
        .args(["cat-file", "blob", &id.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io("cannot run git cat-file for"))?;
    let stdout = child.stdout.take().ok_or_else(|| AutotrackError::Io {
        what: format!("no output from git cat-file for {path}"),
        source: std::io::ErrorKind::BrokenPipe.into(),
    })?;
    let stored = store.insert_reader(stdout);
    let status = child.wait().map_err(io("git cat-file failed for"))?;
    let (oid, size) =
        stored.map_err(|source| AutotrackError::Store { path: path.into(), source })?;
    if !status.success() {
        return Err(
            GitError::Other(format!("git cat-file could not read the staged {path}")).into()
        );
    }
    Ok(Pointer::new(oid, size))
}

/// Stores each file's staged content in the cache and stages its pointer in its place; files
/// not yet tracked get an exact-path line in `.gitattributes` (staged, and in the work tree).
/// Returns the patterns added; they get the filter `name`.
pub(crate) fn convert(
    repo: &Repo,
    store: &Store,
    files: &[Oversized],
    name: attributes::FilterName,
) -> Result<Vec<String>, AutotrackError> {
    let root = repo.work_tree()?.to_path_buf();
    let mut info = IndexInfo::default();
    for f in files {
        let path = f.path.to_str_lossy();
        let pointer = store_blob(&root, store, &path, f.blob)?;
        let blob = repo
            .gix
            .write_blob(pointer.encode())
            .map_err(|e| GitError::Other(format!("cannot write the pointer of {path}: {e}")))?;
        info.set(&f.path, blob.as_bytes(), f.executable);
    }
    let patterns: Vec<String> = files
        .iter()
        .filter(|f| !f.tracked)
        .map(|f| attributes::anchored(f.path.as_bstr()))
        .collect();
    let attributes = root.join(".gitattributes");
    let mut worktree_text = None;
    if !patterns.is_empty() {
        let on_disk = std::fs::read_to_string(&attributes).unwrap_or_default();
        let staged = staged_attributes(repo)?.unwrap_or_else(|| on_disk.clone());
        let blob = repo
            .gix
            .write_blob(attributes::with_patterns(&staged, &patterns, name))
            .map_err(|e| GitError::Other(format!("cannot write .gitattributes: {e}")))?;
        info.set(b".gitattributes", blob.as_bytes(), false);
        worktree_text = Some(attributes::with_patterns(&on_disk, &patterns, name));
    }
    if info.is_empty() {
        return Ok(patterns);
    }
    crate::git::update_index(&root, info)?;
    if let Some(text) = worktree_text {
        let shared = crate::fs::textfile::Access::Shared;
        crate::fs::textfile::replace(&attributes, text.as_bytes(), &repo.tmp_dir(), shared)
            .map_err(|source| AutotrackError::Io {
                what: format!("cannot write {}", attributes.display()),
                source,
            })?;
    }
    Ok(patterns)
}

/// The staged `.gitattributes` at the root, if there is one.
fn staged_attributes(repo: &Repo) -> Result<Option<String>, GitError> {
    let filter = PathFilter::new([BString::from(".gitattributes")]);
    let (entries, _) = worktree::index_entries(repo, &filter)?;
    let Some(e) = entries.first() else { return Ok(None) };
    let blob = repo.gix.find_blob(e.id).map_err(|err| crate::git::obj_err(e.id, err))?;
    Ok(Some(blob.data.to_str_lossy().into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_only_missing_lines() {
        let text = "*.bin filter=data diff=data merge=data -text";
        let data = attributes::FilterName::Data;
        let out = attributes::with_patterns(text, &["*.bin".into(), "/big.csv".into()], data);
        assert_eq!(
            out,
            "*.bin filter=data diff=data merge=data -text\n/big.csv filter=data diff=data merge=data -text\n"
        );
        assert_eq!(
            attributes::with_patterns("", &["a/b".into()], data),
            "a/b filter=data diff=data merge=data -text\n"
        );
    }
}
