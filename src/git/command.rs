//! The one way git-data starts `git`: three kinds of process, and running one with input.
//!
//! Invariants: a git we start for our own work never prompts and speaks the C locale (we
//! read its messages); [`git_command`] also keeps git from calling our filter back, for
//! reads and for content git-data has already cleaned; [`git_with_filter`] runs the filter
//! like the user's git, where the result depends on it; [`user_git`] is the user's git as
//! is, for output the user reads as git's own. Input is written from a thread, so a large
//! output can never deadlock the pipe.

use super::GitError;
use std::path::Path;
use std::process::Command;

/// A `git` that does not call back into our filter (the `-c` options come first).
pub(crate) fn git_command() -> Command {
    let mut cmd = Command::new("git");
    cmd.args(["-c", "filter.data.process=", "-c", "filter.data.required=false"])
        .env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0");
    cmd
}

/// Runs git with `args`, returning stdout, or an error with git's stderr.
pub(crate) fn run_git(cmd: &mut Command) -> Result<String, GitError> {
    let out = cmd.output().map_err(|e| GitError::Other(format!("cannot run git: {e}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(GitError::Other(String::from_utf8_lossy(&out.stderr).trim().to_string()))
    }
}

/// Runs git feeding `input` to its stdin (from a thread, so a large output cannot deadlock),
/// returning stdout, or an error with git's stderr.
pub(crate) fn run_git_input(cmd: &mut Command, input: Vec<u8>) -> Result<String, GitError> {
    use std::io::Write;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| GitError::Other(format!("cannot run git: {e}")))?;
    let mut stdin = child.stdin.take();
    let writer = std::thread::spawn(move || stdin.as_mut().map(|s| s.write_all(&input)));
    let out =
        child.wait_with_output().map_err(|e| GitError::Other(format!("cannot run git: {e}")))?;
    let _ = writer.join();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(GitError::Other(String::from_utf8_lossy(&out.stderr).trim().to_string()))
    }
}

/// The installed git's version string.
pub(crate) fn git_version() -> String {
    run_git(git_command().arg("--version"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

/// A `git` in the work tree `root` that runs our filter, as the user's git would.
pub(crate) fn git_with_filter(root: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(root).env("LC_ALL", "C").env("GIT_TERMINAL_PROMPT", "0");
    cmd
}

/// The user's own `git`: their locale, their prompts, our filter.
pub(crate) fn user_git() -> Command {
    Command::new("git")
}

/// Records for `git update-index -z --index-info`: one entry per path, NUL-terminated (so
/// any path works, newlines included).
#[derive(Default)]
pub(crate) struct IndexInfo(Vec<u8>);

impl IndexInfo {
    /// Sets `path` (repository-relative) to the blob `id` (its raw bytes, any hash kind),
    /// executable or not.
    pub(crate) fn set(&mut self, path: &[u8], id: &[u8], executable: bool) {
        let mode = if executable { "100755 " } else { "100644 " };
        self.0.extend_from_slice(mode.as_bytes());
        for b in id {
            self.0.extend_from_slice(format!("{b:02x}").as_bytes());
        }
        self.0.push(b'\t');
        self.0.extend_from_slice(path);
        self.0.push(0);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Applies `info` to the index of the work tree `root` (or to the one `GIT_INDEX_FILE` names).
pub(crate) fn update_index(root: &Path, info: IndexInfo) -> Result<(), GitError> {
    let mut cmd = git_command();
    cmd.current_dir(root).args(["update-index", "-z", "--index-info"]);
    run_git_input(&mut cmd, info.0)
        .map(drop)
        .map_err(|e| GitError::Other(format!("git update-index failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gix::ObjectId;

    #[test]
    fn index_info_stages_any_path_with_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        run_git(git_command().current_dir(root).args(["init", "-q"])).unwrap();
        let mut hash = git_command();
        hash.current_dir(root).args(["hash-object", "-w", "--stdin"]);
        let id = run_git_input(&mut hash, b"pointer\n".to_vec()).unwrap();
        let id = ObjectId::from_hex(id.trim().as_bytes()).unwrap();
        let mut info = IndexInfo::default();
        info.set(b"line\nbreak.bin", id.as_bytes(), false);
        info.set(b"tool.sh", id.as_bytes(), true);
        update_index(root, info).unwrap();
        let listed =
            run_git(git_command().current_dir(root).args(["ls-files", "-s", "-z"])).unwrap();
        let mut entries: Vec<&str> = listed.split('\0').filter(|e| !e.is_empty()).collect();
        entries.sort();
        assert_eq!(
            entries,
            [format!("100644 {id} 0\tline\nbreak.bin"), format!("100755 {id} 0\ttool.sh")]
        );
    }
}
