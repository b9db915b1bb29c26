//! Secrets, file modes and places: keys never reach the committed `.gitdata.yaml` nor the
//! screen, files keep the modes they should have, and remotes and patterns that point where
//! data does not belong are refused with the culprit named.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const SECRET: &str = "hunter2-NEVER-PRINT-77";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `git data remote set-credentials storage --access-key-id AKIDTEST` with the secret on stdin.
fn set_credentials(env: &Env, repo: &Path) -> Out {
    use std::io::Write;
    use std::process::Stdio;
    let mut cmd = env.command(repo, "git");
    cmd.args(["data", "remote", "set-credentials", "storage", "--access-key-id", "AKIDTEST"]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(format!("{SECRET}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A new repository `r` with git-data installed.
fn fresh(env: &Env) -> std::path::PathBuf {
    let repo = env.path("r");
    env.git(env.root(), &["init", "-q", "r"]);
    env.data(&repo, &["install"]);
    repo
}

#[test]
fn stored_keys_make_git_config_private_and_stay_so() {
    let env = Env::new();
    let repo = fresh(&env);
    env.data(
        &repo,
        &["remote", "add", "storage", "s3://bucket/x", "--endpoint", "http://127.0.0.1:9"],
    );
    let config = repo.join(".git/config");
    for before in [0o600, 0o644] {
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(before)).unwrap();
        let out = set_credentials(&env, &repo);
        assert_eq!(out.code, 0, "{}", out.all());
        assert_eq!(mode(&config), 0o600, "from {before:o}");
        assert!(!out.all().contains(SECRET));
    }
    let text = String::from_utf8(read(&config)).unwrap();
    assert!(text.contains(SECRET), "the key is stored in .git/config");
    // git's own later writes keep the mode, and so does removing the keys
    env.git(&repo, &["config", "core.x", "1"]);
    env.data(&repo, &["remote", "set-credentials", "storage", "--unset"]);
    assert_eq!(mode(&config), 0o600);
    assert!(!String::from_utf8(read(&config)).unwrap().contains(SECRET));
    let yaml = String::from_utf8(read(&repo.join(".gitdata.yaml"))).unwrap();
    assert!(!yaml.contains(SECRET));
}

#[test]
fn committed_files_follow_the_umask() {
    let env = Env::new();
    let repo = env.path("r");
    env.git(env.root(), &["init", "-q", "r"]);
    let store = env.path("store");
    let script = format!(
        "umask 027 && git data track '*.bin' && git data remote add storage '{}'",
        store.display()
    );
    let out = env.run(&repo, "sh", &["-c", &script]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(mode(&repo.join(".gitdata.yaml")), 0o640);
    assert_eq!(mode(&repo.join(".gitattributes")), 0o640);
    // an existing file keeps its mode, whatever the umask
    std::fs::set_permissions(repo.join(".gitdata.yaml"), std::fs::Permissions::from_mode(0o664))
        .unwrap();
    let out = env.run(&repo, "sh", &["-c", "umask 077 && git data remote default storage"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(mode(&repo.join(".gitdata.yaml")), 0o664);
    // no temp is left beside them, or anywhere git would see it
    let status = env.git(&repo, &["status", "--porcelain", "--untracked-files=all"]).stdout;
    assert_eq!(status, "?? .gitattributes\n?? .gitdata.yaml\n");
}

#[test]
fn credentials_in_urls_are_refused_and_never_shown() {
    let env = Env::new();
    let repo = fresh(&env);
    let endpoint = format!("http://minio:{SECRET}@127.0.0.1:9000");
    for args in [
        vec!["remote", "add", "storage", "s3://bucket/x", "--endpoint", endpoint.as_str()],
        vec!["remote", "add", "storage", "s3://AKID:hunter2-NEVER-PRINT-77@bucket/x"],
    ] {
        let out = env.data_fails(&repo, &args);
        assert!(out.stderr.contains("holds credentials"), "{}", out.stderr);
        assert!(out.stderr.contains("git data remote set-credentials"), "{}", out.stderr);
        assert!(!out.all().contains(SECRET), "{}", out.all());
        assert!(!repo.join(".gitdata.yaml").exists());
    }
    // a hand-written file with keys in it: shown redacted, and refused when used
    let yaml = format!(
        "remotes:\n  storage:\n    url: s3://bucket/x\n    endpoint: {endpoint}\n    path-style: true\n"
    );
    write(&repo.join(".gitdata.yaml"), yaml.as_bytes());
    for args in [&["remote", "list"][..], &["env"]] {
        let out = env.data(&repo, args);
        assert!(out.stdout.contains("http://***@127.0.0.1:9000"), "{}", out.stdout);
        assert!(!out.all().contains(SECRET), "{}", out.all());
    }
    write(&repo.join("a.bin"), &bytes(1, 2000));
    env.data(&repo, &["track", "*.bin"]);
    env.git(&repo, &["add", "a.bin"]);
    env.git(&repo, &["commit", "-q", "-m", "a"]);
    let out = env.data_fails(&repo, &["push", "--all"]);
    assert!(
        out.stderr.contains("storage") && out.stderr.contains("holds credentials"),
        "{}",
        out.stderr
    );
    assert!(!out.all().contains(SECRET), "{}", out.all());
}

#[test]
fn directory_remotes_outside_the_repository_only() {
    let env = Env::new();
    let repo = fresh(&env);
    let file = env.path("a-file");
    write(&file, b"x");
    let cases = [
        ("store", "inside the work tree"),
        ("./data/../store", "inside the work tree"),
        (".git/data-store", "inside a .git directory"),
        ("../other/.git/store", "inside a .git directory"),
        ("~nobody/store", "only `~/`"),
        ("file://store", "not a local absolute path"),
        (file.to_str().unwrap(), "is a file"),
    ];
    for (url, why) in cases {
        let out = env.data_fails(&repo, &["remote", "add", "storage", url]);
        assert!(out.stderr.contains(why), "{url}: {}", out.stderr);
        assert!(out.stderr.contains(url), "the error names {url}: {}", out.stderr);
        assert!(!repo.join(".gitdata.yaml").exists(), "{url}");
    }
    // a relative path outside the work tree is kept as written, resolved from each clone
    let out = env.data(&repo, &["remote", "add", "storage", "../team-store"]);
    assert!(out.stdout.contains(&env.path("team-store").display().to_string()), "{}", out.stdout);
    let yaml = String::from_utf8(read(&repo.join(".gitdata.yaml"))).unwrap();
    assert!(yaml.contains("url: ../team-store"), "{yaml}");
    std::fs::create_dir_all(env.path("team-store")).unwrap();
    env.data(&repo, &["track", "*.bin"]);
    write(&repo.join("a.bin"), &bytes(2, 3000));
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "a"]);
    env.data(&repo, &["push", "--all"]);
    assert!(object_path(&env.path("team-store"), &bytes(2, 3000)).is_file());
    // ~/ is the home of whoever runs the command
    env.data(&repo, &["remote", "add", "home", "~/data-store"]);
    let list = env.data(&repo, &["remote", "list"]).stdout;
    assert!(list.contains("~/data-store"), "{list}");
}

#[test]
fn patterns_outside_the_work_tree_are_refused() {
    let env = Env::new();
    let repo = fresh(&env);
    std::fs::create_dir_all(repo.join("sub")).unwrap();
    for (pattern, why) in [
        ("../*.bin", "leaves the work tree"),
        ("sub/../../x.bin", "leaves the work tree"),
        (".git/*", "git's own directory"),
        ("!*.bin", "no negative patterns"),
        ("a\nb", "one non-empty line"),
    ] {
        let out = env.data_fails(&repo, &["track", pattern]);
        assert!(out.stderr.contains(why), "{pattern:?}: {}", out.stderr);
        assert!(!repo.join(".gitattributes").exists(), "{pattern:?}");
    }
    // from a subdirectory, `..` up to the root is fine
    env.data(&repo.join("sub"), &["track", "../*.pkl", "x.bin"]);
    let text = String::from_utf8(read(&repo.join(".gitattributes"))).unwrap();
    assert!(
        text.starts_with("*.pkl filter=data") && text.contains("\nsub/x.bin filter=data"),
        "{text}"
    );
    let out = env.data_fails(&repo.join("sub"), &["track", "../../*.pkl"]);
    assert!(out.stderr.contains("leaves the work tree"), "{}", out.stderr);
}
