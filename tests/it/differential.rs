//! Differential tests: ocicred against the reference implementations themselves, run as Go oracles
//! on the same generated files
//! (README.md#differences-from-containersimage-docker-and-oras-go-on-purpose).
//!
//! A seeded generator writes realistic configurations (the four auth files, docker and
//! auth.json formats, namespaced keys, Docker Hub spellings, `credHelpers`/`credsStore`
//! naming small fake helpers, malformed entries, registries.conf with prefixes, wildcards,
//! mirrors, `blocked`, drop-ins and aliases) and asks each side the same questions:
//! - containers/image (`tests/go/cimage-oracle`): `GetCredentials`, `GetAllCredentials`,
//!   short names, `FindRegistry` and `PullSourcesFromReference`, against ocicred's docker
//!   `get`/`list` and `resolve --json`;
//! - the docker CLI (`tests/go/docker-oracle`): `GetAuthConfig`/`GetAllCredentials` on
//!   docker's config.json, against ocicred's `get`/`list` on the same file;
//! - oras-go (`tests/go/oras-oracle`): `NewStoreFromDocker` + `Get`, against ocicred's `get`.
//!
//! ocicred runs in-process through [`ocicred::cli::run`] (the code `main` runs) for every
//! case, and through the built binary for a sample, which must answer the same. Each answer
//! either agrees, or matches one of the named deviations ([`DEVIATIONS`], each written up in
//! the README and pinned by its own test below), or is a mismatch that fails the test with the
//! case's seed. A failing case is kept as a JSON fixture in `testdata/differential/` (printed by
//! `differential::show`) and replayed by every run.
//!
//! `cargo test` runs [`FIXED_CASES`] cases from [`FIXED_SEED`]; `tests/differential.sh` runs a
//! long random campaign (`differential::campaign`, ignored by default).

// The harness reads its own knobs (OCICRED_DIFF_*, OCICRED_GO_CACHE), not the product's
// environment, and reports its figures on stderr.
#![allow(clippy::disallowed_methods, clippy::print_stderr)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ocicred::env::Env;
use serde_json::{Value, json};

use crate::support::{NOT_FOUND, go_tool, ocicred_bin, repo};

/// The seed of the run `cargo test` does.
const FIXED_SEED: u64 = 0x0c1c_7ed5_eed5;
/// How many cases `cargo test` runs.
const FIXED_CASES: usize = 20_000;
/// Cases per batch (files on disk at once, one oracle process each).
const BATCH: usize = 1_000;
/// Threads answering for ocicred.
const THREADS: usize = 2;
/// One case in this many also runs through the built binary.
const BINARY_EVERY: usize = 100;

// ---------------------------------------------------------------------------------------------
// The generator.

/// splitmix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// True with probability `pct`%.
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    /// Picks from `(weight, value)` pairs.
    fn weighted<T: Copy>(&mut self, xs: &[(u64, T)]) -> T {
        let total: u64 = xs.iter().map(|(w, _)| w).sum();
        let mut at = self.next() % total;
        for (w, v) in xs {
            if at < *w {
                return *v;
            }
            at -= w;
        }
        xs[0].1
    }
}

/// The seed of case `i` of a run.
fn case_seed(run_seed: u64, i: usize) -> u64 {
    Rng(run_seed ^ (i as u64).wrapping_mul(0xd1b5_4a32_d192_ed03)).next()
}

/// Which oracles a case is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The four auth files, `REGISTRY_AUTH_FILE`, registries.conf `credential-helpers`:
    /// containers/image answers.
    Containers,
    /// docker's config.json alone, with `credsStore`: the docker CLI and oras-go answer.
    Docker,
    /// registries.conf, drop-ins, aliases, and the credential for each pull source:
    /// containers/image answers.
    Registries,
}

/// One generated configuration and the questions asked about it. Paths and variable values
/// may hold `{R}`, the case's own directory.
#[derive(Debug)]
struct Case {
    seed: u64,
    kind: Kind,
    files: Vec<(String, Vec<u8>)>,
    env: BTreeMap<String, String>,
    get: Vec<String>,
    list: bool,
    resolve: Vec<String>,
}

const HOSTS: &[&str] = &[
    "quay.io",
    "ghcr.io",
    "registry.example.com",
    "reg.example.com:5000",
    "localhost:5000",
    "10.1.2.3:8443",
];
const HUB_KEYS: &[&str] = &[
    "https://index.docker.io/v1/",
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
];
const NAMESPACES: &[&str] = &["org", "org/repo", "org/repo/img", "other", "org/other"];
const HELPERS: &[&str] = &["dfake", "dtok", "dnf", "derr"];

/// An `auths` entry, by what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    Basic,
    /// `auth` = base64("<token>:") plus `identitytoken`, as ocicred writes it.
    Token,
    Empty,
    BadBase64,
    NoColon,
    ColonOnly,
    /// `identitytoken` alone, as docker writes it with no helper.
    TokenOnly,
    /// `username`/`password` fields, no `auth`.
    Fields,
    /// An empty user name (`:password`).
    EmptyUser,
}

fn entry_json(kind: Entry, n: usize) -> Value {
    let b64 = |s: &str| STANDARD.encode(s);
    match kind {
        Entry::Basic => json!({"auth": b64(&format!("u{n}:p{n}:x"))}),
        Entry::Token => json!({"auth": b64("<token>:"), "identitytoken": format!("idt{n}")}),
        Entry::Empty => json!({}),
        Entry::BadBase64 => json!({"auth": "%%bad%%"}),
        Entry::NoColon => json!({"auth": b64(&format!("u{n}"))}),
        Entry::ColonOnly => json!({"auth": b64(":")}),
        Entry::TokenOnly => json!({"identitytoken": format!("idt{n}")}),
        Entry::Fields => json!({"username": format!("u{n}"), "password": format!("p{n}")}),
        Entry::EmptyUser => json!({"auth": b64(&format!(":p{n}"))}),
    }
}

fn entry_kind(r: &mut Rng, malformed: bool) -> Entry {
    if !malformed {
        return r.weighted(&[(85, Entry::Basic), (8, Entry::Token), (7, Entry::Empty)]);
    }
    r.weighted(&[
        (60, Entry::Basic),
        (6, Entry::Token),
        (8, Entry::Empty),
        (5, Entry::BadBase64),
        (5, Entry::NoColon),
        (3, Entry::ColonOnly),
        (5, Entry::TokenOnly),
        (4, Entry::Fields),
        (4, Entry::EmptyUser),
    ])
}

/// A key for an `auths` map: a host spelled one of the ways the tools write it, or a
/// namespace under it.
fn auth_key(r: &mut Rng, namespaced: bool) -> String {
    if r.chance(15) {
        return r.pick(HUB_KEYS).to_string();
    }
    let h = *r.pick(HOSTS);
    if namespaced && r.chance(30) {
        return format!("{h}/{}", r.pick(NAMESPACES));
    }
    match r.below(10) {
        0 => format!("https://{h}"),
        1 => format!("http://{h}"),
        2 => format!("https://{h}/v1/"),
        3 => format!("https://{h}/v2/"),
        _ => h.to_string(),
    }
}

/// A docker-format file: `auths`, maybe `credHelpers` and `credsStore`.
fn auth_file(r: &mut Rng, n: &mut usize, opts: FileOpts) -> (Value, Vec<String>) {
    let mut auths = serde_json::Map::new();
    let mut keys = Vec::new();
    for _ in 0..r.below(5) {
        let k = auth_key(r, opts.namespaced);
        *n += 1;
        auths.insert(k.clone(), entry_json(entry_kind(r, opts.malformed), *n));
        keys.push(k);
    }
    let mut root = serde_json::Map::new();
    if opts.legacy {
        return (Value::Object(auths), keys);
    }
    root.insert("auths".into(), Value::Object(auths));
    if r.chance(opts.helpers_pct) {
        let mut helpers = serde_json::Map::new();
        for _ in 0..1 + r.below(2) {
            let h = if r.chance(15) {
                "https://index.docker.io/v1/".to_string()
            } else {
                r.pick(HOSTS).to_string()
            };
            helpers.insert(h.clone(), json!(r.pick(HELPERS)));
            keys.push(h);
        }
        root.insert("credHelpers".into(), Value::Object(helpers));
    }
    if r.chance(opts.store_pct) {
        root.insert("credsStore".into(), json!(r.pick(HELPERS)));
    }
    (Value::Object(root), keys)
}

#[derive(Clone, Copy)]
struct FileOpts {
    namespaced: bool,
    malformed: bool,
    legacy: bool,
    helpers_pct: u64,
    store_pct: u64,
}

fn to_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(v).unwrap()
}

