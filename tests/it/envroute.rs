//! Credentials from the CI environment (README.md#credentials-from-the-environment-ci) and
//! `[[route]]`s (README.md#routes-wildcard-and-per-registry-sources), black-box: every variable
//! form, the label search, ports, hyphens, precedence against stored credentials, `env = false`,
//! routes to a real helper, read-only routes, and real clients (skopeo, the docker CLI, a Bazel
//! `get` against a token-auth registry) with credentials only in the environment.

use crate::support::*;

/// The `(Username, Secret)` a docker `get` for `server` answers, or `None` for not found.
fn get(env: &TestEnv, server: &str) -> Option<(String, String)> {
    let v = env.docker_get(server)?;
    assert_eq!(v["ServerURL"], server.trim());
    Some((
        v["Username"].as_str().unwrap().into(),
        v["Secret"].as_str().unwrap().into(),
    ))
}

fn pair(u: &str, p: &str) -> Option<(String, String)> {
    Some((u.into(), p.into()))
}

fn config(env: &TestEnv, text: &str) -> std::path::PathBuf {
    env.write(".config/ocicred/config.toml", text)
}

#[test]
fn every_variable_form_and_the_label_search() {
    let mut env = TestEnv::new();
    env.set("DOCKER_repo_example_com_USR", "half-only");
    env.set("DOCKER_example_com_USR", "ex-user");
    env.set("DOCKER_example_com_PSW", "ex-pw");
    env.set("DOCKER_my_registry_corp_io_USR", "hy-user");
    env.set("DOCKER_my_registry_corp_io_PSW", "hy-pw");
    env.set("DOCKER_127_0_0_1_5000_USR", "port-user");
    env.set("DOCKER_127_0_0_1_5000_PSW", "port-pw");
    env.set("DOCKER_127_0_0_1_USR", "ip-user");
    env.set("DOCKER_127_0_0_1_PSW", "ip-pw");
    env.set("DOCKER_docker_io_USR", "hub-user");
    env.set("DOCKER_docker_io_PSW", "hub-pw");
    env.set("GHCR_TOKEN", "ghcr-tok");
    env.set("GITHUB_ACTOR", "octocat");
    env.set(
        "DOCKER_AUTH_CONFIG",
        r#"{"auths":{"registry.gitlab.com":{"auth":"Z2l0bGFiLWNpLXRva2VuOmpvYi10b2s="}},
            "credHelpers":{"helped.example":"probe"}}"#,
    );
    env.set("PROBE_USER", "probe-user");
    // Exact host, any spelling a client sends; labels dropped from the left; half pairs skipped.
    assert_eq!(get(&env, "example.com"), pair("ex-user", "ex-pw"));
    assert_eq!(
        get(&env, "https://repo.example.com/v1/"),
        pair("ex-user", "ex-pw")
    );
    assert_eq!(get(&env, "a.b.example.com\n"), pair("ex-user", "ex-pw"));
    assert_eq!(get(&env, "example.org"), None);
    // Hyphens and dots become `_`; the host is lower-cased first.
    assert_eq!(get(&env, "My-Registry.corp.io"), pair("hy-user", "hy-pw"));
    // A port-qualified pair first, then the host's.
    assert_eq!(get(&env, "127.0.0.1:5000"), pair("port-user", "port-pw"));
    assert_eq!(get(&env, "127.0.0.1:5001"), pair("ip-user", "ip-pw"));
    assert_eq!(get(&env, "127.0.0.1"), pair("ip-user", "ip-pw"));
    // Docker Hub, however it is spelled, reaches DOCKER_docker_io_* through the label search.
    for hub in [
        "https://index.docker.io/v1/",
        "docker.io",
        "registry-1.docker.io",
    ] {
        assert_eq!(get(&env, hub), pair("hub-user", "hub-pw"), "{hub}");
    }
    assert_eq!(get(&env, "ghcr.io"), pair("octocat", "ghcr-tok"));
    assert_eq!(
        get(&env, "registry.gitlab.com"),
        pair("gitlab-ci-token", "job-tok")
    );
    assert_eq!(get(&env, "helped.example"), pair("probe-user", "secret"));
    // The catch-all pair answers everything else.
    env.set("DOCKER__USR", "any-user");
    env.set("DOCKER__PSW", "any-pw");
    assert_eq!(get(&env, "example.org"), pair("any-user", "any-pw"));
    assert_eq!(get(&env, "ghcr.io"), pair("any-user", "any-pw"));
    // Empty values count as unset (CI expands a missing secret to "").
    env.set("DOCKER__PSW", "");
    assert_eq!(get(&env, "example.org"), None);
}

