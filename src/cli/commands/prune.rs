//! `git data prune`: deletes the cached objects of old versions that the default data remote
//! holds, the role of `git lfs prune`.
//!
//! Invariants: an object stays when a work tree's HEAD or index uses it, when a commit of a
//! local branch, tag, stash or HEAD made in the last `--recent` days (`data.pruneRecentDays`)
//! has it, or when the default remote does not hold it whole: the remote is asked about
//! every candidate (never only this clone's record of uploads). When git cannot list a root
//! or the remote cannot be asked, nothing is deleted. Each deletion is one unlink of a whole
//! object, so a killed run leaves every object there or gone, and a rerun finishes the work;
//! a checkout that finds an object gone meanwhile downloads it again from the remote. A
//! shared cache may hold other repositories' objects: there, deleting takes --force.

use crate::cli::args::PruneArgs;
use crate::cli::context::Context;
use crate::cli::ui::{plural, say};
use crate::git::roots;
use crate::git::scan::Scanner;
use crate::oid::Oid;
use crate::store::shards;
use crate::sync::remote::Key;
use crate::units::human;
use anyhow::{Context as _, Result};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::PathBuf;

/// A cached object.
struct Cached {
    oid: Oid,
    size: u64,
    path: PathBuf,
}

/// What the run deletes, and the sizes of what it keeps, by reason.
#[derive(Default)]
struct Plan {
    delete: Vec<Cached>,
    in_use: Vec<u64>,
    recent: Vec<u64>,
    not_pushed: Vec<u64>,
    /// The remote asked (or the default remote's name when none was needed).
    remote: String,
}

pub(crate) fn run(ctx: &Context, args: &PruneArgs) -> Result<i32> {
    ctx.work_tree()?;
    let days = args.recent.unwrap_or(ctx.config.prune_recent_days);
    let shared = ctx.config.cache_dir != ctx.repo.data_dir();
    let dry = args.dry_run || (shared && !args.force);
    let plan = plan(ctx, days)?;
    report(ctx, args, &plan, days, dry)?;
    if !dry {
        delete(ctx, &plan)?;
    }
    if dry && !args.dry_run && !plan.delete.is_empty() {
        say(
            ctx.global.quiet,
            format!(
                "This was a dry run: the cache {} may be shared with other repositories, whose \
                 checkouts need objects this one does not. Check the list (--verbose), then add \
                 --force to delete.",
                ctx.config.cache_dir.display()
            ),
        );
    }
    Ok(0)
}

