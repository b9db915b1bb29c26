//! The remote on Google Cloud Storage (`gs://bucket/prefix`), spoken to natively: objects at
//! `<prefix>/objects/ab/cd/<oid>` in a bucket, read, listed and deleted through object_store,
//! written through the JSON API (see upload.rs).
//!
//! Invariants: objects appear whole or not at all and their stored size is checked; large
//! objects are downloaded as ranges fetched in parallel but written in order into the
//! caller's hashing sink (memory bounded by concurrency × part size, whatever the object's
//! size); the client is built once, on first use, with no retries of its own (each call is
//! one attempt; crate::sync::retry decides what is tried again); credentials never appear
//! in output.

mod auth;
mod error;
mod session;
mod upload;

use super::{ErrorKind, Key, Listed, Remote, RemoteError};
use crate::fs::atomic::AtomicFile;
use crate::progress::Progress;
use async_trait::async_trait;
use auth::Auth;
use futures_util::{StreamExt, TryStreamExt, stream};
use object_store::gcp::GoogleCloudStorage;
use object_store::path::Path as StorePath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::{OnceCell, Semaphore};

/// Everything a GCS remote needs, resolved from configuration and the environment.
#[derive(Clone, Debug)]
pub(crate) struct GcsSettings {
    pub name: String,
    pub bucket: String,
    pub prefix: String,
    /// Where requests go, without a trailing slash.
    pub endpoint: String,
    pub auth: Auth,
    /// GOOGLE_APPLICATION_CREDENTIALS, checked when the remote is opened.
    pub credential_file: Option<String>,
    pub part_size: u64,
    pub concurrency: usize,
    /// From this many keys on, existence checks list shard prefixes (one HEAD each below).
    pub list_threshold: usize,
    /// Where resumable uploads are recorded.
    pub state_dir: PathBuf,
}

/// Opens a GCS remote: resolves the endpoint and how to authenticate, and checks a
/// configured credential file now, so that a broken one is one clear error.
pub(crate) fn open(
    name: &str,
    bucket: String,
    prefix: String,
    configured_endpoint: Option<&str>,
    sizes: (u64, usize, usize),
    state_dir: &Path,
) -> Result<Arc<dyn Remote>, RemoteError> {
    let credential_file =
        std::env::var("GOOGLE_APPLICATION_CREDENTIALS").ok().filter(|v| !v.trim().is_empty());
    if let Some(path) = &credential_file {
        auth::check_credential_file(name, path)?;
    }
    let (endpoint, anonymous) = resolve_endpoint(configured_endpoint);
    let auth = if anonymous { Auth::Anonymous } else { Auth::Google };
    let (part_size, concurrency, list_threshold) = sizes;
    Ok(Arc::new(GcsRemote::new(GcsSettings {
        name: name.to_string(),
        bucket,
        prefix,
        endpoint,
        auth,
        credential_file,
        part_size,
        concurrency,
        list_threshold,
        state_dir: state_dir.to_path_buf(),
    })))
}

/// The endpoint a remote uses (its own, else STORAGE_EMULATOR_HOST, else Google's), and
/// whether it goes without credentials: a token is never sent in clear, so an endpoint on
/// plain HTTP is an emulator.
pub(crate) fn resolve_endpoint(configured: Option<&str>) -> (String, bool) {
    let emulator = std::env::var("STORAGE_EMULATOR_HOST").ok();
    let endpoint = auth::endpoint(configured, emulator.as_deref());
    let anonymous = endpoint.starts_with("http://");
    (endpoint, anonymous)
}

pub(crate) struct GcsRemote {
    s: GcsSettings,
    store: OnceCell<GoogleCloudStorage>,
    /// For the JSON API uploads.
    http: reqwest::Client,
    slots: Arc<Semaphore>,
    /// Ranges of large downloads in flight (each holds a part in memory).
    ranges: Semaphore,
}

