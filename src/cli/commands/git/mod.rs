//! What git calls: the filter process, the merge driver, and `git-data hook NAME ARGS…`,
//! which the hook shims run. Our work first, then the user's own
//! hook if one was chained; a refused push or commit never runs the user's own hook.
//!
//! post-checkout, post-merge and post-rewrite materialise the files the smudge filter left as
//! pointers (the pending journal); reference-transaction finishes what killed processes left
//! there (see `pending`); pre-push uploads data (see `pre_push`); pre-commit tracks new files
//! over `policy.track-above` (see `pre_commit`).

use crate::cli::args::GlobalArgs;
use crate::cli::context::Context;
use crate::git::hooks;
use anyhow::Result;
use std::io::Read;

pub(crate) mod filter_process;
pub(crate) mod merge_driver;
mod pending;
mod pre_commit;
mod pre_push;

/// Warns that the hooks are here but git's filter config is not (removed, or a scope that is
/// not read): checked-out data files stay pointer text and `git add` puts data into git.
/// After a checkout that changed commits that is a wrong work tree, so the hook fails; a
/// commit, a merge (whose exit code git ignores) or a new branch goes on.
fn not_set_up(hook: &str, args: &[String]) -> i32 {
    eprintln!(
        "git-data: warning: git-data's filter is not set up in this clone (git config has no \
         filter.data), so data files are checked out as pointer text and `git add` stores data \
         in git itself"
    );
    eprintln!("hint: `git data install` sets it up and writes the data of the pointer files");
    let moved = hook == "post-checkout" && args.len() >= 2 && args[0] != args[1];
    if moved { 1 } else { 0 }
}

/// Runs the hook `name` (`git-data hook NAME ARGS…`); returns the exit code.
pub(crate) fn run_hook(g: &GlobalArgs, name: &str, args: &[String]) -> Result<i32> {
    let mut stdin = Vec::new();
    if matches!(name, "pre-push" | "reference-transaction") {
        std::io::stdin().read_to_end(&mut stdin)?;
    }
    let Ok(repo) = crate::git::Repo::discover() else {
        return Ok(0); // not a repository we can read: nothing for git-data to do
    };
    let hooks_dir = repo.hooks_dir();
    let unfiltered = !hooks::filter_configured(&repo) && repo.work_tree.is_some();
    drop(repo);
    let ours = match name {
        "post-checkout" | "post-merge" | "pre-commit" if unfiltered => Ok(not_set_up(name, args)),
        "pre-push" => {
            // `git push -q` does not tell its hooks: its command line does
            let g = &GlobalArgs { quiet: g.quiet || hooks::push_is_quiet(), ..g.clone() };
            Context::open(g).and_then(|ctx| pre_push::run(&ctx, args, &stdin))
        }
        "post-checkout" | "post-merge" | "post-rewrite" => {
            Context::open_lenient(g).and_then(|ctx| pending::materialize_pending(&ctx))
        }
        "pre-commit" => Context::open_lenient(g).and_then(|ctx| pre_commit::run(&ctx)),
        // the shim calls it only when a journal is left; only what ended processes left is
        // taken (a running command's own files are for its hook or its filter)
        "reference-transaction" if args.first().is_some_and(|a| a == "committed") => {
            Context::open_lenient(g).and_then(|ctx| pending::finish_killed(&ctx))
        }
        _ => Ok(0),
    };
    let code = ours.unwrap_or_else(|e| {
        crate::cli::error::report(&e);
        1
    });
    if code != 0 && matches!(name, "pre-push" | "pre-commit") {
        return Ok(code);
    }
    let chained = hooks::run_chained(&hooks_dir, name, args, &stdin)?;
    Ok(if code != 0 { code } else { chained })
}
