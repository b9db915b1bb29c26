//! The S3 remote against a real S3-compatible server on 127.0.0.1 (s3s-fs, in-process), with
//! faults injected at the HTTP level.

use crate::common::*;
use crate::s3server::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};
use crate::workflow::{Remote, workflow};

const MIB: usize = 1 << 20;

#[test]
fn workflow_on_s3() {
    let server = S3Server::start();
    workflow(Remote::S3(&server));
}

/// The same workflow against an independent S3 server when one is configured (CI starts
/// SeaweedFS): GIT_DATA_TEST_S3_ENDPOINT, _BUCKET, _ACCESS_KEY, _SECRET_KEY.
#[test]
fn workflow_on_external_s3() {
    match external() {
        Some(remote) => workflow(remote),
        None => eprintln!(
            "skipped: GIT_DATA_TEST_S3_ENDPOINT is not set (.ci/run sets it after starting SeaweedFS)"
        ),
    }
}

/// The independent S3 server of GIT_DATA_TEST_S3_ENDPOINT, _BUCKET, _ACCESS_KEY, _SECRET_KEY,
/// when they are all set.
pub(crate) fn external() -> Option<Remote<'static>> {
    let var =
        |k: &str| std::env::var(format!("GIT_DATA_TEST_S3_{k}")).ok().filter(|v| !v.is_empty());
    let (endpoint, bucket) = (var("ENDPOINT")?, var("BUCKET")?);
    let (key, secret) = (var("ACCESS_KEY")?, var("SECRET_KEY")?);
    Some(Remote::External { endpoint, bucket, key, secret })
}

/// A project using the test server, with 5 MiB parts and one transfer at a time.
fn s3_project(env: &Env, server: &S3Server, name: &str) -> std::path::PathBuf {
    let repo = env.project(name);
    env.use_s3(&repo, server, name);
    let yaml = std::fs::read_to_string(repo.join(".gitdata.yaml")).unwrap();
    write(
        &repo.join(".gitdata.yaml"),
        format!("{yaml}transfer:\n  part-size: 5MiB\n  concurrency: 2\n  retries: 3\n").as_bytes(),
    );
    repo
}

#[test]
fn multipart_upload_resumes_after_the_server_stopped() {
    let server = S3Server::start();
    let env = Env::new();
    let repo = s3_project(&env, &server, "mp");
    let big = bytes(1, 23 * MIB + 5); // 5 parts of 5 MiB
    write(&repo.join("model.bin"), &big);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "big"]);
    server.faults.stop_after_parts.store(2, std::sync::atomic::Ordering::SeqCst);
    let push = env.run(&repo, "git", &["push", "-q", "origin", "main"]);
    assert_ne!(push.code, 0, "the push must fail while the server is down");
    assert!(
        push.stderr.contains("cannot reach") || push.stderr.contains("broke"),
        "{}",
        push.stderr
    );
    assert!(push.stderr.contains("model.bin"), "{}", push.stderr);
    server.wait_stopped();
    let key = format!("mp/objects/{}", git_data::oid::Oid::of_bytes(&big).shard_path());
    assert!(!server.object_file(&key).exists(), "no complete-looking object after a failed push");
    assert_eq!(env.git(&env.path("mp-origin.git"), &["for-each-ref"]).stdout, "", "no refs pushed");

    server.restart();
    server.faults.reset_counts();
    let push = env.git(&repo, &["push", "origin", "main"]);
    assert!(push.stderr.contains("uploaded 1 file"), "{}", push.stderr);
    let resent = server.faults.count("UploadPart");
    assert!(resent <= 4, "resumed: only the missing parts were sent again ({resent} of 5)");
    assert_eq!(server.faults.count("CreateMultipartUpload"), 0, "the recorded upload was reused");
    assert_eq!(read(&server.object_file(&key)), big);
    let (fresh, out) = env.clone_of("mp", "fresh");
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(read(&fresh.join("model.bin")), big);
}

#[test]
fn throttling_and_server_errors_are_retried() {
    let server = S3Server::start();
    let env = Env::new();
    let repo = s3_project(&env, &server, "rt");
    let small = bytes(2, 100_000);
    write(&repo.join("a.bin"), &small);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "a"]);
    server.faults.fail_next("PutObject", 2);
    server.faults.fail_next("HeadObject", 1);
    let push = env.git(&repo, &["push", "origin", "main"]);
    assert!(push.stderr.contains("uploaded 1 file"), "{}", push.stderr);
    assert_eq!(server.faults.count("PutObject"), 3, "two 503s, then success");
    server.faults.fail_next("GetObject", 2);
    let (fresh, out) = env.clone_of("rt", "fresh");
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(read(&fresh.join("a.bin")), small);
}

