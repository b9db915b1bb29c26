//! A file writer on its own thread, so that hashing a stream (on the caller's thread) and
//! writing it (system time on the writer's) overlap on two cores.
//!
//! Invariants: bytes reach the file in the order given; memory is bounded by `DEPTH` buffers
//! of `BUF` bytes; [`BgWriter::finish`] returns only after every byte was written (or with the
//! first write error), and an error on the writer thread surfaces at the next call.

use std::fs::File;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

const BUF: usize = 1 << 20;
const DEPTH: usize = 4;

pub struct BgWriter {
    full: Option<SyncSender<Vec<u8>>>,
    empty: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<io::Result<()>>>,
    stage: Vec<u8>,
    allocated: usize,
}

impl BgWriter {
    /// Starts a writer thread appending to `file` (at its current offset).
    pub fn start(mut file: File) -> io::Result<Self> {
        let (full_tx, full_rx) = sync_channel::<Vec<u8>>(DEPTH);
        let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(DEPTH);
        let thread =
            std::thread::Builder::new().name("git-data-write".into()).spawn(move || {
                for mut buf in full_rx {
                    file.write_all(&buf)?;
                    buf.clear();
                    let _ = empty_tx.try_send(buf);
                }
                Ok(())
            })?;
        Ok(BgWriter {
            full: Some(full_tx),
            empty: empty_rx,
            thread: Some(thread),
            stage: Vec::with_capacity(BUF),
            allocated: 1,
        })
    }

    /// Queues `data` for writing; blocks only when `DEPTH` buffers are already waiting.
    pub fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = (BUF - self.stage.len()).min(data.len());
            self.stage.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.stage.len() == BUF {
                self.send()?;
            }
        }
        Ok(())
    }

    fn send(&mut self) -> io::Result<()> {
        let next = match self.empty.try_recv() {
            Ok(buf) => buf,
            Err(_) if self.allocated < DEPTH + 1 => {
                self.allocated += 1;
                Vec::with_capacity(BUF)
            }
            Err(_) => match self.empty.recv() {
                Ok(buf) => buf,
                Err(_) => return Err(self.join_error()),
            },
        };
        let full = std::mem::replace(&mut self.stage, next);
        let sent = self.full.as_ref().map(|tx| tx.send(full).is_ok()).unwrap_or(false);
        if sent { Ok(()) } else { Err(self.join_error()) }
    }

    /// Writes what is staged, waits for the thread, and returns its result.
    pub fn finish(mut self) -> io::Result<()> {
        if !self.stage.is_empty() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn bytes_arrive_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut w = BgWriter::start(File::create(&path).unwrap()).unwrap();
        let mut expected = Vec::new();
        for i in 0..3000u32 {
            let chunk: Vec<u8> = (0..(i % 5000)).map(|j| (i ^ j) as u8).collect();
            w.write_all(&chunk).unwrap();
            expected.extend_from_slice(&chunk);
        }
        w.finish().unwrap();
        let mut got = Vec::new();
        File::open(&path).unwrap().read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), expected.len());
        assert!(got == expected);
    }

    #[test]
    fn a_write_error_surfaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        File::create(&path).unwrap();
        let read_only = File::open(&path).unwrap();
        let mut w = BgWriter::start(read_only).unwrap();
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
