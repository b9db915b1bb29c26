//! Bad input and faults: every one must give a clear error, a non-zero exit code, and lose
//! or corrupt nothing.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const MIB: usize = 1 << 20;

/// Flips one byte of a (read-only) object file in place, keeping its size.
pub(crate) fn corrupt(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut data = read(path);
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    std::fs::write(path, data).unwrap();
}

/// A project with a committed, pushed model in two versions (v1.0, v2.0).
fn two_versions(env: &Env, name: &str, size: usize) -> (std::path::PathBuf, Vec<u8>, Vec<u8>) {
    let repo = env.project(name);
    let v1 = bytes(100, size);
    let v2 = bytes(101, size);
    write(&repo.join("model.bin"), &v1);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "v1"]);
    env.git(&repo, &["tag", "v1.0"]);
    write(&repo.join("model.bin"), &v2);
    env.git(&repo, &["commit", "-q", "-am", "v2"]);
    env.git(&repo, &["tag", "v2.0"]);
    env.git(&repo, &["push", "-q", "origin", "main", "--tags"]);
    (repo, v1, v2)
}

#[test]
fn corrupt_cache_object_is_replaced_from_the_remote() {
    let env = Env::new();
    let (repo, v1, _) = two_versions(&env, "cc", 2 * MIB);
    corrupt(&object_path(&repo.join(".git/data"), &v1));
    let out = env.git(&repo, &["checkout", "-q", "v1.0"]);
    assert!(
        out.stderr.contains("corrupt object") && out.stderr.contains(&sha256(&v1)),
        "{}",
        out.stderr
    );
    assert_eq!(read(&repo.join("model.bin")), v1, "a good copy was downloaded");
    assert_eq!(read(&object_path(&repo.join(".git/data"), &v1)), v1);
    assert!(std::fs::read_dir(repo.join(".git/data/quarantine")).unwrap().count() == 1);
    assert_clean(&env, &repo);
}

/// A project with two committed but unpushed versions of model.bin (v1 tagged v1.0) whose
/// v1 cache object has been corrupted; returns the repository and v1's bytes.
fn corrupted_unpushed(env: &Env, name: &str, seed: u64) -> (std::path::PathBuf, Vec<u8>) {
    let repo = env.project(name);
    let v1 = bytes(seed, 2 * MIB);
    write(&repo.join("model.bin"), &v1);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "v1"]);
    env.git(&repo, &["tag", "v1.0"]);
    write(&repo.join("model.bin"), &bytes(seed + 1, MIB + 3));
    env.git(&repo, &["commit", "-q", "-am", "v2"]);
    corrupt(&object_path(&repo.join(".git/data"), &v1));
    (repo, v1)
}

