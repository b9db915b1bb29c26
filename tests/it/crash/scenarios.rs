//! The scenarios of the crash harness: for each command, a small repository in a fresh
//! hermetic [`Env`] (a few files, some over the 1 MiB inline limit so that the hooks write
//! them, one over 4 MiB so that a download writes it straight to the work tree, one over
//! 8 MiB for the threaded copy; a bare `origin` and a directory data remote), the command,
//! and the state the command must leave once it has run to the end.

use crate::common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Path -> bytes of one revision's tracked files (`.gitattributes`, `.gitdata.yaml` aside).
pub(crate) type Tree = BTreeMap<String, Vec<u8>>;
/// Path -> SHA-256 of the content (a data file's data, not its pointer).
pub(crate) type Hashes = BTreeMap<String, String>;

/// What a completed run leaves.
#[derive(Default)]
pub(crate) struct Expect {
    /// The work tree and the index.
    pub files: Hashes,
    /// HEAD's tree, where it differs from the index (after an add).
    pub head: Option<Hashes>,
    pub cache_has: Vec<String>,
    pub cache_lacks: Vec<String>,
    pub remote_has: Vec<String>,
    pub remote_lacks: Vec<String>,
    /// `origin`'s main is ours.
    pub origin_main: bool,
    /// Every commit's logical content, by subject (migrate).
    pub history: Option<crate::migrate::Contents>,
    /// A refusal of the rerun that means "already done" (exit 1 with this text).
    pub done_refusal: Option<&'static str>,
}

pub(crate) struct Scenario {
    pub env: Env,
    /// Where the command runs.
    pub dir: PathBuf,
    /// The repository the invariants are checked in.
    pub repo: PathBuf,
    /// The directory data remote.
    pub store: PathBuf,
    /// git's arguments.
    pub args: Vec<String>,
    pub expect: Expect,
}

impl Scenario {
    /// The command, ready to run.
    pub(crate) fn command(&self) -> std::process::Command {
        let mut cmd = self.env.command(&self.dir, "git");
        cmd.args(&self.args);
        cmd
    }

    pub(crate) fn command_line(&self) -> String {
        format!("git {}", self.args.join(" "))
    }
}

