//! `repro --set KEY=VALUE`: one param changed in its file before the run, like DVC's
//! `exp run --set-param`. KEY is `section.key` (in the pipeline folder's `params.yaml`) or
//! `file.yaml:section.key` (a file relative to the pipeline folder); VALUE is read as a YAML
//! scalar (`0.01` a number, `true` a bool, `adam` a string, `'1'` the string "1").
//!
//! YAML files are edited in place: only the value on the line holding the key changes, so the
//! other lines, their order and comments (the one after the value too) stay as written. That
//! needs the key on a line of its own in block style (`lr: 0.1` under `train:`); a key in
//! flow style (`train: {lr: 0.1}`), in a list, or holding a map or a multi-line value is
//! refused with the line to edit by hand, never rewritten wholesale (a rewrite would drop the
//! comments). JSON files are rewritten whole, keys in their order, two-space indent.
//!
//! Invariants: the new text is parsed back and must equal the old document with just that
//! value changed; every assignment is worked out before any file is written, so one refused
//! leaves all files as they were; a key that is not in the file is refused (`--set`
//! changes params, it does not add them); the file is replaced atomically (temp + rename).

use super::params::{lookup, read_file};
use serde_yaml::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub(crate) enum SetError {
    #[error("--set {0}: expected KEY=VALUE, as in `--set train.lr=0.01`")]
    Syntax(String),
    #[error("--set {arg}: the value must be a number, bool or string, not a list or map")]
    NotScalar { arg: String },
    #[error(
        "--set {arg}: `{file}` is outside the repository: name a params file of this \
         repository, relative to the folder of dvc.yaml"
    )]
    Outside { arg: String, file: String },
    #[error("--set {arg}: cannot read {}: {message}", file.display())]
    Read { arg: String, file: PathBuf, message: String },
    #[error("--set {arg}: there is no key `{key}` in {}", file.display())]
    NoKey { arg: String, key: String, file: PathBuf },
    #[error(
        "--set {arg}: `{key}` in {} is not on a line of its own in block style (`key: value`), \
         so it cannot be changed without rewriting the file and losing its comments: edit it \
         by hand",
        file.display()
    )]
    NotSimple { arg: String, key: String, file: PathBuf },
    #[error("--set {arg}: cannot write {}: {source}", file.display())]
    Write { arg: String, file: PathBuf, source: std::io::Error },
}

/// One `--set`: the file (from the repository root), the dotted key, the new value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Assignment {
    pub arg: String,
    pub file: String,
    pub key: String,
    pub value: Value,
}

/// Reads `KEY=VALUE` for the pipeline in folder `dir` (from the repository root).
pub(crate) fn parse(arg: &str, dir: &str) -> Result<Assignment, SetError> {
    let (key, raw) = arg.split_once('=').ok_or_else(|| SetError::Syntax(arg.into()))?;
    let (file, key) = match key.split_once(':') {
        Some((file, key)) if [".yaml", ".yml", ".json"].iter().any(|e| file.ends_with(e)) => {
            (file, key)
        }
        _ => (super::spec::DEFAULT_PARAMS, key),
    };
    if key.is_empty() || key.starts_with('.') || key.ends_with('.') {
        return Err(SetError::Syntax(arg.into()));
    }
    let value: Value = match raw.trim() {
        "" => Value::String(String::new()),
        text => serde_yaml::from_str(text).unwrap_or_else(|_| Value::String(raw.into())),
    };
    if matches!(value, Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_)) {
        return Err(SetError::NotScalar { arg: arg.into() });
    }
    let Some(file) = super::spec::join_path(dir, file) else {
        return Err(SetError::Outside { arg: arg.into(), file: file.into() });
    };
    Ok(Assignment { arg: arg.into(), file, key: key.into(), value })
}

/// Writes every assignment under `root`: all are worked out in memory first (in order, so two
/// keys of one file both apply), and files are written only if every one succeeded. For each
/// assignment, whether it changed its file (`false`: the file already held that value).
pub(crate) fn apply(
    root: &Path,
    sets: &[Assignment],
    tmp_dir: &Path,
) -> Result<Vec<bool>, SetError> {
    let mut files: Vec<(PathBuf, String, bool)> = Vec::new();
    let mut changed = Vec::with_capacity(sets.len());
    for a in sets {
        let file = root.join(&a.file);
        let at = match files.iter().position(|(p, ..)| *p == file) {
            Some(at) => at,
            None => {
                read_file(&file).map_err(|message| read_err(a, &file, message))?; // refuses TOML
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| read_err(a, &file, e.to_string()))?;
                files.push((file.clone(), text, false));
                files.len() - 1
            }
        };
        let edited = edit(&files[at].1, &file, a)?;
        changed.push(edited.is_some());
        if let Some(text) = edited {
            files[at] = (file, text, true);
        }
    }
    for (file, text, _) in files.iter().filter(|f| f.2) {
        let access = crate::fs::textfile::Access::Shared;
        crate::fs::textfile::replace(file, text.as_bytes(), tmp_dir, access).map_err(|source| {
            SetError::Write { arg: sets[0].arg.clone(), file: file.clone(), source }
        })?;
    }
    Ok(changed)
}

