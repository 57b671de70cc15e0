//! Token-endpoint wire format and token lifetimes: pure.
//!
//! It owns how a token request is spelled (the realm's own query kept, `service` and `scope`
//! form-encoded, the OAuth2 `refresh_token` form with a `client_id`), how a token response is
//! read (`token` preferred over `access_token`, and used only if it is an RFC 6750 `b64token`,
//! so a hostile server cannot smuggle a quote, CR/LF or NUL into a header or the cache;
//! `expires_in` missing, zero or odd → 60 s, more than a day → a day; `issued_at` ignored,
//! since the local receipt time is what counts), and the expiry Bazel is told: receipt time +
//! lifetime − min(60 s, lifetime/2), printed as `YYYY-MM-DDTHH:MM:SSZ`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// The `client_id` ocicred names itself with at OAuth2 token endpoints.
pub const CLIENT_ID: &str = "ocicred";

/// The lifetime a token has when the server does not say (distribution token spec).
pub const DEFAULT_LIFETIME: u64 = 60;

/// The longest lifetime believed: a server that says more (`1e308`) gets a day.
pub const MAX_LIFETIME: u64 = 86_400;

/// True for an RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub fn is_b64token(t: &str) -> bool {
    let body = t.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// A token as the endpoint handed it out.
#[derive(Debug)]
pub struct Token {
    /// The bearer token.
    pub token: Secret<String>,
    /// Its lifetime in seconds (defaulted).
    pub lifetime: u64,
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The GET URL for a token: the realm (its own query kept, a fragment dropped) plus `service`
/// and `scope` when given (`login` checks credentials without a scope).
pub fn get_url(realm: &str, service: Option<&str>, scope: Option<&str>) -> String {
    let base = realm.split('#').next().unwrap_or(realm);
    let mut pairs = Vec::new();
    if let Some(s) = service {
        pairs.push(("service", s));
    }
    if let Some(s) = scope {
        pairs.push(("scope", s));
    }
    if pairs.is_empty() {
        return base.to_string();
    }
    let sep = if !base.contains('?') {
        "?"
    } else if base.ends_with('?') || base.ends_with('&') {
        ""
    } else {
        "&"
    };
    format!("{base}{sep}{}", form(&pairs))
}

/// The OAuth2 form body that trades an identity (refresh) token for an access token.
pub fn refresh_form(refresh_token: &Secret<String>, service: Option<&str>, scope: &str) -> String {
    let mut pairs = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose().as_str()),
    ];
    if let Some(s) = service {
        pairs.push(("service", s));
    }
    pairs.push(("scope", scope));
    pairs.push(("client_id", CLIENT_ID));
    form(&pairs)
}

#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// Reads a token response body. The error names `host` (never the body, which may hold a token).
pub fn parse_response(body: &[u8], host: &str) -> Result<Token> {
    let wire: Wire = serde_json::from_slice(body).map_err(|_| {
        Error::Http(format!(
            "token server {host} sent a response that is not token JSON"
        ))
    })?;
    let token = [wire.token, wire.access_token]
        .into_iter()
        .flatten()
        .find(|t| !t.is_empty())
        .ok_or_else(|| Error::Http(format!("token server {host} sent no token")))?;
    if !is_b64token(&token) {
        return Err(Error::Http(format!(
            "token server {host} sent a token that is not a plain bearer token (RFC 6750 b64token)"
        )));
    }
    let lifetime = wire
        .expires_in
        .and_then(|v| v.as_f64())
        .filter(|s| s.is_finite() && *s >= 1.0)
        .map(|s| s.min(MAX_LIFETIME as f64) as u64)
        .unwrap_or(DEFAULT_LIFETIME);
    Ok(Token {
        token: Secret::new(token),
        lifetime,
    })
}

/// When to tell Bazel the token expires: `received + lifetime − min(60 s, lifetime/2)`.
pub fn reported_expiry(received: SystemTime, lifetime: u64) -> SystemTime {
    let margin = (lifetime / 2).min(60);
    received + Duration::from_secs(lifetime - margin)
}

