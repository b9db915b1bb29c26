//! Mixed teams on one Git LFS server: where the data remote is a Git LFS server, tracked
//! files say `filter=lfs` and git-data serves that filter name in its clones, so git-lfs
//! users and git-data users read and write the same files.

use crate::common::*;

fn local_config(env: &Env, repo: &std::path::Path, section: &str) -> String {
    let pattern = format!(r"^(filter|merge)\.{section}\.");
    env.run(repo, "git", &["config", "--local", "--get-regexp", &pattern]).stdout
}

#[test]
fn an_lfs_server_remote_tracks_with_filter_lfs_and_git_data_serves_it() {
    let env = Env::new();
    let repo = env.path("mixed");
    env.git(env.root(), &["init", "-q", repo.to_str().unwrap()]);
    let url = "lfs+http://127.0.0.1:9/team/mixed.git/info/lfs";
    let added = env.data(&repo, &["remote", "add", "storage", url]);
    assert!(added.stdout.contains("serving the `lfs` filter in this clone"), "{}", added.stdout);
    assert!(added.stdout.contains("Wrote lfs.url to .lfsconfig"), "{}", added.stdout);
    let lfsconfig = String::from_utf8(read(&repo.join(".lfsconfig"))).unwrap();
    assert!(lfsconfig.contains("url = http://127.0.0.1:9/team/mixed.git/info/lfs"), "{lfsconfig}");
    let cfg = local_config(&env, &repo, "lfs");
    assert!(cfg.contains("filter.lfs.process git-data filter-process"), "{cfg}");
    assert!(cfg.contains("merge.lfs.driver git-data merge-driver"), "{cfg}");

    env.data(&repo, &["track", "*.bin"]);
    let attrs = String::from_utf8(read(&repo.join(".gitattributes"))).unwrap();
    assert_eq!(attrs, "*.bin filter=lfs diff=lfs merge=lfs -text\n");
    let data = bytes(7, 300_000);
    write(&repo.join("model.bin"), &data);
    env.git(&repo, &["add", "."]);
    env.git(&repo, &["commit", "-qm", "model"]);
    // the blob is git-lfs's pointer, and git-data counts the file as its own
    let blob = env.git(&repo, &["cat-file", "-p", "HEAD:model.bin"]).stdout;
    assert_eq!(blob, pointer_of(&data));
    let listed = env.data(&repo, &["ls-files"]).stdout;
    assert!(listed.contains("model.bin"), "{listed}");
    assert_clean(&env, &repo);
    // checkout through the served name writes the data back
    std::fs::remove_file(repo.join("model.bin")).unwrap();
    env.git(&repo, &["checkout", "--", "model.bin"]);
    assert_eq!(read(&repo.join("model.bin")), data);

    // a clone made by a git-data user: `git data install` serves `lfs` there too
    let clone = env.path("clone");
    env.git(env.root(), &["clone", "-q", repo.to_str().unwrap(), clone.to_str().unwrap()]);
    assert_eq!(local_config(&env, &clone, "lfs"), "", "nothing serves lfs before install");
    let status = env.data(&clone, &["status"]).stdout;
    assert!(status.contains("filter.lfs is not git-data's") && status.contains("git data install"));
    // (no server answers here: writing the data fails, and says which file is left)
    let installed = env.data_fails(&clone, &["install"]);
    assert!(installed.stdout.contains("serving the `lfs` filter"), "{}", installed.stdout);
    assert!(installed.all().contains("model.bin"), "{}", installed.all());
    assert!(local_config(&env, &clone, "lfs").contains("git-data filter-process"));

    // uninstall removes what install set, lfs included
    env.data(&clone, &["uninstall"]);
    assert_eq!(local_config(&env, &clone, "lfs"), "");
}

