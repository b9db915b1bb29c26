//! The transfer queue: existence checks, uploads and downloads with bounded parallelism,
//! retries with backoff on transient errors, and progress. Owns the one tokio runtime and
//! exposes a blocking API, so the rest of the program stays synchronous.
//!
//! Invariants: each object is transferred once per call (inputs are deduplicated); an upload
//! reads the cache object only after it was verified; a download lands in the cache only
//! after its bytes hashed to its oid; one failed object never stops the others, and every
//! failure is reported with its oid.

use crate::atomic::CommitError;
use crate::oid::Oid;
use crate::progress::Progress;
use crate::remote::{ErrorKind, Key, Remote, RemoteError};
use crate::store::{Store, StoreError};
use backon::{BackoffBuilder, ExponentialBuilder};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Why one object could not be transferred.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TransferError {
    pub fn hint(&self) -> Option<&str> {
        match self {
            TransferError::Remote(e) => e.hint.as_deref(),
            TransferError::Store(e) => e.full_disk_hint(),
        }
    }
}

/// The outcome of a batch: what succeeded and what failed, per object.
#[derive(Debug, Default)]
pub struct Report {
    pub done: Vec<Oid>,
    pub failed: Vec<(Oid, TransferError)>,
    pub bytes: u64,
    /// Downloads whose tee file holds the verified object.
    pub teed: HashSet<Oid>,
}

/// The transfer engine.
pub struct Transfer {
    rt: tokio::runtime::Runtime,
    concurrency: usize,
    retries: u32,
}

impl Transfer {
    pub fn new(concurrency: usize, retries: u32) -> std::io::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(concurrency.clamp(2, 16))
            .enable_all()
            .build()?;
        Ok(Transfer { rt, concurrency: concurrency.max(1), retries })
    }

    /// Runs a future on the runtime (for one-off remote calls such as `check`).
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The objects of `objects` the remote does not have (or holds with another size):
    /// one batched check where the remote offers one, else one check per object in parallel.
    pub fn missing(
        &self,
        remote: &Arc<dyn Remote>,
        objects: &[(Oid, u64)],
    ) -> Result<Vec<(Oid, u64)>, RemoteError> {
        let objects = dedup(objects);
        if objects.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<Key> = objects.iter().map(|(o, _)| Key::Object(*o)).collect();
        let sizes = match self.rt.block_on(remote.stat_batch(&keys))? {
            Some(sizes) => sizes,
            None => {
                let results = self.run(
                    objects.clone(),
                    |remote, (oid, _)| async move { (oid, remote.stat(&Key::Object(oid)).await) },
                    remote,
                );
                let by_oid: std::collections::HashMap<Oid, Result<Option<u64>, RemoteError>> =
                    results.into_iter().collect();
                let mut sizes = Vec::with_capacity(objects.len());
                for (oid, _) in &objects {
                    match by_oid.get(oid) {
                        Some(Ok(s)) => sizes.push(*s),
                        Some(Err(e)) => {
                            return Err(RemoteError {
                                remote: e.remote.clone(),
                                kind: e.kind,
                                message: e.message.clone(),
                                hint: e.hint.clone(),
                            });
                        }
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
    pub fn upload(
        &self,
        remote: &Arc<dyn Remote>,
        store: &Arc<Store>,
        objects: &[(Oid, u64)],
        progress: &Progress,
    ) -> Report {
        let retries = self.retries;
        let results = self.run(
            dedup(objects),
            |remote, (oid, size)| {
                let store = store.clone();
                let progress = progress.clone();
                async move {
                    let result = async {
                        let (_file, path) =
                            tokio::task::block_in_place(|| store.open_verified(&oid, size))?;
                        let key = Key::Object(oid);
                        retry(retries, || remote.put(&key, &path, size, &progress)).await?;
                        Ok(size)
                    };
                    (oid, result.await)
                }
            },
            remote,
        );
        collect(results, Report::default())
    }

    /// Downloads objects into the cache, verifying each against its oid.
    pub fn download(
        &self,
        remote: &Arc<dyn Remote>,
        store: &Arc<Store>,
        objects: &[(Oid, u64)],
        progress: &Progress,
    ) -> Report {
        self.download_teed(remote, store, objects, HashMap::new(), progress)
    }

    /// Like [`Transfer::download`], and each object that is downloaded also streams into its
    /// file in `tees` (empty files, such as a work-tree file's temp). The oids whose tee got
    /// the verified object are in [`Report::teed`]; any other tee holds nothing to trust.
    pub fn download_teed(
        &self,
        remote: &Arc<dyn Remote>,
        store: &Arc<Store>,
        objects: &[(Oid, u64)],
        tees: HashMap<Oid, File>,
        progress: &Progress,
    ) -> Report {
        let retries = self.retries;
        let tees = Arc::new(Mutex::new(tees));
        let results = self.run(
            dedup(objects),
            |remote, (oid, size)| {
                let store = store.clone();
                let progress = progress.clone();
                let tee = tees.lock().ok().and_then(|mut t| t.remove(&oid));
                async move {
                    (oid, download_one(&*remote, &store, oid, size, tee, retries, &progress).await)
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
    retries: u32,
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
    let mut delays = backoff(retries);
    loop {
        let got = remote.get(&Key::Object(oid), &mut sink, progress).await;
        // the cache's own write failed (a full disk): not the remote's fault
        if let (Err(_), Some(local)) = (&got, sink.write_error()) {
            let path = store.object_path(&oid);
            return Err(StoreError::io(path.parent().unwrap_or(store.objects_dir()), local).into());
        }
        match got {
            Ok(()) => break,
            Err(e) if e.is_retryable() => match delays.next() {
                Some(delay) => {
                    tokio::time::sleep(delay).await;
                    sink.reset().map_err(|e| StoreError::io(&store.object_path(&oid), e))?;
                }
                None => return Err(e.into()),
            },
            Err(e) if e.kind == ErrorKind::NotFound && e.hint.is_none() => {
                return Err(e.with_hint(crate::remote::repair_hint()).into());
            }
            Err(e) => return Err(e.into()),
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
        .with_hint(crate::remote::repair_hint())
        .into()),
        Err(e) => Err(e.into()),
    }
}

fn backoff(retries: u32) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(10))
        .with_max_times(retries as usize)
        .with_jitter()
        .build()
}

/// Retries `op` on retryable errors with exponential backoff and jitter.
pub async fn retry<T, F, Fut>(retries: u32, mut op: F) -> Result<T, RemoteError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RemoteError>>,
{
    let mut delays = backoff(retries);
    loop {
        match op().await {
            Err(e) if e.is_retryable() => match delays.next() {
                Some(d) => tokio::time::sleep(d).await,
                None => return Err(e),
            },
            other => return other,
        }
    }
}
