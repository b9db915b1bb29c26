//! Finds the files a command must handle: every blob of a tree (a checkout, `ls-files`), and
//! the blobs that commits introduce (what a push sends, for data upload and size policy).
//!
//! Invariants: a blob is read only when its header says it is small enough to be a pointer,
//! and each blob is classified once per scan. The commit scan descends only into subtrees
//! that differ from the same path in every parent, and visits each tree once: content equal
//! to a parent's is either scanned through that parent or already on the remote.

use crate::git::{GitError, Repo, obj_err};
use crate::pointer::Pointer;
use gix::ObjectId;
use gix::bstr::{BString, ByteSlice, ByteVec};
use std::collections::{HashMap, HashSet};

/// A file found in a tree or a commit.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    pub path: BString,
    pub blob: ObjectId,
    pub size: u64,
    pub pointer: Option<Pointer>,
    /// Set when the blob claims to be a pointer but is malformed.
    pub malformed: Option<String>,
    /// The commit that introduced it (commit scans), or the commit listed (tree scans).
    pub commit: ObjectId,
}

/// Which paths to keep: everything, or files at or below the given repository paths.
#[derive(Clone, Debug, Default)]
pub(crate) struct PathFilter {
    prefixes: Vec<BString>,
}

impl PathFilter {
    pub(crate) fn new(paths: impl IntoIterator<Item = BString>) -> Self {
        let prefixes = paths
            .into_iter()
            .map(|p| BString::from(p.trim_end_with(|c| c == '/')))
            .collect::<Vec<_>>();
        let everything = prefixes.iter().any(|p| p.is_empty() || p.as_slice() == b".");
        PathFilter { prefixes: if everything { Vec::new() } else { prefixes } }
    }

    pub(crate) fn is_all(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// Whether the file at `path` is selected.
    pub(crate) fn matches(&self, path: &[u8]) -> bool {
        self.is_all()
            || self.prefixes.iter().any(|p| {
                path == p.as_slice() || (path.starts_with(p) && path.get(p.len()) == Some(&b'/'))
            })
    }

    /// Whether anything below the directory `dir` can be selected.
    pub(crate) fn may_contain(&self, dir: &[u8]) -> bool {
        self.is_all()
            || self.prefixes.iter().any(|p| {
                self.matches_dir(p, dir) || (p.starts_with(dir) && p.get(dir.len()) == Some(&b'/'))
            })
    }

    fn matches_dir(&self, p: &[u8], dir: &[u8]) -> bool {
        dir == p || (dir.starts_with(p) && dir.get(p.len()) == Some(&b'/'))
    }
}

/// What a blob is: its size, its pointer, or why it is a malformed pointer.
type Class = (u64, Option<Pointer>, Option<String>);

type Entries = Vec<(BString, gix::objs::tree::EntryMode, ObjectId)>;

/// A scan over one repository, memoizing blob classifications.
pub(crate) struct Scanner<'r> {
    repo: &'r Repo,
    blobs: HashMap<ObjectId, Class>,
    visited: HashSet<ObjectId>,
}

impl<'r> Scanner<'r> {
    pub(crate) fn new(repo: &'r Repo) -> Self {
        Scanner { repo, blobs: HashMap::new(), visited: HashSet::new() }
    }

    fn classify(&mut self, id: ObjectId) -> Result<Class, GitError> {
        if let Some(v) = self.blobs.get(&id) {
            return Ok(v.clone());
        }
        let size = self.repo.blob_size(id)?;
        let class = match self.repo.check_pointer(id)? {
            Ok(pointer) => (size, pointer, None),
            Err(e) => (size, None, Some(e.to_string())),
        };
        self.blobs.insert(id, class.clone());
        Ok(class)
    }

    fn peel(&self, id: ObjectId) -> Option<ObjectId> {
        let object = self.repo.gix.try_find_object(id).ok()??;
        object.peel_to_commit().ok().map(|c| c.id)
    }

    fn entries(&self, tree: ObjectId) -> Result<Entries, GitError> {
        let t = self.repo.gix.find_tree(tree).map_err(|e| obj_err(tree, e))?;
        let mut out = Vec::new();
        for e in t.iter() {
            let e = e.map_err(|e| obj_err(tree, e))?;
            out.push((e.filename().to_owned(), e.mode(), e.object_id()));
        }
        Ok(out)
    }

