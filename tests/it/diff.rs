//! `git data diff`: tracked files added, deleted and changed between revisions, from pointers.

use crate::common::*;

#[test]
fn diff_lists_tracked_changes_between_two_revisions() {
    let env = Env::new();
    let repo = env.project("diff");
    let (model1, model2, table, gone) =
        (bytes(1, 3000), bytes(2, 4000), bytes(3, 100), bytes(4, 50));
    write(&repo.join("model.bin"), &model1);
    write(&repo.join("data/gone.csv"), &gone);
    write(&repo.join("code.py"), b"print(1)\n");
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "v1"]);
    env.git(&repo, &["tag", "v1.0"]);
    write(&repo.join("model.bin"), &model2);
    write(&repo.join("data/table.csv"), &table);
    write(&repo.join("code.py"), b"print(2)\n");
    env.git(&repo, &["rm", "-q", "data/gone.csv"]);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "v2"]);
    // only the data remote's pointers are read: the cache may be empty
    std::fs::remove_dir_all(repo.join(".git/data/objects")).unwrap();

    let out = env.data(&repo, &["diff", "v1.0"]);
    let short = |d: &[u8]| sha256(d)[..12].to_string();
    let expected = format!(
        "added     data/table.csv  100 B ({})\ndeleted   data/gone.csv  50 B ({})\nmodified  model.bin  2.9 KiB ({}) -> 3.9 KiB ({})\n",
        short(&table),
        short(&gone),
        short(&model1),
        short(&model2)
    );
    // sorted by path
    let mut lines: Vec<&str> = expected.lines().collect();
    lines.sort_by_key(|l| l.split_whitespace().nth(1).unwrap().to_string());
    assert_eq!(out.stdout, lines.join("\n") + "\n");

    let json = env.data(&repo, &["diff", "v1.0", "HEAD", "--json", "--", "model.bin"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1, "{}", json.stdout);
    assert_eq!(v[0]["status"], "modified");
    assert_eq!(v[0]["old"]["oid"], sha256(&model1));
    assert_eq!(v[0]["new"]["size"], 4000);

    let same = env.data(&repo, &["diff", "HEAD", "HEAD"]);
    assert_eq!(same.stdout, "");
    assert!(same.stderr.contains("no tracked file differs"), "{}", same.stderr);
    let bad = env.data_fails(&repo, &["diff", "no-such-rev"]);
    assert!(bad.stderr.contains("no-such-rev"), "{}", bad.stderr);
}
