//! Secret hygiene (docs/protocol.md#time-limits-and-safety-rules): every command and error path
//! runs with known secrets, and none appears on stderr, in `list` output, in an error message, in a
//! panic message, or in any file other than the store. Only a successful `get` prints a secret, on
//! stdout.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::support::*;

const PW: &str = "Hyg-pw-7f3a91";
const TOKEN: &str = "Hyg-token-c44e02";
const BAD_PW: &str = "Hyg-rejected-5b1d";
const FILE_PW: &str = "Hyg-file-9e6c7d";

/// Every spelling of the secrets that must not leak: raw, and as an `auth` field.
fn forms() -> Vec<String> {
    let mut out = Vec::new();
    for s in [PW, TOKEN, BAD_PW, FILE_PW] {
        out.push(s.to_string());
        for user in ["alice", "u", ""] {
            out.push(STANDARD.encode(format!("{user}:{s}")));
        }
        out.push(STANDARD.encode(s));
    }
    out
}

/// One command's output, and the secret it may print on stdout (a successful `get`).
struct Checked<'a> {
    what: String,
    out: Out,
    may_print: Option<&'a str>,
}

fn leaks_in(text: &str) -> Vec<String> {
    forms().into_iter().filter(|f| text.contains(f)).collect()
}

fn assert_clean(runs: &[Checked<'_>]) {
    for r in runs {
        let Checked {
            what,
            out,
            may_print,
        } = r;
        for stream in [&out.stdout, &out.stderr] {
            assert!(
                !stream.contains("panicked") && !stream.contains("RUST_BACKTRACE"),
                "{what}: panic: {out:#?}"
            );
        }
        assert!(
            leaks_in(&out.stderr).is_empty(),
            "{what}: secret on stderr: {out:#?}"
        );
        let mut stdout = out.stdout.clone();
        if let Some(s) = may_print {
            assert_eq!(out.code, 0, "{what}: {out:#?}");
            let answer: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            assert_eq!(answer["Secret"], *s, "{what}");
            stdout = stdout.replacen(s, "", 1);
        }
        assert!(
            leaks_in(&stdout).is_empty(),
            "{what}: secret on stdout: {out:#?}"
        );
        if out.code != 0 {
            let message = if out.stdout.is_empty() {
                &out.stderr
            } else {
                &out.stdout
            };
            assert!(
                !message.trim().is_empty() || what.contains("no argument"),
                "{what}: no message: {out:#?}"
            );
        }
    }
}

/// Every regular file under `root` except `allowed` holds no secret.
fn assert_no_secret_in_files(root: &Path, allowed: &[PathBuf]) {
    let mut stack = vec![root.to_path_buf()];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && !allowed.contains(&path) {
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                assert!(
                    leaks_in(&text).is_empty(),
                    "secret in {}: {:?}",
                    path.display(),
                    leaks_in(&text)
                );
                seen += 1;
            }
        }
    }
    assert!(seen > 0, "no file was scanned");
}

fn helper<'a>(
    env: &TestEnv,
    action: &str,
    stdin: &[u8],
    may_print: Option<&'a str>,
) -> Checked<'a> {
    Checked {
        what: format!(
            "docker-credential-ocicred {action} <<< {:?}",
            String::from_utf8_lossy(stdin)
        ),
        out: env.helper(action, stdin),
        may_print,
    }
}

fn cli<'a>(env: &TestEnv, args: &[&str], stdin: &[u8]) -> Checked<'a> {
    Checked {
        what: format!("ocicred {args:?}"),
        out: run(env.ocicred(args), stdin),
        may_print: None,
    }
}

