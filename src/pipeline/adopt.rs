//! Taking over a pipeline that DVC ran: a stage with no entry in `gitdata.lock` but one in
//! `dvc.lock` is up to date when its command and param values are the ones `dvc.lock`
//! records and every dep and output it lists still has the md5 recorded there; its
//! `gitdata.lock` entry (and its run-cache entry) is then made from the files as they are,
//! and nothing runs. So the first `git data repro` after a switch from DVC reruns only what
//! `dvc repro` would rerun, and a clone can restore what DVC ran from the run cache.
//!
//! A directory is proven the same through its `.dir` listing in DVC's cache (checked against
//! its md5): the same files, each with its md5, and no other.
//!
//! Invariants: `dvc.lock` and DVC's cache are only read (a missing or damaged one adopts
//! nothing); anything not proven the same — a directory whose listing is not in the cache, a
//! cloud-versioned dep without an md5, a pointer in place of the data, a path or param the
//! stage no longer lists in the same way — adopts nothing, and the stage runs as it would
//! have.

use super::hash;
use super::lock::{Cmd, PathLock, StageLock};
use super::params::ParamValues;
use super::spec::Stage;
use super::state::Inputs;
use crate::migrate::dvc::meta::DvcConfig;
use crate::migrate::dvc::objects::{Entry, Sources, has_md5, import, read_listing};
use crate::store::Store;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// DVC's lock file, beside `dvc.yaml`.
pub(crate) const DVC_LOCK_NAME: &str = "dvc.lock";

/// DVC's lock beside a pipeline, read (and DVC's config with it) the first time a stage
/// asks: a run whose stages all have `gitdata.lock` entries never parses it.
#[derive(Debug, Default)]
pub(crate) struct DvcLock {
    /// The `dvc.lock` file and the DVC project's root; `None`: nothing to read.
    at: Option<(PathBuf, PathBuf)>,
    read: OnceLock<Recorded>,
}

/// The stages `dvc.lock` records (none when it is absent or cannot be read).
#[derive(Debug, Default, Deserialize)]
struct Recorded {
    #[serde(default)]
    stages: BTreeMap<String, DvcStage>,
    /// DVC's cache, where directory listings are.
    #[serde(skip)]
    cache: Sources,
}

#[derive(Debug, Deserialize)]
struct DvcStage {
    cmd: Cmd,
    #[serde(default)]
    deps: Vec<DvcPath>,
    #[serde(default)]
    params: ParamValues,
    #[serde(default)]
    outs: Vec<DvcPath>,
}

#[derive(Debug, Deserialize)]
struct DvcPath {
    path: String,
    #[serde(default)]
    md5: Option<String>,
    /// `md5` in DVC 3's records; absent in DVC 2's, which hashed text with CRLF as LF.
    #[serde(default)]
    hash: Option<String>,
}

impl DvcLock {
    /// The `dvc.lock` at `path`, in the DVC project at `root`; read when first needed.
    pub(crate) fn read(path: &Path, root: &Path) -> DvcLock {
        let at = path.is_file().then(|| (path.to_path_buf(), root.to_path_buf()));
        DvcLock { at, read: OnceLock::new() }
    }

    fn recorded(&self) -> &Recorded {
        self.read.get_or_init(|| {
            let Some((path, root)) = &self.at else { return Recorded::default() };
            let mut recorded: Recorded = std::fs::read_to_string(path)
                .ok()
                .and_then(|text| serde_yaml::from_str(&text).ok())
                .unwrap_or_default();
            if !recorded.stages.is_empty() {
                recorded.cache = Sources::new(vec![DvcConfig::load(root).cache_dir()]);
            }
            recorded
        })
    }

