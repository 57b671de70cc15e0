//! No keyring in this build: the `keyring` cargo feature is off, or the platform has no store
//! ocicred supports. Every call fails with one line that says which, and the caller adds how to
//! keep credentials in the auth file instead.

use std::time::Duration;

use super::os::{Fail, FastFail};

pub const PLATFORM: &str = "OS keyring";

/// Why there is no keyring.
const WHY: &str = if cfg!(feature = "keyring") {
    "this platform has no OS keyring that ocicred supports"
} else {
    "keyring support not built in (ocicred was built without the `keyring` cargo feature)"
};

pub struct Conn;

pub fn connect() -> Result<Conn, String> {
    Err(WHY.into())
}

pub fn vendor(_: &Conn) -> Result<String, Fail> {
    Ok(String::new())
}

/// No fast path here.
pub fn get_fast(_: &str, _: u32, _: Duration, _: &str) -> Result<Option<Vec<u8>>, FastFail> {
    Err(FastFail::Other)
}

pub fn get(_: &Conn, _: &str) -> Result<Option<Vec<u8>>, Fail> {
    Err(Fail::Connect(WHY.into()))
}

pub fn set(_: &Conn, _: &str, _: &str, _: &[u8]) -> Result<(), Fail> {
    Err(Fail::Connect(WHY.into()))
}

pub fn delete(_: &Conn, _: &str) -> Result<bool, Fail> {
    Err(Fail::Connect(WHY.into()))
}

pub fn all(_: &Conn) -> Result<Vec<Vec<u8>>, Fail> {
    Err(Fail::Connect(WHY.into()))
}
