//! The OCI token exchange: which `Authorization` header a registry URI needs, and until when.
//!
//! It owns the flow of SPEC §7 and its safety rules: classify the URI ([`target`]); refuse
//! plain `http://` unless the host is loopback or marked insecure; find the credential; answer
//! from the shared [`cache`] when it can; else, under the key's lock, probe `GET /v2/`, read the
//! challenge ([`challenge`]) and either answer `Basic` directly, answer nothing (an open
//! registry), or fetch a token from the realm ([`token`]): `GET` with Basic or anonymously, or
//! an OAuth2 `POST` for identity tokens with a fallback to `GET` on 404. Headers go only to
//! the registry's own host and `/v2/`; credentials go only to the registry (Basic) or its realm.
//! All network work shares one time budget well under Bazel's 10 s.

pub mod cache;
pub mod challenge;
pub mod http;
pub mod target;
pub mod token;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::credential::{Credential, IDENTITY_TOKEN_USER};
use crate::error::{Error, Result};
use crate::registry::RegistryKey;
use crate::secret::Secret;

use cache::{CachedToken, Remembered, TokenCache};
use http::{HttpClient, Method, Request, describe, url_host};
use target::{Target, is_loopback};

/// The action ocicred asks tokens for.
pub const ACTION: &str = "pull";

/// The whole network budget of one call.
pub const DEFAULT_BUDGET: Duration = Duration::from_millis(6500);

/// The most one HTTP call may take.
pub const PER_CALL: Duration = Duration::from_secs(3);

/// What a URI needs: maybe an `Authorization` value, maybe an expiry.
#[derive(Debug, Default)]
pub struct Answer {
    /// The `Authorization` header value (`Bearer …` / `Basic …`), or none.
    pub authorization: Option<Secret<String>>,
    /// When the header stops being good (already minus the safety margin), when known.
    pub expires: Option<SystemTime>,
}

/// Finds the credential for a registry key: `Ok(None)` means "go anonymous".
pub type LookupFn<'a> = &'a dyn Fn(&RegistryKey) -> Result<Option<Credential>>;

/// Says whether a `host[:port]` is marked `insecure` (plain HTTP allowed) in registries.conf.
pub type InsecureFn<'a> = &'a dyn Fn(&str) -> bool;

/// Never insecure: the default until registries.conf is wired in.
pub fn never_insecure(_: &str) -> bool {
    false
}

/// Everything one exchange needs. `now` is the receipt time used for expiries.
pub struct Exchange<'a> {
    pub http: &'a dyn HttpClient,
    pub lookup: LookupFn<'a>,
    pub insecure: InsecureFn<'a>,
    pub cache: Option<&'a TokenCache>,
    pub now: SystemTime,
    pub budget: Duration,
}

/// A token fetch that failed: refused by the token server (a re-probe cannot help) or not.
enum Failure {
    Refused(Error),
    Other(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Other(e)
    }
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Refused(e) | Failure::Other(e) => e,
        }
    }
}

