//! `git data status` on a tree large enough for its parallel workers, with and without the
//! record of pointer blobs it keeps (`pointers.log`): every file's state must be the truth.

use crate::common::*;
use std::collections::BTreeMap;
use std::path::Path;

const MIB: usize = 1 << 20;

/// path → (modified, deleted, pointer only, in cache, pushed), from `status --json`.
type States = BTreeMap<String, (bool, bool, bool, bool, bool)>;

fn states(env: &Env, repo: &Path) -> States {
    let out = env.data(repo, &["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let flag = |f: &serde_json::Value, k: &str| f[k].as_bool().expect(k);
    doc["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            let path = f["path"].as_str().expect("path").to_string();
            let state = (
                flag(f, "modified"),
                flag(f, "deleted"),
                flag(f, "pointer_only"),
                flag(f, "in_cache"),
                flag(f, "pushed"),
            );
            (path, state)
        })
        .collect()
}

#[test]
fn many_files_each_in_its_true_state() {
    let env = Env::new();
    let repo = env.project("many");
    let name = |i: usize| format!("data/d{:02}/f{i:04}.bin", i / 100);
    let content = |i: usize| bytes(1000 + i as u64, 100 + i % 700);
    for i in 0..2500 {
        write(&repo.join(name(i)), &content(i));
    }
    env.data(&repo, &["add", "-q", "."]);
    env.git(&repo, &["commit", "-q", "-m", "many"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    let clean = (false, false, false, true, true);
    let all = states(&env, &repo);
    assert_eq!(all.len(), 2500);
    assert!(all.values().all(|s| *s == clean));

    write(&repo.join(name(123)), b"changed");
    std::fs::remove_file(repo.join(name(400))).unwrap();
    std::fs::remove_dir_all(repo.join("data/d24")).unwrap(); // a whole directory: 2400..2500
    write(&repo.join(name(777)), pointer_of(&content(777)).as_bytes());
    std::fs::remove_file(object_path(&repo.join(".git/data"), &content(1999))).unwrap();
    let mut want: States = (0..2500).map(|i| (name(i), clean)).collect();
    want.insert(name(123), (true, false, false, true, true));
    want.insert(name(400), (false, true, false, true, true));
    for i in 2400..2500 {
        want.insert(name(i), (false, true, false, true, true));
    }
    want.insert(name(777), (false, false, true, true, true));
    want.insert(name(1999), (false, false, false, false, true));

    // read from git (no record), then from the record status wrote, then past a damaged one
    let record = repo.join(".git/data/pointers.log");
    std::fs::remove_file(&record).unwrap();
    assert_eq!(states(&env, &repo), want);
    assert!(std::fs::metadata(&record).unwrap().len() > 2500 * 60, "status keeps the record");
    assert_eq!(states(&env, &repo), want);
    let mut damaged = read(&record);
    damaged.truncate(damaged.len() / 2 + 7);
    damaged.extend_from_slice(b"garbage");
    std::fs::write(&record, damaged).unwrap();
    assert_eq!(states(&env, &repo), want);

    let text = env.data(&repo, &["status"]).stdout;
    assert!(text.contains("2500 tracked files"), "{text}");
    assert!(text.contains("2396 up to date"), "{text}");
    assert!(
        text.contains("101 deleted, 1 modified, 1 not in cache (on remote), 1 pointer only"),
        "{text}"
    );
}

fn file<'a>(doc: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    let files = doc["files"].as_array().expect("files");
    files.iter().find(|f| f["path"] == path).unwrap_or_else(|| panic!("{path} not listed: {doc}"))
}

#[test]
fn status_labels_each_file_truly() {
    let env = Env::new();
    let repo = env.project("honest");
    // committed to git before its folder was tracked
    write(&repo.join("raw/early.csv"), &bytes(1300, 4_000));
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "raw csv"]);
    let pushed = bytes(1301, 2 * MIB);
    write(&repo.join("a.bin"), &pushed);
    write(&repo.join("data/keep/.gitkeep"), b"");
    write(&repo.join("b.bin"), &bytes(1302, 3_000));
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "data"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    // committed and pushed to git without its data (the hook skipped)
    write(&repo.join("c.bin"), &bytes(1303, 5_000));
    env.git(&repo, &["add", "c.bin"]);
    env.git(&repo, &["commit", "-q", "-m", "c"]);
    env.git(&repo, &["push", "-q", "--no-verify", "origin", "main"]);

    env.data(&repo, &["track", "raw/"]);
    env.git(&repo, &["add", ".gitattributes"]);
    env.git(&repo, &["commit", "-q", "-m", "track raw/"]);
    env.git(&repo, &["push", "-q", "--no-verify", "origin", "main"]);
    write(&repo.join("a.bin"), &bytes(1304, 7_000));
    let doc: serde_json::Value =
        serde_json::from_str(&env.data(&repo, &["status", "--json"]).stdout).unwrap();
    assert_eq!(file(&doc, "a.bin")["modified"], true);
    assert_eq!(file(&doc, "a.bin")["worktree_size"], 7_000, "the new size");
    assert_eq!(file(&doc, "a.bin")["size"], 2 * MIB as u64, "the committed size");
    assert_eq!(file(&doc, "raw/early.csv")["not_converted"], true);
    assert_eq!(file(&doc, "c.bin")["pushed"], false);
    let listed = |p: &str| doc["files"].as_array().unwrap().iter().any(|f| f["path"] == p);
    assert!(!listed("data/keep/.gitkeep"), "an empty file is not data: {doc}");
    let text = env.data(&repo, &["status"]).stdout;
    assert!(text.contains("6.8 KiB  a.bin"), "the modified file's new size: {text}");
    assert!(text.contains("git add --renormalize"), "{text}");
    assert!(!text.contains(".gitkeep"), "{text}");

    // a clone that downloaded nothing: on the remote, or lost, never "not pushed"
    let origin = env.path("honest-origin.git");
    let out = Out::from(
        env.command(env.root(), "git")
            .env("GIT_DATA_SKIP_SMUDGE", "1")
            .args(["clone", "-q", origin.to_str().unwrap(), "honest-ci"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let ci = env.path("honest-ci");
    let text = env.data(&ci, &["status"]).stdout;
    assert!(text.contains("pointer only, not in cache (on remote)"), "{text}");
    assert!(text.contains("not in cache, not on the remote") && text.contains("c.bin"), "{text}");
    assert!(!text.contains("not pushed"), "{text}");
    assert!(text.contains("whoever committed them must `git data push`"), "{text}");
    // what the remote was found to hold is recorded: asked again only when it must be
    std::fs::rename(env.path("honest-store"), env.path("honest-away")).unwrap();
    let text = env.data(&ci, &["status"]).stdout;
    assert!(text.contains("pointer only, not in cache (on remote)"), "{text}");
    assert!(text.contains("note: could not ask storage"), "{text}");
    std::fs::rename(env.path("honest-away"), env.path("honest-store")).unwrap();

    // a conflict on a data file is listed as one
    env.git(&repo, &["checkout", "-q", "--", "a.bin"]);
    env.git(&repo, &["checkout", "-q", "-b", "other"]);
    write(&repo.join("b.bin"), &bytes(1305, 3_000));
    env.git(&repo, &["commit", "-q", "-am", "theirs"]);
    env.git(&repo, &["checkout", "-q", "main"]);
    write(&repo.join("b.bin"), &bytes(1306, 3_000));
    env.git(&repo, &["commit", "-q", "-am", "ours"]);
    let merge = env.run(&repo, "git", &["merge", "-q", "other"]);
    assert_ne!(merge.code, 0, "{}", merge.all());
    let text = env.data(&repo, &["status"]).stdout;
    assert!(text.contains("conflicted") && text.contains("b.bin"), "{text}");
    assert!(text.contains("git checkout --ours PATH"), "{text}");
}

#[test]
fn ls_files_of_another_revision_marks_what_the_cache_holds() {
    let env = Env::new();
    let repo = env.project("lsrev");
    let (v1, v2) = (bytes(1310, 4_000), bytes(1311, 5_000));
    write(&repo.join("a.bin"), &v1);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "v1"]);
    write(&repo.join("a.bin"), &v2);
    env.git(&repo, &["commit", "-q", "-am", "v2"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    let (clone, out) = env.clone_of("lsrev", "lsrev-clone");
    assert_eq!(out.code, 0, "{}", out.all());
    let line = |rev: &str| env.data(&clone, &["ls-files", rev]).stdout;
    assert!(line("HEAD").contains(" * "), "checked out: {}", line("HEAD"));
    assert!(line("HEAD~1").contains(" - "), "v1 was never downloaded: {}", line("HEAD~1"));
    env.git(&clone, &["checkout", "-q", "HEAD~1"]);
    assert_eq!(read(&clone.join("a.bin")), v1);
    assert!(line("main").contains(" * "), "v2 is cached: {}", line("main"));
}
