//! Repository access: gix for reading (paths, config, objects, revisions, attributes) and
//! the one helper that runs the git binary for what git owns (config writes, index refresh).
//!
//! Invariants: every git process we start ourselves is told not to call our filter back
//! (unless the caller asks for it), runs with a C locale, and never prompts.

pub(crate) mod attributes;
pub(crate) mod batch;
mod command;
pub(crate) mod credentials;
pub(crate) mod globs;
pub(crate) mod hooks;
pub(crate) mod ignore;
pub(crate) mod index;
pub(crate) mod odb;
pub(crate) mod roots;
pub(crate) mod scan;
pub(crate) mod worktree;

pub(crate) use command::{
    IndexInfo, git_command, git_version, git_with_filter, run_git, run_git_input, update_index,
    user_git,
};

use crate::config::LocalSettings;
use crate::pointer::{MAX_POINTER_SIZE, Pointer, PointerError};
use gix::bstr::{BStr, ByteSlice};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub(crate) enum GitError {
    #[error("not in a git repository (or any parent directory): {0}")]
    NotARepository(String),
    #[error("this command needs a work tree, and the repository at {} is bare", .0.display())]
    Bare(PathBuf),
    #[error("unknown revision `{rev}`: {message}")]
    BadRevision { rev: String, message: String },
    #[error("cannot read git object {id}: {message}")]
    Object { id: String, message: String },
    #[error("{0}")]
    Other(String),
}

fn other(e: impl std::fmt::Display) -> GitError {
    GitError::Other(e.to_string())
}

/// An opened repository and the paths git-data uses in it.
#[derive(Clone)]
pub(crate) struct Repo {
    pub gix: gix::Repository,
    pub git_dir: PathBuf,
    pub common_dir: PathBuf,
    pub work_tree: Option<PathBuf>,
    pub index_path: PathBuf,
    pub hash_kind: gix::hash::Kind,
}

