//! The filesystem seam: reading files without blocking, and keeping private files.
//!
//! It owns two disciplines (README.md#where-store-writes,
//! docs/protocol.md#time-limits-and-safety-rules):
//! - Reading: only regular files are read. A path is opened non-blocking, checked with `fstat`
//!   and read up to a limit, so a FIFO, device, socket or directory where a file is expected
//!   gives one clear error instead of a hang or a 64 MiB read of `/dev/zero`.
//! - Private files ([`PrivateDir`]): every existing component of the directory's path is
//!   vetted (owned by the user or root, not writable by others unless sticky, symlinks owned
//!   by the user or root), missing ones are made 0700; files in it are read only when they are
//!   regular, not symlinks, and the user's; writes go to a temp file created exclusively
//!   (`O_EXCL`, never through a symlink) and renamed over; locks are taken on regular files of
//!   the user's, opened without following a symlink, with a deadline.
//!
//! [`write_target`] vets the path an auth file is written through (following a final symlink of
//! the user's or root's, as podman does). It knows nothing of JSON. The Unix-only operations are
//! the small functions in `mod os` at the end (one for Unix, one for elsewhere).

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The most ocicred reads from any one config or auth file.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// How long a writer waits for another process's lock on an auth file
/// (docs/protocol.md#time-limits-and-safety-rules).
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// How many symlinks a path may pass through (Linux's own limit).
const MAX_LINKS: usize = 40;

// ---- reading ------------------------------------------------------------------------------

/// Whether a read follows a symlink in the final component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    /// Follow it (auth and config files, as podman and docker read them).
    Yes,
    /// Refuse it (files in a private directory).
    No,
}

/// Whose file a read accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Anyone's (auth and config files, as podman and docker read them).
    Anyone,
    /// Only this uid's (a file about to be replaced).
    Owner(u32),
    /// Only this uid's, and writable by no one else (private cache files).
    Private(u32),
}

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// It is something else: "a directory", "a FIFO", "a device", "a socket", "a symlink".
    NotRegular(&'static str),
    /// It belongs to this other uid.
    Foreign(u32),
    /// It is the user's, but others may write to it (mode).
    Writable(u32),
    /// It is larger than the limit.
    TooBig(u64),
    /// The operating system said no.
    Io(io::Error),
}

impl ReadError {
    /// The one-line error for `path`.
    pub fn into_error(self, path: &Path) -> Error {
        let message = match self {
            ReadError::Io(e) => return Error::io(path, e),
            other => other.describe(),
        };
        Error::Config {
            path: path.to_path_buf(),
            message,
        }
    }

    /// What is wrong, without the path.
    pub fn describe(&self) -> String {
        match self {
            ReadError::NotRegular(kind) => format!("is {kind}, not a regular file"),
            ReadError::Foreign(uid) => format!("belongs to another user (uid {uid})"),
            ReadError::Writable(mode) => format!("is writable by others (mode {mode:o})"),
            ReadError::TooBig(max) => format!("file is larger than {max} bytes"),
            ReadError::Io(e) => e.to_string(),
        }
    }
}

/// What a file type is, in words, for one that is not a regular file.
pub fn kind_name(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_file() {
        "a file"
    } else if t.is_symlink() {
        "a symlink"
    } else {
        os::special_kind(&t)
    }
}

