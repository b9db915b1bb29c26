//! A `git data repro` killed while a stage runs takes the stage's commands with it: after
//! `kill -9`, the next run kills what the dead run left before running anything, so the two
//! never write the same output; a SIGTERM to git-data alone reaches the commands too.

use crate::common::*;
use crate::pipeline_kit::{commit_pipeline, repro_ok};
use std::path::Path;
use std::time::{Duration, Instant};

/// The stage writes `o.txt`, then (unless `go` exists) leaves a writer behind in the
/// background that appends to it two seconds later, and waits.
const PIPELINE: &str = r#"stages:
  s:
    cmd: if [ -e go ]; then cat in.txt > o.txt; else cat in.txt > o.txt; (sleep 2; echo late >> o.txt) & echo started > started; sleep 30; fi
    deps: [in.txt]
    outs: [o.txt]
"#;

fn start_and_wait(env: &Env, repo: &Path) -> std::process::Child {
    let child = env
        .command(repo, env!("CARGO_BIN_EXE_git-data"))
        .arg("repro")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !repo.join("started").exists() {
        assert!(Instant::now() < deadline, "the stage never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn after_kill_9_the_next_run_stops_what_the_dead_one_left_running() {
    let env = Env::new();
    let repo = env.project("crash");
    let files: [(&str, &[u8]); 2] = [("dvc.yaml", PIPELINE.as_bytes()), ("in.txt", b"1\n")];
    commit_pipeline(&env, &repo, &files, &[]);
    let mut child = start_and_wait(&env, &repo);
    child.kill().expect("kill -9"); // SIGKILL
    child.wait().expect("wait");
    write(&repo.join("go"), b"");
    write(&repo.join("in.txt"), b"2\n");
    let out = repro_ok(&env, &repo, &[]);
    assert!(out.stdout.contains("Running s: never ran"), "{}", out.stdout);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(read(&repo.join("o.txt")), b"2\n", "the dead run's writer was stopped");
    let out = repro_ok(&env, &repo, &[]);
    assert!(out.stdout.ends_with("Stages: 0 ran, 1 up to date\n"), "{}", out.stdout);
    assert!(!repo.join(".git/data/repro/root.groups").exists());
}

#[test]
fn sigterm_to_git_data_alone_reaches_the_stage_commands() {
    let env = Env::new();
    let repo = env.project("term");
    let files: [(&str, &[u8]); 2] = [("dvc.yaml", PIPELINE.as_bytes()), ("in.txt", b"1\n")];
    commit_pipeline(&env, &repo, &files, &[]);
    let mut child = start_and_wait(&env, &repo);
    env.run(&repo, "kill", &["-TERM", &child.id().to_string()]);
    let status = child.wait().expect("wait");
    assert!(!status.success());
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(read(&repo.join("o.txt")), b"1\n", "nothing wrote after git-data ended");
}

/// A stage that finished before the kill is staged by the next run, though it is then up to
/// date: the lock and the index never disagree about its output.
#[test]
fn a_stage_finished_before_the_kill_is_staged_by_the_next_run() {
    let env = Env::new();
    let repo = env.project("staged");
    let yaml = "stages:\n  a:\n    cmd: cp in.txt a.out\n    deps: [in.txt]\n    outs: [a.out]\n  b:\n    \
                cmd: if [ -e go ]; then cp a.out b.out; else echo started > started; sleep 30; fi\n    \
                deps: [a.out]\n    outs: [b.out]\n";
    let files: [(&str, &[u8]); 2] = [("dvc.yaml", yaml.as_bytes()), ("in.txt", b"1\n")];
    commit_pipeline(&env, &repo, &files, &[]);
    write(&repo.join("go"), b"");
    repro_ok(&env, &repo, &[]);
    env.git(&repo, &["commit", "-qm", "run"]);
    std::fs::remove_file(repo.join("go")).unwrap();
    write(&repo.join("in.txt"), b"2\n");
    let mut child = start_and_wait(&env, &repo);
    child.kill().expect("kill -9");
    child.wait().expect("wait");
    assert_eq!(env.git(&repo, &["show", ":a.out"]).stdout, pointer_of(b"1\n"), "not staged");
    write(&repo.join("go"), b"");
    let out = repro_ok(&env, &repo, &[]);
    assert!(out.stdout.contains("Up to date a\n"), "{}", out.stdout);
    assert_eq!(env.git(&repo, &["show", ":a.out"]).stdout, pointer_of(b"2\n"));
    assert_eq!(env.git(&repo, &["show", ":b.out"]).stdout, pointer_of(b"2\n"));
    let status = env.git(&repo, &["status", "--porcelain", "--", "a.out", "b.out"]).stdout;
    assert_eq!(status, "M  a.out\nM  b.out\n");
    assert!(!repo.join(".git/data/repro/root.unstaged").exists());
}
