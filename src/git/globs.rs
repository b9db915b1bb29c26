//! Choosing files by gitattributes-style patterns, for `git data pull|fetch --include/--exclude`
//! and their defaults `data.fetchInclude` / `data.fetchExclude` (git-lfs's
//! `lfs.fetchinclude`), which checkouts honour too.
//!
//! Invariants: patterns are relative to the repository's root; a pattern without glob
//! characters also names everything below it as a directory (`data/raw` = `data/raw/**`);
//! with no include pattern every file is included, and an exclude always wins.

use anyhow::{Context as _, Result};
use gix::bstr::{BStr, ByteSlice};
use gix::glob::{Pattern, pattern::Case, wildmatch};

/// Files chosen by include and exclude patterns.
#[derive(Clone, Debug, Default)]
pub(crate) struct Globs {
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
}

impl Globs {
    /// Compiles the patterns (empty ones are ignored); an error names the unusable one.
    pub(crate) fn parse(include: &[String], exclude: &[String]) -> Result<Globs> {
        Ok(Globs { include: compile(include)?, exclude: compile(exclude)? })
    }

    /// Whether every file is chosen.
    pub(crate) fn is_all(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Whether the file at the repository path `path` is chosen.
    pub(crate) fn matches(&self, path: &BStr) -> bool {
        let hit = |list: &[Pattern]| list.iter().any(|p| pattern_matches(p, path));
        (self.include.is_empty() || hit(&self.include)) && !hit(&self.exclude)
    }
}

fn compile(raw: &[String]) -> Result<Vec<Pattern>> {
    let mut out = Vec::new();
    for text in raw.iter().map(|p| p.trim().trim_start_matches("./")).filter(|p| !p.is_empty()) {
        let bare = text.trim_end_matches('/');
        let mut forms = vec![bare.to_string()];
        if !bare.contains(['*', '?', '[']) {
            forms.push(format!("{bare}/**"));
        }
        for form in forms {
            let pattern = Pattern::from_bytes_without_negation(form.as_bytes())
                .with_context(|| format!("{text:?} is not a usable pattern"))?;
            out.push(pattern);
        }
    }
    Ok(out)
}

/// Matches a root-relative gitattributes pattern against a repository path, as git does.
pub(crate) fn pattern_matches(pattern: &Pattern, path: &BStr) -> bool {
    let base = path.rfind_byte(b'/').map(|p| p + 1);
    pattern.matches_repo_relative_path(
        path,
        base,
        Some(false),
        Case::Sensitive,
        wildmatch::Mode::NO_MATCH_SLASH_LITERAL,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn globs(include: &[&str], exclude: &[&str]) -> Globs {
        let own = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Globs::parse(&own(include), &own(exclude)).unwrap()
    }

    #[test]
    fn includes_then_excludes() {
        let g = globs(&["data/raw/**", "models"], &["*.tmp"]);
        for (path, chosen) in [
            ("data/raw/a.csv", true),
            ("data/raw/deep/b.csv", true),
            ("data/raw/a.tmp", false),
            ("data/processed/a.csv", false),
            ("models/m.bin", true),
            ("models", true),
            ("other/models/m.bin", false),
        ] {
            assert_eq!(g.matches(path.as_bytes().as_bstr()), chosen, "{path}");
        }
        assert!(globs(&[], &[]).is_all());
        assert!(globs(&[], &["*.tmp"]).matches(b"x.bin".as_bstr()));
    }
}
