//! Params files (YAML or JSON, which YAML reads too) and the values a stage tracks in them:
//! a dotted key (`train.lr`) is one value, a section key (`train`) the whole map below it,
//! and a file listed without keys all of its top-level keys.
//!
//! Invariant: only tracked values are recorded and compared, so editing another key of the
//! same file changes nothing for the stage.

use super::spec::ParamFile;
use crate::fs::stat::FileStat;
use serde_yaml::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The values a stage tracks, by file (as written in the stage) and key.
pub(crate) type ParamValues = BTreeMap<String, BTreeMap<String, Value>>;

/// Reads a params or vars file: YAML or JSON. TOML and Python files are refused by name.
pub(crate) fn read_file(abs: &Path) -> Result<Value, String> {
    refuse_by_name(&abs.to_string_lossy())?;
    parse_file(&std::fs::read(abs).map_err(|e| e.to_string())?)
}

/// TOML and Python params files are refused by their name, before reading.
pub(crate) fn refuse_by_name(name: &str) -> Result<(), String> {
    let ext = Path::new(name).extension().and_then(|e| e.to_str()).unwrap_or_default();
    match ext {
        "toml" | "py" => {
            Err(format!("{} files are not read yet: use YAML or JSON", ext.to_uppercase()))
        }
        _ => Ok(()),
    }
}

/// The tree of a params or vars file's bytes (YAML or JSON; empty is an empty map).
pub(crate) fn parse_file(bytes: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    if text.trim().is_empty() {
        return Ok(Value::Mapping(Default::default()));
    }
    serde_yaml::from_str(text).map_err(|e| format!("not valid YAML or JSON: {e}"))
}

/// Params files read and parsed once per run, shared by the stage threads; a file is read
/// again when its stat changed (a stage rewrote it), so later stages see the change, and a
/// file that was not settled when read (a rewrite within the same timestamp tick, same size,
/// would keep its stat) is read every time, as the stat cache does.
#[derive(Default)]
pub(crate) struct Files {
    known: Mutex<HashMap<PathBuf, (FileStat, Arc<Value>)>>,
}

impl Files {
    /// The parsed params file at `abs` (see [`read_file`]).
    pub(crate) fn read(&self, abs: &Path) -> Result<Arc<Value>, String> {
        let observed = std::time::SystemTime::now();
        let stat = std::fs::metadata(abs).map(|m| FileStat::from_metadata(&m)).ok();
        if let Some(stat) = stat
            && let Ok(known) = self.known.lock()
            && let Some((seen, doc)) = known.get(abs)
            && seen.same_content_stat(&stat)
        {
            return Ok(doc.clone());
        }
        let doc = Arc::new(read_file(abs)?);
        if let Some(stat) = stat.filter(|s| s.settled_at(observed))
            && let Ok(mut known) = self.known.lock()
        {
            known.insert(abs.to_path_buf(), (stat, doc.clone()));
        }
        Ok(doc)
    }
}

/// The value at a dotted key: the whole key first (a key may contain dots), then part by part.
pub(crate) fn lookup<'v>(doc: &'v Value, key: &str) -> Option<&'v Value> {
    if let Some(v) = doc.get(key) {
        return Some(v);
    }
    let (head, rest) = key.split_once('.')?;
    let mut current = doc.get(head)?;
    let mut rest = rest;
    loop {
        if let Some(v) = current.get(rest) {
            return Some(v);
        }
        let (h, r) = rest.split_once('.')?;
        current = match current {
            Value::Sequence(s) => s.get(h.parse::<usize>().ok()?)?,
            other => other.get(h)?,
        };
        rest = r;
    }
}

/// The tracked values of `files` under the repository `root`; an error names the file or key.
#[cfg(test)]
pub(crate) fn values(root: &Path, files: &[ParamFile]) -> Result<ParamValues, String> {
    values_with(root, files, &Files::default())
}

/// [`values`], each file read and parsed once per run through `known`.
pub(crate) fn values_with(
    root: &Path,
    files: &[ParamFile],
    known: &Files,
) -> Result<ParamValues, String> {
    let mut out = ParamValues::new();
    for f in files {
        let doc = known
            .read(&root.join(&f.file.repo))
            .map_err(|e| format!("params file `{}`: {e}", f.file.path))?;
        let doc = doc.as_ref();
        let mut tracked = BTreeMap::new();
        match &f.keys {
            None => {
                for (k, v) in doc.as_mapping().into_iter().flatten() {
                    let k = super::template::scalar_text(k).unwrap_or_default();
                    tracked.insert(k, v.clone());
                }
            }
            Some(keys) => {
                for key in keys {
                    let v = lookup(doc, key)
                        .ok_or_else(|| format!("param `{key}` is not in `{}`", f.file.path))?;
                    tracked.insert(key.clone(), v.clone());
                }
            }
        }
        out.insert(f.file.path.clone(), tracked);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::spec::StagePath;

    #[test]
    fn dotted_keys_sections_and_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("params.yaml"),
            "train: {lr: 0.1, epochs: 3}\nprep.split: 0.2\nlayers: [{units: 8}]\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("other.json"), r#"{"seed": 7, "name": "x"}"#).unwrap();
        let file = |name: &str, keys: Option<&[&str]>| ParamFile {
            file: StagePath { path: name.into(), repo: name.into() },
            keys: keys.map(|k| k.iter().map(|s| s.to_string()).collect()),
        };
        let v = values(
            dir.path(),
            &[
                file("params.yaml", Some(&["train.lr", "train", "prep.split", "layers.0.units"])),
                file("other.json", None),
            ],
        )
        .unwrap();
        let p = &v["params.yaml"];
        assert_eq!(p["train.lr"], serde_yaml::from_str::<Value>("0.1").unwrap());
        assert_eq!(p["train"], serde_yaml::from_str::<Value>("{lr: 0.1, epochs: 3}").unwrap());
        assert_eq!(p["prep.split"], serde_yaml::from_str::<Value>("0.2").unwrap());
        assert_eq!(p["layers.0.units"], serde_yaml::from_str::<Value>("8").unwrap());
        assert_eq!(v["other.json"].keys().collect::<Vec<_>>(), ["name", "seed"]);
        let e = values(dir.path(), &[file("params.yaml", Some(&["train.momentum"]))]).unwrap_err();
        assert_eq!(e, "param `train.momentum` is not in `params.yaml`");
        std::fs::write(dir.path().join("p.toml"), "a = 1").unwrap();
        let e = values(dir.path(), &[file("p.toml", None)]).unwrap_err();
        assert!(e.contains("TOML files are not read yet"), "{e}");
    }

    #[test]
    fn params_files_are_parsed_once_while_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("params.yaml");
        std::fs::write(&p, "lr: 1\n").unwrap();
        let stat = FileStat::from_metadata(&std::fs::metadata(&p).unwrap());
        crate::fs::stat::wait_until_settled(stat.ctime_ns.max(stat.mtime_ns));
        let files = Files::default();
        let a = files.read(&p).unwrap();
        assert!(Arc::ptr_eq(&a, &files.read(&p).unwrap()));
        std::fs::write(&p, "lr: 22\n").unwrap();
        let b = files.read(&p).unwrap();
        assert_eq!(b["lr"], Value::from(22));
    }
}
