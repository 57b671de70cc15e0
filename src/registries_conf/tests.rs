//! Tests over the upstream containers/image fixtures (`testdata/registries`) and over real
//! directory layouts built in temporary directories: which files load, in which order, and
//! what the merged result answers.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::test_layout::{Layout, SYS, SYS_D, USER, USER_D};
use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/registries")
        .join(name)
}

/// Loads a fixture as the main file, with optional fixture drop-in directories.
fn load_fixture(main: &str, dirs: &[&str]) -> Result<RegistriesConf> {
    let plan = Plan {
        main: Some(fixture(main)),
        main_required: true,
        dirs: dirs.iter().map(|d| fixture(d)).collect(),
    };
    load_plan(&plan, None)
}

fn msg(main: &str) -> String {
    let e = load_fixture(main, &[]).unwrap_err().to_string();
    let prefix = format!("{}: ", fixture(main).display());
    e.strip_prefix(&prefix).unwrap_or(&e).to_string()
}

fn location(c: &RegistriesConf, name: &str) -> Option<(String, String)> {
    c.find_registry(name)
        .map(|r| (r.prefix.clone(), r.location.clone()))
}

#[test]
fn find_registry_fixture_with_drop_ins() {
    let c = load_fixture("find-registry.conf", &["registries.conf.d"]).unwrap();
    let cases: &[(&str, Option<(&str, &str)>)] = &[
        (
            "simple-prefix.com/foo/bar:latest",
            Some(("simple-prefix.com", "registry.com:5000")),
        ),
        (
            "complex-prefix.com:4000/with/path/and/beyond:tag",
            Some((
                "complex-prefix.com:4000/with/path",
                "another-registry.com:5000",
            )),
        ),
        (
            "another-registry.com",
            Some(("another-registry.com", "registry.com:5000")),
        ),
        (
            "no-prefix.com/foo:tag",
            Some(("no-prefix.com", "no-prefix.com")),
        ),
        (
            "empty-prefix.com/foo:tag",
            Some(("empty-prefix.com", "empty-prefix.com")),
        ),
        (
            "subdomain.so.simple-prefix.com/foo/bar:latest",
            Some(("*.so.simple-prefix.com", "subdomain-prefix.com")),
        ),
        (
            "not.so.simple-prefix.com/",
            Some(("*.so.simple-prefix.com", "subdomain-prefix.com")),
        ),
        // The apex of a wildcard is not matched by it.
        (
            "not.quite.simple-prefix.com/",
            Some(("*.simple-prefix.com", "subdomain-prefix-2.com")),
        ),
        (
            "x.not.quite.simple-prefix.com:5000/with/path/and/beyond:tag",
            Some((
                "*.not.quite.simple-prefix.com",
                "subdomain-prefix-1-overridden-by-dropin-location.com",
            )),
        ),
        (
            "x.simple-prefix.com/foo",
            Some(("*.simple-prefix.com", "subdomain-prefix-2.com")),
        ),
        (
            "bar.docker.io/foo",
            Some(("*.docker.io", "subdomain-prefix-2.com")),
        ),
        (
            "foo.bar.docker.io/foo",
            Some(("*.bar.docker.io", "subdomain-prefix-4.com")),
        ),
        (
            "foo.bar.example.com:5000/x",
            Some(("foo.bar.example.com:5000", "subdomain-prefix-5.com")),
        ),
        (
            "foo.bar.example.com/x",
            Some((
                "*.bar.example.com",
                "subdomain-prefix-3-overridden-by-dropin-location.com",
            )),
        ),
        (
            "x.docker.com/y",
            Some((
                "*.docker.com",
                "subdomain-prefix-2-overridden-by-dropin-location.com",
            )),
        ),
        (
            "a.internal.registry.com/x",
            Some(("*.internal.registry.com", "")),
        ),
        ("anything.example.com/x", Some(("*.com", ""))),
        ("x.foobar.io/y", Some(("*.foobar.io", ""))),
        ("simple-prefix.comx/x", None),
        ("example.org/x", None),
        ("reg.net/namespace.com/x", None),
    ];
    for (name, want) in cases {
        let want = want.map(|(p, l)| (p.to_string(), l.to_string()));
        assert_eq!(location(&c, name), want, "{name}");
    }
}

