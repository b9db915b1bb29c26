//! Runs one command as its own process group, so that a signal reaches every process it
//! started (git, the filter process, hooks and their children) at once, as a terminal's
//! Ctrl-C or an out-of-memory kill of a whole session would; with a time limit, and without
//! leaving any process of the group behind.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a run ended.
#[derive(Debug, Default)]
pub(crate) struct Run {
    /// The exit code, or `None` when a signal ended the command's first process.
    pub code: Option<i32>,
    pub elapsed: Duration,
    pub stdout: String,
    /// Stdout as it was written (binary protocol output).
    pub raw_stdout: Vec<u8>,
    pub stderr: String,
    /// The command had not ended within the limit (it was then killed).
    pub timed_out: bool,
    /// The command had already ended when the signal was due (nothing was interrupted).
    pub ended_first: bool,
    /// Some process of the group was still running after the first one ended.
    pub lingered: bool,
}

impl Run {
    pub(crate) fn ok(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    /// One line: how it ended, and the end of what it printed on stderr.
    pub(crate) fn summary(&self) -> String {
        let how = match self.code {
            Some(c) => format!("exit {c}"),
            None => "ended by a signal".to_string(),
        };
        let tail = |text: &str| {
            let lines: Vec<&str> = text.lines().rev().take(6).collect();
            lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
        };
        let mut line =
            format!("{how} after {:.1} ms; stderr: {:?}", ms(self.elapsed), tail(&self.stderr));
        if !self.stdout.trim().is_empty() {
            line.push_str(&format!("; stdout: {:?}", tail(&self.stdout)));
        }
        line
    }
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: kill(2) on the process group this module created; no memory is involved.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Whether a process of group `pgid` is alive (zombies do not count: nothing reaps the
/// orphans of a killed group here but the machine's first process).
pub(crate) fn group_alive(pgid: i32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else { return false };
    dir.flatten().any(|e| {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { return false };
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else { return false };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("Z");
        let pgrp = fields.nth(1).and_then(|p| p.parse::<i32>().ok());
        pgrp == Some(pgid) && state != "Z" && state != "X"
    })
}

/// Runs `cmd` in a new process group. With `signal = Some((delay, sig))`, sends `sig` to the
/// whole group `delay` after the start (if it is still running). Whatever happens, returns
/// only once no process of the group is left (they get SIGKILL after `limit`).
pub(crate) fn run(mut cmd: Command, signal: Option<(Duration, i32)>, limit: Duration) -> Run {
    cmd.process_group(0).stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn");
    let pgid = child.id() as i32;
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let mut run = Run::default();
    let mut pending = signal;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            run.ended_first = pending.is_some();
            break status;
        }
        let now = start.elapsed();
        if let Some((at, sig)) = pending
            && now >= at
        {
            signal_group(pgid, sig);
            pending = None;
            continue;
        }
        if now >= limit {
            run.timed_out = true;
            signal_group(pgid, libc::SIGKILL);
            break child.wait().expect("wait");
        }
        let next = pending.map_or(limit, |(at, _)| at.min(limit));
        std::thread::sleep(next.saturating_sub(now).min(Duration::from_micros(500)));
    };
    run.elapsed = start.elapsed();
    // what the group started may still run (a hook after git died of SIGINT): give it
    // until the limit, then kill it, so nothing outlives the trial
    let ended = Instant::now();
    while group_alive(pgid) {
        if start.elapsed() >= limit {
            run.timed_out = true;
            signal_group(pgid, libc::SIGKILL);
            break;
        }
        if ended.elapsed() > Duration::from_millis(500) {
            run.lingered = true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    while group_alive(pgid) {
        std::thread::sleep(Duration::from_millis(2));
    }
    run.code = status.code();
    run.raw_stdout = out.join().unwrap_or_default();
    run.stdout = String::from_utf8_lossy(&run.raw_stdout).into_owned();
    run.stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    run
}
