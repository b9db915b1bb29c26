//! What may be written, checked against the index before a file is touched, and what git
//! must be able to see afterwards.
//!
//! Invariants: git-data writes a work-tree file only where the index holds a stage-0 regular
//! file whose blob is a pointer (so never outside the work tree, whatever path a journal
//! names), and never through a symbolic link or a non-directory among the path's leading
//! components. A written file whose index entry is another blob (`git restore --source`,
//! `stash pop`) never keeps a stat git would take for that entry's: git must look at it.

use super::{Candidate, Written};
use crate::fs::stat::FileStat;
use crate::git::Repo;
use crate::git::worktree::{self, IndexEntry};
use gix::bstr::{BStr, BString, ByteSlice};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The index entries of the candidates' paths, read once.
pub(super) struct IndexView {
    entries: HashMap<BString, IndexEntry>,
    /// Whether the entry's blob is the candidate's own pointer (then the index is patched
    /// with the written file's stat).
    own: HashSet<BString>,
}

impl IndexView {
    /// Reads the index; keeps the candidates whose path git tracks as a data file (a pointer
    /// blob at stage 0), and says why the others are refused where a user should know.
    pub(super) fn admit(
        repo: &Repo,
        root: &Path,
        candidates: Vec<Candidate>,
        refused: &mut Vec<(BString, String)>,
    ) -> Result<(IndexView, Vec<Candidate>), crate::git::GitError> {
        let wanted: HashSet<&BStr> = candidates.iter().map(|c| c.path.as_bstr()).collect();
        let filter = crate::git::scan::PathFilter::new(Vec::new());
        let (all, _) = worktree::index_entries(repo, &filter)?;
        let entries: HashMap<BString, IndexEntry> = all
            .into_iter()
            .filter(|e| wanted.contains(e.path.as_bstr()))
            .map(|e| (e.path.clone(), e))
            .collect();
        let mut view = IndexView { entries, own: HashSet::new() };
        let mut dirs = LeadingDirs::default();
        let mut kept = Vec::with_capacity(candidates.len());
        for c in candidates {
            // not tracked (a path git named for another reason, e.g. `cat-file --filters`)
            let Some(entry) = view.entries.get(&c.path) else { continue };
            let own = repo.blob_id(c.pointer.encode().as_bytes()) == entry.id;
            if !own && repo.read_pointer(entry.id)?.is_none() {
                continue; // tracked, but not as a data file
            }
            if let Err(why) = dirs.check(root, c.path.as_bstr()) {
                refused.push((c.path, why));
                continue;
            }
            if own {
                view.own.insert(c.path.clone());
            }
            kept.push(c);
        }
        Ok((view, kept))
    }

    /// The index entry at `path`, as read before anything was written.
    pub(super) fn entry(&self, path: &BString) -> Option<&IndexEntry> {
        self.entries.get(path)
    }

    /// Whether the entry at `path` is the pointer of the file written there.
    pub(super) fn is_own(&self, path: &BString) -> bool {
        self.own.contains(path)
    }

    /// Makes sure git will look at written files whose index entry is another blob: a file
    /// whose stat happens to equal the one the index recorded for that path (same inode
    /// reused, same size, same second) gets the current time as its mtime.
    pub(super) fn unmask(&self, written: &mut [Written], root: &Path) {
        for w in written.iter_mut().filter(|w| !self.own.contains(&w.path)) {
            let Some(entry) = self.entries.get(&w.path) else { continue };
            if !git_may_match(&entry.stat, &w.stat) {
                continue;
            }
            let path = root.join(crate::git::rel_path(w.path.as_bstr()));
            let touched = std::fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()))
                .and_then(|()| std::fs::symlink_metadata(&path));
            match touched {
                Ok(meta) => w.stat = FileStat::from_metadata(&meta),
                Err(e) => eprintln!(
                    "git-data: warning: {}: cannot update its time ({e}); `git status` may not show it as changed",
                    path.display()
                ),
            }
        }
    }
}

/// Whether git could take `disk` for the stat it recorded in `entry`: the fields it
/// compares, times to the second (git is often built without sub-second times).
fn git_may_match(entry: &FileStat, disk: &FileStat) -> bool {
    let secs = |ns: i64| ns.div_euclid(1_000_000_000) as u32;
    entry.size == disk.size & 0xffff_ffff
        && secs(entry.mtime_ns) == secs(disk.mtime_ns)
        && secs(entry.ctime_ns) == secs(disk.ctime_ns)
        && entry.ino == disk.ino & 0xffff_ffff
}

/// Leading directories already checked, so a tree of many files costs one lstat per
/// directory.
#[derive(Default)]
struct LeadingDirs {
    ok: HashSet<BString>,
}

impl LeadingDirs {
    /// Every leading component of `path` is a real directory in the work tree (or missing:
    /// the write then fails on its own), never a symbolic link or another kind of file.
    fn check(&mut self, root: &Path, path: &BStr) -> Result<(), String> {
        let mut end = 0;
        let slashes: Vec<usize> = path.find_iter("/").collect();
        for slash in slashes {
            let dir = &path[..slash];
            let component = &path[end..slash];
            end = slash + 1;
            if component.is_empty() || component == "." || component == ".." {
                return Err(format!("not written: {path} is not a plain repository path"));
            }
            if self.ok.contains(dir) {
                continue;
            }
            match std::fs::symlink_metadata(root.join(crate::git::rel_path(dir))) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(format!(
                        "not written: {dir} is a symbolic link, and git-data never writes through one (git tracks {path} inside a directory there)"
                    ));
                }
                Ok(m) if !m.is_dir() => {
                    return Err(format!("not written: {dir} is not a directory"));
                }
                _ => {
                    self.ok.insert(dir.to_owned());
                }
            }
        }
        Ok(())
    }
}
