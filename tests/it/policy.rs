//! The large-file policy through real git: pushes refused with the report and let through
//! after the fix, `always-track` and `allow`, the default limit, `git data check` and
//! `git data track --above` for present and future files.

use crate::common::*;
use std::path::Path;

const MIB: usize = 1 << 20;

fn commit_all(env: &Env, repo: &Path, message: &str) -> String {
    env.git(repo, &["add", "-A"]);
    env.git(repo, &["commit", "-q", "-m", message]);
    env.git(repo, &["rev-parse", "HEAD"]).stdout.trim().to_string()
}

fn origin_main(env: &Env, name: &str) -> String {
    let origin = env.path(&format!("{name}-origin.git"));
    env.run(&origin, "git", &["rev-parse", "--verify", "-q", "refs/heads/main"]).stdout
}

fn write_policy(repo: &Path, policy: &str) {
    let path = repo.join(".gitdata.yaml");
    let mut text = String::from_utf8(read(&path)).unwrap_or_default();
    text.push_str(policy);
    write(&path, text.as_bytes());
}

#[test]
fn push_is_refused_with_the_report_then_passes_after_the_fix() {
    let env = Env::new();
    let repo = env.project("pp");
    write(&repo.join("main.py"), b"print(1)\n");
    commit_all(&env, &repo, "code");
    env.git(&repo, &["push", "-q", "origin", "main"]);
    let before = origin_main(&env, "pp");

    let table = bytes(1, 6 * MIB);
    let model = bytes(2, 1000);
    write(&repo.join("tables/big table.csv"), &table);
    write(&repo.join("model.bin"), &model);
    let bad = commit_all(&env, &repo, "Add the big table");
    let push = env.run(&repo, "git", &["push", "origin", "main"]);
    assert_ne!(push.code, 0, "push must be refused:\n{}", push.all());
    let err = &push.stderr;
    for needle in [
        "push refused: the pushed commits add 1 file that breaks the large-file policy",
        "tables/big table.csv",
        "6.0 MiB",
        &format!("added by {} \"Add the big table\"", &bad[..10]),
        "larger than max-blob-size (5.0 MiB)",
        "git data migrate import --include \"tables/big[[:space:]]table.csv\" \"main\"",
        "git data migrate import --no-rewrite \"tables/big table.csv\"",
        "GIT_DATA_SKIP_POLICY=1 git push",
    ] {
        assert!(err.contains(needle), "missing `{needle}` in:\n{err}");
    }
    assert!(!err.contains("model.bin"), "pointers never break the policy:\n{err}");
    assert_eq!(origin_main(&env, "pp"), before, "the remote branch is unchanged");
    assert!(
        !object_path(&env.path("pp-store"), &model).exists(),
        "nothing uploaded before the check"
    );
    let check = env.data_fails(&repo, &["check"]);
    assert!(check.stdout.contains("tables/big table.csv"), "{}", check.stdout);

    // the fix exactly as printed: only the commit that is not on the remote is rewritten
    let fix = env
        .data(&repo, &["migrate", "import", "--include", "tables/big[[:space:]]table.csv", "main"]);
    assert!(fix.stdout.contains("commits rewritten: 1 of 1"), "{}", fix.stdout);
    assert!(fix.stdout.contains("commits already on a remote"), "{}", fix.stdout);
    assert_eq!(env.git(&repo, &["rev-parse", "HEAD~1"]).stdout.trim(), before.trim());
    assert_eq!(read(&repo.join("tables/big table.csv")), table);
    assert_clean(&env, &repo);
    assert_eq!(env.git(&repo, &["show", "HEAD:tables/big table.csv"]).stdout, pointer_of(&table));
    env.data(&repo, &["check"]);
    let push = env.git(&repo, &["push", "origin", "main"]);
    assert!(push.stderr.contains("uploaded 2 files"), "{}", push.stderr);
    assert_eq!(read(&object_path(&env.path("pp-store"), &table)), table);
    let ok = env.data(&repo, &["check", "HEAD"]);
    assert!(ok.stdout.contains(": ok"), "{}", ok.stdout);
}

