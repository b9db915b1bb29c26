//! The Google Cloud Storage remote (`gs://bucket/prefix`) against a real emulator on
//! 127.0.0.1 (fake-gcs-server, one per test): the README workflow, resumable uploads of large
//! files, a push killed mid-file, a stopped server, and credential files that cannot be used.

use crate::common::*;
use crate::gcsserver::{BUCKET, GcsServer};
use crate::workflow::{Remote, workflow};
use std::path::Path;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

/// Points the remote `storage` of `repo` at the emulator, under `prefix`.
pub(crate) fn use_gcs(env: &Env, repo: &Path, server: &GcsServer, prefix: &str) {
    let url = format!("gs://{BUCKET}/{prefix}");
    env.data(repo, &["remote", "add", "--force", "storage", &url, "--endpoint", &server.endpoint]);
}

/// The emulator holds `data` as its object under `prefix`.
pub(crate) fn assert_stored(server: &GcsServer, prefix: &str, data: &[u8]) {
    let name = format!("{prefix}/objects/{}", git_data::oid::Oid::of_bytes(data).shard_path());
    assert!(server.object(&name).as_deref() == Some(data), "{name} is not stored whole");
}

/// A project on the emulator with 5 MiB parts, two transfers at a time and few retries.
fn gcs_project(env: &Env, server: &GcsServer, name: &str) -> std::path::PathBuf {
    let repo = env.project(name);
    use_gcs(env, &repo, server, name);
    let yaml = std::fs::read_to_string(repo.join(".gitdata.yaml")).unwrap();
    write(
        &repo.join(".gitdata.yaml"),
        format!("{yaml}transfer:\n  part-size: 5MiB\n  concurrency: 2\n  retries: 2\n").as_bytes(),
    );
    repo
}

fn commit(env: &Env, repo: &Path, file: &str, data: &[u8]) {
    write(&repo.join(file), data);
    env.git(repo, &["add", "-A"]);
    env.git(repo, &["commit", "-q", "-m", file]);
}

#[test]
fn workflow_on_gcs() {
    let Some(server) = GcsServer::start() else { return };
    workflow(Remote::Gcs(&server));
}

#[test]
fn a_large_file_goes_up_in_chunks_and_comes_back_byte_identical() {
    let Some(server) = GcsServer::start() else { return };
    let env = Env::new();
    let repo = gcs_project(&env, &server, "big");
    let big = bytes(7, 23 * MIB + 5); // five 5 MiB chunks (resumable) and ranged downloads
    let small = bytes(8, 70_000); // one simple upload
    write(&repo.join("small.bin"), &small);
    commit(&env, &repo, "model.bin", &big);
    let push = env.git(&repo, &["push", "origin", "main"]);
    assert!(push.stderr.contains("uploaded 2 files"), "{}", push.stderr);
    assert_stored(&server, "big", &big);
    assert_stored(&server, "big", &small);
    assert!(
        std::fs::read_dir(repo.join(".git/data/gcs-uploads")).map_or(true, |d| d.count() == 0),
        "no upload record is left once the object is stored"
    );
    let again = env.data(&repo, &["push"]);
    assert!(again.stdout.contains("already on the remote"), "{}", again.all());

    let (fresh, out) = env.clone_of("big", "fresh");
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(read(&fresh.join("model.bin")), big);
    assert_eq!(read(&fresh.join("small.bin")), small);
    assert_clean(&env, &fresh);
    let fsck = env.data(&fresh, &["fsck", "--remote"]);
    assert!(fsck.stdout.contains("2 objects hashed, 0 missing or damaged"), "{}", fsck.stdout);
}