fn git_lfs_installed() -> bool {
    std::process::Command::new("git-lfs").arg("version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn git_lfs_users_and_git_data_users_share_one_repository_on_one_server() {
    let Some(server) = crate::lfsserver::LfsServer::start() else { return };
    if !git_lfs_installed() {
        eprintln!("skipped: git-lfs is not installed (benches/setup.sh installs it)");
        return;
    }
    let env = Env::new();
    let origin = env.path("team.git");
    env.git(env.root(), &["init", "-q", "--bare", origin.to_str().unwrap()]);
    // a git-data user sets the repository up on the team's LFS server
    let repo = env.path("gd");
    env.git(env.root(), &["clone", "-q", origin.to_str().unwrap(), repo.to_str().unwrap()]);
    crate::lfs_server::use_lfs(&env, &repo, &server, "team/shared");
    let tested = env.data(&repo, &["remote", "test", "storage"]).stdout;
    assert!(tested.contains("ok      read it back"), "{tested}");
    assert!(tested.contains("leave the probe there (a Git LFS server's API cannot delete)"));
    assert!(!tested.contains(&server.token()), "the token is never printed");
    let shown = env.data(&repo, &["env"]).stdout;
    assert!(shown.contains(&format!("Git LFS server {}", server.endpoint("team/shared"))));
    assert!(shown.contains("credentials: git's credential helpers"), "{shown}");
    env.data(&repo, &["track", "*.bin"]);
    let model = bytes(31, 2_000_000);
    write(&repo.join("model.bin"), &model);
    env.git(&repo, &["add", "."]);
    env.git(&repo, &["commit", "-qm", "model v1"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    assert_eq!(read(&server.object_file("team/shared", &model)), model, "on the LFS server");

    // a git-lfs user clones it: git-lfs's own driver and hooks, and the server from the
    // .lfsconfig that `git data remote add` wrote
    let lfs = env.path("lfs-user");
    env.git(
        env.root(),
        &["clone", "-q", "--no-checkout", origin.to_str().unwrap(), lfs.to_str().unwrap()],
    );
    env.git(&lfs, &["lfs", "install", "--local", "--force"]);
    env.git(&lfs, &["checkout", "-q", "main"]);
    assert_eq!(read(&lfs.join("model.bin")), model, "git-lfs smudged what git-data pushed");
    let status = env.git(&lfs, &["status", "--porcelain"]).stdout;
    assert_eq!(status, "", "git-lfs user's clone is clean");
    // … and pushes a new version of the model and a new file with git-lfs
    let model2 = bytes(32, 1_500_000);
    let extra = bytes(33, 700_000);
    write(&lfs.join("model.bin"), &model2);
    write(&lfs.join("extra.bin"), &extra);
    env.git(&lfs, &["add", "."]);
    env.git(&lfs, &["commit", "-qm", "model v2 (git-lfs)"]);
    env.git(&lfs, &["push", "-q", "origin", "main"]);
    assert_eq!(env.git(&lfs, &["cat-file", "-p", "HEAD:extra.bin"]).stdout, pointer_of(&extra));

    // the git-data user pulls: git-data serves filter=lfs and fetches from the same server
    env.git(&repo, &["pull", "-q", "origin", "main"]);
    assert_eq!(read(&repo.join("model.bin")), model2);
    assert_eq!(read(&repo.join("extra.bin")), extra);
    assert_clean(&env, &repo);
    env.git(&repo, &["checkout", "-q", "HEAD~1"]);
    assert_eq!(read(&repo.join("model.bin")), model, "the older version comes back");
    assert!(!repo.join("extra.bin").exists());

    // a fresh git-data clone: `git data install` serves lfs and writes the data
    let fresh = env.path("gd-fresh");
    env.git(env.root(), &["clone", "-q", origin.to_str().unwrap(), fresh.to_str().unwrap()]);
    env.data(&fresh, &["install"]);
    assert_eq!(read(&fresh.join("model.bin")), model2);
    assert_eq!(read(&fresh.join("extra.bin")), extra);
    assert_clean(&env, &fresh);
}