#[test]
fn merged_drop_ins_fixture() {
    let c = load_fixture("base-for-registries.d.conf", &["registries.conf.d"]).unwrap();
    let d = fixture("registries.conf.d");
    assert_eq!(
        c.files,
        [
            fixture("base-for-registries.d.conf"),
            d.join("config-1.conf"),
            d.join("config-2.conf"),
            d.join("config-3.conf"),
            d.join("subdomain-override-1.conf"),
            d.join("subdomain-override-2.conf"),
            d.join("subdomain-override-3.conf"),
        ]
    );
    assert_eq!(c.unqualified_search, ["example-overwrite.com"]);
    assert_eq!(c.unqualified_search_origin, Some(d.join("config-1.conf")));
    assert_eq!(c.credential_helpers(), ["dropin-1", "dropin-2"]);
    assert_eq!(c.short_name_mode, ShortNameMode::Permissive);
    let base = c.find_registry("base.com").unwrap();
    assert!(base.blocked && !base.insecure, "replaced whole: {base:?}");
    let prefixes: Vec<&str> = c.registries.iter().map(|r| r.prefix.as_str()).collect();
    assert_eq!(
        prefixes,
        [
            "*.bar.example.com",
            "*.docker.com",
            "*.not.quite.simple-prefix.com",
            "1.com",
            "2.com",
            "base.com",
        ]
    );
    let alias = |n: &str| {
        let a = &c.aliases[n];
        (
            a.value.clone(),
            a.origin.file_name().unwrap().to_string_lossy().to_string(),
        )
    };
    assert_eq!(
        alias("docker"),
        (
            Some("docker.io/library/config1".into()),
            "config-1.conf".into()
        )
    );
    assert_eq!(
        alias("barz"),
        (Some("barz.com/config2".into()), "config-2.conf".into())
    );
    assert_eq!(
        alias("added3"),
        (Some("xxx.com/image".into()), "config-2.conf".into())
    );
    assert_eq!(alias("example"), (None, "config-2.conf".into()));
    assert!(!c.aliases.contains_key("ignore"));
}

#[test]
fn user_drop_in_search_list_rules() {
    // usr1 leaves the key unset: the main file's list stays. usr2 sets []: it clears it.
    let c = load_fixture("unqualified-search.conf", &["registries.conf.d-usr1"]).unwrap();
    assert_eq!(
        c.unqualified_search,
        ["registry-a.com", "registry-c.com", "registry-d.com"]
    );
    assert_eq!(
        c.unqualified_search_origin,
        Some(fixture("unqualified-search.conf"))
    );
    let c = load_fixture("unqualified-search.conf", &["registries.conf.d-usr2"]).unwrap();
    assert!(c.unqualified_search.is_empty());
    assert_eq!(
        c.unqualified_search_origin,
        Some(fixture("registries.conf.d-usr2/empty-usr.conf"))
    );
    let c = load_fixture("cred-helper.conf", &["registries.conf.d-empty-helpers"]).unwrap();
    assert_eq!(c.credential_helpers(), ["containers-auth.json"]);
    let c = load_fixture("cred-helper.conf", &[]).unwrap();
    assert_eq!(c.credential_helpers(), ["helper-1", "helper-2"]);
}

#[test]
fn validation_error_fixtures() {
    let cases = [
        (
            "blocked-conflicts.conf",
            "registry 'registry.com' is defined multiple times with conflicting 'blocked' setting",
        ),
        (
            "insecure-conflicts.conf",
            "registry 'registry.com' is defined multiple times with conflicting 'insecure' setting",
        ),
        (
            "invalid-prefix.conf",
            "invalid location 'http://schema-is-invalid.com': URI schemes are not supported",
        ),
        (
            "invalid-search.conf",
            "Invalid unqualified-search-registries entry \"registry-a.com/namespace-is-forbidden\"",
        ),
        (
            "invalid-short-name-mode.conf",
            "invalid short-name mode: \"invalid\"",
        ),
        (
            "invalid-config-level-mirror.conf",
            "pull-from-mirror must not be set for a non-mirror registry \"registry-a.com/foo\"",
        ),
        (
            "invalid-conflict-mirror.conf",
            "cannot set mirror usage mirror-by-digest-only for the registry \
             (\"registry-a.com/foo\") and pull-from-mirror for per-mirror \
             (\"mirror-1.registry-a.com\") at the same time",
        ),
        (
            "invalid-value-mirror.conf",
            "unsupported pull-from-mirror value \"notvalid\" for mirror \"mirror-1.registry-a.com\"",
        ),
        (
            "missing-mirror-location.conf",
            "invalid condition: mirror location is unset",
        ),
        (
            "mixing-v1-v2.conf",
            "mixing sysregistry v1/v2 is not supported",
        ),
        (
            "mixing-v1-v2-empty.conf",
            "mixing sysregistry v1/v2 is not supported",
        ),
        (
            "v1-invalid-block.conf",
            "invalid location 'http://schema-is-invalid.com': URI schemes are not supported",
        ),
        (
            "v1-invalid-insecure.conf",
            "invalid location 'http://schema-is-invalid.com': URI schemes are not supported",
        ),
        (
            "v1-invalid-search.conf",
            "invalid location 'http://schema-is-invalid.com': URI schemes are not supported",
        ),
        (
            "invalid-aliases.conf",
            "validating short-name aliases: invalid alias \"quay.io/repo/image:1\": must not \
             contain tag; invalid alias \"image:1\": must not contain tag",
        ),
    ];
    for (file, want) in cases {
        assert_eq!(msg(file), want, "{file}");
    }
    let e = msg("try-update-cache-invalid.conf");
    assert!(e.starts_with("invalid TOML: "), "{e}");
    assert!(e.ends_with(" at line 1 column 8"), "{e}");
}

