//! The transfer queue: existence checks, uploads and downloads with bounded parallelism,
//! retries through the command's one [`Retry`] layer (crate::sync::retry), and progress. Owns the
//! one tokio runtime and exposes a blocking API, so the rest of the program stays synchronous.
//!
//! Invariants: each object is transferred once per call (inputs are deduplicated); an upload
//! reads the cache object only after it was verified; a download lands in the cache only
//! after its bytes hashed to its oid; one failed object never stops the others, and every
//! failure is reported with its oid.

use crate::fs::atomic::CommitError;
use crate::oid::Oid;
use crate::progress::Progress;
use crate::store::{Store, StoreError};
use crate::sync::remote::{ErrorKind, Key, Remote, RemoteError};
use crate::sync::retry::{Policy, Retry};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Why one object could not be transferred.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransferError {
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TransferError {
    /// What went wrong without the object it happened to, so that files failing for one
    /// cause are reported together (their paths name the objects).
    pub(crate) fn cause(&self) -> String {
        match self {
            TransferError::Remote(e) if e.kind == ErrorKind::NotFound => {
                format!("remote {}: not on the remote", e.remote)
            }
            TransferError::Remote(e) => format!("remote {}: {}", e.remote, e.cause()),
            TransferError::Store(e) => e.to_string(),
        }
    }

    pub(crate) fn hint(&self) -> Option<&str> {
        match self {
            TransferError::Remote(e) => e.hint.as_deref(),
            TransferError::Store(e) => e.full_disk_hint(),
        }
    }
}

/// The outcome of a batch: what succeeded and what failed, per object.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub done: Vec<Oid>,
    pub failed: Vec<(Oid, TransferError)>,
    pub bytes: u64,
    /// Downloads whose tee file holds the verified object.
    pub teed: HashSet<Oid>,
}

/// The transfer engine.
pub(crate) struct Transfer {
    rt: tokio::runtime::Runtime,
    concurrency: usize,
    retry: Arc<Retry>,
}

impl Transfer {
    pub(crate) fn new(concurrency: usize, policy: Policy) -> std::io::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(concurrency.clamp(2, 16))
            .enable_all()
            .build()?;
        let retry = Arc::new(Retry::new(policy));
        Ok(Transfer { rt, concurrency: concurrency.max(1), retry })
    }

    /// Runs a future on the runtime.
    pub(crate) fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// One remote call (`check`, `list`), retried by the command's retry layer.
    pub(crate) fn call<T, F, Fut>(&self, op: F) -> Result<T, RemoteError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, RemoteError>>,
    {
        self.rt.block_on(self.retry.run(&Progress::hidden(), op))
    }

    /// The command's retry layer, for remote calls made inside [`Transfer::run`].
    pub(crate) fn retry(&self) -> Arc<Retry> {
        self.retry.clone()
    }

    /// The objects of `objects` the remote does not have (or holds with another size):
    /// one batched check where the remote offers one, else one check per object in parallel.
    pub(crate) fn missing(
        &self,
        remote: &Arc<dyn Remote>,
        objects: &[(Oid, u64)],
    ) -> Result<Vec<(Oid, u64)>, RemoteError> {
        let objects = dedup(objects);
        if objects.is_empty() {
            return Ok(Vec::new());
        }
        let sized: Vec<(Key, u64)> = objects.iter().map(|(o, s)| (Key::Object(*o), *s)).collect();
        let sizes = match self.call(|| remote.stat_sized(&sized))? {
            Some(sizes) => sizes,
            None => {
                let results = self.run(
                    objects.clone(),
                    |remote, (oid, _)| {
                        let retry = self.retry();
                        async move {
                            let key = Key::Object(oid);
                            (oid, retry.run(&Progress::hidden(), || remote.stat(&key)).await)
                        }
                    },
                    remote,
                );
                let by_oid: std::collections::HashMap<Oid, Result<Option<u64>, RemoteError>> =
                    results.into_iter().collect();
                let mut sizes = Vec::with_capacity(objects.len());
                for (oid, _) in &objects {
                    match by_oid.get(oid) {
                        Some(Ok(s)) => sizes.push(*s),
                        Some(Err(e)) => return Err(e.clone()),
                        None => sizes.push(None),
                    }
                }
                sizes
            }
        };
        // A different size on the remote is a broken object: upload over it.
        Ok(objects
            .into_iter()
            .zip(sizes)
            .filter(|((_, size), stored)| *stored != Some(*size))
            .map(|(o, _)| o)
            .collect())
    }

    /// Uploads objects from the cache.
    pub(crate) fn upload(
        &self,
        remote: &Arc<dyn Remote>,
        store: &Arc<Store>,
        objects: &[(Oid, u64)],
        progress: &Progress,
    ) -> Report {
        let results = self.run(
            dedup(objects),
            |remote, (oid, size)| {
                let store = store.clone();
                let progress = progress.clone();
                let retry = self.retry();
                async move {
                    let result = async {
                        let (_file, path) =
                            tokio::task::block_in_place(|| store.open_verified(&oid, size))?;
                        let key = Key::Object(oid);
                        retry.run(&progress, || remote.put(&key, &path, size, &progress)).await?;
                        Ok(size)
                    };
                    (oid, result.await)
                }
            },
            remote,
        );
        collect(results, Report::default())
    }

    /// Downloads objects into the cache, verifying each against its oid; each object that is
    /// downloaded also streams into its file in `tees` (empty files, such as a work-tree
    /// file's temp). The oids whose tee got the verified object are in [`Report::teed`]; any
    /// other tee holds nothing to trust.
    pub(crate) fn download_teed(
        &self,
        remote: &Arc<dyn Remote>,
        store: &Arc<Store>,
        objects: &[(Oid, u64)],
        tees: HashMap<Oid, File>,
        progress: &Progress,
    ) -> Report {
        let tees = Arc::new(Mutex::new(tees));
        let results = self.run(
            dedup(objects),
            |remote, (oid, size)| {
                let store = store.clone();
                let progress = progress.clone();
                let tee = tees.lock().ok().and_then(|mut t| t.remove(&oid));
                let retry = self.retry();
                async move {
                    (oid, download_one(&*remote, &store, oid, size, tee, &retry, &progress).await)
                }
            },
            remote,
        );
        let mut report = Report::default();
        let mut plain = Vec::with_capacity(results.len());
        for (oid, r) in results {
            if let Ok((_, true)) = r {
                report.teed.insert(oid);
            }
            plain.push((oid, r.map(|(n, _)| n)));
        }
        collect(plain, report)
    }

    /// Runs `op` for every item with at most `concurrency` in flight; results in any order.
    pub(crate) fn run<I, T, F, Fut>(&self, items: Vec<I>, op: F, remote: &Arc<dyn Remote>) -> Vec<T>
    where
        I: Send + 'static,
        T: Send + 'static,
        F: Fn(Arc<dyn Remote>, I) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
    {
        self.rt.block_on(async {
            let limit = Arc::new(Semaphore::new(self.concurrency));
            let mut set = JoinSet::new();
            for item in items {
                let fut = op(remote.clone(), item);
                let limit = limit.clone();
                set.spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    fut.await
                });
            }
            let mut out = Vec::new();
            while let Some(res) = set.join_next().await {
                match res {
                    Ok(v) => out.push(v),
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Err(_) => {}
                }
            }
            out
        })
    }
}

