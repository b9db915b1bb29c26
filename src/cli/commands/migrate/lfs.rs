//! `git data migrate lfs`: switch a git-lfs repository (or one more clone of it) to git-data.
//!
//! The pointer format is the same, so pointer blobs never change. Steps, in an order where a
//! failure leaves the repository as it was: import git-lfs's local objects into the cache
//! (verified, hard-linked when possible) and refuse if history needs objects that are not
//! here (unless `--allow-missing`); make git-data serve the `lfs` filter name in this clone,
//! so commits that still say `filter=lfs` check out through git-data; replace git-lfs's
//! hooks with ours; then rewrite the `filter=lfs` attribute lines, in one new commit or (with
//! `--history`) in every commit. Running it again is harmless: each step skips what is done.

use super::{git_with_filter, plural, preflight};
use crate::cli::args::MigrateLfsArgs;
use crate::cli::context::Context;
use crate::git::{Repo, git_command, obj_err, run_git};
use crate::hint::hinted;
use crate::migrate::lfs_objects::{self, Taken};
use crate::migrate::refs;
use crate::migrate::rewrite::{self, Rewriter, Transform};
use crate::migrate::select::Survey;
use crate::pointer::Pointer;
use crate::units::human;
use anyhow::{Context as _, Result, bail};
use gix::ObjectId;
use gix::bstr::{BStr, ByteSlice};
use std::collections::HashMap;

/// The `.gitattributes` text with git-lfs's attributes replaced by git-data's, or `None`
/// when it has none. Only whole `filter=lfs`, `diff=lfs`, `merge=lfs` words change.
pub(super) fn lfs_to_data(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() + 16);
    let mut changed = false;
    for line in text.lines_with_terminator() {
        if line.trim_start().starts_with(b"#") {
            out.extend_from_slice(line);
            continue;
        }
        let mut rest = line;
        while !rest.is_empty() {
            let start = rest.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(rest.len());
            out.extend_from_slice(&rest[..start]);
            rest = &rest[start..];
            let end = rest.iter().position(|b| b.is_ascii_whitespace()).unwrap_or(rest.len());
            let word = &rest[..end];
            match word {
                b"filter=lfs" | b"diff=lfs" | b"merge=lfs" => {
                    out.extend_from_slice(&word[..word.len() - 3]);
                    out.extend_from_slice(b"data");
                    changed = true;
                }
                _ => out.extend_from_slice(word),
            }
            rest = &rest[end..];
        }
    }
    changed.then_some(out)
}

/// Rewrites every `.gitattributes` of history with [`lfs_to_data`].
struct LfsTransform<'r> {
    repo: &'r Repo,
    memo: HashMap<ObjectId, ObjectId>,
}

impl LfsTransform<'_> {
    fn convert(&mut self, id: ObjectId) -> Result<ObjectId> {
        if let Some(new) = self.memo.get(&id) {
            return Ok(*new);
        }
        let blob = self.repo.gix.find_blob(id).map_err(|e| obj_err(id, e))?;
        let new = match lfs_to_data(&blob.data) {
            Some(text) => {
                drop(blob);
                self.repo.gix.write_blob(text)?.detach()
            }
            None => id,
        };
        self.memo.insert(id, new);
        Ok(new)
    }
}

impl Transform for LfsTransform<'_> {
    fn blob(&mut self, path: &BStr, id: ObjectId) -> Result<ObjectId> {
        if path.rsplit_str("/").next() == Some(b".gitattributes") {
            return self.convert(id);
        }
        Ok(id)
    }

    fn root_attributes(&mut self, current: Option<ObjectId>) -> Result<Option<ObjectId>> {
        let Some(id) = current else { return Ok(None) };
        let new = self.convert(id)?;
        Ok((new != id).then_some(new))
    }
}

