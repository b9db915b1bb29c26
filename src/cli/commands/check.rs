//! `git data check [RANGE]`: the pre-push policy check for CI, plus the pointers of the same
//! commits: malformed ones, and ones whose object is in neither the local cache nor the data
//! remote. Exit 0 when clean, 1 on findings (or when the check could not run), 2 for a bad range.
//!
//! The range is read like `git log`'s: `A..B`, `A...B`, or one revision meaning its whole
//! history; without one, the commits of HEAD not on any remote-tracking ref (what a push of
//! the current branch would send). Objects are looked up in the cache, then in the record of
//! objects known to be on the default remote, and only the rest are asked of the remote, in
//! one batch (`--offline` never asks, and reports those objects as unverified).

use crate::cli::args::CheckArgs;
use crate::cli::context::Context;
use crate::git::scan::{Found, Scanner};
use crate::hint::hinted;
use crate::oid::Oid;
use crate::policy::{self, report};
use anyhow::Result;
use gix::ObjectId;
use gix::revision::plumbing::Spec;
use std::collections::HashMap;

/// The policy of `.gitdata.yaml`, with a hint when a pattern is unusable.
/// Tips and hidden commits of a range, as the scan wants them.
type Range = (Vec<ObjectId>, Vec<ObjectId>);

fn parse_range(ctx: &Context, text: &str) -> Result<Range> {
    let usage = |message: String| {
        hinted(
            message,
            "give a revision range as for `git log`: origin/main..HEAD, v1.0..v2.0, A...B, or one revision",
        )
    };
    let spec = ctx
        .repo
        .gix
        .rev_parse(text)
        .map_err(|e| {
            if names_head(text) && ctx.repo.resolve_commit("HEAD").is_err() {
                hinted(
                    format!("`{text}` names HEAD, but the current branch has no commits yet"),
                    "commit first, or run `git data check` without a range",
                )
            } else {
                usage(format!("unknown revision range `{text}`: {e}"))
            }
        })?
        .detach();
    let commit = |id: ObjectId| -> Result<ObjectId> {
        let object = ctx.repo.gix.find_object(id).map_err(|e| usage(e.to_string()))?;
        let c = object
            .peel_to_commit()
            .map_err(|_| usage(format!("`{text}` does not name commits")))?;
        Ok(c.id)
    };
    Ok(match spec {
        Spec::Include(id) => (vec![commit(id)?], Vec::new()),
        Spec::Range { from, to } => (vec![commit(to)?], vec![commit(from)?]),
        Spec::Merge { theirs, ours } => {
            let (a, b) = (commit(theirs)?, commit(ours)?);
            let bases = ctx
                .repo
                .gix
                .merge_bases_many(a, &[b])
                .map(|ids| ids.into_iter().map(|id| id.detach()).collect::<Vec<_>>());
            (vec![a, b], bases.unwrap_or_default())
        }
        _ => return Err(usage(format!("`{text}` is not a range `git data check` can use"))),
    })
}

/// Whether a range mentions HEAD as a revision (not as part of a longer ref name).
fn names_head(text: &str) -> bool {
    text.split(['.', '^', '~', ':', '@']).any(|part| part == "HEAD")
}

/// The default range: HEAD minus everything on remote-tracking refs; None on an unborn HEAD.
fn default_range(ctx: &Context) -> Option<Range> {
    let head = ctx.repo.resolve_commit("HEAD").ok()?;
    Some((vec![head], ctx.repo.refs_with_prefix("refs/remotes/")))
}

/// The current branch's short name, or `HEAD`.
fn current_branch(ctx: &Context) -> String {
    match ctx.repo.gix.head_name() {
        Ok(Some(name)) => crate::git::short_ref(&name.as_bstr().to_string()).to_string(),
        _ => "HEAD".to_string(),
    }
}

pub(crate) fn run(ctx: &Context, args: &CheckArgs) -> Result<i32> {
    let label = args.range.clone().unwrap_or_else(|| "HEAD --not --remotes".to_string());
    let (tips, hidden) = match &args.range {
        Some(text) => match parse_range(ctx, text) {
            Ok(r) => r,
            Err(e) => {
                crate::cli::error::report(&e);
                return Ok(2);
            }
        },
        None => match default_range(ctx) {
            Some(r) => r,
            None => {
                println!("check: nothing to check (no commits yet)");
                return Ok(0);
            }
        },
    };
    let found = Scanner::new(&ctx.repo).introduced(&tips, &hidden)?;
    let policy = policy::load(&ctx.config)?;
    let mut findings = 0;
    let violations = policy.violations(&found);
    if !violations.is_empty() {
        findings += violations.len();
        let branch = current_branch(ctx);
        print!("{}", report::format(&ctx.repo, &violations, &branch, report::Origin::Check));
    }
    findings += report_malformed(ctx, &found);
    findings += report_wrong_sizes(ctx, &found);
    let (missing, unverified) = missing_objects(ctx, &found, args.offline)?;
    findings += missing;
    let pointers = found.iter().filter(|f| f.pointer.is_some()).count();
    let verdict = if findings == 0 { "ok".to_string() } else { format!("{findings} problem(s)") };
    println!(
        "check: {label}: {} file version{} added ({pointers} pointer{}){}: {verdict}",
        found.len(),
        if found.len() == 1 { "" } else { "s" },
        if pointers == 1 { "" } else { "s" },
        if unverified > 0 {
            format!(", {unverified} object(s) not verified")
        } else {
            String::new()
        },
    );
    Ok(if findings == 0 { 0 } else { 1 })
}

