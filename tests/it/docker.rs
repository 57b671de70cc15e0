use crate::support::*;

fn store(env: &TestEnv, server: &str, user: &str, secret: &str) {
    let body =
        format!("{{\"ServerURL\":\"{server}\",\"Username\":\"{user}\",\"Secret\":\"{secret}\"}}\n");
    let out = env.helper("store", body.as_bytes());
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:#?}");
}

#[test]
fn store_get_erase_round_trip_exact_bytes() {
    let env = TestEnv::new();
    store(&env, "127.0.0.1:5000", "alice", "secret");
    let out = env.helper("get", b"127.0.0.1:5000");
    assert_eq!(
        out.ok(),
        "{\"ServerURL\":\"127.0.0.1:5000\",\"Username\":\"alice\",\"Secret\":\"secret\"}\n"
    );
    assert_eq!(out.stderr, "");
    // A trailing newline (shell echo) is trimmed; ServerURL is the trimmed input.
    let out = env.helper("get", b"127.0.0.1:5000\n");
    assert!(out.ok().starts_with("{\"ServerURL\":\"127.0.0.1:5000\","));
    let out = env.helper("erase", b"127.0.0.1:5000");
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
    let out = env.helper("get", b"127.0.0.1:5000");
    assert_eq!((out.code, out.stdout.as_str()), (1, NOT_FOUND));
    // Erasing what is not there is success.
    let out = env.helper("erase", b"127.0.0.1:5000");
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
}

#[test]
fn stored_file_is_private_and_normalised() {
    let env = TestEnv::new();
    store(&env, "https://Index.Docker.io/v1/", "alice", "pw");
    let text = std::fs::read_to_string(env.auth_json()).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["auths"]["docker.io"]["auth"], "YWxpY2U6cHc=");
    assert_eq!(mode_of(&env.auth_json()), 0o600);
    assert_eq!(mode_of(env.auth_json().parent().unwrap()), 0o700);
}

#[test]
fn docker_hub_aliases_name_one_registry() {
    let env = TestEnv::new();
    store(&env, "https://index.docker.io/v1/", "alice", "pw");
    for asked in [
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "registry.hub.docker.com",
        "https://index.docker.io/v1/",
        "https://index.docker.io/v1",
        "docker.io/library/nginx:latest",
    ] {
        let out = env.helper("get", asked.as_bytes());
        assert_eq!(
            out.ok(),
            format!("{{\"ServerURL\":\"{asked}\",\"Username\":\"alice\",\"Secret\":\"pw\"}}\n")
        );
    }
    // The web-login keys stay apart from the main key.
    let out = env.helper("get", b"https://index.docker.io/v1/access-token");
    assert_eq!((out.code, out.stdout.as_str()), (1, NOT_FOUND));
    store(
        &env,
        "https://index.docker.io/v1/refresh-token",
        "<token>",
        "R",
    );
    let out = env.helper("get", b"https://index.docker.io/v1/refresh-token");
    assert!(out.ok().contains("\"Secret\":\"R\""));
    let out = env.helper("get", b"docker.io");
    assert!(out.ok().contains("\"Username\":\"alice\""));
}

#[test]
fn identity_tokens_keep_their_meaning() {
    let env = TestEnv::new();
    store(&env, "ghcr.io", "<token>", "REFRESH-1");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.auth_json()).unwrap()).unwrap();
    assert_eq!(json["auths"]["ghcr.io"]["identitytoken"], "REFRESH-1");
    assert_eq!(json["auths"]["ghcr.io"]["auth"], "PHRva2VuPjo="); // "<token>:"
    let out = env.helper("get", b"ghcr.io");
    assert_eq!(
        out.ok(),
        "{\"ServerURL\":\"ghcr.io\",\"Username\":\"<token>\",\"Secret\":\"REFRESH-1\"}\n"
    );
}

#[test]
fn namespaced_keys_most_specific_wins() {
    let env = TestEnv::new();
    store(&env, "quay.io", "base", "b");
    store(&env, "quay.io/org", "org", "o");
    store(&env, "quay.io/org/repo", "repo", "r");
    let user = |asked: &str| {
        let out = env.helper("get", asked.as_bytes());
        let v: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
        v["Username"].as_str().unwrap().to_string()
    };
    assert_eq!(user("quay.io/org/repo/img"), "repo");
    assert_eq!(user("quay.io/org/repo:tag"), "repo");
    assert_eq!(user("quay.io/org/other@sha256:0123"), "org");
    assert_eq!(user("quay.io/else"), "base");
    assert_eq!(user("quay.io"), "base");
}

