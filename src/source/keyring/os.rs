//! The real OS keyring, one explicitly chosen store per platform, never a mock: Secret Service
//! over pure-Rust D-Bus (zbus, through the `secret-service` crate) on Linux and the BSDs, the
//! Keychain on macOS and the Credential Manager on Windows (through `keyring-core` and its
//! native store crates).
//!
//! It owns the only use of those crates in ocicred, and the bounded wait: every call runs on a
//! worker thread and is abandoned after a timeout, so a locked keyring waiting for a prompt or
//! a D-Bus peer that never answers gives a clear error instead of a hang. The exception is the
//! hot path, a Secret Service `get`: it first goes over ocicred's own blocking D-Bus client
//! ([`super::dbus`]) on the calling thread, bounded by socket timeouts, and falls back to the
//! crate (on its worker thread) for anything but an answer or a timeout. Errors never carry
//! secret bytes, and every "cannot reach" or "locked" error says how to switch to the auth file.
//!
//! On Secret Service the items are the ones keyring-core's Secret Service store writes
//! (attributes `service`/`username`, a label, content type `application/octet-stream`), but the
//! session is opened `plain` (falling back to the DH-encrypted one): the session bus is private
//! to the user, and skipping the key exchange makes a `get` several times faster.

use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::SecretStore;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// Why a backend call failed.
enum Fail {
    /// The keyring could not be reached at all.
    Connect(String),
    /// It is locked and the unlock prompt failed or was dismissed.
    Locked(String),
    /// Anything else.
    Other(String),
}

/// Why the direct `get` path failed.
#[allow(dead_code)] // `TimedOut` is made only on the platforms with a direct path
enum FastFail {
    /// No answer within the bound: report it, do not try again.
    TimedOut,
    /// Anything else: fall back to the full client.
    Other,
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
))]
mod backend {
    //! Secret Service through the `secret-service` crate (zbus, no libdbus).
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::Duration;

    use super::super::dbus::{Bus, BusError, Reply, W};
    use secret_service::blocking::{Item, SecretService};
    use secret_service::{EncryptionType, Error as SsError};

    use super::{Fail, FastFail, one_line};
    use crate::source::keyring::SERVICE;

    pub const PLATFORM: &str = "Secret Service (org.freedesktop.secrets on the D-Bus session bus)";
    const CONTENT_TYPE: &str = "application/octet-stream";

