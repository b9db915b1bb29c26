//! The server side of git's long-running filter protocol (gitattributes(5), "Long Running
//! Filter Process"): one process serves every file of a git command.
//!
//! Invariants: nothing but protocol bytes goes to the output (messages go to stderr); the
//! whole content of a request is read before the response is written (git writes it all
//! before it reads, so anything else can deadlock); a failure on one file answers
//! `status=error` for that file and the session goes on.

use super::pktline::{Packet, PktReader, PktWriter};
use super::{Chunks, Filter, FilterError, Smudged};
use gix::bstr::{BString, ByteSlice};
use std::io::{self, Read, Write};

/// Content of one request: the data packets up to the next flush.
struct PacketContent<'a, R> {
    reader: &'a mut PktReader<R>,
    done: bool,
}

impl<R: Read> Chunks for PacketContent<'_, R> {
    fn next_chunk(&mut self) -> io::Result<Option<&[u8]>> {
        if self.done {
            return Ok(None);
        }
        match self.reader.read_packet()? {
            Some(Packet::Data(d)) => Ok(Some(d)),
            Some(Packet::Flush) => {
                self.done = true;
                Ok(None)
            }
            None => Err(io::ErrorKind::UnexpectedEof.into()),
        }
    }
}

fn protocol(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("filter protocol: {msg}"))
}

/// Runs the handshake, then serves requests until git closes the stream.
pub fn serve<R: Read, W: Write>(input: R, output: W, filter: &mut Filter) -> io::Result<()> {
    let mut reader = PktReader::new(input);
    let mut writer = PktWriter::new(output);
    let hello = reader.read_list()?.ok_or_else(|| protocol("no handshake"))?;
    if hello.first().map(String::as_str) != Some("git-filter-client")
        || !hello.iter().any(|l| l == "version=2")
    {
        return Err(protocol(&format!("unexpected handshake {hello:?}")));
    }
    writer.text("git-filter-server")?;
    writer.text("version=2")?;
    writer.flush_packet()?;
    writer.flush()?;
    let offered = reader.read_list()?.ok_or_else(|| protocol("no capabilities"))?;
    for cap in ["clean", "smudge", "delay"] {
        if cap == "delay" && !filter.can_delay() {
            continue;
        }
        if offered.iter().any(|c| c == &format!("capability={cap}")) {
            writer.text(&format!("capability={cap}"))?;
        }
    }
    writer.flush_packet()?;
    writer.flush()?;

    while let Some(headers) = reader.read_lines()? {
        let get = |key: &str| {
            headers
                .iter()
                .find_map(|h| h.strip_prefix(key.as_bytes()).and_then(|r| r.strip_prefix(b"=")))
        };
        let command = String::from_utf8_lossy(get("command").unwrap_or_default()).into_owned();
        // a path is bytes (git does not require UTF-8 names): kept as git sent it
        let path = BString::from(get("pathname").unwrap_or_default());
        let path = path.as_bstr();
        if command == "list_available_blobs" {
            // no content follows this command
            for path in filter.available() {
                writer.line(&[b"pathname=".as_slice(), path.as_slice()].concat())?;
            }
            writer.flush_packet()?;
            writer.text("status=success")?;
            writer.flush_packet()?;
            writer.flush()?;
            continue;
        }
        let can_delay = get("can-delay") == Some(b"1".as_slice());
        let mut content = PacketContent { reader: &mut reader, done: false };
        let result = match command.as_str() {
            "clean" => filter.clean(path, &mut content).map(|c| Smudged::Bytes(c.blob())),
            "smudge" if filter.is_ready(path) => filter.deliver(path),
            "smudge" => filter.smudge(path, &mut content, can_delay),
            other => {
                eprintln!("git-data: filter: unsupported command {other:?} for {path}");
                Err(FilterError::Io {
                    path: path.to_string(),
                    source: protocol("unsupported command"),
                })
            }
        };
        // Whatever happened, consume the rest of the request before answering.
        while content.next_chunk()?.is_some() {}
        respond(&mut writer, result)?;
    }
    filter.finish();
    Ok(())
}

