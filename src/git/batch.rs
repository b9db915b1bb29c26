//! One long-running `git cat-file --batch` for reading many blobs by name (`<rev>:<path>`,
//! `:<path>` for the index, or an object id): one process for a whole command (or worker),
//! never one per commit or file. Small blobs are read whole; large ones are streamed (git
//! streams them without holding them in memory, and so does [`CatFile::stream`]).
//!
//! Invariants: requests are answered in order, one at a time (write a line, read its answer),
//! so a caller may choose its next request from the last answer; a missing object is `None`,
//! not an error; names with a line break are refused (the protocol is line-based).

use super::{GitError, git_command};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
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
    /// Starts `git cat-file --batch` in the repository whose git directory is `git_dir`.
    pub(crate) fn start(git_dir: &Path) -> Result<CatFile, GitError> {
        let mut child = git_command()
            .arg("--git-dir")
            .arg(git_dir)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| GitError::Other(format!("cannot run git cat-file --batch: {e}")))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(GitError::Other("git cat-file --batch has no pipes".into()));
        };
        Ok(CatFile { child, stdin, stdout: BufReader::with_capacity(1 << 20, stdout) })
    }

    /// The blob named `name`, or `None` when there is no such object (or it is not a blob).
    pub(crate) fn read(&mut self, name: &str) -> Result<Option<Blob>, GitError> {
        let Some((id, kind, size)) = self.ask(name)? else { return Ok(None) };
        let mut data = vec![0; size as usize + 1];
        self.stdout.read_exact(&mut data).map_err(broken)?;
        data.truncate(size as usize);
        Ok((kind == "blob").then_some(Blob { id, data }))
    }

    /// Streams the blob named `name` to `each`, which must read it to the end, without
    /// holding it in memory; a missing object or one that is not a blob is an error. After
    /// `each` fails the process is mid-answer: drop it.
    pub(crate) fn stream<T, E: From<GitError>>(
        &mut self,
        name: &str,
        each: impl FnOnce(&mut dyn Read) -> Result<T, E>,
    ) -> Result<T, E> {
        let (kind, size) = match self.ask(name)? {
            Some((_, kind, size)) => (kind, size),
            None => return Err(GitError::Other(format!("git cannot read blob {name}")).into()),
        };
        if kind != "blob" {
            // read past it, so the next request gets its own answer
            std::io::copy(&mut (&mut self.stdout).take(size + 1), &mut std::io::sink())
                .map_err(broken)?;
            return Err(GitError::Other(format!("{name} is a {kind}, not a blob")).into());
        }
        let mut body = (&mut self.stdout).take(size);
        let result = each(&mut body)?;
        if body.limit() != 0 {
            return Err(GitError::Other(format!("blob {name} was not read to its end")).into());
        }
        let mut newline = [0u8; 1];
        self.stdout.read_exact(&mut newline).map_err(broken)?;
        Ok(result)
    }

    /// Sends one request; its answer's object id, kind and size, or `None` for a name git
    /// has no object for (`missing`, `ambiguous`) or one that holds a line break.
    fn ask(&mut self, name: &str) -> Result<Option<(String, String, u64)>, GitError> {
        if name.contains('\n') {
            return Ok(None);
        }
        self.stdin.write_all(name.as_bytes()).map_err(broken)?;
        self.stdin.write_all(b"\n").map_err(broken)?;
        self.stdin.flush().map_err(broken)?;
        let mut header = String::new();
        self.stdout.read_line(&mut header).map_err(broken)?;
        let header = header.trim_end_matches('\n');
        let mut parts = header.rsplitn(3, ' ');
        let (Some(size), Some(kind), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            return Ok(None);
        };
        let Ok(size) = size.parse::<u64>() else { return Ok(None) };
        Ok(Some((id.to_string(), kind.to_string(), size)))
    }
}

fn broken(e: std::io::Error) -> GitError {
    GitError::Other(format!("git cat-file --batch: {e}"))
}

impl Drop for CatFile {
    fn drop(&mut self) {
        // closing stdin ends git's loop; then reap it
        let _ = self.stdin.flush();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
