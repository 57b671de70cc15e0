//! registries.conf (containers-registries.conf(5) v2): the effective configuration.
//!
//! This module owns the types every caller sees ([`RegistriesConf`], [`RegistryEntry`], [`Mirror`],
//! [`Resolution`]) and the one loader that touches the filesystem: [`load`] decides which main
//! file and which `registries.conf.d` directories apply (from [`Env`]), reads them, and hands
//! the texts to the pure parts: [`parse`] (one file), [`merge`] (the drop-in rules),
//! [`matching`] (prefixes, rewriting, pull sources) and [`shortnames`] (aliases and search
//! candidates). A missing file or directory costs one failed `open`.

pub mod cache;
pub mod matching;
pub mod merge;
pub mod parse;
pub mod reference;
pub mod shortnames;
#[cfg(test)]
mod test_layout;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::env::Env;
use crate::error::{Error, Result};
use crate::registry_key::RegistryKey;
use crate::resolver::BlockedFn;
use crate::source::AUTH_FILES_NAME;

pub use matching::PullSource;
pub use reference::Reference;
pub use shortnames::Alias;

/// One `[[registry.mirror]]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mirror {
    /// Where the mirror is (`host[:port][/path]`).
    pub location: String,
    /// Plain HTTP / no TLS verification for this mirror.
    pub insecure: bool,
    /// `""` (unset, same as `all`), `all`, `digest-only` or `tag-only`.
    pub pull_from_mirror: String,
}

/// One `[[registry]]` table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryEntry {
    /// What references are matched against (defaults to `location`).
    pub prefix: String,
    /// What the matched prefix is rewritten to (empty only for `*.` prefixes).
    pub location: String,
    /// Plain HTTP / no TLS verification.
    pub insecure: bool,
    /// No access at all.
    pub blocked: bool,
    /// Mirrors only for digest references.
    pub mirror_by_digest_only: bool,
    /// Only to report that it was set (it is an error on a registry).
    pub pull_from_mirror: String,
    /// The mirrors, in order.
    pub mirrors: Vec<Mirror>,
    /// The file that defined this table.
    pub origin: PathBuf,
}

/// `short-name-mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShortNameMode {
    /// Prompt only when a terminal is there (the default).
    #[default]
    Permissive,
    /// Always require an unambiguous choice.
    Enforcing,
    /// Try every candidate without asking.
    Disabled,
}

impl ShortNameMode {
    /// Parses the three accepted spellings.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "permissive" => Some(ShortNameMode::Permissive),
            "enforcing" => Some(ShortNameMode::Enforcing),
            "disabled" => Some(ShortNameMode::Disabled),
            _ => None,
        }
    }

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ShortNameMode::Permissive => "permissive",
            ShortNameMode::Enforcing => "enforcing",
            ShortNameMode::Disabled => "disabled",
        }
    }
}

/// One parsed and validated file, before merging. `None` means "key absent".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileConf {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its `[[registry]]` tables (first of each prefix, sorted by prefix).
    pub registries: Vec<RegistryEntry>,
    /// `unqualified-search-registries`, when present (even `[]`).
    pub unqualified_search: Option<Vec<String>>,
    /// `credential-helpers`, when present (even `[]`).
    pub credential_helpers: Option<Vec<String>>,
    /// `short-name-mode`, when set to a non-empty value.
    pub short_name_mode: Option<ShortNameMode>,
    /// `additional-layer-store-auth-helper`, when non-empty.
    pub additional_layer_store_auth_helper: Option<String>,
    /// `[aliases]`, by name; `None` values erase.
    pub aliases: Vec<(String, Option<String>)>,
}

/// The effective configuration after every file and drop-in is merged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistriesConf {
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    /// The `[[registry]]` tables, sorted by prefix (byte order).
    pub registries: Vec<RegistryEntry>,
    /// `unqualified-search-registries`.
    pub unqualified_search: Vec<String>,
    /// The file that last set `unqualified-search-registries`.
    pub unqualified_search_origin: Option<PathBuf>,
    /// `credential-helpers` as merged (may be empty: see [`Self::credential_helpers`]).
    pub credential_helpers_raw: Vec<String>,
    /// The file that last set `credential-helpers`.
    pub credential_helpers_origin: Option<PathBuf>,
    /// `short-name-mode` (default `permissive`).
    pub short_name_mode: ShortNameMode,
    /// The file that last set `short-name-mode`.
    pub short_name_mode_origin: Option<PathBuf>,
    /// `additional-layer-store-auth-helper`.
    pub additional_layer_store_auth_helper: Option<String>,
    /// Aliases from registries.conf and its drop-ins, by name.
    pub aliases: BTreeMap<String, Alias>,
}