#[test]
fn a_push_killed_mid_file_completes_when_run_again() {
    let Some(server) = GcsServer::start() else { return };
    let env = Env::new();
    let repo = gcs_project(&env, &server, "kill");
    let big = bytes(9, 60 * MIB + 3);
    commit(&env, &repo, "model.bin", &big);
    let records = repo.join(".git/data/gcs-uploads");
    let mut push = env
        .command(&repo, env!("CARGO_BIN_EXE_git-data"))
        .args(["push"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    // killed once the server has acknowledged a chunk, as the record shows
    let acknowledged = || {
        let record = std::fs::read_dir(&records).ok()?.next()?.ok()?.path();
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(record).ok()?).ok()?;
        doc["sent"].as_u64().filter(|n| *n > 0)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged().is_none() {
        assert!(Instant::now() < deadline, "no chunk was acknowledged");
        assert!(push.try_wait().unwrap().is_none(), "the push ended before it could be killed");
        std::thread::sleep(Duration::from_millis(2));
    }
    push.kill().unwrap();
    push.wait().unwrap();
    let name = format!("kill/objects/{}", git_data::oid::Oid::of_bytes(&big).shard_path());
    assert_eq!(server.object(&name), None, "no object before the upload is complete");
    assert!(records.read_dir().unwrap().count() == 1, "the session is recorded for the next run");

    let push = env.git(&repo, &["push", "origin", "main"]);
    assert!(push.stderr.contains("uploaded 1 file"), "{}", push.stderr);
    assert!(push.stderr.contains("resuming the upload of kill/objects/"), "{}", push.stderr);
    // Not asserted: that no byte went twice. When the kill lands after a chunk reached
    // fake-gcs-server but before its answer, the emulator appends that chunk again on resume
    // (GCS answers with the bytes it holds instead); the upload then starts over, and the
    // object must still be exact.
    assert_stored(&server, "kill", &big);
    assert_eq!(records.read_dir().unwrap().count(), 0, "the record is gone once stored");
    let (fresh, out) = env.clone_of("kill", "fresh");
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(read(&fresh.join("model.bin")), big);
}

#[test]
fn a_stopped_server_fails_the_push_quickly_with_the_fix() {
    let Some(mut server) = GcsServer::start() else { return };
    let env = Env::new();
    let repo = gcs_project(&env, &server, "down");
    commit(&env, &repo, "a.bin", &bytes(10, 5000));
    server.stop();
    let started = Instant::now();
    let push = env.run(&repo, "git", &["push", "-q", "origin", "main"]);
    let took = started.elapsed();
    assert_ne!(push.code, 0, "{}", push.all());
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(push.stderr.contains(&format!("cannot reach {}", server.endpoint)), "{}", push.stderr);
    assert!(push.stderr.contains("is the server running?"), "{}", push.stderr);
    assert_eq!(env.git(&env.path("down-origin.git"), &["for-each-ref"]).stdout, "", "no refs");
}

#[test]
fn an_unusable_credential_file_is_named_and_never_quoted() {
    let Some(server) = GcsServer::start() else { return };
    let env = Env::new();
    let repo = gcs_project(&env, &server, "cred");
    commit(&env, &repo, "a.bin", &bytes(11, 5000));
    let key = env.path("key.json");
    let secret = "SECRET-never-printed-4f9a";
    write(
        &key,
        format!("{{\"type\":\"service_account\",\"private_key\":\"{secret}\"}}").as_bytes(),
    );
    env.set_env("GOOGLE_APPLICATION_CREDENTIALS", key.to_str().unwrap());
    let push = env.run(&repo, "git", &["push", "-q", "origin", "main"]);
    assert_ne!(push.code, 0);
    let expected = format!(
        "credential file {} (GOOGLE_APPLICATION_CREDENTIALS) is not a service-account or \
         authorized-user JSON: a service_account file needs client_email",
        key.display()
    );
    assert!(push.stderr.contains(&expected), "{}", push.stderr);
    assert!(push.stderr.contains("hint:"), "{}", push.stderr);
    assert!(!push.all().contains(secret), "the secret was printed: {}", push.all());
    let fetch = env.run(&repo, "git", &["data", "fetch"]);
    assert!(!fetch.all().contains(secret));

    env.set_env("GOOGLE_APPLICATION_CREDENTIALS", "/no/such/key.json");
    let push = env.run(&repo, "git", &["push", "-q", "origin", "main"]);
    assert_ne!(push.code, 0);
    assert!(push.stderr.contains("credential file /no/such/key.json"), "{}", push.stderr);

    // unset, the emulator is used anonymously
    env.set_env("GOOGLE_APPLICATION_CREDENTIALS", "");
    env.git(&repo, &["push", "-q", "origin", "main"]);
    assert_stored(&server, "cred", &bytes(11, 5000));
}

#[test]
fn storage_emulator_host_is_honoured_and_gc_lists_the_bucket() {
    let Some(server) = GcsServer::start() else { return };
    let env = Env::new();
    let repo = env.project("emu");
    env.data(&repo, &["remote", "add", "--force", "storage", &format!("gs://{BUCKET}/emu")]);
    env.set_env("STORAGE_EMULATOR_HOST", server.endpoint.trim_start_matches("http://"));
    let (old, new) = (bytes(12, 4000), bytes(13, 4000));
    commit(&env, &repo, "model.bin", &old);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    write(&repo.join("model.bin"), &new);
    env.git(&repo, &["add", "model.bin"]);
    env.git(&repo, &["commit", "-q", "--amend", "-m", "new"]);
    env.git(&repo, &["push", "-q", "-f", "origin", "main"]);
    env.git(&repo, &["reflog", "expire", "--expire=now", "--all"]);
    assert_stored(&server, "emu", &old);
    let gc = env.data(&repo, &["gc", "--remote", "--grace", "0", "--force"]);
    assert!(
        gc.stdout.contains("Deleting 1 unreachable object (3.9 KiB) from remote storage"),
        "{}",
        gc.stdout
    );
    let name = format!("emu/objects/{}", git_data::oid::Oid::of_bytes(&old).shard_path());
    assert_eq!(server.object(&name), None, "the unreachable version is gone");
    assert_stored(&server, "emu", &new);
    let shown = env.data(&repo, &["env"]).stdout;
    assert!(shown.contains(&format!("endpoint {}", server.endpoint)), "{shown}");
    assert!(shown.contains("credentials: none: an emulator"), "{shown}");
    let test = env.data(&repo, &["remote", "test"]);
    assert!(test.stdout.contains("works for push and pull"), "{}", test.stdout);
}

#[test]
fn gs_remotes_take_an_endpoint_but_not_s3_options() {
    let env = Env::new();
    let repo = env.project("opts");
    let refused = env.data_fails(
        &repo,
        &["remote", "add", "--force", "storage", "gs://b/p", "--region", "us-east-1"],
    );
    assert!(refused.stderr.contains("apply to s3:// remotes only"), "{}", refused.stderr);
    env.data(
        &repo,
        &["remote", "add", "--force", "storage", "gs://b/p", "--endpoint", "http://127.0.0.1:9"],
    );
    let yaml = std::fs::read_to_string(repo.join(".gitdata.yaml")).unwrap();
    assert!(
        yaml.contains("url: gs://b/p") && yaml.contains("endpoint: http://127.0.0.1:9"),
        "{yaml}"
    );
}

#[test]
fn many_objects_are_checked_by_listing_their_shards() {
    let Some(server) = GcsServer::start() else { return };
    let env = Env::new();
    env.set_env("GIT_DATA_LIST_THRESHOLD", "1");
    let repo = gcs_project(&env, &server, "many");
    let files: Vec<Vec<u8>> = (0..3).map(|i| bytes(20 + i, 3000)).collect();
    for (i, data) in files.iter().enumerate() {
        write(&repo.join(format!("f{i}.bin")), data);
    }
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "three"]);
    let push = env.git(&repo, &["push", "origin", "main"]);
    assert!(push.stderr.contains("uploaded 3 files"), "{}", push.stderr);
    let (fresh, out) = env.clone_of("many", "fresh");
    assert_eq!(out.code, 0, "{}", out.all());
    // one object lost on the server: a push from a clone that knows nothing yet finds it
    let name = format!("many/objects/{}", git_data::oid::Oid::of_bytes(&files[1]).shard_path());
    let gone = server.request(
        "DELETE",
        &format!("/storage/v1/b/{BUCKET}/o/{}", name.replace('/', "%2F")),
        b"",
    );
    assert!(matches!(gone, Some(200 | 204)), "{gone:?}");
    let push = env.data(&fresh, &["push", "--verify-remote"]);
    assert!(push.all().contains("uploaded 1 file"), "{}", push.all());
    assert_stored(&server, "many", &files[1]);
}

