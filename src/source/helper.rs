//! External `docker-credential-<name>` helpers, as a client of the docker protocol.
//!
//! It owns the client side of the protocol (what to send, how to read the answer, the exact
//! not-found text) and the subprocess seam [`HelperRunner`]. The real runner finds the program
//! on `PATH`, gives it 5 s (or what is left of the whole call's deadline, if less), kills its
//! process group after that — also when it exits but leaves a process behind that holds its
//! stdin or stdout — and marks its environment so that an ocicred started further down the
//! chain never runs helpers again (the loop guard). Helpers only ever see a bare host.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::credential::Credential;
use crate::error::{Error, NOT_FOUND_TEXT, Result};
use crate::registry_key::RegistryKey;
use crate::source::{Found, Origin, SELF_NAME, Source};

/// How long a helper may take.
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(5);
/// The environment variable that marks a process started by ocicred as a helper.
pub const CHAIN_VAR: &str = "OCICRED_HELPER_CHAIN";
/// The most ocicred reads from a helper's stdout.
const MAX_OUTPUT: u64 = 1024 * 1024;
/// Less time than this left of the call's deadline: the helper is not started at all.
const MIN_RUN: Duration = Duration::from_millis(50);

/// What a helper run produced. `Debug` shows the size of stdout, not its bytes (a `get`
/// answer holds the secret).
pub struct HelperOutput {
    /// True when it exited 0.
    pub success: bool,
    /// Its stdout.
    pub stdout: Vec<u8>,
}

impl std::fmt::Debug for HelperOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelperOutput")
            .field("success", &self.success)
            .field("stdout_bytes", &self.stdout.len())
            .finish()
    }
}

/// The subprocess seam: run `docker-credential-<name> <action>` with `input` on stdin.
pub trait HelperRunner {
    /// Runs the helper. `Err` for a helper that is missing, cannot start, or times out.
    fn run(&self, name: &str, action: &str, input: &[u8]) -> Result<HelperOutput>;
    /// True when `docker-credential-<name>` must not be run: it is ocicred itself, or this
    /// process was started as a helper and running more helpers could loop.
    fn is_self(&self, name: &str) -> bool;
}

/// Runs helpers as real processes.
pub struct ProcessRunner {
    path: Option<OsString>,
    self_exe: Option<PathBuf>,
    /// Set when this process was itself started by ocicred as a helper.
    in_chain: bool,
    timeout: Duration,
    /// The whole call's deadline (a Bazel `get`): a helper gets what is left, if less.
    deadline: Option<Instant>,
}

impl ProcessRunner {
    /// A runner searching `path` (the `PATH` value). `self_exe` is this program, to detect loops.
    pub fn new(path: Option<OsString>, self_exe: Option<PathBuf>, in_chain: bool) -> Self {
        ProcessRunner {
            path,
            self_exe,
            in_chain,
            timeout: HELPER_TIMEOUT,
            deadline: None,
        }
    }

    /// Bounds every helper run by `deadline` as well: each gets min(5 s, the time left).
    pub fn with_deadline(mut self, deadline: Option<Instant>) -> Self {
        self.deadline = deadline;
        self
    }

    /// Finds `docker-credential-<name>` on `PATH`.
    pub fn find(&self, name: &str) -> Option<PathBuf> {
        find_program(self.path.as_ref(), &format!("docker-credential-{name}"))
    }
}

/// Finds an executable by name on a `PATH` value.
pub fn find_program(path: Option<&OsString>, program: &str) -> Option<PathBuf> {
    let path = path?;
    let program = executable_name(program);
    std::env::split_paths(path)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(&program))
        .find(|p| p.metadata().is_ok_and(|m| is_executable(&m)))
}

/// The file name of a program: as given on Unix, with `.exe` on Windows (as docker looks
/// helpers up there).
fn executable_name(program: &str) -> String {
    if cfg!(windows) {
        format!("{program}.exe")
    } else {
        program.to_string()
    }
}

/// A regular file with an execute bit (Unix); any regular file on Windows, which has no
/// execute bits (the `.exe` name says it is a program).
#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    meta.is_file()
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

impl HelperRunner for ProcessRunner {
    fn is_self(&self, name: &str) -> bool {
        // Inside a helper chain every helper is skipped: whatever started us may be one.
        if name == SELF_NAME || self.in_chain {
            return true;
        }
        match (&self.self_exe, self.find(name)) {
            (Some(me), Some(program)) => same_file(me, &program),
            _ => false,
        }
    }