impl RegistriesConf {
    /// The credential sources in order; `["containers-auth.json"]` when unset or empty.
    pub fn credential_helpers(&self) -> Vec<String> {
        if self.credential_helpers_raw.is_empty() {
            vec![AUTH_FILES_NAME.to_string()]
        } else {
            self.credential_helpers_raw.clone()
        }
    }

    /// The prefix that blocks `key`, checking the key as asked and its rewritten location.
    pub fn blocked_prefix(&self, key: &RegistryKey) -> Option<String> {
        if self.registries.iter().all(|r| !r.blocked) {
            return None;
        }
        let name = match key.path() {
            _ if key.is_hub_web_login() => key.host().to_string(),
            Some(p) if key.host() == "docker.io" && !p.contains('/') => {
                format!("docker.io/library/{p}")
            }
            _ => key.to_string(),
        };
        self.blocked_name(&name)
    }

    /// True when `host` (`host[:port]`, lower-case) may be reached over plain HTTP: the
    /// `[[registry]]` matching it, or a mirror at exactly that location, is `insecure`.
    pub fn is_insecure_host(&self, host: &str) -> bool {
        self.find_registry(host).is_some_and(|r| r.insecure)
            || self.registries.iter().any(|r| {
                r.mirrors
                    .iter()
                    .any(|m| m.insecure && m.location.eq_ignore_ascii_case(host))
            })
    }

    /// A `Resolver` predicate over this configuration.
    pub fn blocked_fn(self: Rc<Self>) -> BlockedFn {
        Box::new(move |key| self.blocked_prefix(key))
    }

    /// How `input` (an image reference as written) resolves: short names, the matching
    /// registry, and the pull sources with whatever blocks each of them. `cache` is the
    /// machine-written alias file (see [`load_alias_cache`]).
    pub fn resolve(&self, input: &str, cache: &BTreeMap<String, Alias>) -> Result<Resolution> {
        let parsed = Reference::parse(input.trim())
            .map_err(|e| Error::InvalidInput(format!("invalid image reference {input:?}: {e}")))?;
        let sn = shortnames::resolve(&parsed, cache, &self.aliases, &self.unqualified_search);
        let mut res = Resolution {
            input: input.to_string(),
            alias: sn.alias,
            candidates: sn.candidates,
            reference: sn.reference.clone(),
            registry: None,
            blocked: None,
            pull_sources: Vec::new(),
        };
        let Some(reference) = sn.reference else {
            return Ok(res);
        };
        let name = reference.name();
        let registry = self.find_registry(&name).cloned();
        res.blocked = self.blocked_name(&name);
        let sources =
            matching::pull_sources(registry.as_ref(), &reference).map_err(Error::InvalidInput)?;
        res.pull_sources = sources
            .into_iter()
            .map(|source| {
                let blocked = res
                    .blocked
                    .clone()
                    .or_else(|| self.blocked_name(&source.reference.name()));
                ResolvedSource { source, blocked }
            })
            .collect();
        res.registry = registry;
        Ok(res)
    }
}

/// What `resolve` found for one image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    /// The reference as given.
    pub input: String,
    /// The alias that applied or erased the name.
    pub alias: Option<Alias>,
    /// For a short name without alias: the qualified names to try.
    pub candidates: Vec<Reference>,
    /// The qualified reference, when there is one.
    pub reference: Option<Reference>,
    /// The matching `[[registry]]`.
    pub registry: Option<RegistryEntry>,
    /// The prefix that blocks the reference (as asked or by its location).
    pub blocked: Option<String>,
    /// Where a pull goes, in order.
    pub pull_sources: Vec<ResolvedSource>,
}

