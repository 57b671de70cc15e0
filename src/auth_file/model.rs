//! The owned auth-file model ([`AuthJson`]): the whole file parsed, for lookups over every
//! entry (`list`, `doctor`) and for edits.
//!
//! It owns reading a parsed file (which entry answers a key, whether a helper must be asked
//! instead) and editing it (upsert and remove entries) while keeping every unknown field and
//! the order of everything else. Pure: it works on JSON values; reading the file from disk is
//! in [`super::load`], one key's read-only lookup in [`super::lookup`]. Field names match
//! case-insensitively, as Go's `encoding/json` does.

use serde_json::{Map, Value};

use super::AuthFileFormat;
use crate::credential::{AuthFieldError, Credential, decode_auth, encode_auth};
use crate::registry_key::RegistryKey;
use crate::secret::Secret;

/// A parsed auth file. The JSON object is kept whole so that a rewrite loses nothing.
/// `Debug` shows the layout and the top-level field names, never a value (they hold secrets).
#[derive(Clone, Default, PartialEq)]
pub struct AuthJson {
    pub(super) root: Map<String, Value>,
    pub(super) format: Option<AuthFileFormat>,
}

impl std::fmt::Debug for AuthJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthJson")
            .field("format", &self.format)
            .field("fields", &self.root.keys().collect::<Vec<_>>())
            .field("entries", &self.auths().map_or(0, Map::len))
            .finish()
    }
}

/// What one file says about a key.
#[derive(Debug, PartialEq)]
pub enum FileAnswer {
    /// An entry with a usable credential, under this key as written in the file.
    Found { key: String, credential: Credential },
    /// The file sends this registry to `docker-credential-<helper>` (`credHelpers`).
    Helper { helper: String },
    /// The file names a store for everything (`credsStore`); consult it, then `auths`.
    Store { helper: String },
    /// Nothing usable here; go on with the next file.
    Nothing,
}

/// Why an entry could not be read.
#[derive(Debug, PartialEq, Eq)]
pub struct EntryError {
    /// The key as written in the file.
    pub key: String,
    /// What is wrong (never the value).
    pub message: String,
}

/// The fields of an `auths` entry that hold (part of) a credential.
const SECRET_FIELDS: &[&str] = &[
    "auth",
    "username",
    "password",
    "identitytoken",
    "registrytoken",
];

/// Looks up a field by name, ignoring ASCII case; an exact match wins.
pub(super) fn field<'a>(
    map: &'a Map<String, Value>,
    name: &str,
) -> Option<(&'a String, &'a Value)> {
    map.get_key_value(name)
        .or_else(|| map.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(name)))
}

/// The fields that hold maps. docker and podman refuse a file where one is something else
/// (`"auths": ["keep-me"]`, `"credHelpers": 42`); so does ocicred, and it never rewrites it.
const MAP_FIELDS: [&str; 2] = ["auths", "credHelpers"];

/// The first map field (any spelling, in file order) whose value is neither an object nor
/// `null` (which Go reads as an empty map): its name as written and what it is instead.
pub fn bad_map_field(root: &Map<String, Value>) -> Option<(&str, &'static str)> {
    root.iter()
        .filter(|(k, _)| MAP_FIELDS.iter().any(|f| k.eq_ignore_ascii_case(f)))
        .find_map(|(k, v)| {
            let kind = match v {
                Value::Object(_) | Value::Null => return None,
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
            };
            Some((k.as_str(), kind))
        })
}

/// [`bad_map_field`] as the one-line message a user reads (the type, never the value).
pub fn bad_map_field_message(name: &str, kind: &str) -> String {
    format!("{name:?} is {kind}, not a JSON object (docker and podman refuse such a file too)")
}

/// [`bad_map_field`] as a parse error.
pub(super) fn section_error(root: &Map<String, Value>) -> Option<serde_json::Error> {
    bad_map_field(root)
        .map(|(name, kind)| serde::de::Error::custom(bad_map_field_message(name, kind)))
}

