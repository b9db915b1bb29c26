//! `git data install` / `uninstall`: the filter and merge driver in git config, and the hooks.
//! Both are idempotent, and uninstall undoes install (user hooks are restored). In a clone
//! made before git-data was installed, whose data files are pointer text, install then
//! writes their data (fetching it) unless smudging is turned off.

use crate::cli::args::{GlobalArgs, InstallArgs};
use crate::cli::context::Context;
use crate::cli::ui;
use crate::git::attributes::FilterName;
use crate::git::globs::Globs;
use crate::git::hooks;
use crate::git::scan::PathFilter;
use crate::git::worktree;
use crate::git::{Repo, git_command, run_git};
use crate::materialize::{Fetch, journal};
use anyhow::{Context as _, Result};

fn scope(global: bool) -> &'static str {
    if global { "--global" } else { "--local" }
}

pub(crate) fn install(g: &GlobalArgs, args: &InstallArgs) -> Result<i32> {
    let repo = if args.global { Repo::discover().ok() } else { Some(Repo::discover()?) };
    for (key, value) in hooks::FILTER_CONFIG {
        run_git(git_command().args(["config", scope(args.global), "--replace-all", key, value]))
            .with_context(|| format!("cannot set {key} in git config"))?;
    }
    let mut lines = vec![format!(
        "git-data: filter and merge driver set in the {} git config",
        if args.global { "global" } else { "repository's" }
    )];
    if let (Some(repo), false) = (repo.as_ref().filter(|_| !args.global), args.skip_hooks) {
        for action in hooks::install(&repo.hooks_dir(), true)? {
            lines.push(format!("git-data: {action}"));
        }
        if hooks::all_current(&repo.hooks_dir()) {
            let names: Vec<&str> = hooks::HOOKS.iter().map(|(name, _)| *name).collect();
            lines.push(format!("git-data: hooks are in place ({})", names.join(", ")));
        }
    }
    // opened after the filter configuration is written; again only if serving `lfs` adds to it
    let local = repo.filter(|r| !args.global && r.work_tree.is_some());
    let mut ctx = local.map(|_| Context::open_lenient(g)).transpose()?;
    if let Some(line) = ctx.as_ref().map(serve_lfs).transpose()?.flatten() {
        lines.push(line);
        ctx = Some(Context::open_lenient(g)?);
    }
    if !g.quiet {
        for l in lines {
            println!("{l}");
        }
    }
    ctx.map_or(Ok(0), |ctx| restore(&ctx))
}

/// Where the team's data remote is a Git LFS server (tracked files say `filter=lfs`), makes
/// git-data the `lfs` filter driver of this clone, over git-lfs's if it is installed: both
/// read and write the same pointers, and git-data's hooks push to the remote. Returns what
/// it did, if anything.
pub(crate) fn serve_lfs(ctx: &Context) -> Result<Option<String>> {
    if ctx.filter_name() != FilterName::Lfs || hooks::serves_lfs(&ctx.repo) {
        return Ok(None);
    }
    hooks::write_filter_config(ctx.work_tree()?, "lfs")?;
    Ok(Some(
        "git-data: serving the `lfs` filter in this clone (the data remote is a Git LFS \
         server, so tracked files say filter=lfs, as git-lfs users' do)"
            .into(),
    ))
}

/// Writes the data of the work tree's pointer files (a clone made without git-data): what
/// the smudge filter would have written had it been installed.
fn restore(ctx: &Context) -> Result<i32> {
    let all = PathFilter::default();
    let globs = Globs::parse(&ctx.config.fetch_include, &ctx.config.fetch_exclude)?;
    let found = worktree::pointer_files(&ctx.repo, &all)?;
    let n = found.iter().filter(|(path, _)| globs.matches(path.as_ref())).count();
    if n == 0 {
        return Ok(0);
    }
    if ctx.config.skip_smudge {
        ui::say(
            ctx.global.quiet,
            format!(
                "git-data: {n} data file{} pointer text; smudging is off \
             (GIT_DATA_SKIP_SMUDGE or data.skipSmudge), so they stay so until `git data pull`",
                if n == 1 { " is" } else { "s are" }
            ),
        );
        return Ok(0);
    }
    ui::say(
        ctx.global.quiet,
        format!(
            "git-data: {n} data file{} pointer text (this clone was made without git-data): \
         writing the data",
            if n == 1 { " is" } else { "s are" }
        ),
    );
    let (outcome, _) =
        journal::work_tree(&ctx.local(), &ctx.journal(), &all, &globs, Fetch::From(None))?;
    Ok(ui::report_outcome(ctx, &outcome, "git data pull"))
}

pub(crate) fn uninstall(g: &GlobalArgs, args: &InstallArgs) -> Result<i32> {
    let repo = if args.global { None } else { Some(Repo::discover()?) };
    let lfs = repo.as_ref().is_some_and(hooks::serves_lfs);
    let sections: &[&str] = if lfs {
        &["filter.data", "merge.data", "filter.lfs", "merge.lfs"]
    } else {
        &["filter.data", "merge.data"]
    };
    for section in sections {
        // exits non-zero when the section is absent: that is already the goal
        let _ = run_git(git_command().args([
            "config",
            scope(args.global),
            "--remove-section",
            section,
        ]));
    }
    let mut lines = vec![format!(
        "git-data: filter and merge driver removed from the {} git config",
        if args.global { "global" } else { "repository's" }
    )];
    if let (Some(repo), false) = (repo, args.skip_hooks) {
        for action in hooks::uninstall(&repo.hooks_dir())? {
            lines.push(format!("git-data: {action}"));
        }
    }
    if !g.quiet {
        for l in lines {
            println!("{l}");
        }
    }
    Ok(0)
}
