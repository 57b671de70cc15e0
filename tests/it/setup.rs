//! `ocicred setup docker|podman|bazel` against real files, then the real client working
//! through ocicred: the docker CLI, skopeo with the system registries.conf in effect, and the
//! `.bazelrc` lines a Bazel-style request matches. `--migrate` is SIGKILLed at random moments
//! and never loses a credential.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::keyring::KeyringSession;
use crate::support::*;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn setup(env: &TestEnv, args: &[&str]) -> Out {
    let mut all = vec!["setup"];
    all.extend_from_slice(args);
    run(env.ocicred(&all), b"")
}

/// A docker config dir with fields docker and others write, pointed to by DOCKER_CONFIG.
fn docker_env() -> (TestEnv, PathBuf, Value) {
    let mut env = TestEnv::new();
    let dir = env.path("dockercfg");
    let original = json!({
        "auths": {"other.example": {"auth": b64("bob:bobpw")}},
        "credHelpers": {"gcr.io": "gcloud"},
        "psFormat": "table {{.ID}}",
        "proxies": {"default": {"noProxy": "127.0.0.1"}},
        "x-unknown": [1, {"nested": true}]
    });
    env.write(
        "dockercfg/config.json",
        &serde_json::to_string_pretty(&original).unwrap(),
    );
    env.set("DOCKER_CONFIG", &dir);
    (env, dir.join("config.json"), original)
}

#[test]
fn setup_docker_keeps_every_field_is_idempotent_and_docker_logs_in_through_ocicred() {
    let docker = require("docker");
    let reg = Registry::htpasswd("alice", "secret");
    let (env, file, original) = docker_env();
    let bytes = std::fs::read(&file).unwrap();

    let out = setup(&env, &["docker", "--dry-run"]);
    assert!(
        out.ok()
            .contains("would change: credsStore: (none) -> \"ocicred\""),
        "{out:#?}"
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        bytes,
        "a dry run writes nothing"
    );

    let out = setup(&env, &["docker"]);
    assert!(out.ok().contains("changed: credsStore"), "{out:#?}");
    let mut expected = original.clone();
    expected["credsStore"] = json!("ocicred");
    assert_eq!(read_json(&file), expected, "every other field kept");
    assert_eq!(mode_of(&file), 0o600);
    let after = std::fs::read(&file).unwrap();
    let out = setup(&env, &["docker"]);
    assert!(out.ok().contains("nothing to change"), "{out:#?}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        after,
        "a second run changes nothing"
    );

    // The real docker CLI now stores and erases through ocicred.
    let mut c = env.command(&docker);
    c.args(["login", &reg.host, "-u", "alice", "--password-stdin"]);
    let out = run(c, b"secret\n");
    assert_eq!(out.code, 0, "{out:#?}");
    let stored = std::fs::read_to_string(env.auth_json()).unwrap();
    assert!(
        stored.contains(&reg.host),
        "ocicred's store has it: {stored}"
    );
    let v = read_json(&file);
    assert_eq!(
        v["auths"][&reg.host],
        json!({}),
        "docker keeps a placeholder"
    );
    assert_eq!(v["credHelpers"]["gcr.io"], "gcloud");
    assert_eq!(v["psFormat"], "table {{.ID}}");
    let out = env.helper("get", reg.host.as_bytes());
    assert!(out.ok().contains("\"Username\":\"alice\""));
    let mut c = env.command(&docker);
    c.args(["logout", &reg.host]);
    assert_eq!(run(c, b"").code, 0);
    assert!(
        !std::fs::read_to_string(env.auth_json())
            .unwrap()
            .contains(&reg.host)
    );

    // Undo puts back what setup replaced (there was no credsStore) and forgets the record.
    let out = setup(&env, &["docker", "--undo"]);
    assert!(
        out.ok().contains("credsStore: \"ocicred\" -> (none)"),
        "{out:#?}"
    );
    let v = read_json(&file);
    assert!(v.get("credsStore").is_none(), "{v}");
    assert_eq!(v["credHelpers"], json!({"gcr.io": "gcloud"}));
    assert_eq!(
        v["auths"]["other.example"],
        original["auths"]["other.example"]
    );
    assert!(!env.path(".config/ocicred/setup-state.json").exists());
    let out = setup(&env, &["docker", "--undo"]);
    assert!(out.ok().contains("nothing to change"), "{out:#?}");
}

