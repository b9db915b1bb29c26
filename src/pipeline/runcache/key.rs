//! The run key of a stage: the SHA-256 of a canonical text of what decides its outputs — its
//! commands, its deps (path and object id), its tracked params (file, key, value) and its
//! outputs (path and `cache` flag).
//!
//! Invariants: the same stage reading the same bytes and values has the same key on every
//! machine (one line per item, in the stage's order for commands, deps and outputs, params
//! sorted by file and key, every text JSON-quoted so no line break or space can forge a line,
//! maps in a param value sorted by key); the `wdir`, the stage's name and anything not
//! declared are not part of it, so environment files (`requirements.txt`, `uv.lock`) must be
//! declared as deps to count.

use crate::oid::Oid;
use crate::pipeline::params::ParamValues;
use crate::pipeline::spec::Stage;
use crate::pipeline::state::Inputs;
use serde_yaml::Value;

/// The first line of the key text: a new format gets a new line, hence new keys.
const HEADER: &str = "git-data run key 1";

/// The key text of `stage` with inputs `now` (see the module doc).
pub(crate) fn text(stage: &Stage, now: &Inputs) -> String {
    let mut out = format!("{HEADER}\n");
    for cmd in &stage.cmds {
        out.push_str(&format!("cmd {}\n", quote(cmd)));
    }
    for dep in &now.deps {
        out.push_str(&format!("dep {} {}\n", dep.sha256, quote(&dep.path)));
    }
    params(&now.params, &mut out);
    for o in &stage.outs {
        let cache = if o.cache { "cache" } else { "plain" };
        out.push_str(&format!("out {cache} {}\n", quote(&o.at.path)));
    }
    out
}

/// The run key of `stage` with inputs `now`: the SHA-256 of [`text`].
pub(crate) fn key(stage: &Stage, now: &Inputs) -> Oid {
    Oid::of_bytes(text(stage, now).as_bytes())
}

fn params(values: &ParamValues, out: &mut String) {
    for (file, keys) in values {
        for (key, value) in keys {
            let mut v = String::new();
            canonical(value, &mut v);
            out.push_str(&format!("param {} {} {v}\n", quote(file), quote(key)));
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// A value as one line of JSON-like text, maps sorted by their keys' text.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(&quote(s)),
        Value::Sequence(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        Value::Mapping(map) => {
            let mut pairs: Vec<(String, String)> = map
                .iter()
                .map(|(k, v)| {
                    let (mut ks, mut vs) = (String::new(), String::new());
                    canonical(k, &mut ks);
                    canonical(v, &mut vs);
                    (ks, vs)
                })
                .collect();
            pairs.sort();
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&format!("{k}:{v}"));
            }
            out.push('}');
        }
        Value::Tagged(t) => {
            out.push_str(&format!("!{} ", quote(&t.tag.to_string())));
            canonical(&t.value, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::lock::PathLock;
    use crate::pipeline::spec::parse_stage;

    fn stage(yaml: &str) -> Stage {
        parse_stage("s", &serde_yaml::from_str(yaml).unwrap(), "").unwrap()
    }

    fn inputs(dep_id: &str, lr: &str) -> Inputs {
        let mut params = ParamValues::new();
        let section: Value = serde_yaml::from_str(&format!("{{b: 2, a: {lr}}}")).unwrap();
        params.entry("params.yaml".into()).or_default().insert("train".into(), section);
        let dep = PathLock { path: "in.csv".into(), sha256: dep_id.into(), size: 1, nfiles: None };
        Inputs { deps: vec![dep], params, pointer_deps: vec![] }
    }

    #[test]
    fn the_text_is_canonical_and_each_part_counts() {
        let s = stage(
            "cmd: [python t.py, echo done]\ndeps: [in.csv]\nparams: [train]\nouts: [m.pkl, {metrics.json: {cache: false}}]\n",
        );
        let id = "ab".repeat(32);
        let want = format!(
            "git-data run key 1\ncmd \"python t.py\"\ncmd \"echo done\"\ndep {id} \"in.csv\"\n\
             param \"params.yaml\" \"train\" {{\"a\":0.1,\"b\":2}}\nout cache \"m.pkl\"\n\
             out plain \"metrics.json\"\n"
        );
        assert_eq!(text(&s, &inputs(&id, "0.1")), want);
        let k = key(&s, &inputs(&id, "0.1"));
        assert_ne!(k, key(&s, &inputs(&id, "0.2")), "a param value");
        assert_ne!(k, key(&s, &inputs(&"cd".repeat(32), "0.1")), "a dep id");
        let other_cmd = stage(
            "cmd: [python t.py, echo Done]\ndeps: [in.csv]\nparams: [train]\nouts: [m.pkl, {metrics.json: {cache: false}}]\n",
        );
        assert_ne!(k, key(&other_cmd, &inputs(&id, "0.1")), "a command");
        let cached = stage(
            "cmd: [python t.py, echo done]\ndeps: [in.csv]\nparams: [train]\nouts: [m.pkl, metrics.json]\n",
        );
        assert_ne!(k, key(&cached, &inputs(&id, "0.1")), "an output's cache flag");
        // the stage's folder is not part of it
        let elsewhere = stage(
            "cmd: [python t.py, echo done]\nwdir: sub\ndeps: [in.csv]\nparams: [train]\nouts: [m.pkl, {metrics.json: {cache: false}}]\n",
        );
        assert_eq!(k, key(&elsewhere, &inputs(&id, "0.1")));
    }
}