    pub struct Conn(Mutex<SecretService<'static>>);

    fn fail(e: SsError) -> Fail {
        match e {
            SsError::Locked | SsError::Prompt | SsError::PromptDisconnected => {
                Fail::Locked(format!("the keyring is locked ({e})"))
            }
            SsError::Unavailable => Fail::Connect(one_line(&e.to_string())),
            e => Fail::Other(one_line(&e.to_string())),
        }
    }

    pub fn connect() -> Result<Conn, String> {
        let ss = SecretService::connect(EncryptionType::Plain)
            .or_else(|_| SecretService::connect(EncryptionType::Dh))
            .map_err(|e| one_line(&e.to_string()))?;
        Ok(Conn(Mutex::new(ss)))
    }

    pub fn vendor(_: &Conn) -> String {
        "Secret Service store (org.freedesktop.secrets, via zbus)".into()
    }

    fn attrs(account: &str) -> HashMap<&str, &str> {
        HashMap::from([("service", SERVICE), ("username", account)])
    }

    /// The items matching `spec`, unlocked (this may prompt; a failed prompt is `Locked`).
    fn find<'a>(
        ss: &'a SecretService<'static>,
        spec: HashMap<&str, &str>,
    ) -> Result<Vec<Item<'a>>, Fail> {
        let found = ss.search_items(spec).map_err(fail)?;
        if !found.locked.is_empty() {
            let refs: Vec<&Item> = found.locked.iter().collect();
            ss.unlock_all(&refs).map_err(fail)?;
        }
        Ok(found.unlocked.into_iter().chain(found.locked).collect())
    }

    fn lock(c: &Conn) -> std::sync::MutexGuard<'_, SecretService<'static>> {
        c.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `get` without the `secret-service` crate: three pipelined calls and `Item.GetSecret`,
    /// on the calling thread, within `timeout`. `Err(TimedOut)` means no answer in time;
    /// any other `Err` means "use [`get`]" (no such bus address form, no plain session, a
    /// locked item, anything unexpected), and its text is never shown.
    pub fn get_fast(
        address: &str,
        uid: u32,
        timeout: Duration,
        account: &str,
    ) -> Result<Option<Vec<u8>>, FastFail> {
        direct_get(address, uid, timeout, account).map_err(|e| match e {
            BusError::TimedOut => FastFail::TimedOut,
            BusError::Other(_) => FastFail::Other,
        })
    }

    fn direct_get(
        address: &str,
        uid: u32,
        timeout: Duration,
        account: &str,
    ) -> Result<Option<Vec<u8>>, BusError> {
        const DEST: &str = "org.freedesktop.secrets";
        const PATH: &str = "/org/freedesktop/secrets";
        const IFACE: &str = "org.freedesktop.Secret.Service";
        fn expect(r: &Reply, sig: &str) -> Result<(), BusError> {
            if r.sig() == sig {
                Ok(())
            } else {
                Err(BusError::Other(format!(
                    "unexpected reply signature {}",
                    r.sig()
                )))
            }
        }
        let mut bus = Bus::connect(address, uid, timeout)?;
        let d = "org.freedesktop.DBus";
        let hello = bus.send(d, "/org/freedesktop/DBus", d, "Hello", "", &[])?;
        let mut w = W(Vec::new());
        w.str("plain");
        w.sig("s");
        w.str("");
        let open = bus.send(DEST, PATH, IFACE, "OpenSession", "sv", &w.0)?;
        let mut w = W(Vec::new());
        w.dict(&[("service", SERVICE), ("username", account)]);
        let search = bus.send(DEST, PATH, IFACE, "SearchItems", "a{ss}", &w.0)?;
        bus.wait(hello)?;
        let r = bus.wait(open)?;
        expect(&r, "vo")?;
        let mut c = r.reader();
        if c.sig()? != "s" {
            return Err("unexpected OpenSession output".into());
        }
        c.str()?;
        let session = c.str()?;
        let r = bus.wait(search)?;
        expect(&r, "aoao")?;
        let mut c = r.reader();
        let (unlocked, locked) = (c.paths()?, c.paths()?);
        let Some(item) = unlocked.first() else {
            return if locked.is_empty() {
                Ok(None)
            } else {
                Err("locked".into())
            };
        };
        let mut w = W(Vec::new());
        w.str(&session);
        let get = bus.send(
            DEST,
            item,
            "org.freedesktop.Secret.Item",
            "GetSecret",
            "o",
            &w.0,
        )?;
        let r = bus.wait(get)?;
        expect(&r, "(oayays)")?;
        let mut c = r.reader();
        c.str()?;
        c.bytes()?;
        Ok(Some(c.bytes()?.to_vec()))
    }

    pub fn get(c: &Conn, account: &str) -> Result<Option<Vec<u8>>, Fail> {
        let ss = lock(c);
        match find(&ss, attrs(account))?.first() {
            Some(item) => item.get_secret().map(Some).map_err(fail),
            None => Ok(None),
        }
    }

    pub fn set(c: &Conn, account: &str, label: &str, payload: &[u8]) -> Result<(), Fail> {
        let ss = lock(c);
        let existing = find(&ss, attrs(account))?;
        let collection = ss
            .get_default_collection()
            .or_else(|_| ss.get_any_collection())
            .map_err(fail)?;
        collection.ensure_unlocked().map_err(fail)?;
        let created = collection
            .create_item(label, attrs(account), payload, true, CONTENT_TYPE)
            .map_err(fail)?;
        // One item per account: drop copies left in other collections.
        for item in existing {
            if item.item_path != created.item_path {
                item.delete().map_err(fail)?;
            }
        }
        Ok(())
    }

    pub fn delete(c: &Conn, account: &str) -> Result<bool, Fail> {
        let ss = lock(c);
        let items = find(&ss, attrs(account))?;
        for item in &items {
            item.delete().map_err(fail)?;
        }
        Ok(!items.is_empty())
    }

    pub fn all(c: &Conn) -> Result<Vec<Vec<u8>>, Fail> {
        let ss = lock(c);
        let items = find(&ss, HashMap::from([("service", SERVICE)]))?;
        items.iter().map(|i| i.get_secret().map_err(fail)).collect()
    }
}

