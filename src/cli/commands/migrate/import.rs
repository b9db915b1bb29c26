//! `git data migrate import`: rewrite history so that the selected files become pointers
//! (blobs moved into the cache, the attribute lines appended to the root `.gitattributes` of
//! every rewritten commit, refs moved with backups), or with `--no-rewrite` make one commit.

use super::{git_with_filter, plural, preflight};
use crate::cli::args::MigrateImportArgs;
use crate::cli::context::Context;
use crate::git::scan::PathFilter;
use crate::git::{Repo, obj_err};
use crate::hint::hinted;
use crate::migrate::blobs::{self, Moved};
use crate::migrate::refs::{self, Move};
use crate::migrate::rewrite::{self, Rewriter, Transform};
use crate::migrate::select::{Selection, Survey};
use crate::units::human;
use anyhow::{Context as _, Result, bail};
use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// Selected paths become pointers; the root `.gitattributes` gets the attribute lines.
pub(super) struct ImportTransform<'r> {
    pub repo: &'r Repo,
    pub paths: HashSet<BString>,
    pub moved: Moved,
    pub lines: Vec<String>,
    attrs: HashMap<Option<ObjectId>, Option<ObjectId>>,
}

impl Transform for ImportTransform<'_> {
    fn blob(&mut self, path: &BStr, id: ObjectId) -> Result<ObjectId> {
        if !self.paths.contains(path) {
            return Ok(id);
        }
        Ok(self.moved.get(&id).map(|(_, pointer_blob)| *pointer_blob).unwrap_or(id))
    }

    fn root_attributes(&mut self, current: Option<ObjectId>) -> Result<Option<ObjectId>> {
        if let Some(done) = self.attrs.get(&current) {
            return Ok(*done);
        }
        let text = match current {
            Some(id) => self.repo.gix.find_blob(id).map_err(|e| obj_err(id, e))?.data.clone(),
            None => Vec::new(),
        };
        let new = append_lines(&text, &self.lines);
        let result = match new {
            Some(bytes) => Some(self.repo.gix.write_blob(bytes)?.detach()),
            None => None,
        };
        self.attrs.insert(current, result);
        Ok(result)
    }
}

/// `text` with the `lines` it does not have yet appended, or `None` if it has them all.
pub(super) fn append_lines(text: &[u8], lines: &[String]) -> Option<Vec<u8>> {
    let existing: HashSet<&[u8]> = text.lines().map(|l| l.trim()).collect();
    let missing: Vec<&String> = lines.iter().filter(|l| !existing.contains(l.as_bytes())).collect();
    if missing.is_empty() {
        return None;
    }
    let mut out = text.to_vec();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    for l in missing {
        out.extend_from_slice(l.as_bytes());
        out.push(b'\n');
    }
    Some(out)
}

pub(crate) fn run(ctx: &Context, args: &MigrateImportArgs) -> Result<i32> {
    if args.no_rewrite {
        return no_rewrite(ctx, args);
    }
    let started = Instant::now();
    let sel = Selection::parse(
        args.select.above.as_deref(),
        &args.select.include,
        &args.select.exclude,
        ctx.work_tree()?,
    )?;
    if !sel.is_set() {
        return Err(hinted(
            "nothing is selected: `migrate import` needs --above SIZE or --include PATTERNS",
            "`git data migrate info` shows what history holds, by extension and size",
        ));
    }
    refs::SyncRecord::resume(&ctx.repo)?;
    preflight(ctx, true)?;
    let scope = refs::resolve(&ctx.repo, args.select.everything, &args.select.refs, true)?;
    let commits = rewrite::list_commits(&scope.tips, &scope.hidden)?;
    let survey = Survey::walk(&ctx.repo, &commits, true)?;
    let surveyed = started.elapsed();
    let (paths, blob_ids) = survey.select(&sel);
    if paths.is_empty() {
        println!("Nothing to move: no file in {} matches.", plural(commits.len(), "commit"));
        if let Some(note) = scope.pushed_note() {
            println!("({note})");
        }
        return Ok(0);
    }
    if let Some((dir, path)) = survey.shadowed(&paths).first() {
        return Err(hinted(
            format!(
                "{dir}/.gitattributes sets a filter in some commits, and would override git-data's line for {path}"
            ),
            format!(
                "move the filter lines of {dir}/.gitattributes into the root .gitattributes first, or leave {dir}/ out with --exclude \"{dir}/**\""
            ),
        ));
    }
    let lines = sel.attribute_lines(&paths);
    let mut sizes: HashMap<ObjectId, u64> = HashMap::new();
    for versions in survey.files.values() {
        for v in versions.iter().filter(|v| blob_ids.contains(&v.blob)) {
            sizes.insert(v.blob, v.size);
        }
    }
    let files = survey
        .files
        .iter()
        .filter(|(p, _)| paths.contains(*p))
        .map(|(_, v)| v.iter().filter(|v| blob_ids.contains(&v.blob)).count())
        .sum::<usize>();
    let moved =
        blobs::move_into_cache(&ctx.repo, &ctx.store, sizes.into_iter().collect(), ctx.progress())?;
    let (objects, bytes) = blobs::totals(&moved);
    let cached = started.elapsed();
    let transform = ImportTransform {
        repo: &ctx.repo,
        paths,
        moved,
        lines: lines.clone(),
        attrs: HashMap::new(),
    };
    let mut rw = Rewriter::new(&ctx.repo, transform);
    rw.rewrite_commits(&commits)?;
    let moves = refs::moves(&mut rw)?;
    let head = finish_refs(ctx, &mut rw, &scope, &moves)?;
    let elapsed = started.elapsed();
    if !ctx.global.quiet {
        println!(
            "Moved {} ({}, {}) into git-data in {:.1}s (survey {:.1}s, cache {:.1}s, rewrite {:.1}s).",
            plural(files, "file version"),
            plural(objects, "distinct object"),
            human(bytes),
            elapsed.as_secs_f64(),
            surveyed.as_secs_f64(),
            (cached - surveyed).as_secs_f64(),
            (elapsed - cached).as_secs_f64(),
        );
        print_rewrite_summary(&rw.counts, &moves, &head.backup, commits.len());
        if let Some(note) = scope.pushed_note() {
            println!("Note: {note}.");
        }
        println!("Appended to .gitattributes in every rewritten commit:");
        for l in lines.iter().take(20) {
            println!("    {l}");
        }
        if lines.len() > 20 {
            println!("    ... and {} more", lines.len() - 20);
        }
        print_next_steps(&moves, &head.backup);
    }
    if !head.unclean.is_empty() {
        eprintln!(
            "git-data: warning: `git status` is not clean after the migration:\n  {}",
            head.unclean.join("\n  ")
        );
        return Ok(1);
    }
    Ok(0)
}

