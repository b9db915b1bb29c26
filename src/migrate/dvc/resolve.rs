//! Where the bytes of each DVC output come from: the work-tree file when it is a real file
//! (DVC may have copied it out of its cache), else DVC's cache object, else (with
//! `--dvc-remote`) the DVC remote, fetched by `dvc` itself or read from a local directory.
//!
//! Invariants: nothing here writes to the repository or to git-data's cache; `dvc fetch`
//! only writes to DVC's own cache. A directory output holds exactly the files its listing
//! names: anything else in it means it was changed since `dvc add`.

use super::meta::{DvcConfig, Output};
use super::objects::{ObjectError, Sources, read_listing};
use anyhow::{Context as _, Result};
use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One file to convert.
#[derive(Clone, Debug)]
pub(crate) struct FileJob {
    /// Repository-relative path.
    pub path: String,
    pub md5: String,
    pub size: Option<u64>,
    pub legacy: bool,
    /// Where the bytes are read from.
    pub source: PathBuf,
    /// The source is the work-tree file itself (a mismatch then means the user changed it).
    pub from_worktree: bool,
    /// The work tree needs a real copy (the file is missing, a link, or shares DVC's inode).
    pub rewrite: bool,
}

/// What was found for one output.
pub(crate) enum Resolved {
    Ready(Vec<FileJob>),
    /// Data is missing: what is missing.
    Missing(String),
    /// The work tree differs from what DVC recorded: how.
    Modified(String),
}

/// Resolves one output against the work tree at `root` and `sources`. Errors are fatal: a
/// corrupt or unreadable directory listing.
pub(crate) fn resolve(
    root: &Path,
    sources: &Sources,
    out: &Output,
) -> Result<Resolved, ObjectError> {
    if !out.dir {
        return Ok(match file(root, sources, &out.path, &out.md5, out.size, out.legacy)? {
            Ok(job) => Resolved::Ready(vec![job]),
            Err(r) => r,
        });
    }
    let Some(listing) = sources.find(&out.md5, true, out.legacy) else {
        return Ok(Resolved::Missing(format!("its listing {}.dir", out.md5)));
    };
    let entries = read_listing(&listing, &out.md5, out.legacy)?;
    let dir = root.join(&out.path);
    match fs::symlink_metadata(&dir) {
        Ok(m) if !m.is_dir() => {
            return Ok(Resolved::Modified("is not a directory, DVC recorded one".into()));
        }
        _ => {}
    }
    let listed: HashSet<&str> = entries.iter().map(|e| e.relpath.as_str()).collect();
    let mut extra = Vec::new();
    walk(&dir, "", &mut |rel| {
        if !listed.contains(rel) {
            extra.push(rel.to_string());
        }
    })
    .map_err(|source| ObjectError::Io { path: dir.clone(), source })?;
    if !extra.is_empty() {
        extra.sort();
        return Ok(Resolved::Modified(format!(
            "has files DVC does not list: {}",
            extra.join(", ")
        )));
    }
    let mut jobs = Vec::with_capacity(entries.len());
    let mut missing = 0;
    for e in &entries {
        let path = format!("{}/{}", out.path, e.relpath);
        match file(root, sources, &path, &e.md5.to_ascii_lowercase(), None, out.legacy)? {
            Ok(job) => jobs.push(job),
            Err(Resolved::Missing(_)) => missing += 1,
            Err(other) => return Ok(other),
        }
    }
    Ok(if missing > 0 {
        Resolved::Missing(format!("{missing} of its {} files", entries.len()))
    } else {
        Resolved::Ready(jobs)
    })
}

fn file(
    root: &Path,
    sources: &Sources,
    path: &str,
    md5: &str,
    size: Option<u64>,
    legacy: bool,
) -> Result<Result<FileJob, Resolved>, ObjectError> {
    let full = root.join(path);
    let mut job = FileJob {
        path: path.to_string(),
        md5: md5.to_string(),
        size,
        legacy,
        source: full.clone(),
        from_worktree: true,
        rewrite: false,
    };
    match fs::symlink_metadata(&full) {
        Ok(m) if m.is_file() => {
            job.rewrite = std::os::unix::fs::MetadataExt::nlink(&m) > 1;
            return Ok(Ok(job));
        }
        Ok(m) if m.is_dir() => {
            return Ok(Err(Resolved::Modified(format!(
                "{path} is a directory, DVC recorded a file"
            ))));
        }
        Ok(_) | Err(_) => {}
    }
    job.from_worktree = false;
    job.rewrite = true;
    match sources.find(md5, false, legacy) {
        Some(p) => {
            job.source = p;
            Ok(Ok(job))
        }
        None => Ok(Err(Resolved::Missing(format!("the object {md5}")))),
    }
}

/// Calls `each` with the path (relative to `dir`) of every file and link below `dir`.
fn walk(dir: &Path, prefix: &str, each: &mut dyn FnMut(&str)) -> io::Result<()> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in rd {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        if entry.file_type()?.is_dir() {
            walk(&entry.path(), &rel, each)?;
        } else {
            each(&rel);
        }
    }
    Ok(())
}

/// Whether `dvc` can be run (it is on PATH).
pub(crate) fn dvc_on_path() -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("dvc").is_file()))
        .unwrap_or(false)
}

/// Makes the data of `targets` (.dvc files) available from DVC remote `name`: with `dvc` on
/// PATH, `dvc fetch` fills DVC's cache with the user's own DVC credentials; otherwise a
/// local-directory remote is added to `sources` and read directly.
pub(crate) fn fetch(
    root: &Path,
    config: &DvcConfig,
    name: &str,
    targets: &[String],
    sources: &mut Sources,
    quiet: bool,
) -> Result<()> {
    let known = config.remotes();
    if dvc_on_path() {
        if !quiet {
            eprintln!("Fetching {} output(s) from DVC remote `{name}` with dvc…", targets.len());
        }
        let status = Command::new("dvc")
            .args(["fetch", "-q", "-r", name, "--"])
            .args(targets)
            .current_dir(root)
            .env("DVC_NO_ANALYTICS", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .context("cannot run dvc")?;
        if !status.success() {
            return Err(crate::hint::hinted(
                format!("`dvc fetch -r {name}` failed ({status}); its messages are above"),
                "fix the DVC remote's access (`dvc fetch -r NAME` must work), or run without --dvc-remote to convert what is present",
            ));
        }
        return Ok(());
    }
    match config.remote_url(name) {
        Some(Ok(dir)) => {
            if !dir.is_dir() {
                anyhow::bail!(
                    "DVC remote `{name}` is the directory {}, which does not exist",
                    dir.display()
                );
            }
            sources.add(dir);
            Ok(())
        }
        Some(Err(url)) => Err(crate::hint::hinted(
            format!("DVC remote `{name}` is at {url}, which git-data cannot read without dvc"),
            format!(
                "install dvc with the plugin for it (e.g. `pip install 'dvc[s3]'`) so that `dvc fetch -r {name}` uses your DVC credentials, or run `dvc fetch -r {name}` yourself, then migrate again"
            ),
        )),
        None => Err(crate::hint::hinted(
            format!("no DVC remote named `{name}` in .dvc/config or .dvc/config.local"),
            if known.is_empty() {
                "this project defines no DVC remote; run without --dvc-remote".to_string()
            } else {
                format!("the DVC remotes here are: {}", known.join(", "))
            },
        )),
    }
}