/// Reads the regular file at `path`, at most `max` bytes, never blocking on a FIFO or device
/// and never opening one. `trust` says whose files are accepted. `Ok(None)` when it does not
/// exist (or a parent is not a directory).
pub fn read_regular(
    path: &Path,
    follow: Follow,
    trust: Trust,
    max: u64,
) -> std::result::Result<Option<Vec<u8>>, ReadError> {
    // Look before opening: opening some devices has effects of its own.
    let before = match follow {
        Follow::Yes => fs::metadata(path),
        Follow::No => fs::symlink_metadata(path),
    };
    match before {
        Ok(m) if !m.is_file() => return Err(ReadError::NotRegular(kind_name(&m))),
        Ok(_) => {}
        Err(e) if is_missing(&e) => return Ok(None),
        Err(e) => return Err(ReadError::Io(e)),
    }
    let file = match os::open_read(path, follow) {
        Ok(f) => f,
        Err(e) if is_missing(&e) => return Ok(None),
        Err(e) => return Err(ReadError::Io(e)),
    };
    // What was opened is what counts (the path may have changed since the look).
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind_name(&meta)));
    }
    if let Trust::Owner(uid) | Trust::Private(uid) = trust
        && os::owner(&meta) != uid
    {
        return Err(ReadError::Foreign(os::owner(&meta)));
    }
    if let Trust::Private(_) = trust
        && os::mode(&meta) & 0o022 != 0
    {
        return Err(ReadError::Writable(os::mode(&meta) & 0o7777));
    }
    if meta.len() > max {
        return Err(ReadError::TooBig(max));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > max {
        return Err(ReadError::TooBig(max));
    }
    Ok(Some(bytes))
}

/// Reads a whole config or auth file (following symlinks); `Ok(None)` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    read_regular(path, Follow::Yes, Trust::Anyone, MAX_FILE_BYTES).map_err(|e| e.into_error(path))
}

/// True for "no such file" and "not a directory" (a parent that is a file).
pub fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

// ---- vetting a path -----------------------------------------------------------------------

fn refuse(path: &Path, message: String) -> Error {
    Error::Config {
        path: path.to_path_buf(),
        message,
    }
}

/// Who may own a directory or symlink on the way to private files: the user, or root.
fn trusted_owner(owner: u32, uid: u32) -> bool {
    owner == uid || owner == 0
}

/// Checks one existing directory on the way: owned by the user or root, and not writable by
/// others unless sticky (like `/tmp`, where others cannot rename or remove what is ours).
fn vet_directory(path: &Path, meta: &Metadata, uid: u32) -> Result<()> {
    let owner = os::owner(meta);
    if !trusted_owner(owner, uid) {
        return Err(refuse(
            path,
            format!(
                "belongs to another user (uid {owner}); ocicred keeps private files only under directories of yours or root's"
            ),
        ));
    }
    let mode = os::mode(meta);
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(refuse(
            path,
            format!(
                "is writable by other users (mode {:o}); run `chmod go-w {}`",
                mode & 0o7777,
                path.display()
            ),
        ));
    }
    Ok(())
}

fn vet_symlink(path: &Path, meta: &Metadata, uid: u32) -> Result<()> {
    let owner = os::owner(meta);
    if trusted_owner(owner, uid) {
        Ok(())
    } else {
        Err(refuse(
            path,
            format!("is a symlink owned by another user (uid {owner}); refusing to follow it"),
        ))
    }
}

/// `path` made absolute (against the current directory) without touching the filesystem.
fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::io(path, e))
}

/// A directory path walked component by component: the part that exists, with every symlink
/// resolved and every directory vetted, and the names below it that do not exist yet.
struct Walked {
    existing: PathBuf,
    missing: Vec<OsString>,
}

