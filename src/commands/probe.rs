//! The tiny HTTP seam `login` verifies credentials through: one bounded `GET` with an optional
//! `Authorization` header, answering the status and the `WWW-Authenticate` values.
//!
//! Its one real implementation is on `ureq` (rustls, no redirects, connect and total
//! timeouts). It exists only until the crate-wide HTTP client (`oci::http`) is on main; then
//! [`UreqProbe`] becomes an adapter over it. Error lines name only the scheme and host.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// What a `GET` answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProbeAnswer {
    pub status: u16,
    pub www_authenticate: Vec<String>,
}

/// One bounded `GET`.
pub trait Probe {
    fn get(&self, url: &str, authorization: Option<&Secret<String>>) -> Result<ProbeAnswer>;
}

/// The real probe.
pub struct UreqProbe {
    agent: ureq::Agent,
}

impl UreqProbe {
    /// A probe whose calls take at most `timeout` each (connect: at most 3 s).
    pub fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(3))))
            .user_agent(concat!("ocicred/", env!("CARGO_PKG_VERSION")))
            .build();
        UreqProbe {
            agent: config.new_agent(),
        }
    }
}

/// `scheme://host[:port]` of a URL, for messages.
pub fn describe(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    format!("{scheme}://{}", &rest[..end])
}

impl Probe for UreqProbe {
    fn get(&self, url: &str, authorization: Option<&Secret<String>>) -> Result<ProbeAnswer> {
        let mut req = self.agent.get(url);
        if let Some(a) = authorization {
            req = req.header("Authorization", a.expose().as_str());
        }
        let resp = req.call().map_err(|e| {
            let text = e.to_string();
            // ureq's messages may repeat the URL; keep only the kind of failure.
            let kind = text.split(':').next().unwrap_or("request failed").trim();
            Error::Http(format!("{}: {kind}", describe(url)))
        })?;
        let www_authenticate = resp
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        Ok(ProbeAnswer {
            status: resp.status().as_u16(),
            www_authenticate,
        })
    }
}