    /// The `gitdata.lock` entry of `stage` (read as `now`) when `dvc.lock` shows it up to
    /// date; with `store`, its outputs are stored as they are hashed.
    pub(crate) fn adopt(
        &self,
        root: &Path,
        stage: &Stage,
        now: &Inputs,
        store: Option<&Store>,
    ) -> Option<StageLock> {
        let recorded = self.recorded();
        let dvc = recorded.stages.get(&stage.name)?;
        let dvc_cmds = match &dvc.cmd {
            Cmd::One(one) => std::slice::from_ref(one),
            Cmd::Many(many) => many.as_slice(),
        };
        let same_cmd = dvc_cmds == stage.cmds.as_slice();
        if !same_cmd || dvc.params != now.params || !now.pointer_deps.is_empty() {
            return None;
        }
        if dvc.deps.len() != stage.deps.len() || dvc.outs.len() != stage.outs.len() {
            return None;
        }
        for dep in &stage.deps {
            let record = dvc.deps.iter().find(|d| d.path == dep.path)?;
            record.matches(&root.join(&dep.repo), &recorded.cache)?;
        }
        let mut outs = Vec::with_capacity(stage.outs.len());
        for out in &stage.outs {
            let record = dvc.outs.iter().find(|o| o.path == out.at.path)?;
            let abs = root.join(&out.at.repo);
            // `cache: false` outputs are stored too, as a run's are, for the run cache
            let lock = match (store, record.file_md5(&abs)) {
                // a file: its md5 checked as it is stored, in one read
                (Some(store), Some(md5)) => {
                    let (oid, size) = import(store, &abs, md5, None, record.legacy()).ok()?;
                    PathLock { path: out.at.path.clone(), sha256: oid.to_hex(), size, nfiles: None }
                }
                _ => {
                    record.matches(&abs, &recorded.cache)?;
                    PathLock::new(&out.at.path, &hash::hash(&abs, store).ok()??)
                }
            };
            outs.push(lock);
        }
        Some(StageLock {
            cmd: Cmd::of(&stage.cmds),
            deps: now.deps.clone(),
            params: now.params.clone(),
            outs,
        })
    }
}

impl DvcPath {
    /// A DVC 2 record: its md5 of a text file was taken with CRLF read as LF.
    fn legacy(&self) -> bool {
        self.hash.is_none()
    }

    /// The recorded md5 when it is a file's and `abs` is a file (not a link).
    fn file_md5(&self, abs: &Path) -> Option<&str> {
        let md5 = self.md5.as_deref().filter(|m| m.len() == 32)?;
        std::fs::symlink_metadata(abs).ok()?.is_file().then_some(md5)
    }

    /// `Some` when the file at `abs` has the recorded md5, or the directory at `abs` holds
    /// exactly the files of the recorded listing (found in `cache`), each with its md5.
    fn matches(&self, abs: &Path, cache: &Sources) -> Option<()> {
        let legacy = self.legacy();
        if let Some(md5) = self.file_md5(abs) {
            return has_md5(abs, md5, legacy).ok()?.then_some(());
        }
        let md5 = self.md5.as_deref()?.strip_suffix(".dir").filter(|m| m.len() == 32)?;
        if !std::fs::symlink_metadata(abs).ok()?.is_dir() {
            return None;
        }
        let mut entries = read_listing(&cache.find(md5, true, legacy)?, md5, legacy).ok()?;
        entries.sort_by(|a, b| a.relpath.cmp(&b.relpath));
        let mut here = Vec::with_capacity(entries.len());
        files_below(abs, "", &mut here)?;
        here.sort();
        let same_paths =
            here.len() == entries.len() && here.iter().zip(&entries).all(|(h, e)| *h == e.relpath);
        let same_bytes = || {
            let file_is = |e: &Entry| has_md5(&abs.join(&e.relpath), &e.md5, legacy);
            entries.iter().all(|e| file_is(e).is_ok_and(|same| same))
        };
        (same_paths && same_bytes()).then_some(())
    }
}

