//! Resumable multipart uploads to S3: parts go up in parallel, and each completed part is
//! recorded in `.git/data/multipart/`, so a push that was killed or lost its network resumes
//! where it stopped instead of sending the whole object again.
//!
//! Invariants: the object becomes visible only when the upload is completed, so a partial
//! upload is never seen as an object; a part is recorded only after the store acknowledged
//! it; if the store no longer knows the upload (aborted, expired), the upload restarts from
//! scratch once; after completion the stored size is checked.

use super::settings::S3Settings;
use crate::progress::Progress;
use crate::sync::remote::{ErrorKind, RemoteError};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use futures_util::{StreamExt, stream};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// The local record of an upload in progress.
#[derive(Serialize, Deserialize, Clone, Debug)]
struct Record {
    bucket: String,
    key: String,
    upload_id: String,
    size: u64,
    part_size: u64,
    parts: BTreeMap<i32, Part>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
struct Part {
    etag: String,
    crc32: Option<String>,
}

/// One object to upload in parts.
pub(crate) struct Upload<'a> {
    pub settings: &'a S3Settings,
    pub client: &'a Client,
    pub region: &'a str,
    pub key: &'a str,
    pub src: &'a Path,
    pub size: u64,
    pub progress: &'a Progress,
}

impl Upload<'_> {
    fn record_path(&self) -> PathBuf {
        let id =
            crate::oid::Oid::of_bytes(format!("{}/{}", self.settings.bucket, self.key).as_bytes());
        self.settings.state_dir.join("multipart").join(format!("{}.json", id.short(32)))
    }

    fn load(&self) -> Option<Record> {
        let text = std::fs::read(self.record_path()).ok()?;
        serde_json::from_slice(&text).ok()
    }

    fn save(&self, rec: &Record) {
        let path = self.record_path();
        let Some(dir) = path.parent() else { return };
        // Best effort: a lost record only means re-sending parts.
        let _ = std::fs::create_dir_all(dir).and_then(|_| {
            let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
            serde_json::to_writer(&mut tmp, rec)?;
            tmp.persist(&path).map(|_| ()).map_err(|e| e.error)
        });
    }

    fn forget(&self) {
        let _ = std::fs::remove_file(self.record_path());
    }

    fn err<E, R>(&self, doing: &str, e: &aws_sdk_s3::error::SdkError<E, R>) -> RemoteError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + super::error::HttpStatus + 'static,
    {
        let site = super::error::Site {
            remote: &self.settings.name,
            bucket: &self.settings.bucket,
            endpoint: self.settings.endpoint.as_deref().unwrap_or("AWS S3"),
            region: self.region,
        };
        super::error::classify(&site, doing, e)
    }

    /// Uploads the object, resuming a recorded upload when there is one.
    pub(crate) async fn run(&self, slots: &Arc<Semaphore>) -> Result<(), RemoteError> {
        let part_size = self.settings.part_size.max(self.size.div_ceil(10_000));
        for _ in 0..2 {
            let rec = match self.load() {
                Some(r) if r.size == self.size && r.part_size == part_size && r.key == self.key => {
                    r
                }
                stale => {
                    if let Some(old) = stale {
                        let _ = self.abort(&old).await;
                    }
                    self.create(part_size).await?
                }
            };
            match self.send_parts(rec, slots).await {
                Ok(rec) => match self.complete(&rec).await {
                    Ok(()) => {
                        self.forget();
                        return self.verify().await;
                    }
                    Err(e) if e.kind == ErrorKind::NotFound => self.forget(),
                    Err(e) => return Err(e),
                },
                Err(e) if e.kind == ErrorKind::NotFound => self.forget(),
                Err(e) => return Err(e),
            }
        }
        Err(RemoteError::new(
            &self.settings.name,
            ErrorKind::Other,
            format!("upload {}: the store keeps losing the multipart upload", self.key),
        ))
    }

    async fn create(&self, part_size: u64) -> Result<Record, RemoteError> {
        let mut req =
            self.client.create_multipart_upload().bucket(&self.settings.bucket).key(self.key);
        if self.settings.checksums == crate::config::ChecksumMode::Always {
            req = req.checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32);
        }
        let out =
            req.send().await.map_err(|e| self.err(&format!("start uploading {}", self.key), &e))?;
        let upload_id = out.upload_id().unwrap_or_default().to_string();
        let rec = Record {
            bucket: self.settings.bucket.clone(),
            key: self.key.to_string(),
            upload_id,
            size: self.size,
            part_size,
            parts: BTreeMap::new(),
        };
        self.save(&rec);
        Ok(rec)
    }

    /// Sends every part the record lacks, in parallel; returns the completed record.
    async fn send_parts(&self, rec: Record, slots: &Arc<Semaphore>) -> Result<Record, RemoteError> {
        let count = self.size.div_ceil(rec.part_size) as i32;
        let done: u64 = rec.parts.keys().map(|n| self.part_len(&rec, *n)).sum();
        self.progress.inc(done);
        let missing: Vec<i32> = (1..=count).filter(|n| !rec.parts.contains_key(n)).collect();
        let shared = Mutex::new(rec);
        let results: Vec<Result<(), RemoteError>> =
            stream::iter(missing.into_iter().map(|n| self.send_part(n, &shared, slots)))
                .buffer_unordered(self.settings.concurrency.max(1))
                .collect()
                .await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        shared.into_inner().map_err(|_| {
            RemoteError::new(&self.settings.name, ErrorKind::Other, "upload state poisoned")
        })
    }

    fn part_len(&self, rec: &Record, n: i32) -> u64 {
        let start = (n as u64 - 1) * rec.part_size;
        rec.part_size.min(self.size - start)
    }

    async fn send_part(
        &self,
        n: i32,
        rec: &Mutex<Record>,
        slots: &Arc<Semaphore>,
    ) -> Result<(), RemoteError> {
        let (upload_id, part_size) = {
            let r = rec.lock().map_err(|_| {
                RemoteError::new(&self.settings.name, ErrorKind::Other, "upload state poisoned")
            })?;
            (r.upload_id.clone(), r.part_size)
        };
        let offset = (n as u64 - 1) * part_size;
        let len = part_size.min(self.size - offset);
        let _permit = slots.acquire().await;
        let body = ByteStream::read_from()
            .path(self.src)
            .offset(offset)
            .length(Length::Exact(len))
            .build()
            .await
            .map_err(|e| {
                RemoteError::new(
                    &self.settings.name,
                    ErrorKind::Other,
                    format!("cannot read {}: {e}", self.src.display()),
                )
            })?;
        let out = self
            .client
            .upload_part()
            .bucket(&self.settings.bucket)
            .key(self.key)
            .upload_id(&upload_id)
            .part_number(n)
            .content_length(len as i64)
            .body(body)
            .send()
            .await
            .map_err(|e| self.err(&format!("upload part {n} of {}", self.key), &e))?;
        let part = Part {
            etag: out.e_tag().unwrap_or_default().to_string(),
            crc32: out.checksum_crc32().map(str::to_string),
        };
        let snapshot = {
            let mut r = rec.lock().map_err(|_| {
                RemoteError::new(&self.settings.name, ErrorKind::Other, "upload state poisoned")
            })?;
            r.parts.insert(n, part);
            r.clone()
        };
        self.save(&snapshot);
        self.progress.inc(len);
        Ok(())
    }

    async fn complete(&self, rec: &Record) -> Result<(), RemoteError> {
        let parts: Vec<CompletedPart> = rec
            .parts
            .iter()
            .map(|(n, p)| {
                CompletedPart::builder()
                    .part_number(*n)
                    .e_tag(&p.etag)
                    .set_checksum_crc32(p.crc32.clone())
                    .build()
            })
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.settings.bucket)
            .key(self.key)
            .upload_id(&rec.upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(|e| self.err(&format!("complete the upload of {}", self.key), &e))?;
        Ok(())
    }

    async fn abort(&self, rec: &Record) -> Result<(), RemoteError> {
        self.client
            .abort_multipart_upload()
            .bucket(&rec.bucket)
            .key(&rec.key)
            .upload_id(&rec.upload_id)
            .send()
            .await
            .map_err(|e| self.err(&format!("abort the upload of {}", rec.key), &e))?;
        Ok(())
    }

    /// Checks the store holds the whole object.
    async fn verify(&self) -> Result<(), RemoteError> {
        let head = self
            .client
            .head_object()
            .bucket(&self.settings.bucket)
            .key(self.key)
            .send()
            .await
            .map_err(|e| self.err(&format!("check {}", self.key), &e))?;
        let stored = head.content_length().unwrap_or(-1);
        if stored != self.size as i64 {
            return Err(RemoteError::new(
                &self.settings.name,
                ErrorKind::Corrupt,
                format!(
                    "upload {}: the store holds {stored} bytes, expected {}",
                    self.key, self.size
                ),
            ));
        }
        Ok(())
    }
}
