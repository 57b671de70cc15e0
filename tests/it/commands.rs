//! The person-facing commands on the auth-file backend: `login` against a real registry,
//! `logout`, `list`, and `doctor` on a directory of broken configuration.

use crate::support::*;

fn login(env: &TestEnv, args: &[&str], stdin: &[u8]) -> Out {
    let mut all = vec!["login"];
    all.extend_from_slice(args);
    run(env.ocicred(&all), stdin)
}

#[test]
fn login_checks_the_password_before_storing() {
    let reg = Registry::htpasswd("alice", "secret");
    let env = TestEnv::new();

    let out = login(
        &env,
        &["-u", "alice", "--password-stdin", &reg.host],
        b"wrong\n",
    );
    assert_eq!(out.code, 1, "{out:#?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
    assert!(out.stderr.contains("refused the credentials"), "{out:#?}");
    assert!(!out.stderr.contains("wrong") && !out.stdout.contains("wrong"));
    assert!(!env.auth_json().exists(), "nothing stored");

    let out = login(
        &env,
        &["-u", "alice", "--password-stdin", &reg.host],
        b"secret\n",
    );
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(out.stdout.contains("Login Succeeded"), "{out:#?}");
    assert!(
        out.stdout.contains(&env.auth_json().display().to_string()),
        "says where: {out:#?}"
    );
    assert_eq!(mode_of(&env.auth_json()), 0o600);
    let got = env.helper("get", reg.host.as_bytes());
    assert!(got.ok().contains("\"Secret\":\"secret\""), "{got:#?}");

    // A namespace is stored under its own key; --no-verify skips the check.
    let ns = format!("{}/team", reg.host);
    let out = login(
        &env,
        &["-u", "bob", "--password-stdin", "--no-verify", &ns],
        b"whatever",
    );
    assert_eq!(out.code, 0, "{out:#?}");
    let got = env.helper("get", format!("{ns}/app:1").as_bytes());
    assert!(got.ok().contains("\"Username\":\"bob\""), "{got:#?}");

    let table = run(env.ocicred(&["list"]), b"");
    let text = table.ok();
    assert!(text.contains(&ns) && text.contains("alice"), "{text}");
    assert!(
        !text.contains("secret") && !text.contains("whatever"),
        "{text}"
    );

    let out = run(env.ocicred(&["logout", &ns]), b"");
    assert_eq!(out.code, 0, "{out:#?}");
    let out = run(env.ocicred(&["logout", "--all"]), b"");
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(out.stdout.contains(&reg.host), "{out:#?}");
    let got = env.helper("get", reg.host.as_bytes());
    assert_eq!(got.stdout, NOT_FOUND);
    let out = run(env.ocicred(&["logout", &reg.host]), b"");
    assert_eq!(
        (out.code, out.stdout.trim()),
        (1, &*format!("Not logged in to {}", reg.host))
    );
}

#[test]
fn login_without_a_terminal_or_a_reachable_registry_fails_clearly() {
    let env = TestEnv::new();
    // No -u and no terminal: a one-line error, not a hang.
    let mut c = env.ocicred(&["login", "example.org"]);
    c.stdin(std::process::Stdio::null());
    let out = output(c.output().unwrap());
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stderr.contains("--password-stdin"), "{out:#?}");

    let port = free_port();
    let out = login(
        &env,
        &["-u", "u", "--password-stdin", &format!("127.0.0.1:{port}")],
        b"pw",
    );
    assert_eq!(out.code, 1, "{out:#?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
    assert!(!env.auth_json().exists());
    let out = login(&env, &["-u", "u", "--password-stdin", "bad host!"], b"pw");
    assert_eq!(out.code, 1, "{out:#?}");
}

#[test]
fn login_to_an_open_registry_stores_unchecked_and_says_so() {
    let reg = Registry::open();
    let env = TestEnv::new();
    let out = login(&env, &["-u", "u", "--password-stdin", &reg.host], b"pw");
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(out.stdout.contains("asks for no credentials"), "{out:#?}");
}

#[test]
fn doctor_reports_each_problem_once_with_file_and_line() {
    let mut env = TestEnv::new();
    // ocicred's config: a TOML syntax error on line 2.
    env.write(
        ".config/ocicred/config.toml",
        "store = \"auth-file\"\ndual-write = \n",
    );
    // The runtime auth.json: readable by others, a bad base64 `auth` on line 4.
    let runtime = env.auth_json();
    std::fs::create_dir_all(runtime.parent().unwrap()).unwrap();
    std::fs::write(
        &runtime,
        "{\n\t\"auths\": {\n\t\t\"good.io\": {\"auth\": \"dTpw\"},\n\t\t\"bad.io\": {\"auth\": \"%%%not-base64\"}\n\t}\n}\n",
    )
    .unwrap();
    set_mode(&runtime, 0o644);
    // The user auth.json: a JSON syntax error on line 3.
    env.write(
        ".config/containers/auth.json",
        "{\n  \"auths\": {\n    \"x.io\": {\"auth\": }\n  }\n}\n",
    );
    // Docker's config: a credsStore that is not installed, a helper that is ocicred itself.
    std::os::unix::fs::symlink(ocicred_bin(), env.bin.join("docker-credential-loopy")).unwrap();
    env.write(
        ".docker/config.json",
        "{\n  \"credsStore\": \"nosuchstore\",\n  \"credHelpers\": {\n    \"loop.io\": \"loopy\"\n  }\n}\n",
    );
    // registries.conf: v1 and v2 mixed, a helper missing from PATH; a broken drop-in.
    env.write(
        ".config/containers/registries.conf",
        "unqualified-search-registries = [\"docker.io\"]\ncredential-helpers = [\"containers-auth.json\", \"missinghelper\"]\n\n[registries.search]\nregistries = [\"quay.io\"]\n",
    );
    env.write(
        ".config/containers/registries.conf.d/50-broken.conf",
        "[[registry]]\nprefix = \"a.io\"\nlocation = \n",
    );
    env.set("OCICRED_STORE", "auth-file");

    let out = run(env.ocicred(&["doctor"]), b"");
    assert_eq!(out.code, 1, "{out:#?}");
    let text = &out.stdout;
    let home = env.home.display().to_string();
    let expect = [
        format!("{home}/.config/ocicred/config.toml:2:14: invalid TOML"),
        format!(
            "{}: holds credentials but is readable by others (mode 644)",
            runtime.display()
        ),
        format!(
            "{}:4: entry \"bad.io\": `auth` is not valid base64",
            runtime.display()
        ),
        format!("{home}/.config/containers/auth.json:3:22: invalid JSON"),
        format!(
            "{home}/.docker/config.json:2: helper docker-credential-nosuchstore is not on PATH"
        ),
        format!("{home}/.docker/config.json:4: helper docker-credential-loopy"),
        format!("{home}/.config/containers/registries.conf:4: mixes the v1 format"),
        format!(
            "{home}/.config/containers/registries.conf:2: helper docker-credential-missinghelper is not on PATH"
        ),
        format!("{home}/.config/containers/registries.conf.d/50-broken.conf:3:12: invalid TOML"),
    ];
    for e in &expect {
        assert_eq!(
            text.lines().filter(|l| l.starts_with(e.as_str())).count(),
            1,
            "once: {e}\n{text}"
        );
    }
    assert!(text.contains("fix: chmod 600"), "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.trim_start().starts_with("fix:"))
            .count(),
        expect.len(),
        "each problem once, each with a fix:\n{text}"
    );
    assert!(text.contains("9 problems found"), "{text}");
    assert!(!text.contains("dTpw"), "no secrets: {text}");
}

#[test]
fn doctor_on_a_clean_setup_exits_zero() {
    let env = TestEnv::new();
    env.write(".docker/config.json", "{\"credsStore\":\"ocicred\"}\n");
    let out = run(env.ocicred(&["doctor"]), b"");
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(out.stdout.contains("No problems found"), "{out:#?}");
}

#[test]
fn doctor_passes_on_what_only_the_registries_loader_sees() {
    let env = TestEnv::new();
    env.write(
        ".config/containers/registries.conf",
        "short-name-mode = \"sometimes\"\n",
    );
    let out = run(env.ocicred(&["doctor"]), b"");
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(
        out.stdout.contains(&format!(
            "{}/.config/containers/registries.conf",
            env.home.display()
        )),
        "{out:#?}"
    );
    assert!(out.stdout.contains("1 problem found"), "{out:#?}");
}
