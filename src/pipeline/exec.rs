//! Running one stage: its non-persistent outputs deleted, each command run by `sh -c` in the
//! stage's working directory with stdout and stderr written to the stage's log, then its
//! outputs hashed and stored in the cache — those with `cache: false` too, so that a run-cache
//! entry can name them (they stay plain git files all the same).
//!
//! Invariants: a stage that fails (a command exits non-zero, an output is not written) yields
//! no lock entry; the log holds everything the commands printed, and the error carries the
//! last lines of stderr; the lock entry returned describes exactly the deps and params read
//! before the commands ran and the outputs they left.

use super::groups::Groups;
use super::hash::{self, HashError};
use super::lock::{Cmd, PathLock, StageLock};
use super::spec::Stage;
use super::state::{Inputs, StateError};
use crate::store::Store;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Lines of stderr a failure carries.
const TAIL_LINES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub(crate) enum StageFailure {
    #[error(transparent)]
    Inputs(#[from] StateError),
    #[error("cannot delete its output `{path}` before running: {source}")]
    Clean { path: String, source: io::Error },
    #[error("cannot write its log {}: {source}", path.display())]
    Log { path: PathBuf, source: io::Error },
    #[error("`{cmd}` could not start: {source}")]
    Spawn { cmd: String, source: io::Error },
    #[error("`{cmd}` failed ({status}); its log: {}", log.display())]
    Exit { cmd: String, status: String, log: PathBuf, tail: String },
    #[error(
        "its dependency `{0}` is only a pointer here, its data is not in the work tree: run \
         `git data pull` first"
    )]
    PointerDep(String),
    #[error(
        "its persistent output `{0}` is only a pointer here, its data is not in the work tree: \
         run `git data pull` first (the command would add to the pointer's text)"
    )]
    PointerOut(String),
    #[error("it did not write its output `{0}`")]
    NoOutput(String),
    #[error(transparent)]
    Hash(#[from] HashError),
}

impl StageFailure {
    /// The last lines the failing command wrote to stderr.
    pub(crate) fn stderr_tail(&self) -> Option<&str> {
        match self {
            StageFailure::Exit { tail, .. } if !tail.is_empty() => Some(tail),
            _ => None,
        }
    }
}

/// The log file of a stage in `logs`: one file even when a `foreach` item holds a `/`
/// (`s@a/b` logs to `s@a%2Fb.log`).
pub(crate) fn log_path(logs: &Path, stage: &str) -> PathBuf {
    let name = stage.replace('%', "%25").replace('/', "%2F");
    logs.join(format!("{name}.log"))
}

/// Runs `stage` (whose inputs were read as `inputs`) and returns its new lock entry.
pub(crate) fn execute(
    root: &Path,
    stage: &Stage,
    inputs: Inputs,
    store: &Store,
    logs: &Path,
    groups: &Groups,
) -> Result<StageLock, StageFailure> {
    if let Some(path) = inputs.pointer_deps.first() {
        return Err(StageFailure::PointerDep(path.clone()));
    }
    // a persistent output is read by the command: it must be data, not a pointer
    for out in stage.outs.iter().filter(|o| o.persist) {
        if hash::holds_pointer(&root.join(&out.at.repo))? {
            return Err(StageFailure::PointerOut(out.at.path.clone()));
        }
    }
    for out in stage.outs.iter().filter(|o| !o.persist) {
        remove(&root.join(&out.at.repo))
            .map_err(|source| StageFailure::Clean { path: out.at.path.clone(), source })?;
    }
    let log = log_path(logs, &stage.name);
    let log_err = |source| StageFailure::Log { path: log.clone(), source };
    std::fs::create_dir_all(logs).map_err(log_err)?;
    let mut file = std::fs::File::create(&log).map_err(log_err)?;
    let wdir = root.join(&stage.wdir);
    for cmd in &stage.cmds {
        writeln!(file, "$ {cmd}").map_err(log_err)?;
        run_one(cmd, &wdir, &file, &log, groups)?;
    }
    let mut outs = Vec::with_capacity(stage.outs.len());
    for out in &stage.outs {
        let h = hash::hash(&root.join(&out.at.repo), Some(store))?
            .ok_or_else(|| StageFailure::NoOutput(out.at.path.clone()))?;
        outs.push(PathLock::new(&out.at.path, &h));
    }
    Ok(StageLock { cmd: Cmd::of(&stage.cmds), deps: inputs.deps, params: inputs.params, outs })
}

