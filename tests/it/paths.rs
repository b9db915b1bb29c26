//! Paths git-data must handle exactly: names that are not UTF-8 go through the filter, the
//! journal and a clone byte for byte; nothing is ever written outside the work tree or
//! through a symbolic link, whatever path a journal or a work tree names.

use crate::common::*;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const LARGE: usize = 1_500_000;

fn latin1(dir: &Path, name: &[u8]) -> std::path::PathBuf {
    dir.join(OsStr::from_bytes(name))
}

#[test]
fn names_that_are_not_utf8_survive_add_push_and_clone() {
    let env = Env::new();
    let repo = env.project("nu");
    let (small, large) = (bytes(1, 2000), bytes(2, LARGE));
    // "café" and "naïve" in Latin-1: not valid UTF-8
    write(&latin1(&repo, b"caf\xe9.bin"), &small);
    write(&latin1(&repo, b"data/na\xefve.bin"), &large);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "names"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    let (clone, out) = env.clone_of("nu", "nu-clone");
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(read(&latin1(&clone, b"caf\xe9.bin")), small);
    assert_eq!(read(&latin1(&clone, b"data/na\xefve.bin")), large);
    assert_clean(&env, &clone);
    // and back and forth through the journal
    env.git(&clone, &["rm", "-q", "--cached", "-r", "data"]);
    env.git(&clone, &["commit", "-q", "-m", "untracked"]);
    std::fs::remove_dir_all(clone.join("data")).unwrap();
    env.git(&clone, &["checkout", "-q", "HEAD~1"]);
    assert_eq!(read(&latin1(&clone, b"data/na\xefve.bin")), large);
    assert_clean(&env, &clone);
}

#[test]
fn a_tracked_directory_replaced_by_a_symlink_is_never_written_through() {
    let env = Env::new();
    let repo = env.project("sl");
    let data = bytes(3, LARGE);
    write(&repo.join("data/x.bin"), &data);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "x"]);
    // the data directory moved to a big disk and linked back, holding the pointer text
    let outside = env.path("big-disk");
    write(&outside.join("x.bin"), pointer_of(&data).as_bytes());
    std::fs::remove_dir_all(repo.join("data")).unwrap();
    std::os::unix::fs::symlink(&outside, repo.join("data")).unwrap();
    let out = env.data_fails(&repo, &["checkout"]);
    assert!(out.stderr.contains("data is a symbolic link"), "{}", out.stderr);
    assert_eq!(read(&outside.join("x.bin")), pointer_of(&data).as_bytes(), "nothing written there");
}

#[test]
fn a_journal_entry_for_a_path_outside_the_work_tree_is_ignored() {
    let env = Env::new();
    let repo = env.project("jo");
    let data = bytes(4, LARGE);
    write(&repo.join("m.bin"), &data);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "m"]);
    write(&env.path("escape.bin"), pointer_of(&data).as_bytes());
    // git smudges for a path it is told, inside the work tree or not
    let out = env.git(&repo, &["cat-file", "--filters", "--path=../escape.bin", "HEAD:m.bin"]);
    assert_eq!(out.stdout.as_bytes(), pointer_of(&data).as_bytes());
    env.git(&repo, &["checkout", "-q", "HEAD"]); // runs the hooks
    env.data(&repo, &["checkout"]);
    assert_eq!(read(&env.path("escape.bin")), pointer_of(&data).as_bytes());
    assert_eq!(read(&repo.join("m.bin")), data);
    assert_clean(&env, &repo);
}