#[test]
fn precedence_against_stored_credentials() {
    let mut env = TestEnv::new();
    for (host, user) in [("ghcr.io", "stored-gh"), ("quay.io", "stored-quay")] {
        let out = env.helper("store", &store_body(host, user, "stored-pw"));
        assert_eq!(out.code, 0, "{out:#?}");
    }
    // A stored ghcr.io credential beats GITHUB_TOKEN/GH_TOKEN, the last fallback.
    env.set("GITHUB_TOKEN", "gh-tok");
    env.set("GH_TOKEN", "gh-tok-2");
    assert_eq!(get(&env, "ghcr.io"), pair("stored-gh", "stored-pw"));
    assert_eq!(get(&env, "ghcr.io/org/app"), pair("stored-gh", "stored-pw"));
    let out = env.helper("erase", b"ghcr.io");
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(get(&env, "ghcr.io"), pair("github", "gh-tok"));
    env.unset("GITHUB_TOKEN");
    env.set("GITHUB_ACTOR", "octocat");
    assert_eq!(get(&env, "ghcr.io"), pair("octocat", "gh-tok-2"));
    assert_eq!(
        get(&env, "docker.io"),
        None,
        "GitHub tokens are for ghcr.io only"
    );
    // An explicit pair beats a stored credential.
    env.set("DOCKER_quay_io_USR", "ci-quay");
    env.set("DOCKER_quay_io_PSW", "ci-pw");
    assert_eq!(get(&env, "quay.io"), pair("ci-quay", "ci-pw"));
    // store and erase never touch the environment: they change the auth file only.
    let out = env.helper("store", &store_body("quay.io", "new-quay", "new-pw"));
    assert_eq!(out.code, 0, "{out:#?}");
    let stored = std::fs::read_to_string(env.auth_json()).unwrap();
    assert!(
        stored.contains("quay.io") && !stored.contains("ci-pw"),
        "{stored}"
    );
    assert_eq!(get(&env, "quay.io"), pair("ci-quay", "ci-pw"));
    let out = env.helper("erase", b"quay.io");
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(get(&env, "quay.io"), pair("ci-quay", "ci-pw"));
    // The docker `list` is what is stored; the environment is not.
    let out = env.helper("list", b"");
    assert_eq!(out.ok().trim(), "{}", "{out:#?}");
    // env = false: the environment is not read.
    config(&env, "env = false\n");
    assert_eq!(get(&env, "quay.io"), None);
    assert_eq!(get(&env, "ghcr.io"), None);
    config(&env, "env = \"no\"\n");
    let out = env.helper("get", b"quay.io");
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("config.toml: env must be true or false at line 1 column 1"),
        "{out:#?}"
    );
}

