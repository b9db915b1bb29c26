//! `git data remote add` of a Git LFS server named outright: its address recorded for git-lfs
//! users too, in the committed `.lfsconfig`.

use crate::cli::context::Context;
use crate::sync::remote::redact;
use anyhow::Result;

/// Records a Git LFS server named outright as `lfs.url` in the committed `.lfsconfig`, where
/// git-lfs looks: git-lfs users of a mixed team (and git-lfs in a git-data user's clone) then
/// use the same server. An `lfs.url` already there is left alone, and said so when it differs.
pub(super) fn lfs_config(ctx: &Context, endpoint: &str) -> Result<()> {
    use crate::git::{git_command, run_git};
    let path = ctx.work_tree()?.join(".lfsconfig");
    let file = path.to_string_lossy().into_owned();
    let current = run_git(git_command().args(["config", "-f", &file, "--get", "lfs.url"]))
        .ok()
        .map(|v| v.trim().to_string());
    match current {
        Some(url) if url == endpoint => {}
        Some(url) => crate::cli::ui::say(
            ctx.global.quiet,
            format!(
                "note: .lfsconfig sends git-lfs users to {} (lfs.url), not to this remote",
                redact(&url)
            ),
        ),
        None => {
            run_git(git_command().args(["config", "-f", &file, "lfs.url", endpoint]))
                .map_err(|e| anyhow::anyhow!("cannot write .lfsconfig: {e}"))?;
            crate::cli::ui::say(
                ctx.global.quiet,
                "Wrote lfs.url to .lfsconfig, so git-lfs users use the same server: \
                 git add .lfsconfig",
            );
        }
    }
    Ok(())
}
