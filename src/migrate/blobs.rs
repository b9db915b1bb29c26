//! Moves git blobs into the cache: each blob is streamed out of git's object database by a
//! long-running `git cat-file --batch` (git streams large blobs without holding them in
//! memory) and hashed into the cache in one pass, so memory never depends on a file's size.
//! A few workers, each with its own `git cat-file`, share the blobs (largest first).
//!
//! Invariant: a blob counts as moved only once its object is in the cache with the bytes
//! git gave (the cache verifies what it stores); then its pointer blob is written to git.

use crate::git::Repo;
use crate::git::batch::CatFile;
use crate::oid::Oid;
use crate::pointer::Pointer;
use crate::progress::{CountingReader, Progress};
use crate::store::Store;
use anyhow::{Context as _, Result, bail};
use gix::ObjectId;
use std::collections::HashMap;

/// What became of the blobs: blob id → (pointer, pointer blob id).
pub(crate) type Moved = HashMap<ObjectId, (Pointer, ObjectId)>;

/// Streams every blob of `blobs` (id, size) into `store`, then writes their pointer blobs.
pub(crate) fn move_into_cache(
    repo: &Repo,
    store: &Store,
    mut blobs: Vec<(ObjectId, u64)>,
    progress: bool,
) -> Result<Moved> {
    blobs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let total = blobs.iter().map(|b| b.1).sum();
    let bar = Progress::bytes(progress, "moving into the cache:", total, blobs.len());
    let workers = crate::par::workers(blobs.len(), 4);
    let git_dir = &repo.git_dir;
    let start = || CatFile::start(git_dir).map_err(anyhow::Error::from);
    let found = crate::par::try_map(&blobs, workers, start, |cat, &(id, size)| {
        let (oid, len) = cat.stream(&id.to_string(), |r| -> Result<_> {
            let reader = CountingReader { inner: r, progress: &bar };
            Ok(store.insert_reader(reader)?)
        })?;
        if len != size {
            bail!("blob {id}: read {len} bytes, expected {size}");
        }
        Ok((id, Pointer::new(oid, len)))
    })?;
    bar.finish();
    let mut moved = Moved::new();
    for (id, pointer) in found {
        let blob = repo
            .gix
            .write_blob(pointer.encode())
            .context("cannot write a pointer blob into the repository")?
            .detach();
        moved.insert(id, (pointer, blob));
    }
    Ok(moved)
}

/// Distinct objects and bytes of what was moved.
pub(crate) fn totals(moved: &Moved) -> (usize, u64) {
    let distinct: HashMap<Oid, u64> = moved.values().map(|(p, _)| (p.oid, p.size)).collect();
    (distinct.len(), distinct.values().sum())
}
