//! `git data repro` with targets, as `dvc repro` takes them: a target brings the stages it
//! depends on; `-s` runs the target alone; `--downstream` the target and what depends on it.

use crate::common::*;
use crate::pipeline_kit::{commit_pipeline, repro_ok, trace};

const PIPELINE: &str = r#"stages:
  a:
    cmd: echo "a ${a.n}" > a.txt && echo a >> "$TRACE"
    deps: [in.txt]
    params: [a.n]
    outs: [a.txt]
  b:
    cmd: cat a.txt > b.txt && echo b >> "$TRACE"
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: cat b.txt > c.txt && echo c >> "$TRACE"
    deps: [b.txt]
    outs: [c.txt]
  side:
    cmd: cat in.txt > side.txt && echo side >> "$TRACE"
    deps: [in.txt]
    outs: [side.txt]
"#;

#[test]
fn single_item_and_downstream_choose_the_stages_as_dvc_does() {
    let env = Env::new();
    let repo = env.project("targets");
    let files: [(&str, &[u8]); 3] =
        [("dvc.yaml", PIPELINE.as_bytes()), ("params.yaml", b"a: {n: 1}\n"), ("in.txt", b"x\n")];
    let trace_file = commit_pipeline(&env, &repo, &files, &[]);
    let ran = |since: usize| trace(&trace_file)[since..].to_string();

    // a target brings what it depends on
    repro_ok(&env, &repo, &["b"]);
    assert_eq!(ran(0), "a\nb\n");

    // -s: the target alone, even when an upstream stage would run
    write(&repo.join("params.yaml"), b"a: {n: 2}\n");
    let out = repro_ok(&env, &repo, &["-s", "b"]);
    assert!(out.stdout.ends_with("Stages: 0 ran, 1 up to date\n"), "{}", out.stdout);
    let out = repro_ok(&env, &repo, &["--dry", "--single-item", "c"]);
    assert_eq!(out.stdout, "would run c: never ran (no entry in gitdata.lock)\n");
    let mark = trace(&trace_file).len();
    repro_ok(&env, &repo, &["-s", "a"]);
    assert_eq!(ran(mark), "a\n", "only a, though b now reads a changed a.txt");
    assert_eq!(read(&repo.join("a.txt")), b"a 2\n");
    assert_eq!(read(&repo.join("b.txt")), b"a 1\n");

    // --downstream: the target and what depends on it, not what it depends on
    write(&repo.join("params.yaml"), b"a: {n: 3}\n");
    let mark = trace(&trace_file).len();
    let out = repro_ok(&env, &repo, &["--downstream", "b"]);
    assert_eq!(ran(mark), "b\nc\n", "{}", out.stdout);
    assert_eq!(read(&repo.join("c.txt")), b"a 2\n", "a did not run");
    assert!(!repo.join("side.txt").exists());

    // they need a target, and exclude each other
    let out = env.run(&repo, "git", &["data", "repro", "-s"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("<TARGETS>"), "{}", out.stderr);
    let out = env.run(&repo, "git", &["data", "repro", "-s", "--downstream", "b"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
}

/// `foreach` over paths, as DVC users loop over data folders: `s@in/a` runs, and its log is
/// one file.
#[test]
fn foreach_items_may_be_paths() {
    let env = Env::new();
    let repo = env.project("paths");
    let yaml = "stages:\n  s:\n    foreach: [in/a, in/b]\n    do:\n      cmd: cp ${item}.txt ${item}.out\n      \
                deps:\n      - ${item}.txt\n      outs:\n      - ${item}.out\n";
    let files: [(&str, &[u8]); 3] =
        [("dvc.yaml", yaml.as_bytes()), ("in/a.txt", b"a\n"), ("in/b.txt", b"b\n")];
    commit_pipeline(&env, &repo, &files, &[]);
    let out = repro_ok(&env, &repo, &["s@in/b"]);
    assert!(out.stdout.contains("Running s@in/b: never ran"), "{}", out.stdout);
    assert_eq!(read(&repo.join("in/b.out")), b"b\n");
    assert!(!repo.join("in/a.out").exists());
    assert!(repo.join(".git/data/repro/logs/s@in%2Fb.log").is_file());
}
