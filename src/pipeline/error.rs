//! Why a pipeline cannot be read or ordered: one error per cause, each naming the file, stage
//! or key at fault, with the fix where one is known ([`PipelineError::hint`]).

use std::path::PathBuf;

/// The pipeline file git-data reads.
pub(crate) const PIPELINE_NAME: &str = "dvc.yaml";

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
