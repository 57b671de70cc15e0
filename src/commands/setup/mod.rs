//! `ocicred setup docker|podman|bazel` (README.md#set-up-your-tools): wires ocicred into a client's
//! own configuration, prints what it changed, changes nothing on a second run, and `--undo` puts
//! back what it changed.
//!
//! Each target is a pure edit of the file's text or JSON model (unit-tested) around one small
//! file seam, [`Target`]: the same vetted, locked, atomic write as every auth file, so every
//! other field and line is kept, and a file that does not parse is never rewritten.
//! `--dry-run` prints the same lines and writes nothing.

pub mod bazel;
pub mod docker;
pub mod podman;
pub mod state;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::fsio;

/// `--dry-run` and `--undo`, shared by every target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mode {
    /// Print the change, write nothing.
    pub dry_run: bool,
    /// Put back what an earlier setup changed.
    pub undo: bool,
}

/// The lines a run prints: one per change, or one saying there was nothing to change. They
/// are printed at the end, so a run that fails prints only its error.
pub struct Report<'a> {
    out: &'a mut dyn Write,
    mode: Mode,
    lines: Vec<String>,
    changed: bool,
}

impl<'a> Report<'a> {
    pub fn new(out: &'a mut dyn Write, mode: Mode) -> Self {
        Report {
            out,
            mode,
            lines: Vec::new(),
            changed: false,
        }
    }

    /// A change to `path` (or, in a dry run, a change that would be made).
    pub fn change(&mut self, path: &Path, what: &str) -> Result<()> {
        self.changed = true;
        let verb = if self.mode.dry_run {
            "would change"
        } else {
            "changed"
        };
        self.lines
            .push(format!("{}: {verb}: {what}", path.display()));
        Ok(())
    }

    /// Something worth knowing that is not a change.
    pub fn note(&mut self, what: &str) -> Result<()> {
        self.lines.push(format!("note: {what}"));
        Ok(())
    }

    /// Prints the report: says so when nothing changed, and that a dry run wrote nothing.
    pub fn finish(mut self, path: &Path) -> Result<i32> {
        if !self.changed {
            self.lines
                .push(format!("{}: nothing to change", path.display()));
        } else if self.mode.dry_run {
            self.lines.push("dry run: nothing was written".into());
        }
        for line in &self.lines {
            writeln!(self.out, "{line}").map_err(super::write_err)?;
        }
        Ok(0)
    }
}

/// The file seam of `setup`: one file, vetted like an auth file (a final symlink is followed
/// only when it is the user's), locked, read, and replaced atomically.
pub struct Target {
    target: fsio::WriteTarget,
    path: PathBuf,
}

impl Target {
    /// Vets `path` for writing by user `uid`.
    pub fn new(path: &Path, uid: u32) -> Result<Target> {
        let target = fsio::write_target(path, uid)?;
        Ok(Target {
            path: target.path(),
            target,
        })
    }

    /// Where the bytes really go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The exclusive lock every writer of this file takes (at most [`fsio::LOCK_WAIT`]).
    pub fn lock(&self) -> Result<fsio::FileLock> {
        self.target.lock()
    }

    /// The current bytes; `None` when the file does not exist.
    pub fn read(&self) -> Result<Option<Vec<u8>>> {
        self.target.read()
    }

    /// Replaces the file atomically (0600); the caller holds [`Target::lock`].
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        self.target.write(bytes)
    }

    /// Replaces the file atomically and gives it `mode` (a file that others read, such as a
    /// `.bazelrc`, keeps the mode it had).
    pub fn write_with_mode(&self, bytes: &[u8], mode: Option<u32>) -> Result<()> {
        self.write(bytes)?;
        if let Some(mode) = mode {
            fsio::set_permission_bits(&self.path, mode & 0o755)
                .map_err(|e| crate::error::Error::io(&self.path, e))?;
        }
        Ok(())
    }

    /// The permission bits of the existing file (`None` on Windows).
    pub fn mode(&self) -> Option<u32> {
        std::fs::metadata(&self.path)
            .ok()
            .and_then(|m| fsio::permission_bits(&m))
    }

    /// Removes the file; the caller holds [`Target::lock`].
    pub fn remove(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if fsio::is_missing(&e) => Ok(()),
            Err(e) => Err(crate::error::Error::io(&self.path, e)),
        }
    }
}