#[test]
fn corrupt_cache_object_without_remote_copy_is_never_written() {
    let env = Env::new();
    let (repo, v1) = corrupted_unpushed(&env, "cn", 110);
    let fsck = env.data_fails(&repo, &["fsck"]);
    assert!(
        fsck.stdout.contains("corrupt") && fsck.stdout.contains(&sha256(&v1)),
        "{}",
        fsck.stdout
    );
    // fsck quarantined it: checkout cannot find a good copy anywhere and says so
    let out = env.run(&repo, "git", &["checkout", "-q", "v1.0"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("model.bin") && out.stderr.contains("not on the remote"),
        "{}",
        out.stderr
    );
    let content = read(&repo.join("model.bin"));
    assert_eq!(content, pointer_of(&v1).as_bytes(), "left as a pointer, never as bad data");
}

#[test]
fn corrupt_checkout_reports_path_and_oid_and_fails() {
    let env = Env::new();
    let (repo, v1) = corrupted_unpushed(&env, "cp", 120);
    let out = env.run(&repo, "git", &["checkout", "-q", "v1.0"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("model.bin") && out.stderr.contains(&sha256(&v1)),
        "{}",
        out.stderr
    );
    assert_eq!(read(&repo.join("model.bin")), pointer_of(&v1).as_bytes());
}

#[test]
fn corrupt_object_on_the_remote_is_detected_on_download() {
    let env = Env::new();
    let (_repo, _, v2) = two_versions(&env, "cr", 300_000);
    corrupt(&object_path(&env.path("cr-store"), &v2));
    let (fresh, out) = env.clone_of("cr", "fresh");
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("corrupt") && out.stderr.contains(&sha256(&v2)), "{}", out.stderr);
    assert_eq!(read(&fresh.join("model.bin")), pointer_of(&v2).as_bytes());
    assert!(
        !object_path(&fresh.join(".git/data"), &v2).exists(),
        "bad bytes never enter the cache"
    );
    let st = env.data(&fresh, &["status"]);
    assert!(st.stdout.contains("pointer only"), "{}", st.stdout);
}

#[test]
fn malformed_and_non_canonical_pointers_are_reported_not_destroyed() {
    let env = Env::new();
    let repo = env.project("mp");
    let good = pointer_of(&bytes(130, 10));
    let bad = good.replace("sha256:", "sha256:ZZ").replace("size 10", "size 010");
    let hex = sha256(&bytes(130, 10));
    let crlf = good.replace('\n', "\r\n");
    for (name, text) in [("bad.bin", &bad), ("crlf.bin", &crlf)] {
        // commit the text as a blob directly, bypassing the clean filter
        let blob = env
            .command(&repo, "git")
            .args(["hash-object", "-w", "--stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(text.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        let id = String::from_utf8(blob.stdout).unwrap();
        env.git(
            &repo,
            &["update-index", "--add", "--cacheinfo", &format!("100644,{},{name}", id.trim())],
        );
    }
    env.git(&repo, &["commit", "-q", "-m", "bad pointers"]);
    let fsck = env.data_fails(&repo, &["fsck"]);
    assert!(fsck.stdout.contains("malformed pointer: bad.bin"), "{}", fsck.stdout);
    assert!(
        fsck.stdout.contains("malformed pointer: crlf.bin") && fsck.stdout.contains("CR"),
        "{}",
        fsck.stdout
    );
    // checkout passes the text through unchanged, with a warning naming the file
    let _ = std::fs::remove_file(repo.join("bad.bin"));
    let out = env.git(&repo, &["checkout", "--", "bad.bin"]);
    assert!(
        out.stderr.contains("bad.bin") && out.stderr.contains("malformed pointer"),
        "{}",
        out.stderr
    );
    assert_eq!(read(&repo.join("bad.bin")), bad.as_bytes());
    let _ = hex;
}

#[test]
fn missing_remote_directory_refuses_the_push() {
    let env = Env::new();
    let repo = env.project("md");
    env.data(
        &repo,
        &["remote", "add", "gone", env.path("no/such/dir").to_str().unwrap(), "--default"],
    );
    write(&repo.join("model.bin"), &bytes(140, 5000));
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "x"]);
    let push = env.run(&repo, "git", &["push", "-q", "origin", "main"]);
    assert_ne!(push.code, 0);
    assert!(
        push.stderr.contains("does not exist") && push.stderr.contains("mkdir -p"),
        "{}",
        push.stderr
    );
    let remote_refs = env.git(&env.path("md-origin.git"), &["for-each-ref"]);
    assert_eq!(remote_refs.stdout, "", "git refs were not pushed either");
}

#[test]
fn object_missing_everywhere_names_file_and_commit() {
    let env = Env::new();
    let repo = env.project("mo");
    let data = bytes(150, 4000);
    write(&repo.join("lost.bin"), &data);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "x"]);
    let commit = env.git(&repo, &["rev-parse", "--short=10", "HEAD"]).stdout.trim().to_string();
    let obj = object_path(&repo.join(".git/data"), &data);
    std::fs::remove_file(&obj).unwrap();
    let push = env.run(&repo, "git", &["push", "-q", "origin", "main"]);
    assert_ne!(push.code, 0);
    assert!(push.stderr.contains("lost.bin") && push.stderr.contains(&commit), "{}", push.stderr);
    assert!(push.stderr.contains("neither in the local cache nor on storage"), "{}", push.stderr);
    // and on checkout in a clone: the file stays a pointer, with a clear reason
    env.git(&repo, &["-c", "core.hooksPath=/dev/null", "push", "-q", "origin", "main"]);
    let (fresh, out) = env.clone_of("mo", "fresh");
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("lost.bin") && out.stderr.contains("not on the remote"),
        "{}",
        out.stderr
    );
    assert_eq!(read(&fresh.join("lost.bin")), pointer_of(&data).as_bytes());
}

