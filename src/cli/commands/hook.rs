//! `git-data hook NAME ARGS…`: what the hook shims run. Our work first, then the user's own
//! hook if one was chained; a refused push or commit never runs the user's own hook.
//!
//! post-checkout, post-merge and post-rewrite materialise the files the smudge filter left as
//! pointers (the pending journal); reference-transaction finishes what killed processes left
//! there; pre-push uploads data (see `pre_push`); pre-commit tracks new files over
//! `policy.track-above` (see `track::pre_commit`).

use crate::cli::args::GlobalArgs;
use crate::cli::context::Context;
use crate::git::hooks;
use crate::materialize::{self, Candidate};
use crate::store::state::pending;
use anyhow::Result;
use gix::bstr::BString;
use std::io::Read;

pub fn run(g: &GlobalArgs, name: &str, args: &[String]) -> Result<i32> {
    let mut stdin = Vec::new();
    if matches!(name, "pre-push" | "reference-transaction") {
        std::io::stdin().read_to_end(&mut stdin)?;
    }
    let Ok(repo) = crate::git::Repo::discover() else {
        return Ok(0); // not a repository we can read: nothing for git-data to do
    };
    let hooks_dir = repo.hooks_dir();
    drop(repo);
    let ours = match name {
        "pre-push" => Context::open(g).and_then(|ctx| super::pre_push::run(&ctx, args, &stdin)),
        "post-checkout" | "post-merge" | "post-rewrite" => {
            Context::open_lenient(g).and_then(|ctx| materialize_pending(&ctx))
        }
        "pre-commit" => Context::open_lenient(g).and_then(|ctx| super::track::pre_commit(&ctx)),
        // the shim calls it only when a journal is left; only what ended processes left is
        // taken (a running command's own files are for its hook or its filter)
        "reference-transaction" if args.first().is_some_and(|a| a == "committed") => {
            Context::open_lenient(g).and_then(|ctx| finish_killed(&ctx))
        }
        _ => Ok(0),
    };
    let code = ours.unwrap_or_else(|e| {
        crate::report(&e);
        1
    });
    if code != 0 && matches!(name, "pre-push" | "pre-commit") {
        return Ok(code);
    }
    let chained = hooks::run_chained(&hooks_dir, name, args, &stdin)?;
    Ok(if code != 0 { code } else { chained })
}

/// Materialises the files recorded in the pending journal, all of them: git is done with
/// the work tree when it runs these hooks. Not while a rebase is under way: the rebase keeps
/// the index in memory and would write its stale stat data over ours (its files are written
/// when its own filter process ends, see `filter_process`).
pub fn materialize_pending(ctx: &Context) -> Result<i32> {
    if ctx.repo.work_tree.is_none() || sequencer_running(&ctx.repo.git_dir) {
        return Ok(0);
    }
    let found = pending::find(ctx.journal().dir(), true)?;
    consume(ctx, found)
}

/// Materialises journal entries that were found: their index entries are marked first, then
/// they are taken, written (downloading what is missing) and reported; the entries are
/// deleted once their files are written or reported, and left for the next consumer if this
/// fails or is killed before that.
pub fn consume(ctx: &Context, found: pending::Found) -> Result<i32> {
    consume_then(ctx, found, true)
}

/// [`consume`]; with `finish` false the entries stay in the journal after they are written,
/// for the next consumer to check again (it records the stat of files found written).
fn consume_then(ctx: &Context, found: pending::Found, finish: bool) -> Result<i32> {
    if found.entries.is_empty() {
        found.take()?.finish()?;
        return Ok(0);
    }
    materialize::mark(ctx, candidates(&found.entries))?;
    let taken = found.take()?;
    let outcome = materialize::materialize(ctx, candidates(&taken.entries), true)?;
    if !outcome.index_locked && !outcome.not_pointers.is_empty() {
        // written by a run that could not record their stat: git would call them modified
        let written = crate::git::scan::PathFilter::new(outcome.not_pointers.clone());
        materialize::repair_index(ctx, &written)?;
    }
    // nothing written now: what was written before has its stat recorded just above
    let finish = finish || (outcome.written == 0 && outcome.ok());
    if finish && !outcome.index_locked {
        taken.finish()?;
    } // else the entries stay for the next consumer: the rerun once the lock is gone
    Ok(report_outcome(ctx, &outcome, "git data pull"))
}

fn candidates(entries: &[pending::PendingFile]) -> Vec<Candidate> {
    entries
        .iter()
        .map(|e| Candidate { path: BString::from(e.path.clone()), pointer: e.pointer })
        .collect()
}

/// The journal's entries when a user command writes every pointer file of the work tree
/// (it finds them in the index itself): taken so that they are deleted once it is done.
pub fn take_journal_for(
    ctx: &Context,
    filter: &crate::git::scan::PathFilter,
) -> Result<pending::Taken> {
    if !filter.is_all() {
        return Ok(pending::Taken::default());
    }
    Ok(pending::find(ctx.journal().dir(), true)?.take()?)
}

/// Finishes the work that killed git-data processes left in the journal (a `git reset
/// --hard`, `git pull` or checkout killed while its files were written), when git updates a
/// ref: the rerun of such a command, which may change nothing else, finishes it.
fn finish_killed(ctx: &Context) -> Result<i32> {
    if ctx.repo.work_tree.is_none() || sequencer_running(&ctx.repo.git_dir) {
        return Ok(0);
    }
    // git may write an index it read before this hook over the stat recorded here (`git
    // merge` updates ORIG_HEAD, then writes its index): the entries stay for the consumer
    // that runs when git is done (post-merge, post-checkout, the filter), which records it
    consume_then(ctx, pending::find(ctx.journal().dir(), false)?, false)
}

/// Whether a rebase or `git am` is in progress (git keeps its state in these directories).
pub fn sequencer_running(git_dir: &std::path::Path) -> bool {
    ["rebase-merge", "rebase-apply"].iter().any(|d| git_dir.join(d).is_dir())
}

/// Prints what a materialisation did and failed to do; returns the exit code.
pub fn report_outcome(ctx: &Context, outcome: &materialize::Outcome, retry: &str) -> i32 {
    if outcome.written > 0 && ctx.progress() {
        eprintln!(
            "git-data: wrote {} file{} ({})",
            outcome.written,
            if outcome.written == 1 { "" } else { "s" },
            super::human(outcome.bytes)
        );
    }
    if outcome.ok() {
        return 0;
    }
    let n = outcome.failed.len();
    eprintln!(
        "git-data: error: {n} file{} left as pointer{}:",
        if n == 1 { " is" } else { "s are" },
        if n == 1 { "" } else { "s" }
    );
    for (path, why) in outcome.failed.iter().take(20) {
        eprintln!("  {path}: {why}");
    }
    if n > 20 {
        eprintln!("  ... and {} more", n - 20);
    }
    eprintln!(
        "hint: fix the cause above, then run `{retry}`; `git data status` lists files that are still pointers"
    );
    1
}
