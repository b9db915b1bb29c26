//! What `git data status` prints: the set-up (remote, a missing filter), one line per file
//! that is not up to date with its labels and size, the counts, and the fix for each label.

use super::FileState;
use crate::cli::args::StatusArgs;
use crate::cli::context::Context;
use crate::cli::ui::plural;
use std::io::Write;

/// What status says about the set-up, above and below the files.
pub(super) struct Setup {
    pub remote: Option<(String, String)>,
    /// git would not run git-data's filter in this clone.
    pub filter_missing: bool,
    /// The remote could not be asked about objects that are not cached: why.
    pub unreachable: Option<String>,
}

pub(super) fn print(ctx: &Context, args: &StatusArgs, states: &[FileState], setup: &Setup) {
    let remote = &setup.remote;
    if args.json {
        let doc = serde_json::json!({
            "remote": remote.as_ref().map(|(n, l)| serde_json::json!({"name": n, "location": l})),
            "filter_installed": !setup.filter_missing,
            "remote_error": setup.unreachable,
            "files": states,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return;
    }
    // one write per buffer, not per line (stdout is line-buffered): 20,000 lines cost 6 ms
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let _ = match remote {
        Some((name, loc)) => writeln!(out, "Data remote: {name} ({loc})"),
        None => writeln!(out, "Data remote: none (add one with `git data remote add NAME URL`)"),
    };
    if setup.filter_missing {
        let pointers = states.iter().filter(|s| s.pointer_only).count();
        let _ = writeln!(
            out,
            "warning: git-data is not set up in this clone (git config has no filter.data, or, \
             where the data remote is a Git LFS server, filter.lfs is not git-data's), so its \
             data files stay pointer text and `git add` would put data into git itself"
        );
        let _ = writeln!(
            out,
            "fix: `git data install` sets it up{}",
            match pointers {
                0 => String::new(),
                n => format!(" and writes the data of the {n} pointer file{}", plural(n)),
            }
        );
    }
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    let width = states.iter().map(|s| s.labels().join(", ").len()).max().unwrap_or(0).min(44);
    let total = crate::units::checked_total(states.iter().map(|s| s.size));
    for s in states {
        let labels = s.labels();
        for l in &labels {
            *counts.entry(l).or_default() += 1;
        }
        if !labels.is_empty() {
            let size = crate::units::human(s.worktree_size.unwrap_or(s.size));
            let size = if s.conflicted { String::new() } else { size };
            let _ = writeln!(out, "  {:<width$} {size:>10}  {}", labels.join(", "), s.path);
        }
    }
    let clean = states.iter().filter(|s| s.labels().is_empty()).count();
    let mut summary = format!(
        "{} tracked file{} ({}): {clean} up to date",
        states.len(),
        plural(states.len()),
        crate::units::human_total(total)
    );
    for (label, n) in &counts {
        summary.push_str(&format!(", {n} {label}"));
    }
    let _ = writeln!(out, "{summary}");
    if let (Some(why), Some((name, _))) = (&setup.unreachable, remote) {
        let _ = writeln!(out, "note: could not ask {name} about the files not in cache: {why}");
    }
    if ctx.global.quiet {
        return;
    }
    let pull = "`git data pull` writes files that are only pointers";
    let hints = [
        (
            "conflicted",
            "resolve each conflicted file (`git checkout --ours PATH` or `--theirs`), then `git add PATH`",
        ),
        ("modified", "`git add` stores modified files in the cache"),
        ("not pushed", "`git push` (or `git data push`) uploads what is not pushed"),
        ("pointer only", if setup.filter_missing { "" } else { pull }),
        (
            "not in cache, not on the remote",
            "no copy of these is reachable from here: whoever committed them must `git data push` from their clone",
        ),
        (
            "in git, not converted",
            "`git add --renormalize PATH` converts files committed to git before their pattern was tracked; then commit",
        ),
    ];
    for (label, hint) in hints {
        if counts.contains_key(label) && !hint.is_empty() {
            let _ = writeln!(out, "hint: {hint}");
        }
    }
}
