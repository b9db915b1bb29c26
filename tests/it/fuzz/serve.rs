//! The filter-process server (`filter::process::serve`, and the `git-data filter-process`
//! binary) fed arbitrary bytes: after a valid handshake, and as mutations of recorded
//! sessions. It never panics, and what it writes is always a well-formed pkt-line stream,
//! nothing else; well-formed sessions get one answer per request, and clean then smudge
//! gives the content back.

use super::{corpus, mutated};
use crate::crash::group;
use git_data::filter::Filter;
use git_data::filter::pktline::{Packet, PktReader, PktWriter};
use git_data::filter::process::serve;
use git_data::pointer::Pointer;
use git_data::store::Store;
use git_data::store::state::pending::Journal;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::Path;

const TOKENS: &[&[u8]] = &[
    b"0000",
    b"0014command=clean\n",
    b"0015command=smudge\n",
    b"0011pathname=a\n",
    b"000ecan-delay=1\n",
    b"0024command=list_available_blobs\n",
    b"version https://git-lfs.github.com/spec/v1\n",
];

/// The client's handshake: hello and capabilities, as git sends them.
fn handshake() -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = PktWriter::new(&mut out);
    for list in [
        &["git-filter-client", "version=2"][..],
        &["capability=clean", "capability=smudge", "capability=delay"],
    ] {
        for l in list {
            w.text(l).unwrap();
        }
        w.flush_packet().unwrap();
    }
    out
}

/// Runs `serve` in-process on `input` with a fresh cache; returns what it wrote.
fn serve_bytes(dir: &Path, input: &[u8]) -> Vec<u8> {
    let store = Store::new(dir.join("cache"));
    let mut filter = Filter::new(&store, Journal::session(dir.join("pending")), 1 << 20);
    let mut out = Vec::new();
    let _ = serve(input, &mut out, &mut filter);
    out
}

/// The output's lists (packets up to each flush); fails unless it is whole pkt-lines.
fn answers(output: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, TestCaseError> {
    let mut reader = PktReader::new(output);
    let (mut all, mut list) = (Vec::new(), Vec::new());
    loop {
        match reader.read_packet() {
            Ok(None) => break,
            Ok(Some(Packet::Flush)) => all.push(std::mem::take(&mut list)),
            Ok(Some(Packet::Data(d))) => list.push(d.to_vec()),
            Err(e) => {
                return Err(TestCaseError::fail(format!(
                    "output is not pkt-lines: {e}: {output:?}"
                )));
            }
        }
    }
    prop_assert!(list.is_empty(), "output ends inside a list");
    Ok(all)
}

/// Random bytes, or random requests: well-framed packets of protocol words, random bytes and
/// flushes, so that the server's request handling is reached, not only its framing checks.
fn tail() -> impl Strategy<Value = Vec<u8>> {
    const WORDS: [&str; 9] = [
        "command=clean\n",
        "command=smudge\n",
        "command=list_available_blobs\n",
        "command=\n",
        "pathname=a.bin\n",
        "pathname=\n",
        "can-delay=1\n",
        "status=success\n",
        "version https://git-lfs.github.com/spec/v1\n",
    ];
    let packet = prop_oneof![
        2 => Just(None),
        3 => proptest::sample::select(&WORDS[..]).prop_map(|w| Some(w.as_bytes().to_vec())),
        2 => proptest::collection::vec(any::<u8>(), 1..40).prop_map(Some),
    ];
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        proptest::collection::vec(packet, 0..24).prop_map(|packets| {
            let mut out = Vec::new();
            let mut w = PktWriter::new(&mut out);
            for p in packets {
                match p {
                    None => w.flush_packet().unwrap(),
                    Some(d) => w.data(&d).unwrap(),
                }
            }
            out
        }),
    ]
}

