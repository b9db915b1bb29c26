//! A real S3-compatible server on 127.0.0.1 for the tests: s3s-fs (files under a temp dir,
//! SigV4 enforced), served in-process on its own tokio runtime, with HTTP-level fault
//! injection: answer 503 SlowDown to the next N requests of an operation, count requests by
//! operation, and stop or restart the server (same port) mid-transfer.

use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) const ACCESS_KEY: &str = "GDTESTKEYID0123456789";
pub(crate) const SECRET_KEY: &str = "gd-test-secret-NEVER-PRINT-9f8e7d6c5b4a";
pub(crate) const BUCKET: &str = "bucket";

#[derive(Default)]
pub(crate) struct Faults {
    counts: Mutex<HashMap<&'static str, usize>>,
    fail: Mutex<HashMap<&'static str, usize>>,
    /// Stop the server when this many UploadPart requests have arrived (0: never).
    pub stop_after_parts: AtomicUsize,
    parts_seen: AtomicUsize,
    stop: tokio::sync::Notify,
}

impl Faults {
    /// Answers 503 SlowDown to the next `n` requests of operation `op`.
    pub(crate) fn fail_next(&self, op: &'static str, n: usize) {
        self.fail.lock().unwrap().insert(op, n);
    }

    pub(crate) fn count(&self, op: &str) -> usize {
        self.counts.lock().unwrap().get(op).copied().unwrap_or(0)
    }

    pub(crate) fn reset_counts(&self) {
        self.counts.lock().unwrap().clear();
    }
}

/// The S3 operation of a request, from its method and query.
fn operation(req: &http::Request<hyper::body::Incoming>) -> &'static str {
    let q = req.uri().query().unwrap_or("");
    let has = |k: &str| q.split('&').any(|p| p == k || p.starts_with(&format!("{k}=")));
    let object = req.uri().path().trim_matches('/').contains('/');
    match (req.method().as_str(), object) {
        ("PUT", true) if has("partNumber") => "UploadPart",
        ("PUT", true) => "PutObject",
        ("POST", true) if has("uploads") => "CreateMultipartUpload",
        ("POST", true) if has("uploadId") => "CompleteMultipartUpload",
        ("DELETE", true) if has("uploadId") => "AbortMultipartUpload",
        ("GET", true) => "GetObject",
        ("HEAD", true) => "HeadObject",
        ("HEAD", false) => "HeadBucket",
        ("GET", false) if has("list-type") => "ListObjectsV2",
        ("PUT", false) => "CreateBucket",
        _ => "Other",
    }
}

fn slow_down() -> http::Response<s3s::Body> {
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
    let mut resp = http::Response::new(s3s::Body::from(xml.to_string()));
    *resp.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    resp
}

pub(crate) struct S3Server {
    pub endpoint: String,
    pub port: u16,
    /// s3s-fs keeps object `KEY` of the bucket at `root/bucket/KEY`.
    pub root: PathBuf,
    pub faults: Arc<Faults>,
    _dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    accept: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl S3Server {
    pub(crate) fn start() -> S3Server {
        let dir = tempfile::tempdir().expect("s3 dir");
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join(BUCKET)).expect("bucket dir");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("rt");
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = S3Server {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            root,
            faults: Arc::new(Faults::default()),
            _dir: dir,
            rt,
            accept: Mutex::new(None),
        };
        server.serve(listener);
        server
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let fs = s3s_fs::FileSystem::new(&self.root).expect("s3s-fs");
        let mut builder = s3s::service::S3ServiceBuilder::new(fs);
        builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let faults = self.faults.clone();
        let handle = self.rt.spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = faults.stop.notified() => break,
                };
                let Ok((sock, _)) = accepted else { continue };
                let service = service.clone();
                let faults = faults.clone();
                let svc =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let service = service.clone();
                        let faults = faults.clone();
                        async move {
                            let op = operation(&req);
                            *faults.counts.lock().unwrap().entry(op).or_default() += 1;
                            if let Some(n) =
                                faults.fail.lock().unwrap().get_mut(op).filter(|n| **n > 0)
                            {
                                *n -= 1;
                                return Ok(slow_down());
                            }
                            if op == "UploadPart" {
                                let seen = faults.parts_seen.fetch_add(1, Ordering::SeqCst) + 1;
                                let limit = faults.stop_after_parts.load(Ordering::SeqCst);
                                if limit > 0 && seen > limit {
                                    faults.stop.notify_one();
                                    return Err(std::io::Error::other("server stopped"));
                                }
                            }
                            hyper::service::Service::call(&service, req)
                                .await
                                .map_err(|e| std::io::Error::other(format!("{e:?}")))
                        }
                    });
                conns.spawn(async move {
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(sock), svc)
                        .await;
                });
            }
            conns.abort_all();
        });
        *self.accept.lock().unwrap() = Some(handle);
    }

    /// Stops accepting and drops every open connection.
    pub(crate) fn stop(&self) {
        if let Some(h) = self.accept.lock().unwrap().take() {
            h.abort();
            let _ = self.rt.block_on(h);
        }
    }

    /// Waits until a stop triggered by a fault has happened.
    pub(crate) fn wait_stopped(&self) {
        if let Some(h) = self.accept.lock().unwrap().take() {
            let _ = self.rt.block_on(h);
        }
    }

    /// Serves again on the same port.
    pub(crate) fn restart(&self) {
        self.stop();
        self.faults.stop_after_parts.store(0, Ordering::SeqCst);
        let listener = self
            .rt
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", self.port)))
            .expect("rebind the same port");
        self.serve(listener);
    }

    /// Where the object with `key` (relative to the bucket) is stored.
    pub(crate) fn object_file(&self, key: &str) -> PathBuf {
        self.root.join(BUCKET).join(key)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
