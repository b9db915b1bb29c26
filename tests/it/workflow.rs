//! The user workflow of the README, step by step, through the real git binary.

use crate::common::*;

const MIB: usize = 1 << 20;

/// Where a workflow's data remote is.
pub(crate) enum Remote<'a> {
    Directory,
    S3(&'a crate::s3server::S3Server),
    Gcs(&'a crate::gcsserver::GcsServer),
    /// Azure Blob Storage on Azurite.
    Azure(&'a crate::azuriteserver::AzuriteServer),
    /// Another S3-compatible server (SeaweedFS in CI): endpoint, bucket, key, secret.
    External {
        endpoint: String,
        bucket: String,
        key: String,
        secret: String,
    },
    /// A Git LFS server (giftless), its token given by a git credential helper.
    Lfs(&'a crate::lfsserver::LfsServer),
}

#[test]
fn track_commit_tag_push_clone_and_switch_versions() {
    workflow(Remote::Directory);
}

/// Where the remote keeps the object with these bytes.
type Locate<'a> = Box<dyn Fn(&[u8]) -> std::path::PathBuf + 'a>;

/// The README workflow, against one kind of remote; `store` is where objects land on disk.
pub(crate) fn workflow(remote: Remote) {
    let env = Env::new();
    let repo = env.project("proj");
    // where objects land on disk, when the test can look (not on an external server)
    let store: Option<Locate> = match &remote {
        Remote::Directory => {
            let store = env.path("proj-store");
            Some(Box::new(move |data| object_path(&store, data)))
        }
        Remote::S3(server) => {
            env.use_s3(&repo, server, "team/proj");
            let store = server.root.join(crate::s3server::BUCKET).join("team/proj");
            Some(Box::new(move |data| object_path(&store, data)))
        }
        Remote::Gcs(server) => {
            crate::gcs::use_gcs(&env, &repo, server, "team/proj");
            None
        }
        Remote::Azure(server) => {
            crate::azure::use_azurite(&env, &repo, server, "proj", "team/proj");
            None
        }
        Remote::External { endpoint, bucket, key, secret } => {
            let url = format!("s3://{bucket}/run-{}", std::process::id());
            env.use_s3_at(&repo, endpoint, &url, key, secret);
            None
        }
        Remote::Lfs(server) => {
            crate::lfs_server::use_lfs(&env, &repo, server, "team/proj");
            Some(Box::new(|data| server.object_file("team/proj", data)))
        }
    };
    let stored = |data: &[u8]| {
        if let Some(store) = &store {
            assert_eq!(read(&store(data)), data, "object on the remote");
        }
        if let Remote::Gcs(server) = &remote {
            crate::gcs::assert_stored(server, "team/proj", data);
        }
    };
    let attrs = String::from_utf8(read(&repo.join(".gitattributes"))).unwrap();
    assert_eq!(
        attrs,
        "*.bin filter=data diff=data merge=data -text\ndata/** filter=data diff=data merge=data -text\n"
    );
    let listed = env.data(&repo, &["track"]);
    assert!(
        listed.stdout.contains("*.bin") && listed.stdout.contains("data/**"),
        "{}",
        listed.stdout
    );
    let yaml = String::from_utf8(read(&repo.join(".gitdata.yaml"))).unwrap();
    assert!(yaml.contains("storage:") && yaml.contains("default-remote: storage"), "{yaml}");
    assert!(!yaml.to_lowercase().contains("secret"), "no secret in .gitdata.yaml: {yaml}");

    let model_v1 = bytes(1, 2 * MIB + 17);
    let csv_v1 = bytes(2, 10_000);
    write(&repo.join("model.bin"), &model_v1);
    write(&repo.join("data/train.csv"), &csv_v1);
    write(&repo.join("main.py"), b"print('train')\n");
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "v1"]);
    env.git(&repo, &["tag", "v1.0"]);
    // git stores pointers, not data
    let blob = env.git(&repo, &["show", "HEAD:model.bin"]);
    assert_eq!(blob.stdout, pointer_of(&model_v1));
    assert_clean(&env, &repo);
    let push = env.git(&repo, &["push", "origin", "main", "--tags"]);
    assert!(push.stderr.contains("uploaded 2 files"), "{}", push.stderr);
    stored(&model_v1);
    stored(&csv_v1);

    let model_v2 = bytes(3, 3 * MIB);
    let csv_v2 = bytes(4, 12_000);
    write(&repo.join("model.bin"), &model_v2);
    write(&repo.join("data/train.csv"), &csv_v2);
    env.git(&repo, &["commit", "-q", "-am", "v2"]);
    env.git(&repo, &["tag", "v2.0"]);
    env.git(&repo, &["push", "-q", "origin", "main", "--tags"]);
    stored(&model_v2);

    // a fresh clone has the data with no extra command
    let (fresh, out) = env.clone_of("proj", "fresh");
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(read(&fresh.join("model.bin")), model_v2);
    assert_eq!(read(&fresh.join("data/train.csv")), csv_v2);
    assert_clean(&env, &fresh);

    env.git(&fresh, &["checkout", "-q", "v1.0"]);
    assert_eq!(read(&fresh.join("model.bin")), model_v1);
    assert_eq!(read(&fresh.join("data/train.csv")), csv_v1);
    assert_clean(&env, &fresh);
    env.git(&fresh, &["checkout", "-q", "main"]);
    assert_eq!(read(&fresh.join("model.bin")), model_v2);
    assert_clean(&env, &fresh);

    // keep today's code, take v1.0's data (the seed workflow)
    env.git(&fresh, &["checkout", "v1.0", "--", "data/"]);
    assert_eq!(read(&fresh.join("data/train.csv")), csv_v1);
    assert_eq!(read(&fresh.join("model.bin")), model_v2);
    let status = env.git(&fresh, &["status", "--porcelain"]);
    assert_eq!(status.stdout, "M  data/train.csv\n");

    let ls = env.data(&fresh, &["ls-files", "v1.0"]);
    assert!(ls.stdout.contains(&sha256(&model_v1)[..12]), "{}", ls.stdout);
    assert!(
        ls.stdout.contains("data/train.csv") && ls.stdout.contains("model.bin"),
        "{}",
        ls.stdout
    );
    let ls_long = env.data(&fresh, &["ls-files", "--long", "v2.0"]);
    assert!(ls_long.stdout.contains(&sha256(&model_v2)), "{}", ls_long.stdout);

    let fsck = env.data(&fresh, &["fsck", "--remote", "v1.0"]);
    assert!(fsck.stdout.contains("2 objects hashed, 0 missing or damaged"), "{}", fsck.stdout);
    let env_out = env.data(&fresh, &["env"]);
    for needle in ["git-data", "git version", "storage", "link mode", "cache:"] {
        assert!(env_out.stdout.contains(needle), "env lacks {needle}: {}", env_out.stdout);
    }
}

#[test]
fn status_reports_each_state_with_sizes() {
    let env = Env::new();
    let repo = env.project("st");
    let a = bytes(10, 50_000);
    let b = bytes(11, 2 * MIB);
    write(&repo.join("a.bin"), &a);
    write(&repo.join("b.bin"), &b);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "one"]);
    let out = env.data(&repo, &["status"]);
    assert!(out.stdout.contains("not pushed"), "{}", out.stdout);
    assert!(out.stdout.contains("2.0 MiB"), "{}", out.stdout);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    let out = env.data(&repo, &["status"]);
    assert!(
        out.stdout.contains("2 tracked files") && out.stdout.contains("2 up to date"),
        "{}",
        out.stdout
    );

    write(&repo.join("a.bin"), &bytes(12, 50_000));
    let out = env.data(&repo, &["status"]);
    assert!(out.stdout.contains("modified") && out.stdout.contains("a.bin"), "{}", out.stdout);
    let json = env.data(&repo, &["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    let files = doc["files"].as_array().expect("files");
    let a_state = files.iter().find(|f| f["path"] == "a.bin").expect("a.bin");
    assert_eq!(a_state["modified"], true);
    assert_eq!(a_state["size"], 50_000);
    assert_eq!(doc["remote"]["name"], "storage");

    // a pointer-only file (its data not written) is reported as such
    env.git(&repo, &["checkout", "--", "a.bin"]);
    std::fs::remove_file(repo.join("b.bin")).unwrap();
    write(&repo.join("b.bin"), pointer_of(&b).as_bytes());
    let out = env.data(&repo, &["status"]);
    assert!(out.stdout.contains("pointer only") && out.stdout.contains("b.bin"), "{}", out.stdout);
    assert!(out.stdout.contains("git data pull"), "hint missing: {}", out.stdout);
}

#[test]
fn manual_push_fetch_pull_and_checkout() {
    let env = Env::new();
    let repo = env.project("man");
    let model = bytes(20, 2 * MIB);
    let small = bytes(21, 3000);
    write(&repo.join("model.bin"), &model);
    write(&repo.join("data/x.csv"), &small);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "one"]);
    // push the data by hand (no git push yet), then the branch
    env.data(&repo, &["push"]);
    let store = env.path("man-store");
    assert_eq!(read(&object_path(&store, &model)), model);
    let again = env.data(&repo, &["push"]);
    assert!(again.stdout.contains("already on the remote"), "{}", again.all());
    env.git(&repo, &["-c", "core.hooksPath=/dev/null", "push", "-q", "origin", "main"]);

    // a machine without git-data: the clone holds pointers
    let plain = Env::bare();
    let origin = env.path("man-origin.git");
    let dest = plain.path("clone");
    plain.git(plain.root(), &["clone", "-q", origin.to_str().unwrap(), dest.to_str().unwrap()]);
    assert_eq!(read(&dest.join("model.bin")), pointer_of(&model).as_bytes());
    // ... then installs git-data (leaving the pointers: smudging is off), fetches, and checks out
    plain.git(&dest, &["config", "data.skipSmudge", "true"]);
    let out = plain.data(&dest, &["install"]);
    assert!(out.stdout.contains("2 data files are pointer text; smudging is off"), "{}", out.all());
    let st = plain.data(&dest, &["status"]);
    assert!(st.stdout.contains("pointer only"), "{}", st.stdout);
    plain.data(&dest, &["fetch"]);
    assert_eq!(
        read(&dest.join("model.bin")),
        pointer_of(&model).as_bytes(),
        "fetch does not touch the work tree"
    );
    plain.data(&dest, &["checkout", "data/"]);
    assert_eq!(read(&dest.join("data/x.csv")), small);
    assert_eq!(read(&dest.join("model.bin")), pointer_of(&model).as_bytes());
    plain.data(&dest, &["checkout"]);
    assert_eq!(read(&dest.join("model.bin")), model);
    assert_clean(&plain, &dest);

    // pull = fetch + checkout, limited to paths
    let other = plain.path("clone2");
    plain.git(plain.root(), &["clone", "-q", origin.to_str().unwrap(), other.to_str().unwrap()]);
    plain.git(&other, &["config", "data.skipSmudge", "true"]);
    plain.data(&other, &["install"]);
    plain.data(&other, &["pull", "--", "data"]);
    assert_eq!(read(&other.join("data/x.csv")), small);
    assert_eq!(read(&other.join("model.bin")), pointer_of(&model).as_bytes());
    plain.data(&other, &["pull"]);
    assert_eq!(read(&other.join("model.bin")), model);
    assert_clean(&plain, &other);
}