/// `vet_last`: vet the directory itself too (else only its owner's caller checks it).
fn walk_dir(dir: &Path, uid: u32, vet_last: bool) -> Result<Walked> {
    let dir = absolute(dir)?;
    let mut todo: Vec<OsString> = Vec::new();
    let mut resolved = root_of(&dir);
    let root = fs::symlink_metadata(&resolved).map_err(|e| Error::io(&resolved, e))?;
    vet_directory(&resolved, &root, uid)?;
    push_components(&mut todo, &dir);
    let mut links = 0;
    while let Some(name) = todo.pop() {
        if name == ".." {
            resolved.pop();
            continue;
        }
        let next = resolved.join(&name);
        let meta = match fs::symlink_metadata(&next) {
            Ok(m) => m,
            Err(e) if is_missing(&e) => {
                let mut missing = vec![name];
                while let Some(n) = todo.pop() {
                    missing.push(n);
                }
                return Ok(Walked {
                    existing: resolved,
                    missing,
                });
            }
            Err(e) => return Err(Error::io(&next, e)),
        };
        if meta.file_type().is_symlink() {
            vet_symlink(&next, &meta, uid)?;
            links += 1;
            if links > MAX_LINKS {
                return Err(refuse(&dir, "passes through too many symlinks".into()));
            }
            let target = fs::read_link(&next).map_err(|e| Error::io(&next, e))?;
            if target.is_absolute() {
                resolved = root_of(&target);
            }
            push_components(&mut todo, &target);
        } else if meta.is_dir() {
            if vet_last || !todo.is_empty() {
                vet_directory(&next, &meta, uid)?;
            }
            resolved = next;
        } else {
            return Err(refuse(
                &next,
                format!("is {}, not a directory", kind_name(&meta)),
            ));
        }
    }
    Ok(Walked {
        existing: resolved,
        missing: Vec::new(),
    })
}

/// Where an absolute path starts: `/` on Unix; the drive or share and its root (`C:\`) on
/// Windows, which [`push_components`] leaves out.
fn root_of(path: &Path) -> PathBuf {
    let root: PathBuf = path
        .components()
        .take_while(|c| matches!(c, Component::Prefix(_) | Component::RootDir))
        .collect();
    if root.as_os_str().is_empty() {
        PathBuf::from("/")
    } else {
        root
    }
}

/// Pushes the names of `path` so that the first one is popped first ("." dropped, ".." kept).
fn push_components(todo: &mut Vec<OsString>, path: &Path) {
    let names: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect();
    todo.extend(names.into_iter().rev());
}

// ---- private directories ------------------------------------------------------------------

/// A directory vetted for private files, and the operations on files in it.
#[derive(Debug)]
pub struct PrivateDir {
    path: PathBuf,
    uid: u32,
}

