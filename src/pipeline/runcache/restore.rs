//! Restoring a stage's outputs from the cache as a run-cache entry names them: a file from
//! its object, a directory from its manifest (one `<sha256> <size> <path>` line per file).
//!
//! Invariants: nothing is written until every object the entry names is in the cache and
//! verified (so a missing object is a miss that touches no output); each file is written to a
//! temp (the git directory's `data/tmp`, or beside the file on another file system) and
//! renamed into place, so a file is whole or absent, and a killed restore leaves temps the
//! next one removes; a manifest path that would leave the directory is refused; the bytes
//! written are the objects' bytes, so outputs are byte-identical to those of the run.

use crate::oid::Oid;
use crate::pipeline::lock::PathLock;
use crate::pipeline::spec::Stage;
use crate::store::Store;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What a temp of a restored file is called after (see `fs::stale`).
const KIND: &str = "runout";

/// An object and the file it becomes.
type Placed = (Oid, u64, PathBuf);

/// One file of a directory manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ManifestFile {
    pub oid: Oid,
    pub size: u64,
    pub path: String,
}

/// The files of a manifest's text; `None` when it is not one (or a path leaves the folder).
pub(crate) fn parse_manifest(text: &[u8]) -> Option<Vec<ManifestFile>> {
    let text = std::str::from_utf8(text).ok()?;
    let mut files = Vec::new();
    for line in text.lines() {
        let (oid, rest) = line.split_once(' ')?;
        let (size, path) = rest.split_once(' ')?;
        let safe = !path.starts_with('/')
            && path.split('/').all(|part| !part.is_empty() && part != "." && part != "..");
        if !safe {
            return None;
        }
        files.push(ManifestFile {
            oid: Oid::from_hex(oid).ok()?,
            size: size.parse().ok()?,
            path: path.to_string(),
        });
    }
    Some(files)
}

/// The files of the directory output `out` by its manifest in `store`; `None` when the
/// manifest is not in the cache or not a manifest.
pub(crate) fn manifest_of(store: &Store, out: &PathLock) -> Option<Vec<ManifestFile>> {
    let oid = Oid::from_hex(&out.sha256).ok()?;
    let (mut file, _) = store.open_verified(&oid, manifest_size(store, &oid)?).ok()?;
    let mut text = Vec::new();
    io::Read::read_to_end(&mut file, &mut text).ok()?;
    parse_manifest(&text)
}

/// A manifest's size is not in the lock (its `size` is the files' total): the cache's.
fn manifest_size(store: &Store, oid: &Oid) -> Option<u64> {
    std::fs::metadata(store.object_path(oid)).ok().map(|m| m.len())
}

