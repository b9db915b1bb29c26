//! Turns HTTP failures of a Git LFS server into [`RemoteError`]s: a kind that decides retries
//! (decided on reqwest's typed errors, the OS error kinds and HTTP statuses, never on text),
//! one sentence naming the server and what failed, and the likely fix.
//!
//! Invariant: no message carries a secret. reqwest's errors are stripped of their URL (an
//! action's href may hold a token in its query) and only the server's host is named.

use crate::sync::remote::s3::error::{no_connection, root_cause};
use crate::sync::remote::{ErrorKind, RemoteError};

/// What a failure is about, for the message.
pub(super) struct Site<'a> {
    pub remote: &'a str,
    /// `scheme://host[:port]` of the URL that failed, never its path or query.
    pub origin: String,
    pub doing: &'a str,
}

impl Site<'_> {
    pub(super) fn new<'a>(remote: &'a str, url: &str, doing: &'a str) -> Site<'a> {
        Site { remote, origin: origin(url), doing }
    }

    pub(super) fn error(&self, kind: ErrorKind, cause: String) -> RemoteError {
        RemoteError::new(self.remote, kind, format!("{}: {cause}", self.doing)).with_cause(cause)
    }
}

/// `scheme://host[:port]` of a URL (no user, path or query).
pub(super) fn origin(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else { return "the server".to_string() };
    let end = url[start..].find(['/', '?', '#']).map_or(url.len(), |i| start + i);
    let authority = &url[start..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{}{host}", &url[..start])
}

/// The error of a request that got no HTTP response.
pub(super) fn transport(site: &Site, e: reqwest::Error) -> RemoteError {
    let origin = &site.origin;
    let e = e.without_url();
    let root = root_cause(&e);
    if e.is_timeout() {
        return site.error(ErrorKind::Transient, format!("timed out talking to {origin}"));
    }
    if e.is_connect() || no_connection(&e) {
        return site
            .error(ErrorKind::Unreachable, format!("cannot reach {origin} ({root})"))
            .with_hint(
                "is the Git LFS server running, and is the remote's URL right? \
                 (`git data remote list`)",
            );
    }
    if e.is_body() || e.is_request() || e.is_decode() {
        return site
            .error(ErrorKind::Transient, format!("the connection to {origin} broke ({root})"));
    }
    site.error(ErrorKind::Other, format!("request to {origin} failed ({root})"))
}

/// The error for an HTTP status other than success; `message` is the server's own (the
/// `message` of an LFS error body), when it gave one.
pub(super) fn status(site: &Site, code: u16, message: Option<&str>) -> RemoteError {
    let origin = &site.origin;
    let detail = message.filter(|m| !m.is_empty()).map(|m| format!(": {m}")).unwrap_or_default();
    match code {
        401 => site
            .error(ErrorKind::Denied, format!("{origin} asks for credentials (HTTP 401{detail})"))
            .with_hint(CREDENTIALS_HINT),
        403 => site
            .error(ErrorKind::Denied, format!("{origin} refused access (HTTP 403{detail})"))
            .with_hint(
                "the credentials lack permission on this repository (push needs write access)",
            ),
        404 | 410 => site.error(ErrorKind::NotFound, "not on the remote".to_string()),
        429 | 503 => {
            site.error(ErrorKind::Throttled, format!("{origin} asks to slow down (HTTP {code})"))
        }
        507 => {
            site.error(ErrorKind::Other, format!("{origin} has no room left (HTTP 507{detail})"))
        }
        500..=599 => site.error(ErrorKind::Transient, format!("server error HTTP {code}{detail}")),
        _ => site.error(ErrorKind::Other, format!("{origin} answered HTTP {code}{detail}")),
    }
}

/// How to give git-data credentials for a Git LFS server.
pub(super) const CREDENTIALS_HINT: &str = "git-data asks git's credential helpers, as git does: \
     store them with a helper (`git config --global credential.helper store`, or your system's), \
     or run the command on a terminal to be asked; `git credential reject` forgets bad ones";

/// The error for a reply that is not the JSON the Batch API defines.
pub(super) fn bad_reply(site: &Site, what: String) -> RemoteError {
    site.error(
        ErrorKind::Other,
        format!("{} sent a reply that is not Git LFS Batch API JSON ({what})", site.origin),
    )
    .with_hint("is the remote's URL a Git LFS endpoint (…/REPO.git/info/lfs)?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_never_carry_paths_queries_or_users() {
        assert_eq!(origin("http://127.0.0.1:9/o/r.git/info/lfs?jwt=x"), "http://127.0.0.1:9");
        assert_eq!(origin("https://u:secret@h/x"), "https://h");
        assert_eq!(origin("https://h?jwt=1"), "https://h");
        assert_eq!(origin("nonsense"), "the server");
    }

    #[test]
    fn statuses_decide_kinds() {
        let site = Site::new("lfs", "http://h:1/o/r.git/info/lfs", "upload x");
        let kind = |c| status(&site, c, None).kind;
        assert_eq!(kind(401), ErrorKind::Denied);
        assert_eq!(kind(403), ErrorKind::Denied);
        assert_eq!(kind(404), ErrorKind::NotFound);
        assert_eq!(kind(429), ErrorKind::Throttled);
        assert_eq!(kind(503), ErrorKind::Throttled);
        assert_eq!(kind(502), ErrorKind::Transient);
        assert_eq!(kind(422), ErrorKind::Other);
        let e = status(&site, 500, Some("boom"));
        assert_eq!(e.message, "upload x: server error HTTP 500: boom");
    }
}
