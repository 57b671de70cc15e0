//! The one test harness: [`TestEnv`] (a temp HOME and a cleared environment in which to run
//! the built binary and its peers, with helpers for the common checks), [`Registry`] (a real
//! `docker-registry`, built with options), [`Server`] (a scripted HTTP server for what a real
//! registry cannot produce) and `require` (fail when a peer is missing: these tests never skip).

#![allow(dead_code)]

mod http;
mod registry;

pub use http::*;
pub use registry::*;

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The built binary, or `$OCICRED_TEST_BIN` when set (to run a test against another build,
/// e.g. main's, to see that a regression test fails there).
#[allow(clippy::disallowed_methods)] // the test harness's own environment, not the product's
pub fn ocicred_bin() -> PathBuf {
    match std::env::var_os("OCICRED_TEST_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_ocicred")),
    }
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Panics (fails the test) when `program` is not on the PATH.
pub fn require(program: &str) -> PathBuf {
    for dir in ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
        let p = Path::new(dir).join(program);
        if p.exists() {
            return p;
        }
    }
    panic!(
        "{program} is required by this test and is not installed (run the README's test command, which installs it)"
    );
}

/// A temp HOME and an explicit environment for running ocicred and its peers.
pub struct TestEnv {
    pub root: tempfile::TempDir,
    pub home: PathBuf,
    pub run: PathBuf,
    pub bin: PathBuf,
    vars: Vec<(String, OsString)>,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let root = tempfile::Builder::new()
            .prefix("ocicred-test")
            .tempdir()
            .unwrap();
        let home = root.path().join("home");
        let run = root.path().join("run");
        let bin = root.path().join("bin");
        for d in [&home, &run, &bin] {
            std::fs::create_dir_all(d).unwrap();
        }
        set_mode(&run, 0o700);
        std::os::unix::fs::symlink(ocicred_bin(), bin.join("docker-credential-ocicred")).unwrap();
        std::os::unix::fs::symlink(ocicred_bin(), bin.join("ocicred")).unwrap();
        let path = format!(
            "{}:{}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            bin.display(),
            repo().join("tests/tools").display()
        );
        let mut env = TestEnv {
            home: home.clone(),
            run: run.clone(),
            bin,
            vars: Vec::new(),
            root,
        };
        env.set("HOME", &home);
        env.set("XDG_RUNTIME_DIR", &run);
        env.set("PATH", path);
        env.set("OCICRED_SYSCONFDIR", env.root.path().join("etc"));
        env.set("PROBE_LOG", env.root.path().join("probe.log"));
        env.set("PROBE_STATE", env.root.path().join("probe.state"));
        env
    }

    /// Sets (or replaces) an environment variable for every command.
    pub fn set(&mut self, key: &str, value: impl AsRef<OsStr>) -> &mut Self {
        self.vars.retain(|(k, _)| k != key);
        self.vars
            .push((key.to_string(), value.as_ref().to_os_string()));
        self
    }

    /// Removes an environment variable.
    pub fn unset(&mut self, key: &str) -> &mut Self {
        self.vars.retain(|(k, _)| k != key);
        self
    }

    /// A path under HOME.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.home.join(rel)
    }

    /// The default write target: `$XDG_RUNTIME_DIR/containers/auth.json`.
    pub fn auth_json(&self) -> PathBuf {
        self.run.join("containers/auth.json")
    }

    /// Writes a file (creating parents) under HOME, or at an absolute path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.home.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// A command for `program` with exactly this environment.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env_clear();
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c.current_dir(&self.home);
        c
    }

    /// `program ARGS` fed `stdin`, through `/usr/bin/time -v`: its output and peak RSS (KiB).
    pub fn peak_rss_kib(&self, program: &Path, args: &[&str], stdin: &[u8]) -> (Out, u64) {
        let mut c = self.command(require("time"));
        c.arg("-v").arg(program).args(args);
        let out = run(c, stdin);
        let rss = out
            .stderr
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Maximum resident set size (kbytes): ")
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no RSS in {out:#?}"));
        (out, rss)
    }

    /// Runs `skopeo ARGS` in this environment.
    pub fn skopeo(&self, args: &[&str]) -> Out {
        let mut c = self.command(require("skopeo"));
        c.args(args);
        run(c, b"")
    }

    /// `skopeo copy` of the OCI layout `layout` (tag v1) to `dest` (`docker://…`, plain HTTP).
    pub fn skopeo_push(&self, layout: &Path, dest: &str) -> Out {
        let src = format!("oci:{}:v1", layout.display());
        self.skopeo(&["copy", "--dest-tls-verify=false", &src, dest])
    }

    /// `skopeo copy` of `src` (`docker://…`, plain HTTP) into the OCI layout `layout` (tag v1).
    pub fn skopeo_pull(&self, src: &str, layout: &Path) -> Out {
        let dest = format!("oci:{}:v1", layout.display());
        self.skopeo(&["copy", "--src-tls-verify=false", src, &dest])
    }

    /// `docker-credential-ocicred get` of `server`: its answer, or `None` when it exits non-zero
    /// saying [`NOT_FOUND`] (any other failure fails the test).
    pub fn docker_get(&self, server: &str) -> Option<serde_json::Value> {
        let out = self.helper("get", server.as_bytes());
        if out.code != 0 {
            assert_eq!(out.stdout, NOT_FOUND, "{server}: {out:#?}");
            return None;
        }
        Some(serde_json::from_str(&out.stdout).unwrap())
    }

    /// `docker-credential-ocicred store` of `user`/`secret` for `server`.
    pub fn store(&self, server: &str, user: &str, secret: &str) -> Out {
        self.helper("store", &store_body(server, user, secret))
    }

    /// `ocicred ARGS`.
    pub fn ocicred(&self, args: &[&str]) -> Command {
        let mut c = self.command(self.bin.join("ocicred"));
        c.args(args);
        c
    }

    /// `docker-credential-ocicred ACTION` with `stdin`.
    pub fn helper(&self, action: &str, stdin: &[u8]) -> Out {
        let mut c = self.command(self.bin.join("docker-credential-ocicred"));
        c.arg(action);
        run(c, stdin)
    }

    /// Where the Bazel token cache lives: `$XDG_RUNTIME_DIR/ocicred`.
    pub fn cache_dir(&self) -> PathBuf {
        self.run.join("ocicred")
    }

    /// Writes `~/.config/containers/auth.json` with `entries` (`host` → JSON entry).
    pub fn write_auths(&self, entries: serde_json::Value) {
        self.write(
            ".config/containers/auth.json",
            &serde_json::json!({ "auths": entries }).to_string(),
        );
    }

    /// Writes `~/.config/containers/auth.json` with one login: `user`/`pass` for `host`.
    pub fn write_login(&self, host: &str, user: &str, pass: &str) {
        use base64::Engine;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        self.write_auths(serde_json::json!({ host: { "auth": auth } }));
    }

    /// `ocicred get`: the Bazel credential-helper protocol.
    pub fn get_command(&self) -> Command {
        self.ocicred(&["get"])
    }

    /// Runs `ocicred get` with exactly `stdin`.
    pub fn get_raw(&self, stdin: &[u8]) -> Output {
        self.get_with(stdin, |_| {})
    }

    /// Runs `ocicred get` with exactly `stdin`, the command changed by `f` first.
    pub fn get_with(&self, stdin: &[u8], f: impl FnOnce(&mut Command)) -> Output {
        let mut c = self.get_command();
        f(&mut c);
        run_output(c, stdin)
    }

    /// Starts `ocicred get` with stdin, stdout and stderr piped, its request not yet written.
    pub fn spawn_piped(&self) -> Child {
        self.get_command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Starts `ocicred get` for `uri` (as Bazel writes it) without waiting: for parallel calls.
    pub fn spawn_get(&self, uri: &str) -> Child {
        let mut child = self.spawn_piped();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&bazel_request(uri))
            .unwrap();
        child
    }

    /// Runs a Bazel request for `uri` (as Bazel writes it: no newline) and expects success
    /// with nothing on stderr; returns the answer.
    pub fn get(&self, uri: &str) -> serde_json::Value {
        let out = self.get_raw(&bazel_request(uri));
        assert_bazel_ok(&out);
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// What the docker protocol's `get` prints when it has nothing.
pub const NOT_FOUND: &str = "credentials not found in native keychain\n";

/// A Bazel request for `uri`, exactly as Bazel writes it (no newline).
pub fn bazel_request(uri: &str) -> Vec<u8> {
    serde_json::json!({ "uri": uri }).to_string().into_bytes()
}

/// Asserts a Bazel `get` succeeded (its exit status and stderr in the message).
pub fn assert_bazel_ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}, stderr {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Asserts a Bazel `get` succeeded and returns its answer.
pub fn bazel_answer(o: &Output) -> serde_json::Value {
    assert_bazel_ok(o);
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Asserts Bazel's error shape: non-zero exit, nothing on stdout, one line on stderr
/// (`ocicred: …`, newline-terminated); returns that line.
pub fn assert_bazel_error(o: &Output) -> String {
    assert!(!o.status.success(), "{o:?}");
    assert!(
        o.stdout.is_empty(),
        "stdout: {:?}",
        String::from_utf8_lossy(&o.stdout)
    );
    let e = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(e.lines().count(), 1, "{e:?}");
    assert!(e.starts_with("ocicred: ") && e.ends_with('\n'), "{e:?}");
    e
}

/// A docker-protocol `store` request.
pub fn store_body(server: &str, user: &str, secret: &str) -> Vec<u8> {
    format!(r#"{{"ServerURL":"{server}","Username":"{user}","Secret":"{secret}"}}"#).into_bytes()
}

/// A finished command's output, with helpers for assertions.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        &self.stdout
    }
}

/// Runs a command with `stdin`, capturing output.
pub fn run(c: Command, stdin: &[u8]) -> Out {
    output(run_output(c, stdin))
}

/// Starts `c` with its output piped and `stdin` fed from a thread (so that a child that does
/// not read it all cannot block the test).
fn spawn_fed(mut c: Command, stdin: &[u8]) -> (Child, std::thread::JoinHandle<()>) {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {c:?}: {e}"));
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    (child, writer)
}

/// Runs a command with `stdin`; its output as bytes.
pub fn run_output(c: Command, stdin: &[u8]) -> Output {
    let (child, writer) = spawn_fed(c, stdin);
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    out
}

/// Runs `c` with `stdin`, killing it after `limit`; `None` when it had to be killed (it hung).
pub fn run_bounded(c: Command, stdin: &[u8], limit: Duration) -> Option<Out> {
    let (mut child, _writer) = spawn_fed(c, stdin);
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = r.read_to_end(&mut b);
            b
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(Out {
                code: status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.join().unwrap()).into_owned(),
                stderr: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
            });
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn output(out: Output) -> Out {
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Writes an executable `#!/bin/sh` script `dir/name` running `body`; its path.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    set_mode(&p, 0o755);
    p
}

pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Go-built client or oracle from `tests/go/build.sh` (in `$OCICRED_GO_CACHE/bin`, by
/// default `target/go-tools/bin`); a missing one fails the test naming the script.
// The test reads OCICRED_GO_CACHE itself, as build.sh does (the product reads only through Env).
#[allow(clippy::disallowed_methods)]
pub fn go_tool(name: &str) -> PathBuf {
    let cache = std::env::var_os("OCICRED_GO_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/go-tools"));
    let cache = if cache.is_absolute() {
        cache
    } else {
        repo().join(cache)
    };
    let bin = cache.join("bin").join(name);
    assert!(
        bin.is_file(),
        "{name} is missing from {}: build it with tests/go/build.sh (tests/run.sh runs it first)",
        bin.parent().unwrap().display()
    );
    bin
}

/// A small xorshift generator: reproducible moments (to kill a process at) without a
/// dependency.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// The next number, below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The `Authorization` value of a Bazel answer.
pub fn authorization(v: &serde_json::Value) -> Option<String> {
    v["headers"]["Authorization"][0]
        .as_str()
        .map(str::to_string)
}

/// The arguments of `skopeo login` to a plain-HTTP registry with `user` and `pass`.
pub fn skopeo_login<'a>(user: &'a str, pass: &'a str, host: &'a str) -> [&'a str; 7] {
    ["login", "--tls-verify=false", "-u", user, "-p", pass, host]
}

/// Builds a one-layer OCI image layout in `dir` (no network) and returns its path.
pub fn oci_image(dir: &Path, tag: &str, text: &str) -> PathBuf {
    run_ok(
        Command::new("bash")
            .arg(repo().join("tests/tools/make-oci-image.sh"))
            .arg(dir)
            .arg(tag)
            .arg(text),
    );
    dir.to_path_buf()
}

/// Writes a new P-256 private key (PEM) to `path` with openssl.
pub fn openssl_ec_key(path: &Path) {
    run_ok(
        Command::new(require("openssl"))
            .args([
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
            ])
            .arg(path),
    );
}

/// Runs `cmd` to the end and returns its stdout; fails the test (with its stderr) unless it
/// started and exited 0.
pub fn run_ok(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Basic authorization header value.
pub fn basic(user: &str, pass: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}
