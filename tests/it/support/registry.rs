//! A real `docker-registry` (CNCF distribution) on 127.0.0.1, built with [`Registry::builder`]:
//! without auth, with htpasswd (Basic), or with token auth and a small ES256 [`Issuer`]; over
//! plain HTTP or TLS. Missing programs fail the test, never skip it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use sha2::{Digest, Sha256};

use super::http::{Server, http, http_status, reply};
use super::{basic, free_port, openssl_ec_key, require, run_ok, unix_now};

/// How a registry asks for credentials.
enum Auth {
    None,
    Htpasswd {
        user: String,
        pass: String,
    },
    /// Token auth: the [`Issuer`] gives `alice`/`secret` what she asks for.
    Token(KeyRef),
}

/// What [`Registry::builder`] starts; every option is a method.
pub struct RegistryBuilder {
    auth: Auth,
    expires_in: u64,
    realm_host: String,
    tls: Option<(PathBuf, PathBuf)>,
}

impl RegistryBuilder {
    /// htpasswd auth for `user`/`pass` (a Basic challenge).
    pub fn htpasswd(mut self, user: &str, pass: &str) -> Self {
        self.auth = Auth::Htpasswd {
            user: user.to_string(),
            pass: pass.to_string(),
        };
        self
    }

    /// Token auth with an ES256 [`Issuer`] naming its key by `keyref`; `alice`/`secret` gets
    /// what she asks for.
    pub fn token(mut self, keyref: KeyRef) -> Self {
        self.auth = Auth::Token(keyref);
        self
    }

    /// How long the issuer's tokens last (default 300 s).
    pub fn expires_in(mut self, seconds: u64) -> Self {
        self.expires_in = seconds;
        self
    }

    /// The token realm's host (default 127.0.0.1; the issuer listens there): crane refuses a
    /// realm on a private IP literal, but takes `localhost`.
    pub fn realm_host(mut self, host: &str) -> Self {
        self.realm_host = host.to_string();
        self
    }

    /// Serves HTTPS with this certificate and key (the caller keeps the files).
    pub fn tls(mut self, cert: &Path, key: &Path) -> Self {
        self.tls = Some((cert.to_path_buf(), key.to_path_buf()));
        self
    }

    /// Starts the registry (and the issuer) and waits until it answers; fails the test, with
    /// the registry's log, when it does not start.
    pub fn start(self) -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("ocicred-registry")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let mut issuer_port = 0;
        let auth_block = match &self.auth {
            Auth::None => String::new(),
            Auth::Htpasswd { user, pass } => {
                let line = run_ok(Command::new(require("htpasswd")).args(["-Bbn", user, pass]));
                std::fs::write(d.join("htpasswd"), line).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: ocicred-test\n    path: {}\n",
                    d.join("htpasswd").display()
                )
            }
            Auth::Token(_) => {
                let (key, crt) = (d.join("token.key"), d.join("token.crt"));
                openssl_ec_key(&key);
                run_ok(
                    Command::new(require("openssl"))
                        .args(["req", "-new", "-x509", "-days", "2"])
                        .args(["-subj", "/CN=test-token-issuer", "-key"])
                        .arg(&key)
                        .arg("-out")
                        .arg(&crt),
                );
                issuer_port = free_port();
                format!(
                    "auth:\n  token:\n    realm: http://{}:{issuer_port}/token\n    service: registry.test\n    issuer: test-issuer\n    rootcertbundle: {}\n",
                    self.realm_host,
                    crt.display()
                )
            }
        };
        let tls_block = match &self.tls {
            None => String::new(),
            Some((cert, key)) => format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ),
        };
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let config = format!(
                "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: ocicred-test-secret\n{tls_block}{auth_block}",
                data = d.join("data").display()
            );
            std::fs::write(d.join("config.yml"), config).unwrap();
            let mut child = spawn_registry(d);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(15) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                // An HTTPS registry cannot be asked by `http_status`: it is up when it accepts.
                let up = match self.tls {
                    Some(_) => std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
                    None => matches!(http_status(port, "/v2/", None), Some(200 | 401)),
                };
                if up {
                    return self.started(child, port, dir, issuer_port);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            last = std::fs::read_to_string(d.join("registry.log")).unwrap_or_default();
        }
        panic!("docker-registry did not start: {last}");
    }

    fn started(
        self,
        child: Child,
        port: u16,
        dir: tempfile::TempDir,
        issuer_port: u16,
    ) -> Registry {
        let issuer = match self.auth {
            Auth::Token(keyref) => Some(Issuer::start(
                issuer_port,
                dir.path(),
                keyref,
                self.expires_in,
            )),
            _ => None,
        };
        let push_basic = match &self.auth {
            Auth::Htpasswd { user, pass } => basic(user, pass),
            _ => basic("alice", "secret"),
        };
        Registry {
            child,
            port,
            host: format!("127.0.0.1:{port}"),
            dir,
            issuer,
            push_basic,
        }
    }
}