#[test]
fn setup_docker_registry_adds_cred_helpers_only_and_undo_restores_the_previous_helper() {
    let docker = require("docker");
    let reg = Registry::htpasswd("alice", "secret");
    let (env, file, original) = docker_env();
    // Another helper had this host before: undo must give it back.
    let mut start = original.clone();
    start["credHelpers"][&reg.host] = json!("pass");
    std::fs::write(&file, serde_json::to_vec(&start).unwrap()).unwrap();

    let out = setup(&env, &["docker", "--registry", &reg.host]);
    assert!(
        out.ok().contains(&format!(
            "credHelpers[{:?}]: \"pass\" -> \"ocicred\"",
            reg.host
        )),
        "{out:#?}"
    );
    let v = read_json(&file);
    assert!(v.get("credsStore").is_none());
    assert_eq!(v["credHelpers"]["gcr.io"], "gcloud");
    assert_eq!(v["credHelpers"][&reg.host], "ocicred");
    let state = read_json(&env.path(".config/ocicred/setup-state.json"));
    assert_eq!(
        state["docker"][file.display().to_string()]["credHelpers"][&reg.host],
        "pass"
    );

    let mut c = env.command(&docker);
    c.args(["login", &reg.host, "-u", "alice", "--password-stdin"]);
    let out = run(c, b"secret\n");
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        std::fs::read_to_string(env.auth_json())
            .unwrap()
            .contains(&reg.host)
    );
    assert!(
        !std::fs::read_to_string(&file)
            .unwrap()
            .contains(&b64("alice:secret"))
    );

    let out = setup(&env, &["docker", "--undo", "--registry", &reg.host]);
    assert!(out.ok().contains("\"ocicred\" -> \"pass\""), "{out:#?}");
    assert_eq!(read_json(&file)["credHelpers"][&reg.host], "pass");
    // A namespace is not a docker credHelpers key.
    let out = setup(&env, &["docker", "--registry", "quay.io/org"]);
    assert_eq!(out.code, 1, "{out:#?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
}

#[test]
fn setup_docker_never_rewrites_a_file_it_cannot_understand() {
    let (env, file, _) = docker_env();
    for bad in [
        "{\"auths\": ",
        "{\"auths\": []}",
        "{\"credHelpers\": {\"a.io\": 1}}",
        "{\"credsStore\": {}}",
        "[]",
    ] {
        std::fs::write(&file, bad).unwrap();
        for args in [
            &["docker"][..],
            &["docker", "--undo"],
            &["docker", "--migrate"],
        ] {
            let out = setup(&env, args);
            assert_eq!(out.code, 1, "{bad}: {out:#?}");
            assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
            assert!(out.stderr.contains("config.json"), "{out:#?}");
            assert_eq!(std::fs::read_to_string(&file).unwrap(), bad);
        }
    }
}

/// The hosts, users and secrets a migration test moves.
fn creds(n: usize) -> Vec<(String, String, String)> {
    (0..n)
        .map(|i| {
            (
                format!("r{i}.example:5000"),
                format!("user{i}"),
                format!("s3cret-{i}-{}", i * 7919),
            )
        })
        .collect()
}

fn plain_config(creds: &[(String, String, String)]) -> Value {
    let mut auths = serde_json::Map::new();
    for (h, u, s) in creds {
        auths.insert(h.clone(), json!({"auth": b64(&format!("{u}:{s}"))}));
    }
    auths.insert("https://index.docker.io/v1/".into(), json!({}));
    json!({"auths": auths, "psFormat": "table"})
}

