//! The Git LFS server remote (`lfs+…`) against a real Git LFS server on 127.0.0.1 (giftless,
//! JWT authentication on), with the token handed out by a real git credential helper, or by
//! `git-lfs-authenticate` through a stand-in `ssh` (no sshd runs here: the script prints what
//! a server prints, with a token giftless accepts).

use crate::common::*;
use crate::lfsserver::LfsServer;
use crate::workflow::{Remote, workflow};
use std::path::Path;

const MIB: usize = 1 << 20;

/// Points the data remote `storage` of `repo` at repository `name` of `server`, with a git
/// credential helper (in the global config, so clones have it) that logs each call to
/// `lfs-helper.log` and answers `get` with user `_jwt` and the token in `lfs-token`.
pub(crate) fn use_lfs(env: &Env, repo: &Path, server: &LfsServer, name: &str) {
    let token = env.path("lfs-token");
    write(&token, server.token().as_bytes());
    let log = env.path("lfs-helper.log");
    let helper = format!(
        "!f() {{ cat >/dev/null; echo \"$1\" >> '{}'; if [ \"$1\" = get ]; then \
         printf 'username=_jwt\\npassword=%s\\n' \"$(cat '{}')\"; fi; }}; f",
        log.display(),
        token.display()
    );
    env.git(env.root(), &["config", "--global", "credential.helper", &helper]);
    let url = format!("lfs+{}", server.endpoint(name));
    env.data(repo, &["remote", "add", "--force", "storage", &url]);
}

/// The calls the credential helper saw (`get`, `store`, `erase`), in order.
fn helper_calls(env: &Env) -> Vec<String> {
    let text = std::fs::read_to_string(env.path("lfs-helper.log")).unwrap_or_default();
    text.lines().map(str::to_string).collect()
}

fn commit(env: &Env, repo: &Path, files: &[(&str, &[u8])]) {
    for (name, data) in files {
        write(&repo.join(name), data);
    }
    env.git(repo, &["add", "-A"]);
    env.git(repo, &["commit", "-q", "-m", "files"]);
}

#[test]
fn workflow_on_a_git_lfs_server() {
    let Some(server) = LfsServer::start() else { return };
    workflow(Remote::Lfs(&server));
}

#[test]
fn credentials_come_from_the_helper_once_and_refused_ones_are_rejected() {
    let Some(server) = LfsServer::start() else { return };
    let env = Env::new();
    let repo = env.project("cred");
    use_lfs(&env, &repo, &server, "team/cred");
    let files: Vec<Vec<u8>> = (0..3).map(|i| bytes(100 + i, 200_000)).collect();
    commit(&env, &repo, &[("a.bin", &files[0]), ("b.bin", &files[1]), ("c.bin", &files[2])]);
    let push = env.git(&repo, &["push", "origin", "main"]);
    assert!(push.stderr.contains("uploaded 3 files"), "{}", push.all());
    for data in &files {
        assert_eq!(read(&server.object_file("team/cred", data)), *data);
    }
    // asked once for the whole push (not per object), and told it worked
    assert_eq!(helper_calls(&env), ["get", "store"]);

    // a token the server refuses: a clear error, the helper told to forget it, no secret shown
    let wrong = server.wrong_token();
    write(&env.path("lfs-token"), wrong.as_bytes());
    commit(&env, &repo, &[("d.bin", &bytes(104, 5000))]);
    let refused = env.run(&repo, "git", &["push", "origin", "main"]);
    assert_ne!(refused.code, 0, "{}", refused.all());
    let all = refused.all();
    assert!(all.contains("the server refused the credentials"), "{all}");
    assert!(all.contains("(from git credential helper)"), "{all}");
    assert!(!all.contains(&wrong) && !all.contains(&server.token()), "a secret was printed: {all}");
    assert_eq!(helper_calls(&env)[2..], ["get", "erase"]);

    // no helper at all: git has nothing to give, and the message says how to give it
    env.git(env.root(), &["config", "--global", "--unset", "credential.helper"]);
    let none = env.data_fails(&repo, &["push"]);
    assert!(none.stderr.contains("asks for credentials, and git has none"), "{}", none.all());
    assert!(none.stderr.contains("credential.helper"), "{}", none.all());
}

