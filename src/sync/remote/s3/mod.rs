//! The S3 remote: AWS S3 and S3-compatible stores (OVH, MinIO, SeaweedFS, R2, …), objects at
//! `<prefix>/objects/ab/cd/<oid>` in a bucket.
//!
//! Invariants: objects are written by one PUT (with the object's SHA-256 as the checksum the
//! store verifies) or by a completed multipart upload, so they appear whole or not at all;
//! credentials come from `.git/config` keys for this remote, else the standard AWS chain
//! (environment, profile, SSO, web identity, instance metadata), and never appear in output;
//! the client (and its connection pool) is built once per remote, on first use, with the
//! SDK's retries off (each call is one attempt; crate::sync::retry decides what is tried again).

pub(crate) mod error;
mod list;
mod multipart;
mod settings;

pub(crate) use settings::S3Settings;

use super::{ErrorKind, Key, Listed, Remote, RemoteError};
use error::Site;

use crate::config::ChecksumMode;
use crate::fs::atomic::AtomicFile;
use crate::progress::Progress;
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OnceCell, Semaphore};

pub(crate) struct S3Remote {
    pub s: S3Settings,
    client: OnceCell<(Client, String)>,
    parts: Arc<Semaphore>,
}

impl S3Remote {
    pub(crate) fn new(s: S3Settings) -> Self {
        let parts = Arc::new(Semaphore::new(s.concurrency.max(1)));
        S3Remote { s, client: OnceCell::new(), parts }
    }

    /// The object key of `key` in the bucket.
    pub(crate) fn object_key(&self, key: &Key) -> String {
        if self.s.prefix.is_empty() {
            key.path()
        } else {
            format!("{}/{}", self.s.prefix, key.path())
        }
    }

    fn endpoint(&self) -> &str {
        self.s.endpoint.as_deref().unwrap_or("AWS S3")
    }

    fn site<'a>(&'a self, region: &'a str) -> Site<'a> {
        Site { remote: &self.s.name, bucket: &self.s.bucket, endpoint: self.endpoint(), region }
    }

    /// The client and the resolved region (built once).
    pub(crate) async fn client(&self) -> Result<&(Client, String), RemoteError> {
        self.client.get_or_try_init(|| build_client(&self.s)).await
    }

    pub(super) fn err<E, R>(
        &self,
        region: &str,
        doing: &str,
        e: &aws_sdk_s3::error::SdkError<E, R>,
    ) -> RemoteError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + error::HttpStatus + 'static,
    {
        error::classify(&self.site(region), doing, e)
    }
}

async fn build_client(s: &S3Settings) -> Result<(Client, String), RemoteError> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        // for the credential providers (STS, SSO, instance metadata) only: fetching keys is
        // not a transfer; the S3 client itself makes one attempt per call (below)
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(10)),
        )
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .read_timeout(Duration::from_secs(120))
                .build(),
        );
    if let Some(profile) = &s.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &s.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(k) = &s.keys {
        let creds = aws_sdk_s3::config::Credentials::new(
            &k.access_key_id,
            &k.secret_access_key,
            k.session_token.clone(),
            None,
            "git-config",
        );
        loader = loader.credentials_provider(creds);
    }
    let sdk = loader.load().await;
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".to_string());
    let mut conf = aws_sdk_s3::config::Builder::from(&sdk)
        .region(aws_config::Region::new(region.clone()))
        .force_path_style(s.path_style)
        // One attempt per S3 call: crate::sync::retry is the one layer that retries (the SDK's own
        // retries inside it multiplied the attempts, up to 25 per object).
        .retry_config(aws_config::retry::RetryConfig::disabled());
    if let Some(endpoint) = &s.endpoint {
        conf = conf.endpoint_url(endpoint);
    }
    if s.checksums == ChecksumMode::WhenRequired {
        conf = conf
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    }
    // Resolve credentials now: "none anywhere" is one clear error, not a failure per object.
    use aws_sdk_s3::config::ProvideCredentials;
    let Some(provider) = sdk.credentials_provider() else {
        return Err(error::no_credentials(&s.name, &s.bucket));
    };
    if provider.provide_credentials().await.is_err() {
        return Err(error::no_credentials(&s.name, &s.bucket));
    }
    Ok((Client::from_conf(conf.build()), region))
}

/// The SHA-256 of what is stored at `key` from `src`, in the base64 form of S3's
/// `x-amz-checksum-sha256`: an object's is its oid; a run-cache entry (a few hundred bytes)
/// is hashed here.
fn sha256_header(key: &Key, src: &Path) -> std::io::Result<String> {
    let sum = match key {
        Key::Object(oid) => *oid,
        Key::Run(_) => crate::oid::Oid::of_bytes(&std::fs::read(src)?),
    };
    Ok(base64::engine::general_purpose::STANDARD.encode(sum.as_bytes()))
}

#[async_trait]
impl Remote for S3Remote {
    fn name(&self) -> &str {
        &self.s.name
    }

