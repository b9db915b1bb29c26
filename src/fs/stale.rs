//! Files that name the process that made them, so that what a killed process left behind can
//! be told from what a running one is still writing, and removed.
//!
//! A process is named by its pid, start time and the boot it runs in (`<pid>-<start>-<boot>`),
//! so a later process that reuses the pid is not mistaken for it, and neither is a process of
//! another machine (a cache or remote on a shared file system) or of an earlier boot.
//! Invariant: [`sweep`] removes a file only when its name carries a process tag and that
//! process has ended on this machine in this boot; anything else is left alone.

use std::io;
use std::path::Path;

/// A process, told apart from a later one that reuses its pid by its start time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Process {
    pid: u32,
    start: u64,
    boot: u32,
}

/// The first 32 bits of this boot's id (`/proc/sys/kernel/random/boot_id`), 0 where unknown.
fn boot() -> u32 {
    static BOOT: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *BOOT.get_or_init(|| {
        let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        id.get(..8).and_then(|h| u32::from_str_radix(h, 16).ok()).unwrap_or(0)
    })
}

impl Process {
    /// This process.
    pub(crate) fn current() -> Process {
        static CURRENT: std::sync::OnceLock<Process> = std::sync::OnceLock::new();
        *CURRENT.get_or_init(|| {
            let pid = std::process::id();
            Process { pid, start: proc_stat(pid).map_or(0, |s| s.start), boot: boot() }
        })
    }

    /// Whether the process is still running: not ended, not a zombie waiting to be reaped,
    /// and not on its way out (exiting, or a `SIGKILL` pending) — so right after `kill -9`
    /// returns, the killed process already counts as ended.
    pub(crate) fn alive(&self) -> bool {
        if self.pid == 0 {
            return false;
        }
        if self.boot != boot() {
            return true; // another machine's, or this one's before a reboot: cannot tell
        }
        match proc_stat(self.pid) {
            Some(stat) => stat.start == self.start && !stat.ending() && !kill_pending(self.pid),
            // no /proc entry: gone on Linux; elsewhere ask the kernel whether the pid exists
            None if Path::new("/proc/self/stat").exists() => false,
            None => {
                // SAFETY: signal 0 only checks that the process exists.
                let rc = unsafe { libc::kill(self.pid as libc::pid_t, 0) };
                rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
            }
        }
    }

    /// A process that is never running (pid 0), for records no process owns.
    pub(crate) fn none() -> Process {
        Process { pid: 0, start: 0, boot: boot() }
    }

    /// `<pid>-<start>-<boot>`, for file names.
    /// The running process `pid` of this machine, with its start time; `None` when no process
    /// has that pid.
    pub(crate) fn of(pid: u32) -> Option<Process> {
        proc_stat(pid).map(|s| Process { pid, start: s.start, boot: boot() })
    }

    pub(crate) fn tag(&self) -> String {
        format!("{}-{}-{:08x}", self.pid, self.start, self.boot)
    }

    /// Parses `<pid>-<start>-<boot>` at the start of `s`; returns it and what follows the
    /// next `-` or `.` (nothing at the end of `s`).
    pub(crate) fn parse(s: &str) -> Option<(Process, &str)> {
        let (pid, rest) = s.split_once('-')?;
        let (start, rest) = rest.split_once('-')?;
        let (boot, rest) = rest.split_once(['-', '.']).unwrap_or((rest, ""));
        let boot = u32::from_str_radix(boot, 16).ok().filter(|_| boot.len() == 8)?;
        Some((Process { pid: pid.parse().ok()?, start: start.parse().ok()?, boot }, rest))
    }
}

/// What `/proc/<pid>/stat` says of a process.
struct ProcStat {
    /// Start time in clock ticks since boot (field 22).
    start: u64,
    /// State letter (field 3).
    state: char,
    /// Kernel flags (field 9).
    flags: u64,
}

impl ProcStat {
    /// A zombie or dead process, or one in `do_exit` (`PF_EXITING`).
    fn ending(&self) -> bool {
        const PF_EXITING: u64 = 0x4;
        matches!(self.state, 'Z' | 'X' | 'x') || self.flags & PF_EXITING != 0
    }
}

fn proc_stat(pid: u32) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command name (field 2) is in parentheses and may hold spaces or parentheses
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        flags: fields.get(6)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// Whether `SIGKILL` is pending for the process (`SigPnd` or `ShdPnd` of `/proc/<pid>/status`):
/// it dies as soon as it leaves the kernel.
fn kill_pending(pid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { return false };
    let bit = 1u64 << (libc::SIGKILL - 1);
    status.lines().any(|line| {
        let mask = line.strip_prefix("SigPnd:").or_else(|| line.strip_prefix("ShdPnd:"));
        mask.and_then(|m| u64::from_str_radix(m.trim(), 16).ok()).is_some_and(|m| m & bit != 0)
    })
}

/// The marker a temp file of this process carries in its name: `<kind>-<pid>-<start>-`.
pub(crate) fn marker(kind: &str) -> String {
    format!("{kind}-{}-", Process::current().tag())
}

