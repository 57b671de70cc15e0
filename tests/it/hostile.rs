//! Hostile input: symlinked auth files, another user's files, deeply nested JSON, 100 MB on
//! stdin or on disk, invalid UTF-8 in keys, files and paths. Each gets one clear line, a
//! non-zero exit, no panic, bounded memory, and no file changed.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::support::*;

const NOBODY: u32 = 65534;

/// A failure the docker protocol way: exit 1, exactly one line on stdout, no panic.
fn assert_one_line_failure(out: &Out, what: &str) {
    assert_eq!(out.code, 1, "{what}: {out:#?}");
    assert!(
        out.stdout.ends_with('\n') && out.stdout.matches('\n').count() == 1,
        "{what}: not one line: {out:#?}"
    );
    assert!(out.stdout.len() < 400, "{what}: long message: {out:#?}");
    assert!(!out.stderr.contains("panicked"), "{what}: {out:#?}");
}

/// Gives `path` to `nobody`; false when this process may not (not root).
fn give_to_nobody(path: &Path) -> bool {
    match std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => false,
        Err(e) => panic!("chown {}: {e}", path.display()),
    }
}

#[test]
fn never_writes_through_a_symlink_to_another_users_file() {
    let env = TestEnv::new();
    let theirs = env.root.path().join("theirs.json");
    let content = "{\"auths\":{\"h.example\":{\"auth\":\"dGhlbTpwdw==\"}}}";
    std::fs::write(&theirs, content).unwrap();
    if !give_to_nobody(&theirs) {
        eprintln!("not root: cannot chown a file to nobody; symlink ownership test not run");
        return;
    }
    std::fs::create_dir_all(env.run.join("containers")).unwrap();
    std::os::unix::fs::symlink(&theirs, env.auth_json()).unwrap();

    // Reads follow the link, as podman does.
    let out = env.helper("get", b"h.example");
    assert_eq!(
        out.ok(),
        "{\"ServerURL\":\"h.example\",\"Username\":\"them\",\"Secret\":\"pw\"}\n"
    );
    // Writes through it are refused, with the reason, and change nothing.
    for (action, body) in [
        (
            "store",
            &br#"{"ServerURL":"x.example","Username":"u","Secret":"s"}"#[..],
        ),
        ("erase", b"h.example"),
    ] {
        let out = env.helper(action, body);
        assert_one_line_failure(&out, action);
        assert!(
            out.stdout.contains("belongs to another user"),
            "{action}: {out:#?}"
        );
        assert_eq!(std::fs::read_to_string(&theirs).unwrap(), content);
    }
    // Through a chain of links too.
    let hop = env.root.path().join("hop.json");
    std::os::unix::fs::symlink(&theirs, &hop).unwrap();
    std::fs::remove_file(env.auth_json()).unwrap();
    std::os::unix::fs::symlink(&hop, env.auth_json()).unwrap();
    let out = env.helper(
        "store",
        br#"{"ServerURL":"x.example","Username":"u","Secret":"s"}"#,
    );
    assert_one_line_failure(&out, "store via two links");
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), content);
    let leftovers: Vec<_> = std::fs::read_dir(env.root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with(".theirs"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "lock or temp files beside theirs: {leftovers:?}"
    );
}

