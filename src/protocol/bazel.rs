//! The Bazel credential-helper protocol: a thin adapter with no lookup policy.
//!
//! It owns the wire format only: stdin is one JSON object with a string `uri` (read to EOF, no
//! newline needed, JSON escapes such as Gson's `\u003d` decoded, unknown fields ignored); stdout
//! is exactly one JSON object, `{}` or `{"headers":{"Authorization":["…"]},"expires":"…Z"}`,
//! written in one piece only once the answer is complete, with `expires` omitted (never `null`)
//! when unknown. What the header is comes from [`crate::oci::Exchange`]; [`run`] builds one
//! from the seams it is handed (the HTTP client and token cache come from `app`).

use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::credential::RegistryAuth;
use crate::error::{Error, Result};
use crate::oci::cache::TokenCache;
use crate::oci::http::HttpClient;
use crate::oci::{self, Answer, Exchange, InsecureFn};
use crate::registry_key::RegistryKey;
use crate::resolver::Resolver;

/// The largest request read.
pub const MAX_REQUEST: usize = super::MAX_STDIN;

/// The whole call's deadline: every helper, keyring call and HTTP request of one `get` fits in
/// it, however many there are (Bazel gives up at 10 s).
pub const DEADLINE: Duration = Duration::from_secs(8);

/// Reads the `uri` of a request.
pub fn parse_request(input: &[u8]) -> Result<String> {
    if input.len() > MAX_REQUEST {
        return Err(Error::InvalidInput("request is larger than 1 MiB".into()));
    }
    let value: serde_json::Value = serde_json::from_slice(input).map_err(|e| {
        Error::InvalidInput(format!(
            "request is not valid JSON: {}",
            e.to_string().split(" at line").next().unwrap_or("")
        ))
    })?;
    let obj = value
        .as_object()
        .ok_or_else(|| Error::InvalidInput("request is not a JSON object".into()))?;
    match obj.get("uri") {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(Error::InvalidInput(
            "request field \"uri\" is not a string".into(),
        )),
        None => Err(Error::InvalidInput("request has no \"uri\" field".into())),
    }
}

#[derive(Serialize)]
struct Wire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Headers<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
}

#[derive(Serialize)]
struct Headers<'a> {
    #[serde(rename = "Authorization")]
    authorization: [&'a str; 1],
}

/// The response bytes for an answer.
pub fn render(answer: &Answer) -> Vec<u8> {
    let wire = Wire {
        headers: answer.authorization.as_ref().map(|a| Headers {
            authorization: [a.expose().as_str()],
        }),
        expires: answer.expires.map(oci::token::rfc3339),
    };
    // Serialising plain strings cannot fail.
    serde_json::to_vec(&wire).unwrap_or_else(|_| b"{}".to_vec())
}

/// Answers one request: parses `input`, asks `exchange`, writes the response to `out`.
/// On error nothing has been written.
pub fn handle(input: &[u8], exchange: &Exchange, out: &mut dyn Write) -> Result<()> {
    let uri = parse_request(input)?;
    let answer = exchange.answer(&uri)?;
    let bytes = render(&answer);
    out.write_all(&bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Error::io(std::path::Path::new("<stdout>"), e))
}

/// The resolver's answer for the exchange: not found means anonymous.
pub fn resolver_lookup(resolver: &Resolver, key: &RegistryKey) -> Result<Option<RegistryAuth>> {
    resolver.get_auth(key)
}

/// Answers one request with the seams the wiring (`app`) hands in: the HTTP client, the
/// user's token cache (when usable), and `resolver` for credentials; the clock is read here.
/// `insecure` says which `host[:port]` may use plain HTTP: the registries and mirrors marked
/// `insecure` in registries.conf. Everything, credential lookup included, must be done by
/// `deadline`.
pub fn run(
    input: &[u8],
    resolver: &Resolver,
    http: &dyn HttpClient,
    cache: Option<&TokenCache>,
    insecure: InsecureFn,
    deadline: Instant,
    out: &mut dyn Write,
) -> Result<()> {
    let lookup = |key: &RegistryKey| resolver_lookup(resolver, key);
    let exchange = Exchange {
        http,
        lookup: &lookup,
        insecure,
        cache,
        now: SystemTime::now(),
        budget: deadline.saturating_duration_since(Instant::now()),
    };
    handle(input, &exchange, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn requests_as_bazel_writes_them() {
        assert_eq!(
            parse_request(br#"{"uri":"https://r/v2/a/manifests/x?n\u003d1\u0026m\u003d2"}"#)
                .unwrap(),
            "https://r/v2/a/manifests/x?n=1&m=2"
        );
        assert_eq!(
            parse_request(b" \n{\"uri\":\"https://r/\",\"extra\":{\"x\":[1]},\"n\":null}\n")
                .unwrap(),
            "https://r/"
        );
        for (bad, msg) in [
            (&b"{}"[..], "request has no \"uri\" field"),
            (br#"{"uri":5}"#, "request field \"uri\" is not a string"),
            (br#"["uri"]"#, "request is not a JSON object"),
        ] {
            assert_eq!(parse_request(bad).unwrap_err().to_string(), msg);
        }
        assert!(parse_request(b"{\"uri\":").is_err());
        assert!(parse_request(b"{\"uri\":\"\xff\"}").is_err());
        assert!(parse_request(&vec![b' '; MAX_REQUEST + 1]).is_err());
    }

    #[test]
    fn exact_response_json() {
        assert_eq!(render(&Answer::default()), b"{}");
        let a = Answer {
            authorization: Some(Secret::new("Bearer abc.def".into())),
            expires: Some(UNIX_EPOCH + Duration::from_millis(1_795_420_728_900)),
        };
        assert_eq!(
            String::from_utf8(render(&a)).unwrap(),
            r#"{"headers":{"Authorization":["Bearer abc.def"]},"expires":"2026-11-23T07:58:48Z"}"#
        );
        let a = Answer {
            authorization: Some(Secret::new("Basic YTpi".into())),
            expires: None,
        };
        assert_eq!(
            String::from_utf8(render(&a)).unwrap(),
            r#"{"headers":{"Authorization":["Basic YTpi"]}}"#
        );
    }
}
