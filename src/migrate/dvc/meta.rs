//! DVC's metadata, read only: `.dvc` files (each output's md5, size and path), `.dvc/config`
//! overlaid with `.dvc/config.local` (cache directory, remotes) and the stages of `dvc.yaml`.
//!
//! Invariants: a `.dvc` file is converted whole or not at all: any output that cannot be
//! converted (an import, `cache: false`, no md5, a hash other than md5, a path outside the
//! repository) keeps the whole file with DVC, with the reason. Paths come out relative to the
//! repository root, `/`-separated, normalised, never escaping the root. Nothing here writes.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One output of a `.dvc` file that git-data can take over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Output {
    /// Repository-relative path of the file or directory.
    pub path: String,
    /// The md5 DVC recorded (for a directory, of its `.dir` listing, without the suffix).
    pub md5: String,
    pub dir: bool,
    /// The size DVC recorded (a directory's is the sum of its files).
    pub size: Option<u64>,
    /// Recorded by DVC 2 (no `hash: md5`): text files were hashed after CRLF became LF, and
    /// the cache object lives at `<cache>/ab/cdef…`.
    pub legacy: bool,
}

/// What to do with one `.dvc` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    Convert(Vec<Output>),
    /// Stays with DVC, for this reason.
    Keep(String),
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    outs: Vec<RawOut>,
    #[serde(default)]
    deps: Vec<serde_yaml::Value>,
    wdir: Option<String>,
}

#[derive(Deserialize)]
struct RawOut {
    path: String,
    md5: Option<String>,
    hash: Option<String>,
    size: Option<u64>,
    cache: Option<bool>,
}

/// Reads the text of the `.dvc` file at repository path `rel`.
pub(crate) fn plan_dvc_file(rel: &str, text: &str) -> Plan {
    let raw: RawFile = match serde_yaml::from_str(text) {
        Ok(r) => r,
        Err(e) => return Plan::Keep(format!("cannot be read as a .dvc file: {e}")),
    };
    if !raw.deps.is_empty() {
        let source = raw.deps[0]
            .get("repo")
            .and_then(|r| r.get("url"))
            .or_else(|| raw.deps[0].get("path"))
            .and_then(|v| v.as_str())
            .unwrap_or("another repository");
        return Plan::Keep(format!(
            "an import from {source}: `dvc update` needs its .dvc file, so it stays with DVC"
        ));
    }
    if raw.outs.is_empty() {
        return Plan::Keep("it has no outputs".into());
    }
    let base = parent(rel);
    let base = match raw.wdir.as_deref() {
        Some(w) => join(&base, w),
        None => Some(base),
    };
    let mut outs = Vec::new();
    for out in raw.outs {
        if out.cache == Some(false) {
            return Plan::Keep(format!(
                "`{}` has `cache: false`: DVC never stored its data (track it with `git data track` to version it)",
                out.path
            ));
        }
        if let Some(h) = out.hash.as_deref().filter(|h| *h != "md5") {
            return Plan::Keep(format!(
                "`{}` is hashed with `{h}`; only md5 is converted",
                out.path
            ));
        }
        let Some(md5) = out.md5 else {
            return Plan::Keep(format!(
                "`{}` has no md5 (a cloud-versioned or uncommitted output; `dvc commit` records one)",
                out.path
            ));
        };
        let (md5, dir) = match md5.strip_suffix(".dir") {
            Some(m) => (m.to_string(), true),
            None => (md5, false),
        };
        if md5.len() != 32 || !md5.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Plan::Keep(format!("`{}` has a malformed md5 `{md5}`", out.path));
        }
        let path = match base.as_deref().and_then(|b| join(b, &out.path)) {
            Some(p) if !p.is_empty() && !out.path.contains("://") && !out.path.starts_with('/') => {
                p
            }
            _ => {
                return Plan::Keep(format!("`{}` is outside the repository", out.path));
            }
        };
        outs.push(Output {
            path,
            md5: md5.to_ascii_lowercase(),
            dir,
            size: out.size,
            legacy: out.hash.is_none(),
        });
    }
    Plan::Convert(outs)
}

fn parent(rel: &str) -> String {
    rel.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default()
}

/// `base/rel`, normalised; `None` when it leaves the repository.
fn join(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// A pipeline stage of a `dvc.yaml`, for the report.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Stage {
    pub file: String,
    pub name: String,
    pub outs: Vec<String>,
}

