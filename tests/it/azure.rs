//! The Azure Blob remote (`az://container/prefix`) against Azurite on 127.0.0.1: the seed
//! workflow, block uploads and ranged downloads of a large file, gc and fsck through
//! listings, and the messages for a refused key, a malformed SAS token, a missing container
//! and a stopped server (which never show the secret).

use crate::azuriteserver::{ACCOUNT_KEY, AzuriteServer};
use crate::common::*;
use crate::workflow::{Remote, workflow};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

const MIB: usize = 1 << 20;

/// Points the remote `storage` of `repo` at `az://<container>/<prefix>` on Azurite (the
/// container is created), with the account key in the environment.
pub(crate) fn use_azurite(
    env: &Env,
    repo: &Path,
    server: &AzuriteServer,
    container: &str,
    prefix: &str,
) {
    server.create_container(container);
    env.set_env("AZURE_STORAGE_ACCOUNT_KEY", ACCOUNT_KEY);
    let url = format!("az://{container}/{prefix}");
    env.data(repo, &["remote", "add", "--force", "storage", &url, "--endpoint", &server.endpoint]);
}

/// A project on Azurite with 5 MiB parts, two at a time, and quick retries.
fn azure_project(env: &Env, server: &AzuriteServer, name: &str) -> std::path::PathBuf {
    let repo = env.project(name);
    use_azurite(env, &repo, server, name, "data");
    let yaml = std::fs::read_to_string(repo.join(".gitdata.yaml")).unwrap();
    write(
        &repo.join(".gitdata.yaml"),
        format!("{yaml}transfer:\n  part-size: 5MiB\n  concurrency: 2\n  retries: 2\n").as_bytes(),
    );
    repo
}

/// `git data remote set-credentials …` with `secret` on standard input.
fn set_credentials(env: &Env, repo: &Path, args: &[&str], secret: &str) -> Out {
    let mut child = env
        .command(repo, "git")
        .args([&["data", "remote", "set-credentials"][..], args].concat())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{secret}\n").as_bytes()).unwrap();
    Out::from(child.wait_with_output().unwrap())
}

fn commit(env: &Env, repo: &Path, file: &str, data: &[u8]) {
    write(&repo.join(file), data);
    env.git(repo, &["add", "-A"]);
    env.git(repo, &["commit", "-q", "-m", file]);
}

#[test]
fn workflow_on_azurite() {
    let Some(server) = AzuriteServer::start() else { return };
    workflow(Remote::Azure(&server));
}

#[test]
fn a_large_file_goes_up_in_blocks_and_comes_back_byte_identical() {
    let Some(server) = AzuriteServer::start() else { return };
    let env = Env::new();
    let repo = azure_project(&env, &server, "big");
    let big = bytes(31, 17 * MIB + 3); // four blocks of at most 5 MiB
    let small = bytes(32, 4000);
    commit(&env, &repo, "model.bin", &big);
    commit(&env, &repo, "data/small.csv", &small);
    let push = env.git(&repo, &["push", "origin", "main"]);
    assert!(push.stderr.contains("uploaded 2 files"), "{}", push.stderr);
    // pushing again finds both there and sends nothing
    let again = env.data(&repo, &["push"]);
    assert!(again.stdout.contains("already on the remote"), "{}", again.all());

    let (fresh, out) = env.clone_of("big", "fresh");
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(read(&fresh.join("model.bin")) == big, "the large file differs after the clone");
    assert_eq!(read(&fresh.join("data/small.csv")), small);
    assert_clean(&env, &fresh);
    let fsck = env.data(&fresh, &["fsck", "--remote"]);
    assert!(fsck.stdout.contains("2 objects hashed, 0 missing or damaged"), "{}", fsck.stdout);
}

#[test]
fn gc_lists_and_deletes_unreachable_objects_on_azure() {
    let Some(server) = AzuriteServer::start() else { return };
    let env = Env::new();
    let repo = azure_project(&env, &server, "gcaz");
    let (old, new) = (bytes(33, 4000), bytes(34, 4000));
    commit(&env, &repo, "model.bin", &old);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    write(&repo.join("model.bin"), &new);
    env.git(&repo, &["add", "model.bin"]);
    env.git(&repo, &["commit", "-q", "--amend", "-m", "new"]);
    env.git(&repo, &["push", "-q", "-f", "origin", "main"]);
    env.git(&repo, &["reflog", "expire", "--expire=now", "--all"]);
    let gc = env.data(&repo, &["gc", "--remote", "--grace", "0", "--force"]);
    assert!(
        gc.stdout.contains("Deleting 1 unreachable object (3.9 KiB) from remote storage"),
        "{}",
        gc.stdout
    );
    let again = env.data(&repo, &["gc", "--remote", "--grace", "0"]);
    assert!(!again.stdout.contains("Would delete"), "deleted already: {}", again.stdout);
    // what stays is enough
    let (fresh, out) = env.clone_of("gcaz", "fresh");
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(read(&fresh.join("model.bin")), new);
}

