//! The Bazel token flow under attack and under SIGKILL: the shared token cache survives
//! processes killed mid-write; no redirect carries a credential to another host; response
//! bodies are capped; token-server errors never echo a password or a token.

use std::io::Write;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::support::*;

const PASSWORD: &str = "bz-pass-4d9e1f";

/// A token-auth registry on 127.0.0.1 whose token endpoint numbers its tokens.
fn token_registry() -> Server {
    let issued = Arc::new(AtomicUsize::new(0));
    Server::start(move |req, addr| {
        if req.path == "/v2/" {
            let ch = format!(r#"Bearer realm="http://{addr}/token",service="fake.test""#);
            reply(401, &[("WWW-Authenticate", &ch)], "")
        } else if req.path.starts_with("/token") {
            let n = issued.fetch_add(1, Ordering::SeqCst);
            let body = format!(
                r#"{{"token":"tok-{n:06}-{}","expires_in":3600}}"#,
                "x".repeat(200)
            );
            reply(200, &[("Content-Type", "application/json")], &body)
        } else {
            reply(404, &[], "")
        }
    })
}

fn request(s: &Server, repo: &str) -> Vec<u8> {
    bazel_request(&format!("http://{}/v2/{repo}/manifests/latest", s.addr))
}

/// Every cache file that is not a lock or a temp file parses as JSON.
fn assert_cache_files_parse(dir: &std::path::Path, trial: usize) -> usize {
    let mut temps = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if name.ends_with(".tmp") {
            temps += 1;
        } else if name.ends_with(".json") {
            let bytes = std::fs::read(e.path()).unwrap();
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .unwrap_or_else(|err| panic!("trial {trial}: {name} does not parse: {err}"));
        }
    }
    temps
}

#[test]
fn token_cache_survives_get_killed_at_random_moments() {
    let s = token_registry();
    let home = TestEnv::new();
    home.write_login(&s.addr, "alice", PASSWORD);
    // Uninterrupted cold calls: how long a probe + exchange + cache write takes here (the
    // fastest of three, after a first call that warms the page cache).
    let out = home.get_raw(&request(&s, "warmup"));
    assert!(out.status.success(), "{out:?}");
    let full = (0..3)
        .map(|k| {
            let started = Instant::now();
            let out = home.get_raw(&request(&s, &format!("calibrate{k}")));
            assert!(out.status.success(), "{out:?}");
            started.elapsed()
        })
        .min()
        .unwrap()
        .max(Duration::from_millis(2));
    let cache = home.cache_dir();

    let trials = 200;
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let (mut answered, mut killed) = (0, 0);
    for i in 0..trials {
        let wait = Duration::from_nanos(rng.below(full.as_nanos() as u64 * 6 / 5));
        let mut child = home
            .get_command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Half the trials reuse a few repositories, so kills also land on warm reads.
        let repo = if i % 2 == 0 {
            format!("cold{i}")
        } else {
            format!("warm{}", i % 5)
        };
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&request(&s, &repo))
            .unwrap();
        std::thread::sleep(wait);
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            answered += 1;
        } else {
            killed += 1;
        }
        assert_cache_files_parse(&cache, i);
    }
    eprintln!("token cache: {trials} trials, {killed} killed, {answered} finished first");

    // Every repository still answers, from the cache or a fresh exchange.
    for repo in ["cold0", "warm1", "cold198", "brand-new"] {
        let v = home.get(&format!("http://{}/v2/{repo}/manifests/latest", s.addr));
        let auth = authorization(&v).unwrap();
        assert!(auth.starts_with("Bearer tok-"), "{repo}: {auth}");
        assert!(v["expires"].as_str().unwrap().ends_with('Z'));
    }
    // Temp files left by killed writers are swept by the next write once they are stale.
    let old = SystemTime::now() - Duration::from_secs(3600);
    for e in std::fs::read_dir(&cache).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with(".tmp") {
            let f = std::fs::File::options().write(true).open(&p).unwrap();
            f.set_modified(old).unwrap();
        }
    }
    home.get(&format!(
        "http://{}/v2/after-sweep/manifests/latest",
        s.addr
    ));
    assert_eq!(
        assert_cache_files_parse(&cache, trials),
        0,
        "stale temp files remain"
    );
}

