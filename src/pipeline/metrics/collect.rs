//! Reads the metrics or params of a pipeline at many revisions (and in the work tree): the
//! `dvc.yaml` at each revision names the files (stage `metrics:` and the top-level `metrics:`
//! list; the params files and keys the stages track), whose contents at that revision become
//! flat rows.
//!
//! Invariants: every blob comes through one `git cat-file --batch` ([`CatFile`]); a parsed
//! `dvc.yaml` is cached by the blob ids of it and its default params file, a parsed file by its
//! blob id, so a file unchanged across a thousand commits is parsed once; a file that is a
//! git-data pointer is read from the local cache, and one whose object is not local is
//! [`FileVals::NotLocal`]; a file that does not parse is [`FileVals::Bad`] with a note, the
//! rest still read.

use super::formats::{self, Flat, Format};
use crate::git::GitError;
use crate::git::batch::CatFile;
use crate::pipeline::spec::OutKind;
use crate::pipeline::{PIPELINE_NAME, join_path, load, params::lookup, spec::DEFAULT_PARAMS};
use crate::pointer::Pointer;
use crate::store::Store;
use serde_yaml::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::rc::Rc;

/// Metrics or params.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Metrics,
    Params,
}

/// What one file holds at one revision.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum FileVals {
    Values(Flat),
    /// A git-data pointer whose object is not in the local cache (its object id).
    NotLocal(String),
    /// The file does not parse (the reason).
    Bad(String),
}

/// Every declared file present at one revision, by repository path.
pub(crate) type Snapshot = BTreeMap<String, FileVals>;

/// The files a pipeline declares: path → tracked keys (`None`: every key).
type Declared = BTreeMap<String, Option<Vec<String>>>;

pub(crate) struct Reader<'s> {
    root: PathBuf,
    /// The pipeline file's folder from the repository root (`""` at the root).
    dir: String,
    store: &'s Store,
    batch: CatFile,
    kind: Kind,
    pipelines: HashMap<(String, String), Rc<Result<Declared, String>>>,
    files: HashMap<(String, Format), Rc<Result<Value, String>>>,
}

impl<'s> Reader<'s> {
    pub(crate) fn new(
        repo: &crate::git::Repo,
        root: PathBuf,
        dir: String,
        store: &'s Store,
        kind: Kind,
    ) -> Result<Reader<'s>, GitError> {
        let batch = CatFile::start(&repo.git_dir)?;
        Ok(Reader {
            root,
            dir,
            store,
            batch,
            kind,
            pipelines: HashMap::new(),
            files: HashMap::new(),
        })
    }

    fn in_dir(&self, name: &str) -> String {
        join_path(&self.dir, name).unwrap_or_else(|| name.to_string())
    }

    /// The snapshot at `rev` (a commit id or any name git reads as `<rev>:<path>`; `None`: the
    /// work tree), with a note naming `label` for each file or pipeline that could not be read.
    pub(crate) fn read(
        &mut self,
        rev: Option<&str>,
        label: &str,
        notes: &mut Vec<String>,
    ) -> Result<Snapshot, GitError> {
        let at = label;
        let Some((pipe_id, pipe_text)) = self.blob(rev, &self.in_dir(PIPELINE_NAME))? else {
            return Ok(Snapshot::new());
        };
        let params = self.blob(rev, &self.in_dir(DEFAULT_PARAMS))?;
        let key = (pipe_id.clone(), params.as_ref().map(|p| p.0.clone()).unwrap_or_default());
        let declared = match (rev, self.pipelines.get(&key)) {
            (Some(_), Some(d)) => d.clone(),
            _ => {
                let (d, read_vars) =
                    self.declared(rev, &pipe_text, params.as_ref().map(|p| &p.1[..]))?;
                let d = Rc::new(d);
                // a pipeline that reads vars files depends on more than the key: not kept
                if rev.is_some() && !read_vars {
                    self.pipelines.insert(key, d.clone());
                }
                d
            }
        };
        let declared = match &*declared {
            Ok(d) => d,
            Err(e) => {
                notes.push(format!("{} at {at}: {e}", self.in_dir(PIPELINE_NAME)));
                return Ok(Snapshot::new());
            }
        };
        let mut out = Snapshot::new();
        for (path, keys) in declared {
            let Some((id, data)) = self.blob(rev, path)? else { continue };
            let data = match Pointer::parse(&data) {
                Ok(p) => match self.cached(&p) {
                    Some(d) => d,
                    None => {
                        out.insert(path.clone(), FileVals::NotLocal(p.oid.to_hex()));
                        continue;
                    }
                },
                Err(_) => data,
            };
            let format = Format::of(path);
            let parsed = match (rev, self.files.get(&(id.clone(), format))) {
                (Some(_), Some(v)) => v.clone(),
                _ => {
                    let v = Rc::new(formats::parse(format, &data));
                    if rev.is_some() {
                        self.files.insert((id, format), v.clone());
                    }
                    v
                }
            };
            let vals = match &*parsed {
                Ok(v) => FileVals::Values(select(v, keys.as_deref())),
                Err(e) => {
                    notes.push(format!("{path} at {at}: {e}"));
                    FileVals::Bad(e.clone())
                }
            };
            out.insert(path.clone(), vals);
        }
        Ok(out)
    }

    /// A file's blob id (`""` in the work tree) and bytes, or `None` when it is absent.
    fn blob(
        &mut self,
        rev: Option<&str>,
        path: &str,
    ) -> Result<Option<(String, Vec<u8>)>, GitError> {
        match rev {
            Some(rev) => Ok(self.batch.read(&format!("{rev}:{path}"))?.map(|b| (b.id, b.data))),
            None => Ok(std::fs::read(self.root.join(path)).ok().map(|d| (String::new(), d))),
        }
    }

    fn cached(&self, p: &Pointer) -> Option<Vec<u8>> {
        if !self.store.contains(&p.oid, p.size) {
            return None;
        }
        std::fs::read(self.store.object_path(&p.oid)).ok()
    }

    /// The files `dvc.yaml` declares for this reader's kind, its `vars` files read at `rev`
    /// too; and whether it read any.
    fn declared(
        &mut self,
        rev: Option<&str>,
        text: &[u8],
        params: Option<&[u8]>,
    ) -> Result<(Result<Declared, String>, bool), GitError> {
        let mut read_vars = false;
        let Reader { root, dir, batch, kind, .. } = self;
        let mut vars_files = |name: &str| -> Result<Value, String> {
            read_vars = true;
            crate::pipeline::params::refuse_by_name(name)?;
            let path = join_path(dir, name).ok_or("a path outside the repository")?;
            let bytes = match rev {
                None => std::fs::read(root.join(&path)).map_err(|e| e.to_string())?,
                Some(rev) => match batch.read(&format!("{rev}:{path}")) {
                    Ok(Some(blob)) => blob.data,
                    Ok(None) => return Err("not in this revision".into()),
                    Err(e) => return Err(e.to_string()),
                },
            };
            crate::pipeline::params::parse_file(&bytes)
        };
        let declared = declared_in(dir, root, *kind, text, params, &mut vars_files);
        Ok((declared, read_vars))
    }
}

