//! `git data install` / `uninstall`: the filter and merge driver in git config, and the hooks.
//! Both are idempotent, and uninstall undoes install (user hooks are restored).

use crate::cli::args::{GlobalArgs, InstallArgs};
use crate::git::hooks;
use crate::git::{Repo, git_command, run_git};
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
    if !g.quiet {
        for l in lines {
            println!("{l}");
        }
    }
    Ok(0)
}

pub(crate) fn uninstall(g: &GlobalArgs, args: &InstallArgs) -> Result<i32> {
    let repo = if args.global { None } else { Some(Repo::discover()?) };
    for section in ["filter.data", "merge.data"] {
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