fn str_field<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    field(map, name)
        .and_then(|(_, v)| v.as_str())
        .filter(|s| !s.is_empty())
}

impl AuthJson {
    /// Parses a file's bytes. A 0-byte (or all-whitespace) file is an empty file.
    pub fn parse(bytes: &[u8], format: AuthFileFormat) -> Result<AuthJson, serde_json::Error> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(AuthJson {
                root: Map::new(),
                format: Some(format),
            });
        }
        // Parsed as any value first: serde_json's "invalid type" errors quote the value, and a
        // file whose top level is a string may hold a secret.
        let root = match serde_json::from_slice::<Value>(bytes)? {
            Value::Object(root) => root,
            _ => {
                return Err(serde::de::Error::custom(
                    "the top level is not a JSON object",
                ));
            }
        };
        if format == AuthFileFormat::Auths
            && let Some(e) = section_error(&root)
        {
            return Err(e);
        }
        Ok(AuthJson {
            root,
            format: Some(format),
        })
    }

    pub(super) fn is_legacy(&self) -> bool {
        self.format == Some(AuthFileFormat::Legacy)
    }

    /// The map of entries (`auths`, or the top level of a legacy file).
    fn auths(&self) -> Option<&Map<String, Value>> {
        if self.is_legacy() {
            return Some(&self.root);
        }
        field(&self.root, "auths").and_then(|(_, v)| v.as_object())
    }

    /// `credHelpers` as (key, helper) pairs.
    pub fn cred_helpers(&self) -> Vec<(&str, &str)> {
        if self.is_legacy() {
            return Vec::new();
        }
        field(&self.root, "credHelpers")
            .and_then(|(_, v)| v.as_object())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `credsStore`, if set.
    pub fn creds_store(&self) -> Option<&str> {
        if self.is_legacy() {
            return None;
        }
        str_field(&self.root, "credsStore")
    }

    /// The `credHelpers` entry for a registry host, comparing normalised hosts.
    pub fn helper_for(&self, key: &RegistryKey) -> Option<&str> {
        let name = self.helper_key_for(key)?;
        self.cred_helpers()
            .into_iter()
            .find(|(k, _)| *k == name)
            .map(|(_, h)| h)
    }

    /// Every `auths` key with its normalised form (keys that do not parse are skipped).
    fn normalised_keys(&self) -> Vec<(RegistryKey, &str)> {
        let Some(auths) = self.auths() else {
            return Vec::new();
        };
        let legacy = self.is_legacy();
        auths
            .keys()
            .filter_map(|k| Some((normalise_key(k, legacy)?, k.as_str())))
            .collect()
    }

    /// Every `auths` key, normalised, in file order (entries that hold nothing included).
    pub fn keys(&self) -> Vec<RegistryKey> {
        self.normalised_keys().into_iter().map(|(k, _)| k).collect()
    }

    /// The key as written in the file that answers `candidate`: an exact spelling first, then
    /// the first key in file order that normalises to it.
    fn entry_key_for<'a>(
        &'a self,
        candidate: &RegistryKey,
        normalised: &mut Option<Vec<(RegistryKey, &'a str)>>,
    ) -> Option<&'a str> {
        let auths = self.auths()?;
        let spelled = candidate.to_string();
        if let Some((k, _)) = auths.get_key_value(&spelled) {
            return Some(k);
        }
        let all = normalised.get_or_insert_with(|| self.normalised_keys());
        all.iter().find(|(n, _)| n == candidate).map(|(_, k)| *k)
    }

    /// What this file says about `key` (README.md#where-credentials-are-looked-up): `credHelpers`
    /// for the host, then `credsStore`, then the most specific existing `auths` key, whose entry
    /// decides.
    pub fn lookup(&self, key: &RegistryKey) -> Result<FileAnswer, EntryError> {
        match self.helper_or_store(key) {
            Some(answer) => Ok(answer),
            None => self.lookup_auths(key),
        }
    }

    /// The `credHelpers`/`credsStore` part of [`AuthJson::lookup`] alone.
    pub(super) fn helper_or_store(&self, key: &RegistryKey) -> Option<FileAnswer> {
        if let Some(helper) = self.helper_for(key) {
            return Some(FileAnswer::Helper {
                helper: helper.to_string(),
            });
        }
        self.creds_store().map(|store| FileAnswer::Store {
            helper: store.to_string(),
        })
    }

    /// The `auths` part of [`AuthJson::lookup`] alone.
    pub fn lookup_auths(&self, key: &RegistryKey) -> Result<FileAnswer, EntryError> {
        let mut normalised = None;
        let candidates = if self.is_legacy() {
            vec![key.host_only()]
        } else {
            key.candidates()
        };
        for candidate in candidates {
            if let Some(entry_key) = self.entry_key_for(&candidate, &mut normalised) {
                let entry = self.auths().and_then(|a| a.get(entry_key));
                return match decode_entry(entry_key, entry)? {
                    Some(credential) => Ok(FileAnswer::Found {
                        key: entry_key.to_string(),
                        credential,
                    }),
                    None => Ok(FileAnswer::Nothing),
                };
            }
        }
        Ok(FileAnswer::Nothing)
    }

    /// Every entry with a usable credential: (normalised key, user name). Entries that hold
    /// nothing (placeholders for a helper) and entries that do not decode are left out.
    pub fn entries(&self) -> Vec<(String, String)> {
        let Some(auths) = self.auths() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in auths {
            let Some(key) = normalise_key(k, self.is_legacy()) else {
                continue;
            };
            if let Ok(Some(cred)) = decode_entry(k, Some(v)) {
                out.push((key.to_string(), cred.username().to_string()));
            }
        }
        out
    }

    /// Writes `cred` under `key` (its canonical spelling), keeping the entry's other fields.
    pub fn upsert(&mut self, key: &RegistryKey, cred: &Credential) {
        self.upsert_as(&key.to_string(), cred);
    }

    /// Writes `cred` under the key spelled exactly `name` (docker's `https://index.docker.io/v1/`
    /// for Docker Hub in docker's config.json), keeping the entry's other fields.
    pub fn upsert_as(&mut self, name: &str, cred: &Credential) {
        let auths = self.auths_mut();
        let entry = auths
            .entry(name.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(entry) = entry else {
            unreachable!("entry was just made an object")
        };
        // Drop differently-cased spellings of the fields we own, so one value remains.
        entry.retain(|k, _| {
            !(k.eq_ignore_ascii_case("auth") || k.eq_ignore_ascii_case("identitytoken"))
                || k == "auth"
                || k == "identitytoken"
        });
        match cred {
            Credential::Basic { username, password } => {
                entry.insert(
                    "auth".into(),
                    Value::String(encode_auth(username, password.expose())),
                );
                entry.remove("identitytoken");
            }
            Credential::IdentityToken { token } => {
                entry.insert(
                    "auth".into(),
                    Value::String(encode_auth(crate::credential::IDENTITY_TOKEN_USER, "")),
                );
                entry.insert(
                    "identitytoken".into(),
                    Value::String(token.expose().clone()),
                );
            }
        }
    }

    /// Removes every `auths` key that normalises to `key`; the number removed.
    pub fn remove(&mut self, key: &RegistryKey) -> usize {
        let doomed: Vec<String> = self
            .normalised_keys()
            .into_iter()
            .filter(|(n, _)| n == key)
            .map(|(_, k)| k.to_string())
            .collect();
        if doomed.is_empty() {
            return 0;
        }
        let auths = self.auths_mut();
        for k in &doomed {
            auths.shift_remove(k);
        }
        doomed.len()
    }

    fn auths_mut(&mut self) -> &mut Map<String, Value> {
        if self.is_legacy() {
            return &mut self.root;
        }
        let name = field(&self.root, "auths")
            .filter(|(_, v)| v.is_object())
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| "auths".to_string());
        let slot = self
            .root
            .entry(name)
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        slot.as_object_mut().expect("auths was just made an object")
    }

    /// Why this file cannot be edited safely, if it cannot: `auths` or `credHelpers` that is
    /// not an object, a `credsStore` that is not a string, a helper name that is not a string.
    pub fn shape_problem(&self) -> Option<String> {
        if self.is_legacy() {
            return None;
        }
        for name in ["auths", "credHelpers"] {
            for (k, v) in self
                .root
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            {
                match v {
                    Value::Object(m) if name == "credHelpers" => {
                        if let Some((h, _)) = m.iter().find(|(_, v)| !v.is_string()) {
                            return Some(format!("credHelpers entry {h:?} is not a string"));
                        }
                    }
                    // `null` is what Go reads as an empty map.
                    Value::Object(_) | Value::Null => {}
                    _ => return Some(format!("{k:?} is not a JSON object")),
                }
            }
        }
        self.root
            .iter()
            .find(|(k, v)| k.eq_ignore_ascii_case("credsStore") && !v.is_string())
            .map(|(k, _)| format!("{k:?} is not a string"))
    }

    /// Sets `credsStore` (under the spelling already in the file), or removes it for `None`.
    pub fn set_creds_store(&mut self, helper: Option<&str>) {
        let name = field(&self.root, "credsStore")
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| "credsStore".to_string());
        match helper {
            Some(h) => {
                self.root.insert(name, Value::String(h.to_string()));
            }
            None => {
                self.root.shift_remove(&name);
            }
        }
    }

    /// The `credHelpers` key, as written, that [`AuthJson::helper_for`] would use for `key`.
    pub fn helper_key_for(&self, key: &RegistryKey) -> Option<String> {
        let host = key.host();
        let helpers = self.cred_helpers();
        helpers
            .iter()
            .find(|(k, _)| *k == host)
            .or_else(|| {
                helpers.iter().find(|(k, _)| {
                    RegistryKey::parse(k).is_ok_and(|p| !p.is_namespaced() && p.host() == host)
                })
            })
            .map(|(k, _)| k.to_string())
    }

    /// Sets `credHelpers[name]` (creating `credHelpers`), or removes the entry for `None`
    /// (and `credHelpers` itself when that leaves it empty and ocicred's setup made it).
    pub fn set_cred_helper(&mut self, name: &str, helper: Option<&str>) {
        let field_name = field(&self.root, "credHelpers")
            .filter(|(_, v)| v.is_object())
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| "credHelpers".to_string());
        match helper {
            Some(h) => {
                let slot = self
                    .root
                    .entry(field_name)
                    .or_insert_with(|| Value::Object(Map::new()));
                if slot.is_null() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(m) = slot {
                    m.insert(name.to_string(), Value::String(h.to_string()));
                }
            }
            None => {
                let now_empty = match self.root.get_mut(&field_name) {
                    Some(Value::Object(m)) => {
                        m.shift_remove(name);
                        m.is_empty()
                    }
                    _ => false,
                };
                if now_empty {
                    self.root.shift_remove(&field_name);
                }
            }
        }
    }

    /// Every `auths` entry that holds a credential in the file itself, in file order: the key
    /// as written and what it holds (`None`: it holds secret fields that do not decode).
    pub fn plain_text_entries(&self) -> Vec<(String, Option<Credential>)> {
        let Some(auths) = self.auths() else {
            return Vec::new();
        };
        auths
            .iter()
            .filter(|(_, v)| {
                v.as_object().is_some_and(|e| {
                    e.iter().any(|(f, v)| {
                        SECRET_FIELDS.iter().any(|s| f.eq_ignore_ascii_case(s))
                            && v.as_str().is_some_and(|s| !s.is_empty())
                    })
                })
            })
            .map(|(k, v)| (k.clone(), decode_entry(k, Some(v)).ok().flatten()))
            .collect()
    }

    /// Removes the secret fields of the `auths` entry spelled `name`, leaving the `{}`
    /// placeholder docker writes for a helper (other fields of the entry are kept).
    pub fn clear_secrets(&mut self, name: &str) {
        if let Some(Value::Object(entry)) = self.auths_mut().get_mut(name) {
            entry.retain(|f, _| !SECRET_FIELDS.iter().any(|s| f.eq_ignore_ascii_case(s)));
        }
    }

    /// The file's bytes, tab-indented like the Go tools write it, with a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
        serde::Serialize::serialize(&self.root, &mut ser).expect("a JSON map always serialises");
        out.push(b'\n');
        out
    }
}

