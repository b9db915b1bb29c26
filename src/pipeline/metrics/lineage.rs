//! What a commit's data is made of, for an experiment tracker (MLflow): the HEAD commit,
//! whether tracked files differ from it, every git-data file of the index with its sha256 id
//! and size, and each stage of the lock file with its deps, outs and run-cache key.
//!
//! Invariants: pointers are read from the index through one `git cat-file --batch`, never by
//! smudging; a run key is given only when the stage is still in `dvc.yaml` (the key needs its
//! commands and outputs) and is computed exactly as `repro` computes it.

use crate::git::batch::CatFile;
use crate::git::scan::PathFilter;
use crate::git::{Repo, git_with_filter, run_git, worktree};
use crate::pipeline::lock::{LockFile, PathLock};
use crate::pipeline::runcache::key;
use crate::pipeline::state::Inputs;
use crate::pipeline::{LOCK_NAME, PIPELINE_NAME, load};
use crate::pointer::Pointer;
use serde::Serialize;
use std::path::Path;

#[derive(Serialize, Debug)]
pub(crate) struct Lineage {
    pub commit: Option<String>,
    pub dirty: bool,
    pub files: Vec<DataFile>,
    pub stages: Vec<StageLineage>,
}

#[derive(Serialize, Debug)]
pub(crate) struct DataFile {
    pub path: String,
    pub oid: String,
    pub size: u64,
}

#[derive(Serialize, Debug)]
pub(crate) struct StageLineage {
    pub name: String,
    /// The lock file, from the repository root.
    pub lock: String,
    pub deps: Vec<PathLock>,
    pub outs: Vec<PathLock>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_key: Option<String>,
}

/// The lineage of the repository at `root`, for the files under `filter`, with the stages of
/// the pipeline in `dir` (`""`: the root).
pub(crate) fn lineage(
    repo: &Repo,
    root: &Path,
    dir: &str,
    filter: &PathFilter,
) -> Result<Lineage, Box<dyn std::error::Error + Send + Sync>> {
    let commit = repo.resolve_commit("HEAD").ok().map(|c| c.to_string());
    let status =
        run_git(git_with_filter(root).args(["status", "--porcelain", "--untracked-files=no"]))?;
    let (entries, _) = worktree::index_entries(repo, filter)?;
    let flags = worktree::data_flags(repo, &entries)?;
    let mut batch = CatFile::start(&repo.git_dir)?;
    let mut files = Vec::new();
    for (entry, is_data) in entries.iter().zip(flags) {
        if !is_data {
            continue;
        }
        let Some(blob) = batch.read(&entry.id.to_string())? else { continue };
        if let Ok(p) = Pointer::parse(&blob.data) {
            files.push(DataFile {
                path: entry.path.to_string(),
                oid: p.oid.to_hex(),
                size: p.size,
            });
        }
    }
    let lock_rel = crate::pipeline::join_path(dir, LOCK_NAME).unwrap_or_else(|| LOCK_NAME.into());
    let lock = LockFile::read(&root.join(&lock_rel))?;
    let pipeline =
        root.join(dir).join(PIPELINE_NAME).is_file().then(|| load::load(root, dir).ok()).flatten();
    let stages = lock
        .stages
        .into_iter()
        .map(|(name, entry)| {
            let run_key = pipeline
                .as_ref()
                .and_then(|p| p.stages.iter().find(|s| s.name == name))
                .map(|stage| {
                    let now = Inputs {
                        deps: entry.deps.clone(),
                        params: entry.params.clone(),
                        pointer_deps: Vec::new(),
                    };
                    key::key(stage, &now).to_hex()
                });
            StageLineage {
                name,
                lock: lock_rel.clone(),
                deps: entry.deps,
                outs: entry.outs,
                run_key,
            }
        })
        .collect();
    Ok(Lineage { commit, dirty: !status.trim().is_empty(), files, stages })
}
