//! Bazel `get` against a real `docker-registry` (htpasswd and token auth with our own ES256
//! issuer): the header ocicred returns makes manifest and blob pulls succeed, and they fail
//! without it. These tests fail, not skip, when docker-registry, htpasswd or openssl is missing.

use std::time::{Duration, Instant};

use crate::support::*;

fn pull(reg: &Registry, path: &str, auth: Option<&str>) -> Resp {
    let mut headers = vec![("Accept", "application/vnd.oci.image.manifest.v1+json")];
    if let Some(a) = auth {
        headers.push(("Authorization", a));
    }
    http("GET", &reg.host, path, &headers, b"")
}

fn check_pulls(reg: &Registry, home: &TestEnv, repo: &str) -> String {
    let (manifest, layer_digest, layer) = reg.push_image(repo, "v1");
    let m_uri = format!("http://{}/v2/{repo}/manifests/v1", reg.host);
    let b_uri = format!("http://{}/v2/{repo}/blobs/{layer_digest}", reg.host);
    let answer = home.get(&m_uri);
    let auth = authorization(&answer).expect("an Authorization header");
    let r = pull(reg, &format!("/v2/{repo}/manifests/v1"), Some(&auth));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("docker-content-digest"), Some(manifest.as_str()));
    let blob_answer = home.get(&b_uri);
    let blob_auth = authorization(&blob_answer).unwrap();
    let r = pull(
        reg,
        &format!("/v2/{repo}/blobs/{layer_digest}"),
        Some(&blob_auth),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, layer);
    // Without the header both fail.
    assert_eq!(
        pull(reg, &format!("/v2/{repo}/manifests/v1"), None).status,
        401
    );
    assert_eq!(
        pull(reg, &format!("/v2/{repo}/blobs/{layer_digest}"), None).status,
        401
    );
    auth
}

#[test]
fn htpasswd_registry_gets_basic() {
    let reg = Registry::htpasswd("alice", "secret");
    let home = TestEnv::new();
    home.write_login(&reg.host, "alice", "secret");
    let auth = check_pulls(&reg, &home, "team/app/img");
    assert!(auth.starts_with("Basic "));
    let answer = home.get(&format!("http://{}/v2/team/app/img/tags/list", reg.host));
    assert!(
        answer.get("expires").is_none(),
        "no expiry for Basic: {answer}"
    );
    // No credentials for a Basic registry: `{}` and exit 0
    // (docs/protocol.md#the-bazel-credential-helper-protocol), so that Bazel's own fallbacks
    // (`.netrc`, `auth` attributes) still apply.
    let anon = TestEnv::new();
    let out =
        anon.get_raw(format!(r#"{{"uri":"http://{}/v2/x/manifests/v1"}}"#, reg.host).as_bytes());
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"{}");
    // A wrong password: the header is given (Basic has no exchange), and the registry refuses it.
    let wrong = TestEnv::new();
    wrong.write_login(&reg.host, "alice", "nope");
    let a = authorization(&wrong.get(&format!("http://{}/v2/team/app/img/manifests/v1", reg.host)))
        .unwrap();
    assert_eq!(
        pull(&reg, "/v2/team/app/img/manifests/v1", Some(&a)).status,
        401
    );
}

#[test]
fn token_registry_with_kid() {
    let reg = Registry::token(KeyRef::Kid);
    let home = TestEnv::new();
    home.write_login(&reg.host, "alice", "secret");
    let auth = check_pulls(&reg, &home, "org/img");
    assert!(auth.starts_with("Bearer "));
    let issuer = reg.issuer.as_ref().unwrap();
    // The token request carried alice's Basic credentials, service and scope.
    let reqs = issuer.server.requests();
    let ours: Vec<_> = reqs
        .iter()
        .filter(|r| !r.query("scope").unwrap_or_default().contains("push"))
        .collect();
    assert_eq!(ours.len(), 1, "manifest and blob share one token");
    let first = ours[0];
    assert!(first.header("authorization").unwrap().starts_with("Basic "));
    assert_eq!(first.query("service").as_deref(), Some("registry.test"));
    assert_eq!(
        first.query("scope").as_deref(),
        Some("repository:org/img:pull")
    );
}

#[test]
fn token_registry_with_x5c_and_expiry() {
    let reg = Registry::token(KeyRef::X5c);
    let home = TestEnv::new();
    home.write_login(&reg.host, "alice", "secret");
    let before = unix_now();
    check_pulls(&reg, &home, "x5c/img");
    let answer = home.get(&format!("http://{}/v2/x5c/img/manifests/v1", reg.host));
    let expires = answer["expires"].as_str().unwrap();
    assert_eq!(expires.len(), 20, "{expires}");
    assert!(expires.ends_with('Z') && expires.as_bytes()[10] == b'T');
    // 300 s lifetime, 60 s margin: about now + 240 s.
    let secs = parse_rfc3339(expires);
    assert!(
        secs >= before + 239 && secs <= unix_now() + 240,
        "{expires}"
    );
}

fn parse_rfc3339(s: &str) -> u64 {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().unwrap();
    let (y, m, d) = (n(0, 4), n(5, 7), n(8, 10));
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days * 86_400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19)) as u64
}

