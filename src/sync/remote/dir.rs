//! The directory remote: a folder on disk or a mounted share, laid out like the cache.
//!
//! Invariants: the root must already exist (a missing mount must not silently fill the local
//! disk); objects are copied to `<root>/tmp/`, size-checked, fsynced and renamed into place,
//! so a killed push leaves at most a temp file, never a partial object (the next push from the
//! same machine removes it; `gc --remote` those of other machines); a repair renames over
//! the damaged object the same way.

use super::{ErrorKind, Key, Listed, Remote, RemoteError};
use crate::fs::atomic::AtomicFile;
use crate::fs::copy;
use crate::progress::{CountingReader, Progress};
use async_trait::async_trait;
use std::io;
use std::path::{Path, PathBuf};

pub(crate) struct DirRemote {
    name: String,
    root: PathBuf,
    /// Set once this process has removed what killed pushes of this machine left in `tmp/`.
    swept: std::sync::OnceLock<()>,
}

impl DirRemote {
    pub(crate) fn new(name: &str, root: PathBuf) -> Self {
        DirRemote { name: name.to_string(), root, swept: std::sync::OnceLock::new() }
    }

    fn error(&self, e: &io::Error, doing: &str) -> RemoteError {
        let root = self.root.display();
        let (kind, hint) = match e.kind() {
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => (
                ErrorKind::Denied,
                format!("{root} is not writable for you: ask for write access, or fetch only"),
            ),
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => (
                ErrorKind::Other,
                format!("the file system of {root} is full: free space and run the command again"),
            ),
            io::ErrorKind::NotFound => (ErrorKind::Unavailable, self.missing_root_hint()),
            _ => (ErrorKind::Other, String::new()),
        };
        let err = RemoteError::new(&self.name, kind, format!("{doing}: {e}"));
        if hint.is_empty() { err } else { err.with_hint(hint) }
    }

    fn missing_root_hint(&self) -> String {
        format!(
            "create it (`mkdir -p {}`), mount the share, or point the remote elsewhere with `git data remote set-url {} URL`",
            self.root.display(),
            self.name
        )
    }

    fn not_a_directory(&self, what: &str) -> RemoteError {
        RemoteError::new(
            &self.name,
            ErrorKind::Unavailable,
            format!("remote path {} is not a directory: {what}", self.root.display()),
        )
        .with_hint(format!(
            "point the remote at a directory with `git data remote set-url {} URL`, or move the file away",
            self.name
        ))
    }

    /// Copies `src` to `key` through `<root>/tmp` with `copy` (keeping or replacing what is
    /// there), durably.
    fn store(
        &self,
        key: &Key,
        src: &Path,
        size: u64,
        progress: &Progress,
        copy: impl FnOnce(&Path, &Path, &Path, u64, bool) -> io::Result<()>,
    ) -> Result<(), RemoteError> {
        self.ensure_root()?;
        let dest = self.root.join(key.path());
        let tmp = self.root.join("tmp");
        // partial copies of pushes killed on this machine (others' are left to gc's age rule)
        self.swept.get_or_init(|| {
            crate::fs::stale::sweep(&tmp, crate::fs::atomic::TEMP_KIND);
        });
        tokio::task::block_in_place(|| copy(src, &tmp, &dest, size, true))
            .map_err(|e| self.error(&e, &format!("cannot store {}", key.path())))?;
        progress.inc(size);
        Ok(())
    }

    fn ensure_root(&self) -> Result<(), RemoteError> {
        match std::fs::metadata(&self.root) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(self.not_a_directory("it is a file")),
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
                Err(self.not_a_directory("a part of the path is a file"))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(RemoteError::new(
                &self.name,
                ErrorKind::Unavailable,
                format!("remote directory {} does not exist", self.root.display()),
            )
            .with_hint(self.missing_root_hint())),
            Err(e) => Err(self.error(&e, "cannot open the remote directory")),
        }
    }
}

