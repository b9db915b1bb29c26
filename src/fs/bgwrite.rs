//! A file writer on its own thread, so that hashing a stream (on the caller's thread) and
//! writing it (system time on the writer's) overlap on two cores.
//!
//! Invariants: bytes reach the file in the order given, at the offsets that follow the one the
//! file had when the writer started; memory is bounded by `DEPTH + 1` buffers of `BUF` bytes;
//! [`BgWriter::finish`] returns only after every byte was written (or with the first write
//! error), and an error on the writer thread surfaces at the next call. With `direct`, whole
//! aligned blocks bypass the page cache (`O_DIRECT`), for bytes nobody will read soon (see
//! docs/design.md, "Writing objects past the page cache"). A file system that refuses direct
//! I/O gets ordinary writes; the bytes written are the same either way.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

const BUF: usize = 1 << 20;
const DEPTH: usize = 4;
/// The alignment direct I/O needs of offsets, lengths and memory (a page covers every
/// logical block size in use).
const ALIGN: usize = 4096;

/// A buffer whose data starts at an `ALIGN`-aligned address.
struct Block {
    mem: Vec<u8>,
    start: usize,
    len: usize,
}

impl Block {
    fn new() -> Self {
        let mem = vec![0u8; BUF + ALIGN];
        // an offset we cannot align to leaves the block unaligned: its writes are buffered
        let start = mem.as_ptr().align_offset(ALIGN).min(ALIGN);
        Block { mem, start, len: 0 }
    }

    fn data(&self) -> &[u8] {
        &self.mem[self.start..self.start + self.len]
    }

    fn aligned(&self) -> bool {
        (self.mem.as_ptr() as usize + self.start).is_multiple_of(ALIGN)
    }

    /// Appends as much of `data` as fits below `limit` bytes; returns how much.
    fn fill(&mut self, data: &[u8], limit: usize) -> usize {
        let n = limit.saturating_sub(self.len).min(data.len());
        let at = self.start + self.len;
        self.mem[at..at + n].copy_from_slice(&data[..n]);
        self.len += n;
        n
    }
}

pub(crate) struct BgWriter {
    full: Option<SyncSender<Block>>,
    empty: Receiver<Block>,
    thread: Option<JoinHandle<io::Result<()>>>,
    stage: Block,
    /// Where the staged block is sent: the first block ends on an aligned offset.
    limit: usize,
    allocated: usize,
}

impl BgWriter {
    /// Starts a writer thread appending to `file` from its current offset; `direct` asks for
    /// direct I/O where the file system allows it.
    pub(crate) fn start(mut file: File, direct: bool) -> io::Result<Self> {
        let offset = file.stream_position()?;
        let (full_tx, full_rx) = sync_channel::<Block>(DEPTH);
        let (empty_tx, empty_rx) = sync_channel::<Block>(DEPTH);
        let thread =
            std::thread::Builder::new().name("git-data-write".into()).spawn(move || {
                let mut out = Output { file, offset, direct, direct_on: false };
                for mut block in full_rx {
                    out.write(&block)?;
                    block.len = 0;
                    let _ = empty_tx.try_send(block);
                }
                out.end()
            })?;
        let misaligned = (offset % ALIGN as u64) as usize;
        let limit = if misaligned == 0 { BUF } else { ALIGN - misaligned };
        Ok(BgWriter {
            full: Some(full_tx),
            empty: empty_rx,
            thread: Some(thread),
            stage: Block::new(),
            limit,
            allocated: 1,
        })
    }

    /// Queues `data` for writing; blocks only when `DEPTH` buffers are already waiting.
    pub(crate) fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = self.stage.fill(data, self.limit);
            data = &data[n..];
            if self.stage.len == self.limit {
                self.send()?;
            }
        }
        Ok(())
    }

    /// Reads once from `reader` straight into the staged buffer, shows the new bytes to
    /// `seen`, and queues them; returns how many were read (0 at the end of the stream).
    pub(crate) fn read_from(
        &mut self,
        reader: &mut impl Read,
        seen: impl FnOnce(&[u8]) -> io::Result<()>,
    ) -> io::Result<usize> {
        let at = self.stage.start + self.stage.len;
        let room = &mut self.stage.mem[at..at + (self.limit - self.stage.len)];
        let n = loop {
            match reader.read(room) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other?,
            }
        };
        seen(&self.stage.mem[at..at + n])?;
        self.stage.len += n;
        if self.stage.len == self.limit {
            self.send()?;
        }
        Ok(n)
    }

    fn send(&mut self) -> io::Result<()> {
        let next = match self.empty.try_recv() {
            Ok(block) => block,
            Err(_) if self.allocated < DEPTH + 1 => {
                self.allocated += 1;
                Block::new()
            }
            Err(_) => match self.empty.recv() {
                Ok(block) => block,
                Err(_) => return Err(self.join_error()),
            },
        };
        let full = std::mem::replace(&mut self.stage, next);
        self.limit = BUF;
        let sent = self.full.as_ref().map(|tx| tx.send(full).is_ok()).unwrap_or(false);
        if sent { Ok(()) } else { Err(self.join_error()) }
    }

    /// Writes what is staged, waits for the thread, and returns its result.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        if self.stage.len > 0 {
            self.send()?;
        }
        self.join()
    }

    fn join(&mut self) -> io::Result<()> {
        self.full = None; // closes the channel: the thread ends after the last buffer
        match self.thread.take().map(|t| t.join()) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err(io::Error::other("the writer thread panicked")),
        }
    }

    /// The thread stopped early: its error (or a generic one).
    fn join_error(&mut self) -> io::Error {
        match self.join() {
            Err(e) => e,
            Ok(()) => io::Error::other("the writer thread stopped"),
        }
    }
}