#[test]
fn erase_removes_every_spelling_of_the_key() {
    let env = TestEnv::new();
    env.write(
        "../run/containers/auth.json",
        r#"{"auths":{"h:5000":{"auth":"YTpi"},"http://h:5000":{"auth":"YTpi"},"https://h:5000/v2/":{"auth":"YTpi"},"h:5000/ns":{"auth":"YTpi"},"other":{"auth":"YTpi"}}}"#,
    );
    let out = env.helper("erase", b"https://h:5000");
    assert_eq!(out.code, 0, "{out:#?}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.auth_json()).unwrap()).unwrap();
    let keys: Vec<&String> = json["auths"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["h:5000/ns", "other"]);
}

#[test]
fn list_answers_usernames_only() {
    let env = TestEnv::new();
    store(&env, "a.example", "alice", "SECRET-A");
    store(&env, "b.example/ns", "<token>", "SECRET-B");
    let out = env.helper("list", b"unused");
    assert_eq!(
        out.ok(),
        "{\"a.example\":\"alice\",\"b.example/ns\":\"<token>\"}\n"
    );
    let out = env.helper("list", b"");
    assert!(out.ok().starts_with('{'));
    let empty = TestEnv::new();
    assert_eq!(empty.helper("list", b"").ok(), "{}\n");
    let table = run(env.ocicred(&["list"]), b"");
    assert!(table.ok().contains("alice"), "{table:#?}");
    assert!(!table.stdout.contains("SECRET"));
}

#[test]
fn fixed_errors_and_usage() {
    let env = TestEnv::new();
    for action in ["get", "erase"] {
        let out = env.helper(action, b"");
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (1, "no credentials server URL\n")
        );
        let out = env.helper(action, b"  \n");
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (1, "no credentials server URL\n")
        );
    }
    let out = env.helper("store", br#"{"ServerURL":"h","Username":"","Secret":"s"}"#);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, "no credentials username\n")
    );
    let out = env.helper("store", br#"{"ServerURL":"","Username":"u","Secret":"s"}"#);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, "no credentials server URL\n")
    );
    assert!(!env.auth_json().exists(), "nothing may be written");

    let out = env.helper("version", b"");
    assert_eq!(out.ok(), format!("ocicred {}\n", env!("CARGO_PKG_VERSION")));
    let mut c = env.command(env.bin.join("docker-credential-ocicred"));
    c.arg("--version");
    assert_eq!(run(c, b"").code, 0);
    let c = env.command(env.bin.join("docker-credential-ocicred"));
    let out = run(c, b"");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("Usage"), "{out:#?}");
    let out = env.helper("bogus", b"");
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, "docker-credential-ocicred: unknown action: bogus\n")
    );
}

#[test]
fn bad_input_gets_one_line_and_touches_nothing() {
    let env = TestEnv::new();
    store(&env, "keep.example", "alice", "pw");
    let before = std::fs::read(env.auth_json()).unwrap();
    let big = vec![b'a'; 10 * 1024 * 1024];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("store", b"this is not json".to_vec()),
        ("store", b"".to_vec()),
        ("store", b"[1,2]".to_vec()),
        (
            "store",
            b"{\"ServerURL\":\"h\",\"Username\":\"u\xff\",\"Secret\":\"s\"}".to_vec(),
        ),
        ("store", big.clone()),
        ("get", big.clone()),
        ("get", b"\xff\xfe\xfd".to_vec()),
        ("get", b"oci://h".to_vec()),
        ("get", b"h:notaport".to_vec()),
        ("erase", b"\x00\x01".to_vec()),
    ];
    for (action, input) in cases {
        let out = env.helper(action, &input);
        assert_eq!(
            out.code,
            1,
            "{action} {:?}: {out:#?}",
            String::from_utf8_lossy(&input[..input.len().min(40)])
        );
        assert_eq!(out.stdout.matches('\n').count(), 1, "one line: {out:#?}");
        assert!(
            !out.stdout.is_empty() && !out.stderr.contains("panicked"),
            "{out:#?}"
        );
        assert_eq!(
            std::fs::read(env.auth_json()).unwrap(),
            before,
            "file changed by {action}"
        );
    }
}

#[test]
fn ocicred_name_speaks_docker_for_plain_get() {
    let env = TestEnv::new();
    let out = run(
        env.ocicred(&["store"]),
        br#"{"ServerURL":"h.example","Username":"u","Secret":"s"}"#,
    );
    assert_eq!(out.code, 0, "{out:#?}");
    let out = run(env.ocicred(&["get"]), b"h.example");
    assert_eq!(
        out.ok(),
        "{\"ServerURL\":\"h.example\",\"Username\":\"u\",\"Secret\":\"s\"}\n"
    );
    let out = run(env.ocicred(&["get"]), b"missing.example");
    assert_eq!((out.code, out.stdout.as_str()), (1, NOT_FOUND));
    let out = run(env.ocicred(&["version"]), b"");
    assert!(out.ok().starts_with("ocicred "));
}
