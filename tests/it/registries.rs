use serde_json::{Value, json};

use crate::support::*;

fn auth(user: &str, pass: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
}

/// Writes under the test's system root (`$OCICRED_SYSCONFDIR`).
fn write_etc(env: &TestEnv, rel: &str, text: &str) -> std::path::PathBuf {
    let p = env.root.path().join("etc").join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn json_of(env: &TestEnv, args: &[&str]) -> Value {
    let out = run(env.ocicred(args), b"");
    assert_eq!(out.code, 0, "{out:#?}");
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

#[test]
fn resolve_json_through_a_drop_in_alias_and_a_mirror() {
    let env = TestEnv::new();
    let main = write_etc(
        &env,
        "containers/registries.conf",
        "unqualified-search-registries = [\"docker.io\"]\n\
         [[registry]]\nlocation = \"docker.io\"\n\
         [[registry.mirror]]\nlocation = \"mirror.example.com\"\n",
    );
    let drop_in = write_etc(
        &env,
        "containers/registries.conf.d/shortnames.conf",
        "[aliases]\nnginx = \"docker.io/library/nginx\"\n",
    );
    let auth_file = env.write(
        ".config/containers/auth.json",
        &format!(
            "{{\"auths\":{{\"mirror.example.com\":{{\"auth\":\"{}\"}}}}}}",
            auth("alice", "top-secret")
        ),
    );
    let v = json_of(&env, &["resolve", "--json", "nginx"]);
    assert_eq!(
        v,
        json!({
            "input": "nginx",
            "reference": "docker.io/library/nginx:latest",
            "alias": {"value": "docker.io/library/nginx", "origin": drop_in.display().to_string()},
            "candidates": [],
            "registry": {"prefix": "docker.io", "location": "docker.io", "blocked": false,
                         "insecure": false, "mirror_by_digest_only": false,
                         "mirrors": [{"location": "mirror.example.com", "insecure": false,
                                      "pull_from_mirror": ""}]},
            "pull_sources": [
                {"location": "mirror.example.com",
                 "reference": "mirror.example.com/library/nginx:latest", "insecure": false,
                 "credential": {"source": auth_file.display().to_string(),
                                "key": "mirror.example.com", "username": "alice"}},
                {"location": "docker.io", "reference": "docker.io/library/nginx:latest",
                 "insecure": false, "credential": null}
            ]
        })
    );
    let out = run(env.ocicred(&["resolve", "nginx"]), b"");
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains(&drop_in.display().to_string()),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("top-secret") && !out.stderr.contains("top-secret"));

    let v = json_of(&env, &["config", "--json"]);
    assert_eq!(
        v["files"],
        json!([main.display().to_string(), drop_in.display().to_string()])
    );
    assert_eq!(
        v["unqualified_search_registries"],
        json!({"value": ["docker.io"], "origin": main.display().to_string()})
    );
    assert_eq!(v["credential_helpers"], json!(["containers-auth.json"]));
    assert_eq!(v["short_name_mode"], "permissive");
    assert_eq!(v["store"], "auth-file");
    assert_eq!(v["auth_files"][0], env.auth_json().display().to_string());
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "files",
            "registries",
            "unqualified_search_registries",
            "credential_helpers",
            "short_name_mode",
            "aliases",
            "auth_files",
            "store",
            // README.md#credentials-from-the-environment-ci and
            // README.md#routes-wildcard-and-per-registry-sources: what the environment and the
            // routes add.
            "environment",
            "routes"
        ]
    );
}

#[test]
fn short_names_without_alias_list_candidates() {
    let env = TestEnv::new();
    env.write(
        ".config/containers/registries.conf",
        "unqualified-search-registries = [\"quay.io\", \"docker.io\"]\n",
    );
    let cache = env.write(
        ".cache/containers/short-name-aliases.conf",
        "[aliases]\nbusybox = \"\"\n",
    );
    let v = json_of(&env, &["resolve", "--json", "busybox:1.36"]);
    assert_eq!(v["reference"], Value::Null);
    assert_eq!(v["pull_sources"], json!([]));
    assert_eq!(
        v["alias"],
        json!({"value": null, "origin": cache.display().to_string()})
    );
    assert_eq!(
        v["candidates"],
        json!(["quay.io/busybox:1.36", "docker.io/library/busybox:1.36"])
    );
}