#[test]
fn wrong_credentials_give_one_clear_error() {
    let server = S3Server::start();
    let env = Env::new();
    let repo = s3_project(&env, &server, "wc");
    write(&repo.join("a.bin"), &bytes(3, 1000));
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "a"]);
    env.set_env("AWS_SECRET_ACCESS_KEY", "wrong-secret-also-never-printed");
    let push = env.run(&repo, "git", &["push", "-q", "origin", "main"]);
    assert_ne!(push.code, 0);
    assert!(push.stderr.contains("credentials were refused"), "{}", push.stderr);
    assert!(push.stderr.contains("hint:"), "{}", push.stderr);
    assert!(!push.all().contains("wrong-secret-also-never-printed"));
    env.set_env("AWS_ACCESS_KEY_ID", "");
    env.set_env("AWS_SECRET_ACCESS_KEY", "");
    let push = env.run(&repo, "git", &["push", "-q", "origin", "main"]);
    assert_ne!(push.code, 0);
    assert!(push.stderr.contains("no credentials found"), "{}", push.stderr);
}

#[test]
fn missing_bucket_is_named() {
    let server = S3Server::start();
    let env = Env::new();
    let repo = s3_project(&env, &server, "mb");
    env.data(
        &repo,
        &[
            "remote",
            "add",
            "--force",
            "storage",
            "s3://no-such-bucket/x",
            "--endpoint",
            &server.endpoint,
            "--path-style",
            "--region",
            "us-east-1",
        ],
    );
    write(&repo.join("a.bin"), &bytes(4, 1000));
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "a"]);
    let push = env.run(&repo, "git", &["push", "-q", "origin", "main"]);
    assert_ne!(push.code, 0);
    assert!(push.stderr.contains("bucket `no-such-bucket` does not exist"), "{}", push.stderr);
}

#[test]
fn corrupt_object_on_the_server_is_detected() {
    let server = S3Server::start();
    let env = Env::new();
    let repo = s3_project(&env, &server, "co");
    let data = bytes(5, 300_000);
    write(&repo.join("a.bin"), &data);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "a"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    let file = server
        .object_file(&format!("co/objects/{}", git_data::oid::Oid::of_bytes(&data).shard_path()));
    let mut bad = read(&file);
    bad[1000] ^= 0x55;
    std::fs::write(&file, bad).unwrap();
    let (fresh, out) = env.clone_of("co", "fresh");
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("a.bin") && out.stderr.contains("corrupt"), "{}", out.stderr);
    assert_eq!(read(&fresh.join("a.bin")), pointer_of(&data).as_bytes());
    assert!(!object_path(&fresh.join(".git/data"), &data).exists());
}

#[test]
fn many_objects_are_checked_by_listing_not_one_head_each() {
    let server = S3Server::start();
    let env = Env::new();
    let repo = s3_project(&env, &server, "ls");
    for i in 0..80 {
        write(&repo.join(format!("data/f{i}.bin")), &bytes(100 + i, 2000));
    }
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "many"]);
    env.data(&repo, &["push"]);
    assert_eq!(server.faults.count("HeadObject"), 0, "no HEAD per object");
    assert!(server.faults.count("ListObjectsV2") > 0);
    assert_eq!(server.faults.count("PutObject"), 80);
    // a second clone asks nothing for what it downloaded; a push from it uploads nothing
    let (fresh, out) = env.clone_of("ls", "fresh");
    assert_eq!(out.code, 0, "{}", out.all());
    server.faults.reset_counts();
    env.data(&fresh, &["push"]);
    assert_eq!(server.faults.count("PutObject") + server.faults.count("HeadObject"), 0);
}

