//! The clients the mission names, for real: ORAS, Helm 3, Helm 4 and crane (built from pinned
//! sources by `tests/go/build.sh`), with the docker CLI and skopeo for the cross-client flows.
//! Every client reaches the registry through ocicred only: the registry refuses anonymous
//! access, the client's own file holds nothing but `credsStore`, and a logging wrapper
//! (`tests/tools/credential-spy`, installed as `docker-credential-ocicred`) records which
//! program called `get`, `store` and `erase`, with which server string, and what ocicred
//! answered.
//!
//! One registry per auth mode (htpasswd, token auth with the ES256 issuer); on it, every flow
//! runs once per store (auth file, keyring), each in its own HOME, in parallel threads.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::keyring::KeyringSession;
use crate::support::*;

/// Where ocicred keeps what it is given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Store {
    AuthFile,
    Keyring,
}

impl Store {
    fn tag(self) -> &'static str {
        match self {
            Store::AuthFile => "af",
            Store::Keyring => "kr",
        }
    }
}

const USER: &str = "alice";
const PASSWORD: &str = "secret";
/// base64("alice:secret"): what a plaintext `auths` entry would hold.
const BASIC: &str = "YWxpY2U6c2VjcmV0";

/// One call the spy logged.
#[derive(Debug, Clone)]
pub struct Call {
    pub caller: String,
    pub action: String,
    pub input: String,
    pub exit: i64,
    pub output: String,
}

/// A HOME wired so that every client finds ocicred (through the spy) and nothing else.
pub struct Home {
    pub env: TestEnv,
    pub keyring: Option<KeyringSession>,
    pub store: Store,
    pub work: PathBuf,
}

impl Home {
    pub fn new(store: Store) -> Home {
        let mut env = TestEnv::new();
        let helper = env.bin.join("docker-credential-ocicred");
        std::fs::remove_file(&helper).unwrap();
        std::os::unix::fs::symlink(repo().join("tests/tools/credential-spy"), &helper).unwrap();
        env.set("CRED_SPY_TARGET", ocicred_bin());
        env.set("CRED_SPY_LOG", env.root.path().join("spy.log"));
        // docker, ORAS and crane read docker's config.json.
        let only_ocicred = r#"{"credsStore":"ocicred"}"#;
        env.write("dockercfg/config.json", only_ocicred);
        env.set("DOCKER_CONFIG", env.path("dockercfg"));
        // Helm keeps its own registry config, in docker's format.
        env.write("helm/registry/config.json", only_ocicred);
        env.set(
            "HELM_REGISTRY_CONFIG",
            env.path("helm/registry/config.json"),
        );
        env.set("HELM_CONFIG_HOME", env.path("helm/config"));
        env.set("HELM_CACHE_HOME", env.path("helm/cache"));
        env.set("HELM_DATA_HOME", env.path("helm/data"));
        // skopeo asks ocicred only.
        env.write(
            ".config/containers/registries.conf",
            "credential-helpers = [\"ocicred\"]\n",
        );
        let keyring = (store == Store::Keyring).then(|| {
            let ks = KeyringSession::start(&env);
            ks.apply(&mut env);
            env.set("OCICRED_STORE", "keyring");
            ks
        });
        let work = env.root.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        Home {
            env,
            keyring,
            store,
            work,
        }
    }

    /// Runs `program ARGS` (bounded by `timeout`) in the work directory.
    pub fn run(&self, program: &Path, args: &[&str], stdin: &[u8]) -> Out {
        let mut c = self.env.command(require("timeout"));
        c.args(["-k", "5", "240"]).arg(program).args(args);
        c.current_dir(&self.work);
        run(c, stdin)
    }

    pub fn oras(&self, args: &[&str]) -> Out {
        self.run(&go_tool("oras"), args, b"")
    }

    pub fn crane(&self, args: &[&str]) -> Out {
        self.run(&go_tool("crane"), args, b"")
    }

