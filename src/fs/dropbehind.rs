//! Reading a work-tree file once for `git data add` without keeping it in memory twice: the
//! pages of the file's page cache that have been read are dropped (`POSIX_FADV_DONTNEED`) as
//! the cache's copy is written, so the copy fills the pages the source just gave back instead
//! of new ones. The content stays in memory once, as the cache object.
//!
//! Why: on a virtual machine whose free memory goes back to the host, a page the guest has not
//! used lately costs a fault on the host the first time it is filled, and the cache's copies
//! were most of an add's time (figures in docs/design.md, "Adding without a second copy in
//! memory"). On any machine, adding a data set as large as memory no longer evicts twice its
//! size of other files.
//!
//! Invariant: advice only. It never changes what is read or written, and a failure to give it
//! is ignored; the kernel keeps dirty, locked or mapped pages whatever the advice (for dirty
//! ones it starts their write-out, which would otherwise begin within half a minute).

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsRawFd;

/// Dropped in steps of this many bytes while streaming (one call per step, not per read).
const STEP: u64 = 8 << 20;

/// Advises the kernel that `len` bytes of `file` from `offset` (to its end when `len` is 0)
/// will not be read again soon.
pub(crate) fn forget(file: &File, offset: u64, len: u64) {
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else { return };
    // SAFETY: plain syscall on a descriptor `file` owns for the duration of the call.
    unsafe { libc::posix_fadvise(file.as_raw_fd(), offset, len, libc::POSIX_FADV_DONTNEED) };
}

/// A reader over a file that drops what it has read from the page cache as it goes.
pub(crate) struct DropBehind {
    file: File,
    read: u64,
    dropped: u64,
}

impl DropBehind {
    pub(crate) fn new(file: File) -> Self {
        Self { file, read: 0, dropped: 0 }
    }
}

impl Read for DropBehind {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read += n as u64;
        if n == 0 || self.read - self.dropped >= STEP {
            forget(&self.file, self.dropped, self.read - self.dropped);
            self.dropped = self.read;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_byte_whatever_the_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..(STEP * 2 + 12_345)).map(|i| (i % 253) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mut back = Vec::new();
        let mut reader = DropBehind::new(File::open(&path).unwrap());
        reader.read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
        assert_eq!(reader.dropped, data.len() as u64);
        // The file is untouched and still reads the same afterwards.
        assert_eq!(std::fs::read(&path).unwrap(), data);
    }
}
