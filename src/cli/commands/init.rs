//! `git data init`: a new project in one command — `git init` when the directory is not in a
//! repository yet, then `git data install`, `git data remote add NAME URL --default`, and
//! `git data track` of a layout's folders and the given patterns.
//!
//! Invariant: each step is the very command a user would run, run as a child process, so its
//! output, checks and warnings (track's ignored-path warning) are that command's; the first
//! step that fails stops init with its exit code.

use crate::cli::args::{GlobalArgs, InitArgs};
use crate::cli::context::Context;
use crate::git::attributes::tracked_patterns;
use crate::git::{git_command, run_git};
use anyhow::{Context as _, Result};
use std::process::Command;

pub(crate) fn run(g: &GlobalArgs, args: &InitArgs) -> Result<i32> {
    let inside = git_command()
        .args(["rev-parse", "--is-inside-work-tree"])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"true"));
    if !inside {
        run_git(git_command().args(["init", "-q"])).context("git init failed")?;
        let here = std::env::current_dir()?;
        say(g, &format!("Initialized an empty git repository in {}", here.display()));
    }
    let me = std::env::current_exe().context("cannot find the git-data binary")?;
    let mut steps: Vec<Vec<String>> = vec![vec!["install".into()]];
    // the remote first: an LFS server's remote makes `track` write filter=lfs
    if let Some(url) = &args.remote {
        let mut add = vec!["remote", "add", &args.remote_name, url, "--default"];
        if let Some(e) = &args.endpoint {
            add.extend(["--endpoint", e]);
        }
        if let Some(r) = &args.region {
            add.extend(["--region", r]);
        }
        if args.path_style {
            add.push("--path-style");
        }
        steps.push(add.into_iter().map(String::from).collect());
    }
    let mut patterns: Vec<String> = Vec::new();
    if let Some(preset) = args.preset {
        patterns.extend(preset.folders().iter().map(|f| f.to_string()));
    }
    patterns.extend(args.track.iter().cloned());
    if !patterns.is_empty() {
        steps.push([vec!["track".to_string()], patterns.clone()].concat());
    }
    for step in &steps {
        let mut cmd = Command::new(&me);
        if g.quiet {
            cmd.arg("--quiet");
        }
        let status = cmd.args(step).status().context("cannot run git-data")?;
        if !status.success() {
            return Ok(status.code().unwrap_or(1));
        }
    }
    let ctx = Context::open_lenient(g)?;
    let root = ctx.work_tree()?;
    let attributes = std::fs::read_to_string(root.join(".gitattributes")).unwrap_or_default();
    if tracked_patterns(&attributes).is_empty() {
        say(g, "Next: track data with `git data track \"*.pt\" data/` (or `--preset ccds`).");
    }
    if ctx.config.file.remotes.is_empty() {
        say(g, "Next: add a data remote with `git data remote add storage URL`.");
    }
    say(g, "Then: `git add` your data, `git commit`; `git push` uploads the data to the remote.");
    Ok(0)
}

fn say(g: &GlobalArgs, line: &str) {
    crate::cli::ui::say(g.quiet, line);
}