#[test]
fn list_resolve_config_and_doctor_name_the_variables() {
    let mut env = TestEnv::new();
    env.set("DOCKER_example_com_USR", "ex-user");
    env.set("DOCKER_example_com_PSW", "Env-pw-31337");
    env.set("DOCKER_half_example_USR", "half-user");
    env.set("GITHUB_TOKEN", "Env-tok-31337");
    env.set("DOCKER_AUTH_CONFIG", "{\"auths\": {\"x\": Env-file-31337}}");
    // A broken DOCKER_AUTH_CONFIG is reported (exit 1) and hides nothing else.
    let out = run(env.ocicred(&["list"]), b"");
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(
        out.stderr
            .contains("$DOCKER_AUTH_CONFIG: not a docker config.json"),
        "{out:#?}"
    );
    assert!(out.stdout.contains("example_com"), "{out:#?}");
    assert!(
        out.stdout.contains("$DOCKER_example_com_USR/_PSW"),
        "{out:#?}"
    );
    assert!(out.stdout.contains("$GITHUB_TOKEN"), "{out:#?}");
    let out = run(
        env.ocicred(&["resolve", "--json", "repo.example.com/app:1"]),
        b"",
    );
    let v: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(
        v["pull_sources"][0]["credential"],
        serde_json::json!({"source": "$DOCKER_example_com_USR/_PSW", "key": "repo.example.com", "username": "ex-user"})
    );
    let out = run(env.ocicred(&["config", "--json"]), b"");
    let v: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(v["environment"]["enabled"], true);
    let vars = v["environment"]["variables"].as_array().unwrap();
    for n in [
        "DOCKER_example_com_USR",
        "DOCKER_example_com_PSW",
        "DOCKER_half_example_USR",
        "GITHUB_TOKEN",
        "DOCKER_AUTH_CONFIG",
    ] {
        assert!(vars.contains(&serde_json::json!(n)), "{n}: {v}");
    }
    let out = run(env.ocicred(&["doctor"]), b"");
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(
        out.stdout
            .contains("DOCKER_half_example_USR is set but DOCKER_half_example_PSW is not"),
        "{out:#?}"
    );
    assert!(
        out.stdout
            .contains("$DOCKER_AUTH_CONFIG:1:17: not a docker config.json"),
        "{out:#?}"
    );
    for o in [&out] {
        for secret in ["Env-pw-31337", "Env-tok-31337", "Env-file-31337"] {
            assert!(
                !o.stdout.contains(secret) && !o.stderr.contains(secret),
                "{o:#?}"
            );
        }
    }
}

/// A route config sending `*.corp.example` to the logging probe helper and others elsewhere.
const ROUTES: &str = r#"
[[route]]
match = "*.corp.example"
helper = "probe"

[[route]]
match = "ro.corp.example"
source = "none"

[[route]]
match = "ci.corp.example"
username-env = "CI_REGISTRY_USER"
password-env = "CI_REGISTRY_PASSWORD"

[[route]]
match = "tok.corp.example"
token-env = "REGISTRY_TOKEN"

[[route]]
match = "env.corp.example"
source = "env"
"#;

fn probe_hosts(env: &TestEnv) -> Vec<String> {
    let log = std::fs::read_to_string(env.root.path().join("probe.log")).unwrap_or_default();
    let mut out = Vec::new();
    let mut action = String::new();
    for line in log.lines() {
        if line.starts_with("argc=") {
            let argv = line.split("argv=").nth(1).unwrap_or("");
            action = argv.split_whitespace().last().unwrap_or("").to_string();
        }
        if let Some(rest) = line.strip_prefix("stdin-len=") {
            let q = rest.split(" stdin-q=").nth(1).unwrap_or("");
            let q = q.split(" stdin-hex=").next().unwrap_or("");
            out.push(format!("{action} {q}"));
        }
    }
    out
}

