//! What an S3 remote is, as configured: bucket, prefix, endpoint and addressing, credentials,
//! and the sizes and counts its transfers use.

use crate::config::{ChecksumMode, StaticKeys};
use std::path::PathBuf;

/// Everything needed to build the client, resolved from configuration.
#[derive(Clone, Debug)]
pub(crate) struct S3Settings {
    pub name: String,
    pub bucket: String,
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub path_style: bool,
    pub profile: Option<String>,
    pub checksums: ChecksumMode,
    pub keys: Option<StaticKeys>,
    pub part_size: u64,
    /// From this many keys on, existence checks list shard prefixes (one HEAD each below).
    pub list_threshold: usize,
    pub concurrency: usize,
    /// Where resumable multipart uploads are recorded.
    pub state_dir: PathBuf,
}
