//! The SHA-256 object id of a data file, its sharded path, and streaming hashers.
//!
//! Invariants: an [`Oid`] is always 32 bytes and prints as 64 lowercase hex digits; parsing
//! accepts exactly that form and nothing else, so one file has exactly one id and one path.

use sha2::{Digest, Sha256};
use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Size of the buffers used to stream file content (large enough to keep syscalls rare,
/// small enough that memory never depends on the file size).
pub const STREAM_BUF: usize = 1 << 20;

/// The SHA-256 of a file's bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid([u8; 32]);

/// Why a string is not an object id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid object id {text:?}: expected 64 lowercase hexadecimal digits")]
pub struct OidError {
    pub text: String,
}

impl Oid {
    /// The id of the empty file.
    pub const EMPTY_HEX: &'static str =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Oid(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses exactly 64 lowercase hex digits.
    pub fn from_hex(text: &str) -> Result<Self, OidError> {
        let err = || OidError { text: text.chars().take(80).collect() };
        let raw = text.as_bytes();
        if raw.len() != 64 {
            return Err(err());
        }
        let mut out = [0u8; 32];
        for (i, pair) in raw.chunks_exact(2).enumerate() {
            let hi = hex_digit(pair[0]).ok_or_else(err)?;
            let lo = hex_digit(pair[1]).ok_or_else(err)?;
            out[i] = (hi << 4) | lo;
        }
        Ok(Oid(out))
    }

    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(DIGITS[(b >> 4) as usize] as char);
            s.push(DIGITS[(b & 15) as usize] as char);
        }
        s
    }

    /// The first `n` hex digits, for display.
    pub fn short(&self, n: usize) -> String {
        let mut s = self.to_hex();
        s.truncate(n.min(64));
        s
    }

    /// `ab/cd/abcd…`: the sharded location of this object under an `objects/` directory.
    pub fn shard_path(&self) -> String {
        let hex = self.to_hex();
        format!("{}/{}/{}", &hex[0..2], &hex[2..4], hex)
    }

    /// The sharded path joined under `objects_dir`.
    pub fn path_in(&self, objects_dir: &Path) -> PathBuf {
        let hex = self.to_hex();
        objects_dir.join(&hex[0..2]).join(&hex[2..4]).join(hex)
    }

    /// Hashes an in-memory buffer.
    pub fn of_bytes(data: &[u8]) -> Self {
        Oid(Sha256::digest(data).into())
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({})", self.short(12))
    }
}

impl std::str::FromStr for Oid {
    type Err = OidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Oid::from_hex(s)
    }
}

/// Incremental SHA-256 with a byte count.
#[derive(Clone, Default)]
pub struct Hasher {
    inner: Sha256,
    len: u64,
}

impl Hasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
        self.len += data.len() as u64;
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn finish(self) -> (Oid, u64) {
        (Oid(self.inner.finalize().into()), self.len)
    }
}

/// A writer that hashes everything written through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Hasher,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter { inner, hasher: Hasher::new() }
    }

    pub fn finish(self) -> (W, Oid, u64) {
        let (oid, len) = self.hasher.finish();
        (self.inner, oid, len)
    }

    pub fn written(&self) -> u64 {
        self.hasher.len()
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Hashes everything readable from `reader` in constant memory.
pub fn hash_reader(mut reader: impl Read) -> io::Result<(Oid, u64)> {
    let mut buf = vec![0u8; STREAM_BUF];
    let mut hasher = Hasher::new();
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(hasher.finish())
}

/// Hashes a file in constant memory.
pub fn hash_file(path: &Path) -> io::Result<(Oid, u64)> {
    hash_reader(std::fs::File::open(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_hash_is_known_constant() {
        assert_eq!(Oid::of_bytes(b"").to_hex(), Oid::EMPTY_HEX);
    }

    #[test]
    fn hex_round_trip_and_shard() {
        let oid = Oid::of_bytes(b"hello\n");
        let hex = oid.to_hex();
        assert_eq!(hex, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
        assert_eq!(Oid::from_hex(&hex).unwrap(), oid);
        assert_eq!(oid.shard_path(), format!("58/91/{hex}"));
    }

    #[test]
    fn rejects_uppercase_short_and_non_hex() {
        let good = Oid::of_bytes(b"x").to_hex();
        assert!(Oid::from_hex(&good.to_uppercase()).is_err());
        assert!(Oid::from_hex(&good[..63]).is_err());
        assert!(Oid::from_hex(&format!("{}0", good)).is_err());
        assert!(Oid::from_hex(&format!("g{}", &good[1..])).is_err());
    }

    #[test]
    fn hashing_writer_matches_one_shot() {
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"hello ").unwrap();
        w.write_all(b"world").unwrap();
        let (buf, oid, len) = w.finish();
        assert_eq!(buf, b"hello world");
        assert_eq!(len, 11);
        assert_eq!(oid, Oid::of_bytes(b"hello world"));
        assert_eq!(hash_reader(&b"hello world"[..]).unwrap(), (oid, 11));
    }
}
