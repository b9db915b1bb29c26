//! Never a silent wrong state: damaged remote objects are found and repaired, a wrong pointer
//! is blamed instead of the object it names, and a local fault is not reported as a remote one.

use crate::common::*;
use crate::faults::corrupt;

/// A project with one committed, unpushed data file.
fn one_file(env: &Env, name: &str, data: &[u8]) -> std::path::PathBuf {
    let repo = env.project(name);
    write(&repo.join("model.bin"), data);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "model"]);
    repo
}

#[test]
fn a_remote_path_that_is_a_file_is_not_called_missing() {
    let env = Env::new();
    let repo = one_file(&env, "nd", &bytes(1, 3000));
    let file = env.path("a-file");
    for (url, what) in
        [(file.clone(), "it is a file"), (file.join("sub"), "a part of the path is a file")]
    {
        // `remote add` refuses a file; the path becomes one afterwards
        let _ = std::fs::remove_file(&file);
        env.data(&repo, &["remote", "add", "--force", "storage", url.to_str().unwrap()]);
        write(&file, b"not a directory");
        let push = env.run(&repo, "git", &["push", "-q", "origin", "main"]);
        assert_ne!(push.code, 0);
        assert!(
            push.stderr.contains("is not a directory") && push.stderr.contains(what),
            "{}",
            push.stderr
        );
        assert!(
            !push.stderr.contains("mkdir") && !push.stderr.contains("does not exist"),
            "{}",
            push.stderr
        );
        assert!(push.stderr.contains("hint: point the remote at a directory"), "{}", push.stderr);
        let fsck = env.data_fails(&repo, &["fsck", "--remote"]);
        assert!(fsck.stderr.contains("is not a directory"), "{}", fsck.stderr);
    }
    assert_eq!(read(&file), b"not a directory");
}

/// The pointer text of `data` with its size off by `delta` bytes.
fn wrong_pointer(data: &[u8], delta: i64) -> String {
    let size = data.len() as i64 + delta;
    pointer_of(data).replace(&format!("size {}", data.len()), &format!("size {size}"))
}

#[test]
fn a_pointer_with_a_wrong_size_is_blamed_and_breaks_nothing_else() {
    let env = Env::new();
    let (large, small) = (bytes(2, 3_000_000), bytes(3, 3000));
    let repo = env.project("ws");
    write(&repo.join("good.bin"), &large);
    write(&repo.join("good-small.bin"), &small);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "good"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    // a valid pointer in the work tree is committed as it is (cleaning is idempotent)
    write(&repo.join("bad.bin"), wrong_pointer(&large, 1).as_bytes());
    write(&repo.join("bad-small.bin"), wrong_pointer(&small, -1).as_bytes());
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "wrong sizes"]);
    let commit = env.git(&repo, &["rev-parse", "--short=10", "HEAD"]).stdout.trim().to_string();

    // pre-push refuses the commit and names the file, the commit and the real size
    let push = env.run(&repo, "git", &["push", "-q", "origin", "main"]);
    assert_ne!(push.code, 0, "{}", push.all());
    for needle in [
        "bad.bin (commit ",
        &commit,
        "its pointer says 3000001 bytes, but object",
        "has 3000000 bytes",
        "bad-small.bin",
        "has 3000 bytes",
        "hint: the data is intact",
    ] {
        assert!(push.stderr.contains(needle), "{needle}: {}", push.stderr);
    }
    assert!(!push.stderr.contains("corrupt"), "{}", push.stderr);
    let origin_head = env.git(&env.path("ws-origin.git"), &["rev-parse", "main"]).stdout;
    assert_ne!(origin_head.trim(), env.git(&repo, &["rev-parse", "HEAD"]).stdout.trim());
    // fsck and check report it; the cached object stays where it is, intact
    let fsck = env.data_fails(&repo, &["fsck"]);
    assert!(fsck.stdout.contains("wrong pointer: bad.bin (commit"), "{}", fsck.stdout);
    assert!(fsck.stdout.contains("wrong pointer: bad-small.bin"), "{}", fsck.stdout);
    assert!(
        fsck.stdout.contains("cache: 2 objects") && fsck.stdout.contains("0 bad"),
        "{}",
        fsck.stdout
    );
    let check = env.run(&repo, "git", &["data", "check", "main"]);
    assert_eq!(check.code, 1, "{}", check.all());
    assert!(check.stdout.contains("pointers: 2 with a size that contradicts"), "{}", check.stdout);
    assert!(!check.stdout.contains("missing"), "{}", check.stdout);

    // pushed anyway: a clone writes the good files and blames only the pointers
    env.git(&repo, &["push", "-q", "--no-verify", "origin", "main"]);
    let (fresh, out) = env.clone_of("ws", "fresh");
    assert_ne!(out.code, 0, "{}", out.all());
    assert_eq!(read(&fresh.join("good.bin")), large);
    assert_eq!(read(&fresh.join("good-small.bin")), small);
    assert!(
        out.stderr.contains("bad.bin") && out.stderr.contains("the pointer is wrong"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("corrupt"), "{}", out.stderr);
    assert_eq!(read(&fresh.join("bad.bin")), wrong_pointer(&large, 1).as_bytes());
    for dir in [&repo, &fresh] {
        assert!(!dir.join(".git/data/quarantine").exists(), "nothing quarantined");
        assert_eq!(read(&object_path(&dir.join(".git/data"), &large)), large);
    }
    // and again, with the objects already cached
    std::fs::remove_file(fresh.join("good.bin")).unwrap();
    let co = env.run(&fresh, "git", &["checkout", "--", "good.bin", "bad.bin"]);
    assert_eq!(read(&fresh.join("good.bin")), large, "{}", co.all());
    let pull = env.data_fails(&fresh, &["pull"]);
    assert!(pull.stderr.contains("the pointer is wrong"), "{}", pull.stderr);
    assert_eq!(read(&object_path(&fresh.join(".git/data"), &large)), large);
    assert!(!fresh.join(".git/data/quarantine").exists());
}