/// The files the pipeline `text` (in `dir`) declares for `kind`.
fn declared_in(
    dir: &str,
    root: &std::path::Path,
    kind: Kind,
    text: &[u8],
    params: Option<&[u8]>,
    vars_files: &mut crate::pipeline::expand::VarsFiles<'_>,
) -> Result<Declared, String> {
    let text = std::str::from_utf8(text).map_err(|_| "not UTF-8 text".to_string())?;
    let params = match params {
        Some(p) => {
            Some(formats::parse(Format::Yaml, p).map_err(|e| format!("{DEFAULT_PARAMS}: {e}"))?)
        }
        None => None,
    };
    let doc: Value = serde_yaml::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    let path = root.join(dir).join(PIPELINE_NAME);
    let pipeline =
        load::from_text(text, dir, &path, params, vars_files).map_err(|e| e.to_string())?;
    let mut out = Declared::new();
    let top = |key: &str| -> Vec<String> {
        let Some(Value::Sequence(items)) = doc.get(key) else { return Vec::new() };
        items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Mapping(m) => m.keys().next().and_then(|k| k.as_str()).map(String::from),
                _ => None,
            })
            .filter_map(|p| join_path(dir, &p))
            .collect()
    };
    match kind {
        Kind::Metrics => {
            for stage in &pipeline.stages {
                for o in stage.outs.iter().filter(|o| o.kind == OutKind::Metric) {
                    out.insert(o.at.repo.clone(), None);
                }
            }
            for path in top("metrics") {
                out.insert(path, None);
            }
        }
        Kind::Params => {
            for stage in &pipeline.stages {
                for p in &stage.params {
                    let entry = out.entry(p.file.repo.clone()).or_insert(Some(Vec::new()));
                    match (entry, &p.keys) {
                        (Some(have), Some(keys)) => {
                            for k in keys {
                                if !have.contains(k) {
                                    have.push(k.clone());
                                }
                            }
                        }
                        (entry, _) => *entry = None,
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The flat rows of `v`: every key, or those under the tracked `keys`.
fn select(v: &Value, keys: Option<&[String]>) -> Flat {
    let mut out = Flat::new();
    match keys {
        None => formats::flatten("", v, &mut out),
        Some(keys) => {
            for key in keys {
                if let Some(found) = lookup(v, key) {
                    formats::flatten(key, found, &mut out);
                }
            }
        }
    }
    out
}

/// A commit id's first 7 digits; any other name as it is.
pub(crate) fn short(rev: &str) -> &str {
    if rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()) { &rev[..7] } else { rev }
}
