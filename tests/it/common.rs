//! The hermetic test environment: every command runs the real git binary with its own HOME,
//! global config and PATH (which holds the git-data under test), so tests run in parallel
//! and never see the developer's configuration.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub(crate) struct Env {
    pub dir: tempfile::TempDir,
    home: PathBuf,
    path_var: OsString,
    extra: std::sync::Mutex<Vec<(String, String)>>,
}

/// The result of a command.
#[derive(Debug)]
pub(crate) struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub(crate) fn from(o: Output) -> Out {
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Everything printed, for assertions on messages.
    pub(crate) fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl Env {
    /// A fresh environment with an identity and `git data install --global` done.
    pub(crate) fn new() -> Env {
        let env = Env::bare();
        for (k, v) in [
            ("user.name", "Test User"),
            ("user.email", "test@example.invalid"),
            ("init.defaultBranch", "main"),
            ("advice.detachedHead", "false"),
            ("protocol.file.allow", "always"),
        ] {
            env.git(env.root(), &["config", "--global", k, v]);
        }
        env.data(env.root(), &["install", "--global"]);
        env
    }

    /// An environment with an identity but without git-data installed.
    pub(crate) fn bare() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).expect("home");
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_git-data"));
        let mut paths = vec![bin.parent().expect("bin dir").to_path_buf()];
        paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
        let path_var = std::env::join_paths(paths).expect("PATH");
        let env = Env { dir, home, path_var, extra: Default::default() };
        if !env.home.join("gitconfig").exists() {
            std::fs::write(env.home.join("gitconfig"), "").expect("gitconfig");
        }
        for (k, v) in [
            ("user.name", "Test User"),
            ("user.email", "test@example.invalid"),
            ("init.defaultBranch", "main"),
        ] {
            env.git(env.root(), &["config", "--global", k, v]);
        }
        env
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A command with the hermetic environment.
    pub(crate) fn command(&self, dir: &Path, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(dir);
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            if k.starts_with("GIT_")
                || k.starts_with("AWS_")
                || k.starts_with("GOOGLE_")
                || k.starts_with("AZURE")
                || k == "STORAGE_EMULATOR_HOST"
                || k == "CI"
            {
                cmd.env_remove(&k);
            }
        }
        cmd.env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("GIT_CONFIG_GLOBAL", self.home.join("gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .env("PATH", &self.path_var)
            .stdin(Stdio::null());
        for (k, v) in self.extra.lock().expect("env").iter() {
            cmd.env(k, v);
        }
        cmd
    }

    /// Sets an environment variable for every later command.
    pub(crate) fn set_env(&self, key: &str, value: &str) {
        let mut extra = self.extra.lock().expect("env");
        extra.retain(|(k, _)| k != key);
        extra.push((key.to_string(), value.to_string()));
    }

    /// Points the remote `storage` of `repo` at the test S3 server (under `prefix`), with the
    /// server's keys in the environment.
    pub(crate) fn use_s3(&self, repo: &Path, server: &crate::s3server::S3Server, prefix: &str) {
        use crate::s3server::{ACCESS_KEY, BUCKET, SECRET_KEY};
        let url = format!("s3://{BUCKET}/{prefix}");
        self.use_s3_at(repo, &server.endpoint, &url, ACCESS_KEY, SECRET_KEY);
    }

    /// Points the remote `storage` of `repo` at `url` on the S3 server at `endpoint`, with
    /// its keys in the environment.
    pub(crate) fn use_s3_at(
        &self,
        repo: &Path,
        endpoint: &str,
        url: &str,
        key: &str,
        secret: &str,
    ) {
        self.set_env("AWS_ACCESS_KEY_ID", key);
        self.set_env("AWS_SECRET_ACCESS_KEY", secret);
        self.set_env("AWS_EC2_METADATA_DISABLED", "true");
        let args =
            ["remote", "add", "--force", "storage", url, "--endpoint", endpoint, "--path-style"];
        self.data(repo, &[&args[..], &["--region", "us-east-1"]].concat());
    }

    pub(crate) fn run(&self, dir: &Path, program: &str, args: &[&str]) -> Out {
        Out::from(self.command(dir, program).args(args).output().expect("spawn"))
    }

    /// Runs git; panics with its output unless it succeeds.
    pub(crate) fn git(&self, dir: &Path, args: &[&str]) -> Out {
        let out = self.run(dir, "git", args);
        assert_eq!(out.code, 0, "git {args:?} failed in {}:\n{}", dir.display(), out.all());
        out
    }

    /// Runs `git data …`; panics with its output unless it succeeds.
    pub(crate) fn data(&self, dir: &Path, args: &[&str]) -> Out {
        let mut full = vec!["data"];
        full.extend_from_slice(args);
        self.git(dir, &full)
    }

    /// Runs `git data …` expecting failure with exit code 1.
    pub(crate) fn data_fails(&self, dir: &Path, args: &[&str]) -> Out {
        let mut full = vec!["data"];
        full.extend_from_slice(args);
        let out = self.run(dir, "git", &full);
        assert_eq!(out.code, 1, "git data {args:?} should fail with 1:\n{}", out.all());
        out
    }

    /// Creates `name` (a work repository with an `origin` bare repository and a directory data
    /// remote `storage`), with git-data installed and `*.bin` and `data/` tracked.
    pub(crate) fn project(&self, name: &str) -> PathBuf {
        let repo = self.path(name);
        let origin = self.path(&format!("{name}-origin.git"));
        let store = self.path(&format!("{name}-store"));
        std::fs::create_dir_all(&store).expect("store");
        self.git(self.root(), &["init", "-q", "--bare", origin.to_str().expect("utf8")]);
        self.git(self.root(), &["init", "-q", repo.to_str().expect("utf8")]);
        self.git(&repo, &["remote", "add", "origin", origin.to_str().expect("utf8")]);
        self.data(&repo, &["install"]);
        self.data(&repo, &["track", "*.bin", "data/"]);
        self.data(&repo, &["remote", "add", "storage", store.to_str().expect("utf8")]);
        repo
    }

    /// Clones `<name>-origin.git` into `dest`.
    pub(crate) fn clone_of(&self, name: &str, dest: &str) -> (PathBuf, Out) {
        let origin = self.path(&format!("{name}-origin.git"));
        let out =
            self.run(self.root(), "git", &["clone", "-q", origin.to_str().expect("utf8"), dest]);
        (self.path(dest), out)
    }
}

/// Deterministic incompressible bytes.
pub(crate) fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub(crate) fn write(path: &Path, data: &[u8]) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    let _ = std::fs::remove_file(path);
    std::fs::write(path, data).expect("write");
}

pub(crate) fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The SHA-256 of bytes, hex.
pub(crate) fn sha256(data: &[u8]) -> String {
    git_data::oid::Oid::of_bytes(data).to_hex()
}

/// The pointer text for bytes.
pub(crate) fn pointer_of(data: &[u8]) -> String {
    git_data::pointer::Pointer::new(git_data::oid::Oid::of_bytes(data), data.len() as u64).encode()
}

/// The path of an object in a store rooted at `root` (cache `.git/data` or a remote dir).
pub(crate) fn object_path(root: &Path, data: &[u8]) -> PathBuf {
    git_data::oid::Oid::of_bytes(data).path_in(&root.join("objects"))
}

/// `git status --porcelain` is empty.
pub(crate) fn assert_clean(env: &Env, repo: &Path) {
    let out = env.git(repo, &["status", "--porcelain"]);
    assert_eq!(out.stdout, "", "work tree not clean in {}", repo.display());
}
