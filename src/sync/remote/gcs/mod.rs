//! The remote on Google Cloud Storage (`gs://bucket/prefix`). Not built yet: opening one says so.

use super::{ErrorKind, Remote, RemoteError};
use std::sync::Arc;

/// Opens the remote; until it is built, a clear error.
pub(crate) fn open(name: &str, url: &str) -> Result<Arc<dyn Remote>, RemoteError> {
    Err(RemoteError::new(
        name,
        ErrorKind::Unavailable,
        format!("{url}: this kind of remote is not supported yet"),
    ))
}
