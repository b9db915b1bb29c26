//! `git data add`: stages exactly what `git add` stages, with data files stored on every core.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Writes the same mixed tree into `repo`: data files (one executable, one empty, one that
/// already holds pointer text), plain files, and a file in a subdirectory.
fn mixed_tree(repo: &Path) -> Vec<(String, Vec<u8>)> {
    let mut data = Vec::new();
    for (i, path) in ["model.bin", "data/a.csv", "data/sub/b.csv", "data/run.sh"].iter().enumerate()
    {
        let content = bytes(40 + i as u64, 3000 + i * 70_000);
        write(&repo.join(path), &content);
        data.push((path.to_string(), content));
    }
    let exe = repo.join("data/run.sh");
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    write(&repo.join("data/empty.csv"), b"");
    // pointer text (as a stash leaves it) is staged as it is, and restores to model.bin's data
    write(&repo.join("data/pointer.csv"), pointer_of(&data[0].1).as_bytes());
    write(&repo.join("README.md"), b"# readme\n");
    write(&repo.join("src/main.py"), b"print('hi')\n");
    write(&repo.join("notes.log"), b"ignored\n");
    write(&repo.join(".gitignore"), b"*.log\n");
    data
}

#[test]
fn stages_the_same_tree_as_git_add_and_round_trips() {
    let env = Env::new();
    let by_git = env.project("by-git");
    let by_data = env.project("by-data");
    let data = mixed_tree(&by_git);
    mixed_tree(&by_data);
    std::thread::sleep(std::time::Duration::from_millis(50));
    env.git(&by_git, &["add", "."]);
    let out = env.data(&by_data.join("data"), &["add", ".."]);
    assert!(out.stdout.contains("6 data files staged"), "{}", out.stdout);
    // the very same index: same blobs, same modes, nothing more (the .log stays ignored)
    // (.gitdata.yaml names each project's own data remote)
    let staged = |repo: &Path| env.git(repo, &["ls-files", "-s", "--", ":!.gitdata.yaml"]).stdout;
    assert_eq!(staged(&by_data), staged(&by_git));
    assert_eq!(staged(&by_data).lines().count(), 10);
    let ls = env.git(&by_data, &["ls-files", "-s", "data/run.sh", "notes.log"]).stdout;
    assert!(ls.starts_with("100755 "), "{ls}");
    assert!(!ls.contains("notes.log"), "{ls}");
    // git finds every staged file clean by its stat: nothing left to add or refresh
    assert_eq!(env.git(&by_data, &["diff", "--name-only"]).stdout, "");
    env.git(&by_data, &["commit", "-q", "-m", "data"]);
    assert_clean(&env, &by_data);
    for (path, content) in &data {
        assert_eq!(
            env.git(&by_data, &["show", &format!("HEAD:{path}")]).stdout,
            pointer_of(content)
        );
        assert_eq!(read(&object_path(&by_data.join(".git/data"), content)), *content, "{path}");
    }
    // pushed and cloned like anything added with git add
    env.git(&by_data, &["push", "-q", "origin", "main"]);
    let (clone, out) = env.clone_of("by-data", "clone");
    assert_eq!(out.code, 0, "{}", out.all());
    for (path, content) in &data {
        assert!(read(&clone.join(path)) == *content, "{path}");
    }
    assert!(read(&clone.join("data/pointer.csv")) == data[0].1);
    assert_eq!(read(&clone.join("data/empty.csv")), b"");
}

#[test]
fn stages_changes_and_deletions_and_skips_what_is_unchanged() {
    let env = Env::new();
    let repo = env.project("changes");
    let a = bytes(1, 5000);
    write(&repo.join("data/a.bin"), &a);
    write(&repo.join("data/b.bin"), &bytes(2, 5000));
    write(&repo.join("data/c.bin"), &bytes(3, 5000));
    env.data(&repo, &["add", "data"]);
    env.git(&repo, &["commit", "-q", "-m", "v1"]);
    let again = env.data(&repo, &["add", "data"]);
    assert!(again.stdout.contains("0 data files staged (0 B), 3 unchanged"), "{}", again.stdout);

    let b2 = bytes(22, 7000);
    write(&repo.join("data/b.bin"), &b2);
    std::fs::remove_file(repo.join("data/c.bin")).unwrap();
    let out = env.data(&repo, &["add", "data"]);
    assert!(out.stdout.contains("1 data file staged"), "{}", out.stdout);
    let status = env.git(&repo, &["status", "--porcelain", "data"]).stdout;
    assert_eq!(status, "M  data/b.bin\nD  data/c.bin\n");
    assert_eq!(env.git(&repo, &["show", ":data/b.bin"]).stdout, pointer_of(&b2));
    assert_eq!(env.git(&repo, &["show", ":data/a.bin"]).stdout, pointer_of(&a));

    // a touched file keeps its blob: its new stat is recorded, nothing is staged
    env.run(&repo, "touch", &["-d", "2001-01-01", "data/a.bin"]);
    let touched = env.data(&repo, &["add", "data"]);
    assert!(
        touched.stdout.contains("0 data files staged (0 B), 2 unchanged"),
        "{}",
        touched.stdout
    );
    assert_eq!(env.git(&repo, &["status", "--porcelain", "data"]).stdout, status);
}

#[test]
fn many_files_go_into_one_pack_that_git_accepts() {
    let env = Env::new();
    let repo = env.project("pack");
    let mut files = Vec::new();
    for i in 0..300 {
        let path = format!("data/d{}/f{i:03}.bin", i % 7);
        let content = bytes(900 + i as u64, 1 + (i * 131) % 6000);
        write(&repo.join(&path), &content);
        files.push((path, content));
    }
    // two files with the same content share one pointer blob
    write(&repo.join("data/copy.bin"), &files[5].1);
    env.data(&repo, &["add", "data"]);
    let counts = env.git(&repo, &["count-objects", "-v"]).stdout;
    assert!(counts.contains("in-pack: 300\n"), "{counts}");
    assert!(counts.contains("count: 0\n"), "{counts}");
    env.git(&repo, &["fsck", "--strict"]);
    for (path, content) in &files {
        assert_eq!(env.git(&repo, &["show", &format!(":{path}")]).stdout, pointer_of(content));
    }
    env.git(&repo, &["commit", "-q", "-m", "many"]);
    assert_eq!(env.git(&repo, &["status", "--porcelain", "data"]).stdout, "");
    let fsck = env.data(&repo, &["fsck"]).stdout;
    assert!(fsck.starts_with("cache: 300 objects"), "{fsck}");
}

#[test]
fn refuses_without_the_filter_and_with_a_bad_path() {
    let env = Env::bare();
    let repo = env.path("plain");
    env.git(env.root(), &["init", "-q", repo.to_str().unwrap()]);
    write(&repo.join("model.bin"), &bytes(5, 100));
    let out = env.data_fails(&repo, &["add", "model.bin"]);
    assert!(out.stderr.contains("run `git data install`"), "{}", out.stderr);
    assert_eq!(env.git(&repo, &["ls-files"]).stdout, "");

    let env = Env::new();
    let repo = env.project("typo");
    let out = env.run(&repo, "git", &["data", "add", "no-such-file"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("no-such-file"), "{}", out.stderr);
}
