//! Every everyday git command that writes the work tree leaves data files with their bytes
//! (never pointer text) and `git status` telling the truth — including the commands that run
//! no hook (`reset --hard`, `stash`, `restore`, `cherry-pick`, `revert`, `sparse-checkout`)
//! and `rebase`, which keeps the index in memory while hooks run. Files are above the inline
//! smudge size (1 MiB), so they go through the pending journal.

use crate::common::*;
use std::path::Path;

const SIZE: usize = 1_500_000;

/// Each file holds exactly its bytes, `git status` is clean and `git data status` lists no
/// file as a pointer.
fn assert_restored(env: &Env, repo: &Path, files: &[(&str, &[u8])]) {
    for (name, want) in files {
        let got = read(&repo.join(name));
        assert!(
            got == *want,
            "{name}: {} bytes, starting {:?}",
            got.len(),
            &got[..got.len().min(40)]
        );
    }
    assert_clean(env, repo);
    let status = env.data(repo, &["status"]).all();
    assert!(!status.contains("pointer only"), "{status}");
}

/// A project with `a.bin` in two committed versions (`v1` tagged, then `main`), and
/// `small.bin` (inline size) changing too.
fn two_versions(env: &Env, name: &str) -> (std::path::PathBuf, Vec<u8>, Vec<u8>) {
    let repo = env.project(name);
    let (v1, v2) = (bytes(1, SIZE), bytes(2, SIZE));
    write(&repo.join("a.bin"), &v1);
    write(&repo.join("small.bin"), b"small one");
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "v1"]);
    env.git(&repo, &["tag", "v1"]);
    write(&repo.join("a.bin"), &v2);
    write(&repo.join("small.bin"), b"small two");
    env.git(&repo, &["commit", "-q", "-am", "v2"]);
    (repo, v1, v2)
}

#[test]
fn reset_hard_writes_the_data_of_the_commit() {
    let env = Env::new();
    let (repo, v1, v2) = two_versions(&env, "rs");
    env.git(&repo, &["reset", "-q", "--hard", "v1"]);
    assert_restored(&env, &repo, &[("a.bin", &v1), ("small.bin", b"small one")]);
    env.git(&repo, &["reset", "-q", "--hard", "ORIG_HEAD"]);
    assert_restored(&env, &repo, &[("a.bin", &v2), ("small.bin", b"small two")]);
}

#[test]
fn stash_and_stash_pop_keep_the_bytes() {
    let env = Env::new();
    let (repo, _, v2) = two_versions(&env, "st");
    let edited = bytes(3, SIZE + 10);
    write(&repo.join("a.bin"), &edited);
    env.git(&repo, &["stash", "-q"]);
    assert_restored(&env, &repo, &[("a.bin", &v2)]);
    env.git(&repo, &["stash", "pop", "-q"]);
    assert_eq!(read(&repo.join("a.bin")), edited);
    assert_eq!(env.git(&repo, &["status", "--porcelain"]).stdout, " M a.bin\n");
    env.git(&repo, &["checkout", "-q", "--", "a.bin"]);
    assert_restored(&env, &repo, &[("a.bin", &v2)]);
}

#[test]
fn restore_from_another_revision_shows_as_modified() {
    // Same size in both versions, files rewritten within one second: the written file must
    // never carry the stat the index recorded for the other version (same inode reused).
    let env = Env::new();
    let (repo, v1, v2) = two_versions(&env, "rt");
    for _ in 0..4 {
        env.git(&repo, &["checkout", "-q", "v1"]);
        env.git(&repo, &["checkout", "-q", "main"]);
        env.git(&repo, &["restore", "--source=v1", "a.bin"]);
        assert_eq!(read(&repo.join("a.bin")), v1);
        assert_eq!(env.git(&repo, &["status", "--porcelain"]).stdout, " M a.bin\n");
        assert_eq!(env.run(&repo, "git", &["diff", "--quiet"]).code, 1, "git diff sees it");
        env.git(&repo, &["checkout", "-q", "-f", "main"]);
        env.git(&repo, &["restore", "a.bin"]);
        assert_restored(&env, &repo, &[("a.bin", &v2)]);
    }
}

