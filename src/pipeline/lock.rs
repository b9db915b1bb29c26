//! git-data's lock file (`gitdata.lock`, beside `dvc.yaml`): for each stage that ran, its
//! command, the ids of its dependencies, the values of its tracked params and the ids of its
//! outputs. The shape is `dvc.lock`'s, with `sha256` ids (a file's is its git-data object id).
//!
//! Invariants: written whole through a temp file and a rename, so a reader (or a crash) sees
//! the old lock or the new one; a stage's entry is replaced only after the stage succeeded;
//! the output is deterministic (stages and params sorted by name).

use super::params::ParamValues;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// git-data's lock file, beside the pipeline file.
pub(crate) const LOCK_NAME: &str = "gitdata.lock";

pub(crate) const SCHEMA: &str = "git-data/1";

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub(crate) struct LockFile {
    pub schema: String,
    #[serde(default)]
    pub stages: BTreeMap<String, StageLock>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
pub(crate) enum Cmd {
    One(String),
    Many(Vec<String>),
}

impl Cmd {
    pub(crate) fn of(cmds: &[String]) -> Cmd {
        match cmds {
            [one] => Cmd::One(one.clone()),
            many => Cmd::Many(many.to_vec()),
        }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) struct StageLock {
    pub cmd: Cmd,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deps: Vec<PathLock>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: ParamValues,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outs: Vec<PathLock>,
}

/// One path (as written in the stage, relative to its `wdir`) and its id.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathLock {
    pub path: String,
    pub sha256: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfiles: Option<u64>,
}

impl PathLock {
    pub(crate) fn new(path: &str, h: &super::hash::Hashed) -> PathLock {
        PathLock { path: path.to_string(), sha256: h.oid.to_hex(), size: h.size, nfiles: h.nfiles }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum LockError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: std::path::PathBuf, source: std::io::Error },
    #[error("{} is damaged: {message}", path.display())]
    Parse { path: std::path::PathBuf, message: String },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: std::path::PathBuf, source: std::io::Error },
}

impl LockFile {
    /// Reads the lock file; an absent one is empty.
    pub(crate) fn read(path: &Path) -> Result<LockFile, LockError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(LockFile { schema: SCHEMA.into(), stages: BTreeMap::new() });
            }
            Err(source) => return Err(LockError::Read { path: path.to_path_buf(), source }),
        };
        let parse = |message: String| LockError::Parse { path: path.to_path_buf(), message };
        let lock: LockFile = serde_yaml::from_str(&text).map_err(|e| parse(e.to_string()))?;
        if lock.schema != SCHEMA {
            return Err(parse(format!("schema `{}` is not `{SCHEMA}`", lock.schema)));
        }
        Ok(lock)
    }

    pub(crate) fn to_text(&self) -> String {
        // a LockFile is maps, lists, strings and numbers: serde_yaml cannot fail on it
        serde_yaml::to_string(self).unwrap_or_default()
    }

    /// Replaces the file whole (temp in `tmp_dir`, then rename; see `fs::textfile`).
    pub(crate) fn write(&self, path: &Path, tmp_dir: &Path) -> Result<(), LockError> {
        let shared = crate::fs::textfile::Access::Shared;
        crate::fs::textfile::replace(path, self.to_text().as_bytes(), tmp_dir, shared)
            .map_err(|source| LockError::Write { path: path.to_path_buf(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_dvc_lock_shape() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gitdata.lock");
        let mut lock = LockFile::read(&path).unwrap();
        assert!(lock.stages.is_empty());
        let mut params = ParamValues::new();
        params
            .entry("params.yaml".into())
            .or_default()
            .insert("train.lr".into(), serde_yaml::from_str("0.1").unwrap());
        let entry = StageLock {
            cmd: Cmd::of(&["python train.py".into()]),
            deps: vec![PathLock {
                path: "data.csv".into(),
                sha256: "ab".repeat(32),
                size: 3,
                nfiles: None,
            }],
            params,
            outs: vec![PathLock {
                path: "model".into(),
                sha256: "cd".repeat(32),
                size: 9,
                nfiles: Some(2),
            }],
        };
        lock.stages.insert("train".into(), entry);
        lock.write(&path, &dir.path().join("tmp")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let want = format!(
            "schema: git-data/1\nstages:\n  train:\n    cmd: python train.py\n    deps:\n    - path: data.csv\n      sha256: {}\n      size: 3\n    params:\n      params.yaml:\n        train.lr: 0.1\n    outs:\n    - path: model\n      sha256: {}\n      size: 9\n      nfiles: 2\n",
            "ab".repeat(32),
            "cd".repeat(32)
        );
        assert_eq!(text, want);
        assert_eq!(LockFile::read(&path).unwrap(), lock);
        std::fs::write(&path, "schema: '2.0'\nstages: {}\n").unwrap();
        let e = LockFile::read(&path).unwrap_err().to_string();
        assert!(e.ends_with("gitdata.lock is damaged: schema `2.0` is not `git-data/1`"), "{e}");
    }
}
