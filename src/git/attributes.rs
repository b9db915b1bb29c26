//! The `.gitattributes` lines git-data writes and reads: the attributes of a tracked pattern,
//! the patterns a text tracks, and the one escaper that turns a path into a pattern matching
//! exactly that path.
//!
//! Invariants: a pattern written here is one line of `.gitattributes` (whitespace inside a
//! path becomes `[[:space:]]`, so the line never splits), and a path's pattern matches that
//! path only (glob characters escaped, a leading `!` or `#` escaped).

use crate::hint::hinted;
use anyhow::Result;
use gix::bstr::{BStr, ByteSlice};
use std::path::Path;

/// The attributes git-data writes for a tracked pattern.
pub(crate) const ATTRS: &str = "filter=data diff=data merge=data -text";

/// The attributes of a tracked pattern in a repository whose data remote is a Git LFS server:
/// git-lfs's own, so a git-lfs user's driver reads and writes the same files (git-data serves
/// the `lfs` filter name in its clones).
pub(crate) const LFS_ATTRS: &str = "filter=lfs diff=lfs merge=lfs -text";

/// Which filter name tracked patterns get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FilterName {
    /// `filter=data`, git-data's own.
    Data,
    /// `filter=lfs`, shared with git-lfs users of the same Git LFS server.
    Lfs,
}

impl FilterName {
    /// The attributes a tracked pattern gets.
    pub(crate) fn attrs(self) -> &'static str {
        match self {
            FilterName::Data => ATTRS,
            FilterName::Lfs => LFS_ATTRS,
        }
    }
}

/// The patterns tracked (`filter=data`, or `filter=lfs`) in a `.gitattributes` text.
pub(crate) fn tracked_patterns(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let pattern = words.next()?;
            (!pattern.starts_with('#') && words.any(|w| w == "filter=data" || w == "filter=lfs"))
                .then(|| pattern.to_string())
        })
        .collect()
}

/// `text` with a tracking line (`PATTERN filter=NAME …`) for each pattern it does not track
/// yet, in order, each once.
pub(crate) fn with_patterns(text: &str, patterns: &[String], name: FilterName) -> String {
    let mut have = tracked_patterns(text);
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for p in patterns {
        if !have.contains(p) {
            out.push_str(&format!("{p} {}\n", name.attrs()));
            have.push(p.clone());
        }
    }
    out
}

/// A pattern that matches exactly the file at the root-relative `path`, wherever a file of
/// that name is (no anchoring: see [`anchored`] and [`rooted`]).
pub(crate) fn escape(path: &BStr) -> String {
    let text = path.to_str_lossy();
    let mut out = String::with_capacity(text.len() + 8);
    for (i, c) in text.chars().enumerate() {
        match c {
            '*' | '?' | '[' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' | '!' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_whitespace() => out.push_str("[[:space:]]"),
            c => out.push(c),
        }
    }
    out
}

/// [`escape`], with a leading `/` for a file at the root, so that the pattern does not also
/// match files of the same name in subdirectories (a pattern with a `/` is anchored already).
pub(crate) fn anchored(path: &BStr) -> String {
    let p = escape(path);
    if p.contains('/') { p } else { format!("/{p}") }
}

/// [`escape`] with a leading `/` whatever the path.
pub(crate) fn rooted(path: &BStr) -> String {
    format!("/{}", escape(path))
}