#[test]
fn routes_send_a_wildcard_family_to_a_helper_and_decide_alone() {
    let mut env = TestEnv::new();
    let cfg = config(&env, ROUTES);
    env.set("PROBE_GET", "state");
    env.set("PROBE_STORE", "state");
    env.set("PROBE_ERASE", "state");
    // Stored credentials the routes must hide.
    for host in ["a.corp.example", "ro.corp.example", "corp.example"] {
        let p = env.auth_json();
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let mut v: serde_json::Value = std::fs::read_to_string(&p)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::json!({"auths": {}}));
        v["auths"][host] = serde_json::json!({"auth": "c3RvcmVkOnN0b3JlZC1wdw=="});
        std::fs::write(&p, v.to_string()).unwrap();
    }
    // store goes to the route's helper, get asks it alone.
    for host in ["a.corp.example", "b.corp.example"] {
        let out = env.helper("store", &store_body(host, &format!("u-{host}"), "pw"));
        assert_eq!(out.code, 0, "{out:#?}");
    }
    assert_eq!(get(&env, "a.corp.example"), pair("u-a.corp.example", "pw"));
    assert_eq!(get(&env, "b.corp.example"), pair("u-b.corp.example", "pw"));
    assert_eq!(
        get(&env, "c.corp.example"),
        None,
        "the helper alone decides"
    );
    // Not in the family: one label exactly.
    assert_eq!(get(&env, "corp.example"), pair("stored", "stored-pw"));
    assert_eq!(get(&env, "x.y.corp.example"), None);
    let hosts = probe_hosts(&env);
    assert!(
        hosts.contains(&"get a.corp.example".to_string()),
        "{hosts:?}"
    );
    assert!(
        hosts.contains(&"get c.corp.example".to_string()),
        "{hosts:?}"
    );
    assert!(
        hosts
            .iter()
            .any(|h| h.starts_with("store ") && h.contains("b.corp.example")),
        "{hosts:?}"
    );
    assert!(
        !hosts
            .iter()
            .any(|h| h.contains("x.y.corp") || h.ends_with(" corp.example")),
        "{hosts:?}"
    );
    let stored = std::fs::read_to_string(env.auth_json()).unwrap();
    assert!(!stored.contains("b.corp.example"), "{stored}");
    // The more specific route wins over the wildcard: none means anonymous, and store is refused.
    assert_eq!(get(&env, "ro.corp.example"), None);
    let out = env.helper("store", &store_body("ro.corp.example", "u", "pw"));
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("read-only") && out.stdout.contains("ro.corp.example"),
        "{out:#?}"
    );
    assert!(!out.stdout.contains("pw\""), "{out:#?}");
    // Named variables, GitLab CI style.
    assert_eq!(get(&env, "ci.corp.example"), None);
    env.set("CI_REGISTRY_USER", "gitlab-ci-token");
    env.set("CI_REGISTRY_PASSWORD", "job-pw");
    assert_eq!(
        get(&env, "ci.corp.example"),
        pair("gitlab-ci-token", "job-pw")
    );
    // A registry token answers the Bazel protocol only.
    env.set("REGISTRY_TOKEN", "reg-tok");
    assert_eq!(get(&env, "tok.corp.example"), None);
    // source = "env" reads the environment even with env = false.
    env.set("DOCKER_corp_example_USR", "env-user");
    env.set("DOCKER_corp_example_PSW", "env-pw");
    assert_eq!(get(&env, "env.corp.example"), pair("env-user", "env-pw"));
    std::fs::write(&cfg, format!("env = false\n{ROUTES}")).unwrap();
    assert_eq!(get(&env, "env.corp.example"), pair("env-user", "env-pw"));
    assert_eq!(get(&env, "corp.example"), pair("stored", "stored-pw"));
    // erase through the route's helper.
    let out = env.helper("erase", b"a.corp.example");
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(get(&env, "a.corp.example"), None);
    // list, config and resolve show the routes.
    let out = run(env.ocicred(&["list"]), b"");
    assert!(out.ok().contains("route \"*.corp.example\""), "{out:#?}");
    let out = run(env.ocicred(&["config", "--json"]), b"");
    let v: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(v["routes"].as_array().unwrap().len(), 5, "{v}");
    assert_eq!(v["routes"][0]["match"], "*.corp.example");
    assert_eq!(v["routes"][0]["helper"], "probe");
    assert_eq!(
        v["routes"][0]["origin"],
        format!("{}:3:1", cfg.display()),
        "the [[route]] header, after `env = false`"
    );
    assert_eq!(v["routes"][2]["username_env"], "CI_REGISTRY_USER");
    let out = run(
        env.ocicred(&["resolve", "--json", "ci.corp.example/team/app"]),
        b"",
    );
    let v: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
    let source = v["pull_sources"][0]["credential"]["source"]
        .as_str()
        .unwrap();
    assert!(
        source.starts_with("route \"ci.corp.example\"")
            && source.ends_with("$CI_REGISTRY_USER/$CI_REGISTRY_PASSWORD"),
        "{source}"
    );
}

