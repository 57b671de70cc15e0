//! The environment as a credential source (README.md#credentials-from-the-environment-ci): what CI
//! systems hand over in variables.
//!
//! It owns the variable names and their search, read-only, from the [`EnvVars`] snapshot:
//! - `DOCKER_<host>_USR`/`_PSW`, named as the `docker-credential-env` helper names them (`.`
//!   and `-` become `_`; the host as lower-cased, Docker Hub as `index.docker.io`), first with
//!   the port (`DOCKER_<host>_<port>_*`), then without it, then with DNS labels dropped from
//!   the left one at a time down to `DOCKER__USR`. A half pair is skipped (and is a `doctor`
//!   problem).
//! - `GHCR_TOKEN` for `ghcr.io` (with the pairs, [`EnvSource`]), then `DOCKER_AUTH_CONFIG` (a
//!   docker `config.json`, read as one more docker-format file, [`AuthConfigSource`]); both are
//!   asked before every stored source.
//! - `GITHUB_TOKEN`/`GH_TOKEN` for `ghcr.io` ([`GithubTokenSource`]), asked after them.
//! - The two variables a `[[route]]` names ([`VarsSource`]).
//!
//! The user name for the GitHub tokens is `$GITHUB_ACTOR`, else [`GITHUB_DEFAULT_USER`]
//! (ghcr.io checks only the token). Sources, messages and `list` name the variables, never a
//! value; `store` and `erase` never touch the environment.

use std::path::Path;
use std::rc::Rc;

use crate::auth_file::{AuthFileFormat, AuthJson};
use crate::credential::Credential;
use crate::env::EnvVars;
use crate::error::{Error, Result};
use crate::registry_key::{DOCKER_HUB, RegistryKey};
use crate::source::auth_files::{Document, DocumentError, lookup_document};
use crate::source::helper::{HelperRunner, HubSpelling};
use crate::source::{Found, Listed, Origin, Source};

/// The registry the GitHub tokens are for.
pub const GHCR: &str = "ghcr.io";
/// The user name sent with a GitHub token when `GITHUB_ACTOR` is unset (the one
/// `docker-credential-env` uses; ghcr.io accepts any).
pub const GITHUB_DEFAULT_USER: &str = "github";
/// A docker `config.json` in a variable (GitLab CI's convention).
pub const DOCKER_AUTH_CONFIG: &str = "DOCKER_AUTH_CONFIG";
/// The explicit ghcr.io token (tweag's Bazel helper reads it too).
pub const GHCR_TOKEN: &str = "GHCR_TOKEN";
/// The GitHub tokens that are the last fallback for ghcr.io, in order.
pub const GITHUB_TOKENS: [&str; 2] = ["GITHUB_TOKEN", "GH_TOKEN"];
/// The user name for the GitHub tokens.
pub const GITHUB_ACTOR: &str = "GITHUB_ACTOR";
/// Every fixed variable name this source reads (for `config` and `doctor`).
pub const FIXED_NAMES: [&str; 5] = [
    DOCKER_AUTH_CONFIG,
    GHCR_TOKEN,
    GITHUB_TOKENS[0],
    GITHUB_TOKENS[1],
    GITHUB_ACTOR,
];

/// The `<host>` parts to try for `key`, most specific first: with the port, without it, then
/// dropping DNS labels from the left, down to the empty one (`DOCKER__USR`).
///
/// ```
/// use ocicred::registry_key::RegistryKey;
/// use ocicred::source::env::pair_stems;
/// let k = RegistryKey::parse("repo.my-corp.com:5000/team/app").unwrap();
/// assert_eq!(
///     pair_stems(&k),
///     ["repo_my_corp_com_5000", "repo_my_corp_com", "my_corp_com", "com", ""]
/// );
/// ```
pub fn pair_stems(key: &RegistryKey) -> Vec<String> {
    let hostport = key.host();
    let (host, port) = match hostport.rfind(':') {
        Some(i) if !hostport[i..].contains(']') => (&hostport[..i], Some(&hostport[i + 1..])),
        _ => (hostport, None),
    };
    // The docker CLI asks for Docker Hub as https://index.docker.io/v1/; from there the label
    // search also reaches DOCKER_docker_io_* and DOCKER_io_*.
    let host = if host == DOCKER_HUB {
        "index.docker.io"
    } else {
        host
    };
    let labels: Vec<String> = host.split('.').map(|l| l.replace('-', "_")).collect();
    let mut out = Vec::with_capacity(labels.len() + 2);
    if let Some(p) = port {
        out.push(format!("{}_{p}", labels.join("_")));
    }
    for i in 0..=labels.len() {
        out.push(labels[i..].join("_"));
    }
    out
}

/// The pair of variable names for a stem.
pub fn pair_names(stem: &str) -> (String, String) {
    (format!("DOCKER_{stem}_USR"), format!("DOCKER_{stem}_PSW"))
}

