//! Docker Hub keys across clients. Each client spells Docker Hub its own way when it asks a
//! helper (`https://index.docker.io/v1/`, `docker.io`, ...); what one client stored must be
//! found by every other. Docker Hub is out of reach here, so a stand-in takes its place: a real
//! `docker-registry` with TLS (a certificate for registry-1.docker.io, index.docker.io and
//! docker.io, trusted through `SSL_CERT_FILE`) behind a local CONNECT proxy (`HTTPS_PROXY`).
//! The clients run unchanged and believe they talk to Docker Hub; the credential-spy log shows
//! what each asked `get` for and that ocicred answered.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clients::{Home, Store, assert_refused, run_parallel};
use crate::support::*;

const NAMES: &[&str] = &[
    "registry-1.docker.io",
    "index.docker.io",
    "docker.io",
    "registry.hub.docker.com",
];

/// A TLS docker-registry with htpasswd (alice/secret) and a certificate for Docker Hub's names.
struct FakeHub {
    registry: Registry,
    certs: tempfile::TempDir,
}

impl FakeHub {
    fn start() -> FakeHub {
        let certs = tempfile::Builder::new()
            .prefix("ocicred-fakehub")
            .tempdir()
            .unwrap();
        let d = certs.path();
        let san = NAMES
            .iter()
            .map(|n| format!("DNS:{n}"))
            .collect::<Vec<_>>()
            .join(",");
        let out = Command::new(require("openssl"))
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .arg("ec_paramgen_curve:prime256v1")
            .args(["-nodes", "-days", "2", "-subj", "/CN=registry-1.docker.io"])
            .arg("-addext")
            .arg(format!("subjectAltName={san}"))
            .arg("-keyout")
            .arg(d.join("key.pem"))
            .arg("-out")
            .arg(d.join("cert.pem"))
            .output()
            .unwrap();
        assert!(out.status.success(), "openssl: {out:?}");
        let registry = Registry::builder()
            .htpasswd("alice", "secret")
            .tls(&d.join("cert.pem"), &d.join("key.pem"))
            .start();
        FakeHub { registry, certs }
    }

    fn cert(&self) -> std::path::PathBuf {
        self.certs.path().join("cert.pem")
    }
}

/// An HTTP CONNECT proxy on 127.0.0.1 that tunnels every CONNECT to one local port and
/// remembers the targets it was asked for.
struct ConnectProxy {
    port: u16,
    targets: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl ConnectProxy {
    fn start(upstream: u16) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (targets, stop) = (targets.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let targets = targets.clone();
                    std::thread::spawn(move || tunnel(conn, upstream, &targets));
                }
            });
        }
        ConnectProxy {
            port,
            targets,
            stop,
        }
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn tunnel(mut client: TcpStream, upstream: u16, targets: &Mutex<Vec<String>>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    // The request head, byte by byte: nothing after it may be consumed.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 || client.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut words = head.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (words.next(), words.next()) else {
        let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    targets.lock().unwrap().push(target.to_string());
    let Ok(up) = TcpStream::connect(("127.0.0.1", upstream)) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let _ = client.set_read_timeout(None);
    let (mut c_read, mut up_write) = (client.try_clone().unwrap(), up.try_clone().unwrap());
    let forward = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut up_write);
        let _ = up_write.shutdown(Shutdown::Write);
    });
    let (mut up_read, mut c_write) = (up, client);
    let _ = std::io::copy(&mut up_read, &mut c_write);
    let _ = c_write.shutdown(Shutdown::Write);
    let _ = forward.join();
}

/// A Home whose clients reach the fake Docker Hub through the proxy and trust its certificate.
fn hub_home(store: Store, proxy: &ConnectProxy, cert: &Path) -> Home {
    let mut h = Home::new(store);
    let url = format!("http://127.0.0.1:{}", proxy.port);
    h.env.set("HTTPS_PROXY", &url);
    h.env.set("https_proxy", &url);
    h.env.set("SSL_CERT_FILE", cert);
    h
}