/// The files below `dir` as `/`-separated paths after `prefix`; `None` on a symlink or a
/// name that is not UTF-8 (DVC's listings are text).
fn files_below(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Option<()> {
    for entry in std::fs::read_dir(dir).ok()? {
        let entry = entry.ok()?;
        let name = entry.file_name().into_string().ok()?;
        let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let kind = entry.file_type().ok()?;
        if kind.is_dir() {
            files_below(&entry.path(), &rel, out)?;
        } else if kind.is_file() {
            out.push(rel);
        } else {
            return None;
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::spec::parse_stage;
    use crate::pipeline::state::inputs;

    const MD5_X: &str = "9dd4e461268c8034f5c8564e155c67a6"; // md5("x")
    const MD5_XX: &str = "9336ebf25087d91c818ee6e9ec29f8c1"; // md5("xx")

    fn lock(cmd: &str, lr: &str, dep_md5: &str, hash: &str) -> DvcLock {
        let yaml = format!(
            "schema: '2.0'\nstages:\n  train:\n    cmd: {cmd}\n    deps:\n    - path: in.txt\n      \
             {hash}md5: {dep_md5}\n      size: 1\n    params:\n      params.yaml:\n        lr: {lr}\n    \
             outs:\n    - path: out.txt\n      {hash}md5: {MD5_XX}\n      size: 2\n"
        );
        let read = OnceLock::new();
        let _ = read.set(serde_yaml::from_str(&yaml).unwrap());
        DvcLock { at: None, read }
    }

    #[test]
    fn adopts_only_what_dvc_lock_proves_up_to_date() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("in.txt"), "x").unwrap();
        std::fs::write(root.join("out.txt"), "xx").unwrap();
        std::fs::write(root.join("params.yaml"), "lr: 0.1\nother: 1\n").unwrap();
        let yaml =
            "cmd: cat in.txt in.txt > out.txt\ndeps: [in.txt]\nparams: [lr]\nouts: [out.txt]\n";
        let stage = parse_stage("train", &serde_yaml::from_str(yaml).unwrap(), "").unwrap();
        let now = inputs(root, &stage).unwrap();
        let cmd = "cat in.txt in.txt > out.txt";
        let store = Store::new(root.join("cache"));
        for hash in ["hash: md5\n      ", ""] {
            let entry = lock(cmd, "0.1", MD5_X, hash).adopt(root, &stage, &now, Some(&store));
            let entry = entry.expect("adopted");
            assert_eq!(entry.deps, now.deps);
            assert_eq!(entry.outs[0].sha256, crate::oid::Oid::of_bytes(b"xx").to_hex());
            assert!(store.contains(&crate::oid::Oid::of_bytes(b"xx"), 2));
        }
        // another command, param value or dep: the stage runs
        assert!(lock("cat in.txt", "0.1", MD5_X, "").adopt(root, &stage, &now, None).is_none());
        assert!(lock(cmd, "0.2", MD5_X, "").adopt(root, &stage, &now, None).is_none());
        assert!(lock(cmd, "0.1", MD5_XX, "").adopt(root, &stage, &now, None).is_none());
        // an output changed since DVC ran
        std::fs::write(root.join("out.txt"), "xy").unwrap();
        assert!(lock(cmd, "0.1", MD5_X, "").adopt(root, &stage, &now, None).is_none());
        // no dvc.lock, or a damaged one
        assert!(DvcLock::read(&root.join("dvc.lock"), root).recorded().stages.is_empty());
        std::fs::write(root.join("dvc.lock"), "stages: [").unwrap();
        assert!(DvcLock::read(&root.join("dvc.lock"), root).recorded().stages.is_empty());
    }

    #[test]
    fn a_directory_is_proven_by_its_listing_in_dvcs_cache() {
        use md5::{Digest, Md5};
        let hex = |b: &[u8]| Md5::digest(b).iter().map(|x| format!("{x:02x}")).collect::<String>();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("parts/sub")).unwrap();
        std::fs::write(root.join("parts/a.txt"), "one").unwrap();
        std::fs::write(root.join("parts/sub/b.txt"), "two").unwrap();
        let listing = format!(
            "[{{\"md5\": \"{}\", \"relpath\": \"a.txt\"}}, {{\"md5\": \"{}\", \"relpath\": \"sub/b.txt\"}}]",
            hex(b"one"),
            hex(b"two")
        );
        let md5 = hex(listing.as_bytes());
        let at = root.join(".dvc/cache/files/md5").join(&md5[..2]);
        std::fs::create_dir_all(&at).unwrap();
        std::fs::write(at.join(format!("{}.dir", &md5[2..])), &listing).unwrap();
        let yaml = format!(
            "stages:\n  split:\n    cmd: make parts\n    outs:\n    - path: parts\n      hash: md5\n      md5: {md5}.dir\n"
        );
        std::fs::write(root.join("dvc.lock"), yaml).unwrap();
        let stage = parse_stage(
            "split",
            &serde_yaml::from_str("cmd: make parts\nouts: [parts]\n").unwrap(),
            "",
        )
        .unwrap();
        let now = inputs(root, &stage).unwrap();
        let lock = DvcLock::read(&root.join("dvc.lock"), root);
        let entry = lock.adopt(root, &stage, &now, None).expect("adopted");
        assert_eq!(entry.outs[0].nfiles, Some(2));
        // one more file, or a changed one: not the directory DVC recorded
        std::fs::write(root.join("parts/sub/c.txt"), "").unwrap();
        assert!(lock.adopt(root, &stage, &now, None).is_none());
        std::fs::remove_file(root.join("parts/sub/c.txt")).unwrap();
        std::fs::write(root.join("parts/a.txt"), "One").unwrap();
        assert!(lock.adopt(root, &stage, &now, None).is_none());
        // and without the listing in the cache, nothing is proven
        std::fs::write(root.join("parts/a.txt"), "one").unwrap();
        assert!(lock.adopt(root, &stage, &now, None).is_some());
        std::fs::remove_dir_all(root.join(".dvc/cache")).unwrap();
        assert!(
            DvcLock::read(&root.join("dvc.lock"), root).adopt(root, &stage, &now, None).is_none()
        );
    }
}