    fn run(&self, name: &str, action: &str, input: &[u8]) -> Result<HelperOutput> {
        let helper_err = |message: String| Error::Helper {
            name: name.to_string(),
            message,
        };
        if self.in_chain {
            return Err(helper_err(
                "not run: ocicred was itself started by a credential helper (loop guard)".into(),
            ));
        }
        let program = self
            .find(name)
            .ok_or_else(|| helper_err("executable file not found in $PATH".into()))?;
        let start = Instant::now();
        // Its own bound, or what is left of the whole call's deadline if that is less.
        let timeout = match self.deadline {
            Some(d) => self.timeout.min(d.saturating_duration_since(start)),
            None => self.timeout,
        };
        if timeout < MIN_RUN {
            return Err(helper_err(
                "not run: the call's deadline has passed (earlier helpers used it up)".into(),
            ));
        }
        let deadline = start + timeout;
        let stopped = || {
            helper_err(format!(
                "timed out after {} s and was stopped",
                timeout.as_secs_f32().round()
            ))
        };
        let mut child = own_process_group(&mut Command::new(&program))
            .arg(action)
            .env(CHAIN_VAR, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| helper_err(format!("cannot start: {e}")))?;
        let pid = child.id();
        let mut stdin = child.stdin.take().expect("stdin was piped");
        let input = input.to_vec();
        // The input may be larger than a pipe holds: a thread writes it, so that a helper that
        // does not read (or leaves a process behind holding the pipe) cannot stall us.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let mut stdout = child.stdout.take().expect("stdout was piped");
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = (&mut stdout).take(MAX_OUTPUT).read_to_end(&mut buf);
            buf
        });
        let mut pause = Duration::from_micros(200);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    kill_group(pid);
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(stopped());
                }
                Ok(None) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(e) => {
                    kill_group(pid);
                    return Err(helper_err(format!("wait failed: {e}")));
                }
            }
        };
        // The helper has exited, but a process it left behind may still hold its stdin (our
        // writer blocks on a full pipe) or its stdout (our reader never sees the end). Both
        // are bounded by the helper's deadline; then its whole process group is killed, which
        // closes the pipes, and the threads end (or are left behind if something escaped it).
        let wrote = join_with_deadline(writer, deadline);
        let stdout = join_with_deadline(reader, deadline);
        let (Some(()), Some(stdout)) = (wrote, stdout) else {
            kill_group(pid);
            return Err(helper_err(format!(
                "left a process holding its input or output; stopped after {} s",
                timeout.as_secs_f32().round()
            )));
        };
        Ok(HelperOutput {
            success: status.success(),
            stdout,
        })
    }
}

/// Starts the helper in its own process group (Unix), so a timeout stops whatever it started
/// too. Windows has no process groups: there only the helper itself is stopped.
#[cfg(unix)]
fn own_process_group(c: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    c.process_group(0)
}

#[cfg(not(unix))]
fn own_process_group(c: &mut Command) -> &mut Command {
    c
}

/// Nothing more to stop on Windows: the caller's `Child::kill` (TerminateProcess) stops the
/// helper; a process it started itself lives on.
#[cfg(not(unix))]
fn kill_group(_pid: u32) {}

/// Sends SIGKILL to a helper's whole process group.
#[cfg(unix)]
fn kill_group(pid: u32) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

fn join_with_deadline<T>(handle: std::thread::JoinHandle<T>, deadline: Instant) -> Option<T> {
    while !handle.is_finished() {
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    handle.join().ok()
}

/// The docker protocol's `get` answer, read as Go does: keys case-insensitive, extra keys and
/// trailing bytes ignored.
fn parse_get_answer(stdout: &[u8]) -> std::result::Result<Option<Credential>, String> {
    let mut values = serde_json::Deserializer::from_slice(stdout).into_iter::<Value>();
    let value = match values.next() {
        Some(Ok(v)) => v,
        Some(Err(e)) => return Err(format!("answer is not JSON: {e}")),
        None => return Err("empty answer".into()),
    };
    let Value::Object(map) = value else {
        return Err("answer is not a JSON object".into());
    };
    let get = |name: &str| {
        map.iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let (username, secret) = (get("Username"), get("Secret"));
    if username.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credential::from_docker(username, secret)))
}

/// The first line of a helper's error output, trimmed and shortened.
fn first_line(stdout: &[u8]) -> String {
    let text = String::from_utf8_lossy(stdout);
    let line = text.trim().lines().next().unwrap_or("").trim();
    let mut line: String = line.chars().take(200).collect();
    if line.is_empty() {
        line = "failed with no message".into();
    }
    line
}