/// What a client does to read (pull) from Docker Hub with the stored credentials.
fn read(h: &Home, client: &str) -> Out {
    match client {
        "oras" => h.oras(&["pull", "docker.io/library/hub-oras:v1", "-o", "pulled"]),
        "helm3" | "helm4" => h.helm(
            client,
            &[
                "pull",
                "oci://docker.io/library/hubcharts/hubchart",
                "--version",
                "0.1.0",
                "-d",
                "pulled",
            ],
        ),
        "crane" => h.crane(&["manifest", "docker.io/library/hub:v1"]),
        "skopeo" => h.skopeo(&["inspect", "--raw", "docker://docker.io/library/hub:v1"]),
        "docker" => h.docker(&["manifest", "inspect", "docker.io/library/hub:v1"], b""),
        _ => unreachable!(),
    }
}

/// `client` logs in to Docker Hub (its own default spelling); returns the helper key it stored.
fn login(h: &Home, client: &str) -> String {
    let pw = b"secret\n";
    let out = match client {
        "docker" => h.docker(&["login", "-u", "alice", "--password-stdin"], pw),
        "oras" => h.run(
            &go_tool("oras"),
            &["login", "-u", "alice", "--password-stdin", "docker.io"],
            pw,
        ),
        "helm3" | "helm4" => h.run(
            &go_tool(client),
            &[
                "registry",
                "login",
                "-u",
                "alice",
                "--password-stdin",
                "docker.io",
            ],
            pw,
        ),
        "crane" => h.run(
            &go_tool("crane"),
            &[
                "auth",
                "login",
                "-u",
                "alice",
                "--password-stdin",
                "index.docker.io",
            ],
            pw,
        ),
        "skopeo" => h.skopeo(&["login", "-u", "alice", "-p", "secret", "docker.io"]),
        _ => unreachable!(),
    };
    assert_eq!(out.code, 0, "{client} login to Docker Hub: {out:#?}");
    let stores: Vec<_> = h
        .calls()
        .into_iter()
        .filter(|c| c.caller == client && c.action == "store" && c.exit == 0)
        .collect();
    let last = stores.last().unwrap_or_else(|| {
        panic!(
            "{client} login did not store through ocicred: {:#?}",
            h.calls()
        )
    });
    let v: serde_json::Value = serde_json::from_str(&last.input).unwrap();
    v["ServerURL"].as_str().unwrap().to_string()
}

fn logout(h: &Home, client: &str) -> Out {
    match client {
        "docker" => h.docker(&["logout"], b""),
        "oras" => h.oras(&["logout", "docker.io"]),
        "helm3" | "helm4" => h.helm(client, &["registry", "logout", "docker.io"]),
        "crane" => h.crane(&["auth", "logout", "index.docker.io"]),
        "skopeo" => h.skopeo(&["logout", "docker.io"]),
        _ => unreachable!(),
    }
}

const CLIENTS: &[&str] = &["docker", "oras", "helm3", "helm4", "crane", "skopeo"];

