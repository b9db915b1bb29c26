//! Whether git ignores the files a tracking pattern names: git never sees an ignored file, so
//! git-data could not version it (Cookiecutter Data Science's `.gitignore` ignores `/data/`).
//!
//! Invariant: asks git itself (`git check-ignore`), so every ignore source and rule counts;
//! a pattern re-included by a later `!` line is not ignored.

use super::{GitError, git_command};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

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
    Ok(ignored_by_each(root, &[path])?.pop().flatten())
}

/// [`ignored_by`] for each of `paths`, in order, with one `git check-ignore`.
pub(crate) fn ignored_by_each(
    root: &Path,
    paths: &[&str],
) -> Result<Vec<Option<String>>, GitError> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let err = |e: std::io::Error| GitError::Other(format!("cannot run git check-ignore: {e}"));
    let mut child = git_command()
        .current_dir(root)
        .args(["check-ignore", "-v", "-n", "-z", "--stdin", "--no-index"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(err)?;
    let mut input: Vec<u8> = Vec::new();
    for p in paths {
        input.extend_from_slice(p.as_bytes());
        input.push(0);
    }
    let mut stdin = child.stdin.take();
    // written from a thread: git answers as it reads, and its answers could fill the pipe
    let writer = std::thread::spawn(move || stdin.as_mut().map(|s| s.write_all(&input)));
    let out = child.wait_with_output().map_err(err)?;
    let _ = writer.join();
    // four NUL-terminated fields per path: source, line, pattern, path
    let fields: Vec<String> =
        out.stdout.split(|b| *b == 0).map(|f| String::from_utf8_lossy(f).into_owned()).collect();
    let mut rules: Vec<Option<String>> = fields
        .chunks_exact(4)
        .map(|f| {
            // an empty source: no rule; a `!` pattern re-includes the path
            (!f[0].is_empty() && !f[2].starts_with('!'))
                .then(|| format!("{}:{}: {}", f[0], f[1], f[2]))
        })
        .collect();
    rules.resize(paths.len(), None);
    Ok(rules)
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