/// What to tell of `sets` before the run: a key set twice (the last value wins), a key no
/// stage of `stages` reads (see [`tracked`]; `pipeline_text` is `dvc.yaml`'s).
pub(crate) fn notes(
    sets: &[Assignment],
    stages: &[super::spec::Stage],
    pipeline_text: &str,
) -> Vec<String> {
    let mut notes = Vec::new();
    for (n, a) in sets.iter().enumerate() {
        if sets[n + 1..].iter().any(|b| b.file == a.file && b.key == a.key) {
            notes.push(format!(
                "--set {}: `{}` is set again later; the last value wins",
                a.arg, a.key
            ));
        } else if !tracked(a, stages, pipeline_text) {
            notes.push(format!(
                "--set {}: no stage of {} reads `{}` of {}, so it makes nothing run (list it \
                 under a stage's `params`)",
                a.arg,
                super::PIPELINE_NAME,
                a.key,
                a.file
            ));
        }
    }
    notes
}

/// Whether a stage of `stages` reads the param `a` sets: a `params` entry of its file naming
/// the key, a section holding it or the whole file, or a `${…}` of `pipeline_text` naming the
/// key or a section holding it (a templated value is tracked through the command).
fn tracked(a: &Assignment, stages: &[super::spec::Stage], pipeline_text: &str) -> bool {
    let covers = |k: &str| a.key == k || a.key.starts_with(&format!("{k}."));
    let declared = stages.iter().flat_map(|s| &s.params).any(|p| {
        p.file.repo == a.file && p.keys.as_ref().is_none_or(|keys| keys.iter().any(|k| covers(k)))
    });
    let mut prefix = String::new();
    let templated = a.key.split('.').any(|part| {
        if !prefix.is_empty() {
            prefix.push('.');
        }
        prefix.push_str(part);
        pipeline_text.contains(&format!("${{{prefix}}}"))
    });
    declared || templated
}

fn read_err(a: &Assignment, file: &Path, message: String) -> SetError {
    SetError::Read { arg: a.arg.clone(), file: file.to_path_buf(), message }
}

/// The text of `file` (now `text`) with `a` applied; `None` when it already holds the value.
fn edit(text: &str, file: &Path, a: &Assignment) -> Result<Option<String>, SetError> {
    let doc: Value = match text.trim() {
        "" => Value::Mapping(Default::default()),
        _ => serde_yaml::from_str(text).map_err(|e| read_err(a, file, e.to_string()))?,
    };
    let no_key = || SetError::NoKey { arg: a.arg.clone(), key: a.key.clone(), file: file.into() };
    if *lookup(&doc, &a.key).ok_or_else(no_key)? == a.value {
        return Ok(None);
    }
    let mut want = doc.clone();
    *lookup_mut(&mut want, &a.key).ok_or_else(no_key)? = a.value.clone();
    if file.extension().is_some_and(|e| e == "json") {
        let mut t =
            serde_json::to_string_pretty(&want).map_err(|e| read_err(a, file, e.to_string()))?;
        t.push('\n');
        return Ok(Some(t));
    }
    let not_simple =
        || SetError::NotSimple { arg: a.arg.clone(), key: a.key.clone(), file: file.into() };
    let edited = edit_block_yaml(text, &a.key, &a.value).ok_or_else(not_simple)?;
    match serde_yaml::from_str::<Value>(&edited) {
        Ok(back) if back == want => Ok(Some(edited)),
        _ => Err(not_simple()),
    }
}

/// [`lookup`] for writing: the same key resolution (a whole key with dots first).
fn lookup_mut<'v>(doc: &'v mut Value, key: &str) -> Option<&'v mut Value> {
    if doc.get(key).is_some() {
        return doc.get_mut(key);
    }
    let (head, rest) = key.split_once('.')?;
    lookup_mut(doc.get_mut(head)?, rest)
}

