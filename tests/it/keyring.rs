//! The keyring backend against a real Secret Service: a private D-Bus session bus and an
//! unlocked gnome-keyring, both started (and stopped, by PID) per test. Fails, never skips,
//! when dbus-daemon, gnome-keyring-daemon or secret-tool are missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// A private session bus plus (optionally) an unlocked gnome-keyring on it.
pub struct KeyringSession {
    bus: Child,
    keyring: Option<Child>,
    pub address: String,
    pub data: PathBuf,
}

impl KeyringSession {
    /// A bus with an unlocked `login` keyring (password `pw`).
    pub fn start(env: &TestEnv) -> KeyringSession {
        let mut s = KeyringSession::bus_only(env);
        s.start_daemon(env, b"pw");
        s
    }

    /// Restarts gnome-keyring with a wrong password: the `login` keyring stays locked.
    pub fn relock(&mut self, env: &TestEnv) {
        if let Some(mut k) = self.keyring.take() {
            let _ = k.kill();
            let _ = k.wait();
        }
        let start = Instant::now();
        while self.has_secrets() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "old daemon still owns the name"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.start_daemon(env, b"not-the-password");
    }

    fn start_daemon(&mut self, env: &TestEnv, password: &[u8]) {
        let s = self;
        let gkd = require("gnome-keyring-daemon");
        let mut c = env.command(gkd);
        c.args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &s.address)
            .env("XDG_DATA_HOME", &s.data)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = c.spawn().expect("start gnome-keyring-daemon");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(password).unwrap();
        }
        s.keyring = Some(child);
        let start = Instant::now();
        while !s.has_secrets() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "gnome-keyring-daemon did not come up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A private session bus with no secret service started on it.
    pub fn bus_only(env: &TestEnv) -> KeyringSession {
        let daemon = require("dbus-daemon");
        let dir = env.root.path().join("dbus");
        let data = env.root.path().join("keyring-data");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&data).unwrap();
        let socket = dir.join("bus");
        let address = format!("unix:path={}", socket.display());
        let mut c = env.command(daemon);
        c.args(["--session", "--nofork", "--nopidfile"])
            .arg(format!("--address={address}"))
            .env("XDG_DATA_HOME", &data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let bus = c.spawn().expect("start dbus-daemon");
        let start = Instant::now();
        while !socket.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "dbus-daemon did not come up"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        KeyringSession {
            bus,
            keyring: None,
            address,
            data,
        }
    }

    fn has_secrets(&self) -> bool {
        Command::new(require("dbus-send"))
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
    }

    /// Stops (`SIGSTOP`) or resumes (`SIGCONT`) the keyring daemon, by its PID.
    pub fn signal(&self, signal: rustix::process::Signal) {
        let id = self.keyring.as_ref().expect("daemon running").id();
        let pid = rustix::process::Pid::from_raw(id as i32).expect("a child's pid");
        rustix::process::kill_process(pid, signal)
            .unwrap_or_else(|e| panic!("kill({id}, {signal:?}): {e}"));
    }

    /// Points `env` at this bus and keyring.
    pub fn apply(&self, env: &mut TestEnv) {
        env.set("DBUS_SESSION_BUS_ADDRESS", &self.address);
        env.set("XDG_DATA_HOME", &self.data);
    }

    /// `secret-tool ARGS` on this bus.
    pub fn secret_tool(&self, env: &TestEnv, args: &[&str]) -> Out {
        let mut c = env.command(require("secret-tool"));
        c.args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("XDG_DATA_HOME", &self.data);
        run(c, b"")
    }

    /// How many ocicred items the keyring holds for `key` (as `secret-tool` sees them).
    pub fn items_for(&self, env: &TestEnv, key: &str) -> usize {
        let out = self.secret_tool(
            env,
            &["search", "--all", "service", "ocicred", "username", key],
        );
        out.stdout.matches("label = ").count()
    }
}

