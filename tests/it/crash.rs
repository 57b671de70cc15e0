//! Crash safety: `store` is SIGKILLed at random moments; the auth file must always parse and
//! hold exactly the old or the new content, and what a killed writer leaves behind must not
//! pile up or break the next write.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use ocicred::auth_file::{AuthFileFormat, AuthJson};
use ocicred::credential::Credential;
use ocicred::registry_key::RegistryKey;

use crate::support::*;

/// The bytes `store` writes for `key` on top of `old`, computed with the library.
fn expected_after_store(old: &[u8], key: &str, user: &str, secret: &str) -> Vec<u8> {
    let mut f = AuthJson::parse(old, AuthFileFormat::Auths).unwrap();
    f.upsert(
        &RegistryKey::parse(key).unwrap(),
        &Credential::basic(user, secret),
    );
    f.to_bytes()
}

fn store_body(i: usize) -> (String, String, String, Vec<u8>) {
    let (key, user, secret) = (format!("r{i}.example"), format!("user{i}"), format!("s{i}"));
    let body =
        format!("{{\"ServerURL\":\"{key}\",\"Username\":\"{user}\",\"Secret\":\"{secret}\"}}\n");
    (key, user, secret, body.into_bytes())
}

#[test]
fn store_killed_at_random_moments_leaves_old_or_new_content() {
    let env = TestEnv::new();
    // A file big enough that writing it takes a moment: 300 entries, ~35 kB.
    let mut text = String::from("{\"auths\":{");
    for i in 0..300 {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            "\"pre{i}.example/ns\":{{\"auth\":\"dXNlcjpwYXNzd29yZA==\",\"note\":\"{}\"}}",
            "x".repeat(60)
        ));
    }
    text.push_str("}, \"unknown\": [1, 2, 3]}");
    let path = env.write("../run/containers/auth.json", &text);
    let dir = path.parent().unwrap().to_path_buf();

    // How long one store takes here, uninterrupted (the fastest of three); kills land
    // uniformly in 0..1.2× that.
    let mut full = Duration::MAX;
    for k in 0..3 {
        let (key, user, secret, body) = store_body(10_000 + k);
        let before = std::fs::read(&path).unwrap();
        let started = Instant::now();
        let out = env.helper("store", &body);
        full = full.min(started.elapsed());
        assert_eq!(out.code, 0, "{out:#?}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            expected_after_store(&before, &key, &user, &secret)
        );
    }
    let full = full.max(Duration::from_millis(2));

    let trials = 200;
    let (mut old_kept, mut new_written) = (0, 0);
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut done = 0;
    for i in 1..=trials {
        let (key, user, secret, body) = store_body(i);
        let old = std::fs::read(&path).unwrap();
        let new = expected_after_store(&old, &key, &user, &secret);
        let wait = Duration::from_nanos(rng.below(full.as_nanos() as u64 * 6 / 5));
        let mut child = env
            .command(env.bin.join("docker-credential-ocicred"))
            .arg("store")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(&body);
        drop(stdin);
        std::thread::sleep(wait);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let now = std::fs::read(&path).unwrap();
        AuthJson::parse(&now, AuthFileFormat::Auths)
            .unwrap_or_else(|e| panic!("trial {i}: the file does not parse: {e}"));
        if now == old {
            old_kept += 1;
        } else if now == new {
            new_written += 1;
        } else {
            panic!("trial {i}: the file is neither the old nor the new content");
        }
        // What a killed writer leaves: the lock file and at most one temp file.
        let stray: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n != "auth.json" && n != ".auth.json.lock")
            .collect();
        assert!(
            stray.len() <= 1 && stray.iter().all(|n| n == ".auth.json.tmp"),
            "trial {i}: stray files {stray:?}"
        );
        done += 1;
    }
    assert!(done >= 200, "only {done} trials ran");
    eprintln!(
        "crash test: {done} kills, old content kept {old_kept}, new content written {new_written}"
    );

    // A write after all that succeeds, and cleans up.
    let (key, user, secret, body) = store_body(20_000);
    let old = std::fs::read(&path).unwrap();
    let out = env.helper("store", &body);
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        expected_after_store(&old, &key, &user, &secret)
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(mode_of(&path), 0o600);
}
