//! Remotes: where objects are shared. A [`Remote`] stores immutable objects under keys laid
//! out as `objects/ab/cd/<oid>` below its root, for every implementation.
//!
//! Contract for every implementation: `put` makes the object appear whole or not at all and
//! checks what it stored (size, and a checksum where the store offers one); `get` writes the
//! bytes into the caller's [`AtomicFile`], which hashes them, so nothing unverified reaches
//! the cache; `put` may keep an object of the right size that is already there (any number
//! of writers may store the same object at once), `put_over` replaces it; errors carry a kind
//! that decides retries, never their text, and no implementation retries by itself (that is
//! crate::sync::retry's job, the one layer that does). Keys are an enum
//! so later object kinds (chunks, chunk lists) fit beside whole objects; run-cache entries
//! ([`Key::Run`], `runs/ab/<key>`) are the one kind whose bytes do not hash to their key: a
//! reader checks them by their content (crate::pipeline::runcache).

pub(crate) mod azure;
pub(crate) mod dir;
pub(crate) mod gcs;
pub(crate) mod lfs;
pub(crate) mod s3;
pub(crate) mod url;

use crate::config::{Config, RemoteEntry};
use crate::fs::atomic::AtomicFile;
use crate::oid::Oid;
use crate::progress::Progress;
use async_trait::async_trait;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;
pub(crate) use url::{Location, UrlError, check_endpoint, parse_url, redact};

/// The one command that mends a remote: it hashes the remote's copies and uploads verified
/// bytes from the cache over damaged or missing ones.
pub(crate) const REPAIR_COMMAND: &str = "git data fsck --remote --repair";

/// The hint for an object the remote holds damaged (or lacks).
pub(crate) fn repair_hint() -> String {
    format!(
        "in a clone that has this file's data, `{REPAIR_COMMAND}` (add `--all` for older \
         commits) uploads a good copy; then `git data pull` here"
    )
}

/// What a remote stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// A whole file, named by the SHA-256 of its bytes.
    Object(Oid),
    /// A run-cache entry of `git data repro`, named by its run key (a SHA-256 of what the
    /// stage read); a small text naming the objects of the stage's outputs.
    Run(Oid),
}

impl Key {
    /// The key's path below the remote's root.
    pub(crate) fn path(&self) -> String {
        match self {
            Key::Object(oid) => format!("objects/{}", oid.shard_path()),
            Key::Run(key) => {
                let hex = key.to_hex();
                format!("runs/{}/{hex}", &hex[..2])
            }
        }
    }

    /// The key of a path below `runs/` (`ab/<key>`); `None` for anything else.
    pub(crate) fn from_run_path(rest: &str) -> Option<Key> {
        let key = Oid::from_hex(rest.get(3..)?).ok()?;
        (Key::Run(key).path().get("runs/".len()..) == Some(rest)).then_some(Key::Run(key))
    }

    /// The key of a path below `objects/` (`ab/cd/<oid>`); `None` for anything else (temps,
    /// foreign files, an oid under the wrong shard).
    pub(crate) fn from_object_path(rest: &str) -> Option<Key> {
        let oid = Oid::from_hex(rest.get(6..)?).ok()?;
        (Key::Object(oid).path().get("objects/".len()..) == Some(rest)).then_some(Key::Object(oid))
    }
}

/// An object a listing found on a remote.
#[derive(Clone, Debug)]
pub(crate) struct Listed {
    pub key: Key,
    pub size: u64,
    /// When it was stored, where the remote says.
    pub modified: Option<SystemTime>,
}

/// Why a remote operation failed; the kind decides whether to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// The object is not on the remote.
    NotFound,
    /// The remote does not exist or cannot be used (missing directory or bucket).
    Unavailable,
    /// No connection could be made to the endpoint (refused, name not resolved): retried
    /// briefly, in case a server is restarting.
    Unreachable,
    /// Permission denied or bad credentials.
    Denied,
    /// The store asked us to slow down.
    Throttled,
    /// A failure that may pass (5xx, connection reset, timeout).
    Transient,
    /// Data on the remote does not match its key.
    Corrupt,
    /// Anything else.
    Other,
}

/// A remote failure, naming the remote and, where known, the fix.
#[derive(Clone, Debug, thiserror::Error)]
#[error("remote {remote}: {message}")]
pub(crate) struct RemoteError {
    pub remote: String,
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
    /// What went wrong, without the object it happened to: retries are reported once per
    /// cause, not once per object.
    pub cause: Option<String>,
}

impl RemoteError {
    pub(crate) fn new(remote: &str, kind: ErrorKind, message: impl Into<String>) -> Self {
        let message = message.into();
        RemoteError { remote: remote.to_string(), kind, message, hint: None, cause: None }
    }