/// Seconds since the Unix epoch (0 before it).
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// RFC 3339 in UTC with whole seconds (truncated), uppercase `T` and `Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = unix_secs(t);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn get_url_keeps_realm_query() {
        assert_eq!(
            get_url(
                "https://auth.docker.io/token",
                Some("registry.docker.io"),
                Some("repository:library/alpine:pull")
            ),
            "https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%2Falpine%3Apull"
        );
        assert_eq!(
            get_url("https://r/t?a=1", None, Some("repository:x:pull")),
            "https://r/t?a=1&scope=repository%3Ax%3Apull"
        );
        assert_eq!(
            get_url("https://r/t?", Some("a b&c"), Some("s")),
            "https://r/t?service=a%20b%26c&scope=s"
        );
        // `login`: a service and no scope; nothing at all leaves the realm as it is.
        assert_eq!(
            get_url("https://auth.r.io/token#x", Some("r io"), None),
            "https://auth.r.io/token?service=r%20io"
        );
        assert_eq!(get_url("https://r/t?a=1", None, None), "https://r/t?a=1");
    }

    #[test]
    fn refresh_form_body() {
        let body = refresh_form(
            &Secret::new("tok+/=".into()),
            Some("registry.test"),
            "repository:foo/bar:pull",
        );
        assert_eq!(
            body,
            "grant_type=refresh_token&refresh_token=tok%2B%2F%3D&service=registry.test&scope=repository%3Afoo%2Fbar%3Apull&client_id=ocicred"
        );
    }

    #[test]
    fn response_variants() {
        let t = parse_response(br#"{"token":"a","access_token":"b","expires_in":300,"issued_at":"2026-11-23T07:53:00Z"}"#, "h").unwrap();
        assert_eq!((t.token.expose().as_str(), t.lifetime), ("a", 300));
        let t = parse_response(br#"{"access_token":"b","issued_at":"2026-11-23T07:53:00.123456789Z","refresh_token":"r"}"#, "h").unwrap();
        assert_eq!((t.token.expose().as_str(), t.lifetime), ("b", 60));
        let t = parse_response(br#"{"token":"","access_token":"b","expires_in":0}"#, "h").unwrap();
        assert_eq!((t.token.expose().as_str(), t.lifetime), ("b", 60));
        let t = parse_response(br#"{"token":"a","expires_in":"300"}"#, "h").unwrap();
        assert_eq!(t.lifetime, 60);
        let t = parse_response(br#"{"token":"a","expires_in":3600.5}"#, "h").unwrap();
        assert_eq!(t.lifetime, 3600);
        // A huge lifetime is a day (finding 10): never an `expires` in another century.
        for huge in ["1e308", "86401", "18446744073709551616"] {
            let body = format!(r#"{{"token":"a","expires_in":{huge}}}"#);
            assert_eq!(
                parse_response(body.as_bytes(), "h").unwrap().lifetime,
                MAX_LIFETIME
            );
        }
        let e = parse_response(br#"{"expires_in":300}"#, "h").unwrap_err();
        assert_eq!(e.to_string(), "token server h sent no token");
        let e = parse_response(b"<html>secret</html>", "h").unwrap_err();
        assert!(!e.to_string().contains("secret"));
        assert!(parse_response(br#"{"token":null,"access_token":"x"}"#, "h").is_ok());
    }

    #[test]
    fn only_b64tokens_are_tokens() {
        for ok in ["a", "eyJhbGciOi.J9-_~+/x", "abc==", "A1"] {
            assert!(is_b64token(ok), "{ok}");
            let body = serde_json::json!({ "token": ok }).to_string();
            assert!(parse_response(body.as_bytes(), "h").is_ok(), "{ok}");
        }
        // Finding 9: header injection, NUL, spaces, quotes, non-ASCII, padding only.
        for bad in [
            "a\"b\r\nX-Injected: 1",
            "a\0b",
            "a b",
            "\"x\"",
            "=",
            "==",
            "a=b",
            "t\u{e9}",
            "a,b",
        ] {
            assert!(!is_b64token(bad), "{bad:?}");
            let body = serde_json::json!({ "token": bad }).to_string();
            let e = parse_response(body.as_bytes(), "h")
                .unwrap_err()
                .to_string();
            assert_eq!(
                e,
                "token server h sent a token that is not a plain bearer token (RFC 6750 b64token)"
            );
            let body = serde_json::json!({ "access_token": bad }).to_string();
            assert!(parse_response(body.as_bytes(), "h").is_err());
        }
    }

    #[test]
    fn expiry_margin() {
        assert_eq!(reported_expiry(at(1000), 300), at(1240));
        assert_eq!(reported_expiry(at(1000), 60), at(1030));
        assert_eq!(reported_expiry(at(1000), 1), at(1001));
        assert_eq!(reported_expiry(at(1000), 3600), at(4540));
    }

    #[test]
    fn rfc3339_whole_seconds_utc() {
        assert_eq!(rfc3339(at(0)), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(at(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(at(1_795_420_728)), "2026-11-23T07:58:48Z");
        assert_eq!(
            rfc3339(at(1_795_420_728) + Duration::from_millis(999)),
            "2026-11-23T07:58:48Z"
        );
        assert_eq!(rfc3339(at(4_102_444_799)), "2099-12-31T23:59:59Z");
    }
}
