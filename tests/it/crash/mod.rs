//! The crash harness (issue 21, "never a silent wrong state"): for each command, trials
//! that build a small scenario, run the command as a process group, kill the whole group
//! (SIGKILL, or SIGINT as a terminal does) at a random point of its run, rerun the same
//! command, and check the invariants of [`check`]: the rerun completes and leaves exactly the
//! state an uninterrupted run leaves, and the state right after the kill is never silently
//! wrong.
//!
//! The kill delay is drawn uniformly within the duration of an uninterrupted run of the same
//! scenario, measured first (that run is checked too). Everything random comes from one seed,
//! printed; environment:
//! - `GIT_DATA_HARNESS_SEED`: the seed (default: from the clock);
//! - `GIT_DATA_HARNESS_SCALE`: trials per command = 3 x scale (default 1, the CI size; 13
//!   gives the full run of over 500 trials);
//! - `GIT_DATA_HARNESS_TRIAL` and `GIT_DATA_HARNESS_DELAY_MS`: replay one trial of a failure
//!   report (the same scenario, signal and kill delay);
//! - `GIT_DATA_HARNESS_STRICT_TEMPS=1`: temp files left in `.git/data/tmp` or the remote's
//!   `tmp/` after the rerun count as failures (by default they are counted and reported: gc
//!   removes them once they are an hour old).

mod check;
pub(crate) mod group;
mod rng;
pub(crate) mod scenarios;

use group::ms;
use scenarios::{Kind, Scenario};
use std::time::Duration;

/// Trials per command at scale 1.
const TRIALS: u64 = 3;
/// The longest any one run may take before it counts as hung.
const LIMIT: Duration = Duration::from_secs(120);

struct Settings {
    seed: u64,
    scale: u64,
    trial: Option<u64>,
    delay: Option<Duration>,
    strict_temps: bool,
}

impl Settings {
    fn from_env() -> Settings {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let num = |k: &str| {
            var(k).map(|v| v.parse::<u64>().unwrap_or_else(|_| panic!("{k}={v}: not a number")))
        };
        // one seed for every command of a test run
        static CLOCK: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        let clock = *CLOCK.get_or_init(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            now.map(|d| d.as_nanos() as u64).unwrap_or(1) % 1_000_000_007
        });
        Settings {
            seed: num("GIT_DATA_HARNESS_SEED").unwrap_or(clock),
            scale: num("GIT_DATA_HARNESS_SCALE").unwrap_or(1).max(1),
            trial: num("GIT_DATA_HARNESS_TRIAL"),
            delay: var("GIT_DATA_HARNESS_DELAY_MS").map(|v| {
                Duration::from_secs_f64(v.parse::<f64>().expect("GIT_DATA_HARNESS_DELAY_MS") / 1e3)
            }),
            strict_temps: var("GIT_DATA_HARNESS_STRICT_TEMPS").is_some_and(|v| v != "0"),
        }
    }
}

/// What one trial did and found.
struct Trial {
    index: u64,
    /// The state after the rerun, for a failure's report.
    state: String,
    /// The scenario's directory (temps are named relative to it).
    root: std::path::PathBuf,
    command: String,
    signal: i32,
    delay: Duration,
    inspected: bool,
    killed: group::Run,
    recovery: Vec<String>,
    rerun: group::Run,
    violations: Vec<check::Violation>,
    temps: Vec<std::path::PathBuf>,
}

fn signal_name(signal: i32) -> &'static str {
    if signal == libc::SIGINT { "SIGINT" } else { "SIGKILL" }
}

/// Reruns the scenario's command until it completes, doing what a user is told to: remove
/// a stale lock git names (git's documented recovery), force a checkout that git's own
/// interrupted checkout blocks (git writes files before the index), remove a partial clone.
fn rerun(s: &Scenario, recovery: &mut Vec<String>) -> group::Run {
    let mut args = s.args.clone();
    let mut last = group::Run::default();
    let mut reset = false;
    for _ in 0..12 {
        let mut cmd = s.env.command(&s.dir, "git");
        cmd.args(&args);
        last = group::run(cmd, None, LIMIT);
        // a hook whose exit code git ignores may name a lock the kill left: it said what to do
        let named = stale_lock(&last.stderr).filter(|lock| lock.exists());
        if last.ok() && named.is_none() {
            break;
        }
        if let Some(lock) = named {
            let name = lock.strip_prefix(s.env.root()).unwrap_or(&lock).display().to_string();
            recovery.push(format!("removed stale {name}"));
            let _ = std::fs::remove_file(&lock);
        } else if args[0] == "checkout"
            && args[1] != "-f"
            && last.stderr.contains("would be overwritten by checkout")
        {
            recovery.push("forced the checkout (git checkout -f)".to_string());
            args.insert(1, "-f".to_string());
        } else if args[0] == "pull" && last.stderr.contains("would be overwritten by merge") {
            // git's advice: commit, stash, move or remove them; the work is not ours
            recovery.push("restored HEAD's files (git checkout -f HEAD; git clean -fd)".into());
            for a in [&["checkout", "-q", "-f", "HEAD"][..], &["clean", "-q", "-f", "-d"]] {
                let _ = group::run(git(s, a), None, LIMIT);
            }
        } else if args[0] == "commit" && last.code == Some(1) && !reset && same_as_head(s) {
            // the killed commit moved HEAD but did not write the index: git's own window
            reset = true;
            recovery.push("reset the index to HEAD (git reset)".into());
            let _ = group::run(git(s, &["reset", "-q"]), None, LIMIT);
        } else if args[0] == "clone" && last.stderr.contains("already exists") {
            recovery.push("removed the partial clone".to_string());
            let _ = std::fs::remove_dir_all(&s.repo);
        } else {
            break;
        }
    }
    last
}