#[test]
fn v1_conversion_fixture() {
    let c = load_fixture("v1-compatibility.conf", &[]).unwrap();
    assert_eq!(
        c.unqualified_search,
        ["registry-a.com", "registry-c.com", "registry-d.com"]
    );
    let flags: Vec<(&str, bool, bool)> = c
        .registries
        .iter()
        .map(|r| (r.location.as_str(), r.insecure, r.blocked))
        .collect();
    assert_eq!(
        flags,
        [
            ("registry-a.com", true, false),
            ("registry-b.com", true, true),
            ("registry-d.com", true, false),
            ("registry-e.com", true, false),
        ]
    );
}

#[test]
fn simple_fixtures() {
    let c = load_fixture("empty.conf", &[]).unwrap();
    assert!(c.registries.is_empty());
    assert_eq!(c.credential_helpers(), ["containers-auth.json"]);
    let c = load_fixture("unmarshal.conf", &[]).unwrap();
    assert_eq!(c.registries.len(), 4);
    assert!(c.find_registry("blocked.registry.com/x").unwrap().blocked);
    assert!(c.find_registry("insecure.registry.com").unwrap().insecure);
    let c = load_fixture("aliases.conf", &[]).unwrap();
    assert_eq!(c.short_name_mode, ShortNameMode::Enforcing);
    let v = |n: &str| c.aliases[n].value.clone();
    assert_eq!(v("docker").as_deref(), Some("docker.io/library/foo"));
    assert_eq!(v("quay/foo").as_deref(), Some("quay.io/library/foo"));
    assert_eq!(v("example").as_deref(), Some("example.com/library/foo"));
    assert_eq!(v("empty"), None);
}

fn sources(c: &RegistriesConf, reference: &str) -> Vec<(String, String, bool)> {
    let r = c.resolve(reference, &BTreeMap::new()).unwrap();
    r.pull_sources
        .iter()
        .map(|s| {
            (
                s.source.location.clone(),
                s.source.reference.to_string(),
                s.source.insecure,
            )
        })
        .collect()
}

