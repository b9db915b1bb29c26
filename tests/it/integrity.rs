//! Never a silent wrong state: damaged remote objects are found and repaired, a wrong pointer
//! is blamed instead of the object it names, and a local fault is not reported as a remote one.

use crate::common::*;

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
    write(&file, b"not a directory");
    for (url, what) in
        [(file.clone(), "it is a file"), (file.join("sub"), "a part of the path is a file")]
    {
        env.data(&repo, &["remote", "add", "storage", url.to_str().unwrap()]);
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
