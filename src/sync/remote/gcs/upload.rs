//! Uploads through GCS's JSON API (object_store writes through the XML API, which emulators
//! such as fake-gcs-server reject): one `uploadType=media` request for objects up to the part
//! size, a resumable session in chunks (multiples of 256 KiB) for larger ones.
//!
//! Invariants: an object appears whole or not at all (a simple upload is one request; a
//! resumable session creates the object only with its last chunk); `put` sends
//! `ifGenerationMatch=0` so an object already there is kept (and its size checked), `put_over`
//! replaces; the stored size is checked against the file's; the session URL of a large upload
//! and the bytes the server acknowledged are recorded under `state_dir/gcs-uploads/` (owner
//! only: the URL lets anyone upload), so a push killed mid-file sends on from there (the
//! server's answer says what it really holds), or asks (`Content-Range: bytes */SIZE`) when
//! nothing was acknowledged. A session that ended with a short object (fake-gcs-server ends
//! one on a status query) or that the server forgot is started over, replacing that object.
//! The file is streamed from disk, never held in memory. No request is retried here.

use super::{GcsRemote, session};
use crate::progress::Progress;
use crate::sync::remote::{ErrorKind, RemoteError};
use futures_util::stream;
use reqwest::{Response, StatusCode, Url};
use serde::Deserialize;
use session::Record;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

/// Resumable chunks are multiples of this.
const QUANTUM: u64 = 256 * 1024;
/// Bytes read from disk per body piece.
const PIECE: u64 = 1 << 20;

/// How an upload ended.
enum Outcome {
    /// The object now holds the file.
    Stored,
    /// `ifGenerationMatch=0` failed: an object is there already.
    AlreadyThere,
}

/// One file to store at one object name.
pub(super) struct Upload<'a> {
    pub remote: &'a GcsRemote,
    pub object: &'a str,
    pub src: &'a Path,
    pub size: u64,
    pub progress: &'a Progress,
    /// Replace what is there (`put_over`) instead of keeping it.
    pub overwrite: bool,
}

