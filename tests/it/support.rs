//! Shared test scaffolding: `TestEnv` (a temp HOME and a cleared environment for the binary),
//! `Registry` (a real `docker-registry` on 127.0.0.1), and `require` (fail when a peer is
//! missing: these tests never skip).

#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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

    /// Runs `skopeo ARGS` in this environment.
    pub fn skopeo(&self, args: &[&str]) -> Out {
        let mut c = self.command(require("skopeo"));
        c.args(args);
        run(c, b"")
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
pub fn run(mut c: Command, stdin: &[u8]) -> Out {
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
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    output(out)
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

pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A free TCP port on 127.0.0.1 (and, when `pair`, the next one free too).
pub fn free_port(pair: bool) -> u16 {
    for _ in 0..200 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if !pair || (port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok()) {
            return port;
        }
    }
    panic!("no free port");
}

/// GET `path` on 127.0.0.1:`port` with an optional Authorization header; the status code.
pub fn http_status(port: u16, path: &str, authorization: Option<&str>) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace().nth(1)?.parse().ok()
}

/// A real `docker-registry` (CNCF distribution) on 127.0.0.1, stopped on drop.
pub struct Registry {
    child: Child,
    pub port: u16,
    pub host: String,
    pub dir: tempfile::TempDir,
}

impl Registry {
    /// A registry with htpasswd auth for `user`/`pass` (Basic challenge).
    pub fn htpasswd(user: &str, pass: &str) -> Registry {
        let htpasswd = require("htpasswd");
        let dir = tempfile::Builder::new()
            .prefix("ocicred-registry")
            .tempdir()
            .unwrap();
        let out = Command::new(htpasswd)
            .args(["-Bbn", user, pass])
            .output()
            .unwrap();
        assert!(out.status.success(), "htpasswd failed");
        std::fs::write(dir.path().join("htpasswd"), &out.stdout).unwrap();
        let auth = format!(
            "auth:\n  htpasswd:\n    realm: ocicred-test\n    path: {}\n",
            dir.path().join("htpasswd").display()
        );
        Registry::start(dir, &auth)
    }

    /// A registry without auth.
    pub fn open() -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("ocicred-registry")
            .tempdir()
            .unwrap();
        Registry::start(dir, "")
    }

    /// A registry with the given `auth:` YAML block, in `dir`.
    pub fn start(dir: tempfile::TempDir, auth_block: &str) -> Registry {
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port(true);
            let config = format!(
                "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: ocicred-test-secret\n{auth_block}",
                data = dir.path().join("data").display()
            );
            let cfg = dir.path().join("config.yml");
            std::fs::write(&cfg, config).unwrap();
            let mut child = spawn_registry(dir.path());
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(15) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if matches!(http_status(port, "/v2/", None), Some(200 | 401)) {
                    return Registry {
                        child,
                        port,
                        host: format!("127.0.0.1:{port}"),
                        dir,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            last = std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default();
        }
        panic!("docker-registry did not start: {last}");
    }
}

/// Spawns `docker-registry serve <dir>/config.yml`, its output to `<dir>/registry.log`.
pub fn spawn_registry(dir: &Path) -> Child {
    let log = std::fs::File::create(dir.join("registry.log")).unwrap();
    Command::new(require("docker-registry"))
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// [`spawn_registry`], then waits until it accepts TCP connections on 127.0.0.1:`port` (for a
/// TLS registry, which `http_status` cannot ask); fails the test, with the registry's log, when
/// it exits or is not up within 15 s.
pub fn start_tcp_registry(dir: &Path, port: u16) -> Child {
    let mut child = spawn_registry(dir);
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if start.elapsed() > Duration::from_secs(15) || matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill();
            let status = child.wait();
            panic!(
                "docker-registry did not start ({status:?}): {}",
                std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
