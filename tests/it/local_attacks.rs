//! A hostile local user and a stalled lock holder (issue 10, findings 1–3, the `doctor` part of
//! 10, and the non-dumpable process): files planted in the token cache by another user, FIFOs
//! and devices where a file is expected, symlinks and other users' directories in the auth
//! file's path, and an auth-file lock that is never released. Each test reproduces the attack
//! as it was found; every run of the binary is bounded in time, so a hang is a failure, not a
//! stuck suite. Tests that need another user's files `chown` them to `nobody` (CI runs as root).

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::support::*;

const NOBODY: u32 = 65534;
const PASSWORD: &str = "local-pass-7c1e";

/// Gives `path` (not following a symlink) to `nobody`. Needs root, as CI runs.
fn give_to_nobody(path: &Path) {
    std::os::unix::fs::lchown(path, Some(NOBODY), Some(NOBODY)).unwrap_or_else(|e| {
        panic!(
            "chown {} to nobody: {e} (these tests run as root, as CI does)",
            path.display()
        )
    });
}

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(st.success(), "mkfifo {}", path.display());
}

/// A name in the token cache, computed the way any local user can (the inputs are public).
fn cache_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn challenge_file(origin: &str) -> String {
    format!("registry-{}.json", cache_hash(&["registry-v1", origin]))
}

fn anonymous_token_key(origin: &str, repo: &str) -> String {
    cache_hash(&["token-v1", origin, repo, "pull", "anonymous"])
}