impl Upload<'_> {
    fn fail(&self, kind: ErrorKind, msg: String) -> RemoteError {
        RemoteError::new(&self.remote.s.name, kind, msg)
    }

    /// Stores the file; `put` keeps an object of the right size that is already there and
    /// replaces a damaged one (still whole or not at all).
    pub(super) async fn run(&self) -> Result<(), RemoteError> {
        if let Outcome::Stored = self.run_once().await? {
            return Ok(());
        }
        if self.remote.stat_object(self.object).await? == Some(self.size) {
            self.progress.inc(self.size);
            return Ok(());
        }
        let again = Upload { overwrite: true, ..*self };
        match again.run_once().await? {
            Outcome::Stored => Ok(()),
            Outcome::AlreadyThere => Err(self.fail(
                ErrorKind::Transient,
                format!("upload {}: the object keeps changing", self.object),
            )),
        }
    }

    async fn run_once(&self) -> Result<Outcome, RemoteError> {
        if self.size <= self.remote.s.part_size {
            self.simple().await
        } else {
            self.resumable().await
        }
    }

    /// `{endpoint}/upload/storage/v1/b/BUCKET/o?uploadType=…&name=…[&ifGenerationMatch=0]`.
    fn upload_url(&self, upload_type: &str) -> Result<Url, RemoteError> {
        let s = &self.remote.s;
        let mut url = Url::parse(&format!("{}/upload/storage/v1/b/{}/o", s.endpoint, s.bucket))
            .map_err(|e| {
                self.fail(ErrorKind::Other, format!("bad endpoint {}: {e}", s.endpoint))
            })?;
        url.query_pairs_mut()
            .append_pair("uploadType", upload_type)
            .append_pair("name", self.object);
        if !self.overwrite {
            url.query_pairs_mut().append_pair("ifGenerationMatch", "0");
        }
        Ok(url)
    }

    async fn request(
        &self,
        method: reqwest::Method,
        url: Url,
    ) -> Result<reqwest::RequestBuilder, RemoteError> {
        let mut req = self.remote.http.request(method, url);
        if let Some(token) = self.remote.token().await? {
            req = req.bearer_auth(token);
        }
        Ok(req)
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        doing: &str,
    ) -> Result<Response, RemoteError> {
        let s = &self.remote.s;
        req.send().await.map_err(|e| super::error::request(&s.name, doing, &s.endpoint, &e))
    }

    /// The error for an unexpected response.
    async fn refused(&self, resp: Response, doing: &str) -> RemoteError {
        let s = &self.remote.s;
        let code = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        super::error::status(&s.name, doing, &s.bucket, &s.endpoint, code, &body)
    }

    /// Checks the object a final response describes has the file's size.
    async fn finished(&self, resp: Response, doing: &str) -> Result<Outcome, RemoteError> {
        #[derive(Deserialize)]
        struct Object {
            size: String,
        }
        let text = resp.text().await.map_err(|e| {
            let s = &self.remote.s;
            super::error::request(&s.name, doing, &s.endpoint, &e)
        })?;
        let stored =
            serde_json::from_str::<Object>(&text).ok().and_then(|o| o.size.parse::<u64>().ok());
        if stored != Some(self.size) {
            return Err(self.fail(
                ErrorKind::Corrupt,
                format!(
                    "{doing}: the store holds {} bytes, expected {}",
                    stored.map_or("an unknown number of".to_string(), |n| n.to_string()),
                    self.size
                ),
            ));
        }
        Ok(Outcome::Stored)
    }

    /// A body streaming `len` bytes of the file from `offset`, a piece at a time.
    fn body(&self, offset: u64, len: u64) -> Result<reqwest::Body, RemoteError> {
        let file = std::fs::File::open(self.src).map_err(|e| {
            self.fail(ErrorKind::Other, format!("cannot read {}: {e}", self.src.display()))
        })?;
        let file = Arc::new(file);
        let end = offset + len;
        let pieces = stream::unfold(offset, move |at| {
            let file = Arc::clone(&file);
            async move {
                if at >= end {
                    return None;
                }
                let n = PIECE.min(end - at) as usize;
                let read = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0u8; n];
                    file.read_exact_at(&mut buf, at).map(|_| buf)
                })
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)));
                let next = if read.is_ok() { at + n as u64 } else { end };
                Some((read, next))
            }
        });
        Ok(reqwest::Body::wrap_stream(pieces))
    }

    async fn simple(&self) -> Result<Outcome, RemoteError> {
        let doing = format!("upload {}", self.object);
        let req = self
            .request(reqwest::Method::POST, self.upload_url("media")?)
            .await?
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_LENGTH, self.size)
            .body(self.body(0, self.size)?);
        let resp = self.send(req, &doing).await?;
        match resp.status() {
            s if s.is_success() => {
                let out = self.finished(resp, &doing).await?;
                self.progress.inc(self.size);
                Ok(out)
            }
            StatusCode::PRECONDITION_FAILED => Ok(Outcome::AlreadyThere),
            _ => Err(self.refused(resp, &doing).await),
        }
    }

    /// Starts a resumable session; `None` when the object is there already.
    async fn start(&self) -> Result<Option<Record>, RemoteError> {
        let doing = format!("start uploading {}", self.object);
        let req = self
            .request(reqwest::Method::POST, self.upload_url("resumable")?)
            .await?
            .header(reqwest::header::CONTENT_TYPE, "application/json; charset=UTF-8")
            .header("X-Upload-Content-Type", "application/octet-stream")
            .header("X-Upload-Content-Length", self.size)
            .body("{}");
        let resp = self.send(req, &doing).await?;
        if resp.status() == StatusCode::PRECONDITION_FAILED {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self.refused(resp, &doing).await);
        }
        let Some(session) =
            resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok())
        else {
            return Err(
                self.fail(ErrorKind::Other, format!("{doing}: the server gave no session URL"))
            );
        };
        let rec = Record {
            bucket: self.remote.s.bucket.clone(),
            object: self.object.to_string(),
            size: self.size,
            session: session.to_string(),
            sent: 0,
        };
        self.save(&rec);
        Ok(Some(rec))
    }

    /// What the server answered about a session: bytes it holds, or the upload's end.
    async fn status(&self, rec: &Record) -> Result<Step, RemoteError> {
        let doing = format!("resume uploading {}", self.object);
        let url = Url::parse(&rec.session)
            .map_err(|_| self.fail(ErrorKind::Other, format!("{doing}: bad session URL")))?;
        let req = self
            .request(reqwest::Method::PUT, url)
            .await?
            .header(reqwest::header::CONTENT_RANGE, format!("bytes */{}", self.size))
            .header(reqwest::header::CONTENT_LENGTH, 0);
        let resp = self.send(req, &doing).await?;
        self.step(resp, &doing).await
    }

    /// Interprets a session response.
    async fn step(&self, resp: Response, doing: &str) -> Result<Step, RemoteError> {
        match resp.status().as_u16() {
            308 => {
                let held = resp
                    .headers()
                    .get(reqwest::header::RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|r| r.strip_prefix("bytes=0-"))
                    .and_then(|n| n.parse::<u64>().ok())
                    .map_or(0, |last| last + 1);
                Ok(Step::Next(held))
            }
            200 | 201 => Ok(match self.finished(resp, doing).await {
                Ok(_) => Step::Done,
                // a server that ended the session early (fake-gcs-server does on a status
                // query): the object it made is short, so the upload starts over, replacing it
                Err(e) if e.kind == ErrorKind::Corrupt => Step::Lost,
                Err(e) => return Err(e),
            }),
            404 | 410 => Ok(Step::Lost),
            412 => Ok(Step::AlreadyThere),
            _ => Err(self.refused(resp, doing).await),
        }
    }

    async fn resumable(&self) -> Result<Outcome, RemoteError> {
        let chunk = (self.remote.s.part_size / QUANTUM).max(1) * QUANTUM;
        let mut overwrite = self.overwrite;
        for _ in 0..2 {
            let me = Upload { overwrite, ..*self };
            let (mut rec, mut step) = match me.load() {
                Some(rec) => {
                    let step = me.resume(&rec, chunk).await?;
                    (rec, step)
                }
                None => match me.start().await? {
                    Some(rec) => (rec, Step::Next(0)),
                    None => return Ok(Outcome::AlreadyThere),
                },
            };
            if let Step::Next(held) = step {
                self.progress.inc(held);
            }
            loop {
                match step {
                    Step::Next(at) if at < self.size => {
                        let len = chunk.min(self.size - at);
                        step = me.send_chunk(&rec, at, len).await?;
                        if let Step::Next(now) = step {
                            self.progress.inc(now.saturating_sub(at));
                            rec.sent = now;
                            me.save(&rec);
                        }
                    }
                    // all bytes held but no final answer: ask again
                    Step::Next(_) => step = me.status(&rec).await?,
                    Step::Done => {
                        me.forget();
                        return Ok(Outcome::Stored);
                    }
                    Step::AlreadyThere => {
                        me.forget();
                        return Ok(Outcome::AlreadyThere);
                    }
                    Step::Lost => {
                        self.progress.println(&format!(
                            "git-data: the store lost the upload of {}; starting it over",
                            self.object
                        ));
                        me.forget();
                        overwrite = true;
                        break;
                    }
                }
            }
        }
        Err(self.fail(
            ErrorKind::Transient,
            format!("upload {}: the store keeps losing the upload session", self.object),
        ))
    }

    /// Where a recorded session stands. With bytes acknowledged, the next chunk goes from
    /// there (the server's answer says how much it really holds); without, or if that chunk
    /// is refused, the server is asked (`Content-Range: bytes */SIZE`).
    async fn resume(&self, rec: &Record, chunk: u64) -> Result<Step, RemoteError> {
        if rec.sent > 0 && rec.sent < self.size {
            self.progress.println(&format!(
                "git-data: resuming the upload of {} at {}",
                self.object,
                crate::units::human(rec.sent)
            ));
            let len = chunk.min(self.size - rec.sent);
            match self.send_chunk(rec, rec.sent, len).await {
                Ok(step) => return Ok(step),
                Err(e) if e.kind != ErrorKind::Other => return Err(e),
                Err(_) => {}
            }
        }
        self.status(rec).await
    }

    async fn send_chunk(&self, rec: &Record, at: u64, len: u64) -> Result<Step, RemoteError> {
        let doing = format!("upload {}", self.object);
        let url = Url::parse(&rec.session)
            .map_err(|_| self.fail(ErrorKind::Other, format!("{doing}: bad session URL")))?;
        let req = self
            .request(reqwest::Method::PUT, url)
            .await?
            .header(
                reqwest::header::CONTENT_RANGE,
                format!("bytes {}-{}/{}", at, at + len - 1, self.size),
            )
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(self.body(at, len)?);
        let resp = self.send(req, &doing).await?;
        self.step(resp, &doing).await
    }
}

/// Where a resumable session stands.
enum Step {
    /// The server holds this many bytes; send from there.
    Next(u64),
    /// The object is complete and of the right size.
    Done,
    /// The session is gone (expired, or the server forgot it): start over.
    Lost,
    /// `ifGenerationMatch=0` failed at the end: an object is there already.
    AlreadyThere,
}
