//! `git data fetch` (download into the cache) and `git data pull` (fetch, then write the
//! files into the work tree).

use crate::cli::args::TransferArgs;
use crate::cli::context::Context;
use crate::git::scan::{Found, PathFilter, Scanner};
use crate::git::worktree;
use crate::hint::hinted;
use crate::materialize::{self, Candidate};
use crate::progress::Progress;
use anyhow::Result;

/// The files whose data a fetch wants: HEAD's (or `--rev`s') trees, or all history (`--all`).
fn wanted(ctx: &Context, args: &TransferArgs, filter: &PathFilter) -> Result<Vec<Found>> {
    let tips = ctx.tips(args)?;
    let mut scanner = Scanner::new(&ctx.repo);
    let found = if args.all {
        scanner.introduced(&tips, &[])?
    } else {
        let mut all = Vec::new();
        for commit in tips {
            let tree = ctx.repo.tree_of(commit)?;
            all.extend(scanner.tree_files(commit, tree, filter)?);
        }
        all
    };
    Ok(found.into_iter().filter(|f| f.pointer.is_some() && filter.matches(&f.path)).collect())
}

fn download(ctx: &Context, args: &TransferArgs) -> Result<usize> {
    let filter = PathFilter::new(ctx.repo_paths(&args.paths)?);
    let found = wanted(ctx, args, &filter)?;
    let mut objects: Vec<(crate::oid::Oid, u64)> = found
        .iter()
        .filter_map(|f| f.pointer)
        .filter(|p| !ctx.store.contains(&p.oid, p.size))
        .map(|p| (p.oid, p.size))
        .collect();
    objects.sort();
    objects.dedup();
    if objects.is_empty() {
        return Ok(0);
    }
    let remote = ctx.remote(args.remote.as_deref())?;
    let transfer = ctx.transfer()?;
    transfer.call(|| remote.check())?;
    let total = crate::progress::total_of(objects.iter().map(|o| o.1));
    let progress = Progress::bytes(ctx.progress(), "Downloading", total, objects.len());
    let report = transfer.download(&remote, &ctx.store, &objects, &progress);
    progress.finish();
    ctx.known(&*remote).add(report.done.iter().copied());
    if !report.failed.is_empty() {
        let n = report.failed.len();
        let mut message = format!(
            "{n} object{} could not be downloaded from {}:",
            if n == 1 { "" } else { "s" },
            remote.name()
        );
        let mut hint = None;
        for (oid, err) in report.failed.iter().take(20) {
            let path = found
                .iter()
                .find(|f| f.pointer.is_some_and(|p| p.oid == *oid))
                .map(|f| f.path.to_string())
                .unwrap_or_default();
            message.push_str(&format!("\n  {path}: {err}"));
            hint = hint.or_else(|| err.hint().map(str::to_string));
        }
        return Err(hinted(
            message,
            hint.unwrap_or_else(|| "run the command again once the remote is reachable".into()),
        ));
    }
    if !ctx.global.quiet {
        eprintln!(
            "git-data: downloaded {} file{} ({}) from {}",
            report.done.len(),
            if report.done.len() == 1 { "" } else { "s" },
            crate::units::human(report.bytes),
            remote.name()
        );
    }
    Ok(report.done.len())
}

pub(crate) fn fetch(ctx: &Context, args: &TransferArgs) -> Result<i32> {
    download(ctx, args)?;
    Ok(0)
}

pub(crate) fn pull(ctx: &Context, args: &TransferArgs) -> Result<i32> {
    let fetched = download(ctx, args);
    let filter = PathFilter::new(ctx.repo_paths(&args.paths)?);
    let journal = crate::materialize::journal::take_for(&ctx.journal(), &filter)?;
    let candidates = worktree::pointer_files(&ctx.repo, &filter)?
        .into_iter()
        .map(|(path, pointer)| Candidate { path, pointer })
        .collect();
    let outcome = materialize::materialize(&ctx.local(), candidates, false)?;
    if !outcome.index_locked {
        // a locked index left files unwritten: their entries stay for the rerun
        journal.finish()?;
        // files a killed checkout or pull wrote but could not record: git would call them
        // modified (their size differs from the pointer's) until their stat is recorded
        materialize::repair_index(&ctx.local(), &filter)?;
    }
    fetched?;
    Ok(crate::cli::ui::report_outcome(ctx, &outcome, "git data pull"))
}
