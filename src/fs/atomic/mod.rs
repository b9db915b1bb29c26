//! Content-addressed atomic writes, shared by the local cache and the directory remote.
//!
//! Invariants: bytes go to a temp file in a `tmp/` directory on the same file system as the
//! destination and are hashed as they are written; [`AtomicFile::commit`] checks the digest
//! (and the expected oid and size when given), makes the file read-only, optionally fsyncs
//! it, and renames it into place. "Already there with the right size" is success. A reader
//! therefore sees a complete, verified object or nothing; a killed writer leaves only a temp.

use crate::fs::bgwrite::BgWriter;
use crate::oid::{Hasher, Oid, STREAM_BUF};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Why a finished temp file could not become an object.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(
        "content does not match its id: expected {expected} ({expected_size} bytes), got {actual} ({actual_size} bytes)"
    )]
    Mismatch { expected: Oid, expected_size: u64, actual: Oid, actual_size: u64 },
    #[error("cannot store object at {}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// Streams longer than this are written by a second thread while the caller hashes.
const BACKGROUND_AFTER: u64 = 4 << 20;

/// A temp file being filled with an object's bytes.
pub struct AtomicFile {
    /// `None` for a sink that only hashes ([`AtomicFile::hash_only`]).
    tmp: Option<tempfile::NamedTempFile>,
    hasher: Hasher,
    /// Set once the stream is long enough for hashing and writing to overlap.
    bg: Option<BgWriter>,
    /// A second file that receives the same bytes (see [`AtomicFile::tee`]).
    tee: Option<Tee>,
    /// The first error of the file's own writes (see [`AtomicFile::write_error`]).
    write_error: Option<(Option<i32>, io::ErrorKind, String)>,
}

/// A stream being copied into an [`AtomicFile`], remembering whether reading it failed.
struct Source<R> {
    inner: R,
    failed: bool,
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = self.inner.read(buf);
        self.failed |= r.as_ref().is_err_and(|e| e.kind() != io::ErrorKind::Interrupted);
        r
    }
}

/// The second destination of a stream, with its own writer thread once the stream is long.
struct Tee {
    file: File,
    bg: Option<BgWriter>,
}

impl Tee {
    fn write_all(&mut self, data: &[u8], long: bool) -> io::Result<()> {
        if self.bg.is_none() && long {
            self.bg = Some(BgWriter::start(self.file.try_clone()?, false)?);
        }
        match &mut self.bg {
            Some(bg) => bg.write_all(data),
            None => self.file.write_all(data),
        }
    }
}

impl AtomicFile {
    /// A new temp file in `tmp_dir` (created if needed).
    pub fn create(tmp_dir: &Path) -> io::Result<Self> {
        let tmp = Some(new_temp(tmp_dir)?);
        Ok(AtomicFile { tmp, hasher: Hasher::new(), bg: None, tee: None, write_error: None })
    }