/// The questions for a set of keys: each key as a lookup key (no scheme), deeper names under
/// it, its parents, and hosts nobody stored.
fn containers_queries(r: &mut Rng, keys: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..2 + r.below(3) {
        let q = if !keys.is_empty() && r.chance(70) {
            let k = r.pick(keys).clone();
            let k = k
                .strip_prefix("https://")
                .or_else(|| k.strip_prefix("http://"))
                .map(|rest| rest.split('/').next().unwrap().to_string())
                .unwrap_or(k);
            match r.below(4) {
                0 => format!("{k}/{}", r.pick(NAMESPACES)),
                1 => k.split('/').next().unwrap().to_string(),
                _ => k,
            }
        } else if r.chance(30) {
            format!(
                "docker.io/{}",
                r.pick(&["library/nginx", "org/repo", "library"])
            )
        } else {
            format!("{}/{}", r.pick(HOSTS), r.pick(NAMESPACES))
        };
        out.push(q);
    }
    out
}

fn gen_containers(r: &mut Rng, case: &mut Case) {
    let mut n = 0;
    let mut keys = Vec::new();
    let opts = FileOpts {
        namespaced: true,
        malformed: r.chance(40),
        legacy: false,
        helpers_pct: 12,
        store_pct: 0,
    };
    case.env.insert("XDG_RUNTIME_DIR".into(), "{R}/run".into());
    if r.chance(20) {
        case.env
            .insert("XDG_CONFIG_HOME".into(), "{R}/xdgconf".into());
    }
    let config_home = case
        .env
        .get("XDG_CONFIG_HOME")
        .cloned()
        .unwrap_or_else(|| "{R}/home/.config".into());
    let docker_dir = if r.chance(20) {
        case.env
            .insert("DOCKER_CONFIG".into(), "{R}/dockerdir".into());
        "{R}/dockerdir".to_string()
    } else {
        "{R}/home/.docker".to_string()
    };
    let mut paths = vec![
        "{R}/run/containers/auth.json".to_string(),
        format!("{config_home}/containers/auth.json"),
        format!("{docker_dir}/config.json"),
    ];
    if r.chance(10) {
        case.env
            .insert("REGISTRY_AUTH_FILE".into(), "{R}/explicit/auth.json".into());
        paths.push("{R}/explicit/auth.json".into());
    }
    for p in paths {
        if r.chance(55) {
            let (v, k) = auth_file(r, &mut n, opts);
            keys.extend(k);
            let bytes = if r.chance(2) {
                Vec::new()
            } else {
                to_bytes(&v)
            };
            case.files.push((p, bytes));
        }
    }
    if r.chance(30) {
        let (v, k) = auth_file(
            r,
            &mut n,
            FileOpts {
                legacy: true,
                ..opts
            },
        );
        keys.extend(k);
        case.files
            .push(("{R}/home/.dockercfg".into(), to_bytes(&v)));
    }
    if r.chance(15) {
        let helpers = *r.pick(&[
            r#"["containers-auth.json"]"#,
            r#"["dfake", "containers-auth.json"]"#,
            r#"["containers-auth.json", "dnf"]"#,
            r#"["dnf", "containers-auth.json"]"#,
            r#"["derr", "containers-auth.json"]"#,
            r#"["containers-auth.json", "dtok"]"#,
            r#"[]"#,
        ]);
        case.files.push((
            "{R}/root/etc/containers/registries.conf".into(),
            format!("credential-helpers = {helpers}\n").into_bytes(),
        ));
    }
    case.get = containers_queries(r, &keys);
    case.list = r.chance(30);
}

fn gen_docker(r: &mut Rng, case: &mut Case) {
    let mut n = 0;
    let opts = FileOpts {
        namespaced: r.chance(20),
        malformed: r.chance(25),
        legacy: false,
        helpers_pct: 35,
        store_pct: 25,
    };
    let dir = if r.chance(25) {
        case.env
            .insert("DOCKER_CONFIG".into(), "{R}/dockerdir".into());
        "{R}/dockerdir"
    } else {
        "{R}/home/.docker"
    };
    let (v, keys) = auth_file(r, &mut n, opts);
    case.files
        .push((format!("{dir}/config.json"), to_bytes(&v)));
    let mut get = Vec::new();
    for _ in 0..2 + r.below(3) {
        let q = if !keys.is_empty() && r.chance(60) {
            r.pick(&keys).clone()
        } else if r.chance(40) {
            r.pick(&[
                "https://index.docker.io/v1/",
                "docker.io",
                "index.docker.io",
            ])
            .to_string()
        } else {
            r.pick(HOSTS).to_string()
        };
        get.push(q);
    }
    case.get = get;
    case.list = r.chance(40);
}

const PREFIXES: &[&str] = &[
    "example.com",
    "example.com/foo",
    "example.com/foo/bar",
    "*.example.com",
    "*.sub.example.com",
    "a.sub.example.com",
    "docker.io",
    "docker.io/library/nginx",
    "quay.io",
    "quay.io/org",
    "reg.example.com:5000",
    "registry.example.com/tools",
];
const LOCATIONS: &[&str] = &[
    "internal.example.net",
    "internal.example.net/mirror",
    "mirror.local:5000/cache",
    "quay.io",
    "registry.example.com",
];
const MIRRORS: &[&str] = &[
    "mirror.example.com",
    "mirror.local:5000/cache",
    "internal.example.net/hub",
    "quay.io/mirror",
];
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// One `[[registry]]` table in TOML.
fn registry_toml(r: &mut Rng) -> String {
    let prefix = *r.pick(PREFIXES);
    let mut t = format!("[[registry]]\nprefix = \"{prefix}\"\n");
    let wildcard = prefix.starts_with("*.");
    if !wildcard || r.chance(50) {
        let loc = if r.chance(30) {
            prefix.to_string()
        } else {
            r.pick(LOCATIONS).to_string()
        };
        if !loc.starts_with("*.") {
            t += &format!("location = \"{loc}\"\n");
        }
    }
    if r.chance(15) {
        t += "blocked = true\n";
    }
    if r.chance(15) {
        t += "insecure = true\n";
    }
    let by_digest = r.chance(10);
    if by_digest {
        t += "mirror-by-digest-only = true\n";
    }
    for _ in 0..r.weighted(&[(50, 0), (35, 1), (15, 2)]) {
        t += &format!("[[registry.mirror]]\nlocation = \"{}\"\n", r.pick(MIRRORS));
        if r.chance(20) {
            t += "insecure = true\n";
        }
        if !by_digest && r.chance(40) {
            t += &format!(
                "pull-from-mirror = \"{}\"\n",
                r.pick(&["all", "digest-only", "tag-only"])
            );
        }
    }
    t
}

