//! Moving objects between the cache and a remote: the remotes themselves, the transfer queue
//! (bounded parallelism, progress), the one retry layer, and checking a remote's copies.
//!
//! Invariant: an object reaches the cache from a remote only after its bytes hashed to its
//! id, and reaches a remote only from a verified cache object.

pub mod remote;
pub mod retry;
pub mod transfer;
pub mod verify;
