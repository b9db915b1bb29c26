//! `git data checkout [PATHS]`: write every tracked file that is still a pointer, from the
//! cache (git commands write them themselves; this is for files whose object was missing, or
//! a repository used without the filter). Missing objects are reported; `git data pull`
//! downloads them.

use crate::cli::args::CheckoutArgs;
use crate::cli::context::Context;
use crate::git::scan::PathFilter;
use crate::git::worktree;
use crate::materialize::{self, Candidate, Fetch};
use anyhow::Result;

pub(crate) fn run(ctx: &Context, args: &CheckoutArgs) -> Result<i32> {
    let filter = PathFilter::new(ctx.repo_paths(&args.paths)?);
    let journal = crate::materialize::journal::take_for(&ctx.journal(), &filter)?;
    let candidates: Vec<Candidate> = worktree::pointer_files(&ctx.repo, &filter)?
        .into_iter()
        .map(|(path, pointer)| Candidate { path, pointer })
        .collect();
    let outcome = materialize::materialize(&ctx.local(), candidates, Fetch::Never)?;
    if !outcome.index_locked {
        // a locked index left files unwritten: their entries stay for the rerun
        journal.finish()?;
        materialize::repair_index(&ctx.local(), &filter)?;
    }
    if !ctx.global.quiet && outcome.ok() {
        println!(
            "{} file{} written ({})",
            outcome.written,
            crate::cli::ui::plural(outcome.written),
            crate::units::human(outcome.bytes)
        );
    }
    Ok(crate::cli::ui::report_outcome(ctx, &outcome, "git data pull"))
}
