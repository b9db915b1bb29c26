//! `git data lineage [--json] [PATHS]`: the HEAD commit, whether tracked files changed, the
//! git-data files with their ids and sizes, and the lock's stages with their deps, outs and
//! run keys ([`crate::pipeline::metrics::lineage`]), for an experiment tracker to record.
//!
//! Invariant: reads only; the table and the JSON hold the same facts.

use crate::cli::args::LineageArgs;
use crate::cli::context::Context;
use crate::git::scan::PathFilter;
use crate::pipeline::metrics::lineage::lineage;
use anyhow::{Result, anyhow};

pub(crate) fn run(ctx: &Context, args: &LineageArgs) -> Result<i32> {
    let root = ctx.work_tree()?.canonicalize()?;
    let cwd = std::env::current_dir()?.canonicalize()?;
    let dir = cwd.strip_prefix(&root).map(|r| r.to_string_lossy().into_owned()).unwrap_or_default();
    let filter = PathFilter::new(ctx.repo_paths(&args.paths)?);
    let l = lineage(&ctx.repo, &root, &dir, &filter).map_err(|e| anyhow!("{e}"))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&l)?);
        return Ok(0);
    }
    let commit = l.commit.as_deref().unwrap_or("(no commit yet)");
    println!("commit {commit}{}", if l.dirty { " (tracked files changed)" } else { "" });
    for f in &l.files {
        println!("{}  {:>12}  {}", f.oid, f.size, f.path);
    }
    for s in &l.stages {
        let key = s.run_key.as_deref().map(|k| format!(" (run key {k})")).unwrap_or_default();
        println!("stage {}{key}", s.name);
        for d in &s.deps {
            println!("  dep {}  {}", d.sha256, d.path);
        }
        for o in &s.outs {
            println!("  out {}  {}", o.sha256, o.path);
        }
    }
    Ok(0)
}