#[async_trait]
impl Remote for DirRemote {
    fn temp_dir(&self) -> Option<std::path::PathBuf> {
        Some(self.root.join("tmp"))
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn location(&self) -> String {
        self.root.display().to_string()
    }

    async fn check(&self) -> Result<(), RemoteError> {
        self.ensure_root()
    }

    async fn stat(&self, key: &Key) -> Result<Option<u64>, RemoteError> {
        match std::fs::metadata(self.root.join(key.path())) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.ensure_root()?;
                Ok(None)
            }
            Err(e) => Err(self.error(&e, &format!("cannot look up {}", key.path()))),
        }
    }

    async fn put(
        &self,
        key: &Key,
        src: &Path,
        size: u64,
        progress: &Progress,
    ) -> Result<(), RemoteError> {
        self.store(key, src, size, progress, copy::copy_into_place)
    }

    async fn put_over(
        &self,
        key: &Key,
        src: &Path,
        size: u64,
        progress: &Progress,
    ) -> Result<(), RemoteError> {
        self.store(key, src, size, progress, |src, tmp, dest, size, _| {
            copy::copy_over(src, tmp, dest, size)
        })
    }

    async fn get(
        &self,
        key: &Key,
        sink: &mut AtomicFile,
        progress: &Progress,
    ) -> Result<(), RemoteError> {
        let path = self.root.join(key.path());
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.ensure_root()?;
                return Err(RemoteError::new(
                    &self.name,
                    ErrorKind::NotFound,
                    format!("{} is not on the remote", key.path()),
                ));
            }
            Err(e) => return Err(self.error(&e, &format!("cannot read {}", key.path()))),
        };
        let reader = CountingReader { inner: file, progress };
        tokio::task::block_in_place(|| sink.copy_from(reader))
            .map_err(|e| self.error(&e, &format!("cannot download {}", key.path())))?;
        Ok(())
    }

    async fn list(&self) -> Result<Vec<Listed>, RemoteError> {
        self.ensure_root()?;
        let objects = self.root.join("objects");
        let walked = tokio::task::block_in_place(|| crate::store::shards::walk(&objects))
            .map_err(|e| self.error(&e, "cannot list the remote's objects"))?;
        let mut out = Vec::with_capacity(walked.len());
        for entry in walked {
            let Some(key) = Key::from_object_path(&entry.rel) else { continue };
            match std::fs::symlink_metadata(&entry.path) {
                Ok(m) if m.is_file() => {
                    out.push(Listed { key, size: m.len(), modified: m.modified().ok() })
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(self.error(&e, &format!("cannot look up {}", entry.rel))),
            }
        }
        Ok(out)
    }

    async fn list_runs(&self) -> Result<Option<Vec<Listed>>, RemoteError> {
        self.ensure_root()?;
        let runs = self.root.join("runs");
        let mut out = Vec::new();
        let shards = match std::fs::read_dir(&runs) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some(out)),
            Err(e) => return Err(self.error(&e, "cannot list the remote's run-cache entries")),
        };
        for shard in shards.flatten() {
            let shard_name = shard.file_name().to_string_lossy().into_owned();
            let Ok(entries) = std::fs::read_dir(shard.path()) else { continue };
            for entry in entries.flatten() {
                let rel = format!("{shard_name}/{}", entry.file_name().to_string_lossy());
                let Some(key) = Key::from_run_path(&rel) else { continue };
                if let Ok(m) = entry.metadata()
                    && m.is_file()
                {
                    out.push(Listed { key, size: m.len(), modified: m.modified().ok() });
                }
            }
        }
        Ok(Some(out))
    }

    async fn delete(&self, key: &Key) -> Result<(), RemoteError> {
        match std::fs::remove_file(self.root.join(key.path())) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => self.ensure_root(),
            Err(e) => Err(self.error(&e, &format!("cannot delete {}", key.path()))),
        }
    }
}
