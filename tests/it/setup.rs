//! Installation, hooks, tracking and the command-line surface.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;

fn config(env: &Env, repo: &std::path::Path, scope: &str) -> String {
    env.run(repo, "git", &["config", scope, "--get-regexp", r"^(filter|merge)\.data\."]).stdout
}

#[test]
fn install_is_idempotent_and_uninstall_restores_user_hooks() {
    let env = Env::new();
    let repo = env.path("r");
    env.git(env.root(), &["init", "-q", repo.to_str().unwrap()]);
    let user_hook = repo.join(".git/hooks/pre-push");
    let marker = env.path("user-hook-ran");
    write(&user_hook, format!("#!/bin/sh\ncat > {}\n", marker.display()).as_bytes());
    std::fs::set_permissions(&user_hook, std::fs::Permissions::from_mode(0o755)).unwrap();

    let first = env.data(&repo, &["install"]);
    assert!(first.stdout.contains("kept as pre-push.pre-git-data"), "{}", first.stdout);
    let cfg = config(&env, &repo, "--local");
    assert!(cfg.contains("filter.data.process git-data filter-process"), "{cfg}");
    assert!(cfg.contains("filter.data.required true"), "{cfg}");
    assert!(cfg.contains("merge.data.driver git-data merge-driver %O %A %B %P"), "{cfg}");
    env.data(&repo, &["install"]);
    assert_eq!(config(&env, &repo, "--local"), cfg, "second install changes nothing");
    for hook in ["pre-push", "post-checkout", "post-merge", "post-rewrite"] {
        let text = String::from_utf8(read(&repo.join(".git/hooks").join(hook))).unwrap();
        assert!(text.contains(&format!("git-data hook {hook}")), "{hook}: {text}");
    }

    // the chained user hook still runs on push, with git's input
    let origin = env.path("o.git");
    env.git(env.root(), &["init", "-q", "--bare", origin.to_str().unwrap()]);
    env.git(&repo, &["remote", "add", "origin", origin.to_str().unwrap()]);
    write(&repo.join("a.txt"), b"a");
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "a"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    let seen = String::from_utf8(read(&marker)).unwrap();
    assert!(seen.starts_with("refs/heads/main "), "user hook got stdin: {seen:?}");

    let un = env.data(&repo, &["uninstall"]);
    assert!(un.stdout.contains("restored your own pre-push hook"), "{}", un.stdout);
    assert_eq!(config(&env, &repo, "--local"), "");
    assert!(String::from_utf8(read(&user_hook)).unwrap().contains("cat >"));
    assert!(!repo.join(".git/hooks/post-checkout").exists());
    env.data(&repo, &["uninstall"]);
}

#[test]
fn a_refusing_user_hook_still_refuses_the_push() {
    let env = Env::new();
    let repo = env.project("uh");
    let hook = repo.join(".git/hooks/pre-push.pre-git-data");
    write(&hook, b"#!/bin/sh\necho 'user hook says no' >&2\nexit 1\n");
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    write(&repo.join("x.bin"), &bytes(1, 100));
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "x"]);
    let push = env.run(&repo, "git", &["push", "-q", "origin", "main"]);
    assert_ne!(push.code, 0);
    assert!(push.stderr.contains("user hook says no"), "{}", push.stderr);
}

#[test]
fn global_uninstall_and_missing_binary_messages() {
    let env = Env::new();
    let global =
        env.run(env.root(), "git", &["config", "--global", "--get", "filter.data.process"]);
    assert_eq!(global.stdout.trim(), "git-data filter-process");
    env.data(env.root(), &["uninstall", "--global"]);
    let global =
        env.run(env.root(), "git", &["config", "--global", "--get", "filter.data.process"]);
    assert_eq!(global.code, 1, "removed");
    let outside = env.run(env.root(), "git", &["data", "status"]);
    assert_eq!(outside.code, 1);
    assert!(outside.stderr.contains("not in a git repository"), "{}", outside.stderr);
    assert!(outside.stderr.contains("hint:"), "{}", outside.stderr);
}