/// Which Docker Hub spelling a helper was filled with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HubSpelling {
    /// `https://index.docker.io/v1/`, as the docker CLI and ORAS write it.
    Docker,
    /// `docker.io`, as podman and skopeo write it.
    Containers,
}

/// Asks one helper for one key.
pub fn helper_get(
    runner: &dyn HelperRunner,
    name: &str,
    key: &RegistryKey,
    hub: HubSpelling,
) -> Result<Option<Found>> {
    let server = match hub {
        HubSpelling::Docker => key.helper_server(),
        HubSpelling::Containers => key.host().to_string(),
    };
    let out = runner.run(name, "get", server.as_bytes())?;
    if !out.success {
        if String::from_utf8_lossy(&out.stdout).trim() == NOT_FOUND_TEXT {
            return Ok(None);
        }
        return Err(Error::Helper {
            name: name.to_string(),
            message: first_line(&out.stdout),
        });
    }
    let credential = parse_get_answer(&out.stdout).map_err(|message| Error::Helper {
        name: name.to_string(),
        message,
    })?;
    Ok(credential.map(|credential| Found {
        credential,
        origin: Origin {
            source: format!("docker-credential-{name}"),
            key: server,
        },
    }))
}

/// Stores through one helper. Namespaced keys are refused (helpers key by host).
pub fn helper_store(
    runner: &dyn HelperRunner,
    name: &str,
    key: &RegistryKey,
    cred: &Credential,
    hub: HubSpelling,
) -> Result<String> {
    if key.is_namespaced() {
        return Err(Error::Unsupported(format!(
            "namespaced key {key} is not supported for credential helper {name}"
        )));
    }
    let server = match hub {
        HubSpelling::Docker => key.helper_server(),
        HubSpelling::Containers => key.host().to_string(),
    };
    let (username, secret) = cred.to_docker();
    let mut body = serde_json::to_vec(&serde_json::json!({
        "ServerURL": server,
        "Username": username,
        "Secret": secret.expose(),
    }))
    .expect("a JSON object always serialises");
    body.push(b'\n');
    let out = runner.run(name, "store", &body)?;
    if !out.success {
        return Err(Error::Helper {
            name: name.to_string(),
            message: first_line(&out.stdout),
        });
    }
    Ok(format!("docker-credential-{name}"))
}

/// Erases through one helper; not-found is success.
pub fn helper_erase(
    runner: &dyn HelperRunner,
    name: &str,
    key: &RegistryKey,
    hub: HubSpelling,
) -> Result<bool> {
    if key.is_namespaced() {
        return Ok(false);
    }
    let server = match hub {
        HubSpelling::Docker => key.helper_server(),
        HubSpelling::Containers => key.host().to_string(),
    };
    let out = runner.run(name, "erase", server.as_bytes())?;
    if out.success {
        return Ok(true);
    }
    if String::from_utf8_lossy(&out.stdout).trim() == NOT_FOUND_TEXT {
        return Ok(false);
    }
    Err(Error::Helper {
        name: name.to_string(),
        message: first_line(&out.stdout),
    })
}

/// A `credential-helpers` entry naming an external helper.
pub struct HelperSource {
    name: String,
    runner: Rc<dyn HelperRunner>,
    spelling: HubSpelling,
}

impl HelperSource {
    /// A source for `docker-credential-<name>` (Docker Hub spelled as podman writes it).
    pub fn new(name: &str, runner: Rc<dyn HelperRunner>) -> Self {
        Self::with_spelling(name, runner, HubSpelling::Containers)
    }

    /// A source for `docker-credential-<name>` that spells Docker Hub as `hub` does.
    pub fn with_spelling(name: &str, runner: Rc<dyn HelperRunner>, hub: HubSpelling) -> Self {
        HelperSource {
            name: name.to_string(),
            runner,
            spelling: hub,
        }
    }
}

impl Source for HelperSource {
    fn name(&self) -> String {
        format!("docker-credential-{}", self.name)
    }

    fn get(&self, key: &RegistryKey) -> Result<Option<Found>> {
        if self.runner.is_self(&self.name) {
            return Ok(None);
        }
        helper_get(&*self.runner, &self.name, key, self.spelling)
    }

    fn store(&self, key: &RegistryKey, cred: &Credential) -> Result<String> {
        if self.runner.is_self(&self.name) {
            return Err(Error::Unsupported("ocicred does not call itself".into()));
        }
        helper_store(&*self.runner, &self.name, key, cred, self.spelling)
    }

