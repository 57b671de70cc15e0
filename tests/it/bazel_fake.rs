//! Bazel `get` against an in-process fake registry, for what a real registry cannot produce:
//! token-endpoint variants, OAuth2 404 fallback, slow and dead endpoints, odd challenges,
//! requests spelled exactly as Bazel's Gson writes them, and a broken cache.

use std::time::{Duration, Instant};

use crate::support::*;

/// A token-auth registry whose token endpoint answers `token_body` (or `post` for POSTs).
fn fake_registry(token_body: &'static str, post: Option<(u16, &'static str)>) -> Server {
    Server::start(move |req, addr| {
        if req.path == "/v2/" {
            let ch = format!(r#"Bearer realm="http://{addr}/token",service="fake.test""#);
            reply(401, &[("WWW-Authenticate", &ch)], "")
        } else if req.path.starts_with("/token") {
            match (req.method.as_str(), post) {
                ("POST", Some((status, body))) => reply(status, &[], body),
                _ => reply(200, &[("Content-Type", "application/json")], token_body),
            }
        } else {
            reply(404, &[], "")
        }
    })
}

fn uri(s: &Server, rest: &str) -> String {
    format!("http://{}/v2/{rest}", s.addr)
}

#[test]
fn requests_exactly_as_bazel_writes_them() {
    let s = fake_registry(r#"{"token":"T"}"#, None);
    let home = TestEnv::new();
    // Gson HTML-escapes `=` and `&`; no trailing newline; extra fields.
    let req = format!(
        r#"{{"uri":"http://{}/v2/a/b/tags/list?n\u003d10\u0026last\u003dx","extra":{{"k":[1,null]}},"headers":null}}"#,
        s.addr
    );
    let out = home.get_raw(req.as_bytes());
    let v = bazel_answer(&out);
    assert_eq!(authorization(&v).as_deref(), Some("Bearer T"));
    let tok = s
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/token"))
        .unwrap();
    assert_eq!(tok.query("scope").as_deref(), Some("repository:a/b:pull"));
    assert_eq!(tok.query("service").as_deref(), Some("fake.test"));
}

#[test]
fn non_registry_uris_get_empty_object_without_requests() {
    let s = fake_registry(r#"{"token":"T"}"#, None);
    let home = TestEnv::new();
    for u in [
        format!(
            "http://{}/token?scope=repository:a:pull&service=fake.test",
            s.addr
        ),
        format!("http://{}/v2/", s.addr),
        format!("http://{}/v2/_catalog", s.addr),
        format!("http://{}/v2/a/blobs/uploads/abc", s.addr),
        "https://cdn.example.invalid/blobs/sha256:abc?X-Amz-Signature=1".to_string(),
        "https://github.com/org/repo/archive/v1.tar.gz".to_string(),
    ] {
        let out = home.get_raw(serde_json::json!({ "uri": u }).to_string().as_bytes());
        assert!(out.status.success(), "{u}");
        assert_eq!(out.stdout, b"{}", "{u}");
        assert!(out.stderr.is_empty());
    }
    assert!(s.requests().is_empty());
}

#[test]
fn access_token_only_no_expires_in_nanosecond_issued_at() {
    let s = fake_registry(
        r#"{"access_token":"AT","issued_at":"2009-11-10T23:00:00.123456789Z","scope":"x"}"#,
        None,
    );
    let home = TestEnv::new();
    let before = unix_now();
    let v = home.get(&uri(&s, "a/manifests/v1"));
    assert_eq!(authorization(&v).as_deref(), Some("Bearer AT"));
    // Default 60 s lifetime, 30 s margin, from local receipt time (not the stale issued_at).
    let e = v["expires"].as_str().unwrap().to_string();
    let later: Vec<String> = (0..=2).map(|d| rfc(before + 30 + d)).collect();
    assert!(later.contains(&e), "{e} not in {later:?}");
}

pub(crate) fn rfc(secs: u64) -> String {
    // Same civil-date arithmetic as the product, re-derived for the test.
    let days = (secs / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let r = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        r / 3600,
        r % 3600 / 60,
        r % 60
    )
}

#[test]
fn identity_token_posts_then_falls_back_to_get_on_404() {
    let s = fake_registry(r#"{"token":"VIA-GET"}"#, Some((404, "no oauth here")));
    let home = TestEnv::new();
    home.write_auths(serde_json::json!({ s.addr.clone(): {"auth": "PHRva2VuPjo=", "identitytoken": "REFRESH-1"} }));
    let v = home.get(&uri(&s, "a/manifests/v1"));
    assert_eq!(authorization(&v).as_deref(), Some("Bearer VIA-GET"));
    let reqs: Vec<_> = s
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/token"))
        .collect();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].method, "POST");
    let form = String::from_utf8(reqs[0].body.clone()).unwrap();
    assert!(
        form.contains("grant_type=refresh_token") && form.contains("refresh_token=REFRESH-1"),
        "{form}"
    );
    assert!(
        form.contains("client_id=ocicred") && form.contains("scope=repository%3Aa%3Apull"),
        "{form}"
    );
    assert_eq!(reqs[1].method, "GET");

    let s = fake_registry(
        "unused",
        Some((200, r#"{"access_token":"VIA-POST","expires_in":600}"#)),
    );
    let home = TestEnv::new();
    home.write_auths(
        serde_json::json!({ s.addr.clone(): {"auth": "PHRva2VuPjo=", "identitytoken": "R"} }),
    );
    let v = home.get(&uri(&s, "a/manifests/v1"));
    assert_eq!(authorization(&v).as_deref(), Some("Bearer VIA-POST"));
}

#[test]
fn unreachable_registry_fails_fast_with_one_line() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = TestEnv::new();
    let start = Instant::now();
    let out = home
        .get_raw(format!(r#"{{"uri":"http://127.0.0.1:{port}/v2/a/manifests/v1"}}"#).as_bytes());
    let took = start.elapsed();
    let err = assert_bazel_error(&out);
    assert!(err.starts_with("ocicred: "), "{err}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn slow_endpoints_time_out_well_under_bazels_ten_seconds() {
    // A registry that accepts and never answers.
    let hang = Server::start(|_, _| None);
    let home = TestEnv::new();
    let start = Instant::now();
    let out = home.get_raw(format!(r#"{{"uri":"{}"}}"#, uri(&hang, "a/manifests/v1")).as_bytes());
    let took = start.elapsed();
    let err = assert_bazel_error(&out);
    assert!(err.contains("timed out"), "{err}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // A registry whose token endpoint hangs.
    let s = Server::start(|req, addr| {
        if req.path == "/v2/" {
            reply(
                401,
                &[(
                    "WWW-Authenticate",
                    &format!(r#"Bearer realm="http://{addr}/token""#),
                )],
                "",
            )
        } else {
            None
        }
    });
    let start = Instant::now();
    let out = home.get_raw(format!(r#"{{"uri":"{}"}}"#, uri(&s, "a/manifests/v1")).as_bytes());
    assert_bazel_error(&out);
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn odd_challenges() {
    let s = Server::start(|req, addr| {
        if req.path == "/v2/" {
            let odd = format!(
                r#"bearer service="fake \"quoted\", test" , realm="http://{addr}/token?x=1,2""#
            );
            Some((
                401,
                vec![
                    ("WWW-Authenticate".into(), r#"Basic realm="a, b""#.into()),
                    ("WWW-Authenticate".into(), format!("Negotiate abc==, {odd}")),
                ],
                Vec::new(),
            ))
        } else if req.path.starts_with("/token") {
            assert_eq!(
                req.query("service").as_deref(),
                Some(r#"fake "quoted", test"#)
            );
            assert_eq!(req.query("x").as_deref(), Some("1,2"));
            reply(200, &[], r#"{"token":"ODD"}"#)
        } else {
            reply(404, &[], "")
        }
    });
    let v = TestEnv::new().get(&uri(&s, "a/manifests/v1"));
    assert_eq!(authorization(&v).as_deref(), Some("Bearer ODD"));
}

#[test]
fn open_registry_gets_empty_object() {
    let s = Server::start(|_, _| reply(200, &[], "{}"));
    let out =
        TestEnv::new().get_raw(format!(r#"{{"uri":"{}"}}"#, uri(&s, "a/manifests/v1")).as_bytes());
    assert!(out.status.success());
    assert_eq!(out.stdout, b"{}");
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_any_request() {
    let out =
        TestEnv::new().get_raw(br#"{"uri":"http://registry.example.invalid/v2/a/manifests/v1"}"#);
    let err = assert_bazel_error(&out);
    assert!(err.contains("refusing plain http"), "{err}");
}

#[test]
fn bad_requests_are_one_line_errors() {
    let home = TestEnv::new();
    for bad in [
        &b"{"[..],
        b"{}",
        br#"{"uri":1}"#,
        b"{\"uri\":\"\xff\"}",
        b" {\"uri\": [}",
    ] {
        let out = home.get_raw(bad);
        assert_bazel_error(&out);
    }
}

#[test]
fn broken_or_unwritable_cache_never_fails_a_call() {
    let s = fake_registry(r#"{"token":"T","expires_in":300}"#, None);
    // XDG_RUNTIME_DIR is a file: no cache dir can be made.
    let home = TestEnv::new();
    let file = home.home.join("not-a-dir");
    std::fs::write(&file, b"").unwrap();
    let out = home.get_with(
        serde_json::json!({"uri": uri(&s, "a/manifests/v1")})
            .to_string()
            .as_bytes(),
        |c| {
            c.env("XDG_RUNTIME_DIR", &file);
        },
    );
    assert_bazel_ok(&out);
    // Corrupt every cache file: the next call exchanges again and still answers.
    let home = TestEnv::new();
    home.get(&uri(&s, "b/manifests/v1"));
    let n = s.count(|r| r.path.starts_with("/token"));
    for e in std::fs::read_dir(home.cache_dir()).unwrap() {
        std::fs::write(e.unwrap().path(), b"\0garbage{").unwrap();
    }
    let v = home.get(&uri(&s, "b/manifests/v1"));
    assert_eq!(authorization(&v).as_deref(), Some("Bearer T"));
    assert_eq!(s.count(|r| r.path.starts_with("/token")), n + 1);
    // A read-only cache directory: calls still work.
    set_mode(&home.cache_dir(), 0o500);
    let v = home.get(&uri(&s, "c/manifests/v1"));
    assert_eq!(authorization(&v).as_deref(), Some("Bearer T"));
    set_mode(&home.cache_dir(), 0o700);
}

#[test]
fn parallel_cold_calls_probe_and_exchange_once() {
    let s = fake_registry(r#"{"token":"P","expires_in":300}"#, None);
    let home = TestEnv::new();
    let u = uri(&s, "par/img/manifests/v1");
    let kids: Vec<_> = (0..16).map(|_| home.spawn_get(&u)).collect();
    for k in kids {
        let out = k.wait_with_output().unwrap();
        assert_bazel_ok(&out);
        assert!(
            out.stdout
                .starts_with(br#"{"headers":{"Authorization":["Bearer P"]},"expires":""#)
        );
    }
    assert_eq!(s.count(|r| r.path == "/v2/"), 1);
    assert_eq!(s.count(|r| r.path.starts_with("/token")), 1);
}

#[test]
fn plain_http_is_allowed_for_registries_marked_insecure() {
    let home = TestEnv::new();
    let conf = home.home.join("registries.conf");
    std::fs::write(
        &conf,
        "[[registry]]\nlocation = \"registry.example.invalid\"\ninsecure = true\n",
    )
    .unwrap();
    let out = home.get_with(
        br#"{"uri":"http://registry.example.invalid/v2/a/manifests/v1"}"#,
        |c| {
            c.env("CONTAINERS_REGISTRIES_CONF", &conf);
        },
    );
    // Not refused by policy: it gets as far as trying to connect (no such host here).
    let err = assert_bazel_error(&out);
    assert!(!err.contains("refusing plain http"), "{err}");
}

#[test]
fn a_cold_call_whose_realm_is_known_makes_one_request() {
    let s = fake_registry(r#"{"token":"K","expires_in":300}"#, None);
    let home = TestEnv::new();
    home.get(&uri(&s, "one/img/manifests/v1"));
    assert_eq!(s.count(|r| r.path == "/v2/"), 1);
    // Another repository: no token cached for it, but the realm is remembered.
    let before = s.requests().len();
    let v = home.get(&uri(&s, "two/img/manifests/v1"));
    assert_eq!(authorization(&v).as_deref(), Some("Bearer K"));
    let new = s.requests()[before..].to_vec();
    assert_eq!(new.len(), 1, "one HTTP round trip: {new:?}");
    assert!(new[0].path.starts_with("/token"), "{new:?}");
    assert_eq!(
        new[0].query("scope").as_deref(),
        Some("repository:two/img:pull")
    );
}
