//! `git data repro [TARGETS] [-j N] [-f] [--dry] [-k] [--no-run-cache] [--set KEY=VALUE]`:
//! sets the params given with `--set` ([`crate::pipeline::setparam`]), then runs the stages of
//! the `dvc.yaml` in the current folder whose inputs changed ([`crate::pipeline`]) — or
//! restores them from the run cache ([`crate::pipeline::runcache`]) — prints each stage's
//! fate and reason, then makes the outputs git-data files: their patterns tracked, their bytes
//! stored (the runner stores them as it hashes them), and the outputs staged with the lock
//! file and `.gitattributes` — never committed.
//!
//! Invariants: `--dry` writes nothing; one repro per pipeline at a time (an owner file); the
//! exit code is 1 when a stage failed, and the failing stage's stderr tail is printed.

use crate::cli::args::ReproArgs;
use crate::cli::context::Context;
use crate::git::attributes::{anchored, with_patterns};
use crate::git::worktree;
use crate::hint::hinted;
use crate::pipeline::adopt::{DVC_LOCK_NAME, DvcLock};
use crate::pipeline::load::{self, Pipeline};
use crate::pipeline::lock::LockFile;
use crate::pipeline::owner::Owner;
use crate::pipeline::plan::{self, Plan};
use crate::pipeline::run::{self, Event, Options, Paths};
use crate::pipeline::runcache::RunCache;
use crate::pipeline::runcache::entry::{Entries, entries_dir};
use crate::pipeline::runcache::remote::RemoteRuns;
use crate::pipeline::setparam;
use crate::pipeline::statcache::Stats;
use crate::pipeline::{LOCK_NAME, PIPELINE_NAME, dag};
use anyhow::{Context as _, Result};
use gix::bstr::{BString, ByteSlice};
use std::path::Path;

pub(crate) fn run(ctx: &Context, args: &ReproArgs) -> Result<i32> {
    let root = ctx.work_tree()?.canonicalize()?;
    let cwd = std::env::current_dir()?.canonicalize()?;
    let dir = match cwd.strip_prefix(&root) {
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => String::new(),
    };
    if !root.join(&dir).join(PIPELINE_NAME).is_file() {
        let shown = if dir.is_empty() { "the repository's root".to_string() } else { dir.clone() };
        return Err(hinted(
            format!("no {PIPELINE_NAME} in {shown}"),
            format!("run `git data repro` in the folder that holds {PIPELINE_NAME}"),
        ));
    }
    let sets = args.set.iter().map(|a| setparam::parse(a, &dir)).collect::<Result<Vec<_>, _>>()?;
    let mut pipeline = load::load(&root, &dir)?;
    let reach = match (args.single_item, args.downstream) {
        (true, _) => dag::Reach::Single,
        (_, true) => dag::Reach::Downstream,
        _ => dag::Reach::Upstream,
    };
    let mut selected = dag::select(&pipeline.stages, &pipeline.dag, &args.targets, reach)?;
    let lock_path = root.join(&dir).join(LOCK_NAME);
    let lock = LockFile::read(&lock_path)?;
    // the stat cache vouches for unchanged deps and outputs: a no-op reads no file bytes
    let stats = Stats::load(&ctx.repo.stat_cache_path());
    // a stage DVC ran and left up to date is taken over, not run again
    let dvc = DvcLock::read(&root.join(&dir).join(DVC_LOCK_NAME), &root);
    if args.dry {
        return Ok(print_plan(
            &pipeline,
            &plan::plan(&pipeline, &selected, &lock, &root, args.force, &stats, &dvc),
        ));
    }
    if ctx.repo.config_string("filter.data.process").is_none_or(|v| v.trim().is_empty()) {
        return Err(hinted(
            "git-data's filter is not set up for this repository",
            "run `git data install` first, so that stage outputs can become git-data files",
        ));
    }
    let data = ctx.repo.worktree_data_dir().join("repro");
    let owner_name = if dir.is_empty() { "root".to_string() } else { dir.replace('/', "%") };
    let _owner = Owner::claim(&data.join(format!("{owner_name}.owner")))?;
    // what a killed run left running is killed before anything runs again
    let groups_path = data.join(format!("{owner_name}.groups"));
    crate::pipeline::groups::reap(&groups_path);
    let groups = crate::pipeline::groups::Groups::start(&groups_path);
    if set_params(ctx, &root, &sets)? {
        // a param may be templated into a command or a foreach: read dvc.yaml again
        pipeline = load::load(&root, &dir)?;
        selected = dag::select(&pipeline.stages, &pipeline.dag, &args.targets, reach)?;
    }
    if !sets.is_empty() {
        let text = std::fs::read_to_string(root.join(&dir).join(PIPELINE_NAME)).unwrap_or_default();
        for note in setparam::notes(&sets, &pipeline.stages, &text) {
            eprintln!("git-data: note: {note}");
        }
    }
    let paths = Paths {
        root: root.clone(),
        lock: lock_path,
        tmp: ctx.repo.tmp_dir(),
        logs: data.join("logs"),
        stats,
        dvc,
        groups,
        unstaged: data.join(format!("{owner_name}.unstaged")),
    };
    // stages a killed run recorded but did not stage
    let left: Vec<String> = run::unstaged(&paths.unstaged);
    let opts =
        Options { jobs: usize::from(args.jobs), force: args.force, keep_going: args.keep_going };
    let quiet = ctx.global.quiet;
    let cache = (!args.no_run_cache).then(|| run_cache(ctx));
    let summary = run::run(
        &pipeline,
        &selected,
        &ctx.store,
        &lock,
        &opts,
        &paths,
        cache.as_ref(),
        &mut |e| print_event(e, quiet),
    )?;
    let _ = paths.stats.save(); // only a cache: a failed write costs a re-hash next time
    let mut written: Vec<usize> =
        summary.ran.iter().chain(&summary.restored).chain(&summary.adopted).copied().collect();
    // a stage a killed run recorded is staged once it is found up to date
    let mut still = Vec::new();
    for name in left {
        match pipeline.stages.iter().position(|s| s.name == name) {
            Some(i) if summary.up_to_date.contains(&i) => written.push(i),
            Some(i) if written.contains(&i) => {}
            Some(_) => still.push(name),
            None => {}
        }
    }
    if !written.is_empty() {
        stage_outputs(ctx, &root, &pipeline, &written)?;
    }
    match still.is_empty() {
        true => drop(std::fs::remove_file(&paths.unstaged)),
        false => drop(std::fs::write(&paths.unstaged, still.join("\n") + "\n")),
    }
    if !quiet {
        let mut parts = vec![format!("{} ran", summary.ran.len())];
        if !summary.restored.is_empty() {
            parts.push(format!("{} restored from the run cache", summary.restored.len()));
        }
        if !summary.adopted.is_empty() {
            parts.push(format!("{} taken over from {DVC_LOCK_NAME}", summary.adopted.len()));
        }
        parts.push(format!("{} up to date", summary.up_to_date.len()));
        if summary.failed > 0 {
            parts.push(format!("{} failed", summary.failed));
        }
        if summary.skipped > 0 {
            parts.push(format!("{} skipped", summary.skipped));
        }
        println!("Stages: {}", parts.join(", "));
    }
    Ok(if summary.failed > 0 { 1 } else { 0 })
}

