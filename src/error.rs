//! The crate's closed error type.
//!
//! Every failure a caller can see is one variant here, and its `Display` is the single line a
//! user reads: what went wrong and which file or helper, never a secret value. The docker
//! protocol's fixed texts (`credentials not found in native keychain`, `no credentials server
//! URL`, `no credentials username`) are variants too, so front-ends cannot misspell them.

use std::path::{Path, PathBuf};

/// The docker protocol's not-found text, compared byte for byte by clients.
pub const NOT_FOUND_TEXT: &str = "credentials not found in native keychain";

/// Everything that can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No credential anywhere (the docker protocol's not-found answer).
    #[error("credentials not found in native keychain")]
    NotFound,
    /// Empty server address on the docker protocol.
    #[error("no credentials server URL")]
    NoServerUrl,
    /// Empty user name on a docker `store`.
    #[error("no credentials username")]
    NoUsername,
    /// Input that is not what the protocol or command expects.
    #[error("{0}")]
    InvalidInput(String),
    /// A file that does not parse. `line`/`column` are 1-based; 0 when unknown.
    #[error("{path}: {message}{}", location(*line, *column))]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A file or directory operation failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A configuration that parses but is not valid.
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    /// An external `docker-credential-*` helper failed.
    #[error("credential helper docker-credential-{name}: {message}")]
    Helper { name: String, message: String },
    /// The reference's registry is blocked in registries.conf.
    #[error("registry {0} is blocked in registries.conf")]
    Blocked(String),
    /// The operating system keyring failed.
    #[error("keyring: {0}")]
    Keyring(String),
    /// An HTTP exchange with a registry or token server failed.
    #[error("{0}")]
    Http(String),
    /// The operation is not supported by this backend.
    #[error("{0}")]
    Unsupported(String),
}

fn location(line: usize, column: usize) -> String {
    match (line, column) {
        (0, _) => String::new(),
        (l, 0) => format!(" at line {l}"),
        (l, c) => format!(" at line {l} column {c}"),
    }
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A JSON parse error on `path`, with serde_json's line and column.
    pub fn json(path: &Path, err: &serde_json::Error) -> Self {
        let message = err.to_string();
        // serde_json appends " at line L column C"; keep the message and carry the position.
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_string(),
            None => message,
        };
        Error::Parse {
            path: path.to_path_buf(),
            line: err.line(),
            column: err.column(),
            message: format!("invalid JSON: {message}"),
        }
    }

    /// True for [`Error::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound)
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_texts() {
        assert_eq!(Error::NotFound.to_string(), NOT_FOUND_TEXT);
        assert_eq!(Error::NoServerUrl.to_string(), "no credentials server URL");
        assert_eq!(Error::NoUsername.to_string(), "no credentials username");
    }

    #[test]
    fn json_error_names_file_and_position() {
        let err = serde_json::from_str::<serde_json::Value>("{\n  \"a\": ,\n}").unwrap_err();
        let e = Error::json(Path::new("/tmp/auth.json"), &err);
        assert_eq!(
            e.to_string(),
            "/tmp/auth.json: invalid JSON: expected value at line 2 column 8"
        );
    }
}
