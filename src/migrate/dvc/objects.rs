//! DVC's md5-addressed objects: where they are (cache or local remote, DVC 3 and DVC 2
//! layouts), and how they enter git-data's cache.
//!
//! Invariants: bytes are streamed (constant memory) through md5 and SHA-256 at once into a
//! temp file of the git-data cache, which becomes an object only when the md5 matches what
//! DVC recorded; a mismatch leaves nothing behind. For DVC 2 records (`legacy`) the md5 of
//! the bytes with CRLF turned into LF is accepted too, since DVC 2 hashed text files that way.

use crate::oid::{Oid, STREAM_BUF};
use crate::store::{Store, StoreError};
use md5::{Digest, Md5};
use serde::Deserialize;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Why an object could not be taken from DVC.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ObjectError {
    #[error(
        "{} does not match its md5: DVC recorded {expected}, the content hashes to {actual}",
        .path.display()
    )]
    Mismatch { path: PathBuf, expected: String, actual: String },
    #[error("{} is {actual} bytes, DVC recorded {expected}", .path.display())]
    Size { path: PathBuf, expected: u64, actual: u64 },
    #[error("cannot read {}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{} is not a DVC directory listing: {message}", .path.display())]
    Listing { path: PathBuf, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Directories laid out like a DVC cache: the cache itself, then local remotes.
#[derive(Debug, Default)]
pub(crate) struct Sources {
    roots: Vec<PathBuf>,
}

impl Sources {
    pub(crate) fn new(roots: Vec<PathBuf>) -> Self {
        Sources { roots }
    }

    pub(crate) fn add(&mut self, root: PathBuf) {
        self.roots.push(root);
    }

    /// The object for `md5` (with `.dir` for a listing): DVC 3's `files/md5/ab/cdef…` and
    /// DVC 2's `ab/cdef…`, the record's own layout first, in every root.
    pub(crate) fn find(&self, md5: &str, dir: bool, legacy: bool) -> Option<PathBuf> {
        let name = format!("{}{}", &md5[2..], if dir { ".dir" } else { "" });
        let v3 = Path::new("files").join("md5").join(&md5[..2]).join(&name);
        let v2 = Path::new(&md5[..2]).join(&name);
        let order = if legacy { [&v2, &v3] } else { [&v3, &v2] };
        self.roots
            .iter()
            .flat_map(|r| order.iter().map(move |rel| r.join(rel)))
            .find(|p| p.is_file())
    }
}

/// One file of a directory output, from its `.dir` listing.
#[derive(Debug, Deserialize, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub md5: String,
    pub relpath: String,
}

/// md5 of the bytes, and (for DVC 2 records) of the bytes with CRLF turned into LF.
struct Md5Check {
    raw: Md5,
    unix: Option<(Md5, bool)>,
}

impl Md5Check {
    fn new(legacy: bool) -> Self {
        Md5Check { raw: Md5::new(), unix: legacy.then(|| (Md5::new(), false)) }
    }

    fn update(&mut self, data: &[u8]) {
        self.raw.update(data);
        let Some((unix, held_cr)) = self.unix.as_mut() else { return };
        let mut rest = data;
        if *held_cr && !rest.is_empty() {
            if rest[0] != b'\n' {
                unix.update(b"\r");
            }
            *held_cr = false;
        }
        while let Some(i) = rest.iter().position(|&b| b == b'\r') {
            unix.update(&rest[..i]);
            match rest.get(i + 1) {
                Some(b'\n') => {}
                Some(_) => unix.update(b"\r"),
                None => *held_cr = true,
            }
            rest = &rest[i + 1..];
        }
        unix.update(rest);
    }

    /// Whether `expected` is the md5 of what was given; else the raw md5.
    fn check(self, expected: &str) -> Result<(), String> {
        let raw = hex(&self.raw.finalize());
        if raw == expected {
            return Ok(());
        }
        if let Some((mut unix, held_cr)) = self.unix {
            if held_cr {
                unix.update(b"\r");
            }
            if hex(&unix.finalize()) == expected {
                return Ok(());
            }
        }
        Err(raw)
    }
}

/// An [`Md5Check`] fed by `io::copy`.
impl io::Write for Md5Check {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.update(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Streams the file at `src` into `store`, checking it against DVC's md5 (and size when
/// known); returns the git-data oid and size.
pub(crate) fn import(
    store: &Store,
    src: &Path,
    md5: &str,
    size: Option<u64>,
    legacy: bool,
) -> Result<(Oid, u64), ObjectError> {
    let io_err = |source| ObjectError::Io { path: src.to_path_buf(), source };
    let mut reader = std::fs::File::open(src).map_err(io_err)?;
    let mut file = store.begin()?;
    let mut check = Md5Check::new(legacy);
    let mut buf = vec![0u8; STREAM_BUF];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(e)),
        };
        check.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(|e| StoreError::io(store.tmp_dir(), e))?;
    }
    let actual_size = file.len();
    if let Some(expected) = size.filter(|s| *s != actual_size) {
        return Err(ObjectError::Size { path: src.to_path_buf(), expected, actual: actual_size });
    }
    check.check(md5).map_err(|actual| ObjectError::Mismatch {
        path: src.to_path_buf(),
        expected: md5.to_string(),
        actual,
    })?;
    Ok(store.commit(file, None)?)
}

