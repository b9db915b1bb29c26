//! `git data gc`: what refs, reflogs and the index reach stays, in the cache and on the remote;
//! the rest goes once past the grace period, and only with --force where others may share.

use crate::common::*;
use crate::s3server::S3Server;
use std::path::Path;

/// Sets a file's modification time `age` in the past (`touch -d`).
fn age(env: &Env, path: &Path, ago: &str) {
    let out = env.run(env.root(), "touch", &["-m", "-d", ago, path.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.all());
}

fn commit(env: &Env, repo: &Path, file: &str, data: &[u8], message: &str) {
    write(&repo.join(file), data);
    env.git(repo, &["add", file]);
    env.git(repo, &["commit", "-q", "-m", message]);
}

#[test]
fn gc_keeps_what_refs_reflogs_and_the_index_reach_and_deletes_the_rest() {
    let env = Env::new();
    let repo = env.project("gc");
    let cache = repo.join(".git/data");
    let store = env.path("gc-store");
    let (v1, v2, dropped, reset, staged) =
        (bytes(1, 3000), bytes(2, 3000), bytes(3, 5000), bytes(4, 3000), bytes(5, 3000));
    env.git(&repo, &["add", ".gitattributes", ".gitdata.yaml"]);
    commit(&env, &repo, "model.bin", &v1, "v1");
    env.git(&repo, &["tag", "v1.0"]);
    commit(&env, &repo, "model.bin", &v2, "v2");
    // a branch that is pushed, then deleted with its reflog: nothing reaches its data any more
    env.git(&repo, &["checkout", "-q", "-b", "scratch"]);
    commit(&env, &repo, "scratch.bin", &dropped, "scratch");
    env.git(&repo, &["push", "-q", "origin", "main", "scratch", "--tags"]);
    env.git(&repo, &["checkout", "-q", "main"]);
    env.git(&repo, &["push", "-q", "origin", "--delete", "scratch"]);
    env.git(&repo, &["branch", "-q", "-D", "scratch"]);
    env.git(&repo, &["reflog", "expire", "--expire=now", "--all"]);
    // undone with reset: only the reflog reaches it, which keeps it as git keeps the commit
    commit(&env, &repo, "undone.bin", &reset, "undone");
    env.git(&repo, &["reset", "-q", "--hard", "HEAD~1"]);
    // staged, never committed
    write(&repo.join("staged.bin"), &staged);
    env.git(&repo, &["add", "staged.bin"]);
    for data in [&v1, &v2, &dropped, &reset, &staged] {
        age(&env, &object_path(&cache, data), "30 days ago");
    }
    assert!(object_path(&store, &dropped).exists(), "pushed before the branch went");
    let old_temp = cache.join("tmp/incoming-old");
    let new_temp = cache.join("tmp/incoming-new");
    write(&old_temp, b"partial");
    write(&new_temp, b"partial");
    age(&env, &old_temp, "2 hours ago");

    let dry = env.data(&repo, &["gc", "--dry-run", "--verbose"]);
    assert!(
        dry.stdout.contains("Would delete 1 unreachable object (4.9 KiB) from the cache"),
        "{}",
        dry.stdout
    );
    assert!(dry.stdout.contains(&sha256(&dropped)), "{}", dry.stdout);
    assert!(dry.stdout.contains("would remove 1 abandoned temp file"), "{}", dry.stdout);
    assert!(
        object_path(&cache, &dropped).exists() && old_temp.exists(),
        "a dry run deletes nothing"
    );

    // within the grace period, unreachable objects stay
    age(&env, &object_path(&cache, &dropped), "3 days ago");
    let young = env.data(&repo, &["gc"]);
    assert!(young.stdout.contains("Nothing to delete from the cache"), "{}", young.stdout);
    assert!(
        young.stdout.contains("1 unreachable object (4.9 KiB) written in the last 14 days stay"),
        "{}",
        young.stdout
    );
    assert!(object_path(&cache, &dropped).exists());
    assert!(!old_temp.exists() && new_temp.exists(), "only the abandoned temp goes");

    let gc = env.data(&repo, &["gc", "--grace", "2"]);
    assert!(
        gc.stdout.contains(
            "Deleting 1 unreachable object (4.9 KiB) from the cache; 4 reachable ones stay"
        ),
        "{}",
        gc.stdout
    );
    assert!(!object_path(&cache, &dropped).exists());
    for data in [&v1, &v2, &reset, &staged] {
        assert_eq!(read(&object_path(&cache, data)), *data, "reachable objects stay whole");
    }

    // the remote: a dry run without --force, whatever else is asked
    age(&env, &object_path(&store, &dropped), "30 days ago");
    let remote_dry = env.data(&repo, &["gc", "--remote"]);
    assert!(
        remote_dry
            .stdout
            .contains("Would delete 1 unreachable object (4.9 KiB) from remote storage"),
        "{}",
        remote_dry.stdout
    );
    assert!(
        remote_dry.stdout.contains("This was a dry run") && remote_dry.stdout.contains("--force"),
        "{}",
        remote_dry.stdout
    );
    assert!(object_path(&store, &dropped).exists());
    let remote = env.data(&repo, &["gc", "--remote", "storage", "--force"]);
    assert!(
        remote.stdout.contains("Deleting 1 unreachable object (4.9 KiB) from remote storage"),
        "{}",
        remote.stdout
    );
    assert!(!object_path(&store, &dropped).exists());
    for data in [&v1, &v2] {
        assert_eq!(read(&object_path(&store, data)), *data);
    }

    // what stays is enough: a fresh clone checks out both tags' data
    let (fresh, out) = env.clone_of("gc", "fresh");
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(read(&fresh.join("model.bin")), v2);
    env.git(&fresh, &["checkout", "-q", "v1.0"]);
    assert_eq!(read(&fresh.join("model.bin")), v1);
    assert_clean(&env, &fresh);

    // a shallow clone cannot see what older history needs: it refuses to touch the remote
    let url = format!("file://{}", env.path("gc-origin.git").display());
    env.git(env.root(), &["clone", "-q", "--depth", "1", &url, "shallow"]);
    let refused =
        env.data_fails(&env.path("shallow"), &["gc", "--remote", "--force", "--grace", "0"]);
    assert!(refused.stderr.contains("does not have the whole history"), "{}", refused.stderr);
    assert!(refused.stderr.contains("--unshallow"), "{}", refused.stderr);
    assert_eq!(read(&object_path(&store, &v1)), v1);
}

#[test]
fn gc_of_a_shared_cache_is_a_dry_run_without_force() {
    let env = Env::new();
    let repo = env.project("shared");
    let cache = env.path("shared-cache");
    env.git(&repo, &["config", "data.cacheDir", cache.to_str().unwrap()]);
    let (kept, other) = (bytes(6, 2000), bytes(7, 2000));
    commit(&env, &repo, "kept.bin", &kept, "kept");
    // another repository's object in the same cache
    let foreign = object_path(&cache, &other);
    write(&foreign, &other);
    age(&env, &foreign, "30 days ago");
    let dry = env.data(&repo, &["gc"]);
    assert!(dry.stdout.contains("Would delete 1 unreachable object"), "{}", dry.stdout);
    assert!(dry.stdout.contains("may be shared with other repositories"), "{}", dry.stdout);
    assert!(foreign.exists());
    env.data(&repo, &["gc", "--force"]);
    assert!(!foreign.exists());
    assert_eq!(read(&object_path(&cache, &kept)), kept);
}

#[test]
fn gc_deletes_unreachable_objects_from_an_s3_remote() {
    let server = S3Server::start();
    let env = Env::new();
    let repo = env.project("s3gc");
    env.use_s3(&repo, &server, "team/s3gc");
    let (old, new) = (bytes(8, 4000), bytes(9, 4000));
    commit(&env, &repo, "model.bin", &old, "old");
    env.git(&repo, &["push", "-q", "origin", "main"]);
    // history rewritten so that nothing reaches the old version any more, and pushed over it
    write(&repo.join("model.bin"), &new);
    env.git(&repo, &["add", "model.bin"]);
    env.git(&repo, &["commit", "-q", "--amend", "-m", "new"]);
    env.git(&repo, &["push", "-q", "-f", "origin", "main"]);
    env.git(&repo, &["reflog", "expire", "--expire=now", "--all"]);
    let key = |data: &[u8]| {
        server.object_file(&format!(
            "team/s3gc/objects/{}",
            git_data::oid::Oid::of_bytes(data).shard_path()
        ))
    };
    assert!(key(&old).exists() && key(&new).exists());
    let gc = env.data(&repo, &["gc", "--remote", "--grace", "0", "--force"]);
    assert!(
        gc.stdout.contains("Deleting 1 unreachable object (3.9 KiB) from remote storage"),
        "{}",
        gc.stdout
    );
    assert!(!key(&old).exists(), "the unreachable version is gone from the bucket");
    assert_eq!(read(&key(&new)), new);
    // the record of what the remote holds forgot it: a push of the old data uploads it again
    commit(&env, &repo, "model.bin", &old, "back to old");
    let push = env.git(&repo, &["push", "origin", "main"]);
    assert!(push.stderr.contains("uploaded 1 file"), "{}", push.stderr);
    assert_eq!(read(&key(&old)), old);
}

#[test]
fn gc_remote_removes_partial_uploads_an_interrupted_push_left() {
    let env = Env::new();
    let repo = env.project("gt");
    commit(&env, &repo, "a.bin", &bytes(60, 3000), "a");
    env.git(&repo, &["push", "-q", "origin", "main"]);
    let store = env.path("gt-store");
    let (old, new) = (store.join("tmp/incoming-1-2-old"), store.join("tmp/incoming-3-4-new"));
    write(&old, b"partial");
    write(&new, b"partial, maybe another machine's push under way");
    age(&env, &old, "2 hours ago");
    let dry = env.data(&repo, &["gc", "--remote"]);
    assert!(dry.stdout.contains("would remove 1 abandoned temp file"), "{}", dry.stdout);
    assert!(old.exists());
    env.data(&repo, &["gc", "--remote", "--force"]);
    assert!(!old.exists() && new.exists(), "only the abandoned temp goes");
}
