//! One stage of `dvc.yaml`, after templating and expansion, checked key by key into a
//! [`Stage`]: its commands, working directory, dependencies, outputs (`outs`, `metrics`,
//! `plots`, each with `cache` and `persist`), tracked params, `frozen` and `always_changed`.
//!
//! Invariants: every key is known or refused with an error naming it and the stage; every
//! path is resolved once against the pipeline's folder and the stage's `wdir` into a path
//! relative to the repository root (`repo`), and also kept as written (`path`, relative to
//! `wdir`, which is what the lock file records).

use super::error::PipelineError;
use serde_yaml::{Mapping, Value};

const STAGE_KEYS: &[&str] = &[
    "cmd",
    "wdir",
    "deps",
    "outs",
    "metrics",
    "plots",
    "params",
    "frozen",
    "always_changed",
    "desc",
    "meta",
    "vars",
];
const OUT_KEYS: &[&str] = &[
    "cache", "persist", "desc", "type", "labels", "meta", "remote", "push", "x", "y", "template",
    "title", "x_label", "y_label",
];

/// The default params file of a stage (in its `wdir`).
pub(crate) const DEFAULT_PARAMS: &str = "params.yaml";

/// A path of a stage: as written (relative to `wdir`) and from the repository root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StagePath {
    pub path: String,
    pub repo: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutKind {
    Out,
    Metric,
    Plot,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Out {
    pub at: StagePath,
    pub kind: OutKind,
    /// Stored as a git-data file (`true`) or left a plain git file.
    pub cache: bool,
    /// Kept, not deleted, before the stage runs.
    pub persist: bool,
}

/// The params a stage tracks in one file: some keys, or (`None`) every top-level key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParamFile {
    pub file: StagePath,
    pub keys: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Stage {
    pub name: String,
    pub cmds: Vec<String>,
    /// The working directory, from the repository root (`.` for the root).
    pub wdir: String,
    pub deps: Vec<StagePath>,
    pub outs: Vec<Out>,
    pub params: Vec<ParamFile>,
    pub frozen: bool,
    pub always_changed: bool,
}

/// Checks one rendered stage body; `dir` is the pipeline file's folder from the root.
pub(crate) fn parse_stage(name: &str, body: &Value, dir: &str) -> Result<Stage, PipelineError> {
    let err = |m: String| PipelineError::stage(name, m);
    let map =
        body.as_mapping().ok_or_else(|| err("must be a map of keys (cmd, deps, …)".into()))?;
    for key in map.keys() {
        let key = key.as_str().ok_or_else(|| err(format!("key `{key:?}` is not text")))?;
        if !STAGE_KEYS.contains(&key) {
            return Err(PipelineError::UnknownKey {
                stage: name.to_string(),
                key: key.to_string(),
                known: STAGE_KEYS.join(", "),
            });
        }
    }
    let cmds = match map.get("cmd") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Sequence(items)) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| err("`cmd` must be a command or a list of commands".into()))?,
        None => return Err(err("`cmd` is missing".into())),
        Some(_) => return Err(err("`cmd` must be a command or a list of commands".into())),
    };
    let wdir_text = match map.get("wdir") {
        None => ".",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(err("`wdir` must be a folder".into())),
    };
    let wdir = join_path(dir, wdir_text)
        .ok_or_else(|| err(format!("`wdir: {wdir_text}` leaves the repository")))?;
    let at = |p: &str| -> Result<StagePath, PipelineError> {
        let repo = join_path(&wdir, p).filter(|r| r != ".").ok_or_else(|| {
            err(format!("path `{p}` is absolute, empty or leaves the repository"))
        })?;
        Ok(StagePath { path: p.to_string(), repo })
    };
    let mut deps = Vec::new();
    for item in list(map, "deps", name)? {
        let p = item.as_str().ok_or_else(|| err("each of `deps` must be a path".into()))?;
        deps.push(at(p)?);
    }
    let mut outs = Vec::new();
    for (key, kind) in
        [("outs", OutKind::Out), ("metrics", OutKind::Metric), ("plots", OutKind::Plot)]
    {
        for item in list(map, key, name)? {
            let out = parse_out(name, key, kind, item, &at)?;
            if let Some(why) = kept_file(&out.at.repo, dir) {
                return Err(err(format!("output `{}` {why}", out.at.path)));
            }
            outs.push(out);
        }
    }
    let mut params: Vec<ParamFile> = Vec::new();
    for item in list(map, "params", name)? {
        let (file, keys) = parse_param(name, item)?;
        let file = at(&file)?;
        match params.iter_mut().find(|p| p.file == file) {
            Some(ParamFile { keys: Some(have), .. }) if keys.is_some() => {
                have.extend(keys.into_iter().flatten());
            }
            Some(p) => p.keys = None,
            None => params.push(ParamFile { file, keys }),
        }
    }
    Ok(Stage {
        name: name.to_string(),
        cmds,
        wdir,
        deps,
        outs,
        params,
        frozen: flag(map, "frozen", name)?,
        always_changed: flag(map, "always_changed", name)?,
    })
}

