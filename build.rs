//! One name for "which OS keyring this build talks to", so the source code never repeats the
//! list of operating systems:
//!
//! - `secret_service`: the `keyring` feature on Linux and the BSDs (Secret Service over D-Bus);
//! - `native_keyring`: the `keyring` feature on macOS or Windows (keyring-core's native stores);
//! - neither: no keyring in this build (the feature is off, or the platform has no store).
//!
//! The same operating-system list chooses the platform dependencies in Cargo.toml.

// A build script reads what Cargo tells it through the environment; `env::Env` is the
// product's reader, not the build's.
#[allow(clippy::disallowed_methods)]
fn main() {
    println!("cargo::rustc-check-cfg=cfg(secret_service)");
    println!("cargo::rustc-check-cfg=cfg(native_keyring)");
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_KEYRING").is_none() {
        return;
    }
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    match os.as_str() {
        "linux" | "freebsd" | "openbsd" | "netbsd" | "dragonfly" => {
            println!("cargo::rustc-cfg=secret_service");
        }
        "macos" | "windows" => println!("cargo::rustc-cfg=native_keyring"),
        _ => {}
    }
}
