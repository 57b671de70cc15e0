//! The OS keyring as a credential source: ocicred's own store when `store = "keyring"`.
//!
//! It owns how ocicred lays its items out in a keyring, behind the small [`SecretStore`] seam:
//! one item per normalised key (namespaced keys included), service `ocicred`, account = the
//! key (`quay.io/org/repo`, `docker.io`), and as the secret a docker-protocol JSON object
//! `{"ServerURL":key,"Username":…,"Secret":…}` so the user name and the `<token>` convention
//! survive every platform store. `list` enumerates items with service `ocicred` only. The real
//! store (`os.rs`) bounds every call with a timeout and hands it to this build's platform module:
//! `secret_service.rs` (with `dbus/`), `native.rs` (macOS, Windows) or `unsupported.rs`; tests
//! use an in-memory fake.

// One platform module per build, chosen by the cfg that build.rs sets (`secret_service`,
// `native_keyring`, or neither); each offers the same functions, so `os.rs` needs no `cfg`.
// The D-Bus wire format is pure and public on every OS (it is fuzzed); its Unix-socket client,
// `dbus::client`, is built with `secret_service` only.
pub mod dbus;
#[cfg(native_keyring)]
mod native;
mod os;
#[cfg(secret_service)]
mod secret_service;
#[cfg(not(any(secret_service, native_keyring)))]
mod unsupported;

#[cfg(native_keyring)]
use native as platform;
#[cfg(secret_service)]
use secret_service as platform;
#[cfg(not(any(secret_service, native_keyring)))]
use unsupported as platform;

pub use os::OsKeyring;

use serde::{Deserialize, Serialize};

use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::registry_key::RegistryKey;
use crate::secret::Secret;
use crate::source::{Found, Listed, Origin, Source};

/// The service name of every ocicred item.
pub const SERVICE: &str = "ocicred";
/// The source name shown by `list` and `resolve`.
pub const SOURCE_NAME: &str = "keyring";

/// One keyring: get, set, delete and enumerate ocicred's items by account.
pub trait SecretStore {
    /// Which store this is (`Secret Service store, …`), for messages and `doctor`.
    fn describe(&self) -> Result<String>;
    /// The payload stored for `account`, or `None`.
    fn get(&self, account: &str) -> Result<Option<Secret<Vec<u8>>>>;
    /// Creates or replaces the item for `account`.
    fn set(&self, account: &str, label: &str, payload: &Secret<Vec<u8>>) -> Result<()>;
    /// Deletes the item for `account`; `true` if there was one.
    fn delete(&self, account: &str) -> Result<bool>;
    /// The payloads of every ocicred item.
    fn all(&self) -> Result<Vec<Secret<Vec<u8>>>>;
}

#[derive(Serialize, Deserialize)]
struct Payload {
    #[serde(rename = "ServerURL")]
    server_url: String,
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

fn encode(key: &RegistryKey, cred: &Credential) -> Secret<Vec<u8>> {
    let (username, secret) = cred.to_docker();
    let payload = Payload {
        server_url: key.to_string(),
        username: username.to_string(),
        secret: secret.expose().clone(),
    };
    Secret::new(serde_json::to_vec(&payload).expect("a payload always serialises"))
}

fn decode(account: &str, bytes: &Secret<Vec<u8>>) -> Result<(String, Credential)> {
    let p: Payload = serde_json::from_slice(bytes.expose()).map_err(|_| {
        Error::Keyring(format!(
            "the keyring item for {account} is not an ocicred entry; remove it with `ocicred logout {account}`"
        ))
    })?;
    Ok((p.server_url, Credential::from_docker(p.username, p.secret)))
}

/// The keyring as a [`Source`].
pub struct KeyringSource {
    store: Box<dyn SecretStore>,
}

impl KeyringSource {
    /// A source over `store`.
    pub fn new(store: Box<dyn SecretStore>) -> Self {
        KeyringSource { store }
    }

    /// Which store this is (checks that it is reachable).
    pub fn describe(&self) -> Result<String> {
        self.store.describe()
    }
}

impl Source for KeyringSource {
    fn name(&self) -> String {
        SOURCE_NAME.to_string()
    }

    fn get(&self, key: &RegistryKey) -> Result<Option<Found>> {
        for candidate in key.candidates() {
            let account = candidate.to_string();
            if let Some(bytes) = self.store.get(&account)? {
                let (_, credential) = decode(&account, &bytes)?;
                return Ok(Some(Found {
                    credential,
                    origin: Origin {
                        source: SOURCE_NAME.to_string(),
                        key: account,
                    },
                }));
            }
        }
        Ok(None)
    }

    fn store(&self, key: &RegistryKey, cred: &Credential) -> Result<String> {
        let account = key.to_string();
        self.store
            .set(&account, &format!("ocicred: {account}"), &encode(key, cred))?;
        Ok(format!(
            "the OS keyring (service {SERVICE}, account {account})"
        ))
    }

    fn erase(&self, key: &RegistryKey) -> Result<bool> {
        self.store.delete(&key.to_string())
    }

