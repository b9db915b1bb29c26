//! The clean and smudge filters, independent of how git calls them (long-running process in
//! [`process`], or one process per file).
//!
//! Clean (`git add`): a valid pointer passes through unchanged (idempotent), the empty file
//! stays empty, anything else is streamed into the cache — hashed and stored in one pass, in
//! constant memory — and replaced by its pointer.
//! Smudge (`git checkout`): content that is not a pointer passes through unchanged; a pointer
//! whose object is cached and small is replaced by the object's bytes; any other pointer is
//! left in place and recorded in the pending journal, for the post-checkout hook to
//! materialise (git holds a smudge filter's whole output in memory, so large files must not
//! go through it). A corrupt object is reported and never written out as data.

pub(crate) mod delay;
pub(crate) mod ingest;
pub mod pktline;
pub mod process;
pub(crate) mod readahead;

use crate::fs::atomic::AtomicFile;
use crate::fs::stat::FileStat;
use crate::git::globs::Globs;
use crate::oid::{Hasher, Oid};
use crate::pointer::{Cleaned, MAX_POINTER_SIZE, Pointer, PointerError};
use crate::store::state::pending::{Journal, PendingFile};
use crate::store::state::statcache::StatCache;
use crate::store::{Store, StoreError};
use gix::bstr::{BStr, ByteSlice};
use std::io::{self, Read, Seek, Write};
use std::path::PathBuf;
use std::time::SystemTime;

/// A source of content chunks (pkt-line payloads, or reads from a stream).
pub trait Chunks {
    /// The next chunk, or `None` at the end of the content.
    fn next_chunk(&mut self) -> io::Result<Option<&[u8]>>;
}

/// Adapts any reader into [`Chunks`].
pub struct ReadChunks<R> {
    inner: R,
    buf: Vec<u8>,
}

impl<R: Read> ReadChunks<R> {
    pub fn new(inner: R) -> Self {
        ReadChunks { inner, buf: vec![0; crate::oid::STREAM_BUF] }
    }
}

