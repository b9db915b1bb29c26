//! The file system below everything else: atomic writes, block sharing and copies,
//! write-behind and page-cache advice, stat calls relative to an open directory, the files a
//! killed process left behind, and the small text files written for the user.
//!
//! Invariant: this folder is the only place in git-data with `unsafe`; each use sits behind a
//! safe function with its SAFETY note, and the rest of the program calls those.

pub(crate) mod atomic;
pub(crate) mod bgwrite;
pub(crate) mod copy;
pub(crate) mod dropbehind;
pub(crate) mod openat;
pub(crate) mod stale;
pub(crate) mod stat;
pub(crate) mod sys;
pub(crate) mod textfile;
