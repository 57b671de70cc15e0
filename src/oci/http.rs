//! The HTTP seam: our own small request/response types, the [`HttpClient`] trait the token
//! exchange talks to, and its one real implementation on `ureq` with rustls.
//!
//! This is the only file that imports `ureq`. It owns transport policy: connect and total
//! timeouts on every call, no redirects followed (so a header never travels to a host the
//! exchange did not choose), a cap on response bodies, `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`
//! (never for loopback hosts), `SSL_CERT_FILE` as the trusted roots when set (else the bundled
//! Mozilla roots), and error lines that name only the scheme and host of a URL. A name vetted as
//! loopback by [`HttpClient::resolve_loopback`] is pinned: later calls connect to exactly the
//! addresses that were checked, never through a proxy, so a second lookup cannot move it.

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::env::{Env, redact_proxy};
use crate::error::{Error, Result};
use crate::oci::target::{all_loopback, is_loopback};
use crate::secret::Secret;

/// The largest response body read (token responses are a few KiB).
pub const MAX_BODY: u64 = 1024 * 1024;

/// An HTTP method the exchange uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// One request. Secrets (the `Authorization` value, a form holding a refresh token) stay in
/// [`Secret`], so a `Debug` of a request shows none.
#[derive(Debug)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub authorization: Option<Secret<String>>,
    /// An `application/x-www-form-urlencoded` body (POST).
    pub form: Option<Secret<String>>,
    /// The whole call (connect, send, read) must finish within this.
    pub timeout: Duration,
}

/// What came back: the status, every `WWW-Authenticate` value, and the (capped) body.
/// `Debug` shows the body's size only: a token response holds a token.
#[derive(Clone, Default)]
pub struct Response {
    pub status: u16,
    pub www_authenticate: Vec<String>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("www_authenticate", &self.www_authenticate)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// Sends a request. Implementations follow no redirects and never add credentials.
pub trait HttpClient {
    fn send(&self, req: &Request) -> Result<Response>;

    /// True when the name `host` resolves (within `timeout`) and every address is loopback.
    /// The client then reaches `host` only at those addresses, never through a proxy.
    fn resolve_loopback(&self, host: &str, timeout: Duration) -> bool;
}

/// `scheme://host[:port]` of a URL, for messages (no path, query or user info).
pub fn describe(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let auth = &rest[..end];
    let auth = auth.rsplit('@').next().unwrap_or(auth);
    format!("{scheme}://{auth}")
}

/// The host of a URL (lower-cased, IPv6 without brackets).
pub fn url_host(url: &str) -> String {
    let d = describe(url);
    let auth = d.split_once("://").map(|(_, a)| a).unwrap_or(&d);
    match crate::registry_key::split_authority(auth) {
        Ok((host, _)) => crate::oci::target::unbracket(host).to_ascii_lowercase(),
        Err(_) => String::new(),
    }
}

/// Transport settings taken from the environment. `Debug` hides a proxy's user and password.
#[derive(Clone, Default)]
pub struct ClientConfig {
    pub https_proxy: Option<String>,
    pub http_proxy: Option<String>,
    pub no_proxy: Option<String>,
    pub ssl_cert_file: Option<PathBuf>,
    /// Connect timeout per call.
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("https_proxy", &redact_proxy(&self.https_proxy))
            .field("http_proxy", &redact_proxy(&self.http_proxy))
            .field("no_proxy", &self.no_proxy)
            .field("ssl_cert_file", &self.ssl_cert_file)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl ClientConfig {
    /// Reads proxies and `SSL_CERT_FILE` from `env`; connect timeout 2 s.
    pub fn from_env(env: &Env) -> Self {
        ClientConfig {
            https_proxy: env.https_proxy.clone(),
            http_proxy: env.http_proxy.clone(),
            no_proxy: env.no_proxy.clone(),
            ssl_cert_file: env.ssl_cert_file.clone(),
            connect_timeout: Duration::from_secs(2),
        }
    }

    /// The proxy for `url`, if any.
    pub fn proxy_for(&self, url: &str) -> Option<&str> {
        let host = url_host(url);
        if is_loopback(&host) || no_proxy_matches(self.no_proxy.as_deref().unwrap_or(""), &host) {
            return None;
        }
        if url
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        {
            self.https_proxy.as_deref()
        } else {
            self.http_proxy.as_deref()
        }
    }
}

/// `NO_PROXY` as curl and Go read it: `*`, exact hosts, and domains (`example.com`,
/// `.example.com`, `*.example.com`) that also cover their subdomains. Ports are ignored.
pub fn no_proxy_matches(list: &str, host: &str) -> bool {
    list.split(',').map(str::trim).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = entry.trim_start_matches("*.").trim_start_matches('.');
        let entry = match entry.strip_prefix('[') {
            Some(rest) => rest.split(']').next().unwrap_or(""),
            None if entry.matches(':').count() == 1 => entry.split(':').next().unwrap_or(""),
            None => entry,
        };
        let entry = entry.to_ascii_lowercase();
        !entry.is_empty()
            && (host == entry
                || host
                    .strip_suffix(entry.as_str())
                    .is_some_and(|p| p.ends_with('.')))
    })
}

