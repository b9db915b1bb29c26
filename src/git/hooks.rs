//! Installs, upgrades and removes the hook shims from `hooks/`, and runs a user's own hook
//! that git-data chained.
//!
//! Invariants: a hook file that git-data did not write is never overwritten or deleted: it is
//! moved to `<name>.pre-git-data` and run after ours (chaining), and moved back on uninstall.
//! The silent install done by the filter during a clone only fills empty slots.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The hooks git-data installs, with their shim text.
pub(crate) const HOOKS: [(&str, &str); 6] = [
    ("pre-push", include_str!("../../hooks/pre-push")),
    ("pre-commit", include_str!("../../hooks/pre-commit")),
    ("post-checkout", include_str!("../../hooks/post-checkout")),
    ("post-merge", include_str!("../../hooks/post-merge")),
    ("post-rewrite", include_str!("../../hooks/post-rewrite")),
    ("reference-transaction", include_str!("../../hooks/reference-transaction")),
];

const MARKER: &str = "# git-data hook";
const CHAINED_SUFFIX: &str = "pre-git-data";

/// What is currently in a hook slot.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    Empty,
    Current,
    Outdated,
    Foreign,
}

/// One thing `install` or `uninstall` did, for the report.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Installed(String),
    Upgraded(String),
    Chained(String),
    Removed(String),
    Restored(String),
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Installed(h) => write!(f, "installed the {h} hook"),
            Action::Upgraded(h) => write!(f, "updated the {h} hook"),
            Action::Chained(h) => write!(
                f,
                "installed the {h} hook; your own {h} hook was kept as {h}.{CHAINED_SUFFIX} and runs after it"
            ),
            Action::Removed(h) => write!(f, "removed the {h} hook"),
            Action::Restored(h) => write!(f, "restored your own {h} hook"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum HookError {
    #[error("cannot install the {hook} hook: {} exists and so does {}", .path.display(), .chained.display())]
    CannotChain { hook: String, path: PathBuf, chained: PathBuf },
    #[error("hook I/O error on {}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> HookError + '_ {
    move |source| HookError::Io { path: path.to_path_buf(), source }
}

/// The state of one hook slot.
pub(crate) fn slot(dir: &Path, name: &str, text: &str) -> Slot {
    match fs::read_to_string(dir.join(name)) {
        Err(_) => Slot::Empty,
        Ok(existing) if existing == text => Slot::Current,
        Ok(existing) if existing.lines().nth(1).is_some_and(|l| l.starts_with(MARKER)) => {
            Slot::Outdated
        }
        Ok(_) => Slot::Foreign,
    }
}

fn write_hook(path: &Path, text: &str) -> Result<(), HookError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut tmp =
        tempfile::Builder::new().prefix(".git-data-hook-").tempfile_in(dir).map_err(io_err(dir))?;
    tmp.write_all(text.as_bytes()).map_err(io_err(path))?;
    tmp.as_file().set_permissions(fs::Permissions::from_mode(0o755)).map_err(io_err(path))?;
    tmp.persist(path).map_err(|e| HookError::Io { path: path.to_path_buf(), source: e.error })?;
    Ok(())
}

/// Installs every hook into `dir`, chaining foreign hooks when `chain` is true (else they are
/// left alone). Idempotent.
pub(crate) fn install(dir: &Path, chain: bool) -> Result<Vec<Action>, HookError> {
    let mut actions = Vec::new();
    for (name, text) in HOOKS {
        let path = dir.join(name);
        match slot(dir, name, text) {
            Slot::Current => {}
            Slot::Empty => {
                write_hook(&path, text)?;
                actions.push(Action::Installed(name.into()));
            }
            Slot::Outdated => {
                write_hook(&path, text)?;
                actions.push(Action::Upgraded(name.into()));
            }
            Slot::Foreign if chain => {
                let chained = dir.join(format!("{name}.{CHAINED_SUFFIX}"));
                if chained.exists() {
                    return Err(HookError::CannotChain { hook: name.into(), path, chained });
                }
                fs::rename(&path, &chained).map_err(io_err(&path))?;
                write_hook(&path, text)?;
                actions.push(Action::Chained(name.into()));
            }
            Slot::Foreign => {}
        }
    }
    Ok(actions)
}