#[test]
fn blocked_registries_get_no_credentials() {
    let env = TestEnv::new();
    env.write(
        ".config/containers/registries.conf",
        "[[registry]]\nlocation = \"blocked.example.com\"\nblocked = true\n\
         [[registry]]\nprefix = \"alias.example.com\"\nlocation = \"blocked.example.com/sub\"\n",
    );
    env.write(
        ".config/containers/auth.json",
        &format!(
            "{{\"auths\":{{\"blocked.example.com\":{{\"auth\":\"{0}\"}},\"alias.example.com\":{{\"auth\":\"{0}\"}}}}}}",
            auth("alice", "pw")
        ),
    );
    // Docker protocol: not found, byte for byte.
    let out = env.helper("get", b"blocked.example.com");
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, NOT_FOUND);
    // Blocked by its rewritten location too (containers/image checks only the location).
    let out = env.helper("get", b"alias.example.com");
    assert_eq!(out.stdout, NOT_FOUND);
    let v = json_of(&env, &["resolve", "--json", "blocked.example.com/app:1"]);
    assert_eq!(v["registry"]["blocked"], true);
    assert_eq!(v["pull_sources"][0]["credential"], Value::Null);
    let out = run(env.ocicred(&["resolve", "alias.example.com/app"]), b"");
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("BLOCKED"), "{}", out.stdout);
}

#[test]
fn credential_helpers_order_drives_lookups() {
    let mut env = TestEnv::new();
    env.write(
        ".config/containers/registries.conf",
        "credential-helpers = [\"probe\", \"containers-auth.json\"]\n",
    );
    env.write(
        ".config/containers/auth.json",
        &format!(
            "{{\"auths\":{{\"h.example.com\":{{\"auth\":\"{}\"}}}}}}",
            auth("from-file", "pw")
        ),
    );
    env.set("PROBE_GET", "ok");
    let out = env.helper("get", b"h.example.com");
    assert!(out.ok().contains("\"Username\":\"alice\""), "{out:#?}");
    env.set("PROBE_GET", "notfound");
    let out = env.helper("get", b"h.example.com");
    assert!(out.ok().contains("\"Username\":\"from-file\""), "{out:#?}");
    let v = json_of(&env, &["config", "--json"]);
    assert_eq!(
        v["credential_helpers"],
        json!(["probe", "containers-auth.json"])
    );
}

#[test]
fn bad_registries_conf_is_one_line_with_file_line_and_column() {
    let env = TestEnv::new();
    let bad = write_etc(
        &env,
        "containers/registries.conf.d/50-bad.conf",
        "[[registry]]\nlocation = \"a.example.com\"\nblocked = maybe\n",
    );
    for args in [
        &["config", "--json"][..],
        &["resolve", "--json", "quay.io/x"][..],
    ] {
        let out = run(env.ocicred(args), b"");
        assert_eq!(out.code, 1, "{out:#?}");
        assert!(out.stdout.is_empty(), "{out:#?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
        assert!(out.stderr.contains(&bad.display().to_string()), "{out:#?}");
        assert!(out.stderr.contains("at line 3 column"), "{out:#?}");
    }
    // The docker protocol reports it on stdout, one line, exit 1.
    let out = env.helper("get", b"quay.io");
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains(&bad.display().to_string()), "{out:#?}");

    let env = TestEnv::new();
    let conf = env.write(
        ".config/containers/registries.conf",
        "[[registry]]\nlocation = \"r.example.com\"\n[[registry]]\nlocation = \"r.example.com\"\ninsecure = true\n",
    );
    let out = run(env.ocicred(&["config"]), b"");
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            "ocicred: {}: registry 'r.example.com' is defined multiple times with conflicting 'insecure' setting",
            conf.display()
        )
    );
}