/// What happened to refs and the work tree.
pub(super) struct Finished {
    pub backup: String,
    pub unclean: Vec<String>,
}

/// Moves the refs (with a detached HEAD if it was rewritten) and syncs the work tree.
pub(super) fn finish_refs<T: Transform>(
    ctx: &Context,
    rw: &mut Rewriter<'_, T>,
    scope: &refs::Scope,
    moves: &[Move],
) -> Result<Finished> {
    let old_head = ctx.repo.resolve_commit("HEAD").ok();
    let detached = match scope.detached_head {
        Some(h) => Some((h, rw.target(h)?)).filter(|(a, b)| a != b),
        None => None,
    };
    if moves.is_empty() && detached.is_none() {
        return Ok(Finished { backup: String::new(), unclean: Vec::new() });
    }
    // where HEAD will be once the refs move: recorded first, so that a rerun after a kill
    // between moving the refs and updating the work tree can finish the update
    let head_ref = ctx.repo.gix.head_name().ok().flatten().map(|n| n.as_bstr().to_string());
    let expected = match detached {
        Some((_, new)) => Some(new),
        None => moves.iter().find(|m| Some(&m.name) == head_ref.as_ref()).map(|m| m.new),
    };
    let record =
        (old_head.zip(expected)).map(|(old, new)| refs::SyncRecord::write(&ctx.repo, old, new));
    let backup = refs::apply(moves, detached)?;
    let new_head = ctx.repo.resolve_commit("HEAD").ok();
    let unclean = match (old_head, new_head) {
        (Some(old), Some(new)) if old != new => refs::sync_worktree(&ctx.repo, old, new)?,
        _ => Vec::new(),
    };
    if let Some(Ok(record)) = record {
        record.remove();
    }
    Ok(Finished { backup, unclean })
}

pub(super) fn print_rewrite_summary(
    counts: &rewrite::Counts,
    moves: &[Move],
    backup: &str,
    commits: usize,
) {
    println!("  commits rewritten: {} of {commits}", counts.commits);
    let names: Vec<&str> = moves.iter().map(|m| short(&m.name)).collect();
    println!("  refs rewritten:    {} ({})", moves.len(), names.join(", "));
    if counts.signatures_dropped > 0 {
        println!(
            "  signatures dropped: {} (rewritten commits and tags cannot keep them)",
            counts.signatures_dropped
        );
    }
    if !backup.is_empty() {
        println!("  old refs kept in:  {backup}/");
    }
}

fn short(name: &str) -> &str {
    name.strip_prefix("refs/heads/").or_else(|| name.strip_prefix("refs/tags/")).unwrap_or(name)
}

