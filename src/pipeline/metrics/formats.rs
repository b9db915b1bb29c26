//! Metrics and params files parsed into flat rows: `key → value`. JSON, YAML, TOML
//! (the `toml` crate) and CSV/TSV (the `csv` crate); nested keys flatten to dotted `a.b.c`,
//! list items to `a.0`.
//! A CSV file is a header and rows: the values of its last row, keyed by column name.
//!
//! Invariants: a value is kept as text (numbers in serde's shortest round-trip form, so never
//! with float noise, though `0.50` becomes `0.5`); a file that cannot be parsed is an error
//! naming the format, never a partial result.

use std::collections::BTreeMap;

/// Flat `key → value text` of one file (keys sorted).
pub(crate) type Flat = BTreeMap<String, String>;

/// The format of a file, by its extension (`.json`, `.yaml`/`.yml`, `.toml`, `.csv`, `.tsv`;
/// anything else is read as YAML, which also reads JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Format {
    Json,
    Yaml,
    Toml,
    Csv(u8),
}

impl Format {
    pub(crate) fn of(path: &str) -> Format {
        let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
        match ext.as_str() {
            "json" => Format::Json,
            "toml" => Format::Toml,
            "csv" => Format::Csv(b','),
            "tsv" => Format::Csv(b'\t'),
            _ => Format::Yaml,
        }
    }
}

/// Parses `data` as `format` into a YAML value (the common tree).
pub(crate) fn parse(format: Format, data: &[u8]) -> Result<serde_yaml::Value, String> {
    let text = std::str::from_utf8(data).map_err(|_| "not UTF-8 text".to_string())?;
    match format {
        Format::Json => {
            let v: serde_json::Value =
                serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
            serde_yaml::to_value(v).map_err(|e| format!("not valid JSON: {e}"))
        }
        Format::Yaml if text.trim().is_empty() => Ok(serde_yaml::Value::Null),
        Format::Yaml => serde_yaml::from_str(text).map_err(|e| format!("not valid YAML: {e}")),
        Format::Toml => toml::from_str(text).map_err(|e| format!("not valid TOML: {e}")),
        Format::Csv(sep) => csv_last_row(text, sep as char),
    }
}

/// Parses and flattens a file.
#[cfg(test)]
pub(crate) fn flat(format: Format, data: &[u8]) -> Result<Flat, String> {
    let mut out = Flat::new();
    flatten("", &parse(format, data)?, &mut out);
    Ok(out)
}

/// Flattens `v` under `prefix` into `out`: maps by `.key`, lists by `.index`.
pub(crate) fn flatten(prefix: &str, v: &serde_yaml::Value, out: &mut Flat) {
    use serde_yaml::Value;
    let join = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
    match v {
        Value::Mapping(m) => {
            for (k, v) in m {
                flatten(&join(&scalar(k)), v, out);
            }
        }
        Value::Sequence(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&join(&i.to_string()), v, out);
            }
        }
        Value::Tagged(t) => flatten(prefix, &t.value, out),
        other => {
            out.insert(prefix.to_string(), scalar(other));
        }
    }
}

/// A scalar's text: numbers in shortest form, bools, strings bare, null as `null`.
pub(crate) fn scalar(v: &serde_yaml::Value) -> String {
    use serde_yaml::Value;
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
    }
}

/// A CSV/TSV file (read by the `csv` crate): header, then rows; the last row's cells by
/// column name. Cells that read as numbers become numbers; blank lines do not count.
fn csv_last_row(text: &str, sep: char) -> Result<serde_yaml::Value, String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sep as u8)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| e.to_string())?.clone();
    if header.is_empty() {
        return Err("an empty CSV file".into());
    }
    for (i, name) in header.iter().enumerate() {
        if header.iter().skip(i + 1).any(|other| other == name) {
            return Err(format!("the column `{name}` appears twice in the header"));
        }
    }
    let mut last = None;
    for record in reader.records() {
        let record = record.map_err(|e| match e.kind() {
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!(
                "a row has {len} cells and the header {expected_len} columns (line {})",
                e.position().map_or(0, |p| p.line())
            ),
            _ => e.to_string(),
        })?;
        last = Some(record);
    }
    let Some(last) = last else {
        return Err("a CSV file with a header and no row".into());
    };
    let mut map = serde_yaml::Mapping::new();
    for (name, cell) in header.iter().zip(last.iter()) {
        let value = match serde_yaml::from_str::<serde_yaml::Value>(cell) {
            Ok(v @ serde_yaml::Value::Number(_)) => v,
            _ => serde_yaml::Value::String(cell.to_string()),
        };
        map.insert(serde_yaml::Value::String(name.to_string()), value);
    }
    Ok(serde_yaml::Value::Mapping(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(f: &Flat) -> Vec<(&str, &str)> {
        f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn nested_keys_flatten_with_dots_and_indexes() {
        let f = flat(
            Format::Json,
            br#"{"acc": 0.91, "loss": {"train": 0.1, "val": [1, 2.5]}, "ok": true, "n": null}"#,
        )
        .unwrap();
        assert_eq!(
            pairs(&f),
            [
                ("acc", "0.91"),
                ("loss.train", "0.1"),
                ("loss.val.0", "1"),
                ("loss.val.1", "2.5"),
                ("n", "null"),
                ("ok", "true")
            ]
        );
        let f = flat(Format::Yaml, b"train:\n  lr: 1e-3\n  name: big\n").unwrap();
        assert_eq!(pairs(&f), [("train.lr", "0.001"), ("train.name", "big")]);
    }

    #[test]
    fn csv_reads_the_last_row_by_column() {
        let f = flat(Format::Csv(b','), b"epoch,acc,note\n1,0.5,x\n2,0.75,\"a,b\"\n\n").unwrap();
        assert_eq!(pairs(&f), [("acc", "0.75"), ("epoch", "2"), ("note", "a,b")]);
        let f = flat(Format::Csv(b'\t'), b"a\tb\n1\t2\n").unwrap();
        assert_eq!(pairs(&f), [("a", "1"), ("b", "2")]);
        assert!(flat(Format::Csv(b','), b"a,b\n1\n").unwrap_err().contains("1 cells"));
        let twice = flat(Format::Csv(b','), b"a,a\n1,2\n").unwrap_err();
        assert_eq!(twice, "the column `a` appears twice in the header");
        // a quoted cell may hold the separator, a doubled quote and a line break
        let f = flat(Format::Csv(b','), b"acc,note\r\n0.5,\"say \"\"hi\"\",\nthen\"\r\n").unwrap();
        assert_eq!(pairs(&f), [("acc", "0.5"), ("note", "say \"hi\",\nthen")]);
        assert!(flat(Format::Csv(b','), b"a,b\n").is_err());
    }

    #[test]
    fn formats_by_extension_and_errors_name_the_format() {
        assert_eq!(Format::of("m/x.JSON"), Format::Json);
        assert_eq!(Format::of("x.yml"), Format::Yaml);
        assert_eq!(Format::of("x.toml"), Format::Toml);
        assert_eq!(Format::of("x.tsv"), Format::Csv(b'\t'));
        assert!(flat(Format::Json, b"{").unwrap_err().starts_with("not valid JSON"));
    }
}
