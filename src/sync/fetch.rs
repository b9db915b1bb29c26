//! Downloading objects into the cache: the one path for `git data fetch`, `git data pull`,
//! the filter's batch of missing objects and the hooks that write journaled files.
//!
//! Invariants: an object lands in the cache only after its bytes hashed to its id (and a tee,
//! such as a work-tree file's temp, counts only when it got those verified bytes, see
//! [`Transfer::download_teed`]); what was downloaded is recorded as on the remote; a failed
//! object never stops the others and comes back with its own error.

use super::Local;
use super::remote::Remote;
use super::transfer::{Report, Transfer};
use crate::oid::Oid;
use crate::progress::Progress;
use anyhow::Result;
use std::collections::HashMap;
use std::fs::File;
use std::sync::Arc;

/// A remote opened for downloads, with the transfer queue that talks to it.
pub(crate) struct Source {
    remote: Arc<dyn Remote>,
    transfer: Transfer,
}

impl Source {
    /// The remote `name` (or the default one), with the configured transfer queue. An error
    /// that the remote cannot be opened keeps its `RemoteError` (and hint) in the chain.
    pub(crate) fn open(local: &Local<'_>, name: Option<&str>) -> Result<Source> {
        let remote = super::open_remote(local.config, local.repo, name)?;
        Ok(Source { remote, transfer: super::transfer(local.config)? })
    }

    /// Checks that the remote is reachable with the credentials given, before any download.
    pub(crate) fn check(&self) -> Result<()> {
        self.transfer.call(|| self.remote.check())?;
        Ok(())
    }

    pub(crate) fn name(&self) -> &str {
        self.remote.name()
    }

    /// Downloads `objects` into the cache, each object in `tees` streaming into its file too,
    /// with a progress bar; records what arrived as on the remote.
    pub(crate) fn download(
        &self,
        local: &Local<'_>,
        objects: &[(Oid, u64)],
        tees: HashMap<Oid, File>,
    ) -> Report {
        let total = crate::progress::total_of(objects.iter().map(|o| o.1));
        let progress = Progress::bytes(local.progress, "Downloading", total, objects.len());
        let report =
            self.transfer.download_teed(&self.remote, local.store, objects, tees, &progress);
        progress.finish();
        super::known(local.repo, &*self.remote).add(report.done.iter().copied());
        report
    }
}