/// Names vetted as loopback, with the addresses that were checked.
type Pins = Arc<Mutex<Vec<(String, Vec<IpAddr>)>>>;

fn pinned(pins: &Pins, host: &str) -> Option<Vec<IpAddr>> {
    let pins = pins.lock().unwrap_or_else(|p| p.into_inner());
    pins.iter()
        .find(|(h, _)| h.eq_ignore_ascii_case(host))
        .map(|(_, a)| a.clone())
}

/// ureq's resolver, except that a pinned name gets exactly its vetted addresses.
#[derive(Debug)]
struct PinningResolver {
    pins: Pins,
    inner: ureq::unversioned::resolver::DefaultResolver,
}

impl ureq::unversioned::resolver::Resolver for PinningResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> std::result::Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or("");
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Some(addrs) = pinned(&self.pins, host) {
            let https = uri
                .scheme_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("https"));
            let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
            let mut out = self.empty();
            for ip in addrs.into_iter().take(16) {
                out.push(SocketAddr::new(ip, port));
            }
            return Ok(out);
        }
        self.inner.resolve(uri, config, timeout)
    }
}

/// The real client: one `ureq::Agent` per proxy choice, built on first use so that a call
/// answered from the cache pays nothing for TLS set-up.
pub struct UreqClient {
    config: ClientConfig,
    agents: RefCell<Vec<(Option<String>, ureq::Agent)>>,
    pins: Pins,
}

impl UreqClient {
    pub fn new(config: ClientConfig) -> Self {
        UreqClient {
            config,
            agents: RefCell::new(Vec::new()),
            pins: Pins::default(),
        }
    }

    fn agent(&self, proxy: Option<&str>) -> Result<ureq::Agent> {
        if let Some((_, a)) = self
            .agents
            .borrow()
            .iter()
            .find(|(p, _)| p.as_deref() == proxy)
        {
            return Ok(a.clone());
        }
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = &self.config.ssl_cert_file {
            tls = tls.root_certs(load_roots(path)?);
        }
        let key = proxy.map(str::to_string);
        let proxy = match proxy {
            Some(p) => Some(
                ureq::Proxy::new(p)
                    .map_err(|e| Error::Http(format!("invalid proxy setting: {e}")))?,
            ),
            None => None,
        };
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_connect(Some(self.config.connect_timeout))
            .user_agent(concat!("ocicred/", env!("CARGO_PKG_VERSION")))
            .proxy(proxy)
            .tls_config(tls.build())
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            PinningResolver {
                pins: self.pins.clone(),
                inner: Default::default(),
            },
        );
        self.agents.borrow_mut().push((key, agent.clone()));
        Ok(agent)
    }
}

fn load_roots(path: &std::path::Path) -> Result<ureq::tls::RootCerts> {
    let pem = crate::fsio::read_optional(path)?
        .ok_or_else(|| Error::io(path, std::io::Error::from(std::io::ErrorKind::NotFound)))?;
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(Error::Http(format!(
            "SSL_CERT_FILE {}: no PEM certificates in it",
            path.display()
        )));
    }
    Ok(ureq::tls::RootCerts::new_with_certs(&certs))
}