    fn erase(&self, key: &RegistryKey) -> Result<bool> {
        if self.runner.is_self(&self.name) {
            return Ok(false);
        }
        helper_erase(&*self.runner, &self.name, key, self.spelling)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::cell::RefCell;

    /// A scripted runner: answers by (helper, action, stdin) and records calls.
    #[derive(Default)]
    pub struct Scripted {
        pub answers: Vec<(&'static str, &'static str, &'static str, bool, &'static str)>,
        pub calls: RefCell<Vec<(String, String, String)>>,
    }

    impl HelperRunner for Scripted {
        fn is_self(&self, name: &str) -> bool {
            name == SELF_NAME
        }
        fn run(&self, name: &str, action: &str, input: &[u8]) -> Result<HelperOutput> {
            let input = String::from_utf8_lossy(input).into_owned();
            self.calls
                .borrow_mut()
                .push((name.into(), action.into(), input.clone()));
            for (n, a, i, ok, out) in &self.answers {
                if *n == name && *a == action && (i.is_empty() || *i == input) {
                    return Ok(HelperOutput {
                        success: *ok,
                        stdout: out.as_bytes().to_vec(),
                    });
                }
            }
            Err(Error::Helper {
                name: name.into(),
                message: "executable file not found in $PATH".into(),
            })
        }
    }

    fn key(s: &str) -> RegistryKey {
        RegistryKey::parse(s).unwrap()
    }

    #[test]
    fn reads_answers_like_go_clients() {
        let r = Scripted {
            answers: vec![
                (
                    "a",
                    "get",
                    "h",
                    true,
                    "{\"serverurl\":\"x\",\"USERNAME\":\"bob\",\"Secret\":\"s\",\"Extra\":1} trailing",
                ),
                (
                    "nf",
                    "get",
                    "",
                    false,
                    "credentials not found in native keychain\n",
                ),
                ("err", "get", "", false, "boom\nmore"),
                ("empty", "get", "", true, "{}"),
                ("junk", "get", "", true, "junk"),
            ],
            ..Scripted::default()
        };
        let found = helper_get(&r, "a", &key("h/ns/repo"), HubSpelling::Containers)
            .unwrap()
            .unwrap();
        assert_eq!(found.credential.username(), "bob");
        assert_eq!(found.origin.source, "docker-credential-a");
        assert_eq!(r.calls.borrow()[0].2, "h", "helpers only see the bare host");
        assert!(
            helper_get(&r, "nf", &key("h"), HubSpelling::Containers)
                .unwrap()
                .is_none()
        );
        assert!(
            helper_get(&r, "empty", &key("h"), HubSpelling::Containers)
                .unwrap()
                .is_none()
        );
        let e = helper_get(&r, "err", &key("h"), HubSpelling::Containers).unwrap_err();
        assert_eq!(
            e.to_string(),
            "credential helper docker-credential-err: boom"
        );
        assert!(helper_get(&r, "junk", &key("h"), HubSpelling::Containers).is_err());
    }

    #[test]
    fn hub_spelling_follows_the_file_that_named_the_helper() {
        let r = Scripted::default();
        let _ = helper_get(&r, "x", &key("docker.io/library/a"), HubSpelling::Docker);
        let _ = helper_get(&r, "x", &key("index.docker.io"), HubSpelling::Containers);
        let calls = r.calls.borrow();
        assert_eq!(calls[0].2, "https://index.docker.io/v1/");
        assert_eq!(calls[1].2, "docker.io");
    }

    #[test]
    fn store_sends_go_shaped_json_and_refuses_namespaces() {
        let r = Scripted {
            answers: vec![("a", "store", "", true, "")],
            ..Scripted::default()
        };
        helper_store(
            &r,
            "a",
            &key("h:5000"),
            &Credential::basic("alice", "secret"),
            HubSpelling::Containers,
        )
        .unwrap();
        assert_eq!(
            r.calls.borrow()[0].2,
            "{\"ServerURL\":\"h:5000\",\"Username\":\"alice\",\"Secret\":\"secret\"}\n"
        );
        assert!(matches!(
            helper_store(
                &r,
                "a",
                &key("h/ns"),
                &Credential::basic("a", "b"),
                HubSpelling::Containers
            ),
            Err(Error::Unsupported(_))
        ));
    }

    #[test]
    fn output_debug_hides_the_answer() {
        let out = HelperOutput {
            success: true,
            stdout: br#"{"Username":"u","Secret":"hunter2"}"#.to_vec(),
        };
        let shown = format!("{out:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("104, 117"), "{shown}"); // not as bytes either
    }

    #[test]
    fn self_is_never_run() {
        let r: Rc<dyn HelperRunner> = Rc::new(Scripted::default());
        let s = HelperSource::new("ocicred", r);
        assert!(s.get(&key("h")).unwrap().is_none());
    }
}
