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
    // Size the buffer from the file's length (one read instead of a doubling series).
    let hint = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut bytes = Vec::with_capacity(hint.min(MAX_FILE_BYTES) as usize + 1);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::Config {
            path: path.to_path_buf(),
            message: format!("file is larger than {MAX_FILE_BYTES} bytes"),
        });
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
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
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

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Replaces `path` with `bytes` atomically: temp file in the same directory, fsync, 0600,
/// rename, fsync of the directory. The caller holds the lock.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, bytes, true)
}

/// [`write_atomic`] without the two fsyncs, for caches that check their own integrity (a
/// crash may lose or tear them; readers must treat that as a miss).
pub fn write_atomic_unsynced(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, bytes, false)
}

fn write_atomic_with(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    let dir = parent(path);
    create_private_dir(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
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
