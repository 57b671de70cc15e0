//! Routes (README.md#routes-wildcard-and-per-registry-sources): `[[route]]` `match` patterns and
//! which one decides for a registry key.
//!
//! It owns the pattern language and the choice, as pure functions on values: a pattern is a
//! host whose DNS labels may each be `*` (exactly one label, never part of one), an optional
//! `:port`, and an optional `/path` prefix. A pattern without a port matches only registries
//! without one, as docker's `credHelpers` keys do. A path prefix matches whole path components
//! of a key that names a repository; a key without a path (a bare host, as the docker protocol
//! asks) matches only patterns without one. Among the matching routes the most specific
//! decides: the longest path, then the fewest wildcards, then the first in the file.

use std::path::PathBuf;

use crate::registry_key::{DOCKER_HUB, RegistryKey};

/// A parsed `match` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// DNS labels, lower-cased; `None` is `*`.
    labels: Vec<Option<String>>,
    /// The port, when the pattern names one.
    port: Option<String>,
    /// Path components of the prefix.
    path: Vec<String>,
}

/// Where a route sends its registries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `helper = "X"`: run `docker-credential-X`.
    Helper(String),
    /// `source = "…"`.
    Source(SourceName),
    /// `username-env` + `password-env`: a user name and password from these variables.
    Vars { username: String, password: String },
    /// `token-env`: a ready registry token from this variable (Bazel only).
    Token(String),
}

/// The sources a route can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceName {
    /// The environment (README.md#credentials-from-the-environment-ci).
    Env,
    /// The OS keyring.
    Keyring,
    /// The auth files.
    AuthFile,
    /// Nothing: anonymous.
    None,
}

impl SourceName {
    /// Parses a `source` value.
    pub fn parse(s: &str) -> Option<SourceName> {
        Some(match s {
            "env" => SourceName::Env,
            "keyring" => SourceName::Keyring,
            "auth-file" => SourceName::AuthFile,
            "none" => SourceName::None,
            _ => return None,
        })
    }

    /// The spelling in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceName::Env => "env",
            SourceName::Keyring => "keyring",
            SourceName::AuthFile => "auth-file",
            SourceName::None => "none",
        }
    }
}

impl Target {
    /// True when `store` through this route is refused.
    pub fn is_read_only(&self) -> bool {
        !matches!(
            self,
            Target::Helper(_) | Target::Source(SourceName::Keyring | SourceName::AuthFile)
        )
    }

    /// The environment variables this target reads: `username-env` and `password-env`, or
    /// `token-env`; none for a helper or a source.
    pub fn env_vars(&self) -> Vec<&str> {
        match self {
            Target::Vars { username, password } => vec![username.as_str(), password.as_str()],
            Target::Token(t) => vec![t.as_str()],
            Target::Helper(_) | Target::Source(_) => vec![],
        }
    }

    /// How people see the target: `helper ecr-login`, `source env`, `$A/$B`, `token $T`.
    pub fn describe(&self) -> String {
        match self {
            Target::Helper(h) => format!("helper docker-credential-{h}"),
            Target::Source(s) => format!("source {}", s.as_str()),
            Target::Vars { username, password } => format!("${username}/${password}"),
            Target::Token(t) => format!("token ${t}"),
        }
    }
}

/// One `[[route]]` of ocicred's config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The `match` value as written.
    pub text: String,
    /// The parsed pattern.
    pub pattern: Pattern,
    /// Where it sends its registries.
    pub target: Target,
    /// The config file and the 1-based line and column of the `[[route]]` header.
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Route {
    /// `route "ghcr.io/org" (/path/config.toml:3)`: the name `resolve`, `list` and errors use.
    pub fn name(&self) -> String {
        format!(
            "route {:?} ({}:{})",
            self.text,
            self.file.display(),
            self.line
        )
    }
}

