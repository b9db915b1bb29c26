//! The large-file policy: which blobs may be committed to git without git-data. A blob that
//! is not a pointer breaks the policy when it is larger than `max-blob-size` (5 MiB unless
//! `.gitdata.yaml` says otherwise) or matches an `always-track` pattern; `allow` patterns are
//! exempt from both rules.
//!
//! Invariants: the policy judges a blob by its path and the size from its object header, so
//! evaluating it never reads blob content; pointers (and malformed pointers, which `check`
//! reports on their own) never break it; the empty file is its own pointer and never breaks it.
//! Patterns use gitattributes syntax: without a slash they match the file name at any depth,
//! with one they match from the repository root; `dir/` means everything below `dir`.

pub(crate) mod autotrack;
pub(crate) mod report;
pub(crate) mod wrong_size;

use crate::config::PolicySection;
use crate::git::scan::Found;
use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};
use gix::glob::{Pattern, pattern::Case, wildmatch};
use std::collections::HashMap;

/// The limit that applies when `.gitdata.yaml` has no `policy.max-blob-size`.
pub(crate) const DEFAULT_MAX_BLOB_SIZE: u64 = 5 << 20;

/// The environment variable that lets one push through despite the policy.
pub(crate) const SKIP_ENV: &str = "GIT_DATA_SKIP_POLICY";

#[derive(Debug, thiserror::Error)]
pub(crate) enum PolicyError {
    #[error(".gitdata.yaml: policy.{key}: `{pattern}` is not a usable pattern")]
    BadPattern { key: &'static str, pattern: String },
}

/// A pattern as written, and compiled.
#[derive(Clone, Debug)]
struct Glob {
    text: String,
    pattern: Pattern,
}

impl Glob {
    fn new(key: &'static str, text: &str) -> Result<Glob, PolicyError> {
        let bad = || PolicyError::BadPattern { key, pattern: text.to_string() };
        let trimmed = text.trim();
        if trimmed.starts_with('!') {
            return Err(bad()); // gitattributes has no negation; an exception belongs in `allow`
        }
        let source = match trimmed.strip_suffix('/') {
            Some(dir) => format!("{dir}/**"),
            None => trimmed.to_string(),
        };
        let pattern = Pattern::from_bytes(source.as_bytes()).ok_or_else(bad)?;
        Ok(Glob { text: trimmed.to_string(), pattern })
    }

    fn matches(&self, path: &BStr) -> bool {
        self.pattern.matches_repo_relative_path(
            path,
            path.rfind_byte(b'/').map(|p| p + 1),
            Some(false),
            Case::Sensitive,
            wildmatch::Mode::NO_MATCH_SLASH_LITERAL,
        )
    }
}

/// The rule a blob breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Larger than `max-blob-size`.
    TooLarge { limit: u64 },
    /// Matches an `always-track` pattern.
    AlwaysTrack { pattern: String },
}

/// A blob that a commit adds against the policy.
#[derive(Clone, Debug)]
pub(crate) struct Violation {
    pub path: BString,
    pub size: u64,
    /// The commit that added it (the oldest one in the scanned range, if several did).
    pub commit: ObjectId,
    pub rule: Rule,
}

/// The resolved policy of a repository.
#[derive(Clone, Debug)]
pub(crate) struct Policy {
    /// `None` when the size rule is switched off.
    pub max_blob_size: Option<u64>,
    /// From `track-above`: new files over this size are tracked at commit time.
    pub track_above: Option<u64>,
    always_track: Vec<Glob>,
    allow: Vec<Glob>,
}

impl Policy {
    /// The policy of a `policy:` section (an absent section gives the defaults).
    pub(crate) fn from_section(section: &PolicySection) -> Result<Policy, PolicyError> {
        let globs = |key, list: &[String]| -> Result<Vec<Glob>, PolicyError> {
            list.iter().map(|p| Glob::new(key, p)).collect()
        };
        Ok(Policy {
            max_blob_size: match &section.max_blob_size {
                Some(setting) => setting.bytes,
                None => Some(DEFAULT_MAX_BLOB_SIZE),
            },
            track_above: section.track_above.as_ref().and_then(|s| s.bytes),
            always_track: globs("always-track", &section.always_track)?,
            allow: globs("allow", &section.allow)?,
        })
    }

    /// Whether any rule is on.
    #[cfg(test)]
    fn is_active(&self) -> bool {
        self.max_blob_size.is_some() || !self.always_track.is_empty()
    }

    /// Whether `path` is exempt (`allow`).
    pub(crate) fn is_allowed(&self, path: &BStr) -> bool {
        self.allow.iter().any(|g| g.matches(path))
    }

