//! What commands print about their work (never protocol bytes): lines that `--quiet` hides,
//! what a materialisation or an upload did, and failure lists cut to a readable length.
//!
//! Invariant: results go to stdout, progress and errors to stderr, so a command's output can
//! be piped.

use crate::cli::context::Context;
use crate::materialize::Outcome;
use crate::sync::push::Uploaded;
use crate::units::human;

/// Prints a line to stdout unless quiet.
pub(crate) fn say(quiet: bool, line: impl AsRef<str>) {
    if !quiet {
        println!("{}", line.as_ref());
    }
}

/// `s` for a count other than one.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Reports an upload that sent something (to stderr: the pre-push hook's stdout is git's).
pub(crate) fn report_uploaded(quiet: bool, up: &Uploaded) {
    if up.files > 0 && !quiet {
        eprintln!(
            "git-data: uploaded {} file{} ({}) to {}",
            up.files,
            plural(up.files),
            human(up.bytes),
            up.remote
        );
    }
}

/// Prints what a materialisation did and failed to do; returns the exit code.
pub(crate) fn report_outcome(ctx: &Context, outcome: &Outcome, retry: &str) -> i32 {
    if outcome.written > 0 && ctx.progress() {
        eprintln!(
            "git-data: wrote {} file{} ({})",
            outcome.written,
            plural(outcome.written),
            human(outcome.bytes)
        );
    }
    if outcome.ok() {
        return 0;
    }
    let n = outcome.failed.len();
    eprintln!(
        "git-data: error: {n} file{} left as pointer{}:",
        if n == 1 { " is" } else { "s are" },
        plural(n)
    );
    // the shared fix is said once, below
    let strip = |why: &'_ str| -> String {
        let Some(h) = &outcome.hint else { return why.to_string() };
        why.strip_suffix(&format!("; {h}"))
            .or_else(|| why.strip_suffix(&format!(" ({h})")))
            .unwrap_or(why)
            .to_string()
    };
    let failed = outcome.failed.iter().map(|(path, why)| (path.to_string(), strip(why)));
    for line in by_cause(failed) {
        eprintln!("{line}");
    }
    match &outcome.hint {
        Some(h) if h.contains(retry) => eprintln!("hint: {h}"),
        Some(h) => eprintln!("hint: {h}; then run `{retry}`"),
        None => eprintln!(
            "hint: fix the cause above, then run `{retry}`; `git data status` lists files that are still pointers"
        ),
    }
    1
}

/// Failures as lines grouped by cause, in the order causes first appear: a cause shared by
/// many files (a remote that is down, objects it lacks) is said once with its files under
/// it, cut to a readable length.
pub(crate) fn by_cause(failed: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    let mut causes: Vec<(String, Vec<String>)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = Default::default();
    for (path, why) in failed {
        match index.get(&why) {
            Some(&i) => causes[i].1.push(path),
            None => {
                index.insert(why.clone(), causes.len());
                causes.push((why, vec![path]));
            }
        }
    }
    let mut lines = Vec::new();
    for (why, paths) in causes.iter().take(20) {
        match paths.as_slice() {
            [one] => lines.push(format!("  {one}: {why}")),
            _ => {
                lines.push(format!("  {} files: {why}", paths.len()));
                lines.extend(paths.iter().take(10).map(|p| format!("    {p}")));
                if paths.len() > 10 {
                    lines.push(format!("    ... and {} more", paths.len() - 10));
                }
            }
        }
    }
    if causes.len() > 20 {
        lines.push(format!("  ... and {} more causes", causes.len() - 20));
    }
    lines
}
