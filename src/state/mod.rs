//! Local state under `.git/data/`: caches that make commands fast and never hold the only
//! copy of anything. Deleting any of it costs a re-hash or a remote query, never data.
//!
//! - [`log`]: the checksummed append-only record file everything below is stored in;
//! - [`statcache`]: (path, stat) → oid, so unchanged files are not hashed twice;
//! - [`known`]: the objects known to be on each remote, so push does not ask again;
//! - [`pointers`]: git blob id → pointer, so status need not read every pointer blob;
//! - [`pending`]: files the smudge filter left as pointers for the hooks to materialise.

pub mod known;
pub mod log;
pub mod pending;
pub mod pointers;
pub mod statcache;

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
pub fn racy_margin() -> Duration {
    static MARGIN: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *MARGIN.get_or_init(|| {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_getres writes into the timespec we pass and has no other effect.
        let rc = unsafe { libc::clock_getres(libc::CLOCK_REALTIME_COARSE, &mut ts) };
        let res = if rc == 0 {
            Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
        } else {
            Duration::from_millis(10)
        };
        (res * 2).clamp(Duration::from_millis(2), Duration::from_millis(50))
    })
}

/// A modification time for a file written now that git will not find "racily clean": the
/// last nanosecond of the previous second. git (built without nanosecond support) re-reads
/// every file whose mtime is in the same second as the index, which for data files means
/// running the clean filter over gigabytes after every checkout. Stamping the file a second
/// back keeps its stat entry trusted; a later edit still moves the mtime forward.
pub fn before_this_second() -> SystemTime {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    UNIX_EPOCH + Duration::from_secs(now.as_secs()) - Duration::from_nanos(1)
}

/// Waits until files written up to now are settled (see [`FileStat::settled_at`]).
pub fn wait_until_settled(latest_change_ns: i64) {
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

/// Little-endian field helpers for fixed-layout records.
pub(crate) fn put_u64(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn get_u64(buf: &[u8], at: usize) -> Option<u64> {
    buf.get(at..at + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
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
