//! The pending journal's consumer: writes the files the smudge filter left as pointers, for
//! the hooks, the filter process when git closes it, and the commands that write every
//! pointer file (`checkout`, `pull`).
//!
//! Invariant: index entries are marked before their journal entries are taken, and entries
//! are deleted only once their files are written (stat recorded) or reported, so a kill at
//! any point leaves work the next consumer finishes.

use super::{Candidate, Outcome};
use crate::git::scan::PathFilter;
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

fn candidates(entries: &[pending::PendingFile]) -> Vec<Candidate> {
    entries
        .iter()
        .map(|e| Candidate { path: BString::from(e.path.clone()), pointer: e.pointer })
        .collect()
}

/// The journal's entries when a user command writes every pointer file of the work tree
/// (it finds them in the index itself): taken so that they are deleted once it is done.
pub(crate) fn take_for(journal: &pending::Journal, filter: &PathFilter) -> Result<pending::Taken> {
    if !filter.is_all() {
        return Ok(pending::Taken::default());
    }
    Ok(pending::find(journal.dir(), true)?.take()?)
}
