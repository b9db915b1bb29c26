//! `git data gc`: deletes the cached objects, and with `--remote` the remote ones, that nothing
//! in this repository reaches.
//!
//! Invariants: the roots are those git keeps its own objects for: every ref, every reflog
//! entry and every worktree's index (`git rev-list --all --reflog`, `--indexed-objects`); when
//! git cannot list them, nothing is deleted. An object written within the grace period stays
//! whatever it is (an add or a push may have stored it and not yet staged or pushed its
//! pointer). A remote or a shared cache may hold other repositories' objects: there, deleting
//! takes `--force`, and without it the whole run is a dry run. Run-cache entries written in
//! the last `data.runCacheDays` days (30 by default) are roots too: the objects they name stay
//! (see [`crate::pipeline::runcache::gc`]); older entries, and remote entries naming an object
//! the remote no longer holds, are dropped with the objects.

use crate::cli::args::GcArgs;
use crate::cli::context::Context;
use crate::git::roots;
use crate::git::scan::Scanner;
use crate::oid::Oid;
use crate::pipeline::runcache::entry::{Entries, entries_dir};
use crate::pipeline::runcache::gc as runs;
use crate::store::shards;
use crate::sync::remote::{Key, Listed, Remote};
use anyhow::{Context as _, Result};
use foldhash::{HashSet, HashSetExt};
use futures_util::{StreamExt, stream};
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// A temp file of an interrupted write is removed once this old, whatever the grace period.
const TEMP_AGE: Duration = Duration::from_secs(3600);

/// The objects to delete from one place, and what stays because it is recent.
#[derive(Default)]
struct Plan {
    delete: Vec<(Oid, u64, Option<PathBuf>)>,
    young: Vec<u64>,
    kept: usize,
    temps: Vec<PathBuf>,
    /// Every object found in the place (kept or not).
    present: HashSet<Oid>,
}

impl Plan {
    fn consider(
        &mut self,
        oid: Oid,
        size: u64,
        path: Option<PathBuf>,
        keep: &Reachable,
        old: bool,
    ) {
        self.present.insert(oid);
        if keep.oids.contains(&oid) {
            self.kept += 1;
        } else if old {
            self.delete.push((oid, size, path));
        } else {
            self.young.push(size);
        }
    }

    fn bytes(&self) -> u64 {
        self.delete.iter().map(|d| d.1).sum()
    }
}

/// The pointers git's roots reach.
struct Reachable {
    oids: HashSet<Oid>,
    commits: usize,
}

pub(crate) fn run(ctx: &Context, args: &GcArgs) -> Result<i32> {
    let mut keep = reachable(ctx)?;
    if args.remote.is_some() && (keep.commits == 0 || ctx.repo.gix.is_shallow().unwrap_or(true)) {
        return Err(crate::hint::hinted(
            "this clone does not have the whole history, so it cannot tell what the remote's objects are still used for; nothing was deleted",
            "run `git data gc --remote` in a full clone (`git fetch --unshallow` makes this one full)",
        ));
    }
    let grace = Duration::from_secs(args.grace.saturating_mul(86_400));
    let cutoff = SystemTime::now().checked_sub(grace).unwrap_or(SystemTime::UNIX_EPOCH);
    let shared = ctx.config.cache_dir != ctx.repo.data_dir();
    let dry = args.dry_run || (!args.force && (shared || args.remote.is_some()));
    let q = ctx.global.quiet;
    crate::cli::ui::say(
        q,
        format!(
            "{} tracked object{} reachable from the index and from {} commit{} at refs and in reflogs.",
            keep.oids.len(),
            plural(keep.oids.len()),
            keep.commits,
            plural(keep.commits),
        ),
    );
    let runs_cutoff = runs::cutoff(run_cache_days(ctx));
    let entries = Entries { dir: entries_dir(&ctx.repo.data_dir()), tmp: ctx.repo.tmp_dir() };
    let local_runs = runs::local(&entries, &ctx.store, runs_cutoff);
    keep.oids.extend(local_runs.objects.iter().copied());
    let plan = local_plan(ctx, &keep, cutoff)?;
    report(ctx, args, &plan, "the cache", dry);
    report_runs(ctx, &local_runs, "the cache", dry);
    let mut pending = !plan.delete.is_empty() || !plan.temps.is_empty();
    if !dry {
        delete_local(ctx, &plan)?;
        local_runs.drop.iter().for_each(|k| entries.remove(k));
    }
    let remote = match args.remote.as_deref() {
        Some(name) => {
            let remote = ctx.remote((!name.is_empty()).then_some(name))?;
            let transfer = ctx.transfer()?;
            let remote_runs = runs::remote(&remote, &transfer, &ctx.store, runs_cutoff)?;
            if let Some(r) = &remote_runs {
                keep.oids.extend(r.objects.iter().copied());
            }
            let plan = remote_plan(ctx, &*remote, &keep, cutoff)?;
            let place = format!("remote {} ({})", remote.name(), remote.location());
            report(ctx, args, &plan, &place, dry);
            let remote_runs = remote_runs.map(|mut r| {
                r.drop_unless_present(&plan.present);
                report_runs(ctx, &r, &place, dry);
                r
            });
            pending |= !plan.delete.is_empty() || !plan.temps.is_empty();
            if !dry {
                delete_remote(ctx, &remote, &plan)?;
                remove_files(&plan.temps, "the remote")?;
                if let Some(r) = &remote_runs {
                    delete_runs(&transfer, &remote, &r.drop)?;
                }
            }
            Some(remote)
        }
        None => None,
    };
    if dry && !args.dry_run && pending {
        let mut why = Vec::new();
        if shared {
            why.push(format!(
                "the cache {} may be shared with other repositories, whose objects look unreachable from here",
                ctx.config.cache_dir.display()
            ));
        }
        if let Some(remote) = &remote {
            why.push(format!(
                "remote {} may hold objects of other clones' unpushed branches and of other repositories: fetch first (`git fetch --all`) so that their branches count",
                remote.name()
            ));
        }
        crate::cli::ui::say(
            q,
            format!(
                "This was a dry run: {}. Check the list (--verbose), then add --force to delete.",
                why.join("; ")
            ),
        );
    }
    Ok(0)
}