    fn location(&self) -> String {
        let url = if self.s.prefix.is_empty() {
            format!("s3://{}", self.s.bucket)
        } else {
            format!("s3://{}/{}", self.s.bucket, self.s.prefix)
        };
        match &self.s.endpoint {
            Some(e) => format!("{url} at {e}"),
            None => url,
        }
    }

    async fn check(&self) -> Result<(), RemoteError> {
        // A one-key listing, not HeadBucket: its error responses carry a code that says what
        // is wrong (bad key, bad signature, no such bucket), where HEAD answers have no body.
        let (client, region) = self.client().await?;
        client
            .list_objects_v2()
            .bucket(&self.s.bucket)
            .prefix(&self.s.prefix)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| self.err(region, &format!("open bucket `{}`", self.s.bucket), &e))?;
        Ok(())
    }

    async fn stat(&self, key: &Key) -> Result<Option<u64>, RemoteError> {
        let (client, region) = self.client().await?;
        let k = self.object_key(key);
        match client.head_object().bucket(&self.s.bucket).key(&k).send().await {
            Ok(h) => Ok(Some(h.content_length().unwrap_or(0).max(0) as u64)),
            Err(e) => {
                let err = self.err(region, &format!("look up {k}"), &e);
                if err.kind == ErrorKind::NotFound { Ok(None) } else { Err(err) }
            }
        }
    }

    async fn stat_batch(&self, keys: &[Key]) -> Result<Option<Vec<Option<u64>>>, RemoteError> {
        if keys.len() < self.s.list_threshold {
            return Ok(None);
        }
        let list = |shard: String| async move { self.list_shard(&shard).await };
        Ok(Some(super::stat_by_shards(keys, self.s.concurrency, list).await?))
    }

    async fn put(
        &self,
        key: &Key,
        src: &Path,
        size: u64,
        progress: &Progress,
    ) -> Result<(), RemoteError> {
        let (client, region) = self.client().await?;
        let k = self.object_key(key);
        if size > self.s.part_size {
            let up = multipart::Upload {
                settings: &self.s,
                client,
                region,
                key: &k,
                src,
                size,
                progress,
            };
            return up.run(&self.parts).await;
        }
        let _permit = self.parts.acquire().await;
        let body = ByteStream::from_path(src).await.map_err(|e| {
            RemoteError::new(
                &self.s.name,
                ErrorKind::Other,
                format!("cannot read {}: {e}", src.display()),
            )
        })?;
        let mut req = client
            .put_object()
            .bucket(&self.s.bucket)
            .key(&k)
            .content_length(size as i64)
            .body(body);
        if self.s.checksums == ChecksumMode::Always {
            let sum = sha256_header(key, src).map_err(|e| {
                let doing = format!("cannot read {}: {e}", src.display());
                RemoteError::new(&self.s.name, ErrorKind::Other, doing)
            })?;
            req = req.checksum_sha256(sum);
        }
        req.send().await.map_err(|e| self.err(region, &format!("upload {k}"), &e))?;
        progress.inc(size);
        Ok(())
    }

    async fn get(
        &self,
        key: &Key,
        sink: &mut AtomicFile,
        progress: &Progress,
    ) -> Result<(), RemoteError> {
        let (client, region) = self.client().await?;
        let k = self.object_key(key);
        let resp = client
            .get_object()
            .bucket(&self.s.bucket)
            .key(&k)
            .send()
            .await
            .map_err(|e| self.err(region, &format!("download {k}"), &e))?;
        let mut body = resp.body;
        loop {
            match body.try_next().await {
                Ok(Some(chunk)) => {
                    sink.write_all(&chunk).map_err(|e| {
                        RemoteError::new(
                            &self.s.name,
                            ErrorKind::Other,
                            format!("cannot write the download of {k}: {e}"),
                        )
                    })?;
                    progress.inc(chunk.len() as u64);
                }
                Ok(None) => return Ok(()),
                Err(e) if is_checksum_mismatch(&e) => {
                    return Err(RemoteError::new(
                        &self.s.name,
                        ErrorKind::Corrupt,
                        format!("object {k} on the remote is corrupt: it does not match the checksum the store keeps for it"),
                    )
                    .with_hint(super::repair_hint()));
                }
                // A broken stream is worth another try; what lands is checked against the oid.
                Err(e) => {
                    let cause = format!("the download stream broke ({e})");
                    return Err(RemoteError::new(
                        &self.s.name,
                        ErrorKind::Transient,
                        format!("download {k}: {e}"),
                    )
                    .with_cause(cause));
                }
            }
        }
    }

    async fn list(&self) -> Result<Vec<Listed>, RemoteError> {
        self.list_objects().await
    }

    async fn list_runs(&self) -> Result<Option<Vec<Listed>>, RemoteError> {
        self.list_runs().await.map(Some)
    }

    async fn delete(&self, key: &Key) -> Result<(), RemoteError> {
        self.delete_object(key).await
    }
}

/// Whether a body error is the SDK's response checksum validation failing.
fn is_checksum_mismatch(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<aws_smithy_checksums::body::validate::Error>().is_some() {
            return true;
        }
        cur = err.source();
    }
    false
}
