use crate::support::*;

#[test]
fn unknown_fields_and_entries_are_kept() {
    let env = TestEnv::new();
    let original = r#"{"auths":{"keep.example":{"auth":"YTpi","email":"x@y"},"h":{"auth":"YTpi","note":"mine"}},"credHelpers":{"c.example":"pass"},"HttpHeaders":{"User-Agent":"me"},"psFormat":"table"}"#;
    env.write("../run/containers/auth.json", original);
    let out = env.helper(
        "store",
        br#"{"ServerURL":"h","Username":"alice","Secret":"secret"}"#,
    );
    assert_eq!(out.code, 0, "{out:#?}");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.auth_json()).unwrap()).unwrap();
    assert_eq!(v["auths"]["keep.example"]["email"], "x@y");
    assert_eq!(v["auths"]["h"]["note"], "mine");
    assert_eq!(v["auths"]["h"]["auth"], "YWxpY2U6c2VjcmV0");
    assert_eq!(v["credHelpers"]["c.example"], "pass");
    assert_eq!(v["HttpHeaders"]["User-Agent"], "me");
    assert_eq!(v["psFormat"], "table");
}

#[test]
fn a_file_that_does_not_parse_is_never_overwritten() {
    let env = TestEnv::new();
    env.write(
        "../run/containers/auth.json",
        "{\"auths\": {\"h\": {\"auth\": \"YTpi\"},}\n",
    );
    let p = env.auth_json();
    let before = std::fs::read(&p).unwrap();
    for (action, body) in [
        (
            "store",
            &br#"{"ServerURL":"h2","Username":"u","Secret":"s"}"#[..],
        ),
        ("erase", b"h"),
    ] {
        let out = env.helper(action, body);
        assert_eq!(out.code, 1, "{out:#?}");
        assert!(
            out.stdout
                .starts_with(&format!("{}: invalid JSON", p.display())),
            "{out:#?}"
        );
        assert!(out.stdout.contains("line 1 column"), "{out:#?}");
        assert_eq!(std::fs::read(&p).unwrap(), before);
    }
}

#[test]
fn loose_files_become_private_on_write() {
    let env = TestEnv::new();
    let p = env.write("../run/containers/auth.json", "{}");
    set_mode(&p, 0o644);
    let out = env.helper("store", br#"{"ServerURL":"h","Username":"u","Secret":"s"}"#);
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(mode_of(&p), 0o600);
}

#[test]
fn writes_follow_own_symlinks() {
    let env = TestEnv::new();
    let real = env.write("real-auth.json", "{}");
    std::fs::create_dir_all(env.run.join("containers")).unwrap();
    std::os::unix::fs::symlink(&real, env.auth_json()).unwrap();
    let out = env.helper("store", br#"{"ServerURL":"h","Username":"u","Secret":"s"}"#);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        std::fs::symlink_metadata(env.auth_json())
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::read_to_string(&real).unwrap().contains("\"h\""));
}
