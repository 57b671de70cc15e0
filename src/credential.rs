//! `Credential`: what a lookup finds and what a store writes, independent of any wire format.
//!
//! It also owns the `auth` field shared by auth.json and docker's config.json: base64 of
//! `user:password`, split on the first `:`. The docker protocol's `<token>` username convention
//! maps to [`Credential::IdentityToken`] here; each wire module converts to and from this type.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::secret::Secret;

/// The username that, on the docker protocol, marks the secret as an identity (refresh) token.
pub const IDENTITY_TOKEN_USER: &str = "<token>";

/// A registry credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// A user name and password (or a personal access token used as a password).
    Basic {
        username: String,
        password: Secret<String>,
    },
    /// An OAuth2 refresh ("identity") token, exchanged at the registry's token endpoint.
    IdentityToken { token: Secret<String> },
}

impl Credential {
    /// A user name and password.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credential::Basic {
            username: username.into(),
            password: Secret::new(password.into()),
        }
    }

    /// Builds a credential from the docker protocol's `(Username, Secret)` pair, honouring the
    /// `<token>` convention.
    pub fn from_docker(username: String, secret: String) -> Self {
        if username == IDENTITY_TOKEN_USER {
            Credential::IdentityToken {
                token: Secret::new(secret),
            }
        } else {
            Credential::Basic {
                username,
                password: Secret::new(secret),
            }
        }
    }

    /// The `(Username, Secret)` pair the docker protocol carries for this credential.
    pub fn to_docker(&self) -> (&str, &Secret<String>) {
        match self {
            Credential::Basic { username, password } => (username, password),
            Credential::IdentityToken { token } => (IDENTITY_TOKEN_USER, token),
        }
    }

    /// The user name people see (`<token>` for identity tokens). Never a secret.
    pub fn username(&self) -> &str {
        self.to_docker().0
    }
}

/// What a Bazel request may send to a registry: a credential to exchange for a token, or a ready
/// registry token (a `token-env` route, README.md#routes-wildcard-and-per-registry-sources) sent as
/// `Bearer` without an exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryAuth {
    /// A credential for the token exchange (or Basic).
    Credential(Credential),
    /// A registry token, used as it is.
    Token(Secret<String>),
}

/// Encodes `user:password` as the `auth` field of an auth file.
pub fn encode_auth(username: &str, password: &str) -> String {
    STANDARD.encode(format!("{username}:{password}"))
}

/// Why an `auth` field could not be used.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthFieldError {
    /// Not valid standard base64 (the Go tools reject it too).
    Base64,
    /// Decoded, but not `user:password` (no `:`), or not UTF-8.
    Shape,
}

/// Decodes an `auth` field into `(username, password)`: strict standard base64, split on the
/// first `:`, NUL padding trimmed from the password. `Ok(None)` when both parts are empty.
pub fn decode_auth(field: &str) -> Result<Option<(String, Secret<String>)>, AuthFieldError> {
    let bytes = STANDARD
        .decode(field.trim())
        .map_err(|_| AuthFieldError::Base64)?;
    let text = String::from_utf8(bytes).map_err(|_| AuthFieldError::Shape)?;
    let (user, pass) = text.split_once(':').ok_or(AuthFieldError::Shape)?;
    let pass = pass.trim_matches('\0');
    if user.is_empty() && pass.is_empty() {
        return Ok(None);
    }
    Ok(Some((user.to_string(), Secret::new(pass.to_string()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_round_trip_splits_on_first_colon() {
        let field = encode_auth("alice", "pa:ss:word");
        assert_eq!(field, "YWxpY2U6cGE6c3M6d29yZA==");
        let (u, p) = decode_auth(&field).unwrap().unwrap();
        assert_eq!((u.as_str(), p.expose().as_str()), ("alice", "pa:ss:word"));
    }

    #[test]
    fn auth_edge_cases() {
        assert_eq!(decode_auth("Og=="), Ok(None)); // ":"
        assert_eq!(decode_auth("YWxpY2U="), Err(AuthFieldError::Shape)); // "alice"
        assert_eq!(decode_auth("not base64!"), Err(AuthFieldError::Base64));
        let (u, p) = decode_auth(&STANDARD.encode("bob:pw\0\0"))
            .unwrap()
            .unwrap();
        assert_eq!((u.as_str(), p.expose().as_str()), ("bob", "pw"));
    }

    #[test]
    fn docker_token_convention() {
        let c = Credential::from_docker("<token>".into(), "refresh".into());
        assert!(matches!(c, Credential::IdentityToken { .. }));
        assert_eq!(c.username(), "<token>");
        assert_eq!(c.to_docker().1.expose(), "refresh");
        let c = Credential::from_docker("alice".into(), "pw".into());
        assert_eq!(c.username(), "alice");
        assert!(!format!("{c:?}").contains("pw\""));
    }
}