#[test]
fn yaml_syntax_error_has_line_and_column_and_checkout_still_works() {
    let env = Env::new();
    let repo = env.project("ys");
    let data = bytes(160, 3000);
    write(&repo.join("a.bin"), &data);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "x"]);
    write(&repo.join(".gitdata.yaml"), b"remotes:\n  storage:\n    url: [unclosed\n");
    let out = env.data_fails(&repo, &["status"]);
    assert!(out.stderr.contains(".gitdata.yaml:3:10"), "{}", out.stderr);
    assert!(out.stderr.contains("hint: fix .gitdata.yaml"), "{}", out.stderr);
    std::fs::remove_file(repo.join("a.bin")).unwrap();
    let co = env.git(&repo, &["checkout", "--", "a.bin"]);
    assert!(co.stderr.contains("warning") && co.stderr.contains(".gitdata.yaml"), "{}", co.stderr);
    assert_eq!(read(&repo.join("a.bin")), data);
}

#[test]
fn unknown_yaml_key_is_named() {
    let env = Env::new();
    let repo = env.project("yk");
    write(&repo.join(".gitdata.yaml"), b"remotes: {}\ndefault-remot: x\n");
    let out = env.data_fails(&repo, &["status"]);
    assert!(
        out.stderr.contains(".gitdata.yaml:2:1: unknown field `default-remot`"),
        "{}",
        out.stderr
    );
}

#[test]
fn repository_without_git_data_is_left_alone() {
    let env = Env::new();
    let repo = env.path("plain");
    env.git(env.root(), &["init", "-q", repo.to_str().unwrap()]);
    let origin = env.path("plain-origin.git");
    env.git(env.root(), &["init", "-q", "--bare", origin.to_str().unwrap()]);
    env.git(&repo, &["remote", "add", "origin", origin.to_str().unwrap()]);
    env.data(&repo, &["install"]);
    write(&repo.join("big.dat"), &bytes(170, 100_000));
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "x"]);
    let push = env.git(&repo, &["push", "-q", "origin", "main"]);
    assert_eq!(push.stderr, "", "hooks are quiet where git-data is unused");
    let st = env.data(&repo, &["status"]);
    assert!(st.stdout.contains("0 tracked files"), "{}", st.stdout);
    env.git(&repo, &["push", "-q", "origin", "main:topic"]);
    env.git(&repo, &["push", "-q", "origin", "--delete", "topic"]);
    assert_eq!(read(&repo.join("big.dat")), bytes(170, 100_000));
}

