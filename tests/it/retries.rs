//! The one retry layer seen from the command line: a closed port fails fast and names the
//! endpoint, `transfer.retries` and `transfer.retry-deadline` are bounded, and many objects
//! failing alike print one retry line, not one per object.

use crate::common::*;
use crate::s3server::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};
use std::time::{Duration, Instant};

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A project whose remote `storage` is `endpoint`, with `yaml` appended to its `.gitdata.yaml`
/// and `files` small files committed.
fn project_at(env: &Env, name: &str, endpoint: &str, yaml: &str, files: u64) -> std::path::PathBuf {
    let repo = env.project(name);
    env.use_s3_at(&repo, endpoint, &format!("s3://{BUCKET}/{name}"), ACCESS_KEY, SECRET_KEY);
    let path = repo.join(".gitdata.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    write(&path, format!("{text}{yaml}").as_bytes());
    for i in 0..files {
        write(&repo.join(format!("data/f{i}.bin")), &bytes(500 + i, 3000));
    }
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "files"]);
    repo
}

fn retry_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains("; retrying in ")).collect()
}

#[test]
fn a_push_to_a_closed_port_fails_fast_and_names_the_endpoint() {
    let env = Env::new();
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let repo = project_at(&env, "cp", &endpoint, "", 30);
    for args in [&["data", "push", "--all"][..], &["push", "origin", "main"][..]] {
        let started = Instant::now();
        let out = env.run(&repo, "git", args);
        let took = started.elapsed();
        assert_ne!(out.code, 0, "{args:?}: {}", out.all());
        assert!(took < Duration::from_secs(30), "{args:?} took {took:?}");
        let lines = retry_lines(&out.stderr);
        assert_eq!(lines.len(), 1, "one line for one cause, not one per object: {}", out.stderr);
        assert!(
            lines[0].contains(&format!("remote storage: cannot reach {endpoint}"))
                && lines[0].contains("(attempt 2 of 3)"),
            "{}",
            lines[0]
        );
        assert!(out.stderr.contains("error:") && out.stderr.contains(&endpoint), "{}", out.stderr);
        assert!(out.stderr.contains("gave up after 3 attempts"), "{}", out.stderr);
        assert!(out.stderr.contains("hint:") && out.stderr.contains("server running"));
    }
}

#[test]
fn retry_settings_out_of_range_are_refused_with_key_value_and_range() {
    let env = Env::new();
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let repo = project_at(&env, "rr", &endpoint, "transfer:\n  retries: 50\n", 1);
    let started = Instant::now();
    let out = env.data_fails(&repo, &["push", "--all"]);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        out.stderr.contains(".gitdata.yaml:")
            && out.stderr.contains("transfer.retries: invalid value `50`")
            && out.stderr.contains("from 0 to 10"),
        "{}",
        out.stderr
    );
    assert!(retry_lines(&out.stderr).is_empty(), "nothing was tried: {}", out.stderr);

    let path = repo.join(".gitdata.yaml");
    let text = std::fs::read_to_string(&path).unwrap().replace("retries: 50", "retries: 2");
    write(&path, format!("{text}  retry-deadline: 2h\n").as_bytes());
    let out = env.data_fails(&repo, &["push", "--all"]);
    assert!(
        out.stderr.contains("transfer.retry-deadline: invalid value `2h`")
            && out.stderr.contains("from 1s to 1h"),
        "{}",
        out.stderr
    );

    write(&path, text.as_bytes());
    env.git(&repo, &["config", "data.retries", "11"]);
    let out = env.data_fails(&repo, &["push", "--all"]);
    assert!(out.stderr.contains("data.retries: invalid value `11`"), "{}", out.stderr);
    env.git(&repo, &["config", "data.retries", "0"]);
    let out = env.data_fails(&repo, &["push", "--all"]);
    assert!(retry_lines(&out.stderr).is_empty(), "no retries: {}", out.stderr);
}

#[test]
fn a_short_retry_deadline_stops_retries() {
    let server = S3Server::start();
    let env = Env::new();
    let yaml = "transfer:\n  retries: 10\n  retry-deadline: 2s\n";
    let repo = project_at(&env, "dl", &server.endpoint, yaml, 1);
    server.faults.fail_next("PutObject", 1000);
    let started = Instant::now();
    let out = env.data_fails(&repo, &["push", "--all"]);
    let took = started.elapsed();
    // 11 attempts would wait about a minute; the deadline ends it after about 2 s
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let puts = server.faults.count("PutObject");
    assert!((2..11).contains(&puts), "retried, but not 10 times: {puts}");
    assert!(out.stderr.contains("transfer.retry-deadline is 2 s"), "{}", out.stderr);
    assert!(out.stderr.contains("slow down"), "{}", out.stderr);
}

#[test]
fn many_objects_failing_alike_print_one_retry_line() {
    let server = S3Server::start();
    let env = Env::new();
    let yaml = "transfer:\n  concurrency: 4\n  retries: 10\n";
    let repo = project_at(&env, "mo", &server.endpoint, yaml, 20);
    server.faults.fail_next("PutObject", 12);
    let out = env.data(&repo, &["push", "--all"]);
    assert_eq!(server.faults.count("PutObject"), 20 + 12, "each 503 was retried once");
    // twelve 503s make one line; a connection the loaded test server drops on its own is
    // another cause, which may add its own line
    let lines = retry_lines(&out.stderr);
    let slow: Vec<_> = lines.iter().filter(|l| l.contains("slow down")).collect();
    assert_eq!(slow.len(), 1, "{}", out.stderr);
    assert!(slow[0].contains("slow down (503 SlowDown)"), "{}", slow[0]);
    for line in &lines {
        assert!(!line.contains("objects/"), "a line names the cause, not an object: {line}");
    }
}

#[test]
fn attempts_never_multiply_one_request_per_attempt() {
    let server = S3Server::start();
    let env = Env::new();
    let repo = project_at(&env, "om", &server.endpoint, "transfer:\n  retries: 0\n", 1);
    server.faults.fail_next("PutObject", 1);
    let out = env.data_fails(&repo, &["push", "--all"]);
    assert_eq!(server.faults.count("PutObject"), 1, "no retry below ours: {}", out.stderr);
    assert!(retry_lines(&out.stderr).is_empty(), "{}", out.stderr);
    server.faults.reset_counts();
    env.git(&repo, &["config", "data.retries", "2"]);
    server.faults.fail_next("PutObject", 2);
    env.data(&repo, &["push", "--all"]);
    assert_eq!(server.faults.count("PutObject"), 3, "two 503s, two retries, one success");
}