/// Removes git-data's hooks from `dir` and restores chained user hooks.
pub(crate) fn uninstall(dir: &Path) -> Result<Vec<Action>, HookError> {
    let mut actions = Vec::new();
    for (name, text) in HOOKS {
        let path = dir.join(name);
        if matches!(slot(dir, name, text), Slot::Current | Slot::Outdated) {
            fs::remove_file(&path).map_err(io_err(&path))?;
            actions.push(Action::Removed(name.into()));
            let chained = dir.join(format!("{name}.{CHAINED_SUFFIX}"));
            if chained.exists() {
                fs::rename(&chained, &path).map_err(io_err(&chained))?;
                actions.push(Action::Restored(name.into()));
            }
        }
    }
    Ok(actions)
}

/// Whether every hook is installed and current.
pub(crate) fn all_current(dir: &Path) -> bool {
    HOOKS.iter().all(|(name, text)| slot(dir, name, text) == Slot::Current)
}

/// Runs the user's chained hook `name` if there is one, with `args` and `stdin`; returns its
/// exit code (0 when there is none).
pub(crate) fn run_chained(
    dir: &Path,
    name: &str,
    args: &[String],
    stdin: &[u8],
) -> io::Result<i32> {
    let path = dir.join(format!("{name}.{CHAINED_SUFFIX}"));
    let executable =
        fs::metadata(&path).map(|m| m.permissions().mode() & 0o111 != 0).unwrap_or(false);
    if !executable {
        return Ok(0);
    }
    let mut child = Command::new(&path).args(args).stdin(Stdio::piped()).spawn()?;
    if let Some(mut input) = child.stdin.take() {
        // A hook that does not read its input must not fail ours.
        let _ = input.write_all(stdin);
    }
    Ok(child.wait()?.code().unwrap_or(1))
}

/// Whether git would run git-data's filter in `repo` (any config scope sets it up). Without
/// it, a clone's data files stay pointer text and `git add` puts data into git itself.
pub(crate) fn filter_configured(repo: &super::Repo) -> bool {
    ["filter.data.process", "filter.data.clean"].iter().any(|k| repo.config_string(k).is_some())
}

/// Whether this clone's git config makes git-data the driver of git-lfs's `lfs` filter name
/// (set by `git data install` where the data remote is a Git LFS server, and by `git data
/// migrate lfs`), so `filter=lfs` files are git-data's.
pub(crate) fn serves_lfs(repo: &super::Repo) -> bool {
    repo.config_string("filter.lfs.process").is_some_and(|v| v.contains("git-data"))
}

/// Writes git-data's filter and merge driver into the config of the clone at `work_tree`
/// under the filter name `name` (`data`, or `lfs` to serve git-lfs's name).
pub(crate) fn write_filter_config(work_tree: &Path, name: &str) -> Result<(), super::GitError> {
    for (key, value) in FILTER_CONFIG {
        let key = key.replacen("filter.data.", &format!("filter.{name}."), 1).replacen(
            "merge.data.",
            &format!("merge.{name}."),
            1,
        );
        super::run_git(super::git_command().current_dir(work_tree).args([
            "config",
            "--local",
            "--replace-all",
            &key,
            value,
        ]))
        .map_err(|e| super::GitError::Other(format!("cannot set {key} in git config: {e}")))?;
    }
    Ok(())
}

/// Whether the `git push` that runs this pre-push hook was given `-q`/`--quiet`. git does not
/// pass its options to hooks, so its command line is read: the nearest ancestor process (up
/// to three up) whose arguments hold `push`. Linux only (`/proc`); elsewhere false.
pub(crate) fn push_is_quiet() -> bool {
    let mut pid = std::os::unix::process::parent_id();
    for _ in 0..3 {
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else { return false };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if let Some(quiet) = quiet_push(&args) {
            return quiet;
        }
        let Some(parent) = parent_of(pid) else { return false };
        pid = parent;
    }
    false
}