/// A registries.conf (or drop-in): search registries, aliases, mode, tables.
fn registries_toml(r: &mut Rng) -> String {
    let mut t = String::new();
    if r.chance(40) {
        let n = r.below(3);
        let regs: Vec<String> = (0..n)
            .map(|_| {
                format!(
                    "\"{}\"",
                    r.pick(&["docker.io", "quay.io", "registry.example.com"])
                )
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        t += &format!("unqualified-search-registries = [{}]\n", regs.join(", "));
    }
    if r.chance(10) {
        t += &format!(
            "short-name-mode = \"{}\"\n",
            r.pick(&["enforcing", "permissive", "disabled"])
        );
    }
    let mut tables = String::new();
    let mut seen = BTreeSet::new();
    for _ in 0..r.below(4) {
        let table = registry_toml(r);
        // Repeated prefixes in one file: the first wins in both; keep the files simple.
        let prefix = table.lines().nth(1).unwrap().to_string();
        if seen.insert(prefix) {
            tables += &table;
        }
    }
    if r.chance(30) {
        t += "[aliases]\n";
        let mut names = BTreeSet::new();
        for _ in 0..1 + r.below(2) {
            let (name, value) = *r.pick(&[
                ("nginx", "docker.io/library/nginx"),
                ("myapp", "quay.io/org/myapp"),
                ("tool", "registry.example.com/tools/tool"),
                ("nginx", ""),
                ("app", "example.com/foo/app"),
            ]);
            if names.insert(name) {
                t += &format!("\"{name}\" = \"{value}\"\n");
            }
        }
    }
    t + &tables
}

fn gen_registries(r: &mut Rng, case: &mut Case) {
    case.env.insert("XDG_RUNTIME_DIR".into(), "{R}/run".into());
    let sys = "{R}/root/etc/containers";
    let user = "{R}/home/.config/containers";
    if r.chance(75) {
        let t = registries_toml(r);
        case.files
            .push((format!("{sys}/registries.conf"), t.into_bytes()));
    }
    for i in 0..r.weighted(&[(50, 0), (30, 1), (20, 2)]) {
        let t = registries_toml(r);
        let name = *r.pick(&["10-a.conf", "50-b.conf", "9-c.conf", "99-z.conf"]);
        let _ = i;
        case.files
            .push((format!("{sys}/registries.conf.d/{name}"), t.into_bytes()));
    }
    if r.chance(20) {
        let t = registries_toml(r);
        case.files
            .push((format!("{user}/registries.conf"), t.into_bytes()));
    }
    for _ in 0..r.weighted(&[(70, 0), (30, 1)]) {
        let t = registries_toml(r);
        let name = *r.pick(&["20-u.conf", "50-b.conf"]);
        case.files
            .push((format!("{user}/registries.conf.d/{name}"), t.into_bytes()));
    }
    if r.chance(10) {
        let t = registries_toml(r);
        case.files.push(("{R}/custom.conf".into(), t.into_bytes()));
        case.env.insert(
            "CONTAINERS_REGISTRIES_CONF".into(),
            "{R}/custom.conf".into(),
        );
    }
    if r.chance(15) {
        let v = *r.pick(&["docker.io/library/nginx", "quay.io/cached/nginx", ""]);
        case.files.push((
            "{R}/home/.cache/containers/short-name-aliases.conf".into(),
            format!("[aliases]\n\"nginx\" = \"{v}\"\n").into_bytes(),
        ));
    }
    // Credentials for some pull sources.
    let mut auths = serde_json::Map::new();
    for (i, k) in [
        "mirror.example.com",
        "internal.example.net",
        "quay.io/org",
        "docker.io",
        "example.com",
        "mirror.local:5000",
        "registry.example.com",
    ]
    .iter()
    .enumerate()
    {
        if r.chance(45) {
            auths.insert(k.to_string(), entry_json(Entry::Basic, i));
        }
    }
    case.files.push((
        "{R}/run/containers/auth.json".into(),
        to_bytes(&json!({ "auths": auths })),
    ));
    let mut inputs = Vec::new();
    for _ in 0..1 + r.below(3) {
        let repo = *r.pick(&[
            "nginx",
            "nginx:1.25",
            "myapp",
            "tool:v1",
            "app",
            "library/nginx",
            "docker.io/library/nginx:latest",
            "docker.io/nginx",
            "docker.io/library/nginx:1",
            "quay.io/org/myapp:tag",
            "quay.io/other/x",
            "example.com/foo/bar:1",
            "example.com/foo",
            "example.com:5000/foo:tag",
            "a.example.com/x",
            "x.sub.example.com:5000/y:tag",
            "b.a.sub.example.com/z",
            "reg.example.com:5000/app",
            "registry.example.com/tools/tool:v1",
        ]);
        let with_digest = r.chance(25);
        inputs.push(if with_digest {
            format!("{repo}@{DIGEST}")
        } else {
            repo.to_string()
        });
    }
    case.resolve = inputs;
}

/// The case of `seed`.
fn gen_case(seed: u64) -> Case {
    let mut r = Rng(seed);
    let kind = r.weighted(&[
        (45, Kind::Containers),
        (30, Kind::Docker),
        (25, Kind::Registries),
    ]);
    let mut case = Case {
        seed,
        kind,
        files: Vec::new(),
        env: BTreeMap::new(),
        get: Vec::new(),
        list: false,
        resolve: Vec::new(),
    };
    case.env.insert("HOME".into(), "{R}/home".into());
    match kind {
        Kind::Containers => gen_containers(&mut r, &mut case),
        Kind::Docker => gen_docker(&mut r, &mut case),
        Kind::Registries => gen_registries(&mut r, &mut case),
    }
    case
}

// ---------------------------------------------------------------------------------------------
// Running a batch.

/// What one lookup answered, on either side.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Cred {
    Found { user: String, secret: String },
    None,
    Error(String),
}

impl Cred {
    fn from_oracle(v: &Value) -> Cred {
        if let Some(e) = v.get("error").and_then(Value::as_str) {
            return Cred::Error(e.to_string());
        }
        if v.get("none").and_then(Value::as_bool) == Some(true) {
            return Cred::None;
        }
        Cred::Found {
            user: v["user"].as_str().unwrap_or("").to_string(),
            secret: v["secret"].as_str().unwrap_or("").to_string(),
        }
    }
    fn user(&self) -> Option<&str> {
        match self {
            Cred::Found { user, .. } => Some(user),
            _ => None,
        }
    }
}

/// Where the fake helpers and the case directories live for one run.
struct Workspace {
    dir: tempfile::TempDir,
    path_var: String,
}

impl Workspace {
    fn new() -> Workspace {
        // Thousands of small files: in memory when the machine has a tmpfs for it.
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = tempfile::Builder::new()
            .prefix("ocicred-diff")
            .tempdir_in(base)
            .or_else(|_| tempfile::Builder::new().prefix("ocicred-diff").tempdir())
            .unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let helper = repo().join("tests/tools/differential-helper");
        for name in HELPERS {
            std::os::unix::fs::symlink(&helper, bin.join(format!("docker-credential-{name}")))
                .unwrap();
        }
        let path_var = format!("{}:/usr/bin:/bin", bin.display());
        Workspace { dir, path_var }
    }

    fn case_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("c{i}"))
    }
}

fn fill(s: &str, root: &Path) -> String {
    s.replace("{R}", &root.display().to_string())
}

/// Writes a case's files under `root`; returns its environment with `{R}` filled in.
fn materialise(case: &Case, root: &Path, ws: &Workspace) -> BTreeMap<String, String> {
    std::fs::create_dir_all(root.join("home")).unwrap();
    std::fs::create_dir_all(root.join("run")).unwrap();
    for (p, bytes) in &case.files {
        let p = PathBuf::from(fill(p, root));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
    }
    // containers/image reads the runtime auth file as <root>/run/containers/<uid>/auth.json
    // once a root for system paths is set: point that at $XDG_RUNTIME_DIR's.
    let uid = std::fs::metadata(root).map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid()
    });
    let per_uid = root.join(format!("root/run/containers/{}", uid.unwrap()));
    std::fs::create_dir_all(&per_uid).unwrap();
    std::os::unix::fs::symlink(
        root.join("run/containers/auth.json"),
        per_uid.join("auth.json"),
    )
    .unwrap();
    let mut env: BTreeMap<String, String> = case
        .env
        .iter()
        .map(|(k, v)| (k.clone(), fill(v, root)))
        .collect();
    env.insert("PATH".into(), ws.path_var.clone());
    env
}

fn ocicred_env(vars: &BTreeMap<String, String>, root: &Path) -> Env {
    let p = |k: &str| vars.get(k).map(PathBuf::from);
    Env {
        home: p("HOME"),
        uid: std::fs::metadata(root)
            .map(|m| {
                use std::os::unix::fs::MetadataExt;
                m.uid()
            })
            .unwrap(),
        xdg_runtime_dir: p("XDG_RUNTIME_DIR"),
        xdg_config_home: p("XDG_CONFIG_HOME"),
        xdg_cache_home: p("XDG_CACHE_HOME"),
        docker_config: p("DOCKER_CONFIG"),
        registry_auth_file: p("REGISTRY_AUTH_FILE"),
        containers_registries_conf: p("CONTAINERS_REGISTRIES_CONF"),
        sysconfdir: Some(root.join("root/etc")),
        path: vars.get("PATH").map(Into::into),
        ..Env::default()
    }
}

/// Runs ocicred in-process with `args` and `stdin`: (exit code, stdout).
fn run_lib(env: &Env, args: &[&str], stdin: &[u8]) -> (i32, String) {
    let mut input = stdin;
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = ocicred::cli::run(
        env,
        args.iter().map(Into::into).collect(),
        ocicred::cli::Io {
            stdin: &mut input,
            stdout: &mut out,
            stderr: &mut err,
        },
    );
    (code, String::from_utf8_lossy(&out).into_owned())
}

/// Runs the built binary with the case's environment: (exit code, stdout).
fn run_bin(
    vars: &BTreeMap<String, String>,
    root: &Path,
    args: &[&str],
    stdin: &[u8],
) -> (i32, String) {
    let bin = root.join("ocicred-bin");
    if !bin.exists() {
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(ocicred_bin(), bin.join("docker-credential-ocicred")).unwrap();
        std::os::unix::fs::symlink(ocicred_bin(), bin.join("ocicred")).unwrap();
    }
    let mut c = Command::new(bin.join(args[0]));
    c.args(&args[1..]).env_clear().envs(vars);
    c.env("OCICRED_SYSCONFDIR", root.join("root/etc"));
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn get_answer(code: i32, out: &str) -> Cred {
    if code == 0 {
        let v: Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out:?}"));
        return Cred::Found {
            user: v["Username"].as_str().unwrap().to_string(),
            secret: v["Secret"].as_str().unwrap().to_string(),
        };
    }
    if out == NOT_FOUND {
        return Cred::None;
    }
    Cred::Error(out.trim().to_string())
}

