//! One session with a Git LFS server: the HTTP client (one connection pool, a short connect
//! timeout, no retries of its own) and the authentication of batch requests.
//!
//! Authentication, as git-lfs does it: over an SSH git remote, `git-lfs-authenticate` gives
//! the URL and headers; otherwise the first request goes without credentials, and only a
//! 401 makes git-data ask git's credential helpers (`git credential fill`), once per process
//! however many objects are in flight; the answer is kept for the session, approved
//! (`git credential approve`) when the server accepts it and rejected (`reject`) when the
//! server refuses it, which is reported as refused credentials (`ErrorKind::Denied`).
//! Replaying the request once with the credentials is authentication, not a retry:
//! failures are retried by crate::sync::retry only.
//!
//! Invariant: secrets travel only in `Authorization` headers marked sensitive; messages
//! name the server's origin, never a URL's path, query or user.

use super::batch::{self, Action, MEDIA_TYPE, Operation};
use super::credentials::{self, Creds};
use super::endpoint::Endpoint;
use super::error::{self, CREDENTIALS_HINT, Site};
use super::ssh::{self, Grant};
use crate::oid::Oid;
use crate::sync::remote::{ErrorKind, RemoteError};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// What the session knows of the credential helpers' answer.
#[derive(Default)]
struct CredState {
    creds: Option<Arc<Creds>>,
    /// Bumped at each fill, so a worker that saw a 401 does not ask again for credentials
    /// another worker has just obtained.
    generation: u64,
    approved: bool,
    /// Why no usable credentials can be had (asked once, reported for every object).
    failed: Option<RemoteError>,
}

/// How a request is authenticated.
#[derive(Clone)]
enum Auth {
    Anonymous,
    Creds(Arc<Creds>, u64),
    Ssh(Grant),
}

pub(crate) struct Client {
    pub name: String,
    pub endpoint: Endpoint,
    /// The work tree, where git (credential helpers, config) runs.
    base: PathBuf,
    pub http: reqwest::Client,
    creds: Mutex<CredState>,
    grants: Mutex<HashMap<Operation, Grant>>,
}