/// Turns a user pattern into a gitattributes pattern relative to the root: directories
/// become `dir/**`, spaces become `[[:space:]]`, patterns given from a subdirectory are
/// anchored there, `.` and `..` are resolved, and a leading `/` anchors at the root. A
/// pattern that leaves the work tree, names the root itself or `.git`, or could not be one
/// line of `.gitattributes` is refused.
pub(crate) fn normalize(root: &Path, cwd: &Path, pattern: &str) -> Result<String> {
    let refuse =
        |why: &str, hint: &str| Err(hinted(format!("cannot track `{pattern}`: {why}"), hint));
    if pattern.is_empty() || pattern.contains(['\n', '\r', '\0']) {
        return refuse("a pattern is one non-empty line", "give each pattern as one argument");
    }
    if pattern.starts_with('!') || pattern.starts_with('#') {
        return refuse(
            "`.gitattributes` has no negative patterns and `#` starts a comment",
            "use `git data untrack PATTERN` to stop tracking; write `\\#` for a name that starts with #",
        );
    }
    let is_dir = pattern.ends_with('/') || cwd.join(pattern).is_dir();
    let anchored = pattern.starts_with('/');
    let mut parts: Vec<String> = Vec::new();
    if !anchored && let Ok(sub) = cwd.strip_prefix(root) {
        parts.extend(sub.iter().map(|c| c.to_string_lossy().into_owned()));
    }
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.pop().is_some() => {}
            ".." => {
                return refuse(
                    "it leaves the work tree",
                    "patterns are paths inside the repository, from the current directory",
                );
            }
            ".git" => {
                return refuse("`.git` is git's own directory", "track files of the work tree");
            }
            other => parts.push(other.to_string()),
        }
    }
    if parts.is_empty() {
        return refuse(
            "it names the whole work tree",
            "track file patterns such as \"*.pkl\" or directories such as data/",
        );
    }
    let mut p = format!("{}{}", if anchored { "/" } else { "" }, parts.join("/"));
    if is_dir {
        p.push_str("/**");
    }
    Ok(p.replace(' ', "[[:space:]]"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_tracked() {
        let t = "# c\n*.pkl filter=data diff=data merge=data -text\n*.txt text\ndata/** filter=data -text\n";
        assert_eq!(tracked_patterns(t), vec!["*.pkl", "data/**"]);
    }

    #[test]
    fn adds_each_missing_pattern_once() {
        let t = "*.pkl filter=data diff=data merge=data -text";
        let want = ["*.pkl".to_string(), "a b".into(), "a b".into()];
        let out = with_patterns(t, &want, FilterName::Data);
        assert_eq!(out, format!("{t}\na b {ATTRS}\n"));
        assert_eq!(with_patterns("", &[], FilterName::Data), "");
        let lfs = with_patterns("x filter=lfs diff=lfs merge=lfs -text\n", &want, FilterName::Lfs);
        assert_eq!(lfs, format!("x {LFS_ATTRS}\n*.pkl {LFS_ATTRS}\na b {LFS_ATTRS}\n"));
    }

    #[test]
    fn escapes_paths() {
        let e = |p: &str| escape(BStr::new(p));
        assert_eq!(e("a b/c*.bin"), "a[[:space:]]b/c\\*.bin");
        assert_eq!(e("tab\there"), "tab[[:space:]]here");
        assert_eq!(e("#x/!y"), "\\#x/!y");
        assert_eq!(anchored(BStr::new("model.bin")), "/model.bin");
        assert_eq!(anchored(BStr::new("d/model.bin")), "d/model.bin");
        assert_eq!(
            rooted(BStr::new("my model [v1].bin")),
            "/my[[:space:]]model[[:space:]]\\[v1].bin"
        );
    }

    #[test]
    fn normalize_patterns() {
        let root = Path::new("/nonexistent-root");
        let sub = root.join("sub");
        let n = |cwd: &Path, p: &str| normalize(root, cwd, p).map_err(|e| e.to_string());
        assert_eq!(n(root, "*.pkl").unwrap(), "*.pkl");
        assert_eq!(n(root, "data/").unwrap(), "data/**");
        assert_eq!(n(root, "./data/x.bin").unwrap(), "data/x.bin");
        assert_eq!(n(root, "/data/*.bin").unwrap(), "/data/*.bin");
        assert_eq!(n(root, "my model.bin").unwrap(), "my[[:space:]]model.bin");
        assert_eq!(n(&sub, "x.bin").unwrap(), "sub/x.bin");
        assert_eq!(n(&sub, "../x.bin").unwrap(), "x.bin");
        assert_eq!(n(&sub, "/x.bin").unwrap(), "/x.bin");
        assert_eq!(n(&sub, "./").unwrap(), "sub/**");
        for bad in ["../*.bin", "a/../../b", ".git/config", "", "x\ny", "!x", "#x", "/", "."] {
            let err = n(root, bad).unwrap_err();
            assert!(err.starts_with("cannot track"), "{bad:?}: {err}");
        }
        assert!(n(&sub, "../../x").unwrap_err().contains("leaves the work tree"));
    }
}
