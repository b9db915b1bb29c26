//! `git data migrate dvc` on DVC projects built by fixtures/dvc-repo.sh: with the real `dvc`
//! when it is installed, else (and for the DVC 2 layout always) laid out by hand.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Builds the fixture once per test run (the real `dvc` takes seconds) and returns its dir.
fn template(mode: &'static str) -> PathBuf {
    static AUTO: OnceLock<PathBuf> = OnceLock::new();
    static LEGACY: OnceLock<PathBuf> = OnceLock::new();
    let cell = if mode == "legacy" { &LEGACY } else { &AUTO };
    cell.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dvc-fixture-{mode}"));
        let _ = std::fs::remove_dir_all(&dir);
        let home = dir.join("home");
        std::fs::create_dir_all(&home).expect("fixture home");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dvc-repo.sh");
        let mut cmd = std::process::Command::new("bash");
        cmd.arg(&script).arg(dir.join("fx"));
        if mode == "legacy" {
            cmd.arg("--legacy");
        }
        let out = cmd
            .env("HOME", &home)
            .env("GIT_CONFIG_GLOBAL", home.join("gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("run fixtures/dvc-repo.sh");
        assert!(out.status.success(), "fixture failed: {}", String::from_utf8_lossy(&out.stderr));
        dir.join("fx")
    })
    .clone()
}

/// A copy of the fixture in `env` (project, dvc-remote, expected/), with DVC quiet.
fn dvc_project(env: &Env, mode: &'static str) -> PathBuf {
    let src = template(mode);
    let out = env.run(env.root(), "cp", &["-a", &format!("{}/.", src.display()), "."]);
    assert_eq!(out.code, 0, "copy fixture: {}", out.all());
    env.set_env("DVC_NO_ANALYTICS", "1");
    env.set_env("DVC_NO_UPDATER", "1");
    env.path("project")
}

fn has_dvc() -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join("dvc").is_file())
}

/// PATH without any `dvc`, with the git-data under test first.
fn path_without_dvc() -> String {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_git-data"));
    let mut dirs = vec![bin.parent().expect("bin dir").to_path_buf()];
    dirs.extend(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .filter(|d| !d.join("dvc").exists()),
    );
    std::env::join_paths(dirs).expect("PATH").to_string_lossy().into_owned()
}

/// Every data file of a version, relative to `expected/NAME`.
fn expected_files(env: &Env, version: &str) -> Vec<(String, Vec<u8>)> {
    let base = env.path(&format!("expected/{version}"));
    let out = env.run(&base, "find", &[".", "-type", "f"]);
    let mut files: Vec<(String, Vec<u8>)> = out
        .stdout
        .lines()
        .map(|l| l.trim_start_matches("./").to_string())
        .filter(|p| p != "data/prepared.csv" && p != "data/ext.csv")
        .map(|p| {
            let data = read(&base.join(&p));
            (p, data)
        })
        .collect();
    files.sort();
    assert!(files.len() >= 6, "expected files of {version}: {files:?}");
    files
}

fn assert_version(env: &Env, repo: &Path, version: &str) {
    for (path, data) in expected_files(env, version) {
        assert!(read(&repo.join(&path)) == data, "{path} in {} is not {version}", repo.display());
    }
}

/// git-data set up on the project, with a directory data remote and an origin.
fn adopt(env: &Env, repo: &Path) {
    env.git(env.root(), &["init", "-q", "--bare", "-b", "main", "origin.git"]);
    env.git(repo, &["remote", "add", "origin", env.path("origin.git").to_str().unwrap()]);
    env.data(repo, &["install"]);
    std::fs::create_dir_all(env.path("store")).unwrap();
    env.data(repo, &["remote", "add", "storage", env.path("store").to_str().unwrap()]);
    env.git(repo, &["add", ".gitdata.yaml"]);
    env.git(repo, &["commit", "-q", "-m", "git-data remote"]);
}

fn migrate(env: &Env, repo: &Path, extra: &[&str]) -> Out {
    let mut args = vec!["data", "migrate", "dvc"];
    args.extend_from_slice(extra);
    env.run(repo, "git", &args)
}

