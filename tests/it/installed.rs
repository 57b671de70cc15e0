//! The binary `install.sh` installs (README.md#install): statically linked by default, and working
//! in every mode: the docker protocol, Bazel over TLS to a registry found by name (musl's resolver,
//! rustls with ring built by musl-gcc), and the keyring over D-Bus.
//!
//! `tests/run.sh` runs `./install.sh` once into a temp PREFIX and sets `OCICRED_INSTALLED_BIN`;
//! without it these tests fail (never skip).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::keyring::KeyringSession;
use crate::support::*;

/// The installed `ocicred` (from `OCICRED_INSTALLED_BIN`).
#[allow(clippy::disallowed_methods)]
fn installed() -> PathBuf {
    let p = std::env::var_os("OCICRED_INSTALLED_BIN").map(PathBuf::from).expect(
        "OCICRED_INSTALLED_BIN is not set: run tests/run.sh, which installs with ./install.sh into a temp PREFIX and sets it",
    );
    assert!(
        p.is_file(),
        "OCICRED_INSTALLED_BIN={} does not exist",
        p.display()
    );
    p
}

/// A TestEnv whose `ocicred` and `docker-credential-ocicred` are the installed binary.
fn installed_env() -> TestEnv {
    let env = TestEnv::new();
    let bin = installed();
    for name in ["ocicred", "docker-credential-ocicred"] {
        std::fs::remove_file(env.bin.join(name)).unwrap();
        std::os::unix::fs::symlink(&bin, env.bin.join(name)).unwrap();
    }
    env
}

#[test]
fn installed_binary_is_static_with_its_link_man_page_and_completions() {
    let bin = installed();
    let out = run(
        {
            let mut c = Command::new(require("file"));
            c.arg("-L").arg(&bin);
            c
        },
        b"",
    );
    assert!(
        out.stdout.contains("statically linked") || out.stdout.contains("static-pie linked"),
        "install.sh did not install a static binary: {}",
        out.stdout
    );
    let out = run(
        {
            let mut c = Command::new(require("ldd"));
            c.arg(&bin);
            c
        },
        b"",
    );
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        said.contains("not a dynamic executable") || said.contains("statically linked"),
        "ldd: {said}"
    );
    assert!(!said.contains("libc.so"), "ldd: {said}");

    let prefix = bin.parent().unwrap().parent().unwrap();
    let link = prefix.join("bin/docker-credential-ocicred");
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("ocicred"));
    let page = prefix.join("share/man/man1/ocicred.1");
    let out = run(
        {
            let mut c = Command::new(require("groff"));
            c.args(["-man", "-Tutf8", "-ww"]).arg(&page);
            c
        },
        b"",
    );
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(out.stderr.is_empty(), "{out:#?}");
    assert!(
        crate::manual::strip_overstrike(&out.stdout).contains("COMMANDS"),
        "{out:#?}"
    );
    let bash = prefix.join("share/bash-completion/completions/ocicred");
    let out = run(
        {
            let mut c = Command::new(require("bash"));
            c.arg("-n").arg(&bash);
            c
        },
        b"",
    );
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(prefix.join("share/zsh/site-functions/_ocicred").is_file());
    assert!(
        prefix
            .join("share/fish/vendor_completions.d/ocicred.fish")
            .is_file()
    );
}

#[test]
fn installed_binary_answers_docker_get_store_erase() {
    let env = installed_env();
    env.write(
        ".config/containers/auth.json",
        r#"{"auths":{"r.example:5000":{"auth":"YWxpY2U6c2VjcmV0"}},"x":1}"#,
    );
    let out = env.helper("get", b"r.example:5000");
    assert_eq!(
        out.ok(),
        r#"{"ServerURL":"r.example:5000","Username":"alice","Secret":"secret"}"#.to_string() + "\n"
    );
    let out = env.helper(
        "store",
        br#"{"ServerURL":"s.example","Username":"bob","Secret":"pw"}"#,
    );
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        std::fs::read_to_string(env.auth_json())
            .unwrap()
            .contains("s.example")
    );
    assert_eq!(env.helper("erase", b"s.example").code, 0);
    assert_eq!(env.helper("get", b"s.example").code, 1);
    let out = env.helper("version", b"");
    assert!(out.ok().contains("ocicred"));
}

