//! Which protocol a call speaks (docs/protocol.md#which-protocol-a-call-speaks), and the wire
//! front-ends.
//!
//! Detection is pure: it looks at the program name, the first argument and, for `get`, the
//! first non-blank byte of stdin, which is read here within its size limit ([`MAX_STDIN`]). The front-ends decode their wire input, call the resolver
//! and encode the answer; they hold no lookup policy.

pub mod bazel;
pub mod docker;

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The most ocicred reads from stdin on the protocol paths.
pub const MAX_STDIN: usize = 1024 * 1024;

/// What a process was asked to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Mode {
    /// The docker credential-helper protocol (`docker-credential-ocicred ACTION`, or
    /// `ocicred get|store|erase|version` with a non-JSON body).
    Docker,
    /// `ocicred get` whose stdin may be a Bazel request: decided after reading stdin.
    GetSniff,
    /// The person-facing CLI.
    Person,
}

/// True when the program was started under a `docker-credential-*` name.
pub fn is_docker_name(argv0: &OsStr) -> bool {
    Path::new(argv0)
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("docker-credential-"))
}

/// Picks the mode from the program name and the first argument.
pub fn detect(argv0: &OsStr, first: Option<&str>) -> Mode {
    if is_docker_name(argv0) {
        return Mode::Docker;
    }
    match first {
        Some("get") => Mode::GetSniff,
        Some("store" | "erase" | "version") => Mode::Docker,
        _ => Mode::Person,
    }
}

/// True when a `get` body is a Bazel request (first non-whitespace byte is `{`).
pub fn is_bazel_body(stdin: &[u8]) -> bool {
    stdin
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

/// Reads all of stdin, refusing more than [`MAX_STDIN`] bytes.
pub fn read_stdin(stdin: &mut dyn Read) -> Result<Vec<u8>> {
    let buf = read_bounded(stdin)?;
    check_size(&buf)?;
    Ok(buf)
}

/// Reads stdin up to one byte past [`MAX_STDIN`] (so that [`check_size`] can tell).
pub fn read_bounded(stdin: &mut dyn Read) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    stdin
        .take(MAX_STDIN as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::InvalidInput(format!("cannot read stdin: {e}")))?;
    Ok(buf)
}

/// Refuses input larger than [`MAX_STDIN`] bytes.
pub fn check_size(buf: &[u8]) -> Result<()> {
    if buf.len() > MAX_STDIN {
        return Err(Error::InvalidInput(format!(
            "input is larger than {} bytes",
            MAX_STDIN
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection() {
        let d = |a0: &str, first: Option<&str>| detect(OsStr::new(a0), first);
        assert_eq!(
            d("/usr/bin/docker-credential-ocicred", Some("list")),
            Mode::Docker
        );
        assert_eq!(d("docker-credential-ocicred", None), Mode::Docker);
        assert_eq!(d("/x/ocicred", Some("get")), Mode::GetSniff);
        assert_eq!(d("ocicred", Some("store")), Mode::Docker);
        assert_eq!(d("ocicred", Some("list")), Mode::Person);
        assert_eq!(d("ocicred", Some("login")), Mode::Person);
        assert!(is_bazel_body(b" \n{\"uri\":\"x\"}"));
        assert!(!is_bazel_body(b"ghcr.io"));
        assert!(!is_bazel_body(b""));
    }
}
