//! Which refs a migration rewrites, moving them in one transaction with backups, and bringing
//! the index and work tree in line with the new HEAD.
//!
//! Invariants: refs move all together or not at all (`git update-ref --stdin`, each update
//! checked against the value the rewrite started from), and every moved ref keeps its old
//! value under `refs/git-data/backup/<UTC time>/…` in that same transaction. Work-tree files
//! are not rewritten: only changed `.gitattributes` files are written, and the index is
//! refreshed through the filter so that `git status` is clean.

use super::rewrite::{Rewriter, Transform};
use crate::git::{Repo, git_command, git_with_filter, run_git};
use crate::hint::hinted;
use anyhow::{Context as _, Result, bail};
use gix::ObjectId;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;

/// The refs to rewrite and the commits they lead to.
pub(crate) struct Scope {
    /// Full ref name → current value (a commit or a tag object).
    pub refs: BTreeMap<String, ObjectId>,
    /// The commits the refs peel to.
    pub tips: Vec<ObjectId>,
    /// Commits whose history is left alone: `^REF` arguments and, unless `--everything`,
    /// every remote-tracking ref (what is already pushed is not rewritten).
    pub hidden: Vec<ObjectId>,
    /// Whether `hidden` holds remote-tracking refs (for the summary's note).
    pub skips_pushed: bool,
    /// HEAD's commit when HEAD is detached.
    pub detached_head: Option<ObjectId>,
}

/// Every local branch and tag: full name → value.
pub(crate) fn local_refs() -> Result<BTreeMap<String, ObjectId>> {
    let out = run_git(git_command().args([
        "for-each-ref",
        "--format=%(objectname) %(refname)",
        "refs/heads",
        "refs/tags",
    ]))?;
    let mut refs = BTreeMap::new();
    for line in out.lines() {
        if let Some((id, name)) = line.split_once(' ') {
            refs.insert(name.to_string(), ObjectId::from_hex(id.as_bytes())?);
        }
    }
    Ok(refs)
}

fn peel(repo: &Repo, id: ObjectId) -> Option<ObjectId> {
    repo.gix.find_object(id).ok()?.peel_to_commit().ok().map(|c| c.id)
}

/// The current branch (default), every local branch and tag (`everything`), or `names`
/// (`^REF` among them leaves REF's history alone). Unless `everything`, with `skip_pushed`,
/// commits on remote-tracking refs are left alone too, as git-lfs users expect.
pub(crate) fn resolve(
    repo: &Repo,
    everything: bool,
    names: &[String],
    skip_pushed: bool,
) -> Result<Scope> {
    let all = local_refs()?;
    let mut refs = BTreeMap::new();
    let mut hidden = Vec::new();
    let (excluded, names): (Vec<&String>, Vec<&String>) =
        names.iter().partition(|n| n.starts_with('^'));
    for name in excluded {
        let rev = &name[1..];
        match repo.resolve_commit(rev) {
            Ok(id) => hidden.push(id),
            Err(_) => {
                return Err(hinted(
                    format!("{rev:?} (from {name:?}) is not a commit, branch or tag"),
                    "`^REF` leaves REF's history alone: name a branch, tag or remote-tracking ref such as origin/main",
                ));
            }
        }
    }
    let skips_pushed = skip_pushed && !everything;
    if skips_pushed {
        hidden.extend(repo.refs_with_prefix("refs/remotes/"));
    }
    let head = run_git(git_command().args(["symbolic-ref", "-q", "HEAD"])).ok();
    let head = head.map(|h| h.trim().to_string()).filter(|h| !h.is_empty());
    if everything {
        refs = all.clone();
    } else if names.is_empty() {
        let Some(branch) = head.as_ref() else {
            return Err(hinted(
                "HEAD is detached, so there is no current branch to rewrite",
                "name the branches and tags to rewrite, or pass --everything",
            ));
        };
        let Some(id) = all.get(branch) else {
            bail!("the current branch {branch} has no commits yet: there is nothing to rewrite");
        };
        refs.insert(branch.clone(), *id);
    } else {
        for name in names {
            let full = run_git(git_command().args(["rev-parse", "--symbolic-full-name", name]))
                .unwrap_or_default();
            let full = full.trim();
            match all.get(full) {
                Some(id) => {
                    refs.insert(full.to_string(), *id);
                }
                None => {
                    return Err(hinted(
                        format!("{name:?} is not a local branch or tag"),
                        "name local branches or tags (`git branch`, `git tag` list them), or pass --everything",
                    ));
                }
            }
        }
    }
    let detached_head = match head {
        Some(_) => None,
        None => repo.resolve_commit("HEAD").ok(),
    };
    let mut tips: Vec<ObjectId> = refs.values().filter_map(|id| peel(repo, *id)).collect();
    tips.sort();
    tips.dedup();
    hidden.sort();
    hidden.dedup();
    Ok(Scope { refs, tips, hidden, skips_pushed, detached_head })
}

impl Scope {
    /// A note for summaries when commits already on a remote were left out of the scope.
    pub(crate) fn pushed_note(&self) -> Option<&'static str> {
        (self.skips_pushed && !self.hidden.is_empty()).then_some(
            "commits already on a remote (refs/remotes/) are left alone; --everything includes them",
        )
    }
}

/// One ref that moves.
pub(crate) struct Move {
    pub name: String,
    pub old: ObjectId,
    pub new: ObjectId,
}

