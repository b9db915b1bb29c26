//! One long-running `git cat-file --batch` for reading many small blobs by name
//! (`<rev>:<path>`, `:<path>` for the index, or an object id): one process for a whole
//! command, never one per commit or file.
//!
//! Invariants: requests are answered in order, one at a time (write a line, read its answer),
//! so a caller may choose its next request from the last answer; a missing object is `None`,
//! not an error; names with a line break are refused (the protocol is line-based).

use super::{GitError, Repo, git_command};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

/// A blob read through the batch: its git object id (hex) and its bytes.
pub(crate) struct Blob {
    pub id: String,
    pub data: Vec<u8>,
}

pub(crate) struct CatFile {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl CatFile {
    /// Starts `git cat-file --batch` in `repo`.
    pub(crate) fn start(repo: &Repo) -> Result<CatFile, GitError> {
        let mut child = git_command()
            .arg("--git-dir")
            .arg(&repo.git_dir)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| GitError::Other(format!("cannot run git cat-file --batch: {e}")))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(GitError::Other("git cat-file --batch has no pipes".into()));
        };
        Ok(CatFile { child, stdin, stdout: BufReader::with_capacity(1 << 16, stdout) })
    }

    /// The blob named `name`, or `None` when there is no such object (or it is not a blob).
    pub(crate) fn read(&mut self, name: &str) -> Result<Option<Blob>, GitError> {
        if name.contains('\n') {
            return Ok(None);
        }
        let broken = |e: std::io::Error| GitError::Other(format!("git cat-file --batch: {e}"));
        self.stdin.write_all(name.as_bytes()).map_err(broken)?;
        self.stdin.write_all(b"\n").map_err(broken)?;
        self.stdin.flush().map_err(broken)?;
        let mut header = String::new();
        self.stdout.read_line(&mut header).map_err(broken)?;
        let header = header.trim_end_matches('\n');
        let mut parts = header.rsplitn(3, ' ');
        let (Some(size), Some(kind), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            // `<name> missing` or `<name> ambiguous`
            return Ok(None);
        };
        let Ok(size) = size.parse::<usize>() else { return Ok(None) };
        let mut data = vec![0; size + 1];
        self.stdout.read_exact(&mut data).map_err(broken)?;
        data.truncate(size);
        if kind != "blob" {
            return Ok(None);
        }
        Ok(Some(Blob { id: id.to_string(), data }))
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        // closing stdin ends git's loop; then reap it
        let _ = self.stdin.flush();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