/// Why a pattern is not valid (no position; the caller adds file, line and column).
pub fn parse_pattern(text: &str) -> Result<Pattern, String> {
    if text.is_empty() {
        return Err("match is empty".into());
    }
    if text.contains("://") {
        return Err("match is a registry host[:port][/path], without a scheme".into());
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("match contains whitespace or control characters".into());
    }
    let text = text.trim_end_matches('/');
    let (authority, path) = match text.find('/') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, ""),
    };
    let authority = authority.to_ascii_lowercase();
    let (host, port) = split_port(&authority)?;
    if let Some(p) = port
        && (p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("match has an invalid port {p:?}"));
    }
    if host.is_empty() {
        return Err("match has no host".into());
    }
    let mut labels = Vec::new();
    if host.starts_with('[') {
        if host.contains('*') {
            return Err("`*` cannot stand in an IPv6 address".into());
        }
        // Only a real address: a key never names `[:@1]`, so such a pattern could never match.
        if host[1..host.len() - 1]
            .parse::<std::net::Ipv6Addr>()
            .is_err()
        {
            return Err(format!("match has an invalid IPv6 address {host:?}"));
        }
        labels.push(Some(host.to_string()));
    } else {
        for label in host.split('.') {
            match label {
                "" => return Err("match has an empty DNS label".into()),
                "*" => labels.push(None),
                l if l.contains('*') => {
                    return Err(format!(
                        "`*` must be a whole DNS label (as in *.example.com), not part of {l:?}"
                    ));
                }
                l if l
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
                {
                    labels.push(Some(l.to_string()))
                }
                l => return Err(format!("match has an invalid DNS label {l:?}")),
            }
        }
    }
    // Docker Hub's spellings are one registry, as in every key.
    if port.is_none() && labels.iter().all(Option::is_some) {
        let joined: Vec<&str> = labels.iter().flatten().map(String::as_str).collect();
        if let Ok(k) = RegistryKey::parse(&joined.join("."))
            && k.host() == DOCKER_HUB
        {
            labels = vec![Some("docker".into()), Some("io".into())];
        }
    }
    let mut comps = Vec::new();
    for c in path.split('/').filter(|_| !path.is_empty()) {
        if c.is_empty() {
            return Err("match has an empty path component".into());
        }
        if c.contains('*') {
            return Err("`*` is only allowed in the host, not in the path".into());
        }
        comps.push(c.to_string());
    }
    Ok(Pattern {
        labels,
        port: port.map(str::to_string),
        path: comps,
    })
}

fn split_port(authority: &str) -> Result<(&str, Option<&str>), String> {
    crate::registry_key::split_authority(authority).map_err(|e| format!("match has {e}"))
}

impl Pattern {
    /// How many labels are `*`.
    pub fn wildcards(&self) -> usize {
        self.labels.iter().filter(|l| l.is_none()).count()
    }

    /// How many path components the prefix has.
    pub fn path_len(&self) -> usize {
        self.path.len()
    }

    /// True when the pattern matches `key`.
    pub fn matches(&self, key: &RegistryKey) -> bool {
        if key.is_hub_web_login() {
            return false;
        }
        let Ok((host, port)) = split_port(key.host()) else {
            return false;
        };
        if port != self.port.as_deref() {
            return false;
        }
        let host_labels: Vec<&str> = if host.starts_with('[') {
            vec![host]
        } else {
            host.split('.').collect()
        };
        if host_labels.len() != self.labels.len() {
            return false;
        }
        let hosts_match = self.labels.iter().zip(&host_labels).all(|(p, h)| match p {
            None => !h.is_empty(),
            Some(p) => p == h,
        });
        if !hosts_match {
            return false;
        }
        if self.path.is_empty() {
            return true;
        }
        let key_path: Vec<&str> = key
            .path()
            .map(|p| p.split('/').collect())
            .unwrap_or_default();
        key_path.len() >= self.path.len() && self.path.iter().zip(&key_path).all(|(a, b)| a == b)
    }
}

/// The index of the route that decides for `key`: the most specific match (longest path, then
/// fewest wildcards, then the first in the file), or `None` when no route matches.
pub fn select(routes: &[Route], key: &RegistryKey) -> Option<usize> {
    select_patterns(routes.iter().map(|r| &r.pattern), key)
}