/// An exclusive lock held for the life of the value.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl PrivateDir {
    /// `dir` after vetting every component of its path, with the missing ones made 0700.
    /// The directory itself may belong to root (like `/tmp`) when the user is not root.
    pub fn create(dir: &Path, uid: u32) -> Result<PrivateDir> {
        PrivateDir::make(dir, uid, true)
    }

    fn make(dir: &Path, uid: u32, vet_last: bool) -> Result<PrivateDir> {
        for _ in 0..3 {
            let walked = walk_dir(dir, uid, vet_last)?;
            if walked.missing.is_empty() {
                return Ok(PrivateDir {
                    path: walked.existing,
                    uid,
                });
            }
            let mut at = walked.existing;
            for name in &walked.missing {
                at.push(name);
                if name == ".." {
                    return Err(refuse(dir, "names a parent of a missing directory".into()));
                }
                match os::make_private_dir(&at) {
                    Ok(()) => {}
                    // Made meanwhile (perhaps by a parallel call): the next walk vets it.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => break,
                    Err(e) => return Err(Error::io(&at, e)),
                }
            }
        }
        Err(refuse(dir, "keeps changing while being created".into()))
    }

    /// The user's own private directory (a cache): [`PrivateDir::create`], and the directory
    /// itself must belong to the user. One that others could read is tightened to 0700; one
    /// that others could write to is tightened and emptied, since nothing in it can be trusted.
    pub fn create_own(dir: &Path, uid: u32) -> Result<PrivateDir> {
        let d = PrivateDir::make(dir, uid, false)?;
        d.own_and_private(true)?;
        Ok(d)
    }

    /// [`PrivateDir::create_own`] for a reader: `Ok(None)` when `dir` does not exist yet, an
    /// error when it is not the user's or not private (a reader changes nothing).
    pub fn existing_own(dir: &Path, uid: u32) -> Result<Option<PrivateDir>> {
        let walked = walk_dir(dir, uid, false)?;
        if !walked.missing.is_empty() {
            return Ok(None);
        }
        let d = PrivateDir {
            path: walked.existing,
            uid,
        };
        d.own_and_private(false)?;
        Ok(Some(d))
    }

    fn own_and_private(&self, repair: bool) -> Result<()> {
        let meta = fs::symlink_metadata(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let owner = os::owner(&meta);
        if owner != self.uid {
            return Err(refuse(
                &self.path,
                format!("belongs to another user (uid {owner})"),
            ));
        }
        let mode = os::mode(&meta);
        if mode & 0o077 == 0 {
            return Ok(());
        }
        if !repair {
            return Err(refuse(
                &self.path,
                format!("is not private (mode {mode:o})"),
            ));
        }
        os::set_mode(&self.path, 0o700).map_err(|e| Error::io(&self.path, e))?;
        if mode & 0o022 != 0 {
            // Others could write here: whatever they left is not ours to serve.
            let entries = fs::read_dir(&self.path).map_err(|e| Error::io(&self.path, e))?;
            for e in entries.flatten() {
                let _ = fs::remove_file(e.path());
            }
        }
        Ok(())
    }

    /// The directory, resolved.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The user's regular file `name`, at most `max` bytes; a symlink is refused, not followed.
    pub fn read(&self, name: &str, max: u64) -> std::result::Result<Option<Vec<u8>>, ReadError> {
        read_regular(
            &self.path.join(name),
            Follow::No,
            Trust::Private(self.uid),
            max,
        )
    }

    /// The state of `name` for a writer: `Ok(true)` a regular file of the user's, `Ok(false)`
    /// missing, else an error saying what it is.
    pub fn check_replaceable(&self, name: &OsStr) -> Result<bool> {
        let path = self.path.join(name);
        match fs::symlink_metadata(&path) {
            Ok(m) if !m.is_file() => Err(ReadError::NotRegular(kind_name(&m)).into_error(&path)),
            Ok(m) if os::owner(&m) != self.uid => Err(refuse(
                &path,
                format!(
                    "belongs to another user (uid {}); refusing to replace it",
                    os::owner(&m)
                ),
            )),
            Ok(_) => Ok(true),
            Err(e) if is_missing(&e) => Ok(false),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Takes an exclusive lock on the file `name`, waiting until `deadline`. The lock file is
    /// created 0600 without following a symlink, and must be a regular file of the user's.
    pub fn lock(&self, name: &str, deadline: Instant) -> Result<FileLock> {
        let path = self.path.join(name);
        let file = os::open_lock(&path).map_err(|e| match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                refuse(&path, "is a symlink; refusing to follow it".into())
            }
            Ok(m) if !m.is_file() => ReadError::NotRegular(kind_name(&m)).into_error(&path),
            _ => Error::io(&path, e),
        })?;
        let meta = file.metadata().map_err(|e| Error::io(&path, e))?;
        if !meta.is_file() {
            return Err(ReadError::NotRegular(kind_name(&meta)).into_error(&path));
        }
        if os::owner(&meta) != self.uid {
            return Err(refuse(
                &path,
                format!("belongs to another user (uid {})", os::owner(&meta)),
            ));
        }
        let mut pause = Duration::from_millis(1);
        let waited = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(FileLock { _file: file }),
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(refuse(
                    &path,
                    format!(
                        "still locked by another process after {:.0} s (a stuck ocicred or credential helper?); giving up",
                        (now - waited).as_secs_f64()
                    ),
                ));
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Replaces `name` with `bytes` under the caller's lock on it: a temp file `.<name>.tmp`
    /// (a stale one from a killed writer is removed first, so at most one copy of any secret
    /// is left behind), created exclusively with mode 0600, fsync, rename, fsync of the
    /// directory.
    pub fn write_locked(&self, name: &OsStr, bytes: &[u8]) -> Result<()> {
        let mut tmp_name = OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(".tmp");
        let tmp = self.path.join(&tmp_name);
        let _ = fs::remove_file(&tmp);
        let file = os::create_exclusive(&tmp).map_err(|e| Error::io(&tmp, e))?;
        self.finish_write(file, &tmp, name, bytes, true)
    }

    /// Replaces `name` with `bytes` without a lock and without fsync, for caches that check
    /// their own integrity (a crash may lose or tear them; readers treat that as a miss). The
    /// temp file `.<name>.<unique>.tmp` is created exclusively, so racing writers and planted
    /// files never share one.
    pub fn write_unsynced(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let mut last = None;
        for attempt in 0..16u32 {
            let tmp = self
                .path
                .join(format!(".{name}.{}.tmp", unique_suffix(attempt)));
            match os::create_exclusive(&tmp) {
                Ok(file) => return self.finish_write(file, &tmp, OsStr::new(name), bytes, false),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(Error::io(&tmp, e)),
            }
        }
        let e = last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists));
        Err(Error::io(&self.path, e))
    }

    fn finish_write(
        &self,
        mut file: File,
        tmp: &Path,
        name: &OsStr,
        bytes: &[u8],
        sync: bool,
    ) -> Result<()> {
        let result = (|| {
            os::set_file_mode(&file, 0o600).map_err(|e| Error::io(tmp, e))?;
            file.write_all(bytes).map_err(|e| Error::io(tmp, e))?;
            if sync {
                file.sync_all().map_err(|e| Error::io(tmp, e))?;
            }
            drop(file);
            let path = self.path.join(name);
            fs::rename(tmp, &path).map_err(|e| Error::io(&path, e))?;
            if sync && let Ok(d) = File::open(&self.path) {
                let _ = d.sync_all();
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(tmp);
        }
        result
    }

    /// Removes `name` (a symlink is removed, never followed). Errors are ignored.
    pub fn remove(&self, name: &str) {
        let _ = fs::remove_file(self.path.join(name));
    }
}

/// A temp-file suffix no other writer is likely to pick: pid, time and a per-process random
/// seed (std's `RandomState`, seeded from the OS), mixed.
fn unique_suffix(attempt: u32) -> String {
    use std::hash::{BuildHasher, RandomState};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mix = RandomState::new().hash_one((nanos, attempt));
    format!("{:x}-{mix:016x}", std::process::id())
}

// ---- auth files ---------------------------------------------------------------------------

/// Where a write to an auth file really goes, vetted.
#[derive(Debug)]
pub struct WriteTarget {
    /// The directory that holds it.
    pub dir: PrivateDir,
    /// Its name there.
    pub name: OsString,
}

impl WriteTarget {
    /// Its full path.
    pub fn path(&self) -> PathBuf {
        self.dir.path.join(&self.name)
    }

    /// Takes the auth file's lock (`.<name>.lock` beside it), waiting at most [`LOCK_WAIT`].
    pub fn lock(&self) -> Result<FileLock> {
        self.dir.lock(
            &format!(".{}.lock", self.name.to_string_lossy()),
            Instant::now() + LOCK_WAIT,
        )
    }

    /// Reads it (a regular file of the user's); `Ok(None)` when it does not exist.
    pub fn read(&self) -> Result<Option<Vec<u8>>> {
        let path = self.path();
        read_regular(
            &path,
            Follow::No,
            Trust::Owner(self.dir.uid),
            MAX_FILE_BYTES,
        )
        .map_err(|e| e.into_error(&path))
    }

    /// True when it exists (as a file of the user's; anything else is an error).
    pub fn exists(&self) -> Result<bool> {
        self.dir.check_replaceable(&self.name)
    }

    /// Replaces it atomically; the caller holds [`WriteTarget::lock`].
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        self.dir.write_locked(&self.name, bytes)
    }
}

