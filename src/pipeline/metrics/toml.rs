//! A small TOML reader for metrics and params files: `[table]` and `[a.b]` headers,
//! `[[array.of.tables]]`, `key = value` with bare, quoted or dotted keys, and values that are
//! strings (basic and literal), integers, floats, booleans, dates (kept as text) and
//! one-line arrays and inline tables. Multi-line strings and arrays are refused by line.
//!
//! Invariant: the result is the same tree a full TOML parser gives for these files, as a YAML
//! value; anything it does not read is an error naming the line, never a silent skip.

use serde_yaml::{Mapping, Value};

pub(crate) fn parse(text: &str) -> Result<Value, String> {
    let mut root = Mapping::new();
    let mut table: Vec<String> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = strip_comment(raw).trim().to_string();
        let err = |m: &str| format!("line {}: {m}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(inner) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
            table = split_key(inner).map_err(|e| err(&e))?;
            let (last, parents) = table.split_last().ok_or_else(|| err("empty table name"))?;
            let parent = descend(&mut root, parents).map_err(|e| err(&e))?;
            let list = parent
                .entry(Value::String(last.clone()))
                .or_insert_with(|| Value::Sequence(Vec::new()));
            let Value::Sequence(items) = list else { return Err(err("not an array of tables")) };
            items.push(Value::Mapping(Mapping::new()));
        } else if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            table = split_key(inner).map_err(|e| err(&e))?;
            descend(&mut root, &table).map_err(|e| err(&e))?;
        } else {
            let (key, value) = line.split_once('=').ok_or_else(|| err("expected `key = value`"))?;
            let mut path = table.clone();
            path.extend(split_key(key).map_err(|e| err(&e))?);
            let (last, parents) = path.split_last().ok_or_else(|| err("empty key"))?;
            let (v, rest) = value_of(value.trim()).map_err(|e| err(&e))?;
            if !rest.trim().is_empty() {
                return Err(err(&format!("unexpected `{}` after the value", rest.trim())));
            }
            descend(&mut root, parents)
                .map_err(|e| err(&e))?
                .insert(Value::String(last.clone()), v);
        }
    }
    Ok(Value::Mapping(root))
}

/// The table at `path` (created as needed); an array of tables stands for its last table.
fn descend<'m>(root: &'m mut Mapping, path: &[String]) -> Result<&'m mut Mapping, String> {
    let mut current = root;
    for part in path {
        let entry = current
            .entry(Value::String(part.clone()))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        current = match entry {
            Value::Mapping(m) => m,
            Value::Sequence(items) => match items.last_mut() {
                Some(Value::Mapping(m)) => m,
                _ => return Err(format!("`{part}` is not a table")),
            },
            _ => return Err(format!("`{part}` is a value, not a table")),
        };
    }
    Ok(current)
}

fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '#') => return &line[..i],
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
    }
    line
}

fn split_key(key: &str) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    let mut rest = key.trim();
    loop {
        let (part, after) = if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').ok_or("an unclosed quoted key")?;
            (r[..end].to_string(), r[end + 1..].trim_start())
        } else if let Some(r) = rest.strip_prefix('\'') {
            let end = r.find('\'').ok_or("an unclosed quoted key")?;
            (r[..end].to_string(), r[end + 1..].trim_start())
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            let part = rest[..end].trim();
            if part.is_empty() || !part.chars().all(|c| c.is_alphanumeric() || "-_".contains(c)) {
                return Err(format!("`{part}` is not a key"));
            }
            (part.to_string(), &rest[end..])
        };
        parts.push(part);
        match after.strip_prefix('.') {
            Some(r) => rest = r.trim_start(),
            None if after.is_empty() => return Ok(parts),
            None => return Err(format!("unexpected `{after}` in a key")),
        }
    }
}

