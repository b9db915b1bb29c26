//! A real Git LFS server on 127.0.0.1 for the tests: giftless (Batch API, basic transfers,
//! local storage, JWT authentication), from the venv `tests/giftless.sh install` made. One
//! server per test, on a free port, in its own temp dir, in its own process group, which
//! [`LfsServer::stop`] (and drop) ends. When giftless is not installed the test is skipped
//! with a note, unless GIT_DATA_REQUIRE_EMULATORS=1 (CI), which makes it fail.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct LfsServer {
    pub port: u16,
    pub dir: tempfile::TempDir,
    secret: String,
    child: Option<Child>,
}

/// The install script, beside this crate's tests.
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/giftless.sh")
}

/// The venv `tests/giftless.sh install` fills, when it is complete.
fn venv() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = var("GIT_DATA_GIFTLESS_VENV").or_else(|| {
        let cache = var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|h| h.join(".cache")))?;
        Some(cache.join("git-data/giftless-0.6.2"))
    })?;
    (dir.join("bin/gunicorn").is_file() && dir.join(".pins").is_file()).then_some(dir)
}

/// Runs the script with the test process's own environment (its HOME finds the venv).
fn run_script(args: &[&str]) -> std::process::Output {
    Command::new("bash").arg(script()).args(args).output().expect("run tests/giftless.sh")
}

impl LfsServer {
    /// A running server, or `None` (after saying why) when giftless is not installed.
    pub(crate) fn start() -> Option<LfsServer> {
        if venv().is_none() {
            let why = "giftless is not installed: run `tests/giftless.sh install`";
            if std::env::var("GIT_DATA_REQUIRE_EMULATORS").as_deref() == Ok("1") {
                panic!("{why} (GIT_DATA_REQUIRE_EMULATORS=1)");
            }
            eprintln!("skipped: {why}");
            return None;
        }
        let dir = tempfile::tempdir().expect("server dir");
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let secret = format!("gd-lfs-secret-{stamp:x}-{}", std::process::id());
        let mut server = LfsServer { port: 0, dir, secret, child: None };
        server.run();
        Some(server)
    }

    /// Starts giftless on a free port and waits until it accepts connections.
    fn run(&mut self) {
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let log = std::fs::File::create(self.dir.path().join("server.log")).expect("log");
            let dir = self.dir.path().to_str().expect("utf8").to_string();
            let child = Command::new("bash")
                .arg(script())
                .args(["serve", &dir, &port.to_string(), &self.secret])
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .process_group(0)
                .spawn()
                .expect("start giftless");
            self.child = Some(child);
            self.port = port;
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(60) {
                let exited =
                    self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
                if exited {
                    break;
                }
                let addr = ("127.0.0.1", port);
                if TcpStream::connect(addr).is_ok() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            self.stop();
        }
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        panic!("giftless did not start:\n{log}");
    }

    /// The LFS endpoint of repository `repo` (`org/name`) on this server.
    pub(crate) fn endpoint(&self, repo: &str) -> String {
        format!("http://127.0.0.1:{}/{repo}.git/info/lfs", self.port)
    }

    /// A token (JWT) this server accepts for every repository, good for a day.
    pub(crate) fn token(&self) -> String {
        Self::token_for(&self.secret)
    }

    /// A well-formed token signed with another key: the server refuses it.
    pub(crate) fn wrong_token(&self) -> String {
        Self::token_for("not-the-server-secret-0123456789abcdef")
    }

    fn token_for(secret: &str) -> String {
        let out = run_script(&["token", secret]);
        assert!(out.status.success(), "token: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf8").trim().to_string()
    }

    /// Where giftless keeps the object with these bytes for repository `repo`.
    pub(crate) fn object_file(&self, repo: &str, data: &[u8]) -> PathBuf {
        self.dir.path().join("storage").join(repo).join(crate::common::sha256(data))
    }

    /// Ends the server (its whole process group) and waits for it.
    pub(crate) fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let group = -(child.id() as i32);
        // SAFETY: kill(2) on the process group this server was started in
        unsafe { libc::kill(group, libc::SIGTERM) };
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until && matches!(child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above; whatever is left of the group
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = child.wait();
    }
}

impl Drop for LfsServer {
    fn drop(&mut self) {
        self.stop();
    }
}