/// Vets the path an auth file is written through: a final symlink is followed (as podman
/// does) only when it belongs to the user or root; every directory on the way is vetted and the
/// missing ones are made 0700; the file, when it exists, must be a regular file of the user's.
pub fn write_target(path: &Path, uid: u32) -> Result<WriteTarget> {
    let mut at = absolute(path)?;
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                vet_symlink(&at, &m, uid)?;
                let target = fs::read_link(&at).map_err(|e| Error::io(&at, e))?;
                at = parent(&at).join(target);
            }
            _ => {
                let Some(name) = at.file_name().map(OsStr::to_os_string) else {
                    return Err(refuse(path, "does not name a file".into()));
                };
                let dir = PrivateDir::create(parent(&at), uid)?;
                dir.check_replaceable(&name)?;
                return Ok(WriteTarget { dir, name });
            }
        }
    }
    Err(refuse(path, "passes through too many symlinks".into()))
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("/"),
    }
}

/// The real user id (0 on Windows, which has no user ids: see the Windows `os` module).
pub fn current_uid() -> u32 {
    os::uid()
}

/// A file's permission bits (`0o7777`), or `None` on Windows, where files have ACLs instead.
pub fn permission_bits(meta: &Metadata) -> Option<u32> {
    os::HAS_MODES.then(|| os::mode(meta) & 0o7777)
}

