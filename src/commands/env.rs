//! `git data env`: what git-data sees — version, git, repository, cache, remotes, link mode,
//! and whether the filter and hooks are installed. Never prints a secret.

use crate::cli::GlobalArgs;
use crate::config::LinkMode;
use crate::context::Context;
use crate::git::{git_command, git_version, run_git};
use crate::hooks;
use anyhow::Result;

fn reflink_supported(dir: &std::path::Path) -> bool {
    use std::os::fd::AsRawFd;
    let (Ok(src), Ok(dest)) = (tempfile::tempfile_in(dir), tempfile::tempfile_in(dir)) else {
        return false;
    };
    // SAFETY: FICLONE on two descriptors we own; it fails cleanly where unsupported.
    unsafe { libc::ioctl(dest.as_raw_fd(), libc::FICLONE, src.as_raw_fd()) == 0 }
}

pub fn run(g: &GlobalArgs) -> Result<i32> {
    println!("git-data {}", env!("CARGO_PKG_VERSION"));
    println!("git: {}", git_version());
    let filter = run_git(git_command().args(["config", "--get", "filter.data.process"])).ok();
    println!(
        "filter: {}",
        match filter {
            Some(v) if !v.trim().is_empty() => format!("installed ({})", v.trim()),
            _ => "not installed (run `git data install --global`)".into(),
        }
    );
    let ctx = match Context::open(g) {
        Ok(c) => c,
        Err(e) => {
            println!("repository: none ({e})");
            return Ok(0);
        }
    };
    println!("repository: {}", ctx.repo.work_tree.as_ref().unwrap_or(&ctx.repo.git_dir).display());
    println!("git dir: {}", ctx.repo.git_dir.display());
    println!(
        "config file: {}{}",
        ctx.config.file_path.display(),
        if ctx.config.file_path.exists() { "" } else { " (absent)" }
    );
    println!("cache: {}", ctx.store.root().display());
    let hooks_dir = ctx.repo.hooks_dir();
    println!(
        "hooks: {} ({})",
        if hooks::all_current(&hooks_dir) {
            "installed"
        } else {
            "missing (run `git data install`)"
        },
        hooks_dir.display()
    );
    let _ = std::fs::create_dir_all(ctx.store.root());
    let reflink = reflink_supported(ctx.store.root());
    let effective = match ctx.config.link_mode {
        LinkMode::Auto | LinkMode::Reflink if reflink => "reflink",
        LinkMode::Auto | LinkMode::Reflink => "copy (this file system has no reflinks)",
        LinkMode::Hardlink => "hardlink (read-only files)",
        LinkMode::Copy => "copy",
    };
    println!("link mode: {} -> {effective}", ctx.config.link_mode);
    println!("inline smudge up to: {}", super::human(ctx.config.inline_max));
    println!("transfer concurrency: {}", ctx.config.concurrency);
    if ctx.config.file.remotes.is_empty() {
        println!("remotes: none (add one with `git data remote add NAME URL`)");
    } else {
        println!("remotes:");
        for (name, r) in &ctx.config.file.remotes {
            let mark =
                if ctx.config.default_remote.as_deref() == Some(name.as_str()) { "*" } else { " " };
            println!("  {mark} {name}  {}", r.url);
        }
    }
    Ok(0)
}
