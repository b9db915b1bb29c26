//! `git data track` / `untrack`: edit the `filter=data` lines of the root `.gitattributes`.
//! `track --above SIZE` records `policy.track-above` and tracks the staged files over SIZE by
//! exact path; the pre-commit hook ([`pre_commit`]) does the same for new files at each commit.

use crate::cli::args::{TrackArgs, UntrackArgs};
use crate::cli::context::Context;
use crate::config::{FileConfig, SizeSetting};
use crate::git::attributes::normalize;
use crate::git::attributes::tracked_patterns;
use crate::git::scan::PathFilter;
use crate::git::worktree;
use crate::hint::hinted;
use crate::policy::{Policy, autotrack};
use anyhow::{Context as _, Result};
use gix::bstr::ByteSlice;

pub(crate) fn track(ctx: &Context, args: &TrackArgs) -> Result<i32> {
    let root = ctx.work_tree()?.to_path_buf();
    let path = root.join(".gitattributes");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).context("cannot read .gitattributes"),
    };
    let existing = tracked_patterns(&text);
    if let Some(above) = &args.above {
        if !args.patterns.is_empty() {
            let patterns = TrackArgs { patterns: args.patterns.clone(), above: None };
            track(ctx, &patterns)?;
        }
        return track_above(ctx, above);
    }
    if args.patterns.is_empty() {
        if existing.is_empty() {
            println!(
                "No patterns are tracked yet. Track some with `git data track \"*.pkl\" \"data/**\"`."
            );
        } else {
            println!("Tracked patterns (.gitattributes):");
            for p in existing {
                println!("    {p}");
            }
        }
        return Ok(0);
    }
    let cwd = std::env::current_dir()?;
    let mut new_text = text.clone();
    if !new_text.is_empty() && !new_text.ends_with('\n') {
        new_text.push('\n');
    }
    let mut added = Vec::new();
    for raw in &args.patterns {
        let pattern = normalize(&root, &cwd, raw)?;
        if existing.contains(&pattern) || added.contains(&pattern) {
            if !ctx.global.quiet {
                println!("\"{pattern}\" is already tracked");
            }
            continue;
        }
        new_text.push_str(&format!("{pattern} {}\n", ctx.filter_name().attrs()));
        added.push(pattern);
    }
    if new_text != text {
        let shared = crate::fs::textfile::Access::Shared;
        crate::fs::textfile::replace(&path, new_text.as_bytes(), &ctx.repo.tmp_dir(), shared)
            .context("cannot write .gitattributes")?;
    }
    if !ctx.global.quiet {
        for p in &added {
            println!("Tracking \"{p}\"");
        }
    }
    warn_ignored(&root, &added)?;
    if !added.is_empty() {
        hint_committed(ctx)?;
    }
    Ok(0)
}

/// Warns when git ignores what `patterns` track (those files never reach git, nor git-data):
/// once per ignore rule, naming the patterns it hides.
fn warn_ignored(root: &std::path::Path, patterns: &[String]) -> Result<()> {
    let mut by_rule: Vec<(String, Vec<&str>)> = Vec::new();
    for p in patterns {
        let Some(rule) =
            crate::git::ignore::ignored_by(root, &crate::git::ignore::example_path(p))?
        else {
            continue;
        };
        match by_rule.iter_mut().find(|(r, _)| *r == rule) {
            Some((_, ps)) => ps.push(p),
            None => by_rule.push((rule, vec![p])),
        }
    }
    for (rule, hidden) in &by_rule {
        eprintln!(
            "git-data: warning: git ignores what {} track{} ({rule}): those files are never \
             committed, so git-data cannot version them",
            hidden.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(", "),
            if hidden.len() == 1 { "s" } else { "" }
        );
    }
    if !by_rule.is_empty() {
        eprintln!(
            "hint: remove that rule, or narrow it: git cannot re-include files under an ignored \
             directory, so `/data/` must become `/data/*` followed by `!/data/raw/`"
        );
    }
    Ok(())
}

