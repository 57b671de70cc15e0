//! The `containers-auth.json` source: the auth files, in containers-auth.json(5) order.
//!
//! It owns reading the files in order (first hit wins), following a file's `credHelpers` and
//! `credsStore` to external helpers, and writing the one file that `store`/`erase` change. A
//! file that does not parse stops the search with an error naming it and the line/column,
//! and is never rewritten. The file format itself (the model, the borrowed lookup `get` uses,
//! loading from disk) is in [`crate::auth_file`].

use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::auth_file::{
    AuthFile, AuthFileFormat, AuthLookup, EntryError, FileAnswer, load, load_for_write,
};
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::fsio;
use crate::registry_key::RegistryKey;
use crate::source::helper::{HelperRunner, HubSpelling, helper_erase, helper_get, helper_store};
use crate::source::{Found, Listed, Origin, Source};

/// The auth files as one source.
pub struct AuthFilesSource {
    files: Vec<AuthFile>,
    write_path: PathBuf,
    docker_file: Option<PathBuf>,
    uid: u32,
    runner: Rc<dyn HelperRunner>,
}

impl AuthFilesSource {
    /// `files` in lookup order; `write_path` is the file `store`/`erase` change;
    /// `docker_file` is docker's config.json (its helpers get docker's Hub spelling).
    pub fn new(
        files: Vec<AuthFile>,
        write_path: PathBuf,
        docker_file: Option<PathBuf>,
        uid: u32,
        runner: Rc<dyn HelperRunner>,
    ) -> Self {
        AuthFilesSource {
            files,
            write_path,
            docker_file,
            uid,
            runner,
        }
    }

    fn spelling(&self, path: &Path) -> HubSpelling {
        if self.docker_file.as_deref() == Some(path) {
            HubSpelling::Docker
        } else {
            HubSpelling::Containers
        }
    }
}

/// One docker-format document to look a key up in: an auth file's bytes, or the content of
/// `$DOCKER_AUTH_CONFIG` (README.md#credentials-from-the-environment-ci).
pub struct Document<'a> {
    pub bytes: &'a [u8],
    pub format: AuthFileFormat,
    /// What `resolve` and `list` show as the source: the path or the variable's name.
    pub origin: &'a str,
    /// Which Docker Hub spelling its helpers were filled with.
    pub spelling: HubSpelling,
}

/// Why a document could not answer.
pub enum DocumentError {
    /// It is not valid JSON (or not the expected shape).
    Json(serde_json::Error),
    /// The entry that decides is broken.
    Entry(EntryError),
    /// A helper it names failed.
    Other(Error),
}

impl DocumentError {
    /// The error for a file at `path` (the parser's message with line and column).
    pub fn into_error(self, path: &Path) -> Error {
        match self {
            DocumentError::Json(e) => Error::json(path, &e),
            DocumentError::Entry(e) => Error::Config {
                path: path.to_path_buf(),
                message: format!("entry {:?}: {}", e.key, e.message),
            },
            DocumentError::Other(e) => e,
        }
    }
}

/// Looks `key` up in one docker-format document as containers/image and docker do:
/// `credHelpers[host]` > `credsStore` > `auths`, following the helpers a document names (never
/// ocicred itself). `Ok(None)`: nothing here, go on.
pub fn lookup_document(
    doc: &Document<'_>,
    key: &RegistryKey,
    runner: &dyn HelperRunner,
) -> std::result::Result<Option<Found>, DocumentError> {
    let json = AuthLookup::parse(doc.bytes, doc.format, key).map_err(DocumentError::Json)?;
    let ask = |helper: &str| -> std::result::Result<Option<Found>, DocumentError> {
        if runner.is_self(helper) {
            return Ok(None);
        }
        helper_get(runner, helper, key, doc.spelling).map_err(DocumentError::Other)
    };
    let found = |key: String, credential: Credential| Found {
        credential,
        origin: Origin {
            source: doc.origin.to_string(),
            key,
        },
    };
    match json.lookup().map_err(DocumentError::Entry)? {
        FileAnswer::Found { key, credential } => Ok(Some(found(key, credential))),
        FileAnswer::Helper { helper } => ask(&helper),
        FileAnswer::Store { helper } => {
            if let Some(f) = ask(&helper)? {
                return Ok(Some(f));
            }
            match json.lookup_auths().map_err(DocumentError::Entry)? {
                FileAnswer::Found { key, credential } => Ok(Some(found(key, credential))),
                _ => Ok(None),
            }
        }
        FileAnswer::Nothing => Ok(None),
    }
}