/// A route to `source = "auth-file"` keeps its registries in the auth file even when ocicred
/// stores everything else in the keyring (unreachable here: no session bus).
#[test]
fn a_store_route_overrides_the_configured_backend() {
    let mut env = TestEnv::new();
    env.set("OCICRED_STORE", "keyring");
    env.set("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    config(
        &env,
        "[[route]]\nmatch = \"*.files.example\"\nsource = \"auth-file\"\n",
    );
    let out = env.helper("store", &store_body("a.files.example", "alice", "pw"));
    assert_eq!(out.code, 0, "{out:#?}");
    let stored = std::fs::read_to_string(env.auth_json()).unwrap();
    assert!(stored.contains("a.files.example"), "{stored}");
    assert_eq!(get(&env, "a.files.example"), pair("alice", "pw"));
    let out = env.helper("store", &store_body("other.example", "alice", "pw"));
    assert_eq!(out.code, 1, "the keyring is asked for the rest: {out:#?}");
    assert!(out.stdout.starts_with("keyring:"), "{out:#?}");
    let out = env.helper("erase", b"a.files.example");
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(get(&env, "a.files.example"), None);
}

#[test]
fn route_errors_name_file_line_and_column_and_doctor_checks_helpers() {
    let env = TestEnv::new();
    for (text, want) in [
        (
            "[[route]]\nmatch = \"a*.corp\"\nhelper = \"probe\"\n",
            ":2:9: `*` must be a whole DNS label",
        ),
        (
            "[[route]]\nmatch = \"h.corp\"\nhelper = \"ocicred\"\n",
            ":3:10: a route cannot name ocicred itself",
        ),
        (
            "[[route]]\nmatch = \"h.corp\"\n",
            ":1:1: route \"h.corp\" says nowhere to go",
        ),
        (
            "\n[[route]]\nmatch = \"h.corp\"\nsource = \"vault\"\n",
            ":4:10: route source \"vault\" is not",
        ),
        (
            "[[route]]\nmatch = \"h.corp\"\nusername-env = \"U\"\n",
            ":3:1: route has username-env but no password-env",
        ),
        (
            "[[route]]\nmatch = \"h.corp\"\nhelper = \"probe\"\ntoken-env = \"T\"\n",
            ":4:1: route \"h.corp\" has more than one",
        ),
        (
            "[[route]]\nmatch = \"h.corp\"\nhelpr = \"probe\"\n",
            ":3:1: unknown route key \"helpr\"",
        ),
        ("route = 1\n", ":1:1: route must be a list of tables"),
    ] {
        let cfg = config(&env, text);
        let out = run(env.ocicred(&["doctor"]), b"");
        assert_eq!(out.code, 1, "{text}: {out:#?}");
        let line = format!("{}{want}", cfg.display());
        assert!(out.stdout.contains(&line), "{text}: want {line}: {out:#?}");
        // A configuration error stops every command, with the same position.
        let out = env.helper("get", b"h.corp");
        assert_eq!(out.code, 1, "{out:#?}");
        let want_get = want.trim_start_matches(':').split_once(": ").unwrap().1;
        assert!(out.stdout.contains(want_get), "{text}: {out:#?}");
    }
    config(
        &env,
        "[[route]]\nmatch = \"*.corp\"\nhelper = \"no-such-helper\"\n[[route]]\nmatch = \"x.corp\"\nhelper = \"self-alias\"\n",
    );
    std::os::unix::fs::symlink(ocicred_bin(), env.bin.join("docker-credential-self-alias"))
        .unwrap();
    let out = run(env.ocicred(&["doctor"]), b"");
    assert_eq!(out.code, 1, "{out:#?}");
    // Each at its route's [[route]] line.
    assert!(
        out.stdout
            .contains(":1: helper docker-credential-no-such-helper is not on PATH"),
        "{out:#?}"
    );
    assert!(
        out.stdout
            .contains(":4: helper docker-credential-self-alias"),
        "{out:#?}"
    );
    assert!(out.stdout.contains("is ocicred itself"), "{out:#?}");
    // A route to ocicred under another name is skipped at run time: not found, no loop.
    assert_eq!(get(&env, "x.corp"), None);
}

