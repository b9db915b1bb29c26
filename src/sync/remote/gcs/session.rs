//! The local record of a resumable GCS upload in progress, one JSON file per object under
//! `state_dir/gcs-uploads/`: the session URL and the bytes the server acknowledged, so a
//! push killed mid-file resumes. A record is a cache: losing it only means sending the file
//! again, and one that does not match the object (bucket, name, size) is ignored.

use super::upload::Upload;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The local record of a resumable upload in progress.
#[derive(Serialize, Deserialize, Debug)]
pub(super) struct Record {
    pub bucket: String,
    pub object: String,
    pub size: u64,
    pub session: String,
    /// Bytes the server has acknowledged.
    #[serde(default)]
    pub sent: u64,
}

impl Upload<'_> {
    fn record_path(&self) -> PathBuf {
        let id = crate::oid::Oid::of_bytes(
            format!("{}/{}", self.remote.s.bucket, self.object).as_bytes(),
        );
        self.remote.s.state_dir.join("gcs-uploads").join(format!("{}.json", id.short(32)))
    }

    pub(super) fn load(&self) -> Option<Record> {
        let rec: Record = serde_json::from_slice(&std::fs::read(self.record_path()).ok()?).ok()?;
        (rec.size == self.size && rec.object == self.object && rec.bucket == self.remote.s.bucket)
            .then_some(rec)
    }

    /// Writes the record, readable by its owner only (the session URL lets anyone who has
    /// it upload). Best effort: a lost record only means sending the file again.
    pub(super) fn save(&self, rec: &Record) {
        use crate::fs::textfile::{Access, replace};
        let path = self.record_path();
        let (Some(dir), Ok(text)) = (path.parent(), serde_json::to_vec(rec)) else { return };
        let tmp = self.remote.s.state_dir.join("tmp");
        let _ =
            std::fs::create_dir_all(dir).and_then(|_| replace(&path, &text, &tmp, Access::Private));
    }

    pub(super) fn forget(&self) {
        let _ = std::fs::remove_file(self.record_path());
    }
}
