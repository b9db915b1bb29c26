//! What commands print about their work (never protocol bytes): lines that `--quiet` hides,
//! what a materialisation or an upload did, and failure lists cut to a readable length.
//!
//! Invariant: results go to stdout, progress and errors to stderr, so a command's output can
//! be piped.

use crate::cli::context::Context;
use crate::materialize::Outcome;
use crate::sync::push::Uploaded;
use crate::units::human;
use gix::bstr::BString;

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
    // one line per cause, its files under it: a remote that is down is said once, not per file
    let mut causes: Vec<(&str, Vec<&BString>)> = Vec::new();
    for (path, why) in &outcome.failed {
        // the shared fix is said once, below
        let why = match &outcome.hint {
            Some(h) => why
                .strip_suffix(&format!("; {h}"))
                .or_else(|| why.strip_suffix(&format!(" ({h})")))
                .unwrap_or(why),
            None => why,
        };
        match causes.iter_mut().find(|(w, _)| *w == why) {
            Some((_, paths)) => paths.push(path),
            None => causes.push((why, vec![path])),
        }
    }
    let mut shown = 0;
    for (why, paths) in &causes {
        if shown >= 20 {
            break;
        }
        match paths.as_slice() {
            [one] => eprintln!("  {one}: {why}"),
            _ => {
                eprintln!("  {} files: {why}", paths.len());
                for p in paths.iter().take(10) {
                    eprintln!("    {p}");
                }
                if paths.len() > 10 {
                    eprintln!("    ... and {} more", paths.len() - 10);
                }
            }
        }
        shown += 1;
    }
    if causes.len() > shown {
        eprintln!("  ... and {} more causes", causes.len() - shown);
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