#[test]
fn always_track_patterns_allow_exceptions_and_the_escape_hatch() {
    let env = Env::new();
    let repo = env.project("at");
    write_policy(
        &repo,
        "policy:\n  always-track: [\"*.pkl\"]\n  allow: [vendor/, \"docs/*.png\"]\n",
    );
    write(&repo.join("models/clf.pkl"), &bytes(3, 300));
    write(&repo.join("vendor/lib.so"), &bytes(4, 6 * MIB));
    write(&repo.join("docs/logo.png"), &bytes(5, 6 * MIB));
    write(&repo.join("docs/deep/photo.png"), &bytes(6, 6 * MIB));
    let id = commit_all(&env, &repo, "Add things");
    let push = env.run(&repo, "git", &["push", "origin", "main"]);
    assert_ne!(push.code, 0, "{}", push.all());
    let err = &push.stderr;
    assert!(err.contains("add 2 files that break"), "{err}");
    assert!(
        err.contains("models/clf.pkl") && err.contains("matches always-track \"*.pkl\""),
        "{err}"
    );
    assert!(
        err.contains("docs/deep/photo.png"),
        "`docs/*.png` does not reach subdirectories: {err}"
    );
    assert!(err.contains(&id[..10]), "{err}");
    assert!(
        err.contains("git data migrate import --include \"docs/deep/photo.png,*.pkl\" \"main\""),
        "{err}"
    );
    assert!(!err.contains("vendor/lib.so") && !err.contains("docs/logo.png"), "{err}");
    assert_eq!(origin_main(&env, "at"), "");

    env.set_env("GIT_DATA_SKIP_POLICY", "1");
    let push = env.git(&repo, &["push", "origin", "main"]);
    assert!(
        push.stderr.contains("GIT_DATA_SKIP_POLICY is set: pushing 2 files"),
        "{}",
        push.stderr
    );
    assert_eq!(origin_main(&env, "at").trim(), id);
}

#[test]
fn five_mib_by_default_and_the_limit_can_be_changed_or_switched_off() {
    let env = Env::new();
    let repo = env.path("plain");
    let origin = env.path("plain-origin.git");
    env.git(env.root(), &["init", "-q", "--bare", origin.to_str().unwrap()]);
    env.git(env.root(), &["init", "-q", repo.to_str().unwrap()]);
    env.git(&repo, &["remote", "add", "origin", origin.to_str().unwrap()]);
    env.data(&repo, &["install"]);
    write(&repo.join("exactly.dat"), &bytes(7, 5 * MIB));
    commit_all(&env, &repo, "at the limit");
    env.git(&repo, &["push", "-q", "origin", "main"]);
    write(&repo.join("over.dat"), &bytes(8, 5 * MIB + 1));
    commit_all(&env, &repo, "over the limit");
    let push = env.run(&repo, "git", &["push", "origin", "main"]);
    assert_ne!(push.code, 0);
    assert!(push.stderr.contains("over.dat") && push.stderr.contains("5.0 MiB"), "{}", push.stderr);

    write(&repo.join(".gitdata.yaml"), b"policy:\n  max-blob-size: 10MiB\n");
    commit_all(&env, &repo, "raise the limit");
    env.git(&repo, &["push", "-q", "origin", "main"]);
    write(&repo.join("huge.dat"), &bytes(9, 11 * MIB));
    commit_all(&env, &repo, "huge");
    assert_ne!(env.run(&repo, "git", &["push", "origin", "main"]).code, 0);
    write(&repo.join(".gitdata.yaml"), b"policy:\n  max-blob-size: none\n");
    commit_all(&env, &repo, "no limit");
    env.git(&repo, &["push", "-q", "origin", "main"]);

    write(&repo.join(".gitdata.yaml"), b"policy:\n  max-blob-size: huge\n");
    let bad = env.data_fails(&repo, &["check"]);
    assert!(
        bad.stderr.contains(".gitdata.yaml:2:") && bad.stderr.contains("invalid size `huge`"),
        "{}",
        bad.stderr
    );
}

