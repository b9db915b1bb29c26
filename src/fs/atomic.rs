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

/// Copies `src` (already verified, `size` bytes) to `dest` atomically, sharing blocks where
/// the file system can (see [`clone_or_copy`]).
pub fn copy_into_place(
    src: &Path,
    tmp_dir: &Path,
    dest: &Path,
    size: u64,
    durable: bool,
) -> io::Result<()> {
    if has_object(dest, size) {
        return Ok(());
    }
    let tmp = copy_to_temp(src, tmp_dir, size, durable)?;
    place(tmp, dest, size, durable).map(|_| ())
}

/// Copies `src` (already verified, `size` bytes) over whatever `dest` holds, atomically: a
/// reader sees the old file or the new one, never a mix. For repairing a damaged object.
pub fn copy_over(src: &Path, tmp_dir: &Path, dest: &Path, size: u64) -> io::Result<()> {
    let tmp = copy_to_temp(src, tmp_dir, size, true)?;
    let parent = dest.parent().unwrap_or(Path::new("."));
    let tmp = match tmp.persist(dest) {
        Ok(_) => None,
        Err(e) if e.error.kind() == io::ErrorKind::NotFound => Some(e.file),
        Err(e) => return Err(e.error),
    };
    if let Some(tmp) = tmp {
        fs::create_dir_all(parent)?;
        tmp.persist(dest).map_err(|e| e.error)?;
    }
    File::open(parent)?.sync_all()
}

/// A temp file in `tmp_dir` holding a copy of the `size` bytes of `src`.
fn copy_to_temp(
    src: &Path,
    tmp_dir: &Path,
    size: u64,
    durable: bool,
) -> io::Result<tempfile::NamedTempFile> {
    let mut tmp = new_temp(tmp_dir)?;
    let copied = clone_or_copy(&File::open(src)?, tmp.as_file_mut(), size)?;
    if copied != size {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("copied {copied} bytes of {}, expected {size}", src.display()),
        ));
    }
    if durable {
        tmp.as_file().sync_all()?;
    }
    Ok(tmp)
}

/// What the name of a temp file of an object starts with (`incoming-<pid>-<start>-`).
pub const TEMP_KIND: &str = "incoming";