/// skopeo with `credential-helpers = ["ocicred"]` pushes and pulls with credentials that exist
/// only in the environment (Jenkins style), then through a route to a real helper.
#[test]
fn skopeo_copy_with_credentials_only_in_the_environment() {
    let reg = Registry::htpasswd("alice", "Env-reg-pw");
    let mut env = TestEnv::new();
    env.write(
        ".config/containers/registries.conf",
        "credential-helpers = [\"ocicred\"]\n",
    );
    let image = oci_image(
        &env.root.path().join("img"),
        "v1",
        "hello from the environment",
    );
    let dest = format!("docker://{}/ci/hello:v1", reg.host);
    let out = env.skopeo_push(&image, &dest);
    assert_ne!(out.code, 0, "the registry refuses without credentials");
    env.set(&format!("DOCKER_127_0_0_1_{}_USR", reg.port), "alice");
    env.set(&format!("DOCKER_127_0_0_1_{}_PSW", reg.port), "Env-reg-pw");
    let out = env.skopeo_push(&image, &dest);
    assert_eq!(out.code, 0, "push with env credentials: {out:#?}");
    let pulled = env.root.path().join("pulled");
    let out = env.skopeo_pull(&dest, &pulled);
    assert_eq!(out.code, 0, "pull with env credentials: {out:#?}");
    assert!(!env.auth_json().exists(), "nothing was written");
    // The same registry through a wildcard route to the probe helper (which answers with the
    // credentials it is given): the environment is not asked any more.
    env.unset(&format!("DOCKER_127_0_0_1_{}_USR", reg.port));
    env.set("PROBE_USER", "alice");
    env.set("PROBE_SECRET", "Env-reg-pw");
    config(
        &env,
        &format!(
            "[[route]]\nmatch = \"127.0.0.*:{}\"\nhelper = \"probe\"\n",
            reg.port
        ),
    );
    let out = env.skopeo(&["inspect", "--tls-verify=false", &dest]);
    assert_eq!(out.code, 0, "inspect through the route: {out:#?}");
    let hosts = probe_hosts(&env);
    assert!(hosts.contains(&format!("get {}", reg.host)), "{hosts:?}");
}

/// The docker CLI with `credsStore: ocicred` pushes to and reads from a registry with
/// credentials only in the environment: no `docker login`, and no daemon (`docker manifest
/// create/push/inspect` talk to the registry themselves).
#[test]
fn docker_cli_pushes_and_reads_with_credentials_only_in_the_environment() {
    let docker = require("docker");
    let reg = Registry::htpasswd("alice", "Env-docker-pw");
    let mut env = TestEnv::new();
    let image = oci_image(&env.root.path().join("img"), "v1", "for docker");
    // Put an image there with skopeo and explicit credentials (not through ocicred).
    let out = env.skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        "alice:Env-docker-pw",
        &format!("oci:{}:v1", image.display()),
        &format!("docker://{}/ci/hello:v1", reg.host),
    ]);
    assert_eq!(out.code, 0, "{out:#?}");
    let cfg = env.path("dockercfg");
    env.write("dockercfg/config.json", r#"{"credsStore":"ocicred"}"#);
    env.set("DOCKER_CONFIG", &cfg);
    let inspect = |env: &TestEnv| {
        let mut c = env.command(&docker);
        c.args([
            "manifest",
            "inspect",
            "--insecure",
            &format!("{}/ci/hello:v1", reg.host),
        ]);
        run(c, b"")
    };
    let out = inspect(&env);
    assert_ne!(out.code, 0, "refused without credentials: {out:#?}");
    env.set(&format!("DOCKER_127_0_0_1_{}_USR", reg.port), "alice");
    env.set(
        &format!("DOCKER_127_0_0_1_{}_PSW", reg.port),
        "Env-docker-pw",
    );
    let out = inspect(&env);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(out.stdout.contains("schemaVersion"), "{out:#?}");
    // A push: a manifest list naming the image, written by the docker CLI.
    let list = format!("{}/ci/list:v1", reg.host);
    let mut c = env.command(&docker);
    c.args([
        "manifest",
        "create",
        "--insecure",
        &list,
        &format!("{}/ci/hello:v1", reg.host),
    ]);
    let out = run(c, b"");
    assert_eq!(out.code, 0, "{out:#?}");
    let mut c = env.command(&docker);
    c.args(["manifest", "push", "--insecure", &list]);
    let out = run(c, b"");
    assert_eq!(out.code, 0, "push: {out:#?}");
    // Read it back from the registry, not from docker's local manifest store.
    let _ = std::fs::remove_dir_all(cfg.join("manifests"));
    let mut c = env.command(&docker);
    c.args(["manifest", "inspect", "--insecure", &list]);
    let out = run(c, b"");
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(out.stdout.contains("image.index"), "{out:#?}");
    assert!(!env.auth_json().exists(), "nothing was stored");
}