/// A real docker-registry serving TLS on 127.0.0.1, its certificate issued by a test CA for
/// `localhost`, with htpasswd auth for alice/secret.
struct TlsRegistry {
    registry: Registry,
    ca: PathBuf,
    _dir: tempfile::TempDir,
}

fn openssl(dir: &Path, args: &[&str]) {
    run_ok(Command::new(require("openssl")).args(args).current_dir(dir));
}

impl TlsRegistry {
    fn start() -> TlsRegistry {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        openssl_ec_key(&d.join("ca.key"));
        openssl(
            d,
            &[
                "req",
                "-new",
                "-x509",
                "-days",
                "2",
                "-key",
                "ca.key",
                "-subj",
                "/CN=ocicred test CA",
                "-out",
                "ca.crt",
            ],
        );
        openssl_ec_key(&d.join("tls.key"));
        openssl(
            d,
            &[
                "req",
                "-new",
                "-key",
                "tls.key",
                "-subj",
                "/CN=localhost",
                "-out",
                "tls.csr",
            ],
        );
        std::fs::write(
            d.join("ext.cnf"),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n",
        )
        .unwrap();
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "tls.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
                "-out",
                "tls.crt",
            ],
        );
        let registry = Registry::builder()
            .htpasswd("alice", "secret")
            .tls(&d.join("tls.crt"), &d.join("tls.key"))
            .start();
        TlsRegistry {
            registry,
            ca: d.join("ca.crt"),
            _dir: dir,
        }
    }
}

#[test]
fn installed_binary_does_a_bazel_get_over_tls_to_a_registry_found_by_name() {
    let reg = TlsRegistry::start();
    let mut env = installed_env();
    env.set("SSL_CERT_FILE", &reg.ca);
    let host = format!("localhost:{}", reg.registry.port);
    let out = env.helper(
        "store",
        format!(r#"{{"ServerURL":"{host}","Username":"alice","Secret":"secret"}}"#).as_bytes(),
    );
    assert_eq!(out.code, 0, "{out:#?}");
    let uri = format!("https://{host}/v2/team/app/manifests/1.0");
    let mut c = env.ocicred(&["get"]);
    c.current_dir(&env.home);
    let out = run(c, json!({ "uri": uri }).to_string().as_bytes());
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(out.stderr, "", "{out:#?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let header = v["headers"]["Authorization"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(header, basic("alice", "secret"));
    // The header works against the registry (curl with the same CA).
    let out = run(
        {
            let mut c = Command::new(require("curl"));
            c.args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
                .arg(&reg.ca)
                .args(["-H", &format!("Authorization: {header}")])
                .arg(format!("https://{host}/v2/"));
            c
        },
        b"",
    );
    assert_eq!(out.stdout, "200", "{out:#?}");

    // Without the test CA the certificate is not trusted: one clear line, no answer. (The
    // token cache remembers that the registry asks for Basic: forget it, so the call connects.)
    std::fs::remove_dir_all(env.run.join("ocicred")).unwrap();
    env.unset("SSL_CERT_FILE");
    let out = run(
        env.ocicred(&["get"]),
        json!({ "uri": uri }).to_string().as_bytes(),
    );
    assert_eq!(out.code, 1, "{out:#?}");
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
}

#[test]
fn installed_binary_round_trips_through_the_keyring() {
    let mut env = installed_env();
    let ks = KeyringSession::start(&env);
    ks.apply(&mut env);
    env.set("OCICRED_STORE", "keyring");
    let out = env.helper(
        "store",
        br#"{"ServerURL":"k.example:5000","Username":"carol","Secret":"kr-secret"}"#,
    );
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(
        ks.items_for(&env, "k.example:5000"),
        1,
        "in the real keyring"
    );
    assert!(
        !env.auth_json().exists(),
        "nothing written to the auth file"
    );
    let out = env.helper("get", b"k.example:5000");
    assert!(
        out.ok()
            .contains(r#""Username":"carol","Secret":"kr-secret""#),
        "{out:#?}"
    );
    let out = run(env.ocicred(&["list"]), b"");
    assert!(out.ok().contains("k.example:5000"), "{out:#?}");
    assert_eq!(env.helper("erase", b"k.example:5000").code, 0);
    assert_eq!(ks.items_for(&env, "k.example:5000"), 0);
    assert_eq!(env.helper("get", b"k.example:5000").code, 1);
}
