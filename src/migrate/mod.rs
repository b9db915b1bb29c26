//! The migration engine, for `git data migrate`: `select` surveys history and decides what
//! moves, `blobs` streams blobs into the cache, `rewrite` rewrites commits, trees and tags,
//! `refs` moves refs with backups, `lfs_objects` takes git-lfs's objects over, and `dvc/`
//! reads a DVC repository (its `.dvc` files, cache and remotes) and applies the conversion.
//!
//! Invariant: nothing here prints or reads the command line; a rewrite is written under new
//! object ids first and refs move only at the end, with backups, so a failure leaves every
//! ref where it was.

pub(crate) mod blobs;
pub(crate) mod dvc;
pub(crate) mod lfs_objects;
pub(crate) mod refs;
pub(crate) mod rewrite;
pub(crate) mod select;