/// The (user, secret) an auth file holds in plain text for `host`, if any. The file must
/// parse whenever it exists: a torn file would be a lost credential.
fn plain_in(file: &Path, host: &str) -> Option<(String, String)> {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(_) => return None,
    };
    let v: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{} is torn: {e}", file.display()));
    let auth = v["auths"][host]["auth"].as_str()?;
    let dec = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .unwrap();
    let (u, s) = std::str::from_utf8(&dec).unwrap().split_once(':').unwrap();
    Some((u.to_string(), s.to_string()))
}

#[test]
fn migrate_killed_at_random_moments_never_loses_a_credential() {
    let (mut env, file, _) = docker_env();
    let store = env.path("store/auth.json");
    env.set("REGISTRY_AUTH_FILE", &store);
    let all = creds(12);
    let fresh = || {
        std::fs::write(&file, serde_json::to_vec(&plain_config(&all)).unwrap()).unwrap();
        let _ = std::fs::remove_file(&store);
        let _ = std::fs::remove_file(env.path(".config/ocicred/setup-state.json"));
    };
    let check_all = |when: &str| -> usize {
        let mut in_store = 0;
        for (h, u, s) in &all {
            let want = Some((u.clone(), s.clone()));
            let a = plain_in(&file, h);
            let b = plain_in(&store, h);
            assert!(
                a == want || b == want,
                "{when}: {h} lost (config {a:?}, store {b:?})"
            );
            in_store += usize::from(b == want);
        }
        in_store
    };

    // One uninterrupted run: how long it takes bounds the kill delays.
    fresh();
    let t = Instant::now();
    let out = setup(&env, &["docker", "--migrate"]);
    let full = t.elapsed();
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(check_all("after a full run"), all.len());
    for (h, _, _) in &all {
        assert_eq!(read_json(&file)["auths"][h], json!({}));
    }

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed}, full run {full:?}");
    let mut rng = XorShift(seed);
    let span = (full.as_micros() as u64 * 3 / 2).max(2_000);
    let mut seen = std::collections::BTreeMap::new();
    for round in 0..40 {
        fresh();
        // Kill up to three runs in a row (each resumes what the last left), then finish.
        for attempt in 0..4 {
            let mut c = env.ocicred(&["setup", "docker", "--migrate"]);
            c.stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            let mut child = c.spawn().unwrap();
            if attempt < 3 {
                std::thread::sleep(Duration::from_micros(rng.below(span)));
                // SIGKILL, as std's `Child::kill` sends.
                let _ = child.kill();
                let st = child.wait().unwrap();
                let n = check_all(&format!("round {round}, kill {attempt}"));
                *seen.entry((st.code().is_some(), n)).or_insert(0) += 1;
            } else {
                let out = output(child.wait_with_output().unwrap());
                assert_eq!(out.code, 0, "round {round}: {out:#?}");
            }
        }
        assert_eq!(check_all(&format!("round {round}, done")), all.len());
        let v = read_json(&file);
        assert_eq!(v["credsStore"], "ocicred");
        assert_eq!(v["psFormat"], "table");
        for (h, _, _) in &all {
            assert_eq!(v["auths"][h], json!({}), "round {round}");
        }
    }
    println!("(finished before the kill, credentials in the store) -> count: {seen:?}");
    // ocicred itself answers from its store once the plain text is gone.
    let (h, u, s) = &all[5];
    let out = env.helper("get", h.as_bytes());
    assert!(
        out.ok()
            .contains(&format!("\"Username\":\"{u}\",\"Secret\":\"{s}\""))
    );
}