/// The lock file of git's "Unable to create '….lock': File exists." message.
/// Also git-data's own "the index at … is locked by another git process" and "if none is
/// running, remove ….lock, then …".
fn stale_lock(stderr: &str) -> Option<std::path::PathBuf> {
    if let Some(start) = stderr.find("Unable to create '") {
        let start = start + "Unable to create '".len();
        let end = start + stderr[start..].find("': File exists")?;
        let path = &stderr[start..end];
        return path.ends_with(".lock").then(|| path.into());
    }
    if let Some(start) = stderr.find("if none is running, remove ") {
        let start = start + "if none is running, remove ".len();
        let end = start + stderr[start..].find(", then")?;
        return Some(stderr[start..end].into());
    }
    let start = stderr.find("the index at ")? + "the index at ".len();
    let end = start + stderr[start..].find(" is locked by another git process")?;
    Some(format!("{}.lock", &stderr[start..end]).into())
}

/// Whether the work tree holds exactly HEAD's content (git compares through the filter).
fn same_as_head(s: &Scenario) -> bool {
    group::run(git(s, &["diff", "--quiet", "HEAD", "--"]), None, LIMIT).ok()
}

fn git(s: &Scenario, args: &[&str]) -> std::process::Command {
    let mut cmd = s.env.command(&s.repo, "git");
    cmd.args(args);
    cmd
}

/// Whether a run that did not succeed is the scenario's "already done" refusal.
fn done(s: &Scenario, run: &group::Run) -> bool {
    run.ok()
        || (run.code == Some(1)
            && s.expect
                .done_refusal
                .is_some_and(|t| run.stdout.contains(t) || run.stderr.contains(t)))
}

fn trial(kind: Kind, settings: &Settings, index: u64, measured: Duration) -> Trial {
    let mut rng = rng::Rng::new(rng::mix(settings.seed, kind.name(), index));
    let s = kind.build(rng.next());
    let signal = if rng.below(4) == 0 { libc::SIGINT } else { libc::SIGKILL };
    let delay = settings.delay.unwrap_or_else(|| measured.mul_f64(rng.unit()));
    let inspected = rng.below(2) == 0;
    let killed = group::run(s.command(), Some((delay, signal)), LIMIT);
    let mut violations = Vec::new();
    if killed.timed_out {
        violations.push(check::Violation { invariant: "hang", detail: killed.summary() });
    }
    if inspected {
        violations.extend(check::silent_after_kill(&s));
    }
    let mut recovery = Vec::new();
    let rerun = rerun(&s, &mut recovery);
    // a lock the kill left that the rerun did not trip over: the next git command would
    let lock = s.repo.join(".git/index.lock");
    if lock.exists() && std::fs::remove_file(&lock).is_ok() {
        recovery.push("removed stale .git/index.lock (the rerun did not need the index)".into());
    }
    for note in &mut recovery {
        note.push_str(&format!(" (after {})", signal_name(signal)));
    }
    if !done(&s, &rerun) {
        violations.push(check::Violation { invariant: "rerun", detail: rerun.summary() });
    }
    let (after, temps) = check::after_rerun(&s);
    violations.extend(after);
    if settings.strict_temps && !temps.is_empty() {
        let list = temps.iter().map(|t| t.display().to_string()).collect::<Vec<_>>().join(", ");
        violations.push(check::Violation { invariant: "temps", detail: list });
    }
    let state = if violations.is_empty() { String::new() } else { check::observe(&s, &temps) };
    Trial {
        index,
        state,
        root: s.env.root().to_path_buf(),
        command: s.command_line(),
        signal,
        delay,
        inspected,
        killed,
        recovery,
        rerun,
        violations,
        temps,
    }
}