    /// Every regular file of `tree` selected by `filter`.
    pub(crate) fn tree_files(
        &mut self,
        commit: ObjectId,
        tree: ObjectId,
        filter: &PathFilter,
    ) -> Result<Vec<Found>, GitError> {
        let mut out = Vec::new();
        let mut stack = vec![(tree, BString::default())];
        while let Some((tree, prefix)) = stack.pop() {
            for (name, mode, id) in self.entries(tree)? {
                let mut path = prefix.clone();
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.push_str(&name);
                if mode.is_tree() {
                    if filter.may_contain(&path) {
                        stack.push((id, path));
                    }
                } else if mode.is_blob() && filter.matches(&path) {
                    let (size, pointer, malformed) = self.classify(id)?;
                    out.push(Found { path, blob: id, size, pointer, malformed, commit });
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// The files that commits reachable from `tips` but not from `hidden` introduce.
    pub(crate) fn introduced(
        &mut self,
        tips: &[ObjectId],
        hidden: &[ObjectId],
    ) -> Result<Vec<Found>, GitError> {
        // gix ignores a tag object given as a hidden tip: peel every id to its commit first
        // (pushed tags arrive as tag objects); ids that are missing or not commit-ish drop out.
        let tips: Vec<ObjectId> = tips.iter().filter_map(|id| self.peel(*id)).collect();
        let hidden: Vec<ObjectId> = hidden.iter().filter_map(|id| self.peel(*id)).collect();
        let walk = self
            .repo
            .gix
            .rev_walk(tips)
            .with_hidden(hidden)
            .all()
            .map_err(|e| GitError::Other(format!("cannot walk history: {e}")))?;
        let mut commits = Vec::new();
        for info in walk {
            let info = info.map_err(|e| GitError::Other(format!("cannot walk history: {e}")))?;
            commits.push((info.id, info.parent_ids.to_vec()));
        }
        let mut out = Vec::new();
        for (commit, parents) in commits {
            let tree = self.repo.tree_of(commit)?;
            let mut parent_trees = Vec::new();
            for p in parents {
                if self.repo.has_object(&p) {
                    parent_trees.push(self.repo.tree_of(p)?);
                }
            }
            self.diff_tree(commit, tree, parent_trees, BString::default(), &mut out)?;
        }
        Ok(out)
    }

    /// The pointers in the whole trees of `commits`: what checking each of them out needs.
    /// Each distinct tree is read once, so the snapshots of many similar commits cost little
    /// more than one; a tree this scanner visited before (in any scan) is skipped, so an
    /// earlier scan's results must cover those trees (or use a fresh scanner).
    pub(crate) fn snapshot_pointers(
        &mut self,
        commits: &[ObjectId],
    ) -> Result<HashSet<crate::oid::Oid>, GitError> {
        let mut stack = Vec::with_capacity(commits.len());
        for commit in commits {
            stack.push(self.repo.tree_of(*commit)?);
        }
        let mut out = HashSet::new();
        while let Some(tree) = stack.pop() {
            if !self.visited.insert(tree) {
                continue;
            }
            for (_, mode, id) in self.entries(tree)? {
                if mode.is_tree() {
                    stack.push(id);
                } else if mode.is_blob() {
                    out.extend(self.classify(id)?.1.map(|p| p.oid));
                }
            }
        }
        Ok(out)
    }

    fn diff_tree(
        &mut self,
        commit: ObjectId,
        tree: ObjectId,
        parents: Vec<ObjectId>,
        prefix: BString,
        out: &mut Vec<Found>,
    ) -> Result<(), GitError> {
        if parents.contains(&tree) || !self.visited.insert(tree) {
            return Ok(());
        }
        let mut parent_maps = Vec::with_capacity(parents.len());
        for p in parents {
            let map: HashMap<BString, (gix::objs::tree::EntryMode, ObjectId)> =
                self.entries(p)?.into_iter().map(|(n, m, id)| (n, (m, id))).collect();
            parent_maps.push(map);
        }
        for (name, mode, id) in self.entries(tree)? {
            if parent_maps.iter().any(|m| m.get(&name).is_some_and(|(_, pid)| *pid == id)) {
                continue;
            }
            let mut path = prefix.clone();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.push_str(&name);
            if mode.is_tree() {
                let sub: Vec<ObjectId> = parent_maps
                    .iter()
                    .filter_map(|m| {
                        m.get(&name).filter(|(pm, _)| pm.is_tree()).map(|(_, pid)| *pid)
                    })
                    .collect();
                self.diff_tree(commit, id, sub, path, out)?;
            } else if mode.is_blob() {
                let (size, pointer, malformed) = self.classify(id)?;
                out.push(Found { path, blob: id, size, pointer, malformed, commit });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_filter() {
        let f = PathFilter::new(["data/".into(), "models/a.bin".into()]);
        assert!(f.matches(b"data/x.csv"));
        assert!(f.matches(b"models/a.bin"));
        assert!(!f.matches(b"models/a.bin2"));
        assert!(!f.matches(b"database"));
        assert!(f.may_contain(b"models"));
        assert!(f.may_contain(b"data/sub"));
        assert!(!f.may_contain(b"src"));
        assert!(PathFilter::new(["".into()]).is_all());
    }
}
