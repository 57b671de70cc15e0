//! ocicred's own configuration file: where its credentials go (`store`), whether they are also
//! copied into docker's `config.json` (`dual-write`), whether the environment is read (`env`,
//! README.md#credentials-from-the-environment-ci) and the `[[route]]` tables
//! (README.md#routes-wildcard-and-per-registry-sources).
//!
//! It owns reading `$OCICRED_CONFIG` (else `$XDG_CONFIG_HOME/ocicred/config.toml`), the
//! `OCICRED_STORE` override, and the parse errors with line and column (from the TOML parser's
//! spans, through [`crate::toml_error`]). A missing file means the defaults (`store = "auth-file"`, `dual-write = false`,
//! `env = true`, no routes). Key names match case-insensitively, as the Go tools do for their
//! TOML. Pure apart from [`load`], which reads the one file.

use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsio;
use crate::route::{self, Route, SourceName, Target};
use crate::source::{SELF_NAME, SourceSpec};
use crate::toml_error::{error_at, line_col, syntax_error, utf8_text};

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

    /// The source this store is in the source order (`ocicred` in registries.conf's
    /// `credential-helpers` means this source).
    pub fn source_spec(self) -> SourceSpec {
        match self {
            StoreKind::AuthFile => SourceSpec::AuthFiles,
            StoreKind::Keyring => SourceSpec::Keyring,
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
    /// Read credentials from the environment (README.md#credentials-from-the-environment-ci); `env
    /// = false` turns it off.
    pub env: bool,
    /// The `[[route]]` tables, in file order.
    pub routes: Vec<Route>,
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
            env: true,
            routes: Vec::new(),
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
                let text = utf8_text(&path, bytes)?;
                let mut c = parse(&text, &path)?;
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

/// Parses the file's text.
pub fn parse(text: &str, path: &Path) -> Result<OcicredConfig> {
    let table = DeTable::parse(text).map_err(|e| syntax_error(path, text, &e))?;
    let mut config = OcicredConfig::default();
    let at =
        |span: std::ops::Range<usize>, message: String| error_at(path, text, span.start, message);
    for (key, value) in table.get_ref() {
        let name: &str = key.get_ref();
        match name.to_ascii_lowercase().replace('_', "-").as_str() {
            "store" => {
                let s = value.get_ref().as_str().ok_or_else(|| {
                    at(
                        key.span(),
                        "store must be a string: \"auth-file\" or \"keyring\"".into(),
                    )
                })?;
                config.store = StoreKind::parse(s).ok_or_else(|| {
                    at(
                        key.span(),
                        format!("store = {s:?} is not \"auth-file\" or \"keyring\""),
                    )
                })?;
            }
            "dual-write" => {
                config.dual_write = value
                    .get_ref()
                    .as_bool()
                    .ok_or_else(|| at(key.span(), "dual-write must be true or false".into()))?;
            }
            "env" => {
                config.env = value
                    .get_ref()
                    .as_bool()
                    .ok_or_else(|| at(key.span(), "env must be true or false".into()))?;
            }
            "route" => {
                let DeValue::Array(items) = value.get_ref() else {
                    return Err(at(
                        key.span(),
                        "route must be a list of tables: write each as [[route]]".into(),
                    ));
                };
                for item in items.iter() {
                    config.routes.push(parse_route(item, text, path)?);
                }
            }
            _ => config
                .unknown_keys
                .push((name.to_string(), line_col(text, key.span().start).0)),
        }
    }
    Ok(config)
}

/// One `[[route]]` table (README.md#routes-wildcard-and-per-registry-sources): `match` plus exactly
/// one of `helper`, `source`, `username-env` with `password-env`, or `token-env`.
fn parse_route(item: &Spanned<DeValue<'_>>, text: &str, path: &Path) -> Result<Route> {
    let at =
        |span: std::ops::Range<usize>, message: String| error_at(path, text, span.start, message);
    let DeValue::Table(table) = item.get_ref() else {
        return Err(at(item.span(), "each route must be a table".into()));
    };
    // The route's position: its `[[route]]` header (the parser's span of a table in an array
    // of tables may start at its first key), or the `{` of an inline table.
    let start = item.span().start;
    let header = if text.get(start..).is_some_and(|t| t.starts_with(['{', '['])) {
        start
    } else {
        text.get(..start)
            .and_then(|t| t.rfind("[["))
            .unwrap_or(start)
    };
    let (line, column) = line_col(text, header);
    let mut pattern: Option<(String, route::Pattern)> = None;
    let mut targets: Vec<(Target, std::ops::Range<usize>)> = Vec::new();
    let mut username_env: Option<(String, std::ops::Range<usize>)> = None;
    let mut password_env: Option<(String, std::ops::Range<usize>)> = None;
    for (key, value) in table {
        let name: &str = key.get_ref();
        let lname = name.to_ascii_lowercase().replace('_', "-");
        let string = || {
            value
                .get_ref()
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| at(value.span(), format!("route {lname} must be a string")))
        };
        match lname.as_str() {
            "match" => {
                let s = string()?;
                let p = route::parse_pattern(&s).map_err(|m| at(value.span(), m))?;
                pattern = Some((s, p));
            }
            "helper" => {
                let h = string()?;
                if h.is_empty() || h.contains(['/', '\\']) || h.chars().any(char::is_whitespace) {
                    return Err(at(
                        value.span(),
                        format!(
                            "route helper {h:?} is not a helper name (the X of docker-credential-X)"
                        ),
                    ));
                }
                if h == SELF_NAME || h == "docker-credential-ocicred" {
                    return Err(at(
                        value.span(),
                        "a route cannot name ocicred itself as its helper (it would loop)".into(),
                    ));
                }
                targets.push((Target::Helper(h), key.span()));
            }
            "source" => {
                let s = string()?;
                let source = SourceName::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
                    at(
                        value.span(),
                        format!("route source {s:?} is not \"env\", \"keyring\", \"auth-file\" or \"none\""),
                    )
                })?;
                targets.push((Target::Source(source), key.span()));
            }
            "username-env" => {
                username_env = Some((var_name(&string()?, &at, value.span())?, key.span()))
            }
            "password-env" => {
                password_env = Some((var_name(&string()?, &at, value.span())?, key.span()))
            }
            "token-env" => {
                let v = var_name(&string()?, &at, value.span())?;
                targets.push((Target::Token(v), key.span()));
            }
            _ => {
                return Err(at(
                    key.span(),
                    format!(
                        "unknown route key {name:?} (a route has match and one of helper, source, username-env + password-env, token-env)"
                    ),
                ));
            }
        }
    }
    match (username_env, password_env) {
        (Some((username, span)), Some((password, _))) => {
            targets.push((Target::Vars { username, password }, span))
        }
        (Some((_, span)), None) => {
            return Err(at(
                span,
                "route has username-env but no password-env".into(),
            ));
        }
        (None, Some((_, span))) => {
            return Err(at(
                span,
                "route has password-env but no username-env".into(),
            ));
        }
        (None, None) => {}
    }
    let Some((text_match, pattern)) = pattern else {
        return Err(error_at(path, text, header, "route has no match"));
    };
    let target = match targets.len() {
        1 => targets.remove(0).0,
        0 => {
            return Err(error_at(
                path,
                text,
                header,
                format!(
                    "route {text_match:?} says nowhere to go: give it helper, source, username-env + password-env, or token-env"
                ),
            ));
        }
        _ => {
            return Err(at(
                targets[1].1.clone(),
                format!(
                    "route {text_match:?} has more than one of helper, source, username-env + password-env, token-env"
                ),
            ));
        }
    };
    Ok(Route {
        text: text_match,
        pattern,
        target,
        file: path.to_path_buf(),
        line,
        column,
    })
}

