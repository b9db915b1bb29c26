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
    drop(repo);
    let ours = match name {
        "pre-push" => Context::open(g).and_then(|ctx| pre_push::run(&ctx, args, &stdin)),
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
