//! ocicred's own configuration file: where its credentials go (`store`) and whether they are
//! also copied into docker's `config.json` (`dual-write`).
//!
//! It owns reading `$OCICRED_CONFIG` (else `$XDG_CONFIG_HOME/ocicred/config.toml`), the
//! `OCICRED_STORE` override, and the parse errors with line and column. A missing file means the
//! defaults (`store = "auth-file"`, `dual-write = false`). Key names match case-insensitively,
//! as the Go tools do for their TOML. Pure apart from [`load`], which reads the one file.

use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsio;

/// Where ocicred itself keeps the credentials it is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// The auth.json podman and skopeo write.
    AuthFile,
    /// The OS keyring.
    Keyring,
}

impl StoreKind {
    /// Parses `auth-file` or `keyring` (any case).
    pub fn parse(value: &str) -> Option<StoreKind> {
        match value.trim().to_ascii_lowercase().as_str() {
            "auth-file" | "authfile" | "auth_file" | "file" => Some(StoreKind::AuthFile),
            "keyring" => Some(StoreKind::Keyring),
            _ => None,
        }
    }

    /// The spelling used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::AuthFile => "auth-file",
            StoreKind::Keyring => "keyring",
        }
    }
}

/// The effective ocicred configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcicredConfig {
    /// The backend for `store`/`erase`/`login`/`logout`.
    pub store: StoreKind,
    /// Also write docker's `config.json`.
    pub dual_write: bool,
    /// The config file, when it exists.
    pub file: Option<PathBuf>,
    /// Keys in the file that ocicred does not know, with their line (for `doctor`).
    pub unknown_keys: Vec<(String, usize)>,
}

impl Default for OcicredConfig {
    fn default() -> Self {
        OcicredConfig {
            store: StoreKind::AuthFile,
            dual_write: false,
            file: None,
            unknown_keys: Vec::new(),
        }
    }
}

/// The hint every keyring error carries: how to go back to the auth file.
pub fn auth_file_hint(env: &Env) -> String {
    let file = env
        .ocicred_config_file()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "~/.config/ocicred/config.toml".into());
    format!(
        "to keep credentials in the auth file instead, set store = \"auth-file\" in {file} or OCICRED_STORE=auth-file"
    )
}

/// Reads the configuration: the file (if any), then `OCICRED_STORE`.
pub fn load(env: &Env) -> Result<OcicredConfig> {
    let mut config = match env.ocicred_config_file() {
        Some(path) => match fsio::read_optional(&path)? {
            Some(bytes) => {
                let text = std::str::from_utf8(&bytes).map_err(|e| Error::Parse {
                    path: path.clone(),
                    line: 0,
                    column: 0,
                    message: format!("not UTF-8 (byte {})", e.valid_up_to()),
                })?;
                let mut c = parse(text, &path)?;
                c.file = Some(path);
                c
            }
            None => OcicredConfig::default(),
        },
        None => OcicredConfig::default(),
    };
    if let Some(value) = &env.ocicred_store {
        config.store = StoreKind::parse(value).ok_or_else(|| {
            Error::InvalidInput(format!(
                "OCICRED_STORE={value:?} is not \"auth-file\" or \"keyring\""
            ))
        })?;
    }
    Ok(config)
}

/// 1-based line and column of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// A TOML parse error on `path`, with the parser's line and column.
pub fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> Error {
    let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
    Error::Parse {
        path: path.to_path_buf(),
        line,
        column,
        message: format!("invalid TOML: {}", e.message().trim()),
    }
}

fn key_line(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches('"');
            l.len() >= key.len() && l[..key.len()].eq_ignore_ascii_case(key)
        })
        .map_or(0, |i| i + 1)
}

/// Parses the file's text.
pub fn parse(text: &str, path: &Path) -> Result<OcicredConfig> {
    let table: toml::Table = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    let mut config = OcicredConfig::default();
    let bad = |key: &str, message: String| Error::Parse {
        path: path.to_path_buf(),
        line: key_line(text, key),
        column: 0,
        message,
    };
    for (key, value) in &table {
        match key.to_ascii_lowercase().replace('_', "-").as_str() {
            "store" => {
                let s = value.as_str().ok_or_else(|| {
                    bad(
                        key,
                        "store must be a string: \"auth-file\" or \"keyring\"".into(),
                    )
                })?;
                config.store = StoreKind::parse(s).ok_or_else(|| {
                    bad(
                        key,
                        format!("store = {s:?} is not \"auth-file\" or \"keyring\""),
                    )
                })?;
            }
            "dual-write" => {
                config.dual_write = value
                    .as_bool()
                    .ok_or_else(|| bad(key, "dual-write must be true or false".into()))?;
            }
            _ => config.unknown_keys.push((key.clone(), key_line(text, key))),
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<OcicredConfig> {
        parse(text, Path::new("/c.toml"))
    }

    #[test]
    fn reads_store_and_dual_write_any_case() {
        let c = p("Store = \"keyring\"\nDual-Write = true\n").unwrap();
        assert_eq!(c.store, StoreKind::Keyring);
        assert!(c.dual_write);
        assert_eq!(p("").unwrap(), OcicredConfig::default());
        assert_eq!(
            p("colour = 1\n").unwrap().unknown_keys,
            [("colour".into(), 1)]
        );
    }

    #[test]
    fn errors_name_file_and_position() {
        let e = p("store = \"keyring\"\ndual-write = \n").unwrap_err();
        assert!(e.to_string().starts_with("/c.toml: invalid TOML:"), "{e}");
        assert!(e.to_string().contains("at line 2 column"), "{e}");
        let e = p("\nstore = \"vault\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/c.toml: store = \"vault\" is not \"auth-file\" or \"keyring\" at line 2"
        );
    }

    #[test]
    fn environment_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "store = \"auth-file\"\n").unwrap();
        let env = Env {
            ocicred_config: Some(file.clone()),
            ocicred_store: Some("keyring".into()),
            ..Env::default()
        };
        let c = load(&env).unwrap();
        assert_eq!((c.store, c.file), (StoreKind::Keyring, Some(file)));
        let env = Env {
            ocicred_store: Some("nope".into()),
            ..env
        };
        assert!(load(&env).is_err());
    }
}