#[test]
fn read_only_remote_refuses_push_but_serves_fetch() {
    let env = Env::new();
    let (_repo, _, v2) = two_versions(&env, "ro", 100_000);
    let store = env.path("ro-store");
    let locked = env.run(env.root(), "chattr", &["-R", "+i", store.to_str().unwrap()]);
    if locked.code != 0 {
        eprintln!("skipped: chattr +i is not available here ({})", locked.stderr.trim());
        return;
    }
    let result = std::panic::catch_unwind(|| {
        let (fresh, out) = env.clone_of("ro", "fresh");
        assert_eq!(out.code, 0, "{}", out.all());
        assert_eq!(read(&fresh.join("model.bin")), v2);
        write(&fresh.join("model.bin"), &bytes(102, 1000));
        env.git(&fresh, &["commit", "-q", "-am", "v3"]);
        let push = env.run(&fresh, "git", &["push", "-q", "origin", "main"]);
        assert_ne!(push.code, 0);
        assert!(
            push.stderr.contains("not writable") || push.stderr.contains("ermission"),
            "{}",
            push.stderr
        );
    });
    env.run(env.root(), "chattr", &["-R", "-i", store.to_str().unwrap()]);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn killed_push_leaves_no_partial_object_and_rerun_completes() {
    let env = Env::new();
    let repo = env.project("kp");
    env.git(&repo, &["config", "data.concurrency", "1"]);
    let files: Vec<Vec<u8>> = (0..60).map(|i| bytes(200 + i, 400_000)).collect();
    for (i, f) in files.iter().enumerate() {
        write(&repo.join(format!("data/f{i:03}.bin")), f);
    }
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "many"]);
    let store = env.path("kp-store");
    let mut child = {
        use std::os::unix::process::CommandExt;
        env.command(&repo, "git")
            .args(["push", "-q", "origin", "main"])
            .process_group(0)
            .spawn()
            .unwrap()
    };
    let objects = store.join("objects");
    let start = std::time::Instant::now();
    while count_files(&objects) < 3 && start.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    // SAFETY: kill(2) on the process group we created; no memory is involved.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
    let _ = child.wait();
    let stored = count_files(&objects);
    assert!(stored < files.len(), "the push was interrupted ({stored} objects stored)");
    for path in walk(&objects) {
        let data = read(&path);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert_eq!(sha256(&data), name, "a visible object is always whole and verified");
    }
    assert_eq!(
        env.git(&env.path("kp-origin.git"), &["for-each-ref"]).stdout,
        "",
        "refs not pushed"
    );
    env.git(&repo, &["push", "-q", "origin", "main"]);
    for f in &files {
        assert_eq!(read(&object_path(&store, f)), *f);
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn count_files(dir: &Path) -> usize {
    walk(dir).len()
}

#[test]
fn git_status_during_a_checkout_corrupts_nothing() {
    let env = Env::new();
    let (repo, v1, v2) = two_versions(&env, "cc2", 24 * MIB);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let seen = std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = env.run(&repo, "git", &["status", "--porcelain"]);
            }
        });
        // no assertion inside the scope: a failure must not leave the status loop spinning
        let mut seen = Vec::new();
        for (rev, want) in [("v1.0", &v1), ("v2.0", &v2), ("v1.0", &v1), ("main", &v2)] {
            // git's own checkout refuses to start while status holds the optional index
            // lock; that refusal is git's, and retrying it is what a user does
            let mut out = env.run(&repo, "git", &["checkout", "-q", rev]);
            for _ in 0..50 {
                if out.code == 0 || !out.stderr.contains("index.lock': File exists") {
                    break;
                }
                out = env.run(&repo, "git", &["checkout", "-q", rev]);
            }
            let same = read(&repo.join("model.bin")) == *want;
            seen.push((rev, out.code, same, out.all()));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        seen
    });
    for (rev, code, same, all) in seen {
        assert_eq!(code, 0, "checkout {rev}: {all}");
        assert!(same, "content after checkout {rev}: {all}");
    }
    assert_clean(&env, &repo);
    env.git(&repo, &["fsck", "--no-progress"]);
    env.data(&repo, &["fsck"]);
}

