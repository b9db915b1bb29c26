//! What a command receives, built once: the repository, the resolved configuration, the
//! cache, and output settings. Also turns user paths into repository paths.

use crate::cli::args::{GlobalArgs, TransferArgs};
use crate::config::{self, Config};
use crate::git::Repo;
use crate::store::Store;
use crate::store::state::known::KnownObjects;
use crate::store::state::pending::Journal;
use crate::store::state::statcache::StatCache;
use crate::sync::transfer::Transfer;
use crate::sync::{self, remote::Remote, remote::RemoteError};
use anyhow::{Context as _, Result};
use gix::bstr::BString;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

pub(crate) struct Context {
    pub repo: Repo,
    pub config: Config,
    pub store: Arc<Store>,
    pub global: GlobalArgs,
}

impl Context {
    /// Opens the repository around the current directory and resolves its configuration.
    pub(crate) fn open(global: &GlobalArgs) -> Result<Context> {
        let repo = Repo::discover()?;
        let file_path = repo.work_tree.as_deref().unwrap_or(&repo.git_dir).join(config::FILE_NAME);
        let mut config = Config::resolve(file_path, repo.data_dir(), repo.local_settings())?;
        for name in config.file.remotes.keys() {
            if let Some(keys) = repo.remote_keys(name) {
                config.keys.insert(name.clone(), keys);
            }
        }
        let store = Arc::new(Store::new(config.cache_dir.clone()));
        // what a killed git-data left in the cache goes first (one directory read otherwise)
        store.recover();
        Ok(Context { repo, config, store, global: global.clone() })
    }

    /// Like [`Context::open`], but a broken `.gitdata.yaml` only warns and defaults apply: the
    /// filter must keep working so that a checkout can still fix the file.
    pub(crate) fn open_lenient(global: &GlobalArgs) -> Result<Context> {
        match Context::open(global) {
            Ok(ctx) => Ok(ctx),
            Err(e) if e.downcast_ref::<config::ConfigError>().is_some() => {
                eprintln!("git-data: warning: {e}; using default settings");
                let repo = Repo::discover()?;
                let missing = repo.git_dir.join("data").join("no-config.yaml");
                let config = Config::resolve(missing, repo.data_dir(), repo.local_settings())?;
                let store = Arc::new(Store::new(config.cache_dir.clone()));
                Ok(Context { repo, config, store, global: global.clone() })
            }
            Err(e) => Err(e),
        }
    }

    /// Whether progress bars are drawn.
    pub(crate) fn progress(&self) -> bool {
        let forced = if self.global.no_progress || self.global.quiet {
            Some(false)
        } else if self.global.progress {
            Some(true)
        } else {
            self.config.progress
        };
        crate::progress::enabled(forced)
    }

    pub(crate) fn work_tree(&self) -> Result<&Path> {
        Ok(self.repo.work_tree()?)
    }

    pub(crate) fn transfer(&self) -> Result<Transfer> {
        sync::transfer(&self.config)
    }

    /// The remote `name`, or the default one.
    pub(crate) fn remote(&self, name: Option<&str>) -> Result<Arc<dyn Remote>, RemoteError> {
        sync::open_remote(&self.config, &self.repo, name)
    }

    /// The record of objects known to be on `remote`.
    pub(crate) fn known(&self, remote: &dyn Remote) -> KnownObjects {
        sync::known(&self.repo, remote)
    }

    /// What domain code needs of this repository (no command-line settings but progress).
    pub(crate) fn local(&self) -> sync::Local<'_> {
        sync::Local {
            repo: &self.repo,
            config: &self.config,
            store: &self.store,
            progress: self.progress(),
        }
    }

    pub(crate) fn journal(&self) -> Journal {
        Journal::session(self.repo.worktree_data_dir().join("pending"))
    }

    /// The record of pointer blobs already read (repository-wide: blob ids are).
    pub(crate) fn pointer_ids_path(&self) -> PathBuf {
        self.repo.data_dir().join("pointers.log")
    }

    pub(crate) fn stat_cache(&self) -> StatCache {
        StatCache::load(&self.stat_cache_path())
    }

    pub(crate) fn stat_cache_path(&self) -> PathBuf {
        self.repo.stat_cache_path()
    }

    /// The revisions a transfer command works on: `--all`, `--rev`s, or HEAD.
    pub(crate) fn tips(&self, args: &TransferArgs) -> Result<Vec<gix::ObjectId>> {
        if args.all {
            return Ok(self.repo.all_ref_tips());
        }
        if args.revs.is_empty() {
            return Ok(self.repo.resolve_commit("HEAD").ok().into_iter().collect());
        }
        args.revs.iter().map(|r| Ok(self.repo.resolve_commit(r)?)).collect()
    }

    /// Turns paths given on the command line (relative to the current directory) into
    /// repository paths; errors for paths outside the work tree.
    pub(crate) fn repo_paths(&self, paths: &[String]) -> Result<Vec<BString>> {
        let root = self.work_tree()?;
        let cwd = std::env::current_dir()?;
        paths.iter().map(|p| to_repo_path(root, &cwd, p)).collect()
    }
}

/// `p` (relative to `cwd`, or absolute) as a `/`-separated path relative to `root`.
pub(crate) fn to_repo_path(root: &Path, cwd: &Path, p: &str) -> Result<BString> {
    let joined = cwd.join(p);
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                parts.pop();
            }
            Component::Normal(s) => parts.push(s),
            _ => {}
        }
    }
    let normalized: PathBuf =
        std::iter::once(Component::RootDir.as_os_str()).chain(parts).collect();
    let root_norm: PathBuf = root.components().collect();
    let rel = normalized
        .strip_prefix(&root_norm)
        .with_context(|| format!("{p} is outside the repository at {}", root.display()))?;
    Ok(BString::from(std::os::unix::ffi::OsStrExt::as_bytes(rel.as_os_str()).to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_paths() {
        let root = Path::new("/r");
        assert_eq!(to_repo_path(root, Path::new("/r/sub"), "a.bin").unwrap(), "sub/a.bin");
        assert_eq!(to_repo_path(root, Path::new("/r/sub"), "../data/").unwrap(), "data");
        assert_eq!(to_repo_path(root, Path::new("/r"), ".").unwrap(), "");
        assert!(to_repo_path(root, Path::new("/r"), "../x").is_err());
    }
}
