//! The one migration commit: real files in the work tree, the paths tracked in
//! `.gitattributes`, DVC's `.gitignore` entries for them removed, their `.dvc` files removed,
//! everything staged by git (the clean filter turns the files into pointers) and committed.
//!
//! Invariants: every object is already in git-data's cache before this runs. The staged
//! blob of every converted file is checked to be its pointer before the commit. If anything
//! fails, the text files we edited get their old bytes back and the index entries we touched
//! are reset to HEAD, so the repository is as before (data files we wrote stay: they hold
//! exactly what DVC recorded, and DVC's `.gitignore` hides them again).

use crate::git::attributes::ATTRS;
use crate::git::{Repo, git_with_filter, run_git_input};
use crate::oid::Oid;
use crate::pointer::Pointer;
use crate::store::Store;
use anyhow::{Context as _, Result};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A converted file: repository path and object.
pub(crate) struct Converted {
    pub path: String,
    pub oid: Oid,
    pub size: u64,
    pub rewrite: bool,
}

/// What the commit consists of.
pub(crate) struct Change<'a> {
    pub files: &'a [Converted],
    /// `.gitattributes` patterns for the converted outputs (`path` or `dir/**`).
    pub patterns: Vec<String>,
    /// Output paths whose `/name` entry DVC wrote into `<parent>/.gitignore`.
    pub outputs: Vec<String>,
    pub dvc_files: Vec<String>,
    pub message: String,
}

/// A `git` that runs our filter (git add must clean) and takes paths literally.
fn git(root: &Path) -> Command {
    let mut cmd = git_with_filter(root);
    cmd.env("GIT_LITERAL_PATHSPECS", "1");
    cmd
}

/// Runs `cmd` with `input` on stdin; stdout, or an error with git's stderr.
fn run(cmd: &mut Command, input: &[u8]) -> Result<String> {
    Ok(run_git_input(cmd, input.to_vec())?)
}

fn nul_list<'a>(paths: impl IntoIterator<Item = &'a String>) -> Vec<u8> {
    let mut out = Vec::new();
    for p in paths {
        out.extend_from_slice(p.as_bytes());
        out.push(0);
    }
    out
}

/// Makes the commit; returns its id. See the module doc for what happens on failure.
pub(crate) fn commit(repo: &Repo, root: &Path, store: &Store, change: &Change) -> Result<String> {
    for f in change.files.iter().filter(|f| f.rewrite) {
        write_file(store, &f.oid, f.size, &root.join(&f.path))
            .with_context(|| format!("cannot write {}", f.path))?;
    }
    let mut saved: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
    let result = edit_and_commit(repo, root, change, &mut saved);
    if result.is_err() {
        for (path, bytes) in &saved {
            let full = root.join(path);
            let _ = match bytes {
                Some(b) => fs::write(&full, b),
                None => fs::remove_file(&full),
            };
        }
        let mut touched: Vec<&String> = saved.keys().collect();
        touched.extend(change.files.iter().map(|f| &f.path));
        let head = run(git(root).args(["rev-parse", "-q", "--verify", "HEAD"]), b"").is_ok();
        let mut cmd = git(root);
        if head {
            cmd.args(["reset", "-q"]);
        } else {
            cmd.args(["rm", "-q", "-r", "--cached", "--ignore-unmatch"]);
        }
        cmd.args(["--pathspec-from-file=-", "--pathspec-file-nul"]);
        if let Err(e) = run(&mut cmd, &nul_list(touched)) {
            eprintln!("git-data: warning: could not reset the index after the failure: {e}");
        }
    }
    result
}

fn edit_and_commit(
    repo: &Repo,
    root: &Path,
    change: &Change,
    saved: &mut BTreeMap<String, Option<Vec<u8>>>,
) -> Result<String> {
    let mut save = |rel: &str| -> Result<Option<Vec<u8>>> {
        let old = match fs::read(root.join(rel)) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("cannot read {rel}")),
        };
        saved.entry(rel.to_string()).or_insert_with(|| old.clone());
        Ok(old)
    };
    let attrs = save(".gitattributes")?.unwrap_or_default();
    let attrs = String::from_utf8_lossy(&attrs).into_owned();
    let new_attrs = add_patterns(&attrs, &change.patterns);
    if new_attrs != attrs {
        fs::write(root.join(".gitattributes"), new_attrs).context("cannot write .gitattributes")?;
    }
    let mut ignores: HashMap<String, Vec<String>> = HashMap::new();
    for out in &change.outputs {
        let (dir, name) = out.rsplit_once('/').unwrap_or(("", out));
        let file =
            if dir.is_empty() { ".gitignore".to_string() } else { format!("{dir}/.gitignore") };
        ignores.entry(file).or_default().push(format!("/{name}"));
    }
    let mut meta = vec![".gitattributes".to_string()];
    for (file, entries) in &ignores {
        let Some(old) = save(file)? else { continue };
        let text = String::from_utf8_lossy(&old);
        let kept = remove_entries(&text, entries);
        if kept.trim().is_empty() {
            fs::remove_file(root.join(file)).with_context(|| format!("cannot remove {file}"))?;
        } else if kept != text {
            fs::write(root.join(file), kept).with_context(|| format!("cannot write {file}"))?;
        }
        meta.push(file.clone());
    }
    for dvc in &change.dvc_files {
        save(dvc)?;
        fs::remove_file(root.join(dvc)).with_context(|| format!("cannot remove {dvc}"))?;
        meta.push(dvc.clone());
    }
    run(
        git(root).args(["add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul"]),
        &nul_list(&meta),
    )
    .context("git add of .gitattributes, .gitignore and .dvc files failed")?;
    let data: Vec<&String> = change.files.iter().map(|f| &f.path).collect();
    run(
        git(root).args(["add", "-f", "--pathspec-from-file=-", "--pathspec-file-nul"]),
        &nul_list(data),
    )
    .context("git add of the converted files failed")?;
    check_staged(repo, root, change.files)?;
    run(git(root).args(["commit", "-q", "-F", "-"]), change.message.as_bytes())
        .context("git commit failed")?;
    Ok(run(git(root).args(["rev-parse", "HEAD"]), b"")?.trim().to_string())
}

