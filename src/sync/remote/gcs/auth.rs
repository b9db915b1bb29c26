//! Where a GCS remote talks to and as whom: the endpoint (the remote's `--endpoint`, else
//! STORAGE_EMULATOR_HOST as Google's own libraries read it, else Google), the credentials
//! (GOOGLE_APPLICATION_CREDENTIALS, gcloud's application default credentials, the metadata
//! server, all through object_store), and the object_store client built once from them.
//!
//! Invariants: a credential file that is configured but unusable is reported as such before
//! any request, even against an emulator; no token is ever sent over plain HTTP (an emulator
//! is used anonymously); the library neither retries nor waits long (crate::sync::retry
//! decides what is tried again), and nothing here prints a secret: messages name files and
//! fields, never their values.

use crate::sync::remote::{ErrorKind, RemoteError};
use object_store::gcp::{GcpCredential, GoogleCloudStorage, GoogleCloudStorageBuilder};
use object_store::{BackoffConfig, ClientOptions, RetryConfig, StaticCredentialProvider};
use std::sync::Arc;
use std::time::Duration;

/// Google's endpoint, when neither the remote nor the environment names another.
pub(crate) const GOOGLE: &str = "https://storage.googleapis.com";
/// How long to wait for a connection: a stopped server fails fast, retry decides the rest.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a transfer may stall before it counts as broken.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// How requests are authorised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Auth {
    /// No Authorization header (an emulator on plain HTTP).
    Anonymous,
    /// Bearer tokens from object_store's provider (service account, ADC, metadata server).
    Google,
}

/// The endpoint to use: the remote's own, else STORAGE_EMULATOR_HOST (`host:port` or a URL),
/// else Google's. No trailing slash.
pub(crate) fn endpoint(configured: Option<&str>, emulator_host: Option<&str>) -> String {
    let chosen = match (configured, emulator_host.filter(|h| !h.trim().is_empty())) {
        (Some(e), _) => e.to_string(),
        (None, Some(h)) if h.contains("://") => h.trim().to_string(),
        (None, Some(h)) => format!("http://{}", h.trim()),
        (None, None) => GOOGLE.to_string(),
    };
    chosen.trim_end_matches('/').to_string()
}

/// Checks the file GOOGLE_APPLICATION_CREDENTIALS names: readable JSON of a service account
/// (`private_key`, `client_email`) or an authorized user (`client_id`, `client_secret`,
/// `refresh_token`). The error names the file and what is wrong, never a value from it.
pub(crate) fn check_credential_file(remote: &str, path: &str) -> Result<(), RemoteError> {
    let bad = |why: String| {
        RemoteError::new(
            remote,
            ErrorKind::Denied,
            format!(
                "credential file {path} (GOOGLE_APPLICATION_CREDENTIALS) is not a service-account \
                 or authorized-user JSON: {why}"
            ),
        )
        .with_hint(
            "point GOOGLE_APPLICATION_CREDENTIALS at a service-account key file (`gcloud iam \
             service-accounts keys create`), or unset it and run `gcloud auth \
             application-default login`",
        )
    };
    let text = std::fs::read(path).map_err(|e| bad(format!("cannot read it ({e})")))?;
    let doc: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| bad(format!("not JSON (line {}, column {})", e.line(), e.column())))?;
    let kind = doc.get("type").and_then(|t| t.as_str()).unwrap_or("");
    let needed: &[&str] = match kind {
        "service_account" => &["private_key", "client_email"],
        "authorized_user" => &["client_id", "client_secret", "refresh_token"],
        "" => return Err(bad("it has no \"type\" field".to_string())),
        other => return Err(bad(format!("its type is \"{other}\""))),
    };
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|f| doc.get(*f).and_then(|v| v.as_str()).is_none_or(|s| s.is_empty()))
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!("a {kind} file needs {}", missing.join(", "))));
    }
    Ok(())
}