pub(crate) fn run(ctx: &Context, args: &MigrateLfsArgs) -> Result<i32> {
    if args.everything && !args.history {
        bail!("--everything only applies with --history (which refs to rewrite)");
    }
    ctx.work_tree()?;
    let installed = ctx.repo.config_string("filter.data.process").is_some_and(|v| !v.is_empty());
    set_filter_config(ctx, "data", !installed)?;
    crate::migrate::refs::SyncRecord::resume(&ctx.repo)?;
    preflight(ctx, false)?;
    // every commit: old pointers anywhere in history need their objects
    let scope = refs::resolve(&ctx.repo, args.everything, &[], false)?;
    let commits = rewrite::list_commits(&scope.tips, &scope.hidden)?;
    let survey = Survey::walk(&ctx.repo, &commits, true)?;
    let mut needed: HashMap<Pointer, String> = HashMap::new();
    for (path, versions) in &survey.files {
        for v in versions.iter().filter(|v| v.pointer) {
            if let Some(p) = ctx.repo.read_pointer(v.blob)? {
                needed.entry(p).or_insert_with(|| path.to_string());
            }
        }
    }
    // 1. objects
    let lfs_dir = lfs_objects::lfs_objects_dir(&ctx.repo);
    let mut taken: HashMap<Taken, (usize, u64)> = HashMap::new();
    let mut corrupt = Vec::new();
    for (oid, path) in lfs_objects::list(&lfs_dir) {
        match lfs_objects::take(&ctx.store, &oid, &path) {
            Ok(how) => {
                let e = taken.entry(how).or_default();
                e.0 += 1;
                e.1 += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            }
            Err(why) => corrupt.push(format!("{} ({oid}): {why}", path.display())),
        }
    }
    let mut missing: Vec<(&Pointer, &String)> =
        needed.iter().filter(|(p, _)| !ctx.store.contains(&p.oid, p.size)).collect();
    missing.sort_by(|a, b| a.1.cmp(b.1));
    if !missing.is_empty()
        && !ctx.config.file.remotes.is_empty()
        && let Ok(remote) = ctx.remote(None)
    {
        // objects already on the data remote (a clone of a switched repository) are not lost
        let wanted: Vec<_> = missing.iter().map(|(p, _)| (p.oid, p.size)).collect();
        let lacking = ctx.transfer()?.missing(&remote, &wanted)?;
        missing.retain(|(p, _)| lacking.iter().any(|(oid, _)| *oid == p.oid));
    }
    for c in &corrupt {
        eprintln!("git-data: warning: not imported, corrupt git-lfs object {c}");
    }
    if !missing.is_empty() && !args.allow_missing {
        let listed: Vec<String> = missing
            .iter()
            .take(10)
            .map(|(p, path)| format!("{path} ({}, {})", p.oid.short(12), human(p.size)))
            .collect();
        return Err(hinted(
            format!(
                "{} that history needs {} neither in .git/lfs/objects nor on a data remote (nothing was changed besides importing {} into the cache):\n  {}",
                plural(missing.len(), "object"),
                if missing.len() == 1 { "is" } else { "are" },
                plural(taken.values().map(|v| v.0).sum(), "object"),
                listed.join("\n  ")
            ),
            "run `git lfs fetch --all` to download them, then run this again; or pass --allow-missing to switch anyway (those files stay pointers until their objects reach a data remote)",
        ));
    }
    // 2. the lfs filter name served by git-data in this clone, 3. hooks
    set_filter_config(ctx, "lfs", true)?;
    let hooks_dir = ctx.repo.hooks_dir();
    let (removed, mixed) = lfs_objects::remove_lfs_hooks(&hooks_dir);
    let hook_actions = crate::git::hooks::install(&hooks_dir, true)?;
    // 4. attributes
    let switched =
        if args.history { switch_history(ctx, &scope, &commits)? } else { switch_head(ctx)? };
    if !ctx.global.quiet {
        let count = |t: Taken| taken.get(&t).copied().unwrap_or_default();
        let (linked, copied, already) =
            (count(Taken::Linked), count(Taken::Copied), count(Taken::Already));
        println!(
            "git-lfs objects: {} hard-linked, {} copied ({}), {} already in the cache; {} referenced by history{}",
            linked.0,
            copied.0,
            human(linked.1 + copied.1),
            already.0,
            needed.len(),
            if missing.is_empty() { String::new() } else { format!(", {} missing", missing.len()) }
        );
        println!(
            "git config: git-data now serves the `lfs` filter in this clone (filter.lfs.*, merge.lfs.*)"
        );
        for h in &removed {
            println!("hooks: removed git-lfs's {h} hook");
        }
        for a in &hook_actions {
            println!("hooks: {a}");
        }
        println!("{switched}");
        println!("Next steps:");
        println!("  git data remote add NAME DIR-or-s3://…   (unless a data remote is set up)");
        println!(
            "  git data push --all                       (uploads the data of every branch and tag)"
        );
        println!(
            "  git push{}",
            if args.history { " --force-with-lease origin BRANCH…" } else { "" }
        );
        println!("  other clones: pull, then run `git data migrate lfs` once there too");
    }
    let code = materialize_pointers(ctx)?;
    for h in &mixed {
        eprintln!(
            "git-data: warning: hook {h} calls git-lfs among other commands; remove its `git lfs` line"
        );
    }
    Ok(code)
}

