//! `git data ls-files [REV]`: the tracked files of a revision, with object id and size.
//! For the checked-out revision `*` marks a file whose data is in the work tree and `-` one
//! that is only a pointer there; for any other revision `*` marks a file whose data is in the
//! cache (its checkout needs no download) and `-` one that only a remote holds.

use crate::cli::args::LsFilesArgs;
use crate::cli::context::Context;
use crate::git::scan::{PathFilter, Scanner};
use crate::git::worktree;
use anyhow::Result;

pub(crate) fn run(ctx: &Context, args: &LsFilesArgs) -> Result<i32> {
    let rev = args.rev.as_deref().unwrap_or("HEAD");
    let commit = match ctx.repo.resolve_commit(rev) {
        Ok(c) => c,
        Err(_) if args.rev.is_none() => return Ok(0), // no commit yet
        Err(e) => return Err(e.into()),
    };
    let tree = ctx.repo.tree_of(commit)?;
    let files = Scanner::new(&ctx.repo).tree_files(commit, tree, &PathFilter::default())?;
    let head = ctx.repo.resolve_commit("HEAD").ok();
    // the work tree shows the checked-out revision only
    let root = ctx.repo.work_tree.clone().filter(|_| head == Some(commit));
    let mut json = Vec::new();
    for f in files {
        let Some(p) = f.pointer else { continue };
        let in_cache = ctx.store.contains(&p.oid, p.size);
        let materialized = root.as_ref().map(|r| {
            let path = r.join(crate::git::rel_path(f.path.as_ref()));
            worktree::read_small(&path).is_none_or(|c| c != p.encode().as_bytes()) && path.exists()
        });
        if args.json {
            json.push(serde_json::json!({
                "path": f.path.to_string(), "oid": p.oid.to_hex(), "size": p.size,
                "in_work_tree": materialized, "in_cache": in_cache,
            }));
        } else {
            let oid = if args.long { p.oid.to_hex() } else { p.oid.short(12) };
            let mark = match materialized.unwrap_or(in_cache) {
                true => "*",
                false => "-",
            };
            println!("{oid} {mark} {:>10} {}", crate::units::human(p.size), f.path);
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    Ok(0)
}