impl Drop for KeyringSession {
    fn drop(&mut self) {
        if let Some(k) = &mut self.keyring {
            let _ = k.kill();
            let _ = k.wait();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

/// A TestEnv on a fresh keyring with `OCICRED_STORE=keyring`.
fn keyring_env() -> (TestEnv, KeyringSession) {
    let mut env = TestEnv::new();
    let session = KeyringSession::start(&env);
    session.apply(&mut env);
    env.set("OCICRED_STORE", "keyring");
    (env, session)
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            out.extend(files_containing(&p, needle));
        } else if meta.is_file()
            && let Ok(bytes) = std::fs::read(&p)
            && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        {
            out.push(p);
        }
    }
    out
}

#[test]
fn keyring_round_trips_with_namespaces_and_real_secret_service() {
    let (env, ks) = keyring_env();
    assert_eq!(env.store("quay.io/org", "orguser", "S3cr3t-org").code, 0);
    assert_eq!(
        env.store("https://index.docker.io/v1/", "hubuser", "S3cr3t-hub")
            .code,
        0
    );
    assert_eq!(env.store("127.0.0.1:5000", "<token>", "S3cr3t-tok").code, 0);

    let out = env.helper("get", b"quay.io/org/repo:tag");
    assert_eq!(
        out.ok(),
        "{\"ServerURL\":\"quay.io/org/repo:tag\",\"Username\":\"orguser\",\"Secret\":\"S3cr3t-org\"}\n"
    );
    let out = env.helper("get", b"registry-1.docker.io");
    assert!(out.ok().contains("\"Secret\":\"S3cr3t-hub\""), "{out:#?}");
    let out = env.helper("get", b"127.0.0.1:5000\n");
    assert!(out.ok().contains("\"Username\":\"<token>\""), "{out:#?}");
    let out = env.helper("get", b"quay.io");
    assert_eq!((out.code, out.stdout.as_str()), (1, NOT_FOUND));

    // Another program reads what ocicred wrote: the real Secret Service, not a mock.
    let out = ks.secret_tool(
        &env,
        &["lookup", "service", "ocicred", "username", "quay.io/org"],
    );
    assert!(out.ok().contains("\"Secret\":\"S3cr3t-org\""), "{out:#?}");
    let out = ks.secret_tool(&env, &["search", "--all", "service", "ocicred"]);
    assert!(
        out.stdout.contains("label = ocicred: docker.io"),
        "{out:#?}"
    );

    // Storing again replaces the item: still one per key.
    assert_eq!(env.store("quay.io/org", "orguser", "S3cr3t-org").code, 0);
    assert_eq!(ks.items_for(&env, "quay.io/org"), 1, "one item per key");

    let out = env.helper("list", b"");
    let listed: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(
        listed,
        serde_json::json!({"127.0.0.1:5000":"<token>","docker.io":"hubuser","quay.io/org":"orguser"})
    );
    let table = run(env.ocicred(&["list"]), b"");
    let text = table.ok();
    assert!(
        text.contains("quay.io/org") && text.contains("keyring"),
        "{text}"
    );
    assert!(!text.contains("S3cr3t"), "{text}");

    let doctor = run(env.ocicred(&["doctor"]), b"");
    assert!(
        doctor.stdout.contains("Secret Service store"),
        "doctor names the real store: {doctor:#?}"
    );
    assert_eq!(doctor.code, 0, "{doctor:#?}");

    // Nothing secret on disk under HOME (or in the runtime dir).
    for dir in [&env.home, &env.run] {
        assert!(files_containing(dir, "S3cr3t").is_empty());
    }

    // docker logout sends several spellings; each erase succeeds.
    for s in ["quay.io/org", "http://quay.io/org", "quay.io/org"] {
        assert_eq!(env.helper("erase", s.as_bytes()).code, 0);
    }
    let out = ks.secret_tool(
        &env,
        &["lookup", "service", "ocicred", "username", "quay.io/org"],
    );
    assert_ne!(out.code, 0, "erased from the keyring: {out:#?}");
    let out = env.helper("get", b"quay.io/org/repo");
    assert_eq!(out.stdout, NOT_FOUND);
}

#[test]
fn keyring_chosen_by_config_file_and_asked_before_the_auth_file() {
    let mut env = TestEnv::new();
    let ks = KeyringSession::start(&env);
    ks.apply(&mut env);
    env.write(".config/ocicred/config.toml", "store = \"keyring\"\n");
    // An auth.json entry for the same host: the keyring answers first.
    std::fs::create_dir_all(env.auth_json().parent().unwrap()).unwrap();
    std::fs::write(
        env.auth_json(),
        r#"{"auths":{"example.org":{"auth":"ZmlsZTpmaWxlcHc="},"only-file.org":{"auth":"ZmlsZTpmaWxlcHc="}}}"#,
    )
    .unwrap();
    assert_eq!(env.store("example.org", "kr", "krpw").code, 0);
    assert!(
        env.helper("get", b"example.org")
            .ok()
            .contains("\"Username\":\"kr\"")
    );
    assert!(
        env.helper("get", b"only-file.org")
            .ok()
            .contains("\"Username\":\"file\"")
    );
    let auth = std::fs::read_to_string(env.auth_json()).unwrap();
    assert!(
        !auth.contains("krpw") && !auth.contains("a3I6a3Jwdw"),
        "store went to the keyring"
    );
    let out = ks.secret_tool(
        &env,
        &["lookup", "service", "ocicred", "username", "example.org"],
    );
    assert!(out.ok().contains("krpw"));
    // OCICRED_STORE overrides the file.
    env.set("OCICRED_STORE", "auth-file");
    assert_eq!(env.store("other.org", "f", "fpw").code, 0);
    assert!(
        std::fs::read_to_string(env.auth_json())
            .unwrap()
            .contains("other.org")
    );
}

#[test]
fn dual_write_copies_into_docker_config_in_docker_format() {
    let (env, _ks) = keyring_env();
    env.write(".config/ocicred/config.toml", "dual-write = true\n");
    env.write(
        ".docker/config.json",
        r#"{"auths":{},"detachKeys":"ctrl-x"}"#,
    );
    assert_eq!(env.store("docker.io", "hub", "hubpw").code, 0);
    assert_eq!(env.store("quay.io/org", "ns", "nspw").code, 0);
    let text = std::fs::read_to_string(env.path(".docker/config.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["detachKeys"], "ctrl-x", "unknown fields kept");
    let keys: Vec<_> = v["auths"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        ["https://index.docker.io/v1/"],
        "namespaced keys skipped"
    );
    // docker-credential-secretservice-style readers aside, the keyring has both.
    assert!(env.helper("get", b"quay.io/org/x").ok().contains("nspw"));
    assert_eq!(env.helper("erase", b"https://index.docker.io/v1/").code, 0);
    let text = std::fs::read_to_string(env.path(".docker/config.json")).unwrap();
    assert!(!text.contains("index.docker.io"), "{text}");
}

#[test]
fn no_reachable_keyring_is_a_clear_bounded_error() {
    let mut env = TestEnv::new();
    env.set("OCICRED_STORE", "keyring");
    env.set(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}", env.root.path().join("no-bus").display()),
    );
    for action in ["get", "erase"] {
        let start = Instant::now();
        let out = env.helper(action, b"example.org");
        assert_eq!(out.code, 1, "{out:#?}");
        assert!(start.elapsed() < Duration::from_secs(7));
        assert_eq!(out.stdout.lines().count(), 1, "{out:#?}");
        assert!(!out.stdout.contains("credentials not found"), "{out:#?}");
        assert!(out.stdout.contains("OCICRED_STORE=auth-file"), "{out:#?}");
    }
    let out = env.store("example.org", "u", "SeKrit");
    assert_eq!(out.code, 1);
    assert!(!out.stdout.contains("SeKrit") && !out.stderr.contains("SeKrit"));
    let out = run(env.ocicred(&["doctor"]), b"");
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(
        out.stdout.contains("keyring cannot answer (unreachable"),
        "{out:#?}"
    );
}

#[test]
fn locked_keyring_is_a_clear_error_and_never_falls_back_to_a_file() {
    // gnome-keyring with a locked login keyring: storing needs an unlock prompt that can never
    // appear here. ocicred gives up after its bound, and nothing falls through to a file.
    let (mut env, mut ks) = keyring_env();
    assert_eq!(env.store("before.org", "u", "pw").code, 0);
    ks.relock(&env);
    env.set("OCICRED_STORE", "keyring");
    let start = Instant::now();
    let out = env.store("example.org", "u", "pw");
    let took = start.elapsed();
    assert!(took < Duration::from_secs(8), "bounded: {took:?}");
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stdout.starts_with("keyring:"), "{out:#?}");
    assert!(out.stdout.contains("auth-file"), "{out:#?}");
    assert!(!env.auth_json().exists(), "no fallback to the auth file");
    let out = env.helper("get", b"before.org");
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(!out.stdout.contains("credentials not found"), "{out:#?}");
}

#[test]
fn a_keyring_that_never_answers_is_abandoned_after_the_bound() {
    let (env, ks) = keyring_env();
    assert_eq!(env.store("example.org", "u", "pw").code, 0);
    ks.signal(rustix::process::Signal::STOP);
    let start = Instant::now();
    let out = env.helper("get", b"example.org");
    let took = start.elapsed();
    ks.signal(rustix::process::Signal::CONT);
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(8),
        "bounded at about 5 s: {took:?}"
    );
    assert!(
        out.stdout.contains("no answer from the Secret Service"),
        "{out:#?}"
    );
    assert!(out.stdout.contains("OCICRED_STORE=auth-file"), "{out:#?}");
    assert_eq!(out.stdout.lines().count(), 1);
}

