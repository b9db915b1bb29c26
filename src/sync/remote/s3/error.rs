//! Turns S3 SDK errors into [`RemoteError`]s: a kind that decides retries, one sentence that
//! names the remote, bucket and what failed, the likely fix, and the cause without the object
//! (so a retry is reported once per cause). Decided on the SDK's typed errors, never on text. Never includes credentials
//! (the SDK's errors carry none; we add only names, codes and HTTP statuses).

use crate::sync::remote::{ErrorKind, RemoteError};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// What the error is about, for the message.
pub(crate) struct Site<'a> {
    pub remote: &'a str,
    pub bucket: &'a str,
    pub endpoint: &'a str,
    pub region: &'a str,
}

/// Classifies an SDK error from operation `doing` (e.g. "upload objects/ab/cd/…").
pub(crate) fn classify<E, R>(site: &Site, doing: &str, err: &SdkError<E, R>) -> RemoteError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + HttpStatus + 'static,
{
    let Site { remote, bucket, endpoint, region } = *site;
    let new = |kind, msg: String| {
        RemoteError::new(remote, kind, format!("{doing}: {msg}")).with_cause(msg)
    };
    match err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status_code();
            let code = se.err().code().unwrap_or_default().to_string();
            let bucket_region = se.raw().header("x-amz-bucket-region");
            service(site, doing, status, &code, bucket_region, se.err().message())
        }
        SdkError::TimeoutError(_) => new(ErrorKind::Transient, format!("timed out talking to {endpoint}")),
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            new(ErrorKind::Transient, format!("timed out connecting to {endpoint}"))
        }
        SdkError::DispatchFailure(_) if no_connection(err) => new(
            ErrorKind::Unreachable,
            format!("cannot reach {endpoint} ({})", root_cause(err)),
        )
        .with_hint("check the network and the remote's endpoint (`git data remote list`); for a self-hosted store, is the server running?"),
        SdkError::DispatchFailure(d) if d.is_io() || transient(d.as_other()) => {
            new(ErrorKind::Transient, format!("the connection to {endpoint} broke ({})", root_cause(err)))
        }
        SdkError::DispatchFailure(_) => new(ErrorKind::Unavailable, format!("cannot send the request to {endpoint} ({})", root_cause(err)))
            .with_hint("check the endpoint URL and TLS settings of the remote"),
        SdkError::ResponseError(_) => new(ErrorKind::Transient, format!("the connection to {endpoint} broke ({})", root_cause(err))),
        SdkError::ConstructionFailure(_) => {
            let cause = root_cause(err);
            if cause.contains("credentials") || cause.contains("identity") {
                return no_credentials(remote, bucket);
            }
            new(ErrorKind::Other, format!("cannot build the request ({cause})"))
        }
        _ => new(ErrorKind::Other, format!("{} (region {region})", root_cause(err))),
    }
}

/// The error for a response with an HTTP status and an S3 error code.
pub(crate) fn service(
    site: &Site,
    doing: &str,
    status: u16,
    code: &str,
    bucket_region: Option<&str>,
    message: Option<&str>,
) -> RemoteError {
    let Site { remote, bucket, endpoint, region } = *site;
    let new = |kind, msg: String| {
        RemoteError::new(remote, kind, format!("{doing}: {msg}")).with_cause(msg)
    };
    let detail = message.map(|m| format!(": {m}")).unwrap_or_default();
    match (status, code) {
        (_, "NoSuchBucket") => new(ErrorKind::Unavailable, format!("bucket `{bucket}` does not exist at {endpoint}"))
            .with_hint("create the bucket, or fix the remote's URL, endpoint or region (`git data remote add NAME s3://BUCKET/PREFIX …`)"),
        (_, "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "InvalidToken" | "ExpiredToken" | "TokenRefreshRequired") => {
            new(ErrorKind::Denied, format!("the credentials were refused ({code})"))
                .with_hint("check the access key and secret (`git data env` shows where they come from); `git data remote set-credentials NAME` stores new ones")
        }
        (_, "PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException") | (301, _) => {
            let actual = bucket_region.map(|r| format!(" (the bucket is in {r})")).unwrap_or_default();
            new(ErrorKind::Other, format!("bucket `{bucket}` is not in region {region}{actual}"))
                .with_hint(format!("set the region: `git data remote add {remote} s3://{bucket}/… --region {}`", bucket_region.unwrap_or("REGION")))
        }
        (_, "AccessDenied" | "AllAccessDisabled") | (403, _) => new(ErrorKind::Denied, format!("access denied to bucket `{bucket}`{detail}"))
            .with_hint("the credentials lack permission on this bucket or prefix: see docs/s3.md for the policy a read-only and a read-write user need"),
        (_, "SlowDown" | "Throttling" | "ThrottlingException" | "RequestLimitExceeded") | (429, _) | (503, _) => {
            new(ErrorKind::Throttled, format!("the store asks to slow down ({status} {code})"))
        }
        (_, "NoSuchKey" | "NotFound") | (404, _) => new(ErrorKind::NotFound, "not on the remote".to_string()),
        (_, "NoSuchUpload") => new(ErrorKind::NotFound, "the multipart upload no longer exists".to_string()),
        (_, "BadDigest" | "InvalidDigest" | "XAmzContentChecksumMismatch" | "InvalidChecksum") => {
            new(ErrorKind::Transient, format!("the store received damaged bytes ({code})"))
        }
        (500..=599, _) => new(ErrorKind::Transient, format!("server error {status} {code}{detail}")),
        _ => new(ErrorKind::Other, format!("HTTP {status} {code}{detail}")),
    }
}

/// The error for a remote with no credentials anywhere in the chain.
pub(crate) fn no_credentials(remote: &str, bucket: &str) -> RemoteError {
    RemoteError::new(remote, ErrorKind::Denied, format!("no credentials found for bucket `{bucket}`")).with_hint(
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or a profile for the remote (--profile), \
         or store keys in this clone with `git data remote set-credentials NAME`",
    )
}

/// Whether the HTTP client says a failure may pass (a connection closed mid-response).
fn transient(kind: Option<aws_config::retry::ErrorKind>) -> bool {
    use aws_config::retry::ErrorKind as Sdk;
    matches!(kind, Some(Sdk::TransientError | Sdk::ServerError | Sdk::ThrottlingError))
}

/// Whether no connection could be made at all (refused, name not resolved, no route): the
/// request was never sent. Decided on types: hyper's connect errors and the OS error kinds.
pub(crate) fn no_connection(err: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind as Io;
    let mut cur = Some(err);
    while let Some(e) = cur {
        if e.downcast_ref::<hyper_util::client::legacy::Error>().is_some_and(|h| h.is_connect()) {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                Io::ConnectionRefused
                    | Io::HostUnreachable
                    | Io::NetworkUnreachable
                    | Io::AddrNotAvailable
            )
        {
            return true;
        }
        cur = e.source();
    }
    false
}

/// The deepest error message in a chain (the SDK's top-level messages are generic).
pub(crate) fn root_cause(err: &dyn std::error::Error) -> String {
    let mut cur: &dyn std::error::Error = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Access to the HTTP status and headers of a raw response.
pub(crate) trait HttpStatus {
    fn status_code(&self) -> u16;
    fn header(&self, name: &str) -> Option<&str>;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers().get(name)
    }
}
