//! `git data push`: uploads the data of the files that commits introduce (see
//! [`crate::sync::push`]), then the run-cache entries made here that the remote lacks, each
//! after the objects it names ([`crate::pipeline::runcache::remote`]).

use crate::cli::args::PushArgs;
use crate::cli::context::Context;
use crate::cli::ui;
use crate::git::scan::{Found, PathFilter, Scanner};
use crate::pipeline::runcache;
use crate::pipeline::runcache::entry::{Entries, entries_dir};
use crate::sync;
use anyhow::Result;

pub(crate) fn run(ctx: &Context, push: &PushArgs) -> Result<i32> {
    let args = &push.transfer;
    ctx.check_remote_arg(args)?;
    let tips = ctx.tips(args)?;
    let filter = PathFilter::new(ctx.repo_paths(&args.paths)?);
    let found: Vec<Found> = Scanner::new(&ctx.repo)
        .introduced(&tips, &[])?
        .into_iter()
        .filter(|f| filter.matches(&f.path))
        .collect();
    let up = sync::push::upload(&ctx.local(), args.remote.as_deref(), &found, push.verify_remote)?;
    ui::report_uploaded(ctx.global.quiet, &up);
    push_run_cache(ctx, args.remote.as_deref(), push.verify_remote)?;
    if !ctx.global.quiet && up.files == 0 {
        let (n, s) = (up.already, if up.already == 1 { "" } else { "s" });
        if up.asked {
            println!("Everything is already on the remote ({n} file{s}).");
        } else {
            println!(
                "Everything is already on the remote ({n} file{s}, by this clone's record of \
                 uploads; `git data push --verify-remote` asks the remote)."
            );
        }
    }
    Ok(0)
}

/// Uploads the run-cache entries made here that `remote` lacks, each after the objects it
/// names; called after the objects of a push (by `git data push` and the pre-push hook).
pub(super) fn push_run_cache(ctx: &Context, remote: Option<&str>, verify: bool) -> Result<()> {
    let entries = Entries { dir: entries_dir(&ctx.repo.data_dir()), tmp: ctx.repo.tmp_dir() };
    let runs = runcache::remote::push(&ctx.local(), remote, &entries, verify)?;
    if !ctx.global.quiet && runs.entries > 0 {
        let s = if runs.entries == 1 { "y" } else { "ies" };
        println!(
            "Uploaded {} run-cache entr{s} (and {} object{} they name).",
            runs.entries,
            runs.objects,
            if runs.objects == 1 { "" } else { "s" }
        );
    }
    if !ctx.global.quiet && runs.incomplete > 0 {
        eprintln!(
            "git-data: note: {} run-cache entr{} not pushed: an object {} names is no longer in the cache",
            runs.incomplete,
            if runs.incomplete == 1 { "y was" } else { "ies were" },
            if runs.incomplete == 1 { "it" } else { "each" }
        );
    }
    Ok(())
}
