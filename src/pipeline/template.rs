//! `${…}` templating of `dvc.yaml`: values from `vars`, the default `params.yaml` and, inside
//! `foreach` and `matrix`, `item` and `key`, looked up by dotted path (`${train.lr}`,
//! `${layers[0]}`, `${item.size}`).
//!
//! Invariants: a string that is exactly one `${…}` takes the looked-up value with its type
//! (so `foreach: ${models}` gets a list); inside a longer string only scalars may appear and
//! are printed as YAML writes them; `\${` stays a literal `${`. Lookups go through the layers
//! innermost first, so `item` shadows a var of the same name. Nothing is evaluated: there are
//! no expressions beyond lookups.

use serde_yaml::{Mapping, Value};

/// The variables a stage sees, innermost layer first.
#[derive(Clone, Copy)]
pub(crate) struct Scope<'a> {
    layers: &'a [&'a Mapping],
}

impl<'a> Scope<'a> {
    pub(crate) fn new(layers: &'a [&'a Mapping]) -> Self {
        Scope { layers }
    }

    /// The value at a dotted path such as `train.lr`, `layers[0]` or `layers.0`.
    pub(crate) fn lookup(&self, expr: &str) -> Result<&'a Value, String> {
        let segments = segments(expr)?;
        let (first, rest) = segments.split_first().ok_or_else(|| "empty `${}`".to_string())?;
        let mut current = self
            .layers
            .iter()
            .find_map(|layer| layer.get(first.as_str()))
            .ok_or_else(|| format!("`{first}` is not defined (in `${{{expr}}}`)"))?;
        for seg in rest {
            current = child(current, seg)
                .ok_or_else(|| format!("`{seg}` is not defined (in `${{{expr}}}`)"))?;
        }
        Ok(current)
    }
}

/// `a.b[0].c` as `["a", "b", "0", "c"]`.
fn segments(expr: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for part in expr.trim().split('.') {
        let mut rest = part;
        let name_end = rest.find('[').unwrap_or(rest.len());
        out.push(rest[..name_end].to_string());
        rest = &rest[name_end..];
        while let Some(inner) = rest.strip_prefix('[') {
            let close = inner.find(']').ok_or_else(|| format!("unclosed `[` in `${{{expr}}}`"))?;
            out.push(inner[..close].trim().to_string());
            rest = &inner[close + 1..];
        }
        if !rest.is_empty() {
            return Err(format!("cannot read `${{{expr}}}`"));
        }
    }
    if out.iter().any(String::is_empty) {
        return Err(format!("cannot read `${{{expr}}}`: an empty name"));
    }
    Ok(out)
}

fn child<'v>(value: &'v Value, seg: &str) -> Option<&'v Value> {
    match value {
        Value::Mapping(m) => m.get(seg).or_else(|| {
            let n: i64 = seg.parse().ok()?;
            m.get(Value::Number(n.into()))
        }),
        Value::Sequence(s) => s.get(seg.parse::<usize>().ok()?),
        _ => None,
    }
}

/// A scalar as text, the way it reads in YAML (`0.1`, `true`, `cnn`); `None` for lists,
/// maps and null.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Tagged(t) => scalar_text(&t.value),
        Value::Null | Value::Sequence(_) | Value::Mapping(_) => None,
    }
}

/// `value` with every `${…}` in its strings (and map values) replaced; keys stay as written.
pub(crate) fn render(value: &Value, scope: Scope<'_>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => render_str(s, scope)?,
        Value::Sequence(items) => {
            Value::Sequence(items.iter().map(|v| render(v, scope)).collect::<Result<_, _>>()?)
        }
        Value::Mapping(map) => {
            // keys too, as DVC renders them (`- ${dir}/metrics.json: {cache: false}`)
            let mut out = Mapping::with_capacity(map.len());
            for (k, v) in map {
                let key = match k {
                    Value::String(s) => match render_str(s, scope)? {
                        Value::Mapping(_) | Value::Sequence(_) => {
                            return Err(format!("the key `{s}` must be text, not a map or list"));
                        }
                        key => key,
                    },
                    other => other.clone(),
                };
                if out.contains_key(&key) {
                    let shown = scalar_text(&key).unwrap_or_default();
                    return Err(format!("the key `{shown}` appears twice once rendered"));
                }
                out.insert(key, render(v, scope)?);
            }
            Value::Mapping(out)
        }
        other => other.clone(),
    })
}