/// What ocicred answered for one case.
#[derive(Debug, Default)]
struct Ours {
    get: Vec<Cred>,
    /// docker `list`: key → user, or an error.
    list: Option<Result<BTreeMap<String, String>, String>>,
    resolve: Vec<Result<Value, String>>,
}

type Runner<'a> = &'a dyn Fn(&[&str], &[u8]) -> (i32, String);

fn ask_ocicred(case: &Case, run: Runner<'_>) -> Ours {
    let mut ours = Ours::default();
    for q in &case.get {
        let (code, out) = run(&["docker-credential-ocicred", "get"], q.as_bytes());
        ours.get.push(get_answer(code, &out));
    }
    if case.list {
        let (code, out) = run(&["docker-credential-ocicred", "list"], b"");
        ours.list = Some(if code == 0 {
            let v: BTreeMap<String, String> = serde_json::from_str(&out).unwrap();
            Ok(v)
        } else {
            Err(out)
        });
    }
    for img in &case.resolve {
        let (code, out) = run(&["ocicred", "resolve", "--json", img], b"");
        ours.resolve.push(if code == 0 {
            Ok(serde_json::from_str(&out).unwrap())
        } else {
            Err(out)
        });
    }
    ours
}

/// Runs `oracle` on every case line (one process, stdin written from a thread); its answers.
fn ask_oracle(oracle: &str, lines: Vec<String>) -> Vec<Value> {
    let bin = go_tool(oracle);
    let mut child = Command::new(&bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for l in lines {
            stdin.write_all(l.as_bytes()).unwrap();
            stdin.write_all(b"\n").unwrap();
        }
    });
    let out: Vec<Value> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    writer.join().unwrap();
    assert!(child.wait().unwrap().success(), "{oracle} failed");
    out
}

// ---------------------------------------------------------------------------------------------
// Comparing.

/// The deviations ocicred keeps on purpose; each is written up in the README ("Where ocicred
/// differs from the tools it replaces") and pinned by a test in this file.
const DEVIATIONS: &[(&str, &str)] = &[
    (
        "bad-entry-skipped",
        "an `auth` that is not base64 user:password is skipped (README.md#where-credentials-are-looked-up); docker refuses the whole file, containers/image and oras-go fail the lookup on bad base64",
    ),
    (
        "token-only-entry",
        "an entry holding only `identitytoken` is used; containers/image ignores it",
    ),
    (
        "empty-file",
        "a 0-byte auth file counts as empty (docs/protocol.md#the-docker-credential-helper-protocol); containers/image fails every lookup",
    ),
    (
        "creds-store-then-auths",
        "with `credsStore`, an `auths` entry is still used when the store has nothing (README.md#where-credentials-are-looked-up); docker and oras-go ask only the store",
    ),
    (
        "hub-spellings",
        "every Docker Hub spelling names one registry (docs/protocol.md#the-docker-credential-helper-protocol); docker and oras-go match only `https://index.docker.io/v1/`",
    ),
    (
        "namespaced-key-not-host",
        "a namespaced key never answers for its bare host; docker and oras-go take `host/ns` as `host` (the first in random map order)",
    ),
    (
        "normalised-key-choice",
        "of several keys that normalise to one host, the exact spelling, then the first in the file wins; the Go tools pick one at random",
    ),
    (
        "username-password-fields",
        "an entry's `username`/`password` fields are read when it has no `auth` (docker and oras-go read them); containers/image ignores them",
    ),
    (
        "helper-sees-host",
        "a helper is asked for the bare host (README.md#where-credentials-are-looked-up); docker and oras-go pass a `credHelpers` key such as `https://h/v2/` as written",
    ),
    (
        "helper-keys-normalised",
        "a `credHelpers` key and the address asked are both normalised (README.md#where-credentials-are-looked-up), so `http://h` finds the helper of `h`; docker and oras-go compare the strings",
    ),
    (
        "list-own-entries",
        "`list` names only what ocicred's own files hold (docs/protocol.md#the-docker-credential-helper-protocol); containers/image also lists and asks every helper",
    ),
    (
        "blocked-remapped",
        "a `blocked` prefix is enforced even when it is remapped to another location; containers/image checks only the rewritten name",
    ),
    (
        "registries-layout",
        "registries.conf files are found as the README says (containers/image <= 5.41); 5.42 reads drop-ins from every directory and none with CONTAINERS_REGISTRIES_CONF",
    ),
];

/// The comparison of one run.
#[derive(Default)]
struct Tally {
    /// oracle → (questions compared, answers that agreed).
    compared: BTreeMap<&'static str, (usize, usize)>,
    /// (oracle, deviation) → count.
    deviations: BTreeMap<(&'static str, &'static str), usize>,
    mismatches: Vec<String>,
    failing_seeds: BTreeSet<u64>,
    cases: usize,
    /// Seconds spent writing files, in ocicred, and waiting for the oracles after it.
    timing: [f64; 4],
}