/// How a pair shows as a source: `$DOCKER_<stem>_USR/_PSW`.
pub fn pair_source(stem: &str) -> String {
    format!("$DOCKER_{stem}_USR/_PSW")
}

/// The stems of every `DOCKER_<stem>_USR`/`_PSW` variable that is set, with which halves are.
pub fn pairs(vars: &EnvVars) -> Vec<(String, bool, bool)> {
    let mut out: Vec<(String, bool, bool)> = Vec::new();
    for name in vars.names_with_prefix("DOCKER_") {
        let rest = &name["DOCKER_".len()..];
        let (stem, user) = if let Some(s) = rest.strip_suffix("_USR") {
            (s, true)
        } else if let Some(s) = rest.strip_suffix("_PSW") {
            (s, false)
        } else {
            continue;
        };
        match out.iter_mut().find(|(s, _, _)| s == stem) {
            Some(e) if user => e.1 = true,
            Some(e) => e.2 = true,
            None => out.push((stem.to_string(), user, !user)),
        }
    }
    out
}

/// The names (never the values) of the credential variables that are set: every
/// `DOCKER_<host>_USR`/`_PSW`, the fixed names, and `extra` (the variables routes name).
pub fn set_names(vars: &EnvVars, extra: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = vars
        .names_with_prefix("DOCKER_")
        .filter(|n| n.ends_with("_USR") || n.ends_with("_PSW"))
        .map(str::to_string)
        .collect();
    for n in FIXED_NAMES.iter().chain(extra) {
        if vars.has(n) && !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    }
    out
}

/// The user name for a GitHub token.
fn github_user(vars: &EnvVars) -> String {
    vars.get(GITHUB_ACTOR)
        .map(|a| a.expose().clone())
        .unwrap_or_else(|| GITHUB_DEFAULT_USER.to_string())
}

fn found(credential: Credential, source: String, key: &RegistryKey) -> Found {
    Found {
        credential,
        origin: Origin {
            source,
            key: key.host().to_string(),
        },
    }
}

/// The variables read first, before every stored source: the `DOCKER_<host>_*` pairs and
/// `GHCR_TOKEN`.
pub struct EnvSource {
    vars: EnvVars,
}

impl EnvSource {
    /// A source over `vars`.
    pub fn new(vars: EnvVars) -> Self {
        EnvSource { vars }
    }

    /// The pair for `key`, if a whole one is set.
    fn pair(&self, key: &RegistryKey) -> Option<Found> {
        pair_stems(key).into_iter().find_map(|stem| {
            let (u, p) = pair_names(&stem);
            let (user, pass) = (self.vars.get(&u)?, self.vars.get(&p)?);
            Some(found(
                Credential::from_docker(user.expose().clone(), pass.expose().clone()),
                pair_source(&stem),
                key,
            ))
        })
    }
}

/// `DOCKER_AUTH_CONFIG`: a docker `config.json` in a variable, read after the pairs and before
/// every stored source, as one more docker-format file.
pub struct AuthConfigSource {
    vars: EnvVars,
    runner: Rc<dyn HelperRunner>,
}

impl AuthConfigSource {
    /// A source over `vars`; `runner` runs the helpers the document may name.
    pub fn new(vars: EnvVars, runner: Rc<dyn HelperRunner>) -> Self {
        AuthConfigSource { vars, runner }
    }
}

impl Source for AuthConfigSource {
    fn name(&self) -> String {
        format!("${DOCKER_AUTH_CONFIG}")
    }

    fn get(&self, key: &RegistryKey) -> Result<Option<Found>> {
        let Some(text) = self.vars.get(DOCKER_AUTH_CONFIG) else {
            return Ok(None);
        };
        let origin = format!("${DOCKER_AUTH_CONFIG}");
        let doc = Document {
            bytes: text.expose().as_bytes(),
            format: AuthFileFormat::Auths,
            origin: &origin,
            spelling: HubSpelling::Docker,
        };
        lookup_document(&doc, key, &*self.runner).map_err(auth_config_error)
    }

    fn list(&self) -> Result<Vec<Listed>> {
        let Some(text) = self.vars.get(DOCKER_AUTH_CONFIG) else {
            return Ok(Vec::new());
        };
        let json = AuthJson::parse(text.expose().as_bytes(), AuthFileFormat::Auths)
            .map_err(|e| auth_config_error(DocumentError::Json(e)))?;
        Ok(json
            .entries()
            .into_iter()
            .map(|(key, username)| Listed {
                key,
                username,
                source: format!("${DOCKER_AUTH_CONFIG}"),
            })
            .collect())
    }
}

