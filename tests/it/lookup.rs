use crate::support::*;
use std::time::{Duration, Instant};

const ALICE: &str = "YWxpY2U6c2VjcmV0"; // alice:secret
const BOB: &str = "Ym9iOnB3"; // bob:pw
const CAROL: &str = "Y2Fyb2w6cHc="; // carol:pw
const DAVE: &str = "ZGF2ZTpwdw=="; // dave:pw

fn user(env: &TestEnv, asked: &str) -> Option<String> {
    let v = env.docker_get(asked)?;
    Some(v["Username"].as_str().unwrap().to_string())
}

fn auths(entries: &[(&str, &str)]) -> String {
    let inner: Vec<String> = entries
        .iter()
        .map(|(k, a)| format!("\"{k}\":{{\"auth\":\"{a}\"}}"))
        .collect();
    format!("{{\"auths\":{{{}}}}}", inner.join(","))
}

#[test]
fn files_are_read_in_containers_order() {
    let env = TestEnv::new();
    env.write("../run/containers/auth.json", &auths(&[("one", ALICE)]));
    env.write(
        ".config/containers/auth.json",
        &auths(&[("one", BOB), ("two", BOB)]),
    );
    env.write(
        ".docker/config.json",
        &auths(&[("two", CAROL), ("three", CAROL)]),
    );
    env.write(
        ".dockercfg",
        &format!(r#"{{"https://four:5000":{{"auth":"{DAVE}"}},"three":{{"auth":"{DAVE}"}}}}"#),
    );
    assert_eq!(user(&env, "one").as_deref(), Some("alice"));
    assert_eq!(user(&env, "two").as_deref(), Some("bob"));
    assert_eq!(user(&env, "three").as_deref(), Some("carol"));
    assert_eq!(user(&env, "four:5000/ns/img").as_deref(), Some("dave"));
    assert_eq!(user(&env, "five"), None);
}

#[test]
fn variables_move_the_files() {
    let mut env = TestEnv::new();
    env.write("xdg/containers/auth.json", &auths(&[("x", ALICE)]));
    env.write("dk/config.json", &auths(&[("d", BOB)]));
    env.write(".docker/config.json", &auths(&[("d", CAROL)]));
    env.set("XDG_CONFIG_HOME", env.path("xdg"));
    env.set("DOCKER_CONFIG", env.path("dk"));
    assert_eq!(user(&env, "x").as_deref(), Some("alice"));
    assert_eq!(
        user(&env, "d").as_deref(),
        Some("bob"),
        "DOCKER_CONFIG replaces ~/.docker"
    );

    // REGISTRY_AUTH_FILE: only that file is read, and written.
    env.write("only.json", &auths(&[("o", DAVE)]));
    env.set("REGISTRY_AUTH_FILE", env.path("only.json"));
    assert_eq!(user(&env, "o").as_deref(), Some("dave"));
    assert_eq!(user(&env, "x"), None);
    let out = env.helper(
        "store",
        br#"{"ServerURL":"new","Username":"n","Secret":"s"}"#,
    );
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        std::fs::read_to_string(env.path("only.json"))
            .unwrap()
            .contains("\"new\"")
    );
    assert!(!env.auth_json().exists());
}

