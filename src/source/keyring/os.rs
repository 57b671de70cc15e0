//! The real OS keyring, through the `keyring-core` API and one explicitly chosen store per
//! platform: Secret Service over pure-Rust D-Bus (zbus) on Linux and the BSDs, the Keychain on
//! macOS, the Credential Manager on Windows. Never keyring-core's mock.
//!
//! It owns the only use of those crates in ocicred, and the bounded wait: every call runs on a
//! worker thread and is abandoned after a timeout, so a locked keyring waiting for a prompt or a
//! D-Bus that never answers gives a clear error instead of a hang. Errors never carry secret
//! bytes, and every "cannot reach" error says how to switch to the auth file.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use keyring_core::api::CredentialStore;
use keyring_core::{Entry, Error as KError};

use super::{SERVICE, SecretStore};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The platform's name for its keyring, for messages.
#[cfg(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
))]
const PLATFORM: &str = "Secret Service (org.freedesktop.secrets on the D-Bus session bus)";
#[cfg(target_os = "macos")]
const PLATFORM: &str = "macOS Keychain";
#[cfg(windows)]
const PLATFORM: &str = "Windows Credential Manager";
#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly",
    target_os = "macos",
    windows
)))]
const PLATFORM: &str = "OS keyring";

type Shared = Arc<CredentialStore>;

/// The connection, made once per process (on the first worker thread that needs it).
static STORE: OnceLock<std::result::Result<Shared, String>> = OnceLock::new();

fn connect() -> std::result::Result<Shared, String> {
    #[cfg(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd",
        target_os = "dragonfly"
    ))]
    let store = zbus_secret_service_keyring_store::Store::new().map(|s| s as Shared);
    #[cfg(target_os = "macos")]
    let store = apple_native_keyring_store::keychain::Store::new().map(|s| s as Shared);
    #[cfg(windows)]
    let store = windows_native_keyring_store::Store::new().map(|s| s as Shared);
    #[cfg(not(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd",
        target_os = "dragonfly",
        target_os = "macos",
        windows
    )))]
    let store: std::result::Result<Shared, KError> = Err(KError::NotSupportedByStore(
        "no OS keyring on this platform".into(),
    ));
    store.map_err(|e| describe_error(&e))
}

fn store() -> std::result::Result<Shared, String> {
    STORE.get_or_init(connect).clone()
}

