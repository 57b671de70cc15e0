//! The registries.conf cache, black-box: a docker `get` answers exactly as an uncached run
//! does, with the cache cold, warm, and after edits (within the same second, same size, a
//! drop-in added or removed, a user file appearing, another `CONTAINERS_REGISTRIES_CONF`), and
//! configuration errors are reported every time.

use std::path::PathBuf;
use std::time::Duration;

use crate::support::*;

/// The cache ignores files changed in the last 100 ms; wait past that.
fn settle() {
    std::thread::sleep(Duration::from_millis(150));
}

fn auth(user: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:pw"))
}

fn write_etc(env: &TestEnv, rel: &str, text: &str) -> PathBuf {
    let p = env.root.path().join("etc").join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

const KEYS: [&str; 4] = [
    "a.example.com",
    "b.example.com",
    "alias.example.com",
    "probe.example.com",
];

/// Every key's `get` answer: exit code and stdout.
fn answers(env: &TestEnv) -> Vec<(i32, String)> {
    KEYS.iter()
        .map(|k| {
            let out = env.helper("get", k.as_bytes());
            (out.code, out.stdout)
        })
        .collect()
}

/// The same answers with no cache possible (the runtime dir cannot exist).
fn uncached(env: &mut TestEnv) -> Vec<(i32, String)> {
    env.set("XDG_RUNTIME_DIR", "/dev/null/no-cache");
    let a = answers(env);
    let run = env.run.clone();
    env.set("XDG_RUNTIME_DIR", run);
    a
}

fn cache_files(env: &TestEnv) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(env.run.join("ocicred")) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = dir
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    v.sort();
    v
}

/// Checks the cached answers against an uncached run and returns them.
fn same_as_uncached(env: &mut TestEnv, what: &str) -> Vec<(i32, String)> {
    let got = answers(env);
    assert_eq!(got, uncached(env), "{what}");
    got
}

fn user_of(a: &(i32, String)) -> String {
    if a.0 != 0 {
        return format!("exit {}: {}", a.0, a.1.trim_end());
    }
    let v: serde_json::Value = serde_json::from_str(&a.1).unwrap();
    v["Username"].as_str().unwrap().to_string()
}

