//! `Resolver`: the lookup policy, in one place.
//!
//! It asks its sources in order and owns every rule about that order
//! (README.md#where-credentials-are-looked-up): a `[[route]]` that matches the key decides alone
//! (README.md#routes-wildcard-and-per-registry-sources), for `get`, `store` and `erase`; else the
//! environment's first part (README.md#credentials-from-the-environment-ci), then the stored
//! sources, then the environment's last fallback (`GITHUB_TOKEN` for ghcr.io). The first credential
//! found wins; a source error is remembered and reported only when nothing is found; `store` goes
//! to the first stored source that accepts it (but never past a failing keyring) and never to the
//! environment; `erase` reaches every stored source; `list` is the union, earlier sources winning.
//! It knows nothing of files, processes, HTTP or wire formats, and the protocol front-ends hold no
//! policy of their own: they call this.

use crate::credential::{Credential, RegistryAuth};
use crate::error::{Error, Result};
use crate::oci::token::is_b64token;
use crate::registry_key::RegistryKey;
use crate::route::{self, Route};
use crate::secret::Secret;
use crate::source::{Found, Listed, Source};

/// The user name `resolve` shows for a route's registry token.
pub const REGISTRY_TOKEN_USER: &str = "<registry token>";

/// A predicate that says a key must get no credentials (a `blocked` registry).
pub type BlockedFn = Box<dyn Fn(&RegistryKey) -> Option<String>>;

/// Where a route sends its registries, built from its [`route::Target`].
pub enum RouteTo {
    /// A source that reads and stores: a helper, the keyring, the auth files.
    Store(Box<dyn Source>),
    /// Sources that only read, asked in order: the environment, a route's variables.
    Read(Vec<Box<dyn Source>>),
    /// Nothing: anonymous.
    Nothing,
    /// A registry token from the variable `var` (Bazel only).
    Token {
        var: String,
        value: Option<Secret<String>>,
    },
}

/// A route with its destination.
pub struct Routed {
    pub route: Route,
    pub to: RouteTo,
}

/// The ordered sources plus the policy over them.
pub struct Resolver {
    first: Vec<Box<dyn Source>>,
    sources: Vec<Box<dyn Source>>,
    last: Vec<Box<dyn Source>>,
    routes: Vec<Routed>,
    blocked: Option<BlockedFn>,
}