    /// The rule that a non-pointer blob of `size` bytes at `path` breaks, if any.
    pub(crate) fn rule_for(&self, path: &BStr, size: u64) -> Option<Rule> {
        if size == 0 || self.is_allowed(path) {
            return None;
        }
        if let Some(g) = self.always_track.iter().find(|g| g.matches(path)) {
            return Some(Rule::AlwaysTrack { pattern: g.text.clone() });
        }
        match self.max_blob_size {
            Some(limit) if size > limit => Some(Rule::TooLarge { limit }),
            _ => None,
        }
    }

    /// The violations among files found by a commit scan, one per (path, blob), attributed
    /// to the oldest commit of the scan that added it; sorted by path.
    pub(crate) fn violations(&self, found: &[Found]) -> Vec<Violation> {
        let mut by_key: HashMap<(&BString, ObjectId), Violation> = HashMap::new();
        // scans list newer commits first: the last sighting is the oldest commit
        for f in found.iter().filter(|f| f.pointer.is_none() && f.malformed.is_none()) {
            if let Some(rule) = self.rule_for(f.path.as_bstr(), f.size) {
                let v = Violation { path: f.path.clone(), size: f.size, commit: f.commit, rule };
                by_key.insert((&f.path, f.blob), v);
            }
        }
        let mut out: Vec<Violation> = by_key.into_values().collect();
        out.sort_by(|a, b| a.path.cmp(&b.path).then(a.commit.cmp(&b.commit)));
        out
    }
}

/// Whether the environment asks to skip the policy for this command.
pub(crate) fn skipped_by_env(value: Option<&str>) -> bool {
    value.is_some_and(|v| !matches!(v.trim(), "" | "0" | "false" | "no" | "off"))
}

/// The policy `.gitdata.yaml` sets; a bad pattern is an error naming the fix.
pub(crate) fn load(config: &crate::config::Config) -> anyhow::Result<Policy> {
    Policy::from_section(&config.file.policy).map_err(|e| {
        crate::hint::hinted(e.to_string(), "fix the pattern in .gitdata.yaml (see docs/policy.md)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SizeSetting;

    fn policy(max: Option<&str>, always: &[&str], allow: &[&str]) -> Policy {
        Policy::from_section(&PolicySection {
            max_blob_size: max.and_then(SizeSetting::parse),
            always_track: always.iter().map(|s| s.to_string()).collect(),
            allow: allow.iter().map(|s| s.to_string()).collect(),
            track_above: None,
        })
        .unwrap()
    }

    #[test]
    fn rules() {
        let p = policy(None, &["*.pkl", "models/**"], &["docs/", "big/keep.bin"]);
        assert_eq!(p.max_blob_size, Some(DEFAULT_MAX_BLOB_SIZE));
        let path = |s: &'static str| BStr::new(s);
        assert_eq!(p.rule_for(path("a/b.bin"), 5 << 20), None, "the limit itself is allowed");
        assert_eq!(
            p.rule_for(path("a/b.bin"), (5 << 20) + 1),
            Some(Rule::TooLarge { limit: 5 << 20 })
        );
        assert_eq!(
            p.rule_for(path("deep/x.pkl"), 10),
            Some(Rule::AlwaysTrack { pattern: "*.pkl".into() })
        );
        assert!(p.rule_for(path("models/m/w.txt"), 1).is_some());
        assert_eq!(p.rule_for(path("x.pkl"), 0), None, "the empty file is its own pointer");
        assert_eq!(p.rule_for(path("docs/img/huge.png"), 1 << 30), None);
        assert_eq!(p.rule_for(path("big/keep.bin"), 1 << 30), None);
        assert!(p.rule_for(path("big/other.bin"), 1 << 30).is_some());
        let off = policy(Some("none"), &[], &[]);
        assert!(!off.is_active());
        assert_eq!(off.rule_for(path("x"), u64::MAX), None);
        assert!(
            Policy::from_section(&PolicySection { allow: vec!["!x".into()], ..Default::default() })
                .is_err()
        );
    }

    #[test]
    fn exact_path_patterns() {
        let anchored = crate::git::attributes::anchored(BStr::new("x [1].bin"));
        let g = Glob::new("allow", &anchored).unwrap();
        assert!(g.matches(BStr::new("x [1].bin")));
        assert!(!g.matches(BStr::new("sub/x [1].bin")));
        assert!(skipped_by_env(Some("1")) && !skipped_by_env(Some("0")) && !skipped_by_env(None));
    }
}