impl Client {
    pub(crate) fn new(
        name: &str,
        endpoint: Endpoint,
        base: PathBuf,
    ) -> Result<Client, RemoteError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .user_agent(concat!("git-data/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                RemoteError::new(name, ErrorKind::Other, format!("cannot set up HTTP: {e}"))
            })?;
        let (creds, grants) = (Mutex::default(), Mutex::default());
        Ok(Client { name: name.to_string(), endpoint, base, http, creds, grants })
    }

    /// The authentication to start a batch request of `op` with.
    async fn auth(&self, op: Operation) -> Result<Auth, RemoteError> {
        if let Some(target) = &self.endpoint.ssh {
            let mut grants = self.grants.lock().await;
            if let Some(g) = grants.get(&op).filter(|g| g.fresh()) {
                return Ok(Auth::Ssh(g.clone()));
            }
            let (base, target2) = (self.base.clone(), target.clone());
            let grant = tokio::task::spawn_blocking(move || {
                ssh::authenticate(&base, &target2, op.as_str())
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
            .map_err(|why| {
                RemoteError::new(&self.name, ErrorKind::Denied, why).with_hint(
                    "git-lfs-authenticate runs over SSH like git does: check that \
                     `git fetch` works, or set lfs.url to the server's HTTPS endpoint",
                )
            })?;
            grants.insert(op, grant.clone());
            return Ok(Auth::Ssh(grant));
        }
        let state = self.creds.lock().await;
        Ok(match &state.creds {
            Some(c) => Auth::Creds(c.clone(), state.generation),
            None => Auth::Anonymous,
        })
    }

    /// Credentials after a 401 answered `tried`: the ones another worker just got, or git's
    /// credential helpers' answer (asked once per session).
    async fn after_401(&self, tried: &Auth) -> Result<Auth, RemoteError> {
        let mut state = self.creds.lock().await;
        if let Some(e) = &state.failed {
            return Err(e.clone());
        }
        let used = match tried {
            Auth::Creds(_, generation) => Some(*generation),
            _ => None,
        };
        if let Some(c) = &state.creds
            && used != Some(state.generation)
        {
            return Ok(Auth::Creds(c.clone(), state.generation));
        }
        let (base, url) = (self.base.clone(), self.endpoint.url.clone());
        let filled = tokio::task::spawn_blocking(move || credentials::fill(&base, &url))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        match filled {
            Ok(c) => {
                let c = Arc::new(c);
                state.generation += 1;
                state.creds = Some(c.clone());
                state.approved = false;
                Ok(Auth::Creds(c, state.generation))
            }
            Err(why) => {
                let origin = error::origin(&self.endpoint.url);
                let e = RemoteError::new(
                    &self.name,
                    ErrorKind::Denied,
                    format!("{origin} asks for credentials, and git has none for it ({why})"),
                )
                .with_hint(CREDENTIALS_HINT);
                state.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Reports to the credential helpers how `auth` fared (once per fill).
    async fn report(&self, auth: &Auth, worked: bool) -> Option<RemoteError> {
        let Auth::Creds(creds, generation) = auth else { return None };
        let mut state = self.creds.lock().await;
        if state.generation != *generation || (worked && state.approved) {
            return state.failed.clone();
        }
        let (base, url, c) = (self.base.clone(), self.endpoint.url.clone(), (**creds).clone());
        let _ =
            tokio::task::spawn_blocking(move || credentials::report(&base, &url, &c, worked)).await;
        if worked {
            state.approved = true;
            return None;
        }
        let origin = error::origin(&self.endpoint.url);
        let e = RemoteError::new(
            &self.name,
            ErrorKind::Denied,
            format!(
                "the server refused the credentials of user `{}` for {origin} (from git credential helper)",
                creds.username
            ),
        )
        .with_hint(
            "they were rejected (`git credential reject`), so the helper may forget them: \
             store valid ones in your credential helper and try again",
        );
        state.creds = None;
        state.failed = Some(e.clone());
        Some(e)
    }

    /// POSTs one batch request for `objects` and parses the answer. On a download, a
    /// whole-request 404 or 422 in JSON (giftless answers so when every object failed that
    /// way) becomes that error for each object.
    pub(crate) async fn batch(
        &self,
        op: Operation,
        objects: &[(Oid, u64)],
    ) -> Result<batch::Response, RemoteError> {
        let body = batch::request(op, objects);
        let doing = format!("{} batch request for {} object(s)", op.as_str(), objects.len());
        let mut auth = self.auth(op).await?;
        let mut replayed = false;
        loop {
            let base = match &auth {
                Auth::Ssh(Grant { href: Some(h), .. }) => h.as_str(),
                _ => self.endpoint.url.as_str(),
            };
            let url = format!("{base}/objects/batch");
            let site = Site::new(&self.name, &url, &doing);
            let mut req = self
                .http
                .post(&url)
                .header(ACCEPT, MEDIA_TYPE)
                .header(CONTENT_TYPE, MEDIA_TYPE)
                .body(body.clone());
            req = with_headers(req, auth_headers(&auth));
            let resp = req.send().await.map_err(|e| error::transport(&site, e))?;
            let status = resp.status().as_u16();
            let json = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.contains("json"));
            let bytes = resp.bytes().await.map_err(|e| error::transport(&site, e))?;
            if status == 401 && !replayed && !matches!(auth, Auth::Ssh(_)) {
                replayed = true;
                auth = self.after_401(&auth).await?;
                continue;
            }
            if status == 401 {
                if let Some(e) = self.report(&auth, false).await {
                    return Err(e);
                }
                if let Auth::Ssh(_) = auth {
                    self.grants.lock().await.remove(&op);
                }
            } else if (200..300).contains(&status) {
                self.report(&auth, true).await;
                let mut parsed: batch::Response = serde_json::from_slice(&bytes)
                    .map_err(|e| error::bad_reply(&site, e.to_string()))?;
                parsed.received = Some(std::time::Instant::now());
                if let Some(t) = parsed.transfer.as_deref().filter(|t| *t != "basic") {
                    let why = format!(
                        "the server chose the `{t}` transfer adapter; git-data speaks `basic`"
                    );
                    return Err(site.error(ErrorKind::Other, why));
                }
                return Ok(parsed);
            }
            let message = batch::error_message(&bytes);
            return match (op, status, &auth) {
                (_, 401, Auth::Ssh(_)) => Err(site
                    .error(
                        ErrorKind::Denied,
                        format!(
                            "{} refused the token from git-lfs-authenticate (HTTP 401)",
                            site.origin
                        ),
                    )
                    .with_hint("check your SSH access to the repository (`git fetch`)")),
                (Operation::Download, 404 | 422, _) if json => {
                    Ok(all_failed(objects, status, message))
                }
                (_, 404 | 405, _) => Err(site
                    .error(
                        ErrorKind::Unavailable,
                        format!("no Git LFS API at {} (HTTP {status})", site.origin),
                    )
                    .with_hint(
                        "check the remote's URL (`git data remote list`): it ends in \
                         …/REPO.git/info/lfs",
                    )),
                _ => Err(error::status(&site, status, message.as_deref())),
            };
        }
    }

    /// The headers for an action's request: its own, plus our credentials when the server
    /// did not say the href needs none and it is on the endpoint's server.
    pub(crate) async fn action_headers(
        &self,
        action: &Action,
        authenticated: Option<bool>,
    ) -> Vec<(String, String)> {
        let mut headers: Vec<(String, String)> =
            action.header.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let has_auth = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
        let same_server = error::origin(&action.href) == error::origin(&self.endpoint.url);
        if !has_auth && authenticated != Some(true) && same_server {
            let state = self.creds.lock().await;
            if let Some(c) = &state.creds {
                headers.push((AUTHORIZATION.to_string(), c.header()));
            }
        }
        headers
    }
}

/// An answer giving every object of `objects` the error `code` (some servers answer a
/// download so when it fails for every object).
fn all_failed(objects: &[(Oid, u64)], code: u16, message: Option<String>) -> batch::Response {
    let message = message.unwrap_or_else(|| format!("HTTP {code}"));
    let objects = objects
        .iter()
        .map(|(oid, size)| batch::Object {
            oid: oid.to_hex(),
            size: Some(*size),
            authenticated: None,
            actions: batch::Actions::default(),
            error: Some(batch::ObjectError { code: code.into(), message: message.clone() }),
        })
        .collect();
    batch::Response { transfer: None, objects, received: None }
}

/// The headers that authenticate a batch request.
fn auth_headers(auth: &Auth) -> Vec<(String, String)> {
    match auth {
        Auth::Anonymous => Vec::new(),
        Auth::Creds(c, _) => vec![(AUTHORIZATION.to_string(), c.header())],
        Auth::Ssh(g) => g.headers.clone(),
    }
}

/// `req` with `headers`, every value marked sensitive (kept out of debug output); a header
/// that is not valid HTTP is left out.
pub(crate) fn with_headers(
    mut req: reqwest::RequestBuilder,
    headers: Vec<(String, String)>,
) -> reqwest::RequestBuilder {
    for (k, v) in headers {
        let (Ok(name), Ok(mut value)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) else {
            continue;
        };
        value.set_sensitive(true);
        req = req.header(name, value);
    }
    req
}
