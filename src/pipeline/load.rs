//! Reading a `dvc.yaml` into a [`Pipeline`]: top-level keys checked, the default
//! `params.yaml` and `vars` gathered for templating, stages expanded and checked, the graph
//! built.
//!
//! Invariant: the file is only read; a pipeline that loads has known keys only, unique stage
//! names, no overlapping outputs and no cycle.

use super::dag::{self, Dag};
use super::error::{PIPELINE_NAME, PipelineError};
use super::spec::{self, Stage};
use serde_yaml::{Mapping, Value};
use std::path::Path;

const TOP_KEYS: &[&str] =
    &["stages", "vars", "params", "metrics", "plots", "artifacts", "datasets"];

pub(crate) struct Pipeline {
    /// The pipeline file's folder from the repository root (`""` at the root).
    pub dir: String,
    pub stages: Vec<Stage>,
    pub dag: Dag,
}

/// Loads `<root>/<dir>/dvc.yaml`.
pub(crate) fn load(root: &Path, dir: &str) -> Result<Pipeline, PipelineError> {
    let dir_abs = root.join(dir);
    let path = dir_abs.join(PIPELINE_NAME);
    let text = std::fs::read_to_string(&path)
        .map_err(|source| PipelineError::Io { path: path.clone(), source })?;
    let default_params = dir_abs.join(spec::DEFAULT_PARAMS);
    let params = if default_params.is_file() {
        let file_err =
            |message: String| PipelineError::File { file: PIPELINE_NAME.into(), message };
        Some(
            super::params::read_file(&default_params)
                .map_err(|e| file_err(format!("{}: {e}", spec::DEFAULT_PARAMS)))?,
        )
    } else {
        None
    };
    let mut vars_files = |name: &str| super::params::read_file(&dir_abs.join(name));
    from_text(&text, dir, &path, params, &mut vars_files)
}

/// Loads a pipeline from the text of its `dvc.yaml` (named `path` in errors), the parsed
/// default params file (`None`: absent) and its `vars` files as `vars_files` reads them: all
/// from the work tree, or all at one revision.
pub(crate) fn from_text(
    text: &str,
    dir: &str,
    path: &Path,
    default_params: Option<Value>,
    vars_files: &mut super::expand::VarsFiles<'_>,
) -> Result<Pipeline, PipelineError> {
    let path = path.to_path_buf();
    let doc: Value = serde_yaml::from_str(text)
        .map_err(|e| PipelineError::Yaml { path: path.clone(), message: e.to_string() })?;
    let file_err = |message: String| PipelineError::File { file: PIPELINE_NAME.into(), message };
    let Value::Mapping(doc) = doc else {
        return Err(file_err("must be a map with a `stages` key".into()));
    };
    for key in doc.keys() {
        let key = key.as_str().unwrap_or_default();
        if !TOP_KEYS.contains(&key) {
            return Err(file_err(format!(
                "unknown key `{key}` (known keys: {})",
                TOP_KEYS.join(", ")
            )));
        }
    }
    let mut globals = Mapping::new();
    match default_params {
        Some(Value::Mapping(m)) => globals = m,
        None | Some(Value::Null) => {}
        Some(_) => return Err(file_err(format!("{} must hold a map", spec::DEFAULT_PARAMS))),
    }
    if let Some(vars) = doc.get("vars") {
        super::expand::add_vars(&mut globals, vars, vars_files, "vars").map_err(file_err)?;
    }
    let stages = match doc.get("stages") {
        Some(Value::Mapping(m)) => m.clone(),
        None | Some(Value::Null) => Mapping::new(),
        Some(_) => return Err(file_err("`stages` must be a map of stage names".into())),
    };
    let stages = super::expand::expand(&stages, &globals, vars_files)?
        .into_iter()
        .map(|(name, body)| spec::parse_stage(&name, &body, dir))
        .collect::<Result<Vec<_>, _>>()?;
    let dag = dag::build(&stages)?;
    Ok(Pipeline { dir: dir.to_string(), stages, dag })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_with_params_and_vars_files() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("pipe");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("params.yaml"), "prep: {ratio: 0.5}\n").unwrap();
        std::fs::write(sub.join("more.yaml"), "size: 9\nunused: 1\n").unwrap();
        std::fs::write(
            sub.join("dvc.yaml"),
            "vars: [more.yaml:size, {tag: v1}]\nstages:\n  prep:\n    cmd: prep ${prep.ratio} ${size} ${tag}\n    outs: [p.csv]\n  use:\n    cmd: use\n    deps: [p.csv]\n",
        )
        .unwrap();
        let p = load(dir.path(), "pipe").unwrap();
        assert_eq!(p.stages[0].cmds, ["prep 0.5 9 v1"]);
        assert_eq!(p.stages[0].outs[0].at.repo, "pipe/p.csv");
        assert_eq!(p.dag.upstream[1], [0]);
    }

    #[test]
    fn refuses_unknown_top_level_keys_and_bad_yaml() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dvc.yaml"), "stage:\n  a: {cmd: x}\n").unwrap();
        let e = load(dir.path(), "").err().unwrap().to_string();
        assert!(e.starts_with("dvc.yaml: unknown key `stage` (known keys: stages,"), "{e}");
        std::fs::write(dir.path().join("dvc.yaml"), "stages: [unclosed\n").unwrap();
        let e = load(dir.path(), "").err().unwrap().to_string();
        assert!(e.contains("dvc.yaml is not valid YAML"), "{e}");
    }
}
