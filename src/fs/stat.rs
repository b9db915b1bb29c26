//! The stat of a file as git's index keeps it, and the timing rules that make a stat
//! trustworthy: a file changed within a clock tick of being observed may change again without
//! its stat showing it ("racily clean"), so writers stamp and wait accordingly.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The stat fields that tell whether a file changed, as git's index keeps them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FileStat {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
    pub dev: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl FileStat {
    pub fn from_metadata(m: &Metadata) -> Self {
        FileStat {
            size: m.len(),
            mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            ctime_ns: m.ctime() * 1_000_000_000 + m.ctime_nsec(),
            ino: m.ino(),
            dev: m.dev(),
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
        }
    }

    /// Whether the identity of the content is unchanged (size, times and inode).
    pub fn same_content_stat(&self, other: &FileStat) -> bool {
        self.size == other.size
            && self.mtime_ns == other.mtime_ns
            && self.ctime_ns == other.ctime_ns
            && self.ino == other.ino
            && self.dev == other.dev
    }

    /// Whether a later change to the file is sure to show in its stat: the file was last
    /// changed at least a few clock ticks before `observed_at`, so a write after that moment
    /// gets a newer ctime (file systems stamp times with a coarse clock).
    pub fn settled_at(&self, observed_at: SystemTime) -> bool {
        let observed = observed_at.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as i64;
        observed - self.ctime_ns.max(self.mtime_ns) >= racy_margin().as_nanos() as i64
    }
}

/// How far apart two writes must be for their timestamps to differ: twice the resolution
/// of the coarse clock file systems use.
pub(crate) fn racy_margin() -> Duration {
    static MARGIN: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *MARGIN.get_or_init(|| {
        let res = super::sys::coarse_clock_resolution().unwrap_or(Duration::from_millis(10));
        (res * 2).clamp(Duration::from_millis(2), Duration::from_millis(50))
    })
}

/// A modification time for a file written now that git will not find "racily clean": the
/// last nanosecond of the previous second. git (built without nanosecond support) re-reads
/// every file whose mtime is in the same second as the index, which for data files means
/// running the clean filter over gigabytes after every checkout. Stamping the file a second
/// back keeps its stat entry trusted; a later edit still moves the mtime forward.
pub(crate) fn before_this_second() -> SystemTime {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    UNIX_EPOCH + Duration::from_secs(now.as_secs()) - Duration::from_nanos(1)
}

/// Waits until files written up to now are settled (see [`FileStat::settled_at`]).
pub(crate) fn wait_until_settled(latest_change_ns: i64) {
    let target = latest_change_ns + racy_margin().as_nanos() as i64;
    loop {
        let now =
            SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as i64;
        if now >= target {
            return;
        }
        std::thread::sleep(Duration::from_nanos((target - now) as u64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_is_sane() {
        let m = racy_margin();
        assert!(m >= Duration::from_millis(2) && m <= Duration::from_millis(50));
    }

    #[test]
    fn fresh_file_is_not_settled_old_file_is() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"x").unwrap();
        let st = FileStat::from_metadata(&std::fs::metadata(&p).unwrap());
        assert!(!st.settled_at(SystemTime::now() - Duration::from_secs(1)));
        wait_until_settled(st.ctime_ns.max(st.mtime_ns));
        assert!(st.settled_at(SystemTime::now()));
    }
}
