//! `git data remote test`: tries a remote the way pushes and pulls will use it: reachable with
//! the credentials given, then a small probe object written, read back and deleted.
//!
//! Invariants: the probe is a real object (named by the hash of unique bytes) that goes up
//! from the cache like any other, so a probe a failed delete or a kill leaves behind is an
//! unreferenced object that `git data gc` (`--remote`) removes, never a foreign file; each step says what failed and how to fix it, and a step
//! after a failed one is not tried (except the delete, after a write).

use super::Local;
use super::remote::{Key, RemoteError};
use crate::fs::atomic::AtomicFile;
use crate::progress::Progress;
use anyhow::Result;

/// One step of a test, and how it went.
pub(crate) struct Step {
    pub what: &'static str,
    pub result: Result<(), RemoteError>,
}

/// What a test found: the remote's name and location, and its steps in order.
pub(crate) struct Tested {
    pub name: String,
    pub location: String,
    pub steps: Vec<Step>,
}

impl Tested {
    /// Whether pushes and pulls can use the remote (a probe left behind is only untidy).
    pub(crate) fn usable(&self) -> bool {
        self.steps.iter().all(|s| s.result.is_ok() || s.what == DELETE)
    }
}

const DELETE: &str = "delete the probe";
const KEPT: &str = "leave the probe there (a Git LFS server's API cannot delete)";

/// Tests the remote `name` (or the default one). An error only when it cannot be opened
/// at all (no such remote, a bad URL).
pub(crate) fn test(local: &Local<'_>, name: Option<&str>) -> Result<Tested> {
    let remote = super::open_remote(local.config, local.repo, name)?;
    let transfer = super::transfer(local.config)?;
    let mut tested =
        Tested { name: remote.name().to_string(), location: remote.location(), steps: Vec::new() };
    let reached = transfer.call(|| remote.check());
    let ok = reached.is_ok();
    tested.steps.push(Step { what: "reach it with these credentials", result: reached });
    if !ok {
        return Ok(tested);
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let bytes = format!("git-data remote test {} {stamp}\n", std::process::id());
    // uploaded from the cache, as every object is: no temp file of its own to leave behind
    // if this is killed (the tiny cache object is unreferenced, and `git data gc` drops it)
    let (oid, size) = local.store.insert_bytes(bytes.as_bytes())?;
    let key = Key::Object(oid);
    let src = local.store.object_path(&oid);
    let hidden = Progress::hidden();
    let wrote = transfer.call(|| remote.put(&key, &src, size, &hidden));
    let ok = wrote.is_ok();
    tested.steps.push(Step { what: "write a probe object", result: wrote });
    if !ok {
        return Ok(tested);
    }
    let read = transfer.call(|| async {
        let mut sink = AtomicFile::hash_only();
        remote.get_sized(&key, size, &mut sink, &hidden).await?;
        match sink.digest() {
            (got, n) if got == oid && n == size => Ok(()),
            (_, n) => Err(RemoteError::new(
                remote.name(),
                super::remote::ErrorKind::Corrupt,
                format!("the probe came back different ({n} bytes, {size} written)"),
            )),
        }
    });
    tested.steps.push(Step { what: "read it back", result: read });
    if !remote.can_delete() {
        tested.steps.push(Step { what: KEPT, result: Ok(()) });
        return Ok(tested);
    }
    let deleted = transfer.call(|| remote.delete(&key));
    tested.steps.push(Step { what: DELETE, result: deleted });
    Ok(tested)
}