impl Repo {
    /// Finds the repository from the current directory (honouring GIT_DIR and friends).
    pub(crate) fn discover() -> Result<Repo, GitError> {
        let cwd = std::env::current_dir().map_err(other)?;
        let gix = gix::discover_with_environment_overrides(&cwd)
            .map_err(|e| GitError::NotARepository(e.to_string()))?;
        let absolute = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) };
        Ok(Repo {
            git_dir: absolute(gix.git_dir()),
            common_dir: absolute(gix.common_dir()),
            work_tree: gix.workdir().map(absolute),
            index_path: absolute(&gix.index_path()),
            hash_kind: gix.object_hash(),
            gix,
        })
    }

    /// The work tree root, or an error for a bare repository.
    pub(crate) fn work_tree(&self) -> Result<&Path, GitError> {
        self.work_tree.as_deref().ok_or_else(|| GitError::Bare(self.git_dir.clone()))
    }

    /// `<common dir>/data`: the default cache root and the per-repository state.
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.common_dir.join("data")
    }

    /// `<git dir>/data`: state that belongs to one work tree (pending journal, stat cache).
    pub(crate) fn worktree_data_dir(&self) -> PathBuf {
        self.git_dir.join("data")
    }

    /// `<git dir>/data/statcache.log`: (path, stat) → object id, for this work tree's files.
    pub(crate) fn stat_cache_path(&self) -> PathBuf {
        self.worktree_data_dir().join("statcache.log")
    }

    /// `<git dir>/data/tmp`: temps of files written into this work tree, on its file system.
    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.worktree_data_dir().join("tmp")
    }

    /// Whether a rebase or `git am` is in progress (git keeps its state in these directories).
    pub(crate) fn sequencer_running(&self) -> bool {
        ["rebase-merge", "rebase-apply"].iter().any(|d| self.git_dir.join(d).is_dir())
    }

    /// Where git runs hooks from (core.hooksPath or `<common dir>/hooks`).
    pub(crate) fn hooks_dir(&self) -> PathBuf {
        match self.config_string("core.hooksPath") {
            Some(p) => {
                let p = crate::config::expand_home(&p);
                if p.is_absolute() {
                    p
                } else {
                    self.work_tree.clone().unwrap_or_else(|| self.git_dir.clone()).join(p)
                }
            }
            None => self.common_dir.join("hooks"),
        }
    }

    /// A string value of the repository's resolved git config.
    pub(crate) fn config_string(&self, key: &str) -> Option<String> {
        self.gix.config_snapshot().string(key).map(|v| v.to_str_lossy().into_owned())
    }

    /// The `data.*` settings of git config, overlaid with the environment.
    pub(crate) fn local_settings(&self) -> LocalSettings {
        LocalSettings {
            cache_dir: self.config_string("data.cacheDir"),
            link_mode: self.config_string("data.linkMode"),
            inline_max: self.config_string("data.inlineMax"),
            concurrency: self.config_string("data.concurrency"),
            default_remote: self.config_string("data.remote"),
            progress: self.config_string("data.progress"),
            list_threshold: self.config_string("data.listThreshold"),
            retries: self.config_string("data.retries"),
            retry_deadline: self.config_string("data.retryDeadline"),
            skip_smudge: self.config_string("data.skipSmudge"),
            fetch_include: self.config_string("data.fetchInclude"),
            fetch_exclude: self.config_string("data.fetchExclude"),
            prune_recent_days: self.config_string("data.pruneRecentDays"),
        }
        .with_env(|k| std::env::var(k).ok())
    }

    /// Access keys for the remote `name` kept in git config
    /// (`data.remote.NAME.accessKeyId`, `.secretAccessKey`, `.sessionToken`).
    pub(crate) fn remote_keys(&self, name: &str) -> Option<crate::config::StaticKeys> {
        let get = |k: &str| {
            self.config_string(&format!("data.remote.{name}.{k}")).filter(|v| !v.is_empty())
        };
        Some(crate::config::StaticKeys {
            access_key_id: get("accessKeyId")?,
            secret_access_key: get("secretAccessKey")?,
            session_token: get("sessionToken"),
        })
    }

    /// The Azure secret for the remote `name` kept in git config
    /// (`data.remote.NAME.azureAccountKey`, else `.azureSasToken`).
    pub(crate) fn remote_azure_secret(&self, name: &str) -> Option<crate::config::AzureSecret> {
        let get = |k: &str| {
            self.config_string(&format!("data.remote.{name}.{k}")).filter(|v| !v.is_empty())
        };
        use crate::config::AzureSecret;
        get("azureAccountKey")
            .map(AzureSecret::AccountKey)
            .or_else(|| get("azureSasToken").map(AzureSecret::Sas))
    }

    /// Sets (`Some`) or removes (`None`) values in the repository's own `.git/config`, under
    /// git's lock protocol, without passing values on any command line (they may be secrets).
    pub(crate) fn write_local_config(
        &self,
        edits: &[(&str, &str, &str, Option<&str>)],
        access: crate::fs::textfile::Access,
    ) -> Result<(), GitError> {
        write_config_file(&self.common_dir.join("config"), edits, access)
    }

    /// Resolves a revision to a commit id.
    pub(crate) fn resolve_commit(&self, rev: &str) -> Result<gix::ObjectId, GitError> {
        let bad = |e: &dyn std::fmt::Display| GitError::BadRevision {
            rev: rev.into(),
            message: e.to_string(),
        };
        let id = self.gix.rev_parse_single(rev).map_err(|e| bad(&e))?;
        let commit = id.object().map_err(|e| bad(&e))?.peel_to_commit().map_err(|e| bad(&e))?;
        Ok(commit.id)
    }

    /// The bytes of the file at `path` in the commit `rev` names, if both exist (and it is
    /// a blob).
    pub(crate) fn file_at(&self, rev: &str, path: &str) -> Option<Vec<u8>> {
        let commit = self.resolve_commit(rev).ok()?;
        let tree = self.gix.find_commit(commit).ok()?.tree().ok()?;
        let entry = tree.lookup_entry_by_path(path).ok()??;
        Some(entry.object().ok()?.try_into_blob().ok()?.detach().data)
    }

    /// The tree of a commit.
    pub(crate) fn tree_of(&self, commit: gix::ObjectId) -> Result<gix::ObjectId, GitError> {
        let c = self.gix.find_commit(commit).map_err(|e| obj_err(commit, e))?;
        c.tree_id().map(|t| t.detach()).map_err(|e| obj_err(commit, e))
    }

    /// The id git gives to a blob with these bytes.
    pub(crate) fn blob_id(&self, data: &[u8]) -> gix::ObjectId {
        gix::objs::compute_hash(self.hash_kind, gix::objs::Kind::Blob, data)
            .unwrap_or_else(|_| gix::ObjectId::null(self.hash_kind))
    }

    /// Reads the blob `id` as a pointer if it is small enough to be one and parses.
    pub(crate) fn read_pointer(&self, id: gix::ObjectId) -> Result<Option<Pointer>, GitError> {
        Ok(self.check_pointer(id)?.ok().flatten())
    }

    /// Classifies the blob `id`: `Ok(Some)` a pointer, `Ok(None)` not a pointer, `Err` a
    /// blob that claims to be a pointer (it has the version line) but is malformed.
    pub(crate) fn check_pointer(
        &self,
        id: gix::ObjectId,
    ) -> Result<Result<Option<Pointer>, PointerError>, GitError> {
        let header = self.gix.find_header(id).map_err(|e| obj_err(id, e))?;
        if header.size() as usize >= MAX_POINTER_SIZE || header.kind() != gix::objs::Kind::Blob {
            return Ok(Ok(None));
        }
        let blob = self.gix.find_blob(id).map_err(|e| obj_err(id, e))?;
        Ok(match Pointer::parse(&blob.data) {
            Ok(p) => Ok(Some(p)),
            Err(PointerError::NotAPointer) => Ok(None),
            Err(e) => Err(e),
        })
    }

    /// The size of a blob.
    pub(crate) fn blob_size(&self, id: gix::ObjectId) -> Result<u64, GitError> {
        Ok(self.gix.find_header(id).map_err(|e| obj_err(id, e))?.size())
    }

    /// Whether the object exists locally.
    pub(crate) fn has_object(&self, id: &gix::oid) -> bool {
        self.gix.has_object(id)
    }

    /// Ids of every ref whose full name starts with `prefix` (e.g. `refs/remotes/origin/`).
    pub(crate) fn refs_with_prefix(&self, prefix: &str) -> Vec<gix::ObjectId> {
        let Ok(platform) = self.gix.references() else { return Vec::new() };
        let Ok(iter) = platform.prefixed(prefix) else { return Vec::new() };
        iter.filter_map(Result::ok)
            .filter_map(|mut r| r.peel_to_id().ok().map(|id| id.detach()))
            .collect()
    }

    /// Ids of every branch, tag and remote-tracking ref.
    pub(crate) fn all_ref_tips(&self) -> Vec<gix::ObjectId> {
        let Ok(platform) = self.gix.references() else { return Vec::new() };
        let Ok(iter) = platform.all() else { return Vec::new() };
        iter.filter_map(Result::ok)
            .filter_map(|mut r| r.peel_to_id().ok().map(|id| id.detach()))
            .filter(|id| self.gix.find_commit(*id).is_ok())
            .collect()
    }
}