/// A scripted host that records what reaches it.
fn other_host() -> Server {
    Server::start(|_, _| {
        reply(
            200,
            &[("Content-Type", "application/json")],
            r#"{"token":"STOLEN"}"#,
        )
    })
}

#[test]
fn redirects_never_carry_credentials_to_another_host() {
    let elsewhere = other_host();
    let target = format!("http://{}/token", elsewhere.addr);
    let t1 = target.clone();
    // The token endpoint redirects to another host.
    let s = Server::start(move |req, addr| {
        if req.path == "/v2/" {
            let ch = format!(r#"Bearer realm="http://{addr}/token",service="fake.test""#);
            reply(401, &[("WWW-Authenticate", &ch)], "")
        } else {
            reply(307, &[("Location", &t1)], "")
        }
    });
    let home = TestEnv::new();
    home.write_login(&s.addr, "alice", PASSWORD);
    let out = home.get_raw(&request(&s, "org/img"));
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    // The registry's own /v2/ redirects to another host.
    let t2 = target.clone();
    let r = Server::start(move |_, _| reply(302, &[("Location", &t2)], ""));
    home.write_login(&r.addr, "alice", PASSWORD);
    let out = home.get_raw(&request(&r, "org/img"));
    assert!(out.stdout.is_empty() || !String::from_utf8_lossy(&out.stdout).contains("STOLEN"));
    assert_eq!(elsewhere.requests().len(), 0, "a redirect was followed");
    for seen in s.requests().iter().chain(r.requests().iter()) {
        assert!(
            seen.path == "/v2/" || seen.path.starts_with("/token"),
            "{}",
            seen.path
        );
    }
}

#[test]
fn response_bodies_are_capped() {
    let huge: Reply = Some((
        200,
        vec![("Content-Type".into(), "application/json".into())],
        {
            let mut b = br#"{"token":""#.to_vec();
            b.resize(16 * 1024 * 1024, b'a');
            b.extend_from_slice(br#""}"#);
            b
        },
    ));
    let s = Server::start(move |req, addr| {
        if req.path == "/v2/" {
            let ch = format!(r#"Bearer realm="http://{addr}/token",service="fake.test""#);
            reply(401, &[("WWW-Authenticate", &ch)], "")
        } else {
            huge.clone()
        }
    });
    let home = TestEnv::new();
    let (out, rss) = home.peak_rss_kib(&ocicred_bin(), &["get"], &request(&s, "big"));
    assert_ne!(out.code, 0, "{out:#?}");
    assert!(out.stdout.is_empty(), "{out:#?}");
    eprintln!("16 MB token response: peak RSS {rss} KiB");
    assert!(rss < 40 * 1024, "peak RSS {rss} KiB for a 16 MB body");
    let first = out.stderr.lines().next().unwrap();
    assert!(!first.contains("aaaaaaaa"), "{first}");
}

#[test]
fn token_server_errors_never_echo_secrets() {
    for (status, body) in [
        (
            401,
            format!(r#"{{"errors":[{{"message":"bad password {PASSWORD}"}}]}}"#),
        ),
        (500, format!("internal error for {PASSWORD}")),
        (200, format!("not json {PASSWORD}")),
        (200, format!(r#"{{"token":5,"detail":"{PASSWORD}"}}"#)),
    ] {
        let s = Server::start(move |req, addr| {
            if req.path == "/v2/" {
                let ch = format!(r#"Bearer realm="http://{addr}/token",service="fake.test""#);
                reply(401, &[("WWW-Authenticate", &ch)], "")
            } else {
                reply(status, &[], &body)
            }
        });
        let home = TestEnv::new();
        home.write_login(&s.addr, "alice", PASSWORD);
        let out = home.get_raw(&request(&s, "org/img"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{status}: {out:?}");
        assert!(out.stdout.is_empty(), "{status}: {out:?}");
        assert_eq!(stderr.lines().count(), 1, "{status}: {stderr}");
        assert!(!stderr.contains(PASSWORD), "{status}: {stderr}");
        assert!(!stderr.contains("panicked"), "{status}: {stderr}");
        // The password reached the realm (that is its job), and nothing else did.
        for seen in s.requests() {
            assert!(
                seen.path == "/v2/" || seen.path.starts_with("/token"),
                "{}",
                seen.path
            );
        }
    }
}
