//! The run cache of `git data repro`, through the real git and git-data binaries: a stage run
//! in one clone and pushed is restored in a fresh clone without running anything (a
//! `cache: false` metric included, byte for byte); `--no-run-cache`; an entry naming an object
//! the remote lost, and a remote that is down, make the stage run, not fail; every entry on
//! the remote names objects the remote holds; `gc` keeps what recent entries name and drops
//! entries whose objects are gone.

use crate::common::*;
use crate::pipeline_kit::{commit_pipeline, repro_ok as repro, trace};
use std::path::{Path, PathBuf};

const PIPELINE: &str = r#"stages:
  train:
    cmd:
    - sh train.sh ${train.lr}
    - echo train >> "$TRACE"
    deps: [data.csv, train.sh]
    params: [train.lr]
    outs: [model.bin, report]
    metrics:
    - metrics.json:
        cache: false
"#;

const TRAIN: &str = "lr=$1\n{ cat data.csv; echo \"lr=$lr\"; } > model.bin\n\
    mkdir -p report/sub\necho \"summary $lr\" > report/summary.txt\necho \"rows 2\" > report/sub/rows.txt\n\
    printf '{\"lr\": %s}' \"$lr\" > metrics.json\n";

const OUTPUTS: &[&str] =
    &["model.bin", "report/summary.txt", "report/sub/rows.txt", "metrics.json"];

/// A committed project `rc` with the pipeline; the stage appends to the returned trace file,
/// which lies outside every repository. `setup` runs first (another remote, say).
fn project(env: &Env, setup: impl Fn(&Path)) -> (PathBuf, PathBuf) {
    let repo = env.project("rc");
    setup(&repo);
    let files: [(&str, &[u8]); 4] = [
        ("train.sh", TRAIN.as_bytes()),
        ("params.yaml", b"train: {lr: 0.1}\n"),
        ("dvc.yaml", PIPELINE.as_bytes()),
        ("data.csv", b"1,2\n3,4\n"),
    ];
    let trace = commit_pipeline(env, &repo, &files, &["data.csv"]);
    (repo, trace)
}

fn set_lr(repo: &Path, lr: &str) {
    write(&repo.join("params.yaml"), format!("train: {{lr: {lr}}}\n").as_bytes());
}

fn outputs(repo: &Path) -> Vec<Vec<u8>> {
    OUTPUTS.iter().map(|p| read(&repo.join(p))).collect()
}

/// Every file below `dir` (recursively).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.extend(files(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out.sort();
    out
}

fn store_object(store: &Path, oid: &str) -> PathBuf {
    store.join("objects").join(&oid[..2]).join(&oid[2..4]).join(oid)
}

/// The objects a run-cache entry names: each output's, and the files of a directory's
/// manifest (read from `store`).
fn entry_objects(store: &Path, entry: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in entry.lines().chain(["- end"]) {
        if let Some(id) = line.trim().strip_prefix("sha256: ") {
            current = Some(id.to_string());
        } else if line.trim().starts_with("nfiles:") {
            let manifest = current.clone().expect("a directory's id");
            let text = String::from_utf8(read(&store_object(store, &manifest))).expect("utf8");
            out.extend(text.lines().map(|l| l[..64].to_string()));
        } else if line.starts_with("- ") {
            out.extend(current.take());
        }
    }
    out
}

/// A project that ran with lr 0.1 then 0.2, committed and pushed with `git push` (data,
/// entries, git);
/// returns it, the trace, and the outputs of the lr 0.1 run with its lock.
fn ran_twice_and_pushed(
    env: &Env,
    setup: impl Fn(&Path),
) -> (PathBuf, PathBuf, Vec<Vec<u8>>, Vec<u8>) {
    let (repo, trace_path) = project(env, setup);
    repro(env, &repo, &[]);
    let first = (outputs(&repo), read(&repo.join("gitdata.lock")));
    env.git(&repo, &["commit", "-qm", "lr 0.1"]);
    set_lr(&repo, "0.2");
    repro(env, &repo, &[]);
    env.git(&repo, &["commit", "-qam", "lr 0.2"]);
    assert_eq!(trace(&trace_path), "train\ntrain\n");
    // plain `git push`: the pre-push hook uploads the data, then the entries
    let out = env.git(&repo, &["push", "origin", "main"]);
    assert!(out.all().contains("Uploaded 2 run-cache entries"), "{}", out.all());
    (repo, trace_path, first.0, first.1)
}

