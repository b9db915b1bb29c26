//! `git data migrate`: move files out of git history and adopt git-lfs and DVC repositories.
//!
//! `import` rewrites history (or makes one commit with `--no-rewrite`), `info` reports what
//! `import` would move, `lfs` switches a git-lfs repository over, `dvc` adopts a DVC
//! repository. The engine is in [`crate::migrate`]. Every command that changes history checks
//! first that git-data is installed and the work tree is clean, so nothing is half-done by a
//! precondition found late.

mod dvc;
mod import;
mod info;
mod lfs;

use crate::cli::context::Context;
use crate::hint::hinted;
use anyhow::{Context as _, Result};

pub(crate) use dvc::run as dvc;
pub(crate) use import::run as import;
pub(crate) use info::run as info;
pub(crate) use lfs::run as lfs;

/// A plain `git` in the work tree, with our filter active (unlike `git::git_command`): for
/// the commands whose result depends on it (`status`, `add`, `commit`, index refresh).
pub(crate) fn git_with_filter(ctx: &Context) -> Result<std::process::Command> {
    Ok(crate::git::git_with_filter(ctx.work_tree()?))
}

/// Refuses to start unless the filter is configured (when `filter`) and no tracked file
/// has changes.
pub(crate) fn preflight(ctx: &Context, filter: bool) -> Result<()> {
    ctx.work_tree()?;
    if filter && ctx.repo.config_string("filter.data.process").is_none_or(|v| v.trim().is_empty()) {
        return Err(hinted(
            "git-data is not set up in this repository (no `filter.data.process` in git config)",
            "run `git data install` first, then the migration again",
        ));
    }
    let out = git_with_filter(ctx)?
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .context("cannot run git status")?;
    let changes = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !changes.trim().is_empty() {
        let listed: Vec<&str> = changes.lines().take(10).collect();
        return Err(hinted(
            format!(
                "the work tree has uncommitted changes, which a migration could lose:\n  {}",
                listed.join("\n  ")
            ),
            "commit or stash them (`git stash`), then run the migration again",
        ));
    }
    Ok(())
}

/// `n thing` / `n things`.
pub(crate) fn plural(n: usize, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}