/// The run cache: this repository's entries, and the default data remote's when one is
/// configured (one that cannot be opened is said once, and left out).
fn run_cache(ctx: &Context) -> RunCache {
    let tmp = ctx.repo.tmp_dir();
    let entries = Entries { dir: entries_dir(&ctx.repo.data_dir()), tmp: tmp.clone() };
    let remote = RemoteRuns::open(&ctx.local()).unwrap_or_else(|e| {
        eprintln!("git-data: note: the run cache on the data remote is not used: {e}");
        None
    });
    RunCache { entries, tmp, remote }
}

/// Writes the `--set` params (all or none); whether one changed its file.
fn set_params(ctx: &Context, root: &Path, sets: &[setparam::Assignment]) -> Result<bool> {
    if sets.is_empty() {
        return Ok(false);
    }
    let changed = setparam::apply(root, sets, &ctx.repo.tmp_dir())?;
    if !ctx.global.quiet {
        for (a, wrote) in sets.iter().zip(&changed) {
            let what = if *wrote { "Set" } else { "Already" };
            println!("{what} {} = {} in {}", a.key, shown(&a.value), a.file);
        }
    }
    Ok(changed.contains(&true))
}

fn shown(v: &serde_yaml::Value) -> String {
    serde_yaml::to_string(v).map(|s| s.trim_end().to_string()).unwrap_or_default()
}

fn print_event(event: Event<'_>, quiet: bool) {
    match event {
        Event::Restored { stage, reason } if !quiet => {
            println!("Restored {stage} from the run cache ({reason}): no command run")
        }
        Event::Adopted { stage } if !quiet => {
            println!("Up to date {stage}: as {DVC_LOCK_NAME} records it (now in {LOCK_NAME} too)")
        }
        Event::Note(note) => eprintln!("git-data: note: {note}"),
        Event::Started { stage, reason } if !quiet => println!("Running {stage}: {reason}"),
        Event::Done { stage, seconds } if !quiet => println!("Done {stage} ({seconds:.1}s)"),
        Event::UpToDate { stage, cutoff: true } if !quiet => {
            println!("Up to date {stage}: its upstream outputs came out unchanged")
        }
        Event::UpToDate { stage, cutoff: false } if !quiet => println!("Up to date {stage}"),
        Event::Frozen { stage } if !quiet => println!("Frozen {stage}: not run"),
        Event::Failed { stage, error } => {
            eprintln!("git-data: error: stage {stage} failed: {error}");
            if let Some(tail) = error.stderr_tail() {
                eprintln!("  last lines of its stderr:");
                for line in tail.lines() {
                    eprintln!("  | {line}");
                }
            }
        }
        Event::Skipped { stage, failed } => {
            println!("Skipped {stage}: upstream stage {failed} failed")
        }
        _ => {}
    }
}