#[test]
fn migrate_into_the_keyring_leaves_placeholders_and_no_plain_text() {
    let (mut env, file, _) = docker_env();
    let ks = KeyringSession::start(&env);
    ks.apply(&mut env);
    env.set("OCICRED_STORE", "keyring");
    let all = creds(3);
    std::fs::write(&file, serde_json::to_vec(&plain_config(&all)).unwrap()).unwrap();

    let out = setup(&env, &["docker", "--migrate", "--dry-run"]);
    assert!(
        out.ok()
            .contains("would change: auths[\"r0.example:5000\"]"),
        "{out:#?}"
    );
    assert_eq!(
        ks.items_for(&env, "r0.example:5000"),
        0,
        "a dry run stores nothing"
    );
    assert!(plain_in(&file, "r0.example:5000").is_some());

    let out = setup(&env, &["docker", "--migrate"]);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(out.stdout.contains("moved to the keyring"), "{out:#?}");
    let text = std::fs::read_to_string(&file).unwrap();
    for (h, u, s) in &all {
        assert!(!text.contains(&b64(&format!("{u}:{s}"))), "{text}");
        assert_eq!(ks.items_for(&env, h), 1, "{h}");
        let out = env.helper("get", h.as_bytes());
        assert!(
            out.ok().contains(&format!("\"Secret\":\"{s}\"")),
            "{out:#?}"
        );
    }
    assert_eq!(read_json(&file)["credsStore"], "ocicred");
    let out = setup(&env, &["docker", "--migrate"]);
    assert!(out.ok().contains("nothing to change"), "{out:#?}");
    // Undo points docker back, and never puts plain text back.
    let out = setup(&env, &["docker", "--migrate", "--undo"]);
    assert_eq!(out.code, 2, "clap refuses the combination: {out:#?}");
}

#[test]
fn migrate_refuses_a_store_that_does_not_outlive_a_reboot() {
    let (env, file, _) = docker_env();
    let all = creds(1);
    std::fs::write(&file, serde_json::to_vec(&plain_config(&all)).unwrap()).unwrap();
    let before = std::fs::read(&file).unwrap();
    // The default store is $XDG_RUNTIME_DIR/containers/auth.json, a tmpfs on real machines.
    let out = setup(&env, &["docker", "--migrate"]);
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stderr.contains("does not survive a reboot"), "{out:#?}");
    assert_eq!(out.stdout, "", "a failed run prints no change: {out:#?}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

/// Writes under the test's system root (`$OCICRED_SYSCONFDIR`, given to skopeo as
/// `--registries-conf`).
fn write_etc(env: &TestEnv, rel: &str, text: &str) -> PathBuf {
    let p = env.root.path().join("etc").join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn setup_podman_drop_in_makes_skopeo_use_ocicred_with_the_system_conf_in_effect() {
    let reg = Registry::htpasswd("alice", "secret");
    let mut env = TestEnv::new();
    let ks = KeyringSession::start(&env);
    ks.apply(&mut env);
    // Credentials go to the keyring: only ocicred can give them to skopeo.
    env.set("OCICRED_STORE", "keyring");
    // The system file blocks the same registry under another name.
    let blocked = format!("localhost:{}", reg.port);
    let system = write_etc(
        &env,
        "containers/registries.conf",
        &format!("[[registry]]\nlocation = \"{blocked}\"\nblocked = true\n"),
    );
    let skopeo = |args: &[&str]| {
        let mut c = env.command(require("skopeo"));
        c.arg("--registries-conf").arg(&system).args(args);
        run(c, b"")
    };
    let image = oci_image(&env.root.path().join("img"), "v1", "setup podman");
    let r = format!("docker://{}/test/hello:v1", reg.host);

    let out = setup(&env, &["podman", "--dry-run"]);
    assert!(out.ok().contains("would change"), "{out:#?}");
    let drop_in = env.path(".config/containers/registries.conf.d/50-ocicred.conf");
    assert!(!drop_in.exists());
    let out = setup(&env, &["podman"]);
    assert!(out.ok().contains("changed"), "{out:#?}");
    assert!(!env.path(".config/containers/registries.conf").exists());
    let first = std::fs::read(&drop_in).unwrap();
    let out = setup(&env, &["podman"]);
    assert!(out.ok().contains("nothing to change"), "{out:#?}");
    assert_eq!(std::fs::read(&drop_in).unwrap(), first);

    let out = skopeo(&skopeo_login("alice", "secret", &reg.host));
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(ks.items_for(&env, &reg.host), 1, "stored through ocicred");
    assert!(
        !env.auth_json().exists()
            || !std::fs::read_to_string(env.auth_json())
                .unwrap()
                .contains(&reg.host)
    );
    let out = skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:v1", image.display()),
        &r,
    ]);
    assert_eq!(out.code, 0, "push with ocicred's credentials: {out:#?}");
    let out = skopeo(&["inspect", "--tls-verify=false", &r]);
    assert_eq!(out.code, 0, "{out:#?}");
    // The system registries.conf is still read: its blocked registry stays blocked.
    let out = skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{blocked}/test/hello:v1"),
    ]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("blocked"), "{out:#?}");

    // Undo removes exactly the drop-in; skopeo no longer finds the keyring credentials.
    let out = setup(&env, &["podman", "--undo"]);
    assert!(out.ok().contains("removed the drop-in"), "{out:#?}");
    assert!(!drop_in.exists());
    let out = skopeo(&["inspect", "--tls-verify=false", &r]);
    assert_ne!(out.code, 0, "{out:#?}");
    let out = setup(&env, &["podman", "--undo"]);
    assert!(out.ok().contains("nothing to change"), "{out:#?}");
}