/// `text` with the scalar on the line holding `key` replaced by `value`; `None` when the key
/// is not found on a block-style line of its own with a one-line scalar.
fn edit_block_yaml(text: &str, key: &str, value: &Value) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let at = locate(&lines, 0, lines.len(), None, key)?;
    let line = lines[at];
    let body = line.trim_end_matches(['\n', '\r']);
    let ending = &line[body.len()..];
    let colon = key_end(body.trim_start())? + (body.len() - body.trim_start().len());
    let after = &body[colon + 1..];
    let (old, comment) = split_comment(after);
    let old = old.trim();
    // a quoted one-line string may be replaced; flow, block, anchor and tag values may not
    let quoted = old.starts_with(['"', '\'']) && old.len() > 1 && old.ends_with(&old[..1]);
    if !quoted && (old.is_empty() || old.starts_with(['{', '[', '|', '>', '&', '*', '!'])) {
        return None;
    }
    let rendered = serde_yaml::to_string(value).ok()?;
    let rendered = rendered.trim_end();
    if rendered.contains('\n') {
        return None;
    }
    let mut out = String::with_capacity(text.len() + rendered.len());
    lines[..at].iter().for_each(|l| out.push_str(l));
    out.push_str(&body[..=colon]);
    out.push(' ');
    out.push_str(rendered);
    if !comment.is_empty() {
        // keep the comment where it was, or one space after a longer value
        let pad = (after.trim_end().len() - comment.len()).saturating_sub(1 + rendered.len());
        out.push_str(&" ".repeat(pad.max(1)));
        out.push_str(comment);
    }
    out.push_str(ending);
    lines[at + 1..].iter().for_each(|l| out.push_str(l));
    Some(out)
}

/// The line of `key` among `lines[start..end]`, a block whose keys are indented more than
/// `parent` (a dotted key is looked up whole first, then part by part, as `lookup` does).
fn locate(
    lines: &[&str],
    start: usize,
    end: usize,
    parent: Option<usize>,
    key: &str,
) -> Option<usize> {
    let mut indent = None;
    let mut i = start;
    while i < end {
        let line = lines[i].trim_end_matches(['\n', '\r']);
        let text = line.trim_start();
        let here = line.len() - text.len();
        if text.is_empty() || text.starts_with('#') || text == "---" {
            i += 1;
            continue;
        }
        if parent.is_some_and(|p| here <= p) {
            return None;
        }
        let level = *indent.get_or_insert(here);
        if here != level {
            i += 1;
            continue;
        }
        let name = unquote(&text[..key_end(text)?]);
        if name == key {
            return Some(i);
        }
        if let Some(rest) = key.strip_prefix(name.as_str()).and_then(|r| r.strip_prefix('.')) {
            let block_end = (i + 1..end)
                .find(|&j| {
                    let l = lines[j].trim_end_matches(['\n', '\r']);
                    let t = l.trim_start();
                    !t.is_empty() && !t.starts_with('#') && l.len() - t.len() <= here
                })
                .unwrap_or(end);
            if let Some(found) = locate(lines, i + 1, block_end, Some(here), rest) {
                return Some(found);
            }
        }
        i += 1;
    }
    None
}

/// Where the key of a `key: value` line ends (its colon).
fn key_end(text: &str) -> Option<usize> {
    if text.starts_with("- ") || text == "-" {
        return None;
    }
    let bytes = text.as_bytes();
    if let Some(q @ (b'"' | b'\'')) = bytes.first().copied() {
        let close = text[1..].find(q as char)? + 1;
        return (bytes.get(close + 1) == Some(&b':')).then_some(close + 1);
    }
    (0..bytes.len())
        .find(|&i| bytes[i] == b':' && matches!(bytes.get(i + 1), None | Some(b' ') | Some(b'\t')))
}

fn unquote(key: &str) -> String {
    let k = key.trim();
    match k.as_bytes().first() {
        Some(b'"' | b'\'') if k.len() > 1 => k[1..k.len() - 1].to_string(),
        _ => k.to_string(),
    }
}