    /// `helm ARGS`; the `-d DIR` of a pull is created first (Helm does not create it).
    pub fn helm(&self, helm: &str, args: &[&str]) -> Out {
        if let Some(i) = args.iter().position(|a| *a == "-d") {
            std::fs::create_dir_all(self.work.join(args[i + 1])).unwrap();
        }
        self.run(&go_tool(helm), args, b"")
    }

    pub fn skopeo(&self, args: &[&str]) -> Out {
        self.run(&require("skopeo"), args, b"")
    }

    pub fn docker(&self, args: &[&str], stdin: &[u8]) -> Out {
        self.run(&require("docker"), args, stdin)
    }

    /// `helm pull` of version 0.1.0 of the chart `reference` (plain HTTP) into `dir`.
    pub fn helm_pull(&self, helm: &str, reference: &str, dir: &str) -> Out {
        let args = [
            "pull",
            "--plain-http",
            reference,
            "--version",
            "0.1.0",
            "-d",
            dir,
        ];
        self.helm(helm, &args)
    }

    /// `helm registry login` (Helm 3 or 4) through [`Home::login`].
    pub fn helm_login(&self, helm: &str, host: &str) {
        let args: Vec<&str> = std::iter::once("registry")
            .chain(plain_http_login(host))
            .collect();
        self.login(helm, &go_tool(helm), &args, host);
    }

    /// Logs `caller` in with `program ARGS` (the password on stdin) and checks that the login
    /// went through ocicred: exit 0, the spy saw `caller` store `host`, and ocicred's store
    /// holds it.
    pub fn login(&self, caller: &str, program: &Path, args: &[&str], host: &str) {
        let out = self.run(program, args, format!("{PASSWORD}\n").as_bytes());
        assert_eq!(out.code, 0, "{caller} login: {out:#?}");
        self.saw(caller, "store", host, 0);
        self.assert_stored(host);
    }

