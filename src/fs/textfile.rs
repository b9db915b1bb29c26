//! Replacing the small text files git-data edits for the user (`.gitattributes`,
//! `.gitdata.yaml`) whole, and the modes of those files and of `.git/config`.
//!
//! Invariants: a reader sees the old file or the new one, never a mix; the temp goes to the
//! git directory's `data/tmp` (so a killed writer leaves nothing in the work tree that
//! `git add -A` could commit) and is removed by the next replacement once its process has
//! ended; the new file keeps the mode of the file it replaces, and a new file gets `0666`
//! less the umask, as git and editors create files. [`Access::Private`] also drops the group
//! and other bits, for a file that holds keys.

use std::fs::{self, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Who may read the file once written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// As before (or `0666` less the umask for a new file): committed files.
    Shared,
    /// As before, less the group and other bits: a file that holds keys.
    Private,
}

const KIND: &str = "text";

/// The mode to give a file that replaces `path`: its current mode, or `None` for a new file
/// (then the umask decides), narrowed to the owner for [`Access::Private`].
pub(crate) fn mode_for(path: &Path, access: Access) -> io::Result<Option<u32>> {
    let current = match fs::metadata(path) {
        Ok(m) => Some(m.permissions().mode() & 0o7777),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    Ok(match access {
        Access::Shared => current,
        Access::Private => Some(current.unwrap_or(0o600) & !0o077),
    })
}

/// Replaces `path` with `text` (see the module's invariants); `tmp_dir` is the git
/// directory's `data/tmp`. Where that is on another file system, the temp is made beside
/// `path` as `.<name>.text-<pid>-<start>-<random>` instead.
pub(crate) fn replace(path: &Path, text: &[u8], tmp_dir: &Path, access: Access) -> io::Result<()> {
    let mode = mode_for(path, access)?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let marker = crate::fs::stale::marker(KIND);
    let _ = fs::create_dir_all(tmp_dir);
    crate::fs::stale::sweep(tmp_dir, KIND);
    let tmp = write_temp(tmp_dir, &marker, text, mode)?;
    match tmp.persist(path) {
        Ok(_) => Ok(()),
        Err(e) if e.error.raw_os_error() == Some(libc::EXDEV) => {
            crate::fs::stale::sweep(parent, KIND);
            let beside = write_temp(parent, &format!(".{name}.{marker}"), text, mode)?;
            beside.persist(path).map(|_| ()).map_err(|e| e.error)
        }
        Err(e) => Err(e.error),
    }
}

/// A temp in `dir` named `<prefix><random>` holding `text`, flushed to disk, with `mode`.
fn write_temp(
    dir: &Path,
    prefix: &str,
    text: &[u8],
    mode: Option<u32>,
) -> io::Result<tempfile::NamedTempFile> {
    // 0666 here is narrowed by the umask, as for any new file
    let mut tmp = tempfile::Builder::new()
        .prefix(prefix)
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)?;
    if let Some(mode) = mode {
        tmp.as_file().set_permissions(Permissions::from_mode(mode))?;
    }
    tmp.write_all(text)?;
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_shared_file_follows_the_umask_and_old_modes_stay() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join(".git/data/tmp");
        let path = dir.path().join(".gitattributes");
        // SAFETY: umask only sets this process's mask; it returns the old one
        let old = unsafe { libc::umask(0o022) };
        replace(&path, b"a\n", &tmp, Access::Shared).unwrap();
        unsafe { libc::umask(old) };
        assert_eq!(mode(&path), 0o644);
        fs::set_permissions(&path, Permissions::from_mode(0o664)).unwrap();
        replace(&path, b"b\n", &tmp, Access::Shared).unwrap();
        assert_eq!((fs::read(&path).unwrap(), mode(&path)), (b"b\n".to_vec(), 0o664));
        assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0);
    }

    #[test]
    fn private_drops_group_and_other_bits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        fs::write(&path, b"x").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        assert_eq!(mode_for(&path, Access::Private).unwrap(), Some(0o600));
        assert_eq!(mode_for(&path, Access::Shared).unwrap(), Some(0o644));
        assert_eq!(mode_for(&dir.path().join("new"), Access::Shared).unwrap(), None);
        replace(&path, b"y", &dir.path().join("tmp"), Access::Private).unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn temps_of_ended_writers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        fs::create_dir_all(&tmp).unwrap();
        let left = tmp.join(format!("{KIND}-{}-abc", crate::fs::stale::ended_tag(7)));
        fs::write(&left, b"half").unwrap();
        replace(&dir.path().join("f"), b"z", &tmp, Access::Shared).unwrap();
        assert!(!left.exists());
    }
}