/// A Bazel `get` against a real token-auth registry with credentials only in the environment,
/// and with a ready registry token from a `token-env` route (no exchange).
#[test]
fn bazel_get_with_credentials_only_in_the_environment() {
    let reg = Registry::token(KeyRef::Kid);
    let (_, layer_digest, layer) = reg.push_image("env/app", "v1");
    let port = reg.port;
    let home = TestEnv::new();
    let uri = format!("http://{}/v2/env/app/blobs/{layer_digest}", reg.host);
    let request = serde_json::json!({ "uri": uri }).to_string();
    let pull = |auth: Option<&str>| {
        let mut h = vec![];
        if let Some(a) = auth {
            h.push(("Authorization", a));
        }
        http(
            "GET",
            &reg.host,
            &format!("/v2/env/app/blobs/{layer_digest}"),
            &h,
            b"",
        )
    };
    // Anonymous: a token without access.
    let out = home.get_raw(request.as_bytes());
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(pull(authorization(&v).as_deref()).status, 401);
    let out = home.get_with(request.as_bytes(), |c| {
        c.env(format!("DOCKER_127_0_0_1_{port}_USR"), "alice")
            .env(format!("DOCKER_127_0_0_1_{port}_PSW"), "secret");
    });
    let v = bazel_answer(&out);
    let auth = authorization(&v).unwrap();
    assert!(auth.starts_with("Bearer "), "{v}");
    assert!(v["expires"].is_string(), "{v}");
    let r = pull(Some(&auth));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, layer);

    // A token-env route: the token is sent as it is, with no exchange.
    let issuer = reg.issuer.as_ref().unwrap();
    let basic = basic("alice", "secret");
    let r = http(
        "GET",
        &issuer.server.addr,
        "/token?service=registry.test&scope=repository%3Aenv%2Fapp%3Apull",
        &[("Authorization", &basic)],
        b"",
    );
    assert_eq!(r.status, 200);
    let token = serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let cfg = home.home.join(".config/ocicred");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        format!("[[route]]\nmatch = \"127.0.0.1:{port}/env\"\ntoken-env = \"REGISTRY_TOKEN\"\n"),
    )
    .unwrap();
    let before = issuer.token_requests();
    let out = home.get_with(request.as_bytes(), |c| {
        c.env("REGISTRY_TOKEN", &token);
    });
    let v = bazel_answer(&out);
    assert_eq!(
        v,
        serde_json::json!({"headers": {"Authorization": [format!("Bearer {token}")]}})
    );
    assert_eq!(issuer.token_requests(), before, "no exchange");
    assert_eq!(pull(authorization(&v).as_deref()).status, 200);
    // Outside the route's path the registry is asked as usual (anonymously here).
    let other =
        serde_json::json!({ "uri": format!("http://{}/v2/other/app/manifests/v1", reg.host) })
            .to_string();
    let out = home.get_with(other.as_bytes(), |c| {
        c.env("REGISTRY_TOKEN", &token);
    });
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(authorization(&v), Some(format!("Bearer {token}")));
    // The docker protocol has no place for a registry token: not found.
    let mut c = home.ocicred(&["get"]);
    c.env("REGISTRY_TOKEN", &token);
    let out = run(c, format!("127.0.0.1:{port}/env/app").as_bytes());
    assert_eq!(out.stdout, NOT_FOUND, "{out:#?}");
}
