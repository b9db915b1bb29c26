//! `git data migrate dvc`: the `.dvc` files of the work tree and DVC's md5-addressed cache
//! become git-data pointers and cache objects, in one new commit. See docs/dvc.md.
//!
//! Order, so that a failure leaves the repository as it was: check the repository state;
//! read every `.dvc` file and decide which are converted; find each file's bytes (work tree,
//! DVC cache, or the DVC remote named by `--dvc-remote`); stream them all into git-data's
//! cache, checking DVC's md5; only then touch the work tree and make the commit
//! ([`apply`]). Pipelines (`dvc.yaml`), imports and anything without its data stay with
//! DVC and are reported with the reason. DVC's own configuration is never deleted.

use crate::cli::args::MigrateDvcArgs;
use crate::cli::context::Context;
use crate::cli::ui::say;
use crate::git::{git_command, run_git};
use crate::migrate::dvc::apply::{self, Change, Converted};
use crate::migrate::dvc::meta::{self, DvcConfig, Output, Plan};
use crate::migrate::dvc::objects::{self, ObjectError, Sources};
use crate::migrate::dvc::resolve::{self, FileJob, Resolved};
use crate::units::human;
use anyhow::{Context as _, Result};
use std::path::Path;

/// One `.dvc` file being converted.
struct Job {
    dvc_file: String,
    outs: Vec<Output>,
    files: Vec<FileJob>,
}

pub(crate) fn run(ctx: &Context, args: &MigrateDvcArgs) -> Result<i32> {
    let root = ctx.work_tree()?.to_path_buf();
    preflight(ctx, &root)?;
    let quiet = ctx.global.quiet;
    let dvc_files = ls_files(&root, "*.dvc", ".dvc")?;
    let config = DvcConfig::load(&root);
    let mut sources = Sources::new(vec![config.cache_dir()]);
    let mut kept: Vec<(String, String)> = Vec::new();
    let mut candidates = Vec::new();
    for f in &dvc_files {
        let text =
            std::fs::read_to_string(root.join(f)).with_context(|| format!("cannot read {f}"))?;
        match meta::plan_dvc_file(f, &text) {
            Plan::Convert(outs) => candidates.push((f.clone(), outs)),
            Plan::Keep(why) => kept.push((f.clone(), why)),
        }
    }
    let mut ready = Vec::new();
    let mut missing = Vec::new();
    let mut modified = Vec::new();
    sort_out(&root, &sources, candidates, &mut ready, &mut missing, &mut modified)?;
    if let (Some(name), false) = (args.dvc_remote.as_deref(), missing.is_empty()) {
        let targets: Vec<String> = missing.iter().map(|(f, _, _)| f.clone()).collect();
        resolve::fetch(&root, &config, name, &targets, &mut sources, quiet)?;
        let again =
            std::mem::take(&mut missing).into_iter().map(|(f, outs, _)| (f, outs)).collect();
        sort_out(&root, &sources, again, &mut ready, &mut missing, &mut modified)?;
    }
    refuse_modified(&modified)?;
    let hint = match args.dvc_remote.as_deref() {
        Some(name) => format!("not on DVC remote `{name}` either"),
        None => "pass --dvc-remote NAME to fetch it from a DVC remote".to_string(),
    };
    for (f, _, what) in &missing {
        kept.push((f.clone(), format!("its data is missing ({what}): {hint}")));
    }
    let converted = import_all(ctx, &ready, &mut modified)?;
    refuse_modified(&modified)?;
    let stages = pipeline_stages(&root)?;
    if ready.is_empty() {
        print_kept(&kept, &stages);
        if dvc_files.is_empty() {
            say(quiet, "No .dvc files here: nothing to convert.");
            return Ok(0);
        }
        say(quiet, "Nothing was converted.");
        return Ok(if missing.is_empty() { 0 } else { 1 });
    }
    let mut change = Change {
        files: &converted,
        patterns: Vec::new(),
        outputs: Vec::new(),
        dvc_files: ready.iter().map(|j| j.dvc_file.clone()).collect(),
        message: String::new(),
    };
    let mut lines = Vec::new();
    for job in &ready {
        for out in &job.outs {
            change.patterns.push(apply::pattern_for(&out.path, out.dir));
            change.outputs.push(out.path.clone());
            let under = |f: &&Converted| {
                f.path == out.path || (out.dir && f.path.starts_with(&format!("{}/", out.path)))
            };
            let (n, bytes) =
                converted.iter().filter(under).fold((0, 0), |(n, b), f| (n + 1, b + f.size));
            let shown = if out.dir { format!("{}/", out.path) } else { out.path.clone() };
            lines.push(format!("    {shown:<40} {n:>6} file{} {:>12}", plural(n), human(bytes)));
        }
    }
    let total: u64 = converted.iter().map(|f| f.size).sum();
    change.message = format!(
        "Move DVC-tracked data to git-data\n\n`git data migrate dvc` converted these DVC outputs into git-data files\n(their .dvc files are removed, the paths are tracked in .gitattributes):\n\n{}\n",
        lines.join("\n")
    );
    let commit = apply::commit(&ctx.repo, &root, &ctx.store, &change)?;
    if !quiet {
        println!(
            "Converted {} DVC output{} ({} files, {}) in commit {}:",
            lines.len(),
            plural(lines.len()),
            converted.len(),
            human(total),
            &commit[..commit.len().min(12)]
        );
        for l in &lines {
            println!("{l}");
        }
        print_kept(&kept, &stages);
        print_next(ctx, &config, kept.is_empty() && stages.is_empty());
    }
    Ok(0)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

type Missing = Vec<(String, Vec<Output>, String)>;

/// Resolves candidates into ready jobs, missing data, and modified outputs.
fn sort_out(
    root: &Path,
    sources: &Sources,
    candidates: Vec<(String, Vec<Output>)>,
    ready: &mut Vec<Job>,
    missing: &mut Missing,
    modified: &mut Vec<String>,
) -> Result<()> {
    'file: for (dvc_file, outs) in candidates {
        let mut files = Vec::new();
        for out in &outs {
            let resolved =
                resolve::resolve(root, sources, out).map_err(|e| damaged(e, &out.path))?;
            match resolved {
                Resolved::Ready(f) => files.extend(f),
                Resolved::Missing(what) => {
                    missing.push((dvc_file, outs.clone(), what));
                    continue 'file;
                }
                Resolved::Modified(how) => {
                    modified.push(format!("{}: {how}", out.path));
                    continue 'file;
                }
            }
        }
        ready.push(Job { dvc_file, outs, files });
    }
    Ok(())
}