#[test]
fn setup_podman_leaves_a_drop_in_it_did_not_write() {
    let env = TestEnv::new();
    let mine = env.write(
        ".config/containers/registries.conf.d/50-ocicred.conf",
        "credential-helpers = [\"pass\"]\n",
    );
    for args in [&["podman"][..], &["podman", "--undo"]] {
        let out = setup(&env, args);
        assert_eq!(out.code, 1, "{out:#?}");
        assert!(out.stderr.contains("not written by ocicred"), "{out:#?}");
    }
    assert_eq!(
        std::fs::read_to_string(&mine).unwrap(),
        "credential-helpers = [\"pass\"]\n"
    );
}

/// The helper Bazel would run for `uri`, from rc lines (`research/bazel.md` §2.3): the exact
/// host's scope, then the longest `*.` suffix, then the default helper; the last line wins.
fn bazel_helper_for(rc: &str, uri: &str) -> Option<String> {
    let host = uri
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(uri)
        .split(['/', ':'])
        .next()
        .unwrap()
        .to_ascii_lowercase();
    let mut scoped: Vec<(String, String)> = Vec::new();
    let mut default = None;
    for line in rc.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("common") {
            continue;
        }
        for w in words {
            let Some(v) = w.strip_prefix("--credential_helper=") else {
                continue;
            };
            match v.split_once('=') {
                Some((scope, path)) => scoped.push((scope.to_string(), path.to_string())),
                None => default = Some(v.to_string()),
            }
        }
    }
    let find = |scope: &str| {
        scoped
            .iter()
            .rev()
            .find(|(s, _)| s == scope)
            .map(|(_, p)| p.clone())
    };
    if let Some(p) = find(&host) {
        return Some(p);
    }
    let labels: Vec<&str> = host.split('.').collect();
    for i in 0..labels.len() {
        if let Some(p) = find(&format!("*.{}", labels[i..].join("."))) {
            return Some(p);
        }
    }
    default
}

