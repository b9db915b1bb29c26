//! Pointers whose size contradicts the object they name: the oid is right, the `size` line is
//! not (a hand edit, a faulty tool). Shared by `push` and the pre-push hook (which refuse such
//! commits), `fsck` and `check` (which report them).
//!
//! Invariants: the pointer is blamed only when the cache holds the object intact (checked by
//! its record or its hash) with another size; the object and the files that name it with the
//! right size are never touched.

use crate::git::Repo;
use crate::git::scan::Found;
use crate::oid::Oid;
use crate::policy::report::describe_commit;
use crate::store::Store;
use std::collections::HashSet;

/// A pointer that says `said` bytes for an object of `actual` bytes.
pub(crate) struct WrongSize<'a> {
    pub found: &'a Found,
    pub oid: Oid,
    pub said: u64,
    pub actual: u64,
}

/// The pointers among `found` whose size contradicts their cached object, each file version
/// once.
pub(crate) fn find<'a>(store: &Store, found: &'a [Found]) -> Vec<WrongSize<'a>> {
    let mut seen = HashSet::new();
    found
        .iter()
        .filter_map(|f| {
            let p = f.pointer?;
            let actual = store.wrong_size(&p.oid, p.size)?;
            seen.insert((&f.path, f.blob)).then_some(WrongSize {
                found: f,
                oid: p.oid,
                said: p.size,
                actual,
            })
        })
        .collect()
}

impl WrongSize<'_> {
    /// `path (commit …): its pointer says N bytes, but object … has M bytes`.
    pub(crate) fn describe(&self, repo: &Repo) -> String {
        format!(
            "{} (commit {}): its pointer says {} bytes, but object {} has {} bytes",
            self.found.path,
            describe_commit(repo, self.found.commit),
            self.said,
            self.oid.short(12),
            self.actual
        )
    }

    /// How to mend the pointer: the data is intact in the cache.
    pub(crate) fn hint(&self, store: &Store) -> String {
        let path = self.found.path.to_string();
        format!(
            "the data is intact: write it back (`cat {} > {path}`), `git add {path}`, and amend the \
             commit that added the wrong pointer (`git commit --amend`, or `git rebase -i` for an \
             older one)",
            store.object_path(&self.oid).display()
        )
    }
}

/// The error that refuses a push of `wrong` pointers (at least one).
pub(crate) fn refuse(repo: &Repo, store: &Store, wrong: &[WrongSize]) -> anyhow::Error {
    let n = wrong.len();
    let mut message = format!(
        "{n} file{} of the pushed commits {} a pointer whose size contradicts its object; nothing was uploaded:",
        if n == 1 { "" } else { "s" },
        if n == 1 { "has" } else { "have" }
    );
    for w in wrong.iter().take(20) {
        message.push_str(&format!("\n  {}", w.describe(repo)));
    }
    if n > 20 {
        message.push_str(&format!("\n  ... and {} more", n - 20));
    }
    crate::hint::hinted(message, wrong[0].hint(store))
}
