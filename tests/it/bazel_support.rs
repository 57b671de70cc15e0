//! Support for the Bazel black-box tests (`tests/bazel_*.rs`): a real `docker-registry` (htpasswd or token
//! auth) started on 127.0.0.1, a small ES256 token issuer, a scripted fake HTTP server for what a
//! real registry cannot produce, a minimal HTTP/1.1 client, and a runner for the built binary
//! with a clean environment. Missing tools make the tests fail, never skip.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use sha2::{Digest, Sha256};

use crate::support::{openssl_ec_key, run_ok};

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn need(tool: &str) {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "{tool} is required for this test (apt-get install docker-registry apache2-utils openssl)"
    );
}

// ---------------------------------------------------------------------------------------------
// Minimal HTTP/1.1

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request to `addr` (`127.0.0.1:port`) with `Connection: close`.
pub fn http(method: &str, addr: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(std::str::from_utf8(&b[..i]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + n]);
        b = &b[i + 4 + n..];
    }
    out
}

/// One request as a server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The query parameter `k`, percent-decoded.
    pub fn query(&self, k: &str) -> Option<String> {
        let q = self.path.split_once('?')?.1;
        q.split('&').find_map(|kv| {
            let (a, b) = kv.split_once('=')?;
            (a == k).then(|| pct_decode(b))
        })
    }
}

pub fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else if b[i] == b'+' {
            out.push(b' ');
            i += 1;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// What a handler answers: status, headers, body. `None` means "never answer" (hang).
pub type Reply = Option<(u16, Vec<(String, String)>, Vec<u8>)>;

pub fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    Some((
        status,
        headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body.as_bytes().to_vec(),
    ))
}

/// A scripted HTTP server on 127.0.0.1: a thread per connection, one request per connection.
pub struct Server {
    pub addr: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start(handler: impl Fn(&Seen, &str) -> Reply + Send + Sync + 'static) -> Server {
        Server::start_on(0, handler)
    }

    pub fn count(&self, f: impl Fn(&Seen) -> bool) -> usize {
        self.seen.lock().unwrap().iter().filter(|s| f(s)).count()
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
    }
}