#[test]
fn a_dangling_symlink_is_written_where_it_points() {
    let env = TestEnv::new();
    let target = env.root.path().join("later/auth.json");
    std::fs::create_dir_all(env.run.join("containers")).unwrap();
    std::os::unix::fs::symlink(&target, env.auth_json()).unwrap();
    let out = env.helper(
        "store",
        br#"{"ServerURL":"h.example","Username":"u","Secret":"s"}"#,
    );
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .contains("h.example")
    );
    assert_eq!(mode_of(&target), 0o600);
    assert!(
        std::fs::symlink_metadata(env.auth_json())
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn deeply_nested_json_is_refused_in_one_line() {
    let env = TestEnv::new();
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    // On stdin: a nested body, and a nested value inside a valid body.
    for body in [
        deep(100_000),
        format!(
            r#"{{"ServerURL":"h.example","Username":"u","Secret":"s","x":{}}}"#,
            deep(50_000)
        ),
        "{\"a\":".repeat(100_000),
    ] {
        let out = env.helper("store", body.as_bytes());
        assert_one_line_failure(&out, "nested store body");
        assert!(out.stdout.contains("invalid JSON"), "{out:#?}");
    }
    assert!(!env.auth_json().exists());
    // In the auth file: an error with its path and position, and the file kept.
    let text = format!(
        r#"{{"auths":{{"h.example":{{"auth":"dTpw"}}}},"x":{}}}"#,
        deep(100_000)
    );
    env.write("../run/containers/auth.json", &text);
    let p = env.auth_json();
    for (action, body) in [
        ("get", &b"h.example"[..]),
        ("erase", b"h.example"),
        (
            "store",
            br#"{"ServerURL":"h.example","Username":"u","Secret":"s"}"#,
        ),
        ("list", b""),
    ] {
        let out = env.helper(action, body);
        assert_one_line_failure(&out, action);
        assert!(out.stdout.starts_with(&p.display().to_string()), "{out:#?}");
        assert!(out.stdout.contains("line 1 column"), "{out:#?}");
    }
    assert_eq!(std::fs::read_to_string(&p).unwrap(), text);
    // Nesting within reason in an unknown field survives a rewrite.
    let kept = format!(r#"{{"auths":{{}},"x":{}}}"#, deep(100));
    env.write("../run/containers/auth.json", &kept);
    let out = env.helper(
        "store",
        br#"{"ServerURL":"h.example","Username":"u","Secret":"s"}"#,
    );
    assert_eq!(out.code, 0, "{out:#?}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    assert_eq!(
        v["x"],
        serde_json::from_str::<serde_json::Value>(&deep(100)).unwrap()
    );
}

#[test]
fn a_hundred_megabytes_on_stdin_is_refused_with_small_memory() {
    let env = TestEnv::new();
    env.write(
        "../run/containers/auth.json",
        r#"{"auths":{"h.example":{"auth":"dTpw"}}}"#,
    );
    let before = std::fs::read(env.auth_json()).unwrap();
    let huge = vec![b'a'; 100 * 1024 * 1024];
    let helper = env.bin.join("docker-credential-ocicred");
    let ocicred = env.bin.join("ocicred");
    let mut peaks = Vec::new();
    for (program, args) in [
        (&helper, &["get"][..]),
        (&helper, &["store"]),
        (&helper, &["erase"]),
        (&ocicred, &["get"]),
        (&ocicred, &["store"]),
    ] {
        let (out, rss) = env.peak_rss_kib(program, args, &huge);
        assert_eq!(out.code, 1, "{args:?}: {out:#?}");
        assert_eq!(
            out.stdout, "input is larger than 1048576 bytes\n",
            "{args:?}: {out:#?}"
        );
        // A debug build reading at most 1 MiB + 1: far below the 100 MB offered.
        assert!(rss < 32 * 1024, "{args:?}: peak RSS {rss} KiB");
        peaks.push(rss);
    }
    eprintln!("100 MB stdin: peak RSS {peaks:?} KiB");
    assert_eq!(std::fs::read(env.auth_json()).unwrap(), before);
    // A Bazel-shaped body of 100 MB through `ocicred get` is refused the same way.
    let mut body = b"{\"uri\":\"https://h.example/v2/\",\"x\":\"".to_vec();
    body.resize(100 * 1024 * 1024, b'a');
    let (out, rss) = env.peak_rss_kib(&ocicred, &["get"], &body);
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(rss < 32 * 1024, "bazel body: peak RSS {rss} KiB");
}

#[test]
fn a_hundred_megabyte_auth_file_is_refused_without_reading_it() {
    let env = TestEnv::new();
    let p = env.write("../run/containers/auth.json", "");
    let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    f.set_len(100 * 1024 * 1024).unwrap(); // sparse: costs no disk
    drop(f);
    let helper = env.bin.join("docker-credential-ocicred");
    for (args, stdin) in [
        (&["get"][..], &b"h.example"[..]),
        (
            &["store"],
            br#"{"ServerURL":"h.example","Username":"u","Secret":"s"}"#,
        ),
        (&["list"], b""),
    ] {
        let (out, rss) = env.peak_rss_kib(&helper, args, stdin);
        assert_one_line_failure(&out, &format!("{args:?}"));
        assert!(out.stdout.contains("file is larger than"), "{out:#?}");
        assert!(rss < 32 * 1024, "{args:?}: peak RSS {rss} KiB");
    }
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 100 * 1024 * 1024);
}

#[test]
fn invalid_utf8_in_keys_files_and_paths() {
    let env = TestEnv::new();
    // In a server address.
    for action in ["get", "erase"] {
        let out = env.helper(action, b"h\xff.example");
        assert_one_line_failure(&out, action);
        assert_eq!(out.stdout, "server address is not valid UTF-8\n");
    }
    // In a store body (raw bytes, and a lone surrogate escape).
    for body in [
        &b"{\"ServerURL\":\"h\xff.example\",\"Username\":\"u\",\"Secret\":\"s\"}"[..],
        br#"{"ServerURL":"h.example","Username":"\ud800","Secret":"s"}"#,
    ] {
        let out = env.helper("store", body);
        assert_one_line_failure(&out, "store");
        assert!(out.stdout.starts_with("store: invalid JSON"), "{out:#?}");
    }
    assert!(!env.auth_json().exists());
    // In an action word.
    let mut c = env.command(env.bin.join("docker-credential-ocicred"));
    c.arg(std::ffi::OsStr::from_bytes(b"g\xffet"));
    let out = run(c, b"");
    assert_one_line_failure(&out, "action");
    // In a key of the auth file, and in a value: a parse error naming the file.
    let p = env.auth_json();
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    for bytes in [
        &b"{\"auths\":{\"h\xff.example\":{\"auth\":\"dTpw\"}}}"[..],
        b"{\"auths\":{\"h.example\":{\"auth\":\"dTpw\",\"x\":\"\xc3\x28\"}}}",
    ] {
        std::fs::write(&p, bytes).unwrap();
        for (action, body) in [
            ("get", &b"h.example"[..]),
            (
                "store",
                br#"{"ServerURL":"h.example","Username":"u","Secret":"s"}"#,
            ),
        ] {
            let out = env.helper(action, body);
            assert_one_line_failure(&out, action);
            assert!(out.stdout.contains("invalid JSON"), "{out:#?}");
        }
        assert_eq!(std::fs::read(&p).unwrap(), bytes);
    }
}

#[test]
fn paths_that_are_not_utf8_work() {
    let mut env = TestEnv::new();
    let odd = env
        .root
        .path()
        .join(std::ffi::OsStr::from_bytes(b"run-\xff\xfe"));
    std::fs::create_dir_all(&odd).unwrap();
    set_mode(&odd, 0o700);
    env.set("XDG_RUNTIME_DIR", &odd);
    let out = env.helper(
        "store",
        br#"{"ServerURL":"h.example","Username":"u","Secret":"s"}"#,
    );
    assert_eq!(out.code, 0, "{out:#?}");
    let out = env.helper("get", b"h.example");
    assert_eq!(
        out.ok(),
        "{\"ServerURL\":\"h.example\",\"Username\":\"u\",\"Secret\":\"s\"}\n"
    );
    std::fs::write(odd.join("containers/auth.json"), "{,").unwrap();
    let out = env.helper("get", b"h.example");
    assert_one_line_failure(&out, "corrupt file under an odd path");
    assert!(out.stdout.contains("invalid JSON"), "{out:#?}");
    let out = run(env.ocicred(&["list"]), b"");
    assert_eq!(out.code, 1, "{out:#?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
}

#[test]
fn a_user_name_with_a_colon_is_refused_not_mangled() {
    let env = TestEnv::new();
    let out = env.helper(
        "store",
        br#"{"ServerURL":"h.example","Username":"a:b","Secret":"pw"}"#,
    );
    assert_one_line_failure(&out, "store");
    assert!(out.stdout.contains("':'"), "{out:#?}");
    assert!(!out.stdout.contains("pw"), "{out:#?}");
    assert!(!env.auth_json().exists());
}
