//! `git data diff REV [REV]`: which tracked files were added, deleted or changed between two
//! revisions (the second defaults to HEAD), with their sizes and object ids; what `dvc diff`
//! answers, read from the pointers alone (no data is needed locally).
//!
//! Invariant: only pointer files count; a path whose pointer is the same on both sides is
//! unchanged whatever else differs (mode changes of data files are not reported).

use crate::cli::args::DiffArgs;
use crate::cli::context::Context;
use crate::git::scan::{PathFilter, Scanner};
use crate::pointer::Pointer;
use anyhow::Result;
use gix::bstr::BString;
use std::collections::BTreeMap;

/// One changed path: its pointer before and after (`None`: absent or not tracked there).
struct Change {
    path: BString,
    old: Option<Pointer>,
    new: Option<Pointer>,
}

impl Change {
    fn status(&self) -> &'static str {
        match (self.old, self.new) {
            (None, _) => "added",
            (_, None) => "deleted",
            _ => "modified",
        }
    }
}

fn pointers(
    ctx: &Context,
    scanner: &mut Scanner,
    rev: &str,
    filter: &PathFilter,
) -> Result<BTreeMap<BString, Pointer>> {
    let commit = ctx.repo.resolve_commit(rev)?;
    let tree = ctx.repo.tree_of(commit)?;
    Ok(scanner
        .tree_files(commit, tree, filter)?
        .into_iter()
        .filter_map(|f| f.pointer.map(|p| (f.path, p)))
        .collect())
}

pub(crate) fn run(ctx: &Context, args: &DiffArgs) -> Result<i32> {
    let filter = PathFilter::new(ctx.repo_paths(&args.paths)?);
    let new_rev = args.new.as_deref().unwrap_or("HEAD");
    let mut scanner = Scanner::new(&ctx.repo);
    let mut old = pointers(ctx, &mut scanner, &args.old, &filter)?;
    let new = pointers(ctx, &mut scanner, new_rev, &filter)?;
    let mut changes = Vec::new();
    for (path, p) in new {
        match old.remove(&path) {
            Some(o) if o == p => {}
            o => changes.push(Change { path, old: o, new: Some(p) }),
        }
    }
    changes.extend(old.into_iter().map(|(path, o)| Change { path, old: Some(o), new: None }));
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    if args.json {
        let side = |p: Option<Pointer>| {
            p.map(|p| serde_json::json!({"oid": p.oid.to_hex(), "size": p.size}))
        };
        let list: Vec<_> = changes
            .iter()
            .map(|c| {
                serde_json::json!({
                    "path": c.path.to_string(), "status": c.status(),
                    "old": side(c.old), "new": side(c.new),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(0);
    }
    let show = |p: Option<Pointer>| match p {
        Some(p) => format!("{} ({})", crate::units::human(p.size), p.oid.short(12)),
        None => "-".to_string(),
    };
    for c in &changes {
        let sizes = match (c.old, c.new) {
            (Some(_), Some(_)) => format!("{} -> {}", show(c.old), show(c.new)),
            (None, new) => show(new),
            (old, None) => show(old),
        };
        println!("{:<8}  {}  {sizes}", c.status(), c.path);
    }
    if changes.is_empty() && !ctx.global.quiet {
        eprintln!("git-data: no tracked file differs between {} and {new_rev}", args.old);
    }
    Ok(0)
}