/// Streams every file into git-data's cache; files the user changed go to `modified`.
fn import_all(ctx: &Context, jobs: &[Job], modified: &mut Vec<String>) -> Result<Vec<Converted>> {
    let mut out = Vec::new();
    for f in jobs.iter().flat_map(|j| &j.files) {
        match objects::import(&ctx.store, &f.source, &f.md5, f.size, f.legacy) {
            Ok((oid, size)) => {
                out.push(Converted { path: f.path.clone(), oid, size, rewrite: f.rewrite })
            }
            Err(ObjectError::Mismatch { .. } | ObjectError::Size { .. }) if f.from_worktree => {
                modified.push(format!("{}: differs from what DVC recorded", f.path));
            }
            Err(e) => return Err(damaged(e, &f.path)),
        }
    }
    Ok(out)
}

fn damaged(e: ObjectError, path: &str) -> anyhow::Error {
    let hint = match &e {
        ObjectError::Mismatch { path: p, .. }
        | ObjectError::Size { path: p, .. }
        | ObjectError::Listing { path: p, .. } => format!(
            "DVC's copy is damaged: delete {} and run again with --dvc-remote NAME (or `dvc fetch`) to get a good one",
            p.display()
        ),
        _ => "check the file's permissions and the disk, then run again".to_string(),
    };
    crate::hint::hinted(format!("cannot convert {path}: {e}; nothing was changed"), hint)
}

fn refuse_modified(modified: &[String]) -> Result<()> {
    if modified.is_empty() {
        return Ok(());
    }
    Err(crate::hint::hinted(
        format!(
            "the work tree differs from what DVC recorded, so nothing was changed:\n    {}",
            modified.join("\n    ")
        ),
        "keep the changes with `dvc add PATH` (or drop them with `dvc checkout PATH`), commit, then run `git data migrate dvc` again",
    ))
}