#[test]
fn damaged_objects_are_found_and_replaced_small_and_large() {
    let Some(server) = GcsServer::start() else { return };
    let env = Env::new();
    let repo = gcs_project(&env, &server, "fix");
    let (small, big) = (bytes(30, 9000), bytes(31, 6 * MIB + 1));
    write(&repo.join("small.bin"), &small);
    commit(&env, &repo, "big.bin", &big);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    // the same names with other bytes of the same size, stored behind git-data's back
    for (seed, data) in [(32, &small), (33, &big)] {
        let name = format!("fix/objects/{}", git_data::oid::Oid::of_bytes(data).shard_path());
        let path = format!(
            "/upload/storage/v1/b/{BUCKET}/o?uploadType=media&name={}",
            name.replace('/', "%2F")
        );
        assert_eq!(server.request("POST", &path, &bytes(seed, data.len())), Some(200));
    }
    let found = env.data_fails(&repo, &["fsck", "--remote"]);
    assert!(found.stdout.contains("2 missing or damaged"), "{}", found.stdout);
    let repair = env.data(&repo, &["fsck", "--remote", "--repair"]);
    assert!(repair.stdout.contains("2 repaired"), "{}", repair.stdout);
    assert_stored(&server, "fix", &small);
    assert_stored(&server, "fix", &big);
}
