//! Moving objects between the cache and a remote: the remotes themselves, the transfer queue
//! (bounded parallelism, progress), the one retry layer, and checking a remote's copies.
//!
//! Invariant: an object reaches the cache from a remote only after its bytes hashed to its
//! id, and reaches a remote only from a verified cache object.

pub(crate) mod fetch;
pub(crate) mod probe;
pub(crate) mod push;
pub(crate) mod remote;
pub(crate) mod retry;
pub(crate) mod transfer;
pub(crate) mod verify;

use crate::config::Config;
use crate::git::Repo;
use crate::store::Store;
use crate::store::state::known::KnownObjects;
use remote::{Remote, RemoteError};
use std::sync::Arc;
use transfer::Transfer;

/// The local side of a transfer: the repository, its resolved configuration and the cache.
/// What domain code receives instead of the command line's context.
pub(crate) struct Local<'a> {
    pub repo: &'a Repo,
    pub config: &'a Config,
    pub store: &'a Arc<Store>,
    /// Whether progress bars are drawn.
    pub progress: bool,
}

/// The remote `name` of `repo` (or its default one); a relative directory remote is resolved
/// from the repository's root.
pub(crate) fn open_remote(
    config: &Config,
    repo: &Repo,
    name: Option<&str>,
) -> Result<Arc<dyn Remote>, RemoteError> {
    let base = repo.work_tree.clone().unwrap_or_else(|| repo.git_dir.clone());
    remote::open(config, name, &base, &repo.data_dir())
}

/// The record of the objects known to be on `remote`.
pub(crate) fn known(repo: &Repo, remote: &dyn Remote) -> KnownObjects {
    KnownObjects::load(&repo.data_dir().join("remotes"), remote.name(), &remote.location())
}

/// The transfer queue `config` asks for (its concurrency and retry settings).
pub(crate) fn transfer(config: &Config) -> anyhow::Result<Transfer> {
    use anyhow::Context as _;
    let policy = retry::Policy { retries: config.retries, deadline: config.retry_deadline };
    Transfer::new(config.concurrency, policy).context("cannot start the transfer runtime")
}
