//! Listing and deleting on the S3 remote: existence checks in bulk (one listing per shard
//! prefix instead of one HEAD per object) and `gc --remote`.
//!
//! Invariants: only keys under `<prefix>/objects/` that name an object in its own shard are
//! reported as objects; a listing follows continuation tokens to the end or fails whole, so a
//! caller never acts on half a listing; deleting a key that is not there is success.

use super::S3Remote;
use crate::sync::remote::{ErrorKind, Key, Listed, RemoteError};
use futures_util::{StreamExt, stream};
use std::time::SystemTime;

/// One key of a listing: its name, size and last modification.
type Entry = (String, u64, Option<SystemTime>);

impl S3Remote {
    /// `<prefix>/objects/` (or `objects/` without a prefix).
    fn objects_base(&self) -> String {
        let probe = self.object_key(&Key::Object(crate::oid::Oid::from_bytes([0; 32])));
        probe[..probe.len() - "00/00/".len() - 64].to_string()
    }

    /// Every key starting with `prefix`, following continuation tokens.
    async fn list_prefix(&self, prefix: &str) -> Result<Vec<Entry>, RemoteError> {
        let (client, region) = self.client().await?;
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let resp = client
                .list_objects_v2()
                .bucket(&self.s.bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| self.err(region, &format!("list {prefix}"), &e))?;
            for obj in resp.contents() {
                if let (Some(k), Some(size)) = (obj.key(), obj.size()) {
                    let modified = obj.last_modified().and_then(|t| SystemTime::try_from(*t).ok());
                    out.push((k.to_string(), size.max(0) as u64, modified));
                }
            }
            match resp.next_continuation_token() {
                Some(t) if resp.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// Every object under one shard prefix (`objects/ab/`).
    pub(super) async fn list_shard(&self, shard: &str) -> Result<Vec<Listed>, RemoteError> {
        let base = self.objects_base();
        Ok(objects(&base, self.list_prefix(&format!("{base}{shard}/")).await?))
    }

    /// Every object of the remote: sixteen listings (one per first hex digit) in parallel.
    pub(super) async fn list_objects(&self) -> Result<Vec<Listed>, RemoteError> {
        let base = self.objects_base();
        let prefixes: Vec<String> = (0..16).map(|d| format!("{base}{d:x}")).collect();
        let listings: Vec<_> =
            stream::iter(prefixes.into_iter().map(|p| async move { self.list_prefix(&p).await }))
                .buffer_unordered(self.s.concurrency.clamp(1, 16))
                .collect()
                .await;
        let mut out = Vec::new();
        for listing in listings {
            out.extend(objects(&base, listing?));
        }
        Ok(out)
    }

    /// Every run-cache entry (`<prefix>/runs/ab/<key>`), for `gc --remote`.
    pub(super) async fn list_runs(&self) -> Result<Vec<Listed>, RemoteError> {
        let objects = self.objects_base();
        let base = format!("{}runs/", &objects[..objects.len() - "objects/".len()]);
        let listed = self.list_prefix(&base).await?;
        let run = |(k, size, modified): Entry| {
            let key = k.strip_prefix(&base).and_then(Key::from_run_path)?;
            Some(Listed { key, size, modified })
        };
        Ok(listed.into_iter().filter_map(run).collect())
    }

    pub(super) async fn delete_object(&self, key: &Key) -> Result<(), RemoteError> {
        let (client, region) = self.client().await?;
        let k = self.object_key(key);
        match client.delete_object().bucket(&self.s.bucket).key(&k).send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = self.err(region, &format!("delete {k}"), &e);
                if err.kind == ErrorKind::NotFound { Ok(()) } else { Err(err) }
            }
        }
    }
}

/// The objects among listed `(key, size, modified)` entries under `base` (other files left out).
fn objects(base: &str, listed: Vec<(String, u64, Option<SystemTime>)>) -> Vec<Listed> {
    let object = |(k, size, modified): (String, u64, Option<SystemTime>)| {
        let key = k.strip_prefix(base).and_then(Key::from_object_path)?;
        Some(Listed { key, size, modified })
    };
    listed.into_iter().filter_map(object).collect()
}