/// One store: every client logs in to "Docker Hub" in turn; every other client then reads
/// with it, asking ocicred under its own spelling; the login client logs out, and reads fail.
#[allow(clippy::print_stderr)]
fn hub_round_robin(store: Store, proxy: &ConnectProxy, cert: &Path) {
    let h = hub_home(store, proxy, cert);
    // Content to read: pushed with the first login.
    let key = login(&h, "docker");
    assert_eq!(key, "https://index.docker.io/v1/");
    let layout = oci_image(&h.work.join("layout"), "v1", "on the fake hub");
    let out = h.crane(&["push", layout.to_str().unwrap(), "docker.io/library/hub:v1"]);
    assert_eq!(out.code, 0, "crane push to the fake hub: {out:#?}");
    std::fs::write(h.work.join("hub.txt"), "an artifact on the fake hub\n").unwrap();
    let out = h.oras(&["push", "docker.io/library/hub-oras:v1", "hub.txt"]);
    assert_eq!(out.code, 0, "oras push to the fake hub: {out:#?}");
    let out = h.helm("helm3", &["create", "hubchart"]);
    assert_eq!(out.code, 0, "{out:#?}");
    let out = h.helm("helm3", &["package", "hubchart"]);
    assert_eq!(out.code, 0, "{out:#?}");
    let out = h.helm(
        "helm3",
        &[
            "push",
            "hubchart-0.1.0.tgz",
            "oci://docker.io/library/hubcharts",
        ],
    );
    assert_eq!(out.code, 0, "helm push to the fake hub: {out:#?}");
    let out = logout(&h, "docker");
    assert_eq!(out.code, 0, "{out:#?}");

    let mut table = Vec::new();
    for storer in CLIENTS {
        let stored = login(&h, storer);
        let before = h.calls().len();
        for reader in CLIENTS.iter().filter(|r| *r != storer) {
            let _ = std::fs::remove_dir_all(h.work.join("pulled"));
            let out = read(&h, reader);
            assert_eq!(
                out.code, 0,
                "{reader} reads what {storer} stored under {stored}: {out:#?}"
            );
            let asked: Vec<_> = h.calls()[before..]
                .iter()
                .filter(|c| c.caller == *reader && c.action == "get")
                .cloned()
                .collect();
            assert!(
                !asked.is_empty(),
                "{reader} asked ocicred: {:#?}",
                h.calls()
            );
            for c in &asked {
                assert_eq!(c.exit, 0, "ocicred answered {reader}: {c:?}");
                let v: serde_json::Value = serde_json::from_str(&c.output).unwrap();
                assert_eq!(v["Username"], "alice", "{c:?}");
                assert_eq!(v["ServerURL"].as_str(), Some(c.input.trim()), "{c:?}");
            }
            table.push(format!(
                "{store:?}: {storer} stored {stored:?} -> {reader} asked get {:?}: found",
                asked[0].input.trim()
            ));
        }
        let out = logout(&h, storer);
        assert_eq!(out.code, 0, "{storer} logout: {out:#?}");
        let erased: Vec<_> = h
            .calls()
            .into_iter()
            .filter(|c| c.caller == *storer && c.action == "erase" && c.exit == 0)
            .collect();
        assert!(!erased.is_empty(), "{storer} logout erased through ocicred");
        let mut keys: Vec<&str> = erased.iter().map(|c| c.input.trim()).collect();
        keys.sort();
        keys.dedup();
        table.push(format!("{store:?}: {storer} logout erased {keys:?}"));
        let out = helper_get(&h, "https://index.docker.io/v1/");
        assert_eq!(out.stdout, NOT_FOUND, "{storer} logout erased it: {out:#?}");
        let _ = std::fs::remove_dir_all(h.work.join("pulled"));
        assert_refused(&read(&h, "oras"), &format!("oras after {storer} logout"));
    }
    for line in &table {
        eprintln!("{line}");
    }
    h.assert_client_files_clean();
}

/// `docker-credential-ocicred get` straight, not through the spy.
fn helper_get(h: &Home, server: &str) -> Out {
    let mut c = h.env.command(ocicred_bin());
    c.arg0("docker-credential-ocicred").arg("get");
    run(c, server.as_bytes())
}

#[test]
fn docker_hub_key_stored_by_one_client_is_found_by_every_other() {
    let hub = FakeHub::start();
    let proxy = ConnectProxy::start(hub.registry.port);
    let cert = hub.cert();
    let proxy = Arc::new(proxy);
    let mut jobs: Vec<(String, Box<dyn FnOnce() + Send>)> = Vec::new();
    for store in [Store::AuthFile, Store::Keyring] {
        let (proxy, cert) = (proxy.clone(), cert.clone());
        jobs.push((
            format!("docker-hub-keys × {store:?}"),
            Box::new(move || hub_round_robin(store, &proxy, &cert)),
        ));
    }
    run_parallel(2, jobs);
    let targets = proxy.targets.lock().unwrap().clone();
    for name in ["registry-1.docker.io:443", "index.docker.io:443"] {
        assert!(
            targets.iter().any(|t| t == name),
            "clients went to {name} through the proxy: {targets:?}"
        );
    }
}
