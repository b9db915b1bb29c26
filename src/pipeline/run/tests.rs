//! The scheduler's unit tests: events in order, the early cutoff, stop and keep-going.

use super::*;
use crate::pipeline::load::load;

/// Runs the pipeline `yaml` in `root`; returns the events as text and the summary.
fn go(root: &std::path::Path, yaml: &str, keep_going: bool) -> (Vec<String>, Summary) {
    std::fs::write(root.join("dvc.yaml"), yaml).unwrap();
    let p = load(root, "").unwrap();
    let paths = Paths {
        root: root.to_path_buf(),
        lock: root.join("gitdata.lock"),
        tmp: root.join("tmp"),
        logs: root.join("logs"),
        stats: crate::pipeline::statcache::Stats::none(),
        dvc: Default::default(),
        groups: crate::pipeline::groups::Groups::none(),
        unstaged: root.join("unstaged"),
    };
    let lock = LockFile::read(&paths.lock).unwrap();
    let store = Store::new(root.join("cache"));
    let opts = Options { jobs: 1, force: false, keep_going };
    let mut events = Vec::new();
    let selected = vec![true; p.stages.len()];
    let summary = run(&p, &selected, &store, &lock, &opts, &paths, None, &mut |e| {
        events.push(match e {
            Event::Started { stage, reason } => format!("start {stage}: {reason}"),
            Event::Done { stage, .. } => format!("done {stage}"),
            Event::UpToDate { stage, cutoff } => format!("up to date {stage} cutoff={cutoff}"),
            Event::Frozen { stage } => format!("frozen {stage}"),
            Event::Failed { stage, .. } => format!("failed {stage}"),
            Event::Skipped { stage, failed } => format!("skipped {stage} after {failed}"),
            Event::Restored { stage, .. } => format!("restored {stage}"),
            Event::Adopted { stage } => format!("adopted {stage}"),
            Event::Note(note) => format!("note {note}"),
        })
    })
    .unwrap();
    (events, summary)
}

#[test]
fn frozen_always_changed_and_the_early_cutoff() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("seed"), "s").unwrap();
    let yaml = "stages:\n  a:\n    cmd: echo x > a.txt\n    deps: [seed]\n    outs: [a.txt]\n  b:\n    cmd: cp a.txt b.txt\n    deps: [a.txt]\n    outs: [b.txt]\n  \
                c:\n    cmd: date > c.txt\n    outs: [c.txt]\n    always_changed: true\n  f:\n    cmd: exit 1\n    frozen: true\n";
    let (events, summary) = go(root, yaml, false);
    let never = "never ran (no entry in gitdata.lock)";
    assert_eq!(
        events,
        [
            format!("start a: {never}"),
            "done a".into(),
            "start c: always_changed".into(),
            "done c".into(),
            "frozen f".into(),
            format!("start b: {never}"),
            "done b".into(),
        ]
    );
    assert_eq!((summary.ran, summary.up_to_date.len()), (vec![0, 2, 1], 0));
    let lock = LockFile::read(&root.join("gitdata.lock")).unwrap();
    assert_eq!(lock.stages.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    // same bytes from another command: a runs, b does not
    let (events, _) = go(root, &yaml.replace("echo x > a.txt", "printf 'x\\n' > a.txt"), false);
    assert_eq!(
        events,
        [
            "start a: cmd changed",
            "done a",
            "start c: always_changed",
            "done c",
            "frozen f",
            "up to date b cutoff=true"
        ]
    );
}

#[test]
fn a_failure_stops_the_run_or_with_keep_going_only_its_dependents() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let yaml = "stages:\n  bad:\n    cmd: exit 1\n    outs: [bad.txt]\n  mid:\n    cmd: cp bad.txt mid.txt\n    deps: [bad.txt]\n    outs: [mid.txt]\n  \
                end:\n    cmd: cp mid.txt end.txt\n    deps: [mid.txt]\n    outs: [end.txt]\n  ok:\n    cmd: echo > ok.txt\n    outs: [ok.txt]\n";
    let never = "never ran (no entry in gitdata.lock)";
    let (events, summary) = go(root, yaml, false);
    assert_eq!(events, [format!("start bad: {never}"), "failed bad".into()]);
    assert_eq!((summary.failed, summary.skipped, summary.ran.len()), (1, 0, 0));
    assert!(!root.join("gitdata.lock").exists());
    let (events, summary) = go(root, yaml, true);
    assert_eq!(
        events,
        [
            format!("start bad: {never}"),
            "failed bad".into(),
            "skipped mid after bad".into(),
            "skipped end after bad".into(),
            format!("start ok: {never}"),
            "done ok".into(),
        ]
    );
    assert_eq!((summary.failed, summary.skipped, summary.ran), (1, 2, vec![3]));
    let lock = LockFile::read(&root.join("gitdata.lock")).unwrap();
    assert_eq!(lock.stages.keys().collect::<Vec<_>>(), ["ok"]);
}