impl Exchange<'_> {
    /// The header a Bazel request for `uri` needs.
    pub fn answer(&self, uri: &str) -> Result<Answer> {
        let Some(target) = target::parse(uri) else {
            return Ok(Answer::default());
        };
        let started = Instant::now();
        let deadline = started + self.budget;
        self.check_plain_http(&target.scheme, &target.authority, &target.host)?;
        let key = RegistryKey::parse(&format!("{}/{}", target.authority, target.repository))?;
        let cred = (self.lookup)(&key)?;
        let origin = target.origin();
        let identity = cache::credential_identity(cred.as_ref());
        let tkey = cache::token_key(&origin, &target.repository, ACTION, &identity);

        if let Some(c) = self.cache {
            if let Some(hit) = c.get_token(&tkey, self.now) {
                return Ok(bearer(&hit));
            }
            match c.get_challenge(&origin, self.now) {
                Some(Remembered::Open) => return Ok(Answer::default()),
                Some(Remembered::Basic) => return basic_answer(&target, cred.as_ref()),
                _ => {}
            }
        }
        // Parallel cold calls: one process exchanges, the others wait and read its result.
        let _lock = self
            .cache
            .and_then(|c| c.lock(&tkey, deadline.checked_sub(PER_CALL).unwrap_or(started)));
        let remembered = match self.cache {
            Some(c) => {
                if let Some(hit) = c.get_token(&tkey, self.now) {
                    return Ok(bearer(&hit));
                }
                c.get_challenge(&origin, self.now)
            }
            None => None,
        };
        let from_memory = remembered.is_some();
        let challenge = match remembered {
            Some(r) => r,
            None => self.probe(&target, deadline)?,
        };
        let result = self.use_challenge(&target, &challenge, cred.as_ref(), deadline);
        let result = match result {
            Err(Failure::Other(_)) if from_memory => {
                // The remembered realm may be stale: look again, once.
                if let Some(c) = self.cache {
                    c.forget_challenge(&origin);
                }
                let challenge = self.probe(&target, deadline)?;
                self.use_challenge(&target, &challenge, cred.as_ref(), deadline)
            }
            other => other,
        }
        .map_err(Error::from)?;
        if let (Some(c), Some(entry)) = (self.cache, &result.1) {
            c.put_token(&tkey, entry);
        }
        Ok(result.0)
    }

    fn check_plain_http(&self, scheme: &str, authority: &str, host: &str) -> Result<()> {
        if scheme == "http" && !is_loopback(host) && !(self.insecure)(authority) {
            return Err(Error::Http(format!(
                "refusing plain http to {authority}: not a loopback host and not marked insecure in registries.conf"
            )));
        }
        Ok(())
    }

    fn remaining(&self, deadline: Instant, what: &str) -> Result<Duration> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(100) {
            return Err(Error::Http(format!("{what}: out of time")));
        }
        Ok(left.min(PER_CALL))
    }

    /// `GET /v2/` without credentials; remembers what it learns.
    fn probe(&self, target: &Target, deadline: Instant) -> Result<Remembered> {
        let url = format!("{}/v2/", target.origin());
        let resp = self.http.send(&Request {
            method: Method::Get,
            url: url.clone(),
            authorization: None,
            form: None,
            timeout: self.remaining(deadline, &describe(&url))?,
        })?;
        let found = match resp.status {
            // 404: the host is not a registry; there is nothing to add.
            200..=299 | 404 => Remembered::Open,
            401 => {
                let all = challenge::parse_all(resp.www_authenticate.iter().map(String::as_str));
                let bearer = all.iter().find(|c| {
                    c.scheme == "bearer" && c.param("realm").is_some_and(|r| !r.is_empty())
                });
                if let Some(b) = bearer {
                    Remembered::Bearer {
                        realm: b.param("realm").unwrap_or_default().to_string(),
                        service: b.param("service").map(str::to_string),
                    }
                } else if all.iter().any(|c| c.scheme == "basic") {
                    Remembered::Basic
                } else {
                    return Err(Error::Http(format!(
                        "registry {} answered 401 without a Bearer or Basic challenge",
                        target.authority
                    )));
                }
            }
            s => {
                return Err(Error::Http(format!(
                    "registry {} answered HTTP {s} on /v2/",
                    target.authority
                )));
            }
        };
        if let Some(c) = self.cache {
            c.put_challenge(&target.origin(), &found, self.now);
        }
        Ok(found)
    }

    fn use_challenge(
        &self,
        target: &Target,
        challenge: &Remembered,
        cred: Option<&Credential>,
        deadline: Instant,
    ) -> Result<(Answer, Option<CachedToken>), Failure> {
        match challenge {
            Remembered::Open => Ok((Answer::default(), None)),
            Remembered::Basic => Ok((basic_answer(target, cred)?, None)),
            Remembered::Bearer { realm, service } => {
                let entry = self.fetch_token(target, realm, service.as_deref(), cred, deadline)?;
                Ok((bearer(&entry), Some(entry)))
            }
        }
    }

    fn fetch_token(
        &self,
        target: &Target,
        realm: &str,
        service: Option<&str>,
        cred: Option<&Credential>,
        deadline: Instant,
    ) -> Result<CachedToken, Failure> {
        let (scheme, _) = realm.split_once("://").unwrap_or(("", ""));
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "https" && scheme != "http" {
            return Err(Error::Http(format!(
                "registry {} names a token realm that is not an http(s) URL",
                target.authority
            ))
            .into());
        }
        let realm_auth = describe(realm);
        let realm_auth = realm_auth.split_once("://").map(|x| x.1).unwrap_or("");
        self.check_plain_http(&scheme, realm_auth, &url_host(realm))?;
        let scope = target.pull_scope();
        let what = describe(realm);
        let get = |authorization: Option<Secret<String>>| -> Result<http::Response> {
            self.http.send(&Request {
                method: Method::Get,
                url: token::get_url(realm, service, &scope),
                authorization,
                form: None,
                timeout: self.remaining(deadline, &what)?,
            })
        };
        let resp = match cred {
            None => get(None)?,
            Some(Credential::Basic { username, password }) => {
                get(Some(basic_value(username, password.expose())))?
            }
            Some(Credential::IdentityToken { token: refresh }) => {
                let post = self.http.send(&Request {
                    method: Method::Post,
                    url: realm.split('#').next().unwrap_or(realm).to_string(),
                    authorization: None,
                    form: Some(Secret::new(token::refresh_form(refresh, service, &scope))),
                    timeout: self.remaining(deadline, &what)?,
                })?;
                if post.status == 404 {
                    get(Some(basic_value(IDENTITY_TOKEN_USER, refresh.expose())))?
                } else {
                    post
                }
            }
        };
        match resp.status {
            200..=299 => {}
            401 | 403 => {
                let who = match cred {
                    None => "anonymous access".to_string(),
                    Some(c) => format!("the credentials of {}", c.username()),
                };
                return Err(Failure::Refused(Error::Http(format!(
                    "token server {what} refused {who} for {} (HTTP {})",
                    target.authority, resp.status
                ))));
            }
            s => {
                return Err(Error::Http(format!("token server {what} answered HTTP {s}")).into());
            }
        }
        let tok = token::parse_response(&resp.body, &what)?;
        let expires = token::reported_expiry(self.now, tok.lifetime);
        Ok(CachedToken {
            token: tok.token,
            expires: token::unix_secs(expires),
            lifetime: tok.lifetime,
        })
    }
}

fn basic_value(user: &str, pass: &str) -> Secret<String> {
    Secret::new(format!(
        "Basic {}",
        STANDARD.encode(format!("{user}:{pass}"))
    ))
}

fn basic_answer(target: &Target, cred: Option<&Credential>) -> Result<Answer> {
    let value = match cred {
        Some(Credential::Basic { username, password }) => basic_value(username, password.expose()),
        Some(Credential::IdentityToken { token }) => {
            basic_value(IDENTITY_TOKEN_USER, token.expose())
        }
        None => {
            return Err(Error::Http(format!(
                "registry {} asks for a password and none is stored for it (ocicred login {})",
                target.authority, target.authority
            )));
        }
    };
    Ok(Answer {
        authorization: Some(value),
        expires: None,
    })
}

fn bearer(entry: &CachedToken) -> Answer {
    Answer {
        authorization: Some(Secret::new(format!("Bearer {}", entry.token.expose()))),
        expires: Some(UNIX_EPOCH + Duration::from_secs(entry.expires)),
    }
}