#[test]
fn token_refused_credentials_are_an_error() {
    let reg = Registry::token(KeyRef::Kid);
    let home = TestEnv::new();
    home.write_login(&reg.host, "alice", "wrong-password");
    let out = home
        .get_raw(format!(r#"{{"uri":"http://{}/v2/org/img/manifests/v1"}}"#, reg.host).as_bytes());
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("refused the credentials of alice"), "{err}");
    assert!(!err.contains("wrong-password"));
}

#[test]
fn anonymous_token_when_nothing_is_stored() {
    let reg = Registry::token(KeyRef::Kid);
    reg.push_image("pub/img", "v1");
    let home = TestEnv::new();
    let answer = home.get(&format!("http://{}/v2/pub/img/manifests/v1", reg.host));
    let auth = authorization(&answer).unwrap();
    assert!(auth.starts_with("Bearer "));
    let issuer = reg.issuer.as_ref().unwrap();
    let anon = issuer
        .server
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.starts_with("/token"))
        .unwrap();
    assert_eq!(anon.header("authorization"), None);
    // Our issuer grants anonymous callers nothing, so the registry refuses the pull.
    assert_eq!(
        pull(&reg, "/v2/pub/img/manifests/v1", Some(&auth)).status,
        401
    );
}

#[test]
fn cache_makes_repeat_calls_free_and_survives_a_dead_registry() {
    let reg = Registry::token(KeyRef::X5c);
    let home = TestEnv::new();
    home.write_login(&reg.host, "alice", "secret");
    let m = |repo: &str| format!("http://{}/v2/{repo}/manifests/v1", reg.host);
    let first = home.get(&m("a/img"));
    let issuer = reg.issuer.as_ref().unwrap();
    assert_eq!(issuer.token_requests(), 1);
    let second = home.get(&m("a/img"));
    assert_eq!(
        issuer.token_requests(),
        1,
        "second call makes no token request"
    );
    assert_eq!(first, second);
    // Another repository gets its own token.
    let other = home.get(&m("b/img"));
    assert_eq!(issuer.token_requests(), 2);
    assert_ne!(authorization(&other), authorization(&first));
    // The cache directory is private.
    assert_eq!(mode_of(&home.cache_dir()), 0o700);
    for e in std::fs::read_dir(home.cache_dir()).unwrap() {
        let p = e.unwrap().path();
        assert_eq!(mode_of(&p), 0o600, "{}", p.display());
        // Bytes, not text: the registries.conf cache (binary) shares this directory.
        let bytes = std::fs::read(&p).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("secret") && !text.contains("alice"),
            "{}",
            p.display()
        );
    }
    // With the registry gone, a warm repository still answers: no request at all was needed.
    let addr = reg.host.clone();
    drop(reg);
    let again = home.get(&format!(
        "http://{addr}/v2/a/img/blobs/sha256:{}",
        "b".repeat(64)
    ));
    assert_eq!(authorization(&again), authorization(&first));
}

#[test]
fn sixteen_parallel_cold_calls_make_one_exchange() {
    let reg = Registry::token(KeyRef::Kid);
    let home = TestEnv::new();
    home.write_login(&reg.host, "alice", "secret");
    let uri = format!("http://{}/v2/par/img/manifests/v1", reg.host);
    let children: Vec<_> = (0..16)
        .map(|i| {
            // Half ask for the manifest, half for a blob: one repository, one exchange.
            if i % 2 == 0 {
                home.spawn_get(&uri)
            } else {
                home.spawn_get(
                    &uri.replace("manifests/v1", &format!("blobs/sha256:{}", "c".repeat(64))),
                )
            }
        })
        .collect();
    let mut answers = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        answers.push(authorization(&bazel_answer(&out)).unwrap());
    }
    assert_eq!(reg.issuer.as_ref().unwrap().token_requests(), 1);
    assert!(answers.iter().all(|a| *a == answers[0]));
}

#[test]
fn expired_entries_are_never_served() {
    // 2 s tokens: reported expiry = receipt + 1 s.
    let reg = Registry::builder().token(KeyRef::Kid).expires_in(2).start();
    let home = TestEnv::new();
    home.write_login(&reg.host, "alice", "secret");
    let uri = format!("http://{}/v2/short/img/manifests/v1", reg.host);
    home.get(&uri);
    let issuer = reg.issuer.as_ref().unwrap();
    assert_eq!(issuer.token_requests(), 1);
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(2100));
    home.get(&uri);
    assert_eq!(issuer.token_requests(), 2, "after {:?}", start.elapsed());
}
