//! `git data checkout [PATHS]`: write every tracked file that is still a pointer, from the
//! cache (git commands write them themselves; this is for files whose object was missing, or
//! a repository used without the filter). Missing objects are reported; `git data pull`
//! downloads them.

use crate::cli::args::CheckoutArgs;
use crate::cli::context::Context;
use crate::git::globs::Globs;
use crate::git::scan::PathFilter;
use crate::materialize::{Fetch, journal};
use anyhow::Result;

pub(crate) fn run(ctx: &Context, args: &CheckoutArgs) -> Result<i32> {
    let filter = PathFilter::new(ctx.tracked_paths(&args.paths)?);
    let (local, all) = (ctx.local(), Globs::default());
    let (outcome, _) = journal::work_tree(&local, &ctx.journal(), &filter, &all, Fetch::Never)?;
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