/// Writes the data of work-tree files that still hold pointer text (a clone made without
/// git-lfs or git-data), downloading from the data remote when one is configured.
fn materialize_pointers(ctx: &Context) -> Result<i32> {
    use crate::materialize::{self, Candidate, Fetch};
    let all = crate::git::scan::PathFilter::default();
    let candidates: Vec<Candidate> = crate::git::worktree::pointer_files(&ctx.repo, &all)?
        .into_iter()
        .map(|(path, pointer)| Candidate { path, pointer })
        .collect();
    if candidates.is_empty() {
        return Ok(0);
    }
    let fetch = if ctx.config.file.remotes.is_empty() { Fetch::Never } else { Fetch::From(None) };
    let outcome = materialize::materialize(&ctx.local(), candidates, fetch)?;
    if !outcome.index_locked {
        materialize::repair_index(&ctx.local(), &all)?;
    }
    if !ctx.global.quiet && outcome.written > 0 {
        println!("work tree: wrote {} that held pointer text", plural(outcome.written, "file"));
    }
    Ok(crate::cli::ui::report_outcome(ctx, &outcome, "git data pull"))
}

/// Writes git-data's filter and merge driver into this clone's config under the name `name`
/// (`data` for git-data itself, `lfs` to serve git-lfs's name), when `write`.
fn set_filter_config(ctx: &Context, name: &str, write: bool) -> Result<()> {
    if write {
        crate::git::hooks::write_filter_config(ctx.work_tree()?, name)?;
    }
    Ok(())
}

/// `.gitattributes` files of the index that mention git-lfs, rewritten and committed.
fn switch_head(ctx: &Context) -> Result<String> {
    let listed = run_git(git_command().args(["ls-files", "-z", "--", ":(glob)**/.gitattributes"]))?;
    let root = ctx.work_tree()?;
    let mut changed = Vec::new();
    for path in listed.split('\0').filter(|p| !p.is_empty()) {
        let text = std::fs::read(root.join(path)).unwrap_or_default();
        if let Some(new) = lfs_to_data(&text) {
            std::fs::write(root.join(path), new).with_context(|| format!("cannot write {path}"))?;
            changed.push(path.to_string());
        }
    }
    if changed.is_empty() {
        return Ok(
            "attributes: no `filter=lfs` line left in .gitattributes; nothing to commit".into()
        );
    }
    let mut add = git_with_filter(ctx)?;
    add.args(["add", "--"]).args(&changed);
    let mut commit = git_with_filter(ctx)?;
    commit.args(["commit", "-q", "-m", "Switch from git-lfs to git-data\n\nThe pointer files are unchanged (same format); only the attributes change."]);
    commit.arg("--").args(&changed);
    for cmd in [&mut add, &mut commit] {
        let out = cmd.output()?;
        if !out.status.success() {
            bail!("{:?} failed: {}", cmd, String::from_utf8_lossy(&out.stderr).trim());
        }
    }
    Ok(format!("attributes: {} switched to filter=data in one new commit", changed.join(", ")))
}

/// Every `.gitattributes` in the history of the scope rewritten; refs moved with backups.
fn switch_history(ctx: &Context, scope: &refs::Scope, commits: &[ObjectId]) -> Result<String> {
    let mut rw = Rewriter::new(&ctx.repo, LfsTransform { repo: &ctx.repo, memo: HashMap::new() });
    rw.rewrite_commits(commits)?;
    let moves = refs::moves(&mut rw)?;
    let finished = super::import::finish_refs(ctx, &mut rw, scope, &moves)?;
    super::import::print_rewrite_summary(&rw.counts, &moves, &finished.backup, commits.len());
    if !finished.unclean.is_empty() {
        bail!("`git status` is not clean after the rewrite:\n  {}", finished.unclean.join("\n  "));
    }
    Ok(format!(
        "attributes: filter=lfs switched to filter=data in {} ({})",
        plural(rw.counts.commits, "rewritten commit"),
        plural(rw.transform.memo.values().len(), ".gitattributes version")
    ))
}

#[cfg(test)]
mod tests {
    use super::lfs_to_data;

    #[test]
    fn rewrites_only_lfs_words() {
        let text = b"# filter=lfs in a comment\n*.bin filter=lfs diff=lfs merge=lfs -text\n*.txt\ttext  eol=lf\nmodels/**\tfilter=lfs  diff=lfs merge=lfs -text lockable\n";
        let out = lfs_to_data(text).unwrap();
        assert_eq!(
            out.to_str_lossy(),
            "# filter=lfs in a comment\n*.bin filter=data diff=data merge=data -text\n*.txt\ttext  eol=lf\nmodels/**\tfilter=data  diff=data merge=data -text lockable\n"
        );
        assert_eq!(lfs_to_data(b"*.bin filter=lfsx\n"), None);
    }

    use gix::bstr::ByteSlice;
}