/// An error about `DOCKER_AUTH_CONFIG` that never quotes its content (the parser's own
/// message may).
pub fn auth_config_error(e: DocumentError) -> Error {
    let path = Path::new("$DOCKER_AUTH_CONFIG");
    match e {
        DocumentError::Json(e) => Error::Parse {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: "not a docker config.json (invalid JSON or shape)".into(),
        },
        other => other.into_error(path),
    }
}

impl Source for EnvSource {
    fn name(&self) -> String {
        "environment".into()
    }

    fn get(&self, key: &RegistryKey) -> Result<Option<Found>> {
        if let Some(f) = self.pair(key) {
            return Ok(Some(f));
        }
        if key.host() == GHCR
            && let Some(token) = self.vars.get(GHCR_TOKEN)
        {
            let cred = Credential::basic(github_user(&self.vars), token.expose().clone());
            return Ok(Some(found(cred, format!("${GHCR_TOKEN}"), key)));
        }
        Ok(None)
    }

    fn list(&self) -> Result<Vec<Listed>> {
        let mut out = Vec::new();
        for (stem, user, pass) in pairs(&self.vars) {
            if !(user && pass) {
                continue;
            }
            let (u, _) = pair_names(&stem);
            out.push(Listed {
                key: if stem.is_empty() {
                    "*".into()
                } else {
                    stem.clone()
                },
                username: self
                    .vars
                    .get(&u)
                    .map(|s| s.expose().clone())
                    .unwrap_or_default(),
                source: pair_source(&stem),
            });
        }
        if self.vars.has(GHCR_TOKEN) {
            out.push(Listed {
                key: GHCR.into(),
                username: github_user(&self.vars),
                source: format!("${GHCR_TOKEN}"),
            });
        }
        Ok(out)
    }
}

/// `GITHUB_TOKEN`, else `GH_TOKEN`, for `ghcr.io`: asked after every stored source.
pub struct GithubTokenSource {
    vars: EnvVars,
}

impl GithubTokenSource {
    /// A source over `vars`.
    pub fn new(vars: EnvVars) -> Self {
        GithubTokenSource { vars }
    }

    fn token(&self) -> Option<(&'static str, &crate::secret::Secret<String>)> {
        GITHUB_TOKENS
            .iter()
            .find_map(|n| self.vars.get(n).map(|v| (*n, v)))
    }
}

impl Source for GithubTokenSource {
    fn name(&self) -> String {
        "environment (GitHub token)".into()
    }

    fn get(&self, key: &RegistryKey) -> Result<Option<Found>> {
        if key.host() != GHCR {
            return Ok(None);
        }
        Ok(self.token().map(|(name, token)| {
            let cred = Credential::basic(github_user(&self.vars), token.expose().clone());
            found(cred, format!("${name}"), key)
        }))
    }

    fn list(&self) -> Result<Vec<Listed>> {
        Ok(self
            .token()
            .map(|(name, _)| Listed {
                key: GHCR.into(),
                username: github_user(&self.vars),
                source: format!("${name}"),
            })
            .into_iter()
            .collect())
    }
}

/// A user name and password from the two variables a `[[route]]` names.
pub struct VarsSource {
    vars: EnvVars,
    username: String,
    password: String,
}

impl VarsSource {
    /// A source reading `$username` and `$password` from `vars`.
    pub fn new(vars: EnvVars, username: &str, password: &str) -> Self {
        VarsSource {
            vars,
            username: username.to_string(),
            password: password.to_string(),
        }
    }
}

impl Source for VarsSource {
    fn name(&self) -> String {
        format!("${}/${}", self.username, self.password)
    }