#[test]
fn a_held_index_lock_is_reported_and_nothing_is_written_until_it_goes() {
    let env = Env::new();
    let repo = env.project("lk");
    let data = bytes(300, 1_500_000);
    write(&repo.join("m.bin"), &data);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "x"]);
    // a checkout without git-data: git records the stat of the pointer file it wrote
    std::fs::remove_file(repo.join("m.bin")).unwrap();
    let no_filter = ["-c", "filter.data.process=", "-c", "filter.data.required=false"];
    env.git(&repo, &[&no_filter[..], &["checkout", "--", "m.bin"]].concat());
    assert_eq!(read(&repo.join("m.bin")), pointer_of(&data).as_bytes());
    write(&repo.join(".git/index.lock"), b"");
    let out = env.data_fails(&repo, &["checkout"]);
    assert!(
        out.stderr.contains("index.lock") && out.stderr.contains("git data checkout"),
        "{}",
        out.stderr
    );
    // nothing is written while git's lock is held: the index could not record it
    assert_eq!(read(&repo.join("m.bin")), pointer_of(&data).as_bytes());
    std::fs::remove_file(repo.join(".git/index.lock")).unwrap();
    env.data(&repo, &["checkout"]);
    assert_eq!(read(&repo.join("m.bin")), data);
    let debug = env.git(&repo, &["ls-files", "--debug", "m.bin"]).stdout;
    assert!(debug.contains(&format!("size: {}", data.len())), "{debug}");
    assert_clean(&env, &repo);
}

/// A tmpfs of a given size mounted for the test's lifetime (needs root; None otherwise).
pub(crate) struct SmallDisk(pub std::path::PathBuf);

impl SmallDisk {
    pub(crate) fn mount(dir: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk(dir.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn full_disk_fails_cleanly_and_loses_nothing() {
    let env = Env::new();
    let Some(remote_disk) = SmallDisk::mount(&env.path("small-remote"), "2m") else {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    };
    let model = bytes(170, 3 << 20);
    // A remote on a full disk: the push is refused and nothing half-written is left there.
    let repo = env.project("fd");
    env.data(&repo, &["remote", "add", "small", remote_disk.0.to_str().unwrap(), "--default"]);
    write(&repo.join("model.bin"), &model);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "model"]);
    let push = env.run(&repo, "git", &["push", "-q", "origin", "main"]);
    assert_ne!(push.code, 0);
    assert!(push.stderr.contains("No space left on device"), "{}", push.stderr);
    assert!(push.stderr.contains("model.bin"), "{}", push.stderr);
    assert!(push.stderr.contains("is full: free space"), "{}", push.stderr);
    assert_eq!(count_files(&remote_disk.0), 0, "no partial object on the remote");
    assert_eq!(env.git(&env.path("fd-origin.git"), &["for-each-ref"]).stdout, "");
    assert_eq!(read(&repo.join("model.bin")), model, "the work tree is untouched");

    // A cache on a full disk: `git add` fails, the index does not get a pointer to nothing.
    let Some(cache_disk) = SmallDisk::mount(&env.path("small-cache"), "2m") else { return };
    let repo2 = env.project("fd2");
    env.git(&repo2, &["config", "data.cacheDir", cache_disk.0.to_str().unwrap()]);
    write(&repo2.join("model.bin"), &model);
    let add = env.run(&repo2, "git", &["add", "model.bin"]);
    assert_ne!(add.code, 0);
    assert!(add.stderr.contains("No space left on device"), "{}", add.stderr);
    assert!(add.stderr.contains("hint:") && add.stderr.contains("data.cacheDir"), "{}", add.stderr);
    assert_eq!(env.git(&repo2, &["ls-files", "model.bin"]).stdout, "", "nothing staged");
    assert_eq!(count_files(&cache_disk.0), 0, "no partial object in the cache");
    assert_eq!(read(&repo2.join("model.bin")), model);
    // the same through `git data add`
    let add = env.data_fails(&repo2, &["add", "model.bin"]);
    assert!(add.stderr.contains("No space left on device"), "{}", add.stderr);
    assert!(add.stderr.contains("hint:") && add.stderr.contains("data.cacheDir"), "{}", add.stderr);
    assert!(add.stderr.contains("nothing was staged"), "{}", add.stderr);
    assert_eq!(env.git(&repo2, &["ls-files", "model.bin"]).stdout, "", "nothing staged");
    assert_eq!(count_files(&cache_disk.0), 0, "no partial object in the cache");
    assert_eq!(read(&repo2.join("model.bin")), model);
}
