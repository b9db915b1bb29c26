//! Turning an error into what the user reads: the error chain on one line, then the first
//! hint found in it — one table for every error kind that carries a fix.
//!
//! Invariant: nothing here prints a secret; errors carry redacted URLs from where they are
//! made (see `sync::remote::url`).

use crate::config::ConfigError;
use crate::git::GitError;
use crate::hint::Hinted;
use crate::store::StoreError;
use crate::sync::remote::RemoteError;

/// Prints an error chain and the first hint found in it, to stderr.
pub fn report(err: &anyhow::Error) {
    let mut text = format!("git-data: error: {err}");
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(&format!(": {cause}"));
        }
    }
    eprintln!("{text}");
    if let Some(h) = err.chain().find_map(hint_of) {
        eprintln!("hint: {h}");
    }
}

/// The fix for one error of the chain, when its kind has one: the table of hints.
fn hint_of(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(h) = cause.downcast_ref::<Hinted>() {
        return Some(h.hint.clone());
    }
    if let Some(r) = cause.downcast_ref::<RemoteError>() {
        return r.hint.clone();
    }
    if let Some(s) = cause.downcast_ref::<StoreError>() {
        return s.hint();
    }
    if let Some(ConfigError::Syntax { .. } | ConfigError::Invalid { .. }) = cause.downcast_ref() {
        return Some(
            "fix .gitdata.yaml (see docs/configuration.md), then run the command again".into(),
        );
    }
    if let Some(p) = cause.downcast_ref::<crate::pipeline::PipelineError>() {
        return p.hint();
    }
    if let Some(crate::pipeline::lock::LockError::Parse { .. }) = cause.downcast_ref() {
        return Some(
            "after a merge conflict, take one side (`git checkout --ours gitdata.lock` or \
             `--theirs`) and run `git data repro`, which redoes or restores what differs; or \
             delete the file, and every stage runs again or comes back from the run cache"
                .into(),
        );
    }
    if let Some(GitError::NotARepository(_)) = cause.downcast_ref() {
        return Some("run this inside a git repository (git init, or cd into one)".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn a_full_cache_disk_is_hinted_through_anyhow_context() {
        let full = StoreError::io(std::path::Path::new("/c"), io::ErrorKind::StorageFull.into());
        let err = anyhow::Error::from(full).context("cannot add data/x.bin");
        let hint = err.chain().find_map(hint_of).expect("a hint");
        assert!(hint.contains("data.cacheDir"), "{hint}");
        let plain = anyhow::anyhow!("no fix known");
        assert_eq!(plain.chain().find_map(hint_of), None);
    }
}