const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn pull_sources_fixture() {
    let c = load_fixture("pull-sources-from-reference.conf", &[]).unwrap();
    let s = |loc: &str, r: &str, insecure: bool| (loc.to_string(), r.to_string(), insecure);
    assert_eq!(
        sources(&c, "registry-a.com/foo/image:latest"),
        [
            s(
                "mirror-1.registry-a.com",
                "mirror-1.registry-a.com/image:latest",
                false
            ),
            s(
                "mirror-2.registry-a.com",
                "mirror-2.registry-a.com/image:latest",
                true
            ),
            s(
                "registry-a.com/bar",
                "registry-a.com/bar/image:latest",
                false
            ),
        ]
    );
    // Which endpoints a tag and a digest reference get, per registry (mirrors, then primary).
    let table: &[(&str, &[&str], &[&str])] = &[
        (
            "registry-b.com/foo",
            &["registry-b.com/bar"],
            &[
                "mirror-1.registry-b.com",
                "mirror-2.registry-b.com",
                "registry-b.com/bar",
            ],
        ),
        (
            "registry-a.com/baz",
            &[
                "mirror-1.registry-a.com",
                "mirror-2.registry-a.com",
                "registry-a.com/bar",
            ],
            &[
                "mirror-1.registry-a.com",
                "mirror-2.registry-a.com",
                "registry-a.com/bar",
            ],
        ),
        (
            "registry-b.com/baz",
            &["registry-b.com/bar"],
            &[
                "mirror-1.registry-b.com",
                "mirror-2.registry-b.com",
                "registry-b.com/bar",
            ],
        ),
        (
            "registry-c.com/baz",
            &["mirror-1.registry-c.com", "registry-c.com/bar"],
            &[
                "mirror-1.registry-c.com",
                "mirror-2.registry-c.com",
                "registry-c.com/bar",
            ],
        ),
        (
            "registry-d.com/baz",
            &["registry-d.com/bar"],
            &[
                "mirror-1.registry-d.com",
                "mirror-2.registry-d.com",
                "registry-d.com/bar",
            ],
        ),
        (
            "registry-e.com/baz",
            &[
                "mirror-1.registry-e.com",
                "mirror-2.registry-e.com",
                "registry-e.com/bar",
            ],
            &["registry-e.com/bar"],
        ),
        (
            "registry-f.com/baz",
            &[
                "mirror-1.registry-f.com",
                "mirror-2.registry-f.com",
                "registry-f.com/bar",
            ],
            &["mirror-1.registry-f.com", "registry-f.com/bar"],
        ),
        (
            "registry-g.com/baz",
            &[
                "mirror-2.registry-g.com",
                "mirror-3.registry-g.com",
                "mirror-4.registry-g.com",
                "registry-g.com/bar",
            ],
            &[
                "mirror-1.registry-g.com",
                "mirror-3.registry-g.com",
                "mirror-4.registry-g.com",
                "registry-g.com/bar",
            ],
        ),
    ];
    for (prefix, tagged, digested) in table {
        let locs = |r: &str| -> Vec<String> { sources(&c, r).into_iter().map(|s| s.0).collect() };
        assert_eq!(
            locs(&format!("{prefix}/image:latest")),
            *tagged,
            "{prefix} tag"
        );
        assert_eq!(
            locs(&format!("{prefix}/image@{DIGEST}")),
            *digested,
            "{prefix} digest"
        );
        // Tag and digest together count as digested; the tag is kept in the rewrite.
        let both = sources(&c, &format!("{prefix}/image:t@{DIGEST}"));
        assert_eq!(
            both.iter().map(|s| s.0.clone()).collect::<Vec<_>>(),
            *digested
        );
        assert!(
            both.iter()
                .all(|s| s.1.ends_with(&format!("/image:t@{DIGEST}")))
        );
    }
}

#[test]
fn rewriting_quirks_and_unmatched_references() {
    let c = load_fixture("find-registry.conf", &[]).unwrap();
    // A host prefix matched against host:port carries the port over; a rewrite that does
    // not parse fails the whole resolution.
    let e = c.resolve("another-registry.com:5000/foo:tag", &BTreeMap::new());
    assert!(
        e.unwrap_err()
            .to_string()
            .contains("invalid reference format")
    );
    let text = "[[registry]]\nprefix=\"example.com\"\nlocation=\"rewritten.example.net\"\n";
    let port = merge::merge(vec![
        parse::parse_file(Path::new("/m"), text, false).unwrap(),
    ]);
    assert_eq!(
        sources(&port, "example.com:5000/foo:tag")[0].1,
        "rewritten.example.net:5000/foo:tag"
    );
    // No matching registry: the reference itself, its host as location.
    assert_eq!(
        sources(&c, "example.org/x"),
        [("example.org".into(), "example.org/x:latest".into(), false)]
    );
    // An empty wildcard location keeps the reference.
    assert_eq!(
        sources(&c, "a.internal.registry.com/x:1"),
        [(
            "a.internal.registry.com".into(),
            "a.internal.registry.com/x:1".into(),
            false
        )]
    );
}