/// [`select`] over bare patterns, in file order.
pub fn select_patterns<'a>(
    patterns: impl IntoIterator<Item = &'a Pattern>,
    key: &RegistryKey,
) -> Option<usize> {
    let mut best: Option<(usize, (usize, usize))> = None;
    for (i, p) in patterns.into_iter().enumerate() {
        if !p.matches(key) {
            continue;
        }
        // Larger is more specific: longer path, then fewer wildcards.
        let rank = (p.path_len(), usize::MAX - p.wildcards());
        if best.is_none_or(|(_, b)| rank > b) {
            best = Some((i, rank));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        parse_pattern(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn m(pattern: &str, key: &str) -> bool {
        p(pattern).matches(&RegistryKey::parse(key).unwrap())
    }

    #[test]
    fn env_vars_are_the_variables_a_target_reads() {
        let vars = Target::Vars {
            username: "U".into(),
            password: "P".into(),
        };
        assert_eq!(vars.env_vars(), ["U", "P"]);
        assert_eq!(Target::Token("T".into()).env_vars(), ["T"]);
        assert!(Target::Helper("x".into()).env_vars().is_empty());
        assert!(Target::Source(SourceName::Env).env_vars().is_empty());
    }

    #[test]
    fn a_star_is_exactly_one_label() {
        let ecr = "*.dkr.ecr.*.amazonaws.com";
        assert!(m(ecr, "123.dkr.ecr.eu-west-1.amazonaws.com"));
        assert!(m(ecr, "123.DKR.ecr.us-east-1.amazonaws.com/team/app"));
        assert!(!m(ecr, "dkr.ecr.eu-west-1.amazonaws.com"));
        assert!(!m(ecr, "a.b.dkr.ecr.eu-west-1.amazonaws.com"));
        assert!(!m(ecr, "123.dkr.ecr.eu-west-1.amazonaws.com.evil"));
        assert!(!m(ecr, "123.dkr.ecr.eu-west-1.amazonaws.com:443"));
        assert!(m("*.example.com", "a.example.com"));
        assert!(!m("*.example.com", "example.com"));
        assert!(m("127.0.0.*:5000", "127.0.0.2:5000"));
        assert!(!m("127.0.0.*:5000", "127.0.0.2:5001"));
        assert!(!m("127.0.0.*:5000", "127.0.0.2"));
        assert!(!m("localhost", "localhost:5000"));
        assert!(m("[::1]:5000", "[::1]:5000"));
    }

    #[test]
    fn paths_are_whole_component_prefixes() {
        assert!(m("ghcr.io/my-org", "ghcr.io/my-org/app"));
        assert!(m("ghcr.io/my-org", "ghcr.io/my-org"));
        assert!(!m("ghcr.io/my-org", "ghcr.io/my-org2/app"));
        assert!(
            !m("ghcr.io/my-org", "ghcr.io"),
            "a bare host names no repository"
        );
        assert!(m("ghcr.io", "ghcr.io/other/app"));
        assert!(m("GHCR.io/my-org/", "ghcr.io/my-org/x"));
    }

    #[test]
    fn docker_hub_spellings_are_one() {
        for pat in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
            assert!(m(pat, "https://index.docker.io/v1/"), "{pat}");
            assert!(m(pat, "docker.io/library/nginx"), "{pat}");
        }
        assert!(!m("docker.io", "https://index.docker.io/v1/access-token"));
    }

    #[test]
    fn bad_patterns_say_why() {
        for (bad, why) in [
            ("", "empty"),
            ("https://ghcr.io", "scheme"),
            ("a*.example.com", "whole DNS label"),
            ("example..com", "empty DNS label"),
            ("example.com:http", "invalid port"),
            ("example.com:", "invalid port"),
            ("example.com/a//b", "empty path"),
            ("example.com/*", "only allowed in the host"),
            ("exa mple.com", "whitespace"),
            ("ex!ample.com", "invalid DNS label"),
            (":5000", "no host"),
            ("[::1", "unterminated"),
            ("[:@1]:500", "invalid IPv6 address"),
        ] {
            let e = parse_pattern(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn most_specific_decides() {
        let pats: Vec<Pattern> = [
            "*.example.com",   // 0
            "a.example.com",   // 1
            "*.example.com/x", // 2
            "a.example.com",   // 3: same as 1, later
            "*.*.com",         // 4
        ]
        .iter()
        .map(|s| p(s))
        .collect();
        let sel = |k: &str| select_patterns(&pats, &RegistryKey::parse(k).unwrap());
        assert_eq!(sel("a.example.com"), Some(1));
        assert_eq!(sel("b.example.com"), Some(0));
        assert_eq!(
            sel("b.example.com/x/y"),
            Some(2),
            "longest path beats wildcards"
        );
        assert_eq!(sel("a.example.com/x"), Some(2));
        assert_eq!(sel("b.other.com"), Some(4));
        assert_eq!(sel("example.com"), None);
    }
}
