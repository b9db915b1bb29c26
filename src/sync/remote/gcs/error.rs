//! Turns GCS failures (object_store's errors for reads, listings and deletes; reqwest errors
//! and HTTP statuses of the JSON API for uploads) into [`RemoteError`]s whose kind decides
//! retries: Unreachable for no connection, Denied for 401/403, NotFound, Throttled for 429
//! and 503, Transient for other 5xx, timeouts and broken connections.
//!
//! Decided on types and statuses, never on message text. Messages carry no secret: reqwest
//! errors are shown without their URL (a resumable session URL is a capability), and a
//! response body contributes only the `error.message` field GCS puts there.

use crate::sync::remote::{ErrorKind, RemoteError};
use object_store::client::{HttpError, HttpErrorKind};

const UNREACHABLE_HINT: &str = "check the network and the remote's endpoint (`git data remote \
     list`, STORAGE_EMULATOR_HOST); for an emulator, is the server running?";

fn new(remote: &str, kind: ErrorKind, doing: &str, msg: String) -> RemoteError {
    RemoteError::new(remote, kind, format!("{doing}: {msg}")).with_cause(msg)
}

/// The messages of an error and its sources, joined.
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// A transport failure found in an error's sources, as (kind, message).
fn transport(
    err: &(dyn std::error::Error + 'static),
    endpoint: &str,
) -> Option<(ErrorKind, String)> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(h) = e.downcast_ref::<HttpError>() {
            return Some(match h.kind() {
                HttpErrorKind::Connect => {
                    (ErrorKind::Unreachable, format!("cannot reach {endpoint} ({})", deepest(e)))
                }
                HttpErrorKind::Timeout => {
                    (ErrorKind::Transient, format!("timed out talking to {endpoint}"))
                }
                _ => (
                    ErrorKind::Transient,
                    format!("the connection to {endpoint} broke ({})", deepest(e)),
                ),
            });
        }
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            return Some(reqwest_kind(r, endpoint));
        }
        cur = e.source();
    }
    None
}

/// The deepest message of an error chain (the I/O or TLS cause).
pub(crate) fn deepest(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn reqwest_kind(r: &reqwest::Error, endpoint: &str) -> (ErrorKind, String) {
    let cause = deepest(r);
    if r.is_connect() {
        (ErrorKind::Unreachable, format!("cannot reach {endpoint} ({cause})"))
    } else if r.is_timeout() {
        (ErrorKind::Transient, format!("timed out talking to {endpoint}"))
    } else {
        (ErrorKind::Transient, format!("the connection to {endpoint} broke ({cause})"))
    }
}

/// Classifies an object_store error from operation `doing`.
pub(crate) fn classify(
    remote: &str,
    doing: &str,
    endpoint: &str,
    err: &object_store::Error,
) -> RemoteError {
    use object_store::Error as E;
    match err {
        E::NotFound { .. } => new(remote, ErrorKind::NotFound, doing, "not on the remote".into()),
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => denied(remote, doing, None),
        _ => match transport(err, endpoint) {
            Some((kind, msg)) => {
                let e = new(remote, kind, doing, msg);
                if kind == ErrorKind::Unreachable { e.with_hint(UNREACHABLE_HINT) } else { e }
            }
            // An HTTP status object_store does not name (5xx, 429, 400): worth another try.
            None => new(remote, ErrorKind::Transient, doing, deepest(err)),
        },
    }
}

fn denied(remote: &str, doing: &str, detail: Option<&str>) -> RemoteError {
    let detail = detail.map(|d| format!(": {d}")).unwrap_or_default();
    new(remote, ErrorKind::Denied, doing, format!("access denied{detail}")).with_hint(
        "the credentials lack permission on this bucket (they need roles/storage.objectUser to \
         push, roles/storage.objectViewer to pull), or are not the ones you meant: check \
         GOOGLE_APPLICATION_CREDENTIALS and `gcloud auth application-default login`",
    )
}

/// Classifies a reqwest failure (no response) of a JSON API request.
pub(crate) fn request(
    remote: &str,
    doing: &str,
    endpoint: &str,
    e: &reqwest::Error,
) -> RemoteError {
    let (kind, msg) = reqwest_kind(e, endpoint);
    let err = new(remote, kind, doing, msg);
    if kind == ErrorKind::Unreachable { err.with_hint(UNREACHABLE_HINT) } else { err }
}

/// Classifies an HTTP error response of the JSON API; `body` is its text.
pub(crate) fn status(
    remote: &str,
    doing: &str,
    bucket: &str,
    endpoint: &str,
    code: u16,
    body: &str,
) -> RemoteError {
    let detail = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string));
    let suffix = detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
    match code {
        401 | 403 => denied(remote, doing, detail.as_deref()),
        404 => new(
            remote,
            ErrorKind::Unavailable,
            doing,
            format!("bucket `{bucket}` does not exist at {endpoint}{suffix}"),
        )
        .with_hint("create the bucket, or fix the remote's URL or endpoint (`git data remote add NAME gs://BUCKET/PREFIX …`)"),
        408 => new(remote, ErrorKind::Transient, doing, format!("the server timed out (408){suffix}")),
        429 | 503 => new(
            remote,
            ErrorKind::Throttled,
            doing,
            format!("the store asks to slow down ({code}){suffix}"),
        ),
        500..=599 => new(remote, ErrorKind::Transient, doing, format!("server error {code}{suffix}")),
        _ => new(remote, ErrorKind::Other, doing, format!("HTTP {code}{suffix}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_decide_kinds() {
        let k = |code| status("r", "upload x", "b", "http://e", code, "").kind;
        assert_eq!(k(401), ErrorKind::Denied);
        assert_eq!(k(403), ErrorKind::Denied);
        assert_eq!(k(404), ErrorKind::Unavailable);
        assert_eq!(k(429), ErrorKind::Throttled);
        assert_eq!(k(503), ErrorKind::Throttled);
        assert_eq!(k(500), ErrorKind::Transient);
        assert_eq!(k(400), ErrorKind::Other);
        let body = r#"{"error":{"code":400,"message":"bad name"}}"#;
        let e = status("r", "upload x", "b", "http://e", 400, body);
        assert!(e.message.ends_with("HTTP 400: bad name"), "{}", e.message);
    }
}
