//! Writes the many small blobs `git data add` stages (pointers) into git's object database:
//! one pack for many, loose objects for a few, as git's own fetch chooses
//! (`transfer.unpackLimit`), so an add of 100,000 files costs one pack, not 100,000 files.
//!
//! Invariants: a pack reaches the repository only through `git index-pack --stdin`, which
//! checks every object, compares it with any existing object of the same id, and moves the
//! pack and its index into place only when both are complete; loose objects are written by
//! gix (temp file, then rename). Either way a failure leaves no half-written object behind.

use crate::git::{GitError, Repo, git_command};
use gix::zlib::stream::deflate::{Compress, FlushCompress};
use gix::zlib::{Compression, Status};
use std::io::{self, BufWriter, Write};
use std::process::Stdio;

/// Below this many objects, loose objects are cheaper than a pack (git's default).
pub(crate) const UNPACK_LIMIT: usize = 100;

/// The pack object type of a blob.
const OBJ_BLOB: u8 = 3;

/// Writes `blobs` (distinct contents) into the repository's object database.
pub(crate) fn write_blobs(repo: &Repo, blobs: &[&[u8]]) -> Result<(), GitError> {
    if blobs.len() < UNPACK_LIMIT || repo.hash_kind != gix::hash::Kind::Sha1 {
        for blob in blobs {
            repo.gix
                .write_blob(blob)
                .map_err(|e| GitError::Other(format!("cannot write a pointer blob: {e}")))?;
        }
        return Ok(());
    }
    index_pack(repo, blobs)
}

/// Streams a pack of `blobs` into `git index-pack --stdin`.
fn index_pack(repo: &Repo, blobs: &[&[u8]]) -> Result<(), GitError> {
    let err = |what: &str, e: &dyn std::fmt::Display| GitError::Other(format!("{what}: {e}"));
    let mut child = git_command()
        .arg("--git-dir")
        .arg(&repo.git_dir)
        .args(["index-pack", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| err("cannot run git index-pack", &e))?;
    let stdin = child.stdin.take();
    let out = std::thread::scope(|scope| {
        let writer = scope.spawn(move || match stdin {
            Some(stdin) => write_pack(BufWriter::with_capacity(1 << 16, stdin), blobs),
            None => Err(io::Error::other("no pipe to git index-pack")),
        });
        let out = child.wait_with_output();
        let written = writer.join().unwrap_or_else(|_| Err(io::Error::other("writer panicked")));
        (out, written)
    });
    let (out, written) = out;
    let out = out.map_err(|e| err("git index-pack failed", &e))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(GitError::Other(format!("git index-pack refused the pointer pack: {msg}")));
    }
    written.map_err(|e| err("cannot write the pointer pack", &e))
}

/// Writes a version 2 pack of whole (undeltified) blobs, with its SHA-1 trailer.
pub(crate) fn write_pack(mut out: impl Write, blobs: &[&[u8]]) -> io::Result<()> {
    let count = u32::try_from(blobs.len()).map_err(|_| io::Error::other("too many objects"))?;
    let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
    let mut put = |bytes: &[u8]| {
        hasher.update(bytes);
        out.write_all(bytes)
    };
    put(b"PACK")?;
    put(&2u32.to_be_bytes())?;
    put(&count.to_be_bytes())?;
    let mut header = Vec::with_capacity(16);
    let mut zlib = Compress::new(Compression::BEST_SPEED);
    let mut compressed = Vec::new();
    for blob in blobs {
        object_header(&mut header, OBJ_BLOB, blob.len() as u64);
        put(&header)?;
        deflate(&mut zlib, blob, &mut compressed)?;
        put(&compressed)?;
    }
    let digest = hasher.try_finalize().map_err(io::Error::other)?;
    out.write_all(digest.as_bytes())?;
    out.flush()
}

/// Compresses `data` as one zlib stream into `out` (replacing its content).
fn deflate(zlib: &mut Compress, data: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    // zlib's compressBound: the most a stream of `data.len()` bytes can take
    let n = data.len();
    out.resize(n + (n >> 12) + (n >> 14) + (n >> 25) + 13, 0);
    zlib.reset();
    match zlib.compress(data, out, FlushCompress::Finish).map_err(io::Error::other)? {
        Status::StreamEnd => {
            out.truncate(zlib.total_out() as usize);
            Ok(())
        }
        _ => Err(io::Error::other("zlib did not finish the stream")),
    }
}

/// A pack entry's header: type and size, 4 bits of size in the first byte, then 7 per byte.
fn object_header(out: &mut Vec<u8>, kind: u8, mut size: u64) {
    out.clear();
    let mut byte = (kind << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size != 0 {
        out.push(byte | 0x80);
        byte = (size & 0x7f) as u8;
        size >>= 7;
    }
    out.push(byte);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_headers_match_git() {
        let mut h = Vec::new();
        object_header(&mut h, OBJ_BLOB, 5);
        assert_eq!(h, [0x35]);
        object_header(&mut h, OBJ_BLOB, 130);
        assert_eq!(h, [0xb2, 0x08]);
    }
}