#[test]
fn blocked_as_asked_and_by_location() {
    let text = "[[registry]]\nprefix=\"example.com/foo\"\nlocation=\"internal.example.net/bar\"\n\
                [[registry]]\nlocation=\"internal.example.net\"\nblocked=true\n\
                [[registry]]\nprefix=\"quay.io/evil\"\nlocation=\"quay.io/evil\"\nblocked=true\n\
                [[registry]]\nprefix=\"docker.io/library/nginx\"\nlocation=\"docker.io/library/nginx\"\nblocked=true\n";
    let c = merge::merge(vec![
        parse::parse_file(Path::new("/m"), text, false).unwrap(),
    ]);
    let k = |s: &str| RegistryKey::parse(s).unwrap();
    assert_eq!(
        c.blocked_prefix(&k("internal.example.net")).as_deref(),
        Some("internal.example.net")
    );
    assert_eq!(
        c.blocked_prefix(&k("example.com/foo/x")).as_deref(),
        Some("internal.example.net")
    );
    assert_eq!(c.blocked_prefix(&k("example.com/other")), None);
    assert_eq!(
        c.blocked_prefix(&k("quay.io/evil/x:1")).as_deref(),
        Some("quay.io/evil")
    );
    assert_eq!(c.blocked_prefix(&k("quay.io")), None);
    assert_eq!(
        c.blocked_prefix(&k("docker.io/nginx")).as_deref(),
        Some("docker.io/library/nginx")
    );
    let r = c.resolve("example.com/foo/x:1", &BTreeMap::new()).unwrap();
    assert_eq!(r.blocked.as_deref(), Some("internal.example.net"));
    assert!(r.pull_sources.iter().all(|s| s.blocked.is_some()));
}

#[test]
fn mirrors_fixture_order_and_insecure() {
    let c = load_fixture("mirrors.conf", &[]).unwrap();
    assert_eq!(
        sources(&c, "registry.com/a/b"),
        [
            (
                "mirror-1.registry.com".into(),
                "mirror-1.registry.com/a/b:latest".into(),
                false
            ),
            (
                "mirror-2.registry.com".into(),
                "mirror-2.registry.com/a/b:latest".into(),
                true
            ),
            (
                "registry.com".into(),
                "registry.com/a/b:latest".into(),
                false
            ),
        ]
    );
}

// ---- the loader over real directory layouts ----

fn layout() -> Layout {
    Layout::new(|root| Env {
        home: Some(root.join("home")),
        xdg_config_home: Some(root.join("home/.config")),
        xdg_cache_home: Some(root.join("home/.cache")),
        sysconfdir: Some(root.join("etc")),
        ..Env::default()
    })
}

impl Layout {
    fn names(&self, c: &RegistriesConf) -> Vec<String> {
        c.files
            .iter()
            .map(|p| p.strip_prefix(&self.root).unwrap().display().to_string())
            .collect()
    }
}

#[test]
fn nothing_anywhere_is_an_empty_config() {
    let l = layout();
    let c = load(&l.env).unwrap();
    assert!(c.files.is_empty());
    assert_eq!(c.credential_helpers(), ["containers-auth.json"]);
}

#[test]
fn system_files_then_user_drop_ins_in_byte_order() {
    let l = layout();
    l.write(SYS, "unqualified-search-registries=[\"sys.com\"]");
    l.write(&format!("{SYS_D}/9.conf"), "");
    l.write(&format!("{SYS_D}/10.conf"), "");
    l.write(&format!("{SYS_D}/1.conf"), "");
    l.write(&format!("{SYS_D}/b.conf.bak"), "not toml [");
    l.write(&format!("{SYS_D}/x.ignore"), "not toml [");
    fs::create_dir_all(l.root.join(SYS_D).join("sub.conf")).unwrap();
    l.write(&format!("{SYS_D}/sub.conf/inner.conf"), "not toml [");
    l.write(&format!("{USER_D}/1.conf"), "credential-helpers=[\"u\"]");
    let c = load(&l.env).unwrap();
    assert_eq!(
        l.names(&c),
        [
            SYS.to_string(),
            format!("{SYS_D}/1.conf"),
            format!("{SYS_D}/10.conf"),
            format!("{SYS_D}/9.conf"),
            format!("{USER_D}/1.conf"),
        ]
    );
    assert_eq!(c.credential_helpers(), ["u"]);
}

#[test]
fn a_user_main_file_switches_off_both_system_sources() {
    let l = layout();
    l.write(SYS, "credential-helpers=[\"sys\"]");
    l.write(&format!("{SYS_D}/1.conf"), "credential-helpers=[\"sysd\"]");
    l.write(USER, "");
    l.write(
        &format!("{USER_D}/1.conf"),
        "unqualified-search-registries=[\"u.com\"]",
    );
    let c = load(&l.env).unwrap();
    assert_eq!(l.names(&c), [USER.to_string(), format!("{USER_D}/1.conf")]);
    assert_eq!(c.credential_helpers(), ["containers-auth.json"]);
}

