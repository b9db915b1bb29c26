//! Safe wrappers over the few system calls git-data makes directly, each with its SAFETY note:
//! block sharing (FICLONE), exchanging two paths, the coarse clock's resolution, a pipe's
//! capacity, the SIGPIPE disposition, and removing a lock file when a signal ends the process.
//!
//! Invariant: every function here fails cleanly (a `false`, `None` or `io::Error`) where the
//! kernel or file system does not support the call; none of them panics.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::Duration;

/// Makes `dest` share the blocks of `src` (a reflink, copy-on-write). `false` where the file
/// system cannot, or the two are on different file systems; `dest` is then unchanged.
pub(crate) fn reflink(dest: &File, src: &File) -> bool {
    // SAFETY: FICLONE reads two valid descriptors we own and fails cleanly when unsupported.
    unsafe { libc::ioctl(dest.as_raw_fd(), libc::FICLONE, src.as_raw_fd()) == 0 }
}

/// Whether files in `dir` can share blocks with `dest` (an empty file, which stays empty):
/// probed with an empty temp file in `dir`.
pub(crate) fn reflinks_between(dir: &Path, dest: &File) -> bool {
    let Ok(src) = tempfile::tempfile_in(dir) else { return false };
    reflink(dest, &src)
}

/// Exchanges the files at `a` and `b` atomically (`renameat2` RENAME_EXCHANGE): both paths
/// exist throughout. An error where the file system does not support it.
pub(crate) fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: two NUL-terminated paths that live across the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// The resolution of the coarse clock file systems stamp times with.
pub(crate) fn coarse_clock_resolution() -> Option<Duration> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_getres writes into the timespec we pass and has no other effect.
    let rc = unsafe { libc::clock_getres(libc::CLOCK_REALTIME_COARSE, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// Asks for a pipe capacity of `bytes` on `fd`; a descriptor that is not a pipe, or a size
/// above the system's limit, leaves it as it was.
pub(crate) fn grow_pipe(fd: impl AsFd, bytes: i32) {
    // SAFETY: F_SETPIPE_SZ only changes a pipe's capacity; on a non-pipe it fails harmlessly.
    unsafe {
        libc::fcntl(fd.as_fd().as_raw_fd(), libc::F_SETPIPE_SZ, bytes);
    }
}

/// Lets SIGPIPE end the process quietly (the default), for output piped into `head`. Call
/// before any thread exists.
pub(crate) fn default_sigpipe() {
    // SAFETY: resetting a signal disposition before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The lock file this process holds, as a C string for the signal handler (leaked: a handler
/// on another thread may still be reading one being replaced).
static HELD: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

/// Installs (once) the handlers that remove the lock file named by [`remove_on_signal`] on
/// SIGINT, SIGTERM, SIGHUP or SIGQUIT and then end the process as the signal would, as git
/// does with its own locks. Install before taking the lock, so that only the instant between
/// creating it and naming it is uncovered.
pub(crate) fn install_lock_removal() {
    static HANDLERS: std::sync::Once = std::sync::Once::new();
    HANDLERS.call_once(|| {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
            // SAFETY: the action only calls async-signal-safe functions (unlink, sigaction
            // through signal, raise) on a pointer that is never freed.
            let _ = unsafe {
                signal_hook_registry::register(signal, move || {
                    let path = HELD.load(Ordering::SeqCst);
                    if !path.is_null() {
                        libc::unlink(path);
                    }
                    libc::signal(signal, libc::SIG_DFL);
                    libc::raise(signal);
                })
            };
        }
    });
}

/// While the returned guard lives, a fatal signal removes `lock_path` (see
/// [`install_lock_removal`]).
pub(crate) fn remove_on_signal(lock_path: &Path) -> impl Drop {
    if let Ok(c) = CString::new(lock_path.as_os_str().as_bytes()) {
        HELD.store(c.into_raw(), Ordering::SeqCst);
    }
    struct Held;
    impl Drop for Held {
        fn drop(&mut self) {
            HELD.store(std::ptr::null_mut(), Ordering::SeqCst);
        }
    }
    Held
}
