//! Whether a stage must run, and why: the first of these that holds, in this order —
//! `always_changed`; no entry in the lock file; no deps and no params (such a stage always
//! runs, as DVC's do); the list of deps, a dep's id, the tracked
//! params or one of their values changed; the command changed (a param templated into it is
//! reported as the param); the list of outputs changed, or an output is missing or no longer
//! has its recorded id. Otherwise it is up to date.
//!
//! Invariant: only what the stage declares is looked at (an untracked param key, or a file
//! nobody declared, never makes a stage run); an upstream stage that ran but wrote
//! byte-identical outputs leaves its dependents' dep ids unchanged, so they do not run (the
//! early cutoff needs no special case).

use super::hash::{self, HashError};
use super::lock::{Cmd, PathLock, StageLock};
use super::params::{self, ParamValues};
use super::spec::Stage;
use super::statcache::Stats;
use std::fmt;
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    Forced,
    AlwaysChanged,
    NoEntry,
    NoDeps,
    CmdChanged,
    DepsListChanged,
    DepChanged(String),
    ParamsListChanged,
    ParamChanged { file: String, key: String },
    OutsListChanged,
    OutMissing(String),
    OutChanged(String),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Forced => write!(f, "forced (-f)"),
            Reason::AlwaysChanged => write!(f, "always_changed"),
            Reason::NoEntry => write!(f, "never ran (no entry in {})", super::lock::LOCK_NAME),
            Reason::NoDeps => write!(f, "a stage without deps or params always runs"),
            Reason::CmdChanged => write!(f, "cmd changed"),
            Reason::DepsListChanged => write!(f, "its list of deps changed"),
            Reason::DepChanged(p) => write!(f, "dep `{p}` changed"),
            Reason::ParamsListChanged => write!(f, "its list of params changed"),
            Reason::ParamChanged { file, key } => write!(f, "param `{key}` changed in `{file}`"),
            Reason::OutsListChanged => write!(f, "its list of outputs changed"),
            Reason::OutMissing(p) => write!(f, "output `{p}` is missing"),
            Reason::OutChanged(p) => write!(f, "output `{p}` changed"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum StateError {
    #[error("dependency `{0}` is missing")]
    MissingDep(String),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("{0}")]
    Params(String),
}

/// What a stage reads, now: its deps' ids and its tracked params' values.
#[derive(Clone, Debug)]
pub(crate) struct Inputs {
    pub deps: Vec<PathLock>,
    pub params: ParamValues,
    /// Deps that are (or hold) git-data pointers whose data is not in the work tree.
    pub pointer_deps: Vec<String>,
}

/// Hashes the deps and reads the params of `stage` under the repository `root`.
#[cfg(test)]
pub(crate) fn inputs(root: &Path, stage: &Stage) -> Result<Inputs, StateError> {
    inputs_with(root, stage, &Stats::none())
}

/// [`inputs`], with `stats` vouching for unchanged files and params files read once.
pub(crate) fn inputs_with(root: &Path, stage: &Stage, stats: &Stats) -> Result<Inputs, StateError> {
    let mut deps = Vec::with_capacity(stage.deps.len());
    let mut pointer_deps = Vec::new();
    for dep in &stage.deps {
        let h = hash::hash_with(root, &dep.repo, None, stats)?
            .ok_or_else(|| StateError::MissingDep(dep.path.clone()))?;
        if h.pointers {
            pointer_deps.push(dep.repo.clone());
        }
        deps.push(PathLock::new(&dep.path, &h));
    }
    let params =
        params::values_with(root, &stage.params, &stats.params).map_err(StateError::Params)?;
    Ok(Inputs { deps, params, pointer_deps })
}

/// Why `stage` must run, or `None` when it is up to date.
#[cfg(test)]
pub(crate) fn check(
    root: &Path,
    stage: &Stage,
    entry: Option<&StageLock>,
    now: &Inputs,
) -> Result<Option<Reason>, StateError> {
    check_with(root, stage, entry, now, &Stats::none())
}

