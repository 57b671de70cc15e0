//! The auth-file format: docker's `config.json`, containers' `auth.json`, legacy `.dockercfg`.
//!
//! Everything about these files is here, one part per file:
//! - this file: the two layouts ([`AuthFileFormat`]) and one file in the lookup order
//!   ([`AuthFile`]); which files are read, in which order, is decided from the environment by
//!   [`crate::env::Env::auth_files`].
//! - [`model`]: the owned model, [`AuthJson`]: the whole file parsed, for lookups over every
//!   entry (`list`, `doctor`), for edits (upsert, remove, helpers) and for writing it back
//!   ([`AuthJson::to_bytes`]) with every unknown field kept.
//! - [`lookup`]: the borrowed, lazy lookup `get` uses, [`AuthLookup`]: one key against the
//!   file's bytes, decoding only the entries that can answer it, with the same answers and
//!   errors as the model.
//! - [`load`]: reading a file from disk through [`crate::fsio`] and parsing it, with the file's
//!   path, line and column in errors.
//!
//! How a lookup goes (README.md#where-credentials-are-looked-up): `credHelpers` for the host,
//! then `credsStore`, then the most specific `auths` key. Following the helpers a file names
//! and choosing the file `store`/`erase` change is the auth-file source's part
//! ([`crate::source::auth_files`]).

pub mod load;
pub mod lookup;
pub mod model;
mod scan;

use std::path::{Path, PathBuf};

pub use load::{load, load_for_write, parse_file};
pub use lookup::AuthLookup;
pub use model::{AuthJson, EntryError, FileAnswer, bad_map_field, bad_map_field_message};

/// How an auth file is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFileFormat {
    /// auth.json / config.json: `{"auths": {...}, "credHelpers": {...}, "credsStore": "..."}`.
    Auths,
    /// Legacy `~/.dockercfg`: the top level is the auths map.
    Legacy,
}

/// One auth file in the lookup order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthFile {
    /// Where it is.
    pub path: PathBuf,
    /// How it is laid out.
    pub format: AuthFileFormat,
}

impl AuthFile {
    /// The file at `path`, laid out as `format`.
    pub fn new(path: &Path, format: AuthFileFormat) -> Self {
        AuthFile {
            path: path.to_path_buf(),
            format,
        }
    }
}