#[test]
fn a_push_to_a_stopped_server_fails_within_a_minute() {
    let Some(mut server) = LfsServer::start() else { return };
    let env = Env::new();
    let repo = env.project("down");
    use_lfs(&env, &repo, &server, "team/down");
    commit(&env, &repo, &[("model.bin", &bytes(7, 100_000))]);
    server.stop();
    let started = std::time::Instant::now();
    let push = env.run(&repo, "git", &["push", "origin", "main"]);
    let took = started.elapsed();
    assert_ne!(push.code, 0, "{}", push.all());
    assert!(took < std::time::Duration::from_secs(60), "took {took:?}");
    let expected = format!("cannot reach http://127.0.0.1:{}", server.port);
    assert!(push.stderr.contains(&expected), "{}", push.stderr);
    assert!(push.stderr.contains("is the Git LFS server running"), "{}", push.stderr);
    assert_eq!(
        env.git(&env.path("down-origin.git"), &["for-each-ref"]).stdout,
        "",
        "no refs pushed"
    );
}

#[test]
fn a_large_file_is_byte_identical_in_a_fresh_clone() {
    let Some(server) = LfsServer::start() else { return };
    let env = Env::new();
    let repo = env.project("big");
    use_lfs(&env, &repo, &server, "team/big");
    let big = bytes(9, 12 * MIB + 3);
    commit(&env, &repo, &[("model.bin", &big)]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    assert_eq!(read(&server.object_file("team/big", &big)), big);
    let (fresh, out) = env.clone_of("big", "big-clone");
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(read(&fresh.join("model.bin")) == big, "the clone's model.bin differs");
    assert_clean(&env, &fresh);
    // the API cannot list: gc --remote says so instead of deleting anything
    let gc = env.run(&fresh, "git", &["data", "gc", "--remote", "--dry-run"]);
    assert!(gc.all().contains("the Git LFS API cannot list or delete objects"), "{}", gc.all());
}

#[test]
fn ssh_remotes_authenticate_with_git_lfs_authenticate() {
    let Some(server) = LfsServer::start() else { return };
    let env = Env::new();
    let repo = env.project("ssh");
    let log = env.path("ssh.log");
    let fake = env.path("fake-ssh");
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> '{}'\nprintf '{{\"href\":\"%s\",\"header\":{{\"Authorization\":\"Bearer %s\"}},\"expires_in\":3600}}\\n' '{}' '{}'\n",
        log.display(),
        server.endpoint("team/ssh"),
        server.token()
    );
    write(&fake, script.as_bytes());
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    env.set_env("GIT_SSH_COMMAND", fake.to_str().unwrap());
    env.git(&repo, &["remote", "add", "upstream", "ssh://git@lfs.example:2222/team/ssh.git"]);
    env.data(&repo, &["remote", "add", "--force", "storage", "lfs+upstream"]);
    let files: Vec<Vec<u8>> = (0..3).map(|i| bytes(200 + i, 150_000)).collect();
    commit(&env, &repo, &[("a.bin", &files[0]), ("b.bin", &files[1]), ("c.bin", &files[2])]);
    let push = env.git(&repo, &["push", "origin", "main"]);
    assert!(push.stderr.contains("uploaded 3 files"), "{}", push.all());
    assert!(!push.all().contains(&server.token()), "the token was printed");
    for data in &files {
        assert_eq!(read(&server.object_file("team/ssh", data)), *data);
    }
    let calls = std::fs::read_to_string(&log).unwrap();
    let upload = "-p 2222 git@lfs.example git-lfs-authenticate team/ssh.git upload";
    assert_eq!(calls.matches(upload).count(), 1, "one SSH call for all uploads: {calls}");

    // downloads authenticate the same way
    std::fs::remove_dir_all(repo.join(".git/data/objects")).unwrap();
    std::fs::remove_file(repo.join("b.bin")).unwrap();
    write(&repo.join("b.bin"), pointer_of(&files[1]).as_bytes());
    env.data(&repo, &["pull"]);
    assert_eq!(read(&repo.join("b.bin")), files[1]);
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(
        calls.contains("git@lfs.example git-lfs-authenticate team/ssh.git download"),
        "{calls}"
    );

    // an SSH failure is reported as such
    write(&fake, b"#!/bin/sh\necho 'Permission denied (publickey).' >&2\nexit 255\n");
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::remove_dir_all(repo.join(".git/data/objects")).unwrap();
    let failed = env.data_fails(&repo, &["fetch"]);
    assert!(failed.stderr.contains("Permission denied (publickey)"), "{}", failed.all());
    assert!(failed.stderr.contains("git-lfs-authenticate"), "{}", failed.all());
}

