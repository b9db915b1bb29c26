//! The report of policy violations, shared by the pre-push hook and `git data check`: one line
//! per offending file (path, size, the commit that added it, the rule), then the commands that
//! fix it, ready to copy.
//!
//! Invariants: plain text without colour or terminal codes (it ends up in CI logs and in
//! `git push` output); every command printed is shell-quoted; nothing here reads blob content.

use super::{Rule, SKIP_ENV, Violation};
use crate::git::Repo;
use crate::units::human;
use gix::ObjectId;
use gix::bstr::ByteSlice;

/// Who is reporting: the wording of the last steps differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The pre-push hook: the push was refused.
    Push,
    /// `git data check`.
    Check,
}

/// The short id and subject line of a commit (`3f2a9c1d0e "Add data"`).
pub(crate) fn describe_commit(repo: &Repo, id: ObjectId) -> String {
    let subject = repo
        .gix
        .find_commit(id)
        .ok()
        .map(|c| {
            let message = c.message_raw_sloppy();
            message.lines().next().unwrap_or_default().to_str_lossy().trim().to_string()
        })
        .unwrap_or_default();
    let short = id.to_hex_with_len(10).to_string();
    if subject.is_empty() { short } else { format!("{short} \"{subject}\"") }
}

/// Quotes a word for POSIX shells (double quotes, with `\ " $ ``` escaped).
pub(crate) fn shell_quote(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('"');
    for c in word.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn rule_text(rule: &Rule) -> String {
    match rule {
        Rule::TooLarge { limit } => format!("larger than max-blob-size ({})", human(*limit)),
        Rule::AlwaysTrack { pattern } => format!("matches always-track \"{pattern}\""),
    }
}

/// The pattern that `git data track` should be given for a violation.
fn track_pattern(v: &Violation) -> String {
    match &v.rule {
        Rule::AlwaysTrack { pattern } => pattern.clone(),
        Rule::TooLarge { .. } => crate::git::attributes::escape(v.path.as_bstr()),
    }
}

/// The full report for `violations` (not empty) found in commits of `branch`.
pub(crate) fn format(
    repo: &Repo,
    violations: &[Violation],
    branch: &str,
    origin: Origin,
) -> String {
    let n = violations.len();
    let files = if n == 1 { "1 file".to_string() } else { format!("{n} files") };
    let mut out = match origin {
        Origin::Push => format!(
            "git-data: push refused: the pushed commits add {files} that break{} the large-file policy:\n",
            if n == 1 { "s" } else { "" }
        ),
        Origin::Check => format!(
            "policy: {files} break{} the large-file policy:\n",
            if n == 1 { "s" } else { "" }
        ),
    };
    let width = violations.iter().map(|v| v.path.len()).max().unwrap_or(0).min(60);
    for v in violations {
        out.push_str(&format!(
            "  {:<width$}  {:>10}  added by {}: {}\n",
            v.path.to_str_lossy(),
            human(v.size),
            describe_commit(repo, v.commit),
            rule_text(&v.rule),
        ));
    }
    let mut patterns: Vec<String> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    for v in violations {
        let p = track_pattern(v);
        if !patterns.contains(&p) {
            patterns.push(p);
        }
        let path = v.path.to_str_lossy().into_owned();
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    let quoted = |list: &[String]| list.iter().map(|p| shell_quote(p)).collect::<Vec<_>>();
    let again = match origin {
        Origin::Push => "push again",
        Origin::Check => "run `git data check` again",
    };
    out.push_str(&format!(
        "\nTo fix it (from the repository root), rewrite the commits that added them so that they \
         hold pointers (commits already on a remote are left alone, and .gitattributes tracks \
         the files from then on):\n    git data migrate import --include {} {}\nthen {again}.\n",
        shell_quote(&patterns.join(",")),
        shell_quote(branch),
    ));
    out.push_str(&format!(
        "To keep those commits unchanged instead, convert the files in one new commit (the large \
         blobs stay in history):\n    git data migrate import --no-rewrite {}\n",
        quoted(&paths).join(" ")
    ));
    match origin {
        Origin::Push => out.push_str(&format!(
            "and push that once without the policy check: {SKIP_ENV}=1 git push\n"
        )),
        Origin::Check => out.push_str(
            "(`git data check` keeps reporting them for ranges that include those commits)\n",
        ),
    }
    out.push_str(
        "To exempt a file, add it to policy.allow in .gitdata.yaml (see docs/policy.md).\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("*.pkl"), "\"*.pkl\"");
        assert_eq!(shell_quote("a \"b\" $c"), "\"a \\\"b\\\" \\$c\"");
    }

    #[test]
    fn rules_read_well() {
        assert_eq!(
            rule_text(&Rule::TooLarge { limit: 5 << 20 }),
            "larger than max-blob-size (5.0 MiB)"
        );
        assert_eq!(
            rule_text(&Rule::AlwaysTrack { pattern: "*.h5".into() }),
            "matches always-track \"*.h5\""
        );
    }
}
