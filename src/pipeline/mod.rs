//! Pipelines: `git data repro` runs the stages of an unchanged `dvc.yaml` and records what
//! they read and wrote in its own lock file beside it ([`LOCK_NAME`]; `dvc.lock` is never
//! read or written). See docs/pipelines.md.
//!
//! The steps, one module each: read and expand `dvc.yaml` ([`load`]: templating in
//! [`template`], `foreach`/`matrix` in [`expand`], each stage checked in [`spec`]); order the
//! stages ([`dag`]); read tracked params ([`params`]); hash files and directories ([`hash`]);
//! read and write the lock ([`lock`]); decide which stages must run and why ([`state`]); run
//! them, in parallel along the graph ([`run`]). Invariant: nothing here prints; the command
//! line receives events and prints them.

pub(crate) mod dag;
pub(crate) mod exec;
pub(crate) mod expand;
pub(crate) mod hash;
pub(crate) mod load;
pub(crate) mod lock;
pub(crate) mod owner;
pub(crate) mod params;
pub(crate) mod run;
pub(crate) mod spec;
pub(crate) mod state;
pub(crate) mod template;

use std::path::PathBuf;

/// The pipeline file git-data reads.
pub(crate) const PIPELINE_NAME: &str = "dvc.yaml";
/// git-data's lock file, beside the pipeline file.
pub(crate) const LOCK_NAME: &str = "gitdata.lock";

/// Why a pipeline could not be read or ordered; each names the file, stage or key at fault.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PipelineError {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{} is not valid YAML: {message}", path.display())]
    Yaml { path: PathBuf, message: String },
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("stage `{stage}`: unknown key `{key}` (known keys: {known})")]
    UnknownKey { stage: String, key: String, known: String },
    #[error("stage `{stage}`: {message}")]
    Stage { stage: String, message: String },
    #[error("stages `{a}` and `{b}` both write `{path}`")]
    Overlap { a: String, b: String, path: String },
    #[error("the stages form a cycle: {0}")]
    Cycle(String),
    #[error("no stage named `{0}` in {PIPELINE_NAME}")]
    UnknownTarget(String),
}

impl PipelineError {
    pub(crate) fn stage(stage: &str, message: impl Into<String>) -> Self {
        PipelineError::Stage { stage: stage.to_string(), message: message.into() }
    }

    /// What fixes it, where that is known.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            PipelineError::UnknownKey { .. } => Some(
                "fix the key's spelling; git-data reads the dvc.yaml keys listed (docs/pipelines.md)"
                    .into(),
            ),
            PipelineError::Overlap { .. } => {
                Some("give each stage its own outputs: one path is written by one stage".into())
            }
            PipelineError::Cycle(_) => {
                Some("a stage cannot depend, directly or not, on its own outputs".into())
            }
            PipelineError::UnknownTarget(_) => {
                Some("give stage names as dvc.yaml spells them (`name` or `name@item`)".into())
            }
            _ => None,
        }
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

#[cfg(test)]
mod tests {
    #[test]
    fn paths_join_and_stay_inside() {
        use super::join_path;
        assert_eq!(join_path("", "data/x.csv").as_deref(), Some("data/x.csv"));
        assert_eq!(join_path("sub/wd", "../in.csv").as_deref(), Some("sub/in.csv"));
        assert_eq!(join_path("sub", "./out/").as_deref(), Some("sub/out"));
        assert_eq!(join_path("sub", "..").as_deref(), Some("."));
        assert_eq!(join_path("", "../x"), None);
        assert_eq!(join_path("", "/etc/passwd"), None);
    }
}
