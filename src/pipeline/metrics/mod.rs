//! Metrics and params across revisions (`git data metrics …`, `git data params …`) and the
//! lineage of a commit's data (`git data lineage`): the files a `dvc.yaml` declares, read at
//! each revision through one `git cat-file --batch` ([`collect`]), parsed and flattened to
//! dotted keys ([`formats`]), set side by side ([`table`]); [`lineage`] lists the
//! data files and the lock's stages with their ids.
//!
//! Invariant: nothing here prints; the command line renders tables, JSON and notes.

pub(crate) mod collect;
pub(crate) mod formats;
pub(crate) mod lineage;
pub(crate) mod table;
