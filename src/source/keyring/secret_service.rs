//! The keyring on Linux and the BSDs (cfg `secret_service`): the Secret Service
//! (org.freedesktop.secrets) on the D-Bus session bus, through the `secret-service` crate (pure
//! Rust zbus, no libdbus), plus the direct `get` over ocicred's own blocking D-Bus client
//! ([`super::dbus::client`]).
//!
//! The items are the ones keyring-core's Secret Service store writes (attributes
//! `service`/`username`, a label, content type `application/octet-stream`), but the session is
//! opened `plain` (falling back to the DH-encrypted one): the session bus is private to the
//! user, and skipping the key exchange makes a `get` several times faster.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::dbus::client::{Bus, BusError};
use super::dbus::{Reply, W};
use secret_service::blocking::{Item, SecretService};
use secret_service::{EncryptionType, Error as SsError};

use super::os::{Fail, FastFail, one_line};
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

/// Names the store; a locked default collection is an error (`doctor` must not call a
/// keyring that cannot answer without an unlock prompt "reachable").
pub fn vendor(c: &Conn) -> Result<String, Fail> {
    let ss = lock(c);
    let collection = ss
        .get_default_collection()
        .or_else(|_| ss.get_any_collection())
        .map_err(fail)?;
    if collection.is_locked().map_err(fail)? {
        return Err(Fail::Locked(
            "the keyring is locked (its default collection needs an unlock prompt)".into(),
        ));
    }
    Ok("Secret Service store (org.freedesktop.secrets, via zbus)".into())
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