/// Every converted file must be staged as its pointer, or we stop before committing.
fn check_staged(repo: &Repo, root: &Path, files: &[Converted]) -> Result<()> {
    let listing = run(git(root).args(["ls-files", "-s", "-z"]), b"")?;
    let mut staged: HashMap<&str, &str> = HashMap::new();
    for rec in listing.split('\0').filter(|r| !r.is_empty()) {
        if let Some((meta, path)) = rec.split_once('\t') {
            staged.insert(path, meta.split(' ').nth(1).unwrap_or_default());
        }
    }
    for f in files {
        let text = if f.size == 0 { String::new() } else { Pointer::new(f.oid, f.size).encode() };
        let want = repo.blob_id(text.as_bytes()).to_string();
        match staged.get(f.path.as_str()) {
            Some(id) if *id == want => {}
            Some(_) => anyhow::bail!(
                "{} was not staged as a git-data pointer (is the `data` filter installed? `git data install`); nothing was committed",
                f.path
            ),
            None => anyhow::bail!("{} was not staged; nothing was committed", f.path),
        }
    }
    Ok(())
}

/// `.gitattributes` text with a line for each pattern not already there.
pub(crate) fn add_patterns(text: &str, patterns: &[String]) -> String {
    let existing = crate::git::attributes::tracked_patterns(text);
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for p in patterns {
        if !existing.contains(p) && !out.lines().any(|l| l.split_whitespace().next() == Some(p)) {
            out.push_str(&format!("{p} {ATTRS}\n"));
        }
    }
    out
}

/// The gitattributes pattern for a repository path (see [`crate::git::attributes::anchored`]);
/// directories get `/**`.
pub(crate) fn pattern_for(path: &str, dir: bool) -> String {
    let mut p = crate::git::attributes::anchored(gix::bstr::BStr::new(path));
    if dir {
        p.push_str("/**");
    }
    p
}

/// `.gitignore` text without DVC's lines for `entries` (`/name`, possibly backslash-escaped).
pub(crate) fn remove_entries(text: &str, entries: &[String]) -> String {
    let unescape = |l: &str| {
        let mut out = String::new();
        let mut chars = l.trim_end().chars();
        while let Some(c) = chars.next() {
            out.push(if c == '\\' { chars.next().unwrap_or(c) } else { c });
        }
        out
    };
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if !entries.iter().any(|e| *e == unescape(bare)) {
            out.push_str(line);
        }
    }
    out
}

/// Writes the object as a real, writable file at `dest`, replacing a link if there is one.
fn write_file(store: &Store, oid: &Oid, size: u64, dest: &Path) -> Result<()> {
    let (src, _) = store.open_verified(oid, size)?;
    let parent = dest.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    fs::create_dir_all(&parent)?;
    let mut tmp = tempfile::Builder::new().prefix(".git-data-").tempfile_in(&parent)?;
    let copied = crate::fs::copy::clone_or_copy(&src, tmp.as_file_mut(), size)?;
    if copied != size {
        anyhow::bail!("copied {copied} bytes, expected {size}");
    }
    tmp.as_file().set_permissions(fs::Permissions::from_mode(0o644))?;
    tmp.persist(dest).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_escaped_and_anchored() {
        assert_eq!(pattern_for("model.pkl", false), "/model.pkl");
        assert_eq!(pattern_for("data/label map.json", false), "data/label[[:space:]]map.json");
        assert_eq!(pattern_for("data/images", true), "data/images/**");
        assert_eq!(pattern_for("a/x[1]*.bin", false), "a/x\\[1]\\*.bin");
        let text = add_patterns("*.txt text", &["/m.pkl".into(), "/m.pkl".into()]);
        assert_eq!(text, format!("*.txt text\n/m.pkl {ATTRS}\n"));
    }

    #[test]
    fn only_dvc_entries_leave_gitignore() {
        let text = "/train.csv\n/label map.json\n/prepared.csv\n# mine\n/ex\\#1\n";
        let out =
            remove_entries(text, &["/train.csv".into(), "/label map.json".into(), "/ex#1".into()]);
        assert_eq!(out, "/prepared.csv\n# mine\n");
    }
}
