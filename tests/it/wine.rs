//! The Windows build (`x86_64-pc-windows-gnu`) under Wine: the docker-protocol round trip
//! (store, get, list, erase) with the auth-file store, in a fresh Wine prefix, so its user
//! profile (`C:\users\<name>`, where `%USERPROFILE%` points) is a temp directory.
//!
//! `tests/run.sh` builds the `.exe` (`cargo build --release --locked --target
//! x86_64-pc-windows-gnu`) and installs Wine; without either this test fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// Where `cargo build --release --target x86_64-pc-windows-gnu` puts the binary: beside the
/// host build's target directory (`target/debug/ocicred` → `target/`).
fn windows_exe() -> PathBuf {
    let target = ocicred_bin()
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/")
        .to_path_buf();
    let exe = target.join("x86_64-pc-windows-gnu/release/ocicred.exe");
    assert!(
        exe.is_file(),
        "{} is missing: build it with `cargo build --release --locked --target x86_64-pc-windows-gnu` (tests/run.sh does)",
        exe.display()
    );
    exe
}

/// Wine's server, installed with `wine64`.
const WINESERVER: &str = "/usr/lib/wine/wineserver";

/// Debian's `wine64` loader (the `wine` wrapper needs the 32-bit half, which we do not install).
fn wine() -> PathBuf {
    let p = PathBuf::from("/usr/lib/wine/wine64");
    assert!(
        p.is_file(),
        "{} is required by this test and is not installed (apt-get install wine64; tests/run.sh installs it)",
        p.display()
    );
    p
}

/// Rust's std on Windows takes its random seeds from `ProcessPrng` in `bcryptprimitives.dll`
/// (Windows 10 and later); Debian bookworm's Wine 8 has no such DLL, so the `.exe` would not
/// start. This test-only stand-in, built with mingw-w64 beside the `.exe` (where Windows
/// looks first), answers `ProcessPrng` with Wine's `RtlGenRandom`. ocicred itself is unchanged.
const PROCESS_PRNG_SHIM: &str = r#"
#include <windows.h>
#include <ntsecapi.h>
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!RtlGenRandom(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
"#;

fn bcryptprimitives_shim(dir: &Path) {
    let gcc = require("x86_64-w64-mingw32-gcc");
    let src = dir.join("processprng.c");
    std::fs::write(&src, PROCESS_PRNG_SHIM).unwrap();
    let out = Command::new(gcc)
        .args(["-O2", "-shared", "-o"])
        .arg(dir.join("bcryptprimitives.dll"))
        .arg(&src)
        .arg("-ladvapi32")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// Windows' view of a host path (Wine maps `/` to drive `Z:`).
fn windows_path(p: &Path) -> String {
    format!("Z:{}", p.display()).replace('/', "\\")
}

/// A Wine prefix in a temp directory with its own wineserver, stopped on drop.
struct Prefix {
    root: tempfile::TempDir,
    exe: PathBuf,
}

/// No Wine call here should take this long (creating a prefix takes about 30 s).
const WINE_LIMIT: Duration = Duration::from_secs(180);

impl Prefix {
    fn new() -> Prefix {
        let root = tempfile::Builder::new()
            .prefix("ocicred-wine")
            .tempdir()
            .unwrap();
        // Started under a docker-credential-* name, as docker runs a credsStore helper.
        let exe = root.path().join("docker-credential-ocicred.exe");
        std::fs::copy(windows_exe(), &exe).unwrap();
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        bcryptprimitives_shim(root.path());
        // wineserver needs the prefix directory; `wineboot` fills it.
        std::fs::create_dir_all(root.path().join("prefix")).unwrap();
        let prefix = Prefix { root, exe };
        // Wine's background services inherit the standard streams of the process that starts
        // them and would hold our pipes open: start the server and the services (creating the
        // prefix) with no streams first; the calls after that return as soon as they end.
        let mut server = prefix.wine_env(Command::new(WINESERVER));
        server.arg("-p");
        bounded(server, "wineserver -p");
        let mut boot = prefix.wine_env(Command::new(wine()));
        boot.arg("wineboot");
        bounded(boot, "wine64 wineboot");
        prefix
    }

    fn wine_env(&self, mut c: Command) -> Command {
        c.env_clear()
            .env("WINEPREFIX", self.root.path().join("prefix"))
            .env("WINEDEBUG", "-all")
            // No mono/gecko installers while the prefix is created.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env("PATH", "/usr/bin:/bin")
            // A system configuration root of our own, not the host's /etc through Z:.
            .env(
                "OCICRED_SYSCONFDIR",
                windows_path(&self.root.path().join("etc")),
            )
            .current_dir(self.root.path());
        c
    }

    fn helper(&self, action: &str, stdin: &[u8]) -> Out {
        let mut c = self.wine_env(Command::new(wine()));
        c.arg(&self.exe).arg(action);
        let start = Instant::now();
        let out = run(c, stdin);
        assert!(
            start.elapsed() < WINE_LIMIT,
            "{action} under Wine took {:?}",
            start.elapsed()
        );
        out
    }

    /// The auth file ocicred writes by default: `%USERPROFILE%\.config\containers\auth.json`,
    /// inside the prefix (Wine names the profile after the Unix user).
    fn auth_json(&self) -> PathBuf {
        let users = self.root.path().join("prefix/drive_c/users");
        let found: Vec<PathBuf> = std::fs::read_dir(&users)
            .unwrap()
            .map(|e| e.unwrap().path().join(".config/containers/auth.json"))
            .filter(|p| p.is_file())
            .collect();
        assert_eq!(found.len(), 1, "one auth.json under {}", users.display());
        found.into_iter().next().unwrap()
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let mut kill = self.wine_env(Command::new(WINESERVER));
        kill.arg("-k")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = kill.status();
    }
}

/// Runs `c` with no standard streams; fails the test if it takes longer than [`WINE_LIMIT`]
/// (and stops it) or fails.
fn bounded(mut c: Command, what: &str) {
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{what}: {status}");
            return;
        }
        if start.elapsed() > WINE_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {WINE_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn docker_protocol_round_trip_under_wine() {
    let wine = Prefix::new();
    let out = wine.helper("version", b"");
    assert!(out.ok().starts_with("ocicred "), "{out:#?}");

    let body =
        br#"{"ServerURL":"https://Index.Docker.io/v1/","Username":"alice","Secret":"s3cret"}"#;
    let out = wine.helper("store", body);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:#?}");
    let text = std::fs::read_to_string(wine.auth_json()).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["auths"]["docker.io"]["auth"], "YWxpY2U6czNjcmV0");

    let out = wine.helper("get", b"registry-1.docker.io\n");
    assert_eq!(
        out.ok(),
        "{\"ServerURL\":\"registry-1.docker.io\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}\n"
    );
    assert!(!out.stderr.contains("s3cret"), "{out:#?}");

    let out = wine.helper("list", b"unused");
    let listed: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(listed, serde_json::json!({"docker.io": "alice"}));

    let out = wine.helper("erase", b"docker.io");
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:#?}");
    let out = wine.helper("get", b"docker.io");
    assert_eq!((out.code, out.stdout.as_str()), (1, NOT_FOUND));
    let text = std::fs::read_to_string(wine.auth_json()).unwrap();
    assert!(!text.contains("YWxpY2U6czNjcmV0"), "{text}");

    // Garbage is one line and exit 1, as on Linux.
    let out = wine.helper("store", b"not json");
    assert_eq!(out.code, 1, "{out:#?}");
    assert_eq!(out.stdout.lines().count(), 1, "{out:#?}");
}