fn serve(
    conn: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    handler: &(dyn Fn(&Seen, &str) -> Reply + Send + Sync),
    addr: &str,
    stop: &AtomicBool,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut r = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if r.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = r.read_exact(&mut body);
    let req = Seen {
        method,
        path,
        headers,
        body,
    };
    seen.lock().unwrap().push(req.clone());
    let mut conn = conn;
    match handler(&req, addr) {
        Some((status, hs, body)) => {
            let mut out = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in hs {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            let _ = conn.write_all(out.as_bytes());
            let _ = conn.write_all(&body);
            let _ = conn.shutdown(Shutdown::Both);
        }
        None => {
            // Hang: hold the connection open without answering.
            let start = Instant::now();
            while !stop.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(15) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
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

impl Server {
    pub fn start_on(
        port: u16,
        handler: impl Fn(&Seen, &str) -> Reply + Send + Sync + 'static,
    ) -> Server {
        Server::start_at("127.0.0.1", port, handler)
    }

    /// A server on `ip` (e.g. a non-loopback address of this machine).
    pub fn start_at(
        ip: &str,
        port: u16,
        handler: impl Fn(&Seen, &str) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind((ip, port)).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        {
            let (seen, stop, addr) = (seen.clone(), stop.clone(), addr.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (seen, handler, addr, stop) =
                        (seen.clone(), handler.clone(), addr.clone(), stop.clone());
                    std::thread::spawn(move || serve(conn, &seen, &*handler, &addr, &stop));
                }
            });
        }
        Server { addr, seen, stop }
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

// ---------------------------------------------------------------------------------------------
// docker-registry

pub enum Auth {
    Htpasswd,
    Token(KeyRef),
}

pub struct Registry {
    pub addr: String,
    pub dir: tempfile::TempDir,
    child: Child,
    pub issuer: Option<Issuer>,
}

impl Registry {
    pub fn start(auth: Auth) -> Registry {
        Self::start_with(auth, 300)
    }

    pub fn start_with(auth: Auth, expires_in: u64) -> Registry {
        Self::start_full(auth, expires_in, "127.0.0.1")
    }

    /// As `start_with`, with the token realm's host spelled `realm_host` (the issuer listens on
    /// 127.0.0.1): crane refuses a realm on a private IP literal, but takes `localhost`.
    pub fn start_full(auth: Auth, expires_in: u64, realm_host: &str) -> Registry {
        need("docker-registry");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut issuer_port = 0;
        let authblock = match auth {
            Auth::Htpasswd => {
                need("htpasswd");
                let line = run_ok(Command::new("htpasswd").args(["-Bbn", "alice", "secret"]));
                std::fs::write(dir.path().join("htpasswd"), line).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                    dir.path().join("htpasswd").display()
                )
            }
            Auth::Token(_) => {
                need("openssl");
                let key = dir.path().join("token.key");
                let crt = dir.path().join("token.crt");
                openssl_ec_key(&key);
                run_ok(
                    Command::new("openssl")
                        .args([
                            "req",
                            "-new",
                            "-x509",
                            "-days",
                            "2",
                            "-subj",
                            "/CN=test-token-issuer",
                            "-key",
                        ])
                        .arg(&key)
                        .arg("-out")
                        .arg(&crt),
                );
                issuer_port = free_port();
                format!(
                    "auth:\n  token:\n    realm: http://{realm_host}:{issuer_port}/token\n    service: registry.test\n    issuer: test-issuer\n    rootcertbundle: {}\n",
                    crt.display()
                )
            }
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: test-secret\n{authblock}",
            dir.path().join("data").display()
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry");
        let addr = format!("127.0.0.1:{port}");
        let mut reg = Registry {
            addr: addr.clone(),
            dir,
            child,
            issuer: None,
        };
        let start = Instant::now();
        while TcpStream::connect(&addr).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "registry did not start"
            );
            if let Ok(Some(st)) = reg.child.try_wait() {
                panic!(
                    "registry exited: {st}: {}",
                    std::fs::read_to_string(reg.dir.path().join("registry.log"))
                        .unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Auth::Token(keyref) = auth {
            reg.issuer = Some(Issuer::start(
                issuer_port,
                reg.dir.path(),
                keyref,
                expires_in,
            ));
        }
        reg
    }

    /// A push header: Basic for htpasswd, a push token from the issuer for token auth.
    fn push_auth(&self, repo: &str) -> String {
        let basic = format!("Basic {}", STANDARD.encode("alice:secret"));
        match &self.issuer {
            None => basic,
            Some(i) => {
                let r = http(
                    "GET",
                    &i.server.addr,
                    &format!(
                        "/token?service=registry.test&scope=repository%3A{}%3Apull%2Cpush",
                        repo.replace('/', "%2F")
                    ),
                    &[("Authorization", &basic)],
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
                &self.addr,
                &format!("/v2/{repo}/blobs/uploads/"),
                &[("Authorization", &auth)],
                b"",
            );
            assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
            let loc = r.header("location").unwrap().to_string();
            let path = loc
                .split_once(&self.addr)
                .map(|x| x.1.to_string())
                .unwrap_or(loc);
            let sep = if path.contains('?') { '&' } else { '?' };
            let r = http(
                "PUT",
                &self.addr,
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
            &self.addr,
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

// ---------------------------------------------------------------------------------------------
// The binary

/// A clean home for one test: HOME, XDG_RUNTIME_DIR (token cache), an auth.json writer.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("run")).unwrap();
        Home { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.path().join("run/ocicred")
    }

    /// Writes `~/.config/containers/auth.json` with `entries` (`host` → JSON entry).
    pub fn auth_json(&self, entries: serde_json::Value) {
        let d = self.path().join(".config/containers");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("auth.json"),
            serde_json::json!({ "auths": entries }).to_string(),
        )
        .unwrap();
    }

    pub fn login(&self, host: &str, user: &str, pass: &str) {
        self.auth_json(
            serde_json::json!({ host: {"auth": STANDARD.encode(format!("{user}:{pass}"))} }),
        );
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(crate::support::ocicred_bin());
        c.env_clear()
            .env("HOME", self.path())
            .env("XDG_RUNTIME_DIR", self.path().join("run"))
            .env("OCICRED_SYSCONFDIR", self.path().join("etc"))
            .env("PATH", "/usr/bin:/bin")
            .arg("get");
        c
    }

    /// Runs `ocicred get` with exactly `stdin`.
    pub fn get_raw(&self, stdin: &[u8]) -> Output {
        self.get_with(stdin, |_| {})
    }

    pub fn get_with(&self, stdin: &[u8], f: impl FnOnce(&mut Command)) -> Output {
        let mut c = self.command();
        f(&mut c);
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Starts `ocicred get` with stdin, stdout and stderr piped, its request not yet written.
    pub fn spawn_piped(&self) -> Child {
        self.command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Starts `ocicred get` for `uri` (as Bazel writes it) without waiting: for parallel calls.
    pub fn spawn_get(&self, uri: &str) -> Child {
        let mut child = self.spawn_piped();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(serde_json::json!({ "uri": uri }).to_string().as_bytes())
            .unwrap();
        child
    }

    /// Runs a Bazel request for `uri` (as Bazel writes it: no newline) and expects success.
    pub fn get(&self, uri: &str) -> serde_json::Value {
        let out = self.get_raw(serde_json::json!({ "uri": uri }).to_string().as_bytes());
        assert!(
            out.status.success(),
            "exit {:?}, stderr {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// The `Authorization` value of an answer.
pub fn authorization(v: &serde_json::Value) -> Option<String> {
    v["headers"]["Authorization"][0]
        .as_str()
        .map(str::to_string)
}
