//! `git data repro --set` and the no-op path: `--set` changes one param in place (its comments
//! kept) and runs exactly the stage tracking it; a no-op trusts the stat cache only while a
//! file's stat is unchanged: a touched dep with the same bytes runs nothing, a same-size edit
//! with its mtime put back is still seen.

use crate::common::*;
use crate::pipeline_kit::{commit_pipeline, repro_ok as repro, trace};
use std::path::PathBuf;
use std::time::Duration;

const PARAMS: &str =
    "# training knobs\ntrain:\n  lr: 0.1  # learning rate\n  epochs: 3\nprep:\n  rows: 2\n";

const PIPELINE: &str = r#"stages:
  prep:
    cmd: head -n ${prep.rows} in.txt > prep.txt && echo prep >> "$TRACE"
    deps: [in.txt]
    params: [prep.rows]
    outs: [prep.txt]
  train:
    cmd: cat prep.txt > model.txt && echo lr=${train.lr} >> model.txt && echo train >> "$TRACE"
    deps: [prep.txt]
    params: [train.lr]
    outs: [model.txt]
"#;

fn project(env: &Env) -> (PathBuf, PathBuf) {
    let repo = env.project("setp");
    let files: [(&str, &[u8]); 3] = [
        ("params.yaml", PARAMS.as_bytes()),
        ("dvc.yaml", PIPELINE.as_bytes()),
        ("in.txt", b"a\nb\nc\n"),
    ];
    let trace = commit_pipeline(env, &repo, &files, &[]);
    (repo, trace)
}

#[test]
fn set_edits_the_line_keeps_comments_and_runs_exactly_the_stage_tracking_it() {
    let env = Env::new();
    let (repo, trace_path) = project(&env);
    repro(&env, &repo, &[]);
    assert_eq!(trace(&trace_path), "prep\ntrain\n");
    let out = repro(&env, &repo, &["--set", "train.lr=0.01"]);
    assert!(out.stdout.starts_with("Set train.lr = 0.01 in params.yaml\n"), "{}", out.stdout);
    assert!(out.stdout.contains("Running train: param `train.lr` changed"), "{}", out.stdout);
    assert!(out.stdout.ends_with("Stages: 1 ran, 1 up to date\n"), "{}", out.stdout);
    assert_eq!(trace(&trace_path), "prep\ntrain\ntrain\n");
    assert_eq!(
        std::fs::read_to_string(repo.join("params.yaml")).unwrap(),
        PARAMS.replace("lr: 0.1 ", "lr: 0.01")
    );
    assert!(std::fs::read_to_string(repo.join("model.txt")).unwrap().ends_with("lr=0.01\n"));
    // the same value again: nothing written, nothing run
    let out = repro(&env, &repo, &["-S", "params.yaml:train.lr=0.01"]);
    assert!(out.stdout.starts_with("Already train.lr = 0.01 in params.yaml\n"), "{}", out.stdout);
    assert!(out.stdout.ends_with("Stages: 0 ran, 2 up to date\n"), "{}", out.stdout);
    // a key the file does not hold is refused, and nothing runs
    let out = env.run(&repo, "git", &["data", "repro", "--set", "train.momentum=0.9"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("there is no key `train.momentum` in"), "{}", out.stderr);
    assert_eq!(trace(&trace_path), "prep\ntrain\ntrain\n");
}

#[test]
fn a_touched_dep_runs_nothing_and_a_same_size_edit_with_its_mtime_put_back_runs() {
    let env = Env::new();
    let (repo, trace_path) = project(&env);
    repro(&env, &repo, &[]);
    std::thread::sleep(Duration::from_millis(200));
    // this no-op hashes the now settled files once and records them in the stat cache
    let out = repro(&env, &repo, &[]);
    assert!(out.stdout.ends_with("Stages: 0 ran, 2 up to date\n"), "{}", out.stdout);
    assert!(repo.join(".git/data/statcache.log").is_file());
    // a new mtime, the same bytes: hashed again, found unchanged
    let input = repo.join("in.txt");
    let file = std::fs::File::options().write(true).open(&input).unwrap();
    file.set_modified(std::time::SystemTime::now()).unwrap();
    drop(file);
    let out = repro(&env, &repo, &[]);
    assert!(out.stdout.ends_with("Stages: 0 ran, 2 up to date\n"), "{}", out.stdout);
    assert_eq!(trace(&trace_path), "prep\ntrain\n");
    std::thread::sleep(Duration::from_millis(200));
    repro(&env, &repo, &[]); // recorded with its new stat
    // same size, mtime put back to the recorded one: the change time still tells
    let mtime = std::fs::metadata(&input).unwrap().modified().unwrap();
    write(&input, b"x\ny\nz\n");
    let file = std::fs::File::options().write(true).open(&input).unwrap();
    file.set_modified(mtime).unwrap();
    drop(file);
    assert_eq!(std::fs::metadata(&input).unwrap().modified().unwrap(), mtime);
    let out = repro(&env, &repo, &[]);
    assert!(out.stdout.contains("Running prep: dep `in.txt` changed"), "{}", out.stdout);
    assert_eq!(std::fs::read_to_string(repo.join("prep.txt")).unwrap(), "x\ny\n");
}

/// A param no stage reads is still set, with a note saying that it runs nothing; a key set
/// twice says the last value wins.
#[test]
fn set_notes_a_param_no_stage_reads_and_a_key_set_twice() {
    let env = Env::new();
    let (repo, _trace) = project(&env);
    repro(&env, &repo, &[]);
    let out = repro(&env, &repo, &["--set", "train.epochs=5", "--set", "train.lr=0.2"]);
    assert!(
        out.stderr.contains(
            "git-data: note: --set train.epochs=5: no stage of dvc.yaml reads `train.epochs` of \
             params.yaml, so it makes nothing run"
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("train.lr=0.2: no stage"), "{}", out.stderr);
    assert!(read(&repo.join("params.yaml")).windows(9).any(|w| w == b"epochs: 5"));
    let out = repro(&env, &repo, &["-S", "prep.rows=1", "-S", "prep.rows=2"]);
    assert!(out.stderr.contains("`prep.rows` is set again later; the last value wins"));
    assert!(!out.stderr.contains("no stage"), "{}", out.stderr);
}
