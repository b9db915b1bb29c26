//! Property-based fuzzing (proptest) of the parsers that read bytes git-data does not
//! control: the pointer parser, the pkt-line reader and the filter-process server, and the
//! `.gitdata.yaml` reader. Inputs are arbitrary bytes, and mutations of a seed corpus kept
//! in `fixtures/fuzz/<target>/` (each seed is also checked on its own, by the expectation its
//! name states: `ok-*`, `malformed-*`, `not-*`, `bad-*`, …). Failing cases found by proptest
//! are kept in `tests/proptest-regressions/fuzz/` and replayed first on every run.
//!
//! Case counts come from `PROPTEST_CASES` (proptest's default, 256, in CI; a full run sets
//! e.g. `PROPTEST_CASES=100000`).

mod config;
mod pktline;
mod pointer;
mod serve;

use proptest::prelude::*;
use std::path::Path;

/// The seed files of `target`, by file name.
pub(crate) fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fuzz").join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files
}

/// One edit of a seed.
#[derive(Clone, Debug)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize, usize),
    Truncate(usize),
    Token(usize, usize),
    Repeat(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = any::<usize>();
    prop_oneof![
        (at, any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (at, any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        (at, 1..16usize).prop_map(|(i, n)| Edit::Remove(i, n)),
        at.prop_map(Edit::Truncate),
        (at, any::<usize>()).prop_map(|(i, t)| Edit::Token(i, t)),
        (at, 1..64usize).prop_map(|(i, n)| Edit::Repeat(i, n)),
    ]
}

fn apply(seed: &[u8], edits: &[Edit], tokens: &[&[u8]]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for e in edits {
        let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
        match *e {
            Edit::Set(i, b) if !data.is_empty() => {
                let i = i % data.len();
                data[i] = b;
            }
            Edit::Set(..) => {}
            Edit::Insert(i, b) => data.insert(at(i, data.len()), b),
            Edit::Remove(i, n) => {
                let i = at(i, data.len());
                data.drain(i..(i + n).min(data.len()));
            }
            Edit::Truncate(i) => data.truncate(at(i, data.len())),
            Edit::Token(i, t) => {
                let i = at(i, data.len());
                data.splice(i..i, tokens[t % tokens.len()].iter().copied());
            }
            Edit::Repeat(i, n) => {
                let i = at(i, data.len());
                let piece = data[i..(i + n).min(data.len())].to_vec();
                data.splice(i..i, piece);
            }
        }
    }
    data
}

/// Seeds of `target` with up to eight random edits, some of them `tokens` inserted.
pub(crate) fn mutated(
    target: &str,
    tokens: &'static [&'static [u8]],
) -> impl Strategy<Value = Vec<u8>> {
    let seeds: Vec<Vec<u8>> = corpus(target).into_iter().map(|(_, d)| d).collect();
    let n = seeds.len();
    (0..n, proptest::collection::vec(edit(), 0..8))
        .prop_map(move |(i, edits)| apply(&seeds[i], &edits, tokens))
}