#[test]
fn without_xdg_runtime_dir_writes_go_to_the_config_dir() {
    let mut env = TestEnv::new();
    env.unset("XDG_RUNTIME_DIR");
    let out = env.helper("store", br#"{"ServerURL":"h","Username":"u","Secret":"s"}"#);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(env.path(".config/containers/auth.json").exists());
    assert_eq!(user(&env, "h").as_deref(), Some("u"));
}

#[test]
fn an_existing_empty_entry_hides_broader_keys_of_that_file_only() {
    let env = TestEnv::new();
    env.write(
        "../run/containers/auth.json",
        &format!(r#"{{"auths":{{"q.io":{{"auth":"{ALICE}"}},"q.io/org":{{}}}}}}"#),
    );
    env.write(
        ".config/containers/auth.json",
        &auths(&[("q.io/org/repo", BOB)]),
    );
    assert_eq!(user(&env, "q.io/org/repo").as_deref(), Some("bob"));
    assert_eq!(user(&env, "q.io/other").as_deref(), Some("alice"));
}

#[test]
fn docker_config_helpers_come_before_auths() {
    let mut env = TestEnv::new();
    env.set("PROBE_USER", "probe-user");
    env.write(
        ".docker/config.json",
        &format!(
            r#"{{"auths":{{"h1":{{"auth":"{ALICE}"}},"h2":{{}},"h3":{{"auth":"{CAROL}"}}}},"credHelpers":{{"h1":"probe"}},"credsStore":"probe"}}"#
        ),
    );
    assert_eq!(user(&env, "h1/ns/img").as_deref(), Some("probe-user"));
    assert_eq!(user(&env, "h2").as_deref(), Some("probe-user"));
    let log = std::fs::read_to_string(env.root.path().join("probe.log")).unwrap();
    assert!(
        log.contains("stdin-q=h1\n"),
        "helpers see the bare host: {log}"
    );
    // The store says not found: the file's own auths entry answers.
    env.set("PROBE_GET", "notfound");
    assert_eq!(user(&env, "h3").as_deref(), Some("carol"));
    assert_eq!(user(&env, "h2"), None);
}

#[test]
fn a_failing_helper_is_reported_only_when_nothing_is_found() {
    let mut env = TestEnv::new();
    env.set("PROBE_GET", "error");
    env.write(
        ".docker/config.json",
        r#"{"credHelpers":{"h":"probe","g":"missing-helper"}}"#,
    );
    env.write(".dockercfg", &format!(r#"{{"g":{{"auth":"{ALICE}"}}}}"#));
    let out = env.helper("get", b"h");
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stdout,
        "credential helper docker-credential-probe: probe: simulated failure\n"
    );
    let out = env.helper("get", b"g");
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("docker-credential-missing-helper"),
        "{out:#?}"
    );
}

#[test]
fn ocicred_never_runs_itself() {
    let env = TestEnv::new();
    // credsStore naming ocicred in the docker config it reads: skipped, auths answer.
    env.write(
        ".docker/config.json",
        &format!(r#"{{"auths":{{"h":{{"auth":"{ALICE}"}}}},"credsStore":"ocicred","credHelpers":{{"g":"ocicred"}}}}"#),
    );
    assert_eq!(user(&env, "h").as_deref(), Some("alice"));
    assert_eq!(user(&env, "g"), None);
    // A helper under another name that is ocicred (a copy of the link) is detected too.
    std::os::unix::fs::symlink(ocicred_bin(), env.bin.join("docker-credential-alias")).unwrap();
    env.write(".docker/config.json", r#"{"credHelpers":{"x":"alias"}}"#);
    let start = Instant::now();
    assert_eq!(user(&env, "x"), None);
    assert!(start.elapsed() < Duration::from_secs(4));
}

#[test]
fn a_helper_chain_leading_back_is_cut() {
    let env = TestEnv::new();
    // docker-credential-loop asks docker-credential-ocicred, whose config sends h to loop.
    script(
        &env.bin,
        "docker-credential-loop",
        "exec docker-credential-ocicred \"$@\"",
    );
    env.write(".docker/config.json", r#"{"credHelpers":{"h":"loop"}}"#);
    let start = Instant::now();
    assert_eq!(user(&env, "h"), None);
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "loop not cut: {:?}",
        start.elapsed()
    );
}

#[test]
fn a_hanging_helper_is_stopped() {
    let mut env = TestEnv::new();
    env.set("PROBE_GET", "sleep");
    env.set("PROBE_SLEEP", "30");
    env.write(".docker/config.json", r#"{"credHelpers":{"h":"probe"}}"#);
    let start = Instant::now();
    let out = env.helper("get", b"h");
    let took = start.elapsed();
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("timed out"), "{out:#?}");
    assert!(took < Duration::from_secs(9), "took {took:?}");
}

#[test]
fn corrupt_files_are_named_with_line_and_column() {
    let env = TestEnv::new();
    let p = env.write(
        ".config/containers/auth.json",
        "{\n  \"auths\": {\n    \"h\": {\"auth\": }\n  }\n}\n",
    );
    let out = env.helper("get", b"h");
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stdout,
        format!(
            "{}: invalid JSON: expected value at line 3 column 19\n",
            p.display()
        )
    );
    // An "auth" that is not base64 or has no ':' is skipped as containers/image skips it
    // (README.md#where-credentials-are-looked-up): it hides the broader keys of its file and the
    // search goes on in the next file; nothing about the value is printed.
    for bad in ["@@@@", "YWxpY2U="] {
        env.write(
            ".config/containers/auth.json",
            &format!(r#"{{"auths":{{"h/ns":{{"auth":"{bad}"}},"h":{{"auth":"{ALICE}"}}}}}}"#),
        );
        env.write(".docker/config.json", &auths(&[("h", BOB)]));
        assert_eq!(user(&env, "h/ns/repo").as_deref(), Some("bob"));
        assert_eq!(user(&env, "h/other").as_deref(), Some("alice"));
        std::fs::remove_file(env.home.join(".docker/config.json")).unwrap();
        let out = env.helper("get", b"h/ns/repo");
        assert_eq!(out.stdout, NOT_FOUND);
        assert!(!out.stderr.contains(bad), "{out:#?}");
    }
    // An empty (0-byte) file counts as empty.
    env.write(".config/containers/auth.json", "");
    assert_eq!(user(&env, "h"), None);
}

#[test]
fn registries_conf_helper_order_is_not_needed_for_defaults() {
    // No registries.conf anywhere: the auth files answer.
    let env = TestEnv::new();
    env.write(".config/containers/auth.json", &auths(&[("h", ALICE)]));
    assert_eq!(user(&env, "h").as_deref(), Some("alice"));
}
