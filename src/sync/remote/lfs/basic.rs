//! The `basic` transfer adapter: an upload is one PUT of the object's bytes to the upload
//! action's href, then a POST of `{oid, size}` to the verify action's href when the server
//! gave one; a download is one GET of the download action's href.
//!
//! Invariants: bytes stream (the upload reads the file in 1 MiB chunks on a blocking thread
//! with at most 4 chunks in flight; the download writes each chunk into the hashing sink), so
//! memory does not grow with the object; an upload succeeds only when the server accepted
//! the PUT (and the verify); hrefs are never printed (they may carry a token).

use super::batch::{Action, MEDIA_TYPE};
use super::client::{Client, with_headers};
use super::error::{self, Site};
use crate::fs::atomic::AtomicFile;
use crate::oid::Oid;
use crate::progress::Progress;
use crate::sync::remote::{ErrorKind, RemoteError};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use std::io::Read;
use std::path::Path;

const CHUNK: usize = 1 << 20;

/// A stream of the bytes of `src`, read on a blocking thread.
fn file_body(src: &Path) -> std::io::Result<reqwest::Body> {
    let mut file = std::fs::File::open(src)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    tokio::task::spawn_blocking(move || {
        loop {
            let mut buf = vec![0; CHUNK];
            let chunk = match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    Ok(buf)
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
            let failed = chunk.is_err();
            if tx.blocking_send(chunk).is_err() || failed {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    Ok(reqwest::Body::wrap_stream(stream))
}

/// Sends an action's request with its headers: the response when it succeeded, else its
/// status and the server's message.
async fn send(
    client: &Client,
    action: &Action,
    authenticated: Option<bool>,
    req: reqwest::RequestBuilder,
    site: &Site<'_>,
) -> Result<Result<reqwest::Response, (u16, Option<String>)>, RemoteError> {
    let headers = client.action_headers(action, authenticated).await;
    let resp = with_headers(req, headers).send().await.map_err(|e| error::transport(site, e))?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(Ok(resp));
    }
    let message = resp.bytes().await.ok().and_then(|b| super::batch::error_message(&b));
    Ok(Err((status, message)))
}

/// PUTs the `size` bytes of `src` to `action`.
pub(crate) async fn upload(
    client: &Client,
    action: &Action,
    authenticated: Option<bool>,
    src: &Path,
    size: u64,
    doing: &str,
) -> Result<(), RemoteError> {
    let site = Site::new(&client.name, &action.href, doing);
    let body = file_body(src).map_err(|e| {
        let why = format!("cannot read {}: {e}", src.display());
        RemoteError::new(&client.name, ErrorKind::Other, why)
    })?;
    let req = client
        .http
        .put(&action.href)
        .header(CONTENT_TYPE, "application/octet-stream")
        .header(CONTENT_LENGTH, size)
        .body(body);
    match send(client, action, authenticated, req, &site).await? {
        Ok(_) => Ok(()),
        // a PUT has nothing to find: a 404 means the upload URL is wrong, not a missing object
        Err((404, _)) => {
            let why = format!("{} has no such upload URL (HTTP 404)", site.origin);
            Err(site.error(ErrorKind::Other, why))
        }
        Err((status, message)) => Err(error::status(&site, status, message.as_deref())),
    }
}

/// POSTs `{oid, size}` to the verify action: the server confirms it holds the object whole.
pub(crate) async fn verify(
    client: &Client,
    action: &Action,
    authenticated: Option<bool>,
    oid: &Oid,
    size: u64,
    doing: &str,
) -> Result<(), RemoteError> {
    let site = Site::new(&client.name, &action.href, doing);
    let body = serde_json::json!({ "oid": oid.to_hex(), "size": size }).to_string();
    let req = client
        .http
        .post(&action.href)
        .header(CONTENT_TYPE, MEDIA_TYPE)
        .header(reqwest::header::ACCEPT, MEDIA_TYPE)
        .body(body);
    let Err((status, message)) = send(client, action, authenticated, req, &site).await? else {
        return Ok(());
    };
    let detail = message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
    Err(match status {
        // the upload did not land whole: worth another try, which uploads again
        404 | 409 | 422 => site.error(
            ErrorKind::Transient,
            format!("the server did not confirm the upload (verify: HTTP {status}{detail})"),
        ),
        _ => error::status(&site, status, message.as_deref()),
    })
}

/// GETs the download action's bytes into `sink`.
pub(crate) async fn download(
    client: &Client,
    action: &Action,
    authenticated: Option<bool>,
    sink: &mut AtomicFile,
    progress: &Progress,
    doing: &str,
) -> Result<(), RemoteError> {
    let site = Site::new(&client.name, &action.href, doing);
    let req = client.http.get(&action.href);
    let mut resp = match send(client, action, authenticated, req, &site).await? {
        Ok(resp) => resp,
        Err((status, message)) => return Err(error::status(&site, status, message.as_deref())),
    };
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                sink.write_all(&chunk).map_err(|e| {
                    let why = format!("{doing}: cannot write the download: {e}");
                    RemoteError::new(&client.name, ErrorKind::Other, why)
                })?;
                progress.inc(chunk.len() as u64);
            }
            Ok(None) => return Ok(()),
            Err(e) => {
                let cause = format!("the download stream broke ({})", e.without_url());
                return Err(site.error(ErrorKind::Transient, cause));
            }
        }
    }
}