#[test]
fn a_fresh_clone_restores_a_pushed_run_without_running_anything() {
    let env = Env::new();
    let (_repo, trace_path, first, first_lock) = ran_twice_and_pushed(&env, |_| {});
    let store = env.path("rc-store");
    // every entry on the remote names objects the remote holds (pushed after them)
    let entries = files(&store.join("runs"));
    assert_eq!(entries.len(), 2, "{entries:?}");
    for entry in &entries {
        let text = String::from_utf8(read(entry)).expect("utf8");
        let objects = entry_objects(&store, &text);
        assert_eq!(objects.len(), 5, "{text}"); // model, manifest, its 2 files, metrics
        for oid in objects {
            assert!(store_object(&store, &oid).is_file(), "{oid} of {text}");
        }
    }

    // a fresh clone at lr 0.2 going back to lr 0.1: restored, no command run
    let (clone, out) = env.clone_of("rc", "b");
    assert_eq!(out.code, 0, "{}", out.all());
    set_lr(&clone, "0.1");
    let out = repro(&env, &clone, &[]);
    assert!(
        out.stdout.contains("Restored train from the run cache (param `train.lr` changed in `params.yaml`): no command run\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("Stages: 0 ran, 1 restored from the run cache, 0 up to date\n"));
    assert_eq!(trace(&trace_path), "train\ntrain\n", "no command ran");
    assert_eq!(outputs(&clone), first, "outputs byte-identical, metrics.json included");
    assert_eq!(read(&clone.join("gitdata.lock")), first_lock, "the lock as if it had run");
    // the restored outputs are staged as a run's are: the metric stays a plain git file
    assert_eq!(env.git(&clone, &["show", ":metrics.json"]).stdout, "{\"lr\": 0.1}");
    let model = read(&clone.join("model.bin"));
    assert_eq!(env.git(&clone, &["show", ":model.bin"]).stdout, pointer_of(&model));
    // now up to date; and without a lock entry it comes back from the cache too
    assert!(repro(&env, &clone, &[]).stdout.ends_with("Stages: 0 ran, 1 up to date\n"));
    std::fs::remove_file(clone.join("gitdata.lock")).expect("rm");
    std::fs::remove_dir_all(clone.join("report")).expect("rm");
    let out = repro(&env, &clone, &[]);
    assert!(out.stdout.contains("Restored train from the run cache (never ran"), "{}", out.stdout);
    assert_eq!((trace(&trace_path), outputs(&clone)), ("train\ntrain\n".into(), first));

    // --no-run-cache runs the stage, and records nothing
    let runs = clone.join(".git/data/runs");
    let before = files(&runs).len();
    set_lr(&clone, "0.2");
    let out = repro(&env, &clone, &["--no-run-cache"]);
    assert!(out.stdout.contains("Running train: param `train.lr` changed"), "{}", out.stdout);
    assert_eq!(trace(&trace_path), "train\ntrain\ntrain\n");
    assert_eq!(files(&runs).len(), before);
}

#[test]
fn a_missing_object_or_a_remote_that_is_down_makes_the_stage_run() {
    let env = Env::new();
    let (_repo, trace_path, first, _) = ran_twice_and_pushed(&env, |_| {});
    let store = env.path("rc-store");
    // the remote lost the metric of the lr 0.1 run: that entry is a miss
    let metric = sha256(&first[3]);
    std::fs::remove_file(store_object(&store, &metric)).expect("rm");
    let (clone, _) = env.clone_of("rc", "b");
    set_lr(&clone, "0.1");
    let out = repro(&env, &clone, &[]);
    assert!(out.stdout.contains("Running train: param `train.lr` changed"), "{}", out.all());
    assert_eq!(trace(&trace_path), "train\ntrain\ntrain\n");
    assert_eq!(outputs(&clone), first);

    // the remote is gone: a one-line note, and the stage runs
    let moved = env.path("rc-store-away");
    std::fs::rename(&store, &moved).expect("mv");
    set_lr(&clone, "0.3");
    let out = repro(&env, &clone, &[]);
    assert!(out.stdout.contains("Running train: param `train.lr` changed"), "{}", out.all());
    let notes: Vec<&str> = out.stderr.lines().filter(|l| l.contains("note:")).collect();
    assert_eq!(notes.len(), 1, "{}", out.stderr);
    assert!(notes[0].contains("the run cache on remote storage cannot be read"), "{}", out.stderr);
    assert_eq!(trace(&trace_path), "train\ntrain\ntrain\ntrain\n");
}

#[test]
fn gc_keeps_what_recent_entries_name_and_drops_entries_whose_objects_are_gone() {
    let env = Env::new();
    let (repo, _trace, first, _) = ran_twice_and_pushed(&env, |_| {});
    let store = env.path("rc-store");
    // the lr 0.1 metric is named by no pointer, only by a run-cache entry
    let metric = sha256(&first[3]);
    assert!(store_object(&store, &metric).is_file());
    let local_metric = store_object(&repo.join(".git/data"), &metric);
    assert!(local_metric.is_file());
    let out = env.data(&repo, &["gc", "--remote", "--force", "--grace", "0"]);
    assert!(out.stdout.contains("2 recent entries kept"), "{}", out.stdout);
    assert!(store_object(&store, &metric).is_file(), "{}", out.stdout);
    assert!(local_metric.is_file(), "{}", out.stdout);
    assert_eq!(files(&store.join("runs")).len(), 2);

    // an entry whose object the remote lost is dropped there
    let model = sha256(&first[0]);
    std::fs::remove_file(store_object(&store, &model)).expect("rm");
    let out = env.data(&repo, &["gc", "--remote", "--force", "--grace", "0"]);
    assert!(out.stdout.contains("1 recent entry kept"), "{}", out.stdout);
    assert_eq!(files(&store.join("runs")).len(), 1, "{}", out.stdout);

    // entries older than data.runCacheDays are roots no more: they go, and what only they named
    env.git(&repo, &["config", "data.runCacheDays", "0"]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = env.data(&repo, &["gc", "--remote", "--force", "--grace", "0"]);
    assert!(files(&store.join("runs")).is_empty(), "{}", out.stdout);
    assert!(!store_object(&store, &metric).exists(), "{}", out.stdout);
    assert!(!local_metric.exists(), "{}", out.stdout);
    assert!(
        files(&repo.join(".git/data/runs")).iter().all(|p| p.to_string_lossy().contains("pushed"))
    );
}

#[test]
fn on_s3_a_lookup_is_one_read_and_a_fresh_clone_restores() {
    let server = crate::s3server::S3Server::start();
    let env = Env::new();
    let (_repo, trace_path, first, _) =
        ran_twice_and_pushed(&env, |repo| env.use_s3(repo, &server, "team/rc"));
    let entries = files(&server.object_file("team/rc/runs"));
    assert_eq!(entries.len(), 2, "{entries:?}");
    let (clone, out) = env.clone_of("rc", "b");
    assert_eq!(out.code, 0, "{}", out.all());
    // a miss: one GET of the one key, no listing
    server.faults.reset_counts();
    set_lr(&clone, "0.5");
    let out = repro(&env, &clone, &[]);
    assert!(out.stdout.contains("Running train: param `train.lr` changed"), "{}", out.all());
    assert_eq!((server.faults.count("ListObjectsV2"), server.faults.count("GetObject")), (0, 1));
    // a hit: restored from the bucket, nothing run
    server.faults.reset_counts();
    set_lr(&clone, "0.1");
    let out = repro(&env, &clone, &[]);
    assert!(out.stdout.contains("Restored train from the run cache"), "{}", out.all());
    assert_eq!(server.faults.count("ListObjectsV2"), 0);
    assert_eq!(trace(&trace_path), "train\ntrain\ntrain\n");
    assert_eq!(outputs(&clone), first);
}

#[test]
fn an_entry_whose_object_cannot_be_pushed_stays_local() {
    let env = Env::new();
    let (repo, _trace) = project(&env, |_| {});
    repro(&env, &repo, &[]);
    env.git(&repo, &["commit", "-qm", "ran"]);
    // the metric's object is gone from the cache: its entry cannot go up without it
    let metric = sha256(&read(&repo.join("metrics.json")));
    std::fs::remove_file(store_object(&repo.join(".git/data"), &metric)).expect("rm");
    let out = env.data(&repo, &["push"]);
    assert!(out.stderr.contains("1 run-cache entry was not pushed"), "{}", out.all());
    let store = env.path("rc-store");
    assert!(files(&store.join("runs")).is_empty(), "no entry without its objects");
    assert!(store_object(&store, &sha256(&read(&repo.join("model.bin")))).is_file());
    // once a run stores it again, the entry goes up after it
    repro(&env, &repo, &["-f"]);
    let out = env.data(&repo, &["push"]);
    assert!(out.stdout.contains("Uploaded 1 run-cache entry"), "{}", out.all());
    assert!(store_object(&store, &metric).is_file());
    assert_eq!(files(&store.join("runs")).len(), 1);
}