#[test]
fn a_full_cache_disk_is_not_blamed_on_the_remote() {
    let server = crate::s3server::S3Server::start();
    let env = Env::new();
    let model = bytes(4, 3 << 20);
    for (name, s3) in [("fc", false), ("fcs", true)] {
        let repo = env.project(name);
        if s3 {
            env.use_s3(&repo, &server, name);
        }
        write(&repo.join("model.bin"), &model);
        env.git(&repo, &["add", "-A"]);
        env.git(&repo, &["commit", "-q", "-m", "model"]);
        env.git(&repo, &["push", "-q", "origin", "main"]);
        let Some(disk) = crate::faults::SmallDisk::mount(&env.path(&format!("{name}-small")), "2m")
        else {
            eprintln!("skipped: mounting a small tmpfs needs root");
            return;
        };
        let cache = disk.0.to_str().unwrap();
        let clone = format!("{name}-clone");
        let (fresh, out) = env.clone_of(name, &clone);
        assert_eq!(out.code, 0, "{}", out.all());
        env.git(&fresh, &["config", "data.cacheDir", cache]);
        for args in [&["fetch"][..], &["pull"]] {
            let out = env.data_fails(&fresh, args);
            assert!(out.stderr.contains("No space left on device"), "{args:?}: {}", out.stderr);
            assert!(out.stderr.contains(cache), "the cache is named: {}", out.stderr);
            assert!(
                out.stderr.contains("hint: the disk holding the git-data cache is full"),
                "{args:?}: {}",
                out.stderr
            );
            assert!(!out.stderr.contains("remote storage: cannot"), "{args:?}: {}", out.stderr);
            assert!(!out.stderr.contains("download of"), "{args:?}: {}", out.stderr);
        }
        assert_eq!(crate::concurrency::files_below(&disk.0.join("objects")).len(), 0);
        // a clone whose checkout downloads into the full cache says the same
        let dest = env.path(&format!("{name}-clone2"));
        let out = env.run(
            env.root(),
            "git",
            &[
                "clone",
                "-q",
                "-c",
                &format!("data.cacheDir={cache}"),
                env.path(&format!("{name}-origin.git")).to_str().unwrap(),
                dest.to_str().unwrap(),
            ],
        );
        assert!(
            out.stderr.contains("No space left on device") && out.stderr.contains(cache),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("remote storage: cannot"), "{}", out.stderr);
        assert_eq!(read(&dest.join("model.bin")), pointer_of(&model).as_bytes());
    }
}

