//! A git command killed (`kill -9` of its whole process group) while git-data writes the work
//! tree: running the same command again leaves exact bytes, a clean status and no stray
//! files. The kill is aimed at the moment a work-tree temp file exists, found by polling.

use crate::common::*;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::{Duration, Instant};

const FILES: usize = 6;
const SIZE: usize = 6 << 20;

/// Whether any file under `dir` has a name containing `needle`.
fn has_file(dir: &Path, needle: &str) -> bool {
    std::fs::read_dir(dir).is_ok_and(|r| {
        r.flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.contains(needle) || (e.path().is_dir() && has_file(&e.path(), needle))
        })
    })
}

/// Where a kill is aimed: the directory under `.git/data` and a part of a file name there.
type Moment = (&'static str, &'static str);
/// A work-tree temp file exists: a file is being written.
const WRITING: Moment = ("tmp", "wt-");
/// The journal was taken: the index is marked, nothing written yet.
const TAKEN: Moment = ("pending", "t-");
/// An object is being downloaded into the cache.
const DOWNLOADING: Moment = ("objects", "incoming-");

/// Runs `git args` in its own process group and kills the group with SIGKILL as soon as
/// `moment` is seen; true if it was killed before it finished.
fn kill_at(env: &Env, repo: &Path, args: &[&str], moment: Moment) -> bool {
    kill_when(env, repo, args, &repo.join(".git/data").join(moment.0), moment.1)
}

/// Runs `git args` in its own process group and kills the group with SIGKILL as soon as a
/// file whose name holds `needle` exists under `dir`; true if it was killed before it
/// finished.
fn kill_when(env: &Env, repo: &Path, args: &[&str], dir: &Path, needle: &str) -> bool {
    let moment = (dir.display(), needle);
    let mut child = env.command(repo, "git").args(args).process_group(0).spawn().unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if has_file(dir, needle) {
            // SAFETY: signals the process group this test started.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("git {args:?} neither finished nor reached {moment:?} within 20 s");
}

/// A project whose `v1` and `main` differ in every one of [`FILES`] large files.
fn versions(env: &Env, name: &str) -> (std::path::PathBuf, Vec<Vec<u8>>) {
    let repo = env.project(name);
    let v1: Vec<Vec<u8>> = (0..FILES).map(|i| bytes(10 + i as u64, SIZE)).collect();
    for (i, b) in v1.iter().enumerate() {
        write(&repo.join(format!("data/f{i}.bin")), b);
    }
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "v1"]);
    env.git(&repo, &["tag", "v1"]);
    for i in 0..FILES {
        write(&repo.join(format!("data/f{i}.bin")), &bytes(50 + i as u64, SIZE));
    }
    env.git(&repo, &["commit", "-q", "-am", "v2"]);
    env.git(&repo, &["tag", "v2"]);
    (repo, v1)
}

/// Pushes everything, then drops v1's objects from the cache: going back to v1 downloads
/// them first, which leaves time for a kill before any file is replaced.
fn forget_v1(env: &Env, repo: &Path, v1: &[Vec<u8>]) {
    env.git(repo, &["push", "-q", "origin", "main", "--tags"]);
    for data in v1 {
        let object = object_path(&repo.join(".git/data"), data);
        std::fs::remove_file(object).unwrap();
    }
}

fn assert_exact(env: &Env, repo: &Path, files: &[Vec<u8>]) {
    for (i, want) in files.iter().enumerate() {
        assert!(read(&repo.join(format!("data/f{i}.bin"))) == *want, "data/f{i}.bin");
    }
    assert_clean(env, repo);
    let all = env.git(repo, &["status", "--porcelain", "--ignored", "--untracked-files=all"]);
    assert_eq!(all.stdout, "", "no stray files");
    assert!(!has_file(&repo.join(".git/data/tmp"), "wt-"), "no temp left in .git/data/tmp");
    assert!(!has_file(&repo.join(".git/data/pending"), ".log"), "the journal is done");
    assert!(!has_file(&repo.join(".git/data"), "incoming-"), "no partial object left");
}

