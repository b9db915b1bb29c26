//! `git data push` and the upload step shared with the pre-push hook.
//!
//! Invariants: an object is uploaded only if the remote lacks it (known-on-remote record
//! first, then one existence check per unknown object, in parallel); a push fails — naming
//! every file and commit concerned — when an object is missing everywhere or cannot be
//! uploaded, or when a pointer's size contradicts the object it names (before anything is
//! uploaded); what was confirmed on the remote is recorded even when other objects fail.

use crate::cli::args::{PushArgs, TransferArgs};
use crate::cli::context::Context;
use crate::git::scan::{Found, PathFilter, Scanner};
use crate::hinted;
use crate::progress::Progress;
use anyhow::Result;
use std::collections::HashMap;

/// What an upload did.
#[derive(Default, Debug)]
pub struct Uploaded {
    pub files: usize,
    pub bytes: u64,
    pub already: usize,
    /// Whether the remote was asked (else the known-on-remote record answered for all).
    pub asked: bool,
}

/// Uploads the objects of the pointers in `found` to the remote `name` (or the default).
pub fn upload(
    ctx: &Context,
    name: Option<&str>,
    found: &[Found],
    verify: bool,
) -> Result<Uploaded> {
    let mut by_oid: HashMap<crate::oid::Oid, &Found> = HashMap::new();
    for f in found {
        if let Some(p) = &f.pointer {
            by_oid.entry(p.oid).or_insert(f);
        }
    }
    if by_oid.is_empty() {
        return Ok(Uploaded::default());
    }
    let wrong = super::wrong_size::find(&ctx.store, found);
    if !wrong.is_empty() {
        return Err(super::wrong_size::refuse(&ctx.repo, &ctx.store, &wrong));
    }
    let remote = ctx.remote(name)?;
    let mut known = ctx.known(&*remote);
    let unknown: Vec<(crate::oid::Oid, u64)> = by_oid
        .values()
        .filter_map(|f| f.pointer)
        .filter(|p| verify || !known.contains(&p.oid))
        .map(|p| (p.oid, p.size))
        .collect();
    if unknown.is_empty() {
        // everything is known to be on the remote: nothing to ask it
        return Ok(Uploaded { already: by_oid.len(), ..Uploaded::default() });
    }
    let transfer = ctx.transfer()?;
    transfer.call(|| remote.check())?;
    let lacking = transfer.missing(&remote, &unknown)?;
    let lacking_set: std::collections::HashSet<_> = lacking.iter().map(|(o, _)| *o).collect();
    known.add(unknown.iter().map(|(o, _)| *o).filter(|o| !lacking_set.contains(o)));
    // a record the remote contradicts (asked with --verify-remote) is stale
    known.forget(&lacking.iter().map(|(o, _)| *o).collect::<Vec<_>>());
    let (have, gone): (Vec<_>, Vec<_>) =
        lacking.into_iter().partition(|(o, s)| ctx.store.contains(o, *s));
    let total = crate::progress::total_of(have.iter().map(|(_, s)| *s));
    let progress = Progress::bytes(ctx.progress(), "Uploading", total, have.len());
    let report = transfer.upload(&remote, &ctx.store, &have, &progress);
    progress.finish();
    known.add(report.done.iter().copied());
    let mut problems = Vec::new();
    for (oid, _) in &gone {
        let f = by_oid[oid];
        problems.push(format!(
            "{} (commit {}): object {} is neither in the local cache nor on {}",
            f.path,
            f.commit.to_hex_with_len(10),
            oid.short(12),
            remote.name()
        ));
    }
    let mut hint = None;
    for (oid, err) in &report.failed {
        let path = by_oid.get(oid).map(|f| f.path.to_string()).unwrap_or_default();
        problems.push(format!("{path}: {err}"));
        hint = hint.or_else(|| err.hint().map(str::to_string));
    }
    if !problems.is_empty() {
        let n = problems.len();
        let mut message = format!(
            "{n} file{} could not be uploaded to {}:",
            if n == 1 { "" } else { "s" },
            remote.name()
        );
        for p in problems.iter().take(20) {
            message.push_str(&format!("\n  {p}"));
        }
        if n > 20 {
            message.push_str(&format!("\n  ... and {} more", n - 20));
        }
        // A missing object's fix comes first: no upload error can be the cause of it.
        let hint = if !gone.is_empty() {
            format!(
                "a missing object must be uploaded from a clone that has it: `{} --all` there \
                 (it asks the remote instead of trusting that clone's record); then push again",
                crate::sync::remote::REPAIR_COMMAND
            )
        } else {
            hint.unwrap_or_else(|| {
                "nothing was half-written: fix the cause above, then push again".to_string()
            })
        };
        return Err(hinted(message, hint));
    }
    let uploaded = Uploaded {
        files: report.done.len(),
        bytes: report.bytes,
        already: by_oid.len() - report.done.len(),
        asked: true,
    };
    if uploaded.files > 0 && !ctx.global.quiet {
        eprintln!(
            "git-data: uploaded {} file{} ({}) to {}",
            uploaded.files,
            if uploaded.files == 1 { "" } else { "s" },
            super::human(uploaded.bytes),
            remote.name()
        );
    }
    Ok(uploaded)
}

/// The revisions a transfer command works on: `--all`, `--rev`s, or HEAD.
pub fn tips(ctx: &Context, args: &TransferArgs) -> Result<Vec<gix::ObjectId>> {
    if args.all {
        return Ok(ctx.repo.all_ref_tips());
    }
    if args.revs.is_empty() {
        return Ok(ctx.repo.resolve_commit("HEAD").ok().into_iter().collect());
    }
    args.revs.iter().map(|r| Ok(ctx.repo.resolve_commit(r)?)).collect()
}

pub fn run(ctx: &Context, push: &PushArgs) -> Result<i32> {
    let args = &push.transfer;
    let tips = tips(ctx, args)?;
    let filter = PathFilter::new(ctx.repo_paths(&args.paths)?);
    let found: Vec<Found> = Scanner::new(&ctx.repo)
        .introduced(&tips, &[])?
        .into_iter()
        .filter(|f| filter.matches(&f.path))
        .collect();
    let up = upload(ctx, args.remote.as_deref(), &found, push.verify_remote)?;
    if !ctx.global.quiet && up.files == 0 {
        let (n, s) = (up.already, if up.already == 1 { "" } else { "s" });
        if up.asked {
            println!("Everything is already on the remote ({n} file{s}).");
        } else {
            println!(
                "Everything is already on the remote ({n} file{s}, by this clone's record of \
                 uploads; `git data push --verify-remote` asks the remote)."
            );
        }
    }
    Ok(0)
}