/// A pull source and what blocks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedSource {
    /// The endpoint and rewritten reference.
    pub source: PullSource,
    /// The prefix that blocks this source, if any.
    pub blocked: Option<String>,
}

/// Which files [`load`] reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The main file, if one applies.
    pub main: Option<PathBuf>,
    /// True when a missing main file is an error (`$CONTAINERS_REGISTRIES_CONF`).
    pub main_required: bool,
    /// The drop-in directories, in order.
    pub dirs: Vec<PathBuf>,
}

/// Decides the files from the environment; `user_main_exists` answers for the user file.
pub fn plan(env: &Env, user_main_exists: bool) -> Plan {
    let user = env.user_registries_conf();
    let user_dir = env
        .config_home()
        .map(|d| d.join("containers/registries.conf.d"));
    let system_dir = env.sysconfdir().join("containers/registries.conf.d");
    if let Some(explicit) = &env.containers_registries_conf {
        return Plan {
            main: Some(explicit.clone()),
            main_required: true,
            dirs: std::iter::once(system_dir).chain(user_dir).collect(),
        };
    }
    if user_main_exists && let Some(user) = user {
        return Plan {
            main: Some(user),
            main_required: false,
            dirs: user_dir.into_iter().collect(),
        };
    }
    Plan {
        main: Some(env.system_registries_conf()),
        main_required: false,
        dirs: std::iter::once(system_dir).chain(user_dir).collect(),
    }
}

/// Reads a file; `Ok(None)` when it does not exist.
fn read_optional(path: &Path) -> Result<Option<String>> {
    crate::fsio::read_optional(path)?
        .map(|bytes| crate::toml_error::utf8_text(path, bytes))
        .transpose()
}

/// The `*.conf` entries of a directory that are not directories, in byte order of their
/// names; empty when the directory does not exist.
fn drop_ins(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        if !name.as_encoded_bytes().ends_with(b".conf") {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        out.push((name, entry.path()));
    }
    // Sort on the names read once (comparing paths re-parses them on every comparison).
    out.sort_by(|(a, _), (b, _)| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    Ok(out.into_iter().map(|(_, path)| path).collect())
}

/// Loads the effective registries.conf for `env`: the main file, then every drop-in.
pub fn load(env: &Env) -> Result<RegistriesConf> {
    // The user file counts when it exists: try it first, one `open`.
    let user_text = match (&env.containers_registries_conf, env.user_registries_conf()) {
        (None, Some(user)) => read_optional(&user)?,
        _ => None,
    };
    let plan = plan(env, user_text.is_some());
    load_plan(&plan, user_text)
}

/// Loads the files of `plan`. `main_text` is the main file's text when already read.
pub fn load_plan(plan: &Plan, main_text: Option<String>) -> Result<RegistriesConf> {
    let mut files = Vec::new();
    if let Some(main) = &plan.main {
        let text = match main_text {
            Some(t) => Some(t),
            None => read_optional(main)?,
        };
        match text {
            Some(t) => files.push(parse::parse_file(main, &t, false)?),
            None if plan.main_required => {
                return Err(Error::io(main, std::io::Error::from(ErrorKind::NotFound)));
            }
            None => {}
        }
    }
    for dir in &plan.dirs {
        for path in drop_ins(dir)? {
            // A file that vanished since the listing is skipped.
            if let Some(t) = read_optional(&path)? {
                files.push(parse::parse_file(&path, &t, true)?);
            }
        }
    }
    Ok(merge::merge(files))
}

/// Loads the machine-written `short-name-aliases.conf`: its path when it exists, and its
/// aliases.
pub fn load_alias_cache(env: &Env) -> Result<(Option<PathBuf>, BTreeMap<String, Alias>)> {
    let Some(path) = env.short_name_aliases_cache() else {
        return Ok((None, BTreeMap::new()));
    };
    let Some(text) = read_optional(&path)? else {
        return Ok((None, BTreeMap::new()));
    };
    let entries = parse::parse_alias_cache(&path, &text)?;
    let aliases = entries
        .into_iter()
        .map(|(name, value)| {
            (
                name,
                Alias {
                    value,
                    origin: path.clone(),
                },
            )
        })
        .collect();
    Ok((Some(path), aliases))
}