/// Time passes: the index is rewritten, byte for byte, a second later. Files git wrote in the
/// second of its index write are "racily clean" to git, which then looks at their content and
/// so would find a killed materialisation by luck; a second later only what git-data leaves in
/// the index can tell git to look.
fn later(repo: &Path) {
    std::thread::sleep(Duration::from_millis(1100));
    let index = repo.join(".git/index");
    let again = repo.join(".git/index.again");
    std::fs::write(&again, read(&index)).unwrap();
    std::fs::rename(&again, &index).unwrap();
}

/// Runs `args` killed at `moment` until a kill lands (a fast machine may finish first), then
/// the same command again.
fn kill_then_rerun(env: &Env, repo: &Path, args: &[&str], reset: &[&str], moment: Moment) {
    for _ in 0..5 {
        if kill_at(env, repo, args, moment) {
            let _ = std::fs::remove_file(repo.join(".git/index.lock")); // git's own recovery
            later(repo);
            env.git(repo, args);
            return;
        }
        env.git(repo, reset);
    }
    panic!("git {args:?} always finished before the kill at {moment:?}");
}

/// `args` killed once after the journal was taken, once while files are written; each time
/// the rerun finishes the work; `back` returns to v2 in between.
fn killed_at_each_moment(name: &str, args: &[&str], back: &[&str]) {
    let env = Env::new();
    let (repo, v1) = versions(&env, name);
    for moment in [TAKEN, DOWNLOADING, WRITING] {
        forget_v1(&env, &repo, &v1);
        kill_then_rerun(&env, &repo, args, back, moment);
        assert_exact(&env, &repo, &v1);
        env.git(&repo, back);
    }
}

#[test]
fn a_killed_checkout_is_finished_by_running_it_again() {
    killed_at_each_moment("kc", &["checkout", "-q", "v1"], &["checkout", "-q", "main"]);
}

#[test]
fn a_killed_reset_is_finished_by_running_it_again() {
    killed_at_each_moment("kr", &["reset", "-q", "--hard", "v1"], &["reset", "-q", "--hard", "v2"]);
}

#[test]
fn after_a_killed_reset_git_status_finishes_the_work() {
    let env = Env::new();
    let (repo, v1) = versions(&env, "ks");
    for _ in 0..5 {
        forget_v1(&env, &repo, &v1);
        if kill_at(&env, &repo, &["reset", "-q", "--hard", "v1"], TAKEN) {
            // the user looks before running anything else (after removing a lock the kill
            // left, as git asks)
            let _ = std::fs::remove_file(repo.join(".git/index.lock"));
            later(&repo);
            env.git(&repo, &["status"]);
            assert_exact(&env, &repo, &v1);
            return;
        }
        env.git(&repo, &["reset", "-q", "--hard", "v2"]);
    }
    panic!("the reset always finished before the kill");
}

#[test]
fn a_look_while_a_stale_lock_blocks_the_index_loses_no_work() {
    let env = Env::new();
    let (repo, v1) = versions(&env, "kl");
    for _ in 0..5 {
        forget_v1(&env, &repo, &v1);
        if kill_at(&env, &repo, &["checkout", "-q", "v1"], TAKEN) {
            // the kill left the index locked; the user looks first: `git status` starts the
            // filter, which finds the killed checkout's journal but cannot mark the index
            std::fs::write(repo.join(".git/index.lock"), b"").unwrap();
            later(&repo);
            let _ = env.run(&repo, "git", &["status"]);
            assert!(has_file(&repo.join(".git/data/pending"), "-"), "the journal is kept");
            // git's own recovery, then the same command again finishes the work
            std::fs::remove_file(repo.join(".git/index.lock")).unwrap();
            env.git(&repo, &["checkout", "-q", "v1"]);
            assert_exact(&env, &repo, &v1);
            return;
        }
        env.git(&repo, &["checkout", "-q", "main"]);
    }
    panic!("the checkout always finished before the kill");
}

