//! The docker credential-helper protocol, server side
//! (docs/protocol.md#the-docker-credential-helper-protocol).
//!
//! It owns the wire: the action word, the stdin payload, the exact JSON answer and the exact
//! error texts, which go to stdout with exit 1 because that is where clients read them. It
//! decodes input the way Go's `encoding/json` does (keys case-insensitive, first value only,
//! extra keys ignored) and answers through the `Resolver`; it holds no lookup policy.

use std::io::Write;

use serde::Serialize;
use serde_json::Value;

use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::registry_key::RegistryKey;
use crate::resolver::Resolver;

/// The docker actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Get,
    Store,
    Erase,
    List,
    Version,
}

impl Action {
    /// Parses an action word.
    pub fn parse(word: &str) -> Option<Action> {
        Some(match word {
            "get" => Action::Get,
            "store" => Action::Store,
            "erase" => Action::Erase,
            "list" => Action::List,
            "version" => Action::Version,
            _ => return None,
        })
    }
}

/// The `get` answer, keys in docker's order.
#[derive(Serialize)]
struct GetAnswer<'a> {
    #[serde(rename = "ServerURL")]
    server_url: &'a str,
    #[serde(rename = "Username")]
    username: &'a str,
    #[serde(rename = "Secret")]
    secret: &'a str,
}

/// The version line.
pub fn version_line() -> String {
    format!("ocicred {}", env!("CARGO_PKG_VERSION"))
}

/// Runs one action. Writes the answer (or the one-line error) to `out`; returns the exit code.
pub fn handle(action: Action, stdin: &[u8], out: &mut dyn Write, resolver: &Resolver) -> i32 {
    let result = match action {
        Action::Get => get(stdin, out, resolver),
        Action::Store => store(stdin, resolver),
        Action::Erase => erase(stdin, resolver),
        Action::List => list(out, resolver),
        Action::Version => writeln!(out, "{}", version_line()).map_err(write_error),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(out, "{}", one_line(&e.to_string()));
            1
        }
    }
}

fn write_error(e: std::io::Error) -> Error {
    Error::InvalidInput(format!("cannot write the answer: {e}"))
}

/// Keeps an error to one line.
pub fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The server address in a get/erase body: trimmed UTF-8, not empty.
fn server_address(stdin: &[u8]) -> Result<&str> {
    let text = std::str::from_utf8(stdin)
        .map_err(|_| Error::InvalidInput("server address is not valid UTF-8".into()))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::NoServerUrl);
    }
    Ok(text)
}

fn get(stdin: &[u8], out: &mut dyn Write, resolver: &Resolver) -> Result<()> {
    let asked = server_address(stdin)?;
    let key = RegistryKey::parse(asked)?;
    let found = match resolver.get(&key) {
        Ok(found) => found,
        // A blocked registry gets nothing on this protocol: clients read that as anonymous.
        Err(Error::Blocked(_)) => return Err(Error::NotFound),
        Err(e) => return Err(e),
    };
    let (username, secret) = found.credential.to_docker();
    let mut answer = serde_json::to_vec(&GetAnswer {
        server_url: asked,
        username,
        secret: secret.expose(),
    })
    .expect("strings always serialise");
    answer.push(b'\n');
    out.write_all(&answer).map_err(write_error)
}

/// A decoded `store` body.
#[derive(Debug, PartialEq)]
pub struct StoreRequest {
    pub server_url: String,
    pub credential: Credential,
}

/// Decodes a `store` body as Go does: the first JSON value, keys case-insensitive (the last
/// duplicate wins), unknown keys ignored, `null` as empty.
pub fn parse_store(stdin: &[u8]) -> Result<StoreRequest> {
    let mut values = serde_json::Deserializer::from_slice(stdin).into_iter::<Value>();
    let value = match values.next() {
        None => return Err(Error::InvalidInput("store: no credentials on stdin".into())),
        Some(Err(e)) => return Err(Error::InvalidInput(format!("store: invalid JSON: {e}"))),
        Some(Ok(v)) => v,
    };
    let Value::Object(map) = value else {
        return Err(Error::InvalidInput(
            "store: expected a JSON object with ServerURL, Username and Secret".into(),
        ));
    };
    let field = |name: &str| -> Result<String> {
        match map.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            None | Some((_, Value::Null)) => Ok(String::new()),
            Some((_, Value::String(s))) => Ok(s.clone()),
            Some((k, _)) => Err(Error::InvalidInput(format!("store: {k} must be a string"))),
        }
    };
    let server_url = field("ServerURL")?;
    if server_url.trim().is_empty() {
        return Err(Error::NoServerUrl);
    }
    let username = field("Username")?;
    if username.is_empty() {
        return Err(Error::NoUsername);
    }
    let secret = field("Secret")?;
    Ok(StoreRequest {
        server_url,
        credential: Credential::from_docker(username, secret),
    })
}