impl Source for AuthFilesSource {
    fn name(&self) -> String {
        crate::source::AUTH_FILES_NAME.to_string()
    }

    fn get(&self, key: &RegistryKey) -> Result<Option<Found>> {
        for file in &self.files {
            // The read-only path: only the entries this key can use are decoded.
            let Some(bytes) = fsio::read_optional(&file.path)? else {
                continue;
            };
            let doc = Document {
                bytes: &bytes,
                format: file.format,
                origin: &file.path.display().to_string(),
                spelling: self.spelling(&file.path),
            };
            let found =
                lookup_document(&doc, key, &*self.runner).map_err(|e| e.into_error(&file.path))?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    fn store(&self, key: &RegistryKey, cred: &Credential) -> Result<String> {
        let target = fsio::write_target(&self.write_path, self.uid)?;
        let path = target.path();
        let _lock = target.lock()?;
        let mut json = load_for_write(&target)?.unwrap_or_default();
        if let Some(helper) = json.helper_for(key)
            && !self.runner.is_self(helper)
            && !key.is_namespaced()
        {
            return helper_store(&*self.runner, helper, key, cred, self.spelling(&path));
        }
        // `auth` is base64 of `user:password` split on the first ':', so such a name would
        // come back cut short, its tail glued to the password.
        if cred.username().contains(':') {
            return Err(Error::InvalidInput(
                "a user name containing ':' cannot be kept in an auth file".into(),
            ));
        }
        json.upsert(key, cred);
        target.write(&json.to_bytes())?;
        Ok(self.write_path.display().to_string())
    }

    fn erase(&self, key: &RegistryKey) -> Result<bool> {
        let target = fsio::write_target(&self.write_path, self.uid)?;
        if !target.exists()? {
            return Ok(false);
        }
        let path = target.path();
        let _lock = target.lock()?;
        let Some(mut json) = load_for_write(&target)? else {
            return Ok(false);
        };
        let mut removed = false;
        if let Some(helper) = json.helper_for(key)
            && !self.runner.is_self(helper)
        {
            removed |= helper_erase(&*self.runner, helper, key, self.spelling(&path))?;
        }
        if json.remove(key) > 0 {
            target.write(&json.to_bytes())?;
            removed = true;
        }
        Ok(removed)
    }

    /// Every key the files name, with the user a `get` of that key finds in the files (the
    /// most specific entry of the first file that has a usable one), as containers/image's
    /// `GetAllCredentials` reports them; keys no file answers are left out.
    fn list(&self) -> Result<Vec<Listed>> {
        let mut files = Vec::new();
        for file in &self.files {
            if let Some(json) = load(&file.path, file.format)? {
                files.push((file, json));
            }
        }
        let mut keys: Vec<RegistryKey> = Vec::new();
        for (_, json) in &files {
            for key in json.keys() {
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        let mut out: Vec<Listed> = Vec::new();
        for key in keys {
            let answer = files
                .iter()
                .find_map(|(file, json)| match json.lookup_auths(&key) {
                    Ok(FileAnswer::Found { credential, .. }) => Some((file, credential)),
                    _ => None,
                });
            if let Some((file, credential)) = answer {
                out.push(Listed {
                    key: key.to_string(),
                    username: credential.username().to_string(),
                    source: file.path.display().to_string(),
                });
            }
        }
        Ok(out)
    }
}