#[test]
fn setup_bazel_lines_answer_a_bazel_style_request_and_undo_removes_exactly_them() {
    let s = Server::start(|req, addr| {
        if req.path == "/v2/" {
            let ch = format!(r#"Bearer realm="http://{addr}/token",service="fake.test""#);
            reply(401, &[("WWW-Authenticate", &ch)], "")
        } else if req.path.starts_with("/token") {
            let ok = req.header("authorization") == Some(&basic("alice", "secret")[..]);
            let body = if ok {
                r#"{"token":"T-alice"}"#
            } else {
                r#"{"token":"T-anon"}"#
            };
            reply(200, &[("Content-Type", "application/json")], body)
        } else {
            reply(404, &[], "")
        }
    });
    let env = TestEnv::new();
    let out = env.helper(
        "store",
        format!(
            r#"{{"ServerURL":"{}","Username":"alice","Secret":"secret"}}"#,
            s.addr
        )
        .as_bytes(),
    );
    assert_eq!(out.code, 0, "{out:#?}");
    let ws = env.path("ws");
    std::fs::create_dir_all(&ws).unwrap();
    let rc = ws.join(".bazelrc");
    let mine = "build --jobs=4\ncommon --credential_helper=*.example.com=/opt/other\n";
    std::fs::write(&rc, mine).unwrap();
    set_mode(&rc, 0o644);

    // Default hosts: every registry ocicred holds a credential for (here 127.0.0.1:<port>).
    let mut c = env.ocicred(&["setup", "bazel", "--rc", rc.to_str().unwrap(), "--dry-run"]);
    c.current_dir(&ws);
    assert!(run(c, b"").ok().contains("would change"));
    assert_eq!(std::fs::read_to_string(&rc).unwrap(), mine);
    let mut c = env.ocicred(&["setup", "bazel"]);
    c.current_dir(&ws);
    let out = run(c, b"");
    assert!(
        out.ok()
            .contains("added common --credential_helper=127.0.0.1="),
        "{out:#?}"
    );
    let text = std::fs::read_to_string(&rc).unwrap();
    assert!(text.starts_with(mine), "{text}");
    assert_eq!(mode_of(&rc), 0o644, "the rc file keeps its mode");
    let mut c = env.ocicred(&["setup", "bazel"]);
    c.current_dir(&ws);
    assert!(run(c, b"").ok().contains("nothing to change"));
    assert_eq!(std::fs::read_to_string(&rc).unwrap(), text);
    // Nothing but the rc file changed in the workspace (no lock or temp file left there).
    let names: Vec<_> = std::fs::read_dir(&ws)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [".bazelrc"]);

    // The helper Bazel picks for a registry URL is ocicred, and it answers with a token that
    // only alice's credential gets.
    let uri = format!("http://{}/v2/team/app/manifests/1.0", s.addr);
    let helper = bazel_helper_for(&text, &uri).expect("a helper for the registry");
    assert_eq!(
        std::fs::canonicalize(&helper).unwrap(),
        std::fs::canonicalize(ocicred_bin()).unwrap()
    );
    let mut c = env.command(&helper);
    c.arg("get");
    let out = run(c, json!({ "uri": uri }).to_string().as_bytes());
    let v: Value = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(v["headers"]["Authorization"][0], "Bearer T-alice");
    // Another host still gets the helper the user configured.
    assert_eq!(
        bazel_helper_for(&text, "https://cdn.example.com/x").as_deref(),
        Some("/opt/other")
    );

    // --host adds to the block; --undo --host removes one line; --undo the rest.
    let mut c = env.ocicred(&["setup", "bazel", "--host", "ghcr.io"]);
    c.current_dir(&ws);
    assert!(run(c, b"").ok().contains("added"));
    let mut c = env.ocicred(&["setup", "bazel", "--undo", "--host", "ghcr.io"]);
    c.current_dir(&ws);
    assert!(
        run(c, b"")
            .ok()
            .contains("removed common --credential_helper=ghcr.io=")
    );
    assert_eq!(std::fs::read_to_string(&rc).unwrap(), text);
    let mut c = env.ocicred(&["setup", "bazel", "--undo"]);
    c.current_dir(&ws);
    assert!(run(c, b"").ok().contains("removed"));
    assert_eq!(
        std::fs::read_to_string(&rc).unwrap(),
        mine,
        "exactly the original"
    );
    let mut c = env.ocicred(&["setup", "bazel", "--undo"]);
    c.current_dir(&ws);
    assert!(run(c, b"").ok().contains("nothing to change"));

    // localhost cannot be a Bazel scope: a clear error, nothing written.
    let mut c = env.ocicred(&["setup", "bazel", "--host", "localhost:5000"]);
    c.current_dir(&ws);
    let out = run(c, b"");
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stderr.contains("127.0.0.1"), "{out:#?}");
    assert_eq!(std::fs::read_to_string(&rc).unwrap(), mine);
}
