//! Large files: a clone or checkout writes them by their download (the bytes go to the cache
//! and to the work-tree file in one pass), a switch between cached versions copies them from
//! the cache on two threads. Either way the file must be whole, verified, in place of its
//! pointer, with its mode, and nothing unverified may be left behind.

use crate::common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

const MIB: usize = 1 << 20;

/// Temp files the writers leave next to work-tree files (there must be none).
fn temps(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if name.ends_with(".git-data") {
            found.push(name);
        }
    }
    found
}

#[test]
fn large_files_arrive_whole_with_their_mode_and_the_cache_filled() {
    let env = Env::new();
    let repo = env.project("tee");
    let model = bytes(900, 6 * MIB + 12_345); // not a multiple of the direct-I/O block
    let tool = bytes(901, 5 * MIB);
    write(&repo.join("model.bin"), &model);
    write(&repo.join("same.bin"), &model); // one object, two files
    write(&repo.join("tool.bin"), &tool);
    std::fs::set_permissions(repo.join("tool.bin"), std::fs::Permissions::from_mode(0o755))
        .unwrap();
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "v1"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);

    let (fresh, out) = env.clone_of("tee", "fresh");
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(read(&fresh.join("model.bin")) == model);
    assert!(read(&fresh.join("same.bin")) == model);
    assert!(read(&fresh.join("tool.bin")) == tool);
    let mode = std::fs::metadata(fresh.join("tool.bin")).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "the executable bit survives: {mode:o}");
    for data in [&model, &tool] {
        let object = object_path(&fresh.join(".git/data"), data);
        assert!(read(&object) == *data, "the cache holds the verified object");
    }
    assert_eq!(temps(&fresh), Vec::<String>::new());
    assert_clean(&env, &fresh);
    let st = env.data(&fresh, &["status", "--json"]);
    assert!(!st.stdout.contains("\"pointer_only\": true"), "{}", st.stdout);
}

#[test]
fn a_corrupt_large_object_leaves_the_pointer_and_no_temp() {
    let env = Env::new();
    let repo = env.project("teebad");
    let model = bytes(910, 5 * MIB);
    write(&repo.join("model.bin"), &model);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "v1"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    let remote_object = object_path(&env.path("teebad-store"), &model);
    std::fs::set_permissions(&remote_object, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut bad = read(&remote_object);
    bad[4 * MIB] ^= 1;
    std::fs::write(&remote_object, bad).unwrap();

    let (fresh, out) = env.clone_of("teebad", "fresh");
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("corrupt") && out.stderr.contains(&sha256(&model)),
        "{}",
        out.all()
    );
    assert_eq!(read(&fresh.join("model.bin")), pointer_of(&model).as_bytes());
    assert!(!object_path(&fresh.join(".git/data"), &model).exists());
    assert_eq!(temps(&fresh), Vec::<String>::new());
    let left: Vec<_> = std::fs::read_dir(fresh.join(".git/data/tmp")).unwrap().collect();
    assert!(left.is_empty(), "temps left in the git directory: {left:?}");
    let shard = object_path(&fresh.join(".git/data"), &model).parent().unwrap().to_path_buf();
    let left: Vec<_> = std::fs::read_dir(&shard).map(|d| d.collect()).unwrap_or_default();
    assert!(left.is_empty(), "temps left beside the objects: {left:?}");

    // mended on the remote: `git data pull` writes the file
    std::fs::write(&remote_object, &model).unwrap();
    env.data(&fresh, &["pull"]);
    assert!(read(&fresh.join("model.bin")) == model);
    assert_eq!(temps(&fresh), Vec::<String>::new());
    assert_clean(&env, &fresh);
}

#[test]
fn switching_between_cached_versions_of_a_large_file_copies_it_whole() {
    let env = Env::new();
    let repo = env.project("switch");
    env.git(&repo, &["config", "data.linkMode", "copy"]); // no reflink, even where there are
    let v1 = bytes(920, 9 * MIB + 4_321); // above the size copied on two threads
    let v2 = bytes(921, 10 * MIB);
    for (data, tag) in [(&v1, "v1.0"), (&v2, "v2.0")] {
        let _ = std::fs::remove_file(repo.join("model.bin"));
        write(&repo.join("model.bin"), data);
        let exec = std::fs::Permissions::from_mode(0o755);
        std::fs::set_permissions(repo.join("model.bin"), exec).unwrap();
        env.git(&repo, &["add", "-A"]);
        env.git(&repo, &["commit", "-q", "-m", tag]);
        env.git(&repo, &["tag", tag]);
    }
    for (tag, data) in [("v1.0", &v1), ("v2.0", &v2), ("v1.0", &v1)] {
        env.git(&repo, &["checkout", "-q", tag]);
        let got = read(&repo.join("model.bin"));
        assert_eq!(got.len(), data.len(), "at {tag}");
        assert!(got == *data, "at {tag}: the bytes differ");
        let meta = std::fs::metadata(repo.join("model.bin")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o111, 0o111, "at {tag}: the mode survives");
        assert_eq!(meta.nlink(), 1, "at {tag}: a copy, not a link to the cache");
        assert_eq!(temps(&repo), Vec::<String>::new());
        assert_clean(&env, &repo);
    }
}