#[test]
fn files_written_but_not_recorded_are_recorded_by_the_next_consumer() {
    let env = Env::new();
    let (repo, v1) = versions(&env, "kr2");
    for _ in 0..5 {
        forget_v1(&env, &repo, &v1);
        if !kill_at(&env, &repo, &["checkout", "-q", "v1"], TAKEN) {
            env.git(&repo, &["checkout", "-q", "main"]);
            continue;
        }
        let _ = std::fs::remove_file(repo.join(".git/index.lock"));
        // the index records the pointer text's stat (a refresh without git-data's filter),
        // then a writer that was stopped before it recorded anything put the data in place
        let info = repo.join(".git/info/attributes");
        std::fs::create_dir_all(info.parent().unwrap()).unwrap();
        std::fs::write(&info, "* -filter\n").unwrap();
        env.git(&repo, &["update-index", "-q", "--refresh"]);
        std::fs::remove_file(&info).unwrap();
        for (i, b) in v1.iter().enumerate() {
            write(&repo.join(format!("data/f{i}.bin")), b);
        }
        later(&repo);
        let status = env.git(&repo, &["status", "--porcelain"]).stdout;
        assert!(status.contains(" M data/f0.bin"), "the stale stat shows: {status}");
        // the journal the kill left is consumed by the next hook, which records the stat
        env.git(&repo, &["checkout", "-q", "v1"]);
        assert_exact(&env, &repo, &v1);
        return;
    }
    panic!("the checkout always finished before the kill");
}

#[test]
fn a_killed_push_leaves_no_partial_upload_after_the_rerun() {
    let env = Env::new();
    let (repo, v1) = versions(&env, "kp");
    let store = env.path("kp-store");
    let killed = (0..5).any(|_| {
        let landed = kill_when(&env, &repo, &["data", "push"], &store.join("tmp"), "incoming-");
        if !landed {
            // it finished first: make the next push upload everything again
            let _ = std::fs::remove_dir_all(store.join("objects"));
            let _ = std::fs::remove_dir_all(repo.join(".git/data/remotes"));
        }
        landed
    });
    assert!(killed, "the push always finished before the kill");
    env.data(&repo, &["push"]);
    assert!(!has_file(&store.join("tmp"), "incoming-"), "no partial upload left");
    for data in &v1 {
        assert_eq!(read(&object_path(&store, data)), *data);
    }
}

#[test]
fn a_pull_killed_while_it_moves_the_branch_is_finished_by_running_it_again() {
    let env = Env::new();
    let (repo, v1) = versions(&env, "kpm");
    env.git(&repo, &["push", "-q", "origin", "main", "--tags"]);
    let v2: Vec<Vec<u8>> = (0..FILES).map(|i| read(&repo.join(format!("data/f{i}.bin")))).collect();
    assert_ne!(v1, v2);
    let mut tried = 0;
    loop {
        tried += 1;
        assert!(tried < 8, "the pull always finished before the branch was locked");
        let _ = std::fs::remove_dir_all(env.path("kpm-c"));
        let (clone, out) = env.clone_of("kpm", "kpm-c");
        assert_eq!(out.code, 0, "{}", out.all());
        env.git(&clone, &["reset", "-q", "--hard", "v1"]);
        let heads = clone.join(".git/refs/heads");
        if !kill_when(&env, &clone, &["pull", "-q", "--ff-only"], &heads, "main.lock") {
            continue;
        }
        for lock in ["index.lock", "HEAD.lock", "ORIG_HEAD.lock", "refs/heads/main.lock"] {
            let _ = std::fs::remove_file(clone.join(".git").join(lock));
        }
        later(&clone);
        let again = env.run(&clone, "git", &["pull", "-q", "--ff-only"]);
        assert_eq!(again.code, 0, "{}", again.all());
        assert_exact(&env, &clone, &v2);
        return;
    }
}