/// Sets a file's permission bits; nothing on Windows.
pub fn set_permission_bits(path: &Path, mode: u32) -> io::Result<()> {
    os::set_mode(path, mode)
}

// ---- the Unix operations ------------------------------------------------------------------

#[cfg(unix)]
mod os {
    use std::fs::{self, File, FileType, Metadata, OpenOptions};
    use std::io;
    use std::os::unix::fs::{
        DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt,
    };
    use std::path::Path;

    use rustix::fs::OFlags;

    use super::Follow;

    /// Files have Unix permission bits.
    pub const HAS_MODES: bool = true;

    pub fn owner(meta: &Metadata) -> u32 {
        meta.uid()
    }

    pub fn mode(meta: &Metadata) -> u32 {
        meta.mode()
    }

    pub fn uid() -> u32 {
        rustix::process::getuid().as_raw()
    }

    pub fn special_kind(t: &FileType) -> &'static str {
        if t.is_fifo() {
            "a FIFO"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        }
    }

    fn flags(f: OFlags) -> i32 {
        f.bits() as i32
    }

    /// Opens for reading without blocking on a FIFO (and, with `Follow::No`, refusing a
    /// final symlink).
    pub fn open_read(path: &Path, follow: Follow) -> io::Result<File> {
        let mut f = OFlags::NONBLOCK;
        if follow == Follow::No {
            f |= OFlags::NOFOLLOW;
        }
        OpenOptions::new()
            .read(true)
            .custom_flags(flags(f))
            .open(path)
    }

    /// Opens (creating 0600) a lock file: never through a symlink, never blocking on a FIFO.
    pub fn open_lock(path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(flags(OFlags::NOFOLLOW | OFlags::NONBLOCK))
            .open(path)
    }

    /// Creates a new file 0600 (`O_CREAT|O_EXCL`: an existing name, symlink or not, fails).
    pub fn create_exclusive(path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(flags(OFlags::NOFOLLOW))
            .open(path)
    }

    pub fn set_file_mode(file: &File, mode: u32) -> io::Result<()> {
        file.set_permissions(fs::Permissions::from_mode(mode))
    }

    pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
    }

    /// `mkdir` with mode 0700 (an existing name, symlink or not, fails with AlreadyExists).
    pub fn make_private_dir(path: &Path) -> io::Result<()> {
        fs::DirBuilder::new().mode(0o700).create(path)
    }
}

// ---- the Windows operations ---------------------------------------------------------------

