//! The `.gitattributes` lines git-data writes and reads: the attributes of a tracked pattern,
//! the patterns a text tracks, and the one escaper that turns a path into a pattern matching
//! exactly that path.
//!
//! Invariants: a pattern written here is one line of `.gitattributes` (whitespace inside a
//! path becomes `[[:space:]]`, so the line never splits), and a path's pattern matches that
//! path only (glob characters escaped, a leading `!` or `#` escaped).

use gix::bstr::{BStr, ByteSlice};

/// The attributes git-data writes for a tracked pattern.
pub const ATTRS: &str = "filter=data diff=data merge=data -text";

/// The patterns tracked (`filter=data`) in a `.gitattributes` text.
pub fn tracked_patterns(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let pattern = words.next()?;
            (!pattern.starts_with('#') && words.any(|w| w == "filter=data"))
                .then(|| pattern.to_string())
        })
        .collect()
}

/// `text` with a tracking line (`PATTERN filter=data …`) for each pattern it does not track
/// yet, in order, each once.
pub fn with_patterns(text: &str, patterns: &[String]) -> String {
    let mut have = tracked_patterns(text);
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for p in patterns {
        if !have.contains(p) {
            out.push_str(&format!("{p} {ATTRS}\n"));
            have.push(p.clone());
        }
    }
    out
}

/// A pattern that matches exactly the file at the root-relative `path`, wherever a file of
/// that name is (no anchoring: see [`anchored`] and [`rooted`]).
pub fn escape(path: &BStr) -> String {
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
pub fn anchored(path: &BStr) -> String {
    let p = escape(path);
    if p.contains('/') { p } else { format!("/{p}") }
}

/// [`escape`] with a leading `/` whatever the path.
pub fn rooted(path: &BStr) -> String {
    format!("/{}", escape(path))
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
        let out = with_patterns(t, &want);
        assert_eq!(out, format!("{t}\na b {ATTRS}\n"));
        assert_eq!(with_patterns("", &[]), "");
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
}
