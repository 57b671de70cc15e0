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

use std::path::Path;
use std::time::{Duration, SystemTime};

use ocicred::auth_file::{AuthFileFormat, AuthJson, AuthLookup, FileAnswer};
use ocicred::credential::Credential;
use ocicred::error::{NOT_FOUND_TEXT, Result};
use ocicred::oci::{challenge, target, token};
use ocicred::protocol::bazel;
use ocicred::protocol::docker::{self, Action};
use ocicred::registries_conf::reference::Reference;
use ocicred::registries_conf::{merge, parse};
use ocicred::registry_key::RegistryKey;
use ocicred::resolver::Resolver;
use ocicred::source::helper::{HelperOutput, HelperRunner, HubSpelling, helper_get};
use ocicred::source::{Found, Listed, Origin, Source};
use serde_json::Value;

/// A property check over one raw fuzz input.
pub type Check = fn(&[u8]);

/// The fuzz targets, by name; each maps to one check.
pub const TARGETS: &[(&str, Check)] = &[
    ("registry_key", check_registry_key),
    ("docker_store", check_docker_store),
    ("docker_protocol", check_docker_protocol),
    ("auth_json", check_auth_json),
    ("helper_answer", check_helper_answer),
    ("bazel_request", check_bazel_request),
    ("www_authenticate", check_www_authenticate),
    ("token_response", check_token_response),
    ("image_reference", check_image_reference),
    ("registries_conf", check_registries_conf),
    ("ocicred_config", check_ocicred_config),
    ("route_match", check_route_match),
    ("dbus_reply", check_dbus_reply),
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
    // The borrowed lookup that `get` uses answers exactly as the full model, errors included.
    let full = AuthJson::parse(bytes, format);
    for k in ["docker.io", "quay.io/org/repo", "h:5000"] {
        let key = RegistryKey::parse(k).unwrap();
        match (&full, AuthLookup::parse(bytes, format, &key)) {
            (Err(a), Err(b)) => assert_eq!(
                (a.to_string(), a.line(), a.column()),
                (b.to_string(), b.line(), b.column())
            ),
            (Ok(f), Ok(l)) => {
                assert_eq!(f.lookup(&key), l.lookup(), "lookup of {k}");
                assert_eq!(
                    f.lookup_auths(&key),
                    l.lookup_auths(),
                    "auths lookup of {k}"
                );
            }
            (a, b) => panic!("full model {a:?} but borrowed lookup {b:?}"),
        }
        // The fast scan (tried first) reads exactly what serde_json's path reads: the same
        // kept fields and entries, or the same error.
        match (
            AuthLookup::parse_by(bytes, format, &key, true),
            AuthLookup::parse_by(bytes, format, &key, false),
        ) {
            (Ok(fast), Ok(serde)) => assert!(fast == serde, "fast scan differs for {k}"),
            (Err(a), Err(b)) => assert_eq!(
                (a.to_string(), a.line(), a.column()),
                (b.to_string(), b.line(), b.column())
            ),
            (a, b) => panic!("fast scan {a:?} but serde_json {b:?}"),
        }
    }
    let Ok(mut file) = full else {
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
    // A legacy `.dockercfg` names registries only (and ocicred never writes one): a namespaced
    // key written into it is not that key's entry, so only the first round trip is checked.
    if format == AuthFileFormat::Legacy && key.is_namespaced() {
        return;
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

/// A Bazel request body: `parse_request`, then the URI's classification. Errors are one line;
/// a target is on the URI's own host, lower-cased, without user info, with a repository.
pub fn check_bazel_request(data: &[u8]) {
    let uri = match bazel::parse_request(data) {
        Ok(uri) => uri,
        Err(e) => return assert_one_line("bazel request", &e.to_string()),
    };
    let Some(t) = target::parse(&uri) else {
        return;
    };
    assert!(t.scheme == "http" || t.scheme == "https", "{t:?}");
    assert!(
        !t.host.is_empty() && !t.repository.is_empty(),
        "{uri:?} -> {t:?}"
    );
    assert_eq!(t.authority, t.authority.to_ascii_lowercase(), "{t:?}");
    assert!(
        !t.authority.contains(['@', '/', '?', '#']),
        "{uri:?} -> {t:?}"
    );
    assert!(t.origin().starts_with(&t.scheme));
    let scope = t.pull_scope();
    assert!(scope.starts_with("repository:") && scope.ends_with(":pull"));
    let _ = target::is_loopback(&t.host);
}

/// `WWW-Authenticate` values (one per line): the parser is total; schemes and parameter names
/// come out lower-cased and non-empty; a Bearer realm builds a token URL without panicking.
pub fn check_www_authenticate(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let challenges = challenge::parse_all(text.lines());
    for c in &challenges {
        assert!(!c.scheme.is_empty());
        assert_eq!(c.scheme, c.scheme.to_ascii_lowercase());
        for (k, _) in &c.params {
            assert!(!k.is_empty());
            assert_eq!(*k, k.to_ascii_lowercase());
        }
        if let Some(realm) = c.param("realm") {
            let url = token::get_url(realm, c.param("service"), Some("repository:a/b:pull"));
            assert!(url.contains("scope=repository%3Aa%2Fb%3Apull"), "{url}");
        }
    }
    let _ = challenge::parse(&text);
}

/// A token endpoint's body: the token is a non-empty RFC 6750 `b64token` (nothing that could
/// break a header or the cache), the lifetime between 1 s and a day and the expiry printable;
/// errors are one of the fixed texts naming the host, never the body; `Debug` of a token hides
/// it.
pub fn check_token_response(data: &[u8]) {
    const HOST: &str = "auth.example";
    match token::parse_response(data, HOST) {
        Ok(t) => {
            let secret = t.token.expose().clone();
            assert!(!secret.is_empty());
            assert!(token::is_b64token(&secret), "{secret:?}");
            assert!(
                secret
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b',' && b != b'\\')
            );
            assert!(t.lifetime >= 1 && t.lifetime <= token::MAX_LIFETIME);
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
            let expiry = token::reported_expiry(now, t.lifetime);
            assert!(expiry > now);
            let text = token::rfc3339(expiry);
            assert!(
                text.ends_with('Z') && text.contains('T') && !text.contains('.'),
                "{text}"
            );
            let shown = format!("{t:?}");
            let template = format!(
                "Token {{ token: Secret(<redacted>), lifetime: {} }}",
                t.lifetime
            );
            if !template.contains(secret.as_str()) {
                assert!(!shown.contains(secret.as_str()), "{shown}");
            }
        }
        Err(e) => {
            let text = e.to_string();
            assert!(
                text == format!("token server {HOST} sent a response that is not token JSON")
                    || text == format!("token server {HOST} sent no token")
                    || text
                        == format!(
                            "token server {HOST} sent a token that is not a plain bearer token (RFC 6750 b64token)"
                        ),
                "{text}"
            );
        }
    }
}

/// An image reference: `Reference::parse` is total; a parsed reference prints to a string
/// that parses back to itself.
pub fn check_image_reference(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(r) = Reference::parse(text) else {
        return;
    };
    let printed = r.to_string();
    let again = Reference::parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} -> {printed:?} does not parse: {e}"));
    assert_eq!(again, r, "{text:?} -> {printed:?}");
    let _ = (r.name(), r.host(), r.is_qualified(), r.is_digested());
    let _ = r.clone().normalized().with_default_tag().to_string();
}

/// registries.conf text: a main file and up to two drop-ins (split at lines `#---`), each
/// parsed, merged, then asked to resolve a few references and every configured prefix. Errors
/// are one line; nothing panics.
pub fn check_registries_conf(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut files = Vec::new();
    for (i, part) in text.split("\n#---\n").take(3).enumerate() {
        let path = format!("/etc/containers/registries.conf.d/{i}.conf");
        match parse::parse_file(Path::new(&path), part, i > 0) {
            Ok(f) => files.push(f),
            Err(e) => return assert_one_line("registries.conf", &e.to_string()),
        }
    }
    let conf = merge::merge(files);
    let mut inputs: Vec<String> = [
        "nginx",
        "library/nginx:latest",
        "docker.io/library/busybox:1",
        "quay.io/org/repo@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "localhost:5000/a/b",
        "example.com/x",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for r in &conf.registries {
        inputs.push(format!("{}/fuzz:1", r.prefix.trim_start_matches("*.")));
    }
    let _ = conf.credential_helpers();
    let cache = Default::default();
    for input in &inputs {
        if let Err(e) = conf.resolve(input, &cache) {
            assert_one_line("resolve", &e.to_string());
        }
        if let Ok(key) = RegistryKey::parse(input) {
            let _ = conf.blocked_prefix(&key);
            let _ = conf.is_insecure_host(key.host());
        }
    }
}

/// ocicred's own `config.toml`: parses or fails in one line naming the file.
pub fn check_ocicred_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("/home/u/.config/ocicred/config.toml");
    if let Err(e) = ocicred::ocicred_config::parse(&text, path) {
        let shown = e.to_string();
        assert_one_line("config.toml", &shown);
        assert!(
            shown.starts_with("/home/u/.config/ocicred/config.toml"),
            "{shown}"
        );
    }
}

/// `[[route]]` matching (README.md#routes-wildcard-and-per-registry-sources): the first line is a
/// `match` pattern, every further line a pattern too and a key. Parsing never panics and fails in
/// one line; a pattern matches the host it names (with every `*` filled in) and never a key that
/// names no repository when it has a path; the selected route matches, and no matching route is
/// more specific or earlier with the same rank.
pub fn check_route_match(data: &[u8]) {
    use ocicred::route::{parse_pattern, select_patterns};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines: Vec<&str> = text.lines().take(16).collect();
    let mut patterns = Vec::new();
    for line in &lines {
        match parse_pattern(line) {
            Ok(p) => {
                // Its own host with each `*` filled in.
                let filled = line
                    .split('/')
                    .next()
                    .unwrap_or("")
                    .split('.')
                    .map(|l| if l == "*" { "x" } else { l })
                    .collect::<Vec<_>>()
                    .join(".");
                if let Ok(k) = RegistryKey::parse(&filled)
                    && !line.contains('/')
                {
                    assert!(p.matches(&k), "{line:?} does not match {filled:?}");
                }
                patterns.push(p);
            }
            Err(e) => assert_one_line("parse_pattern", &e),
        }
    }
    for line in &lines {
        let Ok(key) = RegistryKey::parse(line) else {
            continue;
        };
        for p in &patterns {
            if p.path_len() > 0 {
                assert!(!p.matches(&key.host_only()), "{p:?} matched a bare host");
            }
        }
        let rank = |p: &ocicred::route::Pattern| (p.path_len(), usize::MAX - p.wildcards());
        match select_patterns(&patterns, &key) {
            None => assert!(patterns.iter().all(|p| !p.matches(&key))),
            Some(i) => {
                assert!(patterns[i].matches(&key));
                for (j, p) in patterns.iter().enumerate() {
                    if p.matches(&key) {
                        assert!(rank(p) <= rank(&patterns[i]), "{j} beats {i} for {key}");
                        if rank(p) == rank(&patterns[i]) {
                            assert!(j >= i, "{j} ties {i} and comes first");
                        }
                    }
                }
            }
        }
    }
}

/// A message from the D-Bus session bus, read by the keyring's hand-written reply reader
/// (`read_message`, then the body readers the fast `get` path uses, whatever the signature
/// says): no panic and no read past the input; a message never claims more bytes than it was
/// given; every reader error is one of the fixed texts (never bytes from the bus). Then a
/// method return built from the input reads back exactly.
pub fn check_dbus_reply(data: &[u8]) {
    dbus::check(data);
}

mod dbus {
    use ocicred::source::keyring::dbus::{W, read_message};

    const FIXED: [&str; 5] = [
        "short message from the bus",
        "bad string from the bus",
        "bad signature from the bus",
        "bad message from the bus",
        "message from the bus too large",
    ];

    fn fixed<T>(r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                assert!(
                    FIXED.contains(&e.as_str()) || e == "unexpected header field from the bus",
                    "{e:?}"
                );
                None
            }
        }
    }

    pub fn check(data: &[u8]) {
        if let Some((m, used)) = fixed(read_message(data)) {
            assert!(
                (16..=data.len()).contains(&used),
                "{used} of {}",
                data.len()
            );
            let _ = m.reply.sig();
            // OpenSession: `vo`.
            let mut c = m.reply.reader();
            let _ = fixed(c.sig())
                .and_then(|_| fixed(c.str()))
                .and_then(|_| fixed(c.str()));
            // SearchItems: `aoao`.
            let mut c = m.reply.reader();
            let _ = fixed(c.paths()).and_then(|_| fixed(c.paths()));
            // GetSecret: `(oayays)`.
            let mut c = m.reply.reader();
            let _ = fixed(c.str())
                .and_then(|_| fixed(c.bytes().map(<[u8]>::to_vec)))
                .and_then(|_| fixed(c.bytes().map(<[u8]>::to_vec)));
            let mut c = m.reply.reader();
            let _ = fixed(c.align(8))
                .and_then(|_| fixed(c.byte()))
                .and_then(|_| fixed(c.u32()));
        }
        round_trip(data);
    }

    /// A little-endian method return answering serial 7 with body `s ay` built from `data`.
    fn round_trip(data: &[u8]) {
        let split = data.first().map_or(0, |b| *b as usize).min(data.len());
        let text = String::from_utf8_lossy(&data[..split]).replace('\0', "");
        let blob = &data[split..];
        let mut body = W(Vec::new());
        body.str(&text);
        body.u32(blob.len() as u32);
        body.0.extend_from_slice(blob);
        let mut m = W(vec![b'l', 2, 0, 1]);
        m.u32(body.0.len() as u32);
        m.u32(99);
        m.u32(0);
        m.align(8);
        m.0.extend_from_slice(&[5, 1, b'u', 0]);
        m.u32(7);
        m.align(8);
        m.0.extend_from_slice(&[8, 1, b'g', 0]);
        m.sig("say");
        let fields = (m.0.len() - 16) as u32;
        m.0[12..16].copy_from_slice(&fields.to_le_bytes());
        m.align(8);
        m.0.extend_from_slice(&body.0);
        let mut wire = m.0.clone();
        wire.extend_from_slice(b"next message");
        let (msg, used) = read_message(&wire).expect("a well-formed reply reads");
        assert_eq!(used, m.0.len());
        assert_eq!(msg.reply_to, Some(7));
        assert!(msg.error.is_none());
        assert_eq!(msg.reply.sig(), "say");
        let mut c = msg.reply.reader();
        assert_eq!(c.str().unwrap(), text);
        assert_eq!(c.bytes().unwrap(), blob);
        // Cut short anywhere, it is an error, never a panic.
        for cut in [0, 1, 15, 16, m.0.len() / 2, m.0.len() - 1] {
            assert!(read_message(&m.0[..cut]).is_err(), "cut at {cut}");
        }
    }
}