#[test]
fn skopeo_login_and_pull_with_ocicred_on_the_keyring() {
    let reg = Registry::htpasswd("alice", "secret");
    let (env, ks) = keyring_env();
    env.write(
        ".config/containers/registries.conf",
        "credential-helpers = [\"ocicred\"]\n",
    );
    let image = oci_image(&env.root.path().join("img"), "v1", "keyring pull");
    let out = env.skopeo(&skopeo_login("alice", "secret", &reg.host));
    assert_eq!(out.code, 0, "{out:#?}");
    let out = ks.secret_tool(
        &env,
        &["lookup", "service", "ocicred", "username", &reg.host],
    );
    assert!(out.ok().contains("\"Username\":\"alice\""), "{out:#?}");
    assert!(
        !env.auth_json().exists()
            || !std::fs::read_to_string(env.auth_json())
                .unwrap()
                .contains(&reg.host)
    );

    let r = format!("docker://{}/test/hello:v1", reg.host);
    let out = env.skopeo_push(&image, &r);
    assert_eq!(out.code, 0, "push: {out:#?}");
    let out = env.skopeo(&["inspect", "--tls-verify=false", &r]);
    assert_eq!(out.code, 0, "{out:#?}");
    let dest = env.root.path().join("pulled");
    let out = env.skopeo_pull(&r, &dest);
    assert_eq!(out.code, 0, "pull: {out:#?}");

    let out = env.skopeo(&["logout", &reg.host]);
    assert_eq!(out.code, 0, "{out:#?}");
    let out = env.skopeo(&["inspect", "--tls-verify=false", &r]);
    assert_ne!(out.code, 0, "after logout the registry refuses again");
    assert!(files_containing(&env.home, "secret").is_empty());
}