/// Sorts every cached object into what is deleted and what stays, and why.
fn plan(ctx: &Context, days: u64) -> Result<Plan> {
    let repo = &ctx.repo;
    let heads = roots::worktree_heads(repo)
        .context("cannot list the work trees' checked-out commits, so nothing was deleted")?;
    let mut scanner = Scanner::new(repo);
    let mut in_use = scanner.snapshot_pointers(&heads)?;
    in_use.extend(
        roots::indexed_pointers(repo)
            .context("cannot list the objects of the index, so nothing was deleted")?,
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let since = i64::try_from(now.saturating_sub(days.saturating_mul(86_400))).unwrap_or(0);
    let recent_commits = roots::recent_commits(repo, &heads, since)?;
    // the same scanner skips the trees of the checkouts, whose pointers are in `in_use`
    let recent = scanner.snapshot_pointers(&recent_commits)?;
    let mut plan = Plan {
        remote: ctx.config.default_remote.clone().unwrap_or_else(|| "(none)".into()),
        ..Plan::default()
    };
    let objects = ctx.store.objects_dir();
    let mut candidates = Vec::new();
    for e in shards::walk(objects).with_context(|| format!("cannot list {}", objects.display()))? {
        let Some(Key::Object(oid)) = Key::from_object_path(&e.rel) else { continue };
        let Ok(meta) = fs::symlink_metadata(&e.path) else { continue };
        if !meta.is_file() {
            continue;
        }
        if in_use.contains(&oid) {
            plan.in_use.push(meta.len());
        } else if recent.contains(&oid) {
            plan.recent.push(meta.len());
        } else {
            candidates.push(Cached { oid, size: meta.len(), path: e.path });
        }
    }
    if candidates.is_empty() {
        return Ok(plan);
    }
    let remote = ctx.remote(None).context(
        "prune deletes only objects that the default data remote holds, so nothing was deleted",
    )?;
    plan.remote = remote.name().to_string();
    let mut known = ctx.known(&*remote);
    let objects: Vec<(Oid, u64)> = candidates.iter().map(|c| (c.oid, c.size)).collect();
    // asked with verify: a record of past uploads is not proof enough to delete the last copy
    let lacking = crate::sync::push::lacking(&remote, &mut known, &ctx.config, &objects, true)
        .with_context(|| {
            format!(
                "cannot ask data remote {} ({}) which objects it holds, so nothing was deleted",
                remote.name(),
                remote.location()
            )
        })?;
    let lacking: HashSet<Oid> =
        lacking.map(|l| l.objects.iter().map(|(o, _)| *o).collect()).unwrap_or_default();
    for c in candidates {
        if lacking.contains(&c.oid) {
            plan.not_pushed.push(c.size);
        } else {
            plan.delete.push(c);
        }
    }
    Ok(plan)
}

/// `N objects (SIZE)`.
fn count(sizes: impl Iterator<Item = u64>) -> String {
    let (n, bytes) = sizes.fold((0usize, 0u64), |(n, b), s| (n + 1, b.saturating_add(s)));
    format!("{n} object{} ({})", plural(n), human(bytes))
}

fn report(ctx: &Context, args: &PruneArgs, plan: &Plan, days: u64, dry: bool) -> Result<()> {
    let q = ctx.global.quiet;
    let verb = if dry { "would prune" } else { "pruned" };
    say(q, format!("git-data: {verb} {}", count(plan.delete.iter().map(|c| c.size))));
    if args.verbose && !plan.delete.is_empty() {
        let names = names(ctx)?;
        for c in &plan.delete {
            let name = names.get(&c.oid).map_or("(no commit names it)", String::as_str);
            say(q, format!("  {} {} {name}", c.oid, human(c.size)));
        }
    }
    say(
        q,
        format!(
            "git-data: kept {} in use by a checkout (HEAD or index), {} of commits of the last {days} day{}, {} not on remote {}",
            count(plan.in_use.iter().copied()),
            count(plan.recent.iter().copied()),
            plural(usize::try_from(days).unwrap_or(usize::MAX)),
            count(plan.not_pushed.iter().copied()),
            plan.remote,
        ),
    );
    Ok(())
}

/// A file that names each object somewhere in history, for `--verbose`.
fn names(ctx: &Context) -> Result<HashMap<Oid, String>> {
    let tips = roots::ref_and_reflog_tips(&ctx.repo)?;
    let mut names = HashMap::new();
    for found in Scanner::new(&ctx.repo).introduced(&tips, &[])? {
        if let Some(p) = found.pointer {
            names.entry(p.oid).or_insert_with(|| found.path.to_string());
        }
    }
    Ok(names)
}

/// Deletes the planned objects (already gone is fine), then the shard directories left empty.
fn delete(ctx: &Context, plan: &Plan) -> Result<()> {
    let failed = shards::remove_files(plan.delete.iter().map(|c| c.path.as_path()));
    if !plan.delete.is_empty() {
        let _ = shards::remove_empty(ctx.store.objects_dir());
    }
    if failed.is_empty() {
        return Ok(());
    }
    Err(crate::hint::hinted(
        format!(
            "{} cached object{} could not be deleted:\n  {}",
            failed.len(),
            plural(failed.len()),
            failed.join("\n  ")
        ),
        "check the permissions of the cache's directory, then run `git data prune` again",
    ))
}