impl Tally {
    fn record(
        &mut self,
        oracle: &'static str,
        case: &Case,
        what: &str,
        ours: &dyn std::fmt::Debug,
        theirs: &dyn std::fmt::Debug,
        outcome: Outcome,
    ) {
        let c = self.compared.entry(oracle).or_default();
        c.0 += 1;
        match outcome {
            Outcome::Agree => c.1 += 1,
            Outcome::Deviation(name) => {
                assert!(DEVIATIONS.iter().any(|(n, _)| *n == name), "{name}");
                *self.deviations.entry((oracle, name)).or_default() += 1;
            }
            Outcome::Mismatch => {
                self.failing_seeds.insert(case.seed);
                if self.mismatches.len() < 30 {
                    self.mismatches.push(format!(
                        "seed {:#x} ({:?}) {oracle} {what}: ocicred {ours:?} vs {theirs:?}",
                        case.seed, case.kind
                    ));
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Agree,
    Deviation(&'static str),
    Mismatch,
}

/// Facts about a case's files that the deviation rules look at.
struct Facts {
    /// Every `auths` entry: (file, key as written, entry kind as JSON).
    entries: Vec<(String, String, Value)>,
    empty_file: bool,
    creds_store: bool,
    /// Some helper is configured (`credHelpers`, `credsStore`, registries.conf).
    helpers: bool,
    /// The `credHelpers` keys.
    helper_keys: BTreeSet<String>,
    /// A helper that fails (`derr`) is configured.
    failing_helper: bool,
    /// registries.conf `credential-helpers` names an external helper.
    conf_helpers: bool,
}

fn facts(case: &Case) -> Facts {
    let mut f = Facts {
        entries: Vec::new(),
        empty_file: false,
        creds_store: false,
        helpers: false,
        helper_keys: BTreeSet::new(),
        failing_helper: false,
        conf_helpers: false,
    };
    for (p, bytes) in &case.files {
        if p.ends_with(".conf") && String::from_utf8_lossy(bytes).contains("\"d") {
            f.helpers = true;
            f.conf_helpers = true;
        }
        if String::from_utf8_lossy(bytes).contains("\"derr\"") {
            f.failing_helper = true;
        }
        if !p.ends_with(".json") && !p.ends_with(".dockercfg") {
            continue;
        }
        if bytes.is_empty() {
            f.empty_file = true;
            continue;
        }
        let v: Value = serde_json::from_slice(bytes).unwrap();
        let auths = if p.ends_with(".dockercfg") {
            v.as_object()
        } else {
            v.get("auths").and_then(Value::as_object)
        };
        if v.get("credsStore").is_some() {
            f.creds_store = true;
            f.helpers = true;
        }
        if let Some(h) = v.get("credHelpers").and_then(Value::as_object) {
            f.helpers = true;
            f.helper_keys.extend(h.keys().cloned());
        }
        for (k, e) in auths.into_iter().flatten() {
            f.entries.push((p.clone(), k.clone(), e.clone()));
        }
    }
    f
}

fn is_malformed(e: &Value) -> bool {
    let Some(auth) = e.get("auth").and_then(Value::as_str) else {
        return false;
    };
    match STANDARD.decode(auth) {
        Err(_) => true,
        // No colon, or no user name (docker refuses both, ":" included).
        Ok(b) => {
            let s = String::from_utf8_lossy(&b);
            !s.contains(':') || s.starts_with(':')
        }
    }
}

fn is_token_only(e: &Value) -> bool {
    e.get("identitytoken").is_some() && e.get("auth").is_none()
}

/// The host[:port] a key names, as ocicred normalises it (scheme, path and case dropped; the
/// Docker Hub spellings as `docker.io`).
fn host_of(key: &str) -> String {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"));
    let host = match rest {
        Some(r) => r.split('/').next().unwrap(),
        None => key.split('/').next().unwrap(),
    }
    .to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".into()
        }
        _ => host,
    }
}

/// Why ocicred and an oracle may answer one lookup differently.
fn classify_get(
    oracle: &'static str,
    case: &Case,
    f: &Facts,
    q: &str,
    ours: &Cred,
    theirs: &Cred,
) -> Outcome {
    match (ours, theirs) {
        // Error texts differ by design (each tool words its own); that both fail agrees.
        (Cred::Error(_), Cred::Error(_)) => return Outcome::Agree,
        _ if ours == theirs => return Outcome::Agree,
        _ => {}
    }
    let qhost = host_of(q);
    let related: Vec<&(String, String, Value)> = f
        .entries
        .iter()
        .filter(|(_, k, _)| host_of(k) == qhost)
        .collect();
    // docker refuses a file with any bad entry; oras-go and containers/image fail on a bad
    // entry they reach.
    if matches!(theirs, Cred::Error(_))
        && f.entries.iter().any(|(_, _, e)| is_malformed(e))
        && (oracle == "docker" || related.iter().any(|(_, _, e)| is_malformed(e)))
    {
        return Outcome::Deviation("bad-entry-skipped");
    }
    // containers/image fails on a 0-byte file and goes on with the next `credential-helpers`
    // entry, if any.
    if oracle == "containers" && f.empty_file {
        return Outcome::Deviation("empty-file");
    }
    if related.iter().any(|(_, _, e)| is_token_only(e)) && ours.user() == Some("<token>") {
        return Outcome::Deviation("token-only-entry");
    }
    if oracle == "containers"
        && ours.user().is_some()
        && related.iter().any(|(_, _, e)| e.get("username").is_some())
    {
        return Outcome::Deviation("username-password-fields");
    }
    // The helper was asked for the bare host, not the address as written
    // (README.md#where-credentials-are-looked-up).
    if let (
        Cred::Found {
            user: a,
            secret: sa,
        },
        Cred::Found {
            user: b,
            secret: sb,
        },
    ) = (ours, theirs)
        && a == b
        && [("dfake-", "dfake-"), ("dtok-", "dtok-")]
            .iter()
            .any(|(p, _)| {
                sa.starts_with(p)
                    && sb.starts_with(p)
                    && host_of(&sa[p.len()..]) == host_of(&sb[p.len()..])
            })
    {
        return Outcome::Deviation("helper-sees-host");
    }
    if qhost == "docker.io" {
        return Outcome::Deviation("hub-spellings");
    }
    if oracle != "containers" && f.helper_keys.iter().any(|h| host_of(h) == qhost && h != q) {
        return Outcome::Deviation("helper-keys-normalised");
    }
    if oracle != "containers" {
        if f.creds_store && matches!(theirs, Cred::None | Cred::Error(_)) && ours.user().is_some() {
            return Outcome::Deviation("creds-store-then-auths");
        }
        if related
            .iter()
            .any(|(_, k, _)| !k.contains("://") && k.contains('/'))
        {
            return Outcome::Deviation("namespaced-key-not-host");
        }
    }
    // Several spellings of one host in one file: the Go tools iterate a map.
    let mut per_file: BTreeMap<&str, usize> = BTreeMap::new();
    for (p, k, _) in &related {
        // In a legacy `.dockercfg` every key names a registry.
        if p.ends_with(".dockercfg") || !k.contains('/') || k.contains("://") {
            *per_file.entry(p.as_str()).or_default() += 1;
        }
    }
    if per_file.values().any(|n| *n > 1) {
        return Outcome::Deviation("normalised-key-choice");
    }
    let _ = case;
    Outcome::Mismatch
}

/// The registries.conf files each side reads, when they differ (README.md#registriesconf against
/// 5.42's configfile search).
fn layouts_differ(case: &Case) -> bool {
    let has = |p: &str| case.files.iter().any(|(f, _)| f == p);
    let dropins = |dir: &str| -> Vec<String> {
        let mut v: Vec<String> = case
            .files
            .iter()
            .filter_map(|(f, _)| f.strip_prefix(&format!("{dir}/")).map(str::to_string))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let sys = "{R}/root/etc/containers";
    let user = "{R}/home/.config/containers";
    let (sys_d, user_d) = (
        dropins(&format!("{sys}/registries.conf.d")),
        dropins(&format!("{user}/registries.conf.d")),
    );
    let full = |dir: &str, names: &[String]| -> Vec<String> {
        names
            .iter()
            .map(|n| format!("{dir}/registries.conf.d/{n}"))
            .collect()
    };
    let env = case.env.contains_key("CONTAINERS_REGISTRIES_CONF");
    // README.md#registriesconf.
    let ours: Vec<String> = if env {
        [
            vec!["env".to_string()],
            full(sys, &sys_d),
            full(user, &user_d),
        ]
        .concat()
    } else if has(&format!("{user}/registries.conf")) {
        [vec![format!("{user}/registries.conf")], full(user, &user_d)].concat()
    } else {
        [
            vec![format!("{sys}/registries.conf")],
            full(sys, &sys_d),
            full(user, &user_d),
        ]
        .concat()
    };
    // 5.42: the first main file that exists; drop-ins merged by name, the user's first.
    let theirs: Vec<String> = if env {
        vec!["env".to_string()]
    } else {
        let main = if has(&format!("{user}/registries.conf")) {
            format!("{user}/registries.conf")
        } else {
            format!("{sys}/registries.conf")
        };
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        for n in &sys_d {
            names.insert(n.clone(), format!("{sys}/registries.conf.d/{n}"));
        }
        for n in &user_d {
            names.insert(n.clone(), format!("{user}/registries.conf.d/{n}"));
        }
        [vec![main], names.into_values().collect()].concat()
    };
    ours != theirs
}

fn cred_user(v: &Value) -> Option<String> {
    v.get("username")
        .or_else(|| v.get("user"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Compares one `resolve --json` with the oracle's resolution.
fn compare_resolve(
    case: &Case,
    ours: &Result<Value, String>,
    theirs: &Value,
    root: &Path,
) -> Outcome {
    if layouts_differ(case) {
        return Outcome::Deviation("registries-layout");
    }
    let their_err = theirs.get("error").is_some();
    let ours = match ours {
        Err(_) => {
            return if their_err {
                Outcome::Agree
            } else {
                Outcome::Mismatch
            };
        }
        Ok(v) => v,
    };
    if their_err {
        return Outcome::Mismatch;
    }
    let root_s = root.display().to_string();
    let norm = |v: &Value| -> Value {
        serde_json::from_str(&v.to_string().replace(&root_s, "{R}")).unwrap()
    };
    let (o, t) = (norm(ours), norm(theirs));
    for k in ["reference", "alias", "candidates"] {
        if o[k] != t[k] {
            return Outcome::Mismatch;
        }
    }
    let mut oreg = o["registry"].clone();
    let treg = &t["registry"];
    let blocked_differs =
        oreg.is_object() && treg.is_object() && oreg["blocked"] != treg["blocked"];
    if blocked_differs && oreg["blocked"] == json!(true) {
        oreg["blocked"] = treg["blocked"].clone();
        if oreg == *treg {
            return Outcome::Deviation("blocked-remapped");
        }
    }
    if oreg != *treg {
        return Outcome::Mismatch;
    }
    let (os, ts) = (
        o["pull_sources"].as_array().unwrap(),
        t["pull_sources"].as_array().unwrap(),
    );
    if os.len() != ts.len() {
        return Outcome::Mismatch;
    }
    let blocked = oreg.get("blocked") == Some(&json!(true));
    for (a, b) in os.iter().zip(ts) {
        // containers/image's endpoint for a `*.` prefix without a location is "" (no
        // rewrite); ocicred shows the host the reference names.
        let mut b = b.clone();
        if b["location"] == json!("") {
            let r = b["reference"].as_str().unwrap_or("");
            b["location"] = json!(r.split('/').next().unwrap_or(""));
        }
        let b = &b;
        for k in ["location", "reference", "insecure"] {
            if a[k] != b[k] {
                return Outcome::Mismatch;
            }
        }
        if blocked {
            continue; // a blocked reference gets no credential from ocicred (README.md#registriesconf)
        }
        let theirs_user = if b["credential"].get("none").is_some() {
            None
        } else {
            cred_user(&b["credential"])
        };
        if cred_user(&a["credential"]) != theirs_user {
            return Outcome::Mismatch;
        }
    }
    Outcome::Agree
}

/// Runs `cases` and adds what they show to `tally`.
fn run_cases(all: Vec<Case>, tally: &mut Tally) {
    let ws = Workspace::new();
    let mut all = all.into_iter().peekable();
    let mut chunk_no = 0;
    while all.peek().is_some() {
        let cases: Vec<Case> = all.by_ref().take(BATCH).collect();
        let t0 = Instant::now();
        let mut envs = Vec::new();
        let (mut containers, mut docker, mut oras) = (Vec::new(), Vec::new(), Vec::new());
        for (i, case) in cases.iter().enumerate() {
            let root = ws.case_dir(chunk_no * BATCH + i);
            let vars = materialise(case, &root, &ws);
            let line = json!({
                "id": i, "env": vars, "root": root.join("root"),
                "get": case.get, "list": case.list, "resolve": case.resolve,
            })
            .to_string();
            match case.kind {
                Kind::Containers | Kind::Registries => containers.push(line),
                Kind::Docker => {
                    docker.push(line.clone());
                    oras.push(line);
                }
            }
            envs.push((root, vars));
        }
        tally.timing[0] += t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        // The three oracles run while ocicred answers in this thread.
        let c = std::thread::spawn(move || ask_oracle("cimage-oracle", containers));
        let d = std::thread::spawn(move || ask_oracle("docker-oracle", docker));
        let o = std::thread::spawn(move || ask_oracle("oras-oracle", oras));
        // ocicred answers on two threads (the machine has two cores; the oracles run beside).
        let answer = |i: usize, case: &Case, root: &PathBuf, vars: &BTreeMap<String, String>| {
            let env = ocicred_env(vars, root);
            let lib = ask_ocicred(case, &|args, stdin| run_lib(&env, args, stdin));
            if (chunk_no * BATCH + i).is_multiple_of(BINARY_EVERY) {
                let bin = ask_ocicred(case, &|args, stdin| run_bin(vars, root, args, stdin));
                assert_eq!(
                    format!("{bin:?}"),
                    format!("{lib:?}"),
                    "seed {:#x}: the binary and the library answer differently",
                    case.seed
                );
            }
            lib
        };
        let ours: Vec<Ours> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..THREADS)
                .map(|w| {
                    let (cases, envs, answer) = (&cases, &envs, &answer);
                    scope.spawn(move || {
                        (w..cases.len())
                            .step_by(THREADS)
                            .map(|i| (i, answer(i, &cases[i], &envs[i].0, &envs[i].1)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut all: Vec<(usize, Ours)> = workers
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect();
            all.sort_by_key(|(i, _)| *i);
            all.into_iter().map(|(_, o)| o).collect()
        });
        tally.timing[1] += t1.elapsed().as_secs_f64();
        let t2 = Instant::now();
        let (c, d, o) = (c.join().unwrap(), d.join().unwrap(), o.join().unwrap());
        tally.timing[2] += t2.elapsed().as_secs_f64();
        let (mut c, mut d, mut o) = (c.iter(), d.iter(), o.iter());
        for ((case, ours), (root, vars)) in cases.iter().zip(&ours).zip(&envs) {
            tally.cases += 1;
            let f = facts(case);
            let mut answers: Vec<(&'static str, &Value)> = Vec::new();
            match case.kind {
                Kind::Containers | Kind::Registries => {
                    answers.push(("containers", c.next().unwrap()))
                }
                Kind::Docker => {
                    answers.push(("docker", d.next().unwrap()));
                    answers.push(("oras", o.next().unwrap()));
                }
            }
            for (oracle, theirs) in answers {
                for ((q, mine), t) in case
                    .get
                    .iter()
                    .zip(&ours.get)
                    .zip(theirs["get"].as_array().unwrap())
                {
                    let t = Cred::from_oracle(t);
                    let outcome = classify_get(oracle, case, &f, q, mine, &t);
                    tally.record(oracle, case, &format!("get {q}"), mine, &t, outcome);
                }
                if let (Some(mine), Some(t)) = (&ours.list, theirs.get("list")) {
                    let env = ocicred_env(vars, root);
                    let get = |k: &str| {
                        let (code, out) =
                            run_lib(&env, &["docker-credential-ocicred", "get"], k.as_bytes());
                        get_answer(code, &out)
                    };
                    compare_list(oracle, case, &f, mine, t, &get, tally);
                }
                for ((img, mine), t) in case
                    .resolve
                    .iter()
                    .zip(&ours.resolve)
                    .zip(theirs["resolve"].as_array().into_iter().flatten())
                {
                    let outcome = compare_resolve(case, mine, t, root);
                    tally.record(oracle, case, &format!("resolve {img}"), mine, t, outcome);
                }
            }
        }
        let t3 = Instant::now();
        for (root, _) in &envs {
            let _ = std::fs::remove_dir_all(root);
        }
        tally.timing[3] += t3.elapsed().as_secs_f64();
        chunk_no += 1;
    }
}

/// `list` against `GetAllCredentials`. containers/image: the same keys with the same users.
/// docker: every credential docker lists is what ocicred's `get` of that key answers (docker
/// lists its file's raw keys, a different question from a helper's `list`).
fn compare_list(
    oracle: &'static str,
    case: &Case,
    f: &Facts,
    mine: &Result<BTreeMap<String, String>, String>,
    theirs: &Value,
    get: &dyn Fn(&str) -> Cred,
    tally: &mut Tally,
) {
    let their_err = theirs.get("error").and_then(Value::as_str).is_some();
    let their_keys: BTreeMap<String, Cred> = theirs["keys"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), Cred::from_oracle(v)))
        .collect();
    if oracle == "docker" {
        if their_err {
            let outcome = if mine.is_err() {
                Outcome::Agree
            } else if f.entries.iter().any(|(_, _, e)| is_malformed(e)) {
                Outcome::Deviation("bad-entry-skipped")
            } else {
                Outcome::Mismatch
            };
            tally.record(oracle, case, "list", mine, theirs, outcome);
            return;
        }
        for (k, t) in their_keys.iter().filter(|(_, t)| t.user().is_some()) {
            let ours = get(k);
            // docker lists a `credHelpers` key whose helper fails with its file entry, while
            // its own get of that key fails, as ocicred's does.
            let outcome = if matches!(ours, Cred::Error(_)) && f.failing_helper {
                Outcome::Agree
            } else {
                classify_get(oracle, case, f, k, &ours, t)
            };
            tally.record(
                oracle,
                case,
                &format!("list then get {k}"),
                &ours,
                t,
                outcome,
            );
        }
        return;
    }
    let outcome = match (mine, their_err) {
        (Err(_), true) => Outcome::Agree,
        (Ok(_), true) if f.empty_file => Outcome::Deviation("empty-file"),
        (Ok(_), true) if f.helpers => Outcome::Deviation("list-own-entries"),
        (Ok(_), true) if f.entries.iter().any(|(_, _, e)| is_malformed(e)) => {
            Outcome::Deviation("bad-entry-skipped")
        }
        (Ok(mine), false) => list_outcome(oracle, case, f, mine, &their_keys),
        _ => Outcome::Mismatch,
    };
    tally.record(oracle, case, "list", mine, theirs, outcome);
}

fn list_outcome(
    oracle: &'static str,
    case: &Case,
    f: &Facts,
    mine: &BTreeMap<String, String>,
    theirs: &BTreeMap<String, Cred>,
) -> Outcome {
    let keys: BTreeSet<&String> = mine.keys().chain(theirs.keys()).collect();
    let mut found = Outcome::Agree;
    for k in keys {
        let a = mine.get(k).map_or(Cred::None, |u| Cred::Found {
            user: u.clone(),
            secret: String::new(),
        });
        let b = theirs.get(k).map_or(Cred::None, |c| match c.user() {
            Some(u) => Cred::Found {
                user: u.to_string(),
                secret: String::new(),
            },
            None => Cred::None,
        });
        if a == b {
            continue;
        }
        if f.conf_helpers
            || f.helper_keys.iter().any(|h| host_of(h) == host_of(k))
            || k == "dfake-listed.example"
        {
            found = Outcome::Deviation("list-own-entries");
            continue;
        }
        match classify_get(oracle, case, f, k, &a, &b) {
            Outcome::Mismatch => return Outcome::Mismatch,
            d => found = d,
        }
    }
    found
}

fn report(tally: &Tally, label: &str, secs: f64) {
    eprintln!(
        "differential ({label}): {} cases in {secs:.1} s (files {:.1} s, ocicred {:.1} s, then oracles {:.1} s, clean-up {:.1} s)",
        tally.cases, tally.timing[0], tally.timing[1], tally.timing[2], tally.timing[3]
    );
    for (oracle, (n, agreed)) in &tally.compared {
        eprintln!("  {oracle}: {n} answers compared, {agreed} agreed");
    }
    for ((oracle, name), n) in &tally.deviations {
        eprintln!("  {oracle}: deviation {name}: {n}");
    }
    for m in &tally.mismatches {
        eprintln!("  MISMATCH {m}");
    }
}

impl Case {
    /// The case as a fixture for `testdata/differential/`.
    fn to_fixture(&self, note: &str) -> Value {
        json!({
            "note": note,
            "seed": format!("{:#x}", self.seed),
            "kind": format!("{:?}", self.kind),
            "env": self.env,
            "files": self.files.iter().map(|(p, b)| json!([p, String::from_utf8_lossy(b)])).collect::<Vec<_>>(),
            "get": self.get,
            "list": self.list,
            "resolve": self.resolve,
        })
    }

    fn from_fixture(v: &Value) -> Case {
        let strings = |k: &str| -> Vec<String> {
            v[k].as_array()
                .into_iter()
                .flatten()
                .map(|x| x.as_str().unwrap().to_string())
                .collect()
        };
        Case {
            seed: u64::from_str_radix(v["seed"].as_str().unwrap().trim_start_matches("0x"), 16)
                .unwrap(),
            kind: match v["kind"].as_str().unwrap() {
                "Containers" => Kind::Containers,
                "Docker" => Kind::Docker,
                "Registries" => Kind::Registries,
                k => panic!("kind {k}"),
            },
            files: v["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f[0].as_str().unwrap().to_string(),
                        f[1].as_str().unwrap().as_bytes().to_vec(),
                    )
                })
                .collect(),
            env: v["env"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, x)| (k.clone(), x.as_str().unwrap().to_string()))
                .collect(),
            get: strings("get"),
            list: v["list"].as_bool().unwrap_or(false),
            resolve: strings("resolve"),
        }
    }
}

/// The saved regressions: `testdata/differential/*.json`, one case each.
fn regressions() -> Vec<Case> {
    let dir = repo().join("testdata/differential");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    paths.sort();
    paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let v: Value = serde_json::from_slice(&std::fs::read(p).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            Case::from_fixture(&v)
        })
        .collect()
}

fn run_and_check(cases: Vec<Case>, label: &str) {
    let started = Instant::now();
    let mut tally = Tally::default();
    run_cases(cases, &mut tally);
    report(&tally, label, started.elapsed().as_secs_f64());
    assert!(
        tally.failing_seeds.is_empty(),
        "{} mismatches; the failing cases' seeds: {} (OCICRED_DIFF_SHOW=<seed> cargo test --test it \
         differential::show -- --ignored --nocapture prints one as a fixture for testdata/differential/)",
        tally.mismatches.len(),
        tally
            .failing_seeds
            .iter()
            .map(|s| format!("{s:#x}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
}

/// The fixed-seed run of `cargo test`, plus every saved regression.
#[test]
fn fixed_seed_cases_agree_with_the_reference_implementations() {
    let mut cases = regressions();
    assert!(!cases.is_empty(), "no fixtures in testdata/differential");
    cases.extend((0..FIXED_CASES).map(|i| gen_case(case_seed(FIXED_SEED, i))));
    run_and_check(cases, &format!("seed {FIXED_SEED:#x}"));
}

/// A long random campaign: `tests/differential.sh [--seed SEED] [--cases N]`
/// (`OCICRED_DIFF_SEED`, `OCICRED_DIFF_CASES`). Prints the failing case seeds.
#[test]
#[ignore = "long campaign: tests/differential.sh"]
fn campaign() {
    let seed = std::env::var("OCICRED_DIFF_SEED")
        .ok()
        .map(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex seed"))
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let n: usize = std::env::var("OCICRED_DIFF_CASES")
        .ok()
        .map(|s| s.parse().expect("a number of cases"))
        .unwrap_or(200_000);
    eprintln!("differential campaign: seed {seed:#x}, {n} cases");
    let cases = (0..n).map(|i| gen_case(case_seed(seed, i))).collect();
    run_and_check(cases, &format!("campaign seed {seed:#x}"));
}

#[test]
fn the_generator_is_deterministic() {
    for i in 0..50 {
        let s = case_seed(FIXED_SEED, i);
        assert_eq!(format!("{:?}", gen_case(s)), format!("{:?}", gen_case(s)));
    }
}

/// Prints the case of `OCICRED_DIFF_SHOW` (a hex case seed) as a fixture for
/// `testdata/differential/` (fill in its "note").
#[test]
#[ignore = "a tool: OCICRED_DIFF_SHOW=<seed> cargo test --test it differential::show -- --ignored --nocapture"]
fn show() {
    let seed = std::env::var("OCICRED_DIFF_SHOW").expect("OCICRED_DIFF_SHOW");
    let case = gen_case(u64::from_str_radix(seed.trim_start_matches("0x"), 16).unwrap());
    println!(
        "{}",
        serde_json::to_string_pretty(&case.to_fixture("")).unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// The deviations, pinned: each runs one hand-written case through ocicred and the oracle and
// asserts both sides, so that a change on either side is noticed.

const ALICE: &str = "YWxpY2U6c2VjcmV0"; // alice:secret

/// One hand-written case: `files` are (path under the case directory, text).
fn pinned(
    oracle: &str,
    files: &[(&str, &str)],
    env: &[(&str, &str)],
    get: &[&str],
    list: bool,
    resolve: &[&str],
) -> (Ours, Value) {
    let ws = Workspace::new();
    let mut case = Case {
        seed: 0,
        kind: Kind::Containers,
        files: files
            .iter()
            .map(|(p, t)| (format!("{{R}}/{p}"), t.as_bytes().to_vec()))
            .collect(),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        get: get.iter().map(|s| s.to_string()).collect(),
        list,
        resolve: resolve.iter().map(|s| s.to_string()).collect(),
    };
    case.env.insert("HOME".into(), "{R}/home".into());
    case.env.insert("XDG_RUNTIME_DIR".into(), "{R}/run".into());
    let root = ws.case_dir(0);
    let vars = materialise(&case, &root, &ws);
    let line = json!({
        "id": 0, "env": vars, "root": root.join("root"),
        "get": case.get, "list": case.list, "resolve": case.resolve,
    })
    .to_string();
    let theirs = ask_oracle(oracle, vec![line]).remove(0);
    let env = ocicred_env(&vars, &root);
    let ours = ask_ocicred(&case, &|a, i| run_lib(&env, a, i));
    (ours, theirs)
}

fn found(user: &str, secret: &str) -> Cred {
    Cred::Found {
        user: user.into(),
        secret: secret.into(),
    }
}

fn theirs_get(v: &Value, i: usize) -> Cred {
    Cred::from_oracle(&v["get"][i])
}

#[test]
fn deviation_bad_entry_skipped() {
    // containers/image: bad base64 in the first file fails the lookup; ocicred goes on.
    let files = [
        (
            "run/containers/auth.json",
            r#"{"auths":{"quay.io":{"auth":"%%bad%%"}}}"#,
        ),
        (
            "home/.config/containers/auth.json",
            &format!(r#"{{"auths":{{"quay.io":{{"auth":"{ALICE}"}}}}}}"#)[..],
        ),
    ];
    let (ours, theirs) = pinned("cimage-oracle", &files, &[], &["quay.io"], false, &[]);
    assert_eq!(ours.get[0], found("alice", "secret"));
    assert!(matches!(theirs_get(&theirs, 0), Cred::Error(_)), "{theirs}");
    // docker refuses the whole file for one entry without a colon.
    let text = format!(
        r#"{{"auths":{{"quay.io":{{"auth":"{ALICE}"}},"bad.example":{{"auth":"YWxpY2U="}}}}}}"#
    );
    let files = [("home/.docker/config.json", &text[..])];
    let (ours, theirs) = pinned("docker-oracle", &files, &[], &["quay.io"], false, &[]);
    assert_eq!(ours.get[0], found("alice", "secret"));
    assert!(matches!(theirs_get(&theirs, 0), Cred::Error(_)), "{theirs}");
}

#[test]
fn deviation_token_only_entry() {
    let files = [(
        "run/containers/auth.json",
        r#"{"auths":{"quay.io":{"identitytoken":"T0"}}}"#,
    )];
    let (ours, theirs) = pinned("cimage-oracle", &files, &[], &["quay.io"], false, &[]);
    assert_eq!(ours.get[0], found("<token>", "T0"));
    assert_eq!(theirs_get(&theirs, 0), Cred::None);
    // docker and oras-go use it, as ocicred does.
    let files = [(
        "home/.docker/config.json",
        r#"{"auths":{"quay.io":{"identitytoken":"T0"}}}"#,
    )];
    for oracle in ["docker-oracle", "oras-oracle"] {
        let (ours, theirs) = pinned(oracle, &files, &[], &["quay.io"], false, &[]);
        assert_eq!(ours.get[0], theirs_get(&theirs, 0), "{oracle}");
    }
}

#[test]
fn deviation_empty_file() {
    let text = format!(r#"{{"auths":{{"quay.io":{{"auth":"{ALICE}"}}}}}}"#);
    let files = [
        ("run/containers/auth.json", ""),
        ("home/.config/containers/auth.json", &text[..]),
    ];
    let (ours, theirs) = pinned("cimage-oracle", &files, &[], &["quay.io"], false, &[]);
    assert_eq!(ours.get[0], found("alice", "secret"));
    assert!(matches!(theirs_get(&theirs, 0), Cred::Error(_)), "{theirs}");
}

#[test]
fn deviation_creds_store_then_auths() {
    let text = format!(r#"{{"credsStore":"dnf","auths":{{"quay.io":{{"auth":"{ALICE}"}}}}}}"#);
    let files = [("home/.docker/config.json", &text[..])];
    for oracle in ["docker-oracle", "oras-oracle"] {
        let (ours, theirs) = pinned(oracle, &files, &[], &["quay.io"], false, &[]);
        assert_eq!(ours.get[0], found("alice", "secret"));
        assert_eq!(theirs_get(&theirs, 0), Cred::None, "{oracle}");
    }
}

#[test]
fn deviation_hub_spellings() {
    let text = format!(r#"{{"auths":{{"docker.io":{{"auth":"{ALICE}"}}}}}}"#);
    let files = [("home/.docker/config.json", &text[..])];
    for oracle in ["docker-oracle", "oras-oracle"] {
        let (ours, theirs) = pinned(
            oracle,
            &files,
            &[],
            &["https://index.docker.io/v1/"],
            false,
            &[],
        );
        assert_eq!(ours.get[0], found("alice", "secret"));
        assert_eq!(theirs_get(&theirs, 0), Cred::None, "{oracle}");
    }
}

#[test]
fn deviation_namespaced_key_not_host() {
    let text = format!(r#"{{"auths":{{"quay.io/org":{{"auth":"{ALICE}"}}}}}}"#);
    let files = [("home/.docker/config.json", &text[..])];
    for oracle in ["docker-oracle", "oras-oracle"] {
        let (ours, theirs) = pinned(oracle, &files, &[], &["quay.io"], false, &[]);
        assert_eq!(ours.get[0], Cred::None);
        assert_eq!(theirs_get(&theirs, 0), found("alice", "secret"), "{oracle}");
    }
}

#[test]
fn deviation_normalised_key_choice() {
    // Both Go tools range over a map; ocicred takes the first spelling in the file.
    let text = r#"{"auths":{"https://quay.io":{"auth":"YTE6cDE="},"http://quay.io/":{"auth":"YTI6cDI="}}}"#;
    let files = [("home/.docker/config.json", text)];
    let (ours, theirs) = pinned("cimage-oracle", &files, &[], &["quay.io/x"], false, &[]);
    assert_eq!(ours.get[0], found("a1", "p1"));
    assert!(
        [found("a1", "p1"), found("a2", "p2")].contains(&theirs_get(&theirs, 0)),
        "{theirs}"
    );
}

#[test]
fn deviation_username_password_fields() {
    let files = [(
        "run/containers/auth.json",
        r#"{"auths":{"quay.io":{"username":"u","password":"p"}}}"#,
    )];
    let (ours, theirs) = pinned("cimage-oracle", &files, &[], &["quay.io"], false, &[]);
    assert_eq!(ours.get[0], found("u", "p"));
    assert_eq!(theirs_get(&theirs, 0), Cred::None);
    let files = [("home/.docker/config.json", files[0].1)];
    let (ours, theirs) = pinned("docker-oracle", &files, &[], &["quay.io"], false, &[]);
    assert_eq!(ours.get[0], theirs_get(&theirs, 0));
}

#[test]
fn deviation_helper_sees_host() {
    let files = [(
        "home/.docker/config.json",
        r#"{"credHelpers":{"https://quay.io/v2/":"dfake"}}"#,
    )];
    for oracle in ["docker-oracle", "oras-oracle"] {
        let (ours, theirs) = pinned(oracle, &files, &[], &["https://quay.io/v2/"], false, &[]);
        assert_eq!(ours.get[0], found("dfake-user", "dfake-quay.io"));
        assert_eq!(
            theirs_get(&theirs, 0),
            found("dfake-user", "dfake-https://quay.io/v2/"),
            "{oracle}"
        );
    }
}

#[test]
fn deviation_helper_keys_normalised() {
    let text = format!(
        r#"{{"credHelpers":{{"quay.io":"dfake"}},"auths":{{"http://quay.io":{{"auth":"{ALICE}"}}}}}}"#
    );
    let files = [("home/.docker/config.json", &text[..])];
    for oracle in ["docker-oracle", "oras-oracle"] {
        let (ours, theirs) = pinned(oracle, &files, &[], &["http://quay.io"], false, &[]);
        assert_eq!(ours.get[0], found("dfake-user", "dfake-quay.io"));
        assert_eq!(theirs_get(&theirs, 0), found("alice", "secret"), "{oracle}");
    }
}

#[test]
fn deviation_list_own_entries() {
    let text = format!(r#"{{"auths":{{"quay.io":{{"auth":"{ALICE}"}}}}}}"#);
    let files = [
        ("run/containers/auth.json", &text[..]),
        (
            "root/etc/containers/registries.conf",
            "credential-helpers = [\"dfake\", \"containers-auth.json\"]\n",
        ),
    ];
    let (ours, theirs) = pinned("cimage-oracle", &files, &[], &[], true, &[]);
    let mine = ours.list.unwrap().unwrap();
    assert_eq!(
        mine,
        BTreeMap::from([("quay.io".to_string(), "alice".to_string())])
    );
    assert_eq!(
        theirs["list"]["keys"]["quay.io"]["user"], "dfake-user",
        "{theirs}"
    );
    assert_eq!(
        theirs["list"]["keys"]["dfake-listed.example"]["user"],
        "dfake-user"
    );
}

#[test]
fn deviation_blocked_remapped() {
    // example.com is remapped to a location that is itself blocked: ocicred refuses the
    // reference; containers/image's FindRegistry reports the unblocked table.
    let conf = "[[registry]]\nprefix = \"example.com\"\nlocation = \"internal.example.net/x\"\n\
                [[registry]]\nprefix = \"internal.example.net\"\nlocation = \"internal.example.net\"\nblocked = true\n";
    let files = [("root/etc/containers/registries.conf", conf)];
    let (ours, theirs) = pinned("cimage-oracle", &files, &[], &[], false, &["example.com/x"]);
    let ours = ours.resolve[0].as_ref().unwrap();
    assert_eq!(ours["registry"]["blocked"], true, "{ours}");
    assert_eq!(
        theirs["resolve"][0]["registry"]["blocked"], false,
        "{theirs}"
    );
}

#[test]
fn deviation_registries_layout() {
    // A user registries.conf: ocicred (README.md#registriesconf) reads no system drop-in;
    // containers/image
    // 5.42 does.
    let files = [
        (
            "home/.config/containers/registries.conf",
            "unqualified-search-registries = [\"docker.io\"]\n",
        ),
        (
            "root/etc/containers/registries.conf.d/10-a.conf",
            "[aliases]\n\"nginx\" = \"quay.io/sys/nginx\"\n",
        ),
    ];
    let (ours, theirs) = pinned("cimage-oracle", &files, &[], &[], false, &["nginx"]);
    let ours = ours.resolve[0].as_ref().unwrap();
    assert_eq!(ours["alias"], Value::Null, "{ours}");
    assert_eq!(
        ours["candidates"],
        json!(["docker.io/library/nginx:latest"])
    );
    assert_eq!(
        theirs["resolve"][0]["alias"]["value"], "quay.io/sys/nginx",
        "{theirs}"
    );
}

#[test]
fn every_deviation_is_pinned_and_written_up() {
    let this = std::fs::read_to_string(repo().join("tests/it/differential.rs")).unwrap();
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for (name, _) in DEVIATIONS {
        let test = format!("fn deviation_{}()", name.replace('-', "_"));
        assert!(this.contains(&test), "{name}: no pinned test {test}");
        assert!(
            readme.contains(&format!("`{name}`")),
            "{name}: not in the README"
        );
    }
}