#[test]
fn index_refresh_works_for_every_index_version() {
    for version in ["2", "3", "4"] {
        let env = Env::new();
        let repo = env.project(&format!("iv{version}"));
        env.git(&repo, &["config", "index.version", version]);
        let v1 = bytes(1, 1_200_000);
        let v2 = bytes(2, 1_300_000);
        write(&repo.join("deep/dir/model.bin"), &v1);
        write(&repo.join("readme.txt"), b"hello");
        env.git(&repo, &["add", "-A"]);
        if version == "3" {
            write(&repo.join("later.txt"), b"x");
            env.git(&repo, &["add", "-N", "later.txt"]); // intent-to-add needs extended flags
        }
        env.git(&repo, &["commit", "-q", "-m", "v1"]);
        env.git(&repo, &["tag", "v1.0"]);
        write(&repo.join("deep/dir/model.bin"), &v2);
        env.git(&repo, &["commit", "-q", "-am", "v2"]);
        env.git(&repo, &["checkout", "-q", "v1.0"]);
        assert_eq!(read(&repo.join("deep/dir/model.bin")), v1);
        let debug = env.git(&repo, &["ls-files", "--debug", "deep/dir/model.bin"]).stdout;
        assert!(
            debug.contains(&format!("size: {}", v1.len())),
            "index {version} stat refreshed: {debug}"
        );
        env.git(&repo, &["fsck", "--no-progress"]);
        let st = env.git(&repo, &["status", "--porcelain"]).stdout;
        assert!(!st.contains("model.bin"), "index {version}: {st}");
    }
}

#[test]
fn split_index_falls_back_to_git_refresh() {
    let env = Env::new();
    let repo = env.project("split");
    env.git(&repo, &["config", "core.splitIndex", "true"]);
    let v1 = bytes(3, 1_100_000);
    write(&repo.join("m.bin"), &v1);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "v1"]);
    env.git(&repo, &["tag", "v1.0"]);
    write(&repo.join("m.bin"), &bytes(4, 1_100_000));
    env.git(&repo, &["commit", "-q", "-am", "v2"]);
    env.git(&repo, &["checkout", "-q", "v1.0"]);
    assert_eq!(read(&repo.join("m.bin")), v1);
    assert_clean(&env, &repo);
}

#[test]
fn track_from_a_subdirectory_and_untrack() {
    let env = Env::new();
    let repo = env.project("tr");
    std::fs::create_dir_all(repo.join("models")).unwrap();
    let out = env.data(&repo.join("models"), &["track", "*.onnx", "weights dir/"]);
    assert!(out.stdout.contains("Tracking \"models/*.onnx\""), "{}", out.stdout);
    let attrs = String::from_utf8(read(&repo.join(".gitattributes"))).unwrap();
    assert!(attrs.contains("models/*.onnx filter=data"), "{attrs}");
    assert!(attrs.contains("models/weights[[:space:]]dir/** filter=data"), "{attrs}");
    let again = env.data(&repo, &["track", "*.bin"]);
    assert!(again.stdout.contains("already tracked"), "{}", again.stdout);
    env.data(&repo, &["untrack", "*.bin"]);
    let attrs = String::from_utf8(read(&repo.join(".gitattributes"))).unwrap();
    assert!(!attrs.contains("*.bin"), "{attrs}");
    env.data_fails(&repo, &["untrack", "*.nothing"]);

    // committed files that a new pattern covers get a hint
    write(&repo.join("old.pkl"), &bytes(5, 1000));
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "pkl in git"]);
    let out = env.data(&repo, &["track", "*.pkl"]);
    assert!(
        out.stdout.contains("1 file already committed") && out.stdout.contains("--renormalize"),
        "{}",
        out.stdout
    );
    env.git(&repo, &["add", "--renormalize", "."]);
    env.git(&repo, &["commit", "-q", "-m", "convert"]);
    assert_eq!(env.git(&repo, &["show", "HEAD:old.pkl"]).stdout, pointer_of(&bytes(5, 1000)));
}