    pub(crate) fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    /// The cause shared by every object that fails this way (the message when unknown).
    pub(crate) fn cause(&self) -> &str {
        self.cause.as_deref().unwrap_or(&self.message)
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// A place objects are pushed to and fetched from.
#[async_trait]
pub(crate) trait Remote: Send + Sync {
    /// The remote's name in `.gitdata.yaml`.
    fn name(&self) -> &str;
    /// Where it points, for messages (never contains a secret).
    fn location(&self) -> String;
    /// Checks the remote is there and usable; errors say how to fix it.
    async fn check(&self) -> Result<(), RemoteError>;
    /// The directory where this remote keeps partial uploads, when it is a local path (a
    /// directory remote's `tmp/`): gc removes what interrupted pushes left there.
    fn temp_dir(&self) -> Option<std::path::PathBuf> {
        None
    }
    /// The stored size of `key`, or `None` when absent.
    async fn stat(&self, key: &Key) -> Result<Option<u64>, RemoteError>;
    /// The sizes of many keys at once when the store has a cheaper way than one `stat` per
    /// key (S3: listing the shard prefixes); `None` means "ask one by one".
    async fn stat_batch(&self, _keys: &[Key]) -> Result<Option<Vec<Option<u64>>>, RemoteError> {
        Ok(None)
    }
    /// The stored sizes of objects whose expected sizes the caller knows (from their
    /// pointers): for a store that needs the size to answer (the Git LFS Batch API). The
    /// default asks [`Remote::stat_batch`].
    async fn stat_sized(
        &self,
        objects: &[(Key, u64)],
    ) -> Result<Option<Vec<Option<u64>>>, RemoteError> {
        let keys: Vec<Key> = objects.iter().map(|(k, _)| *k).collect();
        self.stat_batch(&keys).await
    }
    /// Stores the `size` bytes of the local file `src` at `key` (whole or not at all).
    async fn put(
        &self,
        key: &Key,
        src: &Path,
        size: u64,
        progress: &Progress,
    ) -> Result<(), RemoteError>;
    /// Stores the `size` bytes of `src` at `key` over whatever is there (a damaged copy),
    /// still whole or not at all: for repairs. `put` of a store that always replaces (one
    /// PUT or a completed multipart upload on S3) already does this; the default calls it.
    async fn put_over(
        &self,
        key: &Key,
        src: &Path,
        size: u64,
        progress: &Progress,
    ) -> Result<(), RemoteError> {
        self.put(key, src, size, progress).await
    }
    /// Writes the bytes at `key` into `sink` (which hashes them).
    async fn get(
        &self,
        key: &Key,
        sink: &mut AtomicFile,
        progress: &Progress,
    ) -> Result<(), RemoteError>;
    /// [`Remote::get`] of an object whose size the caller knows (from its pointer), for a
    /// store that needs the size to find it (the Git LFS Batch API); the default ignores it.
    async fn get_sized(
        &self,
        key: &Key,
        _size: u64,
        sink: &mut AtomicFile,
        progress: &Progress,
    ) -> Result<(), RemoteError> {
        self.get(key, sink, progress).await
    }
    /// Every object the remote holds (for `gc --remote`); other files are left out.
    async fn list(&self) -> Result<Vec<Listed>, RemoteError>;
    /// Whether `list` and `delete` work: a Git LFS server's API has neither.
    fn can_delete(&self) -> bool {
        true
    }
    /// Whether the remote can hold run-cache entries ([`Key::Run`]): a Git LFS server only
    /// holds objects.
    fn holds_runs(&self) -> bool {
        true
    }
    /// Every run-cache entry the remote holds (for `gc --remote` only: a lookup reads one
    /// key); `None` where the store cannot list them.
    async fn list_runs(&self) -> Result<Option<Vec<Listed>>, RemoteError> {
        Ok(None)
    }
    /// Deletes `key`; a key that is not there is success.
    async fn delete(&self, key: &Key) -> Result<(), RemoteError>;
}

/// The sizes of `keys` from one listing per first-level shard they fall in (`ab` of
/// `objects/ab/cd/<oid>`), `concurrency` listings at a time: `stat_batch` of the stores where
/// a listing is cheaper than a lookup per key (S3, GCS). `list_shard` lists one shard.
pub(crate) async fn stat_by_shards<F, Fut>(
    keys: &[Key],
    concurrency: usize,
    list_shard: F,
) -> Result<Vec<Option<u64>>, RemoteError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Listed>, RemoteError>>,
{
    use futures_util::{StreamExt, stream};
    let mut shards: Vec<String> =
        keys.iter().map(|k| k.path()["objects/".len()..][..2].to_string()).collect();
    shards.sort();
    shards.dedup();
    let listings: Vec<_> = stream::iter(shards.into_iter().map(list_shard))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut found = std::collections::HashMap::new();
    for listing in listings {
        found.extend(listing?.into_iter().map(|l| (l.key, l.size)));
    }
    Ok(keys.iter().map(|k| found.get(k).copied()).collect())
}

/// Opens the remote `name` (or the default one) of a resolved configuration.
pub(crate) fn open(
    config: &Config,
    name: Option<&str>,
    base: &Path,
    state_dir: &Path,
) -> Result<Arc<dyn Remote>, RemoteError> {
    let name = match name.map(str::to_string).or_else(|| config.default_remote.clone()) {
        Some(n) => n,
        None => {
            return Err(RemoteError::new(
                "(none)",
                ErrorKind::Unavailable,
                "no data remote is configured",
            )
            .with_hint(
                "add one with `git data remote add NAME URL` (a directory or s3://bucket/prefix)",
            ));
        }
    };
    let Some(entry) = config.file.remotes.get(&name) else {
        let known: Vec<&str> = config.file.remotes.keys().map(String::as_str).collect();
        return Err(RemoteError::new(
            &name,
            ErrorKind::Unavailable,
            "no such remote in .gitdata.yaml",
        )
        .with_hint(if known.is_empty() {
            "add it with `git data remote add NAME URL`".to_string()
        } else {
            format!("known remotes: {}", known.join(", "))
        }));
    };
    open_entry(config, &name, entry, base, state_dir)
}

/// Opens a remote from its configuration entry.
pub(crate) fn open_entry(
    config: &Config,
    name: &str,
    entry: &RemoteEntry,
    base: &Path,
    state_dir: &Path,
) -> Result<Arc<dyn Remote>, RemoteError> {
    let refused =
        |e: UrlError| RemoteError::new(name, ErrorKind::Other, e.message).with_hint(e.hint);
    if let Some(endpoint) = &entry.endpoint {
        check_endpoint(endpoint).map_err(refused)?;
    }
    match parse_url(&entry.url, base).map_err(refused)? {
        Location::Directory(root) => Ok(Arc::new(dir::DirRemote::new(name, root))),
        Location::S3 { bucket, prefix } => Ok(Arc::new(s3::S3Remote::new(s3::S3Settings {
            name: name.to_string(),
            bucket,
            prefix,
            endpoint: entry.endpoint.clone(),
            region: entry.region.clone(),
            path_style: entry.path_style.unwrap_or(false),
            profile: entry.profile.clone(),
            checksums: entry.checksums.unwrap_or_default(),
            keys: config.keys.get(name).cloned(),
            part_size: config.part_size,
            list_threshold: config.list_threshold,
            concurrency: config.concurrency,
            state_dir: state_dir.to_path_buf(),
        }))),
        Location::Gcs { bucket, prefix } => gcs::open(
            name,
            bucket,
            prefix,
            entry.endpoint.as_deref(),
            (config.part_size, config.concurrency, config.list_threshold),
            state_dir,
        ),
        Location::Azure { container, prefix } => Ok(azure::open(azure::AzureSettings {
            name: name.to_string(),
            container,
            prefix,
            account: entry.account.clone(),
            endpoint: entry.endpoint.clone(),
            secret: config.azure_secrets.get(name).cloned(),
            part_size: config.part_size,
            concurrency: config.concurrency,
            state_dir: state_dir.to_path_buf(),
        })),
        Location::Lfs { endpoint } => lfs::open(name, lfs::Target::Url(&endpoint), base),
        Location::LfsOfRemote { git_remote } => {
            lfs::open(name, lfs::Target::GitRemote(&git_remote), base)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_layout() {
        let oid = Oid::of_bytes(b"x");
        let hex = oid.to_hex();
        assert_eq!(Key::Object(oid).path(), format!("objects/{}/{}/{hex}", &hex[..2], &hex[2..4]));
        let rest = &Key::Object(oid).path()["objects/".len()..];
        assert_eq!(Key::from_object_path(rest), Some(Key::Object(oid)));
        let wrong_shard = format!("00/00/{hex}");
        assert_eq!(Key::from_object_path(&wrong_shard), None);
        assert_eq!(Key::from_object_path(&format!("{}/incoming-x", &rest[..5])), None);
        assert_eq!(Key::from_object_path("ab"), None);
        assert_eq!(Key::Run(oid).path(), format!("runs/{}/{hex}", &hex[..2]));
        assert_eq!(Key::from_run_path(&format!("{}/{hex}", &hex[..2])), Some(Key::Run(oid)));
        assert_eq!(Key::from_run_path(&format!("zz/{hex}")), None);
    }
}
