//! `git data repro`: a real pipeline of Python and shell stages driven through the real git
//! and git-data binaries: first run, no-op rerun, params, early cutoff, `--dry`, `-j 2`,
//! `-k`, `foreach`/`matrix`, and `dvc.yaml` / `dvc.lock` left byte for byte as they were.

use crate::common::*;
use crate::pipeline_kit::{commit_pipeline, repro, trace};
use std::path::{Path, PathBuf};

const PARAMS: &str = "prepare: {factor: 2}\nfeaturize: {note: a}\ntrain: {lr: 0.1}\nunused: 1\n";

const PIPELINE: &str = r#"stages:
  prepare:
    cmd:
    - python3 prepare.py ${prepare.factor}
    - echo prepare >> "$TRACE"
    deps: [data.csv, prepare.py]
    outs: [prepared.csv]
  featurize:
    cmd:
    - python3 featurize.py
    - echo featurize >> "$TRACE"
    deps: [prepared.csv, featurize.py]
    params: [featurize.note]
    outs: [features.csv]
  train:
    cmd:
    - python3 train.py ${train.lr}
    - echo train >> "$TRACE"
    deps: [features.csv, train.py]
    params: [train.lr]
    outs: [model.pkl]
  evaluate:
    cmd:
    - python3 evaluate.py
    - echo evaluate >> "$TRACE"
    deps: [model.pkl, evaluate.py]
    outs: [report]
    metrics:
    - metrics.json:
        cache: false
"#;

const SCRIPTS: &[(&str, &str)] = &[
    (
        "prepare.py",
        "import sys\nf = int(sys.argv[1])\nrows = [l.split(',') for l in open('data.csv') if l.strip()]\n\
         with open('prepared.csv', 'w') as out:\n    for r in rows:\n        out.write(','.join(str(int(x) * f) for x in r) + '\\n')\n",
    ),
    (
        "featurize.py",
        "rows = [l.split(',') for l in open('prepared.csv')]\n\
         open('features.csv', 'w').write(''.join(f'{sum(int(x) for x in r)}\\n' for r in rows))\n",
    ),
    (
        "train.py",
        "import sys\ntotal = sum(int(l) for l in open('features.csv'))\n\
         open('model.pkl', 'w').write(f'model lr={sys.argv[1]} total={total}\\n' * 100)\n",
    ),
    (
        "evaluate.py",
        "import json, os\nm = open('model.pkl').read()\nos.makedirs('report', exist_ok=True)\n\
         open('report/summary.txt', 'w').write(m.splitlines()[0] + '\\n')\n\
         json.dump({'lines': len(m.splitlines())}, open('metrics.json', 'w'))\n",
    ),
];

/// A project holding the pipeline, its scripts, params, a tracked `data.csv` and a `dvc.lock`
/// of DVC's, all committed; stages append their names to the returned trace file.
fn pipeline_project(env: &Env) -> (PathBuf, PathBuf) {
    let repo = env.project("pipe");
    let mut files: Vec<(&str, &[u8])> = SCRIPTS.iter().map(|(n, t)| (*n, t.as_bytes())).collect();
    files.extend([
        ("params.yaml", PARAMS.as_bytes()),
        ("dvc.yaml", PIPELINE.as_bytes()),
        ("dvc.lock", b"schema: '2.0'\nstages: {}\n"),
        ("data.csv", b"1,2\n3,4\n"),
    ]);
    let trace = commit_pipeline(env, &repo, &files, &["data.csv"]);
    (repo, trace)
}

fn text(path: &Path) -> String {
    String::from_utf8(read(path)).expect("utf8")
}

