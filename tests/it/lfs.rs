//! `git data migrate lfs` on a git-lfs repository built by fixtures/lfs-repo.sh (the real
//! git-lfs when installed): objects imported, attributes switched, old commits still work.

use crate::common::*;
use crate::migrate::{add_remotes, check_out_all, contents, fixture};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

fn git_lfs_installed() -> bool {
    std::process::Command::new("git-lfs").arg("version").output().is_ok_and(|o| o.status.success())
}

/// The object files under `.git/lfs/objects`.
fn lfs_objects(repo: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for a in std::fs::read_dir(repo.join(".git/lfs/objects")).unwrap().flatten() {
        for b in std::fs::read_dir(a.path()).unwrap().flatten() {
            out.extend(std::fs::read_dir(b.path()).unwrap().flatten().map(|e| e.path()));
        }
    }
    out
}

#[test]
fn lfs_switch_in_one_commit_keeps_old_commits_working() {
    let env = Env::bare();
    let repo = fixture(&env, "lfs-repo.sh", "lfsrepo");
    let before = contents(&env, &repo);
    let old_head = env.git(&repo, &["rev-parse", "HEAD"]).stdout;
    let objects = lfs_objects(&repo);
    assert_eq!(objects.len(), 4);

    let out = env.data(&repo, &["migrate", "lfs"]);
    let text = out.stdout;
    assert!(text.contains("4 hard-linked, 0 copied"), "{text}");
    assert!(text.contains("4 referenced by history"), "{text}");
    if git_lfs_installed() {
        assert!(text.contains("removed git-lfs's pre-push hook"), "{text}");
    }
    // one new commit; pointer blobs and older commits unchanged
    assert_eq!(env.git(&repo, &["rev-parse", "HEAD~1"]).stdout, old_head);
    let attrs = env.git(&repo, &["cat-file", "blob", "HEAD:.gitattributes"]).stdout;
    assert_eq!(attrs, "*.bin filter=data diff=data merge=data -text\n");
    let sub = env.git(&repo, &["cat-file", "blob", "HEAD:assets/.gitattributes"]).stdout;
    assert_eq!(sub, "*.png filter=data diff=data merge=data -text\n");
    let changed = env.git(&repo, &["diff", "--name-only", "HEAD~1", "HEAD"]).stdout;
    assert_eq!(changed, ".gitattributes\nassets/.gitattributes\n");
    // each object is in the cache, hard-linked (same inode), verified, read-only
    for o in &objects {
        let name = o.file_name().unwrap().to_str().unwrap();
        let cached = repo.join(".git/data/objects").join(&name[0..2]).join(&name[2..4]).join(name);
        let (a, b) = (std::fs::metadata(o).unwrap(), std::fs::metadata(&cached).unwrap());
        assert_eq!(a.ino(), b.ino(), "{name} hard-linked");
        assert_eq!(b.mode() & 0o222, 0, "{name} read-only");
    }
    let hook = String::from_utf8(read(&repo.join(".git/hooks/pre-push"))).unwrap();
    assert!(hook.contains("git-data") && !hook.contains("git lfs"), "{hook}");
    assert!(!repo.join(".git/hooks/post-commit").exists());
    let process = env.git(&repo, &["config", "filter.lfs.process"]).stdout;
    assert_eq!(process, "git-data filter-process\n");
    assert_clean(&env, &repo);
    env.data(&repo, &["fsck"]);
    let ok = env.data(&repo, &["check", "--offline", "main"]).stdout;
    assert!(ok.contains("pointers): ok"), "{ok}");
    // old commits still say filter=lfs: git-data serves them
    check_out_all(&env, &repo, &before);
    let after = contents(&env, &repo);
    for (subject, files) in &before {
        assert_eq!(&after[subject], files, "{subject}");
    }
    // running it again changes nothing
    let again = env.data(&repo, &["migrate", "lfs"]).stdout;
    assert!(again.contains("nothing to commit"), "{again}");
    assert!(again.contains("4 already in the cache"), "{again}");

    // push all data to a directory remote; a fresh clone that switches too restores all
    let store = add_remotes(&env, &repo, "lfsrepo");
    env.data(&repo, &["push", "--all"]);
    env.git(&repo, &["push", "-q", "origin", "main", "--tags"]);
    for o in &objects {
        let name = o.file_name().unwrap().to_str().unwrap();
        assert!(store.join("objects").join(&name[0..2]).join(&name[2..4]).join(name).exists());
    }
    let (fresh, out) = env.clone_of("lfsrepo", "lfs-fresh");
    assert_eq!(out.code, 0, "{}", out.all());
    let switched = env.data(&fresh, &["migrate", "lfs"]).stdout;
    assert!(switched.contains("nothing to commit"), "{switched}");
    env.data(&fresh, &["fetch", "--all"]);
    check_out_all(&env, &fresh, &before);
    let ok = env.data(&fresh, &["check", "main"]).stdout;
    assert!(ok.contains("pointers): ok"), "{ok}");
}