/// The commands the harness interrupts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    AddGit,
    AddData,
    Commit,
    PushGit,
    PushData,
    Fetch,
    PullGit,
    PullData,
    Checkout,
    CheckoutRemote,
    Clone,
    Gc,
    GcRemote,
    Migrate,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::AddGit => "add",
            Kind::AddData => "data-add",
            Kind::Commit => "commit",
            Kind::PushGit => "push",
            Kind::PushData => "data-push",
            Kind::Fetch => "data-fetch",
            Kind::PullGit => "pull",
            Kind::PullData => "data-pull",
            Kind::Checkout => "checkout",
            Kind::CheckoutRemote => "checkout-remote",
            Kind::Clone => "clone",
            Kind::Gc => "gc",
            Kind::GcRemote => "gc-remote",
            Kind::Migrate => "migrate",
        }
    }

    /// Builds the scenario, its content drawn from `seed`.
    pub(crate) fn build(self, seed: u64) -> Scenario {
        let env = Env::new();
        let (v1, v2) = versions(seed);
        let repo = env.path("p");
        let store = env.path("p-store");
        let (dir, args, expect) = match self {
            Kind::Migrate => return migrate(env, seed),
            Kind::AddGit | Kind::AddData | Kind::Commit => {
                committed(&env, &v1);
                put(&repo, &v1, &v2);
                let (args, expect) = match self {
                    Kind::AddGit => (args(&["add", "-A"]), staged(&v1, &v2)),
                    Kind::AddData => (args(&["data", "add", "."]), staged(&v1, &v2)),
                    _ => {
                        let new: Vec<&str> = new_paths(&v1, &v2);
                        env.git(&repo, &[&["add", "--"][..], &new].concat());
                        let mut e = plain(&v2);
                        e.cache_has = oids(&v2);
                        e.done_refusal = Some("nothing to commit");
                        (args(&["commit", "-q", "-a", "-m", "v2"]), e)
                    }
                };
                (repo.clone(), args, expect)
            }
            Kind::PushGit | Kind::PushData => {
                committed(&env, &v1);
                commit(&env, &repo, &v1, &v2, "v2");
                let mut e = plain(&v2);
                e.remote_has = [oids(&v1), oids(&v2)].concat();
                e.origin_main = self == Kind::PushGit;
                let a = if self == Kind::PushGit {
                    args(&["push", "-q", "origin", "main"])
                } else {
                    args(&["data", "push"])
                };
                (repo.clone(), a, e)
            }
            Kind::Fetch | Kind::PullGit | Kind::PullData | Kind::CheckoutRemote => {
                committed(&env, &v1);
                let clone = env.path("c");
                if self != Kind::CheckoutRemote {
                    env.git(&repo, &["push", "-q", "origin", "main", "--tags"]);
                    let (_, out) = env.clone_of("p", "c");
                    assert_eq!(out.code, 0, "{}", out.all());
                }
                commit(&env, &repo, &v1, &v2, "v2");
                env.git(&repo, &["push", "-q", "origin", "main", "--tags"]);
                let (a, e) = match self {
                    Kind::Fetch => {
                        env.git(&clone, &["fetch", "-q", "origin"]);
                        let mut e = plain(&v1);
                        e.cache_has = oids(&v2);
                        (args(&["data", "fetch", "--rev", "origin/main"]), e)
                    }
                    Kind::PullGit => (args(&["pull", "-q", "--ff-only"]), plain(&v2)),
                    Kind::PullData => {
                        env.git(&clone, &["fetch", "-q", "origin"]);
                        // without hooks: the large files stay pointers until `git data pull`
                        let merge = ["-c", "core.hooksPath=/dev/null", "merge", "-q"];
                        env.git(&clone, &[&merge[..], &["--ff-only", "origin/main"]].concat());
                        (args(&["data", "pull"]), plain(&v2))
                    }
                    _ => {
                        let (_, out) = env.clone_of("p", "c");
                        assert_eq!(out.code, 0, "{}", out.all());
                        (args(&["checkout", "-q", "v1"]), plain(&v1))
                    }
                };
                return Scenario {
                    env,
                    dir: clone.clone(),
                    repo: clone,
                    store,
                    args: a,
                    expect: e,
                };
            }
            Kind::Checkout => {
                committed(&env, &v1);
                commit(&env, &repo, &v1, &v2, "v2");
                (repo.clone(), args(&["checkout", "-q", "v1"]), plain(&v1))
            }
            Kind::Clone => {
                committed(&env, &v1);
                commit(&env, &repo, &v1, &v2, "v2");
                env.git(&repo, &["push", "-q", "origin", "main", "--tags"]);
                let origin = env.path("p-origin.git");
                let a = args(&["clone", "-q", origin.to_str().unwrap(), "c"]);
                let mut e = plain(&v2);
                e.cache_has = oids(&v2);
                return Scenario {
                    dir: env.root().to_path_buf(),
                    repo: env.path("c"),
                    env,
                    store,
                    args: a,
                    expect: e,
                };
            }
            Kind::Gc | Kind::GcRemote => return gc(env, self == Kind::GcRemote, &v1, &v2, seed),
        };
        Scenario { env, dir, repo, store, args, expect }
    }
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// Fast deterministic incompressible bytes (eight at a time).
pub(crate) fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Two revisions: v1, and v2 that changes, deletes, keeps and adds files of every size class.
fn versions(seed: u64) -> (Tree, Tree) {
    let s = seed.wrapping_mul(1000);
    let mut v1 = Tree::new();
    v1.insert("README.md".into(), format!("# project {seed}\n").into_bytes());
    v1.insert("data/a.csv".into(), noise(s + 1, 40_000));
    v1.insert("data/b.bin".into(), noise(s + 2, 300_000));
    v1.insert("model.bin".into(), noise(s + 3, 1_500_000));
    v1.insert("data/big.bin".into(), noise(s + 4, 4_500_000));
    let mut v2 = v1.clone();
    v2.insert("README.md".into(), format!("# project {seed}, v2\n").into_bytes());
    v2.insert("data/a.csv".into(), noise(s + 5, 50_000));
    v2.remove("data/b.bin");
    v2.insert("model.bin".into(), noise(s + 6, 2_000_000));
    v2.insert("data/huge.bin".into(), noise(s + 7, 9_000_000));
    v2.insert("data/new.bin".into(), noise(s + 8, 1_100_000));
    (v1, v2)
}

pub(crate) fn hashes(tree: &Tree) -> Hashes {
    tree.iter().map(|(p, d)| (p.clone(), sha256(d))).collect()
}

