//! The properties every parser of outside input must keep, shared by the fuzz targets
//! (`fuzz/fuzz_targets/*.rs`) and by `cargo test` (`tests/it/fuzz_regressions.rs`, which runs
//! every saved crash input in `testdata/fuzz-regressions/<target>/` through the same check).
//!
//! Each `check_*` function takes the raw fuzz input and panics when a property breaks: no
//! panic inside ocicred, every error is one line, no secret in an error, and parse/print
//! round trips are stable.

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;

use ocicred::auth_json::{AuthJson, FileAnswer};
use ocicred::credential::Credential;
use ocicred::env::AuthFileFormat;
use ocicred::error::{NOT_FOUND_TEXT, Result};
use ocicred::protocol::docker::{self, Action};
use ocicred::registry::RegistryKey;
use ocicred::resolver::Resolver;
use ocicred::source::helper::{HelperOutput, HelperRunner, HubSpelling, helper_get};
use ocicred::source::{Found, Listed, Origin, Source};
use serde_json::Value;

/// The fuzz targets, by name; each maps to one check.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("registry_key", check_registry_key),
    ("docker_store", check_docker_store),
    ("docker_protocol", check_docker_protocol),
    ("auth_json", check_auth_json),
    ("helper_answer", check_helper_answer),
];

fn assert_one_line(what: &str, text: &str) {
    assert!(!text.contains('\n'), "{what}: error spans lines: {text:?}");
    assert!(!text.is_empty(), "{what}: empty error");
}

/// `RegistryKey::parse` on any string: no panic; a key prints to a spelling that parses back
/// to itself; its candidates run from itself to the bare host.
pub fn check_registry_key(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let key = match RegistryKey::parse(text) {
        Ok(k) => k,
        Err(e) => return assert_one_line("RegistryKey::parse", &e.to_string()),
    };
    let printed = key.to_string();
    let again = RegistryKey::parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} -> {printed:?} does not parse: {e}"));
    assert_eq!(again, key, "{text:?} -> {printed:?} is not stable");
    assert!(!key.host().is_empty());
    let candidates = key.candidates();
    assert_eq!(candidates.first(), Some(&key));
    if key.is_namespaced() {
        assert_eq!(candidates.last(), Some(&key.host_only()));
    }
    for c in &candidates {
        assert_eq!(c.host(), key.host());
        assert_eq!(RegistryKey::parse(&c.to_string()).ok().as_ref(), Some(c));
    }
    let _ = key.helper_server();
}

/// Every string in a JSON value other than the one at `skip` (keys included).
fn other_strings<'a>(v: &'a Value, skip: &str, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| other_strings(x, skip, out)),
        Value::Object(m) => {
            for (k, x) in m {
                out.push(k);
                if !k.eq_ignore_ascii_case(skip) {
                    other_strings(x, skip, out);
                }
            }
        }
        _ => {}
    }
}

/// The `Secret` a store body carries, when it is distinctive enough to look for in errors:
/// at least 6 characters and not a part of any other string of the body.
fn distinctive_secret(data: &[u8]) -> Option<String> {
    let v: Value = serde_json::Deserializer::from_slice(data)
        .into_iter::<Value>()
        .next()?
        .ok()?;
    let map = v.as_object()?;
    let secret = map
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case("Secret"))?
        .1
        .as_str()?
        .to_string();
    let mut others = Vec::new();
    other_strings(&v, "Secret", &mut others);
    (secret.chars().count() >= 6 && !others.iter().any(|o| o.contains(secret.as_str())))
        .then_some(secret)
}

/// Checks that `outcome` (an error text, or "ok") does not depend on the store body's secret:
/// the same body with the secret's bytes replaced by other letters of the same length gives the
/// same outcome. Comparing two runs, not searching for the secret, keeps a short secret such as
/// `tials` from matching a fixed text such as `no credentials username`.
fn assert_secret_independent(data: &[u8], outcome: &dyn Fn(&[u8]) -> String) {
    let Some(secret) = distinctive_secret(data) else {
        return;
    };
    let needle = secret.as_bytes();
    let at: Vec<usize> = data
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    let [i] = at[..] else {
        return; // escaped in the body, or written twice: no clean substitute
    };
    let fill = if needle.iter().all(|b| *b == b'Z') {
        b'Y'
    } else {
        b'Z'
    };
    let mut other = data.to_vec();
    other[i..i + needle.len()].fill(fill);
    let (a, b) = (outcome(data), outcome(&other));
    assert_eq!(a, b, "the outcome depends on the secret's value");
}