pub(super) fn print_next_steps(moves: &[Move], backup: &str) {
    if moves.is_empty() {
        return;
    }
    let branches: Vec<&str> = moves
        .iter()
        .filter(|m| m.name.starts_with("refs/heads/"))
        .map(|m| short(&m.name))
        .collect();
    let tags: Vec<&str> =
        moves.iter().filter(|m| m.name.starts_with("refs/tags/")).map(|m| short(&m.name)).collect();
    println!("Next steps:");
    println!("  git data remote add NAME DIR-or-s3://…    (unless a data remote is set up)");
    let mut refspecs = branches.join(" ");
    for t in &tags {
        refspecs.push_str(&format!(" +refs/tags/{t}"));
    }
    println!("  git push --force-with-lease origin {}", refspecs.trim());
    println!(
        "      (the pre-push hook uploads the data; others then re-clone or `git reset --hard origin/BRANCH`)"
    );
    println!(
        "  undo:   git for-each-ref --format='update refs/%(refname:lstrip=4) %(objectname)' {backup}/heads/ {backup}/tags/ | git update-ref --stdin && git reset --hard"
    );
    println!(
        "  when satisfied, drop the backup: git for-each-ref --format='delete %(refname)' {backup}/ | git update-ref --stdin"
    );
}

/// `--no-rewrite PATHS…`: one commit that turns the committed files at PATHS into pointers.
fn no_rewrite(ctx: &Context, args: &MigrateImportArgs) -> Result<i32> {
    let s = &args.select;
    if s.above.is_some() || !s.include.is_empty() || !s.exclude.is_empty() || s.everything {
        bail!(
            "--no-rewrite takes paths (files or directories), not --above, --include, --exclude or --everything"
        );
    }
    if s.refs.is_empty() {
        return Err(hinted(
            "--no-rewrite needs the paths to move",
            "git data migrate import --no-rewrite models/model.pkl data/",
        ));
    }
    preflight(ctx, true)?;
    let wanted = ctx.repo_paths(&s.refs)?;
    let (entries, _) =
        crate::git::worktree::index_entries(&ctx.repo, &PathFilter::new(wanted.clone()))?;
    let mut lines = Vec::new();
    for (raw, path) in s.refs.iter().zip(&wanted) {
        let one = PathFilter::new([path.clone()]);
        let hits: Vec<_> = entries.iter().filter(|e| one.matches(&e.path)).collect();
        if hits.is_empty() || path.is_empty() {
            return Err(hinted(
                format!("{raw} is not a committed file or a directory of committed files"),
                "name files that `git ls-files` lists (commit new files with `git add` first, or just `git data track` them)",
            ));
        }
        let exact = hits.len() == 1 && hits[0].path == *path;
        let pattern = crate::git::attributes::rooted(path.as_bstr());
        lines.push(format!(
            "{}{} {}",
            pattern,
            if exact { "" } else { "/**" },
            crate::git::attributes::ATTRS
        ));
    }
    let to_move: Vec<BString> = entries
        .iter()
        .filter(|e| !matches!(ctx.repo.read_pointer(e.id), Ok(Some(_))))
        .map(|e| e.path.clone())
        .collect();
    if to_move.is_empty() {
        println!("Nothing to move: those files are already pointers.");
        return Ok(0);
    }
    let attrs_path = ctx.work_tree()?.join(".gitattributes");
    let text = std::fs::read(&attrs_path).unwrap_or_default();
    if let Some(new) = super::import::append_lines(&text, &lines) {
        std::fs::write(&attrs_path, new).context("cannot write .gitattributes")?;
    }
    let run = |args: &[&str]| -> Result<()> {
        let out = git_with_filter(ctx)?.args(args).output()?;
        if !out.status.success() {
            bail!("git {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(())
    };
    run(&["add", "--", ".gitattributes"])?;
    let mut add = vec!["add", "--renormalize", "--"];
    let rels: Vec<String> = wanted.iter().map(|p| format!(":(top,literal){p}")).collect();
    add.extend(rels.iter().map(String::as_str));
    run(&add)?;
    let (after, _) =
        crate::git::worktree::index_entries(&ctx.repo, &PathFilter::new(to_move.clone()))?;
    if let Some(e) = after.iter().find(|e| !matches!(ctx.repo.read_pointer(e.id), Ok(Some(_)))) {
        let _ = run(&["reset", "-q", "--", ".gitattributes"]);
        bail!(
            "{} did not become a pointer when re-added; is the git-data filter working (`git data env`)?",
            e.path
        );
    }
    let mut message = format!("Move {} into git-data\n\n", plural(to_move.len(), "file"));
    for p in &to_move {
        message.push_str(&format!("    {p}\n"));
    }
    run(&["commit", "-q", "-m", &message])?;
    if !ctx.global.quiet {
        println!("Committed {} as pointers (history is unchanged):", plural(to_move.len(), "file"));
        for p in to_move.iter().take(20) {
            println!("    {p}");
        }
        println!(
            "Next: `git push` (the pre-push hook uploads the data). Older commits still hold the files in git."
        );
    }
    Ok(0)
}
