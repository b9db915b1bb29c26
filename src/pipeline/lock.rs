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
}

/// A lock file kept as text stage by stage while `repro` runs: rewriting it after each stage
/// then costs one concatenation, not a new serialization of every entry (which made a long
/// first run quadratic). Its text is exactly [`LockFile::to_text`]'s.
pub(crate) struct LockText {
    /// Each stage's entry as the lines it has under `stages:`.
    stages: BTreeMap<String, String>,
}

impl LockText {
    pub(crate) fn of(lock: &LockFile) -> LockText {
        let mut text = LockText { stages: BTreeMap::new() };
        for (name, entry) in &lock.stages {
            text.set(name, entry);
        }
        text
    }

    /// Replaces the entry of stage `name`.
    pub(crate) fn set(&mut self, name: &str, entry: &StageLock) {
        let one = BTreeMap::from([(name, entry)]);
        // maps, lists, strings and numbers: serde_yaml cannot fail on them
        let yaml = serde_yaml::to_string(&one).unwrap_or_default();
        let mut lines = String::with_capacity(yaml.len() + 64);
        for line in yaml.lines() {
            if !line.is_empty() {
                lines.push_str("  ");
            }
            lines.push_str(line);
            lines.push('\n');
        }
        self.stages.insert(name.to_string(), lines);
    }

    pub(crate) fn text(&self) -> String {
        if self.stages.is_empty() {
            return LockFile { schema: SCHEMA.into(), stages: BTreeMap::new() }.to_text();
        }
        let mut text = format!("schema: {SCHEMA}\nstages:\n");
        text.extend(self.stages.values().map(String::as_str));
        text
    }

    /// Replaces the file whole (temp in `tmp_dir`, then rename; see `fs::textfile`).
    pub(crate) fn write(&self, path: &Path, tmp_dir: &Path) -> Result<(), LockError> {
        let shared = crate::fs::textfile::Access::Shared;
        crate::fs::textfile::replace(path, self.text().as_bytes(), tmp_dir, shared)
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
        LockText::of(&lock).write(&path, &dir.path().join("tmp")).unwrap();
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

    #[test]
    fn the_text_kept_per_stage_is_the_whole_serialization() {
        let entry = |cmd: &[&str], out: &str| StageLock {
            cmd: Cmd::of(&cmd.iter().map(|c| c.to_string()).collect::<Vec<_>>()),
            deps: vec![],
            params: ParamValues::new(),
            outs: vec![PathLock {
                path: out.into(),
                sha256: "ef".repeat(32),
                size: 0,
                nfiles: None,
            }],
        };
        let mut lock = LockFile { schema: SCHEMA.into(), stages: BTreeMap::new() };
        assert_eq!(LockText::of(&lock).text(), lock.to_text());
        let mut text = LockText::of(&lock);
        let odd = [
            ("plain", entry(&["echo x > a"], "a")),
            ("copy@1", entry(&["python - <<'EOF'\nprint(1)\n\n  print(2)\nEOF", "b: c"], "d e")),
            ("'quoted'", entry(&["\"q\" # not a comment", ""], "- x")),
            ("yes", entry(&["true"], "null")),
        ];
        for (name, e) in odd {
            text.set(name, &e);
            lock.stages.insert(name.into(), e);
            assert_eq!(text.text(), lock.to_text());
        }
        let back: LockFile = serde_yaml::from_str(&text.text()).unwrap();
        assert_eq!(back, lock);
    }
}