/// The stages of the `dvc.yaml` at repository path `rel` (unreadable files give none).
pub(crate) fn stages(rel: &str, text: &str) -> Vec<Stage> {
    let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(text) else { return Vec::new() };
    let Some(map) = doc.get("stages").and_then(|s| s.as_mapping()) else { return Vec::new() };
    let base = parent(rel);
    map.iter()
        .filter_map(|(name, body)| {
            let outs = ["outs", "metrics", "plots"]
                .iter()
                .filter_map(|k| body.get(*k).and_then(|o| o.as_sequence()))
                .flatten()
                .filter_map(|o| match o {
                    serde_yaml::Value::String(s) => Some(s.clone()),
                    serde_yaml::Value::Mapping(m) => {
                        m.keys().next().and_then(|k| k.as_str()).map(str::to_string)
                    }
                    _ => None,
                })
                .filter_map(|o| join(&base, &o))
                .collect();
            Some(Stage { file: rel.to_string(), name: name.as_str()?.to_string(), outs })
        })
        .collect()
}

/// `.dvc/config` overlaid with `.dvc/config.local`, as (section, key, value) triples.
#[derive(Debug, Default)]
pub(crate) struct DvcConfig {
    dir: PathBuf,
    entries: Vec<(String, String, String)>,
}

impl DvcConfig {
    /// Reads the configuration of the DVC project at `root` (missing files read as empty).
    pub(crate) fn load(root: &Path) -> DvcConfig {
        let dir = root.join(".dvc");
        let mut entries = Vec::new();
        for name in ["config", "config.local"] {
            if let Ok(text) = std::fs::read_to_string(dir.join(name)) {
                entries.extend(parse_config(&text));
            }
        }
        DvcConfig { dir, entries }
    }

    fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.entries.iter().rev().find(|(s, k, _)| s == section && k == key).map(|e| e.2.as_str())
    }

    /// A path setting, resolved against `.dvc/` as DVC does.
    fn path(&self, value: &str) -> PathBuf {
        let p = crate::config::expand_home(value);
        if p.is_absolute() { p } else { self.dir.join(p) }
    }

    /// The DVC cache directory (`cache.dir`, default `.dvc/cache`).
    pub(crate) fn cache_dir(&self) -> PathBuf {
        match self.get("cache", "dir") {
            Some(d) => self.path(d),
            None => self.dir.join("cache"),
        }
    }

    /// The names of the remotes defined in the project's config.
    pub(crate) fn remotes(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .entries
            .iter()
            .filter_map(|(s, k, _)| (k == "url").then(|| remote_name(s)).flatten())
            .collect();
        names.dedup();
        names
    }

    /// The URL of remote `name`: `Ok(path)` for a local directory, `Err(url)` otherwise.
    pub(crate) fn remote_url(&self, name: &str) -> Option<Result<PathBuf, String>> {
        let url = self.get(&format!("remote \"{name}\""), "url")?;
        Some(match url.split_once("://") {
            Some(("file", path)) => Ok(self.path(path)),
            Some(_) => Err(url.to_string()),
            None => Ok(self.path(url)),
        })
    }

    /// A setting of remote `name` (never a secret: callers ask for `endpointurl`, `region`).
    pub(crate) fn remote_setting(&self, name: &str, key: &str) -> Option<&str> {
        self.get(&format!("remote \"{name}\""), key)
    }

    /// The default remote (`core.remote`).
    pub(crate) fn default_remote(&self) -> Option<&str> {
        self.get("core", "remote")
    }
}

fn remote_name(section: &str) -> Option<String> {
    section.strip_prefix("remote \"")?.strip_suffix('"').map(str::to_string)
}

/// DVC's INI dialect: `['remote "name"']` or `[remote "name"]` headers, `key = value` lines.
fn parse_config(text: &str) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(h) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = unquote(h.trim()).to_string();
        } else if let Some((k, v)) = line.split_once('=') {
            out.push((section.clone(), k.trim().to_string(), unquote(v.trim()).to_string()));
        }
    }
    out
}

