//! One machine-learning pipeline through its whole life, as a team lives it: prepare →
//! featurize → train → evaluate (Python scripts, `params.yaml`, a tracked CSV, `metrics.json`)
//! plus a `foreach` of reports. First run; no-op; a param change running exactly the
//! downstream stages; early cutoff; two tags and their metrics and params diff, the metrics
//! log and the lineage of the model; `git push`;
//! a second clone restoring a run from the run cache without running anything; `-j 2`
//! overlapping two stages; `-k` on a failing branch; and `dvc.yaml` / `dvc.lock` never
//! written.

use crate::common::*;
use crate::pipeline_kit::{commit_pipeline, repro};
use std::path::{Path, PathBuf};

const PIPELINE: &str = r#"stages:
  prepare:
    cmd: python3 prepare.py && echo prepare >> "$TRACE"
    deps: [prepare.py, data/raw.csv]
    outs: [data/prepared]
  featurize:
    cmd: python3 featurize.py ${featurize.scale} && echo featurize >> "$TRACE"
    deps: [featurize.py, data/prepared]
    params: [featurize.scale, featurize.note]
    outs: [features.csv]
  train:
    cmd: python3 span.py train.span python3 train.py && echo train >> "$TRACE"
    deps: [train.py, span.py, features.csv]
    params: [train]
    outs: [model.bin, train.span]
  evaluate:
    cmd: python3 evaluate.py && echo evaluate >> "$TRACE"
    deps: [evaluate.py, model.bin, features.csv]
    outs: [plots]
    metrics:
    - metrics.json:
        cache: false
  profile:
    cmd: python3 span.py profile.span python3 profile.py && echo profile >> "$TRACE"
    deps: [profile.py, span.py, features.csv]
    outs: [profile.txt, profile.span]
  report:
    foreach: [head, tail]
    do:
      cmd: python3 report.py ${item} && echo report@${item} >> "$TRACE"
      deps: [report.py, features.csv, profile.txt]
      outs:
      - report-${item}.txt
"#;

const SCRIPTS: &[(&str, &str)] = &[
    (
        "prepare.py",
        "import os\nos.makedirs('data/prepared', exist_ok=True)\n\
         rows = [l.strip().split(',') for l in open('data/raw.csv') if l.strip()][1:]\n\
         open('data/prepared/rows.csv', 'w').write(''.join(f'{a},{b}\\n' for a, b in rows))\n\
         open('data/prepared/count.txt', 'w').write(f'{len(rows)}\\n')\n",
    ),
    (
        "featurize.py",
        "import sys\nscale = int(sys.argv[1])\n\
         rows = [l.strip().split(',') for l in open('data/prepared/rows.csv')]\n\
         open('features.csv', 'w').write(''.join(f'{int(a) * scale},{int(b) * scale}\\n' for a, b in rows))\n",
    ),
    (
        "train.py",
        "import yaml\np = yaml.safe_load(open('params.yaml'))['train']\n\
         total = sum(int(a) + int(b) for a, b in (l.strip().split(',') for l in open('features.csv')))\n\
         weights = bytes((total * p['epochs'] + i) % 251 for i in range(65536))\n\
         open('model.bin', 'wb').write(f\"lr={p['lr']}\\n\".encode() + weights)\n",
    ),
    (
        "evaluate.py",
        "import json, os\nlr = float(open('model.bin', 'rb').readline().decode()[3:])\n\
         os.makedirs('plots', exist_ok=True)\nopen('plots/curve.csv', 'w').write(f'step,loss\\n1,{round(1 - lr, 3)}\\n')\n\
         json.dump({'acc': round(0.5 + lr, 3), 'loss': round(1 - lr, 3)}, open('metrics.json', 'w'))\n",
    ),
    (
        "profile.py",
        "rows = open('features.csv').read().splitlines()\nopen('profile.txt', 'w').write(f'{len(rows)} rows\\n')\n",
    ),
    (
        "report.py",
        "import sys\nrows = open('features.csv').read().splitlines()\n\
         pick = rows[0] if sys.argv[1] == 'head' else rows[-1]\n\
         open(f'report-{sys.argv[1]}.txt', 'w').write(pick + ' of ' + open('profile.txt').read())\n",
    ),
    (
        "span.py",
        "import subprocess, sys, time\nstart = time.time()\n\
         code = subprocess.call(sys.argv[2:])\ntime.sleep(1)\n\
         open(sys.argv[1], 'w').write(f'{start} {time.time()}\\n')\nsys.exit(code)\n",
    ),
];