/// Removes the files of `dir` whose name holds `<kind>-<pid>-<start>-` (see [`marker`]) for a
/// process that has ended; returns how many. A directory that cannot be read is skipped.
pub(crate) fn sweep(dir: &Path, kind: &str) -> usize {
    let Ok(read) = std::fs::read_dir(dir) else { return 0 };
    let needle = format!("{kind}-");
    let mut removed = 0;
    for item in read.flatten() {
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(at) = name.find(&needle) else { continue };
        let Some((writer, _)) = Process::parse(&name[at + needle.len()..]) else { continue };
        if !writer.alive() && std::fs::remove_file(item.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// A mark that this process writes temp files somewhere under a directory tree: the file
/// `<dir>/writing-<pid>-<start>` exists while the mark lives. One that an ended process left
/// says the tree may hold that process's temps, so the next writer looks for them (see
/// [`ended_writers`]) instead of every writer searching every time.
#[derive(Debug)]
pub(crate) struct WritingMark {
    path: std::path::PathBuf,
}

impl WritingMark {
    /// Sets this process's mark in `dir`.
    pub(crate) fn set(dir: &Path) -> io::Result<WritingMark> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("writing-{}", Process::current().tag()));
        std::fs::write(&path, b"")?;
        Ok(WritingMark { path })
    }
}

impl Drop for WritingMark {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The marks in `dir` of writers that have ended: their process, and the mark's path (to
/// remove once their temps are gone).
pub(crate) fn ended_writers(dir: &Path) -> Vec<(Process, std::path::PathBuf)> {
    let Ok(read) = std::fs::read_dir(dir) else { return Vec::new() };
    read.flatten()
        .filter_map(|item| {
            let name = item.file_name();
            let (writer, _) = Process::parse(name.to_str()?.strip_prefix("writing-")?)?;
            (!writer.alive()).then(|| (writer, item.path()))
        })
        .collect()
}

/// If writers that ended left their [`WritingMark`] in `tmp`, removes their temp files of
/// `kind` from `tmp` and from the files `elsewhere` lists (name, path), then their marks.
pub(crate) fn remove_ended_writers_temps(
    tmp: &Path,
    kind: &str,
    elsewhere: impl FnOnce() -> Vec<(String, std::path::PathBuf)>,
) {
    let ended = ended_writers(tmp);
    if ended.is_empty() {
        return;
    }
    let left = |name: &str| ended.iter().any(|(p, _)| made_by(name, kind, p));
    let in_tmp = std::fs::read_dir(tmp).into_iter().flatten().flatten();
    let in_tmp = in_tmp.map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()));
    for (name, path) in in_tmp.chain(elsewhere()) {
        if left(&name) {
            let _ = std::fs::remove_file(path);
        }
    }
    for (_, mark) in &ended {
        let _ = std::fs::remove_file(mark);
    }
}

/// Whether `name` holds `<kind>-<tag of process>-`.
pub(crate) fn made_by(name: &str, kind: &str, process: &Process) -> bool {
    name.contains(&format!("{kind}-{}-", process.tag()))
}

/// The tag of a process of this boot that has ended (for tests).
#[cfg(test)]
pub(crate) fn ended_tag(start: u64) -> String {
    Process { pid: 999_999_999, start, boot: boot() }.tag()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_is_alive_until_it_ends() {
        assert!(Process::current().alive());
        let mut child = std::process::Command::new("sleep").arg("10").spawn().unwrap();
        let pid = child.id();
        let p = Process { pid, start: proc_stat(pid).map_or(0, |s| s.start), boot: boot() };
        assert!(p.alive());
        // SAFETY: signals the child this test started.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        assert!(!p.alive(), "ended as soon as the kill is sent");
        while proc_stat(pid).is_some_and(|s| s.state != 'Z') {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(!p.alive(), "a zombie has ended");
        child.wait().unwrap();
        assert!(!p.alive());
    }

    #[test]
    fn a_writing_mark_lives_with_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let mark = WritingMark::set(dir.path()).unwrap();
        std::fs::write(dir.path().join(format!("writing-{}", ended_tag(3))), b"").unwrap();
        let ended = ended_writers(dir.path());
        assert_eq!(ended.len(), 1, "only the ended writer: {ended:?}");
        assert!(made_by(&format!("incoming-{}-abc", ended_tag(3)), "incoming", &ended[0].0));
        drop(mark);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn sweep_removes_only_what_ended_processes_left() {
        let dir = tempfile::tempdir().unwrap();
        let mine = format!(".a.bin.{}x.git-data", marker("wt"));
        let dead = format!(".b.bin.wt-{}-x.git-data", ended_tag(7));
        let elsewhere = ".c.bin.wt-999999999-7-0badb007-x.git-data"; // another machine's
        let other = format!("other-{}-x", ended_tag(7));
        for name in [mine.as_str(), &dead, elsewhere, "wt-notatag", &other] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        assert_eq!(sweep(dir.path(), "wt"), 1);
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, vec![mine, elsewhere.into(), other, "wt-notatag".into()]);
    }
}