/// For a `git … push …` command line, whether it asks for quiet; `None` for anything else.
fn quiet_push(args: &[&[u8]]) -> Option<bool> {
    let name = args.first()?.rsplit(|b| *b == b'/').next()?;
    if name != b"git" && name != b"git-push" {
        return None;
    }
    let mut rest = args.iter().skip(1);
    if name == b"git" {
        // git's own options come before the command; -c and -C take a value
        loop {
            match *rest.next()? {
                b"push" => break,
                b"-c" | b"-C" | b"--git-dir" | b"--work-tree" | b"--namespace" => {
                    rest.next()?;
                }
                a if a.starts_with(b"-") => {}
                _ => return None,
            }
        }
    }
    let quiet = |a: &&&[u8]| match **a {
        b"-q" | b"--quiet" => true,
        // bundled short flags (`-qf`) up to one that takes a value (`-o`)
        a if a.len() > 1 && a[0] == b'-' && a[1] != b'-' => {
            a[1..].iter().take_while(|c| **c != b'o').any(|c| *c == b'q')
        }
        _ => false,
    };
    Some(rest.take_while(|a| **a != b"--").any(|a| quiet(&a)))
}

/// The parent of process `pid`, from `/proc/PID/stat` (the field after the parenthesised
/// command name).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// The git config git-data sets, as (key, value).
pub(crate) const FILTER_CONFIG: [(&str, &str); 6] = [
    ("filter.data.process", "git-data filter-process"),
    ("filter.data.clean", "git-data clean -- %f"),
    ("filter.data.smudge", "git-data smudge -- %f"),
    ("filter.data.required", "true"),
    ("merge.data.name", "git-data merge driver (a conflicting data file keeps both versions)"),
    ("merge.data.driver", "git-data merge-driver %O %A %B %P"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_push_reads_git_command_lines() {
        let q = |line: &str| {
            let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
            quiet_push(&args)
        };
        assert_eq!(q("git push -q origin main"), Some(true));
        assert_eq!(q("/usr/bin/git -C dir -c a=b push --quiet"), Some(true));
        assert_eq!(q("git push -fq origin"), Some(true));
        assert_eq!(q("git push -o q origin"), Some(false));
        assert_eq!(q("git push origin -- -q"), Some(false));
        assert_eq!(q("git push origin main"), Some(false));
        assert_eq!(q("git fetch -q"), None);
        assert_eq!(q("sh .git/hooks/pre-push"), None);
    }

    #[test]
    fn install_is_idempotent_and_reversible_with_chaining() {
        let dir = tempfile::tempdir().unwrap();
        let hooks = dir.path();
        fs::write(hooks.join("pre-push"), "#!/bin/sh\necho mine\n").unwrap();
        let first = install(hooks, true).unwrap();
        assert!(first.contains(&Action::Chained("pre-push".into())));
        assert!(first.contains(&Action::Installed("post-checkout".into())));
        assert!(all_current(hooks));
        assert!(install(hooks, true).unwrap().is_empty(), "second install does nothing");
        assert_eq!(
            fs::read_to_string(hooks.join("pre-push.pre-git-data")).unwrap(),
            "#!/bin/sh\necho mine\n"
        );
        let removed = uninstall(hooks).unwrap();
        assert!(removed.contains(&Action::Restored("pre-push".into())));
        assert_eq!(fs::read_to_string(hooks.join("pre-push")).unwrap(), "#!/bin/sh\necho mine\n");
        assert!(!hooks.join("post-checkout").exists());
    }

    #[test]
    fn without_chaining_foreign_hooks_are_untouched() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("post-merge"), "#!/bin/sh\n").unwrap();
        let actions = install(dir.path(), false).unwrap();
        assert_eq!(actions.len(), HOOKS.len() - 1);
        assert_eq!(fs::read_to_string(dir.path().join("post-merge")).unwrap(), "#!/bin/sh\n");
    }

    #[test]
    fn outdated_hook_is_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        install(dir.path(), true).unwrap();
        fs::write(dir.path().join("pre-push"), "#!/bin/sh\n# git-data hook (old)\n").unwrap();
        assert_eq!(install(dir.path(), true).unwrap(), vec![Action::Upgraded("pre-push".into())]);
    }
}