impl GcsRemote {
    fn new(s: GcsSettings) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .read_timeout(auth::READ_TIMEOUT)
            .build()
            .unwrap_or_default();
        let slots = Arc::new(Semaphore::new(s.concurrency.max(1)));
        let ranges = Semaphore::new(s.concurrency.max(1));
        GcsRemote { s, store: OnceCell::new(), http, slots, ranges }
    }

    /// The client, built once; with Google credentials, a first token is fetched then, so
    /// that "none anywhere" is one clear error rather than a failure per object.
    async fn store(&self) -> Result<&GoogleCloudStorage, RemoteError> {
        self.store
            .get_or_try_init(|| async {
                let store = auth::build(&auth::Target {
                    remote: &self.s.name,
                    bucket: &self.s.bucket,
                    endpoint: &self.s.endpoint,
                    auth: &self.s.auth,
                    credential_file: self.s.credential_file.as_deref(),
                })?;
                auth::token(&store, &self.s.auth, &self.s.name).await?;
                Ok(store)
            })
            .await
    }

    async fn token(&self) -> Result<Option<String>, RemoteError> {
        auth::token(self.store().await?, &self.s.auth, &self.s.name).await
    }

    /// The object name of `key` in the bucket.
    fn object_name(&self, key: &Key) -> String {
        if self.s.prefix.is_empty() {
            key.path()
        } else {
            format!("{}/{}", self.s.prefix, key.path())
        }
    }

    /// `<prefix>/objects/` (or `objects/` without a prefix).
    fn objects_base(&self) -> String {
        if self.s.prefix.is_empty() {
            "objects/".to_string()
        } else {
            format!("{}/objects/", self.s.prefix)
        }
    }

    fn err(&self, doing: &str, e: &object_store::Error) -> RemoteError {
        error::classify(&self.s.name, doing, &self.s.endpoint, e)
    }

    /// The stored size of an object, `None` when absent.
    async fn stat_object(&self, name: &str) -> Result<Option<u64>, RemoteError> {
        match self.store().await?.head(&StorePath::from(name)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(e) => {
                let err = self.err(&format!("look up {name}"), &e);
                if err.kind == ErrorKind::NotFound { Ok(None) } else { Err(err) }
            }
        }
    }

    /// Every object under `objects/<below>`, following the listing to its end (or failing
    /// whole: a caller never acts on half a listing); other names are left out.
    async fn list_under(&self, below: &str) -> Result<Vec<Listed>, RemoteError> {
        let store = self.store().await?;
        let base = self.objects_base();
        let prefix = StorePath::from(format!("{base}{below}").trim_end_matches('/'));
        let doing = format!("list {base}{below}");
        let mut listing = store.list(Some(&prefix));
        let mut out = Vec::new();
        while let Some(meta) = listing.try_next().await.map_err(|e| self.err(&doing, &e))? {
            let name = meta.location.to_string();
            if let Some(key) = name.strip_prefix(&base).and_then(Key::from_object_path) {
                let modified = Some(SystemTime::from(meta.last_modified));
                out.push(Listed { key, size: meta.size, modified });
            }
        }
        Ok(out)
    }

    fn write_err(&self, name: &str, e: std::io::Error) -> RemoteError {
        RemoteError::new(
            &self.s.name,
            ErrorKind::Other,
            format!("cannot write the download of {name}: {e}"),
        )
    }

    async fn upload(
        &self,
        key: &Key,
        src: &Path,
        size: u64,
        progress: &Progress,
        overwrite: bool,
    ) -> Result<(), RemoteError> {
        let object = self.object_name(key);
        let _slot = self.slots.acquire().await;
        upload::Upload { remote: self, object: &object, src, size, progress, overwrite }.run().await
    }
}

#[async_trait]
impl Remote for GcsRemote {
    fn name(&self) -> &str {
        &self.s.name
    }

    fn location(&self) -> String {
        let url = if self.s.prefix.is_empty() {
            format!("gs://{}", self.s.bucket)
        } else {
            format!("gs://{}/{}", self.s.bucket, self.s.prefix)
        };
        if self.s.endpoint == auth::GOOGLE {
            url
        } else {
            format!("{url} at {}", super::redact(&self.s.endpoint))
        }
    }

    async fn check(&self) -> Result<(), RemoteError> {
        let store = self.store().await?;
        let prefix = StorePath::from(self.objects_base().trim_end_matches('/'));
        let mut listing = store.list(Some(&prefix));
        match listing.next().await {
            Some(Err(e)) => {
                let err = self.err(&format!("open bucket `{}`", self.s.bucket), &e);
                if err.kind != ErrorKind::NotFound {
                    return Err(err);
                }
                let (bucket, at) = (&self.s.bucket, &self.s.endpoint);
                let msg = format!("bucket `{bucket}` does not exist at {at}");
                Err(RemoteError::new(&self.s.name, ErrorKind::Unavailable, &msg)
                    .with_cause(msg)
                    .with_hint("create the bucket, or fix the remote's URL or endpoint (`git data remote add --force NAME gs://BUCKET/PREFIX`)"))
            }
            _ => Ok(()),
        }
    }

