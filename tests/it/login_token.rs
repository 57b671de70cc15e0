//! `ocicred login` against a real `docker-registry` with token auth (the Bearer flow: the
//! password goes to the realm with `service=…`, never to the registry), then a Bazel `get`
//! that uses what login stored. Fails, not skips, when docker-registry or openssl is missing.

use crate::support::*;

fn login(home: &TestEnv, host: &str, user: &str, pass: &str) -> Out {
    let c = home.ocicred(&["login", "-u", user, "--password-stdin", host]);
    run(c, format!("{pass}\n").as_bytes())
}

#[test]
fn login_with_the_bearer_token_flow() {
    let reg = Registry::token(KeyRef::Kid);
    let home = TestEnv::new();
    let stored = home.auth_json();

    let out = login(&home, &reg.host, "alice", "wrong");
    let stderr = &out.stderr;
    assert_eq!(out.code, 1, "{stderr}");
    assert!(stderr.contains("refused the credentials"), "{stderr}");
    assert!(!stderr.contains("wrong"), "{stderr}");
    assert!(!stored.exists(), "nothing stored after a refusal");
    let issuer = reg.issuer.as_ref().unwrap();
    assert_eq!(issuer.token_requests(), 1, "the password went to the realm");

    login(&home, &reg.host, "alice", "secret").ok();
    let text = std::fs::read_to_string(&stored).unwrap();
    assert!(text.contains(&reg.host), "{text}");
    let requests = issuer.server.requests();
    let last = requests
        .iter()
        .rev()
        .find(|s| s.path.starts_with("/token"))
        .unwrap();
    assert_eq!(last.query("service").as_deref(), Some("registry.test"));

    // What login stored is what a Bazel pull then uses.
    let (_, _, _) = reg.push_image("team/app", "v1");
    let answer = home.get(&format!("http://{}/v2/team/app/manifests/v1", reg.host));
    assert!(authorization(&answer).is_some_and(|a| a.starts_with("Bearer ")));
}