fn dedup(objects: &[(Oid, u64)]) -> Vec<(Oid, u64)> {
    let mut seen = HashSet::new();
    objects.iter().filter(|(o, _)| seen.insert(*o)).copied().collect()
}

fn collect(results: Vec<(Oid, Result<u64, TransferError>)>, mut report: Report) -> Report {
    for (oid, r) in results {
        match r {
            Ok(size) => {
                report.done.push(oid);
                report.bytes += size;
            }
            Err(e) => report.failed.push((oid, e)),
        }
    }
    report
}

/// Downloads one object; the flag says whether `tee` received it.
async fn download_one(
    remote: &dyn Remote,
    store: &Store,
    oid: Oid,
    size: u64,
    tee: Option<File>,
    retry: &Retry,
    progress: &Progress,
) -> Result<(u64, bool), TransferError> {
    if store.contains(&oid, size) {
        progress.inc(size);
        return Ok((size, false));
    }
    // A pointer of the wrong size names an object the cache may hold already: nothing to
    // download; whoever reads it with that size is told the pointer is wrong.
    if let Some(actual) = tokio::task::block_in_place(|| store.intact_size(&oid)) {
        progress.inc(size);
        return Ok((actual, false));
    }
    let mut sink = store.begin_for(&oid)?;
    let teed = tee.is_some();
    if let Some(file) = tee {
        sink.tee(file);
    }
    let mut attempts = retry.attempts(progress);
    loop {
        let got = remote.get_sized(&Key::Object(oid), size, &mut sink, progress).await;
        // the cache's own write failed (a full disk): not the remote's fault
        if let (Err(_), Some(local)) = (&got, sink.write_error()) {
            let path = store.object_path(&oid);
            return Err(StoreError::io(path.parent().unwrap_or(store.objects_dir()), local).into());
        }
        match got {
            Ok(()) => break,
            Err(e) if e.kind == ErrorKind::NotFound && e.hint.is_none() => {
                return Err(e.with_hint(crate::sync::remote::repair_hint()).into());
            }
            Err(e) => {
                attempts.after(e).await?;
                sink.reset().map_err(|e| StoreError::io(&store.object_path(&oid), e))?;
            }
        }
    }
    // Bytes that hash to the oid are the object, whatever size the pointer claimed.
    let (got, got_size) = sink.digest();
    let expect = (oid, if got == oid { got_size } else { size });
    match tokio::task::block_in_place(|| store.commit(sink, Some(expect))) {
        Ok(_) => Ok((got_size, teed && got_size == size)),
        Err(StoreError::Commit(CommitError::Mismatch { actual, actual_size, .. })) => Err(RemoteError::new(
            remote.name(),
            ErrorKind::Corrupt,
            format!("object {oid} on the remote is corrupt: its {actual_size} bytes hash to {actual}"),
        )
        .with_hint(crate::sync::remote::repair_hint())
        .into()),
        Err(e) => Err(e.into()),
    }
}