/// Asks `sources` in order: the first credential wins; else the first error; else not found.
fn ask<'a>(
    sources: impl IntoIterator<Item = &'a Box<dyn Source>>,
    key: &RegistryKey,
) -> Result<Found> {
    let mut first_error = None;
    for source in sources {
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

impl Resolver {
    /// A resolver over the stored `sources`, asked in this order.
    pub fn new(sources: Vec<Box<dyn Source>>) -> Self {
        Resolver {
            first: Vec::new(),
            sources,
            last: Vec::new(),
            routes: Vec::new(),
            blocked: None,
        }
    }

    /// Adds the environment: `first` is asked before the stored sources, `last` after them.
    pub fn with_environment(
        mut self,
        first: Vec<Box<dyn Source>>,
        last: Vec<Box<dyn Source>>,
    ) -> Self {
        self.first = first;
        self.last = last;
        self
    }

    /// Adds the `[[route]]`s, in file order.
    pub fn with_routes(mut self, routes: Vec<Routed>) -> Self {
        self.routes = routes;
        self
    }

    /// Adds a check that refuses credentials for blocked registries. The function returns the
    /// blocked prefix when `key` is blocked.
    pub fn with_blocked(mut self, blocked: BlockedFn) -> Self {
        self.blocked = Some(blocked);
        self
    }

    /// The stored sources, in order.
    pub fn sources(&self) -> &[Box<dyn Source>] {
        &self.sources
    }

    /// The route that decides for `key`, if one matches.
    pub fn route_for(&self, key: &RegistryKey) -> Option<&Routed> {
        route::select_patterns(self.routes.iter().map(|r| &r.route.pattern), key)
            .map(|i| &self.routes[i])
    }

    /// `Err(Blocked)` when `key` belongs to a blocked registry.
    pub fn check_blocked(&self, key: &RegistryKey) -> Result<()> {
        match self.blocked.as_ref().and_then(|f| f(key)) {
            Some(prefix) => Err(Error::Blocked(prefix)),
            None => Ok(()),
        }
    }

    /// The credential for `key` (as the docker protocol can carry it): `Err(NotFound)` when
    /// no source has one and none failed, else the first source error.
    pub fn get(&self, key: &RegistryKey) -> Result<Found> {
        self.check_blocked(key)?;
        match self.route_for(key) {
            Some(routed) => {
                let found = match &routed.to {
                    RouteTo::Store(s) => ask(std::iter::once(s), key),
                    RouteTo::Read(v) => ask(v, key),
                    RouteTo::Nothing | RouteTo::Token { .. } => Err(Error::NotFound),
                }?;
                Ok(Found {
                    origin: crate::source::Origin {
                        source: format!("{}: {}", routed.route.name(), found.origin.source),
                        key: found.origin.key,
                    },
                    credential: found.credential,
                })
            }
            None => ask(
                self.first.iter().chain(&self.sources).chain(&self.last),
                key,
            ),
        }
    }

    /// What `resolve` shows for `key`: [`Resolver::get`], except that a `token-env` route whose
    /// variable is set shows as the user `<registry token>` (Bazel gets it; the docker protocol
    /// cannot carry it).
    pub fn explain(&self, key: &RegistryKey) -> Result<Found> {
        self.check_blocked(key)?;
        if let Some(Routed {
            to: RouteTo::Token {
                var,
                value: Some(_),
            },
            route,
        }) = self.route_for(key)
        {
            return Ok(Found {
                credential: Credential::basic(REGISTRY_TOKEN_USER, ""),
                origin: crate::source::Origin {
                    source: format!("{}: ${var}", route.name()),
                    key: key.host().to_string(),
                },
            });
        }
        self.get(key)
    }

    /// What a Bazel request for `key` sends: a credential to exchange, a route's ready
    /// registry token, or `None` (anonymous).
    pub fn get_auth(&self, key: &RegistryKey) -> Result<Option<RegistryAuth>> {
        self.check_blocked(key)?;
        if let Some(Routed {
            to: RouteTo::Token { var, value },
            route,
        }) = self.route_for(key)
        {
            return match value {
                None => Ok(None),
                Some(t) if is_b64token(t.expose()) => Ok(Some(RegistryAuth::Token(t.clone()))),
                Some(_) => Err(Error::InvalidInput(format!(
                    "${var} (named by {}) is not a plain registry token",
                    route.name()
                ))),
            };
        }
        match self.get(key) {
            Ok(found) => Ok(Some(RegistryAuth::Credential(found.credential))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores `cred` in the first source that accepts it; returns where it went. A keyring
    /// error ends the search: the secret never falls through to a file. A routed key goes
    /// where its route says, or is refused when the route is read-only.
    pub fn store(&self, key: &RegistryKey, cred: &Credential) -> Result<String> {
        if let Some(routed) = self.route_for(key) {
            return match &routed.to {
                RouteTo::Store(s) => s.store(key, cred),
                _ => Err(Error::Unsupported(format!(
                    "not stored: {key} is sent to {} by {}, which is read-only",
                    routed.route.target.describe(),
                    routed.route.name()
                ))),
            };
        }
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

    /// Removes `key` from every stored source (or its route's store); `Ok(true)` if any held
    /// it. Not being stored anywhere is not an error; a source that fails is.
    pub fn erase(&self, key: &RegistryKey) -> Result<bool> {
        match self.route_for(key).map(|r| &r.to) {
            Some(RouteTo::Store(s)) => erase_in(std::iter::once(s), key),
            Some(_) => Ok(false),
            None => erase_in(self.sources.iter(), key),
        }
    }

    /// Everything the stored sources can answer, by key (the docker protocol's `list`); an
    /// earlier source wins a duplicate key. A source that fails to list is skipped and
    /// reported in the second value.
    pub fn list(&self) -> (Vec<Listed>, Vec<Error>) {
        merge_lists(self.sources.iter())
    }

    /// What `ocicred list` shows: the environment's entries and the routes besides the stored
    /// ones, each with its variable's or route's name as the source.
    pub fn list_all(&self) -> (Vec<Listed>, Vec<Error>) {
        let (mut out, errors) =
            merge_lists(self.first.iter().chain(&self.sources).chain(&self.last));
        for r in &self.routes {
            out.push(Listed {
                key: r.route.text.clone(),
                username: "-".into(),
                source: format!("{} -> {}", r.route.name(), r.route.target.describe()),
            });
        }
        (out, errors)
    }
}

fn erase_in<'a>(
    sources: impl Iterator<Item = &'a Box<dyn Source>>,
    key: &RegistryKey,
) -> Result<bool> {
    let mut removed = false;
    let mut first_error = None;
    for source in sources {
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

fn merge_lists<'a>(
    sources: impl Iterator<Item = &'a Box<dyn Source>>,
) -> (Vec<Listed>, Vec<Error>) {
    let mut out: Vec<Listed> = Vec::new();
    let mut errors = Vec::new();
    for source in sources {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::Route;
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

    fn route(text: &str, target: crate::route::Target) -> Route {
        Route {
            text: text.into(),
            pattern: crate::route::parse_pattern(text).unwrap(),
            target,
            file: "/c.toml".into(),
            line: 1,
            column: 1,
        }
    }

    fn user(r: &Resolver, k: &str) -> Option<(String, String)> {
        r.get(&key(k))
            .ok()
            .map(|f| (f.credential.username().to_string(), f.origin.source))
    }

    #[test]
    fn environment_first_then_stored_then_last_fallback() {
        let r = Resolver::new(vec![Memory::new(
            "stored",
            &[("h", "alice"), ("ghcr.io", "sam")],
        )])
        .with_environment(
            vec![Memory::new("env", &[("h", "ci")])],
            vec![Memory::new("github", &[("ghcr.io", "gh"), ("g", "gina")])],
        );
        assert_eq!(user(&r, "h"), Some(("ci".into(), "env".into())));
        assert_eq!(user(&r, "ghcr.io"), Some(("sam".into(), "stored".into())));
        assert_eq!(user(&r, "g"), Some(("gina".into(), "github".into())));
        // store and erase never reach the environment.
        assert_eq!(
            r.store(&key("x"), &Credential::basic("u", "p")).unwrap(),
            "stored"
        );
        assert!(!r.erase(&key("g")).unwrap());
        assert_eq!(user(&r, "g").unwrap().0, "gina");
        // The docker list is the stored sources only; the person's list has everything.
        let keys = |l: Vec<Listed>| l.into_iter().map(|i| (i.key, i.source)).collect::<Vec<_>>();
        assert_eq!(
            keys(r.list().0),
            [
                ("ghcr.io".into(), "stored".into()),
                ("h".into(), "stored".into()),
                ("x".into(), "stored".into())
            ]
        );
        assert!(keys(r.list_all().0).contains(&("g".into(), "github".into())));
        assert!(keys(r.list_all().0).contains(&("h".into(), "env".into())));
    }

    #[test]
    fn the_most_specific_route_decides_alone() {
        use crate::route::{SourceName, Target};
        let r = Resolver::new(vec![Memory::new(
            "stored",
            &[
                ("a.corp", "stored-a"),
                ("b.corp", "stored-b"),
                ("ro.corp", "x"),
            ],
        )])
        .with_environment(vec![Memory::new("env", &[("b.corp", "env-b")])], vec![])
        .with_routes(vec![
            Routed {
                route: route("*.corp", Target::Helper("probe".into())),
                to: RouteTo::Store(Memory::new("probe", &[("a.corp", "helper-a")])),
            },
            Routed {
                route: route("b.corp", Target::Source(SourceName::Env)),
                to: RouteTo::Read(vec![Memory::new("env2", &[("b.corp", "env-b")])]),
            },
            Routed {
                route: route("ro.corp", Target::Source(SourceName::None)),
                to: RouteTo::Nothing,
            },
            Routed {
                route: route("tok.corp", Target::Token("T".into())),
                to: RouteTo::Token {
                    var: "T".into(),
                    value: Some(Secret::new("tok-1".into())),
                },
            },
            Routed {
                route: route("bad.corp", Target::Token("B".into())),
                to: RouteTo::Token {
                    var: "B".into(),
                    value: Some(Secret::new("a b\r\nX: y".into())),
                },
            },
        ]);
        let (u, src) = user(&r, "a.corp").unwrap();
        assert_eq!(u, "helper-a");
        assert_eq!(src, "route \"*.corp\" (/c.toml:1): probe");
        // The helper has nothing for c.corp: not found, the stored sources are not asked.
        assert!(r.get(&key("c.corp")).unwrap_err().is_not_found());
        assert_eq!(user(&r, "b.corp").unwrap().0, "env-b");
        assert!(r.get(&key("ro.corp")).unwrap_err().is_not_found());
        // token-env answers only the Bazel side.
        assert!(r.get(&key("tok.corp")).unwrap_err().is_not_found());
        assert_eq!(
            r.get_auth(&key("tok.corp/app")).unwrap(),
            Some(RegistryAuth::Token(Secret::new("tok-1".into())))
        );
        let e = r.get_auth(&key("bad.corp")).unwrap_err().to_string();
        assert!(e.contains("$B") && !e.contains("X: y"), "{e}");
        let shown = r.explain(&key("tok.corp/app")).unwrap();
        assert_eq!(shown.credential.username(), REGISTRY_TOKEN_USER);
        assert_eq!(shown.origin.source, "route \"tok.corp\" (/c.toml:1): $T");
        assert!(r.explain(&key("ro.corp")).unwrap_err().is_not_found());
        assert!(matches!(
            r.get_auth(&key("a.corp")).unwrap(),
            Some(RegistryAuth::Credential(_))
        ));
        // store: to the route's helper, or refused when read-only.
        assert_eq!(
            r.store(&key("new.corp"), &Credential::basic("u", "p"))
                .unwrap(),
            "probe"
        );
        assert_eq!(user(&r, "new.corp").unwrap().0, "u");
        for ro in ["ro.corp", "b.corp", "tok.corp"] {
            let e = r.store(&key(ro), &Credential::basic("u", "p")).unwrap_err();
            assert!(e.to_string().contains("read-only"), "{e}");
        }
        // erase: the route's store only.
        assert!(r.erase(&key("new.corp")).unwrap());
        assert!(!r.erase(&key("ro.corp")).unwrap());
        assert!(r.sources()[0].get(&key("ro.corp")).unwrap().is_some());
        let routes: Vec<_> = r
            .list_all()
            .0
            .into_iter()
            .filter(|l| l.username == "-")
            .collect();
        assert_eq!(routes.len(), 5);
    }
}