#[test]
fn the_endpoint_is_found_from_the_git_remote_as_git_lfs_finds_it() {
    let Some(server) = LfsServer::start() else { return };
    let env = Env::new();
    let repo = env.project("det");
    use_lfs(&env, &repo, &server, "unused/unused");
    // that explicit URL was written to .lfsconfig for git-lfs users, where lfs+origin would
    // find it first, as git-lfs does
    let lfsconfig = String::from_utf8(read(&repo.join(".lfsconfig"))).unwrap();
    assert!(lfsconfig.contains(&server.endpoint("unused/unused")), "{lfsconfig}");
    std::fs::remove_file(repo.join(".lfsconfig")).unwrap();
    let git_url = format!("http://127.0.0.1:{}/team/det", server.port);
    env.git(&repo, &["remote", "set-url", "origin", &git_url]);
    env.data(&repo, &["remote", "add", "--force", "storage", "lfs+origin"]);
    let yaml = String::from_utf8(read(&repo.join(".gitdata.yaml"))).unwrap();
    assert!(yaml.contains("url: lfs+origin"), "{yaml}");
    let a = bytes(300, 40_000);
    commit(&env, &repo, &[("a.bin", &a)]);
    env.data(&repo, &["push"]);
    // https://h/o/r → https://h/o/r.git/info/lfs
    assert_eq!(read(&server.object_file("team/det", &a)), a);

    // remote.origin.lfsurl wins over the derived URL, lfs.url (or .lfsconfig) over both
    let b = bytes(301, 40_000);
    commit(&env, &repo, &[("b.bin", &b)]);
    env.git(&repo, &["config", "remote.origin.lfsurl", &server.endpoint("team/third")]);
    env.data(&repo, &["push"]);
    assert_eq!(read(&server.object_file("team/third", &b)), b);
    let c = bytes(302, 40_000);
    commit(&env, &repo, &[("c.bin", &c)]);
    env.git(&repo, &["config", "-f", ".lfsconfig", "lfs.url", &server.endpoint("team/other")]);
    env.data(&repo, &["push"]);
    assert_eq!(read(&server.object_file("team/other", &c)), c);
    assert!(!server.object_file("team/third", &c).exists());

    // a git remote that is a local path has no LFS server: say what to set
    std::fs::remove_file(repo.join(".lfsconfig")).unwrap();
    env.git(&repo, &["config", "--unset", "remote.origin.lfsurl"]);
    env.git(&repo, &["remote", "set-url", "origin", env.path("det-origin.git").to_str().unwrap()]);
    let local = env.data_fails(&repo, &["push"]);
    assert!(
        local.stderr.contains("is a local path, which has no Git LFS server"),
        "{}",
        local.all()
    );
    assert!(local.stderr.contains("git config lfs.url"), "{}", local.all());
    let missing = env.data(&repo, &["remote", "add", "--force", "storage", "lfs+nosuch"]);
    assert_eq!(missing.code, 0);
    let none = env.data_fails(&repo, &["push"]);
    assert!(none.stderr.contains("no git remote `nosuch`"), "{}", none.all());
}

#[test]
fn git_lfs_fetches_what_git_data_pushed() {
    let Some(server) = LfsServer::start() else { return };
    if std::process::Command::new("git-lfs").arg("version").output().is_err() {
        eprintln!("skipped: git-lfs is not installed (benches/setup.sh installs it)");
        return;
    }
    let env = Env::new();
    let repo = env.project("mix");
    use_lfs(&env, &repo, &server, "team/mix");
    let model = bytes(400, 3 * MIB + 11);
    commit(&env, &repo, &[("model.bin", &model)]);
    env.git(&repo, &["push", "-q", "origin", "main"]);

    // plain git-lfs, same server and credential helper, finds the object by its oid
    let plain = env.path("plain");
    env.git(env.root(), &["init", "-q", plain.to_str().unwrap()]);
    env.git(&plain, &["config", "lfs.url", &server.endpoint("team/mix")]);
    let mut smudge = env.command(&plain, "git");
    smudge.args(["lfs", "smudge", "model.bin"]).stdin(std::process::Stdio::piped());
    smudge.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = smudge.spawn().unwrap();
    let pointer = pointer_of(&model);
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), pointer.as_bytes()).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "git lfs smudge: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout == model, "git-lfs got other bytes ({} bytes)", out.stdout.len());
}
