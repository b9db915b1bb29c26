//! Uploads and downloads of the Azure remote.
//!
//! Uploads: an object up to the part size is one Put Blob (If-None-Match: * unless it
//! replaces); a bigger one goes up in blocks (crate::sync::remote::azure::blocks).
//!
//! Downloads: the first part-size range comes with the object's size and ETag; the rest is
//! fetched in parallel ranges pinned to that ETag (If-Match) and written in order into the
//! caller's AtomicFile, which hashes everything, so nothing unverified is kept.

use super::{AzureRemote, error};
use crate::fs::atomic::AtomicFile;
use crate::progress::Progress;
use crate::sync::remote::{Key, Remote, RemoteError};
use futures_util::{StreamExt, stream};
use object_store::path::Path as StorePath;
use object_store::{
    GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
};
use std::path::Path;

impl AzureRemote {
    /// Stores `src` at `key`; `over` replaces what is there, else an object of the right size
    /// that is there already is kept.
    pub(super) async fn upload(
        &self,
        key: &Key,
        src: &Path,
        size: u64,
        progress: &Progress,
        over: bool,
    ) -> Result<(), RemoteError> {
        let client = self.client()?;
        let blob = self.blob(key);
        let path = StorePath::from(blob.as_str());
        let doing = format!("upload {blob}");
        if size > self.s.part_size {
            if !over && self.stat(key).await? == Some(size) {
                progress.inc(size);
                return Ok(());
            }
            return self.upload_blocks(&path, &doing, src, size, progress).await;
        }
        let _permit = self.parts.acquire().await;
        let data = tokio::fs::read(src)
            .await
            .map_err(|e| self.local(format!("cannot read {}: {e}", src.display())))?;
        if data.len() as u64 != size {
            return Err(self.local(format!(
                "{} changed while it was uploaded ({} bytes, expected {size})",
                src.display(),
                data.len()
            )));
        }
        let payload = PutPayload::from(data);
        let mode = if over { PutMode::Overwrite } else { PutMode::Create };
        let opts = PutOptions { mode, ..PutOptions::default() };
        match client.put_opts(&path, payload.clone(), opts).await {
            Ok(_) => {}
            // there already (another writer, or an earlier push): keep it if its size is right
            Err(e) if error::status(&e).is_some_and(|s| s.status == 409 || s.status == 412) => {
                if self.stat(key).await? != Some(size) {
                    client.put(&path, payload).await.map_err(|e| self.err(&doing, &e))?;
                }
            }
            Err(e) => return Err(self.err(&doing, &e)),
        }
        progress.inc(size);
        Ok(())
    }

    /// Writes the object at `key` into `sink`: ranges of the part size, in parallel, in order.
    pub(super) async fn download(
        &self,
        key: &Key,
        sink: &mut AtomicFile,
        progress: &Progress,
    ) -> Result<(), RemoteError> {
        let client = self.client()?;
        let blob = self.blob(key);
        let path = StorePath::from(blob.as_str());
        let doing = format!("download {blob}");
        let part = self.s.part_size.max(1);
        let first = GetOptions { range: Some(GetRange::Bounded(0..part)), ..GetOptions::default() };
        let first = client.get_opts(&path, first).await.map_err(|e| self.err(&doing, &e))?;
        let (size, etag) = (first.meta.size, first.meta.e_tag.clone());
        let mut body = first.into_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| self.err(&doing, &e))?;
            self.write(sink, &chunk, &doing)?;
            progress.inc(chunk.len() as u64);
        }
        let starts = (part..size).step_by(part as usize);
        let mut rest = stream::iter(starts.map(|start| {
            let opts = GetOptions {
                range: Some(GetRange::Bounded(start..size.min(start + part))),
                if_match: etag.clone(),
                ..GetOptions::default()
            };
            let path = &path;
            async move { client.get_opts(path, opts).await?.bytes().await }
        }))
        .buffered(self.s.concurrency.max(1));
        while let Some(bytes) = rest.next().await {
            let bytes = bytes.map_err(|e| self.err(&doing, &e))?;
            self.write(sink, &bytes, &doing)?;
            progress.inc(bytes.len() as u64);
        }
        Ok(())
    }

    fn write(&self, sink: &mut AtomicFile, data: &[u8], doing: &str) -> Result<(), RemoteError> {
        sink.write_all(data).map_err(|e| self.local(format!("cannot write the {doing}: {e}")))
    }
}