/// [`check`], with `stats` vouching for unchanged outputs.
pub(crate) fn check_with(
    root: &Path,
    stage: &Stage,
    entry: Option<&StageLock>,
    now: &Inputs,
    stats: &Stats,
) -> Result<Option<Reason>, StateError> {
    if stage.always_changed {
        return Ok(Some(Reason::AlwaysChanged));
    }
    let Some(entry) = entry else {
        return Ok(Some(Reason::NoEntry));
    };
    if stage.deps.is_empty() && stage.params.is_empty() {
        return Ok(Some(Reason::NoDeps));
    }
    let paths = |v: &[PathLock]| v.iter().map(|p| p.path.clone()).collect::<Vec<_>>();
    if paths(&entry.deps) != paths(&now.deps) {
        return Ok(Some(Reason::DepsListChanged));
    }
    if let Some(changed) = entry.deps.iter().zip(&now.deps).find(|(a, b)| a != b) {
        return Ok(Some(Reason::DepChanged(changed.1.path.clone())));
    }
    let keys = |v: &ParamValues| {
        v.iter()
            .flat_map(|(f, m)| m.keys().map(move |k| (f.clone(), k.clone())))
            .collect::<Vec<_>>()
    };
    if keys(&entry.params) != keys(&now.params) {
        return Ok(Some(Reason::ParamsListChanged));
    }
    for (file, values) in &now.params {
        for (key, value) in values {
            if entry.params.get(file).and_then(|m| m.get(key)) != Some(value) {
                return Ok(Some(Reason::ParamChanged { file: file.clone(), key: key.clone() }));
            }
        }
    }
    if entry.cmd != Cmd::of(&stage.cmds) {
        return Ok(Some(Reason::CmdChanged));
    }
    let declared: Vec<String> = stage.outs.iter().map(|o| o.at.path.clone()).collect();
    if paths(&entry.outs) != declared {
        return Ok(Some(Reason::OutsListChanged));
    }
    for (out, recorded) in stage.outs.iter().zip(&entry.outs) {
        match hash::hash_with(root, &out.at.repo, None, stats)? {
            None => return Ok(Some(Reason::OutMissing(out.at.path.clone()))),
            Some(h) if PathLock::new(&out.at.path, &h) != *recorded => {
                return Ok(Some(Reason::OutChanged(out.at.path.clone())));
            }
            Some(_) => {}
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::spec::parse_stage;

    fn stage(yaml: &str) -> Stage {
        parse_stage("s", &serde_yaml::from_str(yaml).unwrap(), "").unwrap()
    }

    fn entry(root: &Path, s: &Stage) -> StageLock {
        let now = inputs(root, s).unwrap();
        let outs = s
            .outs
            .iter()
            .map(|o| {
                PathLock::new(
                    &o.at.path,
                    &hash::hash(&root.join(&o.at.repo), None).unwrap().unwrap(),
                )
            })
            .collect();
        StageLock { cmd: Cmd::of(&s.cmds), deps: now.deps, params: now.params, outs }
    }

    #[test]
    fn each_reason_in_turn() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |p: &str, t: &str| std::fs::write(root.join(p), t).unwrap();
        write("in.csv", "1\n");
        write("params.yaml", "lr: 0.1\nother: 1\n");
        write("out.txt", "o\n");
        let s = stage("cmd: run\ndeps: [in.csv]\nparams: [lr]\nouts: [out.txt]\n");
        let check = |s: &Stage, e: Option<&StageLock>| {
            check(root, s, e, &inputs(root, s).unwrap()).unwrap()
        };
        assert_eq!(check(&s, None), Some(Reason::NoEntry));
        let e = entry(root, &s);
        assert_eq!(check(&s, Some(&e)), None);
        write("params.yaml", "lr: 0.1\nother: 2\n");
        assert_eq!(check(&s, Some(&e)), None, "an untracked key changed");
        write("params.yaml", "lr: 0.2\nother: 2\n");
        let param = Reason::ParamChanged { file: "params.yaml".into(), key: "lr".into() };
        assert_eq!(check(&s, Some(&e)), Some(param));
        write("params.yaml", "lr: 0.1\n");
        write("in.csv", "2\n");
        assert_eq!(check(&s, Some(&e)), Some(Reason::DepChanged("in.csv".into())));
        write("in.csv", "1\n");
        write("out.txt", "changed\n");
        assert_eq!(check(&s, Some(&e)), Some(Reason::OutChanged("out.txt".into())));
        std::fs::remove_file(root.join("out.txt")).unwrap();
        assert_eq!(check(&s, Some(&e)), Some(Reason::OutMissing("out.txt".into())));
        write("out.txt", "o\n");
        let other = stage("cmd: run2\ndeps: [in.csv]\nparams: [lr]\nouts: [out.txt]\n");
        assert_eq!(check(&other, Some(&e)), Some(Reason::CmdChanged));
        let fewer = stage("cmd: run\nparams: [lr]\nouts: [out.txt]\n");
        assert_eq!(check(&fewer, Some(&e)), Some(Reason::DepsListChanged));
        let always = stage(
            "cmd: run\ndeps: [in.csv]\nparams: [lr]\nouts: [out.txt]\nalways_changed: true\n",
        );
        assert_eq!(check(&always, Some(&e)), Some(Reason::AlwaysChanged));
        let lone = stage("cmd: run\nouts: [out.txt]\n");
        let lone_entry = entry(root, &lone);
        assert_eq!(check(&lone, Some(&lone_entry)), Some(Reason::NoDeps));
        let missing = stage("cmd: run\ndeps: [nope.csv]\n");
        let err = inputs(root, &missing).unwrap_err();
        assert_eq!(err.to_string(), "dependency `nope.csv` is missing");
    }
}