const PARAMS: &str = "featurize:\n  scale: 2\n  note: first\ntrain:\n  lr: 0.1\n  epochs: 3\n";
const DVC_LOCK: &[u8] = b"schema: '2.0'\nstages: {}\n";

fn project(env: &Env) -> (PathBuf, PathBuf) {
    let repo = env.project("story");
    let mut files: Vec<(&str, &[u8])> = SCRIPTS.iter().map(|(n, t)| (*n, t.as_bytes())).collect();
    files.extend([
        ("params.yaml", PARAMS.as_bytes()),
        ("dvc.yaml", PIPELINE.as_bytes()),
        ("dvc.lock", DVC_LOCK),
        ("data/raw.csv", b"a,b\n1,2\n3,4\n5,6\n"),
    ]);
    let trace = commit_pipeline(env, &repo, &files, &["data/raw.csv"]);
    (repo, trace)
}

/// The stages that ran since the last call, in the order they finished (sorted when
/// parallel runs make the order free).
fn ran(trace: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(trace).unwrap_or_default();
    std::fs::remove_file(trace).ok();
    let mut names: Vec<String> = text.lines().map(str::to_string).collect();
    names.sort();
    names
}

fn names(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn set_params(repo: &Path, from: &str, to: &str) {
    let text = String::from_utf8(read(&repo.join("params.yaml"))).expect("utf8");
    assert!(text.contains(from), "{text}");
    write(&repo.join("params.yaml"), text.replace(from, to).as_bytes());
}

fn span(path: &Path) -> (f64, f64) {
    let text = String::from_utf8(read(path)).expect("utf8");
    let t: Vec<f64> = text.split_whitespace().map(|s| s.parse().expect("a time")).collect();
    (t[0], t[1])
}

const OUTPUTS: &[&str] = &[
    "data/prepared/rows.csv",
    "features.csv",
    "model.bin",
    "plots/curve.csv",
    "metrics.json",
    "profile.txt",
    "report-head.txt",
    "report-tail.txt",
];

fn outputs(repo: &Path) -> Vec<Vec<u8>> {
    OUTPUTS.iter().map(|p| read(&repo.join(p))).collect()
}

#[test]
fn a_pipeline_from_first_run_to_a_colleagues_clone() {
    let env = Env::new();
    let (repo, trace) = project(&env);
    let all =
        ["prepare", "featurize", "train", "evaluate", "profile", "report@head", "report@tail"];

    // first run, two stages at a time: train and profile overlap
    let out = repro(&env, &repo, &["-j", "2"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(ran(&trace), names(&all));
    let (t, p) = (span(&repo.join("train.span")), span(&repo.join("profile.span")));
    assert!(t.0.max(p.0) < t.1.min(p.1), "train and profile did not overlap: {t:?} {p:?}");
    assert_eq!(read(&repo.join("features.csv")), b"2,4\n6,8\n10,12\n");
    assert_eq!(read(&repo.join("metrics.json")), br#"{"acc": 0.6, "loss": 0.9}"#);
    env.git(&repo, &["commit", "-qm", "first run"]);
    env.git(&repo, &["tag", "v1"]);
    let v1 = outputs(&repo);

    // no-op
    let out = repro(&env, &repo, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.ends_with("Stages: 0 ran, 7 up to date\n"), "{}", out.stdout);
    assert_eq!(ran(&trace), names(&[]));

    // a param of train runs exactly train and evaluate
    set_params(&repo, "lr: 0.1", "lr: 0.3");
    let out = repro(&env, &repo, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(ran(&trace), names(&["train", "evaluate"]));
    assert_eq!(read(&repo.join("metrics.json")), br#"{"acc": 0.8, "loss": 0.7}"#);
    env.git(&repo, &["commit", "-qam", "lr 0.3"]);
    env.git(&repo, &["tag", "v2"]);

    // early cutoff: a param featurize tracks but whose output does not change
    set_params(&repo, "note: first", "note: second");
    let out = repro(&env, &repo, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(ran(&trace), names(&["featurize"]));
    env.git(&repo, &["commit", "-qam", "a note"]);

    // -k on a failing branch: profile fails and its reports are skipped; the rest still runs
    write(&repo.join("profile.py"), b"raise SystemExit('profile broke')\n");
    set_params(&repo, "scale: 2", "scale: 3");
    let out = repro(&env, &repo, &["-k"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("profile broke"), "{}", out.stderr);
    assert!(
        out.stdout.contains("Skipped report@head: upstream stage profile failed\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Skipped report@tail: upstream stage profile failed\n"),
        "{}",
        out.stdout
    );
    assert_eq!(ran(&trace), names(&["featurize", "train", "evaluate"]));
    assert_eq!(read(&repo.join("features.csv")), b"3,6\n9,12\n15,18\n");
    env.git(&repo, &["reset", "-q", "--hard"]);
    let out = repro(&env, &repo, &[]);
    assert!(out.stdout.ends_with("Stages: 0 ran, 7 up to date\n"), "{}", out.all());

    // metrics and params across the two tags, read from git
    metrics_and_params_across_tags(&env, &repo);

    // git push, then a colleague's clone: v2 is up to date, and going back to v1's lr restores
    // train and evaluate from the run cache, running nothing
    env.git(&repo, &["push", "-q", "origin", "main", "--tags"]);
    let (clone, out) = env.clone_of("story", "colleague");
    assert_eq!(out.code, 0, "{}", out.all());
    let out = repro(&env, &clone, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.ends_with("Stages: 0 ran, 7 up to date\n"), "{}", out.stdout);
    set_params(&clone, "lr: 0.3", "lr: 0.1");
    set_params(&clone, "note: second", "note: first");
    let out = repro(&env, &clone, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(ran(&trace), names(&[]), "nothing ran in the clone: {}", out.stdout);
    assert!(out.stdout.contains("Restored train from the run cache"), "{}", out.stdout);
    assert!(out.stdout.contains("Restored evaluate from the run cache"), "{}", out.stdout);
    assert_eq!(outputs(&clone), v1, "v1's outputs, byte for byte");

    // DVC's files were never written, in either clone
    for dir in [&repo, &clone] {
        assert_eq!(read(&dir.join("dvc.yaml")), PIPELINE.as_bytes());
        assert_eq!(read(&dir.join("dvc.lock")), DVC_LOCK);
    }
}

/// `metrics diff` and `params diff` between the tags, and `metrics log` over the commits,
/// as git holds them (the work tree is at a later commit); `lineage` names the model's bytes.
fn metrics_and_params_across_tags(env: &Env, repo: &Path) {
    let json = |args: &[&str]| -> serde_json::Value {
        let out = env.data(repo, args);
        serde_json::from_str(&out.stdout).expect("json")
    };
    let got = json(&["metrics", "diff", "v1", "v2", "--json"]);
    assert_eq!(
        got["metrics.json"]["acc"],
        serde_json::json!({"old": 0.6, "new": 0.8, "diff": 0.2})
    );
    assert_eq!(got["metrics.json"]["loss"]["diff"], serde_json::json!(-0.2));
    let got = json(&["params", "diff", "v1", "v2", "--json"]);
    assert_eq!(got["params.yaml"]["train.lr"]["old"], serde_json::json!(0.1));
    assert_eq!(got["params.yaml"]["train.lr"]["new"], serde_json::json!(0.3));
    assert!(
        got["params.yaml"].get("featurize.scale").is_none(),
        "unchanged params stay out: {got}"
    );
    let got = json(&["metrics", "log", "-k", "acc", "--json"]);
    let accs: Vec<&serde_json::Value> =
        got.as_array().expect("rows").iter().map(|row| &row["values"]["acc"]).collect();
    // newest first: "a note", "lr 0.3", "first run", "pipeline" (no metrics yet)
    assert_eq!(
        accs[..3],
        [&serde_json::json!(0.8), &serde_json::json!(0.8), &serde_json::json!(0.6)]
    );
    let got = json(&["lineage", "--json"]);
    let model = sha256(&read(&repo.join("model.bin")));
    let files = got["files"].as_array().expect("files");
    assert!(
        files.iter().any(|f| f["path"] == "model.bin" && f["oid"] == serde_json::json!(model)),
        "{got}"
    );
    // train's stage: its lock entry's model, and the key of the run-cache entry it made
    let stages = got["stages"].as_array().expect("stages");
    let train = stages.iter().find(|s| s["name"] == "train").expect("train in lineage");
    assert_eq!(train["lock"], "gitdata.lock");
    let outs = train["outs"].as_array().expect("outs");
    assert!(outs.iter().any(|o| o["path"] == "model.bin" && o["sha256"] == model), "{train}");
    let deps = train["deps"].as_array().expect("deps");
    assert!(deps.iter().any(|d| d["path"] == "features.csv"), "{train}");
    let key = train["run_key"].as_str().expect("a run key");
    let entry = repo.join(".git/data/runs").join(&key[..2]).join(key);
    assert!(entry.is_file(), "no run-cache entry {key} for train: {got}");
    assert_eq!(stages.len(), 7, "{got}");
}