#[test]
fn pointers_of_huge_declared_sizes_do_not_overflow_sums() {
    let env = Env::new();
    let repo = env.project("hs");
    let huge = 1u64 << 63; // two of them add up to 2^64
    for (i, name) in ["a.bin", "b.bin", "c.bin"].iter().enumerate() {
        let oid = sha256(&bytes(i as u64, 10));
        let text = format!(
            "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {}\n",
            huge + i as u64
        );
        write(&repo.join(name), text.as_bytes());
    }
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "huge pointers"]);
    let status = env.data(&repo, &["status"]);
    assert!(status.stdout.contains("3 tracked files (more than 16.0 EiB)"), "{}", status.stdout);
    let json = env.data(&repo, &["status", "--json"]);
    assert!(json.stdout.contains(&format!("\"size\": {huge}")), "{}", json.stdout);
    for args in [
        &["ls-files"][..],
        &["diff", "HEAD"],
        &["fsck"],
        &["check", "HEAD"],
        &["push"],
        &["fetch"],
        &["pull"],
    ] {
        let mut full = vec!["data"];
        full.extend_from_slice(args);
        let out = env.run(&repo, "git", &full);
        assert!(out.code == 0 || out.code == 1, "{args:?} exited {}: {}", out.code, out.all());
        assert!(
            !out.stderr.contains("overflow") && !out.stderr.contains("panicked"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // the post-checkout hook looks for all three at once
    for name in ["a.bin", "b.bin", "c.bin"] {
        std::fs::remove_file(repo.join(name)).unwrap();
    }
    let out = env.run(&repo, "git", &["checkout", "--", "."]);
    assert!(out.stderr.contains("a.bin") && !out.stderr.contains("panicked"), "{}", out.stderr);
}

/// Cuts a (read-only) object file to half its size.
fn truncate(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let data = read(path);
    std::fs::write(path, &data[..data.len() / 2]).unwrap();
}

#[test]
fn damaged_remote_objects_are_found_by_fsck_and_repaired_from_a_clone_that_has_them() {
    let env = Env::new();
    let repo = env.project("rr");
    let files: Vec<(&str, Vec<u8>)> = ["old", "model", "cut", "gone"]
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, bytes(10 + i as u64, 200_000 + i)))
        .collect();
    for (name, data) in &files {
        write(&repo.join(format!("{name}.bin")), data);
    }
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "four files"]);
    std::fs::remove_file(repo.join("old.bin")).unwrap();
    env.git(&repo, &["commit", "-q", "-am", "old.bin only in history"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    let store = env.path("rr-store");
    let remote_copy = |i: usize| object_path(&store, &files[i].1);
    corrupt(&remote_copy(0));
    corrupt(&remote_copy(1));
    truncate(&remote_copy(2));
    std::fs::remove_file(remote_copy(3)).unwrap();

    // push trusts its record of past uploads, and says so
    let push = env.data(&repo, &["push"]);
    assert!(push.stdout.contains("--verify-remote"), "{}", push.stdout);
    // a clone fails on the damaged file and names the command that repairs it
    let (fresh, out) = env.clone_of("rr", "fresh");
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("model.bin") && out.stderr.contains("corrupt"), "{}", out.stderr);
    assert!(out.stderr.contains("git data fsck --remote --repair"), "{}", out.stderr);
    assert!(!out.stderr.contains("push it again"), "{}", out.stderr);

    // fsck --remote hashes the copies: damaged, truncated, missing; the old version with --all
    let fsck = env.data_fails(&repo, &["fsck", "--remote"]);
    for needle in [
        "damaged on storage: model.bin",
        "damaged on storage: cut.bin",
        "not on storage: gone.bin",
        "remote storage: 3 objects hashed, 3 missing or damaged",
    ] {
        assert!(fsck.stdout.contains(needle), "{needle}: {}", fsck.stdout);
    }
    assert!(!fsck.stdout.contains("old.bin"), "{}", fsck.stdout);
    assert!(fsck.stderr.contains("hint: `git data fsck --remote --repair`"), "{}", fsck.stderr);
    let all = env.data_fails(&repo, &["fsck", "--remote", "--all"]);
    assert!(all.stdout.contains("damaged on storage: old.bin"), "{}", all.stdout);
    assert!(all.stdout.contains("4 objects hashed, 4 missing or damaged"), "{}", all.stdout);

    // one command repairs them all from this clone's verified cache
    let repair = env.data(&repo, &["fsck", "--remote", "--repair", "--all"]);
    assert!(repair.stdout.contains("4 missing or damaged, 4 repaired"), "{}", repair.stdout);
    for (i, (name, data)) in files.iter().enumerate() {
        assert!(repair.stdout.contains(&format!("repaired on storage: {name}.bin")));
        assert_eq!(read(&remote_copy(i)), *data, "{name}");
    }
    assert_eq!(crate::concurrency::files_below(&store.join("tmp")).len(), 0);
    env.data(&repo, &["fsck", "--remote", "--all"]);
    // and the clone that failed now gets every file
    env.data(&fresh, &["pull"]);
    for (name, data) in &files[1..] {
        assert_eq!(read(&fresh.join(format!("{name}.bin"))), *data);
    }
    assert_clean(&env, &fresh);
}