#[test]
fn a_refused_account_key_is_named_and_never_printed() {
    let Some(server) = AzuriteServer::start() else { return };
    let env = Env::new();
    let repo = azure_project(&env, &server, "badkey");
    // a well-formed key of the wrong account, kept in .git/config: it wins over the
    // (right) key in the environment
    let wrong = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleQ==";
    let stored = set_credentials(&env, &repo, &["storage"], wrong);
    assert_eq!(stored.code, 0, "{}", stored.all());
    assert!(
        stored.stdout.contains("Stored the storage account key of `storage`"),
        "{}",
        stored.stdout
    );
    assert!(!stored.all().contains(wrong), "the key was printed: {}", stored.all());
    commit(&env, &repo, "model.bin", &bytes(35, 3000));
    let push = env.data_fails(&repo, &["push"]);
    let all = push.all();
    assert!(all.contains("the account key for remote storage was refused"), "{all}");
    assert!(all.contains("set-credentials storage"), "the fix is named: {all}");
    assert!(!all.contains(wrong) && !all.contains(ACCOUNT_KEY), "a secret was printed: {all}");
    let test = env.run(&repo, "git", &["data", "remote", "test"]);
    assert_eq!(test.code, 1, "{}", test.all());
    assert!(!test.all().contains(wrong), "{}", test.all());
    let shown = env.data(&repo, &["env"]).stdout;
    assert!(shown.contains("credentials: an account key (set-credentials)"), "{shown}");
    assert!(!shown.contains(wrong), "{shown}");

    // a malformed SAS token is named before any request
    let sas = "sv=2021-08-06&ss=b&srt=co&sp=rwdl&se=2099-01-01T00%3A00%3A00Z-no-signature";
    set_credentials(&env, &repo, &["storage", "--sas"], sas);
    let push = env.data_fails(&repo, &["push"]);
    assert!(
        push.all().contains("the SAS token kept for this remote is malformed"),
        "{}",
        push.all()
    );
    assert!(!push.all().contains("se=2099"), "the token was printed: {}", push.all());

    // without it, the environment's right key works again
    env.data(&repo, &["remote", "set-credentials", "storage", "--unset"]);
    env.data(&repo, &["push"]);
}

#[test]
fn a_missing_container_is_named_with_the_fix() {
    let Some(server) = AzuriteServer::start() else { return };
    let env = Env::new();
    let repo = env.project("nocont");
    env.set_env("AZURE_STORAGE_ACCOUNT_KEY", ACCOUNT_KEY);
    let args =
        ["remote", "add", "--force", "storage", "az://absent/x", "--endpoint", &server.endpoint];
    env.data(&repo, &args);
    commit(&env, &repo, "model.bin", &bytes(36, 3000));
    let push = env.data_fails(&repo, &["push"]);
    assert!(push.all().contains("container `absent` does not exist"), "{}", push.all());
    assert!(push.all().contains("az storage container create"), "{}", push.all());
}

#[test]
fn a_push_to_a_stopped_server_fails_quickly_and_clearly() {
    let Some(mut server) = AzuriteServer::start() else { return };
    let env = Env::new();
    let repo = azure_project(&env, &server, "down");
    commit(&env, &repo, "model.bin", &bytes(37, 3000));
    server.stop();
    let started = std::time::Instant::now();
    let push = env.run(&repo, "git", &["push", "origin", "main"]);
    assert_ne!(push.code, 0, "{}", push.all());
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "took {:?}", started.elapsed());
    assert!(push.all().contains("cannot reach"), "{}", push.all());
    assert!(push.all().contains("is the emulator running"), "{}", push.all());
}

