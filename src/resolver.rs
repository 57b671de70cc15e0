//! `Resolver`: the lookup policy, in one place.
//!
//! It asks its sources in order and owns every rule about that order: the first credential
//! found wins; a source error is remembered and reported only when nothing is found; `store`
//! goes to the first source that accepts it (but never past a failing keyring); `erase` reaches every source; `list` is the union,
//! earlier sources winning. It knows nothing of files, processes, HTTP or wire formats, and the
//! protocol front-ends hold no policy of their own: they call this.

use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::registry::RegistryKey;
use crate::source::{Found, Listed, Source};

/// A predicate that says a key must get no credentials (a `blocked` registry).
pub type BlockedFn = Box<dyn Fn(&RegistryKey) -> Option<String>>;

/// The ordered sources plus the policy over them.
pub struct Resolver {
    sources: Vec<Box<dyn Source>>,
    blocked: Option<BlockedFn>,
}

impl Resolver {
    /// A resolver over `sources`, asked in this order.
    pub fn new(sources: Vec<Box<dyn Source>>) -> Self {
        Resolver {
            sources,
            blocked: None,
        }
    }

    /// Adds a check that refuses credentials for blocked registries. The function returns the
    /// blocked prefix when `key` is blocked.
    pub fn with_blocked(mut self, blocked: BlockedFn) -> Self {
        self.blocked = Some(blocked);
        self
    }

    /// The sources, in order.
    pub fn sources(&self) -> &[Box<dyn Source>] {
        &self.sources
    }

    /// `Err(Blocked)` when `key` belongs to a blocked registry.
    pub fn check_blocked(&self, key: &RegistryKey) -> Result<()> {
        match self.blocked.as_ref().and_then(|f| f(key)) {
            Some(prefix) => Err(Error::Blocked(prefix)),
            None => Ok(()),
        }
    }