#[test]
fn push_verify_remote_asks_the_remote_instead_of_its_record() {
    let env = Env::new();
    let repo = one_file(&env, "pv", &bytes(20, 100_000));
    let other = bytes(21, 50_000);
    write(&repo.join("other.bin"), &other);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "other"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    let store = env.path("pv-store");
    std::fs::remove_file(object_path(&store, &bytes(20, 100_000))).unwrap();
    truncate(&object_path(&store, &other));
    let trusting = env.data(&repo, &["push"]);
    assert!(trusting.stdout.contains("by this clone's record"), "{}", trusting.stdout);
    let asking = env.data(&repo, &["push", "--verify-remote"]);
    assert!(asking.stderr.contains("uploaded 2 files"), "{}", asking.all());
    assert_eq!(read(&object_path(&store, &other)), other);
    assert_eq!(read(&object_path(&store, &bytes(20, 100_000))), bytes(20, 100_000));
    let again = env.data(&repo, &["push", "--verify-remote"]);
    assert!(
        again.stdout.contains("Everything is already on the remote (2 files)."),
        "{}",
        again.stdout
    );
}

#[test]
fn a_clone_without_the_data_cannot_repair_and_says_where_to_run_it() {
    let env = Env::new();
    let data = bytes(30, 100_000);
    let repo = one_file(&env, "nr", &data);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    corrupt(&object_path(&env.path("nr-store"), &data));
    let (fresh, out) = env.clone_of("nr", "fresh");
    assert_ne!(out.code, 0);
    let repair = env.data_fails(&fresh, &["fsck", "--remote", "--repair"]);
    assert!(
        repair.stdout.contains("cannot repair model.bin")
            && repair.stdout.contains("not in this clone's cache"),
        "{}",
        repair.stdout
    );
    assert!(repair.stderr.contains("in a clone that has the data"), "{}", repair.stderr);
    env.data(&repo, &["fsck", "--remote", "--repair"]);
    env.data(&fresh, &["pull"]);
    assert_eq!(read(&fresh.join("model.bin")), data);
}

#[test]
fn a_damaged_s3_object_is_found_and_repaired() {
    let server = crate::s3server::S3Server::start();
    let env = Env::new();
    let repo = env.project("s3r");
    env.use_s3(&repo, &server, "s3r");
    // the large one goes up in parts, its repair too
    let yaml = String::from_utf8(read(&repo.join(".gitdata.yaml"))).unwrap();
    write(&repo.join(".gitdata.yaml"), format!("{yaml}transfer:\n  part-size: 5MiB\n").as_bytes());
    let (small, big) = (bytes(40, 300_000), bytes(41, 6 << 20));
    write(&repo.join("small.bin"), &small);
    write(&repo.join("big.bin"), &big);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "two"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    let key = |d: &[u8]| format!("s3r/objects/{}", git_data::oid::Oid::of_bytes(d).shard_path());
    let mut bad = read(&server.object_file(&key(&small)));
    bad[1000] ^= 0x55;
    std::fs::write(server.object_file(&key(&small)), bad).unwrap();
    truncate(&server.object_file(&key(&big)));
    let fsck = env.data_fails(&repo, &["fsck", "--remote"]);
    assert!(fsck.stdout.contains("damaged on storage: small.bin"), "{}", fsck.stdout);
    assert!(fsck.stdout.contains("damaged on storage: big.bin"), "{}", fsck.stdout);
    server.faults.reset_counts();
    let repair = env.data(&repo, &["fsck", "--remote", "--repair"]);
    assert!(repair.stdout.contains("2 repaired"), "{}", repair.stdout);
    assert_eq!(server.faults.count("PutObject"), 1, "the small one in one PUT");
    assert_eq!(server.faults.count("CompleteMultipartUpload"), 1, "the large one in parts");
    assert_eq!(read(&server.object_file(&key(&small))), small);
    assert_eq!(read(&server.object_file(&key(&big))), big);
    let (fresh, out) = env.clone_of("s3r", "fresh");
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(read(&fresh.join("big.bin")), big);
}