/// A running `docker-registry`, stopped on drop.
pub struct Registry {
    child: Child,
    pub port: u16,
    /// `127.0.0.1:port`.
    pub host: String,
    pub dir: tempfile::TempDir,
    /// The token issuer of a token-auth registry.
    pub issuer: Option<Issuer>,
    /// Basic credentials for pushes (the issuer's for token auth).
    push_basic: String,
}

impl Registry {
    /// A registry without auth, over plain HTTP, until an option says otherwise.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder {
            auth: Auth::None,
            expires_in: 300,
            realm_host: "127.0.0.1".to_string(),
            tls: None,
        }
    }

    /// A registry without auth.
    pub fn open() -> Registry {
        Registry::builder().start()
    }

    /// A registry with htpasswd auth for `user`/`pass` (Basic challenge).
    pub fn htpasswd(user: &str, pass: &str) -> Registry {
        Registry::builder().htpasswd(user, pass).start()
    }

    /// A registry with token auth (`alice`/`secret`), tokens for 300 s.
    pub fn token(keyref: KeyRef) -> Registry {
        Registry::builder().token(keyref).start()
    }

    /// A push header: Basic for htpasswd, a push token from the issuer for token auth.
    fn push_auth(&self, repo: &str) -> String {
        let basic = &self.push_basic;
        match &self.issuer {
            None => basic.clone(),
            Some(i) => {
                let r = http(
                    "GET",
                    &i.server.addr,
                    &format!(
                        "/token?service=registry.test&scope=repository%3A{}%3Apull%2Cpush",
                        repo.replace('/', "%2F")
                    ),
                    &[("Authorization", basic)],
                    b"",
                );
                assert_eq!(r.status, 200);
                let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                format!("Bearer {}", v["token"].as_str().unwrap())
            }
        }
    }

    /// Pushes a one-layer image; returns (manifest digest, layer digest, layer bytes).
    pub fn push_image(&self, repo: &str, tag: &str) -> (String, String, Vec<u8>) {
        let auth = self.push_auth(repo);
        let layer = format!("layer of {repo}:{tag}").into_bytes();
        let config =
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
                .to_vec();
        let dg = |b: &[u8]| format!("sha256:{:x}", Sha256::digest(b));
        for blob in [&layer, &config] {
            let r = http(
                "POST",
                &self.host,
                &format!("/v2/{repo}/blobs/uploads/"),
                &[("Authorization", &auth)],
                b"",
            );
            assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
            let loc = r.header("location").unwrap().to_string();
            let path = loc
                .split_once(&self.host)
                .map(|x| x.1.to_string())
                .unwrap_or(loc);
            let sep = if path.contains('?') { '&' } else { '?' };
            let r = http(
                "PUT",
                &self.host,
                &format!("{path}{sep}digest={}", dg(blob)),
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/octet-stream"),
                ],
                blob,
            );
            assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType":"application/vnd.oci.image.config.v1+json","digest":dg(&config),"size":config.len()},
            "layers": [{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":dg(&layer),"size":layer.len()}],
        })
        .to_string()
        .into_bytes();
        let r = http(
            "PUT",
            &self.host,
            &format!("/v2/{repo}/manifests/{tag}"),
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
            ],
            &manifest,
        );
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        (dg(&manifest), dg(&layer), layer)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `docker-registry serve <dir>/config.yml`, its output to `<dir>/registry.log`.
fn spawn_registry(dir: &Path) -> Child {
    let log = std::fs::File::create(dir.join("registry.log")).unwrap();
    Command::new(require("docker-registry"))
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Token issuer (ES256 JWT, `kid` or `x5c`)

/// How the issuer names its signing key in the JWT header.
#[derive(Clone, Copy, Debug)]
pub enum KeyRef {
    Kid,
    X5c,
}

pub struct Issuer {
    pub server: Server,
}

impl Issuer {
    /// Issues ES256 tokens for `service`/`issuer`: `alice:secret` gets what she asks for;
    /// anyone else with a password gets 401; anonymous callers get a token with no access.
    pub fn start(port: u16, dir: &Path, keyref: KeyRef, expires_in: u64) -> Issuer {
        let key_pem = std::fs::read_to_string(dir.join("token.key")).unwrap();
        let secret = p256::SecretKey::from_sec1_pem(&key_pem).unwrap();
        let signing = SigningKey::from(&secret);
        let cert_pem = std::fs::read_to_string(dir.join("token.crt")).unwrap();
        let cert_b64: String = cert_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let spki = secret.public_key().to_public_key_der().unwrap();
        let kid = libtrust_kid(spki.as_bytes());
        let header = match keyref {
            KeyRef::Kid => serde_json::json!({"typ":"JWT","alg":"ES256","kid":kid}),
            KeyRef::X5c => serde_json::json!({"typ":"JWT","alg":"ES256","x5c":[cert_b64]}),
        };
        let header = URL_SAFE_NO_PAD.encode(header.to_string());
        let counter = AtomicUsize::new(0);
        let server = Server::start_on(port, move |req, _| {
            if !req.path.starts_with("/token") {
                return reply(404, &[], "");
            }
            let (user, ok) = match req.header("authorization") {
                None => (String::new(), true),
                Some(a) => {
                    let dec = STANDARD
                        .decode(a.strip_prefix("Basic ").unwrap_or(""))
                        .unwrap_or_default();
                    let dec = String::from_utf8(dec).unwrap_or_default();
                    let (u, p) = dec.split_once(':').unwrap_or(("", ""));
                    (u.to_string(), u == "alice" && p == "secret")
                }
            };
            if !ok {
                return reply(
                    401,
                    &[("Content-Type", "application/json")],
                    r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#,
                );
            }
            let mut access = Vec::new();
            if user == "alice"
                && let Some(scope) = req.query("scope")
            {
                {
                    let mut it = scope.splitn(3, ':');
                    let (t, n, a) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
                    access.push(serde_json::json!({"type":t,"name":n,"actions":a.split(',').collect::<Vec<_>>()}));
                }
            }
            let now = unix_now();
            let jti = counter.fetch_add(1, Ordering::SeqCst);
            let claims = serde_json::json!({
                "iss":"test-issuer","sub":user,"aud":"registry.test",
                "exp":now + expires_in,"nbf":now - 10,"iat":now,"jti":jti.to_string(),
                "access":access,
            });
            let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
            let sig: Signature = signing.sign(signing_input.as_bytes());
            let jwt = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()));
            let body = serde_json::json!({
                "token": jwt, "access_token": jwt, "expires_in": expires_in,
                "issued_at": "2026-11-23T07:53:00.123456789Z",
            });
            reply(
                200,
                &[("Content-Type", "application/json")],
                &body.to_string(),
            )
        });
        Issuer { server }
    }

    pub fn token_requests(&self) -> usize {
        self.server.count(|s| s.path.starts_with("/token"))
    }
}

/// libtrust key ID: base32(SHA-256(SPKI DER)[..30]) without padding, in 12 groups of 4.
fn libtrust_kid(spki_der: &[u8]) -> String {
    let digest = Sha256::digest(spki_der);
    let b32 = base32(&digest[..30]);
    b32.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":")
}

fn base32(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0);
    for &b in data {
        buf = (buf << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            out.push(A[((buf >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(A[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}
