//! Moves git blobs into the cache: each blob is streamed out of git's object database by a
//! long-running `git cat-file --batch` (git streams large blobs without holding them in
//! memory) and hashed into the cache in one pass, so memory never depends on a file's size.
//! A few workers, each with its own `git cat-file`, share the blobs (largest first).
//!
//! Invariant: a blob counts as moved only once its object is in the cache with the bytes
//! git gave (the cache verifies what it stores); then its pointer blob is written to git.

use crate::git::{Repo, git_command};
use crate::oid::Oid;
use crate::pointer::Pointer;
use crate::progress::{CountingReader, Progress};
use crate::store::Store;
use anyhow::{Context as _, Result, bail};
use gix::ObjectId;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

/// A `git cat-file --batch` process.
pub(crate) struct CatFile {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl CatFile {
    pub(crate) fn start() -> Result<CatFile> {
        let mut child = git_command()
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot run `git cat-file`")?;
        let input = child.stdin.take().context("no stdin for git cat-file")?;
        let output = BufReader::with_capacity(1 << 20, child.stdout.take().context("no stdout")?);
        Ok(CatFile { child, input, output })
    }

    /// Streams blob `id` to `each`, which must read it to the end; returns its size.
    pub(crate) fn blob<T>(
        &mut self,
        id: ObjectId,
        each: impl FnOnce(&mut dyn Read) -> Result<T>,
    ) -> Result<T> {
        writeln!(self.input, "{id}").and_then(|_| self.input.flush())?;
        let mut header = String::new();
        self.output.read_line(&mut header)?;
        let mut words = header.split_whitespace();
        let (Some(_), Some("blob"), Some(size)) = (words.next(), words.next(), words.next()) else {
            bail!("git cannot read blob {id}: {}", header.trim());
        };
        let size: u64 = size.parse().with_context(|| format!("bad cat-file header {header:?}"))?;
        let mut body = (&mut self.output).take(size);
        let result = each(&mut body)?;
        if body.limit() != 0 {
            bail!("blob {id} was not read to its end");
        }
        let mut newline = [0u8; 1];
        self.output.read_exact(&mut newline)?;
        Ok(result)
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    let found = crate::par::try_map(&blobs, workers, CatFile::start, |cat, &(id, size)| {
        let (oid, len) = cat.blob(id, |r| {
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