impl HttpClient for UreqClient {
    fn resolve_loopback(&self, host: &str, timeout: Duration) -> bool {
        let name = host.to_string();
        let (tx, rx) = std::sync::mpsc::channel();
        // getaddrinfo has no timeout of its own: a worker that is abandoned when late.
        let spawned = std::thread::Builder::new()
            .name("ocicred-resolve".into())
            .spawn(move || {
                let addrs: Vec<IpAddr> = (name.as_str(), 0)
                    .to_socket_addrs()
                    .map(|it| it.map(|a| a.ip()).collect())
                    .unwrap_or_default();
                let _ = tx.send(addrs);
            });
        if spawned.is_err() {
            return false;
        }
        let addrs = rx.recv_timeout(timeout).unwrap_or_default();
        if !all_loopback(&addrs) {
            return false;
        }
        let mut pins = self.pins.lock().unwrap_or_else(|p| p.into_inner());
        pins.retain(|(h, _)| !h.eq_ignore_ascii_case(host));
        pins.push((host.to_ascii_lowercase(), addrs));
        true
    }

    fn send(&self, req: &Request) -> Result<Response> {
        let proxy = if pinned(&self.pins, &url_host(&req.url)).is_some() {
            None
        } else {
            self.config.proxy_for(&req.url).map(str::to_string)
        };
        let agent = self.agent(proxy.as_deref())?;
        let what = describe(&req.url);
        let fail = |e: ureq::Error| -> Error {
            let reason = match e {
                ureq::Error::Timeout(_) => "timed out".to_string(),
                ureq::Error::Io(io) => io.to_string(),
                other => other.to_string(),
            };
            Error::Http(format!("{what}: {reason}"))
        };
        let result = match req.method {
            Method::Get => {
                let mut b = agent
                    .get(&req.url)
                    .config()
                    .timeout_global(Some(req.timeout))
                    .build();
                if let Some(a) = &req.authorization {
                    b = b.header("Authorization", a.expose().as_str());
                }
                b.call()
            }
            Method::Post => {
                let mut b = agent
                    .post(&req.url)
                    .config()
                    .timeout_global(Some(req.timeout))
                    .build()
                    .header("Content-Type", "application/x-www-form-urlencoded");
                if let Some(a) = &req.authorization {
                    b = b.header("Authorization", a.expose().as_str());
                }
                let body = req.form.as_ref().map(|f| f.expose().as_str()).unwrap_or("");
                b.send(body)
            }
        };
        let mut resp = result.map_err(fail)?;
        let status = resp.status().as_u16();
        let www_authenticate = resp
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(fail)?;
        Ok(Response {
            status,
            www_authenticate,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_hides_path_query_and_userinfo() {
        assert_eq!(
            describe("https://u:p@auth.example:8443/token?scope=x"),
            "https://auth.example:8443"
        );
        assert_eq!(url_host("https://[::1]:5000/v2/"), "::1");
        assert_eq!(url_host("http://Reg.Example:5000/v2/"), "reg.example");
    }

    #[test]
    fn no_proxy_rules() {
        let l = "localhost, .corp.example ,*.int.example,exact.example:8080,[::2]";
        for h in [
            "a.corp.example",
            "corp.example",
            "x.int.example",
            "exact.example",
            "::2",
        ] {
            assert!(no_proxy_matches(l, h), "{h}");
        }
        for h in ["corp.example.com", "xcorp.example", "other.example"] {
            assert!(!no_proxy_matches(l, h), "{h}");
        }
        assert!(no_proxy_matches("*", "anything"));
        assert!(!no_proxy_matches("", "anything"));
    }

    #[test]
    fn proxy_choice() {
        let c = ClientConfig {
            https_proxy: Some("http://proxy:3128".into()),
            http_proxy: Some("http://plain:3128".into()),
            no_proxy: Some("internal.example".into()),
            ..ClientConfig::default()
        };
        assert_eq!(
            c.proxy_for("https://ghcr.io/v2/"),
            Some("http://proxy:3128")
        );
        assert_eq!(
            c.proxy_for("HTTP://reg.example/v2/"),
            Some("http://plain:3128")
        );
        assert_eq!(c.proxy_for("https://r.internal.example/v2/"), None);
        assert_eq!(c.proxy_for("http://127.0.0.1:5000/v2/"), None);
        assert_eq!(c.proxy_for("http://localhost:5000/v2/"), None);
    }
}
