//! The pre-push hook: git gives `<remote name> <url>` as arguments and one line per ref
//! update on stdin (`<local ref> <local oid> <remote ref> <remote oid>`). Uploads the data
//! that the pushed commits introduce and refuses the push when it cannot.
//!
//! Commits already on the remote (its side of each update, and its remote-tracking refs) are
//! not scanned; deleting a branch is a no-op; a push without pointers does nothing. The
//! run-cache entries made here follow the objects (a failure there only warns).
//!
//! The large-file policy is checked on the same scan, before anything is uploaded: a push
//! whose commits add a blob that breaks it is refused with the report of `policy::report`
//! (unless `GIT_DATA_SKIP_POLICY` is set, which only warns).

use crate::cli::context::Context;
use crate::cli::ui;
use crate::git::scan::Scanner;
use crate::git::short_ref;
use crate::policy::{self, SKIP_ENV, report};
use crate::sync;
use anyhow::Result;

/// One ref update: the local ref name and id, and the remote's id (None for a new ref).
type Update<'a> = (&'a str, gix::ObjectId, Option<gix::ObjectId>);

/// One ref update line, or None for a deletion or a malformed line.
fn parse_line(line: &str) -> Option<Update<'_>> {
    let mut w = line.split_whitespace();
    let (local_ref, local, _remote_ref, remote) = (w.next()?, w.next()?, w.next()?, w.next()?);
    let local = gix::ObjectId::from_hex(local.as_bytes()).ok()?;
    if local.is_null() {
        return None;
    }
    let remote = gix::ObjectId::from_hex(remote.as_bytes()).ok().filter(|r| !r.is_null());
    Some((local_ref, local, remote))
}

pub(super) fn run(ctx: &Context, args: &[String], stdin: &[u8]) -> Result<i32> {
    let text = String::from_utf8_lossy(stdin);
    let mut tips = Vec::new();
    let mut hidden = Vec::new();
    let mut branch = None;
    for (local_ref, local, remote) in text.lines().filter_map(parse_line) {
        branch.get_or_insert(short_ref(local_ref));
        tips.push(local);
        hidden.extend(remote);
    }
    if tips.is_empty() {
        return Ok(0);
    }
    if let Some(remote_name) = args.first().filter(|n| !n.contains('/') && !n.contains(':')) {
        hidden.extend(ctx.repo.refs_with_prefix(&format!("refs/remotes/{remote_name}/")));
    }
    let found = Scanner::new(&ctx.repo).introduced(&tips, &hidden)?;
    let violations = policy::load(&ctx.config)?.violations(&found);
    if !violations.is_empty() {
        if !policy::skipped_by_env(std::env::var(SKIP_ENV).ok().as_deref()) {
            let branch = branch.unwrap_or("HEAD");
            eprint!("{}", report::format(&ctx.repo, &violations, branch, report::Origin::Push));
            return Ok(1);
        }
        let n = violations.len();
        eprintln!(
            "git-data: warning: {SKIP_ENV} is set: pushing {n} file{} that break{} the large-file policy",
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" }
        );
    }
    let up = sync::push::upload(&ctx.local(), None, &found, false)?;
    ui::report_uploaded(ctx.global.quiet, &up);
    // the commits' data is up: a run-cache entry that cannot follow does not stop the push
    if let Err(e) = super::super::push::push_run_cache(ctx, None, false) {
        eprintln!(
            "git-data: warning: run-cache entries not pushed: {e:#}\nhint: `git data push` uploads them"
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_updates_and_skips_deletions() {
        let a = "1111111111111111111111111111111111111111";
        let z = "0000000000000000000000000000000000000000";
        let line = format!("refs/heads/main {a} refs/heads/main {z}");
        let (name, l, r) = parse_line(&line).unwrap();
        assert_eq!((short_ref(name), l.to_string().as_str()), ("main", a));
        assert!(r.is_none());
        assert!(parse_line(&format!("(delete) {z} refs/heads/x {a}")).is_none());
        assert!(parse_line("garbage").is_none());
    }
}