#[test]
fn remote_commands() {
    let env = Env::new();
    let repo = env.project("rc");
    env.data(&repo, &["remote", "add", "backup", "/mnt/backup-share"]);
    let list = env.data(&repo, &["remote", "list"]);
    assert!(
        list.stdout.contains("* storage") && list.stdout.contains("  backup\t/mnt/backup-share"),
        "{}",
        list.stdout
    );
    env.data(&repo, &["remote", "default", "backup"]);
    assert!(env.data(&repo, &["remote", "list"]).stdout.contains("* backup"));
    env.data(&repo, &["remote", "remove", "backup"]);
    assert!(env.data(&repo, &["remote", "list"]).stdout.contains("* storage"));
    let bad = env.data_fails(&repo, &["remote", "add", "x", "ftp://host/x"]);
    assert!(bad.stderr.contains("unsupported remote URL"), "{}", bad.stderr);
    let bad = env.data_fails(&repo, &["remote", "default", "nope"]);
    assert!(bad.stderr.contains("no data remote named `nope`"), "{}", bad.stderr);
}

#[test]
fn help_is_stable() {
    let env = Env::bare();
    let mut text = String::new();
    for args in [
        vec!["--help"],
        vec!["push", "--help"],
        vec!["remote", "add", "--help"],
        vec!["status", "--help"],
    ] {
        let out = env.run(env.root(), env!("CARGO_BIN_EXE_git-data"), &args);
        assert_eq!(out.code, 0);
        text.push_str(&format!("$ git data {}\n{}\n", args.join(" "), out.stdout));
    }
    let usage = env.run(env.root(), env!("CARGO_BIN_EXE_git-data"), &["no-such-command"]);
    assert_eq!(usage.code, 2, "usage errors exit 2");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/help.txt");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(text, expected, "--help changed: review it, then rerun with UPDATE_SNAPSHOTS=1");
}