/// Windows has neither user ids nor permission bits, and no FIFOs: every file counts as the
/// user's own (uid 0 for all) with private modes (0700/0600), so the owner and mode checks
/// above pass, and setting a mode does nothing. What keeps others out is the ACL of the
/// user's profile directory, where every file ocicred writes lives by default. Symlinks and
/// junctions are still never followed where Unix uses `O_NOFOLLOW`: the reparse point itself
/// is opened, and the regular-file checks refuse it.
#[cfg(windows)]
mod os {
    use std::fs::{self, File, FileType, Metadata, OpenOptions};
    use std::io;
    use std::os::windows::fs::OpenOptionsExt;
    use std::path::Path;

    use super::Follow;

    /// Open the reparse point (symlink, junction) itself, not what it points to.
    const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;

    /// Files have no permission bits here.
    pub const HAS_MODES: bool = false;

    pub fn owner(_: &Metadata) -> u32 {
        0
    }

    pub fn mode(meta: &Metadata) -> u32 {
        if meta.is_dir() { 0o700 } else { 0o600 }
    }

    pub fn uid() -> u32 {
        0
    }

    pub fn special_kind(_: &FileType) -> &'static str {
        "not a regular file"
    }

    pub fn open_read(path: &Path, follow: Follow) -> io::Result<File> {
        let mut o = OpenOptions::new();
        o.read(true);
        if follow == Follow::No {
            o.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
        }
        o.open(path)
    }

    pub fn open_lock(path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
            .open(path)
    }

    pub fn create_exclusive(path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
            .open(path)
    }

    pub fn set_file_mode(_: &File, _: u32) -> io::Result<()> {
        Ok(())
    }

    pub fn set_mode(_: &Path, _: u32) -> io::Result<()> {
        Ok(())
    }

    pub fn make_private_dir(path: &Path) -> io::Result<()> {
        fs::create_dir(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn me() -> u32 {
        current_uid()
    }

    #[test]
    fn atomic_write_makes_private_file_and_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/auth.json");
        let t = write_target(&path, me()).unwrap();
        let _lock = t.lock().unwrap();
        t.write(b"{}\n").unwrap();
        assert_eq!(read_optional(&path).unwrap().unwrap(), b"{}\n");
        assert_eq!(t.read().unwrap().unwrap(), b"{}\n");
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
        let t = write_target(&path, me()).unwrap();
        let _lock = t.lock().unwrap();
        t.write(b"{}\n").unwrap();
        t.write(b"{ }\n").unwrap();
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
        let t = write_target(&link, me()).unwrap();
        assert_eq!(t.path(), fs::canonicalize(&real).unwrap());
        // Seen by another user, the same file is someone else's.
        let err = write_target(&link, me() + 1).unwrap_err().to_string();
        assert!(err.contains("another user"), "{err}");
    }

    #[test]
    fn only_regular_files_are_read_and_fifos_never_block() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let err = read_optional(&fifo).unwrap_err().to_string();
        assert!(err.ends_with("is a FIFO, not a regular file"), "{err}");
        let err = read_optional(dir.path()).unwrap_err().to_string();
        assert!(err.ends_with("is a directory, not a regular file"), "{err}");
        let err = read_optional(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("is a device, not a regular file"), "{err}");
        let d = PrivateDir::create(dir.path(), me()).unwrap();
        assert!(matches!(
            d.read("fifo", 10),
            Err(ReadError::NotRegular("a FIFO"))
        ));
        let err = d.lock("fifo", Instant::now()).unwrap_err().to_string();
        assert!(err.contains("FIFO"), "{err}");
        assert!(write_target(&fifo, me()).is_err());
    }

    #[test]
    fn private_dir_reads_refuse_symlinks_and_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = PrivateDir::create_own(dir.path(), me()).unwrap();
        fs::write(dir.path().join("real"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        assert_eq!(d.read("real", 10).unwrap().unwrap(), b"x");
        assert!(matches!(d.read("link", 10), Err(ReadError::NotRegular(_))));
        assert!(matches!(d.read("real", 0), Err(ReadError::TooBig(0))));
        assert!(d.read("missing", 10).unwrap().is_none());
        let other = PrivateDir {
            path: d.path().to_path_buf(),
            uid: me() + 1,
        };
        assert!(matches!(other.read("real", 10), Err(ReadError::Foreign(_))));
        let err = d.lock("link", Instant::now()).unwrap_err().to_string();
        assert!(err.contains("symlink"), "{err}");
    }

    #[test]
    fn unique_writes_never_reuse_a_planted_name() {
        let dir = tempfile::tempdir().unwrap();
        let d = PrivateDir::create_own(dir.path(), me()).unwrap();
        d.write_unsynced("c.json", b"1").unwrap();
        d.write_unsynced("c.json", b"2").unwrap();
        assert_eq!(fs::read(dir.path().join("c.json")).unwrap(), b"2");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        assert_ne!(unique_suffix(0), unique_suffix(0));
    }

    #[test]
    fn loose_own_dirs_are_tightened_and_emptied_when_others_could_write() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("c");
        fs::create_dir(&c).unwrap();
        fs::write(c.join("planted"), "x").unwrap();
        os::set_mode(&c, 0o755).unwrap();
        assert!(PrivateDir::existing_own(&c, me()).is_err());
        PrivateDir::create_own(&c, me()).unwrap();
        assert!(c.join("planted").exists(), "readable only: contents kept");
        os::set_mode(&c, 0o777).unwrap();
        PrivateDir::create_own(&c, me()).unwrap();
        assert_eq!(fs::metadata(&c).unwrap().mode() & 0o777, 0o700);
        assert!(!c.join("planted").exists(), "writable by others: emptied");
        assert!(PrivateDir::existing_own(&c, me()).unwrap().is_some());
        assert!(PrivateDir::existing_own(&c, me() + 1).is_err());
        assert!(
            PrivateDir::existing_own(&c.join("no"), me())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn every_component_is_vetted() {
        let dir = tempfile::tempdir().unwrap();
        let loose = dir.path().join("loose");
        fs::create_dir(&loose).unwrap();
        os::set_mode(&loose, 0o777).unwrap();
        let err = PrivateDir::create(&loose.join("x/y"), me())
            .unwrap_err()
            .to_string();
        assert!(err.contains("writable by other users"), "{err}");
        assert!(!loose.join("x").exists());
        // Sticky like /tmp: allowed.
        os::set_mode(&loose, 0o1777).unwrap();
        let d = PrivateDir::create(&loose.join("x/y"), me()).unwrap();
        assert_eq!(d.path(), fs::canonicalize(loose.join("x/y")).unwrap());
        // `..` after a symlink resolves against the link's target, as the kernel does.
        let theirs = dir.path().join("a/theirs");
        fs::create_dir_all(&theirs).unwrap();
        std::os::unix::fs::symlink(&theirs, dir.path().join("via")).unwrap();
        let d = PrivateDir::create(&dir.path().join("via/../theirs"), me()).unwrap();
        assert_eq!(d.path(), fs::canonicalize(&theirs).unwrap());
        // Someone else's directory on the way, through a symlink of ours.
        let uid = if me() == 0 {
            std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
            0
        } else {
            me() + 1
        };
        let err = PrivateDir::create(&dir.path().join("via/z"), uid)
            .unwrap_err()
            .to_string();
        assert!(err.contains("another user"), "{err}");
        // A file on the way.
        fs::write(dir.path().join("f"), "").unwrap();
        assert!(PrivateDir::create(&dir.path().join("f/g"), me()).is_err());
    }

    #[test]
    fn a_held_lock_times_out_naming_the_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = PrivateDir::create_own(dir.path(), me()).unwrap();
        let held = d.lock("x.lock", Instant::now()).unwrap();
        let err = d
            .lock("x.lock", Instant::now() + Duration::from_millis(30))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.lock") && err.contains("still locked"),
            "{err}"
        );
        drop(held);
        d.lock("x.lock", Instant::now()).unwrap();
    }
}
