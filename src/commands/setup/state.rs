//! What `setup docker` replaced, so that `--undo` can put it back.
//!
//! docker rewrites its `config.json` from its own struct on every `docker login`, dropping
//! fields it does not know, so the previous values cannot live there. They live in
//! `$XDG_CONFIG_HOME/ocicred/setup-state.json` (written like every other file: locked,
//! atomic, 0600), per docker config file:
//!
//! ```json
//! {"docker": {"/home/me/.docker/config.json": {
//!     "credsStore": null,
//!     "credHelpers": {"ghcr.io": "gcloud"}}}}
//! ```
//!
//! A value is what was there before setup replaced it with `ocicred` (`null`: nothing). No
//! secret is ever recorded: only helper names. Unknown fields are kept.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::env::Env;
use crate::error::{Error, Result};

/// The name of the state file in ocicred's config directory.
pub const FILE_NAME: &str = "setup-state.json";

/// The state file's path: [`FILE_NAME`] in ocicred's config directory. Errors: no HOME or
/// XDG_CONFIG_HOME to find that directory.
pub fn path(env: &Env) -> Result<PathBuf> {
    env.ocicred_config_file()
        .and_then(|p| p.parent().map(|d| d.join(FILE_NAME)))
        .ok_or_else(|| {
            Error::InvalidInput(
                "cannot find ocicred's config directory: set HOME or XDG_CONFIG_HOME".into(),
            )
        })
}

/// What setup replaced in one docker config file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// `Some(previous)` when setup set `credsStore` (previous `None`: there was none).
    pub creds_store: Option<Option<String>>,
    /// `credHelpers` keys setup set, with the helper each had before (`None`: none).
    pub cred_helpers: Vec<(String, Option<String>)>,
}

impl Record {
    pub fn is_empty(&self) -> bool {
        self.creds_store.is_none() && self.cred_helpers.is_empty()
    }

    /// The recorded previous helper for a `credHelpers` key.
    pub fn helper(&self, key: &str) -> Option<&Option<String>> {
        self.cred_helpers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Records (or replaces the record of) a `credHelpers` key.
    pub fn set_helper(&mut self, key: &str, previous: Option<String>) {
        self.forget_helper(key);
        self.cred_helpers.push((key.to_string(), previous));
    }

    pub fn forget_helper(&mut self, key: &str) {
        self.cred_helpers.retain(|(k, _)| k != key);
    }
}

/// The whole state file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct State {
    root: Map<String, Value>,
}

fn opt_str(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn opt_value(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

impl State {
    /// Parses the file; an empty file is an empty state. Anything that is not the layout
    /// above is an error (the file is then never rewritten).
    pub fn parse(bytes: &[u8]) -> Result<State, String> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(State::default());
        }
        let root = match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err("the top level is not a JSON object".into()),
            Err(e) => return Err(e.to_string()),
        };
        let state = State { root };
        if let Some(d) = state.root.get("docker") {
            let Some(files) = d.as_object() else {
                return Err("\"docker\" is not a JSON object".into());
            };
            for (file, rec) in files {
                let ok = rec.as_object().is_some_and(|r| {
                    r.get("credsStore")
                        .is_none_or(|v| v.is_null() || v.is_string())
                        && r.get("credHelpers").is_none_or(|h| {
                            h.as_object()
                                .is_some_and(|h| h.values().all(|v| v.is_null() || v.is_string()))
                        })
                });
                if !ok {
                    return Err(format!("the record for {file:?} is not understood"));
                }
            }
        }
        Ok(state)
    }

    /// The record for one docker config file (by its path).
    pub fn docker(&self, file: &str) -> Record {
        let Some(rec) = self
            .root
            .get("docker")
            .and_then(|d| d.get(file))
            .and_then(Value::as_object)
        else {
            return Record::default();
        };
        Record {
            creds_store: rec.get("credsStore").map(opt_str),
            cred_helpers: rec
                .get("credHelpers")
                .and_then(Value::as_object)
                .map(|h| h.iter().map(|(k, v)| (k.clone(), opt_str(v))).collect())
                .unwrap_or_default(),
        }
    }

    /// Replaces the record for one docker config file; an empty record removes it.
    pub fn set_docker(&mut self, file: &str, rec: &Record) {
        let docker = self
            .root
            .entry("docker")
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(files) = docker else {
            return;
        };
        if rec.is_empty() {
            files.shift_remove(file);
        } else {
            let mut m = Map::new();
            if let Some(prev) = &rec.creds_store {
                m.insert("credsStore".into(), opt_value(prev));
            }
            if !rec.cred_helpers.is_empty() {
                let h: Map<String, Value> = rec
                    .cred_helpers
                    .iter()
                    .map(|(k, v)| (k.clone(), opt_value(v)))
                    .collect();
                m.insert("credHelpers".into(), Value::Object(h));
            }
            files.insert(file.to_string(), Value::Object(m));
        }
        if files.is_empty() {
            self.root.shift_remove("docker");
        }
    }

    /// True when there is nothing left to remember.
    pub fn is_empty(&self) -> bool {
        self.root.is_empty()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(&self.root).expect("a JSON map always serialises");
        out.push(b'\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_unknown_fields() {
        let mut s = State::parse(br#"{"other":1,"docker":{"/a":{"credsStore":"pass"}}}"#).unwrap();
        assert_eq!(s.docker("/a").creds_store, Some(Some("pass".into())));
        assert_eq!(s.docker("/b"), Record::default());
        let mut rec = Record::default();
        rec.set_helper("ghcr.io", None);
        rec.set_helper("quay.io", Some("gcloud".into()));
        s.set_docker("/b", &rec);
        let again = State::parse(&s.to_bytes()).unwrap();
        assert_eq!(again.docker("/b"), rec);
        assert_eq!(again.docker("/a").creds_store, Some(Some("pass".into())));
        let mut again = again;
        again.set_docker("/a", &Record::default());
        again.set_docker("/b", &Record::default());
        let v: Value = serde_json::from_slice(&again.to_bytes()).unwrap();
        assert_eq!(v, serde_json::json!({"other": 1}));
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        for bad in [
            &b"[]"[..],
            b"{\"docker\":[]}",
            b"{\"docker\":{\"/a\":{\"credsStore\":1}}}",
            b"{\"docker\":{\"/a\":{\"credHelpers\":{\"h\":[]}}}}",
            b"{",
        ] {
            assert!(
                State::parse(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(State::parse(b"  \n").unwrap().is_empty());
    }
}
