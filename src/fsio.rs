//! The filesystem seam for files ocicred rewrites: reading, locking, and atomic replacement.
//!
//! It owns the write discipline of SPEC §6: an exclusive lock on a sidecar lock file (so
//! concurrent writers serialise), a temp file in the same directory, fsync, mode 0600, rename
//! over, fsync of the directory; parent directories are created 0700. It never writes through
//! a symlink into a file owned by another user. It knows nothing of JSON.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The most ocicred reads from any one config or auth file.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a whole file; `Ok(None)` when it does not exist (or vanished).
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if is_missing(&e) => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let too_big = || Error::Config {
        path: path.to_path_buf(),
        message: format!("file is larger than {MAX_FILE_BYTES} bytes"),
    };
    // Refuse a huge regular file before reading any of it; the bounded read below still
    // guards files whose size is not known in advance (pipes, /proc).
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > MAX_FILE_BYTES {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big());
    }
    Ok(Some(bytes))
}

/// True for "no such file" and "not a directory" (a parent that is a file).
pub fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// An exclusive lock held for the life of the value.
pub struct FileLock {
    _file: File,
}

/// Where a write to `path` really goes: the target of a symlink (followed like podman does),
/// refused when that target belongs to another user.
pub fn write_target(path: &Path, uid: u32) -> Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = fs::canonicalize(path).or_else(|e| {
                if is_missing(&e) {
                    // A dangling link: write where it points.
                    let link = fs::read_link(path).map_err(|e| Error::io(path, e))?;
                    Ok(path.parent().unwrap_or(Path::new("/")).join(link))
                } else {
                    Err(Error::io(path, e))
                }
            })?;
            if let Ok(tmeta) = fs::metadata(&target)
                && tmeta.uid() != uid
            {
                return Err(Error::Config {
                    path: path.to_path_buf(),
                    message: format!(
                        "is a symlink to {}, which belongs to another user; refusing to write through it",
                        target.display()
                    ),
                });
            }
            Ok(target)
        }
        _ => Ok(path.to_path_buf()),
    }
}

/// Creates `dir` and its missing parents with mode 0700.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(dir, e))
}

/// Takes an exclusive lock for writing `path` (on `.<name>.lock` beside it), creating the
/// directory 0700 if needed.
pub fn lock_for(path: &Path) -> Result<FileLock> {
    let dir = parent(path);
    create_private_dir(dir)?;
    let name = file_name(path);
    let lock_path = dir.join(format!(".{name}.lock"));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)
        .map_err(|e| Error::io(&lock_path, e))?;
    file.lock().map_err(|e| Error::io(&lock_path, e))?;
    Ok(FileLock { _file: file })
}

/// The last component of `path`, for naming the lock and temp files beside it.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Replaces `path` with `bytes` atomically: temp file `.<name>.tmp` in the same directory,
/// fsync, 0600, rename, fsync of the directory. The caller holds the lock (from [`lock_for`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, bytes, true)
}

/// [`write_atomic`] without the two fsyncs and without a lock, for caches that check their
/// own integrity (a crash may lose or tear them; readers must treat that as a miss). The temp
/// file is named per process (`.<name>.tmp-<pid>`), since writers may race.
pub fn write_atomic_unsynced(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, bytes, false)
}

fn write_atomic_with(path: &Path, bytes: &[u8], locked: bool) -> Result<()> {
    let sync = locked;
    let dir = parent(path);
    create_private_dir(dir)?;
    let name = file_name(path);
    // Under the lock, one fixed name: one temp file at a time is enough, and a writer killed
    // mid-write leaves one stale copy that the next write replaces, instead of a new copy of
    // every secret per killed process. Unlocked writers need a name of their own.
    // `create_new` never opens through a symlink.
    let tmp = if locked {
        dir.join(format!(".{name}.tmp"))
    } else {
        dir.join(format!(".{name}.tmp-{}", std::process::id()))
    };
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let mut f = OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| Error::io(&tmp, e))?;
        f.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
        if sync {
            f.sync_all().map_err(|e| Error::io(&tmp, e))?;
        }
        fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
        if sync && let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_makes_private_file_and_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/auth.json");
        let _lock = lock_for(&path).unwrap();
        write_atomic(&path, b"{}\n").unwrap();
        assert_eq!(read_optional(&path).unwrap().unwrap(), b"{}\n");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dmode, 0o700);
        assert!(
            read_optional(&dir.path().join("missing"))
                .unwrap()
                .is_none()
        );
        assert!(read_optional(&path.join("under-a-file")).unwrap().is_none());
    }

    #[test]
    fn a_stale_temp_file_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        let tmp = dir.path().join(".auth.json.tmp");
        let elsewhere = dir.path().join("elsewhere");
        fs::write(&elsewhere, "untouched").unwrap();
        std::os::unix::fs::symlink(&elsewhere, &tmp).unwrap();
        let _lock = lock_for(&path).unwrap();
        write_atomic(&path, b"{}\n").unwrap();
        write_atomic(&path, b"{ }\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{ }\n");
        assert_eq!(fs::read(&elsewhere).unwrap(), b"untouched");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(!names.iter().any(|n| n.contains(".tmp")), "{names:?}");
    }

    #[test]
    fn symlinks_are_followed_for_own_files() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        fs::write(&real, "{}").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let me = fs::metadata(&real).unwrap().uid();
        assert_eq!(
            write_target(&link, me).unwrap(),
            fs::canonicalize(&real).unwrap()
        );
        assert!(write_target(&link, me + 1).is_err());
    }
}
