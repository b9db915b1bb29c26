//! `git data status` on a tree large enough for its parallel workers, with and without the
//! record of pointer blobs it keeps (`pointers.log`): every file's state must be the truth.

use crate::common::*;
use std::collections::BTreeMap;
use std::path::Path;

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
    assert!(text.contains("101 deleted, 1 modified, 1 not in cache, 1 pointer only"), "{text}");
}
