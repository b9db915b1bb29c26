//! Walks a sharded object directory (`<dir>/ab/cd/<name>`), the layout of the cache and of a
//! directory remote, and removes files and empty shards from it (for gc and prune).
//!
//! Invariants: only the two shard levels are read and only their files are returned (names
//! that are not UTF-8 are skipped); a missing directory reads as empty, so does a shard that
//! disappears during the walk (a concurrent gc removing an empty one).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A file two levels below the walked directory.
#[derive(Debug)]
pub(crate) struct ShardEntry {
    /// `ab/cd/<name>`.
    pub rel: String,
    pub path: PathBuf,
    pub name: String,
}

/// Every file at `dir/*/*/*`, unsorted.
pub(crate) fn walk(dir: &Path) -> io::Result<Vec<ShardEntry>> {
    let mut out = Vec::new();
    for (a, a_name) in read_dir_or_empty(dir)? {
        for (b, b_name) in read_dir_or_empty(&a)? {
            for (path, name) in read_dir_or_empty(&b)? {
                let rel = format!("{a_name}/{b_name}/{name}");
                out.push(ShardEntry { rel, path, name });
            }
        }
    }
    Ok(out)
}

/// Removes the shard directories of `dir` that are empty; a shard something was written into
/// meanwhile is not empty and stays.
pub(crate) fn remove_empty(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for (a, _) in read_dir_or_empty(dir)? {
        for (b, _) in read_dir_or_empty(&a)? {
            removed += usize::from(fs::remove_dir(&b).is_ok());
        }
        removed += usize::from(fs::remove_dir(&a).is_ok());
    }
    Ok(removed)
}

/// Removes each file of `paths` (one unlink each; one already gone is fine); returns those that
/// could not be removed, as `path: error` lines.
pub(crate) fn remove_files<'p>(paths: impl IntoIterator<Item = &'p Path>) -> Vec<String> {
    let mut failed = Vec::new();
    for path in paths {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => failed.push(format!("{}: {e}", path.display())),
        }
    }
    failed
}

fn read_dir_or_empty(dir: &Path) -> io::Result<Vec<(PathBuf, String)>> {
    let entries = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e)
            if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory =>
        {
            return Ok(Vec::new());
        }
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        if let Ok(name) = entry.file_name().into_string() {
            out.push((entry.path(), name));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_two_levels_and_removes_only_empty_shards() {
        let dir = tempfile::tempdir().unwrap();
        let objects = dir.path().join("objects");
        fs::create_dir_all(objects.join("ab/cd")).unwrap();
        fs::create_dir_all(objects.join("ef/01")).unwrap();
        fs::write(objects.join("ab/cd/abcd1"), b"x").unwrap();
        fs::write(objects.join("ab/top-level-file"), b"y").unwrap();
        let mut found: Vec<String> = walk(&objects).unwrap().into_iter().map(|e| e.rel).collect();
        found.sort();
        assert_eq!(found, ["ab/cd/abcd1"]);
        assert_eq!(remove_empty(&objects).unwrap(), 2);
        assert!(objects.join("ab/cd/abcd1").exists());
        assert!(!objects.join("ef").exists());
        assert!(walk(&dir.path().join("missing")).unwrap().is_empty());
    }
}
