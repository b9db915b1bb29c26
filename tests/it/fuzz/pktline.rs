//! The pkt-line reader and writer: the reader never panics and never returns a packet git
//! could not have written (1..=65516 payload bytes); a stream it reads whole re-encodes to the
//! same bytes (hex digits aside, which git may write in either case); how the input is split
//! into reads changes nothing; whatever the writer writes reads back the same.

use super::{corpus, mutated};
use git_data::filter::pktline::{MAX_DATA, Packet, PktReader, PktWriter};
use proptest::prelude::*;
use std::io::{self, Read};

const TOKENS: &[&[u8]] = &[b"0000", b"0001", b"0004", b"0005", b"fff0", b"fff1", b"+00a", b"\n"];

/// What a reader makes of a stream: its packets (`None` for a flush), then whether it ended
/// cleanly or with an error (and its kind).
#[derive(Debug, PartialEq)]
struct Reading {
    packets: Vec<Option<Vec<u8>>>,
    end: Result<(), io::ErrorKind>,
}

fn read_all(input: impl Read) -> Reading {
    let mut reader = PktReader::new(input);
    let mut packets = Vec::new();
    let end = loop {
        match reader.read_packet() {
            Ok(None) => break Ok(()),
            Ok(Some(Packet::Flush)) => packets.push(None),
            Ok(Some(Packet::Data(d))) => {
                assert!(!d.is_empty() && d.len() <= MAX_DATA, "impossible packet of {}", d.len());
                packets.push(Some(d.to_vec()));
            }
            Err(e) => break Err(e.kind()),
        }
    };
    Reading { packets, end }
}

fn encode(packets: &[Option<Vec<u8>>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = PktWriter::new(&mut out);
    for p in packets {
        match p {
            None => w.flush_packet().unwrap(),
            Some(d) => w.data(d).unwrap(),
        }
    }
    out
}

/// A reader that hands out at most the next chunk size per read, and is interrupted once
/// in a while (as a read from a pipe may be).
struct Trickle<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    turn: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.turn += 1;
        let size = self.sizes[self.turn % self.sizes.len()];
        if size == 0 {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn check(data: &[u8]) -> Result<(), TestCaseError> {
    let reading = read_all(data);
    if reading.end.is_ok() {
        let again = encode(&reading.packets);
        prop_assert!(again.eq_ignore_ascii_case(data), "read whole but not canonical: {:?}", data);
    }
    Ok(())
}

fn packet() -> impl Strategy<Value = Option<Vec<u8>>> {
    let size = prop_oneof![1..80usize, MAX_DATA - 2..=MAX_DATA];
    prop_oneof![
        1 => Just(None),
        4 => (size, any::<u64>()).prop_map(|(n, seed)| Some(crate::crash::scenarios::noise(seed, n))),
    ]
}

proptest! {
    #[test]
    fn reader_never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        check(&data)?;
    }

    #[test]
    fn reader_on_mutated_streams(data in mutated("pktline", TOKENS)) {
        check(&data)?;
    }

    #[test]
    fn how_the_input_is_split_changes_nothing(
        data in mutated("pktline", TOKENS),
        sizes in proptest::collection::vec(0..70_000usize, 1..8),
    ) {
        prop_assume!(sizes.iter().any(|s| *s > 0));
        let whole = read_all(&data[..]);
        let split = read_all(Trickle { data: &data, sizes, turn: 0 });
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn written_packets_read_back(packets in proptest::collection::vec(packet(), 0..12)) {
        let bytes = encode(&packets);
        prop_assert_eq!(read_all(&bytes[..]), Reading { packets, end: Ok(()) });
    }

    #[test]
    fn content_of_any_length_reads_back(len in prop_oneof![0..10usize, 0..3 * MAX_DATA], seed in any::<u64>()) {
        let data = crate::crash::scenarios::noise(seed, len);
        let (mut whole, mut streamed) = (Vec::new(), Vec::new());
        PktWriter::new(&mut whole).content(&data).unwrap();
        let sent = PktWriter::new(&mut streamed).content_from(&data[..]).unwrap();
        prop_assert_eq!(sent, len as u64);
        prop_assert_eq!(&whole, &streamed);
        let reading = read_all(&whole[..]);
        prop_assert_eq!(reading.end, Ok(()));
        prop_assert_eq!(reading.packets.last(), Some(&None));
        let body = &reading.packets[..reading.packets.len() - 1];
        prop_assert!(body.iter().rev().skip(1).all(|p| p.as_ref().is_some_and(|d| d.len() == MAX_DATA)));
        prop_assert_eq!(body.iter().flatten().flatten().copied().collect::<Vec<u8>>(), data);
    }

    #[test]
    fn lists_and_text_never_panic(data in mutated("pktline", TOKENS)) {
        let mut reader = PktReader::new(&data[..]);
        while let Ok(Some(_)) = reader.read_list() {}
        let mut reader = PktReader::new(&data[..]);
        while reader.read_text().is_ok() {}
    }
}

#[test]
fn every_seed_gives_what_its_name_says() {
    for (name, data) in corpus("pktline") {
        let reading = read_all(&data[..]);
        match name.split('-').next().unwrap() {
            "ok" => assert_eq!(reading.end, Ok(()), "{name}"),
            "bad" => assert!(reading.end.is_err(), "{name}: {reading:?}"),
            other => panic!("{name}: unknown expectation {other:?}"),
        }
        check(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn length_edges() {
    let max = [&b"fff0"[..], &vec![7u8; MAX_DATA]].concat();
    assert_eq!(read_all(&max[..]).packets, vec![Some(vec![7u8; MAX_DATA])]);
    for short in ["0001", "0002", "0003", "0004"] {
        let r = read_all(short.as_bytes());
        assert_eq!(r.end, Err(io::ErrorKind::InvalidData), "{short}");
    }
    let long = [&b"fff1"[..], &vec![7u8; MAX_DATA + 1]].concat();
    assert_eq!(read_all(&long[..]).end, Err(io::ErrorKind::InvalidData));
    for truncated in ["0", "00", "000", "0005", "0009abc"] {
        assert_eq!(
            read_all(truncated.as_bytes()).end,
            Err(io::ErrorKind::UnexpectedEof),
            "{truncated}"
        );
    }
}
