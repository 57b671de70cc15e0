//! Reading an auth file from disk into the model: through [`crate::fsio`] (regular files
//! only, size-capped, never following a symlink when writing), with the file's path, line and
//! column in every parse error. A file that does not exist is `Ok(None)`.

use std::path::Path;

use super::{AuthFileFormat, AuthJson};
use crate::error::{Error, Result};
use crate::fsio;

/// Parses the bytes read from `path`; an error names the file and the line/column.
pub fn parse_file(path: &Path, bytes: &[u8], format: AuthFileFormat) -> Result<AuthJson> {
    AuthJson::parse(bytes, format).map_err(|e| Error::json(path, &e))
}

/// Loads and parses one auth file; `Ok(None)` when it does not exist.
pub fn load(path: &Path, format: AuthFileFormat) -> Result<Option<AuthJson>> {
    fsio::read_optional(path)?
        .map(|bytes| parse_file(path, &bytes, format))
        .transpose()
}

/// Loads the auth file a writer holds the lock on (a regular file of the user's, read
/// without following a symlink); `Ok(None)` when it does not exist.
pub fn load_for_write(target: &fsio::WriteTarget) -> Result<Option<AuthJson>> {
    target
        .read()?
        .map(|bytes| parse_file(&target.path(), &bytes, AuthFileFormat::Auths))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_name_the_file_and_position() {
        let e = parse_file(
            Path::new("/x/auth.json"),
            b"{\n  \"auths\": }",
            AuthFileFormat::Auths,
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("/x/auth.json: invalid JSON: "), "{e}");
        assert!(e.ends_with(" at line 2 column 12"), "{e}");
    }

    #[test]
    fn a_missing_file_is_none() {
        let dir = std::env::temp_dir().join(format!("ocicred-load-{}", std::process::id()));
        assert!(
            load(&dir.join("absent.json"), AuthFileFormat::Auths)
                .unwrap()
                .is_none()
        );
    }
}
