//! The history rewrite engine: a direct object rewrite. Commits are visited parents first;
//! each commit's tree is rewritten through a [`Transform`] with memo tables, so a subtree or
//! blob that was seen before costs one hash lookup; the commit is re-written byte for byte
//! except for its `tree` and `parent` lines.
//!
//! Invariants: an object whose content does not change keeps its id (a commit whose tree and
//! parents are unchanged is not re-written, and keeps its signature); a re-written commit or
//! tag loses its signature (`gpgsig`, `mergetag`, a PGP/SSH block in a tag message), since the
//! signed bytes changed. Nothing here moves a ref: see `refs`.

use crate::git::{GitError, Repo, obj_err};
use anyhow::{Context as _, Result};
use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};
use gix::objs::tree::{Entry, EntryKind, EntryMode};
use std::collections::HashMap;

/// What a rewrite does to the blobs of a tree.
pub(crate) trait Transform {
    /// The new id of the blob at `path` (return `id` to keep it). Never called for the root
    /// `.gitattributes`.
    fn blob(&mut self, path: &BStr, id: ObjectId) -> Result<ObjectId>;
    /// The new root `.gitattributes` given the current one (`None`: absent). Returning `None`
    /// leaves the tree as it is.
    fn root_attributes(&mut self, current: Option<ObjectId>) -> Result<Option<ObjectId>>;
}

/// An already serialized object, written as is.
struct Raw<'a> {
    kind: gix::objs::Kind,
    data: &'a [u8],
}

impl gix::objs::WriteTo for Raw<'_> {
    fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        out.write_all(self.data)
    }
    fn kind(&self) -> gix::objs::Kind {
        self.kind
    }
    fn size(&self) -> u64 {
        self.data.len() as u64
    }
}

/// Counts of what the rewrite did.
#[derive(Default, Debug)]
pub(crate) struct Counts {
    pub commits: usize,
    pub trees: usize,
    pub signatures_dropped: usize,
}

/// One rewrite over one repository.
pub(crate) struct Rewriter<'r, T> {
    repo: &'r Repo,
    pub transform: T,
    roots: HashMap<ObjectId, ObjectId>,
    trees: HashMap<(BString, ObjectId), ObjectId>,
    /// old commit → new commit, for every commit visited.
    pub commits: HashMap<ObjectId, ObjectId>,
    tags: HashMap<ObjectId, ObjectId>,
    pub counts: Counts,
}

impl<'r, T: Transform> Rewriter<'r, T> {
    pub(crate) fn new(repo: &'r Repo, transform: T) -> Self {
        Rewriter {
            repo,
            transform,
            roots: HashMap::new(),
            trees: HashMap::new(),
            commits: HashMap::new(),
            tags: HashMap::new(),
            counts: Counts::default(),
        }
    }

    fn write(&self, kind: gix::objs::Kind, data: &[u8]) -> Result<ObjectId> {
        let id = self.repo.gix.write_object(Raw { kind, data }).map_err(|e| {
            GitError::Other(format!("cannot write a {kind} object into the repository: {e}"))
        })?;
        Ok(id.detach())
    }

    /// Rewrites `commits`, which must be in an order where parents come first.
    pub(crate) fn rewrite_commits(&mut self, commits: &[ObjectId]) -> Result<()> {
        for &id in commits {
            let new = self.commit(id)?;
            self.commits.insert(id, new);
        }
        Ok(())
    }

    fn commit(&mut self, id: ObjectId) -> Result<ObjectId> {
        let data = self.repo.gix.find_object(id).map_err(|e| obj_err(id, e))?.data.clone();
        let stripped = strip_signatures(&data);
        let end = stripped.find(b"\n\n").map(|i| i + 1).unwrap_or(stripped.len());
        let mut out = Vec::with_capacity(data.len());
        for line in stripped[..end].lines_with_terminator() {
            if let Some(hex) = line.strip_prefix(b"tree ") {
                let new = self.root(parse_id(hex, id)?)?;
                out.extend_from_slice(format!("tree {new}\n").as_bytes());
            } else if let Some(hex) = line.strip_prefix(b"parent ") {
                let parent = parse_id(hex, id)?;
                let new = self.commits.get(&parent).copied().unwrap_or(parent);
                out.extend_from_slice(format!("parent {new}\n").as_bytes());
            } else {
                out.extend_from_slice(line);
            }
        }
        out.extend_from_slice(&stripped[end..]);
        if out == stripped {
            return Ok(id); // same tree and parents: the commit stays, signature and all
        }
        if stripped.len() != data.len() {
            self.counts.signatures_dropped += 1;
        }
        self.counts.commits += 1;
        self.write(gix::objs::Kind::Commit, &out)
    }

    /// Rewrites a root tree (memoized by id).
    pub(crate) fn root(&mut self, tree: ObjectId) -> Result<ObjectId> {
        if let Some(new) = self.roots.get(&tree) {
            return Ok(*new);
        }
        let new = self.tree(BString::default(), tree, true)?;
        self.roots.insert(tree, new);
        Ok(new)
    }