/// Writes the outputs of `stage` from `outs` (an entry's, in the stage's order) under
/// `root`; every object must be in `store`.
pub(crate) fn restore(
    root: &Path,
    stage: &Stage,
    outs: &[PathLock],
    store: &Store,
    tmp: &Path,
) -> Result<(), String> {
    let _ = std::fs::create_dir_all(tmp);
    crate::fs::stale::sweep(tmp, KIND);
    // check everything first: a restore that cannot finish must not start
    let mut plan: Vec<(PathBuf, Vec<Placed>, bool)> = Vec::new();
    for (out, recorded) in stage.outs.iter().zip(outs) {
        let target = root.join(&out.at.repo);
        let oid = Oid::from_hex(&recorded.sha256).map_err(|e| e.to_string())?;
        let files = match recorded.nfiles {
            None => vec![(oid, recorded.size, target.clone())],
            Some(_) => manifest_of(store, recorded)
                .ok_or_else(|| format!("the manifest of `{}` is not in the cache", out.at.path))?
                .into_iter()
                .map(|f| (f.oid, f.size, target.join(&f.path)))
                .collect(),
        };
        for (oid, size, _) in &files {
            if !store.contains(oid, *size) {
                return Err(format!(
                    "object {} of `{}` is not in the cache",
                    oid.short(12),
                    out.at.path
                ));
            }
        }
        plan.push((target, files, recorded.nfiles.is_some()));
    }
    for (target, files, is_dir) in plan {
        let err = |e: io::Error| format!("cannot write {}: {e}", target.display());
        crate::pipeline::exec::remove(&target).map_err(err)?;
        if is_dir {
            std::fs::create_dir_all(&target).map_err(err)?;
        }
        for (oid, size, path) in files {
            let (src, _) = store.open_verified(&oid, size).map_err(|e| e.to_string())?;
            write_file(&src, size, &path, tmp)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Copies the `size` bytes of `src` to a new file at `target` through a temp and a rename.
fn write_file(src: &std::fs::File, size: u64, target: &Path, tmp: &Path) -> io::Result<()> {
    let parent = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let temp = |dir: &Path, prefix: String| {
        // 0666 narrowed by the umask, as for any file a command writes
        tempfile::Builder::new()
            .prefix(&prefix)
            .permissions(std::fs::Permissions::from_mode(0o666))
            .tempfile_in(dir)
    };
    let marker = crate::fs::stale::marker(KIND);
    let mut file = temp(tmp, marker.clone())?;
    let fill = |file: &mut tempfile::NamedTempFile| -> io::Result<()> {
        let copied = crate::fs::copy::clone_or_copy(src, file.as_file_mut(), size)?;
        if copied != size {
            return Err(io::Error::other(format!("copied {copied} bytes, expected {size}")));
        }
        Ok(())
    };
    fill(&mut file)?;
    match file.persist(target) {
        Ok(_) => Ok(()),
        Err(e) if e.error.raw_os_error() == Some(libc::EXDEV) => {
            drop(e);
            crate::fs::stale::sweep(parent, KIND);
            io::Seek::seek(&mut &*src, io::SeekFrom::Start(0))?;
            let name = target.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
            let mut beside = temp(parent, format!(".{name}.{marker}"))?;
            fill(&mut beside)?;
            beside.persist(target).map(|_| ()).map_err(|e| e.error)
        }
        Err(e) => Err(e.error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::hash;
    use crate::pipeline::spec::parse_stage;

    #[test]
    fn files_and_directories_come_back_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("wt");
        std::fs::create_dir_all(root.join("report/sub")).unwrap();
        std::fs::write(root.join("m.pkl"), b"model").unwrap();
        std::fs::write(root.join("report/a.txt"), b"a").unwrap();
        std::fs::write(root.join("report/sub/b.txt"), b"bee").unwrap();
        let store = Store::new(dir.path().join("cache"));
        let yaml = "cmd: x\nouts: [m.pkl, report]\n";
        let s = parse_stage("s", &serde_yaml::from_str(yaml).unwrap(), "").unwrap();
        let outs: Vec<PathLock> = s
            .outs
            .iter()
            .map(|o| {
                let h = hash::hash(&root.join(&o.at.repo), Some(&store)).unwrap().unwrap();
                PathLock::new(&o.at.path, &h)
            })
            .collect();
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::create_dir_all(root.join("report")).unwrap();
        std::fs::write(root.join("report/stale.txt"), b"old").unwrap();
        let tmp = dir.path().join("tmp");
        restore(&root, &s, &outs, &store, &tmp).unwrap();
        assert_eq!(std::fs::read(root.join("m.pkl")).unwrap(), b"model");
        assert_eq!(std::fs::read(root.join("report/sub/b.txt")).unwrap(), b"bee");
        assert!(!root.join("report/stale.txt").exists());
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
        let mode = std::fs::metadata(root.join("m.pkl")).unwrap().permissions().mode();
        assert_ne!(mode & 0o200, 0, "a restored output is writable, as a run's");
        // an object missing from the cache: nothing is touched
        std::fs::write(root.join("m.pkl"), b"kept").unwrap();
        let mut gone = outs.clone();
        gone[0].sha256 = "00".repeat(32);
        assert!(restore(&root, &s, &gone, &store, &tmp).is_err());
        assert_eq!(std::fs::read(root.join("m.pkl")).unwrap(), b"kept");
        assert_eq!(parse_manifest(b"00 1 ../x\n"), None);
    }
}