/// The key an `auths` key names: its normalised form, or in a legacy `.dockercfg` (whose keys
/// are registries, never namespaces) only its host, as containers/image reads them.
pub(super) fn normalise_key(k: &str, legacy: bool) -> Option<RegistryKey> {
    let key = RegistryKey::parse(k).ok()?;
    Some(if legacy { key.host_only() } else { key })
}

/// Reads one `auths` entry: `identitytoken` (an identity token), else `auth`, else
/// `username`/`password`. `Ok(None)` when it holds nothing usable, which includes an `auth` that is
/// not valid base64 or has no `:`: such an entry is skipped as containers/image skips it
/// (README.md#where-credentials-are-looked-up: the search goes on in the next file; `doctor`
/// reports the entry).
pub(super) fn decode_entry(
    _key: &str,
    entry: Option<&Value>,
) -> Result<Option<Credential>, EntryError> {
    let Some(Value::Object(entry)) = entry else {
        return Ok(None);
    };
    if let Some(token) = str_field(entry, "identitytoken") {
        return Ok(Some(Credential::IdentityToken {
            token: Secret::new(token.to_string()),
        }));
    }
    if let Some(auth) = str_field(entry, "auth") {
        return Ok(match decode_auth(auth) {
            Ok(Some((username, password))) => Some(Credential::Basic { username, password }),
            Ok(None) | Err(AuthFieldError::Base64 | AuthFieldError::Shape) => None,
        });
    }
    match (str_field(entry, "username"), str_field(entry, "password")) {
        (Some(u), Some(p)) => Ok(Some(Credential::basic(u, p))),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> AuthJson {
        AuthJson::parse(text.as_bytes(), AuthFileFormat::Auths).unwrap()
    }

    fn key(s: &str) -> RegistryKey {
        RegistryKey::parse(s).unwrap()
    }

    fn user_of(f: &AuthJson, k: &str) -> Option<String> {
        match f.lookup(&key(k)).unwrap() {
            FileAnswer::Found { credential, .. } => Some(credential.username().to_string()),
            _ => None,
        }
    }

    const ALICE: &str = "YWxpY2U6c2VjcmV0"; // alice:secret
    const BOB: &str = "Ym9iOnB3"; // bob:pw

    #[test]
    fn map_fields_that_are_not_maps_are_refused() {
        // Finding 7: never read as "no entries", so never rewritten as an empty map.
        for (text, msg) in [
            (
                r#"{"auths":["keep-me"],"x":1}"#,
                r#""auths" is an array, not a JSON object"#,
            ),
            (
                r#"{"auths":42}"#,
                r#""auths" is a number, not a JSON object"#,
            ),
            (
                r#"{"auths":{},"CredHelpers":"s3cret"}"#,
                r#""CredHelpers" is a string, not a JSON object"#,
            ),
            (
                r#"{"credHelpers":true,"auths":7}"#,
                r#""credHelpers" is a boolean, not a JSON object"#,
            ),
        ] {
            let e = AuthJson::parse(text.as_bytes(), AuthFileFormat::Auths)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(msg), "{text}: {e}");
            assert!(!e.contains("s3cret") && !e.contains("keep-me"), "{e}");
        }
        // null is an empty map (as in Go); a legacy file's top level is the map itself.
        assert!(
            AuthJson::parse(
                br#"{"auths":null,"credHelpers":null}"#,
                AuthFileFormat::Auths
            )
            .is_ok()
        );
        assert!(AuthJson::parse(br#"{"auths":42}"#, AuthFileFormat::Legacy).is_ok());
    }

    #[test]
    fn most_specific_key_wins() {
        let f = file(&format!(
            r#"{{"auths":{{"quay.io":{{"auth":"{ALICE}"}},"quay.io/org":{{"auth":"{BOB}"}}}}}}"#
        ));
        assert_eq!(user_of(&f, "quay.io/org/repo/img").as_deref(), Some("bob"));
        assert_eq!(user_of(&f, "quay.io/other").as_deref(), Some("alice"));
        assert_eq!(user_of(&f, "quay.io").as_deref(), Some("alice"));
        assert_eq!(
            user_of(&f, "quay.io/organisation").as_deref(),
            Some("alice")
        );
    }

    #[test]
    fn empty_specific_entry_hides_broader_keys() {
        let f = file(&format!(
            r#"{{"auths":{{"quay.io":{{"auth":"{ALICE}"}},"quay.io/org":{{}}}}}}"#
        ));
        assert_eq!(
            f.lookup(&key("quay.io/org/x")).unwrap(),
            FileAnswer::Nothing
        );
    }

    #[test]
    fn url_and_hub_spellings_answer() {
        let f = file(&format!(
            r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{ALICE}"}},"https://h:5000/v2/":{{"auth":"{BOB}"}}}}}}"#
        ));
        assert_eq!(user_of(&f, "docker.io").as_deref(), Some("alice"));
        assert_eq!(
            user_of(&f, "registry-1.docker.io").as_deref(),
            Some("alice")
        );
        assert_eq!(user_of(&f, "h:5000/ns/repo").as_deref(), Some("bob"));
        assert_eq!(user_of(&f, "h:5001"), None);
    }

    #[test]
    fn field_names_are_case_insensitive() {
        let f = file(&format!(r#"{{"AUTHS":{{"h":{{"Auth":"{ALICE}"}}}}}}"#));
        assert_eq!(user_of(&f, "h").as_deref(), Some("alice"));
    }

    #[test]
    fn helpers_before_auths() {
        let f = file(&format!(
            r#"{{"auths":{{"h":{{"auth":"{ALICE}"}}}},"credHelpers":{{"h":"pass"}},"credsStore":"desktop"}}"#
        ));
        assert_eq!(
            f.lookup(&key("h/ns")).unwrap(),
            FileAnswer::Helper {
                helper: "pass".into()
            }
        );
        assert_eq!(
            f.lookup(&key("g")).unwrap(),
            FileAnswer::Store {
                helper: "desktop".into()
            }
        );
        assert_eq!(user_of_auths(&f, "h").as_deref(), Some("alice"));
    }

    fn user_of_auths(f: &AuthJson, k: &str) -> Option<String> {
        match f.lookup_auths(&key(k)).unwrap() {
            FileAnswer::Found { credential, .. } => Some(credential.username().to_string()),
            _ => None,
        }
    }

    #[test]
    fn identity_tokens_and_bad_base64() {
        let f =
            file(r#"{"auths":{"h":{"auth":"PHRva2VuPjo=","identitytoken":"REFRESH"}},"bad":{}}"#);
        match f.lookup(&key("h")).unwrap() {
            FileAnswer::Found {
                credential: Credential::IdentityToken { token },
                ..
            } => {
                assert_eq!(token.expose(), "REFRESH")
            }
            other => panic!("{other:?}"),
        }
        // An `auth` that is not base64, or not `user:password`, is skipped like an empty entry: it
        // hides the broader keys of its file, and the search goes on
        // (README.md#where-credentials-are-looked-up).
        for bad in ["!!!", "YWxpY2U="] {
            let f = file(&format!(
                r#"{{"auths":{{"h":{{"auth":"{ALICE}"}},"h/ns":{{"auth":"{bad}"}}}}}}"#
            ));
            assert_eq!(f.lookup(&key("h/ns/x")).unwrap(), FileAnswer::Nothing);
            assert_eq!(user_of(&f, "h/other").as_deref(), Some("alice"));
        }
    }

    #[test]
    fn legacy_format_is_the_auths_map() {
        let f = AuthJson::parse(
            format!(r#"{{"https://h:5000":{{"auth":"{ALICE}","email":"x"}}}}"#).as_bytes(),
            AuthFileFormat::Legacy,
        )
        .unwrap();
        assert_eq!(user_of(&f, "h:5000/ns").as_deref(), Some("alice"));
    }

    #[test]
    fn legacy_keys_name_registries_only() {
        // containers/image cuts every `.dockercfg` key at its first `/`.
        let f = AuthJson::parse(
            format!(r#"{{"ghcr.io/org/repo":{{"auth":"{ALICE}"}}}}"#).as_bytes(),
            AuthFileFormat::Legacy,
        )
        .unwrap();
        assert_eq!(user_of(&f, "ghcr.io").as_deref(), Some("alice"));
        assert_eq!(user_of(&f, "ghcr.io/other/x").as_deref(), Some("alice"));
        assert_eq!(f.keys(), [key("ghcr.io")]);
        assert_eq!(f.entries(), [("ghcr.io".to_string(), "alice".to_string())]);
    }

    #[test]
    fn edits_keep_unknown_fields_and_order() {
        let mut f = file(&format!(
            r#"{{"zz":1,"auths":{{"b":{{"auth":"{BOB}","email":"e"}},"http://a":{{"auth":"{ALICE}"}},"https://a/v2/":{{}}}},"x":{{"y":true}}}}"#
        ));
        f.upsert(&key("b"), &Credential::basic("alice", "secret"));
        f.upsert(
            &key("https://index.docker.io/v1/"),
            &Credential::from_docker("<token>".into(), "T".into()),
        );
        assert_eq!(f.remove(&key("a")), 2);
        assert_eq!(f.remove(&key("a")), 0);
        let text = String::from_utf8(f.to_bytes()).unwrap();
        assert_eq!(
            text,
            "{\n\t\"zz\": 1,\n\t\"auths\": {\n\t\t\"b\": {\n\t\t\t\"auth\": \"YWxpY2U6c2VjcmV0\",\n\t\t\t\"email\": \"e\"\n\t\t},\n\t\t\"docker.io\": {\n\t\t\t\"auth\": \"PHRva2VuPjo=\",\n\t\t\t\"identitytoken\": \"T\"\n\t\t}\n\t},\n\t\"x\": {\n\t\t\"y\": true\n\t}\n}\n"
        );
    }

    #[test]
    fn empty_and_null_files() {
        let f = AuthJson::parse(b"", AuthFileFormat::Auths).unwrap();
        assert_eq!(f.lookup(&key("h")).unwrap(), FileAnswer::Nothing);
        let f = file(r#"{"auths":null}"#);
        assert_eq!(f.lookup(&key("h")).unwrap(), FileAnswer::Nothing);
        assert!(AuthJson::parse(b"[1]", AuthFileFormat::Auths).is_err());
    }

    #[test]
    fn debug_shows_no_value() {
        let f = file(
            r#"{"auths":{"h":{"auth":"aHVudGVyMjpodW50ZXIy","identitytoken":"hunter2"}},"x":"hunter2"}"#,
        );
        let shown = format!("{f:?} {f:#?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("aHVudGVy"),
            "{shown}"
        );
        assert!(shown.contains("entries: 1"), "{shown}");
    }

    #[test]
    fn a_non_object_file_is_refused_without_quoting_it() {
        for text in [&br#""hunter2-secret""#[..], b"[\"hunter2-secret\"]", b"7"] {
            let e = AuthJson::parse(text, AuthFileFormat::Auths).unwrap_err();
            let shown = e.to_string();
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("not a JSON object"), "{shown}");
        }
    }

    #[test]
    fn entries_list_usable_credentials_only() {
        let f = file(&format!(
            r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{ALICE}"}},"q.io/org":{{"auth":"{BOB}"}},"h":{{}}}}}}"#
        ));
        assert_eq!(
            f.entries(),
            [
                ("docker.io".to_string(), "alice".to_string()),
                ("q.io/org".into(), "bob".into())
            ]
        );
    }
}