fn respond<W: Write>(
    writer: &mut PktWriter<W>,
    result: Result<Smudged, FilterError>,
) -> io::Result<()> {
    match result {
        Ok(Smudged::Delayed) => {
            writer.text("status=delayed")?;
            writer.flush_packet()?;
        }
        Ok(out) => {
            writer.text("status=success")?;
            writer.flush_packet()?;
            match out {
                Smudged::Bytes(b) => writer.content(&b)?,
                Smudged::File(f) => {
                    writer.content_from(f)?;
                }
                Smudged::Delayed => {}
            }
            writer.flush_packet()?; // empty list: keep status=success
        }
        Err(e) => {
            eprintln!("git-data: error: {e}");
            if let Some(hint) = e.hint() {
                eprintln!("hint: {hint}");
            }
            writer.text("status=error")?;
            writer.flush_packet()?;
        }
    }
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pointer::Pointer;
    use crate::store::Store;
    use crate::store::state::pending::Journal;

    fn session(requests: &[(&str, &str, &[u8])]) -> Vec<u8> {
        let mut input = Vec::new();
        let mut w = PktWriter::new(&mut input);
        for l in ["git-filter-client", "version=2"] {
            w.text(l).unwrap();
        }
        w.flush_packet().unwrap();
        for l in ["capability=clean", "capability=smudge", "capability=delay"] {
            w.text(l).unwrap();
        }
        w.flush_packet().unwrap();
        for (cmd, path, data) in requests {
            w.text(&format!("command={cmd}")).unwrap();
            w.text(&format!("pathname={path}")).unwrap();
            w.flush_packet().unwrap();
            w.content(data).unwrap();
        }
        input
    }

    fn run(dir: &std::path::Path, input: &[u8], inline_max: u64) -> Vec<Vec<String>> {
        let store = Store::new(dir.join("cache"));
        let mut filter = Filter::new(&store, Journal::session(dir.join("pending")), inline_max);
        let mut out = Vec::new();
        serve(input, &mut out, &mut filter).unwrap();
        let mut r = PktReader::new(&out[..]);
        let mut lists = Vec::new();
        while let Some(list) = r.read_list().unwrap() {
            lists.push(list);
        }
        lists
    }

    #[test]
    fn handshake_clean_and_smudge() {
        let dir = tempfile::tempdir().unwrap();
        let data = vec![42u8; 200_000];
        let pointer = Pointer::new(crate::oid::Oid::of_bytes(&data), data.len() as u64).encode();
        let input =
            session(&[("clean", "model.bin", &data), ("smudge", "model.bin", pointer.as_bytes())]);
        let lists = run(dir.path(), &input, 1 << 20);
        assert_eq!(lists[0], vec!["git-filter-server", "version=2"]);
        assert_eq!(lists[1], vec!["capability=clean", "capability=smudge"]);
        assert_eq!(lists[2], vec!["status=success"]);
        assert_eq!(lists[3], vec![pointer.trim_end().to_string()]);
        assert_eq!(lists[5], vec!["status=success"]);
        assert_eq!(lists[6].concat().len(), data.len(), "smudge returned the data inline");
    }

    #[test]
    fn large_or_missing_objects_stay_pointers_and_are_journaled() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Pointer::new(crate::oid::Oid::of_bytes(b"elsewhere"), 9).encode();
        let input =
            session(&[("smudge", "a.bin", missing.as_bytes()), ("smudge", "b.txt", b"plain text")]);
        let lists = run(dir.path(), &input, 1 << 20);
        assert_eq!(lists[3], vec![missing.trim_end().to_string()]);
        assert_eq!(lists[6], vec!["plain text"]);
        let pending =
            crate::store::state::pending::find(&dir.path().join("pending"), true).unwrap().entries;
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].path, b"a.bin");
    }

    #[test]
    fn missing_objects_are_delayed_fetched_in_one_batch_and_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("cache"));
        let (a, b) = (b"first file".to_vec(), b"second file".to_vec());
        let pa = Pointer::new(crate::oid::Oid::of_bytes(&a), a.len() as u64).encode();
        let pb = Pointer::new(crate::oid::Oid::of_bytes(&b), b.len() as u64).encode();
        let batches = std::cell::RefCell::new(Vec::new());
        // stands in for the remote: stores the first object only
        let fetch = |missing: &[(gix::bstr::BString, Pointer)]| {
            batches.borrow_mut().push(missing.len());
            store.insert_bytes(b"first file").unwrap();
        };
        let mut input = Vec::new();
        let mut w = PktWriter::new(&mut input);
        for list in
            [&["git-filter-client", "version=2"][..], &["capability=smudge", "capability=delay"]]
        {
            for l in list {
                w.text(l).unwrap();
            }
            w.flush_packet().unwrap();
        }
        for (path, pointer) in [("a.bin", &pa), ("b.bin", &pb)] {
            for l in ["command=smudge", &format!("pathname={path}"), "can-delay=1"] {
                w.text(l).unwrap();
            }
            w.flush_packet().unwrap();
            w.content(pointer.as_bytes()).unwrap();
        }
        for _ in 0..2 {
            w.text("command=list_available_blobs").unwrap();
            w.flush_packet().unwrap();
        }
        for path in ["a.bin", "b.bin"] {
            w.text("command=smudge").unwrap();
            w.text(&format!("pathname={path}")).unwrap();
            w.flush_packet().unwrap();
            w.flush_packet().unwrap(); // no content the second time
        }
        let mut filter = Filter::new(&store, Journal::session(dir.path().join("pending")), 1 << 20);
        filter.delay = Some(super::super::delay::Delay::new(&fetch));
        let mut out = Vec::new();
        serve(&input[..], &mut out, &mut filter).unwrap();
        drop(filter);
        let mut r = PktReader::new(&out[..]);
        let mut lists = Vec::new();
        while let Some(list) = r.read_list().unwrap() {
            lists.push(list);
        }
        assert_eq!(lists[1], vec!["capability=smudge", "capability=delay"]);
        assert_eq!(lists[2], vec!["status=delayed"]);
        assert_eq!(lists[3], vec!["status=delayed"]);
        assert_eq!(lists[4], vec!["pathname=a.bin", "pathname=b.bin"]);
        assert_eq!(lists[5], vec!["status=success"]);
        assert!(lists[6].is_empty(), "then nothing is delayed any more");
        assert_eq!(lists[7], vec!["status=success"]);
        assert_eq!(lists[8], vec!["status=success"]);
        assert_eq!(lists[9], vec!["first file"]);
        // an object the batch could not get: its pointer, journaled for the hook
        assert_eq!(lists[12], vec![pb.trim_end().to_string()]);
        assert_eq!(*batches.borrow(), vec![2], "one batch for both");
        let pending =
            crate::store::state::pending::find(&dir.path().join("pending"), true).unwrap().entries;
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].path, b"b.bin");
    }

    #[test]
    fn clean_of_pointer_and_empty_is_identity() {
        let dir = tempfile::tempdir().unwrap();
        let p = Pointer::new(crate::oid::Oid::of_bytes(b"x"), 1).encode();
        let input = session(&[("clean", "a", p.as_bytes()), ("clean", "e", b"")]);
        let lists = run(dir.path(), &input, 0);
        assert_eq!(lists[3], vec![p.trim_end().to_string()]);
        assert!(lists[6].is_empty(), "empty file stays empty: {:?}", lists[6]);
    }
}