/// Removes the file or directory at `path`; nothing there is not an error.
pub(crate) fn remove(path: &Path) -> io::Result<()> {
    let result = match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) => Err(e),
    };
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// `sh -c cmd` in `wdir`: stdout straight to the log, stderr to the log through us, so the
/// tail of stderr is at hand when the command fails.
fn run_one(
    cmd: &str,
    wdir: &Path,
    log: &std::fs::File,
    log_path: &Path,
    groups: &Groups,
) -> Result<(), StageFailure> {
    let log_err = |source| StageFailure::Log { path: log_path.to_path_buf(), source };
    let spawn_err = |source| StageFailure::Spawn { cmd: cmd.to_string(), source };
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(cmd)
        .current_dir(wdir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(log_err)?)
        .stderr(Stdio::piped());
    super::groups::prepare(&mut command);
    let mut child = command.spawn().map_err(spawn_err)?;
    groups.started(child.id());
    let result = follow(&mut child, cmd, log, log_path);
    groups.ended(child.id());
    result
}

/// Copies the child's stderr to the log (keeping its tail) and waits for it.
fn follow(
    child: &mut std::process::Child,
    cmd: &str,
    log: &std::fs::File,
    log_path: &Path,
) -> Result<(), StageFailure> {
    let log_err = |source| StageFailure::Log { path: log_path.to_path_buf(), source };
    let spawn_err = |source| StageFailure::Spawn { cmd: cmd.to_string(), source };
    let mut tail: Vec<u8> = Vec::new();
    if let Some(mut stderr) = child.stderr.take() {
        let mut buf = [0u8; 8192];
        let mut out = log;
        loop {
            let n = match stderr.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(log_err(e)),
            };
            out.write_all(&buf[..n]).map_err(log_err)?;
            tail.extend_from_slice(&buf[..n]);
            if tail.len() > 64 * 1024 {
                tail.drain(..tail.len() - 16 * 1024);
            }
        }
    }
    let status = child.wait().map_err(spawn_err)?;
    if status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&tail);
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
    let status = match status.code() {
        Some(code) => format!("exit code {code}"),
        None => format!("{status}"),
    };
    Err(StageFailure::Exit { cmd: cmd.to_string(), status, log: log_path.to_path_buf(), tail })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::spec::parse_stage;
    use crate::pipeline::state::inputs;

    #[test]
    fn runs_in_wdir_logs_and_stores_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("w")).unwrap();
        std::fs::write(root.join("w/in.txt"), "x").unwrap();
        let yaml = "cmd: [cat in.txt > out.txt, echo said >&2]\nwdir: w\ndeps: [in.txt]\nouts: [out.txt]\n";
        let s = parse_stage("copy", &serde_yaml::from_str(yaml).unwrap(), "").unwrap();
        let store = Store::new(root.join("cache"));
        let logs = root.join("logs");
        let entry =
            execute(root, &s, inputs(root, &s).unwrap(), &store, &logs, &Groups::none()).unwrap();
        let oid = crate::oid::Oid::of_bytes(b"x");
        assert_eq!(entry.outs[0].sha256, oid.to_hex());
        assert!(store.contains(&oid, 1));
        let log = std::fs::read_to_string(logs.join("copy.log")).unwrap();
        assert_eq!(log, "$ cat in.txt > out.txt\n$ echo said >&2\nsaid\n");
    }

    #[test]
    fn failures_carry_the_stderr_tail_or_the_missing_output() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let store = Store::new(root.join("cache"));
        let stage = |y: &str| parse_stage("bad", &serde_yaml::from_str(y).unwrap(), "").unwrap();
        let s = stage("cmd: 'seq 1 30 >&2; exit 3'\n");
        let e = execute(root, &s, inputs(root, &s).unwrap(), &store, root, &Groups::none())
            .unwrap_err();
        assert!(
            e.to_string().starts_with("`seq 1 30 >&2; exit 3` failed (exit code 3); its log: "),
            "{e}"
        );
        let want: Vec<String> = (11..=30).map(|i| i.to_string()).collect();
        assert_eq!(e.stderr_tail(), Some(want.join("\n").as_str()));
        let s = stage("cmd: 'true'\nouts: [never.txt]\n");
        let e = execute(root, &s, inputs(root, &s).unwrap(), &store, root, &Groups::none())
            .unwrap_err();
        assert_eq!(e.to_string(), "it did not write its output `never.txt`");
        // a persistent output that is a pointer is refused before the command runs
        let pointer = crate::pointer::Pointer::new(crate::oid::Oid::of_bytes(b"old\n"), 4);
        std::fs::write(root.join("log.txt"), pointer.encode()).unwrap();
        let s = stage("cmd: echo more >> log.txt\nouts: [log.txt: {persist: true}]\n");
        let e = execute(root, &s, inputs(root, &s).unwrap(), &store, root, &Groups::none())
            .unwrap_err();
        assert!(e.to_string().starts_with("its persistent output `log.txt` is only a pointer"));
        assert_eq!(std::fs::read_to_string(root.join("log.txt")).unwrap(), pointer.encode());
    }
}
