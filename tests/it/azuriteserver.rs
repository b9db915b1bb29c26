//! Azurite, Microsoft's Azure Storage emulator, as a real Azure Blob server on 127.0.0.1 for
//! the tests: one `azurite-blob` per test on a free port with its data in a temp dir, waited
//! for until it answers, killed on drop (or earlier by `stop`, to test a server that is down).
//!
//! `azurite-blob` is found on PATH or where `tests/azurite.sh install` puts it. When it is
//! missing, [`AzuriteServer::start`] returns `None` and the test prints "skipped: …", unless
//! GIT_DATA_REQUIRE_EMULATORS=1 (CI), where a missing emulator fails the test.

use object_store::azure::{AzureAccessKey, AzureAuthorizer, AzureCredential};
use object_store::client::{HttpConnector, HttpRequestBody, ReqwestConnector};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Azurite's well-known development account and its documented key.
pub(crate) const ACCOUNT: &str = "devstoreaccount1";
pub(crate) const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

pub(crate) struct AzuriteServer {
    child: Option<Child>,
    _dir: tempfile::TempDir,
    pub port: u16,
    /// The blob endpoint, path-style: `http://127.0.0.1:PORT/devstoreaccount1`.
    pub endpoint: String,
}

/// The `azurite-blob` executable, if installed.
fn find() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p).map(|d| d.join("azurite-blob")).find(|f| f.is_file())
    });
    let installed = || {
        let dir = std::env::var_os("GIT_DATA_AZURITE_DIR").map(PathBuf::from).or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
            Some(cache.join("git-data/azurite"))
        })?;
        Some(dir.join("node_modules/.bin/azurite-blob")).filter(|f| f.is_file())
    };
    on_path.or_else(installed)
}

/// A port no other server of this test process got (a port is never handed out twice, so a
/// stopped server's port stays closed).
fn free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap();
    loop {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

impl AzuriteServer {
    /// Starts Azurite; `None` (after printing why) when it is not installed and CI does not
    /// require it.
    pub(crate) fn start() -> Option<AzuriteServer> {
        let Some(bin) = find() else {
            let why = "azurite-blob is not installed (run `tests/azurite.sh install`)";
            if std::env::var("GIT_DATA_REQUIRE_EMULATORS").is_ok_and(|v| v == "1") {
                panic!("{why}; GIT_DATA_REQUIRE_EMULATORS=1 requires it");
            }
            eprintln!("skipped: {why}");
            return None;
        };
        // another server may take the port between our check and Azurite's bind: try again
        for _ in 0..5 {
            if let Some(server) = Self::start_on(&bin, free_port()) {
                return Some(server);
            }
        }
        panic!("azurite-blob did not start on any of 5 ports");
    }

    fn start_on(bin: &Path, port: u16) -> Option<AzuriteServer> {
        let dir = tempfile::tempdir().expect("azurite dir");
        let log = std::fs::File::create(dir.path().join("azurite.log")).unwrap();
        let child = Command::new(bin)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .arg("--location")
            .arg(dir.path())
            .args(["--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn azurite-blob");
        let endpoint = format!("http://127.0.0.1:{port}/{ACCOUNT}");
        let mut server = AzuriteServer { child: Some(child), _dir: dir, port, endpoint };
        server.wait_until_it_answers().then_some(server)
    }

    /// Whether our server answers (false: it exited, its port taken by someone else).
    fn wait_until_it_answers(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let exited = self.child.as_mut().is_none_or(|c| !matches!(c.try_wait(), Ok(None)));
            if exited {
                return false;
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                // still ours: the process is alive after the port answered
                std::thread::sleep(Duration::from_millis(50));
                return self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)));
            }
            assert!(Instant::now() < deadline, "azurite did not start: {}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("azurite.log")).unwrap_or_default()
    }

    /// One request signed with the account key: its status and body.
    fn request(&self, method: &str, path_and_query: &str) -> (u16, String) {
        let url = format!("{}/{path_and_query}", self.endpoint);
        let mut req = http::Request::builder()
            .method(method)
            .uri(&url)
            .header("content-length", "0")
            .body(HttpRequestBody::empty())
            .unwrap();
        let cred = AzureCredential::AccessKey(AzureAccessKey::try_new(ACCOUNT_KEY).unwrap());
        AzureAuthorizer::new(&cred, ACCOUNT).try_authorize(&mut req).unwrap();
        let options = object_store::ClientOptions::new().with_allow_http(true);
        let client = ReqwestConnector::default().connect(&options).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let resp = client.execute(req).await.expect("request to azurite");
            let status = resp.status().as_u16();
            let body = resp.into_body().bytes().await.unwrap_or_default();
            let body = String::from_utf8_lossy(&body).into_owned();
            (status, body)
        })
    }

    /// Creates a container (containers are the user's to create: git-data never does); one
    /// that exists already is fine.
    pub(crate) fn create_container(&self, name: &str) {
        let (status, _) = self.request("PUT", &format!("{name}?restype=container"));
        assert!(status == 201 || status == 409, "create container {name}: {status} {}", self.log());
    }

    /// The committed block list of a blob, as the service's XML.
    pub(crate) fn committed_blocks(&self, container: &str, blob: &str) -> String {
        let (status, body) = self
            .request("GET", &format!("{container}/{blob}?comp=blocklist&blocklisttype=committed"));
        assert_eq!(status, 200, "get block list: {body}");
        body
    }

    /// Stops the server now (a test of a server that is down).
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for AzuriteServer {
    fn drop(&mut self) {
        self.stop();
    }
}
