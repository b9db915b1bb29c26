//! Checks the copies a remote holds byte for byte, and repairs damaged or missing ones from
//! the cache (`git data fsck --remote [--repair]`).
//!
//! Invariants: a remote copy is streamed through the hasher and kept nowhere (constant memory,
//! no disk), `transfer.concurrency` objects at a time, transient errors retried; a repair
//! uploads only bytes the cache verifies first, over the remote's copy and atomically
//! ([`Remote::put_over`]), and counts only once the new copy hashes to its id.

use crate::fs::atomic::AtomicFile;
use crate::oid::Oid;
use crate::progress::Progress;
use crate::store::Store;
use crate::sync::remote::{ErrorKind, Key, Remote, RemoteError};
use crate::sync::retry::Retry;
use crate::sync::transfer::Transfer;
use std::sync::Arc;

/// What the remote holds for one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Copy {
    /// Bytes that hash to the object's id, of the expected size.
    Intact,
    /// Nothing.
    Missing,
    /// Bytes that hash to the object's id, of another size than expected: the object is
    /// intact and whoever expected that size (a pointer) is wrong.
    OtherSize(u64),
    /// Bytes that do not hash to the object's id (what is wrong with them), or that the
    /// store's own checksum refuses.
    Damaged(String),
    /// The copy could not be read (the error, after retries).
    Unreadable(String),
}

impl Copy {
    /// Whether a repair would replace this copy.
    pub(crate) fn needs_repair(&self) -> bool {
        matches!(self, Copy::Missing | Copy::Damaged(_))
    }
}

/// Hashes the remote's copy of every object (id, expected size); results in any order.
pub(crate) fn check(
    transfer: &Transfer,
    remote: &Arc<dyn Remote>,
    objects: &[(Oid, u64)],
    progress: &Progress,
) -> Vec<(Oid, u64, Copy)> {
    transfer.run(
        objects.to_vec(),
        |remote, (oid, size)| {
            let (progress, retry) = (progress.clone(), transfer.retry());
            async move { (oid, size, check_one(&*remote, oid, size, &retry, &progress).await) }
        },
        remote,
    )
}

async fn check_one(
    remote: &dyn Remote,
    oid: Oid,
    size: u64,
    retry: &Retry,
    progress: &Progress,
) -> Copy {
    let key = Key::Object(oid);
    let read = retry
        .run(progress, || async {
            let mut sink = AtomicFile::hash_only();
            remote.get_sized(&key, size, &mut sink, progress).await.map(|()| sink.digest())
        })
        .await;
    match read {
        Ok((got, got_size)) if got == oid && got_size == size => Copy::Intact,
        Ok((got, got_size)) if got == oid => Copy::OtherSize(got_size),
        Ok((got, got_size)) => {
            Copy::Damaged(format!("its {got_size} bytes hash to {}", got.short(12)))
        }
        Err(e) if e.kind == ErrorKind::NotFound => Copy::Missing,
        Err(e) if e.kind == ErrorKind::Corrupt => Copy::Damaged(e.message),
        Err(e) => Copy::Unreadable(e.to_string()),
    }
}

/// Why one object could not be repaired.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RepairError {
    #[error("no good copy here: {0}")]
    NoGoodCopy(#[from] crate::store::StoreError),
    #[error(transparent)]
    Upload(#[from] RemoteError),
    #[error("the remote still holds a bad copy after the upload ({0:?})")]
    StillBad(Copy),
}

/// Uploads the cache's verified copy of each object over the remote's, then checks the
/// remote's new copy; results in any order.
pub(crate) fn repair(
    transfer: &Transfer,
    remote: &Arc<dyn Remote>,
    store: &Arc<Store>,
    objects: &[(Oid, u64)],
    progress: &Progress,
) -> Vec<(Oid, Result<(), RepairError>)> {
    transfer.run(
        objects.to_vec(),
        |remote, (oid, size)| {
            let (store, progress, retry) = (store.clone(), progress.clone(), transfer.retry());
            async move {
                let result = async {
                    let (_file, path) =
                        tokio::task::block_in_place(|| store.open_verified(&oid, size))?;
                    let key = Key::Object(oid);
                    retry.run(&progress, || remote.put_over(&key, &path, size, &progress)).await?;
                    match check_one(&*remote, oid, size, &retry, &Progress::hidden()).await {
                        Copy::Intact => Ok(()),
                        other => Err(RepairError::StillBad(other)),
                    }
                };
                (oid, result.await)
            }
        },
        remote,
    )
}
