//! `RegistryKey`: one registry (and optional namespace) however a caller spells it.
//!
//! It owns the normalisation rules of README.md#where-credentials-are-looked-up: a key with a
//! scheme keeps only its host and port; a key without one is `host[:port][/namespace…]`; hosts are
//! lower-cased; the Docker Hub spellings become `docker.io`; a tag or digest on the last path part
//! is dropped. It also yields the lookup candidates, most specific first. Pure: no I/O.

use std::fmt;

use crate::error::Error;

/// The canonical name of Docker Hub.
pub const DOCKER_HUB: &str = "docker.io";

/// Host names that all mean Docker Hub.
const DOCKER_HUB_ALIASES: &[&str] = &[
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];

/// Docker Hub's web-login keys, kept apart from the main Docker Hub key.
const HUB_WEB_LOGIN_KEYS: &[&str] = &["access-token", "refresh-token"];

/// A normalised registry key: `host[:port]` plus an optional namespace path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistryKey {
    host: String,
    path: Option<String>,
    /// Set for Docker Hub's `https://index.docker.io/v1/{access,refresh}-token` keys.
    hub_web_login: Option<&'static str>,
}

impl RegistryKey {
    /// Parses any spelling a client may send.
    ///
    /// ```
    /// use ocicred::registry_key::RegistryKey;
    /// let k = RegistryKey::parse("https://Index.Docker.io/v1/").unwrap();
    /// assert_eq!(k.to_string(), "docker.io");
    /// let k = RegistryKey::parse("quay.io/org/repo:tag").unwrap();
    /// assert_eq!(k.to_string(), "quay.io/org/repo");
    /// ```
    pub fn parse(input: &str) -> Result<Self, Error> {
        let s = input.trim();
        if s.is_empty() {
            return Err(Error::NoServerUrl);
        }
        if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Error::InvalidInput(
                "server address contains whitespace or control characters".into(),
            ));
        }
        if let Some((scheme, rest)) = s.split_once("://") {
            let scheme = scheme.to_ascii_lowercase();
            if scheme != "http" && scheme != "https" {
                return Err(Error::InvalidInput(format!("unsupported scheme: {scheme}")));
            }
            let rest = rest.split(['?', '#']).next().unwrap_or("");
            let (authority, path) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            let host = normalize_host(authority)?;
            if host == DOCKER_HUB {
                let p = path.trim_end_matches('/');
                for extra in HUB_WEB_LOGIN_KEYS {
                    if p == format!("/v1/{extra}") {
                        return Ok(RegistryKey {
                            host,
                            path: None,
                            hub_web_login: Some(extra),
                        });
                    }
                }
            }
            return Ok(RegistryKey {
                host,
                path: None,
                hub_web_login: None,
            });
        }
        let s = s.trim_end_matches('/');
        let (authority, path) = match s.find('/') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        };
        let host = normalize_host(authority)?;
        let path = match path {
            None => None,
            Some(p) => strip_tag_and_digest(p)?,
        };
        Ok(RegistryKey {
            host,
            path,
            hub_web_login: None,
        })
    }

    /// A key for just a registry host (already `host[:port]`).
    pub fn host_only(&self) -> RegistryKey {
        RegistryKey {
            host: self.host.clone(),
            path: None,
            hub_web_login: None,
        }
    }

    /// `host[:port]`, lower-cased, Docker Hub as `docker.io`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The namespace path under the host, if any (`org/repo`).
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// True for a key with a namespace.
    pub fn is_namespaced(&self) -> bool {
        self.path.is_some()
    }

    /// True for Docker Hub's web-login (`access-token`/`refresh-token`) keys.
    pub fn is_hub_web_login(&self) -> bool {
        self.hub_web_login.is_some()
    }

    /// The keys to try, most specific first: `host/a/b`, `host/a`, `host`.
    pub fn candidates(&self) -> Vec<RegistryKey> {
        if self.hub_web_login.is_some() {
            return vec![self.clone()];
        }
        let mut out = vec![self.clone()];
        if let Some(path) = &self.path {
            let mut p = path.as_str();
            while let Some(i) = p.rfind('/') {
                p = &p[..i];
                out.push(RegistryKey {
                    host: self.host.clone(),
                    path: Some(p.to_string()),
                    hub_web_login: None,
                });
            }
            out.push(self.host_only());
        }
        out
    }

    /// The host an external `docker-credential-*` helper is asked about. Docker Hub keeps
    /// the spelling the docker CLI uses, so helpers filled by `docker login` answer.
    pub fn helper_server(&self) -> String {
        match self.hub_web_login {
            Some(extra) => format!("https://index.docker.io/v1/{extra}"),
            None if self.host == DOCKER_HUB => "https://index.docker.io/v1/".to_string(),
            None => self.host.clone(),
        }
    }
}

impl fmt::Display for RegistryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(extra) = self.hub_web_login {
            return write!(f, "https://index.docker.io/v1/{extra}");
        }
        f.write_str(&self.host)?;
        if let Some(p) = &self.path {
            write!(f, "/{p}")?;
        }
        Ok(())
    }
}

