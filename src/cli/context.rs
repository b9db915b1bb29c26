//! What a command receives, built once: the repository, the resolved configuration, the
//! cache, and output settings. Also turns user paths into repository paths.

use crate::cli::args::{GlobalArgs, TransferArgs};
use crate::config::{self, Config};
use crate::git::Repo;
use crate::git::scan::PathFilter;
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
        let file = shared_config(&repo, &file_path)?;
        let mut config =
            Config::resolve_with(file, file_path, repo.data_dir(), repo.local_settings())?;
        for (name, remote) in &config.file.remotes {
            // an Azure remote's account key or SAS token: this clone's, else the user's
            if let Some(secret) = repo
                .remote_azure_secret(name)
                .or_else(|| crate::git::credentials::user_azure_secret(&remote.url))
            {
                config.azure_secrets.insert(name.clone(), secret);
            }
            // this clone's own keys, else the user's for the remote's URL
            let (keys, source) = match repo.remote_keys(name) {
                Some(k) => (k, format!(".git/config (data.remote.{name}.accessKeyId")),
                None => match crate::git::credentials::user_keys(&remote.url) {
                    Some((k, url)) => {
                        let file = crate::git::credentials::user_file().unwrap_or_default();
                        (k, format!("{} (keys for {url}: accessKeyId", file.display()))
                    }
                    None => continue,
                },
            };
            let masked = config::mask_key_id(&keys.access_key_id);
            config.key_sources.insert(name.clone(), format!("{source} = {masked})"));
            config.keys.insert(name.clone(), keys);
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

    /// The filter name `track` writes: `lfs` where the team's default remote is a Git LFS
    /// server (git-lfs users then read the same files), else `data`.
    pub(crate) fn filter_name(&self) -> crate::git::attributes::FilterName {
        use crate::git::attributes::FilterName;
        if self.config.file.lfs_server_default() { FilterName::Lfs } else { FilterName::Data }
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
    /// Refuses a REMOTE argument that names no remote (a revision typed where the remote
    /// goes would otherwise be a silent no-op whenever nothing needs downloading).
    pub(crate) fn check_remote_arg(&self, args: &TransferArgs) -> Result<()> {
        let Some(name) = &args.remote else { return Ok(()) };
        if self.config.file.remotes.contains_key(name) {
            return Ok(());
        }
        let hint = if self.repo.resolve_commit(name).is_ok() {
            format!("`{name}` is a revision: `--rev {name}` names it")
        } else {
            "`git data remote list` shows the remotes".to_string()
        };
        Err(crate::hint::hinted(format!("no data remote named `{name}`"), hint))
    }

    /// The repository paths of `paths`, each of which must name files git tracks here: a
    /// typo, or a revision typed where a path goes, is an error, not a silent no-op.
    pub(crate) fn tracked_paths(&self, paths: &[String]) -> Result<Vec<BString>> {
        let repo_paths = self.repo_paths(paths)?;
        if repo_paths.is_empty() {
            return Ok(repo_paths);
        }
        let (entries, _) = crate::git::worktree::index_entries(&self.repo, &PathFilter::default())?;
        for (raw, p) in paths.iter().zip(&repo_paths) {
            let one = PathFilter::new(vec![p.clone()]);
            if entries.iter().any(|e| one.matches(e.path.as_ref())) {
                continue;
            }
            let hint = if self.repo.resolve_commit(raw).is_ok() {
                format!(
                    "`{raw}` is a revision: `git checkout {raw}` switches to it with its data; \
                     `git data pull --rev {raw}` fetches its data"
                )
            } else {
                "`git data ls-files` lists the tracked data files".to_string()
            };
            return Err(crate::hint::hinted(format!("`{raw}` matches no file git tracks"), hint));
        }
        Ok(repo_paths)
    }

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

/// Where the last `.gitdata.yaml` seen in the work tree is remembered.
const REMEMBERED: &str = "gitdata.yaml";

/// The team's `.gitdata.yaml`: the work tree's (remembered under `.git/data/`); when the work
/// tree has none — a `git clone --no-checkout`, or a checkout of a tag made before the
/// repository adopted git-data — HEAD's, else the one last seen here, else the default
/// branch's on `origin`. Only a file that is not there is replaced: one that does not parse
/// is an error to fix.
fn shared_config(repo: &Repo, work_file: &Path) -> Result<config::FileConfig> {
    let remembered = repo.data_dir().join(REMEMBERED);
    match std::fs::read(work_file) {
        Ok(text) => {
            let text = String::from_utf8_lossy(&text);
            let file = config::FileConfig::parse(&text, config::FILE_NAME)?;
            if !file.remotes.is_empty()
                && std::fs::read(&remembered).ok().as_deref() != Some(text.as_bytes())
            {
                // only a convenience: a failure leaves the older copy
                let tmp = repo.tmp_dir();
                let _ = std::fs::create_dir_all(&tmp);
                let access = crate::fs::textfile::Access::Shared;
                let _ = crate::fs::textfile::replace(&remembered, text.as_bytes(), &tmp, access);
            }
            Ok(file)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let found = repo
                .file_at("HEAD", config::FILE_NAME)
                .or_else(|| std::fs::read(&remembered).ok())
                .or_else(|| repo.file_at("refs/remotes/origin/HEAD", config::FILE_NAME));
            let Some(text) = found else { return Ok(config::FileConfig::default()) };
            Ok(config::FileConfig::parse(&String::from_utf8_lossy(&text), config::FILE_NAME)?)
        }
        Err(e) => Err(config::ConfigError::Io { path: work_file.to_path_buf(), source: e }.into()),
    }
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