fn list<'m>(map: &'m Mapping, key: &str, stage: &str) -> Result<&'m [Value], PipelineError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Sequence(s)) => Ok(s),
        Some(_) => Err(PipelineError::stage(stage, format!("`{key}` must be a list"))),
    }
}

fn flag(map: &Mapping, key: &str, stage: &str) -> Result<bool, PipelineError> {
    match map.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(PipelineError::stage(stage, format!("`{key}` must be true or false"))),
    }
}

/// `- path` or `- path: {cache: false, persist: true}`.
fn parse_out(
    stage: &str,
    key: &str,
    kind: OutKind,
    item: &Value,
    at: &dyn Fn(&str) -> Result<StagePath, PipelineError>,
) -> Result<Out, PipelineError> {
    let err = |m: String| PipelineError::stage(stage, m);
    let (path, opts) = match item {
        Value::String(s) => (s.as_str(), None),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, v) = m.iter().next().ok_or_else(|| err(format!("empty entry in `{key}`")))?;
            let path = k.as_str().ok_or_else(|| err(format!("each of `{key}` must be a path")))?;
            match v {
                Value::Null => (path, None),
                Value::Mapping(o) => (path, Some(o)),
                _ => return Err(err(format!("`{path}` in `{key}` must have a map of options"))),
            }
        }
        _ => return Err(err(format!("each of `{key}` must be a path or `path: {{options}}`"))),
    };
    let mut out = Out { at: at(path)?, kind, cache: true, persist: false };
    for (k, v) in opts.into_iter().flatten() {
        let k = k.as_str().unwrap_or_default();
        if !OUT_KEYS.contains(&k) {
            return Err(PipelineError::UnknownKey {
                stage: stage.to_string(),
                key: format!("{key}: {path}: {k}"),
                known: OUT_KEYS.join(", "),
            });
        }
        let as_bool =
            || v.as_bool().ok_or_else(|| err(format!("`{k}` of `{path}` must be true or false")));
        match k {
            "cache" => out.cache = as_bool()?,
            "persist" => out.persist = as_bool()?,
            _ => {}
        }
    }
    Ok(out)
}

/// `- key` (in params.yaml) or `- file.yaml: [keys]` (no keys: the whole file).
fn parse_param(stage: &str, item: &Value) -> Result<(String, Option<Vec<String>>), PipelineError> {
    let err = |m: &str| PipelineError::stage(stage, m.to_string());
    match item {
        Value::String(key) => Ok((DEFAULT_PARAMS.to_string(), Some(vec![key.clone()]))),
        Value::Mapping(m) => {
            let mut found = None;
            for (file, keys) in m {
                let file = file.as_str().ok_or_else(|| err("a params file must be a path"))?;
                let keys = match keys {
                    Value::Null => None,
                    Value::Sequence(ks) if ks.is_empty() => None,
                    Value::Sequence(ks) => Some(
                        ks.iter()
                            .map(|k| k.as_str().map(str::to_string))
                            .collect::<Option<Vec<_>>>()
                            .ok_or_else(|| err("params keys must be text"))?,
                    ),
                    _ => return Err(err("a params file takes a list of keys")),
                };
                if found.is_some() {
                    return Err(err("write one params file per list entry"));
                }
                found = Some((file.to_string(), keys));
            }
            found.ok_or_else(|| err("empty entry in `params`"))
        }
        _ => Err(err("each of `params` must be a key or `file: [keys]`")),
    }
}