/// A read-only temp file in `tmp_dir` (the mode applies to the name; the handle writes), the
/// directory created only when it is missing.
fn new_temp(tmp_dir: &Path) -> io::Result<tempfile::NamedTempFile> {
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

/// Makes the empty file `dest` a copy of `src`: a reflink (shared blocks, copy-on-write)
/// where the file system supports it, else a copy ([`crate::fs::bgwrite::copy`], `size` as
/// there). Returns the bytes in `dest`.
pub fn clone_or_copy(src: &File, dest: &mut File, size: u64) -> io::Result<u64> {
    if super::sys::reflink(dest, src) {
        return Ok(dest.metadata()?.len());
    }
    crate::fs::bgwrite::copy(src, dest, size)
}

fn has_object(dest: &Path, size: u64) -> bool {
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
fn place(
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
mod tests {
    use super::*;

    #[test]
    fn mismatch_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = AtomicFile::create(&dir.path().join("tmp")).unwrap();
        f.write_all(b"abc").unwrap();
        let dest = dir.path().join("objects/x");
        let err = f.commit(&dest, Some((Oid::of_bytes(b"abd"), 3)), true).unwrap_err();
        assert!(matches!(err, CommitError::Mismatch { .. }));
        assert!(!dest.exists());
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn copy_into_place_is_read_only_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::write(&src, b"hello").unwrap();
        let dest = dir.path().join("a/b/c");
        copy_into_place(&src, &dir.path().join("tmp"), &dest, 5, true).unwrap();
        copy_into_place(&src, &dir.path().join("tmp"), &dest, 5, true).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"hello");
        assert_eq!(fs::metadata(&dest).unwrap().permissions().mode() & 0o777, 0o444);
        assert!(
            copy_into_place(&src, &dir.path().join("tmp"), &dir.path().join("d"), 6, false)
                .is_err()
        );
    }

    #[test]
    fn many_writers_of_the_same_new_objects_all_succeed() {
        // Each round places one object into a shard that does not exist yet, from 8 threads
        // released at once: the rename of all but one finds the object already there.
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::write(&src, b"same bytes").unwrap();
        let writers = 8;
        let barrier = std::sync::Barrier::new(writers);
        let failures = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..writers {
                s.spawn(|| {
                    for round in 0..40u32 {
                        let dest = dir.path().join(format!("objects/{round:02x}/cd/obj"));
                        let tmp = dir.path().join("tmp");
                        barrier.wait();
                        if let Err(e) = copy_into_place(&src, &tmp, &dest, 10, false) {
                            failures.lock().unwrap().push(format!("copy, round {round}: {e}"));
                        }
                        let dest = dir.path().join(format!("cache/{round:02x}/ef/obj"));
                        let mut f = AtomicFile::create(&dir.path().join("cache-tmp")).unwrap();
                        f.write_all(b"same bytes").unwrap();
                        barrier.wait();
                        if let Err(e) = f.commit(&dest, None, false) {
                            failures.lock().unwrap().push(format!("commit, round {round}: {e}"));
                        }
                    }
                });
            }
        });
        let failures = failures.into_inner().unwrap();
        assert!(failures.is_empty(), "{} failed, first: {:?}", failures.len(), failures.first());
        assert_eq!(fs::read(dir.path().join("objects/27/cd/obj")).unwrap(), b"same bytes");
    }

    #[test]
    fn long_streams_are_written_completely() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = AtomicFile::create(&dir.path().join("tmp")).unwrap();
        let data: Vec<u8> = (0..(9u32 << 20) + 12345).map(|i| (i % 251) as u8).collect();
        for chunk in data.chunks(65516) {
            f.write_all(chunk).unwrap();
        }
        let dest = dir.path().join("obj");
        f.commit(&dest, Some((Oid::of_bytes(&data), data.len() as u64)), false).unwrap();
        assert!(fs::read(&dest).unwrap() == data);
    }

    #[test]
    fn a_tee_gets_every_byte_and_is_refilled_on_reset() {
        let dir = tempfile::tempdir().unwrap();
        let tee_path = dir.path().join("tee");
        let mut f = AtomicFile::create(&dir.path().join("tmp")).unwrap();
        f.tee(File::create(&tee_path).unwrap());
        f.write_all(&[7u8; 5000]).unwrap();
        f.reset().unwrap();
        let data: Vec<u8> = (0..(6u32 << 20) + 77).map(|i| (i % 253) as u8).collect();
        for chunk in data.chunks(100_003) {
            f.write_all(chunk).unwrap();
        }
        let dest = dir.path().join("obj");
        f.commit(&dest, Some((Oid::of_bytes(&data), data.len() as u64)), false).unwrap();
        assert!(fs::read(&dest).unwrap() == data);
        assert!(fs::read(&tee_path).unwrap() == data);
    }

    #[test]
    fn copy_from_fills_the_object_and_the_tee() {
        let dir = tempfile::tempdir().unwrap();
        let tee_path = dir.path().join("tee");
        let mut f = AtomicFile::create(&dir.path().join("tmp")).unwrap();
        f.tee(File::create(&tee_path).unwrap());
        let data: Vec<u8> = (0..(7u32 << 20) + 5).map(|i| (i % 239) as u8).collect();
        assert_eq!(f.copy_from(&data[..]).unwrap(), data.len() as u64);
        let dest = dir.path().join("obj");
        f.commit(&dest, Some((Oid::of_bytes(&data), data.len() as u64)), false).unwrap();
        assert!(fs::read(&dest).unwrap() == data);
        assert!(fs::read(&tee_path).unwrap() == data);
    }

    #[test]
    fn write_errors_are_told_apart_from_read_errors() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::from_raw_os_error(libc::ECONNRESET))
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let mut f = AtomicFile::create(dir.path()).unwrap();
        assert!(f.copy_from(Failing).is_err());
        assert!(f.write_error().is_none(), "the stream failed, not the file");
        // a file that cannot be written: its own error is kept
        let mut f = AtomicFile::create(dir.path()).unwrap();
        f.tee(File::open(dir.path()).unwrap()); // a directory: writes fail with EBADF/EISDIR
        assert!(f.copy_from(&b"data"[..]).is_err());
        assert!(f.write_error().is_some());
    }

    #[test]
    fn copy_over_replaces_a_damaged_object_of_the_same_size() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::write(&src, b"hello").unwrap();
        let dest = dir.path().join("objects/ab/obj");
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::write(&dest, b"hallo").unwrap();
        let tmp = dir.path().join("tmp");
        copy_into_place(&src, &tmp, &dest, 5, true).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"hallo", "copy_into_place trusts the size");
        copy_over(&src, &tmp, &dest, 5).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"hello");
        copy_over(&src, &tmp, &dir.path().join("objects/cd/new"), 5).unwrap();
        assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0);
    }

    #[test]
    fn a_hash_only_sink_hashes_and_keeps_nothing() {
        let mut f = AtomicFile::hash_only();
        let data: Vec<u8> = (0..(5u32 << 20)).map(|i| (i % 241) as u8).collect();
        assert_eq!(f.copy_from(&data[..]).unwrap(), data.len() as u64);
        assert_eq!(f.digest(), (Oid::of_bytes(&data), data.len() as u64));
        f.reset().unwrap();
        assert!(f.is_empty());
        let dir = tempfile::tempdir().unwrap();
        assert!(f.commit(&dir.path().join("x"), None, false).is_err());
    }

    #[test]
    fn reset_allows_refill() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = AtomicFile::create(dir.path()).unwrap();
        f.write_all(b"partial").unwrap();
        f.reset().unwrap();
        f.write_all(b"full").unwrap();
        assert_eq!(f.digest(), (Oid::of_bytes(b"full"), 4));
    }
}
