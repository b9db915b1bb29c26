//! Uploading the objects of pointers to a remote, for `git data push` and the pre-push hook,
//! and the one answer to "which of these objects does the remote lack".
//!
//! Invariants: an object is uploaded only if the remote lacks it (known-on-remote record
//! first, then one existence check per unknown object, in parallel); an upload fails, naming
//! every file and commit concerned, when an object is missing everywhere or cannot be
//! uploaded, or when a pointer's size contradicts the object it names (before anything is
//! uploaded); what was confirmed on the remote is recorded even when other objects fail.

use super::Local;
use super::remote::Remote;
use super::transfer::Transfer;
use crate::config::Config;
use crate::git::scan::Found;
use crate::hint::hinted;
use crate::oid::Oid;
use crate::policy::wrong_size;
use crate::progress::Progress;
use crate::store::state::known::KnownObjects;
use anyhow::Result;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What an upload did.
#[derive(Default, Debug)]
pub(crate) struct Uploaded {
    pub files: usize,
    pub bytes: u64,
    pub already: usize,
    /// Whether the remote was asked (else the known-on-remote record answered for all).
    pub asked: bool,
    /// The remote's name.
    pub remote: String,
}

/// Uploads the objects of the pointers in `found` to the remote `name` (or the default).
pub(crate) fn upload(
    ctx: &Local<'_>,
    name: Option<&str>,
    found: &[Found],
    verify: bool,
) -> Result<Uploaded> {
    let mut by_oid: HashMap<Oid, &Found> = HashMap::new();
    for f in found {
        if let Some(p) = &f.pointer {
            by_oid.entry(p.oid).or_insert(f);
        }
    }
    if by_oid.is_empty() {
        return Ok(Uploaded::default());
    }
    let wrong = wrong_size::find(ctx.store, found);
    if !wrong.is_empty() {
        return Err(wrong_size::refuse(ctx.repo, ctx.store, &wrong));
    }
    let remote = super::open_remote(ctx.config, ctx.repo, name)?;
    let mut known = super::known(ctx.repo, &*remote);
    let objects: Vec<(Oid, u64)> =
        by_oid.values().filter_map(|f| f.pointer).map(|p| (p.oid, p.size)).collect();
    let Some(Lacking { objects: lacking, transfer }) =
        lacking(&remote, &mut known, ctx.config, &objects, verify)?
    else {
        // everything is known to be on the remote: nothing to ask it
        return Ok(Uploaded {
            already: by_oid.len(),
            remote: remote.name().to_string(),
            ..Uploaded::default()
        });
    };
    let (have, gone): (Vec<_>, Vec<_>) =
        lacking.into_iter().partition(|(o, s)| ctx.store.contains(o, *s));
    let total = crate::progress::total_of(have.iter().map(|(_, s)| *s));
    let progress = Progress::bytes(ctx.progress, "Uploading", total, have.len());
    let report = transfer.upload(&remote, ctx.store, &have, &progress);
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
    Ok(Uploaded {
        files: report.done.len(),
        bytes: report.bytes,
        already: by_oid.len() - report.done.len(),
        asked: true,
        remote: remote.name().to_string(),
    })
}

/// What a remote lacks.
pub(crate) struct Lacking {
    pub objects: Vec<(Oid, u64)>,
    /// The transfer queue that asked, for the uploads that follow.
    pub transfer: Transfer,
}

/// Which of `objects` the remote lacks, with the transfer queue that asked it (`config`'s),
/// or `None` when the record of objects known to be on it answered for all of them (it is
/// always asked with `verify`). The objects the remote was found to hold are recorded, and
/// records it contradicts are forgotten.
pub(crate) fn lacking(
    remote: &Arc<dyn Remote>,
    known: &mut KnownObjects,
    config: &Config,
    objects: &[(Oid, u64)],
    verify: bool,
) -> Result<Option<Lacking>> {
    let unknown: Vec<(Oid, u64)> =
        objects.iter().filter(|(o, _)| verify || !known.contains(o)).copied().collect();
    if unknown.is_empty() {
        return Ok(None);
    }
    let transfer = super::transfer(config)?;
    transfer.call(|| remote.check())?;
    let lacking = transfer.missing(remote, &unknown)?;
    let lacking_set: HashSet<Oid> = lacking.iter().map(|(o, _)| *o).collect();
    known.add(unknown.iter().map(|(o, _)| *o).filter(|o| !lacking_set.contains(o)));
    // a record the remote contradicts (asked with --verify-remote) is stale
    known.forget(&lacking.iter().map(|(o, _)| *o).collect::<Vec<_>>());
    Ok(Some(Lacking { objects: lacking, transfer }))
}