/// Joins `rel` (relative to `base`, both `/`-separated, relative to the repository root) and
/// resolves `.` and `..`; `None` for an absolute path or one that leaves the repository.
pub(crate) fn join_path(base: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in base.split('/').chain(rel.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(if parts.is_empty() { ".".to_string() } else { parts.join("/") })
}

/// Why a stage may not write the repository path `repo` (of a pipeline in `dir`): inside
/// git's own folder, or a file that git, git-data or DVC keeps (deleting it before the run
/// would lose it).
fn kept_file(repo: &str, dir: &str) -> Option<&'static str> {
    if repo.split('/').any(|part| part == ".git") {
        return Some("is inside git's own folder `.git`");
    }
    let name = repo.rsplit('/').next().unwrap_or(repo);
    let beside = |file: &str| join_path(dir, file).is_some_and(|p| p == repo);
    let kept = matches!(name, ".gitattributes" | ".gitignore" | ".gitdata.yaml")
        || [super::error::PIPELINE_NAME, super::lock::LOCK_NAME, "dvc.lock"]
            .iter()
            .any(|f| beside(f));
    kept.then_some("is a file git, git-data or DVC keeps: a stage cannot write it")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(yaml: &str) -> Result<Stage, PipelineError> {
        parse_stage("train", &serde_yaml::from_str(yaml).unwrap(), "pipe")
    }

    #[test]
    fn reads_every_supported_key() {
        let s = stage(
            "cmd: [python prep.py, python train.py]\nwdir: src\ndeps: [../data/raw.csv, train.py]\n\
             outs:\n- model.pkl\n- cache_dir:\n    persist: true\nmetrics:\n- m.json: {cache: false}\n\
             plots: [p.csv]\nparams:\n- train.lr\n- seed\n- conf/other.yaml: [a.b]\n- all.yaml:\n\
             frozen: true\nalways_changed: false\ndesc: trains\n",
        )
        .unwrap();
        assert_eq!(s.cmds, ["python prep.py", "python train.py"]);
        assert_eq!(s.wdir, "pipe/src");
        let dep = &s.deps[0];
        assert_eq!(
            (dep.path.as_str(), dep.repo.as_str()),
            ("../data/raw.csv", "pipe/data/raw.csv")
        );
        assert_eq!(s.outs.len(), 4);
        assert!(s.outs[1].persist && s.outs[1].cache);
        assert_eq!((s.outs[2].kind, s.outs[2].cache), (OutKind::Metric, false));
        assert_eq!(s.outs[3].kind, OutKind::Plot);
        assert_eq!(s.params.len(), 3);
        assert_eq!(s.params[0].file.repo, "pipe/src/params.yaml");
        assert_eq!(s.params[0].keys.as_deref(), Some(&["train.lr".into(), "seed".into()][..]));
        assert_eq!(s.params[1].keys.as_deref(), Some(&["a.b".to_string()][..]));
        assert_eq!(s.params[2].keys, None);
        assert!(s.frozen && !s.always_changed);
    }

    #[test]
    fn unknown_keys_name_the_key_and_the_stage() {
        let e = stage("cmd: x\nouts: [a]\noutz: [b]\n").unwrap_err();
        assert!(
            e.to_string().starts_with("stage `train`: unknown key `outz` (known keys: cmd,"),
            "{e}"
        );
        let e = stage("cmd: x\nouts:\n- a: {cach: false}\n").unwrap_err();
        assert!(e.to_string().starts_with("stage `train`: unknown key `outs: a: cach`"), "{e}");
    }

    #[test]
    fn refuses_wrong_shapes() {
        let msg = |y: &str| stage(y).unwrap_err().to_string();
        assert_eq!(msg("deps: [a]\n"), "stage `train`: `cmd` is missing");
        assert_eq!(
            msg("cmd: {a: 1}\n"),
            "stage `train`: `cmd` must be a command or a list of commands"
        );
        assert_eq!(
            msg("cmd: x\nfrozen: yes please\n"),
            "stage `train`: `frozen` must be true or false"
        );
        assert_eq!(msg("cmd: x\ndeps: a\n"), "stage `train`: `deps` must be a list");
        assert!(msg("cmd: x\ndeps: [../../x]\n").contains("leaves the repository"));
        assert!(msg("cmd: x\nouts: [/abs]\n").contains("is absolute"));
        assert!(msg("cmd: x\nouts: [.git/data]\n").contains("inside git's own folder `.git`"));
        assert!(msg("cmd: x\nouts: [sub/.git]\n").contains("inside git's own folder"));
        for kept in ["dvc.yaml", "gitdata.lock", "dvc.lock", ".gitattributes", "d/.gitignore"] {
            let m = msg(&format!("cmd: x\nouts: [{kept}]\n"));
            assert!(m.contains("a file git, git-data or DVC keeps"), "{kept}: {m}");
        }
        assert!(stage("cmd: x\nouts: [d/dvc.yaml]\n").is_ok(), "dvc.yaml of another folder");
    }

    #[test]
    fn paths_join_and_stay_inside() {
        assert_eq!(join_path("", "data/x.csv").as_deref(), Some("data/x.csv"));
        assert_eq!(join_path("sub/wd", "../in.csv").as_deref(), Some("sub/in.csv"));
        assert_eq!(join_path("sub", "./out/").as_deref(), Some("sub/out"));
        assert_eq!(join_path("sub", "..").as_deref(), Some("."));
        assert_eq!(join_path("", "../x"), None);
        assert_eq!(join_path("", "/etc/passwd"), None);
    }
}