#[test]
fn checkout_of_paths_from_a_revision() {
    let env = Env::new();
    let (repo, v1, v2) = two_versions(&env, "cp");
    env.git(&repo, &["checkout", "-q", "v1", "--", "a.bin"]);
    assert_eq!(read(&repo.join("a.bin")), v1);
    assert_eq!(env.git(&repo, &["status", "--porcelain"]).stdout, "M  a.bin\n");
    env.git(&repo, &["checkout", "-q", "HEAD", "--", "a.bin"]);
    assert_restored(&env, &repo, &[("a.bin", &v2)]);
}

/// `main` changes `a.bin`; branch `side` (from v1) adds `b.bin`.
fn side_branch(env: &Env, name: &str) -> (std::path::PathBuf, Vec<u8>, Vec<u8>) {
    let (repo, _, v2) = two_versions(env, name);
    let b = bytes(4, SIZE);
    env.git(&repo, &["checkout", "-q", "-b", "side", "v1"]);
    write(&repo.join("b.bin"), &b);
    env.git(&repo, &["add", "b.bin"]);
    env.git(&repo, &["commit", "-q", "-m", "side"]);
    env.git(&repo, &["checkout", "-q", "main"]);
    (repo, v2, b)
}

#[test]
fn cherry_pick_and_revert() {
    let env = Env::new();
    let (repo, v2, b) = side_branch(&env, "cr");
    env.git(&repo, &["cherry-pick", "side"]);
    assert_restored(&env, &repo, &[("a.bin", &v2), ("b.bin", &b)]);
    env.git(&repo, &["revert", "--no-edit", "HEAD~1"]); // reverts v2: a.bin back to v1
    assert_restored(&env, &repo, &[("a.bin", &bytes(1, SIZE)), ("b.bin", &b)]);
}

#[test]
fn rebase_over_a_commit_that_changes_a_large_file() {
    let env = Env::new();
    let (repo, v2, b) = side_branch(&env, "rb");
    env.git(&repo, &["checkout", "-q", "side"]);
    let out = env.git(&repo, &["rebase", "main"]);
    assert!(out.stderr.contains("Successfully rebased"), "{}", out.all());
    assert_restored(&env, &repo, &[("a.bin", &v2), ("b.bin", &b)]);
    // and an interactive rebase that stops to edit: the data is there while it is stopped
    let edit = "sed -i 's/^pick/edit/'";
    env.git(&repo, &["-c", &format!("sequence.editor={edit}"), "rebase", "-q", "-i", "HEAD~2"]);
    assert_eq!(read(&repo.join("a.bin")), v2);
    env.git(&repo, &["rebase", "--continue"]);
    env.git(&repo, &["rebase", "--continue"]);
    assert_restored(&env, &repo, &[("a.bin", &v2), ("b.bin", &b)]);
}

#[test]
fn merge_and_worktree_add() {
    let env = Env::new();
    let (repo, v2, b) = side_branch(&env, "mw");
    env.git(&repo, &["merge", "-q", "--no-edit", "side"]);
    assert_restored(&env, &repo, &[("a.bin", &v2), ("b.bin", &b)]);
    let wt = env.path("mw-wt");
    env.git(&repo, &["worktree", "add", "-q", wt.to_str().unwrap(), "v1"]);
    assert_restored(&env, &wt, &[("a.bin", &bytes(1, SIZE)), ("small.bin", b"small one")]);
}

#[test]
fn sparse_checkout_brings_files_back_with_their_data() {
    let env = Env::new();
    let (repo, _, v2) = two_versions(&env, "sp");
    write(&repo.join("data/c.bin"), &bytes(5, SIZE));
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "c"]);
    env.git(&repo, &["sparse-checkout", "set", "--no-cone", "/a.bin", "/.git*"]);
    assert!(!repo.join("data/c.bin").exists());
    env.git(&repo, &["sparse-checkout", "disable"]);
    assert_restored(&env, &repo, &[("a.bin", &v2), ("data/c.bin", &bytes(5, SIZE))]);
}