/// Refuses to run where the migration commit would mix with other work.
fn preflight(ctx: &Context, root: &Path) -> Result<()> {
    if ctx.repo.config_string("filter.data.process").is_none_or(|v| v.trim().is_empty()) {
        return Err(crate::hint::hinted(
            "git-data is not set up in this repository (git add would not make pointers)",
            "run `git data install` (once per clone, or `--global` once per machine), then migrate again",
        ));
    }
    for state in ["MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "rebase-merge", "rebase-apply"] {
        if ctx.repo.git_dir.join(state).exists() {
            return Err(crate::hint::hinted(
                format!("a merge, rebase, cherry-pick or revert is in progress ({state})"),
                "finish or abort it first, then migrate",
            ));
        }
    }
    let staged = git_command()
        .args(["diff", "--cached", "--quiet", "--ignore-submodules"])
        .current_dir(root)
        .status()
        .context("cannot run git")?;
    if !staged.success() {
        return Err(crate::hint::hinted(
            "the index has staged changes, and the migration makes a commit of its own",
            "commit or stash them (`git stash`), then migrate",
        ));
    }
    let dirty = run_git(
        git_command()
            .args(["status", "--porcelain", "--untracked-files=no", "--", ".gitattributes"])
            .args([":(glob)**/.gitignore"])
            .current_dir(root),
    )?;
    if !dirty.trim().is_empty() {
        return Err(crate::hint::hinted(
            format!("the migration edits these files, which have uncommitted changes:\n{dirty}"),
            "commit or stash them, then migrate",
        ));
    }
    Ok(())
}

/// Tracked and untracked (not ignored) files matching `glob`, except under `skip/`.
fn ls_files(root: &Path, glob: &str, skip: &str) -> Result<Vec<String>> {
    let out = run_git(
        git_command()
            .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", glob])
            .current_dir(root),
    )?;
    let mut files: Vec<String> = out
        .split('\0')
        .filter(|p| !p.is_empty() && !p.starts_with(&format!("{skip}/")))
        .map(str::to_string)
        .collect();
    files.dedup();
    Ok(files)
}

fn pipeline_stages(root: &Path) -> Result<Vec<meta::Stage>> {
    let mut stages = Vec::new();
    for f in ls_files(root, "*dvc.yaml", ".dvc")? {
        if f == "dvc.yaml" || f.ends_with("/dvc.yaml") {
            let text = std::fs::read_to_string(root.join(&f)).unwrap_or_default();
            stages.extend(meta::stages(&f, &text));
        }
    }
    Ok(stages)
}

fn print_kept(kept: &[(String, String)], stages: &[meta::Stage]) {
    if kept.is_empty() && stages.is_empty() {
        return;
    }
    println!("Left with DVC:");
    for (f, why) in kept {
        println!("    {f}: {why}");
    }
    for s in stages {
        println!(
            "    stage `{}` of {} (outputs: {}): `dvc repro` works as before, or `git data repro` takes the pipeline over",
            s.name,
            s.file,
            if s.outs.is_empty() { "none".to_string() } else { s.outs.join(", ") }
        );
    }
}

fn print_next(ctx: &Context, config: &DvcConfig, dvc_done: bool) {
    if dvc_done {
        println!(
            "Nothing is tracked by DVC any more. Its files stay for the revisions before this commit \
             (`git checkout v1 && dvc checkout` still works); when those are no longer needed, \
             `git rm -r -q .dvc .dvcignore && git commit -m 'Remove DVC'` removes its configuration."
        );
    } else {
        println!(
            "DVC's own files (.dvc/, .dvcignore, dvc.yaml, dvc.lock) stay: DVC still tracks what is listed above."
        );
    }
    let remote = ctx
        .config
        .default_remote
        .clone()
        .or_else(|| ctx.config.file.remotes.keys().next().cloned());
    match remote {
        Some(name) => println!(
            "Next: `git push` uploads the data to the git-data remote `{name}` (pre-push hook), or `git data push` now."
        ),
        None => {
            let mut line =
                "Next: add a git-data remote, then `git push`: `git data remote add storage URL`"
                    .to_string();
            if let Some(name) = config.default_remote()
                && let Some(Err(url)) = config.remote_url(name)
            {
                line.push_str(&format!(
                    " (the DVC remote `{name}` is {url}{}; a prefix beside it suits git-data)",
                    config
                        .remote_setting(name, "endpointurl")
                        .map(|e| format!(", endpoint {e}"))
                        .unwrap_or_default()
                ));
            }
            println!("{line}");
        }
    }
}