/// The refs that move: every local branch or tag that points into the rewritten history
/// (the scope's refs, and others whose commits were rewritten with it: left behind, they
/// would keep the old blobs alive and pushable).
pub(crate) fn moves<T: Transform>(rw: &mut Rewriter<'_, T>) -> Result<Vec<Move>> {
    let mut out = Vec::new();
    for (name, old) in local_refs()? {
        let new = rw.target(old)?;
        if new != old {
            out.push(Move { name, old, new });
        }
    }
    Ok(out)
}

/// A UTC timestamp `YYYYMMDDTHHMMSSZ` for backup names.
pub(crate) fn utc_stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // days since 1970-01-01 to a proleptic Gregorian date (eras of 400 years)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Moves `moves` (and a detached HEAD) in one transaction, keeping backups; returns the
/// backup prefix.
pub(crate) fn apply(moves: &[Move], head: Option<(ObjectId, ObjectId)>) -> Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut prefix = format!("refs/git-data/backup/{}", utc_stamp(now));
    let taken = |p: &str| {
        run_git(git_command().args(["for-each-ref", "--count=1", &format!("{p}/")]))
            .map(|o| !o.trim().is_empty())
            .unwrap_or(false)
    };
    let mut n = 2;
    while taken(&prefix) {
        prefix = format!("refs/git-data/backup/{}-{n}", utc_stamp(now));
        n += 1;
    }
    let mut script = String::new();
    for m in moves {
        let short = m.name.strip_prefix("refs/").unwrap_or(&m.name);
        script.push_str(&format!("create {prefix}/{short} {}\n", m.old));
        script.push_str(&format!("update {} {} {}\n", m.name, m.new, m.old));
    }
    if let Some((old, new)) = head {
        script.push_str(&format!("create {prefix}/HEAD {old}\n"));
        script.push_str(&format!("option no-deref\nupdate HEAD {new} {old}\n"));
    }
    let mut child = git_command()
        .args(["update-ref", "--stdin", "-m", "git data migrate"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run `git update-ref`")?;
    child.stdin.take().context("no stdin")?.write_all(script.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(hinted(
            format!(
                "no ref was moved: git update-ref refused the update: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "another git command may have moved a branch meanwhile; run the migration again",
        ));
    }
    Ok(prefix)
}

/// After HEAD moved from `old` to `new` (same files, some now pointers): writes changed
/// `.gitattributes` files, reads the new tree into the index keeping stat data where blobs
/// are unchanged, and refreshes the rest through the filter. Returns paths still not clean.
pub(crate) fn sync_worktree(repo: &Repo, old: ObjectId, new: ObjectId) -> Result<Vec<String>> {
    let root = repo.work_tree()?.to_path_buf();
    let changed = run_git(git_command().args([
        "diff-tree",
        "-r",
        "--name-only",
        "--no-renames",
        &old.to_string(),
        &new.to_string(),
    ]))?;
    // first the index (it checks that the work tree still has the old files), then the files
    run_git(git_command().args(["read-tree", "-m", "HEAD"])).context("cannot update the index")?;
    for path in changed.lines().filter(|p| p.rsplit('/').next() == Some(".gitattributes")) {
        let out = git_command()
            .args(["cat-file", "blob", &format!("{new}:{path}")])
            .output()
            .context("cannot run git cat-file")?;
        if !out.status.success() {
            continue;
        }
        std::fs::write(root.join(path), &out.stdout)
            .with_context(|| format!("cannot write {path}"))?;
    }
    // through the real filter: changed entries are cleaned once and get their stat data
    let _ = git_with_filter(&root).args(["update-index", "-q", "--refresh"]).output();
    let status = git_with_filter(&root)
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .context("cannot run git status")?;
    Ok(String::from_utf8_lossy(&status.stdout).lines().map(str::to_string).collect())
}

/// The record of a migration whose refs are about to move: HEAD before and after. Written
/// before the refs move and removed once the work tree is updated, so a migration killed in
/// between is finished by the next one (see [`SyncRecord::resume`]).
pub(crate) struct SyncRecord {
    path: std::path::PathBuf,
}

impl SyncRecord {
    fn path(repo: &Repo) -> std::path::PathBuf {
        repo.worktree_data_dir().join("migrate-sync")
    }

    pub(crate) fn write(repo: &Repo, old: ObjectId, new: ObjectId) -> Result<SyncRecord> {
        let path = Self::path(repo);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, format!("{old} {new}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(SyncRecord { path })
    }

    pub(crate) fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }

    /// Finishes a migration that was killed after it moved the refs and before it updated
    /// the index and work tree (HEAD is where the record says it would be): the update is
    /// done now. A record whose refs never moved, or that HEAD has since left, is dropped.
    pub(crate) fn resume(repo: &Repo) -> Result<()> {
        let path = Self::path(repo);
        let Ok(text) = std::fs::read_to_string(&path) else { return Ok(()) };
        let ids: Vec<ObjectId> =
            text.split_whitespace().filter_map(|h| ObjectId::from_hex(h.as_bytes()).ok()).collect();
        if let ([old, new], Ok(head)) = (ids.as_slice(), repo.resolve_commit("HEAD"))
            && head == *new
        {
            eprintln!(
                "git-data: finishing the update of the work tree that an interrupted migration left"
            );
            let unclean = sync_worktree(repo, *old, *new)?;
            if !unclean.is_empty() {
                eprintln!(
                    "git-data: warning: `git status` is not clean after finishing it:\n  {}",
                    unclean.join("\n  ")
                );
            }
        }
        let _ = std::fs::remove_file(&path);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_stamps() {
        assert_eq!(super::utc_stamp(0), "19700101T000000Z");
        assert_eq!(super::utc_stamp(951_782_400), "20000229T000000Z");
        assert_eq!(super::utc_stamp(1_718_454_896), "20240615T123456Z");
    }
}
