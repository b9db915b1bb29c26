//! The pre-push hook: git gives `<remote name> <url>` as arguments and one line per ref
//! update on stdin (`<local ref> <local oid> <remote ref> <remote oid>`). Uploads the data
//! that the pushed commits introduce and refuses the push when it cannot.
//!
//! Commits already on the remote (its side of each update, and its remote-tracking refs) are
//! not scanned; deleting a branch is a no-op; a push without pointers does nothing.

use crate::context::Context;
use crate::scan::Scanner;
use anyhow::Result;

/// The ids of one ref update line, or None for a deletion or a malformed line.
fn parse_line(line: &str) -> Option<(gix::ObjectId, Option<gix::ObjectId>)> {
    let mut w = line.split_whitespace();
    let (_local_ref, local, _remote_ref, remote) = (w.next()?, w.next()?, w.next()?, w.next()?);
    let local = gix::ObjectId::from_hex(local.as_bytes()).ok()?;
    if local.is_null() {
        return None;
    }
    let remote = gix::ObjectId::from_hex(remote.as_bytes()).ok().filter(|r| !r.is_null());
    Some((local, remote))
}

pub fn run(ctx: &Context, args: &[String], stdin: &[u8]) -> Result<i32> {
    let text = String::from_utf8_lossy(stdin);
    let mut tips = Vec::new();
    let mut hidden = Vec::new();
    for (local, remote) in text.lines().filter_map(parse_line) {
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
    super::push::upload(ctx, None, &found, false)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_updates_and_skips_deletions() {
        let a = "1111111111111111111111111111111111111111";
        let z = "0000000000000000000000000000000000000000";
        let (l, r) = parse_line(&format!("refs/heads/main {a} refs/heads/main {z}")).unwrap();
        assert_eq!(l.to_string(), a);
        assert!(r.is_none());
        assert!(parse_line(&format!("(delete) {z} refs/heads/x {a}")).is_none());
        assert!(parse_line("garbage").is_none());
    }
}
