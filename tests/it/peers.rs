use crate::support::*;

/// A registries.conf that makes skopeo ask ocicred (and nothing else) for credentials.
fn skopeo_env() -> TestEnv {
    let env = TestEnv::new();
    env.write(
        ".config/containers/registries.conf",
        "credential-helpers = [\"ocicred\"]\n",
    );
    env
}

/// `skopeo inspect` of the test image on `reg`.
fn inspect(env: &TestEnv, reg: &Registry) -> Out {
    env.skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{}/test/hello:v1", reg.host),
    ])
}

#[test]
fn skopeo_login_push_inspect_logout_through_ocicred() {
    let reg = Registry::htpasswd("alice", "secret");
    let env = skopeo_env();
    let image = oci_image(&env.root.path().join("img"), "v1", "hello from ocicred");

    // Without credentials the registry refuses: the later success is ocicred's doing.
    let out = inspect(&env, &reg);
    assert_ne!(out.code, 0);

    let out = env.skopeo(&skopeo_login("alice", "secret", &reg.host));
    assert_eq!(out.code, 0, "{out:#?}");
    let stored = std::fs::read_to_string(env.auth_json()).unwrap();
    assert!(stored.contains(&reg.host), "ocicred stored it: {stored}");

    let out = env.skopeo(&["login", "--get-login", &reg.host]);
    assert_eq!(out.stdout.trim(), "alice", "{out:#?}");

    let out = env.skopeo_push(&image, &format!("docker://{}/test/hello:v1", reg.host));
    assert_eq!(out.code, 0, "push through ocicred's credentials: {out:#?}");
    let out = inspect(&env, &reg);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(out.stdout.contains("\"Digest\""));
    let dest = env.root.path().join("pulled");
    let out = env.skopeo_pull(&format!("docker://{}/test/hello:v1", reg.host), &dest);
    assert_eq!(out.code, 0, "pull: {out:#?}");

    let out = env.skopeo(&["logout", &reg.host]);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        !std::fs::read_to_string(env.auth_json())
            .unwrap()
            .contains(&reg.host)
    );
    let out = inspect(&env, &reg);
    assert_ne!(out.code, 0, "after logout the registry refuses again");
}

#[test]
fn skopeo_wrong_password_stores_nothing() {
    let reg = Registry::htpasswd("alice", "secret");
    let env = skopeo_env();
    let out = env.skopeo(&skopeo_login("alice", "wrong", &reg.host));
    assert_ne!(out.code, 0);
    let stored = std::fs::read_to_string(env.auth_json()).unwrap_or_default();
    assert!(!stored.contains(&reg.host));
}

#[test]
fn docker_cli_login_logout_with_creds_store() {
    let docker = require("docker");
    let reg = Registry::htpasswd("alice", "secret");
    let mut env = TestEnv::new();
    let cfg = env.path("dockercfg");
    env.write("dockercfg/config.json", r#"{"credsStore":"ocicred"}"#);
    env.set("DOCKER_CONFIG", &cfg);

    let mut c = env.command(&docker);
    c.args(["login", &reg.host, "-u", "alice", "--password-stdin"]);
    let out = run(c, b"secret\n");
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(out.stdout.contains("Login Succeeded"), "{out:#?}");
    // ocicred stored it in auth.json; docker's own file holds only a placeholder.
    let stored = std::fs::read_to_string(env.auth_json()).unwrap();
    assert!(stored.contains(&reg.host), "{stored}");
    let docker_file = std::fs::read_to_string(cfg.join("config.json")).unwrap();
    assert!(!docker_file.contains("YWxpY2U6c2VjcmV0"), "{docker_file}");
    let out = env.helper("get", reg.host.as_bytes());
    assert!(out.ok().contains("\"Username\":\"alice\""));

    // skopeo reads the same credential through ocicred.
    env.write(
        ".config/containers/registries.conf",
        "credential-helpers = [\"ocicred\"]\n",
    );
    let out = env.skopeo(&["login", "--get-login", &reg.host]);
    assert_eq!(out.stdout.trim(), "alice");

    let mut c = env.command(&docker);
    c.args(["logout", &reg.host]);
    let out = run(c, b"");
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        !std::fs::read_to_string(env.auth_json())
            .unwrap()
            .contains(&reg.host)
    );
    let out = env.helper("get", reg.host.as_bytes());
    assert_eq!(out.code, 1);

    // A wrong password is refused by the registry, and nothing reaches ocicred.
    let mut c = env.command(&docker);
    c.args(["login", &reg.host, "-u", "alice", "--password-stdin"]);
    let out = run(c, b"wrong\n");
    assert_ne!(out.code, 0);
    assert!(
        !std::fs::read_to_string(env.auth_json())
            .unwrap()
            .contains(&reg.host)
    );
}