/// Lower-cases a `host[:port]`, maps Docker Hub aliases, and rejects what cannot be a host.
fn normalize_host(authority: &str) -> Result<String, Error> {
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.is_empty() {
        return Err(Error::InvalidInput("no hostname in server address".into()));
    }
    let host = authority.to_ascii_lowercase();
    let (name, port) = split_port(&host)?;
    if name.is_empty() {
        return Err(Error::InvalidInput("no hostname in server address".into()));
    }
    if let Some(port) = port
        && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.len() > 5)
    {
        // The value is not quoted: in `https://user:pa/ss@host` it is part of a password.
        return Err(Error::InvalidInput("invalid port in server address".into()));
    }
    if port.is_none() && DOCKER_HUB_ALIASES.contains(&name) {
        return Ok(DOCKER_HUB.to_string());
    }
    Ok(host)
}

/// Splits an authority `name[:port]` or `[v6]:port` into the name (an IPv6 literal keeps
/// its brackets) and the port text, which the caller validates. The one `host:port` splitter
/// of ocicred: keys, routes, Bazel URIs and URLs all go through it.
pub fn split_authority(authority: &str) -> std::result::Result<(&str, Option<&str>), &'static str> {
    if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']').ok_or("an unterminated IPv6 address")?;
        let after = &rest[end + 1..];
        let name = &authority[..end + 2];
        return match after.strip_prefix(':') {
            Some(port) => Ok((name, Some(port))),
            None if after.is_empty() => Ok((name, None)),
            None => Err("an invalid IPv6 address"),
        };
    }
    Ok(match authority.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (authority, None),
    })
}

/// [`split_authority`] for a key, with the key's error.
fn split_port(host: &str) -> Result<(&str, Option<&str>), Error> {
    split_authority(host).map_err(|e| Error::InvalidInput(e.trim_start_matches("an ").into()))
}

/// Drops `:tag` and `@digest` from the last path part; `None` for an empty path.
fn strip_tag_and_digest(path: &str) -> Result<Option<String>, Error> {
    let path = match path.split_once('@') {
        Some((name, _digest)) => name,
        None => path,
    };
    let path = match path.rfind(':') {
        // One tag, on the last part: `repo:a:b` and `repo::1` are not references.
        Some(i) if !path[i..].contains('/') && !path[..i].contains(':') => &path[..i],
        Some(_) => {
            return Err(Error::InvalidInput(
                "':' is only allowed in the port or the tag".into(),
            ));
        }
        None => path,
    };
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Ok(None);
    }
    if path.split('/').any(str::is_empty) {
        return Err(Error::InvalidInput("empty path component in key".into()));
    }
    Ok(Some(path.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> String {
        RegistryKey::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalises_spellings() {
        let cases = [
            ("ghcr.io", "ghcr.io"),
            ("GHCR.io\n", "ghcr.io"),
            ("localhost:5000", "localhost:5000"),
            ("https://h:5000/v1/", "h:5000"),
            ("http://h:5000", "h:5000"),
            ("https://h/v2/any/path?x=1", "h"),
            ("https://index.docker.io/v1/", "docker.io"),
            ("https://index.docker.io/v1", "docker.io"),
            ("index.docker.io", "docker.io"),
            ("registry-1.docker.io", "docker.io"),
            ("registry.hub.docker.com", "docker.io"),
            ("docker.io/library/nginx", "docker.io/library/nginx"),
            ("example.org/v1", "example.org/v1"),
            ("quay.io/org/repo:latest", "quay.io/org/repo"),
            ("quay.io/org/repo@sha256:abcd", "quay.io/org/repo"),
            ("quay.io/org/repo:v1@sha256:abcd", "quay.io/org/repo"),
            ("h:5000/ns/", "h:5000/ns"),
            ("[::1]:5000", "[::1]:5000"),
            ("https://[::1]:5000/", "[::1]:5000"),
            (
                "https://index.docker.io/v1/access-token",
                "https://index.docker.io/v1/access-token",
            ),
            (
                "https://index.docker.io/v1/refresh-token",
                "https://index.docker.io/v1/refresh-token",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(k(input), want, "input {input:?}");
        }
    }

    #[test]
    fn hub_web_login_keys_stay_apart() {
        let main = RegistryKey::parse("docker.io").unwrap();
        let token = RegistryKey::parse("https://index.docker.io/v1/access-token").unwrap();
        assert_ne!(main, token);
        assert_eq!(token.candidates(), vec![token.clone()]);
        assert_eq!(main.helper_server(), "https://index.docker.io/v1/");
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "  ",
            "oci://x",
            "h:port",
            "h:5000:6000/x",
            "h/repo::5000",
            "h/ns/repo:a:b",
            "a b",
            "https:///x",
            "[::1",
        ] {
            assert!(RegistryKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn candidates_most_specific_first() {
        let key = RegistryKey::parse("quay.io/org/repo/img").unwrap();
        let got: Vec<String> = key.candidates().iter().map(|c| c.to_string()).collect();
        assert_eq!(
            got,
            [
                "quay.io/org/repo/img",
                "quay.io/org/repo",
                "quay.io/org",
                "quay.io"
            ]
        );
        let bare = RegistryKey::parse("quay.io").unwrap();
        assert_eq!(bare.candidates().len(), 1);
    }

    #[test]
    fn host_is_compared_exactly() {
        assert_ne!(
            RegistryKey::parse("h.example.com").unwrap().host(),
            RegistryKey::parse("h.example.com.evil").unwrap().host()
        );
        assert_ne!(k("h"), k("h:443"));
    }

    #[test]
    fn errors_do_not_quote_what_may_be_a_password() {
        let e = RegistryKey::parse("https://user:pa/ss-hunter2@h").unwrap_err();
        assert_eq!(e.to_string(), "invalid port in server address");
    }
}
