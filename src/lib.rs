//! git-data: versions large data sets and models beside code. git stores small pointers
//! (the git-lfs v1 format); the bytes live in a content-addressed cache and on a remote.
//!
//! The library holds everything testable without a process; `main.rs` only parses, dispatches
//! and maps errors to exit codes. See docs/architecture.md for the floors and the data paths.

pub mod cli;
pub mod config;
pub mod filter;
pub mod fs;
pub mod git;
pub mod hint;
pub mod materialize;
pub mod oid;
pub mod pointer;
pub mod policy;
pub mod progress;
pub mod store;
pub mod sync;
pub mod units;
