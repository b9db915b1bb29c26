//! The cache: read-only idempotent inserts, corruption and quarantine, the verified record.

use super::*;
use crate::store::state::log::RecordLog;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

#[test]
fn storing_an_object_again_freshens_it_unless_a_work_tree_links_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("cache"));
    let old = SystemTime::now() - Duration::from_secs(30 * 86_400);
    let age = |oid: &Oid| {
        let mtime = fs::metadata(store.object_path(oid)).unwrap().modified().unwrap();
        SystemTime::now().duration_since(mtime).unwrap_or_default()
    };
    let (oid, _) = store.insert_bytes(b"model weights").unwrap();
    fs::File::open(store.object_path(&oid)).unwrap().set_modified(old).unwrap();
    assert!(age(&oid) > Duration::from_secs(29 * 86_400));
    assert_eq!(store.insert_bytes(b"model weights").unwrap().0, oid);
    assert!(age(&oid) < Duration::from_secs(3600), "stored again: fresh");
    assert_eq!(fs::read(store.object_path(&oid)).unwrap(), b"model weights");

    // hard-linked into a work tree: its times are the work-tree file's, left alone
    let (linked, _) = store.insert_bytes(b"linked data").unwrap();
    fs::hard_link(store.object_path(&linked), dir.path().join("work-file")).unwrap();
    fs::File::open(store.object_path(&linked)).unwrap().set_modified(old).unwrap();
    store.insert_bytes(b"linked data").unwrap();
    assert!(age(&linked) > Duration::from_secs(29 * 86_400));
}

#[test]
fn insert_is_read_only_and_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let (oid, size) = store.insert_reader(&b"weights v1"[..]).unwrap();
    assert_eq!((oid, size), (Oid::of_bytes(b"weights v1"), 10));
    let path = store.object_path(&oid);
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o222, 0);
    assert_eq!(store.insert_reader(&b"weights v1"[..]).unwrap().0, oid);
    assert!(store.contains(&oid, 10));
    assert_eq!(store.list().unwrap(), vec![oid]);
    let temps = std::fs::read_dir(store.tmp_dir()).unwrap().flatten();
    let temps: Vec<_> =
        temps.filter(|e| !e.file_name().to_string_lossy().starts_with("writing-")).collect();
    assert!(temps.is_empty(), "no temp left behind: {temps:?}");
}

#[test]
fn corrupt_object_is_detected_and_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let (oid, size) = store.insert_reader(&b"0123456789"[..]).unwrap();
    let path = store.object_path(&oid);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(&path, b"0123456780").unwrap();
    let err = store.open_verified(&oid, size).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains(&oid.to_hex()));
    assert!(!path.exists(), "corrupt object is no longer served");
    assert!(matches!(store.open_verified(&oid, size), Err(StoreError::Missing { .. })));
}

#[test]
fn a_wrong_size_blames_the_pointer_when_the_object_is_intact() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let (oid, _) = store.insert_reader(&b"abc"[..]).unwrap();
    let err = store.open_verified(&oid, 4).unwrap_err();
    assert!(
        matches!(err, StoreError::WrongSize { expected: 4, actual: 3, .. }),
        "{err}: the object is intact, the pointer is wrong"
    );
    assert_eq!(store.wrong_size(&oid, 4), Some(3));
    assert_eq!(store.wrong_size(&oid, 3), None);
    store.open_verified(&oid, 3).unwrap();
    // a damaged object of another size is corrupt, and quarantined
    let path = store.object_path(&oid);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(&path, b"abcd").unwrap();
    assert!(matches!(store.open_verified(&oid, 3), Err(StoreError::Corrupt { .. })));
    assert!(!path.exists());
}

#[test]
fn a_good_copy_put_in_place_after_the_check_is_not_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let (oid, _) = store.insert_bytes(b"model").unwrap();
    let path = store.object_path(&oid);
    let examined = fs::metadata(&path).unwrap(); // found bad by one process ...
    // ... while another moved it away and stored a good copy (another inode)
    fs::rename(&path, dir.path().join("elsewhere")).unwrap();
    store.insert_bytes(b"model").unwrap();
    let err = store.quarantine(&oid, "test".into(), &examined);
    assert!(matches!(err, StoreError::Corrupt { .. }));
    assert_eq!(fs::read(&path).unwrap(), b"model", "the good copy stays in place");
    assert_eq!(fs::read_dir(dir.path().join("quarantine")).unwrap().count(), 0);
    // the file that was examined is moved
    let examined = fs::metadata(&path).unwrap();
    store.quarantine(&oid, "test".into(), &examined);
    assert!(!path.exists());
}

#[test]
fn verified_record_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let oid = Store::new(dir.path()).insert_reader(&b"abc"[..]).unwrap().0;
    let store = Store::new(dir.path());
    let meta = fs::metadata(store.object_path(&oid)).unwrap();
    assert!(
        store.verified.trusted(&oid, &meta),
        "a verified, unchanged object is not hashed again"
    );
    store.open_verified(&oid, 3).unwrap();
    // A link in the work tree (hardlink mode) moves only the ctime: still trusted.
    std::thread::sleep(crate::fs::stat::racy_margin());
    let link = dir.path().join("work-tree-copy");
    fs::hard_link(store.object_path(&oid), &link).unwrap();
    fs::remove_file(&link).unwrap();
    let meta = fs::metadata(store.object_path(&oid)).unwrap();
    assert!(store.verified.trusted(&oid, &meta), "linking does not change the content");
    // A write to the file (its mtime moves) makes it untrusted again.
    let path = store.object_path(&oid);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(&path, b"abd").unwrap();
    let meta = fs::metadata(&path).unwrap();
    assert!(!store.verified.trusted(&oid, &meta));
    assert!(matches!(store.open_verified(&oid, 3), Err(StoreError::Corrupt { .. })));
}

#[test]
fn verified_log_is_compacted_when_re_verifications_double_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let oid = store.insert_reader(&b"abc"[..]).unwrap().0;
    for _ in 0..1500 {
        store.verified.record(&oid, &store.object_path(&oid));
    }
    drop(store);
    let log = RecordLog::new(dir.path().join("verified.log"));
    assert!(log.read().unwrap().len() > 1500);
    let store = Store::new(dir.path());
    let meta = fs::metadata(store.object_path(&oid)).unwrap();
    assert!(store.verified.trusted(&oid, &meta), "compaction keeps the record");
    assert_eq!(log.read().unwrap().len(), 1);
    // records made after the compaction go to the new file
    let other = store.insert_reader(&b"xyz"[..]).unwrap().0;
    drop(store);
    let store = Store::new(dir.path());
    let meta = fs::metadata(store.object_path(&other)).unwrap();
    assert!(store.verified.trusted(&other, &meta));
    assert_eq!(log.read().unwrap().len(), 2);
}
