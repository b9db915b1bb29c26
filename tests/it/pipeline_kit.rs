//! What the pipeline tests share: a committed project made from its files, `git data repro`
//! run in it, and the trace file its stages append their names to (`$TRACE`, outside every
//! repository, so that writing it changes no stage's inputs).

use crate::common::*;
use std::path::{Path, PathBuf};

/// Writes `files` into `repo`, tracks `tracked` with git-data, commits everything and points
/// `$TRACE` at a fresh trace file, which it returns.
pub(crate) fn commit_pipeline(
    env: &Env,
    repo: &Path,
    files: &[(&str, &[u8])],
    tracked: &[&str],
) -> PathBuf {
    for (name, bytes) in files {
        write(&repo.join(name), bytes);
    }
    if !tracked.is_empty() {
        env.data(repo, &[&["track"][..], tracked].concat());
    }
    env.git(repo, &["add", "-A"]);
    env.git(repo, &["commit", "-qm", "pipeline"]);
    let trace = env.path("trace");
    env.set_env("TRACE", trace.to_str().expect("utf8"));
    trace
}

/// `git data repro ARGS` in `dir`, whatever its outcome.
pub(crate) fn repro(env: &Env, dir: &Path, args: &[&str]) -> Out {
    env.run(dir, "git", &[&["data", "repro"][..], args].concat())
}

/// `git data repro ARGS` in `dir`, which must succeed.
pub(crate) fn repro_ok(env: &Env, dir: &Path, args: &[&str]) -> Out {
    let out = repro(env, dir, args);
    assert_eq!(out.code, 0, "{}", out.all());
    out
}

/// What the stages wrote to the trace file so far.
pub(crate) fn trace(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