/// Splits `value  # comment` into the value and the comment (from `#`); quotes respected.
fn split_comment(after: &str) -> (&str, &str) {
    let mut quote = None;
    let bytes = after.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), c) if c == q => quote = None,
            (None, b'#') if i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t' => {
                return (&after[..i], &after[i..]);
            }
            _ => {}
        }
    }
    (after, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, key: &str, value: &str) -> Option<String> {
        edit_block_yaml(text, key, &serde_yaml::from_str(value).unwrap())
    }

    #[test]
    fn edits_only_the_value_keeping_comments() {
        let text = "# top\nprepare:\n  rows: 15000  # rows kept\ntrain:\n  lr: 0.1\n  nested:\n    lr: 5\nlr: 1\n";
        assert_eq!(
            set(text, "train.lr", "0.01").unwrap(),
            "# top\nprepare:\n  rows: 15000  # rows kept\ntrain:\n  lr: 0.01\n  nested:\n    lr: 5\nlr: 1\n"
        );
        assert_eq!(
            set(text, "prepare.rows", "9").unwrap(),
            "# top\nprepare:\n  rows: 9      # rows kept\ntrain:\n  lr: 0.1\n  nested:\n    lr: 5\nlr: 1\n"
        );
        assert!(set(text, "train.nested.lr", "6").unwrap().contains("    lr: 6\nlr: 1\n"));
        assert!(set(text, "lr", "2").unwrap().ends_with("    lr: 5\nlr: 2\n"));
        assert_eq!(set("a.b: 1\n", "a.b", "2").unwrap(), "a.b: 2\n");
        assert_eq!(set("s: 'x'\n", "s", "y").unwrap(), "s: y\n");
        assert_eq!(set("train: {lr: 0.1}\n", "train.lr", "2"), None);
        assert_eq!(set("train:\n  lr: 0.1\n", "train", "2"), None);
        assert_eq!(set("l:\n- lr: 1\n", "l.0.lr", "2"), None);
    }

    #[test]
    fn parses_keys_files_and_scalars() {
        let a = parse("train.lr=0.01", "pipe").unwrap();
        assert_eq!((a.file.as_str(), a.key.as_str()), ("pipe/params.yaml", "train.lr"));
        assert_eq!(a.value, Value::from(0.01));
        let a = parse("conf/p.json:seed=true", "").unwrap();
        assert_eq!(
            (a.file.as_str(), a.key.as_str(), a.value),
            ("conf/p.json", "seed", Value::Bool(true))
        );
        assert_eq!(parse("opt=adam", "").unwrap().value, Value::String("adam".into()));
        assert!(matches!(parse("lr", ""), Err(SetError::Syntax(_))));
        assert!(matches!(parse("lr=[1, 2]", ""), Err(SetError::NotScalar { .. })));
        for outside in ["../p.yaml:lr=1", "/etc/p.yaml:lr=1"] {
            let e = parse(outside, "").unwrap_err();
            assert!(e.to_string().contains("is outside the repository"), "{e}");
        }
        assert_eq!(parse("../p.yaml:lr=1", "pipe").unwrap().file, "p.yaml");
    }

    #[test]
    fn applies_all_or_nothing_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let tmp = root.join("tmp");
        let one = |a: &str| apply(root, &[parse(a, "").unwrap()], &tmp);
        std::fs::write(root.join("params.yaml"), "train:  # section\n  lr: 0.1 # rate\n  n: 1\n")
            .unwrap();
        let both = [parse("train.lr=0.5", "").unwrap(), parse("train.n=2", "").unwrap()];
        assert_eq!(apply(root, &both, &tmp).unwrap(), [true, true]);
        let text = std::fs::read_to_string(root.join("params.yaml")).unwrap();
        assert_eq!(text, "train:  # section\n  lr: 0.5 # rate\n  n: 2\n");
        assert_eq!(one("train.lr=0.5").unwrap(), [false]);
        // one bad assignment: nothing is written, not even the good one before it
        let mixed = [parse("train.lr=0.7", "").unwrap(), parse("train.mom=1", "").unwrap()];
        let e = apply(root, &mixed, &tmp).unwrap_err();
        assert!(e.to_string().contains("there is no key `train.mom` in"), "{e}");
        assert_eq!(std::fs::read_to_string(root.join("params.yaml")).unwrap(), text);
        std::fs::write(root.join("flow.yaml"), "train: {lr: 0.1}\n").unwrap();
        let e = one("flow.yaml:train.lr=2").unwrap_err();
        assert!(e.to_string().contains("edit it by hand"), "{e}");
        std::fs::write(root.join("p.json"), "{\"z\": 1, \"a\": {\"b\": 2}}").unwrap();
        assert_eq!(one("p.json:a.b=3").unwrap(), [true]);
        let text = std::fs::read_to_string(root.join("p.json")).unwrap();
        assert_eq!(text, "{\n  \"z\": 1,\n  \"a\": {\n    \"b\": 3\n  }\n}\n");
    }
}
