//! Snapshots side by side: the rows of `show` (one column per revision), of `diff` (old, new
//! and the change) and of `log` (one row per commit, one column per key), and the numeric
//! change printed with no more digits than its operands have.
//!
//! Invariant: a cell is the value's text ([`super::formats::scalar`]); `-` is a file whose object is not
//! local, `!` a file that does not parse, and an empty cell a key absent at that revision.

use super::collect::{FileVals, Snapshot};
use serde::Serialize;
use std::collections::BTreeSet;

/// One row: a file, a key, a cell per column.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub path: String,
    pub key: String,
    pub cells: Vec<Option<String>>,
}

/// The cell of `path`/`key` in `snap`.
pub(crate) fn cell(snap: &Snapshot, path: &str, key: &str) -> Option<String> {
    match snap.get(path)? {
        FileVals::Values(flat) => flat.get(key).cloned(),
        FileVals::NotLocal(_) => Some("-".into()),
        FileVals::Bad(_) => Some("!".into()),
    }
}

/// Every (path, key) of the snapshots, sorted; a file with no readable values at any of them
/// gets one row with an empty key.
pub(crate) fn keys(snaps: &[&Snapshot]) -> Vec<(String, String)> {
    let mut out = BTreeSet::new();
    let mut paths = BTreeSet::new();
    for snap in snaps {
        for (path, vals) in snap.iter() {
            paths.insert(path.clone());
            if let FileVals::Values(flat) = vals {
                out.extend(flat.keys().map(|k| (path.clone(), k.clone())));
            }
        }
    }
    for p in paths {
        if !out.iter().any(|(q, _)| *q == p) {
            out.insert((p, String::new()));
        }
    }
    out.into_iter().collect()
}

/// The rows of `show`: one cell per snapshot.
pub(crate) fn show(snaps: &[&Snapshot]) -> Vec<Row> {
    keys(snaps)
        .into_iter()
        .map(|(path, key)| {
            let cells = snaps.iter().map(|s| cell(s, &path, &key)).collect();
            Row { path, key, cells }
        })
        .collect()
}

/// The rows of `diff`: old, new and change (a numeric delta, else `changed`/`added`/
/// `deleted`); unchanged rows only with `all` (their change empty).
pub(crate) fn diff(old: &Snapshot, new: &Snapshot, all: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    for (path, key) in keys(&[old, new]) {
        let (a, b) = (cell(old, &path, &key), cell(new, &path, &key));
        if a == b && !all {
            continue;
        }
        let change = match (&a, &b) {
            (x, y) if x == y => None,
            (Some(x), Some(y)) => Some(delta(x, y).unwrap_or_else(|| "changed".into())),
            (None, Some(_)) => Some("added".into()),
            (Some(_), None) => Some("deleted".into()),
            (None, None) => None,
        };
        rows.push(Row { path, key, cells: vec![a, b, change] });
    }
    rows
}

/// `new - old` when both are numbers, with as many decimals as the more precise operand
/// (`0.91 - 0.85` is `0.06`, not `0.06000000000000005`), trailing zeros dropped.
pub(crate) fn delta(old: &str, new: &str) -> Option<String> {
    let (a, b) = (number(old)?, number(new)?);
    let d = b - a;
    if old.contains(['e', 'E']) || new.contains(['e', 'E']) {
        return Some(format!("{d}"));
    }
    let places = decimals(old).max(decimals(new));
    let mut text = format!("{d:.places$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    if text == "-0" {
        text = "0".into();
    }
    Some(text)
}

/// The value of a number cell (not `true`, `nan` or a date).
pub(crate) fn number(s: &str) -> Option<f64> {
    let ok = s.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
        && s.bytes().any(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn decimals(s: &str) -> usize {
    s.split_once('.').map_or(0, |(_, frac)| frac.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_have_the_fewest_digits() {
        assert_eq!(delta("0.85", "0.91").as_deref(), Some("0.06"));
        assert_eq!(delta("0.3", "0.1").as_deref(), Some("-0.2"));
        assert_eq!(delta("10", "12").as_deref(), Some("2"));
        assert_eq!(delta("1.50", "1.5").as_deref(), Some("0"));
        assert_eq!(delta("0.125", "0.5").as_deref(), Some("0.375"));
        assert_eq!(delta("1e-3", "2e-3").as_deref(), Some("0.001"));
        assert_eq!(delta("a", "1"), None);
        assert_eq!(delta("2024-01-02", "2024-01-03"), None);
    }
}
