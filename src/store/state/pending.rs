//! The journal of files the smudge filter left as pointers, for whoever materialises them: the
//! filter itself when git closes it (the end of the git command), a post-checkout/post-merge
//! /post-rewrite hook, or `git data checkout`/`pull`.
//!
//! Layout: a directory holding one record file per filter session, `s-<pid>-<start>.log`
//! (the writer's process id and start time, so a reused pid is not mistaken for it). A
//! consumer takes a file by renaming it to `t-<its pid>-<start>-<name>`, materialises its
//! entries, and deletes it only when that is done.
//!
//! Invariants: the filter opens its file for each record, so a record appended after a
//! consumer took the file goes to a fresh file and is neither lost nor processed twice; a
//! file is only ever taken by one consumer (rename is atomic); a consumer that dies leaves
//! its taken file behind, and any later consumer takes it again, so a `kill -9` loses no
//! entry. An entry is only a hint: the consumer re-checks the work tree and the index.

use super::log::RecordLog;
use crate::fs::stale::Process;
use crate::oid::Oid;
use crate::pointer::Pointer;
use std::io;
use std::path::{Path, PathBuf};

/// One file left as a pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingFile {
    pub path: Vec<u8>,
    pub pointer: Pointer,
}

fn encode(p: &PendingFile) -> Vec<u8> {
    let mut rec = Vec::with_capacity(40 + p.path.len());
    rec.extend_from_slice(p.pointer.oid.as_bytes());
    super::put_u64(&mut rec, p.pointer.size);
    rec.extend_from_slice(&p.path);
    rec
}

fn decode(rec: &[u8]) -> Option<PendingFile> {
    let oid: [u8; 32] = rec.get(..32)?.try_into().ok()?;
    let size = super::get_u64(rec, 32)?;
    Some(PendingFile {
        path: rec.get(40..)?.to_vec(),
        pointer: Pointer::new(Oid::from_bytes(oid), size),
    })
}

/// The journal directory of one work tree, as one filter session writes it.
pub struct Journal {
    dir: PathBuf,
    own: PathBuf,
}

