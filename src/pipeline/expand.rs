//! `vars`, `foreach` and `matrix`: one `dvc.yaml` stage entry becomes one or more named
//! stage bodies with every `${…}` rendered.
//!
//! Names: `name@item` for a list of scalars, `name@key` for a map, `name@0`, `name@1`, … for a
//! list of maps or lists; a matrix stage is `name@a-b` with one part per matrix key in the
//! order written (a part that is not a scalar is `{key}{index}`). Invariants: a variable is
//! defined once (vars that redefine one are refused, naming it); `item` and `key` shadow
//! everything else; every produced name is unique.

use super::error::PipelineError;
use super::template::{Scope, render, scalar_text};
use serde_yaml::{Mapping, Value};

/// Reads a vars file, named relative to the pipeline's folder, into its tree: from the work
/// tree, or from a revision for `metrics`/`params` at that revision.
pub(crate) type VarsFiles<'a> = dyn FnMut(&str) -> Result<Value, String> + 'a;

/// Adds the `vars` entries (maps, or files `path` / `path:key1,key2`, read by `files`) to
/// `into`; `who` names the place in errors.
pub(crate) fn add_vars(
    into: &mut Mapping,
    entries: &Value,
    files: &mut VarsFiles<'_>,
    who: &str,
) -> Result<(), String> {
    let Value::Sequence(entries) = entries else {
        return Err(format!("{who}: `vars` must be a list of maps or files"));
    };
    for entry in entries {
        match entry {
            Value::Mapping(m) => merge(into, m, who)?,
            Value::String(spec) => {
                let (file, keys) = match spec.split_once(':') {
                    Some((f, k)) => (f, Some(k.split(',').map(str::trim).collect::<Vec<_>>())),
                    None => (spec.as_str(), None),
                };
                let doc = files(file).map_err(|e| format!("{who}: vars file `{file}`: {e}"))?;
                let Value::Mapping(all) = doc else {
                    return Err(format!("{who}: vars file `{file}` must hold a map"));
                };
                let picked = match keys {
                    None => all,
                    Some(keys) => {
                        let mut m = Mapping::new();
                        for k in keys {
                            let v = all.get(k).ok_or_else(|| {
                                format!("{who}: `{k}` is not in vars file `{file}`")
                            })?;
                            m.insert(Value::String(k.to_string()), v.clone());
                        }
                        m
                    }
                };
                merge(into, &picked, who)?;
            }
            _ => return Err(format!("{who}: each of `vars` must be a map or a file")),
        }
    }
    Ok(())
}

fn merge(into: &mut Mapping, from: &Mapping, who: &str) -> Result<(), String> {
    for (k, v) in from {
        if into.contains_key(k) {
            let name = scalar_text(k).unwrap_or_default();
            return Err(format!("{who}: variable `{name}` is defined twice"));
        }
        into.insert(k.clone(), v.clone());
    }
    Ok(())
}

