//! `git data fetch` (download into the cache) and `git data pull` (fetch, then write the
//! files into the work tree).

use crate::cli::args::{FetchArgs, TransferArgs};
use crate::cli::context::Context;
use crate::cli::ui;
use crate::git::globs::Globs;
use crate::git::scan::{Found, PathFilter, Scanner};
use crate::hint::hinted;
use crate::materialize::{Fetch, journal};
use crate::oid::Oid;
use crate::sync::fetch::Source;
use anyhow::Result;
use gix::bstr::ByteSlice;
use std::collections::{HashMap, HashSet};

/// The files `--include`/`--exclude` choose, or `data.fetchInclude`/`data.fetchExclude`
/// when neither flag is given.
fn chosen(ctx: &Context, args: &FetchArgs) -> Result<Globs> {
    if args.include.is_empty() && args.exclude.is_empty() {
        Globs::parse(&ctx.config.fetch_include, &ctx.config.fetch_exclude)
    } else {
        Globs::parse(&args.include, &args.exclude)
    }
}

/// The files whose data a fetch wants: HEAD's (or `--rev`s') trees, or all history (`--all`).
fn wanted(
    ctx: &Context,
    args: &TransferArgs,
    filter: &PathFilter,
    globs: &Globs,
) -> Result<Vec<Found>> {
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
    let chosen = |f: &Found| filter.matches(&f.path) && globs.matches(f.path.as_bstr());
    Ok(found.into_iter().filter(|f| f.pointer.is_some() && chosen(f)).collect())
}

/// Downloads what `args`, `filter` and `globs` choose that is not cached (nor in `skip`);
/// returns how many objects.
fn download(
    ctx: &Context,
    args: &TransferArgs,
    filter: &PathFilter,
    globs: &Globs,
    skip: &HashSet<Oid>,
) -> Result<usize> {
    let found = wanted(ctx, args, filter, globs)?;
    let mut objects: Vec<(Oid, u64)> = found
        .iter()
        .filter_map(|f| f.pointer)
        .filter(|p| !skip.contains(&p.oid) && !ctx.store.contains(&p.oid, p.size))
        .map(|p| (p.oid, p.size))
        .collect();
    objects.sort();
    objects.dedup();
    if objects.is_empty() {
        return Ok(0);
    }
    let local = ctx.local();
    let source = Source::open(&local, args.remote.as_deref())?;
    source.check()?;
    let report = source.download(&local, &objects, HashMap::new());
    if !report.failed.is_empty() {
        let n = report.failed.len();
        let mut message =
            format!("{n} object{} could not be downloaded from {}:", ui::plural(n), source.name());
        let mut paths: HashMap<Oid, String> = HashMap::new();
        for f in &found {
            if let Some(p) = f.pointer {
                paths.entry(p.oid).or_insert_with(|| f.path.to_string());
            }
        }
        let path_of = |oid: &Oid| paths.get(oid).cloned().unwrap_or_else(|| oid.to_hex());
        let failed = report.failed.iter().map(|(oid, err)| (path_of(oid), err.cause()));
        for line in ui::by_cause(failed) {
            message.push_str(&format!("\n{line}"));
        }
        let hint = report.failed.iter().find_map(|(_, err)| err.hint().map(str::to_string));
        return Err(hinted(
            message,
            hint.unwrap_or_else(|| "run the command again once the remote is reachable".into()),
        ));
    }
    if !ctx.global.quiet {
        eprintln!(
            "git-data: downloaded {} file{} ({}) from {}",
            report.done.len(),
            ui::plural(report.done.len()),
            crate::units::human(report.bytes),
            source.name()
        );
    }
    Ok(report.done.len())
}

pub(crate) fn fetch(ctx: &Context, args: &FetchArgs) -> Result<i32> {
    ctx.check_remote_arg(&args.transfer)?;
    let filter = PathFilter::new(ctx.repo_paths(&args.transfer.paths)?);
    download(ctx, &args.transfer, &filter, &chosen(ctx, args)?, &HashSet::new())?;
    Ok(0)
}

/// Writes the work tree's pointer files, each large object streaming into its file as it
/// downloads; then fetches what `--rev`/`--all` want beyond the work tree.
pub(crate) fn pull(ctx: &Context, args: &FetchArgs) -> Result<i32> {
    ctx.check_remote_arg(&args.transfer)?;
    let globs = chosen(ctx, args)?;
    let filter = PathFilter::new(ctx.tracked_paths(&args.transfer.paths)?);
    let fetch = Fetch::From(args.transfer.remote.as_deref());
    let (outcome, tried) =
        journal::work_tree(&ctx.local(), &ctx.journal(), &filter, &globs, fetch)?;
    // tried once for the work tree: a failure there is reported with its file, not again
    let tried: HashSet<Oid> = tried.into_iter().collect();
    let code = ui::report_outcome(ctx, &outcome, "git data pull");
    download(ctx, &args.transfer, &filter, &globs, &tried)?;
    Ok(code)
}