#[test]
fn cached_gets_answer_like_real_loads_cold_warm_and_after_edits() {
    let mut env = TestEnv::new();
    env.write(
        ".config/containers/auth.json",
        &format!(
            "{{\"auths\":{{\"a.example.com\":{{\"auth\":\"{0}\"}},\"b.example.com\":{{\"auth\":\"{0}\"}},\
             \"alias.example.com\":{{\"auth\":\"{0}\"}},\"probe.example.com\":{{\"auth\":\"{0}\"}}}}}}",
            auth("alice")
        ),
    );
    env.set("PROBE_GET", "ok");
    let main = write_etc(
        &env,
        "containers/registries.conf",
        "[[registry]]\nlocation = \"b.example.com\"\nblocked = true\n\
         [[registry]]\nprefix = \"alias.example.com\"\nlocation = \"b.example.com/sub\"\n",
    );
    let users = |a: &[(i32, String)]| a.iter().map(user_of).collect::<Vec<_>>();
    let nf = "exit 1: credentials not found in native keychain".to_string();

    // Cold: the files are brand new, so nothing is cached yet.
    let cold = same_as_uncached(&mut env, "cold");
    assert_eq!(users(&cold), ["alice", &nf, &nf, "alice"]);
    assert!(cache_files(&env).is_empty(), "racy files are not cached");
    settle();
    assert_eq!(answers(&env), cold, "first cacheable run");
    let files = cache_files(&env);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(mode_of(&files[0]), 0o600);
    assert_eq!(mode_of(files[0].parent().unwrap()), 0o700);
    let written = std::fs::metadata(&files[0]).unwrap().modified().unwrap();
    assert_eq!(answers(&env), cold, "warm");
    assert_eq!(
        std::fs::metadata(&files[0]).unwrap().modified().unwrap(),
        written,
        "a warm run does not rewrite the cache"
    );

    // Same-size edits right after each other: each is seen.
    let text = std::fs::read_to_string(&main).unwrap();
    let edited = text.replace(
        "location = \"b.example.com\"",
        "location = \"a.example.com\"",
    );
    assert_eq!(edited.len(), text.len());
    std::fs::write(&main, &edited).unwrap();
    let a = same_as_uncached(&mut env, "same-size edit");
    assert_eq!(users(&a), [&nf, "alice", "alice", "alice"]);
    std::fs::write(&main, &text).unwrap();
    assert_eq!(answers(&env), cold, "edited back within the same second");

    // A drop-in that changes credential-helpers, added and then removed.
    settle();
    assert_eq!(answers(&env), cold);
    let drop_in = write_etc(
        &env,
        "containers/registries.conf.d/10-probe.conf",
        "credential-helpers = [\"probe\"]\n",
    );
    let a = same_as_uncached(&mut env, "drop-in added");
    assert_eq!(users(&a), ["alice", &nf, &nf, "alice"]);
    env.set("PROBE_USER", "from-probe");
    let a = same_as_uncached(&mut env, "drop-in added, probe user");
    assert_eq!(users(&a), ["from-probe", &nf, &nf, "from-probe"]);
    settle();
    assert_eq!(answers(&env), a, "warm with the drop-in");
    std::fs::remove_file(&drop_in).unwrap();
    assert_eq!(same_as_uncached(&mut env, "drop-in removed"), cold);

    // A user file appearing where there was none hides the system file.
    settle();
    assert_eq!(answers(&env), cold);
    let user = env.write(
        ".config/containers/registries.conf",
        "[[registry]]\nlocation = \"probe.example.com\"\nblocked = true\n",
    );
    let a = same_as_uncached(&mut env, "user file appeared");
    assert_eq!(users(&a), ["alice", "alice", "alice", &nf]);
    std::fs::remove_file(&user).unwrap();
    assert_eq!(same_as_uncached(&mut env, "user file removed"), cold);

    // Another CONTAINERS_REGISTRIES_CONF: another cache, another answer.
    settle();
    assert_eq!(answers(&env), cold);
    let other = write_etc(
        &env,
        "other.conf",
        "[[registry]]\nlocation = \"a.example.com\"\nblocked = true\n",
    );
    env.set("CONTAINERS_REGISTRIES_CONF", &other);
    let a = same_as_uncached(&mut env, "CONTAINERS_REGISTRIES_CONF");
    assert_eq!(users(&a), [&nf, "alice", "alice", "alice"]);
    settle();
    assert_eq!(answers(&env), a);
    assert_eq!(cache_files(&env).len(), 2, "one cache per environment");
    env.unset("CONTAINERS_REGISTRIES_CONF");
    assert_eq!(answers(&env), cold, "the first cache still applies");

    // A corrupt cache is ignored and replaced.
    for f in cache_files(&env) {
        std::fs::write(&f, b"not a cache").unwrap();
    }
    assert_eq!(same_as_uncached(&mut env, "corrupt cache"), cold);
}

#[test]
fn configuration_errors_are_reported_every_time_never_cached() {
    let env = TestEnv::new();
    write_etc(
        &env,
        "containers/registries.conf",
        "credential-helpers = [\"containers-auth.json\"]\n",
    );
    settle();
    let good = env.helper("get", b"quay.io");
    assert_eq!(good.stdout, NOT_FOUND);
    assert_eq!(cache_files(&env).len(), 1);
    let bad = write_etc(
        &env,
        "containers/registries.conf.d/50-bad.conf",
        "[[registry]]\nlocation = \"a.example.com\"\nblocked = maybe\n",
    );
    for _ in 0..2 {
        settle();
        let out = env.helper("get", b"quay.io");
        assert_eq!(out.code, 1, "{out:#?}");
        assert!(out.stdout.contains(&bad.display().to_string()), "{out:#?}");
        assert!(out.stdout.contains("at line 3 column"), "{out:#?}");
    }
    std::fs::remove_file(&bad).unwrap();
    assert_eq!(env.helper("get", b"quay.io").stdout, good.stdout);
}