/// Points out files already committed to git that the new patterns now cover.
fn hint_committed(ctx: &Context) -> Result<()> {
    let (entries, _) = worktree::index_entries(&ctx.repo, &PathFilter::default())?;
    let flags = worktree::data_flags(&ctx.repo, &entries)?;
    let mut committed = 0;
    for (e, is_data) in entries.iter().zip(flags) {
        if is_data && ctx.repo.read_pointer(e.id).ok().flatten().is_none() {
            committed += 1;
        }
    }
    if committed > 0 && !ctx.global.quiet {
        println!(
            "hint: {committed} file{} already committed to git {}; `git add --renormalize .` moves {} into git-data in the next commit",
            if committed == 1 { "" } else { "s" },
            if committed == 1 { "matches" } else { "match" },
            if committed == 1 { "it" } else { "them" }
        );
    }
    Ok(())
}

/// `git data track --above SIZE`.
fn track_above(ctx: &Context, above: &str) -> Result<i32> {
    let Some(setting) = SizeSetting::parse(above).filter(|s| s.bytes.is_some()) else {
        return Err(hinted(
            format!("`{above}` is not a size"),
            "give a size such as 5MiB, 500KB or 10000000 (bytes); to stop tracking by size, \
             remove policy.track-above from .gitdata.yaml",
        ));
    };
    let threshold = setting.bytes.unwrap_or(u64::MAX);
    let mut file = FileConfig::load(&ctx.config.file_path)?;
    let policy = Policy::from_section(&file.policy)?;
    let staged = autotrack::oversized(&ctx.repo, &policy, threshold, false)?;
    let new = autotrack::oversized(&ctx.repo, &policy, threshold, true)?.len();
    autotrack::convert(&ctx.repo, &ctx.store, &staged, ctx.filter_name())?;
    if file.policy.track_above.as_ref() != Some(&setting) {
        file.policy.track_above = Some(setting.clone());
        file.save(&ctx.config.file_path, &ctx.repo.tmp_dir())?;
    }
    let hooks_dir = ctx.repo.hooks_dir();
    let actions = crate::git::hooks::install(&hooks_dir, true)?;
    let quiet = ctx.global.quiet;
    crate::cli::ui::say(
        quiet,
        format!(
            "Tracking files over {}: policy.track-above: {} in .gitdata.yaml",
            crate::units::human(threshold),
            setting.text
        ),
    );
    for f in &staged {
        crate::cli::ui::say(
            quiet,
            format!("Tracking \"{}\" ({})", f.path.to_str_lossy(), crate::units::human(f.size)),
        );
    }
    if !staged.is_empty() {
        crate::cli::ui::say(
            quiet,
            format!(
                "{} file{} staged as pointer{}, with .gitattributes: commit to record {}",
                staged.len(),
                if staged.len() == 1 { "" } else { "s" },
                if staged.len() == 1 { "" } else { "s" },
                if staged.len() == 1 { "it" } else { "them" },
            ),
        );
    }
    if staged.len() > new {
        crate::cli::ui::say(
            quiet,
            format!(
                "hint: earlier commits still hold {} of these files whole; `git data migrate import --above {}` rewrites them (or leave history as it is)",
                staged.len() - new,
                setting.text
            ),
        );
    }
    for a in actions {
        crate::cli::ui::say(quiet, format!("git-data: {a}"));
    }
    crate::cli::ui::say(
        quiet,
        "New files over that size are tracked when they are committed (pre-commit hook).",
    );
    Ok(0)
}

pub(crate) fn untrack(ctx: &Context, args: &UntrackArgs) -> Result<i32> {
    let root = ctx.work_tree()?.to_path_buf();
    let path = root.join(".gitattributes");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let cwd = std::env::current_dir()?;
    let wanted: Vec<String> =
        args.patterns.iter().map(|p| normalize(&root, &cwd, p)).collect::<Result<_>>()?;
    let mut removed = Vec::new();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            let mut words = l.split_whitespace();
            let pattern = words.next().unwrap_or_default();
            let drop = (wanted.iter().any(|w| w == pattern)
                || args.patterns.iter().any(|w| w == pattern))
                && l.split_whitespace().any(|w| w == "filter=data");
            if drop {
                removed.push(pattern.to_string());
            }
            !drop
        })
        .collect();
    if removed.is_empty() {
        anyhow::bail!(
            "no tracked pattern matches {}; `git data track` lists them",
            args.patterns.join(", ")
        );
    }
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    let shared = crate::fs::textfile::Access::Shared;
    crate::fs::textfile::replace(&path, out.as_bytes(), &ctx.repo.tmp_dir(), shared)
        .context("cannot write .gitattributes")?;
    if !ctx.global.quiet {
        for p in removed {
            println!("Untracking \"{p}\"");
        }
    }
    Ok(0)
}
