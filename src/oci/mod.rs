//! The OCI token exchange: which `Authorization` header a registry URI needs, and until when.
//!
//! It owns the flow of docs/protocol.md#the-oci-token-exchange and its safety rules: classify the
//! URI ([`target`]); refuse plain `http://` unless the host is loopback or marked insecure; find
//! the credential; answer from the shared [`cache`] when it can; else, under the key's lock, probe
//! `GET /v2/`, read the challenge ([`challenge`]) and either answer `Basic` directly, answer
//! nothing (an open registry), or fetch a token from the realm ([`token`]): `GET` with Basic or
//! anonymously, or an OAuth2 `POST` for identity tokens with a fallback to `GET` on 404. Headers go
//! only to the registry's own host and `/v2/`; credentials go only to the registry (Basic) or its
//! realm. All network work shares one time budget well under Bazel's 10 s.

pub mod cache;
pub mod challenge;
pub mod http;
pub mod target;
pub mod token;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::credential::{Credential, IDENTITY_TOKEN_USER, RegistryAuth};
use crate::error::{Error, Result};
use crate::registry_key::RegistryKey;
use crate::secret::Secret;

use cache::{CachedToken, Remembered, TokenCache};
use http::{HttpClient, Method, Request, describe, url_host};
use target::{Target, is_loopback};

/// The action ocicred asks tokens for.
pub const ACTION: &str = "pull";

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

/// Finds the credential for a registry key: `Ok(None)` means "go anonymous"; a registry token
/// is sent as it is.
pub type LookupFn<'a> = &'a dyn Fn(&RegistryKey) -> Result<Option<RegistryAuth>>;

/// Says whether a `host[:port]` is marked `insecure` (plain HTTP allowed) in registries.conf.
pub type InsecureFn<'a> = &'a dyn Fn(&str) -> bool;

