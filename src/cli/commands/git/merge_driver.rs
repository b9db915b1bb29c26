//! The `data` merge driver (`git-data merge-driver %O %A %B %P`). git calls it with the
//! pointers of the base, ours and theirs when both sides changed a tracked file. Pointers
//! cannot be merged line by line: a real conflict leaves ours in place (no conflict markers,
//! ever), explains both versions and exits 1 so git records the conflict with both versions
//! in the index (stages 2 and 3).

use crate::pointer::Pointer;
use anyhow::Result;
use std::path::Path;

fn describe(data: &[u8]) -> String {
    match Pointer::parse(data) {
        Ok(p) => format!("object {} ({})", p.oid.short(12), crate::units::human(p.size)),
        Err(_) => format!("{} bytes stored directly in git", data.len()),
    }
}

pub(crate) fn run(base: &Path, ours: &Path, theirs: &Path, path: &str) -> Result<i32> {
    let read = |p: &Path| std::fs::read(p).unwrap_or_default();
    let (o, a, b) = (read(base), read(ours), read(theirs));
    if a == b || o == b {
        return Ok(0); // ours already is the result
    }
    if o == a {
        std::fs::write(ours, &b)?; // only theirs changed
        return Ok(0);
    }
    eprintln!("git-data: CONFLICT (data file): {path} was changed on both sides");
    eprintln!("  ours:   {}", describe(&a));
    eprintln!("  theirs: {}", describe(&b));
    eprintln!("  The work tree keeps ours. Choose one with `git checkout --ours -- {path}` or");
    eprintln!("  `git checkout --theirs -- {path}`, then `git add {path}` and commit.");
    Ok(1)
}
