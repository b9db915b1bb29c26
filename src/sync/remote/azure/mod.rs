//! The remote on Azure Blob Storage: `az://container/prefix` (or `azure://`), objects at
//! `<prefix>/objects/ab/cd/<oid>` in a container of a storage account, through object_store.
//!
//! Invariants: an object is written by one Put Blob or by a Put Block List that commits
//! every block at once, so it appears whole or not at all; `put` never replaces an object
//! that is there (If-None-Match: *, and a stat before a block upload), `put_over` does;
//! credentials come from this clone's `.git/config` (account key or SAS token), the user's
//! credentials file, else the Azure chain in the environment (account key, SAS, service
//! principal, Azure CLI, managed identity), and never appear in output; the client is built
//! once per remote, on first use, with object_store's retries off.

mod blocks;
mod client;
mod error;
mod settings;
mod transfer;

pub(crate) use settings::AzureSettings;

use super::{ErrorKind, Key, Listed, Remote, RemoteError};
use crate::config::AzureSecret;
use crate::fs::atomic::AtomicFile;
use crate::progress::Progress;
use async_trait::async_trait;
use error::Site;
use futures_util::StreamExt;
use object_store::azure::MicrosoftAzure;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

pub(crate) struct AzureRemote {
    s: AzureSettings,
    client: OnceLock<Result<MicrosoftAzure, RemoteError>>,
    /// Parts in flight across all objects of this process (bounds memory and connections).
    parts: Arc<Semaphore>,
    account: String,
    endpoint: String,
}

/// Opens the remote (no request is made until the first operation).
pub(crate) fn open(s: AzureSettings) -> Arc<dyn Remote> {
    let account = s.account(client::env).unwrap_or_else(|| "(none)".to_string());
    let endpoint =
        s.endpoint.clone().unwrap_or_else(|| format!("https://{account}.blob.core.windows.net"));
    let parts = Arc::new(Semaphore::new(s.concurrency.max(1)));
    Arc::new(AzureRemote { s, client: OnceLock::new(), parts, account, endpoint })
}

impl AzureRemote {
    fn client(&self) -> Result<&MicrosoftAzure, RemoteError> {
        self.client.get_or_init(|| client::build(&self.s)).as_ref().map_err(Clone::clone)
    }

    fn site(&self) -> Site<'_> {
        let env = |k| client::env(k).is_some();
        let credential = match &self.s.secret {
            Some(AzureSecret::AccountKey(_)) => "the account key",
            Some(AzureSecret::Sas(_)) => "the SAS token",
            None if env("AZURE_STORAGE_ACCOUNT_KEY") || env("AZURE_STORAGE_KEY") => {
                "the account key of the environment (AZURE_STORAGE_ACCOUNT_KEY)"
            }
            None if env("AZURE_STORAGE_SAS_TOKEN") || env("AZURE_STORAGE_SAS_KEY") => {
                "the SAS token of the environment (AZURE_STORAGE_SAS_TOKEN)"
            }
            None => "the credentials",
        };
        Site {
            remote: &self.s.name,
            container: &self.s.container,
            account: &self.account,
            endpoint: &self.endpoint,
            credential,
        }
    }

    fn err(&self, doing: &str, e: &object_store::Error) -> RemoteError {
        error::classify(&self.site(), doing, e)
    }

    /// The blob name of `key` in the container.
    fn blob(&self, key: &Key) -> String {
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

    fn local(&self, what: String) -> RemoteError {
        RemoteError::new(&self.s.name, ErrorKind::Other, what)
    }

    /// Every object below `<prefix>/objects/`: one listing, page after page (5000 blobs a
    /// page on Azure), to the end or failed whole.
    async fn list_objects(&self) -> Result<Vec<Listed>, RemoteError> {
        let client = self.client()?;
        let base = self.objects_base();
        let mut listing = client.list(Some(&StorePath::from(base.trim_end_matches('/'))));
        let mut out = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|e| self.err(&format!("list {base}"), &e))?;
            let Some(rest) = meta.location.as_ref().strip_prefix(&base) else { continue };
            if let Some(key) = Key::from_object_path(rest) {
                let modified = std::time::SystemTime::from(meta.last_modified);
                out.push(Listed { key, size: meta.size, modified: Some(modified) });
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Remote for AzureRemote {
    fn name(&self) -> &str {
        &self.s.name
    }

    fn location(&self) -> String {
        let url = if self.s.prefix.is_empty() {
            format!("az://{}", self.s.container)
        } else {
            format!("az://{}/{}", self.s.container, self.s.prefix)
        };
        format!("{url} in account {} at {}", self.account, self.endpoint)
    }

    async fn check(&self) -> Result<(), RemoteError> {
        // one listing page: it needs the container, the account and working credentials
        let client = self.client()?;
        let prefix = StorePath::from(self.objects_base().trim_end_matches('/'));
        client
            .list_with_delimiter(Some(&prefix))
            .await
            .map_err(|e| self.err(&format!("open container `{}`", self.s.container), &e))?;
        Ok(())
    }

    async fn stat(&self, key: &Key) -> Result<Option<u64>, RemoteError> {
        let client = self.client()?;
        let blob = self.blob(key);
        match client.head(&StorePath::from(blob.as_str())).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(e) => {
                let err = self.err(&format!("look up {blob}"), &e);
                if err.kind == ErrorKind::NotFound { Ok(None) } else { Err(err) }
            }
        }
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
        self.download(key, sink, progress).await
    }

    async fn list(&self) -> Result<Vec<Listed>, RemoteError> {
        self.list_objects().await
    }

    async fn list_runs(&self) -> Result<Option<Vec<Listed>>, RemoteError> {
        let client = self.client()?;
        let objects = self.objects_base();
        let base = format!("{}runs/", &objects[..objects.len() - "objects/".len()]);
        let mut listing = client.list(Some(&StorePath::from(base.trim_end_matches('/'))));
        let mut out = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|e| self.err(&format!("list {base}"), &e))?;
            let Some(rest) = meta.location.as_ref().strip_prefix(&base) else { continue };
            if let Some(key) = Key::from_run_path(rest) {
                let modified = std::time::SystemTime::from(meta.last_modified);
                out.push(Listed { key, size: meta.size, modified: Some(modified) });
            }
        }
        Ok(Some(out))
    }

    async fn delete(&self, key: &Key) -> Result<(), RemoteError> {
        let client = self.client()?;
        let blob = self.blob(key);
        match client.delete(&StorePath::from(blob.as_str())).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let err = self.err(&format!("delete {blob}"), &e);
                if err.kind == ErrorKind::NotFound { Ok(()) } else { Err(err) }
            }
        }
    }
}