impl Drop for BgWriter {
    fn drop(&mut self) {
        let _ = self.join();
    }
}

/// The writer thread's side: positioned writes, direct where the block and offset allow.
struct Output {
    file: File,
    offset: u64,
    /// Direct I/O is wanted (cleared for good when the file system refuses it).
    direct: bool,
    /// `O_DIRECT` is set on the file now.
    direct_on: bool,
}

impl Output {
    fn write(&mut self, block: &Block) -> io::Result<()> {
        let data = block.data();
        let mut done = 0;
        let whole = data.len() / ALIGN * ALIGN;
        if self.direct && whole > 0 && block.aligned() && self.offset.is_multiple_of(ALIGN as u64) {
            if !self.direct_on {
                self.direct_on = set_direct(&self.file, true).is_ok();
                self.direct = self.direct_on;
            }
            if self.direct_on {
                match self.file.write_all_at(&data[..whole], self.offset) {
                    Ok(()) => done = whole,
                    // refused after all (an unaligned device or a short direct write): the
                    // same range is written again below, through the page cache
                    Err(e) if e.raw_os_error() == Some(libc::EINVAL) => self.direct = false,
                    Err(e) => return Err(e),
                }
            }
        }
        if done < data.len() {
            self.buffered()?;
            self.file.write_all_at(&data[done..], self.offset + done as u64)?;
        }
        self.offset += data.len() as u64;
        Ok(())
    }

    fn buffered(&mut self) -> io::Result<()> {
        if self.direct_on {
            set_direct(&self.file, false)?;
            self.direct_on = false;
        }
        Ok(())
    }

    /// Leaves the file buffered and positioned after the last byte, as sequential writes would.
    fn end(mut self) -> io::Result<()> {
        self.buffered()?;
        self.file.seek(io::SeekFrom::Start(self.offset))?;
        Ok(())
    }
}

/// Sets or clears `O_DIRECT` on an open file (its open file description, shared with dups).
fn set_direct(file: &File, on: bool) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: F_GETFL/F_SETFL on a descriptor we own; no memory is passed.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        let flags = if on { flags | libc::O_DIRECT } else { flags & !libc::O_DIRECT };
        if libc::fcntl(fd, libc::F_SETFL, flags) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Writes `head` bytes the ordinary way, then ~9 MiB through a writer; checks the bytes
    /// and that the file is left positioned at its end.
    fn round_trip(direct: bool, head: usize) {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut file = File::create(&path).unwrap();
        let mut expected: Vec<u8> = (0..head).map(|i| (i % 7) as u8).collect();
        file.write_all(&expected).unwrap();
        let mut w = BgWriter::start(file.try_clone().unwrap(), direct).unwrap();
        for i in 0..3000u32 {
            let chunk: Vec<u8> = (0..(i % 6000)).map(|j| (i ^ j) as u8).collect();
            w.write_all(&chunk).unwrap();
            expected.extend_from_slice(&chunk);
        }
        w.finish().unwrap();
        file.write_all(b"end").unwrap();
        expected.extend_from_slice(b"end");
        let mut got = Vec::new();
        File::open(&path).unwrap().read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), expected.len());
        assert!(got == expected);
    }

    #[test]
    fn bytes_arrive_in_order() {
        round_trip(false, 0);
        round_trip(false, 1234);
    }

    #[test]
    fn direct_writes_keep_every_byte_from_any_offset() {
        round_trip(true, 0);
        round_trip(true, 1234);
        round_trip(true, ALIGN);
    }

    /// A reader that hands out at most `step` bytes a call.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn reads_land_in_the_file_and_are_seen_once() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut file = File::create(&path).unwrap();
        file.write_all(b"head").unwrap();
        let data: Vec<u8> = (0..(9u32 << 20) + 999).map(|i| (i % 241) as u8).collect();
        let mut w = BgWriter::start(file, true).unwrap();
        let (mut reader, mut seen) = (Trickle(&data, 300_001), Vec::new());
        let mut see = |d: &[u8]| {
            seen.extend_from_slice(d);
            Ok(())
        };
        while w.read_from(&mut reader, &mut see).unwrap() > 0 {}
        w.finish().unwrap();
        assert!(seen == data);
        let got = std::fs::read(&path).unwrap();
        assert_eq!(&got[..4], b"head");
        assert!(got[4..] == data[..]);
    }

    #[test]
    fn a_write_error_surfaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        File::create(&path).unwrap();
        let read_only = File::open(&path).unwrap();
        let mut w = BgWriter::start(read_only, true).unwrap();
        let data = vec![1u8; BUF];
        let mut failed = false;
        for _ in 0..(DEPTH + 3) {
            if w.write_all(&data).is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed || w.finish().is_err());
    }
}