#[test]
fn containers_registries_conf_keeps_drop_ins_and_a_user_file_hides_the_system() {
    let mut env = TestEnv::new();
    write_etc(
        &env,
        "containers/registries.conf",
        "credential-helpers = [\"sys\"]\n",
    );
    let sys_d = write_etc(&env, "containers/registries.conf.d/1.conf", "");
    let v = json_of(&env, &["config", "--json"]);
    assert_eq!(v["credential_helpers"], json!(["sys"]));
    let user = env.write(".config/containers/registries.conf", "");
    let v = json_of(&env, &["config", "--json"]);
    assert_eq!(v["files"], json!([user.display().to_string()]));
    assert_eq!(v["credential_helpers"], json!(["containers-auth.json"]));
    let explicit = env.write("explicit.conf", "credential-helpers = [\"x\"]\n");
    env.set("CONTAINERS_REGISTRIES_CONF", &explicit);
    let v = json_of(&env, &["config", "--json"]);
    assert_eq!(
        v["files"],
        json!([explicit.display().to_string(), sys_d.display().to_string()])
    );
}

/// skopeo pulls through a mirror whose credentials only ocicred can give, while the primary
/// is unreachable; `ocicred resolve` names the same mirror first, with that credential.
#[test]
fn skopeo_pulls_through_a_mirror_with_credentials_from_ocicred() {
    let skopeo = require("skopeo");
    let mirror = Registry::htpasswd("alice", "secret");
    let dead = format!("127.0.0.1:{}", free_port());
    let env = TestEnv::new();
    let image = oci_image(&env.root.path().join("img"), "v1", "through the mirror");

    // Seed the mirror directly (explicit creds; no helper involved).
    let mut c = env.command(&skopeo);
    c.args([
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        "alice:secret",
        &format!("oci:{}:v1", image.display()),
        &format!("docker://{}/test/hello:v1", mirror.host),
    ]);
    let out = run(c, b"");
    assert_eq!(out.code, 0, "seed: {out:#?}");

    env.write(
        ".config/containers/registries.conf",
        &format!(
            "credential-helpers = [\"ocicred\"]\n\
             [[registry]]\nlocation = \"{dead}\"\ninsecure = true\n\
             [[registry.mirror]]\nlocation = \"{}\"\ninsecure = true\n",
            mirror.host
        ),
    );
    let pull = |dest: &str| {
        let mut c = env.command(&skopeo);
        c.args([
            "--debug",
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{dead}/test/hello:v1"),
            &format!("oci:{}:v1", env.root.path().join(dest).display()),
        ]);
        run(c, b"")
    };

    // Without a stored credential the mirror refuses and the primary is down: the pull fails.
    let out = pull("first");
    assert_ne!(out.code, 0, "{out:#?}");

    // Store the mirror's credential through ocicred (docker protocol), then pull again.
    let out = env.helper(
        "store",
        format!(
            "{{\"ServerURL\":\"{}\",\"Username\":\"alice\",\"Secret\":\"secret\"}}\n",
            mirror.host
        )
        .as_bytes(),
    );
    assert_eq!(out.code, 0, "{out:#?}");
    let out = pull("second");
    assert_eq!(out.code, 0, "pull through the mirror: {out:#?}");
    assert!(
        out.stderr
            .contains(&format!("{}/test/hello:v1", mirror.host)),
        "skopeo used the mirror: {}",
        out.stderr
    );

    let v = json_of(
        &env,
        &["resolve", "--json", &format!("{dead}/test/hello:v1")],
    );
    let sources = v["pull_sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2);
    assert_eq!(sources[0]["location"], mirror.host.as_str());
    assert_eq!(
        sources[0]["reference"],
        format!("{}/test/hello:v1", mirror.host).as_str()
    );
    assert_eq!(sources[0]["insecure"], true);
    assert_eq!(sources[0]["credential"]["username"], "alice");
    assert_eq!(sources[0]["credential"]["key"], mirror.host.as_str());
    assert_eq!(sources[1]["location"], dead.as_str());
    assert_eq!(sources[1]["credential"], Value::Null);
}
