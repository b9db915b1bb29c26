//! Delayed smudge: a clone or checkout gets the missing small objects in one batch while git
//! waits, and git writes each file once, with its data.

use crate::common::*;

#[test]
fn clone_and_checkout_fetch_missing_small_files_in_one_delayed_batch() {
    let env = Env::new();
    let repo = env.project("delay");
    let mut files = Vec::new();
    for i in 0..40 {
        let path = format!("data/f{i:02}.csv");
        let content = bytes(700 + i as u64, 500 + i * 37);
        write(&repo.join(&path), &content);
        files.push((path, content));
    }
    let big = bytes(9, 3 << 20); // above the inline size: written by the hook, never delayed
    write(&repo.join("model.bin"), &big);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "v1"]);
    env.git(&repo, &["tag", "v1"]);
    let changed = bytes(800, 900);
    write(&repo.join("data/f00.csv"), &changed);
    env.git(&repo, &["commit", "-q", "-am", "v2"]);
    env.git(&repo, &["push", "-q", "origin", "main", "--tags"]);

    let trace = env.path("trace.txt");
    let origin = env.path("delay-origin.git");
    let mut clone = env.command(env.root(), "git");
    clone.args(["clone", "-q", origin.to_str().unwrap(), "fresh"]);
    clone.env("GIT_TRACE_PACKET", &trace);
    let out = clone.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let fresh = env.path("fresh");
    let log = String::from_utf8_lossy(&read(&trace)).to_string();
    assert_eq!(log.matches("status=delayed").count(), 40, "each small file was delayed once");
    assert!(log.contains("command=list_available_blobs"));
    assert_eq!(read(&fresh.join("data/f00.csv")), changed);
    for (path, content) in &files[1..] {
        assert!(read(&fresh.join(path)) == *content, "{path}");
    }
    assert!(read(&fresh.join("model.bin")) == big);
    assert_clean(&env, &fresh);

    // an old version whose object is not in the fresh clone's cache: delayed and fetched too
    env.git(&fresh, &["checkout", "-q", "v1"]);
    assert_eq!(read(&fresh.join("data/f00.csv")), files[0].1);
    assert_clean(&env, &fresh);
}