    /// The existing file `src` as a temp in `tmp_dir`, by a hard link (no copy, no space),
    /// hashed where it lies and made read-only (the inode is shared: `src` becomes read-only
    /// too); `None` where it cannot be linked (another file system), for the caller to copy.
    /// The temp carries this process's marker like any other, so a killed caller's link is
    /// removed by the next writer, and committing it checks it like a written one.
    pub fn link(tmp_dir: &Path, src: &Path) -> io::Result<Option<Self>> {
        static LINKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = LINKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = tmp_dir.join(format!("{}link-{n}", crate::fs::stale::marker(TEMP_KIND)));
        fs::create_dir_all(tmp_dir)?;
        if fs::hard_link(src, &path).is_err() {
            return Ok(None);
        }
        let path = tempfile::TempPath::try_from_path(path)?;
        let mut file = File::open(&path)?;
        let mut hasher = Hasher::new();
        let mut buf = vec![0u8; STREAM_BUF];
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => hasher.update(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o444))?;
        let tmp = Some(tempfile::NamedTempFile::from_parts(file, path));
        Ok(Some(AtomicFile { tmp, hasher, bg: None, tee: None, write_error: None }))
    }

    /// A sink that hashes what it is given and keeps nothing: for checking the bytes a remote
    /// holds without storing them (constant memory, no disk). It cannot be committed.
    pub fn hash_only() -> Self {
        AtomicFile { tmp: None, hasher: Hasher::new(), bg: None, tee: None, write_error: None }
    }

    /// Sends every byte of the stream to `file` (empty, at offset 0) as well, through the
    /// page cache (the object itself bypasses it when large). Nothing vouches for `file`
    /// until [`AtomicFile::commit`] has verified the object: a caller uses it only then.
    /// Call before the first byte.
    pub fn tee(&mut self, file: File) {
        self.tee = Some(Tee { file, bg: None });
    }

    /// Hashes and writes `data`.
    pub fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        let written = self.write_inner(data);
        self.note(written)
    }

    /// Keeps the first error of the file's own writes.
    fn note<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &r {
            self.write_error.get_or_insert((e.raw_os_error(), e.kind(), e.to_string()));
        }
        r
    }

    /// The first error this file's own writes met (a full disk, a write error), as opposed to
    /// an error of the stream it was filled from: a caller that gets an error from a remote's
    /// `get` asks this to know whose fault it was.
    pub fn write_error(&self) -> Option<io::Error> {
        let (code, kind, text) = self.write_error.as_ref()?;
        Some(match code {
            Some(code) => io::Error::from_raw_os_error(*code),
            None => io::Error::new(*kind, text.clone()),
        })
    }

    fn write_inner(&mut self, data: &[u8]) -> io::Result<()> {
        self.hasher.update(data);
        let long = self.hasher.len() >= BACKGROUND_AFTER;
        let Some(tmp) = &mut self.tmp else { return Ok(()) };
        if self.bg.is_none() && long {
            // the cache copy of a file the work tree gets at the same time is cold data
            let direct = self.tee.is_some();
            self.bg = Some(BgWriter::start(tmp.as_file().try_clone()?, direct)?);
        }
        match &mut self.bg {
            Some(bg) => bg.write_all(data)?,
            None => tmp.as_file_mut().write_all(data)?,
        }
        match &mut self.tee {
            Some(tee) => tee.write_all(data, long),
            None => Ok(()),
        }
    }

    /// Waits until every byte given so far is in the file (and in the tee).
    fn settle(&mut self) -> io::Result<()> {
        let ours = self.bg.take().map_or(Ok(()), BgWriter::finish);
        let tee = match self.tee.as_mut().and_then(|t| t.bg.take()) {
            Some(bg) => bg.finish(),
            None => Ok(()),
        };
        ours.and(tee)
    }

    /// Streams everything from `reader` through the hasher into the file. Once the writer
    /// thread runs, `reader` fills its buffers directly (one copy of each byte fewer).
    pub fn copy_from(&mut self, reader: impl Read) -> io::Result<u64> {
        let mut source = Source { inner: reader, failed: false };
        let copied = self.copy_inner(&mut source);
        if source.failed { copied } else { self.note(copied) }
    }

    fn copy_inner(&mut self, mut reader: impl Read) -> io::Result<u64> {
        let start = self.hasher.len();
        let mut buf = Vec::new();
        loop {
            if let Some(bg) = &mut self.bg {
                let (hasher, tee) = (&mut self.hasher, &mut self.tee);
                let n = bg.read_from(&mut reader, |data| {
                    hasher.update(data);
                    tee.as_mut().map_or(Ok(()), |t| t.write_all(data, true))
                })?;
                if n == 0 {
                    return Ok(self.hasher.len() - start);
                }
                continue;
            }
            if buf.is_empty() {
                buf = vec![0u8; STREAM_BUF];
            }
            match reader.read(&mut buf) {
                Ok(0) => return Ok(self.hasher.len() - start),
                Ok(n) => self.write_all(&buf[..n])?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.hasher.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hasher.is_empty()
    }

    /// The oid and size of what was written.
    pub fn digest(&self) -> (Oid, u64) {
        self.hasher.clone().finish()
    }

    /// Drops what was written so the temp can be refilled (a retried download).
    pub fn reset(&mut self) -> io::Result<()> {
        self.settle()?;
        self.write_error = None;
        self.hasher = Hasher::new();
        if let Some(tmp) = &mut self.tmp {
            let f = tmp.as_file_mut();
            f.set_len(0)?;
            io::Seek::seek(f, io::SeekFrom::Start(0))?;
        }
        if let Some(tee) = &mut self.tee {
            tee.file.set_len(0)?;
            io::Seek::seek(&mut tee.file, io::SeekFrom::Start(0))?;
        }
        Ok(())
    }

    /// Checks and renames the file to `dest`; see the module doc. Returns the placed file's
    /// metadata (taken after the rename), or `None` when the object was already there.
    pub fn commit(
        mut self,
        dest: &Path,
        expect: Option<(Oid, u64)>,
        durable: bool,
    ) -> Result<Option<fs::Metadata>, CommitError> {
        let (actual, actual_size) = self.digest();
        self.settle().map_err(|source| CommitError::Io { path: dest.to_path_buf(), source })?;
        if let Some((expected, expected_size)) = expect
            && (expected != actual || expected_size != actual_size)
        {
            return Err(CommitError::Mismatch { expected, expected_size, actual, actual_size });
        }
        let io_err = |source| CommitError::Io { path: dest.to_path_buf(), source };
        let tmp = self.tmp.take().ok_or_else(|| io_err(io::Error::other("nothing was kept")))?;
        if durable {
            tmp.as_file().sync_all().map_err(io_err)?;
        }
        let placed = place(tmp, dest, actual_size, durable).map_err(io_err)?;
        Ok(placed.and_then(|f| f.metadata().ok()))
    }
}

/// What the name of a temp file of an object starts with (`incoming-<pid>-<start>-`).
pub(crate) const TEMP_KIND: &str = "incoming";

/// A read-only temp file in `tmp_dir` (the mode applies to the name; the handle writes), the
/// directory created only when it is missing.
pub(super) fn new_temp(tmp_dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    let prefix = crate::fs::stale::marker(TEMP_KIND);
    let builder = || {
        let mut b = tempfile::Builder::new();
        // named after this process, so what a killed one left can be told and removed
        b.prefix(&prefix).permissions(fs::Permissions::from_mode(0o444));
        b
    };
    match builder().tempfile_in(tmp_dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(tmp_dir)?;
            builder().tempfile_in(tmp_dir)
        }
        other => other,
    }
}

