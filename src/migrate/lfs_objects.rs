//! What `migrate lfs` takes over from git-lfs in a clone: the objects under
//! `.git/lfs/objects/ab/cd/<oid>` (same sha256 ids as ours), and git-lfs's hooks.
//!
//! Invariants: an object enters the cache only through the store's checked commit, after its
//! bytes hashed to its name. A hard link is tried first (no copy, no extra space): the link
//! is a temp of the cache like any other (named after this process, removed if it is killed),
//! hashed where it lies and made read-only like every cache object (the git-lfs copy is the
//! same inode, and stays readable). Across file systems the object is streamed instead.
//! A hook is removed only when it is exactly git-lfs's shim; anything else is reported.

use crate::git::Repo;
use crate::oid::Oid;
use crate::store::{Store, StoreError};
use anyhow::Result;
use std::fs;
use std::path::{Path, PathBuf};

/// How one object was taken over.
#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
pub(crate) enum Taken {
    Already,
    Linked,
    Copied,
}

/// git-lfs's object directory of this clone (`lfs.storage`, else `<git dir>/lfs`).
pub(crate) fn lfs_objects_dir(repo: &Repo) -> PathBuf {
    let base = match repo.config_string("lfs.storage") {
        Some(p) if Path::new(&p).is_absolute() => PathBuf::from(p),
        Some(p) => repo.common_dir.join(p),
        None => repo.common_dir.join("lfs"),
    };
    base.join("objects")
}

/// Every `<dir>/ab/cd/<oid>` file whose name is a valid object id in its right shard.
pub(crate) fn list(dir: &Path) -> Vec<(Oid, PathBuf)> {
    let mut out = Vec::new();
    let read = |p: &Path| fs::read_dir(p).into_iter().flatten().flatten().map(|e| e.path());
    for a in read(dir) {
        for b in read(&a) {
            for f in read(&b) {
                let Some(oid) =
                    f.file_name().and_then(|n| n.to_str()).and_then(|n| Oid::from_hex(n).ok())
                else {
                    continue;
                };
                if f.is_file()
                    && f.strip_prefix(dir).is_ok_and(|r| r == Path::new(&oid.shard_path()))
                {
                    out.push((oid, f));
                }
            }
        }
    }
    out.sort();
    out
}

/// Takes `src` into the cache as `oid` through the store's checked commit: by a hard link
/// if possible, else a copy. A file whose bytes do not hash to `oid` is refused, and nothing
/// of it stays in the cache.
pub(crate) fn take(store: &Store, oid: &Oid, src: &Path) -> Result<Taken, String> {
    let size = fs::metadata(src).map_err(|e| format!("cannot read {}: {e}", src.display()))?.len();
    if store.contains(oid, size) {
        return Ok(Taken::Already);
    }
    let refused = |e: StoreError| match e {
        StoreError::Commit(crate::fs::atomic::CommitError::Mismatch { actual, .. }) => {
            format!("content hashes to {actual}")
        }
        e => e.to_string(),
    };
    if let Some(linked) = store.begin_link(src).map_err(refused)? {
        return store.commit(linked, Some((*oid, size))).map(|_| Taken::Linked).map_err(refused);
    }
    let file = fs::File::open(src).map_err(|e| format!("cannot open {}: {e}", src.display()))?;
    let mut incoming = store.begin().map_err(refused)?;
    incoming.copy_from(file).map_err(|e| format!("cannot copy {}: {e}", src.display()))?;
    store.commit(incoming, Some((*oid, size))).map(|_| Taken::Copied).map_err(refused)
}

/// Whether a hook script is exactly git-lfs's shim for `name` (a shebang, the check that
/// git-lfs is installed, and `git lfs NAME "$@"`).
pub(crate) fn is_lfs_shim(text: &str, name: &str) -> bool {
    let call = format!("git lfs {name} \"$@\"");
    let mut calls = false;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line == call {
            calls = true;
        } else if !(line.starts_with("#!") || line.starts_with("command -v git-lfs")) {
            return false;
        }
    }
    calls
}

/// The hooks git-lfs installs.
pub(crate) const LFS_HOOKS: [&str; 4] = ["pre-push", "post-checkout", "post-commit", "post-merge"];

/// Removes git-lfs's own hook shims (also those an earlier `git data install` chained as
/// `NAME.pre-git-data`); returns what was removed, and hooks that call git-lfs among other
/// things (left alone).
pub(crate) fn remove_lfs_hooks(dir: &Path) -> (Vec<String>, Vec<String>) {
    let mut removed = Vec::new();
    let mut mixed = Vec::new();
    for name in LFS_HOOKS {
        for file in [name.to_string(), format!("{name}.pre-git-data")] {
            let path = dir.join(&file);
            let Ok(text) = fs::read_to_string(&path) else { continue };
            if is_lfs_shim(&text, name) {
                if fs::remove_file(&path).is_ok() {
                    removed.push(file);
                }
            } else if text.contains("git lfs ") || text.contains("git-lfs ") {
                mixed.push(file);
            }
        }
    }
    (removed, mixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIM: &str = "#!/bin/sh\ncommand -v git-lfs >/dev/null 2>&1 || { printf >&2 \"\\n%s\\n\\n\" \"This repository is configured for Git LFS but 'git-lfs' was not found on your path.\"; exit 2; }\ngit lfs pre-push \"$@\"\n";

    #[test]
    fn recognises_only_the_plain_shim() {
        assert!(is_lfs_shim(SHIM, "pre-push"));
        assert!(!is_lfs_shim(SHIM, "post-merge"));
        assert!(!is_lfs_shim(&format!("{SHIM}make lint\n"), "pre-push"));
        assert!(!is_lfs_shim("#!/bin/sh\n", "pre-push"));
    }

    #[test]
    fn takes_verified_objects_and_refuses_corrupt_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("cache"));
        let good = b"model bytes";
        let oid = Oid::of_bytes(good);
        let src = dir.path().join("lfs").join(oid.shard_path());
        fs::create_dir_all(src.parent().unwrap()).unwrap();
        fs::write(&src, good).unwrap();
        assert_eq!(list(&dir.path().join("lfs")), vec![(oid, src.clone())]);
        assert_eq!(take(&store, &oid, &src), Ok(Taken::Linked));
        assert_eq!(fs::read(store.object_path(&oid)).unwrap(), good);
        assert_eq!(take(&store, &oid, &src), Ok(Taken::Already));
        let liar = Oid::of_bytes(b"something else");
        let bad = dir.path().join("bad");
        fs::write(&bad, good).unwrap();
        let err = take(&store, &liar, &bad).unwrap_err();
        assert!(err.contains(&oid.to_hex()), "{err}");
        assert!(!store.object_path(&liar).exists());
    }
}
