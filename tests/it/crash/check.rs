//! The invariants of the crash harness. After the rerun: every tracked file holds its exact
//! expected bytes, the index and HEAD hold the expected content, `git status` shows nothing
//! unexpected (no change, no stray or ignored file such as a writer's temp), `git data status`
//! reports no "pointer only", `git data fsck` passes, every object in the cache and on the
//! remote hashes to its name, and the expected objects are (or are no longer) there. Right
//! after the kill: no tracked file differs from the index unless `git status` or
//! `git data status` says so (a wrong state may exist, but never silently).

use super::scenarios::{Hashes, Scenario};
use crate::common::*;
use git_data::pointer::Pointer;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One broken invariant.
pub(super) struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

fn violation(invariant: &'static str, detail: impl Into<String>) -> Violation {
    Violation { invariant, detail: detail.into() }
}

/// Every file under `dir` (none when it does not exist).
pub(super) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// What a blob stands for: a pointer's oid, else the SHA-256 of its bytes.
fn logical(blob: &[u8]) -> String {
    match Pointer::parse(blob) {
        Ok(p) => p.oid.to_hex(),
        Err(_) => sha256(blob),
    }
}

/// What a work-tree file holds, in words.
pub(super) fn describe(path: &Path) -> String {
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "nothing (missing)".to_string(),
        Err(e) => format!("unreadable ({})", e.kind()),
        Ok(data) => match Pointer::parse(&data) {
            Ok(p) => format!("the pointer text of {p}"),
            Err(_) => format!("{} bytes, sha256 {}", data.len(), &sha256(&data)[..12]),
        },
    }
}

/// Runs git with `input` on stdin; returns stdout (empty on failure).
fn git_bytes(env: &Env, repo: &Path, args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    use std::process::Stdio;
    let mut cmd = env.command(repo, "git");
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null());
    let Ok(mut child) = cmd.spawn() else { return Vec::new() };
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().map(|o| o.stdout).unwrap_or_default();
    let _ = feeder.join();
    out
}

/// Path -> logical content of `entries` (path, blob id), read with one `git cat-file --batch`.
fn resolve(env: &Env, repo: &Path, entries: Vec<(String, String)>) -> Hashes {
    let input: String = entries.iter().map(|(_, id)| format!("{id}\n")).collect();
    let out = git_bytes(env, repo, &["cat-file", "--batch"], input.as_bytes());
    let mut rest = &out[..];
    let mut hashes = Hashes::new();
    for (path, _) in entries {
        let nl = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        let header = String::from_utf8_lossy(&rest[..nl]).into_owned();
        rest = rest.get(nl + 1..).unwrap_or_default();
        let size = header.split(' ').nth(2).and_then(|s| s.parse::<usize>().ok());
        let Some(size) = size.filter(|s| *s <= rest.len()) else {
            hashes.insert(path, format!("unreadable blob ({header})"));
            continue;
        };
        hashes.insert(path, logical(&rest[..size]));
        rest = rest.get(size + 1..).unwrap_or_default();
    }
    hashes
}

fn skipped(path: &str) -> bool {
    path == ".gitdata.yaml" || path == ".gitattributes" || path.ends_with("/.gitattributes")
}

/// The logical content of `rev`'s tree (`.gitattributes` and `.gitdata.yaml` aside).
pub(super) fn tree_hashes(env: &Env, repo: &Path, rev: &str) -> Hashes {
    let out = env.run(repo, "git", &["ls-tree", "-r", "-z", rev]).stdout;
    let entries = out
        .split('\0')
        .filter_map(|e| e.split_once('\t'))
        .filter(|(_, path)| !skipped(path))
        .map(|(meta, path)| (path.to_string(), meta.split(' ').nth(2).unwrap_or("").to_string()))
        .collect();
    resolve(env, repo, entries)
}

/// The logical content of the index, or the paths of its unmerged entries.
fn index_hashes(env: &Env, repo: &Path, all: bool) -> Result<Hashes, String> {
    let out = env.run(repo, "git", &["ls-files", "-s", "-z"]).stdout;
    let mut entries = Vec::new();
    let mut unmerged = Vec::new();
    for (meta, path) in out.split('\0').filter_map(|e| e.split_once('\t')) {
        let fields: Vec<&str> = meta.split(' ').collect();
        if fields.get(2) != Some(&"0") {
            unmerged.push(path.to_string());
        } else if all || !skipped(path) {
            entries.push((path.to_string(), fields[1].to_string()));
        }
    }
    if !unmerged.is_empty() {
        return Err(format!("unmerged entries: {unmerged:?}"));
    }
    Ok(resolve(env, repo, entries))
}