    fn list(&self) -> Result<Vec<Listed>> {
        let mut out: Vec<Listed> = Vec::new();
        for bytes in self.store.all()? {
            // Items with service `ocicred` written by something else are not ours: skip them.
            let Ok((server, cred)) = decode("?", &bytes) else {
                continue;
            };
            let Ok(key) = RegistryKey::parse(&server) else {
                continue;
            };
            let key = key.to_string();
            if !out.iter().any(|l| l.key == key) {
                out.push(Listed {
                    key,
                    username: cred.username().to_string(),
                    source: SOURCE_NAME.to_string(),
                });
            }
        }
        out.sort();
        Ok(out)
    }
}

/// An in-memory [`SecretStore`] for tests.
#[cfg(test)]
pub mod fake {
    use super::*;
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::rc::Rc;

    /// Items by account: (label, payload).
    pub type Items = Rc<RefCell<BTreeMap<String, (String, Vec<u8>)>>>;

    /// Items by account; `fail` makes every call fail like an unreachable keyring.
    #[derive(Clone, Default)]
    pub struct Memory {
        pub items: Items,
        pub fail: bool,
    }

    impl Memory {
        fn check(&self) -> Result<()> {
            if self.fail {
                return Err(Error::Keyring("cannot reach the keyring (fake)".into()));
            }
            Ok(())
        }
    }

    impl SecretStore for Memory {
        fn describe(&self) -> Result<String> {
            self.check()?;
            Ok("memory".into())
        }
        fn get(&self, account: &str) -> Result<Option<Secret<Vec<u8>>>> {
            self.check()?;
            Ok(self
                .items
                .borrow()
                .get(account)
                .map(|(_, v)| Secret::new(v.clone())))
        }
        fn set(&self, account: &str, label: &str, payload: &Secret<Vec<u8>>) -> Result<()> {
            self.check()?;
            self.items.borrow_mut().insert(
                account.to_string(),
                (label.to_string(), payload.expose().clone()),
            );
            Ok(())
        }
        fn delete(&self, account: &str) -> Result<bool> {
            self.check()?;
            Ok(self.items.borrow_mut().remove(account).is_some())
        }
        fn all(&self) -> Result<Vec<Secret<Vec<u8>>>> {
            self.check()?;
            Ok(self
                .items
                .borrow()
                .values()
                .map(|(_, v)| Secret::new(v.clone()))
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::Memory;
    use super::*;

    fn key(s: &str) -> RegistryKey {
        RegistryKey::parse(s).unwrap()
    }

    fn source() -> (Memory, KeyringSource) {
        let m = Memory::default();
        (m.clone(), KeyringSource::new(Box::new(m)))
    }

    #[test]
    fn round_trip_with_namespaces_and_aliases() {
        let (mem, src) = source();
        src.store(
            &key("https://index.docker.io/v1/"),
            &Credential::basic("hub", "p1"),
        )
        .unwrap();
        src.store(&key("quay.io/org"), &Credential::basic("org", "p2"))
            .unwrap();
        src.store(&key("quay.io"), &Credential::basic("plain", "p3"))
            .unwrap();
        assert!(mem.items.borrow().contains_key("docker.io"));
        assert_eq!(mem.items.borrow()["quay.io/org"].0, "ocicred: quay.io/org");

        let f = src.get(&key("registry-1.docker.io")).unwrap().unwrap();
        assert_eq!(f.credential.username(), "hub");
        let f = src.get(&key("quay.io/org/repo/img:tag")).unwrap().unwrap();
        assert_eq!(
            (f.credential.username(), f.origin.key.as_str()),
            ("org", "quay.io/org")
        );
        let f = src.get(&key("quay.io/other")).unwrap().unwrap();
        assert_eq!(f.credential.username(), "plain");
        assert_eq!(f.credential.to_docker().1.expose(), "p3");
        assert!(src.get(&key("ghcr.io")).unwrap().is_none());

        let listed: Vec<_> = src
            .list()
            .unwrap()
            .into_iter()
            .map(|l| (l.key, l.username, l.source))
            .collect();
        assert_eq!(
            listed,
            [
                ("docker.io".into(), "hub".into(), "keyring".into()),
                ("quay.io".into(), "plain".into(), "keyring".into()),
                ("quay.io/org".into(), "org".into(), "keyring".into()),
            ]
        );
        assert!(src.erase(&key("https://quay.io")).unwrap());
        assert!(!src.erase(&key("quay.io")).unwrap());
        assert_eq!(
            src.get(&key("quay.io/other")).unwrap(),
            None,
            "the bare host is gone"
        );
    }

    #[test]
    fn identity_tokens_keep_their_meaning() {
        let (_, src) = source();
        let cred = Credential::from_docker("<token>".into(), "refresh".into());
        src.store(&key("example.org"), &cred).unwrap();
        let f = src.get(&key("example.org")).unwrap().unwrap();
        assert_eq!(f.credential, cred);
    }

    #[test]
    fn foreign_items_are_not_listed_and_errors_pass_through() {
        let (mem, src) = source();
        mem.items
            .borrow_mut()
            .insert("x".into(), ("x".into(), b"not json".to_vec()));
        assert!(src.list().unwrap().is_empty());
        let e = src.get(&key("x")).unwrap_err();
        assert!(!e.to_string().contains("not json"), "{e}");
        let failing = KeyringSource::new(Box::new(Memory {
            fail: true,
            ..Memory::default()
        }));
        assert!(matches!(failing.get(&key("x")), Err(Error::Keyring(_))));
        assert!(failing.list().is_err());
    }

    #[test]
    fn payload_debug_never_shows_the_secret() {
        let p = encode(&key("h"), &Credential::basic("u", "hunter2"));
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