#[cfg(any(target_os = "macos", windows))]
mod backend {
    //! The Keychain (macOS) or the Credential Manager (Windows), through keyring-core.
    use std::collections::HashMap;
    use std::sync::Arc;

    use keyring_core::api::CredentialStore;
    use keyring_core::{Entry, Error as KError};

    use super::{Fail, one_line};
    use crate::source::keyring::SERVICE;

    #[cfg(target_os = "macos")]
    pub const PLATFORM: &str = "macOS Keychain";
    #[cfg(windows)]
    pub const PLATFORM: &str = "Windows Credential Manager";

    pub struct Conn(Arc<CredentialStore>);

    fn fail(e: KError) -> Fail {
        let text = match &e {
            KError::PlatformFailure(p) => p.to_string(),
            KError::NoStorageAccess(p) => {
                return Fail::Locked(format!("the keyring is locked or not accessible ({p})"));
            }
            KError::NoEntry => "no such item".into(),
            KError::BadEncoding(_) | KError::BadDataFormat(..) => {
                "an item holds unreadable data".into()
            }
            KError::BadStoreFormat(s) => s.clone(),
            KError::TooLong(what, limit) => {
                format!("{what} is longer than the store's limit of {limit}")
            }
            KError::Invalid(what, why) => format!("{what} {why}"),
            KError::Ambiguous(v) => format!("{} items match", v.len()),
            KError::NoDefaultStore => "no keyring store".into(),
            KError::NotSupportedByStore(s) => s.clone(),
            _ => "keyring error".into(),
        };
        Fail::Other(one_line(&text))
    }

    pub fn connect() -> Result<Conn, String> {
        #[cfg(target_os = "macos")]
        let store =
            apple_native_keyring_store::keychain::Store::new().map(|s| s as Arc<CredentialStore>);
        #[cfg(windows)]
        let store = windows_native_keyring_store::Store::new().map(|s| s as Arc<CredentialStore>);
        store.map(Conn).map_err(|e| one_line(&e.to_string()))
    }

    pub fn vendor(c: &Conn) -> String {
        c.0.vendor()
    }

    /// Windows: an explicit target name, since the default `user.service` would split keys
    /// that contain dots. macOS: service and account as given.
    fn entry(c: &Conn, account: &str) -> Result<Entry, Fail> {
        let target = format!("{SERVICE}:{account}");
        let mods: HashMap<&str, &str> = if cfg!(windows) {
            HashMap::from([("target", target.as_str())])
        } else {
            HashMap::new()
        };
        c.0.build(
            SERVICE,
            account,
            if mods.is_empty() { None } else { Some(&mods) },
        )
        .map_err(fail)
    }

    /// No fast path here.
    pub fn get_fast(
        _: &str,
        _: u32,
        _: std::time::Duration,
        _: &str,
    ) -> Result<Option<Vec<u8>>, super::FastFail> {
        Err(super::FastFail::Other)
    }

    pub fn get(c: &Conn, account: &str) -> Result<Option<Vec<u8>>, Fail> {
        match entry(c, account)?.get_secret() {
            Ok(b) => Ok(Some(b)),
            Err(KError::NoEntry) => Ok(None),
            Err(KError::Ambiguous(found)) => match found.first() {
                Some(first) => first.get_secret().map(Some).map_err(fail),
                None => Ok(None),
            },
            Err(e) => Err(fail(e)),
        }
    }

    pub fn set(c: &Conn, account: &str, _label: &str, payload: &[u8]) -> Result<(), Fail> {
        let e = entry(c, account)?;
        match e.set_secret(payload) {
            Err(KError::Ambiguous(found)) => {
                for f in found {
                    f.delete_credential().map_err(fail)?;
                }
                e.set_secret(payload).map_err(fail)
            }
            r => r.map_err(fail),
        }
    }