#[test]
fn stash_leaves_pointers_that_checkout_restores() {
    let env = Env::new();
    let repo = env.project("stash");
    let v1 = bytes(30, 2 * MIB);
    let v2 = bytes(31, 2 * MIB);
    write(&repo.join("model.bin"), &v1);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "v1"]);
    write(&repo.join("model.bin"), &v2);
    env.git(&repo, &["stash", "-q"]);
    // stash runs no hook: the file may be left as a pointer; checkout writes it from the cache
    env.data(&repo, &["checkout"]);
    assert_eq!(read(&repo.join("model.bin")), v1);
    assert_clean(&env, &repo);
    env.git(&repo, &["stash", "pop", "-q"]);
    env.data(&repo, &["checkout"]);
    assert_eq!(read(&repo.join("model.bin")), v2);
}

#[test]
fn small_files_inline_large_files_through_hooks_and_hardlinks() {
    let env = Env::new();
    let repo = env.project("links");
    env.git(&repo, &["config", "data.inlineMax", "1KiB"]);
    env.git(&repo, &["config", "data.linkMode", "hardlink"]);
    let tiny = bytes(40, 700);
    let big = bytes(41, 300_000);
    let script = bytes(42, 5000);
    write(&repo.join("tiny.bin"), &tiny);
    write(&repo.join("big.bin"), &big);
    write(&repo.join("tool.bin"), &script);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["update-index", "--chmod=+x", "tool.bin"]);
    env.git(&repo, &["commit", "-q", "-m", "one"]);
    env.git(&repo, &["checkout", "-q", "--detach"]);
    let again = || {
        for f in ["tiny.bin", "big.bin", "tool.bin"] {
            std::fs::remove_file(repo.join(f)).unwrap();
        }
        env.git(&repo, &["checkout", "-q", "HEAD", "--", "."]);
    };
    use std::os::unix::fs::MetadataExt;
    let object_path = object_path(&repo.join(".git/data"), &big);
    // not pushed yet: the cache holds the only copy, so the file is not a link to it, and an
    // edit in place (root ignores the read-only mode) cannot change it
    again();
    assert_eq!(read(&repo.join("big.bin")), big);
    let meta = std::fs::metadata(repo.join("big.bin")).unwrap();
    assert_ne!(meta.ino(), std::fs::metadata(&object_path).unwrap().ino());
    std::fs::OpenOptions::new()
        .append(true)
        .open(repo.join("big.bin"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"appended"))
        .unwrap();
    assert_eq!(read(&object_path), big, "the committed version is intact");
    env.data(&repo, &["push"]);
    again();
    assert_eq!(read(&repo.join("tiny.bin")), tiny);
    assert_eq!(read(&repo.join("big.bin")), big);
    assert_eq!(read(&repo.join("tool.bin")), script);
    let meta = std::fs::metadata(repo.join("big.bin")).unwrap();
    let object = std::fs::metadata(&object_path).unwrap();
    assert_eq!(meta.ino(), object.ino(), "once pushed, big.bin is a hard link to the cache object");
    assert_eq!(meta.mode() & 0o222, 0, "hard-linked files are read-only");
    let tool = std::fs::metadata(repo.join("tool.bin")).unwrap();
    assert_ne!(
        tool.ino(),
        std::fs::metadata(crate::common::object_path(&repo.join(".git/data"), &script))
            .unwrap()
            .ino()
    );
    assert_eq!(tool.mode() & 0o111, 0o111, "executable bit kept (copied, not linked)");
    assert_clean(&env, &repo);
}