/// What a remote needs to build its client.
pub(crate) struct Target<'a> {
    pub remote: &'a str,
    pub bucket: &'a str,
    pub endpoint: &'a str,
    pub auth: &'a Auth,
    pub credential_file: Option<&'a str>,
}

/// Builds the object_store client: one attempt per call, short connect timeout, no overall
/// timeout (large objects take long) but a stall limit.
pub(crate) fn build(t: &Target) -> Result<GoogleCloudStorage, RemoteError> {
    let options = ClientOptions::new()
        .with_allow_http(true)
        .with_connect_timeout(CONNECT_TIMEOUT)
        .with_timeout_disabled()
        .with_read_timeout(READ_TIMEOUT);
    let retry = RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: 0,
        retry_timeout: Duration::from_secs(30),
    };
    let mut builder = GoogleCloudStorageBuilder::new()
        .with_bucket_name(t.bucket)
        .with_client_options(options)
        .with_retry(retry);
    if t.endpoint != GOOGLE {
        builder = builder.with_base_url(t.endpoint);
    }
    match t.auth {
        Auth::Anonymous => {
            // deletes send the provider's token even when skipping signatures: an empty one
            let none = GcpCredential { bearer: String::new() };
            builder = builder
                .with_skip_signature(true)
                .with_credentials(Arc::new(StaticCredentialProvider::new(none)));
        }
        Auth::Google => {
            if let Some(path) = t.credential_file {
                builder = builder.with_application_credentials(path);
            }
        }
    }
    builder.build().map_err(|e| {
        RemoteError::new(
            t.remote,
            ErrorKind::Denied,
            format!("cannot set up Google Cloud Storage credentials: {}", super::error::chain(&e)),
        )
        .with_hint(
            "check GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth application-default login`",
        )
    })
}

/// The bearer token for a JSON API request (none when anonymous).
pub(crate) async fn token(
    store: &GoogleCloudStorage,
    auth: &Auth,
    remote: &str,
) -> Result<Option<String>, RemoteError> {
    if *auth == Auth::Anonymous {
        return Ok(None);
    }
    match store.credentials().get_credential().await {
        Ok(c) => Ok(Some(c.bearer.clone())),
        // however it failed (no file, no gcloud login, no metadata server), the fix is the same
        Err(e) => Err(RemoteError::new(
            remote,
            ErrorKind::Denied,
            format!(
                "no usable Google credentials (the token request failed: {})",
                super::error::deepest(&e)
            ),
        )
        .with_cause("no usable Google credentials")
        .with_hint(
            "set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or run `gcloud \
             auth application-default login`, or run on a machine with a service account; for \
             an emulator give the remote `--endpoint http://HOST:PORT` or set \
             STORAGE_EMULATOR_HOST",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_order() {
        assert_eq!(endpoint(None, None), GOOGLE);
        assert_eq!(endpoint(None, Some("127.0.0.1:4443")), "http://127.0.0.1:4443");
        assert_eq!(endpoint(None, Some("https://e:1/")), "https://e:1");
        assert_eq!(endpoint(Some("http://a:2"), Some("b:3")), "http://a:2");
    }

    #[test]
    fn credential_files_are_checked_without_quoting_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.json");
        let check = |text: &str| {
            std::fs::write(&p, text).unwrap();
            check_credential_file("r", p.to_str().unwrap()).map_err(|e| e.message)
        };
        let err = check("{\"type\":\"service_account\",\"private_key\":\"s3cr3t\"}").unwrap_err();
        assert!(err.contains("needs client_email") && !err.contains("s3cr3t"), "{err}");
        assert!(check("s3cr3t").unwrap_err().contains("not JSON"));
        assert!(check("{\"a\":1}").unwrap_err().contains("no \"type\""));
        assert!(
            check("{\"type\":\"authorized_user\",\"client_id\":\"i\",\"client_secret\":\"s\",\"refresh_token\":\"t\"}")
                .is_ok()
        );
        let missing = check_credential_file("r", "/no/such/file").unwrap_err().message;
        assert!(missing.contains("/no/such/file") && missing.contains("cannot read"), "{missing}");
    }
}