fn store_outcome(data: &[u8]) -> String {
    match docker::parse_store(data).and_then(|r| RegistryKey::parse(&r.server_url)) {
        Ok(_) => "ok".into(),
        Err(e) => e.to_string(),
    }
}

/// `docker::parse_store` on any body: no panic, one-line errors that never depend on the
/// secret, and a decoded request whose server address either parses or fails cleanly.
pub fn check_docker_store(data: &[u8]) {
    match docker::parse_store(data) {
        Ok(request) => {
            assert!(!request.server_url.trim().is_empty());
            assert!(!request.credential.username().is_empty());
            if let Err(e) = RegistryKey::parse(&request.server_url) {
                assert_one_line("store key", &e.to_string());
            }
        }
        Err(e) => assert_one_line("store", &e.to_string()),
    }
    assert_secret_independent(data, &store_outcome);
}

/// An in-memory source, so the whole docker front-end runs without touching the disk.
#[derive(Default)]
pub struct MemorySource {
    pub entries: RefCell<BTreeMap<RegistryKey, Credential>>,
}

impl Source for MemorySource {
    fn name(&self) -> String {
        "memory".into()
    }
    fn get(&self, key: &RegistryKey) -> Result<Option<Found>> {
        let entries = self.entries.borrow();
        Ok(key.candidates().into_iter().find_map(|c| {
            entries.get(&c).map(|cred| Found {
                credential: cred.clone(),
                origin: Origin {
                    source: "memory".into(),
                    key: c.to_string(),
                },
            })
        }))
    }
    fn store(&self, key: &RegistryKey, cred: &Credential) -> Result<String> {
        self.entries.borrow_mut().insert(key.clone(), cred.clone());
        Ok("memory".into())
    }
    fn erase(&self, key: &RegistryKey) -> Result<bool> {
        Ok(self.entries.borrow_mut().remove(key).is_some())
    }
    fn list(&self) -> Result<Vec<Listed>> {
        Ok(self
            .entries
            .borrow()
            .iter()
            .map(|(k, c)| Listed {
                key: k.to_string(),
                username: c.username().to_string(),
                source: "memory".into(),
            })
            .collect())
    }
}

const STORED_SECRET: &str = "s3cr3t-Stored-Value";

/// The docker front-end end to end over a memory store holding one known credential. The
/// first byte picks the action, the rest is stdin. Exit code 0 or 1; a failure is exactly one
/// line; a `get` answer is the exact JSON for the trimmed address; `list` never shows the
/// secret; `store` followed by `get` returns what was stored.
pub fn check_docker_protocol(data: &[u8]) {
    let Some((&selector, stdin)) = data.split_first() else {
        return;
    };
    let action = [Action::Get, Action::Store, Action::Erase, Action::List][selector as usize % 4];
    let memory = MemorySource::default();
    memory.entries.borrow_mut().insert(
        RegistryKey::parse("known.example").unwrap(),
        Credential::basic("alice", STORED_SECRET),
    );
    let resolver = Resolver::new(vec![Box::new(memory)]);
    let mut out = Vec::new();
    let code = docker::handle(action, stdin, &mut out, &resolver);
    let text = String::from_utf8(out).expect("answers are UTF-8");
    assert!(code == 0 || code == 1, "exit code {code}");
    if code == 1 {
        assert!(text.ends_with('\n'), "{text:?}");
        assert_one_line("docker", text.trim_end_matches('\n'));
        assert!(!text.contains(STORED_SECRET), "secret in error: {text:?}");
        if action == Action::Store {
            assert_secret_independent(stdin, &|body| {
                let resolver = Resolver::new(vec![Box::new(MemorySource::default())]);
                let mut out = Vec::new();
                docker::handle(Action::Store, body, &mut out, &resolver);
                String::from_utf8_lossy(&out).into_owned()
            });
        }
        return;
    }
    match action {
        Action::Get => {
            let v: Value = serde_json::from_str(&text).expect("get answer is JSON");
            let asked = std::str::from_utf8(stdin).unwrap().trim();
            assert_eq!(v["ServerURL"], asked);
            assert_eq!(v["Username"], "alice");
            assert_eq!(text.matches('\n').count(), 1);
        }
        Action::List => assert!(!text.contains(STORED_SECRET)),
        Action::Store => {
            assert!(text.is_empty(), "{text:?}");
            let request = docker::parse_store(stdin).expect("stored body decodes");
            let mut out = Vec::new();
            let code = docker::handle(
                Action::Get,
                request.server_url.as_bytes(),
                &mut out,
                &resolver,
            );
            assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));
            let v: Value = serde_json::from_slice(&out).unwrap();
            let (user, secret) = request.credential.to_docker();
            assert_eq!(v["Username"], user);
            assert_eq!(v["Secret"], secret.expose().as_str());
        }
        Action::Erase | Action::Version => assert!(text.is_empty(), "{text:?}"),
    }
}