/// `data.runCacheDays`: run-cache entries younger than this are gc roots.
fn run_cache_days(ctx: &Context) -> u64 {
    ctx.repo
        .config_string("data.runCacheDays")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(runs::DEFAULT_DAYS)
}

fn report_runs(ctx: &Context, roots: &runs::Roots, place: &str, dry: bool) {
    if roots.kept.is_empty() && roots.drop.is_empty() {
        return;
    }
    let verb = if dry { "would be dropped" } else { "dropped" };
    crate::cli::ui::say(
        ctx.global.quiet,
        format!(
            "Run cache in {place}: {} recent entr{} kept with the objects {} name{}; {} old or broken one{} {verb}.",
            roots.kept.len(),
            if roots.kept.len() == 1 { "y" } else { "ies" },
            if roots.kept.len() == 1 { "it" } else { "they" },
            if roots.kept.len() == 1 { "s" } else { "" },
            roots.drop.len(),
            plural(roots.drop.len()),
        ),
    );
}

/// Deletes run-cache entries from the remote.
fn delete_runs(
    transfer: &crate::sync::transfer::Transfer,
    remote: &std::sync::Arc<dyn Remote>,
    keys: &[Oid],
) -> Result<()> {
    for key in keys.iter().map(|k| Key::Run(*k)) {
        transfer
            .call(|| remote.delete(&key))
            .with_context(|| format!("cannot delete the run-cache entry {}", key.path()))?;
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Every pointer that a ref, a reflog entry or an index reaches.
fn reachable(ctx: &Context) -> Result<Reachable> {
    let tips = roots::ref_and_reflog_tips(&ctx.repo)
        .context("cannot list the refs and reflog entries, so nothing was deleted")?;
    let mut oids = HashSet::new();
    for found in Scanner::new(&ctx.repo).introduced(&tips, &[])? {
        oids.extend(found.pointer.map(|p| p.oid));
    }
    oids.extend(
        roots::indexed_pointers(&ctx.repo)
            .context("cannot list the objects of the index, so nothing was deleted")?,
    );
    Ok(Reachable { oids, commits: tips.len() })
}

fn older(modified: Option<SystemTime>, cutoff: SystemTime) -> bool {
    modified.is_some_and(|m| m < cutoff)
}

fn local_plan(ctx: &Context, keep: &Reachable, cutoff: SystemTime) -> Result<Plan> {
    let mut plan = Plan::default();
    let objects = shards::walk(ctx.store.objects_dir())
        .with_context(|| format!("cannot list {}", ctx.store.objects_dir().display()))?;
    let mut temps: Vec<PathBuf> = objects
        .iter()
        .filter(|e| e.name.starts_with("incoming-"))
        .map(|e| e.path.clone())
        .collect();
    if let Ok(dir) = fs::read_dir(ctx.store.tmp_dir()) {
        temps.extend(dir.filter_map(|e| e.ok()).map(|e| e.path()));
    }
    for e in objects {
        let Some(Key::Object(oid)) = Key::from_object_path(&e.rel) else { continue };
        let Ok(meta) = fs::symlink_metadata(&e.path) else { continue };
        if meta.is_file() {
            let old = older(meta.modified().ok(), cutoff);
            plan.consider(oid, meta.len(), Some(e.path), keep, old);
        }
    }
    plan.temps = stale_temps(temps.into_iter());
    Ok(plan)
}

fn remote_plan(
    ctx: &Context,
    remote: &dyn Remote,
    keep: &Reachable,
    cutoff: SystemTime,
) -> Result<Plan> {
    let transfer = ctx.transfer()?;
    transfer.call(|| remote.check())?;
    let listed: Vec<Listed> = transfer.call(|| remote.list())?;
    let mut plan = Plan::default();
    for Listed { key, size, modified } in listed {
        let Key::Object(oid) = key else { continue };
        plan.consider(oid, size, None, keep, older(modified, cutoff));
    }
    // partial uploads an interrupted push left (another machine may be writing the recent ones)
    if let Some(dir) = remote.temp_dir() {
        plan.temps =
            stale_temps(fs::read_dir(&dir).into_iter().flatten().flatten().map(|e| e.path()));
    }
    Ok(plan)
}

/// The files among `paths` last modified more than [`TEMP_AGE`] ago.
fn stale_temps(paths: impl Iterator<Item = PathBuf>) -> Vec<PathBuf> {
    let cutoff = SystemTime::now().checked_sub(TEMP_AGE).unwrap_or(SystemTime::UNIX_EPOCH);
    paths
        .filter(|p| {
            fs::symlink_metadata(p).is_ok_and(|m| m.is_file() && older(m.modified().ok(), cutoff))
        })
        .collect()
}

fn report(ctx: &Context, args: &GcArgs, plan: &Plan, place: &str, dry: bool) {
    let q = ctx.global.quiet;
    let n = plan.delete.len();
    let verb = if dry { "Would delete" } else { "Deleting" };
    let line = if n == 0 {
        format!(
            "Nothing to delete from {place}: no unreachable object older than the grace period ({} reachable).",
            plan.kept
        )
    } else {
        format!(
            "{verb} {n} unreachable object{} ({}) from {place}; {} reachable one{} stay.",
            plural(n),
            crate::units::human(plan.bytes()),
            plan.kept,
            plural(plan.kept)
        )
    };
    crate::cli::ui::say(q, line);
    if args.verbose {
        for (oid, size, _) in &plan.delete {
            crate::cli::ui::say(q, format!("  {oid} {}", crate::units::human(*size)));
        }
    }
    if !plan.young.is_empty() {
        crate::cli::ui::say(
            q,
            format!(
                "{} unreachable object{} ({}) written in the last {} day{} stay (--grace 0 includes them).",
                plan.young.len(),
                plural(plan.young.len()),
                crate::units::human(plan.young.iter().sum()),
                args.grace,
                plural(args.grace as usize)
            ),
        );
    }
    if !plan.temps.is_empty() {
        let verb = if dry { "would remove" } else { "removing" };
        crate::cli::ui::say(
            q,
            format!(
                "Also {verb} {} abandoned temp file{}.",
                plan.temps.len(),
                plural(plan.temps.len())
            ),
        );
    }
}

fn delete_local(ctx: &Context, plan: &Plan) -> Result<()> {
    let objects: Vec<PathBuf> = plan.delete.iter().filter_map(|d| d.2.clone()).collect();
    let removed = remove_files(&objects, "the cache").and(remove_files(&plan.temps, "the cache"));
    if !plan.delete.is_empty() {
        let _ = shards::remove_empty(ctx.store.objects_dir());
    }
    removed
}

/// Removes files (already gone is fine); the error lists those that could not be removed.
fn remove_files(paths: &[PathBuf], place: &str) -> Result<()> {
    let failed = shards::remove_files(paths.iter().map(PathBuf::as_path));
    if failed.is_empty() {
        return Ok(());
    }
    Err(crate::hint::hinted(
        format!(
            "{} file{} could not be deleted:\n  {}",
            failed.len(),
            plural(failed.len()),
            failed.join("\n  ")
        ),
        format!("check the permissions of {place}'s directory, then run `git data gc` again"),
    ))
}

fn delete_remote(ctx: &Context, remote: &std::sync::Arc<dyn Remote>, plan: &Plan) -> Result<()> {
    let transfer = ctx.transfer()?;
    let concurrency = ctx.config.concurrency.max(1);
    let retry = transfer.retry();
    let results: Vec<(Oid, Result<(), crate::sync::remote::RemoteError>)> = transfer.block_on(
        stream::iter(plan.delete.iter().map(|(oid, _, _)| {
            let (remote, retry, oid) = (remote.clone(), retry.clone(), *oid);
            async move {
                let (key, hidden) = (Key::Object(oid), crate::progress::Progress::hidden());
                (oid, retry.run(&hidden, || remote.delete(&key)).await)
            }
        }))
        .buffer_unordered(concurrency)
        .collect(),
    );
    let deleted: Vec<Oid> = results.iter().filter(|r| r.1.is_ok()).map(|r| r.0).collect();
    ctx.known(&**remote).forget(&deleted);
    let failed: Vec<String> =
        results.into_iter().filter_map(|(oid, r)| r.err().map(|e| format!("{oid}: {e}"))).collect();
    if failed.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = failed.iter().take(20).map(String::as_str).collect();
    Err(crate::hint::hinted(
        format!(
            "{} of {} objects could not be deleted from {}:\n  {}",
            failed.len(),
            plan.delete.len(),
            remote.name(),
            shown.join("\n  ")
        ),
        "check your permission to delete on the remote, then run the command again",
    ))
}