/// `git status --porcelain -z` entries as (XY, path).
fn porcelain(env: &Env, repo: &Path, extra: &[&str]) -> Vec<(String, String)> {
    let out = env.run(repo, "git", &[&["status", "--porcelain", "-z"][..], extra].concat()).stdout;
    let mut entries = out.split('\0').filter(|e| e.len() > 3);
    let mut list = Vec::new();
    while let Some(e) = entries.next() {
        let (xy, path) = e.split_at(2);
        if xy.starts_with('R') || xy.starts_with('C') {
            entries.next(); // the old path
        }
        list.push((xy.to_string(), path[1..].to_string()));
    }
    list
}

/// The files `git data status` calls "pointer only", or why it could not tell.
fn pointer_only(env: &Env, repo: &Path) -> Result<Vec<String>, String> {
    let out = env.run(repo, "git", &["data", "status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout)
        .map_err(|_| format!("git data status failed: {}", out.all().trim()))?;
    let files = doc["files"].as_array().cloned().unwrap_or_default();
    Ok(files
        .iter()
        .filter(|f| f["pointer_only"].as_bool() == Some(true))
        .map(|f| f["path"].as_str().unwrap_or("?").to_string())
        .collect())
}

fn compare(what: &'static str, want: &Hashes, got: &Hashes, out: &mut Vec<Violation>) {
    let mut diffs = Vec::new();
    for (path, hash) in want {
        match got.get(path) {
            None => diffs.push(format!("{path} missing")),
            Some(h) if h != hash => diffs.push(format!("{path} is {:.12}, not {:.12}", h, hash)),
            _ => {}
        }
    }
    diffs.extend(got.keys().filter(|p| !want.contains_key(*p)).map(|p| format!("{p} extra")));
    if !diffs.is_empty() {
        out.push(violation(what, diffs.join("; ")));
    }
}

/// Checks the objects under `root/objects`: each hashes to its name; `has` are there and
/// `lacks` are not. Files that are not objects are temps, returned.
fn objects(
    root: &Path,
    (has, lacks): (&[String], &[String]),
    names: [&'static str; 3],
    out: &mut Vec<Violation>,
) -> Vec<PathBuf> {
    let mut present = BTreeSet::new();
    let mut temps = Vec::new();
    for path in walk(&root.join("objects")) {
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            temps.push(path);
            continue;
        }
        let data = std::fs::read(&path).unwrap_or_default();
        if sha256(&data) != name {
            out.push(violation(
                names[0],
                format!("{} holds {} bytes that hash otherwise", path.display(), data.len()),
            ));
        }
        present.insert(name);
    }
    let missing: Vec<&str> =
        has.iter().filter(|o| !present.contains(*o)).map(|o| &o[..12]).collect();
    if !missing.is_empty() {
        out.push(violation(names[1], format!("{missing:?} not in {}", root.display())));
    }
    let kept: Vec<&str> = lacks.iter().filter(|o| present.contains(*o)).map(|o| &o[..12]).collect();
    if !kept.is_empty() {
        out.push(violation(names[2], format!("{kept:?} still in {}", root.display())));
    }
    temps.extend(walk(&root.join("tmp")));
    temps
}

/// The invariants once the command has run to the end; also returns leftover temp files.
pub(super) fn after_rerun(s: &Scenario) -> (Vec<Violation>, Vec<PathBuf>) {
    let (env, repo, e) = (&s.env, &s.repo, &s.expect);
    let mut out = Vec::new();
    if !repo.join(".git").exists() {
        out.push(violation("repository", format!("{} is not a repository", repo.display())));
        return (out, Vec::new());
    }
    for (path, want) in &e.files {
        let file = repo.join(path);
        if std::fs::read(&file).map(|d| sha256(&d)).ok().as_ref() != Some(want) {
            out.push(violation(
                "content",
                format!("{path} holds {}, expected sha256 {:.12}", describe(&file), want),
            ));
        }
    }
    match index_hashes(env, repo, false) {
        Ok(index) => compare("index", &e.files, &index, &mut out),
        Err(why) => out.push(violation("index", why)),
    }
    compare("head", e.head.as_ref().unwrap_or(&e.files), &tree_hashes(env, repo, "HEAD"), &mut out);
    let unexpected: Vec<String> = porcelain(env, repo, &[])
        .into_iter()
        .filter(|(xy, _)| e.head.is_none() || !xy.ends_with(' '))
        .map(|(xy, path)| format!("{xy} {path}"))
        .collect();
    if !unexpected.is_empty() {
        out.push(violation("status", format!("git status: {unexpected:?}")));
    }
    let stray: Vec<String> = porcelain(env, repo, &["--ignored", "--untracked-files=all"])
        .into_iter()
        .filter(|(xy, _)| xy == "??" || xy == "!!")
        .map(|(xy, path)| format!("{xy} {path}"))
        .collect();
    if !stray.is_empty() {
        out.push(violation("stray", format!("{stray:?}")));
    }
    match pointer_only(env, repo) {
        Ok(list) if list.is_empty() => {}
        Ok(list) => {
            out.push(violation("pointer-only", format!("git data status: pointer only: {list:?}")))
        }
        Err(why) => out.push(violation("data-status", why)),
    }
    let fsck = env.run(repo, "git", &["data", "fsck"]);
    if fsck.code != 0 {
        out.push(violation("fsck", fsck.all().trim().replace('\n', " | ")));
    }
    let cache = ["cache-object", "cache-missing", "cache-kept"];
    let mut temps =
        objects(&repo.join(".git/data"), (&e.cache_has, &e.cache_lacks), cache, &mut out);
    let remote = ["remote-object", "remote-missing", "remote-kept"];
    temps.extend(objects(&s.store, (&e.remote_has, &e.remote_lacks), remote, &mut out));
    if e.origin_main {
        let ours = env.run(repo, "git", &["rev-parse", "main"]).stdout;
        let origin = env.run(&s.env.path("p-origin.git"), "git", &["rev-parse", "main"]).stdout;
        if ours != origin {
            out.push(violation(
                "origin",
                format!("origin's main is {:?}, ours {:?}", origin.trim(), ours.trim()),
            ));
        }
    }
    if let Some(history) = &e.history {
        history_invariants(s, history, &mut out);
    }
    if repo.join(".git/index.lock").exists() {
        out.push(violation("lock", ".git/index.lock is left after the rerun"));
    }
    (out, temps)
}

/// migrate: every commit keeps its content, and no blob over 1 MiB is left at HEAD.
fn history_invariants(s: &Scenario, history: &crate::migrate::Contents, out: &mut Vec<Violation>) {
    let now = crate::migrate::contents(&s.env, &s.repo);
    if &now != history {
        let changed: Vec<&String> = now.keys().filter(|k| now.get(*k) != history.get(*k)).collect();
        out.push(violation("history", format!("commits whose content changed: {changed:?}")));
    }
    let tree = s.env.run(&s.repo, "git", &["ls-tree", "-r", "-l", "HEAD"]).stdout;
    let large: Vec<&str> = tree
        .lines()
        .filter(|l| l.split_whitespace().nth(3).and_then(|n| n.parse::<u64>().ok()) > Some(1 << 20))
        .collect();
    if !large.is_empty() {
        out.push(violation("migrate", format!("blobs over 1 MiB left at HEAD: {large:?}")));
    }
}

/// Right after the kill: a tracked file that differs from what the index says must be
/// listed by `git status` or called "pointer only" by `git data status`.
pub(super) fn silent_after_kill(s: &Scenario) -> Vec<Violation> {
    let (env, repo) = (&s.env, &s.repo);
    if !repo.join(".git/index").exists() {
        return Vec::new();
    }
    let Ok(index) = index_hashes(env, repo, true) else { return Vec::new() };
    let listed: BTreeSet<String> = porcelain(env, repo, &[])
        .into_iter()
        .filter(|(xy, _)| !xy.ends_with(' '))
        .map(|(_, path)| path)
        .collect();
    let pointers = pointer_only(env, repo).unwrap_or_default();
    let mut out = Vec::new();
    for (path, want) in index {
        let file = repo.join(&path);
        let got = std::fs::read(&file).map(|d| sha256(&d)).ok();
        if got.as_ref() != Some(&want) && !listed.contains(&path) && !pointers.contains(&path) {
            out.push(violation(
                "silent",
                format!("{path} holds {} where the index has {:.12}, and neither git status nor git data status says so", describe(&file), want),
            ));
        }
    }
    out
}

/// What a failure report shows of the state: the pending journal's files (what the hooks
/// still have to write) and any leftover temp file's name.
pub(super) fn observe(s: &Scenario, temps: &[PathBuf]) -> String {
    let data = s.repo.join(".git/data");
    let journal: Vec<String> = std::fs::read_dir(data.join("pending"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let len = e.metadata().map(|m| m.len()).unwrap_or(0);
            format!("pending/{} ({len} bytes)", e.file_name().to_string_lossy())
        })
        .collect();
    let index = s.env.run(&s.repo, "git", &["ls-files", "-s", "--debug"]).stdout;
    let head = s.env.run(&s.repo, "git", &["log", "-1", "--format=%h %s", "HEAD"]).stdout;
    let staged = s.env.run(&s.repo, "git", &["diff-index", "--cached", "--name-status", "HEAD"]);
    let head = format!("{} (index against HEAD: {:?})", head.trim(), staged.stdout.trim());
    let temps: Vec<String> = temps
        .iter()
        .map(|t| t.strip_prefix(s.env.root()).unwrap_or(t).display().to_string())
        .collect();
    format!(
        "pending journal: {journal:?}; temp files: {temps:?}; HEAD: {}; index:\n{index}",
        head.trim()
    )
}