proptest! {
    #[test]
    fn never_panics_after_a_valid_handshake(tail in tail()) {
        let dir = tempfile::tempdir().unwrap();
        let output = serve_bytes(dir.path(), &[handshake(), tail].concat());
        let lists = answers(&output)?;
        prop_assert_eq!(&lists[0], &vec![b"git-filter-server\n".to_vec(), b"version=2\n".to_vec()]);
    }

    #[test]
    fn never_panics_on_mutated_sessions(input in mutated("serve", TOKENS)) {
        let dir = tempfile::tempdir().unwrap();
        answers(&serve_bytes(dir.path(), &input))?;
    }

    #[test]
    fn clean_then_smudge_gives_the_content_back(
        files in proptest::collection::vec((0..3000usize, any::<u64>(), any::<bool>()), 1..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let contents: Vec<Vec<u8>> = files
            .iter()
            .map(|(len, seed, pointer)| {
                let data = crate::crash::scenarios::noise(*seed, *len);
                if *pointer { crate::common::pointer_of(&data).into_bytes() } else { data }
            })
            .collect();
        let mut input = handshake();
        let mut w = PktWriter::new(&mut input);
        for (i, data) in contents.iter().enumerate() {
            for l in ["command=clean".to_string(), format!("pathname=f{i}")] {
                w.text(&l).unwrap();
            }
            w.flush_packet().unwrap();
            w.content(data).unwrap();
        }
        let lists = answers(&serve_bytes(dir.path(), &input))?;
        prop_assert_eq!(lists.len(), 2 + 3 * contents.len(), "one answer per request");
        let mut smudges = handshake();
        let mut w = PktWriter::new(&mut smudges);
        for (i, data) in contents.iter().enumerate() {
            let answer = &lists[2 + 3 * i..5 + 3 * i];
            prop_assert_eq!(&answer[0], &vec![b"status=success\n".to_vec()]);
            let pointer = answer[1].concat();
            if !data.is_empty() && Pointer::parse(data).is_err() {
                let want = crate::common::pointer_of(data);
                prop_assert_eq!(&pointer, want.as_bytes());
            } else {
                prop_assert_eq!(&pointer, data, "a pointer and the empty file clean to themselves");
            }
            for l in ["command=smudge".to_string(), format!("pathname=f{i}")] {
                w.text(&l).unwrap();
            }
            w.flush_packet().unwrap();
            w.content(&pointer).unwrap();
        }
        // the same cache: smudge finds what clean stored
        let lists = answers(&serve_bytes(dir.path(), &smudges))?;
        for (i, data) in contents.iter().enumerate() {
            prop_assert_eq!(&lists[3 + 3 * i].concat(), data, "smudge of f{}", i);
        }
    }
}

#[test]
fn every_seed_gets_well_formed_answers() {
    for (name, input) in corpus("serve") {
        let dir = tempfile::tempdir().unwrap();
        let output = serve_bytes(dir.path(), &input);
        let lists = answers(&output).unwrap_or_else(|e| panic!("{name}: {e}"));
        if name == "clean-then-smudge.bin" {
            let data: Vec<u8> = (0..=255u8).cycle().take(10240).collect();
            assert_eq!(lists[6].concat(), data, "{name}: smudge gives back what clean stored");
        }
    }
}

/// The binary, in a repository, fed arbitrary bytes after a handshake: no panic, no hang,
/// and stdout carries only pkt-lines (a stray print would break git's protocol).
#[test]
fn the_filter_process_binary_writes_only_protocol_bytes() {
    let env = crate::common::Env::new();
    let repo = env.project("fp");
    let input_file = env.path("input");
    let cases = (Config::default().cases / 8).max(8);
    let config = Config { cases, source_file: Some(file!()), ..Config::default() };
    let strategy = prop_oneof![
        tail().prop_map(|tail| [handshake(), tail].concat()),
        mutated("serve", TOKENS),
    ];
    let result = TestRunner::new(config).run(&strategy, |input| {
        std::fs::write(&input_file, &input).unwrap();
        let mut cmd = env.command(&repo, "git-data");
        cmd.arg("filter-process").stdin(std::fs::File::open(&input_file).unwrap());
        let run = group::run(cmd, None, std::time::Duration::from_secs(30));
        prop_assert!(!run.timed_out, "hung on {:?}", input);
        prop_assert!(run.code != Some(101) && !run.stderr.contains("panicked"), "{}", run.stderr);
        answers(&run.raw_stdout)?;
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