impl Journal {
    /// The journal of this process's session in `dir`.
    pub fn session(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        let own = dir.join(format!("s-{}.log", Process::current().tag()));
        Journal { dir, own }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends one entry to this session's file. The file is opened for each entry, so an
    /// entry never goes to a file a consumer has already taken; and if a consumer took the
    /// file between the open and the write (it may have read it before the write landed), the
    /// entry is written again to the fresh file (an entry seen twice is harmless).
    pub fn record(&self, entry: &PendingFile) -> io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        let payload = encode(entry);
        let log = RecordLog::new(&self.own);
        loop {
            let mut file = log.open_append()?;
            RecordLog::append_to(&mut file, &payload)?;
            let written = file.metadata()?;
            match std::fs::metadata(&self.own) {
                Ok(now) if now.ino() == written.ino() && now.dev() == written.dev() => {
                    return Ok(());
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Finds this session's entries, and those that ended processes left behind.
    pub fn find_own(&self) -> io::Result<Found> {
        find_matching(&self.dir, |name| name == self.own.file_name().unwrap_or_default())
    }
}

/// Journal files a consumer may take, read but not yet taken: the consumer first makes git
/// look at their paths (see `materialize::mark`), then takes them.
#[derive(Debug, Default)]
pub struct Found {
    files: Vec<PathBuf>,
    pub entries: Vec<PendingFile>,
}

impl Found {
    /// Takes the files (those another consumer took meanwhile are left to it) and reads them
    /// again: records appended since they were found are taken too.
    pub fn take(self) -> io::Result<Taken> {
        let me = Process::current().tag();
        let mut taken = Taken::default();
        for file in self.files {
            let Some(name) = file.file_name().and_then(|n| n.to_str()) else { continue };
            let original = match name.strip_prefix("t-").and_then(Process::parse) {
                Some((_, original)) => original,
                None => name,
            };
            let target = file.with_file_name(format!("t-{me}-{original}"));
            match std::fs::rename(&file, &target) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue, // another consumer
                Err(e) => return Err(e),
            }
            taken.entries.extend(RecordLog::new(&target).read()?.iter().filter_map(decode));
            taken.files.push(target);
        }
        Ok(taken)
    }
}

/// Entries taken out of the journal; [`Taken::finish`] deletes them once they are dealt
/// with. Dropped unfinished (an error, a crash), they stay for the next consumer.
#[derive(Debug, Default)]
pub struct Taken {
    files: Vec<PathBuf>,
    pub entries: Vec<PendingFile>,
}

impl Taken {
    /// Deletes the taken files: their entries are written or reported.
    pub fn finish(self) -> io::Result<()> {
        for f in &self.files {
            RecordLog::new(f).remove()?;
        }
        Ok(())
    }
}

/// Finds every entry in the journal directory `dir`: those of running sessions too when
/// `live` (a hook or a user command, after git is done with the work tree), else only those
/// that ended processes left behind.
pub fn find(dir: &Path, live: bool) -> io::Result<Found> {
    adopt_legacy(dir)?;
    find_matching(dir, |_| live)
}

/// Moves the single journal of earlier versions (`pending.log` beside the directory) in, as
/// the file of a session that has ended.
fn adopt_legacy(dir: &Path) -> io::Result<()> {
    let Some(legacy) = dir.parent().map(|p| p.join("pending.log")) else { return Ok(()) };
    if !legacy.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    // pid 0 is never a session's: taken as one that ended
    match std::fs::rename(&legacy, dir.join(format!("s-{}.log", Process::none().tag()))) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Finds the files of `dir` that ended processes left (written, or taken but unfinished),
/// and the running sessions' files for which `running` says so.
fn find_matching(dir: &Path, running: impl Fn(&std::ffi::OsStr) -> bool) -> io::Result<Found> {
    let mut found = Found::default();
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e),
    };
    for item in read {
        let item = item?;
        let name = item.file_name();
        let Some(text) = name.to_str() else { continue };
        let eligible = if let Some(rest) = text.strip_prefix("t-") {
            // taken before: again only if its taker ended
            Process::parse(rest).is_some_and(|(taker, _)| !taker.alive())
        } else if let Some(rest) = text.strip_prefix("s-") {
            Process::parse(rest).is_some_and(|(writer, _)| running(&name) || !writer.alive())
        } else {
            false
        };
        if eligible {
            found.entries.extend(RecordLog::new(item.path()).read()?.iter().filter_map(decode));
            found.files.push(item.path());
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> PendingFile {
        PendingFile {
            path: name.as_bytes().to_vec(),
            pointer: Pointer::new(Oid::of_bytes(name.as_bytes()), 7),
        }
    }

    #[test]
    fn record_take_finish() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::session(dir.path().join("pending"));
        assert!(j.find_own().unwrap().entries.is_empty());
        j.record(&entry("a")).unwrap();
        j.record(&entry("b")).unwrap();
        assert!(find(j.dir(), false).unwrap().entries.is_empty(), "a running session is kept");
        let found = j.find_own().unwrap();
        j.record(&entry("b2")).unwrap(); // after it was found, before it is taken
        let t = found.take().unwrap();
        assert_eq!(t.entries, vec![entry("a"), entry("b"), entry("b2")]);
        j.record(&entry("c")).unwrap(); // after the take: a fresh file
        let t2 = find(j.dir(), true).unwrap().take().unwrap();
        assert_eq!(t2.entries, vec![entry("c")]);
        t.finish().unwrap();
        t2.finish().unwrap();
        assert_eq!(std::fs::read_dir(j.dir()).unwrap().count(), 0);
    }

    #[test]
    fn what_ended_processes_left_is_taken_by_the_next_consumer() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::session(dir.path());
        j.record(&entry("a")).unwrap();
        // a consumer that died: its taken file names a process that no longer runs
        let t = j.find_own().unwrap().take().unwrap();
        let taken = t.files[0].clone();
        let ended = crate::fs::stale::ended_tag(1);
        let dead = dir.path().join(format!("t-{ended}-s-{}.log", Process::current().tag()));
        std::fs::rename(&taken, &dead).unwrap();
        drop(t);
        // a session whose writer ended
        let orphan =
            Journal { dir: dir.path().into(), own: dir.path().join(format!("s-{ended}.log")) };
        orphan.record(&entry("b")).unwrap();
        let again = find(dir.path(), false).unwrap().take().unwrap();
        let mut names: Vec<_> = again.entries.iter().map(|e| e.path.clone()).collect();
        names.sort();
        assert_eq!(names, vec![b"a".to_vec(), b"b".to_vec()]);
        // taken by a live consumer (this one): not taken again
        assert!(find(dir.path(), true).unwrap().entries.is_empty());
        again.finish().unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
