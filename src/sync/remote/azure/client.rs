//! Builds the Azure Blob client of a remote: the account, endpoint and credential chain, one
//! attempt per request, and an HTTP layer that turns every error response into a typed
//! [`Status`] carrying the HTTP status and Azure's `x-ms-error-code`.
//!
//! Invariants: object_store retries nothing (crate::sync::retry is the one layer that does),
//! connects are bounded by a short timeout so a stopped server fails fast; a secret from git
//! config wins over the environment's chain and is checked for shape before use; errors are
//! classified on the status and code, never on text.

use super::settings::AzureSettings;
use crate::config::AzureSecret;
use crate::sync::remote::{ErrorKind, RemoteError};
use async_trait::async_trait;
use base64::Engine;
use object_store::azure::{AzureConfigKey, MicrosoftAzure, MicrosoftAzureBuilder};
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse, HttpService,
    ReqwestConnector,
};
use object_store::{ClientOptions, RetryConfig};
use std::time::Duration;

/// An error response of the blob service: its HTTP status and Azure's error code.
#[derive(Debug, thiserror::Error)]
#[error("HTTP {status}{}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
pub(crate) struct Status {
    pub status: u16,
    pub code: Option<String>,
}

/// A failure of a credential service (managed identity, a token endpoint), not of the blob
/// service: the host that failed and how (never a token or key).
#[derive(Debug, thiserror::Error)]
#[error("the credential service at {host} failed: {detail}")]
pub(crate) struct TokenService {
    pub host: String,
    pub detail: String,
}

/// The reqwest client object_store would use, with error responses made into [`Status`], and
/// any failure of a request to another host than the blob service into [`TokenService`].
#[derive(Debug)]
struct TypedStatus {
    inner: HttpClient,
    /// `host[:port]` of the blob service; `None`: unknown (every request counts as the store's).
    store: Option<String>,
}

#[async_trait]
impl HttpService for TypedStatus {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let host = req.uri().authority().map(|a| a.to_string()).unwrap_or_default();
        let to_store = self.store.as_deref().is_none_or(|s| s == host);
        let token_service =
            |detail: String| HttpError::new(HttpErrorKind::Unknown, TokenService { host, detail });
        let resp = match self.inner.execute(req).await {
            Ok(resp) => resp,
            Err(e) if to_store => return Err(e),
            Err(e) => return Err(token_service(e.to_string())),
        };
        let status = resp.status();
        if !to_store && (status.is_client_error() || status.is_server_error()) {
            return Err(token_service(format!("HTTP {status}")));
        }
        if status.is_client_error() || status.is_server_error() {
            let code = resp
                .headers()
                .get("x-ms-error-code")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            // Unknown: object_store never retries it (nor would it, with no retries set)
            return Err(HttpError::new(
                HttpErrorKind::Unknown,
                Status { status: status.as_u16(), code },
            ));
        }
        Ok(resp)
    }
}

#[derive(Debug)]
struct Connector {
    store: Option<String>,
}

impl HttpConnector for Connector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(HttpClient::new(TypedStatus { inner, store: self.store.clone() }))
    }
}

/// `host[:port]` of a URL.
fn authority(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?']).next()?.to_string())
}

/// The environment's value of `key`, when set and not empty.
pub(super) fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

/// Checks the shape of a configured secret, so a damaged one is named before any request.
fn check_secret(remote: &str, secret: &AzureSecret) -> Result<(), RemoteError> {
    let fix = format!("store the right one with `git data remote set-credentials {remote}`");
    match secret {
        AzureSecret::AccountKey(key) => {
            if base64::engine::general_purpose::STANDARD.decode(key.trim()).is_err() {
                return Err(RemoteError::new(
                    remote,
                    ErrorKind::Denied,
                    "the storage account key kept for this remote is not valid (not base64)",
                )
                .with_hint(fix));
            }
        }
        AzureSecret::Sas(token) => {
            let token = token.trim_start_matches('?');
            let fields: Vec<&str> = token.split('&').collect();
            if !fields.iter().all(|f| f.contains('='))
                || !fields.iter().any(|f| f.starts_with("sig="))
            {
                return Err(RemoteError::new(
                    remote,
                    ErrorKind::Denied,
                    "the SAS token kept for this remote is malformed (it needs `sig=…` and \
                     `key=value` fields joined by `&`)",
                )
                .with_hint(format!("{fix} --sas")));
            }
        }
    }
    Ok(())
}

/// Builds the client of a remote (no request is made).
pub(super) fn build(s: &AzureSettings) -> Result<MicrosoftAzure, RemoteError> {
    let Some(account) = s.account(env) else {
        return Err(RemoteError::new(
            &s.name,
            ErrorKind::Unavailable,
            format!("no storage account is known for az://{}", s.container),
        )
        .with_hint(format!(
            "name it in the remote (`git data remote add --force {} az://{}/… --account NAME`) \
             or set AZURE_STORAGE_ACCOUNT_NAME",
            s.name, s.container
        )));
    };
    let mut options = ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        // a part may take long on a slow link; a stalled one is caught by the read timeout
        .with_timeout_disabled()
        .with_read_timeout(Duration::from_secs(120));
    if s.endpoint.as_deref().is_some_and(|e| e.starts_with("http://")) {
        options = options.with_allow_http(true);
    }
    let retry = RetryConfig { max_retries: 0, ..RetryConfig::default() };
    let store = match &s.endpoint {
        Some(endpoint) => authority(endpoint),
        None => Some(format!("{account}.blob.core.windows.net")),
    };
    // the emulator switch of the environment picks its own address
    let store = store.filter(|_| env("AZURE_STORAGE_USE_EMULATOR").is_none());
    let mut b = MicrosoftAzureBuilder::from_env()
        .with_account(account)
        .with_container_name(&s.container)
        .with_client_options(options)
        .with_retry(retry)
        .with_http_connector(Connector { store });
    if let Some(endpoint) = &s.endpoint {
        b = b.with_endpoint(endpoint.clone());
    }
    // `az` reads the account key from AZURE_STORAGE_KEY; object_store does not
    if let Some(key) = env("AZURE_STORAGE_KEY")
        && env("AZURE_STORAGE_ACCOUNT_KEY").is_none()
    {
        b = b.with_access_key(key);
    }
    match &s.secret {
        Some(secret @ AzureSecret::AccountKey(key)) => {
            check_secret(&s.name, secret)?;
            b = b.with_access_key(key.trim()).with_credential_type("access_key");
        }
        Some(secret @ AzureSecret::Sas(token)) => {
            check_secret(&s.name, secret)?;
            b = b
                .with_config(AzureConfigKey::SasKey, token.trim().trim_start_matches('?'))
                .with_credential_type("sas_token");
        }
        None => {}
    }
    b.build().map_err(|e| {
        RemoteError::new(
            &s.name,
            ErrorKind::Other,
            format!("cannot set up the Azure client: {}", super::error::root_cause(&e)),
        )
        .with_hint(
            "check the remote's account and endpoint (`git data remote list`) and the AZURE_* \
             variables (a malformed AZURE_STORAGE_ACCOUNT_KEY or SAS token is refused here)",
        )
    })
}