pub(super) fn has_object(dest: &Path, size: u64) -> bool {
    fs::metadata(dest).map(|m| m.len() == size).unwrap_or(false)
}

/// How many times a rename is tried again when a shard directory it needs is missing: once
/// for a shard that was never made, more when a concurrent `gc` removes an empty one between
/// its creation and the rename.
const SHARD_ATTEMPTS: usize = 4;

/// Renames `tmp` to `dest` without replacing an intact object (`renameat2` NOREPLACE): an
/// object of another size there is damaged and is replaced. Returns the placed file, or
/// `None` when `dest` already held the object (the temp is then removed).
///
/// Any number of writers may place the same object at once: whichever rename comes first
/// wins and every other writer finds the object there, including a writer that had to create
/// the shard directory first ("already there" is success at every step).
pub(super) fn place(
    tmp: tempfile::NamedTempFile,
    dest: &Path,
    size: u64,
    durable: bool,
) -> io::Result<Option<File>> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    let mut tmp = tmp;
    let mut attempts = 0;
    // The shard directories usually exist: create them only when the rename says they do not.
    let file = loop {
        match tmp.persist_noclobber(dest) {
            Ok(f) => break f,
            Err(e) if e.error.kind() == io::ErrorKind::NotFound && attempts < SHARD_ATTEMPTS => {
                attempts += 1;
                fs::create_dir_all(parent)?;
                tmp = e.file;
            }
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                if has_object(dest, size) {
                    return Ok(None);
                }
                break e.file.persist(dest).map_err(|e| e.error)?;
            }
            Err(e) => return Err(e.error),
        }
    };
    if durable {
        File::open(parent)?.sync_all()?;
    }
    Ok(Some(file))
}

#[cfg(test)]
mod tests;
