//! Turns object_store errors of the Azure remote into [`RemoteError`]s: a kind that decides
//! retries, one sentence naming the remote, container and what failed, the likely fix, and the
//! cause without the object (so a retry is reported once per cause).
//!
//! Decided on types: the [`Status`] the HTTP layer attaches (status and `x-ms-error-code`) and
//! object_store's transport error kinds. Never includes a secret: messages carry names, codes
//! and statuses only (object_store hides request URLs that carry a SAS token).

use super::client::{Status, TokenService};
use crate::sync::remote::{ErrorKind, RemoteError};
use object_store::client::{HttpError, HttpErrorKind};

/// What the error is about, for the message.
pub(crate) struct Site<'a> {
    pub remote: &'a str,
    pub container: &'a str,
    pub account: &'a str,
    pub endpoint: &'a str,
    /// "the account key", "the SAS token" or "the credentials": what a 403 refused.
    pub credential: &'a str,
}

/// The first error of type `T` in the chain of `err`.
fn find<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<T>() {
            return Some(t);
        }
        cur = e.source();
    }
    None
}

/// The error response status in `err`, when the service answered with one.
pub(crate) fn status(err: &object_store::Error) -> Option<&Status> {
    find::<Status>(err)
}

/// The deepest message of a chain (the outer ones are generic).
pub(crate) fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Classifies an error from operation `doing` (e.g. "upload objects/ab/cd/…").
pub(crate) fn classify(site: &Site, doing: &str, err: &object_store::Error) -> RemoteError {
    let new = |kind, msg: String| {
        RemoteError::new(site.remote, kind, format!("{doing}: {msg}")).with_cause(msg)
    };
    if let Some(t) = find::<TokenService>(err) {
        return new(
            ErrorKind::Denied,
            format!("no usable credentials for account `{}` ({t})", site.account),
        )
        .with_hint(credentials_hint(site.remote));
    }
    if let Some(s) = status(err) {
        return service(site, doing, s);
    }
    let endpoint = site.endpoint;
    if let Some(h) = find::<HttpError>(err) {
        return match h.kind() {
            HttpErrorKind::Connect => new(
                ErrorKind::Unreachable,
                format!("cannot reach {endpoint} ({})", root_cause(err)),
            )
            .with_hint(
                "check the network and the remote's account and endpoint (`git data remote \
                 list`); for Azurite, is the emulator running?",
            ),
            HttpErrorKind::Timeout => {
                new(ErrorKind::Transient, format!("timed out talking to {endpoint}"))
            }
            HttpErrorKind::Request | HttpErrorKind::Interrupted | HttpErrorKind::Decode => new(
                ErrorKind::Transient,
                format!("the connection to {endpoint} broke ({})", root_cause(err)),
            ),
            _ => new(
                ErrorKind::Other,
                format!("cannot send the request to {endpoint} ({})", root_cause(err)),
            )
            .with_hint("check the endpoint URL and TLS settings of the remote"),
        };
    }
    match err {
        object_store::Error::NotFound { .. } => {
            new(ErrorKind::NotFound, "not on the remote".into())
        }
        // a credential provider failing (managed identity, Azure CLI, a token endpoint)
        object_store::Error::Generic { .. } | object_store::Error::Unauthenticated { .. } => new(
            ErrorKind::Denied,
            format!("no usable credentials for account `{}` ({})", site.account, root_cause(err)),
        )
        .with_hint(credentials_hint(site.remote)),
        _ => new(ErrorKind::Other, root_cause(err)),
    }
}

fn credentials_hint(remote: &str) -> String {
    format!(
        "store an account key or SAS token with `git data remote set-credentials {remote}` \
         (`--sas` for a token), or set AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_TOKEN, \
         AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_TENANT_ID, or `az login` with AZURE_USE_AZURE_CLI=true"
    )
}

/// The error for an answer of the blob service.
fn service(site: &Site, doing: &str, s: &Status) -> RemoteError {
    let Site { remote, container, account, endpoint, credential } = *site;
    let code = s.code.as_deref().unwrap_or_default();
    let new = |kind, msg: String| {
        RemoteError::new(remote, kind, format!("{doing}: {msg}")).with_cause(msg)
    };
    match (s.status, code) {
        (_, "ContainerNotFound") => new(
            ErrorKind::Unavailable,
            format!("container `{container}` does not exist in storage account `{account}` at {endpoint}"),
        )
        .with_hint(format!(
            "create it (`az storage container create --account-name {account} --name \
             {container}`), or fix the remote's URL or account"
        )),
        // Azure says AuthenticationFailed for a bad signature, Azurite AuthorizationFailure
        // (which Azure also uses when a firewall rule of the account blocks the network)
        (_, "AuthenticationFailed" | "InvalidAuthenticationInfo")
        | (403, "AuthorizationFailure") => new(
            ErrorKind::Denied,
            format!("{credential} for remote {remote} was refused by account `{account}` ({code})"),
        )
        .with_hint(format!(
            "check that it belongs to account `{account}` and has not expired (if it is right, \
             the account's network rules may block this machine); {}",
            credentials_hint(remote)
        )),
        (_, "AccountIsDisabled" | "InsufficientAccountPermissions") | (403, _) | (401, _) => new(
            ErrorKind::Denied,
            format!("access denied to container `{container}` of account `{account}` ({} {code})", s.status),
        )
        .with_hint(
            "the credentials lack permission here: a Microsoft Entra identity needs the \
             `Storage Blob Data Contributor` role (Reader to fetch only); a SAS token needs \
             read, write, list and delete permissions on the container",
        ),
        (429, _) | (503, _) | (_, "ServerBusy") => {
            new(ErrorKind::Throttled, format!("the store asks to slow down ({} {code})", s.status))
        }
        (404, _) => new(ErrorKind::NotFound, "not on the remote".to_string()),
        (500..=599, _) => new(ErrorKind::Transient, format!("server error {} {code}", s.status)),
        // an object changed while it was read in ranges: reading it again is right
        (412, "ConditionNotMet") => new(ErrorKind::Transient, "the object changed while it was read".into()),
        _ => new(ErrorKind::Other, format!("HTTP {} {code}", s.status)),
    }
}