#[test]
fn containers_registries_conf_replaces_only_the_main_file() {
    let mut l = layout();
    l.write(SYS, "credential-helpers=[\"sys\"]");
    l.write(USER, "credential-helpers=[\"user\"]");
    l.write(&format!("{SYS_D}/1.conf"), "");
    l.write(&format!("{USER_D}/2.conf"), "");
    let explicit = l.write("elsewhere.conf", "credential-helpers=[\"explicit\"]");
    l.env.containers_registries_conf = Some(explicit);
    let c = load(&l.env).unwrap();
    assert_eq!(
        l.names(&c),
        [
            "elsewhere.conf".to_string(),
            format!("{SYS_D}/1.conf"),
            format!("{USER_D}/2.conf"),
        ]
    );
    assert_eq!(c.credential_helpers(), ["explicit"]);
    l.env.containers_registries_conf = Some(l.root.join("missing.conf"));
    let e = load(&l.env).unwrap_err().to_string();
    assert!(e.contains("missing.conf"), "{e}");
}

#[test]
fn same_file_name_in_system_and_user_dirs_both_apply() {
    let l = layout();
    l.write(
        &format!("{SYS_D}/a.conf"),
        "[aliases]\nx=\"quay.io/sys\"\ny=\"quay.io/y\"",
    );
    l.write(&format!("{USER_D}/a.conf"), "[aliases]\nx=\"quay.io/user\"");
    let c = load(&l.env).unwrap();
    assert_eq!(c.aliases["x"].value.as_deref(), Some("quay.io/user"));
    assert_eq!(c.aliases["y"].value.as_deref(), Some("quay.io/y"));
}

#[test]
fn errors_name_the_file() {
    let l = layout();
    l.write(SYS, "");
    let bad = l.write(
        &format!("{SYS_D}/5.conf"),
        "[[registry]]\nlocation = \"a.com\"\nprefix = \n",
    );
    let e = load(&l.env).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}: invalid TOML: ", bad.display())),
        "{e}"
    );
    assert!(e.contains("at line 3 column"), "{e}");
    assert_eq!(e.lines().count(), 1);
    let l = layout();
    let bad = l.write(
        &format!("{USER_D}/v1.conf"),
        "[registries.search]\nregistries=[\"a.com\"]",
    );
    assert_eq!(
        load(&l.env).unwrap_err().to_string(),
        format!(
            "{}: registry must be in v2 format but is in v1",
            bad.display()
        )
    );
}

#[test]
fn machine_alias_file_comes_first() {
    let l = layout();
    l.write(
        SYS,
        "unqualified-search-registries=[\"docker.io\"]\n[aliases]\nx=\"quay.io/x\"\ny=\"quay.io/y\"",
    );
    let cache = l.write(
        "home/.cache/containers/short-name-aliases.conf",
        "[aliases]\nx=\"\"\nz=\"registry.example/z\"",
    );
    let c = load(&l.env).unwrap();
    let (path, aliases) = load_alias_cache(&l.env).unwrap();
    assert_eq!(path.as_ref(), Some(&cache));
    let r = c.resolve("x", &aliases).unwrap();
    assert_eq!(r.alias.as_ref().unwrap().value, None);
    assert_eq!(r.alias.unwrap().origin, cache);
    assert_eq!(r.reference, None);
    assert_eq!(r.candidates[0].to_string(), "docker.io/library/x:latest");
    let r = c.resolve("z:2", &aliases).unwrap();
    assert_eq!(r.reference.unwrap().to_string(), "registry.example/z:2");
    let r = c.resolve("y", &aliases).unwrap();
    assert_eq!(r.alias.unwrap().origin, l.root.join(SYS));
}

#[test]
fn insecure_hosts_for_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("registries.conf");
    fs::write(
        &main,
        "[[registry]]\nlocation = \"plain.example:5000\"\ninsecure = true\n\n\
         [[registry]]\nlocation = \"tls.example\"\n[[registry.mirror]]\nlocation = \"mirror.example\"\ninsecure = true\n",
    )
    .unwrap();
    let plan = Plan {
        main: Some(main),
        main_required: true,
        dirs: Vec::new(),
    };
    let c = load_plan(&plan, None).unwrap();
    assert!(c.is_insecure_host("plain.example:5000"));
    assert!(!c.is_insecure_host("plain.example:5001"));
    assert!(!c.is_insecure_host("tls.example"));
    assert!(c.is_insecure_host("mirror.example"));
    assert!(!c.is_insecure_host("other.example"));
}
