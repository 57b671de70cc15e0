//! `Secret<T>`: the wrapper every password, identity token and bearer token travels in.
//!
//! It owns one promise: a secret never shows up in `Debug` output, and it has no `Display`, so
//! it cannot be formatted into an error message or a log line by accident. The value is reached
//! only through [`Secret::expose`], which makes every use easy to find.

use std::fmt;

/// A value that must never be printed. `Debug` shows `Secret(<redacted>)`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The wrapped value. Every call site is a place where the secret leaves its wrapper.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Makes the process non-dumpable (docs/protocol.md#time-limits-and-safety-rules): no core file,
/// and no ptrace or `/proc/<pid>/mem` read by another process of the same user, can carry a secret
/// it holds. Called first thing in `main`, before any secret is read; failures are ignored (there
/// is nothing better to do).
pub fn protect_process() {
    // The flag is not inherited across `exec`: helpers ocicred runs are left as they were.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        let s = Secret::new("hunter2".to_string());
        let shown = format!("{s:?} {:#?}", Some(&s));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(s.expose(), "hunter2");
    }
}
