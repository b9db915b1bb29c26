//! The object id of a stage's file or directory: a file's is the SHA-256 of its bytes (the
//! id its git-data pointer carries); a directory's is the id of its manifest, a text listing
//! one `<sha256> <size> <path>` line per file below it, sorted by path.
//!
//! Invariants: with a store, every byte hashed is also stored (file objects and the manifest
//! itself), so a recorded id always names objects in the cache; the manifest of the same
//! tree is the same bytes on every machine (paths `/`-separated, relative, byte-sorted).

use crate::oid::{self, Oid};
use crate::store::{Store, StoreError};
use std::io;
use std::path::{Path, PathBuf};

/// What the lock file records for one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hashed {
    pub oid: Oid,
    /// Bytes of the file, or of all files of the directory.
    pub size: u64,
    /// Files in the directory; `None` for a file.
    pub nfiles: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum HashError {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot store {}: {source}", path.display())]
    Store { path: PathBuf, source: StoreError },
    #[error("{} has a name with a line break, which a directory manifest cannot hold", path.display())]
    Name { path: PathBuf },
}

/// The id of the file or directory at `abs`, stored into `store` when given; `None` when
/// nothing is there.
pub(crate) fn hash(abs: &Path, store: Option<&Store>) -> Result<Option<Hashed>, HashError> {
    let io_err = |source| HashError::Io { path: abs.to_path_buf(), source };
    let meta = match std::fs::metadata(abs) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    if !meta.is_dir() {
        let (oid, size) = hash_file(abs, store)?;
        return Ok(Some(Hashed { oid, size, nfiles: None }));
    }
    let mut files = Vec::new();
    walk(abs, "", &mut files)?;
    files.sort();
    let mut manifest = String::new();
    let mut total = 0;
    for rel in &files {
        let (oid, size) = hash_file(&abs.join(rel), store)?;
        total += size;
        manifest.push_str(&format!("{} {size} {rel}\n", oid.to_hex()));
    }
    let oid = match store {
        Some(store) => {
            store
                .insert_bytes(manifest.as_bytes())
                .map_err(|source| HashError::Store { path: abs.to_path_buf(), source })?
                .0
        }
        None => Oid::of_bytes(manifest.as_bytes()),
    };
    Ok(Some(Hashed { oid, size: total, nfiles: Some(files.len() as u64) }))
}

fn hash_file(path: &Path, store: Option<&Store>) -> Result<(Oid, u64), HashError> {
    match store {
        Some(store) => {
            let file = std::fs::File::open(path)
                .map_err(|source| HashError::Io { path: path.to_path_buf(), source })?;
            store
                .insert_reader(file)
                .map_err(|source| HashError::Store { path: path.to_path_buf(), source })
        }
        None => oid::hash_file(path)
            .map_err(|source| HashError::Io { path: path.to_path_buf(), source }),
    }
}

/// Every file below `dir`, as `/`-separated paths after `prefix`.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), HashError> {
    let io_err = |source| HashError::Io { path: dir.to_path_buf(), source };
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.contains('\n') {
            return Err(HashError::Name { path: entry.path() });
        }
        let rel = format!("{prefix}{name}");
        let meta = std::fs::metadata(entry.path()).map_err(io_err)?;
        if meta.is_dir() {
            walk(&entry.path(), &format!("{rel}/"), out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_directories_and_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("out");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("b.txt"), b"bee").unwrap();
        std::fs::write(d.join("sub/a.txt"), b"a").unwrap();
        let file = hash(&d.join("b.txt"), None).unwrap().unwrap();
        assert_eq!((file.oid, file.size, file.nfiles), (Oid::of_bytes(b"bee"), 3, None));
        let manifest = format!(
            "{} 3 b.txt\n{} 1 sub/a.txt\n",
            Oid::of_bytes(b"bee").to_hex(),
            Oid::of_bytes(b"a").to_hex()
        );
        let store = Store::new(dir.path().join("cache"));
        let stored = hash(&d, Some(&store)).unwrap().unwrap();
        assert_eq!(
            stored,
            Hashed { oid: Oid::of_bytes(manifest.as_bytes()), size: 4, nfiles: Some(2) }
        );
        assert_eq!(std::fs::read(store.object_path(&stored.oid)).unwrap(), manifest.as_bytes());
        assert_eq!(std::fs::read(store.object_path(&Oid::of_bytes(b"a"))).unwrap(), b"a");
        assert_eq!(hash(&d, None).unwrap(), Some(stored));
        assert_eq!(hash(&dir.path().join("missing"), None).unwrap(), None);
    }
}
