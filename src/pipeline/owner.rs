//! One `git data repro` at a time per lock file: the running one holds an owner file
//! (`<git dir>/data/repro/<name>.owner`, holding its process tag) for as long as it runs.
//!
//! Invariants: the file is made with `O_EXCL`, so two processes never both own it; an owner
//! file whose process has ended (killed, crashed) is taken over; dropping the guard removes
//! the file.

use crate::fs::stale::Process;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub(crate) enum OwnerError {
    #[error("another `git data repro` (process {pid}) is running this pipeline")]
    Busy { pid: u32 },
    #[error("cannot create {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// The claim on a pipeline's lock file, released on drop.
pub(crate) struct Owner {
    path: PathBuf,
}

impl Owner {
    /// Claims `path` for this process.
    pub(crate) fn claim(path: &Path) -> Result<Owner, OwnerError> {
        let io_err = |source| OwnerError::Io { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err)?;
        }
        for _ in 0..2 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut f) => {
                    f.write_all(Process::current().tag().as_bytes()).map_err(io_err)?;
                    return Ok(Owner { path: path.to_path_buf() });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(path).unwrap_or_default();
                    match Process::parse(text.trim()) {
                        Some((p, _)) if p.alive() => {
                            let pid = text.split('-').next().and_then(|p| p.parse().ok());
                            return Err(OwnerError::Busy { pid: pid.unwrap_or_default() });
                        }
                        // its process ended (or it is half written by a dead one): take it over
                        _ => std::fs::remove_file(path).or_else(ignore_missing).map_err(io_err)?,
                    }
                }
                Err(e) => return Err(io_err(e)),
            }
        }
        Err(io_err(io::ErrorKind::AlreadyExists.into()))
    }
}

fn ignore_missing(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::NotFound { Ok(()) } else { Err(e) }
}

impl Drop for Owner {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_owner_at_a_time_and_dead_owners_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("repro/x.owner");
        let first = Owner::claim(&path).unwrap();
        let e = Owner::claim(&path).err().unwrap();
        assert_eq!(
            e.to_string(),
            format!(
                "another `git data repro` (process {}) is running this pipeline",
                std::process::id()
            )
        );
        drop(first);
        assert!(!path.exists());
        std::fs::write(&path, crate::fs::stale::ended_tag(1)).unwrap();
        let _again = Owner::claim(&path).unwrap();
        assert!(
            std::fs::read_to_string(&path).unwrap().starts_with(&std::process::id().to_string())
        );
    }
}