    /// Every helper call so far.
    pub fn calls(&self) -> Vec<Call> {
        let text =
            std::fs::read_to_string(self.env.root.path().join("spy.log")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let v: serde_json::Value =
                    serde_json::from_str(l).unwrap_or_else(|e| panic!("spy line {l:?}: {e}"));
                Call {
                    caller: v["caller"].as_str().unwrap().to_string(),
                    action: v["action"].as_str().unwrap().to_string(),
                    input: v["in"].as_str().unwrap().to_string(),
                    exit: v["exit"].as_i64().unwrap(),
                    output: v["out"].as_str().unwrap().to_string(),
                }
            })
            .collect()
    }

    /// Asserts that `caller` ran `action` for `server` (exactly, as the server string) and that
    /// ocicred answered with `exit`; returns the matching calls.
    pub fn saw(&self, caller: &str, action: &str, server: &str, exit: i64) -> Vec<Call> {
        let calls = self.calls();
        let hits: Vec<Call> = calls
            .iter()
            .filter(|c| {
                c.caller == caller
                    && c.action == action
                    && c.exit == exit
                    && match action {
                        "store" => {
                            let v: serde_json::Value =
                                serde_json::from_str(&c.input).unwrap_or_default();
                            v["ServerURL"] == server && v["Username"] == USER
                        }
                        // crane asks for the repository (`host/ns/repo`), the others the host.
                        _ => {
                            let asked = c.input.trim();
                            asked == server
                                || (action == "get" && asked.starts_with(&format!("{server}/")))
                        }
                    }
            })
            .cloned()
            .collect();
        assert!(
            !hits.is_empty(),
            "expected {caller} to call `{action}` for {server} with ocicred exiting {exit}; the spy saw {calls:#?}"
        );
        if action == "get" && exit == 0 {
            for h in &hits {
                let v: serde_json::Value = serde_json::from_str(&h.output).unwrap();
                assert_eq!(v["Username"], USER, "{h:?}");
            }
        }
        hits
    }

    /// Asserts ocicred's store holds `alice` for `host` (and the password only there).
    pub fn assert_stored(&self, key: &str) {
        match &self.keyring {
            None => {
                let text = std::fs::read_to_string(self.env.auth_json()).unwrap_or_default();
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(
                    v["auths"][key]["auth"], BASIC,
                    "ocicred's auth.json holds the login: {text}"
                );
            }
            Some(ks) => {
                let out = ks.secret_tool(
                    &self.env,
                    &["lookup", "service", "ocicred", "username", key],
                );
                assert!(
                    out.stdout.contains(r#""Username":"alice""#)
                        && out.stdout.contains(r#""Secret":"secret""#),
                    "the keyring holds the login: {out:#?}"
                );
                let text = std::fs::read_to_string(self.env.auth_json()).unwrap_or_default();
                assert!(!text.contains(BASIC), "nothing in auth.json: {text}");
            }
        }
        self.assert_client_files_clean();
    }

    /// Asserts ocicred's store has nothing for `host`.
    pub fn assert_erased(&self, key: &str) {
        match &self.keyring {
            None => {
                let text = std::fs::read_to_string(self.env.auth_json()).unwrap_or_default();
                assert!(!text.contains(key), "erased from auth.json: {text}");
            }
            Some(ks) => {
                let out = ks.secret_tool(
                    &self.env,
                    &["lookup", "service", "ocicred", "username", key],
                );
                assert_ne!(out.code, 0, "erased from the keyring: {out:#?}");
            }
        }
        self.assert_client_files_clean();
    }

    /// The clients' own files hold no password (plain or base64), only the `credsStore`.
    pub fn assert_client_files_clean(&self) {
        for f in [
            "dockercfg/config.json",
            "helm/registry/config.json",
            ".config/containers/auth.json",
        ] {
            let p = self.env.path(f);
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            assert!(
                !text.contains(BASIC) && !text.contains(PASSWORD),
                "{} holds a password: {text}",
                p.display()
            );
        }
        for f in ["dockercfg/config.json", "helm/registry/config.json"] {
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(self.env.path(f)).unwrap()).unwrap();
            assert_eq!(v["credsStore"], "ocicred", "{f}: {v}");
        }
    }

    /// Makes a chart with `helm create` + `helm package`; returns the package's path.
    pub fn chart(&self, helm: &str, name: &str) -> PathBuf {
        let out = self.helm(helm, &["create", name]);
        assert_eq!(out.code, 0, "helm create: {out:#?}");
        let out = self.helm(helm, &["package", name]);
        assert_eq!(out.code, 0, "helm package: {out:#?}");
        let tgz = self.work.join(format!("{name}-0.1.0.tgz"));
        assert!(tgz.is_file(), "{out:#?}");
        tgz
    }
}

/// `login --plain-http -u alice --password-stdin HOST`: ORAS's login, and Helm's after `registry`.
fn plain_http_login(host: &str) -> [&str; 6] {
    [
        "login",
        "--plain-http",
        "-u",
        USER,
        "--password-stdin",
        host,
    ]
}

/// Asserts `out` failed because the registry refused the credentials (not for a missing
/// artifact or a broken client).
pub fn assert_refused(out: &Out, what: &str) {
    assert_ne!(out.code, 0, "{what} must be refused: {out:#?}");
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        [
            "401",
            "nauthorized",
            "UNAUTHORIZED",
            "authentication required",
            "denied",
            "insufficient_scope",
            "basic credential not found",
        ]
        .iter()
        .any(|m| text.contains(m)),
        "{what} refused for want of credentials: {out:#?}"
    );
}

fn same_bytes(a: &Path, b: &Path) {
    let (x, y) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert!(
        x == y,
        "{} and {} differ ({} vs {} bytes)",
        a.display(),
        b.display(),
        x.len(),
        y.len()
    );
}

