//! Unit tests of the retry policy: attempt counting per kind, the deadline, reporting once
//! per cause, and the note on the final error.

use super::*;
use std::sync::Arc;

fn err(kind: ErrorKind, cause: &str, object: &str) -> RemoteError {
    RemoteError::new("store", kind, format!("upload {object}: {cause}")).with_cause(cause)
}

fn collecting(policy: Policy) -> (Retry, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    (Retry::with_sink(policy, move |l| sink.lock().unwrap().push(l.to_string())), lines)
}

fn policy(retries: u32, deadline_secs: u64) -> Policy {
    Policy { retries, deadline: Duration::from_secs(deadline_secs) }
}

/// The decisions for an error that keeps coming back, until the policy gives up.
fn decisions(retry: &Retry, e: &RemoteError, elapsed: Duration) -> Vec<Decision> {
    let hidden = Progress::hidden();
    let mut attempts = retry.attempts(&hidden);
    let mut out = Vec::new();
    loop {
        let d = attempts.decide(e, elapsed);
        let stop = matches!(d, Decision::GiveUp(_));
        out.push(d);
        if stop || out.len() > 50 {
            return out;
        }
    }
}

#[test]
fn transient_errors_get_the_configured_retries() {
    let retry = Retry::new(policy(4, 3600));
    let got =
        decisions(&retry, &err(ErrorKind::Transient, "server error 500", "a"), Duration::ZERO);
    assert_eq!(got.len(), 5, "4 retries, then give up: {got:?}");
    assert!(got[..4].iter().all(|d| matches!(d, Decision::Retry(_))));
    assert_eq!(got[4], Decision::GiveUp(Some("gave up after 5 attempts".into())));
    // delays grow and stay within the jittered bounds
    let delays: Vec<Duration> = got
        .iter()
        .filter_map(|d| if let Decision::Retry(t) = d { Some(*t) } else { None })
        .collect();
    assert!(delays[0] >= MIN_DELAY && delays[0] <= 2 * MIN_DELAY, "{delays:?}");
    assert!(delays.iter().all(|d| *d <= 2 * MAX_DELAY), "{delays:?}");
}

#[test]
fn permanent_errors_are_not_retried() {
    let retry = Retry::new(policy(10, 3600));
    for kind in [ErrorKind::NotFound, ErrorKind::Denied, ErrorKind::Unavailable, ErrorKind::Other] {
        let got = decisions(&retry, &err(kind, "no", "a"), Duration::ZERO);
        assert_eq!(got, vec![Decision::GiveUp(None)], "{kind:?}");
    }
}

#[test]
fn zero_retries_means_one_attempt() {
    let retry = Retry::new(policy(0, 3600));
    let got = decisions(&retry, &err(ErrorKind::Throttled, "slow down", "a"), Duration::ZERO);
    assert_eq!(got, vec![Decision::GiveUp(None)]);
}

#[test]
fn an_unreachable_endpoint_gets_a_few_retries_then_none() {
    let retry = Retry::new(policy(10, 3600));
    let refused = err(ErrorKind::Unreachable, "cannot reach http://127.0.0.1:9", "a");
    let got = decisions(&retry, &refused, Duration::ZERO);
    assert_eq!(got.len() as u32, UNREACHABLE_RETRIES + 1, "{got:?}");
    // once one operation gave up on it, the others do not wait for it again
    let got = decisions(&retry, &refused, Duration::ZERO);
    assert_eq!(got, vec![Decision::GiveUp(None)]);
    // another remote is not affected
    let mut other = refused.clone();
    other.remote = "other".into();
    assert_eq!(decisions(&retry, &other, Duration::ZERO).len() as u32, UNREACHABLE_RETRIES + 1);
}

#[test]
fn the_deadline_stops_retries() {
    let retry = Retry::new(policy(10, 2));
    let e = err(ErrorKind::Transient, "server error 500", "a");
    let got = decisions(&retry, &e, Duration::from_millis(1900));
    match &got[..] {
        [Decision::GiveUp(Some(note))] => {
            assert!(note.contains("transfer.retry-deadline is 2 s"), "{note}");
            assert!(note.contains("after 1 attempt in 1.9 s"), "{note}");
        }
        other => panic!("{other:?}"),
    }
    // well within the deadline, retries go on
    let got = decisions(&retry, &e, Duration::ZERO);
    assert!(matches!(got[0], Decision::Retry(_)), "{got:?}");
}

#[tokio::test(start_paused = true)]
async fn run_counts_attempts_and_notes_them_on_the_error() {
    let (retry, lines) = collecting(policy(3, 3600));
    let hidden = Progress::hidden();
    let mut calls = 0;
    let result: Result<(), RemoteError> = retry
        .run(&hidden, || {
            calls += 1;
            std::future::ready(Err(err(ErrorKind::Throttled, "slow down (503 SlowDown)", "a")))
        })
        .await;
    assert_eq!(calls, 4);
    let e = result.unwrap_err();
    assert!(e.message.ends_with("(gave up after 4 attempts)"), "{}", e.message);
    let lines = lines.lock().unwrap();
    assert_eq!(lines.len(), 1, "one line for one cause: {lines:?}");
    assert!(lines[0].starts_with("git-data: remote store: slow down (503 SlowDown); retrying in "));
    assert!(lines[0].ends_with(" s (attempt 2 of 4)"), "{}", lines[0]);
}

#[tokio::test(start_paused = true)]
async fn success_after_failures_returns_the_value() {
    let retry = Retry::new(policy(4, 3600));
    let hidden = Progress::hidden();
    let mut calls = 0;
    let result = retry
        .run(&hidden, || {
            calls += 1;
            let r = if calls < 3 { Err(err(ErrorKind::Transient, "broke", "a")) } else { Ok(7) };
            std::future::ready(r)
        })
        .await;
    assert_eq!((result.unwrap(), calls), (7, 3));
}

#[tokio::test(start_paused = true)]
async fn many_objects_failing_alike_are_reported_once_per_cause() {
    let (retry, lines) = collecting(policy(2, 3600));
    let hidden = Progress::hidden();
    for i in 0..100 {
        let object = format!("objects/{i:02}");
        let cause = if i % 2 == 0 { "server error 500" } else { "slow down (503 SlowDown)" };
        let kind = if i % 2 == 0 { ErrorKind::Transient } else { ErrorKind::Throttled };
        let _ = retry
            .run(&hidden, || std::future::ready(Err::<(), _>(err(kind, cause, &object))))
            .await;
    }
    let lines = lines.lock().unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines.iter().all(|l| !l.contains("objects/")),
        "the object is not the cause: {lines:?}"
    );
}
