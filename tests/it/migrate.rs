//! `git data migrate import` and `info` on a repository built by fixtures/history-repo.sh:
//! every revision must check out with the same content as before, through real git.

use crate::common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Runs a fixture script into `env`'s directory as `name`.
pub(crate) fn fixture(env: &Env, script: &str, name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(script);
    let dest = env.path(name);
    let out = env.run(env.root(), "bash", &[path.to_str().unwrap(), dest.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{script}: {}", out.all());
    dest
}

/// Per commit subject: path → sha256 of the file's content (a pointer counts as its oid).
pub(crate) type Contents = BTreeMap<String, BTreeMap<String, String>>;

/// The logical content of every commit reachable from any ref (`.gitattributes` aside).
pub(crate) fn contents(env: &Env, repo: &Path) -> Contents {
    let mut out = Contents::new();
    let revs = env.git(repo, &["rev-list", "--branches", "--tags"]).stdout;
    for rev in revs.lines() {
        let subject = env.git(repo, &["log", "-1", "--format=%s", rev]).stdout.trim().to_string();
        let mut files = BTreeMap::new();
        let tree = env.git(repo, &["ls-tree", "-r", "-z", "--format=%(objectname) %(path)", rev]);
        for entry in tree.stdout.split('\0').filter(|e| !e.is_empty()) {
            let (blob, path) = entry.split_once(' ').unwrap();
            if path.ends_with(".gitattributes") {
                continue;
            }
            let data = env.command(repo, "git").args(["cat-file", "blob", blob]).output().unwrap();
            let hash = match git_data::pointer::Pointer::parse(&data.stdout) {
                Ok(p) => p.oid.to_hex(),
                Err(_) => sha256(&data.stdout),
            };
            files.insert(path.to_string(), hash);
        }
        out.insert(subject, files);
    }
    out
}

/// Checks out every commit of `expected` by subject and compares the work tree with it;
/// `git status` must be clean each time.
pub(crate) fn check_out_all(env: &Env, repo: &Path, expected: &Contents) {
    let branch = env.git(repo, &["rev-parse", "--abbrev-ref", "HEAD"]).stdout.trim().to_string();
    for (subject, files) in expected {
        let rev = env.git(repo, &["rev-list", "--all", "-1", "--fixed-strings", "--grep", subject]);
        let rev = rev.stdout.trim();
        assert!(!rev.is_empty(), "no commit {subject:?}");
        env.git(repo, &["checkout", "-q", rev]);
        for (path, hash) in files {
            assert_eq!(&sha256(&read(&repo.join(path))), hash, "{path} at {subject:?}");
        }
        assert_clean(env, repo);
    }
    env.git(repo, &["checkout", "-q", &branch]);
}

/// Gives `repo` a bare `<name>-origin.git` as `origin` and a directory data remote `storage`
/// (`.gitdata.yaml` committed); returns the data remote's directory.
pub(crate) fn add_remotes(env: &Env, repo: &Path, name: &str) -> PathBuf {
    let origin = env.path(&format!("{name}-origin.git"));
    let store = env.path(&format!("{name}-store"));
    std::fs::create_dir_all(&store).unwrap();
    env.git(env.root(), &["init", "-q", "--bare", origin.to_str().unwrap()]);
    env.git(repo, &["remote", "add", "origin", origin.to_str().unwrap()]);
    env.data(repo, &["remote", "add", "storage", store.to_str().unwrap()]);
    env.git(repo, &["add", ".gitdata.yaml"]);
    env.git(repo, &["commit", "-q", "-m", "Data remote"]);
    store
}

fn refs(env: &Env, repo: &Path) -> String {
    env.git(repo, &["for-each-ref", "--format=%(objectname) %(refname)"]).stdout
}

#[test]
fn import_above_rewrites_history_and_a_fresh_clone_restores_it() {
    let env = Env::new();
    let repo = fixture(&env, "history-repo.sh", "hist");
    let before = contents(&env, &repo);
    let old_refs = refs(&env, &repo);
    let old_main = env.git(&repo, &["rev-parse", "main"]).stdout;
    let weights = read(&repo.join("models/weights.bin"));

    let out = env.data(&repo, &["migrate", "import", "--above", "1MiB", "--everything"]);
    let text = out.stdout;
    assert!(text.contains("Moved 8 file versions (6 distinct objects"), "{text}");
    assert!(text.contains("commits rewritten: 6 of 6"), "{text}");
    assert!(text.contains("refs rewritten:    4 (feature, main, v1.0, v1.1)"), "{text}");
    assert!(text.contains("git push --force-with-lease origin feature main"), "{text}");
    // the same logical content in every commit; large files are pointers now
    assert_eq!(contents(&env, &repo), before);
    let blob = env.git(&repo, &["cat-file", "blob", "main:models/weights.bin"]).stdout;
    assert_eq!(blob, pointer_of(&weights));
    assert_eq!(
        env.git(&repo, &["cat-file", "blob", "main:notes.txt"]).stdout,
        "small notes stay in git\n"
    );
    let attrs = env.git(&repo, &["cat-file", "blob", "v1.0:.gitattributes"]).stdout;
    assert!(attrs.contains("/models/my[[:space:]]model.bin filter=data"), "{attrs}");
    assert!(attrs.contains("/data/train.csv filter=data"), "{attrs}");
    // the tag stays annotated, the merge keeps two parents, the rename is still a rename
    assert_eq!(env.git(&repo, &["cat-file", "-t", "v1.0"]).stdout, "tag\n");
    assert!(env.git(&repo, &["cat-file", "tag", "v1.0"]).stdout.contains("Release 1.0"));
    let merge = env.git(&repo, &["log", "--merges", "--format=%P", "main"]).stdout;
    assert_eq!(merge.split_whitespace().count(), 2, "{merge}");
    let renamed = env.git(&repo, &["log", "-M", "--name-status", "--format=", "-1", "main~2"]);
    assert!(
        renamed.stdout.contains("R100\tmodels/model.bin\tmodels/weights.bin"),
        "{}",
        renamed.stdout
    );
    // backups hold the old values; work tree and index match the new HEAD
    let backups = env.git(
        &repo,
        &["for-each-ref", "--format=%(objectname) %(refname)", "refs/git-data/backup/"],
    );
    assert_eq!(backups.stdout.lines().count(), 4, "{}", backups.stdout);
    assert!(backups.stdout.contains(&format!("{} refs/git-data/backup/", old_main.trim())));
    assert!(old_refs.contains(backups.stdout.lines().next().unwrap().split(' ').next().unwrap()));
    assert_eq!(read(&repo.join("models/weights.bin")), weights);
    assert_clean(&env, &repo);
    env.data(&repo, &["fsck"]);
    for rev in ["main", "feature", "v1.0"] {
        let ok = env.data(&repo, &["check", "--offline", rev]).stdout;
        assert!(ok.contains("pointers): ok"), "{ok}");
    }
    check_out_all(&env, &repo, &before);

    // push through a directory data remote; a fresh clone restores every revision
    let store = add_remotes(&env, &repo, "hist");
    env.git(&repo, &["push", "-q", "origin", "main", "feature", "--tags"]);
    assert_eq!(read(&object_path(&store, &weights)), weights);
    let (fresh, out) = env.clone_of("hist", "hist-fresh");
    assert_eq!(out.code, 0, "{}", out.all());
    env.git(&fresh, &["branch", "-q", "feature", "origin/feature"]);
    // commits from before the migration have no .gitdata.yaml: the clone remembers its remote
    check_out_all(&env, &fresh, &before);
    // and a clone of a tag from before the migration takes it from the default branch
    let origin = env.path("hist-origin.git");
    let args = ["clone", "-q", "--branch", "v1.0", origin.to_str().unwrap(), "hist-old"];
    let out = env.run(env.root(), "git", &args);
    assert_eq!(out.code, 0, "{}", out.all());
    let old = env.path("hist-old");
    assert!(!old.join(".gitdata.yaml").exists());
    let listed = env.data(&old, &["ls-files"]).stdout;
    assert!(!listed.is_empty() && listed.lines().all(|l| l.contains(" * ")), "{listed}");
    assert_clean(&env, &old);
    check_out_all(&env, &old, &before);
    // online: every pointer's object is in the cache or on the data remote
    let ok = env.data(&fresh, &["check", "main"]).stdout;
    assert!(ok.contains("(8 pointers): ok"), "{ok}");
}

#[test]
fn import_leaves_pushed_commits_alone_unless_everything() {
    let env = Env::new();
    let repo = fixture(&env, "history-repo.sh", "pushed");
    let origin = env.path("pushed-origin.git");
    env.git(env.root(), &["init", "-q", "--bare", origin.to_str().unwrap()]);
    env.git(&repo, &["remote", "add", "origin", origin.to_str().unwrap()]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    let pushed = env.git(&repo, &["rev-parse", "main"]).stdout;
    let big = bytes(41, 3 << 20);
    write(&repo.join("models/late.bin"), &big);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "A late model"]);

    // the policy (5 MiB default lowered to 1 MiB) flags the pushed history and the new commit
    std::fs::write(repo.join(".gitdata.yaml"), "policy:\n  max-blob-size: 1MiB\n").unwrap();
    let out = env.data_fails(&repo, &["check", "origin/main..main"]);
    assert!(
        out.stdout.contains("models/late.bin") && out.stdout.contains("1 file"),
        "{}",
        out.stdout
    );
    std::fs::remove_file(repo.join(".gitdata.yaml")).unwrap();

    let info = env.data(&repo, &["migrate", "info", "--above", "1MiB"]).stdout;
    assert!(info.contains("(1 commit)") && info.contains("left alone"), "{info}");
    let out = env.data(&repo, &["migrate", "import", "--above", "1MiB"]).stdout;
    assert!(out.contains("commits rewritten: 1 of 1"), "{out}");
    // the rewritten commit's whole tree follows the selection, inherited files included
    assert!(out.contains("Moved 4 file versions"), "{out}");
    assert_eq!(env.git(&repo, &["rev-parse", "main~1"]).stdout, pushed, "pushed commits kept");
    assert_eq!(
        env.git(&repo, &["cat-file", "blob", "main:models/late.bin"]).stdout,
        pointer_of(&big)
    );
    let old = env.git(&repo, &["cat-file", "-s", "main~1:models/weights.bin"]).stdout;
    assert!(old.trim().parse::<u64>().unwrap() > 1_000_000, "pushed blobs stay in git");
    assert_eq!(read(&repo.join("models/late.bin")), big);
    assert_clean(&env, &repo);
    let ok = env.data(&repo, &["check", "--offline", "origin/main..main"]).stdout;
    assert!(ok.contains("(4 pointers): ok"), "{ok}");

    // `^REF` names the history to keep; --everything rewrites what was pushed as well
    let bad = env.data_fails(&repo, &["migrate", "import", "--above", "1MiB", "main", "^nope"]);
    assert!(bad.stderr.contains("\"nope\""), "{}", bad.stderr);
    let out = env.data(&repo, &["migrate", "import", "--above", "1MiB", "--everything"]).stdout;
    assert!(!out.contains("left alone"), "{out}");
    let blob = env.git(&repo, &["cat-file", "-s", "main:models/weights.bin"]).stdout;
    assert!(blob.trim().parse::<u64>().unwrap() < 200, "now a pointer: {blob}");
    assert_ne!(env.git(&repo, &["rev-parse", "main~1"]).stdout, pushed);
    assert_clean(&env, &repo);
}

#[test]
fn import_include_current_branch_follows_merged_refs() {
    let env = Env::new();
    let repo = fixture(&env, "history-repo.sh", "inc");
    let before = contents(&env, &repo);
    let out = env.data(
        &repo,
        &["migrate", "import", "--include", "*.bin", "--exclude", "models/my model.bin"],
    );
    // feature and both tags point into main's history, so they follow it
    assert!(out.stdout.contains("refs rewritten:    4"), "{}", out.stdout);
    let attrs = String::from_utf8(read(&repo.join(".gitattributes"))).unwrap();
    assert_eq!(
        attrs,
        "*.bin filter=data diff=data merge=data -text\nmodels/my[[:space:]]model.bin !filter !diff !merge !text\n"
    );
    let csv = env.git(&repo, &["cat-file", "-s", "main:data/train.csv"]).stdout;
    assert_eq!(csv.trim(), "1700000", "the csv stays in git");
    let other = env.git(&repo, &["cat-file", "-s", "main:models/my model.bin"]).stdout;
    assert_eq!(other.trim(), "1200000", "excluded");
    assert_eq!(contents(&env, &repo), before);
    check_out_all(&env, &repo, &before);
}

#[test]
fn import_refuses_bad_input_and_changes_nothing() {
    let env = Env::new();
    let repo = fixture(&env, "history-repo.sh", "bad");
    let old = refs(&env, &repo);
    let out = env.data_fails(&repo, &["migrate", "import"]);
    assert!(out.stderr.contains("needs --above SIZE or --include"), "{}", out.stderr);
    let out = env.data_fails(&repo, &["migrate", "import", "--above", "big"]);
    assert!(out.stderr.contains("is not a size"), "{}", out.stderr);
    let out = env.data_fails(&repo, &["migrate", "import", "--above", "1MiB", "nosuchbranch"]);
    assert!(out.stderr.contains("not a local branch or tag"), "{}", out.stderr);
    write(&repo.join("README.md"), b"edited\n");
    let out = env.data_fails(&repo, &["migrate", "import", "--above", "1MiB"]);
    assert!(
        out.stderr.contains("uncommitted changes") && out.stderr.contains("README.md"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint: commit or stash"), "{}", out.stderr);
    assert_eq!(refs(&env, &repo), old);
}

#[test]
fn import_no_rewrite_makes_one_commit() {
    let env = Env::new();
    let repo = fixture(&env, "history-repo.sh", "norw");
    let head = env.git(&repo, &["rev-parse", "HEAD"]).stdout;
    let weights = read(&repo.join("models/weights.bin"));
    let csv = read(&repo.join("data/train.csv"));
    let out = env.data_fails(&repo, &["migrate", "import", "--no-rewrite", "nope.bin"]);
    assert!(out.stderr.contains("nope.bin is not a committed file"), "{}", out.stderr);
    let out = env.data(&repo, &["migrate", "import", "--no-rewrite", "models/weights.bin", "data"]);
    assert!(out.stdout.contains("Committed 2 files as pointers"), "{}", out.stdout);
    assert_eq!(env.git(&repo, &["rev-parse", "HEAD~1"]).stdout, head, "history unchanged");
    assert_eq!(
        env.git(&repo, &["cat-file", "blob", "HEAD:models/weights.bin"]).stdout,
        pointer_of(&weights)
    );
    assert_eq!(
        env.git(&repo, &["cat-file", "blob", "HEAD:data/train.csv"]).stdout,
        pointer_of(&csv)
    );
    let attrs = env.git(&repo, &["cat-file", "blob", "HEAD:.gitattributes"]).stdout;
    assert!(
        attrs.contains("/models/weights.bin filter=data") && attrs.contains("/data/** filter=data"),
        "{attrs}"
    );
    let changed = env.git(&repo, &["show", "--name-only", "--format=%s", "HEAD"]).stdout;
    assert!(changed.starts_with("Move 2 files into git-data"), "{changed}");
    assert_eq!(changed.lines().filter(|l| !l.is_empty()).count(), 4, "{changed}");
    assert_eq!(read(&repo.join("models/weights.bin")), weights);
    assert_clean(&env, &repo);
}

#[test]
fn info_reports_what_would_move_and_changes_nothing() {
    let env = Env::new();
    let repo = fixture(&env, "history-repo.sh", "info");
    let old = refs(&env, &repo);
    let out = env.data(&repo, &["migrate", "info", "--above", "1MiB", "--everything"]).stdout;
    assert!(out.contains("(6 commits)"), "{out}");
    assert!(out.contains("would move: 4 paths in 6 distinct objects"), "{out}");
    assert!(out.contains("*.bin") && out.contains("*.csv"), "{out}");
    assert!(out.contains("models/weights.bin  (2 versions)"), "{out}");
    assert!(out.contains("/models/weights.bin filter=data diff=data merge=data -text"), "{out}");
    let all = env.data(&repo, &["migrate", "info"]).stdout;
    assert!(all.contains("*.md") && all.contains("every file"), "{all}");
    assert_eq!(refs(&env, &repo), old);
    assert!(!repo.join(".gitattributes").exists());
}
