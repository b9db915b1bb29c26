//! The hooks that write the files the smudge filter left as pointers: post-checkout,
//! post-merge and post-rewrite (everything journaled), and reference-transaction (what killed
//! processes left).
//!
//! Invariant: nothing is written while a rebase or `git am` runs (it keeps the index in
//! memory and would write stale stat data over ours).

use crate::cli::context::Context;
use crate::cli::ui;
use crate::materialize::journal;
use crate::store::state::pending;
use anyhow::Result;

/// Materialises the files recorded in the pending journal, all of them: git is done with
/// the work tree when it runs these hooks. Not while a rebase is under way: the rebase keeps
/// the index in memory and would write its stale stat data over ours (its files are written
/// when its own filter process ends, see `filter_process`).
pub(super) fn materialize_pending(ctx: &Context) -> Result<i32> {
    if ctx.repo.work_tree.is_none() || ctx.repo.sequencer_running() {
        return Ok(0);
    }
    let found = pending::find(ctx.journal().dir(), true)?;
    let outcome = journal::consume(&ctx.local(), found, true)?;
    Ok(ui::report_outcome(ctx, &outcome, "git data pull"))
}

/// Finishes the work that killed git-data processes left in the journal (a `git reset
/// --hard`, `git pull` or checkout killed while its files were written), when git updates a
/// ref: the rerun of such a command, which may change nothing else, finishes it.
pub(super) fn finish_killed(ctx: &Context) -> Result<i32> {
    if ctx.repo.work_tree.is_none() || ctx.repo.sequencer_running() {
        return Ok(0);
    }
    // git may write an index it read before this hook over the stat recorded here (`git
    // merge` updates ORIG_HEAD, then writes its index): the entries stay for the consumer
    // that runs when git is done (post-merge, post-checkout, the filter), which records it
    let outcome =
        journal::consume(&ctx.local(), pending::find(ctx.journal().dir(), false)?, false)?;
    Ok(ui::report_outcome(ctx, &outcome, "git data pull"))
}