/// The blobs of an OCI layout (its `blobs/sha256` file names).
fn layout_blobs(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// Flows (each on its own Home, so that one flow's logout cannot touch another's login)

/// ORAS: login, push a file artifact, pull it back byte-identical, logout, refused.
fn oras_flow(h: &Home, host: &str) {
    let repo = format!("{host}/{}/oras-file:v1", h.store.tag());
    h.login("oras", &go_tool("oras"), &plain_http_login(host), host);

    let payload = format!("an ORAS artifact for {repo}\n{}", "x".repeat(4096));
    std::fs::write(h.work.join("artifact.txt"), &payload).unwrap();
    let out = h.oras(&["push", "--plain-http", &repo, "artifact.txt:text/plain"]);
    assert_eq!(out.code, 0, "oras push: {out:#?}");
    let out = h.oras(&["pull", "--plain-http", &repo, "-o", "pulled"]);
    assert_eq!(out.code, 0, "oras pull: {out:#?}");
    same_bytes(
        &h.work.join("artifact.txt"),
        &h.work.join("pulled/artifact.txt"),
    );
    h.saw("oras", "get", host, 0);

    let out = h.oras(&["logout", host]);
    assert_eq!(out.code, 0, "oras logout: {out:#?}");
    h.saw("oras", "erase", host, 0);
    h.assert_erased(host);
    let out = h.oras(&["pull", "--plain-http", &repo, "-o", "again"]);
    assert_refused(&out, "oras pull after logout");
    h.saw("oras", "get", host, 1);
}

/// Helm (3 or 4): registry login, push a packaged chart to oci://, pull it back
/// byte-identical, registry logout, refused.
fn helm_flow(h: &Home, helm: &str, host: &str) {
    h.helm_login(helm, host);

    let chart = format!("chart-{helm}");
    let tgz = h.chart(helm, &chart);
    let dest = format!("oci://{host}/{}/charts-{helm}", h.store.tag());
    let out = h.helm(
        helm,
        &["push", "--plain-http", tgz.to_str().unwrap(), &dest],
    );
    assert_eq!(out.code, 0, "{helm} push: {out:#?}");
    let reference = format!("{dest}/{chart}");
    let out = h.helm_pull(helm, &reference, "pulled");
    assert_eq!(out.code, 0, "{helm} pull: {out:#?}");
    same_bytes(&tgz, &h.work.join(format!("pulled/{chart}-0.1.0.tgz")));
    h.saw(helm, "get", host, 0);

    let out = h.helm(helm, &["registry", "logout", host]);
    assert_eq!(out.code, 0, "{helm} registry logout: {out:#?}");
    h.saw(helm, "erase", host, 0);
    h.assert_erased(host);
    let out = h.helm_pull(helm, &reference, "again");
    assert_refused(&out, &format!("{helm} pull after logout"));
    h.saw(helm, "get", host, 1);
}

/// crane: auth login, push an OCI layout, copy it to a new tag, pull both back byte-identical,
/// auth logout, refused.
fn crane_flow(h: &Home, host: &str) {
    h.login(
        "crane",
        &go_tool("crane"),
        &["auth", "login", "-u", USER, "--password-stdin", host],
        host,
    );

    let layout = oci_image(&h.work.join("layout"), "v1", "pushed by crane");
    let src = format!("{host}/{}/crane-image:v1", h.store.tag());
    let copy = format!("{host}/{}/crane-image:v2", h.store.tag());
    let out = h.crane(&["push", "--insecure", layout.to_str().unwrap(), &src]);
    assert_eq!(out.code, 0, "crane push: {out:#?}");
    let out = h.crane(&["copy", "--insecure", &src, &copy]);
    assert_eq!(out.code, 0, "crane copy: {out:#?}");
    for (r, dir) in [(&src, "pulled-v1"), (&copy, "pulled-v2")] {
        let out = h.crane(&["pull", "--insecure", "--format=oci", r, dir]);
        assert_eq!(out.code, 0, "crane pull {r}: {out:#?}");
        let pulled = h.work.join(dir);
        assert_eq!(layout_blobs(&layout), layout_blobs(&pulled), "same blobs");
        for b in layout_blobs(&layout) {
            same_bytes(
                &layout.join("blobs/sha256").join(&b),
                &pulled.join("blobs/sha256").join(&b),
            );
        }
    }
    h.saw("crane", "get", host, 0);

    let out = h.crane(&["auth", "logout", host]);
    assert_eq!(out.code, 0, "crane auth logout: {out:#?}");
    h.saw("crane", "erase", host, 0);
    h.assert_erased(host);
    let out = h.crane(&["manifest", "--insecure", &src]);
    assert_refused(&out, "crane manifest after logout");
    h.saw("crane", "get", host, 1);
}

/// `docker login` stores through ocicred; Helm 3 pushes and pulls with it; `docker logout`
/// erases it and Helm is refused.
fn docker_to_helm(h: &Home, host: &str) {
    h.login(
        "docker",
        &require("docker"),
        &["login", host, "-u", USER, "--password-stdin"],
        host,
    );

    let tgz = h.chart("helm3", "from-docker");
    let dest = format!("oci://{host}/{}/docker-to-helm", h.store.tag());
    let out = h.helm(
        "helm3",
        &["push", "--plain-http", tgz.to_str().unwrap(), &dest],
    );
    assert_eq!(out.code, 0, "helm push with docker's login: {out:#?}");
    let reference = format!("{dest}/from-docker");
    let pull = |dir: &str| h.helm_pull("helm3", &reference, dir);
    let out = pull("pulled");
    assert_eq!(out.code, 0, "helm pull with docker's login: {out:#?}");
    same_bytes(&tgz, &h.work.join("pulled/from-docker-0.1.0.tgz"));
    h.saw("helm3", "get", host, 0);

    let out = h.docker(&["logout", host], b"");
    assert_eq!(out.code, 0, "docker logout: {out:#?}");
    h.saw("docker", "erase", host, 0);
    h.assert_erased(host);
    assert_refused(&pull("again"), "helm pull after docker logout");
}

/// `helm registry login` (Helm 4) stores through ocicred; ORAS pushes and pulls with it;
/// `helm registry logout` erases it and ORAS is refused.
fn helm_to_oras(h: &Home, host: &str) {
    h.helm_login("helm4", host);

    let repo = format!("{host}/{}/helm-to-oras:v1", h.store.tag());
    std::fs::write(h.work.join("note.txt"), "stored by helm, used by oras\n").unwrap();
    let out = h.oras(&["push", "--plain-http", &repo, "note.txt"]);
    assert_eq!(out.code, 0, "oras push with helm's login: {out:#?}");
    let out = h.oras(&["pull", "--plain-http", &repo, "-o", "pulled"]);
    assert_eq!(out.code, 0, "oras pull with helm's login: {out:#?}");
    same_bytes(&h.work.join("note.txt"), &h.work.join("pulled/note.txt"));
    h.saw("oras", "get", host, 0);

    let out = h.helm("helm4", &["registry", "logout", host]);
    assert_eq!(out.code, 0, "helm registry logout: {out:#?}");
    h.saw("helm4", "erase", host, 0);
    h.assert_erased(host);
    let out = h.oras(&["pull", "--plain-http", &repo, "-o", "again"]);
    assert_refused(&out, "oras pull after helm logout");
}

/// `skopeo login` (registries.conf `credential-helpers = ["ocicred"]`) stores through ocicred;
/// crane pushes and pulls with it; `skopeo logout` erases it and crane is refused.
fn skopeo_to_crane(h: &Home, host: &str) {
    let out = h.skopeo(&[
        "login",
        "--tls-verify=false",
        "-u",
        USER,
        "-p",
        PASSWORD,
        host,
    ]);
    assert_eq!(out.code, 0, "skopeo login: {out:#?}");
    h.saw("skopeo", "store", host, 0);
    h.assert_stored(host);

    let layout = oci_image(&h.work.join("layout"), "v1", "stored by skopeo");
    let r = format!("{host}/{}/skopeo-to-crane:v1", h.store.tag());
    let out = h.crane(&["push", "--insecure", layout.to_str().unwrap(), &r]);
    assert_eq!(out.code, 0, "crane push with skopeo's login: {out:#?}");
    let out = h.crane(&["pull", "--insecure", "--format=oci", &r, "pulled"]);
    assert_eq!(out.code, 0, "crane pull with skopeo's login: {out:#?}");
    for b in layout_blobs(&layout) {
        same_bytes(
            &layout.join("blobs/sha256").join(&b),
            &h.work.join("pulled/blobs/sha256").join(&b),
        );
    }
    h.saw("crane", "get", host, 0);

    let out = h.skopeo(&["logout", host]);
    assert_eq!(out.code, 0, "skopeo logout: {out:#?}");
    h.saw("skopeo", "erase", host, 0);
    h.assert_erased(host);
    assert_refused(
        &h.crane(&["manifest", "--insecure", &r]),
        "crane after skopeo logout",
    );
}

// ---------------------------------------------------------------------------------------------
// The matrix

type Flow = fn(&Home, &str);

const FLOWS: &[(&str, Flow)] = &[
    ("oras", oras_flow),
    ("helm3", |h, host| helm_flow(h, "helm3", host)),
    ("helm4", |h, host| helm_flow(h, "helm4", host)),
    ("crane", crane_flow),
    ("docker-login->helm3-pull", docker_to_helm),
    ("helm4-login->oras-pull", helm_to_oras),
    ("skopeo-login->crane-pull", skopeo_to_crane),
];

/// Runs `jobs` on at most `width` threads; every job runs even when others fail. Prints one
/// PASS/FAIL line per job and fails with the names of the failed ones.
#[allow(clippy::print_stderr)]
pub fn run_parallel(width: usize, jobs: Vec<(String, Box<dyn FnOnce() + Send>)>) {
    let queue = Arc::new(Mutex::new(jobs.into_iter().collect::<Vec<_>>()));
    let results = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|s| {
        for _ in 0..width {
            let (queue, results) = (queue.clone(), results.clone());
            s.spawn(move || {
                loop {
                    let job = queue.lock().unwrap().pop();
                    let Some((name, job)) = job else { break };
                    let ok = catch_unwind(AssertUnwindSafe(job)).is_ok();
                    results.lock().unwrap().push((name, ok));
                }
            });
        }
    });
    let mut results = results.lock().unwrap().clone();
    results.sort();
    for (name, ok) in &results {
        eprintln!("{} {name}", if *ok { "PASS" } else { "FAIL" });
    }
    let failed: Vec<_> = results.iter().filter(|r| !r.1).map(|r| &r.0).collect();
    assert!(failed.is_empty(), "failed: {failed:?}");
}

fn matrix(mode: &str, registry: RegistryBuilder) {
    // Token mode: the registry and its realm are both named `localhost`. ORAS (oras-go 2.7)
    // refuses a realm on a loopback address unless its host name is the registry's, and crane
    // (ggcr 0.22) refuses a realm that is a private IP literal on another port.
    let registry = registry.realm_host("localhost").start();
    let host = if registry.issuer.is_some() {
        registry.host.replace("127.0.0.1", "localhost")
    } else {
        registry.host.clone()
    };
    let mut jobs: Vec<(String, Box<dyn FnOnce() + Send>)> = Vec::new();
    for store in [Store::AuthFile, Store::Keyring] {
        for (name, flow) in FLOWS {
            let host = host.clone();
            jobs.push((
                format!("{name} × {mode} × {store:?}"),
                Box::new(move || flow(&Home::new(store), &host)),
            ));
        }
    }
    run_parallel(4, jobs);
    drop(registry);
}

#[test]
fn every_client_through_ocicred_with_htpasswd() {
    matrix("htpasswd", Registry::builder().htpasswd(USER, PASSWORD));
}

#[test]
fn every_client_through_ocicred_with_token_auth() {
    matrix("token", Registry::builder().token(KeyRef::Kid));
}
