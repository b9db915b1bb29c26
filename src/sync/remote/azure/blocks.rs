//! Block uploads to Azure, resumable: blocks of the part size are read from the file as they
//! go and sent in parallel (at most `concurrency` in memory and in flight across all objects
//! of the process), each acknowledged block is recorded under `.git/data/azure-blocks/`, and
//! one Put Block List commits them all; then the stored size is checked. A push that was
//! killed or lost its network sends only the blocks that are missing.
//!
//! Invariants: the object becomes visible only when the block list is committed, so a partial
//! upload is never seen as an object; a block is recorded only after the store acknowledged
//! it; when the store no longer has the recorded blocks (Azure drops uncommitted blocks after
//! 7 days, and when another writer commits the blob), the record is forgotten and the attempt
//! fails as transient, so the retry sends the object whole.

use super::{AzureRemote, error};
use crate::progress::Progress;
use crate::sync::remote::{ErrorKind, RemoteError};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as StorePath;
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Azure's limit of blocks in one blob.
const MAX_BLOCKS: u64 = 50_000;

/// The local record of a block upload in progress: block ids by part number.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
struct Record {
    blob: String,
    size: u64,
    part_size: u64,
    blocks: BTreeMap<u64, String>,
}

impl AzureRemote {
    fn record_path(&self, blob: &str) -> PathBuf {
        let id = format!("{}/{}/{}", self.endpoint, self.s.container, blob);
        let id = crate::oid::Oid::of_bytes(id.as_bytes());
        self.s.state_dir.join("azure-blocks").join(format!("{}.json", id.short(32)))
    }

    fn load(&self, blob: &str, size: u64, part_size: u64) -> Record {
        let fresh = Record { blob: blob.to_string(), size, part_size, ..Record::default() };
        let Ok(text) = std::fs::read(self.record_path(blob)) else { return fresh };
        match serde_json::from_slice::<Record>(&text) {
            Ok(r) if r.blob == blob && r.size == size && r.part_size == part_size => r,
            _ => fresh,
        }
    }

    /// Best effort: a lost record only means sending blocks again. Written through a temp
    /// file that names its process, so the temp a killed push leaves is swept by the next.
    fn save(&self, rec: &Record) {
        use crate::fs::textfile::{Access, replace};
        let path = self.record_path(&rec.blob);
        let (Some(dir), Ok(text)) = (path.parent(), serde_json::to_vec(rec)) else { return };
        let tmp = self.s.state_dir.join("tmp");
        let _ =
            std::fs::create_dir_all(dir).and_then(|_| replace(&path, &text, &tmp, Access::Private));
    }

    fn forget(&self, blob: &str) {
        let _ = std::fs::remove_file(self.record_path(blob));
    }

    /// Uploads `src` as blocks to `path`, resuming a recorded upload.
    pub(super) async fn upload_blocks(
        &self,
        path: &StorePath,
        doing: &str,
        src: &Path,
        size: u64,
        progress: &Progress,
    ) -> Result<(), RemoteError> {
        let client = self.client()?.clone();
        let blob = path.as_ref();
        let part_size = self.s.part_size.max(size.div_ceil(MAX_BLOCKS)).max(1);
        let rec = Arc::new(Mutex::new(self.load(blob, size, part_size)));
        let unreadable =
            |e: std::io::Error| self.local(format!("cannot read {}: {e}", src.display()));
        let mut file = tokio::fs::File::open(src).await.map_err(unreadable)?;
        let mut sent = tokio::task::JoinSet::new();
        let mut failed = None;
        let parts = size.div_ceil(part_size);
        for part in 0..parts {
            if failed.is_some() {
                break;
            }
            let (offset, len) = (part * part_size, part_size.min(size - part * part_size));
            if rec.lock().map(|r| r.blocks.contains_key(&part)).unwrap_or(false) {
                progress.inc(len);
                continue;
            }
            let Ok(permit) = self.parts.clone().acquire_owned().await else { break };
            let mut buf = vec![0u8; len as usize];
            file.seek(SeekFrom::Start(offset)).await.map_err(unreadable)?;
            file.read_exact(&mut buf).await.map_err(unreadable)?;
            let (client, path, record) = (client.clone(), path.clone(), rec.clone());
            sent.spawn(async move {
                let upload_id = String::new(); // Azure has none: blocks belong to the blob
                let payload = PutPayload::from(buf);
                let id = client.put_part(&path, &upload_id, part as usize, payload).await;
                drop(permit);
                let id = id?;
                if let Ok(mut r) = record.lock() {
                    r.blocks.insert(part, id.content_id);
                }
                Ok::<u64, object_store::Error>(len)
            });
            // what finished meanwhile: progress, the record, and an error stops reading at once
            while let Some(done) = sent.try_join_next() {
                self.settle(done, doing, progress, &rec, &mut failed);
            }
        }
        while let Some(done) = sent.join_next().await {
            self.settle(done, doing, progress, &rec, &mut failed);
        }
        if let Some(e) = failed {
            return Err(e);
        }
        let ids = rec.lock().map(|r| r.blocks.values().cloned().collect::<Vec<_>>());
        let ids: Vec<PartId> =
            ids.unwrap_or_default().into_iter().map(|content_id| PartId { content_id }).collect();
        if let Err(e) = client.complete_multipart(path, &String::new(), ids).await {
            if error::status(&e).and_then(|s| s.code.as_deref()) == Some("InvalidBlockList") {
                self.forget(blob);
                return Err(RemoteError::new(
                    &self.s.name,
                    ErrorKind::Transient,
                    format!(
                        "{doing}: the store no longer has the blocks of the interrupted upload"
                    ),
                )
                .with_cause("the blocks of an interrupted upload expired; sending them again"));
            }
            return Err(self.err(doing, &e));
        }
        self.forget(blob);
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

    /// Takes in one finished block: progress and the record, or the first error.
    fn settle(
        &self,
        done: Result<Result<u64, object_store::Error>, tokio::task::JoinError>,
        doing: &str,
        progress: &Progress,
        rec: &Mutex<Record>,
        failed: &mut Option<RemoteError>,
    ) {
        match done {
            Ok(Ok(len)) => {
                progress.inc(len);
                if let Ok(r) = rec.lock() {
                    self.save(&r);
                }
            }
            Ok(Err(e)) => {
                failed.get_or_insert(self.err(doing, &e));
            }
            Err(e) => {
                failed.get_or_insert(self.local(format!("{doing}: a block upload failed: {e}")));
            }
        }
    }
}