/// A one-line description of a keyring error that never includes secret bytes.
fn describe_error(e: &KError) -> String {
    let text = match e {
        KError::PlatformFailure(p) => p.to_string(),
        KError::NoStorageAccess(p) => format!("the keyring is locked or not accessible ({p})"),
        KError::NoEntry => "no such item".into(),
        KError::BadEncoding(_) | KError::BadDataFormat(..) => {
            "an item holds unreadable data".into()
        }
        KError::BadStoreFormat(s) => s.clone(),
        KError::TooLong(what, limit) => format!("{what} is longer than the limit of {limit}"),
        KError::Invalid(what, why) => format!("{what} {why}"),
        KError::Ambiguous(v) => format!("{} items match", v.len()),
        KError::NoDefaultStore => "no keyring store".into(),
        KError::NotSupportedByStore(s) => s.clone(),
        other => format!("{other:?}").chars().take(200).collect(),
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Creation-time modifiers: a readable label on Secret Service, an unambiguous target name on
/// Windows (whose default `user.service` would split keys that contain dots).
fn modifiers(account: &str, label: &str) -> HashMap<String, String> {
    let mut m = HashMap::new();
    if cfg!(windows) {
        m.insert("target".to_string(), format!("{SERVICE}:{account}"));
    } else if cfg!(not(target_os = "macos")) && !label.is_empty() {
        m.insert("label".to_string(), label.to_string());
    }
    m
}

/// The search that finds every ocicred item.
fn search_spec() -> HashMap<&'static str, String> {
    let mut m = HashMap::new();
    if cfg!(windows) {
        m.insert("pattern", format!("^{SERVICE}:"));
    } else {
        m.insert("service", SERVICE.to_string());
    }
    m
}

fn entry(s: &CredentialStore, account: &str, label: &str) -> std::result::Result<Entry, KError> {
    let mods = modifiers(account, label);
    let mods: HashMap<&str, &str> = mods.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    s.build(
        SERVICE,
        account,
        if mods.is_empty() { None } else { Some(&mods) },
    )
}

/// The OS keyring with a bounded wait.
pub struct OsKeyring {
    timeout: Duration,
    hint: String,
}

enum Failure {
    Connect(String),
    Locked(String),
    Call(String),
}

impl OsKeyring {
    /// `timeout` bounds each call; `hint` (how to switch to the auth file) ends every
    /// "cannot reach" error.
    pub fn new(timeout: Duration, hint: String) -> Self {
        OsKeyring { timeout, hint }
    }

    fn bounded<T: Send + 'static>(
        &self,
        what: &'static str,
        f: impl FnOnce(&CredentialStore) -> std::result::Result<T, KError> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("ocicred-keyring".into())
            .spawn(move || {
                let r = match store() {
                    Ok(s) => f(&*s).map_err(|e| match e {
                        KError::NoStorageAccess(_) => Failure::Locked(describe_error(&e)),
                        e => Failure::Call(describe_error(&e)),
                    }),
                    Err(m) => Err(Failure::Connect(m)),
                };
                let _ = tx.send(r);
            });
        if let Err(e) = spawned {
            return Err(Error::Keyring(format!("cannot start a thread: {e}")));
        }
        match rx.recv_timeout(self.timeout) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(Failure::Connect(m))) => Err(Error::Keyring(format!(
                "cannot reach the {PLATFORM}: {m}; {}",
                self.hint
            ))),
            Ok(Err(Failure::Locked(m))) => Err(Error::Keyring(format!(
                "{what} failed: {m}; unlock the keyring first (log in to the desktop, or run `gnome-keyring-daemon --unlock` on a headless box); {}",
                self.hint
            ))),
            Ok(Err(Failure::Call(m))) => Err(Error::Keyring(format!("{what} failed: {m}"))),
            // The worker is left behind; the process ends soon after and takes it along.
            Err(_) => Err(Error::Keyring(format!(
                "no answer from the {PLATFORM} within {} s (locked and waiting for an unlock prompt?); {}",
                self.timeout.as_secs(),
                self.hint
            ))),
        }
    }
}

impl SecretStore for OsKeyring {
    fn describe(&self) -> Result<String> {
        self.bounded("connect", |s| Ok(s.vendor()))
    }

    fn get(&self, account: &str) -> Result<Option<Secret<Vec<u8>>>> {
        let account = account.to_string();
        self.bounded("read", move |s| {
            let e = entry(s, &account, "")?;
            match e.get_secret() {
                Ok(b) => Ok(Some(Secret::new(b))),
                Err(KError::NoEntry) => Ok(None),
                Err(KError::Ambiguous(found)) => match found.first() {
                    Some(first) => first.get_secret().map(|b| Some(Secret::new(b))),
                    None => Ok(None),
                },
                Err(e) => Err(e),
            }
        })
    }

    fn set(&self, account: &str, label: &str, payload: &Secret<Vec<u8>>) -> Result<()> {
        let (account, label) = (account.to_string(), label.to_string());
        let payload = payload.clone();
        self.bounded("store", move |s| {
            let e = entry(s, &account, &label)?;
            match e.set_secret(payload.expose()) {
                Err(KError::Ambiguous(found)) => {
                    for f in found {
                        f.delete_credential()?;
                    }
                    e.set_secret(payload.expose())
                }
                r => r,
            }
        })
    }

    fn delete(&self, account: &str) -> Result<bool> {
        let account = account.to_string();
        self.bounded("erase", move |s| {
            let e = entry(s, &account, "")?;
            match e.delete_credential() {
                Ok(()) => Ok(true),
                Err(KError::NoEntry) => Ok(false),
                Err(KError::Ambiguous(found)) => {
                    for f in found {
                        f.delete_credential()?;
                    }
                    Ok(true)
                }
                Err(e) => Err(e),
            }
        })
    }

    fn all(&self) -> Result<Vec<Secret<Vec<u8>>>> {
        self.bounded("list", |s| {
            let spec = search_spec();
            let spec: HashMap<&str, &str> = spec.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let mut out = Vec::new();
            for e in s.search(&spec)? {
                match e.get_secret() {
                    Ok(b) => out.push(Secret::new(b)),
                    Err(KError::NoEntry) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        })
    }
}