/// The oids of a revision's data files (everything but README.md).
fn oids(tree: &Tree) -> Vec<String> {
    tree.iter().filter(|(p, _)| *p != "README.md").map(|(_, d)| sha256(d)).collect()
}

fn new_paths<'a>(from: &Tree, to: &'a Tree) -> Vec<&'a str> {
    to.keys().filter(|p| !from.contains_key(*p)).map(String::as_str).collect()
}

fn plain(tree: &Tree) -> Expect {
    Expect { files: hashes(tree), ..Default::default() }
}

fn staged(v1: &Tree, v2: &Tree) -> Expect {
    Expect { files: hashes(v2), head: Some(hashes(v1)), cache_has: oids(v2), ..Default::default() }
}

/// Makes the work tree hold `to` where it held `from`.
fn put(repo: &Path, from: &Tree, to: &Tree) {
    for path in from.keys().filter(|p| !to.contains_key(*p)) {
        std::fs::remove_file(repo.join(path)).unwrap();
    }
    for (path, data) in to {
        if from.get(path) != Some(data) {
            write(&repo.join(path), data);
        }
    }
}

fn commit(env: &Env, repo: &Path, from: &Tree, to: &Tree, message: &str) {
    put(repo, from, to);
    env.git(repo, &["add", "-A"]);
    env.git(repo, &["commit", "-q", "-m", message]);
    env.git(repo, &["tag", message]);
}

/// The project `p` with `v1` committed and tagged.
fn committed(env: &Env, v1: &Tree) {
    let repo = env.project("p");
    commit(env, &repo, &Tree::new(), v1, "v1");
}

/// gc: v1 and v2 reachable, and unreachable objects (a commit undone and its reflog expired),
/// every object 30 days old; with `remote`, all of them on the remote too.
fn gc(env: Env, remote: bool, v1: &Tree, v2: &Tree, seed: u64) -> Scenario {
    committed(&env, v1);
    let repo = env.path("p");
    let store = env.path("p-store");
    commit(&env, &repo, v1, v2, "v2");
    let junk: Tree = (0..12u64)
        .map(|i| {
            (
                format!("junk/j{i}.bin"),
                noise(seed.wrapping_mul(1000).wrapping_add(100 + i), 20_000 << (i % 7)),
            )
        })
        .collect();
    let mut with_junk = v2.clone();
    with_junk.extend(junk.clone());
    put(&repo, v2, &with_junk);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "junk"]);
    if remote {
        env.git(&repo, &["push", "-q", "origin", "main", "--tags"]);
    }
    env.git(&repo, &["reset", "-q", "--hard", "HEAD~1"]);
    if remote {
        env.git(&repo, &["push", "-q", "-f", "origin", "main"]);
    }
    env.git(&repo, &["reflog", "expire", "--expire=now", "--all"]);
    let mut objects = crate::crash::check::walk(&repo.join(".git/data/objects"));
    objects.extend(crate::crash::check::walk(&store.join("objects")));
    for path in objects {
        let out =
            env.run(env.root(), "touch", &["-m", "-d", "30 days ago", path.to_str().unwrap()]);
        assert_eq!(out.code, 0, "{}", out.all());
    }
    let mut e = plain(v2);
    e.cache_has = [oids(v1), oids(v2)].concat();
    e.cache_lacks = oids(&junk);
    let a = if remote {
        e.remote_has = e.cache_has.clone();
        e.remote_lacks = e.cache_lacks.clone();
        args(&["data", "gc", "--remote", "--force"])
    } else {
        args(&["data", "gc"])
    };
    Scenario { env, dir: repo.clone(), repo, store, args: a, expect: e }
}

/// migrate: the history fixture (large files committed to git), rewritten by `migrate import`.
fn migrate(env: Env, _seed: u64) -> Scenario {
    let repo = crate::migrate::fixture(&env, "history-repo.sh", "hist");
    let history = crate::migrate::contents(&env, &repo);
    let head = crate::crash::check::tree_hashes(&env, &repo, "HEAD");
    let store = env.path("hist-store");
    std::fs::create_dir_all(&store).unwrap();
    let a = args(&["data", "migrate", "import", "--above", "1MiB", "--everything"]);
    let e = Expect { files: head, history: Some(history), ..Default::default() };
    Scenario { env, dir: repo.clone(), repo, store, args: a, expect: e }
}