#[test]
fn keys_stored_in_git_config_are_used_and_never_shown() {
    let server = S3Server::start();
    let env = Env::new();
    let repo = s3_project(&env, &server, "kc");
    env.set_env("AWS_ACCESS_KEY_ID", "");
    env.set_env("AWS_SECRET_ACCESS_KEY", "");
    let mut cmd = env.command(&repo, "git");
    cmd.args(["data", "remote", "set-credentials", "storage", "--access-key-id", ACCESS_KEY]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(format!("{SECRET_KEY}\n").as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(SECRET_KEY));
    assert!(
        !read(&repo.join(".gitdata.yaml"))
            .windows(SECRET_KEY.len())
            .any(|w| w == SECRET_KEY.as_bytes())
    );
    write(&repo.join("a.bin"), &bytes(6, 1000));
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "a"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    let info = env.data(&repo, &["env"]);
    assert!(info.stdout.contains("credentials: .git/config"), "{}", info.stdout);
    assert!(
        !info.stdout.contains(SECRET_KEY) && !info.stdout.contains(ACCESS_KEY),
        "{}",
        info.stdout
    );
    env.data(&repo, &["remote", "set-credentials", "storage", "--unset"]);
    let push = env.run(&repo, "git", &["data", "push", "--all"]);
    assert_eq!(push.code, 0, "nothing to upload needs no credentials: {}", push.all());
}

#[test]
fn no_command_ever_prints_a_secret() {
    let server = S3Server::start();
    let env = Env::new();
    let repo = s3_project(&env, &server, "sec");
    env.set_env("AWS_SESSION_TOKEN", "gd-session-token-NEVER-PRINT-1234");
    env.set_env("GIT_DATA_PROGRESS", "true");
    write(&repo.join("a.bin"), &bytes(7, 6 * MIB));
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "a"]);
    let mut outputs = Vec::new();
    let runs: Vec<Vec<&str>> = vec![
        vec!["push", "-q", "origin", "main"],
        vec!["data", "env"],
        vec!["data", "status"],
        vec!["data", "status", "--json"],
        vec!["data", "remote", "list"],
        vec!["data", "push", "--all", "--progress"],
        vec!["data", "fetch", "--all"],
        vec!["data", "pull"],
        vec!["data", "fsck", "--remote"],
        vec!["data", "ls-files", "--json"],
        vec!["data", "checkout"],
    ];
    for args in &runs {
        outputs.push(env.run(&repo, "git", args).all());
    }
    // and failing paths, where error messages are built
    env.set_env("AWS_SECRET_ACCESS_KEY", "gd-wrong-secret-NEVER-PRINT-5678");
    write(&repo.join("b.bin"), &bytes(8, 1000));
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "b"]);
    for args in
        [vec!["push", "origin", "main"], vec!["data", "fsck", "--remote"], vec!["data", "env"]]
    {
        outputs.push(env.run(&repo, "git", &args).all());
    }
    server.stop();
    outputs.push(env.run(&repo, "git", &["data", "push", "--all"]).all());
    let all = outputs.join("\n");
    for secret in
        [SECRET_KEY, "gd-session-token-NEVER-PRINT-1234", "gd-wrong-secret-NEVER-PRINT-5678"]
    {
        assert!(!all.contains(secret), "a secret was printed:\n{all}");
    }
    assert!(all.contains("credentials were refused"), "the failing runs did fail: {all}");
}

#[test]
fn env_shows_endpoint_region_and_credential_source() {
    let server = S3Server::start();
    let env = Env::new();
    let repo = s3_project(&env, &server, "ev");
    let out = env.data(&repo, &["env"]);
    assert!(out.stdout.contains(&server.endpoint), "{}", out.stdout);
    assert!(out.stdout.contains("region us-east-1"), "{}", out.stdout);
    assert!(out.stdout.contains("credentials: environment (AWS_ACCESS_KEY_ID"), "{}", out.stdout);
    let masked = git_data::config::mask_key_id(ACCESS_KEY);
    assert!(out.stdout.contains(&masked) && !out.stdout.contains(ACCESS_KEY), "{}", out.stdout);
    let _ = BUCKET;
}