#[test]
fn pull_writes_the_work_tree_from_the_named_remote_and_fetches_other_revisions() {
    let env = Env::new();
    let repo = env.project("pn");
    let v1 = bytes(930, 9 * MIB + 17); // large: streamed into its file as it downloads
    let v2 = bytes(931, 9 * MIB + 29);
    write(&repo.join("model.bin"), &v1);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "v1"]);
    env.git(&repo, &["tag", "v1"]);
    write(&repo.join("model.bin"), &v2);
    env.git(&repo, &["commit", "-q", "-am", "v2"]);
    env.git(&repo, &["push", "-q", "origin", "main", "--tags"]);

    // a machine without git-data: the clone holds pointers
    let plain = Env::bare();
    let dest = plain.path("pn-clone");
    let origin = env.path("pn-origin.git");
    plain.git(plain.root(), &["clone", "-q", origin.to_str().unwrap(), dest.to_str().unwrap()]);
    assert_eq!(read(&dest.join("model.bin")), pointer_of(&v2).as_bytes());
    plain.data(&dest, &["install"]);
    let out = plain.data(&dest, &["pull", "storage", "--rev", "v1", "--rev", "HEAD"]);
    assert_eq!(read(&dest.join("model.bin")), v2, "{}", out.all());
    let cache = dest.join(".git/data");
    assert_eq!(read(&object_path(&cache, &v2)), v2);
    assert_eq!(read(&object_path(&cache, &v1)), v1, "--rev v1 is fetched too: {}", out.all());
    assert!(out.stderr.contains("downloaded 1 file"), "v2 is not downloaded twice: {}", out.all());
    assert_clean(&plain, &dest);
    let again = plain.data(&dest, &["pull", "--rev", "v1"]);
    assert!(!again.stderr.contains("downloaded"), "{}", again.all());
}

#[test]
fn skip_smudge_leaves_pointers_without_asking_the_remote() {
    let env = Env::new();
    let repo = env.project("skip");
    let model = bytes(940, 5 * MIB + 3);
    let small = bytes(941, 2_000);
    write(&repo.join("model.bin"), &model);
    write(&repo.join("data/x.csv"), &small);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "data"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    // the data remote is gone: a smudge that tried it would fail and say so
    let store = env.path("skip-store");
    let away = env.path("skip-store-away");
    std::fs::rename(&store, &away).unwrap();
    let origin = env.path("skip-origin.git");
    for (var, dest) in [("GIT_DATA_SKIP_SMUDGE", "skip-a"), ("GIT_LFS_SKIP_SMUDGE", "skip-b")] {
        let out = Out::from(
            env.command(env.root(), "git")
                .env(var, "1")
                .args(["clone", "-q", origin.to_str().unwrap(), dest])
                .output()
                .unwrap(),
        );
        assert_eq!(out.code, 0, "{var}: {}", out.all());
        assert!(!out.stderr.contains("error"), "{var}: {}", out.all());
        let clone = env.path(dest);
        assert_eq!(read(&clone.join("model.bin")), pointer_of(&model).as_bytes(), "{var}");
        assert_eq!(read(&clone.join("data/x.csv")), pointer_of(&small).as_bytes(), "{var}");
        let status = env.git(&clone, &["status", "--porcelain"]);
        assert_eq!(status.stdout, "", "{var}: pointers are what the index holds");
        assert!(!clone.join(".git/data/objects").exists(), "{var}: nothing was cached");
    }
    // without the variable, the same clone gets its data
    std::fs::rename(&away, &store).unwrap();
    let clone = env.path("skip-a");
    env.data(&clone, &["pull"]);
    assert_eq!(read(&clone.join("model.bin")), model);
    assert_eq!(read(&clone.join("data/x.csv")), small);
    assert_clean(&env, &clone);
}

