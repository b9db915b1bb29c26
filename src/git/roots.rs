//! What a repository still uses, for the commands that delete cached objects (`gc`, `prune`):
//! the commits at refs and in reflogs, the commit each work tree has checked out, the recent
//! commits of local refs, and the pointers of every work tree's index.
//!
//! Invariant: a root git cannot list is an error, never an empty answer: callers delete what
//! no root reaches, so a root left out would delete data in use.

use super::{GitError, Repo, git_command, run_git};
use crate::oid::Oid;
use gix::ObjectId;
use std::collections::HashSet;
use std::path::Path;

/// Where git runs for these listings: the work tree, or the git directory of a bare one.
fn dir(repo: &Repo) -> &Path {
    repo.work_tree.as_deref().unwrap_or(&repo.git_dir)
}

/// The object ids `git rev-list` printed, one a line.
fn ids(text: &str) -> Result<Vec<ObjectId>, GitError> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let hex = line.split(' ').next().unwrap_or_default();
        out.push(ObjectId::from_hex(hex.as_bytes()).map_err(|_| {
            GitError::Other(format!("`git rev-list` printed `{line}`, not an object id"))
        })?);
    }
    Ok(out)
}

/// Every commit at a ref or in a reflog entry (`git rev-list --all --reflog --no-walk`).
pub(crate) fn ref_and_reflog_tips(repo: &Repo) -> Result<Vec<ObjectId>, GitError> {
    let out = run_git(git_command().current_dir(dir(repo)).args([
        "rev-list",
        "--all",
        "--reflog",
        "--no-walk",
    ]))?;
    ids(&out)
}

/// The pointers that the index of every work tree names (`--indexed-objects` covers them all).
pub(crate) fn indexed_pointers(repo: &Repo) -> Result<HashSet<Oid>, GitError> {
    let out = run_git(git_command().current_dir(dir(repo)).args([
        "rev-list",
        "--objects",
        "--indexed-objects",
        "--no-walk",
    ]))?;
    let mut oids = HashSet::new();
    for line in out.lines() {
        let hex = line.split(' ').next().unwrap_or_default();
        if let Ok(id) = ObjectId::from_hex(hex.as_bytes()) {
            oids.extend(repo.read_pointer(id)?.map(|p| p.oid));
        }
    }
    Ok(oids)
}

/// The commit each work tree has checked out (`git worktree list --porcelain`); an unborn
/// branch has none.
pub(crate) fn worktree_heads(repo: &Repo) -> Result<Vec<ObjectId>, GitError> {
    let out =
        run_git(git_command().current_dir(dir(repo)).args(["worktree", "list", "--porcelain"]))?;
    Ok(out
        .lines()
        .filter_map(|l| l.strip_prefix("HEAD "))
        .filter_map(|hex| ObjectId::from_hex(hex.trim().as_bytes()).ok())
        .filter(|id| repo.gix.find_commit(*id).is_ok())
        .collect())
}

/// The commits reachable from local branches, tags, the stash and `heads` whose committer
/// date is `since` (seconds since the epoch) or later. The walk stops at older commits, as
/// `git rev-list --since` does; remote-tracking refs are not followed (they are others' work).
pub(crate) fn recent_commits(
    repo: &Repo,
    heads: &[ObjectId],
    since: i64,
) -> Result<Vec<ObjectId>, GitError> {
    let mut tips: Vec<ObjectId> = heads.to_vec();
    for prefix in ["refs/heads/", "refs/tags/", "refs/stash"] {
        tips.extend(repo.refs_with_prefix(prefix));
    }
    tips.retain(|id| repo.gix.find_commit(*id).is_ok());
    if tips.is_empty() {
        return Ok(Vec::new());
    }
    let order = gix::traverse::commit::simple::CommitTimeOrder::NewestFirst;
    let walk = repo
        .gix
        .rev_walk(tips)
        .sorting(gix::revision::walk::Sorting::ByCommitTimeCutoff { order, seconds: since })
        .all()
        .map_err(|e| GitError::Other(format!("cannot walk history: {e}")))?;
    let mut out = Vec::new();
    for info in walk {
        let info = info.map_err(|e| GitError::Other(format!("cannot walk history: {e}")))?;
        // a tip older than the cut-off is still yielded by the walk: leave it out
        if info.commit_time.is_none_or(|t| t >= since) {
            out.push(info.id);
        }
    }
    Ok(out)
}
