//! Delayed smudge (the filter protocol's `delay` capability): during a checkout or clone,
//! files whose objects are missing from the cache are answered "delayed"; when git asks which
//! are available, every missing object is downloaded in one parallel batch, then git asks for
//! each file again and writes it once, with its data. Without it, git writes a pointer, the
//! hook downloads the object and writes the file a second time (a third inode per file).
//!
//! Invariants: only files small enough to be returned inline are delayed (git holds a smudge
//! result in memory; larger ones go through the hooks, which copy or link them); every delayed
//! path is listed as available after the one batch, so git never fails a file as "not
//! filtered properly": a file whose object still could not be had is answered with its
//! pointer and journaled for the hooks, exactly as without delay.

use super::{Filter, FilterError, Smudged};
use crate::pointer::Pointer;
use crate::store::StoreError;
use crate::store::state::pending::PendingFile;
use gix::bstr::{BStr, BString};
use std::collections::{HashMap, HashSet};

/// Downloads the objects of these (path, pointer) pairs into the cache; failures are left
/// for the hooks to report.
pub(crate) type Fetch<'a> = &'a dyn Fn(&[(BString, Pointer)]);

/// The delayed files of one session.
pub struct Delay<'a> {
    fetch: Fetch<'a>,
    waiting: Vec<(BString, Pointer)>,
    ready: HashMap<BString, Pointer>,
}

impl<'a> Delay<'a> {
    pub fn new(fetch: Fetch<'a>) -> Self {
        Delay { fetch, waiting: Vec::new(), ready: HashMap::new() }
    }
}

impl Filter<'_> {
    /// Whether this session offers git the `delay` capability.
    pub fn can_delay(&self) -> bool {
        self.delay.is_some()
    }

    /// Delays the smudge of `path` if its object is missing and small enough to be inlined.
    pub(super) fn try_delay(&mut self, path: &BStr, pointer: &Pointer) -> bool {
        let inline = pointer.size <= self.inline_max;
        match self.delay.as_mut() {
            Some(d) if inline && !self.store.contains(&pointer.oid, pointer.size) => {
                d.waiting.push((path.to_owned(), *pointer));
                true
            }
            _ => false,
        }
    }

    /// Answers `list_available_blobs`: downloads every waiting object in one batch and lists
    /// all waiting paths; an empty list tells git that nothing is delayed any more.
    pub fn available(&mut self) -> Vec<BString> {
        let Some(d) = self.delay.as_mut() else { return Vec::new() };
        if d.waiting.is_empty() {
            return Vec::new();
        }
        let mut seen = HashSet::new();
        let missing: Vec<(BString, Pointer)> = d
            .waiting
            .iter()
            .filter(|(_, p)| seen.insert(p.oid) && !self.store.contains(&p.oid, p.size))
            .map(|(path, p)| (path.clone(), *p))
            .collect();
        if !missing.is_empty() {
            (d.fetch)(&missing);
        }
        let paths = d.waiting.iter().map(|(path, _)| path.clone()).collect();
        d.ready.extend(d.waiting.drain(..));
        paths
    }

    /// Whether git is asking again for a file that was delayed.
    pub fn is_ready(&self, path: &BStr) -> bool {
        self.delay.as_ref().is_some_and(|d| d.ready.contains_key(path))
    }

    /// The content of a delayed file: its data from the cache, or else its pointer (journaled
    /// for the hooks, which download again and report what still fails).
    pub fn deliver(&mut self, path: &BStr) -> Result<Smudged, FilterError> {
        let Some(pointer) = self.delay.as_mut().and_then(|d| d.ready.remove(path)) else {
            return Err(FilterError::Io {
                path: path.to_string(),
                source: std::io::Error::other("git asked for a file that was not delayed"),
            });
        };
        if self.store.contains(&pointer.oid, pointer.size) {
            match self.inline(&pointer) {
                Ok(bytes) => return Ok(Smudged::Bytes(bytes)),
                // deleted since (by `git data prune`): journaled below, downloaded again
                Err(StoreError::Missing { .. }) => {}
                Err(e) => eprintln!(
                    "git-data: error: {path}: {e}; the file is left as a pointer and will be fetched again"
                ),
            }
        }
        let entry = PendingFile { path: path.to_vec(), pointer };
        self.journal
            .record(&entry)
            .map_err(|source| FilterError::Io { path: path.to_string(), source })?;
        Ok(Smudged::Bytes(pointer.encode().into_bytes()))
    }
}