/// Runs the harness for one command; panics with every failure's reproduction if any trial
/// broke an invariant.
fn harness(kind: Kind) {
    let settings = Settings::from_env();
    // the uninterrupted run: its duration bounds the kill points, and it must be right too
    let s = kind.build(rng::mix(settings.seed, kind.name(), u64::MAX));
    let base = group::run(s.command(), None, LIMIT);
    let (mut broken, _) = check::after_rerun(&s);
    if !base.ok() {
        broken.push(check::Violation { invariant: "baseline", detail: base.summary() });
    }
    drop(s);
    let mut report = String::new();
    for v in &broken {
        report.push_str(&format!(
            "FAIL {} uninterrupted run: {}: {}\n",
            kind.name(),
            v.invariant,
            v.detail
        ));
    }
    // a run that ended before its signal is one more uninterrupted run: the estimate follows
    let mut measured = base.elapsed;
    let indexes: Vec<u64> = match settings.trial {
        Some(i) => vec![i],
        None => (0..TRIALS * settings.scale).collect(),
    };
    let (mut failures, mut ended_first) = (0, 0);
    let mut recoveries = std::collections::BTreeMap::<String, usize>::new();
    let mut temps = std::collections::BTreeMap::<String, usize>::new();
    for &i in &indexes {
        let t = trial(kind, &settings, i, measured);
        ended_first += t.killed.ended_first as usize;
        if t.killed.ended_first && settings.delay.is_none() {
            measured = (measured + t.killed.elapsed) / 2;
        }
        for note in &t.recovery {
            *recoveries.entry(note.clone()).or_default() += 1;
        }
        for temp in &t.temps {
            let dir = temp.parent().unwrap_or(temp).strip_prefix(&t.root).unwrap_or(temp);
            let mut dir = dir.display().to_string();
            if let Some(i) = dir.find("/objects/") {
                dir.replace_range(i + "/objects/".len().., "**"); // the shards
            }
            *temps.entry(dir).or_default() += 1;
        }
        if !t.violations.is_empty() {
            failures += 1;
            report.push_str(&reproduction(kind, &settings, &t, measured));
        }
    }
    let summary = format!(
        "crash harness: {} trials, {} failures ({}: seed {}, scale {}, measured run {:.1} ms, final estimate {:.1} ms, {} ended before the signal; recoveries: {:?}; temp files left, by directory: {:?})",
        indexes.len(),
        failures,
        kind.name(),
        settings.seed,
        settings.scale,
        ms(base.elapsed),
        ms(measured),
        ended_first,
        recoveries,
        temps
    );
    eprintln!("{report}{summary}");
    assert!(report.is_empty(), "{summary}");
}

fn reproduction(kind: Kind, settings: &Settings, t: &Trial, measured: Duration) -> String {
    let mut r = format!(
        "FAIL {} trial {}: `{}` got {} after {:.1} ms (of {:.1} ms measured){}\n  replay: GIT_DATA_HARNESS_SEED={} GIT_DATA_HARNESS_TRIAL={} GIT_DATA_HARNESS_DELAY_MS={:.1} cargo test --test it crash::{} -- --exact --include-ignored --nocapture\n",
        kind.name(),
        t.index,
        t.command,
        signal_name(t.signal),
        ms(t.delay),
        ms(measured),
        if t.inspected { "; state inspected before the rerun" } else { "" },
        settings.seed,
        t.index,
        ms(t.delay),
        kind.name().replace('-', "_"),
    );
    r.push_str(&format!(
        "  interrupted run: {}{}\n",
        t.killed.summary(),
        if t.killed.ended_first { " (ended before the signal)" } else { "" }
    ));
    for note in &t.recovery {
        r.push_str(&format!("  recovery: {note}\n"));
    }
    r.push_str(&format!("  rerun: {}\n", t.rerun.summary()));
    for v in &t.violations {
        r.push_str(&format!("  broken: {}: {}\n", v.invariant, v.detail));
    }
    r.push_str(&format!("  state after the rerun: {}\n", t.state));
    r
}

#[test]
fn add() {
    harness(Kind::AddGit);
}

#[test]
fn data_add() {
    harness(Kind::AddData);
}

#[test]
fn commit() {
    harness(Kind::Commit);
}

#[test]
fn push() {
    harness(Kind::PushGit);
}

#[test]
fn data_push() {
    harness(Kind::PushData);
}

#[test]
fn data_fetch() {
    harness(Kind::Fetch);
}

#[test]
fn pull() {
    harness(Kind::PullGit);
}

#[test]
fn data_pull() {
    harness(Kind::PullData);
}

#[test]
fn checkout() {
    harness(Kind::Checkout);
}

#[test]
fn checkout_remote() {
    harness(Kind::CheckoutRemote);
}

#[test]
fn clone() {
    harness(Kind::Clone);
}

#[test]
fn gc() {
    harness(Kind::Gc);
}

#[test]
fn gc_remote() {
    harness(Kind::GcRemote);
}

#[test]
fn migrate() {
    harness(Kind::Migrate);
}