#[test]
fn a_clone_made_without_git_data_is_named_and_install_restores_it() {
    let env = Env::new();
    let repo = env.project("nogd");
    let (model, table) = (bytes(1320, 3 * 1024 * 1024), bytes(1321, 5_000));
    write(&repo.join("model.bin"), &model);
    write(&repo.join("data/t.csv"), &table);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "data"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    // a colleague without git-data: git leaves the pointer text, and says nothing
    env.data(env.root(), &["uninstall", "--global"]);
    let (clone, out) = env.clone_of("nogd", "nogd-clone");
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(read(&clone.join("model.bin")), pointer_of(&model).as_bytes());
    assert_eq!(env.git(&clone, &["status", "--porcelain"]).stdout, "");

    let text = env.data(&clone, &["status"]).stdout;
    assert!(text.contains("warning: git-data is not set up in this clone"), "{text}");
    assert!(
        text.contains(
            "fix: `git data install` sets it up and writes the data of the 2 pointer files"
        ),
        "{text}"
    );
    assert!(text.contains("pointer only, not in cache (on remote)"), "{text}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&env.data(&clone, &["status", "--json"]).stdout)
            .unwrap()["filter_installed"],
        false
    );

    // the one command
    let out = env.data(&clone, &["install"]);
    assert!(out.stdout.contains("2 data files are pointer text"), "{}", out.all());
    assert_eq!(read(&clone.join("model.bin")), model);
    assert_eq!(read(&clone.join("data/t.csv")), table);
    assert_clean(&env, &clone);
    let text = env.data(&clone, &["status"]).stdout;
    assert!(text.contains("2 tracked files (3.0 MiB): 2 up to date"), "{text}");

    // the hooks are there but the filter config went: a checkout says so and fails
    env.git(&clone, &["config", "--local", "--remove-section", "filter.data"]);
    env.git(&clone, &["checkout", "-q", "-b", "side"]);
    write(&clone.join("model.bin"), &bytes(1322, 4_000));
    let commit = env.run(&clone, "git", &["commit", "-q", "-am", "raw"]);
    assert!(commit.stderr.contains("git-data's filter is not set up"), "{}", commit.all());
    let out = env.run(&clone, "git", &["checkout", "-q", "main"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("git-data's filter is not set up"), "{}", out.all());
    assert!(out.stderr.contains("`git data install`"), "{}", out.all());
    assert_eq!(read(&clone.join("model.bin")), pointer_of(&model).as_bytes());
    env.data(&clone, &["install"]);
    assert_eq!(read(&clone.join("model.bin")), model);
    assert_clean(&env, &clone);
}

#[test]
fn init_sets_up_a_cookiecutter_project_and_names_the_ignore_rule_in_the_way() {
    let env = Env::new();
    let proj = env.path("ccds");
    let store = env.path("ccds-store");
    std::fs::create_dir_all(&store).unwrap();
    // Cookiecutter Data Science's own .gitignore keeps data out of git
    write(&proj.join(".gitignore"), b"# data\n/data/\n*.log\n");
    let out = env.data(&proj, &["init", "--preset", "ccds", "--remote", store.to_str().unwrap()]);
    assert!(proj.join(".git").is_dir(), "git init ran: {}", out.all());
    assert_eq!(
        out.stderr.matches("git-data: warning: git ignores").count(),
        1,
        "one warning for one rule: {}",
        out.all()
    );
    assert!(
        out.stderr.contains("\"data/raw/**\"") && out.stderr.contains("(.gitignore:2: /data/)")
    );
    assert!(!out.stderr.contains("\"models/**\""), "models/ is not ignored: {}", out.all());
    let attrs = String::from_utf8(read(&proj.join(".gitattributes"))).unwrap();
    for dir in ["data/raw", "data/interim", "data/processed", "data/external", "models"] {
        assert!(attrs.contains(&format!("{dir}/** filter=data")), "{attrs}");
    }
    assert!(env.data(&proj, &["remote", "list"]).stdout.contains("* storage"));
    assert!(env.git(&proj, &["config", "filter.data.process"]).stdout.contains("git-data"));

    // as the hint says: narrow the rule, then data and models go through git-data
    write(&proj.join(".gitignore"), b"# data\n/data/*\n!/data/raw/\n*.log\n");
    let (raw, model) = (bytes(1360, 5_000), bytes(1361, 2 * 1024 * 1024));
    write(&proj.join("data/raw/a.csv"), &raw);
    write(&proj.join("models/m.pt"), &model);
    env.git(&proj, &["add", "-A"]);
    env.git(&proj, &["commit", "-q", "-m", "start"]);
    assert_eq!(env.git(&proj, &["show", "HEAD:models/m.pt"]).stdout, pointer_of(&model));
    env.data(&proj, &["push"]);
    assert_eq!(read(&object_path(&store, &raw)), raw);
    assert_eq!(read(&object_path(&store, &model)), model);

    // init in a repository that has it all already changes nothing and says what is next
    let again = env.data(&proj, &["init"]);
    assert!(!again.stdout.contains("Initialized"), "{}", again.all());
    assert!(!again.stdout.contains("Next:"), "{}", again.all());
    let bare = env.path("bare-init");
    std::fs::create_dir_all(&bare).unwrap();
    let out = env.data(&bare, &["init"]);
    assert!(out.stdout.contains("Next: track data with"), "{}", out.all());
    assert!(out.stdout.contains("Next: add a data remote"), "{}", out.all());
    assert_eq!(String::from_utf8(read(&proj.join(".gitattributes"))).unwrap(), attrs);
}