/// Whether the file at `path` has the md5 `expected` that DVC recorded (a DVC 2 record,
/// `legacy`, also with CRLF read as LF); streamed, nothing written.
pub(crate) fn has_md5(path: &Path, expected: &str, legacy: bool) -> io::Result<bool> {
    let mut check = Md5Check::new(legacy);
    io::copy(&mut std::fs::File::open(path)?, &mut check)?;
    Ok(check.check(expected).is_ok())
}

/// Reads and checks a `.dir` listing (JSON: a list of `{md5, relpath}`).
pub(crate) fn read_listing(src: &Path, md5: &str, legacy: bool) -> Result<Vec<Entry>, ObjectError> {
    let bytes =
        std::fs::read(src).map_err(|source| ObjectError::Io { path: src.to_path_buf(), source })?;
    let mut check = Md5Check::new(legacy);
    check.update(&bytes);
    check.check(md5).map_err(|actual| ObjectError::Mismatch {
        path: src.to_path_buf(),
        expected: format!("{md5}.dir"),
        actual,
    })?;
    let entries: Vec<Entry> = serde_json::from_slice(&bytes)
        .map_err(|e| ObjectError::Listing { path: src.to_path_buf(), message: e.to_string() })?;
    for e in &entries {
        let bad = e.relpath.is_empty()
            || e.relpath.starts_with('/')
            || e.relpath.split('/').any(|p| p == ".." || p == "." || p.is_empty())
            || e.md5.len() != 32
            || !e.md5.bytes().all(|b| b.is_ascii_hexdigit());
        if bad {
            return Err(ObjectError::Listing {
                path: src.to_path_buf(),
                message: format!("bad entry `{}` ({})", e.relpath, e.md5),
            });
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md5_of(data: &[u8]) -> String {
        hex(&Md5::digest(data))
    }

    #[test]
    fn crlf_is_folded_across_chunk_boundaries() {
        let text = b"a\r\nb\r\r\nc\rd\r";
        let expected = md5_of(b"a\nb\r\nc\rd\r");
        for split in 0..text.len() {
            let mut c = Md5Check::new(true);
            c.update(&text[..split]);
            c.update(&text[split..]);
            assert_eq!(c.check(&expected), Ok(()), "split at {split}");
        }
        let mut c = Md5Check::new(false);
        c.update(text);
        assert!(c.check(&expected).is_err(), "DVC 3 records are raw md5 only");
    }

    #[test]
    fn import_checks_md5_and_size_and_leaves_nothing_on_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("cache"));
        let src = dir.path().join("f");
        std::fs::write(&src, b"weights").unwrap();
        let (oid, size) = import(&store, &src, &md5_of(b"weights"), Some(7), false).unwrap();
        assert_eq!((oid, size), (Oid::of_bytes(b"weights"), 7));
        assert!(store.contains(&oid, 7));
        let bad = import(&store, &src, &md5_of(b"other"), None, false).unwrap_err();
        assert!(matches!(bad, ObjectError::Mismatch { .. }), "{bad}");
        assert!(matches!(
            import(&store, &src, &md5_of(b"weights"), Some(8), false),
            Err(ObjectError::Size { .. })
        ));
        assert_eq!(store.list().unwrap(), vec![oid]);
        let temps = std::fs::read_dir(store.tmp_dir()).unwrap().flatten();
        let temps: Vec<_> =
            temps.filter(|e| !e.file_name().to_string_lossy().starts_with("writing-")).collect();
        assert!(temps.is_empty(), "no temp left behind: {temps:?}");
    }

    #[test]
    fn finds_both_layouts_and_reads_listings() {
        let dir = tempfile::tempdir().unwrap();
        let listing = br#"[{"md5": "5d0faf106c7db65c30249c80f8fd654e", "relpath": "a/1.png"}]"#;
        let md5 = md5_of(listing);
        let v3 = dir.path().join("files/md5").join(&md5[..2]).join(format!("{}.dir", &md5[2..]));
        std::fs::create_dir_all(v3.parent().unwrap()).unwrap();
        std::fs::write(&v3, listing).unwrap();
        let sources = Sources::new(vec![dir.path().join("missing"), dir.path().to_path_buf()]);
        assert_eq!(sources.find(&md5, true, true), Some(v3.clone()));
        assert_eq!(sources.find(&md5, false, false), None);
        let entries = read_listing(&v3, &md5, false).unwrap();
        assert_eq!(entries[0].relpath, "a/1.png");
        std::fs::write(&v3, br#"[{"md5": "5d0faf106c7db65c30249c80f8fd654e", "relpath": "../x"}]"#)
            .unwrap();
        let md5 = md5_of(&std::fs::read(&v3).unwrap());
        assert!(read_listing(&v3, &md5, false).is_err(), "paths may not leave the directory");
    }
}
