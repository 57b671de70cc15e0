//! Dual-write: ocicred's own store, plus a copy in docker's `config.json` for tools that read
//! only that file (`dual-write = true` in ocicred's config).
//!
//! It owns the copy only: lookups and listing go to the wrapped source alone. The copy is in
//! docker's own format (Docker Hub as `https://index.docker.io/v1/`), keeps every other entry
//! and unknown field, goes through the same locked atomic write as every auth file, and skips
//! namespaced keys (docker cannot read them). `erase` removes the copy as well.

use std::path::PathBuf;

use crate::auth_file::load_for_write;
use crate::credential::Credential;
use crate::error::Result;
use crate::fsio;
use crate::registry_key::RegistryKey;
use crate::source::{Found, Listed, Source};

/// The wrapped own store plus docker's config.json.
pub struct DualWrite {
    inner: Box<dyn Source>,
    docker_file: PathBuf,
    uid: u32,
}

impl DualWrite {
    /// Wraps `inner`; copies go to `docker_file`.
    pub fn new(inner: Box<dyn Source>, docker_file: PathBuf, uid: u32) -> Self {
        DualWrite {
            inner,
            docker_file,
            uid,
        }
    }
}

impl Source for DualWrite {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn get(&self, key: &RegistryKey) -> Result<Option<Found>> {
        self.inner.get(key)
    }

    fn store(&self, key: &RegistryKey, cred: &Credential) -> Result<String> {
        let mut place = self.inner.store(key, cred)?;
        if key.is_namespaced() {
            return Ok(place);
        }
        let target = fsio::write_target(&self.docker_file, self.uid)?;
        let _lock = target.lock()?;
        let mut json = load_for_write(&target)?.unwrap_or_default();
        json.remove(key);
        json.upsert_as(&key.helper_server(), cred);
        target.write(&json.to_bytes())?;
        place.push_str(&format!(" and {}", self.docker_file.display()));
        Ok(place)
    }

    fn erase(&self, key: &RegistryKey) -> Result<bool> {
        let mut removed = self.inner.erase(key)?;
        let target = fsio::write_target(&self.docker_file, self.uid)?;
        if !target.exists()? {
            return Ok(removed);
        }
        let _lock = target.lock()?;
        if let Some(mut json) = load_for_write(&target)?
            && json.remove(key) > 0
        {
            target.write(&json.to_bytes())?;
            removed = true;
        }
        Ok(removed)
    }

    fn list(&self) -> Result<Vec<Listed>> {
        self.inner.list()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::keyring::KeyringSource;
    use crate::source::keyring::fake::Memory;

    #[test]
    fn copies_into_docker_format_and_keeps_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.json");
        std::fs::write(
            &file,
            r#"{"auths":{"docker.io":{"auth":"b2xkOm9sZA=="},"other.io":{"auth":"eDp5"}},"psFormat":"table"}"#,
        )
        .unwrap();
        let mem = Memory::default();
        let dw = DualWrite::new(
            Box::new(KeyringSource::new(Box::new(mem.clone()))),
            file.clone(),
            crate::fsio::current_uid(),
        );
        let hub = RegistryKey::parse("docker.io").unwrap();
        let place = dw.store(&hub, &Credential::basic("u", "p")).unwrap();
        assert!(place.contains("config.json"), "{place}");
        dw.store(
            &RegistryKey::parse("quay.io/org").unwrap(),
            &Credential::basic("u", "p"),
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let auths = v["auths"].as_object().unwrap();
        let keys: Vec<_> = auths.keys().cloned().collect();
        assert_eq!(keys, ["other.io", "https://index.docker.io/v1/"]);
        assert_eq!(auths["https://index.docker.io/v1/"]["auth"], "dTpw");
        assert_eq!(v["psFormat"], "table");
        assert_eq!(mem.items.borrow().len(), 2, "both went to the own store");

        assert!(dw.erase(&hub).unwrap());
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(v["auths"].as_object().unwrap().len(), 1);
    }
}
