//! Errors with a known fix: every layer may attach one, and the command line prints it as
//! `hint: …` after the error (see `cli::error`).

/// A failure with a known fix: printed as `error: …` then `hint: …`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct Hinted {
    pub message: String,
    pub hint: String,
}

/// Builds an error that carries a hint.
pub(crate) fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    Hinted { message: message.into(), hint: hint.into() }.into()
}
