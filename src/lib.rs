//! git-data: versions large data sets and models beside code. git stores small pointers
//! (the git-lfs v1 format); the bytes live in a content-addressed cache and on a remote.
//!
//! The library holds everything testable without a process; `main.rs` only parses, dispatches
//! and maps errors to exit codes.

pub mod cli;
pub mod config;
pub mod filter;
pub mod fs;
pub mod git;
pub mod materialize;
pub mod oid;
pub mod pointer;
pub mod policy;
pub mod progress;
pub mod store;
pub mod sync;
pub mod units;

/// A failure with a known fix: printed as `error: …` then `hint: …`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Hinted {
    pub message: String,
    pub hint: String,
}

/// Builds an error that carries a hint.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    Hinted { message: message.into(), hint: hint.into() }.into()
}

/// Prints an error chain and any hint found in it, to stderr.
pub fn report(err: &anyhow::Error) {
    let mut text = format!("git-data: error: {err}");
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(&format!(": {cause}"));
        }
    }
    eprintln!("{text}");
    for cause in err.chain() {
        let hint = if let Some(h) = cause.downcast_ref::<Hinted>() {
            Some(h.hint.clone())
        } else if let Some(r) = cause.downcast_ref::<sync::remote::RemoteError>() {
            r.hint.clone()
        } else if let Some(c) = cause.downcast_ref::<config::ConfigError>() {
            matches!(c, config::ConfigError::Syntax { .. } | config::ConfigError::Invalid { .. })
                .then(|| {
                    "fix .gitdata.yaml (see docs/configuration.md), then run the command again"
                        .to_string()
                })
        } else if cause
            .downcast_ref::<git::GitError>()
            .is_some_and(|g| matches!(g, git::GitError::NotARepository(_)))
        {
            Some("run this inside a git repository (git init, or cd into one)".to_string())
        } else {
            None
        };
        if let Some(h) = hint {
            eprintln!("hint: {h}");
            break;
        }
    }
}