/// Lists the malformed pointers; returns how many.
fn report_malformed(ctx: &Context, found: &[Found]) -> usize {
    let mut seen = std::collections::HashSet::new();
    let bad: Vec<&Found> =
        found.iter().filter(|f| f.malformed.is_some() && seen.insert((&f.path, f.blob))).collect();
    if !bad.is_empty() {
        println!("pointers: {} malformed:", bad.len());
        for f in &bad {
            println!(
                "  {}  added by {}: {}",
                f.path,
                report::describe_commit(&ctx.repo, f.commit),
                f.malformed.as_deref().unwrap_or_default()
            );
        }
        println!(
            "  (a pointer must be exactly the three lines git-data writes; restore the file and `git add` it again)"
        );
    }
    bad.len()
}

/// Lists the pointers whose size contradicts their cached object; returns how many.
fn report_wrong_sizes(ctx: &Context, found: &[Found]) -> usize {
    let wrong = crate::policy::wrong_size::find(&ctx.store, found);
    if let Some(first) = wrong.first() {
        println!("pointers: {} with a size that contradicts the object:", wrong.len());
        for w in &wrong {
            println!("  {}", w.describe(&ctx.repo));
        }
        println!("  ({})", first.hint(&ctx.store));
    }
    wrong.len()
}

/// Reports pointers whose object is in neither the cache nor on the remote; returns (missing,
/// unverified).
fn missing_objects(ctx: &Context, found: &[Found], offline: bool) -> Result<(usize, usize)> {
    let mut by_oid: HashMap<Oid, &Found> = HashMap::new();
    for f in found {
        if let Some(p) = f.pointer
            && !ctx.store.contains(&p.oid, p.size)
            && ctx.store.wrong_size(&p.oid, p.size).is_none()
        {
            by_oid.entry(p.oid).or_insert(f);
        }
    }
    if by_oid.is_empty() {
        return Ok((0, 0));
    }
    let where_ = match ctx.config.default_remote.clone() {
        Some(name) if !offline => name,
        _ if offline => return Ok((0, by_oid.len())),
        _ => {
            let list: Vec<&Found> = by_oid.values().copied().collect();
            print_missing(ctx, &list, "no data remote is configured");
            return Ok((list.len(), 0));
        }
    };
    let remote = ctx.remote(Some(&where_))?;
    let mut known = ctx.known(&*remote);
    let objects: Vec<(Oid, u64)> =
        by_oid.values().filter_map(|f| f.pointer).map(|p| (p.oid, p.size)).collect();
    let Some(crate::sync::push::Lacking { objects: lacking, .. }) =
        crate::sync::push::lacking(&remote, &mut known, &ctx.config, &objects, false)?
    else {
        return Ok((0, 0));
    };
    let list: Vec<&Found> = lacking.iter().filter_map(|(o, _)| by_oid.get(o).copied()).collect();
    print_missing(ctx, &list, &format!("neither in the local cache nor on {where_}"));
    Ok((list.len(), 0))
}

fn print_missing(ctx: &Context, list: &[&Found], why: &str) {
    if list.is_empty() {
        return;
    }
    let mut list = list.to_vec();
    list.sort_by(|a, b| a.path.cmp(&b.path));
    println!("objects: {} missing ({why}):", list.len());
    for f in list {
        let oid = f.pointer.map(|p| p.oid.short(12)).unwrap_or_default();
        println!(
            "  {}  object {oid}, added by {}",
            f.path,
            report::describe_commit(&ctx.repo, f.commit)
        );
    }
    println!(
        "  (upload the data from a clone that has it: `{} --all` there)",
        crate::sync::remote::REPAIR_COMMAND
    );
}

#[cfg(test)]
mod tests {
    use super::names_head;

    #[test]
    fn head_is_found_as_a_revision_only() {
        for yes in ["HEAD", "HEAD~1..HEAD", "origin/main...HEAD", "HEAD^", "HEAD@{1}"] {
            assert!(names_head(yes), "{yes}");
        }
        for no in ["main", "HEADER..main", "feature/HEAD-fix", "v1.0..v2.0"] {
            assert!(!names_head(no), "{no}");
        }
    }
}