fn store(stdin: &[u8], resolver: &Resolver) -> Result<()> {
    let request = parse_store(stdin)?;
    let key = RegistryKey::parse(&request.server_url)?;
    resolver.store(&key, &request.credential).map(|_| ())
}

fn erase(stdin: &[u8], resolver: &Resolver) -> Result<()> {
    let key = RegistryKey::parse(server_address(stdin)?)?;
    resolver.erase(&key).map(|_| ())
}

fn list(out: &mut dyn Write, resolver: &Resolver) -> Result<()> {
    let (items, errors) = resolver.list();
    if let Some(e) = errors.into_iter().next() {
        return Err(e);
    }
    let map: serde_json::Map<String, Value> = items
        .into_iter()
        .map(|i| (i.key, Value::String(i.username)))
        .collect();
    let mut text = serde_json::to_vec(&map).expect("a map always serialises");
    text.push(b'\n');
    out.write_all(&text).map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Found, Listed, Origin, Source};

    struct One;
    impl Source for One {
        fn name(&self) -> String {
            "one".into()
        }
        fn get(&self, key: &RegistryKey) -> Result<Option<Found>> {
            Ok((key.host() == "docker.io").then(|| Found {
                credential: Credential::from_docker("<token>".into(), "REFRESH".into()),
                origin: Origin {
                    source: "one".into(),
                    key: "docker.io".into(),
                },
            }))
        }
        fn list(&self) -> Result<Vec<Listed>> {
            Ok(vec![Listed {
                key: "docker.io".into(),
                username: "<token>".into(),
                source: "one".into(),
            }])
        }
    }

    fn run(action: Action, stdin: &str) -> (i32, String) {
        let r = Resolver::new(vec![Box::new(One)]);
        let mut out = Vec::new();
        let code = handle(action, stdin.as_bytes(), &mut out, &r);
        (code, String::from_utf8(out).unwrap())
    }

    #[test]
    fn get_answers_exact_json() {
        assert_eq!(
            run(Action::Get, "https://index.docker.io/v1/\n"),
            (
                0,
                "{\"ServerURL\":\"https://index.docker.io/v1/\",\"Username\":\"<token>\",\"Secret\":\"REFRESH\"}\n".into()
            )
        );
        assert_eq!(
            run(Action::Get, "ghcr.io"),
            (1, "credentials not found in native keychain\n".into())
        );
        assert_eq!(
            run(Action::Get, " \n"),
            (1, "no credentials server URL\n".into())
        );
        assert_eq!(
            run(Action::Get, "oci://x"),
            (1, "unsupported scheme: oci\n".into())
        );
    }

    #[test]
    fn list_and_version() {
        assert_eq!(
            run(Action::List, "unused"),
            (0, "{\"docker.io\":\"<token>\"}\n".into())
        );
        assert_eq!(
            run(Action::Version, ""),
            (0, format!("ocicred {}\n", env!("CARGO_PKG_VERSION")))
        );
    }

    #[test]
    fn store_bodies_decode_like_go() {
        let r =
            parse_store(b"{\"serverurl\":\"h\",\"USERNAME\":\"u\",\"Secret\":\"s\",\"x\":1} tail")
                .unwrap();
        assert_eq!(r.server_url, "h");
        assert_eq!(r.credential, Credential::basic("u", "s"));
        let r = parse_store(
            b"{\n  \"ServerURL\": \"h\",\n  \"Username\": \"<token>\",\n  \"Secret\": null\n}\n",
        )
        .unwrap();
        assert!(matches!(r.credential, Credential::IdentityToken { .. }));
        assert!(matches!(
            parse_store(b"{\"ServerURL\":\"\",\"Username\":\"u\"}"),
            Err(Error::NoServerUrl)
        ));
        assert!(matches!(
            parse_store(b"{\"ServerURL\":\"h\",\"Username\":\"\"}"),
            Err(Error::NoUsername)
        ));
        for bad in [
            &b""[..],
            b"not json",
            b"[1]",
            b"{\"ServerURL\":1}",
            b"\xff\xfe",
        ] {
            let e = parse_store(bad).unwrap_err().to_string();
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