#[test]
fn merge_conflict_on_a_data_file_has_no_markers() {
    let env = Env::new();
    let repo = env.project("merge");
    write(&repo.join("model.bin"), &bytes(50, 4000));
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "base"]);
    env.git(&repo, &["checkout", "-q", "-b", "theirs"]);
    let theirs = bytes(51, 5000);
    write(&repo.join("model.bin"), &theirs);
    env.git(&repo, &["commit", "-q", "-am", "theirs"]);
    env.git(&repo, &["checkout", "-q", "main"]);
    let ours = bytes(52, 6000);
    write(&repo.join("model.bin"), &ours);
    env.git(&repo, &["commit", "-q", "-am", "ours"]);
    let merge = env.run(&repo, "git", &["merge", "theirs"]);
    assert_ne!(merge.code, 0);
    assert!(merge.all().contains("CONFLICT (data file): model.bin"), "{}", merge.all());
    let content = read(&repo.join("model.bin"));
    assert!(!content.windows(7).any(|w| w == b"<<<<<<<"), "conflict markers in a data file");
    assert_eq!(content, ours, "ours stays in the work tree");
    env.git(&repo, &["checkout", "--theirs", "--", "model.bin"]);
    env.data(&repo, &["checkout"]);
    assert_eq!(read(&repo.join("model.bin")), theirs);
    env.git(&repo, &["add", "model.bin"]);
    env.git(&repo, &["commit", "-q", "--no-edit"]);
    assert_clean(&env, &repo);
}

