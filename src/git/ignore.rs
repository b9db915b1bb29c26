//! Whether git ignores the files a tracking pattern names: git never sees an ignored file, so
//! git-data could not version it (Cookiecutter Data Science's `.gitignore` ignores `/data/`).
//!
//! Invariant: asks git itself (`git check-ignore`), so every ignore source and rule counts;
//! a pattern re-included by a later `!` line is not ignored.

use super::{GitError, git_command};
use std::path::Path;

/// A path a tracking `pattern` would cover: its directory with a file name for a directory
/// pattern, its wildcards filled in for a glob.
pub(crate) fn example_path(pattern: &str) -> String {
    let p = pattern.trim_start_matches('/');
    let p = p.strip_suffix("/**").map(|d| format!("{d}/")).unwrap_or_else(|| p.to_string());
    let mut out = p.replace("**", "x/x").replace(['*', '?'], "x");
    if out.ends_with('/') {
        out.push_str("example");
    }
    out
}

/// The ignore rule (`source:line: pattern`) that makes git ignore `path` in the work tree at
/// `root`, if one does.
pub(crate) fn ignored_by(root: &Path, path: &str) -> Result<Option<String>, GitError> {
    let out = git_command()
        .current_dir(root)
        .args(["check-ignore", "-v", "--no-index", "--", path])
        .output()
        .map_err(|e| GitError::Other(format!("cannot run git: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let Some((rule, _)) = text.lines().next().and_then(|l| l.split_once('\t')) else {
        return Ok(None);
    };
    // `source:line:pattern`; a `!` pattern re-includes the path
    let mut parts = rule.splitn(3, ':');
    let (source, line, pattern) = (parts.next(), parts.next(), parts.next());
    match (source, line, pattern) {
        (Some(s), Some(l), Some(p)) if !p.starts_with('!') => Ok(Some(format!("{s}:{l}: {p}"))),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_paths_fall_under_their_pattern() {
        assert_eq!(example_path("data/raw/**"), "data/raw/example");
        assert_eq!(example_path("/models/"), "models/example");
        assert_eq!(example_path("*.bin"), "x.bin");
        assert_eq!(example_path("data/**/*.csv"), "data/x/x/x.csv");
        assert_eq!(example_path("weights.pt"), "weights.pt");
    }
}