fn unquote(s: &str) -> &str {
    for q in ['\'', '"'] {
        if let Some(inner) = s.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(rel: &str, text: &str) -> Vec<Output> {
        match plan_dvc_file(rel, text) {
            Plan::Convert(o) => o,
            Plan::Keep(why) => panic!("kept: {why}"),
        }
    }

    fn kept(text: &str) -> String {
        match plan_dvc_file("a/x.dvc", text) {
            Plan::Keep(why) => why,
            Plan::Convert(o) => panic!("converted: {o:?}"),
        }
    }

    #[test]
    fn outputs_of_dvc3_and_dvc2_files() {
        let o = convert(
            "data/images.dvc",
            "outs:\n- md5: 09A7b2893c1021e1e3610c80a1aa34c4.dir\n  size: 14000\n  nfiles: 3\n  hash: md5\n  path: images\n",
        );
        assert_eq!(
            o,
            vec![Output {
                path: "data/images".into(),
                md5: "09a7b2893c1021e1e3610c80a1aa34c4".into(),
                dir: true,
                size: Some(14000),
                legacy: false
            }]
        );
        let o = convert(
            "m.pkl.dvc",
            "md5: 1\nouts:\n- md5: 7b035f7a4720677fa46312456ff7187a\n  path: ./m.pkl\n",
        );
        assert_eq!((o[0].path.as_str(), o[0].legacy, o[0].size), ("m.pkl", true, None));
        let o = convert(
            "a/b/x.dvc",
            "wdir: ..\nouts:\n- md5: 7b035f7a4720677fa46312456ff7187a\n  path: c/y\n",
        );
        assert_eq!(o[0].path, "a/c/y");
    }

    #[test]
    fn what_stays_with_dvc() {
        let md5 = "7b035f7a4720677fa46312456ff7187a";
        assert!(
            kept(&format!("deps:\n- path: https://x.invalid/f\nouts:\n- md5: {md5}\n  path: f\n"))
                .contains("import from https://x.invalid/f")
        );
        assert!(
            kept(&format!(
                "deps:\n- path: f\n  repo:\n    url: git@h:r.git\nouts:\n- md5: {md5}\n  path: f\n"
            ))
            .contains("git@h:r.git")
        );
        assert!(kept("outs:\n- path: f\n  cache: false\n").contains("cache: false"));
        assert!(kept("outs:\n- path: f\n").contains("no md5"));
        assert!(kept("outs:\n- path: f\n  etag: x\n  hash: etag\n").contains("`etag`"));
        assert!(kept(&format!("outs:\n- md5: {md5}\n  path: ../../f\n")).contains("outside"));
        assert!(kept(&format!("outs:\n- md5: {md5}\n  path: s3://b/f\n")).contains("outside"));
        assert!(kept("outs:\n- md5: nothex\n  path: f\n").contains("malformed md5"));
        assert!(kept("outs: [").contains("cannot be read"));
    }

    #[test]
    fn config_remotes_and_cache() {
        let root = Path::new("/r");
        let mut c = DvcConfig { dir: root.join(".dvc"), entries: Vec::new() };
        c.entries = parse_config(
            "[core]\n    remote = storage\n['remote \"storage\"']\n    url = ../../dvc-remote\n[remote \"ovh\"]\n  url = s3://bucket/x\n  endpointurl = https://s3.gra.io.cloud.ovh.net\n[cache]\n  dir = /mnt/dvc-cache\n",
        );
        assert_eq!(c.default_remote(), Some("storage"));
        assert_eq!(c.remotes(), vec!["storage", "ovh"]);
        assert_eq!(c.remote_url("storage"), Some(Ok(PathBuf::from("/r/.dvc/../../dvc-remote"))));
        assert_eq!(c.remote_url("ovh"), Some(Err("s3://bucket/x".into())));
        assert_eq!(c.remote_setting("ovh", "endpointurl"), Some("https://s3.gra.io.cloud.ovh.net"));
        assert_eq!(c.remote_url("none"), None);
        assert_eq!(c.cache_dir(), PathBuf::from("/mnt/dvc-cache"));
    }

    #[test]
    fn stages_and_their_outputs() {
        let s = stages(
            "sub/dvc.yaml",
            "stages:\n  prep:\n    cmd: x\n    outs:\n    - out.csv\n    - model.pkl:\n        cache: false\n    metrics:\n    - m.json\n",
        );
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].name, "prep");
        assert_eq!(s[0].outs, vec!["sub/out.csv", "sub/model.pkl", "sub/m.json"]);
    }
}
