//! Uploads and downloads of the Azure remote.
//!
//! Uploads: an object up to the part size is one Put Blob; a bigger one is sent as blocks of
//! the part size, read from the file as they go (at most `concurrency` parts in memory and in
//! flight across all objects), then committed by one Put Block List, after which the stored
//! size is checked. Blocks that were never committed (a killed push) are not resumed: Azure
//! drops them by itself after 7 days, and the next push sends the object again.
//!
//! Downloads: the first part-size range comes with the object's size and ETag; the rest is
//! fetched in parallel ranges pinned to that ETag (If-Match) and written in order into the
//! caller's AtomicFile, which hashes everything, so nothing unverified is kept.

use super::{AzureRemote, error};
use crate::fs::atomic::AtomicFile;
use crate::progress::Progress;
use crate::sync::remote::{ErrorKind, Key, Remote, RemoteError};
use futures_util::{StreamExt, stream};
use object_store::path::Path as StorePath;
use object_store::{
    GetOptions, GetRange, MultipartUpload, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload,
};
use std::path::Path;
use tokio::io::AsyncReadExt;

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

    /// A block upload: parts read and sent in parallel, committed at once, size checked.
    async fn upload_blocks(
        &self,
        path: &StorePath,
        doing: &str,
        src: &Path,
        size: u64,
        progress: &Progress,
    ) -> Result<(), RemoteError> {
        let client = self.client()?;
        let mut file = tokio::fs::File::open(src)
            .await
            .map_err(|e| self.local(format!("cannot read {}: {e}", src.display())))?;
        let mut upload = client.put_multipart(path).await.map_err(|e| self.err(doing, &e))?;
        let mut sent = tokio::task::JoinSet::new();
        let mut offset = 0u64;
        let mut failed = None;
        while offset < size && failed.is_none() {
            let Ok(permit) = self.parts.clone().acquire_owned().await else { break };
            let len = self.s.part_size.min(size - offset);
            let mut buf = vec![0u8; len as usize];
            file.read_exact(&mut buf)
                .await
                .map_err(|e| self.local(format!("cannot read {}: {e}", src.display())))?;
            offset += len;
            let part = upload.put_part(PutPayload::from(buf));
            sent.spawn(async move {
                let r = part.await;
                drop(permit);
                r.map(|()| len)
            });
            // collect what finished meanwhile, so an error stops reading at once
            while let Some(done) = sent.try_join_next() {
                match done {
                    Ok(Ok(n)) => progress.inc(n),
                    Ok(Err(e)) => failed = Some(self.err(doing, &e)),
                    Err(e) => failed = Some(self.local(format!("{doing}: a part failed: {e}"))),
                }
            }
        }
        while let Some(done) = sent.join_next().await {
            match done {
                Ok(Ok(n)) => progress.inc(n),
                Ok(Err(e)) => failed = failed.or(Some(self.err(doing, &e))),
                Err(e) => failed = failed.or(Some(self.local(format!("{doing}: {e}")))),
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        upload.complete().await.map_err(|e| self.err(doing, &e))?;
        let stored = client.head(path).await.map_err(|e| self.err(doing, &e))?.size;
        if stored != size {
            return Err(RemoteError::new(
                &self.s.name,
                ErrorKind::Transient,
                format!("{doing}: the store kept {stored} bytes, not {size}"),
            ));
        }
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