#[test]
fn remote_test_writes_reads_and_deletes_a_probe_and_names_what_fails() {
    let server = S3Server::start();
    let env = Env::new();
    let repo = s3_project(&env, &server, "rt");
    let out = env.data(&repo, &["remote", "test"]);
    for step in ["reach it", "write a probe object", "read it back", "delete the probe"] {
        assert!(out.stdout.contains(&format!("ok      {step}")), "{step}: {}", out.all());
    }
    assert!(out.stdout.contains("`storage` works for push and pull"), "{}", out.all());

    // a directory remote: nothing is left in it
    let dir_repo = env.project("rtd");
    env.data(&dir_repo, &["remote", "test", "storage"]);
    let left = crate::concurrency::files_below(&env.path("rtd-store"));
    assert!(left.is_empty(), "{left:?}");

    env.set_env("AWS_SECRET_ACCESS_KEY", "rt-wrong-secret-NEVER-PRINT");
    let out = env.run(&repo, "git", &["data", "remote", "test"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stdout.contains("FAILED  reach it"), "{}", out.all());
    assert!(out.stdout.contains("credentials were refused"), "{}", out.all());
    assert!(out.stdout.contains("hint:"), "{}", out.all());
    assert!(!out.stdout.contains("write a probe"), "nothing tried after: {}", out.all());
    assert!(!out.all().contains("rt-wrong-secret-NEVER-PRINT"));
    let out = env.run(&repo, "git", &["data", "remote", "test", "nope"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("remote nope") && out.stderr.contains("hint: known remotes"));
}

#[test]
fn env_names_where_the_s3_credentials_come_from() {
    let server = S3Server::start();
    let env = Env::new();
    let repo = s3_project(&env, &server, "cs");
    let creds = |out: &crate::common::Out| {
        out.stdout.lines().find(|l| l.contains("credentials:")).unwrap_or_default().to_string()
    };
    let out = env.data(&repo, &["env"]);
    assert!(creds(&out).contains("environment (AWS_ACCESS_KEY_ID"), "{}", out.stdout);
    env.set_env("AWS_ACCESS_KEY_ID", "");
    env.set_env("AWS_SECRET_ACCESS_KEY", "");
    let out = env.data(&repo, &["env"]);
    assert!(creds(&out).contains("none found here"), "{}", out.stdout);
    assert!(creds(&out).contains("git data remote set-credentials storage"), "{}", out.stdout);
    let aws = env.path("home/.aws");
    std::fs::create_dir_all(&aws).unwrap();
    write(&aws.join("credentials"), b"[default]\naws_access_key_id = AKIDEXAMPLE\n");
    let out = env.data(&repo, &["env"]);
    assert!(creds(&out).contains("the `default` profile of"), "{}", out.stdout);
    assert!(creds(&out).contains(".aws/credentials"), "{}", out.stdout);
    assert!(!out.stdout.contains("AKIDEXAMPLE"), "{}", out.stdout);
}

/// `git data remote set-credentials storage --access-key-id KEY EXTRA…` in `dir`, the secret on
/// standard input; returns its stdout.
fn set_credentials(env: &Env, dir: &std::path::Path, extra: &[&str]) -> String {
    let mut cmd = env.command(dir, "git");
    cmd.args(["data", "remote", "set-credentials", "storage", "--access-key-id", ACCESS_KEY]);
    cmd.args(extra)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(format!("{SECRET_KEY}\n").as_bytes()).unwrap();
    }
    let out = Out::from(child.wait_with_output().unwrap());
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(!out.all().contains(SECRET_KEY), "{}", out.all());
    out.stdout
}

#[test]
fn credentials_before_the_first_checkout_and_once_for_all_clones() {
    let server = S3Server::start();
    let env = Env::new();
    let repo = s3_project(&env, &server, "cc");
    let model = bytes(1350, 3 * MIB);
    write(&repo.join("model.bin"), &model);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "model"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    // a colleague without keys in the environment
    env.set_env("AWS_ACCESS_KEY_ID", "");
    env.set_env("AWS_SECRET_ACCESS_KEY", "");
    let origin = env.path("cc-origin.git");
    let url = origin.to_str().unwrap();
    env.git(env.root(), &["clone", "-q", "--no-checkout", url, "cc-one"]);
    let one = env.path("cc-one");
    assert!(!one.join(".gitdata.yaml").exists());
    let said = set_credentials(&env, &one, &[]);
    assert!(said.contains("Stored keys for `storage` in .git/config"), "{said}");
    env.git(&one, &["checkout", "-q", "main"]);
    assert_eq!(read(&one.join("model.bin")), model);
    assert_clean(&env, &one);

    // keys for every clone of the bucket
    let said = set_credentials(&env, &one, &["--global"]);
    let file = env.path("home/.config/git-data/credentials");
    assert!(said.contains(&file.display().to_string()), "{said}");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let (two, out) = env.clone_of("cc", "cc-two");
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(read(&two.join("model.bin")), model);
    let info = env.data(&two, &["env"]).stdout;
    assert!(
        info.contains("credentials: ") && info.contains("git-data/credentials (keys for s3://"),
        "{info}"
    );
    assert!(!info.contains(SECRET_KEY) && !info.contains(ACCESS_KEY), "{info}");
    // this clone's own keys come first
    let info = env.data(&one, &["env"]).stdout;
    assert!(info.contains("credentials: .git/config"), "{info}");
    env.data(&two, &["remote", "set-credentials", "storage", "--global", "--unset"]);
    let info = env.data(&two, &["env"]).stdout;
    assert!(info.contains("none found here"), "{info}");
}