#[test]
fn docker_login_to_keyring_then_skopeo_pulls() {
    let docker = require("docker");
    let reg = Registry::htpasswd("alice", "secret");
    let (mut env, ks) = keyring_env();
    let cfg = env.path("dockercfg");
    env.write(
        "dockercfg/config.json",
        &format!(r#"{{"credHelpers":{{"{}":"ocicred"}}}}"#, reg.host),
    );
    env.set("DOCKER_CONFIG", &cfg);
    let mut c = env.command(&docker);
    c.args(["login", &reg.host, "-u", "alice", "--password-stdin"]);
    let out = run(c, b"secret\n");
    assert_eq!(out.code, 0, "{out:#?}");
    let out = ks.secret_tool(
        &env,
        &["lookup", "service", "ocicred", "username", &reg.host],
    );
    assert!(out.ok().contains("\"Secret\":\"secret\""), "{out:#?}");

    // skopeo reads docker's config.json, follows credHelpers to ocicred, which reads the keyring.
    let image = oci_image(&env.root.path().join("img"), "v1", "docker login");
    let r = format!("docker://{}/test/d:v1", reg.host);
    let out = env.skopeo_push(&image, &r);
    assert_eq!(out.code, 0, "push: {out:#?}");
    let out = env.skopeo(&["inspect", "--tls-verify=false", &r]);
    assert_eq!(out.code, 0, "{out:#?}");

    let mut c = env.command(&docker);
    c.args(["logout", &reg.host]);
    assert_eq!(run(c, b"").code, 0);
    let out = ks.secret_tool(
        &env,
        &["lookup", "service", "ocicred", "username", &reg.host],
    );
    assert_ne!(out.code, 0);
}

#[test]
fn login_against_a_real_registry_into_the_keyring() {
    let reg = Registry::htpasswd("alice", "secret");
    let (env, ks) = keyring_env();
    let out = run(
        env.ocicred(&["login", "-u", "alice", "--password-stdin", &reg.host]),
        b"wrong\n",
    );
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stderr.contains("refused"), "{out:#?}");
    assert!(!out.stderr.contains("wrong"));
    let out = ks.secret_tool(&env, &["search", "--all", "service", "ocicred"]);
    assert!(!out.stdout.contains(&reg.host), "nothing stored: {out:#?}");

    let out = run(
        env.ocicred(&["login", "-u", "alice", "--password-stdin", &reg.host]),
        b"secret\n",
    );
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(out.stdout.contains("keyring"), "says where: {out:#?}");
    assert!(
        env.helper("get", reg.host.as_bytes())
            .ok()
            .contains("\"Secret\":\"secret\"")
    );
    let out = run(env.ocicred(&["logout", &reg.host]), b"");
    assert_eq!(out.code, 0, "{out:#?}");
    let out = run(env.ocicred(&["logout", &reg.host]), b"");
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stdout.contains("Not logged in"), "{out:#?}");
}