#[test]
fn adding_a_directory_of_many_files_stores_each_one_and_nothing_else() {
    // git sends the files one by one in path order; the filter reads ahead in each directory.
    let env = Env::new();
    let repo = env.project("many");
    let mut files = Vec::new();
    for i in 0..240 {
        let path = format!("sets/d{}/f{i:03}.bin", i / 80);
        let data = bytes(1000 + i as u64, 1500 + (i * 97) % 9000);
        write(&repo.join(&path), &data);
        // untracked neighbours: never sent to the filter, never read into the cache
        write(&repo.join(format!("sets/d{}/n{i:03}.txt", i / 80)), &bytes(5000 + i as u64, 2000));
        files.push((path, data));
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "many"]);
    for (path, data) in &files {
        assert_eq!(env.git(&repo, &["show", &format!("HEAD:{path}")]).stdout, pointer_of(data));
        assert!(read(&object_path(&repo.join(".git/data"), data)) == *data, "{path}");
    }
    assert_eq!(
        env.data(&repo, &["fsck"]).stdout.lines().next().unwrap_or(""),
        format!(
            "cache: {} objects ({:.1} MiB) checked, 0 bad",
            files.len(),
            files.iter().map(|(_, d)| d.len()).sum::<usize>() as f64 / (1 << 20) as f64
        )
    );
    assert_clean(&env, &repo);
}

#[test]
fn clean_is_idempotent_and_empty_files_stay_empty() {
    let env = Env::new();
    let repo = env.project("idem");
    let data = bytes(60, 5000);
    // a file that already holds a valid pointer is committed unchanged
    write(&repo.join("already.bin"), pointer_of(&data).as_bytes());
    write(&repo.join("empty.bin"), b"");
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "x"]);
    assert_eq!(env.git(&repo, &["show", "HEAD:already.bin"]).stdout, pointer_of(&data));
    assert_eq!(env.git(&repo, &["show", "HEAD:empty.bin"]).stdout, "");
    assert!(!repo.join(".git/data/objects").join(&sha256(&data)[..2]).exists());
}

