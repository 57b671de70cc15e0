//! Concurrency: many processes storing and reading one auth file (or the keyring) at the same
//! moment. Every store survives, and every read is a valid answer (the credential, or the exact
//! not-found text) — never a parse error from a half-written file.

use std::io::Write;
use std::process::{Child, Stdio};

use crate::support::*;

fn spawn(env: &TestEnv, action: &str, body: String) -> Child {
    let mut child = env
        .command(env.bin.join("docker-credential-ocicred"))
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(body.as_bytes()).unwrap();
    child
}

/// Starts `n` stores of `r<i>.example` and `n` gets at once (every tenth get asks for
/// `pre.example`, stored beforehand as `a`/`b`); checks every answer, then that every key
/// answers `get`. Returns how many reads found their key and how many came too early.
fn writers_and_readers(env: &TestEnv, n: usize, what: &str) -> (usize, usize) {
    let mut writers = Vec::new();
    let mut readers = Vec::new();
    for i in 0..n {
        writers.push(spawn(
            env,
            "store",
            format!(
                "{{\"ServerURL\":\"r{i}.example\",\"Username\":\"user{i}\",\"Secret\":\"s{i}\"}}\n"
            ),
        ));
        // Readers ask for keys being written right now, and for the one that was there.
        let asked = if i % 10 == 0 {
            "pre.example".to_string()
        } else {
            format!("r{}.example", (i * 7) % n)
        };
        readers.push((asked.clone(), spawn(env, "get", format!("{asked}\n"))));
    }
    for (i, w) in writers.into_iter().enumerate() {
        let out = output(w.wait_with_output().unwrap());
        assert_eq!(out.code, 0, "writer {i}: {out:#?}");
        assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:#?}");
    }
    let (mut found, mut not_found) = (0, 0);
    for (asked, r) in readers {
        let out = output(r.wait_with_output().unwrap());
        assert!(out.stderr.is_empty(), "{out:#?}");
        match out.code {
            0 => {
                let v: serde_json::Value = serde_json::from_str(&out.stdout)
                    .unwrap_or_else(|e| panic!("get {asked}: not JSON ({e}): {out:#?}"));
                assert_eq!(v["ServerURL"], asked.as_str());
                let want = match asked.strip_prefix('r') {
                    Some(rest) => {
                        let i = rest.trim_end_matches(".example");
                        (format!("user{i}"), format!("s{i}"))
                    }
                    None => ("a".into(), "b".into()),
                };
                assert_eq!(v["Username"], want.0.as_str(), "{out:#?}");
                assert_eq!(v["Secret"], want.1.as_str(), "{out:#?}");
                assert!(out.stdout.ends_with("}\n"));
                found += 1;
            }
            1 => {
                assert_eq!(out.stdout, NOT_FOUND, "get {asked}");
                assert!(asked != "pre.example", "the entry that was there vanished");
                not_found += 1;
            }
            code => panic!("get {asked}: exit {code}: {out:#?}"),
        }
    }
    for i in 0..n {
        let out = env.helper("get", format!("r{i}.example").as_bytes());
        assert_eq!(
            out.ok(),
            format!(
                "{{\"ServerURL\":\"r{i}.example\",\"Username\":\"user{i}\",\"Secret\":\"s{i}\"}}\n"
            )
        );
    }
    let list = env.helper("list", b"");
    let listed: serde_json::Value = serde_json::from_str(list.ok()).unwrap();
    assert_eq!(listed.as_object().unwrap().len(), n + 1, "{what}");
    (found, not_found)
}

#[test]
fn a_hundred_writers_and_a_hundred_readers_at_once() {
    let env = TestEnv::new();
    env.write(
        "../run/containers/auth.json",
        r#"{"auths":{"pre.example":{"auth":"YTpi"}},"extra":1}"#,
    );
    let n = 100;
    let (found, early) = writers_and_readers(&env, n, "auth file");
    eprintln!("concurrency (auth file): {n} stores, {n} gets ({found} found, {early} too early)");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.auth_json()).unwrap()).unwrap();
    let auths = v["auths"].as_object().unwrap();
    assert_eq!(auths.len(), n + 1);
    assert_eq!(v["extra"], 1);
    for i in 0..n {
        assert!(auths.contains_key(&format!("r{i}.example")), "r{i} lost");
    }
}

#[test]
fn a_hundred_writers_and_a_hundred_readers_on_the_keyring() {
    let mut env = TestEnv::new();
    let session = crate::keyring::KeyringSession::start(&env);
    session.apply(&mut env);
    env.set("OCICRED_STORE", "keyring");
    let out = env.helper(
        "store",
        br#"{"ServerURL":"pre.example","Username":"a","Secret":"b"}"#,
    );
    assert_eq!(out.code, 0, "{out:#?}");
    let (found, early) = writers_and_readers(&env, 100, "keyring");
    eprintln!("concurrency (keyring): 100 stores, 100 gets ({found} found, {early} too early)");
    assert!(!env.auth_json().exists(), "the keyring store wrote a file");
}