#[test]
fn runs_once_then_nothing_then_exactly_what_a_change_reaches() {
    let env = Env::new();
    let (repo, trace_path) = pipeline_project(&env);
    let out = repro(&env, &repo, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(trace(&trace_path), "prepare\nfeaturize\ntrain\nevaluate\n");
    assert!(
        out.stdout.contains("Running prepare: never ran (no entry in gitdata.lock)\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("Stages: 4 ran, 0 up to date\n"), "{}", out.stdout);
    assert_eq!(text(&repo.join("prepared.csv")), "2,4\n6,8\n");
    // the lock records the tracked CSV by its git-data object id, params by value
    let lock = text(&repo.join("gitdata.lock"));
    let data_id =
        format!("- path: data.csv\n      sha256: {}\n      size: 8\n", sha256(b"1,2\n3,4\n"));
    assert!(lock.starts_with("schema: git-data/1\nstages:\n"), "{lock}");
    assert!(lock.contains(&data_id), "{lock}");
    assert!(lock.contains("    params:\n      params.yaml:\n        train.lr: 0.1\n"), "{lock}");
    assert!(lock.contains("- path: report\n      sha256: "), "{lock}");
    assert!(lock.contains("      nfiles: 1\n"), "{lock}");
    // outputs are git-data files, staged not committed; the cache: false metric stays plain
    let model = read(&repo.join("model.pkl"));
    assert_eq!(env.git(&repo, &["show", ":model.pkl"]).stdout, pointer_of(&model));
    assert!(object_path(&repo.join(".git/data"), &model).is_file());
    let summary = read(&repo.join("report/summary.txt"));
    assert_eq!(env.git(&repo, &["show", ":report/summary.txt"]).stdout, pointer_of(&summary));
    assert_eq!(env.git(&repo, &["show", ":metrics.json"]).stdout, "{\"lines\": 100}");
    let attributes = text(&repo.join(".gitattributes"));
    assert!(
        attributes.contains("/model.pkl filter=data diff=data merge=data -text\n"),
        "{attributes}"
    );
    assert!(attributes.contains("/report/** filter=data"), "{attributes}");
    assert!(!attributes.contains("metrics.json"), "{attributes}");
    let staged = env.git(&repo, &["diff", "--cached", "--name-only"]).stdout;
    assert!(staged.contains("gitdata.lock\n") && staged.contains("model.pkl\n"), "{staged}");
    assert_eq!(env.git(&repo, &["rev-list", "--count", "HEAD"]).stdout, "1\n");

    // a no-op rerun runs nothing and leaves the lock as it was
    let out = repro(&env, &repo, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.ends_with("Stages: 0 ran, 4 up to date\n"), "{}", out.stdout);
    assert_eq!(trace(&trace_path), "prepare\nfeaturize\ntrain\nevaluate\n");
    assert_eq!(text(&repo.join("gitdata.lock")), lock);

    // an untracked param key runs nothing; a tracked one runs its stage and what follows
    write(&repo.join("params.yaml"), PARAMS.replace("unused: 1", "unused: 2").as_bytes());
    assert!(repro(&env, &repo, &[]).stdout.ends_with("Stages: 0 ran, 4 up to date\n"));
    write(&repo.join("params.yaml"), PARAMS.replace("lr: 0.1", "lr: 0.2").as_bytes());
    let out = repro(&env, &repo, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("Running train: param `train.lr` changed in `params.yaml`\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Running evaluate: dep `model.pkl` changed\n"), "{}", out.stdout);
    assert_eq!(trace(&trace_path), "prepare\nfeaturize\ntrain\nevaluate\ntrain\nevaluate\n");
    assert!(text(&repo.join("model.pkl")).starts_with("model lr=0.2 total=20\n"));

    // early cutoff: featurize runs, writes the same bytes, and nothing after it runs
    let params = PARAMS.replace("lr: 0.1", "lr: 0.2").replace("note: a", "note: b");
    write(&repo.join("params.yaml"), params.as_bytes());
    let out = repro(&env, &repo, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("Running featurize: param `featurize.note` changed"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Up to date train: its upstream outputs came out unchanged\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("Stages: 1 ran, 3 up to date\n"), "{}", out.stdout);
    assert_eq!(
        trace(&trace_path),
        "prepare\nfeaturize\ntrain\nevaluate\ntrain\nevaluate\nfeaturize\n"
    );

    // dvc.yaml and DVC's own lock are never touched
    assert_eq!(text(&repo.join("dvc.yaml")), PIPELINE);
    assert_eq!(text(&repo.join("dvc.lock")), "schema: '2.0'\nstages: {}\n");
}

#[test]
fn dry_prints_each_stage_with_its_reason_and_changes_nothing() {
    let env = Env::new();
    let (repo, trace_path) = pipeline_project(&env);
    let out = repro(&env, &repo, &["--dry"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let never = "never ran (no entry in gitdata.lock)";
    assert_eq!(
        out.stdout,
        format!(
            "would run prepare: {never}\nwould run featurize: if prepare changes its outputs\n\
             would run train: if featurize changes its outputs\nwould run evaluate: if train changes its outputs\n"
        )
    );
    assert!(!repo.join("gitdata.lock").exists() && !repo.join("prepared.csv").exists());
    assert_eq!(repro(&env, &repo, &[]).code, 0);
    let lock = text(&repo.join("gitdata.lock"));
    write(&repo.join("data.csv"), b"1,2\n3,5\n");
    std::fs::remove_dir_all(repo.join("report")).unwrap();
    let out = repro(&env, &repo, &["--dry", "evaluate"]);
    assert_eq!(
        out.stdout,
        "would run prepare: dep `data.csv` changed\nwould run featurize: if prepare changes its outputs\n\
         would run train: if featurize changes its outputs\nwould run evaluate: output `report` is missing\n"
    );
    let out = repro(&env, &repo, &["--dry", "-f", "featurize"]);
    assert_eq!(out.stdout, "would run prepare: forced (-f)\nwould run featurize: forced (-f)\n");
    assert_eq!(text(&repo.join("gitdata.lock")), lock);
    assert_eq!(trace(&trace_path), "prepare\nfeaturize\ntrain\nevaluate\n");
    let out = repro(&env, &repo, &["--dry", "nope"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("no stage named `nope` in dvc.yaml\nhint: "), "{}", out.stderr);
}

/// Parses the two timestamps (start, end) a `-j` stage wrote.
fn span(path: &Path) -> (f64, f64) {
    let t: Vec<f64> = text(path).split_whitespace().map(|s| s.parse().expect("a time")).collect();
    (t[0], t[1])
}

#[test]
fn jobs_run_independent_stages_at_the_same_time() {
    let env = Env::new();
    let repo = env.project("par");
    let stage = |n: &str| {
        format!(
            "  {n}:\n    cmd: (date +%s.%N; sleep 1; date +%s.%N) > {n}.txt\n    outs: [{n}.txt]\n"
        )
    };
    let yaml = format!(
        "stages:\n{}{}  both:\n    cmd: cat a.txt b.txt > both.txt\n    deps: [a.txt, b.txt]\n    outs: [both.txt]\n",
        stage("a"),
        stage("b")
    );
    write(&repo.join("dvc.yaml"), yaml.as_bytes());
    let out = repro(&env, &repo, &["-j", "2"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let (a, b) = (span(&repo.join("a.txt")), span(&repo.join("b.txt")));
    assert!(a.0.max(b.0) < a.1.min(b.1), "the two stages did not overlap: {a:?} {b:?}");
    assert!(a.1.max(b.1) - a.0.min(b.0) < 1.8, "two 1 s stages took more than 1.8 s: {a:?} {b:?}");
    // the downstream stage ran after both, and the one lock holds all three
    assert_eq!(
        text(&repo.join("both.txt")),
        format!("{}{}", text(&repo.join("a.txt")), text(&repo.join("b.txt")))
    );
    let lock = text(&repo.join("gitdata.lock"));
    for name in ["  a:\n", "  b:\n", "  both:\n"] {
        assert!(lock.contains(name), "{lock}");
    }
}

#[test]
fn keep_going_skips_only_what_depends_on_a_failure() {
    let env = Env::new();
    let repo = env.project("fail");
    let yaml = r#"stages:
  bad:
    cmd: test ! -e fail.flag || { echo first line >&2; echo boom >&2; exit 3; }; cp in.txt bad.txt
    deps: [in.txt]
    outs: [bad.txt]
  after_bad:
    cmd: cp bad.txt after_bad.txt
    deps: [bad.txt]
    outs: [after_bad.txt]
  good:
    cmd: cp in.txt good.txt
    deps: [in.txt]
    outs: [good.txt]
  after_good:
    cmd: cp good.txt after_good.txt
    deps: [good.txt]
    outs: [after_good.txt]
"#;
    write(&repo.join("dvc.yaml"), yaml.as_bytes());
    write(&repo.join("in.txt"), b"one\n");
    assert_eq!(repro(&env, &repo, &[]).code, 0);
    let lock = text(&repo.join("gitdata.lock"));
    // a stage's lines in the lock: from `  name:` to the next stage
    let entry = |lock: &str, name: &str| {
        let mut out = String::new();
        let mut inside = false;
        for line in lock.lines() {
            if line.starts_with("  ") && !line.starts_with("   ") {
                inside = line == format!("  {name}:");
            }
            if inside {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    };
    let bad_before = entry(&lock, "bad");
    assert!(bad_before.contains(&sha256(b"one\n")), "{lock}");

    write(&repo.join("fail.flag"), b"");
    write(&repo.join("in.txt"), b"two\n");
    // without -k the first failure stops the run: `good` comes after `bad` and never starts
    let out = repro(&env, &repo, &[]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("git-data: error: stage bad failed: `test ! -e fail.flag"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("exit code 3"), "{}", out.stderr);
    assert!(out.stderr.contains("  | first line\n  | boom\n"), "{}", out.stderr);
    assert_eq!(text(&repo.join("good.txt")), "one\n");
    let log = text(&repo.join(".git/data/repro/logs/bad.log"));
    assert!(log.ends_with("first line\nboom\n"), "{log}");

    let out = repro(&env, &repo, &["-k"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("Skipped after_bad: upstream stage bad failed\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Stages: 2 ran, 0 up to date, 1 failed, 1 skipped\n"),
        "{}",
        out.stdout
    );
    assert_eq!(text(&repo.join("after_good.txt")), "two\n");
    assert!(!repo.join("bad.txt").exists(), "a failed stage's outputs are not left half made");
    let lock = text(&repo.join("gitdata.lock"));
    assert_eq!(entry(&lock, "bad"), bad_before, "a failed stage keeps its lock entry");
    assert!(entry(&lock, "good").contains(&sha256(b"two\n")), "{lock}");
}

#[test]
fn foreach_and_matrix_expand_into_named_stages() {
    let env = Env::new();
    let repo = env.project("each");
    let yaml = r#"vars:
  - sets: [train, test]
stages:
  split:
    foreach: ${sets}
    do:
      cmd: echo ${item} > ${item}.txt
      outs:
      - ${item}.txt
  fit:
    matrix:
      model: [cnn, mlp]
      lr: [1, 2]
    cmd: cat train.txt > ${item.model}-${item.lr}.out && echo ${item.lr} >> ${item.model}-${item.lr}.out
    deps: [train.txt]
    outs:
    - ${item.model}-${item.lr}.out
"#;
    std::fs::create_dir_all(repo.join("pipe")).unwrap();
    write(&repo.join("pipe/dvc.yaml"), yaml.as_bytes());
    let sub = repo.join("pipe");
    let out = repro(&env, &sub, &["--dry", "fit@mlp-2"]);
    assert_eq!(
        out.stdout,
        "would run split@train: never ran (no entry in gitdata.lock)\n\
         would run fit@mlp-2: if split@train changes its outputs\n"
    );
    let out = repro(&env, &sub, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.ends_with("Stages: 6 ran, 0 up to date\n"), "{}", out.stdout);
    assert_eq!(text(&sub.join("test.txt")), "test\n");
    assert_eq!(text(&sub.join("mlp-2.out")), "train\n2\n");
    let lock = text(&sub.join("gitdata.lock"));
    for name in ["split@test", "split@train", "fit@cnn-1", "fit@cnn-2", "fit@mlp-1", "fit@mlp-2"] {
        assert!(lock.contains(&format!("\n  {name}:\n")), "{name} in {lock}");
    }
    let staged = env.git(&repo, &["show", ":pipe/cnn-1.out"]).stdout;
    assert_eq!(staged, pointer_of(b"train\n1\n"));
    assert_eq!(env.git(&repo, &["show", ":pipe/gitdata.lock"]).stdout, lock);
    // stages without deps always run (as DVC's do); what reads them sees the same bytes
    write(&sub.join("test.txt"), b"edited\n");
    let out = repro(&env, &sub, &[]);
    let no_deps = "a stage without deps or params always runs";
    assert!(out.stdout.contains(&format!("Running split@test: {no_deps}\n")), "{}", out.stdout);
    let cutoff = "Up to date fit@cnn-1: its upstream outputs came out unchanged\n";
    assert!(out.stdout.contains(cutoff), "{}", out.stdout);
    assert!(out.stdout.ends_with("Stages: 2 ran, 4 up to date\n"), "{}", out.stdout);
    assert_eq!(text(&sub.join("test.txt")), "test\n");
}

#[test]
fn refuses_unknown_keys_overlapping_outputs_and_cycles_by_name() {
    let env = Env::new();
    let repo = env.project("bad");
    let cases = [
        (
            "stages:\n  train:\n    cmd: x\n    outz: [m]\n",
            "stage `train`: unknown key `outz` (known keys: cmd, wdir,",
        ),
        (
            "stages:\n  a:\n    cmd: x\n    outs: [d]\n  b:\n    cmd: y\n    outs: [d/f]\n",
            "stages `a` and `b` both write `d`",
        ),
        (
            "stages:\n  a:\n    cmd: x\n    deps: [b.txt]\n    outs: [a.txt]\n  b:\n    cmd: y\n    deps: [a.txt]\n    outs: [b.txt]\n",
            "the stages form a cycle: `a` -> `b` -> `a`",
        ),
        (
            "stages:\n  a:\n    cmd: echo ${nope}\n",
            "stage `a`: `nope` is not defined (in `${nope}`)",
        ),
    ];
    for (yaml, message) in cases {
        write(&repo.join("dvc.yaml"), yaml.as_bytes());
        let out = repro(&env, &repo, &[]);
        assert_eq!(out.code, 1, "{yaml}: {}", out.all());
        assert!(
            out.stderr.starts_with(&format!("git-data: error: {message}")),
            "{yaml}: {}",
            out.stderr
        );
        assert!(!repo.join("gitdata.lock").exists());
    }
    std::fs::remove_file(repo.join("dvc.yaml")).unwrap();
    let out = repro(&env, &repo, &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "no dvc.yaml in the repository's root\nhint: run `git data repro` in the folder"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn outputs_git_ignores_are_named_and_left_unstaged() {
    let env = Env::new();
    let repo = env.project("ignored");
    let yaml = "stages:\n  make:\n    cmd: echo made > model.pkl && echo kept > kept.pkl\n    outs: [model.pkl, kept.pkl]\n";
    write(&repo.join("dvc.yaml"), yaml.as_bytes());
    // what `dvc add`/`dvc repro` leave behind for each output
    write(&repo.join(".gitignore"), b"/model.pkl\n");
    let out = repro(&env, &repo, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains(
            "git-data: warning: git ignores the output model.pkl (.gitignore:1: /model.pkl): it is \
             stored, recorded in gitdata.lock and tracked, but not staged\nhint: remove those \
             rules (DVC writes one for each output), then `git add` those outputs"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(env.git(&repo, &["ls-files", "--", "model.pkl"]).stdout, "");
    assert!(object_path(&repo.join(".git/data"), b"made\n").is_file());
    assert_eq!(env.git(&repo, &["show", ":kept.pkl"]).stdout, pointer_of(b"kept\n"));
    assert!(text(&repo.join("gitdata.lock")).contains(&sha256(b"made\n")));
    // the hint works: without the rule, `git add` stages the output as a pointer
    write(&repo.join(".gitignore"), b"");
    env.git(&repo, &["add", "model.pkl"]);
    assert_eq!(env.git(&repo, &["show", ":model.pkl"]).stdout, pointer_of(b"made\n"));
}

#[test]
fn a_killed_run_keeps_the_stages_it_finished_and_the_next_run_takes_over() {
    let env = Env::new();
    let repo = env.project("killed");
    let pid_file = env.path("slow.pid");
    env.set_env("PIDFILE", pid_file.to_str().expect("utf8"));
    let yaml = r#"stages:
  quick:
    cmd: cp in.txt q.txt
    deps: [in.txt]
    outs: [q.txt]
  slow:
    cmd: if [ -e go ]; then cat q.txt > s.txt; else echo $$ > "$PIDFILE"; exec sleep 30; fi
    deps: [q.txt]
    outs: [s.txt]
"#;
    write(&repo.join("dvc.yaml"), yaml.as_bytes());
    write(&repo.join("in.txt"), b"q\n");
    let mut child = env
        .command(&repo, env!("CARGO_BIN_EXE_git-data"))
        .arg("repro")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !pid_file.exists() || text(&pid_file).trim().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the slow stage never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
    env.run(&repo, "kill", &["-9", text(&pid_file).trim()]);
    let lock = text(&repo.join("gitdata.lock"));
    assert!(lock.starts_with("schema: git-data/1\nstages:\n  quick:\n"), "{lock}");
    assert!(!lock.contains("slow"), "{lock}");
    let owner = repo.join(".git/data/repro/root.owner");
    assert!(owner.exists(), "the killed run's claim is left behind");
    write(&repo.join("go"), b"");
    let out = repro(&env, &repo, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.starts_with("Up to date quick\nRunning slow: never ran"), "{}", out.stdout);
    assert_eq!(text(&repo.join("s.txt")), "q\n");
    assert!(!owner.exists());
}

#[test]
fn a_pointer_in_place_of_a_dependency_is_up_to_date_but_cannot_run() {
    let env = Env::new();
    let (repo, trace_path) = pipeline_project(&env);
    assert_eq!(repro(&env, &repo, &[]).code, 0);
    // as a clone that has not downloaded data.csv has it: its pointer, same id
    write(&repo.join("data.csv"), pointer_of(b"1,2\n3,4\n").as_bytes());
    let out = repro(&env, &repo, &[]);
    assert!(out.stdout.ends_with("Stages: 0 ran, 4 up to date\n"), "{}", out.all());
    write(&repo.join("params.yaml"), PARAMS.replace("factor: 2", "factor: 3").as_bytes());
    let out = repro(&env, &repo, &[]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains(
            "stage prepare failed: its dependency `data.csv` is only a pointer here, its data is \
             not in the work tree: run `git data pull` first"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(trace(&trace_path), "prepare\nfeaturize\ntrain\nevaluate\n");
    assert_eq!(text(&repo.join("prepared.csv")), "2,4\n6,8\n", "nothing was deleted");
}