    fn tree(&mut self, dir: BString, id: ObjectId, root: bool) -> Result<ObjectId> {
        if !root && let Some(new) = self.trees.get(&(dir.clone(), id)) {
            return Ok(*new);
        }
        let decoded = {
            let t = self.repo.gix.find_tree(id).map_err(|e| obj_err(id, e))?;
            t.decode().map_err(|e| obj_err(id, e))?.into_owned()
        };
        let mut entries: Vec<Entry> = decoded.entries;
        let mut changed = false;
        let mut has_attributes = false;
        for entry in entries.iter_mut() {
            let path = super::select::join(dir.as_bstr(), entry.filename.as_bstr());
            let new = if entry.mode.is_tree() {
                self.tree(path, entry.oid, false)?
            } else if !entry.mode.is_blob() {
                entry.oid
            } else if root && entry.filename == ".gitattributes" {
                has_attributes = true;
                self.transform.root_attributes(Some(entry.oid))?.unwrap_or(entry.oid)
            } else {
                self.transform.blob(path.as_bstr(), entry.oid)?
            };
            if new != entry.oid {
                entry.oid = new;
                changed = true;
            }
        }
        if root
            && !has_attributes
            && let Some(attrs) = self.transform.root_attributes(None)?
        {
            entries.push(Entry {
                mode: EntryMode::from(EntryKind::Blob),
                filename: ".gitattributes".into(),
                oid: attrs,
            });
            entries.sort();
            changed = true;
        }
        let new = if changed {
            self.counts.trees += 1;
            let id = self
                .repo
                .gix
                .write_object(gix::objs::Tree { entries })
                .context("cannot write a tree object into the repository")?;
            id.detach()
        } else {
            id
        };
        if !root {
            self.trees.insert((dir, id), new);
        }
        Ok(new)
    }

    /// The new id of a tag object, or of whatever a ref points to (a commit, a tag, other).
    pub(crate) fn target(&mut self, id: ObjectId) -> Result<ObjectId> {
        if let Some(new) = self.commits.get(&id).or_else(|| self.tags.get(&id)) {
            return Ok(*new);
        }
        let header = self.repo.gix.find_header(id).map_err(|e| obj_err(id, e))?;
        if header.kind() != gix::objs::Kind::Tag {
            return Ok(id);
        }
        let data = self.repo.gix.find_object(id).map_err(|e| obj_err(id, e))?.data.clone();
        let Some(hex) = data.strip_prefix(b"object ") else { return Ok(id) };
        let old_target = parse_id(&hex[..hex.find_byte(b'\n').unwrap_or(hex.len())], id)?;
        let new_target = self.target(old_target)?;
        if new_target == old_target {
            self.tags.insert(id, id);
            return Ok(id);
        }
        let mut out = format!("object {new_target}").into_bytes();
        let rest = &hex[hex.find_byte(b'\n').unwrap_or(hex.len())..];
        let signature = [&b"-----BEGIN PGP SIGNATURE-----"[..], b"-----BEGIN SSH SIGNATURE-----"]
            .iter()
            .filter_map(|m| rest.find(m))
            .min();
        match signature {
            Some(at) => {
                out.extend_from_slice(&rest[..at]);
                self.counts.signatures_dropped += 1;
            }
            None => out.extend_from_slice(rest),
        }
        let new = self.write(gix::objs::Kind::Tag, &out)?;
        self.tags.insert(id, new);
        Ok(new)
    }
}

/// A commit without its signature headers (`gpgsig`, `gpgsig-sha256`, `mergetag`).
fn strip_signatures(data: &[u8]) -> Vec<u8> {
    let end = data.find(b"\n\n").map(|i| i + 1).unwrap_or(data.len());
    let mut out = Vec::with_capacity(data.len());
    let mut skipping = false;
    for line in data[..end].lines_with_terminator() {
        if skipping && line.starts_with(b" ") {
            continue;
        }
        skipping =
            [&b"gpgsig "[..], b"gpgsig-sha256 ", b"mergetag "].iter().any(|k| line.starts_with(k));
        if !skipping {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(&data[end..]);
    out
}

fn parse_id(hex: &[u8], within: ObjectId) -> Result<ObjectId, GitError> {
    let hex = hex.trim_end();
    ObjectId::from_hex(hex).map_err(|e| obj_err(within, format!("bad object id in header: {e}")))
}

/// The commits reachable from `tips` but not from `hidden`, parents before children
/// (`git rev-list`; the ids go through stdin, so any number of refs fits).
pub(crate) fn list_commits(tips: &[ObjectId], hidden: &[ObjectId]) -> Result<Vec<ObjectId>> {
    if tips.is_empty() {
        return Ok(Vec::new());
    }
    let mut input = String::new();
    for t in tips {
        input.push_str(&format!("{t}\n"));
    }
    for h in hidden {
        input.push_str(&format!("^{h}\n"));
    }
    let mut cmd = crate::git::git_command();
    cmd.args(["rev-list", "--topo-order", "--reverse", "--stdin"]);
    let out = crate::git::run_git_input(&mut cmd, input.into_bytes())
        .context("cannot list the commits to rewrite")?;
    out.lines()
        .map(|l| {
            ObjectId::from_hex(l.trim().as_bytes()).context("unexpected `git rev-list` output")
        })
        .collect()
}
