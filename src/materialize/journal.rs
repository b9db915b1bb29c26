//! The pending journal's consumer: writes the files the smudge filter left as pointers, for
//! the hooks, the filter process when git closes it, and the commands that write every
//! pointer file (`checkout`, `pull`, `install` in a clone made without git-data).
//!
//! Invariant: index entries are marked before their journal entries are taken, and entries
//! are deleted only once their files are written (stat recorded) or reported, so a kill at
//! any point leaves work the next consumer finishes.

use super::{Candidate, Outcome};
use crate::git::globs::Globs;
use crate::git::scan::PathFilter;
use crate::oid::Oid;
use crate::store::state::pending;
use crate::sync::Local;
use anyhow::Result;
use gix::bstr::BString;

/// Materialises journal entries that were found: their index entries are marked first, then
/// they are taken, written (downloading what is missing), and deleted once their files are
/// written or have failed; left for the next consumer if this fails or is killed before that.
/// With `finish` false the entries stay after they are written, for the next consumer to
/// check again (it records the stat of files found written).
pub(crate) fn consume(ctx: &Local<'_>, found: pending::Found, finish: bool) -> Result<Outcome> {
    if found.entries.is_empty() {
        found.take()?.finish()?;
        return Ok(Outcome::default());
    }
    super::mark(ctx, candidates(&found.entries))?;
    let taken = found.take()?;
    let outcome = super::materialize(ctx, candidates(&taken.entries), super::Fetch::From(None))?;
    if !outcome.index_locked && !outcome.not_pointers.is_empty() {
        // written by a run that could not record their stat: git would call them modified
        let written = crate::git::scan::PathFilter::new(outcome.not_pointers.clone());
        super::repair_index(ctx, &written)?;
    }
    // nothing written now: what was written before has its stat recorded just above
    let finish = finish || (outcome.written == 0 && outcome.ok());
    if finish && !outcome.index_locked {
        taken.finish()?;
    } // else the entries stay for the next consumer: the rerun once the lock is gone
    Ok(outcome)
}

/// Writes every pointer file of the work tree that `filter` and `globs` choose, fetching as
/// `fetch` says, for the commands that write them all (`checkout`, `pull`, `install`). The
/// journal's entries are taken first (when every file is chosen) and deleted once the files
/// are written, so a kill leaves them for the rerun. Returns the outcome and the objects of
/// the files it tried.
pub(crate) fn work_tree(
    ctx: &Local<'_>,
    journal: &pending::Journal,
    filter: &PathFilter,
    globs: &Globs,
    fetch: super::Fetch<'_>,
) -> Result<(Outcome, Vec<Oid>)> {
    let taken = match globs.is_all() {
        true => take_for(journal, filter)?,
        false => Default::default(),
    };
    let candidates: Vec<Candidate> = crate::git::worktree::pointer_files(ctx.repo, filter)?
        .into_iter()
        .filter(|(path, _)| globs.matches(path.as_ref()))
        .map(|(path, pointer)| Candidate { path, pointer })
        .collect();
    let tried = candidates.iter().map(|c| c.pointer.oid).collect();
    let outcome = super::materialize(ctx, candidates, fetch)?;
    if !outcome.index_locked {
        // a locked index left files unwritten: their entries stay for the rerun
        taken.finish()?;
        // files a killed checkout or pull wrote but could not record: git would call them
        // modified (their size differs from the pointer's) until their stat is recorded
        super::repair_index(ctx, filter)?;
    }
    Ok((outcome, tried))
}

fn candidates(entries: &[pending::PendingFile]) -> Vec<Candidate> {
    entries
        .iter()
        .map(|e| Candidate { path: BString::from(e.path.clone()), pointer: e.pointer })
        .collect()
}

/// The journal's entries when a user command writes every pointer file of the work tree
/// (it finds them in the index itself): taken so that they are deleted once it is done.
fn take_for(journal: &pending::Journal, filter: &PathFilter) -> Result<pending::Taken> {
    if !filter.is_all() {
        return Ok(pending::Taken::default());
    }
    Ok(pending::find(journal.dir(), true)?.take()?)
}
