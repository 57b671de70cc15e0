//! The `Source` seam: one place credentials can come from or go to.
//!
//! A source is the auth files (the `containers-auth.json` pseudo-helper), an external
//! `docker-credential-*` helper, or the OS keyring. [`SourceSpec`] names them as
//! registries.conf's `credential-helpers` does; the resolver asks them in order. Sources know
//! their own storage; they hold no policy about order or fallbacks.

pub mod auth_files;
pub mod dual_write;
pub mod env;
pub mod helper;
pub mod keyring;
pub mod order;

use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::registry_key::RegistryKey;

/// The name registries.conf uses for the auth-file pseudo-helper.
pub const AUTH_FILES_NAME: &str = "containers-auth.json";
/// ocicred's own helper name (`docker-credential-ocicred`).
pub const SELF_NAME: &str = "ocicred";

/// One entry of the source order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// The auth files, in containers-auth.json(5) order.
    AuthFiles,
    /// The OS keyring (ocicred's own store when `store = "keyring"`).
    Keyring,
    /// An external `docker-credential-<name>` helper.
    Helper(String),
}

impl SourceSpec {
    /// Maps a registries.conf `credential-helpers` entry. `ocicred` itself means ocicred's
    /// configured backend (`own`), never a subprocess.
    pub fn from_helper_name(name: &str, own: &SourceSpec) -> SourceSpec {
        match name {
            AUTH_FILES_NAME => SourceSpec::AuthFiles,
            SELF_NAME => own.clone(),
            other => SourceSpec::Helper(other.to_string()),
        }
    }
}

/// Where a credential was found: the file path or `docker-credential-<name>`, and the key
/// that matched there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// A file path, `docker-credential-<name>`, or `keyring`.
    pub source: String,
    /// The key as written in that source.
    pub key: String,
}

/// A credential and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The credential.
    pub credential: Credential,
    /// Where it was found.
    pub origin: Origin,
}

/// One stored credential, as `list` shows it: never the secret.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listed {
    /// The server address a `get` with this string will find.
    pub key: String,
    /// The user name (`<token>` for identity tokens).
    pub username: String,
    /// A file path, `docker-credential-<name>`, or `keyring`.
    pub source: String,
}

/// A place credentials live.
pub trait Source {
    /// A short human name for messages (`/path/auth.json`, `docker-credential-pass`, `keyring`).
    fn name(&self) -> String;

    /// The most specific credential for `key`, or `None`.
    fn get(&self, key: &RegistryKey) -> Result<Option<Found>>;

    /// Stores `cred` for `key`; returns a description of where it went.
    fn store(&self, _key: &RegistryKey, _cred: &Credential) -> Result<String> {
        Err(Error::Unsupported(format!("{} cannot store", self.name())))
    }

    /// Removes every entry for `key`; `true` if something was removed.
    fn erase(&self, _key: &RegistryKey) -> Result<bool> {
        Err(Error::Unsupported(format!("{} cannot erase", self.name())))
    }

    /// Every credential this source can answer `get` for.
    fn list(&self) -> Result<Vec<Listed>> {
        Ok(Vec::new())
    }
}
