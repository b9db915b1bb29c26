//! The stage commands of a `git data repro` never outlive it. Each command runs in a process
//! group of its own (so its whole tree can be signalled), killed by the kernel if git-data
//! dies (`PR_SET_PDEATHSIG`, Linux), and named in a groups file beside the owner file. A
//! SIGINT, SIGTERM or SIGHUP that reaches git-data alone is passed to every running group
//! before git-data ends; after a `kill -9`, the next `repro` that takes the pipeline over kills
//! what is left of the recorded groups before running anything, so two runs never write the
//! same outputs at once.
//!
//! Invariants: a group is recorded right after its spawn (a `kill -9` in between leaves its
//! leader to PDEATHSIG alone); a recorded group is killed only while it still exists and,
//! when its leader is alive, only if that leader is the process recorded (its start time),
//! so a reused pid is never signalled.

use crate::fs::stale::Process;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};

/// Process groups the signal handler passes a signal to (0: a free slot).
static RUNNING: [AtomicI32; 256] = [const { AtomicI32::new(0) }; 256];

/// The groups file of one `repro`, and the slots its running groups take.
pub(crate) struct Groups {
    file: Option<Mutex<std::fs::File>>,
    path: PathBuf,
}

impl Groups {
    /// Starts the groups file at `path` (beside the owner file, which this process holds)
    /// and installs the signal forwarding.
    pub(crate) fn start(path: &Path) -> Groups {
        install_forwarding();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .ok()
            .map(Mutex::new);
        Groups { file, path: path.to_path_buf() }
    }

    /// Nothing recorded in a file: for tests.
    #[cfg(test)]
    pub(crate) fn none() -> Groups {
        Groups { file: None, path: PathBuf::new() }
    }

    /// Records the group whose leader is `pid`, just spawned.
    pub(crate) fn started(&self, pid: u32) {
        let pgid = pid as i32;
        // with more than 256 at once, the rest are not forwarded a signal (PDEATHSIG and the
        // groups file still cover them)
        let _ = RUNNING
            .iter()
            .any(|s| s.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst).is_ok());
        if let Some(file) = &self.file
            && let Ok(mut f) = file.lock()
        {
            let tag = Process::of(pid).map(|p| p.tag()).unwrap_or_default();
            let _ = writeln!(f, "{pid} {tag}");
        }
    }

    /// The group of `pid` has ended.
    pub(crate) fn ended(&self, pid: u32) {
        let pgid = pid as i32;
        for slot in &RUNNING {
            let _ = slot.compare_exchange(pgid, 0, Ordering::SeqCst, Ordering::SeqCst);
        }
    }
}

impl Drop for Groups {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Kills what is left of the groups a killed `repro` recorded in `path`, waits (up to a few
/// seconds) until they are gone, and removes the file.
pub(crate) fn reap(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let Some(pgid) = parts.next().and_then(|p| p.parse::<i32>().ok()).filter(|p| *p > 1) else {
            continue;
        };
        let leader = parts.next().and_then(|t| Process::parse(t)).map(|(p, _)| p);
        // a live leader that is not the recorded process: the pid was reused, leave it
        if Process::of(pgid as u32).is_some_and(|now| leader.is_some_and(|l| l != now)) {
            continue;
        }
        // SAFETY: signals a process group this pipeline's killed run started.
        if unsafe { libc::kill(-pgid, libc::SIGKILL) } != 0 {
            continue; // no such group: it ended with its run
        }
        for _ in 0..500 {
            // SAFETY: signal 0 only checks that the group still has a process.
            if unsafe { libc::kill(-pgid, 0) } != 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    let _ = std::fs::remove_file(path);
}

/// Installs (once) handlers that pass SIGINT, SIGTERM and SIGHUP to every running group, then
/// end the process as the signal would.
fn install_forwarding() {
    static HANDLERS: std::sync::Once = std::sync::Once::new();
    HANDLERS.call_once(|| {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: the action only reads atomics and calls async-signal-safe functions
            // (kill, signal, raise).
            let _ = unsafe {
                signal_hook_registry::register(signal, move || {
                    for slot in &RUNNING {
                        let pgid = slot.load(Ordering::SeqCst);
                        if pgid > 1 {
                            libc::kill(-pgid, signal);
                        }
                    }
                    libc::signal(signal, libc::SIG_DFL);
                    libc::raise(signal);
                })
            };
        }
    });
}

/// Sets up a stage command's process before it runs: its own process group, and killed if
/// git-data dies.
pub(crate) fn prepare(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: between fork and exec the closure only calls async-signal-safe functions
        // (prctl, getppid, _exit).
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if libc::getppid() != parent {
                    libc::_exit(1); // git-data died before the signal was armed
                }
                Ok(())
            });
        }
    }
}