#[test]
fn dvc_outputs_become_pointers_in_one_commit_and_survive_a_clone() {
    let env = Env::new();
    let repo = dvc_project(&env, "auto");
    adopt(&env, &repo);
    let before = env.git(&repo, &["rev-parse", "HEAD"]).stdout;
    let out = migrate(&env, &repo, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    let report = out.stdout.clone();
    for line in ["Converted 4 DVC outputs (6 files", "data/images/", "3 files", "models/model.pkl"]
    {
        assert!(report.contains(line), "report lacks {line:?}:\n{report}");
    }
    assert!(report.contains("Left with DVC:\n    data/ext.csv.dvc: an import from"), "{report}");
    assert!(report.contains("stage `prep` of dvc.yaml (outputs: data/prepared.csv)"), "{report}");
    assert!(report.contains("`git push` uploads the data to the git-data remote `storage`"));

    // one commit on top, files unchanged on disk, status clean, pointers committed
    assert_eq!(env.git(&repo, &["rev-parse", "HEAD~1"]).stdout, before);
    assert_version(&env, &repo, "v2");
    assert_clean(&env, &repo);
    for (path, data) in expected_files(&env, "v2") {
        let blob = env.git(&repo, &["cat-file", "-p", &format!("HEAD:{path}")]).stdout;
        assert_eq!(blob, pointer_of(&data), "{path} is committed as its pointer");
    }
    let tree = env.git(&repo, &["ls-tree", "-r", "--name-only", "HEAD"]).stdout;
    for gone in
        ["data/train.csv.dvc", "data/images.dvc", "data/label map.json.dvc", "models/model.pkl.dvc"]
    {
        assert!(!tree.contains(gone) && !repo.join(gone).exists(), "{gone} removed");
    }
    assert!(repo.join("data/ext.csv.dvc").exists(), "the import stays with DVC");
    assert_eq!(
        String::from_utf8(read(&repo.join("data/.gitignore"))).unwrap(),
        "/ext.csv\n/prepared.csv\n"
    );
    assert!(!repo.join("models/.gitignore").exists(), "a .gitignore left empty is removed");
    let attrs = String::from_utf8(read(&repo.join(".gitattributes"))).unwrap();
    assert!(
        attrs.contains("data/images/** filter=data")
            && attrs.contains("data/label[[:space:]]map.json filter=data"),
        "{attrs}"
    );
    let pipeline =
        env.git(&repo, &["diff", "--stat", "HEAD~1", "HEAD", "--", "dvc.yaml", "dvc.lock", ".dvc"]);
    assert_eq!(pipeline.stdout, "", "pipeline and DVC config untouched");
    assert!(repo.join("data/prepared.csv").exists());
    env.data(&repo, &["fsck"]);
    let ok = env.data(&repo, &["check", "--offline", "HEAD"]).stdout;
    assert!(ok.contains("(6 pointers): ok"), "{ok}");

    // a second run finds nothing more to convert and changes nothing
    let again = migrate(&env, &repo, &[]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(again.stdout.contains("Nothing was converted"), "{}", again.stdout);

    // push (the pre-push hook uploads), then a fresh clone restores everything
    env.git(&repo, &["push", "-q", "origin", "main", "--tags"]);
    let fresh = env.path("fresh");
    let out = env.run(
        env.root(),
        "git",
        &["clone", "-q", env.path("origin.git").to_str().unwrap(), "fresh"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_version(&env, &fresh, "v2");
    assert_clean(&env, &fresh);
    env.data(&fresh, &["fsck"]);
    let ok = env.data(&fresh, &["check", "HEAD"]).stdout;
    assert!(ok.contains("(6 pointers): ok"), "{ok}");

    // old revisions are DVC revisions and check out as such
    env.git(&fresh, &["checkout", "-q", "v1"]);
    assert!(fresh.join("data/images.dvc").exists() && !fresh.join("data/images").exists());
    env.git(&fresh, &["checkout", "-q", "main"]);
    assert_version(&env, &fresh, "v2");
    if has_dvc() {
        env.git(&repo, &["checkout", "-q", "v1"]);
        let out = env.run(&repo, "dvc", &["checkout", "-q"]);
        assert_eq!(out.code, 0, "dvc checkout at v1: {}", out.all());
        assert_version(&env, &repo, "v1");
        env.git(&repo, &["checkout", "-q", "main"]);
        assert_version(&env, &repo, "v2");
        let status = env.git(&repo, &["status", "--porcelain", "--untracked-files=no"]);
        assert_eq!(status.stdout, "");
    }
}

/// A clone of the DVC project: no data in the work tree, an empty DVC cache.
fn clone_without_data(env: &Env) -> PathBuf {
    let out = env.run(env.root(), "git", &["clone", "-q", "project", "clone"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let clone = env.path("clone");
    assert!(!clone.join("models/model.pkl").exists() && !clone.join(".dvc/cache").exists());
    env.data(&clone, &["install"]);
    clone
}

fn fetch_from_dvc_remote(env: &Env, clone: &Path) {
    let out = migrate(env, clone, &[]);
    assert_eq!(out.code, 1, "nothing can be converted without data:\n{}", out.all());
    assert!(out.stdout.contains("its data is missing"), "{}", out.stdout);
    assert!(out.stdout.contains("pass --dvc-remote NAME"), "{}", out.stdout);
    assert_eq!(env.git(clone, &["rev-list", "--count", "HEAD"]).stdout.trim(), "2");

    let out = migrate(env, clone, &["--dvc-remote", "nosuch"]);
    assert_eq!(out.code, 1, "{}", out.all());
    if !has_dvc_in(env, clone) {
        assert!(out.stderr.contains("no DVC remote named `nosuch`"), "{}", out.stderr);
        assert!(out.stderr.contains("hint: the DVC remotes here are: storage"), "{}", out.stderr);
    }

    let out = migrate(env, clone, &["--dvc-remote", "storage"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("Converted 4 DVC outputs (6 files"), "{}", out.stdout);
    assert!(out.stdout.contains("Next: add a git-data remote"), "{}", out.stdout);
    assert_version(env, clone, "v2");
    assert_clean(env, clone);
    env.data(clone, &["fsck"]);
}

fn has_dvc_in(env: &Env, dir: &Path) -> bool {
    env.run(dir, "sh", &["-c", "command -v dvc"]).code == 0
}

#[test]
fn missing_data_comes_from_the_dvc_remote() {
    let env = Env::new();
    dvc_project(&env, "auto");
    let clone = clone_without_data(&env);
    fetch_from_dvc_remote(&env, &clone);
}

#[test]
fn dvc2_layout_from_a_local_dvc_remote_without_dvc() {
    let env = Env::new();
    env.set_env("PATH", &path_without_dvc());
    let repo = dvc_project(&env, "legacy");
    assert!(!has_dvc_in(&env, &repo));
    let dvc_file = String::from_utf8(read(&repo.join("data/train.csv.dvc"))).unwrap();
    assert!(!dvc_file.contains("hash: md5"), "a DVC 2 record: {dvc_file}");
    let clone = clone_without_data(&env);
    fetch_from_dvc_remote(&env, &clone);
    // DVC 2 hashed the CRLF text after dos2unix; the bytes themselves are kept as they were
    assert!(read(&clone.join("data/train.csv")).windows(2).any(|w| w == b"\r\n"));
    // in the original project the data comes from the legacy cache and the work tree
    env.data(&repo, &["install"]);
    let out = migrate(&env, &repo, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_version(&env, &repo, "v2");
    assert_clean(&env, &repo);
}

#[test]
fn damaged_or_changed_data_and_busy_index_change_nothing() {
    let env = Env::bare();
    let repo = dvc_project(&env, "auto");
    let head = env.git(&repo, &["rev-parse", "HEAD"]).stdout;
    let unchanged = |env: &Env| {
        assert_eq!(env.git(&repo, &["rev-parse", "HEAD"]).stdout, head);
        assert_clean(env, &repo);
        assert!(
            repo.join("models/model.pkl.dvc").exists() && !repo.join(".gitattributes").exists()
        );
    };

    let out = migrate(&env, &repo, &[]);
    assert!(
        out.stderr.contains("git-data is not set up")
            && out.stderr.contains("hint: run `git data install`"),
        "{}",
        out.all()
    );
    unchanged(&env);
    env.data(&repo, &["install"]);

    // a corrupt DVC cache object, with no work-tree copy to fall back on
    let model = read(&env.path("expected/v2/models/model.pkl"));
    std::fs::remove_file(repo.join("models/model.pkl")).unwrap();
    let md5 = String::from_utf8(read(&repo.join("models/model.pkl.dvc"))).unwrap();
    let md5 = md5.split("md5: ").nth(1).unwrap()[..32].to_string();
    let object = repo.join(".dvc/cache/files/md5").join(&md5[..2]).join(&md5[2..]);
    let mut bad = model.clone();
    bad[1000] ^= 1;
    std::fs::remove_file(&object).unwrap();
    write(&object, &bad);
    let out = env.run(&repo, "git", &["data", "migrate", "dvc"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("cannot convert models/model.pkl"), "{}", out.stderr);
    assert!(
        out.stderr.contains("does not match its md5") && out.stderr.contains("nothing was changed")
    );
    assert!(out.stderr.contains("hint: DVC's copy is damaged: delete"), "{}", out.stderr);
    unchanged(&env);
    write(&repo.join("models/model.pkl"), &model);

    // a data file changed since `dvc add`
    let csv = repo.join("data/train.csv");
    let original = read(&csv);
    write(&csv, b"id,label\n9,changed\n");
    let out = env.data_fails(&repo, &["migrate", "dvc"]);
    assert!(
        out.stderr.contains("data/train.csv: differs from what DVC recorded"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint: keep the changes with `dvc add PATH`"), "{}", out.stderr);
    write(&csv, &original);
    write(&repo.join("data/images/extra.png"), b"x");
    let out = env.data_fails(&repo, &["migrate", "dvc"]);
    assert!(
        out.stderr.contains("data/images: has files DVC does not list: extra.png"),
        "{}",
        out.stderr
    );
    std::fs::remove_file(repo.join("data/images/extra.png")).unwrap();
    unchanged(&env);

    // staged work of the user's own
    write(&repo.join("notes.txt"), b"wip\n");
    env.git(&repo, &["add", "notes.txt"]);
    let out = env.data_fails(&repo, &["migrate", "dvc"]);
    assert!(out.stderr.contains("the index has staged changes"), "{}", out.stderr);
    env.git(&repo, &["rm", "-q", "--cached", "notes.txt"]);
    std::fs::remove_file(repo.join("notes.txt")).unwrap();

    // a failing commit (a pre-commit hook says no) rolls everything back
    let hook = repo.join(".git/hooks/pre-commit");
    write(&hook, b"#!/bin/sh\necho 'policy: no' >&2\nexit 1\n");
    env.run(&repo, "chmod", &["+x", hook.to_str().unwrap()]);
    let out = env.data_fails(&repo, &["migrate", "dvc"]);
    assert!(
        out.stderr.contains("git commit failed") && out.stderr.contains("policy: no"),
        "{}",
        out.stderr
    );
    unchanged(&env);
    assert_eq!(env.git(&repo, &["diff", "--cached", "--name-only"]).stdout, "");
    assert!(String::from_utf8(read(&repo.join("data/.gitignore"))).unwrap().contains("/train.csv"));
    std::fs::remove_file(&hook).unwrap();
    let out = migrate(&env, &repo, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
}

/// After the switch, the stage DVC ran and left up to date is taken over from `dvc.lock`
/// without running; `dvc.lock` is only read; a changed dep then runs the stage.
#[test]
fn repro_takes_over_the_stages_dvc_lock_shows_up_to_date() {
    let env = Env::new();
    let repo = dvc_project(&env, "auto");
    adopt(&env, &repo);
    let out = migrate(&env, &repo, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    let dvc_lock = read(&repo.join("dvc.lock"));
    let prepared = read(&repo.join("data/prepared.csv"));
    let mtime = std::fs::metadata(repo.join("data/prepared.csv")).unwrap().modified().unwrap();

    let out = env.run(&repo, "git", &["data", "repro", "--dry"]);
    assert_eq!(out.stdout, "up to date prep: as dvc.lock records it\n", "{}", out.all());
    let out = env.run(&repo, "git", &["data", "repro"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .starts_with("Up to date prep: as dvc.lock records it (now in gitdata.lock too)\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("Stages: 0 ran, 1 taken over from dvc.lock, 0 up to date\n"));
    // DVC's rule for its output still hides it from git: said, with the fix
    assert!(out.stderr.contains("git ignores the output data/prepared.csv"), "{}", out.stderr);
    assert_eq!(read(&repo.join("data/prepared.csv")), prepared);
    let after = std::fs::metadata(repo.join("data/prepared.csv")).unwrap().modified().unwrap();
    assert_eq!(after, mtime, "the output was not written again");
    assert_eq!(read(&repo.join("dvc.lock")), dvc_lock);
    let lock = String::from_utf8(read(&repo.join("gitdata.lock"))).unwrap();
    assert!(lock.contains(&format!("sha256: {}", sha256(&prepared))), "{lock}");
    // and in the run cache, for a clone going back to this state
    let lineage = env.data(&repo, &["lineage", "--json"]).stdout;
    let lineage: serde_json::Value = serde_json::from_str(&lineage).expect("json");
    let key = lineage["stages"][0]["run_key"].as_str().expect("a run key").to_string();
    assert!(repo.join(".git/data/runs").join(&key[..2]).join(&key).is_file(), "{lineage}");

    // from now on gitdata.lock decides
    let out = env.run(&repo, "git", &["data", "repro"]);
    assert!(out.stdout.ends_with("Stages: 0 ran, 1 up to date\n"), "{}", out.all());
    let mut train = read(&repo.join("data/train.csv"));
    train.extend_from_slice(b"new,row\n");
    write(&repo.join("data/train.csv"), &train);
    let out = env.run(&repo, "git", &["data", "repro"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("Running prep: dep `data/train.csv` changed"), "{}", out.stdout);
    assert!(read(&repo.join("data/prepared.csv")).ends_with(b"NEW,ROW\n"));
    assert_eq!(read(&repo.join("dvc.lock")), dvc_lock);
}