/// One string: a lone `${x}` keeps x's type; otherwise the scalars are spliced in.
fn render_str(s: &str, scope: Scope<'_>) -> Result<Value, String> {
    if !s.contains("${") {
        return Ok(Value::String(s.to_string()));
    }
    if let Some(expr) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
        && !expr.contains('}')
        && !expr.contains("${")
    {
        return Ok(scope.lookup(expr)?.clone());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("${") {
        if rest[..at].ends_with('\\') {
            out.push_str(&rest[..at - 1]);
            out.push_str("${");
            rest = &rest[at + 2..];
            continue;
        }
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let close = after.find('}').ok_or_else(|| format!("unclosed `${{` in `{s}`"))?;
        let expr = &after[..close];
        let value = scope.lookup(expr)?;
        let text = scalar_text(value).ok_or_else(|| {
            format!("`${{{expr}}}` is a list, a map or null and cannot be part of the text `{s}`")
        })?;
        out.push_str(&text);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(yaml: &str) -> Mapping {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn lookups_by_dotted_path_and_index() {
        let vars = map("train: {lr: 0.1, epochs: 3}\nlayers: [8, 16]\nname: cnn\n");
        let layers = [&vars];
        let scope = Scope::new(&layers);
        let render = |s: &str| render(&Value::String(s.into()), scope);
        assert_eq!(render("python train.py --lr ${train.lr}").unwrap(), "python train.py --lr 0.1");
        assert_eq!(render("${layers[1]}-${layers.0}-${ name }").unwrap(), "16-8-cnn");
        assert_eq!(render("${train.epochs}").unwrap(), Value::Number(3.into()));
        assert_eq!(render("${layers}").unwrap(), serde_yaml::from_str::<Value>("[8, 16]").unwrap());
        assert_eq!(render(r"echo \${HOME}").unwrap(), "echo ${HOME}");
    }

    #[test]
    fn errors_name_the_missing_part() {
        let vars = map("train: {lr: 0.1}\nlist: [1]\n");
        let layers = [&vars];
        let scope = Scope::new(&layers);
        let render = |s: &str| render(&Value::String(s.into()), scope).unwrap_err();
        assert_eq!(
            render("${train.momentum}"),
            "`momentum` is not defined (in `${train.momentum}`)"
        );
        assert_eq!(render("x ${nope}"), "`nope` is not defined (in `${nope}`)");
        assert!(
            render("a ${list} b").contains("cannot be part of the text"),
            "{}",
            render("a ${list} b")
        );
        assert!(render("a ${train.lr").contains("unclosed"));
    }

    #[test]
    fn keys_render_too() {
        let vars = map("dir: eval\nlist: [1]\n");
        let layers = [&vars];
        let scope = Scope::new(&layers);
        let outs: Value = serde_yaml::from_str("- ${dir}/m.json: {cache: false}\n").unwrap();
        let want: Value = serde_yaml::from_str("- eval/m.json: {cache: false}\n").unwrap();
        assert_eq!(render(&outs, scope).unwrap(), want);
        let twice: Value = serde_yaml::from_str("{eval: 1, '${dir}': 2}").unwrap();
        assert!(render(&twice, scope).unwrap_err().contains("`eval` appears twice"));
        let list: Value = serde_yaml::from_str("{'${list}': 1}").unwrap();
        assert!(render(&list, scope).unwrap_err().contains("must be text"));
    }

    #[test]
    fn inner_layers_shadow_outer_ones_and_maps_render_deeply() {
        let outer = map("item: outer\nx: 1\n");
        let inner = map("item: inner\n");
        let layers = [&inner, &outer];
        let value: Value = serde_yaml::from_str("cmd: [\"run ${item} ${x}\"]\nkeep: ${x}").unwrap();
        let out = render(&value, Scope::new(&layers)).unwrap();
        assert_eq!(out, serde_yaml::from_str::<Value>("cmd: [run inner 1]\nkeep: 1").unwrap());
    }
}