#[test]
fn no_secret_leaks_from_any_command_or_error() {
    let env = TestEnv::new();
    let mut runs = vec![
        helper(&env, "store", &store_body("h1.example", "alice", PW), None),
        helper(
            &env,
            "store",
            &store_body("https://index.docker.io/v1/", "<token>", TOKEN),
            None,
        ),
        helper(&env, "store", &store_body("127.0.0.1:1", "alice", PW), None),
        // Bazel: the registry is unreachable, so the exchange fails after finding PW.
        cli(
            &env,
            &["get"],
            br#"{"uri":"http://127.0.0.1:1/v2/org/img/manifests/latest"}"#,
        ),
        cli(&env, &["get"], br#"{"uri":"https://127.0.0.1:1/v2/"}"#),
        cli(&env, &["get"], br#"{"uri":5}"#),
        helper(&env, "get", b"h1.example\n", Some(PW)),
        helper(&env, "get", b"h1.example/ns/repo:tag", Some(PW)),
        helper(&env, "get", b"https://index.docker.io/v1/", Some(TOKEN)),
        helper(&env, "get", b"missing.example", None),
        helper(&env, "get", b"", None),
        helper(&env, "get", b"oci://h1.example", None),
        helper(&env, "get", b"h1.example\xff", None),
        helper(&env, "list", b"unused", None),
        helper(&env, "version", b"", None),
        helper(&env, "bogus", b"", None),
        cli(&env, &["list"], b""),
        cli(&env, &["resolve", "h1.example/ns/repo:tag"], b""),
        cli(&env, &["resolve", "--json", "h1.example/ns/repo:tag"], b""),
        cli(&env, &["resolve", "--json", "docker.io/library/nginx"], b""),
        cli(&env, &["resolve", "--json", "nginx"], b""),
        cli(&env, &["config", "--json"], b""),
        cli(&env, &["config"], b""),
        cli(&env, &["--help"], b""),
        cli(&env, &["list", "--bogus"], b""),
        cli(&env, &["get"], b"h1.example"),
    ];
    runs.last_mut().unwrap().may_print = Some(PW);
    let mut no_arg = env.command(env.bin.join("docker-credential-ocicred"));
    no_arg.env("X", "1");
    runs.push(Checked {
        what: "docker-credential-ocicred with no argument".into(),
        out: run(no_arg, b""),
        may_print: None,
    });
    // Stores that must fail, each carrying a secret that must not be echoed.
    let bad_stores: Vec<Vec<u8>> = vec![
        store_body("", "u", BAD_PW),
        store_body("h2.example", "", BAD_PW),
        store_body("oci://h2.example", "u", BAD_PW),
        store_body(&format!("https://u:{BAD_PW}/x@h2.example"), "u", BAD_PW),
        store_body("h2.example:port", "u", BAD_PW),
        store_body("h2 example", "u", BAD_PW),
        format!(r#"{{"Secret":"{BAD_PW}","ServerURL":"#).into_bytes(),
        format!(r#"{{"ServerURL":"h2.example","Username":"u","Secret":"{BAD_PW}"#).into_bytes(),
        format!(r#"{{"ServerURL":"h2.example","Username":"u","Secret":"{BAD_PW}\u12"}}"#)
            .into_bytes(),
        format!(r#"{{"ServerURL":"h2.example","Username":"u","Secret":{{"x":"{BAD_PW}"}}}}"#)
            .into_bytes(),
        format!(r#"{{"ServerURL":"h2.example","Username":"u","Secret":["{BAD_PW}"]}}"#)
            .into_bytes(),
        format!(r#"["h2.example","u","{BAD_PW}"]"#).into_bytes(),
        format!(r#""{BAD_PW}""#).into_bytes(),
        [
            &br#"{"ServerURL":"h2.example","Username":"u","Secret":""#[..],
            BAD_PW.as_bytes(),
            b"\xff\"}",
        ]
        .concat(),
    ];
    for body in &bad_stores {
        let r = helper(&env, "store", body, None);
        assert_eq!(r.out.code, 1, "{}: {:#?}", r.what, r.out);
        runs.push(r);
    }
    // The person-facing commands that take a password.
    runs.push(cli(
        &env,
        &[
            "login",
            "-u",
            "alice",
            "--password-stdin",
            "--no-verify",
            "h3.example",
        ],
        format!("{PW}\n").as_bytes(),
    ));
    runs.push(cli(
        &env,
        &["login", "-u", "alice", "--password-stdin", "127.0.0.1:1"],
        format!("{PW}\n").as_bytes(),
    ));
    runs.push(cli(
        &env,
        &["login", "-u", "alice", "--password-stdin", "oci://bad"],
        format!("{PW}\n").as_bytes(),
    ));
    runs.push(cli(&env, &["list"], b""));
    runs.push(cli(&env, &["doctor"], b""));
    runs.push(cli(&env, &["logout", "h3.example"], b""));
    runs.push(cli(&env, &["logout", "h3.example"], b""));
    runs.push(helper(&env, "erase", b"h1.example", None));
    runs.push(helper(&env, "erase", b"::::", None));
    runs.push(helper(&env, "erase", b"127.0.0.1:1", None));
    assert_clean(&runs);
    let store = env.auth_json();
    let stored = std::fs::read_to_string(&store).unwrap();
    assert!(stored.contains(TOKEN) && !stored.contains(BAD_PW));
    assert!(leaks_in(&stored.replace(TOKEN, "")).is_empty(), "{stored}");
    assert_no_secret_in_files(env.root.path(), &[store]);
}

/// Files that do not parse or hold broken entries: each planted with a secret, read and
/// written through every command. Errors name the file, never its content, and a file that
/// does not parse is never changed.
#[test]
fn broken_files_are_reported_without_their_content() {
    let auth = STANDARD.encode(format!("u:{FILE_PW}"));
    let nested = format!(
        r#"{{"auths":{{"h.example":{{"auth":"{auth}"}}}},"x":{}{}}}"#,
        "[".repeat(300),
        "]".repeat(300)
    );
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "syntax error after a secret",
            format!(r#"{{"auths":{{"h.example":{{"auth":"{auth}"}}}},}}"#).into_bytes(),
        ),
        (
            "top level is a string",
            format!(r#""{FILE_PW}""#).into_bytes(),
        ),
        (
            "top level is an array",
            format!(r#"["{FILE_PW}"]"#).into_bytes(),
        ),
        (
            "auth is not base64",
            format!(r#"{{"auths":{{"h.example":{{"auth":"{FILE_PW}!"}}}}}}"#).into_bytes(),
        ),
        (
            "auth has no colon",
            format!(
                r#"{{"auths":{{"h.example":{{"auth":"{}"}}}}}}"#,
                STANDARD.encode(FILE_PW)
            )
            .into_bytes(),
        ),
        (
            "invalid UTF-8 in a value",
            [
                format!(r#"{{"auths":{{"h.example":{{"auth":"{auth}"}}}},"x":""#).as_bytes(),
                b"\xff\xfe\"}",
            ]
            .concat(),
        ),
        ("nested 300 deep", nested.into_bytes()),
        (
            "a value of the wrong type",
            format!(r#"{{"auths":{{"h.example":"{FILE_PW}"}},"credHelpers":"{FILE_PW}"}}"#)
                .into_bytes(),
        ),
    ];
    for (name, bytes) in files {
        let mut env = TestEnv::new();
        let path = env.root.path().join("planted.json");
        std::fs::write(&path, &bytes).unwrap();
        env.set("REGISTRY_AUTH_FILE", &path);
        let mut runs = vec![
            helper(&env, "get", b"h.example", None),
            helper(&env, "get", b"other.example", None),
            helper(&env, "list", b"", None),
            helper(&env, "store", &store_body("h.example", "alice", PW), None),
            helper(&env, "erase", b"h.example", None),
            cli(&env, &["list"], b""),
            cli(&env, &["resolve", "--json", "h.example/ns/repo"], b""),
            cli(&env, &["resolve", "h.example/ns/repo"], b""),
            cli(&env, &["doctor"], b""),
            cli(&env, &["logout", "h.example"], b""),
        ];
        for r in &mut runs {
            r.what = format!("{name}: {}", r.what);
        }
        assert_clean(&runs);
        // A file that does not parse is never rewritten; one that parses may be (the store
        // replaces the broken entry, the erase removes it).
        let parses =
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes).is_ok();
        if !parses {
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name}: file changed");
        }
        assert_no_secret_in_files(env.root.path(), &[path]);
    }
}

/// A store routed to a helper that is missing, and a store into a symlink to another user's
/// file: both fail without echoing the secret.
#[test]
fn failed_stores_do_not_echo_the_secret() {
    let mut env = TestEnv::new();
    let path = env.root.path().join("auth.json");
    std::fs::write(&path, r#"{"credHelpers":{"h.example":"no-such-helper"}}"#).unwrap();
    env.set("REGISTRY_AUTH_FILE", &path);
    let r = helper(&env, "store", &store_body("h.example", "alice", PW), None);
    assert_eq!(r.out.code, 1, "{:#?}", r.out);
    assert!(r.out.stdout.contains("no-such-helper"), "{:#?}", r.out);
    assert_clean(&[r, helper(&env, "get", b"h.example", None)]);
    assert_no_secret_in_files(env.root.path(), &[]);
}

/// The same with `store = "keyring"`: secrets go to a private gnome-keyring, and no file under
/// the test root (the keyring's own encrypted files included) ever holds one in the clear.
#[test]
fn no_secret_leaks_with_the_keyring_store() {
    let mut env = TestEnv::new();
    let session = crate::keyring::KeyringSession::start(&env);
    session.apply(&mut env);
    env.set("OCICRED_STORE", "keyring");
    let mut runs = vec![
        helper(&env, "store", &store_body("k1.example", "alice", PW), None),
        helper(
            &env,
            "store",
            &store_body("https://index.docker.io/v1/", "<token>", TOKEN),
            None,
        ),
        helper(&env, "get", b"k1.example", Some(PW)),
        helper(&env, "get", b"docker.io", Some(TOKEN)),
        helper(&env, "get", b"missing.example", None),
        helper(&env, "list", b"", None),
        helper(&env, "store", &store_body("k2.example", "", BAD_PW), None),
        helper(&env, "store", &store_body("oci://k2", "u", BAD_PW), None),
        cli(&env, &["list"], b""),
        cli(&env, &["doctor"], b""),
        cli(&env, &["resolve", "--json", "k1.example/a/b"], b""),
        cli(
            &env,
            &[
                "login",
                "-u",
                "bob",
                "--password-stdin",
                "--no-verify",
                "k3.example",
            ],
            format!("{BAD_PW}\n").as_bytes(),
        ),
        cli(&env, &["logout", "k3.example"], b""),
        helper(&env, "erase", b"k1.example", None),
    ];
    runs.push(helper(&env, "get", b"k1.example", None));
    assert_clean(&runs);
    assert_eq!(runs[0].out.code, 0, "{:#?}", runs[0].out);
    assert!(
        !env.auth_json().exists(),
        "the keyring store wrote an auth file"
    );
    // The keyring's own files included: gnome-keyring keeps them encrypted.
    assert!(session.data.starts_with(env.root.path()));
    assert_no_secret_in_files(env.root.path(), &[]);
}

/// Credentials in the environment (README.md#credentials-from-the-environment-ci) and route
/// variables (README.md#routes-wildcard-and-per-registry-sources): no command and no error path
/// prints a value, only a successful `get` prints the secret it found.
#[test]
fn no_secret_leaks_from_the_environment_or_routes() {
    let mut env = TestEnv::new();
    env.set("DOCKER_env_example_USR", "alice");
    env.set("DOCKER_env_example_PSW", PW);
    env.set("DOCKER_half_example_PSW", BAD_PW);
    env.set("GITHUB_TOKEN", TOKEN);
    env.set(
        "DOCKER_AUTH_CONFIG",
        format!("{{\"auths\": {{\"x\": {FILE_PW}}}}}"),
    );
    env.set("REG_TOKEN", format!("bad token {BAD_PW}"));
    env.set("RU", "u");
    env.set("RP", PW);
    env.write(
        ".config/ocicred/config.toml",
        "[[route]]\nmatch = \"tok.example\"\ntoken-env = \"REG_TOKEN\"\n\
         [[route]]\nmatch = \"vars.example\"\nusername-env = \"RU\"\npassword-env = \"RP\"\n\
         [[route]]\nmatch = \"gone.example\"\nhelper = \"no-such-helper\"\n",
    );
    let bazel = |uri: &str| Checked {
        what: format!("ocicred get {uri}"),
        out: run(
            env.ocicred(&["get"]),
            serde_json::json!({ "uri": uri }).to_string().as_bytes(),
        ),
        may_print: None,
    };
    let runs = vec![
        helper(&env, "get", b"env.example", Some(PW)),
        helper(&env, "get", b"ghcr.io", Some(TOKEN)),
        helper(&env, "get", b"vars.example", Some(PW)),
        helper(&env, "get", b"half.example", None),
        helper(&env, "get", b"tok.example", None),
        helper(&env, "get", b"gone.example", None),
        helper(
            &env,
            "store",
            &store_body("vars.example", "u", BAD_PW),
            None,
        ),
        helper(&env, "store", &store_body("tok.example", "u", BAD_PW), None),
        helper(&env, "list", b"", None),
        bazel("https://tok.example/v2/a/manifests/1"),
        cli(&env, &["list"], b""),
        cli(&env, &["doctor"], b""),
        cli(&env, &["config"], b""),
        cli(&env, &["config", "--json"], b""),
        cli(&env, &["resolve", "--json", "env.example/a/b"], b""),
        cli(&env, &["resolve", "vars.example/a/b"], b""),
        cli(&env, &["resolve", "ghcr.io/a/b"], b""),
    ];
    assert_clean(&runs);
    assert!(
        runs[9].out.stderr.contains("$REG_TOKEN"),
        "{:#?}",
        runs[9].out
    );
    assert_no_secret_in_files(env.root.path(), &[]);
}
