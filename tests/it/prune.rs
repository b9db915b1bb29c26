//! `git data prune`: old versions that the remote holds leave the cache; what a checkout uses,
//! what recent commits use and what the remote lacks stay; a checkout brings pruned data back.

use crate::common::*;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Commits `file` holding `data`, dated `days_ago` days in the past (author and committer).
fn commit_at(env: &Env, repo: &Path, file: &str, data: &[u8], days_ago: u64) {
    write(&repo.join(file), data);
    env.git(repo, &["add", file]);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let date = format!("{} +0000", now - days_ago * 86_400);
    let out = env
        .command(repo, "git")
        .args(["commit", "-q", "-m", &format!("{file} {days_ago} days ago")])
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The data of a project's versions.
struct Versions {
    old: Vec<u8>,
    recent: Vec<u8>,
    current: Vec<u8>,
    /// Committed with the old version and never changed since.
    steady: Vec<u8>,
    /// On a local branch of 30 days ago that was never pushed.
    unpushed: Vec<u8>,
    old_commit: String,
}

/// A pushed history of `model.bin` (40 days ago, 3 days ago, now) and an unpushed old branch.
fn history(env: &Env, repo: &Path) -> Versions {
    let v = Versions {
        old: bytes(1, 5000),
        recent: bytes(2, 4000),
        current: bytes(3, 3000),
        steady: bytes(4, 2000),
        unpushed: bytes(5, 1000),
        old_commit: String::new(),
    };
    env.git(repo, &["add", ".gitattributes", ".gitdata.yaml"]);
    write(&repo.join("steady.bin"), &v.steady);
    env.git(repo, &["add", "steady.bin"]);
    commit_at(env, repo, "model.bin", &v.old, 40);
    let old_commit = env.git(repo, &["rev-parse", "HEAD"]).stdout.trim().to_string();
    env.git(repo, &["checkout", "-q", "-b", "wip"]);
    commit_at(env, repo, "wip.bin", &v.unpushed, 30);
    env.git(repo, &["checkout", "-q", "main"]);
    commit_at(env, repo, "model.bin", &v.recent, 3);
    commit_at(env, repo, "model.bin", &v.current, 0);
    env.git(repo, &["push", "-q", "origin", "main"]);
    Versions { old_commit, ..v }
}

#[test]
fn prune_deletes_old_pushed_versions_and_keeps_checkout_recent_and_unpushed_data() {
    let env = Env::new();
    let repo = env.project("pr");
    let cache = repo.join(".git/data");
    let v = history(&env, &repo);
    for data in [&v.old, &v.recent, &v.current, &v.steady, &v.unpushed] {
        assert!(object_path(&cache, data).exists());
    }
    assert!(!object_path(&env.path("pr-store"), &v.unpushed).exists());

    let out = env.data(&repo, &["prune"]);
    assert!(out.stdout.contains("git-data: pruned 1 object (4.9 KiB)"), "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "kept 2 objects (4.9 KiB) in use by a checkout (HEAD or index), 1 object (3.9 KiB) \
             of commits of the last 7 days, 1 object (1000 B) not on remote storage"
        ),
        "{}",
        out.stdout
    );
    assert!(!object_path(&cache, &v.old).exists(), "the old pushed version is gone");
    for data in [&v.recent, &v.current, &v.steady, &v.unpushed] {
        assert_eq!(read(&object_path(&cache, data)), *data, "kept objects stay whole");
    }
    assert_eq!(read(&repo.join("model.bin")), v.current);
    assert_eq!(read(&repo.join("steady.bin")), v.steady);
    assert_clean(&env, &repo);
    // a second run has nothing left to do
    let again = env.data(&repo, &["prune"]);
    assert!(again.stdout.contains("git-data: pruned 0 objects (0 B)"), "{}", again.stdout);

    // the old version comes back from the remote when it is checked out
    env.git(&repo, &["checkout", "-q", &v.old_commit]);
    assert_eq!(read(&repo.join("model.bin")), v.old);
    assert_eq!(read(&object_path(&cache, &v.old)), v.old);
    assert_clean(&env, &repo);
    env.git(&repo, &["checkout", "-q", "wip"]);
    assert_eq!(read(&repo.join("wip.bin")), v.unpushed);
}

#[test]
fn prune_dry_run_names_what_it_would_delete_and_deletes_nothing() {
    let env = Env::new();
    let repo = env.project("prd");
    let cache = repo.join(".git/data");
    let v = history(&env, &repo);
    let dry = env.data(&repo, &["prune", "--dry-run", "--verbose"]);
    assert!(dry.stdout.contains("git-data: would prune 1 object (4.9 KiB)"), "{}", dry.stdout);
    assert!(
        dry.stdout.contains(&format!("{} 4.9 KiB model.bin", sha256(&v.old))),
        "{}",
        dry.stdout
    );
    assert!(!dry.stdout.contains(&sha256(&v.unpushed)), "{}", dry.stdout);
    assert!(object_path(&cache, &v.old).exists(), "a dry run deletes nothing");

    // a longer recent window (flag, then git config) keeps the old version too
    let wide = env.data(&repo, &["prune", "--recent", "60"]);
    assert!(wide.stdout.contains("git-data: pruned 0 objects"), "{}", wide.stdout);
    assert!(wide.stdout.contains("of commits of the last 60 days"), "{}", wide.stdout);
    env.git(&repo, &["config", "data.pruneRecentDays", "60"]);
    let configured = env.data(&repo, &["prune"]);
    assert!(configured.stdout.contains("git-data: pruned 0 objects"), "{}", configured.stdout);
    assert!(object_path(&cache, &v.old).exists());
    // the flag wins over the setting
    env.data(&repo, &["prune", "--recent", "10"]);
    assert!(!object_path(&cache, &v.old).exists());
}

#[test]
fn prune_with_the_remote_down_fails_and_deletes_nothing() {
    let env = Env::new();
    let repo = env.project("prx");
    let cache = repo.join(".git/data");
    let v = history(&env, &repo);
    let store = env.path("prx-store");
    std::fs::rename(&store, env.path("prx-store-away")).unwrap();
    let out = env.data_fails(&repo, &["prune"]);
    assert!(out.stderr.contains("data remote storage"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was deleted"), "{}", out.stderr);
    for data in [&v.old, &v.recent, &v.current, &v.steady, &v.unpushed] {
        assert!(object_path(&cache, data).exists());
    }
}

#[test]
fn prune_of_a_shared_cache_is_a_dry_run_without_force() {
    let env = Env::new();
    let repo = env.project("prs");
    let cache = env.path("prs-cache");
    env.git(&repo, &["config", "data.cacheDir", cache.to_str().unwrap()]);
    let v = history(&env, &repo);
    let dry = env.data(&repo, &["prune"]);
    assert!(dry.stdout.contains("git-data: would prune 1 object"), "{}", dry.stdout);
    assert!(dry.stdout.contains("may be shared with other repositories"), "{}", dry.stdout);
    assert!(object_path(&cache, &v.old).exists());
    let forced = env.data(&repo, &["prune", "--force"]);
    assert!(forced.stdout.contains("git-data: pruned 1 object"), "{}", forced.stdout);
    assert!(!object_path(&cache, &v.old).exists());
    assert_eq!(read(&object_path(&cache, &v.current)), v.current);
}
