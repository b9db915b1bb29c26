//! git's pkt-line framing: a 4-hex-digit length (including itself) then the payload;
//! `0000` is a flush packet. Generic over `Read`/`Write` so it is tested on byte buffers.
//!
//! Invariants: a data packet carries 1..=[`MAX_DATA`] bytes (git rejects empty data packets
//! and longer ones); a read never returns a partial packet.

use std::io::{self, Read, Write};

/// Largest payload of one packet (git's LARGE_PACKET_DATA_MAX).
pub const MAX_DATA: usize = 65520 - 4;

/// One packet as read from the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    Flush,
    Data(&'a [u8]),
}

/// Reads packets, parsing them in place from one large buffer (few syscalls, no copy).
pub struct PktReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

const READ_BUF: usize = 1 << 20;

impl<R: Read> PktReader<R> {
    pub fn new(inner: R) -> Self {
        PktReader { inner, buf: vec![0; READ_BUF + MAX_DATA + 4], start: 0, end: 0 }
    }

    /// Makes at least `n` bytes available after `start`; false at end of stream.
    fn fill(&mut self, n: usize) -> io::Result<bool> {
        while self.end - self.start < n {
            if self.buf.len() - self.start < n {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// The next packet, or `None` at a clean end of stream (between packets).
    pub fn read_packet(&mut self) -> io::Result<Option<Packet<'_>>> {
        if !self.fill(4)? {
            if self.end == self.start {
                return Ok(None);
            }
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let header = &self.buf[self.start..self.start + 4];
        // four hex digits exactly (from_str_radix alone would also take a leading `+`)
        let text = std::str::from_utf8(header)
            .ok()
            .filter(|t| t.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| invalid(format!("bad pkt-line header {header:?}")))?;
        let len = usize::from_str_radix(text, 16)
            .map_err(|_| invalid(format!("bad pkt-line header {text:?}")))?;
        match len {
            0 => {
                self.start += 4;
                Ok(Some(Packet::Flush))
            }
            1..=4 => Err(invalid(format!("unsupported pkt-line length {len}"))),
            _ if len - 4 > MAX_DATA => Err(invalid(format!("pkt-line too long: {len}"))),
            _ => {
                if !self.fill(len)? {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                let data = &self.buf[self.start + 4..self.start + len];
                self.start += len;
                Ok(Some(Packet::Data(data)))
            }
        }
    }

    /// Reads a data packet, failing on flush or end of stream.
    pub fn read_data(&mut self) -> io::Result<&[u8]> {
        match self.read_packet()? {
            Some(Packet::Data(d)) => Ok(d),
            Some(Packet::Flush) => Err(invalid("unexpected flush packet".into())),
            None => Err(io::ErrorKind::UnexpectedEof.into()),
        }
    }

    /// Reads one text packet with its trailing newline removed.
    pub fn read_text(&mut self) -> io::Result<String> {
        let data = self.read_data()?;
        let data = data.strip_suffix(b"\n").unwrap_or(data);
        String::from_utf8(data.to_vec()).map_err(|_| invalid("non-UTF-8 text packet".into()))
    }

    /// Reads text packets up to a flush: the `key=value` list git sends (lossily decoded;
    /// for values that are bytes, such as paths, see [`read_lines`](Self::read_lines)).
    pub fn read_list(&mut self) -> io::Result<Option<Vec<String>>> {
        let lines = self.read_lines()?;
        Ok(lines.map(|l| l.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect()))
    }

    /// Reads packets up to a flush, each without its trailing newline, as bytes: a path git
    /// sends need not be UTF-8.
    pub fn read_lines(&mut self) -> io::Result<Option<Vec<Vec<u8>>>> {
        let mut out = Vec::new();
        loop {
            match self.read_packet()? {
                None if out.is_empty() => return Ok(None),
                None => return Err(io::ErrorKind::UnexpectedEof.into()),
                Some(Packet::Flush) => return Ok(Some(out)),
                Some(Packet::Data(d)) => out.push(d.strip_suffix(b"\n").unwrap_or(d).to_vec()),
            }
        }
    }
}

/// Writes packets to an underlying writer (buffer it: every packet is one `write_all`).
pub struct PktWriter<W> {
    inner: W,
}

impl<W: Write> PktWriter<W> {
    pub fn new(inner: W) -> Self {
        PktWriter { inner }
    }

    pub fn flush_packet(&mut self) -> io::Result<()> {
        self.inner.write_all(b"0000")
    }

    /// Writes one data packet (1..=MAX_DATA bytes).
    pub fn data(&mut self, data: &[u8]) -> io::Result<()> {
        debug_assert!(!data.is_empty() && data.len() <= MAX_DATA);
        let header = format!("{:04x}", data.len() + 4);
        self.inner.write_all(header.as_bytes())?;
        self.inner.write_all(data)
    }

    /// Writes `text` plus a newline as one packet.
    pub fn text(&mut self, text: &str) -> io::Result<()> {
        self.line(text.as_bytes())
    }

    /// Writes `bytes` plus a newline as one packet (a `key=value` whose value is bytes).
    pub fn line(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut line = Vec::with_capacity(bytes.len() + 1);
        line.extend_from_slice(bytes);
        line.push(b'\n');
        self.data(&line)
    }

    /// Writes content of any length as a run of packets, then a flush.
    pub fn content(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = data.len().min(MAX_DATA);
            self.data(&data[..n])?;
            data = &data[n..];
        }
        self.flush_packet()
    }

    /// Streams everything from `reader` as packets, then a flush; returns the bytes sent.
    pub fn content_from(&mut self, mut reader: impl Read) -> io::Result<u64> {
        let mut buf = vec![0u8; MAX_DATA];
        let mut total = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.data(&buf[..n])?;
            total += n as u64;
        }
        self.flush_packet()?;
        Ok(total)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_text_and_flush() {
        let mut out = Vec::new();
        let mut w = PktWriter::new(&mut out);
        w.text("git-filter-server").unwrap();
        w.text("version=2").unwrap();
        w.flush_packet().unwrap();
        assert_eq!(out, b"0016git-filter-server\n000eversion=2\n0000");
        let mut r = PktReader::new(&out[..]);
        assert_eq!(r.read_list().unwrap().unwrap(), vec!["git-filter-server", "version=2"]);
        assert!(r.read_packet().unwrap().is_none());
    }

    #[test]
    fn content_is_split_at_max_data() {
        let data: Vec<u8> = (0..(MAX_DATA * 2 + 10)).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        PktWriter::new(&mut out).content(&data).unwrap();
        let mut r = PktReader::new(&out[..]);
        let mut back = Vec::new();
        let mut sizes = Vec::new();
        while let Some(Packet::Data(d)) = r.read_packet().unwrap() {
            sizes.push(d.len());
            back.extend_from_slice(d);
        }
        assert_eq!(sizes, vec![MAX_DATA, MAX_DATA, 10]);
        assert_eq!(back, data);
    }

    #[test]
    fn streamed_content_matches_buffered() {
        let data = vec![7u8; MAX_DATA + 1];
        let (mut a, mut b) = (Vec::new(), Vec::new());
        PktWriter::new(&mut a).content(&data).unwrap();
        let n = PktWriter::new(&mut b).content_from(&data[..]).unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(a, b);
    }

    #[test]
    fn rejects_bad_headers_and_truncation() {
        for bad in [&b"zzzz"[..], b"0003", b"fff0"] {
            assert!(PktReader::new(bad).read_packet().is_err(), "{bad:?}");
        }
        assert!(PktReader::new(&b"000ahel"[..]).read_packet().is_err());
        assert!(PktReader::new(&b"00"[..]).read_packet().is_err());
        assert!(PktReader::new(&b""[..]).read_packet().unwrap().is_none());
    }
}
