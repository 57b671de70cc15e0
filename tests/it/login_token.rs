//! `ocicred login` against a real `docker-registry` with token auth (the Bearer flow: the
//! password goes to the realm with `service=…`, never to the registry), then a Bazel `get`
//! that uses what login stored. Fails, not skips, when docker-registry or openssl is missing.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::bazel_support::*;

fn login(home: &Home, host: &str, user: &str, pass: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ocicred"))
        .env_clear()
        .env("HOME", home.path())
        .env("XDG_RUNTIME_DIR", home.path().join("run"))
        .env("OCICRED_SYSCONFDIR", home.path().join("etc"))
        .env("PATH", "/usr/bin:/bin")
        .args(["login", "-u", user, "--password-stdin", host])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{pass}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn login_with_the_bearer_token_flow() {
    let reg = Registry::start(Auth::Token(KeyRef::Kid));
    let home = Home::new();
    let stored = home.path().join("run/containers/auth.json");

    let out = login(&home, &reg.addr, "alice", "wrong");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refused the credentials"), "{stderr}");
    assert!(!stderr.contains("wrong"), "{stderr}");
    assert!(!stored.exists(), "nothing stored after a refusal");
    let issuer = reg.issuer.as_ref().unwrap();
    assert_eq!(issuer.token_requests(), 1, "the password went to the realm");

    let out = login(&home, &reg.addr, "alice", "secret");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&stored).unwrap();
    assert!(text.contains(&reg.addr), "{text}");
    let requests = issuer.server.requests();
    let last = requests
        .iter()
        .rev()
        .find(|s| s.path.starts_with("/token"))
        .unwrap();
    assert_eq!(last.query("service").as_deref(), Some("registry.test"));

    // What login stored is what a Bazel pull then uses.
    let (_, _, _) = reg.push_image("team/app", "v1");
    let answer = home.get(&format!("http://{}/v2/team/app/manifests/v1", reg.addr));
    assert!(authorization(&answer).is_some_and(|a| a.starts_with("Bearer ")));
}