fn var_name(
    name: &str,
    at: &dyn Fn(std::ops::Range<usize>, String) -> Error,
    span: std::ops::Range<usize>,
) -> Result<String> {
    if name.is_empty() || name.contains('=') || name.contains('\0') {
        return Err(at(
            span,
            format!("{name:?} is not an environment variable name"),
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_byte_characters_near_keys_and_errors_do_not_panic() {
        // Found by fuzzing: a BOM before a key made `key_line` slice inside it.
        let _ = p("\u{feff}re=\"\"\t");
        let _ = p("\u{e9}store = 1");
        let e = p("store = \"\u{e9}\u{e9}").unwrap_err().to_string();
        assert!(!e.contains('\n'), "{e}");
        assert_eq!(line_col("\u{e9}x", 1), (1, 1));
    }

    fn p(text: &str) -> Result<OcicredConfig> {
        parse(text, Path::new("/c.toml"))
    }

    #[test]
    fn reads_store_and_dual_write_any_case() {
        let c = p("Store = \"keyring\"\nDual-Write = true\n").unwrap();
        assert_eq!(c.store, StoreKind::Keyring);
        assert_eq!(c.store.source_spec(), SourceSpec::Keyring);
        assert!(c.dual_write);
        assert_eq!(p("").unwrap(), OcicredConfig::default());
        assert_eq!(StoreKind::AuthFile.source_spec(), SourceSpec::AuthFiles);
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
            "/c.toml: store = \"vault\" is not \"auth-file\" or \"keyring\" at line 2 column 1"
        );
    }

    #[test]
    fn routes_and_env() {
        let c = p(
            "Env = false\n\n[[Route]]\nmatch = \"*.corp\"\nHelper = \"probe\"\n\
                   [[route]]\nmatch = \"ghcr.io/org\"\nsource = \"ENV\"\n\
                   [[route]]\nmatch = \"gl.corp\"\nusername_env = \"U\"\npassword-env = \"P\"\n",
        )
        .unwrap();
        assert!(!c.env);
        let shown: Vec<_> = c
            .routes
            .iter()
            .map(|r| (r.text.as_str(), r.target.describe(), r.line, r.column))
            .collect();
        assert_eq!(
            shown,
            [
                ("*.corp", "helper docker-credential-probe".to_string(), 3, 1),
                ("ghcr.io/org", "source env".to_string(), 6, 1),
                ("gl.corp", "$U/$P".to_string(), 9, 1),
            ]
        );
        let inline = p("route = [{match = \"h\", token-env = \"T\"}]\n").unwrap();
        assert_eq!(inline.routes[0].target, Target::Token("T".into()));
        assert_eq!((inline.routes[0].line, inline.routes[0].column), (1, 10));
        let e = p("route = [{match = \"h\"}]\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "/c.toml: route \"h\" says nowhere to go: give it helper, source, username-env + password-env, or token-env at line 1 column 10"
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