/// Everything one exchange needs. `now` is the receipt time used for expiries.
pub struct Exchange<'a> {
    pub http: &'a dyn HttpClient,
    pub lookup: LookupFn<'a>,
    pub insecure: InsecureFn<'a>,
    pub cache: Option<&'a TokenCache>,
    pub now: SystemTime,
    /// What is left of the call's deadline when [`Exchange::answer`] starts: the credential
    /// lookup and every HTTP call must fit in it.
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
        self.check_plain_http(&target.scheme, &target.authority, deadline)?;
        let key = RegistryKey::parse(&format!("{}/{}", target.authority, target.repository))?;
        let cred = match (self.lookup)(&key)? {
            // A ready registry token (a `token-env` route): no probe, no exchange, no cache.
            Some(RegistryAuth::Token(token)) => {
                return Ok(Answer {
                    authorization: Some(Secret::new(format!("Bearer {}", token.expose()))),
                    expires: None,
                });
            }
            Some(RegistryAuth::Credential(c)) => Some(c),
            None => None,
        };
        let origin = target.origin();
        let identity = cache::credential_identity(cred.as_ref());
        let tkey = cache::token_key(&origin, &target.repository, ACTION, &identity);

        if let Some(c) = self.cache {
            if let Some(hit) = c.get_token(&tkey, self.now) {
                return Ok(bearer(&hit));
            }
            match c.get_challenge(&origin, self.now) {
                Some(Remembered::Open) => return Ok(Answer::default()),
                Some(Remembered::Basic) => return Ok(basic_answer(cred.as_ref())),
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

    fn check_plain_http(&self, scheme: &str, authority: &str, deadline: Instant) -> Result<()> {
        if scheme != "http" {
            return Ok(());
        }
        let timeout = self.remaining(deadline, authority)?;
        if plain_http_allowed(self.http, authority, self.insecure, timeout) {
            return Ok(());
        }
        Err(refuse_plain_http(authority))
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
            401 => choose_challenge(&resp.www_authenticate).ok_or_else(|| {
                Error::Http(format!(
                    "registry {} answered 401 without a Bearer or Basic challenge",
                    target.authority
                ))
            })?,
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
            Remembered::Basic => Ok((basic_answer(cred), None)),
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
        let what = describe(realm);
        check_realm(
            self.http,
            realm,
            self.insecure,
            self.remaining(deadline, &what)?,
        )?;
        let scope = target.pull_scope();
        let get = |authorization: Option<Secret<String>>| -> Result<http::Response> {
            self.http.send(&Request {
                method: Method::Get,
                url: token::get_url(realm, service, Some(&scope)),
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

/// May plain `http://` go to `authority` (`host[:port]`)? Only to a loopback host
/// (docs/protocol.md#time-limits-and-safety-rules: `localhost` or a literal loopback address, or a
/// name whose every address is loopback, which `http` then pins) or to one marked `insecure` in
/// registries.conf.
pub fn plain_http_allowed(
    http: &dyn HttpClient,
    authority: &str,
    insecure: InsecureFn,
    timeout: Duration,
) -> bool {
    let host = url_host(&format!("http://{authority}"));
    is_loopback(&host)
        || insecure(authority)
        || (!host.is_empty() && http.resolve_loopback(&host, timeout))
}

fn refuse_plain_http(authority: &str) -> Error {
    Error::Http(format!(
        "refusing plain http to {authority}: not a loopback host and not marked insecure in registries.conf"
    ))
}

/// What a registry's `401` on `/v2/` asks for: the first Bearer challenge that names a realm,
/// else Basic; `None` when it offers neither. The Bazel path and `login` both choose here.
pub fn choose_challenge(www_authenticate: &[String]) -> Option<Remembered> {
    let all = challenge::parse_all(www_authenticate.iter().map(String::as_str));
    let bearer = all
        .iter()
        .find(|c| c.scheme == "bearer" && c.param("realm").is_some_and(|r| !r.is_empty()));
    if let Some(b) = bearer {
        Some(Remembered::Bearer {
            realm: b.param("realm").unwrap_or_default().to_string(),
            service: b.param("service").map(str::to_string),
        })
    } else if all.iter().any(|c| c.scheme == "basic") {
        Some(Remembered::Basic)
    } else {
        None
    }
}

/// May credentials go to the token `realm`? Only to an `https://` URL, or a plain `http://` one
/// on a loopback or insecure host ([`plain_http_allowed`]). The Bazel path and `login` both
/// check here before sending anything.
pub fn check_realm(
    http: &dyn HttpClient,
    realm: &str,
    insecure: InsecureFn,
    timeout: Duration,
) -> Result<()> {
    let shown = describe(realm);
    let (scheme, authority) = shown.split_once("://").unwrap_or(("", ""));
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if plain_http_allowed(http, authority, insecure, timeout) => Ok(()),
        "http" => Err(refuse_plain_http(authority)),
        _ => Err(Error::Http(format!(
            "the token realm {shown} is not an http(s) URL"
        ))),
    }
}

/// The `Authorization` value for HTTP Basic auth.
pub fn basic_value(user: &str, pass: &str) -> Secret<String> {
    Secret::new(format!(
        "Basic {}",
        STANDARD.encode(format!("{user}:{pass}"))
    ))
}

/// The answer to a Basic challenge: the stored credential, or nothing (`{}`) when none is stored,
/// so that Bazel's own fallbacks (`.netrc`, `auth` attributes) still apply
/// (docs/protocol.md#the-bazel-credential-helper-protocol).
fn basic_answer(cred: Option<&Credential>) -> Answer {
    let value = match cred {
        Some(Credential::Basic { username, password }) => basic_value(username, password.expose()),
        Some(Credential::IdentityToken { token }) => {
            basic_value(IDENTITY_TOKEN_USER, token.expose())
        }
        None => return Answer::default(),
    };
    Answer {
        authorization: Some(value),
        expires: None,
    }
}

fn bearer(entry: &CachedToken) -> Answer {
    Answer {
        authorization: Some(Secret::new(format!("Bearer {}", entry.token.expose()))),
        expires: Some(UNIX_EPOCH + Duration::from_secs(entry.expires)),
    }
}

#[cfg(test)]
mod tests {
    use super::http::Response;
    use super::*;
    use std::cell::RefCell;

    /// One request as the fake saw it (secrets exposed, for assertions).
    #[derive(Debug, Clone, PartialEq)]
    struct Seen {
        method: Method,
        url: String,
        auth: Option<String>,
        form: Option<String>,
    }

    /// A scripted HTTP client: `route` answers, `seen` records.
    struct Fake<F: Fn(&Seen) -> Result<Response>> {
        route: F,
        seen: RefCell<Vec<Seen>>,
    }

    impl<F: Fn(&Seen) -> Result<Response>> HttpClient for Fake<F> {
        fn send(&self, req: &Request) -> Result<Response> {
            assert!(req.timeout <= PER_CALL && req.timeout > Duration::ZERO);
            let s = Seen {
                method: req.method,
                url: req.url.clone(),
                auth: req.authorization.as_ref().map(|a| a.expose().clone()),
                form: req.form.as_ref().map(|a| a.expose().clone()),
            };
            self.seen.borrow_mut().push(s.clone());
            (self.route)(&s)
        }

        /// The scripted resolver: `good.localhost` is loopback, every other name is not.
        fn resolve_loopback(&self, host: &str, _: Duration) -> bool {
            host == "good.localhost"
        }
    }

    fn fake<F: Fn(&Seen) -> Result<Response>>(route: F) -> Fake<F> {
        Fake {
            route,
            seen: RefCell::new(Vec::new()),
        }
    }

    fn resp(status: u16, www: &[&str], body: &str) -> Result<Response> {
        Ok(Response {
            status,
            www_authenticate: www.iter().map(|s| s.to_string()).collect(),
            body: body.as_bytes().to_vec(),
        })
    }

    const BEARER: &str = r#"Bearer realm="https://auth.example/token",service="reg.example""#;

    /// A registry with token auth; the token endpoint answers `token_body`.
    fn registry(token_status: u16, token_body: &'static str) -> impl Fn(&Seen) -> Result<Response> {
        move |s: &Seen| {
            if s.url.ends_with("/v2/") {
                resp(401, &[BEARER], "")
            } else if s.url.starts_with("https://auth.example/token") {
                resp(token_status, &[], token_body)
            } else {
                panic!("unexpected {s:?}")
            }
        }
    }

    const NOW: u64 = 1_795_420_000;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn anon(_: &RegistryKey) -> Result<Option<RegistryAuth>> {
        Ok(None)
    }

    fn alice(k: &RegistryKey) -> Result<Option<RegistryAuth>> {
        assert!(k.host() == "reg.example" || k.host() == "docker.io", "{k}");
        Ok(Some(RegistryAuth::Credential(Credential::basic(
            "alice", "s3cret",
        ))))
    }

    fn ident(_: &RegistryKey) -> Result<Option<RegistryAuth>> {
        Ok(Some(RegistryAuth::Credential(Credential::IdentityToken {
            token: Secret::new("REFRESH".into()),
        })))
    }

    #[test]
    fn a_registry_token_is_sent_as_it_is_to_registry_paths_only() {
        let http = fake(|s| panic!("no request expected: {s:?}"));
        let tok = |_: &RegistryKey| -> Result<Option<RegistryAuth>> {
            Ok(Some(RegistryAuth::Token(Secret::new("reg.tok-1".into()))))
        };
        let e = ex(&http, &tok, None);
        let a = e.answer(M).unwrap();
        assert_eq!(header(&a).as_deref(), Some("Bearer reg.tok-1"));
        assert!(a.expires.is_none());
        let a = e.answer("https://reg.example/token?scope=x").unwrap();
        assert!(a.authorization.is_none());
        assert!(e.answer("http://reg.example/v2/a/manifests/x").is_err());
    }

    fn ex<'a>(
        http: &'a dyn HttpClient,
        lookup: LookupFn<'a>,
        cache: Option<&'a TokenCache>,
    ) -> Exchange<'a> {
        Exchange {
            http,
            lookup,
            insecure: &|_: &str| false,
            cache,
            now: now(),
            budget: crate::protocol::bazel::DEADLINE,
        }
    }

    fn header(a: &Answer) -> Option<String> {
        a.authorization.as_ref().map(|s| s.expose().clone())
    }

    const M: &str = "https://reg.example/v2/org/img/manifests/latest";

    #[test]
    fn non_registry_uris_cost_nothing() {
        let http = fake(|s| panic!("no request expected: {s:?}"));
        let e = ex(&http, &anon, None);
        for uri in [
            "https://auth.example/token?scope=repository:a:pull",
            "https://reg.example/v2/",
            "https://cdn.example/blobs/sha256:abc?sig=1",
            "http://10.0.0.1/archive.tar.gz",
        ] {
            let a = e.answer(uri).unwrap();
            assert!(a.authorization.is_none() && a.expires.is_none());
        }
    }

    #[test]
    fn anonymous_bearer_token() {
        let http = fake(registry(200, r#"{"token":"T1","expires_in":300}"#));
        let a = ex(&http, &anon, None).answer(M).unwrap();
        assert_eq!(header(&a).as_deref(), Some("Bearer T1"));
        assert_eq!(a.expires, Some(now() + Duration::from_secs(240)));
        let seen = http.seen.borrow();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].url, "https://reg.example/v2/");
        assert_eq!(seen[0].auth, None);
        assert_eq!(
            seen[1].url,
            "https://auth.example/token?service=reg.example&scope=repository%3Aorg%2Fimg%3Apull"
        );
        assert_eq!(seen[1].auth, None);
    }

    #[test]
    fn basic_credentials_go_to_the_realm_only() {
        let http = fake(registry(
            200,
            r#"{"access_token":"T2","issued_at":"2026-11-23T07:53:00.123456789Z"}"#,
        ));
        let a = ex(&http, &alice, None).answer(M).unwrap();
        assert_eq!(header(&a).as_deref(), Some("Bearer T2"));
        assert_eq!(
            a.expires,
            Some(now() + Duration::from_secs(30)),
            "default 60 s lifetime"
        );
        let seen = http.seen.borrow();
        assert_eq!(seen[0].auth, None, "the probe carries no credentials");
        assert_eq!(seen[1].auth.as_deref(), Some("Basic YWxpY2U6czNjcmV0"));
    }

    #[test]
    fn refused_credentials_are_an_error_without_secrets() {
        for status in [401, 403] {
            let http = fake(registry(status, r#"{"details":"s3cret"}"#));
            let err = ex(&http, &alice, None).answer(M).unwrap_err().to_string();
            assert_eq!(
                err,
                format!(
                    "token server https://auth.example refused the credentials of alice for reg.example (HTTP {status})"
                )
            );
        }
        let http = fake(registry(500, ""));
        let err = ex(&http, &anon, None).answer(M).unwrap_err().to_string();
        assert_eq!(err, "token server https://auth.example answered HTTP 500");
        let http = fake(registry(200, r#"{"nothing":1}"#));
        assert!(ex(&http, &anon, None).answer(M).is_err());
    }

    #[test]
    fn identity_tokens_use_oauth2_then_fall_back_to_get() {
        let http = fake(|s: &Seen| match (s.method, s.url.as_str()) {
            (_, u) if u.ends_with("/v2/") => resp(401, &[BEARER], ""),
            (Method::Post, "https://auth.example/token") => resp(
                200,
                &[],
                r#"{"access_token":"OA","expires_in":900,"refresh_token":"R2"}"#,
            ),
            _ => panic!("{s:?}"),
        });
        let a = ex(&http, &ident, None).answer(M).unwrap();
        assert_eq!(header(&a).as_deref(), Some("Bearer OA"));
        assert_eq!(a.expires, Some(now() + Duration::from_secs(840)));
        assert_eq!(
            http.seen.borrow()[1].form.as_deref(),
            Some(
                "grant_type=refresh_token&refresh_token=REFRESH&service=reg.example&scope=repository%3Aorg%2Fimg%3Apull&client_id=ocicred"
            )
        );
        assert_eq!(http.seen.borrow()[1].auth, None);

        let http = fake(|s: &Seen| match s.method {
            _ if s.url.ends_with("/v2/") => resp(401, &[BEARER], ""),
            Method::Post => resp(404, &[], "not found"),
            Method::Get => resp(200, &[], r#"{"token":"G"}"#),
        });
        let a = ex(&http, &ident, None).answer(M).unwrap();
        assert_eq!(header(&a).as_deref(), Some("Bearer G"));
        let seen = http.seen.borrow();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[2].method, Method::Get);
        assert_eq!(seen[2].auth.as_deref(), Some("Basic PHRva2VuPjpSRUZSRVNI"));
    }

    #[test]
    fn basic_challenge_and_open_registries() {
        let http = fake(|_: &Seen| resp(401, &[r#"Basic realm="peers-test""#], ""));
        let a = ex(&http, &alice, None).answer(M).unwrap();
        assert_eq!(header(&a).as_deref(), Some("Basic YWxpY2U6czNjcmV0"));
        assert_eq!(a.expires, None);
        // Nothing stored for a Basic registry: `{}`, so that Bazel's own fallbacks apply.
        let a = ex(&http, &anon, None).answer(M).unwrap();
        assert!(a.authorization.is_none() && a.expires.is_none());

        for status in [200, 404] {
            let http = fake(move |_: &Seen| resp(status, &[], "{}"));
            let a = ex(&http, &alice, None).answer(M).unwrap();
            assert!(a.authorization.is_none() && a.expires.is_none());
        }
        let http = fake(|_: &Seen| resp(401, &["Negotiate abc"], ""));
        assert!(ex(&http, &alice, None).answer(M).is_err());
        let http = fake(|_: &Seen| resp(503, &[], ""));
        assert_eq!(
            ex(&http, &alice, None).answer(M).unwrap_err().to_string(),
            "registry reg.example answered HTTP 503 on /v2/"
        );
    }

    #[test]
    fn odd_challenges_pick_the_bearer() {
        let http = fake(|s: &Seen| {
            if s.url.ends_with("/v2/") {
                resp(
                    401,
                    &[
                        r#"Basic realm="x, y""#,
                        r#"Negotiate, BEARER Service="reg.example" , REALM="https://auth.example/token?a=1,2&b=\"q\"""#,
                    ],
                    "",
                )
            } else {
                assert_eq!(
                    s.url,
                    "https://auth.example/token?a=1,2&b=\"q\"&service=reg.example&scope=repository%3Aorg%2Fimg%3Apull"
                );
                resp(200, &[], r#"{"token":"T"}"#)
            }
        });
        assert!(ex(&http, &anon, None).answer(M).is_ok());
        // No service: the parameter is left out, not an error.
        let http = fake(|s: &Seen| {
            if s.url.ends_with("/v2/") {
                resp(401, &[r#"Bearer realm="https://auth.example/token""#], "")
            } else {
                assert_eq!(
                    s.url,
                    "https://auth.example/token?scope=repository%3Aorg%2Fimg%3Apull"
                );
                resp(200, &[], r#"{"token":"T"}"#)
            }
        });
        assert!(ex(&http, &anon, None).answer(M).is_ok());
    }

    #[test]
    fn plain_http_only_for_loopback_or_insecure() {
        let http = fake(|_: &Seen| resp(200, &[], "{}"));
        let e = ex(&http, &anon, None);
        let err = e
            .answer("http://reg.example/v2/a/manifests/v1")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("refusing plain http to reg.example")
        );
        assert!(http.seen.borrow().is_empty());
        assert!(e.answer("http://127.0.0.1:5000/v2/a/manifests/v1").is_ok());
        assert!(e.answer("http://localhost:5000/v2/a/manifests/v1").is_ok());
        let insecure = |h: &str| h == "reg.example:5000";
        let e = Exchange {
            insecure: &insecure,
            ..ex(&http, &anon, None)
        };
        assert!(
            e.answer("http://reg.example:5000/v2/a/manifests/v1")
                .is_ok()
        );
        assert!(e.answer("http://reg.example/v2/a/manifests/v1").is_err());
        // A name is loopback only when it resolves to loopback alone (finding 4).
        let e = ex(&http, &anon, None);
        let err = e
            .answer("http://evil.localhost:5000/v2/a/manifests/v1")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("refusing plain http to evil.localhost:5000"),
            "{err}"
        );
        let n = http.seen.borrow().len();
        assert!(
            e.answer("http://good.localhost:5000/v2/a/manifests/v1")
                .is_ok()
        );
        assert_eq!(http.seen.borrow().len(), n + 1);
        // A realm on plain http at a non-loopback host is refused too.
        let http = fake(|_: &Seen| resp(401, &[r#"Bearer realm="http://auth.example/token""#], ""));
        let err = ex(&http, &alice, None).answer(M).unwrap_err().to_string();
        assert!(
            err.starts_with("refusing plain http to auth.example"),
            "{err}"
        );
        assert_eq!(http.seen.borrow().len(), 1);
    }

    #[test]
    fn out_of_time_fails_fast() {
        let http = fake(|_: &Seen| resp(200, &[], "{}"));
        let e = Exchange {
            budget: Duration::ZERO,
            ..ex(&http, &anon, None)
        };
        assert!(e.answer(M).unwrap_err().to_string().contains("out of time"));
    }

    fn cache_dir() -> (tempfile::TempDir, TokenCache) {
        use std::os::unix::fs::MetadataExt;
        let t = tempfile::tempdir().unwrap();
        let uid = std::fs::metadata(t.path()).unwrap().uid();
        let c = TokenCache::open(&t.path().join("ocicred"), uid).unwrap();
        (t, c)
    }

    #[test]
    fn cache_serves_repeats_and_remembers_the_realm() {
        let (_t, c) = cache_dir();
        let http = fake(registry(200, r#"{"token":"T","expires_in":300}"#));
        let e = ex(&http, &alice, Some(&c));
        let first = e.answer(M).unwrap();
        assert_eq!(http.seen.borrow().len(), 2);
        let again = e
            .answer(&format!(
                "https://reg.example/v2/org/img/blobs/sha256:{}",
                "a".repeat(64)
            ))
            .unwrap();
        assert_eq!(
            http.seen.borrow().len(),
            2,
            "a warm repository makes no request"
        );
        assert_eq!(header(&first), header(&again));
        assert_eq!(first.expires, again.expires);
        // Another repository: its own token, but the realm is remembered (one request).
        e.answer("https://reg.example/v2/other/manifests/v1")
            .unwrap();
        let seen = http.seen.borrow().clone();
        assert_eq!(seen.len(), 3);
        assert!(seen[2].url.contains("scope=repository%3Aother%3Apull"));
        // Another credential: its own token.
        let e2 = ex(&http, &anon, Some(&c));
        e2.answer(M).unwrap();
        assert_eq!(http.seen.borrow().len(), 4);
        assert_eq!(http.seen.borrow()[3].auth, None);
        // Past the reported expiry the entry is never served.
        let late = Exchange {
            now: now() + Duration::from_secs(240),
            ..ex(&http, &alice, Some(&c))
        };
        late.answer(M).unwrap();
        assert_eq!(http.seen.borrow().len(), 5);
    }

    #[test]
    fn stale_remembered_realm_is_probed_again_once() {
        let (_t, c) = cache_dir();
        c.put_challenge(
            "https://reg.example",
            &Remembered::Bearer {
                realm: "https://old.example/token".into(),
                service: None,
            },
            now(),
        );
        let http = fake(|s: &Seen| {
            if s.url.starts_with("https://old.example") {
                Err(Error::Http(
                    "https://old.example: connection refused".into(),
                ))
            } else {
                registry(200, r#"{"token":"NEW"}"#)(s)
            }
        });
        let a = ex(&http, &anon, Some(&c)).answer(M).unwrap();
        assert_eq!(header(&a).as_deref(), Some("Bearer NEW"));
        assert_eq!(http.seen.borrow().len(), 3);
        // A refusal is not retried.
        c.put_challenge(
            "https://reg.example",
            &Remembered::Bearer {
                realm: "https://auth.example/token".into(),
                service: None,
            },
            now(),
        );
        let http = fake(registry(401, ""));
        assert!(
            ex(&http, &alice, Some(&c))
                .answer("https://reg.example/v2/z/manifests/v1")
                .is_err()
        );
        assert_eq!(http.seen.borrow().len(), 1);
    }

    #[test]
    fn remembered_basic_and_open_need_no_request() {
        let (_t, c) = cache_dir();
        let http = fake(|_: &Seen| resp(401, &[r#"Basic realm="r""#], ""));
        ex(&http, &alice, Some(&c)).answer(M).unwrap();
        let a = ex(&http, &alice, Some(&c))
            .answer("https://reg.example/v2/x/manifests/v1")
            .unwrap();
        assert_eq!(header(&a).as_deref(), Some("Basic YWxpY2U6czNjcmV0"));
        assert_eq!(http.seen.borrow().len(), 1);
    }

    #[test]
    fn lookup_errors_and_keys() {
        let http = fake(registry(200, r#"{"token":"T"}"#));
        let fail = |_: &RegistryKey| -> Result<Option<RegistryAuth>> {
            Err(Error::Blocked("reg.example".into()))
        };
        assert!(matches!(
            ex(&http, &fail, None).answer(M),
            Err(Error::Blocked(_))
        ));
        let seen_key = RefCell::new(String::new());
        let record = |k: &RegistryKey| {
            *seen_key.borrow_mut() = k.to_string();
            Ok(None)
        };
        let http = fake(|s: &Seen| {
            if s.url.ends_with("/v2/") {
                resp(401, &[BEARER], "")
            } else {
                resp(200, &[], r#"{"token":"T"}"#)
            }
        });
        ex(&http, &record, None)
            .answer("https://Index.Docker.IO/v2/library/alpine/manifests/3")
            .unwrap();
        assert_eq!(*seen_key.borrow(), "docker.io/library/alpine");
        assert_eq!(http.seen.borrow()[0].url, "https://index.docker.io/v2/");
    }
}
