//! `git data metrics|params show|diff|log` and `git data lineage` on a real repository: JSON,
//! YAML, TOML and CSV metrics declared in dvc.yaml across two tags, a metrics file that is a
//! git-data pointer (read from the cache, then `-` once its object is gone), a malformed file
//! noted, an unknown revision refused, a templated path resolved with each revision's vars.

use crate::common::*;
use std::path::Path;

const PIPELINE: &str = "stages:\n  train:\n    cmd: python3 train.py\n    params: [train.lr, train.epochs]\n    \
    metrics:\n    - metrics.json: {cache: false}\n    - scores.yaml: {cache: false}\n    - perf.toml: {cache: false}\n    \
    - history.csv: {cache: false}\nmetrics: [data/eval.json]\n";

fn commit(env: &Env, repo: &Path, files: &[(&str, &str)], msg: &str) {
    for (name, text) in files {
        write(&repo.join(name), text.as_bytes());
    }
    env.data(repo, &["add", "."]);
    env.git(repo, &["commit", "-q", "-m", msg]);
}

fn setup(env: &Env) -> std::path::PathBuf {
    let repo = env.project("m");
    commit(
        env,
        &repo,
        &[
            ("dvc.yaml", PIPELINE),
            ("params.yaml", "train: {lr: 0.1, epochs: 5}\nunused: 1\n"),
            ("metrics.json", r#"{"acc": 0.85, "loss": {"train": 0.3}}"#),
            ("scores.yaml", "f1: 0.7\n"),
            ("perf.toml", "[time]\nsecs = 12\n"),
            ("history.csv", "epoch,acc\n1,0.5\n2,0.8\n"),
            ("data/eval.json", r#"{"auc": 0.6}"#),
        ],
        "one",
    );
    env.git(&repo, &["tag", "v1"]);
    commit(
        env,
        &repo,
        &[
            ("params.yaml", "train: {lr: 0.05, epochs: 5}\nunused: 2\n"),
            ("metrics.json", r#"{"acc": 0.91, "loss": {"train": 0.25}}"#),
            ("scores.yaml", "f1: 0.75\n"),
            ("perf.toml", "[time]\nsecs = 10\n"),
            ("history.csv", "epoch,acc\n1,0.5\n2,0.8\n3,0.9\n"),
        ],
        "two",
    );
    env.git(&repo, &["tag", "-a", "-m", "second", "v2"]);
    repo
}

#[test]
fn metrics_show_diff_and_log_across_tags() {
    let env = Env::new();
    let repo = setup(&env);
    let out = env.data(&repo, &["metrics", "show", "--all-tags", "--json"]);
    let got: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let want = serde_json::json!({
        "v1": {
            "data/eval.json": {"auc": 0.6},
            "history.csv": {"acc": 0.8, "epoch": 2},
            "metrics.json": {"acc": 0.85, "loss.train": 0.3},
            "perf.toml": {"time.secs": 12},
            "scores.yaml": {"f1": 0.7}
        },
        "v2": {
            "data/eval.json": {"auc": 0.6},
            "history.csv": {"acc": 0.9, "epoch": 3},
            "metrics.json": {"acc": 0.91, "loss.train": 0.25},
            "perf.toml": {"time.secs": 10},
            "scores.yaml": {"f1": 0.75}
        }
    });
    assert_eq!(got, want, "{}", out.all());

    let out = env.data(&repo, &["metrics", "diff", "v1", "v2", "--json"]);
    let got: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        got["metrics.json"]["acc"],
        serde_json::json!({"old": 0.85, "new": 0.91, "diff": 0.06})
    );
    assert_eq!(got["metrics.json"]["loss.train"]["diff"], serde_json::json!(-0.05));
    assert_eq!(got["perf.toml"]["time.secs"]["diff"], serde_json::json!(-2));
    assert_eq!(got["history.csv"]["acc"]["diff"], serde_json::json!(0.1));
    assert!(got.get("data/eval.json").is_none(), "unchanged rows only with --all: {got}");

    let out = env.data(&repo, &["metrics", "diff", "v1", "v2"]);
    assert!(
        out.stdout.starts_with("Path          Key         Old   New   Change\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("metrics.json  acc         0.85  0.91  0.06\n"), "{}", out.stdout);

    // the work tree against HEAD: nothing changed
    let out = env.data(&repo, &["metrics", "diff"]);
    assert_eq!(out.stdout, "Path  Key  Old  New  Change\n");

    let out = env.data(&repo, &["metrics", "log", "-k", "metrics.json:acc", "-k", "f1"]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "Commit   acc   f1");
    assert!(lines[1].ends_with("  0.91  0.75"), "{}", out.stdout);
    assert!(lines[2].ends_with("  0.85  0.7"), "{}", out.stdout);
    assert_eq!(lines.len(), 3);

    let out = env.data(&repo, &["metrics", "show", "v2", "--md"]);
    assert!(out.stdout.contains("| metrics.json | acc | 0.91 |\n"), "{}", out.stdout);
}

#[test]
fn params_diff_between_tags() {
    let env = Env::new();
    let repo = setup(&env);
    let out = env.data(&repo, &["params", "diff", "v1", "v2"]);
    assert_eq!(
        out.stdout,
        "Path         Key       Old  New   Change\nparams.yaml  train.lr  0.1  0.05  -0.05\n"
    );
    let out = env.data(&repo, &["params", "diff", "v1", "v2", "--all"]);
    assert!(out.stdout.contains("params.yaml  train.epochs  5    5\n"), "{}", out.stdout);
    assert!(!out.stdout.contains("unused"), "untracked keys stay out: {}", out.stdout);
    let out = env.data(&repo, &["params", "log", "--json"]);
    let got: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(got[0]["values"]["train.lr"], serde_json::json!(0.05));
    assert_eq!(got[1]["subject"], "one");
}

#[test]
fn pointer_metrics_malformed_files_and_unknown_revisions() {
    let env = Env::new();
    let repo = setup(&env);
    // data/eval.json is a git-data file: its pointer is committed, its bytes are in the cache
    let blob = env.git(&repo, &["cat-file", "-p", "v2:data/eval.json"]).stdout;
    assert!(blob.starts_with("version https://git-lfs"), "{blob}");
    commit(&env, &repo, &[("scores.yaml", "f1: [unclosed\n")], "broken");
    let out = env.data(&repo, &["metrics", "show", "HEAD", "--json"]);
    let got: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(got["HEAD"]["data/eval.json"]["auc"], serde_json::json!(0.6));
    assert_eq!(got["HEAD"]["metrics.json"]["acc"], serde_json::json!(0.91));
    assert!(got["HEAD"]["scores.yaml"]["error"].as_str().unwrap().starts_with("not valid YAML"));
    assert!(out.stderr.contains("note: scores.yaml at HEAD: not valid YAML"), "{}", out.stderr);

    std::fs::remove_file(object_path(&repo.join(".git/data"), br#"{"auc": 0.6}"#)).unwrap();
    let out = env.data(&repo, &["metrics", "show", "v1"]);
    assert!(out.stdout.contains("data/eval.json              -\n"), "{}", out.stdout);
    assert!(out.stdout.contains("metrics.json    acc         0.85\n"), "{}", out.stdout);
    assert!(
        out.stderr.contains("note: not in the local cache, shown as `-`: data/eval.json at v1; `git data fetch --rev v1` brings them"),
        "{}",
        out.stderr
    );

    let out = env.data_fails(&repo, &["metrics", "show", "nope"]);
    assert!(out.stderr.contains("unknown revision `nope`"), "{}", out.stderr);
    let out = env.data_fails(&repo, &["params", "diff", "v1", "nope"]);
    assert!(out.stderr.contains("unknown revision `nope`"), "{}", out.stderr);
}

#[test]
fn lineage_lists_data_files_and_the_commit() {
    let env = Env::new();
    let repo = setup(&env);
    write(&repo.join("model.bin"), b"weights v1");
    env.data(&repo, &["add", "model.bin"]);
    env.git(&repo, &["commit", "-q", "-m", "model"]);
    let head = env.git(&repo, &["rev-parse", "HEAD"]).stdout.trim().to_string();
    let out = env.data(&repo, &["lineage", "--json"]);
    let got: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(got["commit"], serde_json::json!(head));
    assert_eq!(got["dirty"], serde_json::json!(false));
    let files = got["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{got}");
    assert_eq!(files[1]["path"], "model.bin");
    assert_eq!(files[1]["oid"], serde_json::json!(sha256(b"weights v1")));
    assert_eq!(files[1]["size"], serde_json::json!(10));
    let out = env.data(&repo, &["lineage", "--json", "model.bin"]);
    let got: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(got["files"].as_array().unwrap().len(), 1);
    write(&repo.join("model.bin"), b"weights v2");
    let out = env.data(&repo, &["lineage", "--json"]);
    let got: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(got["dirty"], serde_json::json!(true));
}

/// A metrics path templated from a `vars` file is resolved with that file as it was at each
/// revision, not as it is in the work tree.
#[test]
fn vars_files_are_read_at_the_revision() {
    let env = Env::new();
    let repo = env.project("v");
    let pipeline = "vars: [paths.yaml]\nstages:\n  eval:\n    cmd: x\n    metrics:\n    \
                    - ${out}/metrics.json: {cache: false}\n";
    let one = [
        ("dvc.yaml", pipeline),
        ("paths.yaml", "out: first\n"),
        ("first/metrics.json", r#"{"acc": 0.1}"#),
    ];
    commit(&env, &repo, &one, "one");
    env.git(&repo, &["tag", "v1"]);
    env.git(&repo, &["rm", "-q", "first/metrics.json"]);
    let two = [("paths.yaml", "out: second\n"), ("second/metrics.json", r#"{"acc": 0.2}"#)];
    commit(&env, &repo, &two, "two");
    env.git(&repo, &["tag", "v2"]);
    let out = env.data(&repo, &["metrics", "show", "v1", "v2", "--json"]);
    let got: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(got["v1"]["first/metrics.json"]["acc"], serde_json::json!(0.1), "{got}");
    assert_eq!(got["v2"]["second/metrics.json"]["acc"], serde_json::json!(0.2), "{got}");
    assert!(got["v1"].get("second/metrics.json").is_none(), "{got}");
}

/// A `|` in a key or value stays inside its markdown cell.
#[test]
fn markdown_cells_escape_the_bar() {
    let env = Env::new();
    let repo = env.project("md");
    let files = [("dvc.yaml", "metrics: [m.json]\n"), ("m.json", r#"{"a|b": "x|y"}"#)];
    commit(&env, &repo, &files, "one");
    let out = env.data(&repo, &["metrics", "show", "--md"]);
    assert_eq!(
        out.stdout,
        "| Path | Key | workspace |\n|---|---|---|\n| m.json | a\\|b | x\\|y |\n"
    );
}
