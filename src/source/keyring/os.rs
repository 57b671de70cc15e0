//! The real OS keyring, one explicitly chosen store per platform, never a mock. The platform
//! module (`super::platform`: Secret Service on Linux and the BSDs, the native stores on macOS
//! and Windows, or the "no keyring in this build" stub) does the calls; this file, the same on
//! every platform, owns the bounded wait and the error messages.
//!
//! Every call runs on a worker thread and is abandoned after a timeout, so a locked keyring
//! waiting for a prompt or a D-Bus peer that never answers gives a clear error instead of a
//! hang. The exception is the hot path, a Secret Service `get`: it first goes over ocicred's
//! own blocking D-Bus client on the calling thread, bounded by socket timeouts, and falls back
//! to the crate (on its worker thread) for anything but an answer or a timeout. Errors never
//! carry secret bytes, and every "cannot reach" or "locked" error says how to switch to the
//! auth file.

use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::SecretStore;
use super::platform::{self, Conn, PLATFORM};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// Why a platform call failed.
#[allow(dead_code)] // a build without a keyring makes only `Connect`
pub enum Fail {
    /// The keyring could not be reached at all.
    Connect(String),
    /// It is locked and the unlock prompt failed or was dismissed.
    Locked(String),
    /// Anything else.
    Other(String),
}

/// Why the direct `get` path failed.
#[allow(dead_code)] // `TimedOut` is made only on the platforms with a direct path
pub enum FastFail {
    /// No answer within the bound: report it, do not try again.
    TimedOut,
    /// Anything else: fall back to the full client.
    Other,
}

#[allow(dead_code)] // used by the platform modules that have a store
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The connection, made once per process (on the first worker thread that needs it).
static CONN: OnceLock<std::result::Result<Arc<Conn>, String>> = OnceLock::new();

fn conn() -> std::result::Result<Arc<Conn>, Fail> {
    CONN.get_or_init(|| platform::connect().map(Arc::new))
        .clone()
        .map_err(Fail::Connect)
}

/// The OS keyring with a bounded wait.
pub struct OsKeyring {
    timeout: Duration,
    hint: String,
    /// The session bus address and the user id, for the fast `get` path (Secret Service).
    bus: Option<(String, u32)>,
    /// The whole call's deadline (a Bazel `get`): each wait is cut to what is left of it.
    deadline: Option<std::time::Instant>,
}

impl OsKeyring {
    /// `timeout` bounds each call; `hint` (how to switch to the auth file) ends every
    /// "cannot reach" or "locked" error.
    pub fn new(timeout: Duration, hint: String) -> Self {
        OsKeyring {
            timeout,
            hint,
            bus: None,
            deadline: None,
        }
    }

    /// Cuts every wait to what is left of `deadline`.
    pub fn with_deadline(mut self, deadline: Option<std::time::Instant>) -> Self {
        self.deadline = deadline;
        self
    }

    /// This call's bound: the per-call timeout, or what is left of the deadline if less.
    fn bound(&self) -> Duration {
        match self.deadline {
            Some(d) => self
                .timeout
                .min(d.saturating_duration_since(std::time::Instant::now())),
            None => self.timeout,
        }
    }

    /// Lets `get` talk to the Secret Service on `address` directly (as `uid`), without the
    /// `secret-service` crate and its threads; it falls back to the crate on anything unusual.
    pub fn with_session_bus(mut self, address: Option<String>, uid: u32) -> Self {
        self.bus = address.map(|a| (a, uid));
        self
    }

    fn bounded<T: Send + 'static>(
        &self,
        what: &'static str,
        f: impl FnOnce() -> std::result::Result<T, Fail> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("ocicred-keyring".into())
            .spawn(move || {
                let _ = tx.send(f());
            });
        if let Err(e) = spawned {
            return Err(Error::Keyring(format!("cannot start a thread: {e}")));
        }
        match rx.recv_timeout(self.bound()) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(Fail::Connect(m))) => Err(Error::Keyring(format!(
                "cannot reach the {PLATFORM}: {m}; {}",
                self.hint
            ))),
            Ok(Err(Fail::Locked(m))) => Err(Error::Keyring(format!(
                "{what} failed: {m}; unlock the keyring first (log in to the desktop, or run `gnome-keyring-daemon --unlock` on a headless box); {}",
                self.hint
            ))),
            Ok(Err(Fail::Other(m))) => Err(Error::Keyring(format!("{what} failed: {m}"))),
            // The worker is left behind; the process ends soon after and takes it along.
            Err(_) => Err(self.no_answer()),
        }
    }

    fn no_answer(&self) -> Error {
        Error::Keyring(format!(
            "no answer from the {PLATFORM} within {} s (locked and waiting for an unlock prompt?); {}",
            self.timeout.as_secs(),
            self.hint
        ))
    }
}

impl SecretStore for OsKeyring {
    fn describe(&self) -> Result<String> {
        self.bounded("check", || platform::vendor(&*conn()?))
    }

    fn get(&self, account: &str) -> Result<Option<Secret<Vec<u8>>>> {
        // The direct path needs no worker thread: its socket reads and writes carry the bound.
        if let Some((address, uid)) = &self.bus {
            match platform::get_fast(address, *uid, self.bound(), account) {
                Ok(found) => return Ok(found.map(Secret::new)),
                Err(FastFail::TimedOut) => return Err(self.no_answer()),
                Err(FastFail::Other) => {}
            }
        }
        let account = account.to_string();
        self.bounded("read", move || {
            platform::get(&*conn()?, &account).map(|o| o.map(Secret::new))
        })
    }

    fn set(&self, account: &str, label: &str, payload: &Secret<Vec<u8>>) -> Result<()> {
        let (account, label) = (account.to_string(), label.to_string());
        let payload = payload.clone();
        self.bounded("store", move || {
            platform::set(&*conn()?, &account, &label, payload.expose())
        })
    }

    fn delete(&self, account: &str) -> Result<bool> {
        let account = account.to_string();
        self.bounded("erase", move || platform::delete(&*conn()?, &account))
    }

    fn all(&self) -> Result<Vec<Secret<Vec<u8>>>> {
        self.bounded("list", || {
            platform::all(&*conn()?).map(|v| v.into_iter().map(Secret::new).collect())
        })
    }
}