#[test]
fn fetch_include_and_exclude_choose_what_clone_and_pull_download() {
    let env = Env::new();
    let repo = env.project("inc");
    let raw = bytes(950, 3_000);
    let tmp = bytes(951, 3_000);
    let processed = bytes(952, 3_000);
    let model = bytes(953, 2 * MIB);
    write(&repo.join("data/raw/a.csv"), &raw);
    write(&repo.join("data/raw/x.tmp"), &tmp);
    write(&repo.join("data/processed/b.csv"), &processed);
    write(&repo.join("model.bin"), &model);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "data"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);

    // a CI job that needs only the raw data
    let origin = env.path("inc-origin.git");
    let (include, exclude) = ("data.fetchInclude=data/raw", "data.fetchExclude=*.tmp");
    let args = ["clone", "-q", "-c", include, "-c", exclude, origin.to_str().unwrap(), "inc-ci"];
    env.git(env.root(), &args);
    let ci = env.path("inc-ci");
    assert_eq!(read(&ci.join("data/raw/a.csv")), raw);
    assert_eq!(read(&ci.join("data/raw/x.tmp")), pointer_of(&tmp).as_bytes());
    assert_eq!(read(&ci.join("data/processed/b.csv")), pointer_of(&processed).as_bytes());
    assert_eq!(read(&ci.join("model.bin")), pointer_of(&model).as_bytes());
    assert_eq!(env.git(&ci, &["status", "--porcelain"]).stdout, "");
    assert!(!object_path(&ci.join(".git/data"), &model).exists(), "the model was not downloaded");

    // flags replace the configured patterns; pull with none of them keeps to the config
    env.data(&ci, &["pull"]);
    assert_eq!(read(&ci.join("model.bin")), pointer_of(&model).as_bytes());
    env.data(&ci, &["pull", "-I", "model.bin,data/processed/*.csv"]);
    assert_eq!(read(&ci.join("model.bin")), model);
    assert_eq!(read(&ci.join("data/processed/b.csv")), processed);
    assert_eq!(read(&ci.join("data/raw/x.tmp")), pointer_of(&tmp).as_bytes());
    env.data(&ci, &["fetch", "--exclude", "data/processed"]);
    assert!(
        object_path(&ci.join(".git/data"), &tmp).exists(),
        "fetch without the config's exclude"
    );
    env.git(&ci, &["config", "--unset", "data.fetchInclude"]);
    env.git(&ci, &["config", "--unset", "data.fetchExclude"]);
    env.data(&ci, &["pull"]);
    assert_eq!(read(&ci.join("data/raw/x.tmp")), tmp);
    assert_clean(&env, &ci);
}

#[test]
fn one_cause_is_said_once_and_push_q_is_quiet() {
    let env = Env::new();
    let repo = env.project("once");
    for i in 0..6 {
        write(&repo.join(format!("m{i}.bin")), &bytes(1330 + i, 20_000));
    }
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "data"]);
    let quiet = env.git(&repo, &["push", "-q", "origin", "main"]);
    assert_eq!(quiet.stderr, "", "git push -q: {}", quiet.all());
    write(&repo.join("m0.bin"), &bytes(1340, 20_000));
    env.git(&repo, &["commit", "-q", "-am", "more"]);
    let loud = env.git(&repo, &["push", "origin", "main"]);
    assert!(loud.stderr.contains("git-data: uploaded 1 file"), "{}", loud.all());

    std::fs::rename(env.path("once-store"), env.path("once-away")).unwrap();
    let (clone, _) = env.clone_of("once", "once-clone");
    let out = env.run(&clone, "git", &["data", "pull"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("6 files are left as pointers"), "{}", out.all());
    assert!(out.stderr.contains("  6 files: remote storage: remote directory"), "{}", out.all());
    assert_eq!(out.stderr.matches("does not exist").count(), 1, "{}", out.all());
    assert_eq!(out.stderr.matches("mkdir -p").count(), 1, "the fix, once: {}", out.all());
    assert!(out.stderr.contains("git data remote set-url storage URL"), "{}", out.all());

    // objects missing from a remote that is there: one cause too, and its fix once
    let away = env.path("once-away");
    std::fs::rename(away.join("objects"), away.join("gone")).unwrap();
    std::fs::create_dir(away.join("objects")).unwrap();
    std::fs::rename(&away, env.path("once-store")).unwrap();
    let out = env.run(&clone, "git", &["data", "pull"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("  6 files: remote storage: not on the remote"), "{}", out.all());
    assert_eq!(out.stderr.matches("fsck --remote --repair").count(), 1, "{}", out.all());
    assert_eq!(out.stderr.matches("git data pull").count(), 1, "{}", out.all());
    let out = env.run(&clone, "git", &["data", "fetch"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("  6 files: remote storage: not on the remote"), "{}", out.all());
}

#[test]
fn a_revision_typed_where_a_path_or_remote_goes_is_refused_not_ignored() {
    let env = Env::new();
    let repo = env.project("revarg");
    write(&repo.join("m.bin"), &bytes(1380, 3_000));
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "v1"]);
    env.git(&repo, &["tag", "v1.0"]);
    for args in [&["checkout", "v1.0"][..], &["pull", "--", "v1.0"]] {
        let out = env.data_fails(&repo, args);
        assert!(out.stderr.contains("`v1.0` matches no file git tracks"), "{}", out.all());
        assert!(out.stderr.contains("`git checkout v1.0` switches to it"), "{}", out.all());
    }
    let out = env.data_fails(&repo, &["checkout", "no/such/file"]);
    assert!(out.stderr.contains("`git data ls-files` lists"), "{}", out.all());
    for cmd in ["pull", "fetch", "push"] {
        let out = env.data_fails(&repo, &[cmd, "v1.0"]);
        assert!(out.stderr.contains("no data remote named `v1.0`"), "{cmd}: {}", out.all());
        assert!(out.stderr.contains("`--rev v1.0` names it"), "{cmd}: {}", out.all());
    }
    env.data(&repo, &["checkout", "m.bin"]);
    env.data(&repo, &["pull", "storage", "--rev", "v1.0"]);
}