#[test]
fn lfs_history_rewrite_keeps_pointer_blobs() {
    let env = Env::bare();
    let repo = fixture(&env, "lfs-repo.sh", "lfshist");
    let before = contents(&env, &repo);
    let pointer_blob = env.git(&repo, &["rev-parse", "v1:models/model.bin"]).stdout;
    let out = env.data(&repo, &["migrate", "lfs", "--history", "--everything"]);
    assert!(out.stdout.contains("refs rewritten:    2 (main, v1)"), "{}", out.stdout);
    assert!(out.stdout.contains("in 2 rewritten commits"), "{}", out.stdout);
    assert_eq!(env.git(&repo, &["rev-parse", "v1:models/model.bin"]).stdout, pointer_blob);
    assert_eq!(env.git(&repo, &["cat-file", "-t", "v1"]).stdout, "tag\n");
    for rev in ["v1", "main"] {
        let attrs = env.git(&repo, &["cat-file", "blob", &format!("{rev}:.gitattributes")]).stdout;
        assert_eq!(attrs, "*.bin filter=data diff=data merge=data -text\n", "{rev}");
    }
    assert_eq!(env.git(&repo, &["rev-list", "--count", "main"]).stdout, "2\n", "no new commit");
    let backups = env.git(&repo, &["for-each-ref", "refs/git-data/backup/"]).stdout;
    assert_eq!(backups.lines().count(), 2, "{backups}");
    assert_clean(&env, &repo);
    assert_eq!(contents(&env, &repo), before);
    check_out_all(&env, &repo, &before);
}

#[test]
fn lfs_refuses_when_objects_are_missing_unless_allowed() {
    let env = Env::bare();
    let repo = fixture(&env, "lfs-repo.sh", "lfsmiss");
    // the first model exists only in the first commit: its object is gone from this clone
    let blob = env.git(&repo, &["cat-file", "blob", "v1:models/model.bin"]).stdout;
    let oid = git_data::pointer::Pointer::parse(blob.as_bytes()).unwrap().oid;
    std::fs::remove_file(repo.join(".git/lfs/objects").join(oid.shard_path())).unwrap();
    let head = env.git(&repo, &["rev-parse", "HEAD"]).stdout;
    let out = env.data_fails(&repo, &["migrate", "lfs"]);
    assert!(out.stderr.contains("1 object that history needs is neither"), "{}", out.stderr);
    assert!(out.stderr.contains("models/model.bin"), "{}", out.stderr);
    assert!(out.stderr.contains("git lfs fetch --all"), "{}", out.stderr);
    assert_eq!(env.git(&repo, &["rev-parse", "HEAD"]).stdout, head, "nothing committed");
    let out = env.data(&repo, &["migrate", "lfs", "--allow-missing"]);
    assert!(out.stdout.contains("1 missing"), "{}", out.stdout);
    assert_clean(&env, &repo);
}

#[test]
fn hand_made_lfs_layout_is_adopted_too() {
    let env = Env::bare();
    env.set_env("LFS_FAKE", "1");
    let repo = fixture(&env, "lfs-repo.sh", "lfsfake");
    let before = contents(&env, &repo);
    let out = env.data(&repo, &["migrate", "lfs"]);
    assert!(out.stdout.contains("4 hard-linked"), "{}", out.stdout);
    // the work tree held pointer text (no git-lfs smudged it): git-data wrote the data
    assert!(out.stdout.contains("wrote 3 files that held pointer text"), "{}", out.stdout);
    check_out_all(&env, &repo, &before);
}

#[test]
fn a_corrupt_lfs_object_is_refused_by_name_and_never_cached() {
    let env = Env::bare();
    let repo = fixture(&env, "lfs-repo.sh", "lfsbad");
    let blob = env.git(&repo, &["cat-file", "blob", "v1:models/model.bin"]).stdout;
    let oid = git_data::pointer::Pointer::parse(blob.as_bytes()).unwrap().oid;
    let src = repo.join(".git/lfs/objects").join(oid.shard_path());
    let mut bytes = read(&src);
    bytes[7] ^= 0x20; // one flipped bit, same size
    std::fs::set_permissions(&src, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    write(&src, &bytes);
    let head = env.git(&repo, &["rev-parse", "HEAD"]).stdout;
    let out = env.data_fails(&repo, &["migrate", "lfs"]);
    let why = format!("not imported, corrupt git-lfs object {} ({oid})", src.display());
    assert!(out.stderr.contains(&why), "{}", out.stderr);
    assert!(out.stderr.contains("content hashes to"), "{}", out.stderr);
    assert!(out.stderr.contains("models/model.bin"), "{}", out.stderr);
    assert_eq!(env.git(&repo, &["rev-parse", "HEAD"]).stdout, head, "nothing committed");
    // the three good objects are in the cache; the bad one is not, and no temp is left
    let cache = repo.join(".git/data");
    assert!(!cache.join("objects").join(oid.shard_path()).exists());
    let fsck = env.run(&repo, "git", &["data", "fsck"]);
    assert!(
        fsck.stdout.contains("cache: 3 objects") && fsck.stdout.contains("0 bad"),
        "{}",
        fsck.stdout
    );
    let tmp: Vec<_> =
        std::fs::read_dir(cache.join("tmp")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(tmp.is_empty(), "{tmp:?}");
    assert_eq!(read(&src), bytes, "the git-lfs copy is left as it was");
    // once the good bytes are back, the rerun takes it
    bytes[7] ^= 0x20;
    write(&src, &bytes);
    let out = env.data(&repo, &["migrate", "lfs"]);
    assert!(
        out.stdout.contains("1 hard-linked, 0 copied") && out.stdout.contains("3 already"),
        "{}",
        out.stdout
    );
    assert_eq!(read(&cache.join("objects").join(oid.shard_path())), bytes);
}
