//! The README's shell blocks marked `<!-- readme-test: NAME -->`, run as written through bash
//! with the real git and git-data, with only their placeholders replaced (`<repo>`, the
//! remote's place, keys typed at a prompt): the quick start, S3 set-up, CI, recovery and
//! pipeline sections must do what they say.

use crate::common::*;
use crate::pipeline_kit::{commit_pipeline, trace};
use crate::s3server::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};
use std::path::Path;

/// The lines of the block after the marker `name`.
fn block(name: &str) -> String {
    let readme = include_str!("../../README.md");
    let marker = format!("<!-- readme-test: {name} -->");
    let after = &readme[readme.find(&marker).unwrap_or_else(|| panic!("no {marker}"))..];
    let body = &after[after.find("```sh\n").expect("a sh block") + 6..];
    body[..body.find("```").expect("its end")].to_string()
}

/// Runs the block `name` in `dir` with `subs` applied; panics with its output on failure.
fn run(env: &Env, dir: &Path, name: &str, subs: &[(&str, &str)]) -> Out {
    let mut script = block(name);
    for (from, to) in subs {
        assert!(script.contains(from), "block {name} has no {from:?}:\n{script}");
        script = script.replace(from, to);
    }
    let out = env.run(dir, "bash", &["-euo", "pipefail", "-c", &script]);
    assert_eq!(out.code, 0, "README block {name} failed:\n{script}\n{}", out.all());
    out
}

/// `my-project`: a repository with an `origin` and data in it, not yet set up for git-data.
fn my_project(env: &Env) -> (std::path::PathBuf, std::path::PathBuf) {
    let repo = env.path("my-project");
    let origin = env.path("origin.git");
    env.git(env.root(), &["init", "-q", "--bare", origin.to_str().unwrap()]);
    env.git(env.root(), &["init", "-q", repo.to_str().unwrap()]);
    env.git(&repo, &["remote", "add", "origin", origin.to_str().unwrap()]);
    write(&repo.join("model.pkl"), &bytes(1370, 2 * 1024 * 1024));
    write(&repo.join("data/raw/a.csv"), &bytes(1371, 4_000));
    write(&repo.join("data/raw/x.tmp"), &bytes(1372, 4_000));
    write(&repo.join("data/processed/b.csv"), &bytes(1373, 4_000));
    write(&repo.join("train.py"), b"print('train')\n");
    (repo, origin)
}

#[test]
fn quick_start_ci_and_recovery_blocks_do_what_they_say() {
    let env = Env::new();
    let (repo, origin) = my_project(&env);
    let store = env.path("team-data");
    std::fs::create_dir_all(&store).unwrap();
    let v1 = read(&repo.join("model.pkl"));
    let store_s = store.to_str().unwrap();
    let retrain = "printf 'retrained' >> model.pkl";
    run(
        &env,
        env.root(),
        "owner",
        &[("/mnt/team-data", store_s), ("# ... retrain, then:", retrain)],
    );
    let v2 = read(&repo.join("model.pkl"));
    assert_ne!(v1, v2);
    for data in [&v1, &v2] {
        assert_eq!(&read(&object_path(&store, data)), data, "pushed to the remote");
    }
    assert_eq!(env.git(&repo, &["show", "v1.0:model.pkl"]).stdout, pointer_of(&v1));

    let repo_url = origin.to_str().unwrap();
    run(&env, env.root(), "colleague", &[("<repo>", repo_url)]);
    let fresh = env.path("fresh");
    assert_eq!(read(&fresh.join("model.pkl")), v2);
    assert_eq!(read(&fresh.join("data/raw/a.csv")), read(&repo.join("data/raw/a.csv")));
    assert_clean(&env, &fresh);

    run(&env, env.root(), "ci", &[("<repo>", repo_url)]);
    let job = env.path("job");
    assert_eq!(read(&job.join("data/raw/a.csv")), read(&repo.join("data/raw/a.csv")));
    assert_eq!(
        read(&job.join("data/raw/x.tmp")),
        pointer_of(&read(&repo.join("data/raw/x.tmp"))).as_bytes()
    );
    assert_eq!(read(&job.join("model.pkl")), pointer_of(&v2).as_bytes());

    // a clone made where git-data was not installed
    env.data(env.root(), &["uninstall", "--global"]);
    env.git(env.root(), &["clone", "-q", repo_url, "plain"]);
    let plain = env.path("plain");
    assert_eq!(read(&plain.join("model.pkl")), pointer_of(&v2).as_bytes());
    let out = run(&env, &plain, "recover", &[]);
    assert!(out.stdout.contains("git-data is not set up in this clone"), "{}", out.all());
    assert_eq!(read(&plain.join("model.pkl")), v2);
    assert_clean(&env, &plain);
}

