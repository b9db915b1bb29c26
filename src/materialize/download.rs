//! Missing objects: downloaded from a remote into the cache, the first file of each large
//! one staged so that its download streams into it too (the bytes are written once more
//! instead of copied from the cache afterwards).
//!
//! Invariant: a staged file is swapped in only when its download delivered the verified
//! object; any other staged temp is removed, and its file is written from the cache later or
//! reported.

use super::write::{self, Staged, Temps};
use super::{Outcome, Written};
use crate::config::LinkMode;
use crate::oid::Oid;
use crate::pointer::Pointer;
use crate::sync::Local;
use crate::sync::fetch::Source;
use crate::sync::remote::RemoteError;
use gix::bstr::{BString, ByteSlice};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Where missing objects come from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Fetch<'a> {
    /// Nowhere: a file whose object is not cached is reported (`git data checkout`).
    Never,
    /// The remote of that name, or the default one.
    From(Option<&'a str>),
}

/// Objects at least this large are downloaded into their work-tree file as well as into the
/// cache, where the file would otherwise be a copy of the cache object.
const TEE_MIN: u64 = 4 << 20;

/// At most this many at once (two open descriptors each).
const TEE_MAX: usize = 128;

/// Temp files (in the git directory, on the work tree's file system) for the first file of
/// each large missing object, for its download to fill as it fills the cache: the bytes are
/// written once more instead of copied afterwards (a second pass over the cache object, which
/// is written past the page cache and would be read back from disk). Only where the file
/// would be a copy: not in hard-link mode, and not where the cache can reflink into the work
/// tree.
pub(super) fn stage(
    ctx: &Local<'_>,
    temps: &Temps,
    root: &Path,
    missing: &[(BString, Pointer)],
) -> HashMap<Oid, Tee> {
    let mut out = HashMap::new();
    if ctx.config.link_mode == LinkMode::Hardlink {
        return out;
    }
    for (path, pointer) in missing.iter().filter(|(_, p)| p.size >= TEE_MIN) {
        if out.len() == TEE_MAX {
            break;
        }
        if out.contains_key(&pointer.oid) {
            continue;
        }
        // a temp that cannot be renamed into place is not made
        let Some(staged) = Staged::for_download(temps, root, path.as_bstr()) else { continue };
        if out.is_empty() && write::reflinks_to(ctx.store.tmp_dir(), staged.file()) {
            return HashMap::new();
        }
        out.insert(pointer.oid, (path.clone(), *pointer, staged));
    }
    out
}

/// A staged work-tree file for a download: its path, pointer and temp.
pub(super) type Tee = (BString, Pointer, Staged);

/// Swaps in the staged files whose download succeeded; the others are dropped (removed).
pub(super) fn finish_teed(
    staged: HashMap<Oid, Tee>,
    teed: &HashSet<Oid>,
    outcome: &mut Outcome,
) -> Vec<Written> {
    let mut written = Vec::new();
    for (oid, (path, pointer, file)) in staged {
        if teed.contains(&oid) {
            match file.finish(pointer.size) {
                Ok(stat) => written.push(Written { path, pointer, stat }),
                Err(e) => outcome.failed.push((path, e)),
            }
        }
    }
    written
}

/// Downloads missing objects from the default remote; returns, per oid that is still
/// missing, why.
pub(crate) fn fetch_missing(
    ctx: &Local<'_>,
    missing: &[(BString, Pointer)],
) -> HashMap<Oid, String> {
    fetch_missing_teed(ctx, missing, Fetch::From(None), HashMap::new()).0
}

/// Downloads missing objects, each object in `tees` streaming into its file too; returns,
/// per oid still missing, why; the oids whose file got the verified object; and the fix
/// when the failures have a known one.
pub(super) fn fetch_missing_teed(
    ctx: &Local<'_>,
    missing: &[(BString, Pointer)],
    fetch: Fetch<'_>,
    tees: HashMap<Oid, std::fs::File>,
) -> (HashMap<Oid, String>, HashSet<Oid>, Option<String>) {
    let fail_all = |why: String| missing.iter().map(|(_, p)| (p.oid, why.clone())).collect();
    let name = match fetch {
        Fetch::From(name) => name,
        Fetch::Never => {
            let why = "not in the local cache; run `git data pull` to download it";
            return (fail_all(why.into()), HashSet::new(), None);
        }
    };
    let source = match Source::open(ctx, name) {
        Ok(s) => s,
        Err(e) => {
            let hint = e.chain().find_map(|c| c.downcast_ref::<RemoteError>()?.hint.clone());
            let also = hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default();
            let why = format!("not in the local cache and cannot be downloaded: {e:#}{also}");
            return (fail_all(why), HashSet::new(), hint);
        }
    };
    let objects: Vec<_> = missing.iter().map(|(_, p)| (p.oid, p.size)).collect();
    let report = source.download(ctx, &objects, tees);
    let hint = report.failed.iter().find_map(|(_, e)| e.hint().map(str::to_string));
    let why = report
        .failed
        .into_iter()
        .map(|(oid, err)| {
            let also = err.hint().map(|h| format!("; {h}")).unwrap_or_default();
            (oid, format!("{}{also}", err.cause()))
        })
        .collect();
    (why, report.teed, hint)
}
