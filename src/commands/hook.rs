//! `git-data hook NAME ARGS…`: what the hook shims run. Our work first, then the user's own
//! hook if one was chained; a refused push or commit never runs the user's own hook.
//!
//! post-checkout, post-merge and post-rewrite materialise the files the smudge filter left as
//! pointers (the pending journal); pre-push uploads data (see `pre_push`); pre-commit tracks
//! new files over `policy.track-above` (see `track::pre_commit`).

use crate::cli::GlobalArgs;
use crate::context::Context;
use crate::hooks;
use crate::materialize::{self, Candidate};
use anyhow::Result;
use gix::bstr::BString;
use std::io::Read;

pub fn run(g: &GlobalArgs, name: &str, args: &[String]) -> Result<i32> {
    let mut stdin = Vec::new();
    if name == "pre-push" {
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

/// Materialises the files recorded in the pending journal.
pub fn materialize_pending(ctx: &Context) -> Result<i32> {
    if ctx.repo.work_tree.is_none() {
        return Ok(0);
    }
    let entries = ctx.journal().take()?;
    if entries.is_empty() {
        return Ok(0);
    }
    let candidates = entries
        .into_iter()
        .map(|e| Candidate { path: BString::from(e.path), pointer: e.pointer })
        .collect();
    let outcome = materialize::materialize(ctx, candidates, true)?;
    Ok(report_outcome(ctx, &outcome, "git data pull"))
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