/// `AuthJson` on any file: parse, look up every key the file names (and a few fixed ones),
/// list, print and re-parse (stable), then upsert and remove and check the entry answers.
/// The first byte picks the format (auth.json or legacy `.dockercfg`).
pub fn check_auth_json(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let format = if selector & 1 == 0 {
        AuthFileFormat::Auths
    } else {
        AuthFileFormat::Legacy
    };
    let Ok(mut file) = AuthJson::parse(bytes, format) else {
        return;
    };
    let mut keys: Vec<RegistryKey> = ["docker.io", "quay.io/org/repo", "h:5000"]
        .iter()
        .map(|k| RegistryKey::parse(k).unwrap())
        .collect();
    if let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(bytes) {
        let auths = match format {
            AuthFileFormat::Legacy => Some(&root),
            AuthFileFormat::Auths => root.get("auths").and_then(Value::as_object),
        };
        for k in auths.into_iter().flat_map(|a| a.keys()) {
            if let Ok(key) = RegistryKey::parse(k) {
                keys.push(key);
            }
        }
    }
    for key in &keys {
        match file.lookup(key) {
            Ok(_) => {}
            Err(e) => assert_one_line("lookup", &e.message),
        }
    }
    let _ = file.entries();
    let _ = file.cred_helpers();
    let printed = file.to_bytes();
    let reparsed = AuthJson::parse(&printed, format).expect("printed file parses");
    assert_eq!(reparsed.to_bytes(), printed, "printing is not stable");

    let key = keys.last().unwrap().clone();
    let cred = Credential::basic("fuzz-user", "fuzz:pass word");
    file.upsert(&key, &cred);
    let printed = file.to_bytes();
    let reparsed = AuthJson::parse(&printed, format).expect("file after upsert parses");
    let found = reparsed.lookup_auths(&key);
    if format == AuthFileFormat::Auths || !key.is_namespaced() {
        match found {
            Ok(FileAnswer::Found { credential, .. }) => assert_eq!(credential, cred),
            other => panic!("upserted {key} reads back as {other:?}"),
        }
    }
    let mut after = reparsed.clone();
    assert!(after.remove(&key) >= 1, "upserted {key} was not removed");
    assert!(
        !matches!(after.lookup_auths(&key), Ok(FileAnswer::Found { credential, .. }) if credential == cred)
    );
}

/// A helper that answers with the fuzz input.
struct Canned {
    success: bool,
    stdout: Vec<u8>,
}

impl HelperRunner for Canned {
    fn run(&self, _name: &str, _action: &str, _input: &[u8]) -> Result<HelperOutput> {
        Ok(HelperOutput {
            success: self.success,
            stdout: self.stdout.clone(),
        })
    }
    fn is_self(&self, _name: &str) -> bool {
        false
    }
}

/// An external helper's `get` answer (any bytes, exit 0 or 1): no panic, one-line errors.
pub fn check_helper_answer(data: &[u8]) {
    let Some((&selector, stdout)) = data.split_first() else {
        return;
    };
    let runner = Canned {
        success: selector & 1 == 0,
        stdout: stdout.to_vec(),
    };
    let key = RegistryKey::parse("h.example/ns").unwrap();
    match helper_get(&runner, "canned", &key, HubSpelling::Containers) {
        Ok(Some(found)) => assert!(runner.success && !found.credential.username().is_empty()),
        Ok(None) => {}
        Err(e) => {
            let text = e.to_string();
            assert_one_line("helper", &text);
            assert_ne!(text, NOT_FOUND_TEXT);
        }
    }
}