pub(crate) fn obj_err(id: impl std::fmt::Display, e: impl std::fmt::Display) -> GitError {
    GitError::Object { id: id.to_string(), message: e.to_string() }
}

/// A ref name as people write it (`main`, `v1.0`).
pub(crate) fn short_ref(name: &str) -> &str {
    ["refs/heads/", "refs/tags/", "refs/remotes/"]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
}

/// Converts a repository-relative path (bytes, `/`-separated) to a native path.
pub(crate) fn rel_path(path: &BStr) -> PathBuf {
    PathBuf::from(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(path))
}

/// Sets (`Some`) or removes (`None`) values in the git-config-format file at `path` (created
/// when missing), under git's lock protocol: the new file is written beside it and renamed.
pub(crate) fn write_config_file(
    path: &std::path::Path,
    edits: &[(&str, &str, &str, Option<&str>)],
    access: crate::fs::textfile::Access,
) -> Result<(), GitError> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let path = path.to_path_buf();
    let mut file = match path.exists() {
        true => gix::config::File::from_path_no_includes(path.clone(), gix::config::Source::Local)
            .map_err(other)?,
        false => {
            gix::config::File::new(gix::config::file::Metadata::from(gix::config::Source::Local))
        }
    };
    for (section, subsection, name, value) in edits {
        let sub = Some(BStr::new(subsection.as_bytes()));
        match value {
            Some(v) => {
                file.set_raw_value_by(*section, sub, *name, *v).map_err(other)?;
            }
            None => {
                if let Ok(mut sec) = file.section_mut(*section, sub) {
                    while sec.remove(name).is_some() {}
                }
            }
        }
    }
    let lock = path.with_extension("lock");
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&lock)
        .map_err(|e| GitError::Other(format!("cannot lock {}: {e}", path.display())))?;
    // the file keeps its mode (as `git config` does), narrowed for keys
    let mode = crate::fs::textfile::mode_for(&path, access);
    let written = mode
        .and_then(|m| match m {
            Some(m) => out.set_permissions(std::fs::Permissions::from_mode(m)),
            None => Ok(()),
        })
        .and_then(|()| file.write_to(&mut out))
        .and_then(|_| out.flush())
        .and_then(|_| std::fs::rename(&lock, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&lock);
        return Err(GitError::Other(format!("cannot write {}: {e}", path.display())));
    }
    Ok(())
}