#[test]
fn s3_set_up_blocks_do_what_they_say() {
    let server = S3Server::start();
    let env = Env::new();
    let (repo, origin) = my_project(&env);
    env.data(&repo, &["init", "--track", "*.pkl", "--track", "data/"]);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "data"]);
    env.set_env("AWS_ACCESS_KEY_ID", ACCESS_KEY);
    env.set_env("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    env.set_env("AWS_EC2_METADATA_DISABLED", "true");
    let bucket = format!(
        "s3://{BUCKET}/project --endpoint {} --path-style --region us-east-1",
        server.endpoint
    );
    let ovh = "s3://team-data/project --endpoint https://s3.gra.io.cloud.ovh.net --region gra";
    run(&env, &repo, "s3-owner", &[(ovh, &bucket)]);

    // a colleague whose keys are not in the environment
    env.set_env("AWS_ACCESS_KEY_ID", "");
    env.set_env("AWS_SECRET_ACCESS_KEY", "");
    let typed = format!(
        "git data remote set-credentials storage --access-key-id {ACCESS_KEY} <<< '{SECRET_KEY}'"
    );
    let subs = [
        ("<repo>", origin.to_str().unwrap()),
        ("git data remote set-credentials storage", &typed[..]),
    ];
    let out = run(&env, env.root(), "s3-colleague", &subs);
    let fresh = env.path("fresh");
    assert_eq!(read(&fresh.join("model.pkl")), read(&repo.join("model.pkl")));
    assert_clean(&env, &fresh);
    assert!(out.stdout.contains("credentials: .git/config"), "{}", out.all());
    assert!(!out.all().contains(SECRET_KEY), "{}", out.all());
}

const PIPELINE: &str = r#"stages:
  prepare:
    cmd: tr a-z A-Z < data.csv > prepared.csv && echo prepare >> "$TRACE"
    deps: [data.csv]
    outs: [prepared.csv]
  train:
    cmd:
    - cp prepared.csv model.bin
    - printf '{"acc"':' %s}' ${train.lr} > metrics.json
    - echo train >> "$TRACE"
    deps: [prepared.csv]
    params: [train.lr]
    outs: [model.bin]
    metrics:
    - metrics.json:
        cache: false
"#;

#[test]
fn pipeline_blocks_do_what_they_say() {
    let env = Env::new();
    let repo = env.project("pipes");
    let files: [(&str, &[u8]); 3] = [
        ("dvc.yaml", PIPELINE.as_bytes()),
        ("params.yaml", b"train:\n  lr: 0.1  # learning rate\n"),
        ("data.csv", b"a,b\n1,2\n"),
    ];
    let trace_file = commit_pipeline(&env, &repo, &files, &["data.csv"]);
    let out = run(&env, &repo, "pipelines", &[]);
    let said = out.stdout.clone();
    assert!(said.contains("would run prepare: never ran (no entry in gitdata.lock)\n"), "{said}");
    // the first run ran both stages, `train -k` nothing, `--set` train alone
    assert_eq!(trace(&trace_file), "prepare\ntrain\ntrain\n");
    assert!(said.contains("Set train.lr = 0.01 in params.yaml\n"), "{said}");
    assert_eq!(read(&repo.join("params.yaml")), b"train:\n  lr: 0.01 # learning rate\n");
    assert_eq!(env.git(&repo, &["show", "v1:model.bin"]).stdout, pointer_of(b"A,B\n1,2\n"));
    assert_eq!(env.git(&repo, &["show", "v2:metrics.json"]).stdout, r#"{"acc": 0.01}"#);

    run(&env, &repo, "run-cache", &[]);
    assert_eq!(trace(&trace_file), "prepare\ntrain\ntrain\n", "--no-run-cache: all up to date");
    let store = env.path("pipes-store");
    let pushed = env.run(&store, "find", &["runs", "-type", "f"]).stdout;
    assert_eq!(pushed.lines().count(), 3, "the run-cache entries of the 3 runs: {pushed}");

    let out = run(&env, &repo, "metrics", &[]);
    let table: Vec<Vec<&str>> =
        out.stdout.lines().map(|l| l.split_whitespace().collect()).collect();
    assert!(table.contains(&vec!["metrics.json", "acc", "0.1", "0.01", "-0.09"]), "{out:?}");
    assert!(table.contains(&vec!["params.yaml", "train.lr", "0.1", "0.01", "-0.09"]), "{out:?}");
    assert!(out.stdout.contains(&sha256(b"A,B\n1,2\n")), "lineage names the model: {out:?}");
}