/// A Bearer registry whose token endpoint (on itself) gives `token` to anyone, and `good`
/// only to alice with [`PASSWORD`].
fn token_registry(token: &'static str) -> Server {
    Server::start(move |req, addr| {
        if req.path == "/v2/" {
            let ch = format!(r#"Bearer realm="http://{addr}/token",service="local.test""#);
            reply(401, &[("WWW-Authenticate", &ch)], "")
        } else if req.path.starts_with("/token") {
            let tok = if req.header("authorization") == Some(&basic("alice", PASSWORD)) {
                "good"
            } else {
                token
            };
            let body = format!(r#"{{"token":"{tok}","expires_in":300}}"#);
            reply(200, &[("Content-Type", "application/json")], &body)
        } else {
            reply(404, &[], "")
        }
    })
}

/// A Bazel `get` from `home`, bounded: it must finish within a few seconds.
fn bounded_bazel_get(home: &TestEnv, uri: &str) -> Out {
    run_bounded(
        home.get_command(),
        &bazel_request(uri),
        Duration::from_secs(8),
    )
    .unwrap_or_else(|| panic!("Bazel get for {uri} hung (killed after 8 s)"))
}

fn bearer_of(out: &Out) -> Option<String> {
    assert_eq!(out.code, 0, "{out:#?}");
    authorization(&serde_json::from_str(&out.stdout).unwrap())
}

// ---- finding 1: the token cache trusts files it did not write ---------------------------------

#[test]
fn finding1_foreign_challenge_file_is_not_trusted() {
    let attacker = Server::start(|_, _| {
        reply(
            200,
            &[("Content-Type", "application/json")],
            r#"{"token":"stolen","expires_in":300}"#,
        )
    });
    let registry = token_registry("anon");
    let home = TestEnv::new();
    home.write_login(&registry.addr, "alice", PASSWORD);
    // The cache directory had been world-writable; another user planted the registry's
    // remembered challenge, naming a realm of theirs.
    let dir = home.cache_dir();
    std::fs::create_dir_all(&dir).unwrap();
    set_mode(&dir, 0o777);
    let planted = dir.join(challenge_file(&format!("http://{}", registry.addr)));
    let body = serde_json::json!({
        "checked": unix_now(),
        "challenge": {"scheme": "bearer", "realm": format!("http://{}/token", attacker.addr), "service": "evil"},
    });
    std::fs::write(&planted, body.to_string()).unwrap();
    give_to_nobody(&planted);

    let out = bounded_bazel_get(
        &home,
        &format!("http://{}/v2/app/manifests/v1", registry.addr),
    );
    assert_eq!(
        attacker.requests().len(),
        0,
        "the planted realm was asked (with alice's password): {:?}",
        attacker.requests()
    );
    assert_eq!(bearer_of(&out).as_deref(), Some("Bearer good"));
}

#[test]
fn finding1_foreign_token_file_is_not_served() {
    let registry = token_registry("fresh");
    let home = TestEnv::new();
    let dir = home.cache_dir();
    std::fs::create_dir_all(&dir).unwrap();
    set_mode(&dir, 0o777);
    let origin = format!("http://{}", registry.addr);
    let planted = dir.join(format!("{}.json", anonymous_token_key(&origin, "app")));
    let body =
        serde_json::json!({"token": "planted", "expires": unix_now() + 3000, "lifetime": 3600});
    std::fs::write(&planted, body.to_string()).unwrap();
    give_to_nobody(&planted);

    let out = bounded_bazel_get(&home, &format!("{origin}/v2/app/manifests/v1"));
    assert_eq!(bearer_of(&out).as_deref(), Some("Bearer fresh"));
}

#[test]
fn finding1_planted_temp_file_symlinks_are_not_written_through() {
    let registry = token_registry("fresh");
    let home = TestEnv::new();
    let dir = home.cache_dir();
    std::fs::create_dir_all(&dir).unwrap();
    set_mode(&dir, 0o777);
    let victim = home.home.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let origin = format!("http://{}", registry.addr);
    let names = [
        format!("{}.json", anonymous_token_key(&origin, "app")),
        challenge_file(&origin),
    ];
    // Start the call, learn its pid, then plant links named like its temp files before it
    // has read its request.
    let mut child = home.spawn_piped();
    let pid = child.id();
    for n in &names {
        for tmp in [format!(".{n}.{pid}.tmp"), format!(".{n}.tmp-{pid}")] {
            let link = dir.join(tmp);
            std::os::unix::fs::symlink(&victim, &link).unwrap();
            give_to_nobody(&link);
        }
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&bazel_request(&format!("{origin}/v2/app/manifests/v1")))
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(8) {
            let _ = child.kill();
            panic!("Bazel get hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = output(child.wait_with_output().unwrap());
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "precious",
        "a temp file was opened through a planted symlink"
    );
    assert_eq!(bearer_of(&out).as_deref(), Some("Bearer fresh"));
}

#[test]
fn finding1_cache_inside_another_users_directory_is_not_used() {
    let registry = token_registry("fresh");
    let home = TestEnv::new();
    // XDG_RUNTIME_DIR belongs to someone else: whatever is made inside it, they control.
    let run = home.run.clone();
    set_mode(&run, 0o755);
    give_to_nobody(&run);
    let out = bounded_bazel_get(
        &home,
        &format!("http://{}/v2/app/manifests/v1", registry.addr),
    );
    assert_eq!(bearer_of(&out).as_deref(), Some("Bearer fresh"));
    assert!(
        !home.cache_dir().exists(),
        "a token cache was made inside another user's directory"
    );
}

// ---- finding 2: a FIFO or device where a file is expected -------------------------------------

/// The docker protocol's failure: exit 1, one line on stdout naming `what`.
fn assert_docker_failure(out: &Out, what: &str, needle: &str) {
    assert_eq!(out.code, 1, "{what}: {out:#?}");
    assert_eq!(out.stdout.matches('\n').count(), 1, "{what}: {out:#?}");
    assert!(out.stdout.contains(needle), "{what}: {out:#?}");
    assert!(!out.stderr.contains("panicked"), "{what}: {out:#?}");
}

#[test]
fn finding2_fifo_or_device_as_auth_json_fails_fast_everywhere() {
    let limit = Duration::from_secs(5);
    let store = br#"{"ServerURL":"h.example","Username":"u","Secret":"s"}"#;
    for (kind, make) in [
        ("FIFO", mkfifo as fn(&Path)),
        ("device", |p: &Path| {
            std::os::unix::fs::symlink("/dev/zero", p).unwrap()
        }),
    ] {
        let env = TestEnv::new();
        std::fs::create_dir_all(env.run.join("containers")).unwrap();
        make(&env.auth_json());
        let helper = |action: &str| {
            let mut c = env.command(env.bin.join("docker-credential-ocicred"));
            c.arg(action);
            c
        };
        for (action, stdin) in [
            ("get", &b"h.example"[..]),
            ("store", &store[..]),
            ("erase", b"h.example"),
            ("list", b""),
        ] {
            let what = format!("{kind}: docker {action}");
            let out =
                run_bounded(helper(action), stdin, limit).unwrap_or_else(|| panic!("{what} hung"));
            assert_docker_failure(&out, &what, "not a regular file");
        }
        let what = format!("{kind}: ocicred list");
        let out = run_bounded(env.ocicred(&["list"]), b"", limit)
            .unwrap_or_else(|| panic!("{what} hung"));
        assert_eq!(out.code, 1, "{what}: {out:#?}");
        assert!(
            format!("{}{}", out.stdout, out.stderr).contains("not a regular file"),
            "{what}: {out:#?}"
        );
        let what = format!("{kind}: Bazel get");
        let out = run_bounded(
            env.ocicred(&["get"]),
            &bazel_request("https://h.example/v2/a/manifests/v1"),
            limit,
        )
        .unwrap_or_else(|| panic!("{what} hung"));
        assert_eq!(out.code, 1, "{what}: {out:#?}");
        assert!(out.stdout.is_empty(), "{what}: {out:#?}");
        assert_eq!(out.stderr.matches('\n').count(), 1, "{what}: {out:#?}");
        assert!(
            out.stderr.contains("not a regular file"),
            "{what}: {out:#?}"
        );
        let what = format!("{kind}: doctor");
        let out = run_bounded(env.ocicred(&["doctor"]), b"", limit)
            .unwrap_or_else(|| panic!("{what} hung"));
        assert_eq!(out.code, 1, "{what}: {out:#?}");
        assert!(
            out.stdout.contains(&format!(
                "{}: is a {}",
                env.auth_json().display(),
                if kind == "FIFO" { "FIFO" } else { "device" }
            )),
            "{what}: {out:#?}"
        );
    }
}

#[test]
fn finding2_fifo_in_the_token_cache_does_not_hang_bazel_get() {
    let registry = token_registry("fresh");
    let origin = format!("http://{}", registry.addr);
    let uri = format!("{origin}/v2/app/manifests/v1");
    let key = anonymous_token_key(&origin, "app");
    for name in [
        format!("{key}.json"),
        format!("{key}.lock"),
        challenge_file(&origin),
    ] {
        let home = TestEnv::new();
        std::fs::create_dir_all(home.cache_dir()).unwrap();
        set_mode(&home.cache_dir(), 0o700);
        mkfifo(&home.cache_dir().join(&name));
        let out = bounded_bazel_get(&home, &uri);
        assert_eq!(bearer_of(&out).as_deref(), Some("Bearer fresh"), "{name}");
        // Twice: the FIFO is still there (or was replaced), and nothing hangs either way.
        let out = bounded_bazel_get(&home, &uri);
        assert_eq!(bearer_of(&out).as_deref(), Some("Bearer fresh"), "{name}");
    }
}

#[test]
fn finding2_fifo_as_the_registries_conf_cache_does_not_hang_docker_get() {
    let env = TestEnv::new();
    env.write(
        ".config/containers/auth.json",
        r#"{"auths":{"h.example":{"auth":"dTpw"}}}"#,
    );
    let get = || {
        let mut c = env.command(env.bin.join("docker-credential-ocicred"));
        c.arg("get");
        run_bounded(c, b"h.example", Duration::from_secs(5)).expect("docker get hung")
    };
    let expected = "{\"ServerURL\":\"h.example\",\"Username\":\"u\",\"Secret\":\"p\"}\n";
    assert_eq!(get().ok(), expected);
    let cached: Vec<PathBuf> = std::fs::read_dir(env.run.join("ocicred"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    std::fs::remove_file(&cached[0]).unwrap();
    mkfifo(&cached[0]);
    assert_eq!(get().ok(), expected);
}

// ---- finding 3: the auth-file lock and the path to the auth file ------------------------------

fn store_payload(host: &str) -> Vec<u8> {
    format!(r#"{{"ServerURL":"{host}","Username":"u","Secret":"s"}}"#).into_bytes()
}

#[test]
fn finding3_a_held_lock_fails_store_and_erase_in_bounded_time_naming_the_lock() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.run.join("containers")).unwrap();
    let original = r#"{"auths":{"h.example":{"auth":"dTpw"}}}"#;
    std::fs::write(env.auth_json(), original).unwrap();
    let lock_path = env.run.join("containers/.auth.json.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap();
    lock.lock().unwrap();
    let run = |action: &'static str, stdin: Vec<u8>| {
        let mut c = env.command(env.bin.join("docker-credential-ocicred"));
        c.arg(action);
        std::thread::spawn(move || run_bounded(c, &stdin, Duration::from_secs(20)))
    };
    let store = run("store", store_payload("x.example"));
    let erase = run("erase", b"h.example".to_vec());
    for (action, t) in [("store", store), ("erase", erase)] {
        let out = t
            .join()
            .unwrap()
            .unwrap_or_else(|| panic!("{action} waited for the lock for 20 s"));
        assert_docker_failure(&out, action, &lock_path.display().to_string());
    }
    assert_eq!(std::fs::read_to_string(env.auth_json()).unwrap(), original);
    drop(lock);
    env.helper("store", &store_payload("x.example")).ok();
}

#[test]
fn finding3_lock_files_are_never_created_through_symlinks() {
    // A link planted where the lock file goes.
    let env = TestEnv::new();
    let dir = env.run.join("containers");
    std::fs::create_dir_all(&dir).unwrap();
    let elsewhere = env.root.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let victim = elsewhere.join("created-by-ocicred");
    let link = dir.join(".auth.json.lock");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    give_to_nobody(&link);
    let out = run_bounded(
        {
            let mut c = env.command(env.bin.join("docker-credential-ocicred"));
            c.arg("store");
            c
        },
        &store_payload("h.example"),
        Duration::from_secs(5),
    )
    .expect("store hung");
    assert!(!victim.exists(), "the lock was created through a symlink");
    assert_docker_failure(&out, "store", &link.display().to_string());

    // auth.json linked to a device: no `/dev/.zero.lock`, no write.
    let stray = Path::new("/dev/.zero.lock");
    let _ = std::fs::remove_file(stray);
    let env = TestEnv::new();
    std::fs::create_dir_all(env.run.join("containers")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", env.auth_json()).unwrap();
    let out = env.helper("store", &store_payload("h.example"));
    let created = stray.exists();
    let _ = std::fs::remove_file(stray);
    assert!(!created, "store created /dev/.zero.lock");
    assert_docker_failure(&out, "store to /dev/zero", "not a regular file");
}

#[test]
fn finding3_another_users_dangling_symlink_is_not_written_through() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.run.join("containers")).unwrap();
    let target_dir = env.root.path().join("target");
    std::fs::create_dir_all(&target_dir).unwrap();
    let victim = target_dir.join("authorized");
    std::os::unix::fs::symlink(&victim, env.auth_json()).unwrap();
    give_to_nobody(&env.auth_json());
    let out = env.helper("store", &store_payload("h.example"));
    assert_docker_failure(&out, "store", "another user");
    assert!(!victim.exists(), "wrote through another user's symlink");
    let left: Vec<_> = std::fs::read_dir(&target_dir).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn finding3_a_directory_linked_to_another_users_directory_is_refused() {
    let env = TestEnv::new();
    let theirs = env.root.path().join("theirs");
    std::fs::create_dir_all(&theirs).unwrap();
    set_mode(&theirs, 0o755);
    let content = r#"{"auths":{"their.example":{"auth":"dGhlbTpwdw=="}}}"#;
    std::fs::write(theirs.join("auth.json"), content).unwrap();
    give_to_nobody(&theirs.join("auth.json"));
    give_to_nobody(&theirs);
    // Root's `$XDG_RUNTIME_DIR/containers` leads into nobody's directory.
    std::os::unix::fs::symlink(&theirs, env.run.join("containers")).unwrap();
    for (action, stdin) in [
        ("store", store_payload("h.example")),
        ("erase", b"their.example".to_vec()),
    ] {
        let out = env.helper(action, &stdin);
        assert_docker_failure(&out, action, "another user");
        assert_eq!(
            std::fs::read_to_string(theirs.join("auth.json")).unwrap(),
            content
        );
        assert_eq!(
            std::fs::metadata(theirs.join("auth.json")).unwrap().uid(),
            NOBODY
        );
        let names: Vec<_> = std::fs::read_dir(&theirs)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            ["auth.json"],
            "lock or temp files in their directory"
        );
    }
}

// ---- finding 10 (the filesystem part): doctor on a directory named auth.json ------------------

#[test]
fn finding10_doctor_says_a_directory_named_auth_json_is_a_directory() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.auth_json()).unwrap();
    let out = run_bounded(env.ocicred(&["doctor"]), b"", Duration::from_secs(10)).unwrap();
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(
        out.stdout
            .contains(&format!("{}: is a directory", env.auth_json().display())),
        "{out:#?}"
    );
    assert!(!out.stdout.contains("owner or mode"), "{out:#?}");
}

// ---- also: no core file can carry a secret ----------------------------------------------------

#[test]
fn also_the_process_is_not_dumpable_before_it_reads_a_secret() {
    // Run as nobody a copy of the binary that nobody can execute; /proc/<pid>/* of a dumpable
    // process belongs to its user, of a non-dumpable one to root.
    let dir = tempfile::tempdir().unwrap();
    set_mode(dir.path(), 0o755);
    let bin = dir.path().join("ocicred");
    std::fs::copy(ocicred_bin(), &bin).unwrap();
    set_mode(&bin, 0o755);
    use std::os::unix::process::CommandExt;
    let spawn = || {
        Command::new(&bin)
            .arg("store")
            .env_clear()
            .env("HOME", dir.path())
            .uid(NOBODY)
            .gid(NOBODY)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
    };
    // A test thread forking meanwhile may still hold the copy's write descriptor for a moment
    // (ETXTBSY): try again briefly.
    let mut tries = 0;
    let mut child = loop {
        match spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 50 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };
    let status = PathBuf::from(format!("/proc/{}/status", child.id()));
    // Wait until it runs ocicred (not the forked test process) and is waiting for its secret.
    let start = Instant::now();
    let mut owner = None;
    while start.elapsed() < Duration::from_secs(5) {
        let exe = std::fs::read_link(format!("/proc/{}/exe", child.id()));
        let text = std::fs::read_to_string(&status).unwrap_or_default();
        if exe.is_ok_and(|e| e == bin) && text.contains("State:\tS") {
            owner = Some(std::fs::metadata(&status).unwrap().uid());
            if owner == Some(0) {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        owner,
        Some(0),
        "ocicred waiting for a secret on stdin is dumpable (its /proc files belong to its user)"
    );
}
