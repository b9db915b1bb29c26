//! git-data: versions large data sets and models beside code. git stores small pointers
//! (the git-lfs v1 format); the bytes live in a content-addressed cache and on a remote.
//!
//! The library holds everything testable without a process; `main.rs` only parses, dispatches
//! and maps errors to exit codes. See docs/architecture.md for the floors and the data paths.

pub mod cli;
pub mod config;
pub mod filter;
pub(crate) mod fs;
pub(crate) mod git;
pub(crate) mod hint;
pub(crate) mod materialize;
pub(crate) mod migrate;
pub mod oid;
pub(crate) mod par;
pub(crate) mod pipeline;
pub mod pointer;
pub(crate) mod policy;
pub(crate) mod progress;
pub mod store;
pub(crate) mod sync;
pub(crate) mod units;