    fn get(&self, key: &RegistryKey) -> Result<Option<Found>> {
        let (Some(user), Some(pass)) =
            (self.vars.get(&self.username), self.vars.get(&self.password))
        else {
            return Ok(None);
        };
        Ok(Some(found(
            Credential::from_docker(user.expose().clone(), pass.expose().clone()),
            self.name(),
            key,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::helper::tests::Scripted;

    fn key(s: &str) -> RegistryKey {
        RegistryKey::parse(s).unwrap()
    }

    fn stems(s: &str) -> Vec<String> {
        pair_stems(&key(s))
    }

    #[test]
    fn stems_follow_docker_credential_env() {
        assert_eq!(
            stems("https://repo.example.com/v1"),
            ["repo_example_com", "example_com", "com", ""]
        );
        assert_eq!(
            stems("127.0.0.1:5000"),
            ["127_0_0_1_5000", "127_0_0_1", "0_0_1", "0_1", "1", ""]
        );
        assert_eq!(
            stems("https://index.docker.io/v1/"),
            ["index_docker_io", "docker_io", "io", ""]
        );
        assert_eq!(stems("[::1]:5000"), ["[::1]_5000", "[::1]", ""]);
        assert_eq!(stems("localhost"), ["localhost", ""]);
    }

    fn vars(pairs: &[(&str, &str)]) -> EnvVars {
        EnvVars::from_pairs(pairs.iter().copied())
    }

    fn source(pairs: &[(&str, &str)]) -> EnvSource {
        EnvSource::new(vars(pairs))
    }

    fn auth_config(pairs: &[(&str, &str)]) -> AuthConfigSource {
        AuthConfigSource::new(vars(pairs), Rc::new(Scripted::default()))
    }

    fn user_of(s: &dyn Source, k: &str) -> Option<(String, String, String)> {
        s.get(&key(k)).unwrap().map(|f| {
            let (u, p) = f.credential.to_docker();
            (u.to_string(), p.expose().clone(), f.origin.source)
        })
    }

    #[test]
    fn pairs_search_drops_labels_and_skips_half_pairs() {
        let s = source(&[
            ("DOCKER_repo_example_com_USR", "half"),
            ("DOCKER_example_com_USR", "ex"),
            ("DOCKER_example_com_PSW", "expw"),
            ("DOCKER__USR", "any"),
            ("DOCKER__PSW", "anypw"),
            ("DOCKER_my_host_5000_USR", "ported"),
            ("DOCKER_my_host_5000_PSW", "portpw"),
        ]);
        assert_eq!(
            user_of(&s, "repo.example.com"),
            Some((
                "ex".into(),
                "expw".into(),
                "$DOCKER_example_com_USR/_PSW".into()
            ))
        );
        assert_eq!(user_of(&s, "other.org").unwrap().0, "any");
        assert_eq!(user_of(&s, "my-host:5000").unwrap().0, "ported");
        assert_eq!(user_of(&s, "my-host:5001").unwrap().0, "any");
        let listed: Vec<_> = s.list().unwrap().into_iter().map(|l| l.key).collect();
        assert_eq!(listed, ["*", "example_com", "my_host_5000"]);
        let p = pairs(&s.vars);
        assert!(p.contains(&("repo_example_com".into(), true, false)));
    }

    #[test]
    fn ghcr_tokens_and_auth_config() {
        let pairs = [
            ("GHCR_TOKEN", "ghcr-tok"),
            ("GITHUB_ACTOR", "octocat"),
            (
                "DOCKER_AUTH_CONFIG",
                r#"{"auths":{"registry.gitlab.com":{"auth":"Z2l0bGFiLWNpLXRva2VuOmpvYnRvaw=="}}}"#,
            ),
        ];
        assert_eq!(
            user_of(&source(&pairs), "ghcr.io"),
            Some(("octocat".into(), "ghcr-tok".into(), "$GHCR_TOKEN".into()))
        );
        let s = auth_config(&pairs);
        assert_eq!(
            user_of(&s, "registry.gitlab.com/group/app"),
            Some((
                "gitlab-ci-token".into(),
                "jobtok".into(),
                "$DOCKER_AUTH_CONFIG".into()
            ))
        );
        assert_eq!(user_of(&s, "quay.io"), None);
        let bad = auth_config(&[("DOCKER_AUTH_CONFIG", "{\"auths\": {\"x.io\": hunter2}}")]);
        let e = bad.get(&key("x.io")).unwrap_err().to_string();
        assert!(
            e.starts_with("$DOCKER_AUTH_CONFIG: not a docker config.json"),
            "{e}"
        );
        assert!(e.ends_with("at line 1 column 20"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = bad.list().unwrap_err().to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn github_token_is_for_ghcr_only() {
        let s = GithubTokenSource::new(vars(&[("GH_TOKEN", "b"), ("GITHUB_TOKEN", "a")]));
        assert_eq!(
            user_of(&s, "ghcr.io/org/app"),
            Some(("github".into(), "a".into(), "$GITHUB_TOKEN".into()))
        );
        assert_eq!(user_of(&s, "docker.io"), None);
        let s = GithubTokenSource::new(vars(&[("GH_TOKEN", "b")]));
        assert_eq!(user_of(&s, "ghcr.io").unwrap().2, "$GH_TOKEN");
        assert!(
            s.store(&key("ghcr.io"), &Credential::basic("u", "p"))
                .is_err()
        );
    }

    #[test]
    fn route_vars() {
        let s = VarsSource::new(
            vars(&[
                ("CI_REGISTRY_USER", "gitlab-ci-token"),
                ("CI_REGISTRY_PASSWORD", "pw"),
            ]),
            "CI_REGISTRY_USER",
            "CI_REGISTRY_PASSWORD",
        );
        assert_eq!(
            user_of(&s, "registry.gitlab.example.com"),
            Some((
                "gitlab-ci-token".into(),
                "pw".into(),
                "$CI_REGISTRY_USER/$CI_REGISTRY_PASSWORD".into()
            ))
        );
        let half = VarsSource::new(vars(&[("U", "x")]), "U", "P");
        assert_eq!(user_of(&half, "h"), None);
    }
}