#[test]
fn push_uploads_what_new_commits_introduce_through_merges_and_annotated_tags() {
    let env = Env::new();
    let repo = env.project("scan");
    let store = env.path("scan-store");
    let commit = |name: &str, seed: u64| {
        write(&repo.join(name), &bytes(seed, 20_000));
        env.git(&repo, &["add", "-A"]);
        env.git(&repo, &["commit", "-q", "-m", name]);
    };
    commit("a.bin", 1);
    let first = env.git(&repo, &["push", "origin", "main"]);
    assert!(first.stderr.contains("uploaded 1 file "), "{}", first.stderr);
    env.git(&repo, &["checkout", "-q", "-b", "feature"]);
    commit("b.bin", 2);
    env.git(&repo, &["checkout", "-q", "main"]);
    commit("c.bin", 3);
    env.git(&repo, &["merge", "-q", "--no-edit", "feature"]);
    let merged = env.git(&repo, &["push", "origin", "main"]);
    assert!(merged.stderr.contains("uploaded 2 files"), "{}", merged.stderr);
    // an annotated tag on a commit no branch has: git hands the hook a tag object
    env.git(&repo, &["checkout", "-q", "-b", "side"]);
    commit("d.bin", 4);
    env.git(&repo, &["tag", "-a", "v3", "-m", "release 3"]);
    env.git(&repo, &["checkout", "-q", "main"]);
    let tagged = env.git(&repo, &["push", "origin", "v3"]);
    assert!(tagged.stderr.contains("uploaded 1 file "), "{}", tagged.stderr);
    assert_eq!(read(&object_path(&store, &bytes(4, 20_000))), bytes(4, 20_000));
    let again = env.git(&repo, &["push", "origin", "--all"]);
    assert!(!again.stderr.contains("uploaded"), "nothing new: {}", again.stderr);
    for seed in 1..=4 {
        assert!(object_path(&store, &bytes(seed, 20_000)).exists());
    }
}

#[test]
fn remote_add_never_replaces_silently_and_set_url_and_rename_do_what_they_say() {
    let env = Env::new();
    let repo = env.project("rem");
    let store = env.path("rem-store");
    let other = env.path("rem-other");
    std::fs::create_dir_all(&other).unwrap();
    let yaml = || String::from_utf8(read(&repo.join(".gitdata.yaml"))).unwrap();
    let before = yaml();
    let again = env.data_fails(&repo, &["remote", "add", "storage", other.to_str().unwrap()]);
    assert!(
        again.stderr.contains("a data remote named `storage` exists already"),
        "{}",
        again.all()
    );
    assert!(again.stderr.contains("git data remote set-url storage"), "{}", again.all());
    assert_eq!(yaml(), before, "nothing was written");

    env.data(&repo, &["remote", "set-url", "storage", other.to_str().unwrap()]);
    assert!(yaml().contains(other.to_str().unwrap()) && !yaml().contains(store.to_str().unwrap()));
    let kind = env.data_fails(&repo, &["remote", "set-url", "storage", "s3://bucket/x"]);
    assert!(kind.stderr.contains("add --force storage"), "{}", kind.all());

    env.git(&repo, &["config", "data.remote.storage.accessKeyId", "AKIDEXAMPLE"]);
    env.git(&repo, &["config", "data.remote.storage.secretAccessKey", "not-a-real-secret"]);
    env.data(&repo, &["remote", "rename", "storage", "team"]);
    let list = env.data(&repo, &["remote", "list"]);
    assert!(list.stdout.contains("* team\t"), "the default follows: {}", list.stdout);
    assert!(!list.stdout.contains("storage"), "{}", list.stdout);
    let key = env.git(&repo, &["config", "data.remote.team.accessKeyId"]);
    assert_eq!(key.stdout.trim(), "AKIDEXAMPLE", "the keys follow");
    let gone = env.run(&repo, "git", &["config", "data.remote.storage.accessKeyId"]);
    assert_ne!(gone.code, 0);
    let taken = env.data_fails(&repo, &["remote", "rename", "team", "team"]);
    assert!(taken.stderr.contains("exists already"), "{}", taken.all());

    // --force replaces the remote whole, and the data still goes there
    env.data(&repo, &["remote", "add", "--force", "team", store.to_str().unwrap()]);
    let model = bytes(960, 3_000);
    write(&repo.join("model.bin"), &model);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "model"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    assert_eq!(read(&object_path(&store, &model)), model);
}