/// Prints the plan; 1 when a stage cannot be checked (a dependency missing, a param absent).
fn print_plan(p: &Pipeline, plan: &[(usize, Plan)]) -> i32 {
    let mut code = 0;
    for (i, what) in plan {
        let name = &p.stages[*i].name;
        match what {
            Plan::Run(reason) => println!("would run {name}: {reason}"),
            Plan::AfterUpstream(u) => println!("would run {name}: if {u} changes its outputs"),
            Plan::UpToDate => println!("up to date {name}"),
            Plan::InDvcLock => println!("up to date {name}: as {DVC_LOCK_NAME} records it"),
            Plan::Frozen => println!("frozen {name}: not run"),
            Plan::Error(e) => {
                println!("cannot run {name}: {e}");
                code = 1;
            }
        }
    }
    code
}

/// Tracks the cached outputs of the stages that ran (a directory as `dir/**`), then stages
/// them, the other outputs, the lock file and `.gitattributes` with `git add` (through the
/// filter, which finds their objects already stored).
fn stage_outputs(ctx: &Context, root: &Path, p: &Pipeline, ran: &[usize]) -> Result<()> {
    let outs: Vec<&crate::pipeline::spec::Out> =
        ran.iter().flat_map(|&i| &p.stages[i].outs).collect();
    // a file inside stands for a directory: `/report/` ignores it, and `report` is a folder
    let probes: Vec<String> = outs
        .iter()
        .map(|o| match root.join(&o.at.repo).is_dir() {
            true => format!("{}/x", o.at.repo),
            false => o.at.repo.clone(),
        })
        .collect();
    let rules = crate::git::ignore::ignored_by_each(
        root,
        &probes.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;
    let mut to_add: Vec<String> = Vec::new();
    let mut cached: Vec<(String, bool)> = Vec::new();
    let mut ignored = Vec::new();
    for ((out, probe), rule) in outs.iter().zip(&probes).zip(rules) {
        // an ignored output is tracked all the same: once its rule goes, `git add` stores it
        // as a pointer
        if out.cache {
            cached.push((out.at.repo.clone(), probe != &out.at.repo));
        }
        match rule {
            Some(rule) => ignored.push((out.at.repo.clone(), rule)),
            None => to_add.push(out.at.repo.clone()),
        }
    }
    let probes: Vec<BString> = cached
        .iter()
        .map(|(path, is_dir)| {
            BString::from(if *is_dir { format!("{path}/x") } else { path.clone() })
        })
        .collect();
    let flags = worktree::data_paths(&ctx.repo, probes.iter().map(|b| b.as_bstr()))?;
    let patterns: Vec<String> = cached
        .iter()
        .zip(flags)
        .filter(|(_, is_data)| !is_data)
        .map(|((path, is_dir), _)| {
            let pattern = anchored(path.as_bytes().as_bstr());
            if *is_dir { format!("{pattern}/**") } else { pattern }
        })
        .collect();
    if !patterns.is_empty() {
        let attributes = root.join(".gitattributes");
        let text = match std::fs::read_to_string(&attributes) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).context("cannot read .gitattributes"),
        };
        let new_text = with_patterns(&text, &patterns, ctx.filter_name());
        let shared = crate::fs::textfile::Access::Shared;
        crate::fs::textfile::replace(&attributes, new_text.as_bytes(), &ctx.repo.tmp_dir(), shared)
            .context("cannot write .gitattributes")?;
        to_add.push(".gitattributes".into());
    }
    to_add.push(crate::pipeline::join_path(&p.dir, LOCK_NAME).unwrap_or_else(|| LOCK_NAME.into()));
    let out = crate::git::user_git()
        .current_dir(root)
        .args(["add", "--"])
        .args(&to_add)
        .output()
        .context("cannot run git add")?;
    for (path, rule) in &ignored {
        eprintln!(
            "git-data: warning: git ignores the output {path} ({rule}): it is stored, recorded \
             in {LOCK_NAME} and tracked, but not staged"
        );
    }
    if !ignored.is_empty() {
        eprintln!(
            "hint: remove those rules (DVC writes one for each output), then `git add` those \
             outputs: they go in as git-data files"
        );
    }
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(hinted(
            format!("the stages ran, but their outputs could not be staged: {msg}"),
            "fix what git says (an output in .gitignore?), then `git add` the outputs and the lock file",
        ));
    }
    Ok(())
}