/// One value at the start of `s`; returns it and what follows.
fn value_of(s: &str) -> Result<(Value, &str), String> {
    if let Some(r) = s.strip_prefix('"') {
        if r.starts_with("\"\"") {
            return Err("multi-line strings are not read".into());
        }
        let mut out = String::new();
        let mut chars = r.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Ok((Value::String(out), &r[i + 1..])),
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(c @ ('"' | '\\')) => out.push(c),
                    other => return Err(format!("unknown escape `\\{}`", other.unwrap_or(' '))),
                },
                c => out.push(c),
            }
        }
        return Err("an unclosed string".into());
    }
    if let Some(r) = s.strip_prefix('\'') {
        let end = r.find('\'').ok_or("an unclosed string")?;
        return Ok((Value::String(r[..end].to_string()), &r[end + 1..]));
    }
    if let Some(mut r) = s.strip_prefix('[') {
        let mut items = Vec::new();
        loop {
            r = r.trim_start();
            if let Some(after) = r.strip_prefix(']') {
                return Ok((Value::Sequence(items), after));
            }
            let (v, after) = value_of(r)?;
            items.push(v);
            r = after.trim_start();
            r = r.strip_prefix(',').unwrap_or(r);
            if r.is_empty() {
                return Err("multi-line arrays are not read".into());
            }
        }
    }
    if let Some(mut r) = s.strip_prefix('{') {
        let mut map = Mapping::new();
        loop {
            r = r.trim_start();
            if let Some(after) = r.strip_prefix('}') {
                return Ok((Value::Mapping(map), after));
            }
            let (key, after) = r.split_once('=').ok_or("expected `key = value` in `{…}`")?;
            let (v, after) = value_of(after.trim_start())?;
            let path = split_key(key)?;
            let (last, parents) = path.split_last().ok_or("empty key")?;
            descend(&mut map, parents)?.insert(Value::String(last.clone()), v);
            r = after.trim_start();
            r = r.strip_prefix(',').unwrap_or(r);
        }
    }
    let end = s.find([',', ']', '}']).unwrap_or(s.len());
    let (word, rest) = (s[..end].trim(), &s[end..]);
    let v = match word {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "inf" | "+inf" | "-inf" | "nan" | "+nan" | "-nan" => Value::String(word.to_string()),
        w => {
            let plain = w.replace('_', "");
            if let Ok(i) = plain.parse::<i64>() {
                Value::Number(i.into())
            } else if let Ok(f) = plain.parse::<f64>() {
                Value::Number(f.into())
            } else if w.starts_with(|c: char| c.is_ascii_digit()) && w.contains('-') {
                Value::String(w.to_string()) // a date or a time
            } else {
                return Err(format!("`{w}` is not a TOML value"));
            }
        }
    };
    Ok((v, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tables_keys_and_values() {
        let v = parse(
            "# run\ntitle = \"a # b\" # note\n[train]\nlr = 0.01\nepochs = 1_000\nok = true\n\
             [eval.\"test set\"]\nacc = 0.9\nsizes = [1, 2, 3]\npt = { x = 1, y.z = 'q' }\n\
             [[runs]]\nid = 1\n[[runs]]\nid = 2\nwhen = 2024-01-02\n",
        )
        .unwrap();
        let mut flat = super::super::formats::Flat::new();
        super::super::formats::flatten("", &v, &mut flat);
        let got: Vec<String> = flat.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            got,
            [
                "eval.test set.acc=0.9",
                "eval.test set.pt.x=1",
                "eval.test set.pt.y.z=q",
                "eval.test set.sizes.0=1",
                "eval.test set.sizes.1=2",
                "eval.test set.sizes.2=3",
                "runs.0.id=1",
                "runs.1.id=2",
                "runs.1.when=2024-01-02",
                "title=a # b",
                "train.epochs=1000",
                "train.lr=0.01",
                "train.ok=true",
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(parse("a = 1\nb = \n").unwrap_err(), "line 2: `` is not a TOML value");
        assert!(parse("a = [1,\n2]\n").unwrap_err().starts_with("line 1: multi-line arrays"));
        assert!(parse("x\n").unwrap_err().starts_with("line 1: expected `key = value`"));
    }
}