impl<R: Read> Chunks for ReadChunks<R> {
    fn next_chunk(&mut self) -> io::Result<Option<&[u8]>> {
        loop {
            match self.inner.read(&mut self.buf) {
                Ok(0) => return Ok(None),
                Ok(n) => return Ok(Some(&self.buf[..n])),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Reads chunks until `limit` bytes are buffered or the content ends.
fn peek(input: &mut dyn Chunks, limit: usize) -> io::Result<(Vec<u8>, bool)> {
    let mut head = Vec::new();
    while head.len() < limit {
        match input.next_chunk()? {
            Some(c) => head.extend_from_slice(c),
            None => return Ok((head, true)),
        }
    }
    Ok((head, false))
}

fn drain(input: &mut dyn Chunks, mut each: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    while let Some(c) = input.next_chunk()? {
        each(c)?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("{path}: {source}")]
    Store { path: String, source: StoreError },
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: the file changed while git was reading it; run `git add` again")]
    Changed { path: String },
}

impl FilterError {
    /// How to fix it, when that is known.
    pub fn hint(&self) -> Option<String> {
        match self {
            FilterError::Store { source, .. } => source.hint(),
            _ => None,
        }
    }
}

/// What smudge produced.
pub enum Smudged {
    /// Bytes to hand to git.
    Bytes(Vec<u8>),
    /// A large non-pointer content spilled to a temp file (read it from the start).
    File(std::fs::File),
    /// Nothing yet: git asks again once the object is downloaded (see [`delay`]).
    Delayed,
}

/// Where smudge spills content it must echo that is too large to hold in memory.
const SPILL_OVER: usize = 16 << 20;

/// The filter state for one session (one git command).
pub struct Filter<'a> {
    pub store: &'a Store,
    pub journal: Journal,
    pub inline_max: u64,
    pub work_tree: Option<PathBuf>,
    pub stat_cache: Option<StatCache>,
    /// Stores the files git is likely to send next (long-running sessions with a work tree).
    pub readahead: Option<readahead::ReadAhead>,
    /// Delays smudges of missing objects (long-running sessions that can download).
    pub delay: Option<delay::Delay<'a>>,
    /// Smudge leaves every pointer as it is: no cache read, no journal, no download.
    pub skip_smudge: bool,
    /// The files smudge writes data for (`data.fetchInclude` / `data.fetchExclude`); the
    /// others keep their pointer, as with `skip_smudge`.
    pub(crate) chosen: Globs,
}

impl<'a> Filter<'a> {
    /// A filter over `store` that journals to `journal` and answers smudges of cached objects
    /// up to `inline_max` bytes itself: no work tree, stat cache, read-ahead or delay.
    pub fn new(store: &'a Store, journal: Journal, inline_max: u64) -> Filter<'a> {
        Filter {
            store,
            journal,
            inline_max,
            work_tree: None,
            stat_cache: None,
            readahead: None,
            delay: None,
            skip_smudge: false,
            chosen: Globs::default(),
        }
    }
}

impl Filter<'_> {
    /// Cleans content arriving on `input` for the file at `path`.
    pub fn clean(&mut self, path: &BStr, input: &mut dyn Chunks) -> Result<Cleaned, FilterError> {
        let io_err = |source| FilterError::Io { path: path.to_string(), source };
        // read-ahead guesses from names it can split; others are simply not read ahead
        let ahead = path.to_str().ok().and_then(|p| self.readahead.as_mut()?.request(p));
        let (head, ended) = peek(input, MAX_POINTER_SIZE).map_err(io_err)?;
        if ended && Cleaned::keeps(&head) {
            return Ok(Cleaned::Kept(head));
        }
        let stat = self.stat_of(path);
        if let (Some((before, _)), Some(cache)) = (&stat, &self.stat_cache)
            && let Some(oid) = cache.lookup(path.as_bytes(), before)
            && self.store.contains(&oid, before.size)
        {
            // Known content: check it by hash while draining, without writing a copy.
            let mut hasher = Hasher::new();
            hasher.update(&head);
            drain(input, |c| {
                hasher.update(c);
                Ok(())
            })
            .map_err(io_err)?;
            let (actual, size) = hasher.finish();
            if actual != oid {
                return Err(FilterError::Changed { path: path.to_string() });
            }
            return Ok(Cleaned::Stored(Pointer::new(oid, size)));
        }
        // The read-ahead stored it a moment ago: compare instead of storing again.
        if let Some(found) = ahead {
            let unchanged = stat.as_ref().is_some_and(|(now, _)| found.stat.same_content_stat(now));
            let result = unchanged.then(|| self.clean_read_ahead(path, &head, input, &found));
            if let Some(r) = self.readahead.as_mut() {
                r.recycle(found.bytes);
            }
            if let Some(result) = result {
                return result;
            }
        }
        let store_err = |source| FilterError::Store { path: path.to_string(), source };
        let mut file = self.store.begin().map_err(store_err)?;
        // Tell a failed write to the cache (a full disk) from a failed read from git.
        let mut write_failed = None;
        let mut write = |c: &[u8]| {
            file.write_all(c).map_err(|e| {
                let kind = e.kind();
                write_failed = Some(e);
                io::Error::from(kind)
            })
        };
        let streamed = write(&head).and_then(|()| drain(input, write));
        if let Some(e) = write_failed {
            return Err(store_err(StoreError::io(self.store.tmp_dir(), e)));
        }
        streamed.map_err(io_err)?;
        let (oid, size) = self.store.commit(file, None).map_err(store_err)?;
        self.remember(path, stat, oid, size);
        Ok(Cleaned::Stored(Pointer::new(oid, size)))
    }

    /// Cleans content the read-ahead already stored: compares what git sends with the bytes
    /// the read-ahead stored (kept in memory, at most [`readahead::MAX_FILE`]). Content that
    /// turns out different is stored as usual, from the common prefix and the rest of git's
    /// stream.
    fn clean_read_ahead(
        &mut self,
        path: &BStr,
        head: &[u8],
        input: &mut dyn Chunks,
        ahead: &readahead::Ahead,
    ) -> Result<Cleaned, FilterError> {
        let io_err = |source| FilterError::Io { path: path.to_string(), source };
        let store_err = |source| FilterError::Store { path: path.to_string(), source };
        let expected = &ahead.bytes;
        let store = self.store;
        let mut same = 0;
        let mut other: Option<AtomicFile> = None;
        // Tell a failed write to the cache (a full disk) from a failed read from git.
        let mut store_failed = None;
        let mut feed = |c: &[u8]| -> io::Result<()> {
            if other.is_none() && expected.get(same..same + c.len()) == Some(c) {
                same += c.len();
                return Ok(());
            }
            let written = match other.as_mut() {
                Some(file) => file.write_all(c).map_err(|e| StoreError::io(store.tmp_dir(), e)),
                None => store.begin().and_then(|file| {
                    let file = other.insert(file);
                    file.write_all(&expected[..same])
                        .and_then(|()| file.write_all(c))
                        .map_err(|e| StoreError::io(store.tmp_dir(), e))
                }),
            };
            written.map_err(|e| {
                store_failed = Some(e);
                io::Error::other("the cache write failed")
            })
        };
        let fed = feed(head).and_then(|()| drain(input, &mut feed));
        if let Some(e) = store_failed {
            return Err(store_err(e));
        }
        fed.map_err(io_err)?;
        let (oid, size) = match other {
            Some(file) => self.store.commit(file, None),
            None if same == expected.len() => {
                if let Some(cache) = self.stat_cache.as_mut() {
                    cache.insert(path.as_bytes(), &ahead.stat, ahead.oid);
                }
                return Ok(Cleaned::Stored(Pointer::new(ahead.oid, ahead.stat.size)));
            }
            // git sent a prefix of what was read ahead
            None => self.store.insert_bytes(&expected[..same]),
        }
        .map_err(store_err)?;
        Ok(Cleaned::Stored(Pointer::new(oid, size)))
    }

    /// Smudges content arriving on `input` for the file at `path`; `can_delay` when git
    /// accepts a delayed answer for it.
    pub fn smudge(
        &mut self,
        path: &BStr,
        input: &mut dyn Chunks,
        can_delay: bool,
    ) -> Result<Smudged, FilterError> {
        let io_err = |source| FilterError::Io { path: path.to_string(), source };
        let (head, ended) = peek(input, MAX_POINTER_SIZE).map_err(io_err)?;
        if !ended {
            return echo(head, input).map_err(io_err);
        }
        let pointer = match Pointer::parse(&head) {
            Ok(p) => p,
            Err(e @ PointerError::Malformed(_)) | Err(e @ PointerError::TooLarge(_)) => {
                eprintln!("git-data: warning: {path}: {e}; left unchanged");
                return Ok(Smudged::Bytes(head));
            }
            Err(PointerError::NotAPointer) => return Ok(Smudged::Bytes(head)),
        };
        if self.skip_smudge || !self.chosen.matches(path) {
            return Ok(Smudged::Bytes(head));
        }
        if pointer.size <= self.inline_max && self.store.contains(&pointer.oid, pointer.size) {
            match self.inline(&pointer) {
                Ok(bytes) => return Ok(Smudged::Bytes(bytes)),
                Err(StoreError::Missing { .. }) => {} // pruned since: journaled, downloaded
                Err(e) => eprintln!(
                    "git-data: error: {path}: {e}; the file is left as a pointer and will be fetched again"
                ),
            }
        }
        if can_delay && self.try_delay(path, &pointer) {
            return Ok(Smudged::Delayed);
        }
        let entry = PendingFile { path: path.to_vec(), pointer };
        self.journal.record(&entry).map_err(io_err)?;
        Ok(Smudged::Bytes(head))
    }

    fn inline(&self, pointer: &Pointer) -> Result<Vec<u8>, StoreError> {
        let (mut file, path) = self.store.open_verified(&pointer.oid, pointer.size)?;
        let mut bytes = Vec::with_capacity(pointer.size as usize);
        file.read_to_end(&mut bytes).map_err(|e| StoreError::io(&path, e))?;
        Ok(bytes)
    }

    /// The stat of the work-tree file `path` and when it was taken, if there is a work tree.
    fn stat_of(&self, path: &BStr) -> Option<(FileStat, SystemTime)> {
        let root = self.work_tree.as_ref()?;
        let now = SystemTime::now();
        let meta = std::fs::symlink_metadata(root.join(crate::git::rel_path(path))).ok()?;
        meta.is_file().then(|| (FileStat::from_metadata(&meta), now))
    }

    /// Records path → oid in the stat cache when the file was settled and did not change.
    fn remember(
        &mut self,
        path: &BStr,
        before: Option<(FileStat, SystemTime)>,
        oid: Oid,
        size: u64,
    ) {
        let (Some((before, at)), Some(cache)) = (before, self.stat_cache.as_mut()) else { return };
        if before.size != size || !before.settled_at(at) {
            return;
        }
        let root = self.work_tree.as_ref().map(|r| r.join(crate::git::rel_path(path)));
        let after = root
            .and_then(|p| std::fs::symlink_metadata(p).ok())
            .map(|m| FileStat::from_metadata(&m));
        if after.is_some_and(|a| a.same_content_stat(&before)) {
            cache.insert(path.as_bytes(), &before, oid);
        }
    }

    /// Saves the stat cache (at the end of a session).
    pub fn finish(&mut self) {
        if let Some(cache) = self.stat_cache.as_mut() {
            let _ = cache.save();
        }
    }
}

/// Echoes non-pointer content back unchanged, spilling large content to a temp file.
fn echo(mut head: Vec<u8>, input: &mut dyn Chunks) -> io::Result<Smudged> {
    let mut spill: Option<std::fs::File> = None;
    while let Some(c) = input.next_chunk()? {
        match spill.as_mut() {
            Some(f) => f.write_all(c)?,
            None => {
                head.extend_from_slice(c);
                if head.len() > SPILL_OVER {
                    let mut f = tempfile::tempfile()?;
                    f.write_all(&head)?;
                    head = Vec::new();
                    spill = Some(f);
                }
            }
        }
    }
    match spill {
        Some(mut f) => {
            f.rewind()?;
            Ok(Smudged::File(f))
        }
        None => Ok(Smudged::Bytes(head)),
    }
}

/// Cleans a stream to a writer (the per-file `clean` fallback).
pub fn clean_stream(
    filter: &mut Filter,
    path: &BStr,
    input: impl Read,
    mut out: impl Write,
) -> Result<(), FilterError> {
    let bytes = filter.clean(path, &mut ReadChunks::new(input))?.blob();
    out.write_all(&bytes).map_err(|source| FilterError::Io { path: path.to_string(), source })
}

/// Smudges a stream to a writer (the per-file `smudge` fallback).
pub fn smudge_stream(
    filter: &mut Filter,
    path: &BStr,
    input: impl Read,
    mut out: impl Write,
) -> Result<(), FilterError> {
    let io_err = |source| FilterError::Io { path: path.to_string(), source };
    match filter.smudge(path, &mut ReadChunks::new(input), false)? {
        Smudged::Bytes(b) => out.write_all(&b).map_err(io_err),
        Smudged::File(mut f) => io::copy(&mut f, &mut out).map(|_| ()).map_err(io_err),
        Smudged::Delayed => Err(io_err(io::Error::other("a smudge was delayed outside a session"))),
    }
}
