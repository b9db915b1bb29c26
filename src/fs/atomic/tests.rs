//! The atomic writer: verification, read-only objects, concurrent writers, tees.

use super::*;
use crate::fs::copy::copy_into_place;

#[test]
fn mismatch_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = AtomicFile::create(&dir.path().join("tmp")).unwrap();
    f.write_all(b"abc").unwrap();
    let dest = dir.path().join("objects/x");
    let err = f.commit(&dest, Some((Oid::of_bytes(b"abd"), 3)), true).unwrap_err();
    assert!(matches!(err, CommitError::Mismatch { .. }));
    assert!(!dest.exists());
    assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
}

#[test]
fn many_writers_of_the_same_new_objects_all_succeed() {
    // Each round places one object into a shard that does not exist yet, from 8 threads
    // released at once: the rename of all but one finds the object already there.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::write(&src, b"same bytes").unwrap();
    let writers = 8;
    let barrier = std::sync::Barrier::new(writers);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..writers {
            s.spawn(|| {
                for round in 0..40u32 {
                    let dest = dir.path().join(format!("objects/{round:02x}/cd/obj"));
                    let tmp = dir.path().join("tmp");
                    barrier.wait();
                    if let Err(e) = copy_into_place(&src, &tmp, &dest, 10, false) {
                        failures.lock().unwrap().push(format!("copy, round {round}: {e}"));
                    }
                    let dest = dir.path().join(format!("cache/{round:02x}/ef/obj"));
                    let mut f = AtomicFile::create(&dir.path().join("cache-tmp")).unwrap();
                    f.write_all(b"same bytes").unwrap();
                    barrier.wait();
                    if let Err(e) = f.commit(&dest, None, false) {
                        failures.lock().unwrap().push(format!("commit, round {round}: {e}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} failed, first: {:?}", failures.len(), failures.first());
    assert_eq!(fs::read(dir.path().join("objects/27/cd/obj")).unwrap(), b"same bytes");
}

#[test]
fn long_streams_are_written_completely() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = AtomicFile::create(&dir.path().join("tmp")).unwrap();
    let data: Vec<u8> = (0..(9u32 << 20) + 12345).map(|i| (i % 251) as u8).collect();
    for chunk in data.chunks(65516) {
        f.write_all(chunk).unwrap();
    }
    let dest = dir.path().join("obj");
    f.commit(&dest, Some((Oid::of_bytes(&data), data.len() as u64)), false).unwrap();
    assert!(fs::read(&dest).unwrap() == data);
}

#[test]
fn a_tee_gets_every_byte_and_is_refilled_on_reset() {
    let dir = tempfile::tempdir().unwrap();
    let tee_path = dir.path().join("tee");
    let mut f = AtomicFile::create(&dir.path().join("tmp")).unwrap();
    f.tee(File::create(&tee_path).unwrap());
    f.write_all(&[7u8; 5000]).unwrap();
    f.reset().unwrap();
    let data: Vec<u8> = (0..(6u32 << 20) + 77).map(|i| (i % 253) as u8).collect();
    for chunk in data.chunks(100_003) {
        f.write_all(chunk).unwrap();
    }
    let dest = dir.path().join("obj");
    f.commit(&dest, Some((Oid::of_bytes(&data), data.len() as u64)), false).unwrap();
    assert!(fs::read(&dest).unwrap() == data);
    assert!(fs::read(&tee_path).unwrap() == data);
}

#[test]
fn copy_from_fills_the_object_and_the_tee() {
    let dir = tempfile::tempdir().unwrap();
    let tee_path = dir.path().join("tee");
    let mut f = AtomicFile::create(&dir.path().join("tmp")).unwrap();
    f.tee(File::create(&tee_path).unwrap());
    let data: Vec<u8> = (0..(7u32 << 20) + 5).map(|i| (i % 239) as u8).collect();
    assert_eq!(f.copy_from(&data[..]).unwrap(), data.len() as u64);
    let dest = dir.path().join("obj");
    f.commit(&dest, Some((Oid::of_bytes(&data), data.len() as u64)), false).unwrap();
    assert!(fs::read(&dest).unwrap() == data);
    assert!(fs::read(&tee_path).unwrap() == data);
}

#[test]
fn write_errors_are_told_apart_from_read_errors() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(libc::ECONNRESET))
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut f = AtomicFile::create(dir.path()).unwrap();
    assert!(f.copy_from(Failing).is_err());
    assert!(f.write_error().is_none(), "the stream failed, not the file");
    // a file that cannot be written: its own error is kept
    let mut f = AtomicFile::create(dir.path()).unwrap();
    f.tee(File::open(dir.path()).unwrap()); // a directory: writes fail with EBADF/EISDIR
    assert!(f.copy_from(&b"data"[..]).is_err());
    assert!(f.write_error().is_some());
}

#[test]
fn a_hash_only_sink_hashes_and_keeps_nothing() {
    let mut f = AtomicFile::hash_only();
    let data: Vec<u8> = (0..(5u32 << 20)).map(|i| (i % 241) as u8).collect();
    assert_eq!(f.copy_from(&data[..]).unwrap(), data.len() as u64);
    assert_eq!(f.digest(), (Oid::of_bytes(&data), data.len() as u64));
    f.reset().unwrap();
    assert!(f.is_empty());
    let dir = tempfile::tempdir().unwrap();
    assert!(f.commit(&dir.path().join("x"), None, false).is_err());
}

#[test]
fn reset_allows_refill() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = AtomicFile::create(dir.path()).unwrap();
    f.write_all(b"partial").unwrap();
    f.reset().unwrap();
    f.write_all(b"full").unwrap();
    assert_eq!(f.digest(), (Oid::of_bytes(b"full"), 4));
}