#[test]
fn check_reports_malformed_pointers_and_missing_objects_with_exit_codes() {
    let env = Env::new();
    let repo = env.project("ck");
    let unborn = env.data(&repo, &["check"]);
    assert!(unborn.stdout.contains("nothing to check (no commits yet)"), "{}", unborn.stdout);
    let out = env.run(&repo, "git", &["data", "check", "HEAD"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("`HEAD` names HEAD, but the current branch has no commits yet"),
        "{}",
        out.stderr
    );
    let model = bytes(10, 4000);
    write(&repo.join("model.bin"), &model);
    commit_all(&env, &repo, "model");
    env.git(&repo, &["push", "-q", "origin", "main"]);
    let clean = env.data(&repo, &["check"]);
    assert!(
        clean.stdout.contains("check: HEAD --not --remotes: 0 file versions added"),
        "{}",
        clean.stdout
    );

    let ghost = bytes(11, 5000); // never stored anywhere
    write(
        &repo.join("notes/broken.txt"),
        b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 3\n",
    );
    write(&repo.join("ghost.txt"), pointer_of(&ghost).as_bytes());
    let bad = commit_all(&env, &repo, "Add odd files");
    let out = env.data_fails(&repo, &["check"]);
    let text = &out.stdout;
    assert!(text.contains("pointers: 1 malformed:") && text.contains("notes/broken.txt"), "{text}");
    assert!(text.contains(&format!("added by {} \"Add odd files\"", &bad[..10])), "{text}");
    assert!(
        text.contains("objects: 1 missing (neither in the local cache nor on storage)"),
        "{text}"
    );
    assert!(text.contains(&format!("ghost.txt  object {}", &sha256(&ghost)[..12])), "{text}");
    assert!(text.contains("2 problem(s)"), "{text}");
    let offline = env.data_fails(&repo, &["check", "--offline"]);
    assert!(
        offline.stdout.contains("1 object(s) not verified")
            && offline.stdout.contains("1 problem(s)"),
        "{}",
        offline.stdout
    );
    assert_eq!(env.run(&repo, "git", &["data", "check", "nope..HEAD"]).code, 2);
    assert_eq!(
        env.run(&repo, "git", &["data", "check", "HEAD~1"]).code,
        0,
        "history before the bad commit"
    );
    assert_eq!(env.run(&repo, "git", &["data", "check", "HEAD~1..HEAD"]).code, 1);

    // an object only on the remote counts as present; gone from both, it is missing
    env.git(&repo, &["reset", "-q", "--hard", "HEAD~1"]);
    std::fs::remove_dir_all(repo.join(".git/data")).unwrap();
    let ok = env.data(&repo, &["check", "HEAD"]);
    assert!(ok.stdout.contains("(1 pointer): ok"), "{}", ok.stdout);
    std::fs::remove_file(object_path(&env.path("ck-store"), &model)).unwrap();
    std::fs::remove_dir_all(repo.join(".git/data/remotes")).unwrap();
    let gone = env.data_fails(&repo, &["check", "HEAD"]);
    assert!(gone.stdout.contains("model.bin  object"), "{}", gone.stdout);
}

#[test]
fn track_above_tracks_present_and_future_files() {
    let env = Env::new();
    let repo = env.project("ta");
    let present = bytes(12, 2 * MIB);
    write(&repo.join("tables/present.csv"), &present);
    write(&repo.join("small.txt"), b"small\n");
    commit_all(&env, &repo, "raw table");
    let out = env.data(&repo, &["track", "--above", "1MiB"]);
    assert!(out.stdout.contains("Tracking \"tables/present.csv\" (2.0 MiB)"), "{}", out.stdout);
    let hook = String::from_utf8(read(&repo.join(".git/hooks/pre-commit"))).unwrap();
    assert!(hook.contains("git-data hook pre-commit"), "{hook}");
    let yaml = String::from_utf8(read(&repo.join(".gitdata.yaml"))).unwrap();
    assert!(yaml.contains("track-above: 1MiB"), "{yaml}");
    let attrs = String::from_utf8(read(&repo.join(".gitattributes"))).unwrap();
    assert!(attrs.contains("tables/present.csv filter=data diff=data merge=data -text"), "{attrs}");
    assert_eq!(env.git(&repo, &["show", ":tables/present.csv"]).stdout, pointer_of(&present));
    commit_all(&env, &repo, "track by size");
    assert_clean(&env, &repo);
    assert_eq!(read(&repo.join("tables/present.csv")), present);

    // a new large file is tracked when it is committed; small ones are left alone
    let future = bytes(13, 3 * MIB);
    write(&repo.join("out/new model.dat"), &future);
    write(&repo.join("notes.txt"), b"notes\n");
    env.git(&repo, &["add", "-A"]);
    let commit = env.git(&repo, &["commit", "-m", "new model"]);
    assert!(
        commit.stderr.contains("out/new model.dat (3.0 MiB) is over policy.track-above"),
        "{}",
        commit.stderr
    );
    assert_eq!(env.git(&repo, &["show", "HEAD:out/new model.dat"]).stdout, pointer_of(&future));
    assert_eq!(env.git(&repo, &["show", "HEAD:notes.txt"]).stdout, "notes\n");
    let attrs = env.git(&repo, &["show", "HEAD:.gitattributes"]).stdout;
    assert!(attrs.contains("out/new[[:space:]]model.dat filter=data"), "{attrs}");
    assert_clean(&env, &repo);

    // `git commit -a` (the hook sees git's locked index), root-level file anchored
    write(&repo.join("notes.txt"), b"notes v2\n");
    let root_file = bytes(14, 2 * MIB);
    write(&repo.join("root.dat"), &root_file);
    env.git(&repo, &["add", "-N", "root.dat"]);
    env.git(&repo, &["commit", "-q", "-a", "-m", "commit -a"]);
    assert_eq!(env.git(&repo, &["show", "HEAD:root.dat"]).stdout, pointer_of(&root_file));
    assert!(
        env.git(&repo, &["show", "HEAD:.gitattributes"]).stdout.contains("/root.dat filter=data")
    );
    assert_clean(&env, &repo);

    // `git commit PATH` commits from a temporary index: refused with the fix
    write(&repo.join("partial.dat"), &bytes(15, 2 * MIB));
    env.git(&repo, &["add", "partial.dat"]);
    let refused = env.run(&repo, "git", &["commit", "-m", "partial", "partial.dat"]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("git data track \"partial.dat\""), "{}", refused.stderr);
    env.git(&repo, &["commit", "-q", "-m", "partial"]);
    assert!(env.git(&repo, &["show", "HEAD:partial.dat"]).stdout.starts_with("version "));

    // everything converted is pushed and cloned as data; the policy is satisfied
    env.git(&repo, &["push", "-q", "origin", "main"]);
    env.data(&repo, &["check", "HEAD"]);
    let (clone, out) = env.clone_of("ta", "ta-clone");
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(read(&clone.join("out/new model.dat")), future);
    assert_eq!(read(&clone.join("tables/present.csv")), present);
}

#[test]
fn a_push_of_many_commits_finds_the_one_bad_commit() {
    let env = Env::new();
    let repo = env.project("many");
    // 600 commits through fast-import; commit 300 adds a large file
    let mut stream = Vec::new();
    let big = bytes(16, 6 * MIB);
    for i in 1..=600 {
        let msg = format!("commit {i}");
        stream.extend_from_slice(
            format!(
                "commit refs/heads/main\ncommitter T <t@example.invalid> {} +0000\ndata {}\n{msg}\n",
                1_700_000_000 + i,
                msg.len()
            )
            .as_bytes(),
        );
        let body = format!("line {i}\n");
        stream.extend_from_slice(
            format!("M 100644 inline src/f{}.txt\ndata {}\n{body}\n", i % 40, body.len())
                .as_bytes(),
        );
        if i == 300 {
            stream.extend_from_slice(
                format!("M 100644 inline blob.dat\ndata {}\n", big.len()).as_bytes(),
            );
            stream.extend_from_slice(&big);
            stream.push(b'\n');
        }
    }
    let mut child = env
        .command(&repo, "git")
        .args(["fast-import", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &stream).unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    env.git(&repo, &["reset", "-q", "--hard", "main"]);
    let bad = env.git(&repo, &["rev-parse", "main~300"]).stdout;
    let push = env.run(&repo, "git", &["push", "origin", "main"]);
    assert_ne!(push.code, 0);
    assert!(push.stderr.contains("add 1 file that breaks"), "{}", push.stderr);
    assert!(
        push.stderr
            .contains(&format!("blob.dat     6.0 MiB  added by {} \"commit 300\"", &bad[..10])),
        "{}",
        push.stderr
    );
}