    pub fn delete(c: &Conn, account: &str) -> Result<bool, Fail> {
        match entry(c, account)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(KError::NoEntry) => Ok(false),
            Err(KError::Ambiguous(found)) => {
                for f in found {
                    f.delete_credential().map_err(fail)?;
                }
                Ok(true)
            }
            Err(e) => Err(fail(e)),
        }
    }

    pub fn all(c: &Conn) -> Result<Vec<Vec<u8>>, Fail> {
        let pattern = format!("^{SERVICE}:");
        let spec: HashMap<&str, &str> = if cfg!(windows) {
            HashMap::from([("pattern", pattern.as_str())])
        } else {
            HashMap::from([("service", SERVICE)])
        };
        let mut out = Vec::new();
        for e in c.0.search(&spec).map_err(fail)? {
            match e.get_secret() {
                Ok(b) => out.push(b),
                Err(KError::NoEntry) => {}
                Err(e) => return Err(fail(e)),
            }
        }
        Ok(out)
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly",
    target_os = "macos",
    windows
)))]
mod backend {
    //! No OS keyring on this platform: every call fails with the hint.
    use super::Fail;

    pub const PLATFORM: &str = "OS keyring";
    pub struct Conn;

    pub fn connect() -> Result<Conn, String> {
        Err("this platform has no supported OS keyring".into())
    }
    pub fn vendor(_: &Conn) -> String {
        String::new()
    }
    /// No fast path here.
    pub fn get_fast(
        _: &str,
        _: u32,
        _: std::time::Duration,
        _: &str,
    ) -> Result<Option<Vec<u8>>, super::FastFail> {
        Err(super::FastFail::Other)
    }
    pub fn get(_: &Conn, _: &str) -> Result<Option<Vec<u8>>, Fail> {
        Err(Fail::Connect("unsupported".into()))
    }
    pub fn set(_: &Conn, _: &str, _: &str, _: &[u8]) -> Result<(), Fail> {
        Err(Fail::Connect("unsupported".into()))
    }
    pub fn delete(_: &Conn, _: &str) -> Result<bool, Fail> {
        Err(Fail::Connect("unsupported".into()))
    }
    pub fn all(_: &Conn) -> Result<Vec<Vec<u8>>, Fail> {
        Err(Fail::Connect("unsupported".into()))
    }
}

use backend::{Conn, PLATFORM};

/// The connection, made once per process (on the first worker thread that needs it).
static CONN: OnceLock<std::result::Result<Arc<Conn>, String>> = OnceLock::new();

fn conn() -> std::result::Result<Arc<Conn>, Fail> {
    CONN.get_or_init(|| backend::connect().map(Arc::new))
        .clone()
        .map_err(Fail::Connect)
}

/// The OS keyring with a bounded wait.
pub struct OsKeyring {
    timeout: Duration,
    hint: String,
    /// The session bus address and the user id, for the fast `get` path (Secret Service).
    bus: Option<(String, u32)>,
}

impl OsKeyring {
    /// `timeout` bounds each call; `hint` (how to switch to the auth file) ends every
    /// "cannot reach" or "locked" error.
    pub fn new(timeout: Duration, hint: String) -> Self {
        OsKeyring {
            timeout,
            hint,
            bus: None,
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
        match rx.recv_timeout(self.timeout) {
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
        self.bounded("connect", || Ok(backend::vendor(&*conn()?)))
    }

    fn get(&self, account: &str) -> Result<Option<Secret<Vec<u8>>>> {
        // The direct path needs no worker thread: its socket reads and writes carry the bound.
        if let Some((address, uid)) = &self.bus {
            match backend::get_fast(address, *uid, self.timeout, account) {
                Ok(found) => return Ok(found.map(Secret::new)),
                Err(FastFail::TimedOut) => return Err(self.no_answer()),
                Err(FastFail::Other) => {}
            }
        }
        let account = account.to_string();
        self.bounded("read", move || {
            backend::get(&*conn()?, &account).map(|o| o.map(Secret::new))
        })
    }

    fn set(&self, account: &str, label: &str, payload: &Secret<Vec<u8>>) -> Result<()> {
        let (account, label) = (account.to_string(), label.to_string());
        let payload = payload.clone();
        self.bounded("store", move || {
            backend::set(&*conn()?, &account, &label, payload.expose())
        })
    }

    fn delete(&self, account: &str) -> Result<bool> {
        let account = account.to_string();
        self.bounded("erase", move || backend::delete(&*conn()?, &account))
    }

    fn all(&self) -> Result<Vec<Secret<Vec<u8>>>> {
        self.bounded("list", || {
            backend::all(&*conn()?).map(|v| v.into_iter().map(Secret::new).collect())
        })
    }
}
