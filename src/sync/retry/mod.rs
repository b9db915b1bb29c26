//! The one retry layer: every remote operation that may pass on another try (existence checks,
//! listings, uploads, downloads, deletes) goes through a [`Retry`], and nothing below it
//! retries: the S3 client's own retries are off (remote/s3.rs), so attempts never multiply.
//!
//! Invariants: whether to retry is decided on the error's kind, never its text; one operation
//! makes at most `transfer.retries` + 1 attempts, and an endpoint no connection can be made
//! to at most [`UNREACHABLE_RETRIES`] + 1 (none more once one operation gave up on it); no
//! wait starts that would end after `transfer.retry-deadline`, counted from the operation's
//! first attempt (an attempt in progress is never cut: a large upload may outlast the
//! deadline); each distinct cause of a retry is reported once per command on stderr, however
//! many objects fail for it; the error that ends an operation after retries says how many
//! attempts were made.

use crate::progress::Progress;
use crate::sync::remote::{ErrorKind, RemoteError};
use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use std::collections::HashSet;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Retries left for an endpoint that refuses connections or whose name does not resolve: a
/// server restarting is the only way such a failure passes, and it is worth a second only.
pub(crate) const UNREACHABLE_RETRIES: u32 = 2;
const MIN_DELAY: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(10);

/// How many times, and for how long, a failing operation is tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Retries after the first attempt (0 to [`MAX_RETRIES`]).
    pub retries: u32,
    /// No wait starts that would end later than this after the first attempt started.
    pub deadline: Duration,
}

/// Where retry lines go: stderr (above any progress bar), or a test's collector.
type Sink = Box<dyn Fn(&str) + Send + Sync>;

/// The retry layer of one command: its policy and what it has reported.
pub(crate) struct Retry {
    policy: Policy,
    /// (remote, cause) pairs already reported.
    reported: Mutex<HashSet<(String, String)>>,
    /// Remotes an operation gave up on as unreachable: others do not wait for them again.
    unreachable: Mutex<HashSet<String>>,
    sink: Option<Sink>,
}

impl Retry {
    pub(crate) fn new(policy: Policy) -> Self {
        Retry { policy, reported: Default::default(), unreachable: Default::default(), sink: None }
    }

    /// A layer whose retry lines go to `sink` instead of stderr (for tests).
    #[cfg(test)]
    pub(crate) fn with_sink(policy: Policy, sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Retry { sink: Some(Box::new(sink)), ..Retry::new(policy) }
    }

    /// Runs `op` until it succeeds, fails for good, or the policy says stop.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        progress: &Progress,
        mut op: F,
    ) -> Result<T, RemoteError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, RemoteError>>,
    {
        let mut attempts = self.attempts(progress);
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) => attempts.after(e).await?,
            }
        }
    }

    /// The attempts of one operation, for loops that do more between tries than `run` does.
    pub(crate) fn attempts<'a>(&'a self, progress: &'a Progress) -> Attempts<'a> {
        let delays = ExponentialBuilder::default()
            .with_min_delay(MIN_DELAY)
            .with_max_delay(MAX_DELAY)
            .with_max_times(self.policy.retries as usize)
            .with_jitter()
            .build();
        Attempts { retry: self, progress, started: Instant::now(), made: 0, delays }
    }

    /// Retries allowed for an error of `kind` from `remote`.
    fn allowed(&self, kind: ErrorKind, remote: &str) -> u32 {
        match kind {
            ErrorKind::Throttled | ErrorKind::Transient => self.policy.retries,
            ErrorKind::Unreachable if self.gave_up_on(remote) => 0,
            ErrorKind::Unreachable => self.policy.retries.min(UNREACHABLE_RETRIES),
            _ => 0,
        }
    }

    fn gave_up_on(&self, remote: &str) -> bool {
        self.unreachable.lock().map(|set| set.contains(remote)).unwrap_or(false)
    }

    /// Prints `line` unless this cause of this remote was reported already.
    fn report(&self, progress: &Progress, err: &RemoteError, line: &str) {
        let first = self
            .reported
            .lock()
            .map(|mut seen| seen.insert((err.remote.clone(), err.cause().to_string())))
            .unwrap_or(true);
        if first {
            match &self.sink {
                Some(sink) => sink(line),
                None => progress.println(line),
            }
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, PartialEq)]
enum Decision {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Give up; the note (if any) is added to the error.
    GiveUp(Option<String>),
}

/// The attempts of one operation.
pub(crate) struct Attempts<'a> {
    retry: &'a Retry,
    progress: &'a Progress,
    started: Instant,
    /// Attempts made so far.
    made: u32,
    delays: ExponentialBackoff,
}

impl Attempts<'_> {
    /// After an attempt failed with `err`: waits and returns `Ok` when another attempt should
    /// follow, or returns the error to give up with.
    pub(crate) async fn after(&mut self, mut err: RemoteError) -> Result<(), RemoteError> {
        match self.decide(&err, self.started.elapsed()) {
            Decision::Retry(delay) => {
                let line = format!(
                    "git-data: remote {}: {}; retrying in {:.1} s (attempt {} of {})",
                    err.remote,
                    err.cause(),
                    delay.as_secs_f64(),
                    self.made + 1,
                    self.retry.allowed(err.kind, &err.remote) + 1,
                );
                self.retry.report(self.progress, &err, &line);
                tokio::time::sleep(delay).await;
                Ok(())
            }
            Decision::GiveUp(note) => {
                if let Some(note) = note {
                    err.message.push_str(&format!(" ({note})"));
                }
                Err(err)
            }
        }
    }

    fn decide(&mut self, err: &RemoteError, elapsed: Duration) -> Decision {
        self.made += 1;
        let made = self.made;
        let allowed = self.retry.allowed(err.kind, &err.remote);
        let after = (made > 1).then(|| format!("after {made} attempts"));
        if allowed == 0 {
            return Decision::GiveUp(after);
        }
        let gave_up = Decision::GiveUp(Some(format!("gave up after {made} attempts")));
        if made > allowed {
            if err.kind == ErrorKind::Unreachable
                && let Ok(mut set) = self.retry.unreachable.lock()
            {
                set.insert(err.remote.clone());
            }
            return gave_up;
        }
        let Some(delay) = self.delays.next() else { return gave_up };
        let deadline = self.retry.policy.deadline;
        if elapsed + delay > deadline {
            return Decision::GiveUp(Some(format!(
                "gave up after {made} attempt{} in {:.1} s: transfer.retry-deadline is {} s",
                if made == 1 { "" } else { "s" },
                elapsed.as_secs_f64(),
                deadline.as_secs_f64()
            )));
        }
        Decision::Retry(delay)
    }
}

#[cfg(test)]
mod tests;
