//! The keyring on macOS and Windows (cfg `native_keyring`): the login Keychain or the
//! Credential Manager, through `keyring-core` and its native store crates.

use std::collections::HashMap;
use std::sync::Arc;

use keyring_core::api::CredentialStore;
use keyring_core::{Entry, Error as KError};

use super::os::{Fail, FastFail, one_line};
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

pub fn vendor(c: &Conn) -> Result<String, Fail> {
    Ok(c.0.vendor())
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
) -> Result<Option<Vec<u8>>, FastFail> {
    Err(FastFail::Other)
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