#[test]
fn remote_add_checks_the_azure_options() {
    let env = Env::new();
    let repo = env.project("opts");
    let out = env.data_fails(&repo, &["remote", "add", "s3r", "s3://b/p", "--account", "acct"]);
    assert!(out.stderr.contains("--account applies to az:// remotes only"), "{}", out.stderr);
    let out = env.run(&repo, "git", &["data", "remote", "add", "az", "az://c/p", "--region", "x"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("apply to s3:// remotes only"), "{}", out.stderr);
    env.data(&repo, &["remote", "add", "az", "azure://c/p", "--account", "acct"]);
    let yaml = std::fs::read_to_string(repo.join(".gitdata.yaml")).unwrap();
    assert!(yaml.contains("account: acct"), "{yaml}");
    // no account anywhere: one clear error
    env.data(&repo, &["remote", "add", "--force", "az", "az://c/p"]);
    let out = env.run(&repo, "git", &["data", "remote", "test", "az"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.all().contains("no storage account is known"), "{}", out.all());
}

#[test]
fn without_credentials_the_push_names_the_ways_to_give_them() {
    let Some(server) = AzuriteServer::start() else { return };
    server.create_container("nocreds");
    let env = Env::new();
    let repo = env.project("nocreds");
    let args =
        ["remote", "add", "--force", "storage", "az://nocreds/x", "--endpoint", &server.endpoint];
    env.data(&repo, &args);
    commit(&env, &repo, "model.bin", &bytes(38, 3000));
    // no key anywhere: the chain ends at managed identity, whose service is not here
    let push = env.data_fails(&repo, &["push"]);
    assert!(
        push.all().contains("no usable credentials for account `devstoreaccount1`"),
        "{}",
        push.all()
    );
    assert!(push.all().contains("set-credentials storage"), "{}", push.all());
}

#[test]
fn a_killed_block_upload_resumes_with_the_blocks_it_sent() {
    let Some(server) = AzuriteServer::start() else { return };
    let env = Env::new();
    let repo = env.project("resume");
    use_azurite(&env, &repo, &server, "resume", "data");
    let yaml = std::fs::read_to_string(repo.join(".gitdata.yaml")).unwrap();
    // one block at a time, and no retries: the second push succeeds only if the blocks the
    // first one recorded are still good for the commit
    let settings = "transfer:\n  part-size: 5MiB\n  concurrency: 1\n  retries: 0\n";
    write(&repo.join(".gitdata.yaml"), format!("{yaml}{settings}").as_bytes());
    let big = bytes(39, 120 * MIB + 11); // 25 blocks
    commit(&env, &repo, "model.bin", &big);
    let records = repo.join(".git/data/azure-blocks");
    let recorded = || -> usize {
        let Ok(dir) = std::fs::read_dir(&records) else { return 0 };
        let records = dir.flatten().filter(|f| f.path().extension().is_some_and(|e| e == "json"));
        let text: String =
            records.map(|f| std::fs::read_to_string(f.path()).unwrap_or_default()).collect();
        text.matches("\":\"").count().saturating_sub(1) // "blob":"…" is not a block
    };
    // git-data itself, not `git data`: killing git would leave its child running
    let mut push = env.command(&repo, env!("CARGO_BIN_EXE_git-data")).arg("push").spawn().unwrap();
    let started = std::time::Instant::now();
    while recorded() < 2 {
        assert!(push.try_wait().unwrap().is_none(), "the push ended before it could be killed");
        assert!(started.elapsed().as_secs() < 60, "no blocks recorded");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    push.kill().unwrap(); // SIGKILL
    push.wait().unwrap();
    let sent = recorded();
    assert!((2..25).contains(&sent), "{sent} blocks recorded");
    let record = std::fs::read_dir(&records).unwrap().flatten().next().unwrap().path();
    let record: serde_json::Value = serde_json::from_slice(&read(&record)).unwrap();
    let ids: Vec<String> = record["blocks"]
        .as_object()
        .unwrap()
        .values()
        .map(|id| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(id.as_str().unwrap())
        })
        .collect();

    let again = env.data(&repo, &["push"]);
    assert!(again.all().contains("uploaded 1 file"), "{}", again.all());
    assert_eq!(recorded(), 0, "the record is gone once the blob is committed");
    let left: Vec<_> = std::fs::read_dir(&records).unwrap().flatten().map(|f| f.path()).collect();
    assert!(left.is_empty(), "stray files: {left:?}");
    // the blocks sent before the kill are part of the blob: they were not sent again
    let blob = format!("data/objects/{}", git_data::oid::Oid::of_bytes(&big).shard_path());
    let committed = server.committed_blocks("resume", &blob);
    for id in &ids {
        assert!(committed.contains(id.as_str()), "block {id} was sent again: {committed}");
    }
    env.git(&repo, &["push", "-q", "origin", "main"]);
    let (fresh, out) = env.clone_of("resume", "fresh");
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(read(&fresh.join("model.bin")) == big, "the resumed upload differs");
}
