//! The pre-commit hook: new files over `policy.track-above` are committed as pointers and
//! tracked with an exact-path line in `.gitattributes`.
//!
//! Invariant: a broken policy never blocks a commit (it warns); a partial commit (`git commit
//! PATH…`) that would need tracking is refused with the commands that do it.

use crate::cli::context::Context;
use crate::hint::hinted;
use crate::policy::autotrack;
use crate::units::human;
use anyhow::Result;
use gix::bstr::ByteSlice;
use std::path::Path;

/// The pre-commit hook: stages new files over `policy.track-above` as pointers, with an
/// exact-path line in `.gitattributes`. Costs one pass over the index when nothing is large.
pub(super) fn run(ctx: &Context) -> Result<i32> {
    // like the broken-config case of `open_lenient`: never block commits (a fix included)
    let policy = match crate::policy::load(&ctx.config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("git-data: warning: {e}; new large files are not tracked automatically");
            return Ok(0);
        }
    };
    let Some(threshold) = policy.track_above else { return Ok(0) };
    if ctx.repo.work_tree.is_none() {
        return Ok(0);
    }
    let files = autotrack::oversized(&ctx.repo, &policy, threshold, true)?;
    if files.is_empty() {
        return Ok(0);
    }
    let names: Vec<String> = files.iter().map(|f| f.path.to_str_lossy().into_owned()).collect();
    if is_partial_commit(std::env::var_os("GIT_INDEX_FILE")) {
        let quoted: Vec<String> =
            names.iter().map(|n| crate::policy::report::shell_quote(n)).collect();
        return Err(hinted(
            format!(
                "`git commit PATH…` cannot track files over policy.track-above ({}) by itself: {}",
                human(threshold),
                names.join(", ")
            ),
            format!(
                "run `git data track {q}` and `git add .gitattributes {q}`, then commit again",
                q = quoted.join(" ")
            ),
        ));
    }
    autotrack::convert(&ctx.repo, &ctx.store, &files, ctx.filter_name())?;
    for f in &files {
        eprintln!(
            "git-data: {} ({}) is over policy.track-above ({}): committed as a pointer, and tracked in .gitattributes",
            f.path.to_str_lossy(),
            human(f.size),
            human(threshold)
        );
    }
    Ok(0)
}

/// `git commit PATH…` commits from a temporary index (`next-index-*.lock`) while the real
/// index gets the work-tree files: what the hook stages there would not reach the real index.
fn is_partial_commit(index_file: Option<std::ffi::OsString>) -> bool {
    index_file.is_some_and(|f| {
        Path::new(&f).file_name().is_some_and(|n| n.to_string_lossy().starts_with("next-index-"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_commits() {
        assert!(is_partial_commit(Some("/r/.git/next-index-1234.lock".into())));
        assert!(!is_partial_commit(Some("/r/.git/index.lock".into())));
        assert!(!is_partial_commit(None));
    }
}