/// Every stage of the `stages` map, expanded and rendered, in the order written.
pub(crate) fn expand(
    stages: &Mapping,
    globals: &Mapping,
    files: &mut VarsFiles<'_>,
) -> Result<Vec<(String, Value)>, PipelineError> {
    let mut out: Vec<(String, Value)> = Vec::new();
    for (name, body) in stages {
        let name = name.as_str().ok_or_else(|| PipelineError::File {
            file: super::error::PIPELINE_NAME.into(),
            message: format!("stage name `{name:?}` is not text"),
        })?;
        let err = |m: String| PipelineError::stage(name, m);
        if name.is_empty()
            || name.contains(['@', ':', '/', '\\'])
            || name.contains(char::is_whitespace)
        {
            return Err(err("a stage name cannot hold `@`, `:`, `/`, `\\` or spaces".into()));
        }
        let Value::Mapping(body) = body else {
            return Err(err("must be a map of keys (cmd, deps, …)".into()));
        };
        let mut body = body.clone();
        let mut local = Mapping::new();
        if let Some(vars) = body.remove("vars") {
            add_vars(&mut local, &vars, files, &format!("stage `{name}`")).map_err(err)?;
            for k in local.keys() {
                if globals.contains_key(k) {
                    let k = scalar_text(k).unwrap_or_default();
                    return Err(err(format!("variable `{k}` is defined twice")));
                }
            }
        }
        let one = |b: &Mapping, item: &Mapping| -> Result<Value, PipelineError> {
            let layers = [item, &local, globals];
            render(&Value::Mapping(b.clone()), Scope::new(&layers)).map_err(err)
        };
        if let Some(items) = body.remove("foreach") {
            let Some(Value::Mapping(template)) = body.remove("do") else {
                return Err(err("`foreach` needs a `do` map holding the stage".into()));
            };
            if let Some(k) = body.keys().next() {
                let k = scalar_text(k).unwrap_or_default();
                return Err(err(format!("unknown key `{k}` beside `foreach` (only `do`)")));
            }
            let layers = [&local, globals];
            let items = render(&items, Scope::new(&layers)).map_err(err)?;
            for (suffix, scope) in foreach_items(&items).map_err(err)? {
                out.push((format!("{name}@{suffix}"), one(&template, &scope)?));
            }
        } else if let Some(matrix) = body.remove("matrix") {
            let layers = [&local, globals];
            let matrix = render(&matrix, Scope::new(&layers)).map_err(err)?;
            for (suffix, scope) in matrix_items(&matrix).map_err(err)? {
                out.push((format!("{name}@{suffix}"), one(&body, &scope)?));
            }
        } else {
            out.push((name.to_string(), one(&body, &Mapping::new())?));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (name, _) in &out {
        if !seen.insert(name.as_str()) {
            return Err(PipelineError::stage(
                name,
                "is defined twice (check foreach/matrix items)",
            ));
        }
    }
    Ok(out)
}

fn scope_of(pairs: &[(&str, Value)]) -> Mapping {
    pairs.iter().map(|(k, v)| (Value::String(k.to_string()), v.clone())).collect()
}

/// The name suffix and scope (`item`, and `key` for a map) of each `foreach` item.
fn foreach_items(items: &Value) -> Result<Vec<(String, Mapping)>, String> {
    match items {
        Value::Sequence(list) => Ok(list
            .iter()
            .enumerate()
            .map(|(i, v)| {
                (scalar_text(v).unwrap_or_else(|| i.to_string()), scope_of(&[("item", v.clone())]))
            })
            .collect()),
        Value::Mapping(map) => map
            .iter()
            .map(|(k, v)| {
                let key = scalar_text(k).ok_or("a `foreach` map key must be text")?;
                Ok((key.clone(), scope_of(&[("item", v.clone()), ("key", Value::String(key))])))
            })
            .collect(),
        _ => Err("`foreach` must be a list, a map or a `${…}` naming one".into()),
    }
}

/// Every combination of a `matrix` (keys in the order written), as name suffix and scope.
fn matrix_items(matrix: &Value) -> Result<Vec<(String, Mapping)>, String> {
    let Value::Mapping(axes) = matrix else {
        return Err("`matrix` must be a map of lists".into());
    };
    let mut combos: Vec<(Vec<String>, Mapping)> = vec![(Vec::new(), Mapping::new())];
    for (key, values) in axes {
        let key = scalar_text(key).ok_or("a `matrix` key must be text")?;
        let Value::Sequence(values) = values else {
            return Err(format!("`matrix: {key}` must be a list"));
        };
        let mut next = Vec::with_capacity(combos.len() * values.len());
        for (parts, item) in &combos {
            for (i, v) in values.iter().enumerate() {
                let mut parts = parts.clone();
                parts.push(scalar_text(v).unwrap_or_else(|| format!("{key}{i}")));
                let mut item = item.clone();
                item.insert(Value::String(key.clone()), v.clone());
                next.push((parts, item));
            }
        }
        combos = next;
    }
    Ok(combos
        .into_iter()
        .map(|(parts, item)| (parts.join("-"), scope_of(&[("item", Value::Mapping(item))])))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(yaml: &str, globals: &str) -> Result<Vec<(String, Value)>, PipelineError> {
        let stages: Mapping = serde_yaml::from_str(yaml).unwrap();
        let globals: Mapping = serde_yaml::from_str(globals).unwrap();
        expand(&stages, &globals, &mut |f: &str| Err(format!("no file {f} here")))
    }

    fn cmds(out: &[(String, Value)]) -> Vec<(String, String)> {
        out.iter().map(|(n, v)| (n.clone(), v["cmd"].as_str().unwrap().to_string())).collect()
    }

    #[test]
    fn foreach_over_lists_maps_and_vars() {
        let out = run(
            "a:\n  foreach: [x, 2]\n  do: {cmd: 'echo ${item} ${greeting}'}\n\
             b:\n  foreach: ${sets}\n  do: {cmd: 'split ${key} ${item.ratio}'}\n\
             c:\n  foreach: [{n: 1}]\n  do: {cmd: 'n=${item.n}'}\n",
            "greeting: hi\nsets: {train: {ratio: 0.8}, test: {ratio: 0.2}}\n",
        )
        .unwrap();
        let want = [
            ("a@x", "echo x hi"),
            ("a@2", "echo 2 hi"),
            ("b@train", "split train 0.8"),
            ("b@test", "split test 0.2"),
            ("c@0", "n=1"),
        ];
        let want: Vec<_> = want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(cmds(&out), want);
    }

    #[test]
    fn matrix_takes_every_combination_in_order() {
        let out = run(
            "t:\n  matrix: {model: [cnn, mlp], lr: [0.1, 0.01]}\n  cmd: 'fit ${item.model} ${item.lr}'\n  outs: ['${item.model}-${item.lr}.pkl']\n",
            "{}",
        )
        .unwrap();
        let names: Vec<_> = out.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["t@cnn-0.1", "t@cnn-0.01", "t@mlp-0.1", "t@mlp-0.01"]);
        assert_eq!(out[1].1["cmd"], "fit cnn 0.01");
        assert_eq!(out[3].1["outs"][0], "mlp-0.01.pkl");
    }

    #[test]
    fn stage_vars_and_errors() {
        let out = run("s:\n  vars: [{n: 3}]\n  cmd: 'echo ${n}'\n", "{}").unwrap();
        assert_eq!(out[0].1["cmd"], "echo 3");
        let msg = |y: &str, g: &str| run(y, g).unwrap_err().to_string();
        assert_eq!(
            msg("s:\n  vars: [{n: 3}]\n  cmd: x\n", "n: 1"),
            "stage `s`: variable `n` is defined twice"
        );
        assert_eq!(
            msg("s:\n  foreach: [a]\n  do: {cmd: x}\n  cmd: y\n", "{}"),
            "stage `s`: unknown key `cmd` beside `foreach` (only `do`)"
        );
        assert_eq!(
            msg("s:\n  foreach: [a]\n", "{}"),
            "stage `s`: `foreach` needs a `do` map holding the stage"
        );
        assert!(msg("s:\n  cmd: 'echo ${missing}'\n", "{}").contains("`missing` is not defined"));
        assert!(
            msg("s:\n  foreach: [a, a]\n  do: {cmd: x}\n", "{}")
                .contains("`s@a`: is defined twice")
        );
        assert!(msg("'a@b':\n  cmd: x\n", "{}").contains("cannot hold `@`"));
    }
}