#[test]
fn parallel_stores_of_one_key_leave_one_item() {
    let (env, ks) = keyring_env();
    std::thread::scope(|s| {
        for i in 0..8 {
            let env = &env;
            s.spawn(move || {
                let out = env.store("race.example", &format!("user{i}"), &format!("pw{i}"));
                assert_eq!(out.code, 0, "{out:#?}");
            });
        }
    });
    assert_eq!(ks.items_for(&env, "race.example"), 1, "one item per key");
    let got = env.helper("get", b"race.example");
    let v: serde_json::Value = serde_json::from_str(got.ok()).unwrap();
    let user = v["Username"].as_str().unwrap();
    assert_eq!(v["Secret"].as_str().unwrap(), user.replace("user", "pw"));
}

#[test]
fn finding10_doctor_reports_a_locked_keyring() {
    // Reachable but locked: `doctor` must not call it "reachable, no problems" — every `get`
    // and `store` would fail or wait for an unlock prompt.
    let (mut env, mut ks) = keyring_env();
    assert_eq!(env.store("before.org", "u", "pw").code, 0);
    let out = run(env.ocicred(&["doctor"]), b"");
    assert_eq!(out.code, 0, "unlocked: no problem {out:#?}");
    assert!(out.stdout.contains("reachable"), "{out:#?}");
    ks.relock(&env);
    env.set("OCICRED_STORE", "keyring");
    let start = Instant::now();
    let out = run(env.ocicred(&["doctor"]), b"");
    assert!(start.elapsed() < Duration::from_secs(8), "bounded");
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stdout.contains("locked"), "{out:#?}");
    assert!(!out.stdout.contains("No problems"), "{out:#?}");
    assert!(!out.stdout.contains(": reachable"), "{out:#?}");
}
