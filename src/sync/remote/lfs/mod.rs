//! The remote on a Git LFS server, through the Git LFS Batch API and the `basic` transfer
//! adapter: `lfs+https://HOST/ORG/REPO.git/info/lfs`, or `lfs+REMOTE` (`lfs+origin`) for the
//! server git-lfs would use for that git remote (see [`endpoint`]). Objects are named by our
//! SHA-256 oids, the same as git-lfs's, so git-lfs clients fetch what git-data pushed.
//!
//! Invariants: an upload asks the server first (a batch `upload`); an object the server
//! already holds gets no upload action and is success; otherwise the bytes stream in one
//! PUT and the server's verify action confirms them, so an object appears whole or not at
//! all as far as the server's protocol lets us see. Existence checks go in batches of at
//! most [`batch::MAX_OBJECTS`] oids (a batch `download`; a missing object answers 404). The
//! API can neither list nor delete: those calls fail with a clear `ErrorKind::Other`, and
//! the server's own tools manage its storage. Every request is made once: crate::sync::retry
//! decides what is tried again.

mod basic;
mod batch;
mod client;
mod credentials;
pub(crate) mod endpoint;
mod error;
mod ssh;

use super::{ErrorKind, Key, Listed, Remote, RemoteError, redact};
use crate::fs::atomic::AtomicFile;
use crate::oid::Oid;
use crate::progress::Progress;
use async_trait::async_trait;
use batch::Operation;
use client::Client;
use endpoint::Endpoint;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// What an `lfs+…` URL names.
pub(crate) enum Target<'a> {
    /// The endpoint itself (`lfs+https://…/info/lfs`, stored without `lfs+`).
    Url(&'a str),
    /// The LFS server of a git remote of the clone (`lfs+origin`).
    GitRemote(&'a str),
}

/// Opens the remote `name`; `base` is the work tree (git runs there for config and
/// credentials).
pub(crate) fn open(
    name: &str,
    target: Target,
    base: &Path,
) -> Result<Arc<dyn Remote>, RemoteError> {
    let (endpoint, location) = match target {
        Target::Url(url) => (Endpoint { url: url.to_string(), ssh: None }, redact(url)),
        Target::GitRemote(git_remote) => {
            let e = endpoint::of_git_remote(git_remote, base).map_err(|e| {
                RemoteError::new(name, ErrorKind::Unavailable, e.message).with_hint(e.hint)
            })?;
            let via = if e.ssh.is_some() { ", over SSH" } else { "" };
            let location =
                format!("{} (the Git LFS server of git remote `{git_remote}`{via})", e.url);
            (e, location)
        }
    };
    let client = Client::new(name, endpoint, base.to_path_buf())?;
    Ok(Arc::new(LfsRemote { client, location }))
}

pub(crate) struct LfsRemote {
    client: Client,
    location: String,
}

const NO_LISTING: &str = "the Git LFS API cannot list or delete objects: the server's own \
     tools manage its storage (git-data only pushes and fetches there)";

impl LfsRemote {
    /// The object of a key: callers never give a run-cache key, since `holds_runs` is false
    /// (one would be refused by the server as an object whose bytes do not match).
    fn oid(key: &Key) -> Oid {
        match key {
            Key::Object(oid) | Key::Run(oid) => *oid,
        }
    }

    fn err(&self, kind: ErrorKind, message: String) -> RemoteError {
        RemoteError::new(&self.client.name, kind, message)
    }

    /// The error for a per-object error in a batch answer.
    fn object_error(&self, doing: &str, e: &batch::ObjectError) -> RemoteError {
        let site = error::Site::new(&self.client.name, &self.client.endpoint.url, doing);
        let message = Some(e.message.as_str());
        match e.code {
            422 => site
                .error(
                    ErrorKind::Corrupt,
                    format!("the server holds it with another size ({})", e.message),
                )
                .with_hint(super::repair_hint()),
            code => error::status(&site, u16::try_from(code).unwrap_or(0), message),
        }
    }

    /// The one object of a one-object batch answer, and when it arrived.
    async fn one(
        &self,
        op: Operation,
        oid: Oid,
        size: u64,
        doing: &str,
    ) -> Result<(batch::Object, Option<Instant>), RemoteError> {
        let reply = self.client.batch(op, &[(oid, size)]).await?;
        let received = reply.received;
        match reply.for_each(&[(oid, size)]).pop().flatten() {
            Some(o) => match &o.error {
                Some(e) => Err(self.object_error(doing, e)),
                None => Ok((o, received)),
            },
            None => Err(self.err(
                ErrorKind::Other,
                format!("{doing}: the server's batch answer left the object out"),
            )),
        }
    }

    /// An error (worth another try, which asks the server again) when `action` expired.
    fn fresh(
        &self,
        action: &batch::Action,
        received: Option<Instant>,
        doing: &str,
    ) -> Result<(), RemoteError> {
        if !action.expired(received) {
            return Ok(());
        }
        let cause = "the server's transfer URL expired before it was used".to_string();
        Err(self.err(ErrorKind::Transient, format!("{doing}: {cause}")).with_cause(cause))
    }

    async fn upload(
        &self,
        key: &Key,
        src: &Path,
        size: u64,
        over: bool,
    ) -> Result<(), RemoteError> {
        let oid = Self::oid(key);
        let doing = format!("upload {}", oid.short(12));
        let (object, received) = self.one(Operation::Upload, oid, size, &doing).await?;
        let Some(put) = &object.actions.upload else {
            if over {
                return Err(self
                    .err(
                        ErrorKind::Other,
                        format!(
                            "{doing}: the Git LFS server says it holds this object and asks for \
                             no upload, so its copy cannot be replaced through the Git LFS API"
                        ),
                    )
                    .with_hint(
                        "repair it with the server's own tools (delete its copy), then push again",
                    ));
            }
            return Ok(());
        };
        self.fresh(put, received, &doing)?;
        basic::upload(&self.client, put, object.authenticated, src, size, &doing).await?;
        if let Some(check) = &object.actions.verify {
            self.fresh(check, received, &doing)?;
            basic::verify(&self.client, check, object.authenticated, &oid, size, &doing).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Remote for LfsRemote {
    fn name(&self) -> &str {
        &self.client.name
    }

    fn location(&self) -> String {
        self.location.clone()
    }

    async fn check(&self) -> Result<(), RemoteError> {
        // a download batch for the empty object: any well-formed answer means reachable and
        // readable with these credentials
        self.client.batch(Operation::Download, &[(Oid::of_bytes(b""), 0)]).await.map(drop)
    }

    /// Asks with size 0, the size being unknown: a server that checks sizes answers 422 for
    /// an object it holds, which counts as absent here (callers use [`Remote::stat_sized`]).
    async fn stat(&self, key: &Key) -> Result<Option<u64>, RemoteError> {
        let sizes = self.stat_sized(&[(*key, 0)]).await?;
        Ok(sizes.and_then(|s| s.into_iter().next().flatten()))
    }

    async fn stat_sized(
        &self,
        objects: &[(Key, u64)],
    ) -> Result<Option<Vec<Option<u64>>>, RemoteError> {
        let mut sizes = Vec::with_capacity(objects.len());
        for chunk in objects.chunks(batch::MAX_OBJECTS) {
            let asked: Vec<(Oid, u64)> = chunk.iter().map(|(k, s)| (Self::oid(k), *s)).collect();
            let doing = format!("look up {} object(s)", asked.len());
            let reply = self.client.batch(Operation::Download, &asked).await?.for_each(&asked);
            for ((oid, size), answer) in asked.iter().zip(reply) {
                let Some(o) = answer else {
                    let why = format!("{doing}: the server's answer left out {}", oid.short(12));
                    return Err(self.err(ErrorKind::Other, why));
                };
                sizes.push(match &o.error {
                    None if o.actions.download.is_some() => Some(o.size.unwrap_or(*size)),
                    None => None,
                    // 422: held with another size; the upload lets the server decide
                    Some(e) if matches!(e.code, 404 | 410 | 422) => None,
                    Some(e) => return Err(self.object_error(&doing, e)),
                });
            }
        }
        Ok(Some(sizes))
    }

    async fn put(
        &self,
        key: &Key,
        src: &Path,
        size: u64,
        progress: &Progress,
    ) -> Result<(), RemoteError> {
        self.upload(key, src, size, false).await?;
        progress.inc(size);
        Ok(())
    }

    /// Only when the server asks for the upload: the API has no way to replace an object the
    /// server believes it holds.
    async fn put_over(
        &self,
        key: &Key,
        src: &Path,
        size: u64,
        progress: &Progress,
    ) -> Result<(), RemoteError> {
        self.upload(key, src, size, true).await?;
        progress.inc(size);
        Ok(())
    }

    async fn get(
        &self,
        key: &Key,
        sink: &mut AtomicFile,
        progress: &Progress,
    ) -> Result<(), RemoteError> {
        self.get_sized(key, 0, sink, progress).await
    }

    async fn get_sized(
        &self,
        key: &Key,
        size: u64,
        sink: &mut AtomicFile,
        progress: &Progress,
    ) -> Result<(), RemoteError> {
        let oid = Self::oid(key);
        let doing = format!("download {}", oid.short(12));
        let (object, received) = self.one(Operation::Download, oid, size, &doing).await?;
        let Some(get) = &object.actions.download else {
            let why = format!("{doing}: the server's answer has no download action");
            return Err(self.err(ErrorKind::Other, why));
        };
        self.fresh(get, received, &doing)?;
        basic::download(&self.client, get, object.authenticated, sink, progress, &doing).await
    }

    async fn list(&self) -> Result<Vec<Listed>, RemoteError> {
        Err(self.err(ErrorKind::Other, format!("cannot list {}: {NO_LISTING}", self.location)))
    }

    fn can_delete(&self) -> bool {
        false
    }

    fn holds_runs(&self) -> bool {
        false
    }

    async fn delete(&self, key: &Key) -> Result<(), RemoteError> {
        let oid = Self::oid(key).short(12);
        Err(self.err(ErrorKind::Other, format!("cannot delete {oid}: {NO_LISTING}")))
    }
}