    async fn stat(&self, key: &Key) -> Result<Option<u64>, RemoteError> {
        self.stat_object(&self.object_name(key)).await
    }

    async fn stat_batch(&self, keys: &[Key]) -> Result<Option<Vec<Option<u64>>>, RemoteError> {
        if keys.len() < self.s.list_threshold {
            return Ok(None);
        }
        let list = |shard: String| async move { self.list_under(&format!("{shard}/")).await };
        Ok(Some(super::stat_by_shards(keys, self.s.concurrency, list).await?))
    }

    async fn put(
        &self,
        key: &Key,
        src: &Path,
        size: u64,
        progress: &Progress,
    ) -> Result<(), RemoteError> {
        self.upload(key, src, size, progress, false).await
    }

    async fn put_over(
        &self,
        key: &Key,
        src: &Path,
        size: u64,
        progress: &Progress,
    ) -> Result<(), RemoteError> {
        self.upload(key, src, size, progress, true).await
    }

    async fn get(
        &self,
        key: &Key,
        sink: &mut AtomicFile,
        progress: &Progress,
    ) -> Result<(), RemoteError> {
        let store = self.store().await?;
        let name = self.object_name(key);
        let path = StorePath::from(name.as_str());
        let doing = format!("download {name}");
        let part = self.s.part_size.max(1);
        // the first part, which also tells the size; the rest in parallel ranges, in order
        let opts = GetOptions { range: Some(GetRange::Bounded(0..part)), ..Default::default() };
        let first = store.get_opts(&path, opts).await.map_err(|e| self.err(&doing, &e))?;
        let size = first.meta.size;
        let mut body = first.into_stream();
        while let Some(chunk) = body.try_next().await.map_err(|e| self.err(&doing, &e))? {
            sink.write_all(&chunk).map_err(|e| self.write_err(&name, e))?;
            progress.inc(chunk.len() as u64);
        }
        let ranges: Vec<_> =
            (1..size.div_ceil(part)).map(|i| i * part..size.min((i + 1) * part)).collect();
        if ranges.is_empty() {
            return Ok(());
        }
        // All of a download's slots at once (never some, then more: no two downloads can
        // wait on each other), so that the ranges held in memory across all downloads stay
        // within concurrency × part size.
        let window = self.s.concurrency.clamp(1, ranges.len());
        let _slots = self.ranges.acquire_many(window as u32).await;
        let mut parts = stream::iter(ranges.into_iter().map(|r| {
            let path = path.clone();
            async move { store.get_range(&path, r).await }
        }))
        .buffered(window);
        while let Some(bytes) = parts.next().await {
            let bytes = bytes.map_err(|e| self.err(&doing, &e))?;
            sink.write_all(&bytes).map_err(|e| self.write_err(&name, e))?;
            progress.inc(bytes.len() as u64);
        }
        Ok(())
    }

    async fn list(&self) -> Result<Vec<Listed>, RemoteError> {
        self.list_under("").await
    }

    async fn list_runs(&self) -> Result<Option<Vec<Listed>>, RemoteError> {
        let store = self.store().await?;
        let objects = self.objects_base();
        let base = format!("{}runs/", &objects[..objects.len() - "objects/".len()]);
        let doing = format!("list {base}");
        let mut listing = store.list(Some(&StorePath::from(base.trim_end_matches('/'))));
        let mut out = Vec::new();
        while let Some(meta) = listing.try_next().await.map_err(|e| self.err(&doing, &e))? {
            let name = meta.location.to_string();
            if let Some(key) = name.strip_prefix(&base).and_then(Key::from_run_path) {
                let modified = Some(SystemTime::from(meta.last_modified));
                out.push(Listed { key, size: meta.size, modified });
            }
        }
        Ok(Some(out))
    }

    async fn delete(&self, key: &Key) -> Result<(), RemoteError> {
        let name = self.object_name(key);
        match self.store().await?.delete(&StorePath::from(name.as_str())).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let err = self.err(&format!("delete {name}"), &e);
                if err.kind == ErrorKind::NotFound { Ok(()) } else { Err(err) }
            }
        }
    }
}
