//! `ocicred logout [--all] [REGISTRY[/NAMESPACE]]`.
//!
//! It owns removing what `login` (or a client's `store`) left: one key, from every place
//! ocicred writes (its own store and the auth file it writes, plus their helpers), or with
//! `--all` every key that `ocicred list` shows. A key that is stored nowhere is reported and
//! exits 1, so scripts can tell.

use std::io::Write;

use crate::error::{Error, Result};
use crate::registry_key::RegistryKey;
use crate::resolver::Resolver;

/// Runs `logout`.
pub fn run(
    registry: Option<&str>,
    all: bool,
    out: &mut dyn Write,
    resolver: &Resolver,
) -> Result<i32> {
    let w = |e: std::io::Error| Error::InvalidInput(format!("cannot write output: {e}"));
    if all {
        if registry.is_some() {
            return Err(Error::InvalidInput(
                "give either --all or a registry, not both".into(),
            ));
        }
        let (items, errors) = resolver.list();
        if let Some(e) = errors.into_iter().next() {
            return Err(e);
        }
        let mut removed = 0;
        for item in &items {
            let key = RegistryKey::parse(&item.key)?;
            if resolver.erase(&key)? {
                writeln!(out, "Removed login credentials for {key}").map_err(w)?;
                removed += 1;
            }
        }
        if removed == 0 {
            writeln!(out, "Not logged in anywhere").map_err(w)?;
        }
        return Ok(0);
    }
    let Some(registry) = registry else {
        return Err(Error::InvalidInput(
            "logout needs a registry (or --all)".into(),
        ));
    };
    let key = RegistryKey::parse(registry)?;
    if resolver.erase(&key)? {
        writeln!(out, "Removed login credentials for {key}").map_err(w)?;
        Ok(0)
    } else {
        writeln!(out, "Not logged in to {key}").map_err(w)?;
        Ok(1)
    }
}
