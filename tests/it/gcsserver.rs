//! A fake-gcs-server (the Google Cloud Storage emulator) per test, on a free 127.0.0.1 port,
//! storing in a temporary directory, with the test bucket created; killed on drop. Tests can
//! stop it to see how a push meets a server that is down.
//!
//! The binary is looked for on PATH, then at ~/.local/bin/fake-gcs-server (where
//! `tests/fakegcs.sh install` links it). Without it a test is skipped with a message, unless
//! GIT_DATA_REQUIRE_EMULATORS=1 (CI), where it fails.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const BUCKET: &str = "gdtest";

pub(crate) struct GcsServer {
    pub endpoint: String,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

/// Where the emulator is, if installed.
fn binary() -> Option<PathBuf> {
    let name = "fake-gcs-server";
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect::<Vec<_>>())
        .unwrap_or_default();
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/bin").join(name));
    on_path.into_iter().chain(home).find(|p| p.is_file())
}

impl GcsServer {
    /// Starts one, or `None` (after printing "skipped: …") when the emulator is not
    /// installed and GIT_DATA_REQUIRE_EMULATORS is not set.
    pub(crate) fn start() -> Option<GcsServer> {
        let Some(bin) = binary() else {
            if std::env::var("GIT_DATA_REQUIRE_EMULATORS").as_deref() == Ok("1") {
                panic!("fake-gcs-server is not installed: run tests/fakegcs.sh install");
            }
            eprintln!("skipped: fake-gcs-server is not installed (tests/fakegcs.sh install)");
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("root");
        let port =
            TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let host = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log");
        let child = Command::new(bin)
            .args(["-scheme", "http", "-host", "127.0.0.1", "-port", &port.to_string()])
            .args(["-backend", "filesystem", "-filesystem-root", root.to_str().expect("utf8")])
            .args(["-public-host", &host, "-log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn fake-gcs-server");
        let server =
            GcsServer { endpoint: format!("http://{host}"), child: Some(child), _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let body = format!("{{\"name\":\"{BUCKET}\"}}");
            if let Some(status) = server.request("POST", "/storage/v1/b", body.as_bytes()) {
                assert!(status == 200 || status == 409, "creating the bucket: HTTP {status}");
                return Some(server);
            }
            assert!(Instant::now() < deadline, "fake-gcs-server did not answer within 20 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One plain HTTP/1.1 request; its status, or `None` when nothing answers.
    pub(crate) fn request(&self, method: &str, path: &str, body: &[u8]) -> Option<u16> {
        let host = self.endpoint.trim_start_matches("http://");
        let mut s = TcpStream::connect(host).ok()?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).ok()?;
        s.write_all(body).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        out.split_whitespace().nth(1)?.parse().ok()
    }

    /// The bytes of `object` in the test bucket, through the server.
    pub(crate) fn object(&self, object: &str) -> Option<Vec<u8>> {
        let host = self.endpoint.trim_start_matches("http://");
        let mut s = TcpStream::connect(host).ok()?;
        let head =
            format!("GET /{BUCKET}/{object} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        s.write_all(head.as_bytes()).ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).ok()?;
        let split = out.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&out[..split]).to_string();
        head.starts_with("HTTP/1.1 200").then(|| out[split + 4..].to_vec())
    }

    /// Stops the server (it does not come back).
    pub(crate) fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for GcsServer {
    fn drop(&mut self) {
        self.stop();
    }
}