    /// The credential for `key`: `Err(NotFound)` when no source has one and none failed,
    /// else the first source error.
    pub fn get(&self, key: &RegistryKey) -> Result<Found> {
        self.check_blocked(key)?;
        let mut first_error = None;
        for source in &self.sources {
            match source.get(key) {
                Ok(Some(found)) => return Ok(found),
                Ok(None) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or(Error::NotFound))
    }

    /// Stores `cred` in the first source that accepts it; returns where it went. A keyring
    /// error ends the search: the secret never falls through to a file.
    pub fn store(&self, key: &RegistryKey, cred: &Credential) -> Result<String> {
        let mut first_error = None;
        for source in &self.sources {
            match source.store(key, cred) {
                Ok(place) => return Ok(place),
                // A keyring that fails must not send the secret to a file instead.
                Err(e @ Error::Keyring(_)) => return Err(e),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error
            .unwrap_or_else(|| Error::Unsupported("no credential store configured".into())))
    }

    /// Removes `key` from every source; `Ok(true)` if any held it. Not being stored anywhere
    /// is not an error; a source that fails is.
    pub fn erase(&self, key: &RegistryKey) -> Result<bool> {
        let mut removed = false;
        let mut first_error = None;
        for source in &self.sources {
            match source.erase(key) {
                Ok(r) => removed |= r,
                Err(Error::Unsupported(_)) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(removed),
        }
    }

    /// Everything the sources can answer, by key; an earlier source wins a duplicate key.
    /// A source that fails to list is skipped and reported in the second value.
    pub fn list(&self) -> (Vec<Listed>, Vec<Error>) {
        let mut out: Vec<Listed> = Vec::new();
        let mut errors = Vec::new();
        for source in &self.sources {
            match source.list() {
                Ok(items) => {
                    for item in items {
                        if !out.iter().any(|o| o.key == item.key) {
                            out.push(item);
                        }
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        out.sort();
        (out, errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Origin;
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    /// An in-memory source for policy tests.
    struct Memory {
        name: &'static str,
        items: RefCell<BTreeMap<String, Credential>>,
        fail: bool,
    }

    impl Memory {
        fn new(name: &'static str, items: &[(&str, &str)]) -> Box<Self> {
            Box::new(Memory {
                name,
                items: RefCell::new(
                    items
                        .iter()
                        .map(|(k, u)| (k.to_string(), Credential::basic(*u, "pw")))
                        .collect(),
                ),
                fail: false,
            })
        }
        fn failing(name: &'static str) -> Box<Self> {
            Box::new(Memory {
                name,
                items: RefCell::default(),
                fail: true,
            })
        }
    }

    impl Source for Memory {
        fn name(&self) -> String {
            self.name.into()
        }
        fn get(&self, key: &RegistryKey) -> Result<Option<Found>> {
            if self.fail {
                return Err(Error::Helper {
                    name: self.name.into(),
                    message: "boom".into(),
                });
            }
            Ok(self.items.borrow().get(&key.to_string()).map(|c| Found {
                credential: c.clone(),
                origin: Origin {
                    source: self.name.into(),
                    key: key.to_string(),
                },
            }))
        }
        fn store(&self, key: &RegistryKey, cred: &Credential) -> Result<String> {
            if self.fail {
                return Err(Error::Unsupported("no".into()));
            }
            self.items
                .borrow_mut()
                .insert(key.to_string(), cred.clone());
            Ok(self.name.into())
        }
        fn erase(&self, key: &RegistryKey) -> Result<bool> {
            Ok(self.items.borrow_mut().remove(&key.to_string()).is_some())
        }
        fn list(&self) -> Result<Vec<Listed>> {
            Ok(self
                .items
                .borrow()
                .iter()
                .map(|(k, c)| Listed {
                    key: k.clone(),
                    username: c.username().into(),
                    source: self.name.into(),
                })
                .collect())
        }
    }

    fn key(s: &str) -> RegistryKey {
        RegistryKey::parse(s).unwrap()
    }

    #[test]
    fn first_source_wins_and_errors_are_remembered() {
        let r = Resolver::new(vec![
            Memory::failing("bad"),
            Memory::new("a", &[("h", "alice")]),
            Memory::new("b", &[("h", "bob"), ("g", "gina")]),
        ]);
        assert_eq!(r.get(&key("h")).unwrap().credential.username(), "alice");
        assert_eq!(r.get(&key("g")).unwrap().origin.source, "b");
        assert!(matches!(r.get(&key("x")), Err(Error::Helper { .. })));
        let r = Resolver::new(vec![Memory::new("a", &[])]);
        assert!(r.get(&key("x")).unwrap_err().is_not_found());
    }

    #[test]
    fn store_goes_to_first_accepting_source() {
        let r = Resolver::new(vec![Memory::failing("ro"), Memory::new("rw", &[])]);
        assert_eq!(
            r.store(&key("h"), &Credential::basic("u", "p")).unwrap(),
            "rw"
        );
        assert_eq!(r.get(&key("h")).unwrap().origin.source, "rw");
    }

    #[test]
    fn erase_reaches_every_source_and_list_merges() {
        let r = Resolver::new(vec![
            Memory::new("a", &[("h", "alice")]),
            Memory::new("b", &[("h", "bob"), ("g", "gina")]),
        ]);
        let (items, errors) = r.list();
        assert!(errors.is_empty());
        let shown: Vec<_> = items
            .iter()
            .map(|i| (i.key.as_str(), i.username.as_str()))
            .collect();
        assert_eq!(shown, [("g", "gina"), ("h", "alice")]);
        assert!(r.erase(&key("h")).unwrap());
        assert!(!r.erase(&key("h")).unwrap());
        assert!(r.get(&key("h")).unwrap_err().is_not_found());
    }

    #[test]
    fn blocked_keys_get_nothing() {
        let r = Resolver::new(vec![Memory::new("a", &[("h", "alice")])]).with_blocked(Box::new(
            |k: &RegistryKey| (k.host() == "h").then(|| "h".to_string()),
        ));
        assert!(matches!(r.get(&key("h")), Err(Error::Blocked(_))));
    }
}
