//! One registries.conf file, from TOML text to a validated [`FileConf`].
//!
//! This module owns everything that happens to a single file before merging: TOML syntax
//! errors with line and column, field names matched case-insensitively (as the Go decoder
//! does), unknown keys ignored, "present but empty" kept apart from "absent", the v1 format
//! and its conversion, and every per-file validation rule of containers-registries.conf(5)
//! (locations, prefixes, wildcards, mirrors, `insecure`/`blocked` conflicts, search entries,
//! `short-name-mode`, aliases). Inside one file a repeated prefix keeps its first table. Pure:
//! the caller passes the text and the path it came from.

use std::collections::HashMap;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::shortnames;
use super::{FileConf, Mirror, RegistryEntry, ShortNameMode};
use crate::error::{Error, Result};
use crate::toml_error::{error_at, syntax_error};

/// Parses and validates one file. `drop_in` files must be in the v2 format.
pub fn parse_file(path: &Path, text: &str, drop_in: bool) -> Result<FileConf> {
    let doc = DeTable::parse(text).map_err(|e| syntax_error(path, text, &e))?;
    let cx = Cx { path, text };
    let top = doc.get_ref();

    let mut conf = FileConf {
        path: path.to_path_buf(),
        ..FileConf::default()
    };

    let v1 = read_v1(&cx, top)?;
    let v2_keys = [
        "registry",
        "unqualified-search-registries",
        "credential-helpers",
        "short-name-mode",
        "aliases",
        "additional-layer-store-auth-helper",
    ];
    let has_v2 = v2_keys.iter().any(|k| field(top, k).is_some());

    if let Some(v) = field(top, "registry") {
        for (i, item) in cx.tables(v, "registry")?.into_iter().enumerate() {
            conf.registries.push(cx.registry(item, i)?);
        }
    }
    conf.unqualified_search = field(top, "unqualified-search-registries")
        .map(|v| cx.strings(v, "unqualified-search-registries"))
        .transpose()?;
    conf.credential_helpers = field(top, "credential-helpers")
        .map(|v| cx.strings(v, "credential-helpers"))
        .transpose()?;
    let mode = field(top, "short-name-mode")
        .map(|v| cx.string(v, "short-name-mode"))
        .transpose()?
        .unwrap_or_default();
    conf.additional_layer_store_auth_helper = field(top, "additional-layer-store-auth-helper")
        .map(|v| cx.string(v, "additional-layer-store-auth-helper"))
        .transpose()?
        .filter(|s| !s.is_empty());
    let aliases = match field(top, "aliases") {
        Some(v) => cx.string_map(v, "aliases")?,
        None => Vec::new(),
    };

    if let Some(v1) = v1 {
        if drop_in {
            return Err(cx.invalid("registry must be in v2 format but is in v1"));
        }
        if has_v2 {
            return Err(cx.invalid("mixing sysregistry v1/v2 is not supported"));
        }
        convert_v1(&cx, &mut conf, v1)?;
    }

    post_process(&cx, &mut conf)?;

    if !mode.is_empty() {
        conf.short_name_mode = Some(
            ShortNameMode::parse(&mode)
                .ok_or_else(|| cx.invalid(&format!("invalid short-name mode: {mode:?}")))?,
        );
    }
    conf.aliases = shortnames::validate_aliases(&aliases)
        .map_err(|m| cx.invalid(&format!("validating short-name aliases: {m}")))?;
    Ok(conf)
}

/// Parses the machine-written `short-name-aliases.conf`: only its `[aliases]` table counts.
pub fn parse_alias_cache(path: &Path, text: &str) -> Result<Vec<(String, Option<String>)>> {
    let doc = DeTable::parse(text).map_err(|e| syntax_error(path, text, &e))?;
    let cx = Cx { path, text };
    let aliases = match field(doc.get_ref(), "aliases") {
        Some(v) => cx.string_map(v, "aliases")?,
        None => Vec::new(),
    };
    shortnames::validate_aliases(&aliases)
        .map_err(|m| cx.invalid(&format!("validating short-name aliases: {m}")))
}

/// `[registries.search|insecure|block] registries = [...]`, when any of them is present.
struct V1 {
    search: Option<Vec<String>>,
    insecure: Vec<String>,
    block: Vec<String>,
}

fn read_v1(cx: &Cx<'_>, top: &DeTable<'_>) -> Result<Option<V1>> {
    let Some(regs) = field(top, "registries") else {
        return Ok(None);
    };
    let regs = cx.table(regs, "registries")?;
    let mut lists: [Option<Vec<String>>; 3] = [None, None, None];
    for (slot, name) in lists.iter_mut().zip(["search", "insecure", "block"]) {
        if let Some(section) = field(regs, name) {
            let key = format!("registries.{name}");
            let section = cx.table(section, &key)?;
            if let Some(list) = field(section, "registries") {
                *slot = Some(cx.strings(list, &format!("{key}.registries"))?);
            }
        }
    }
    if lists.iter().all(Option::is_none) {
        return Ok(None);
    }
    let [search, insecure, block] = lists;
    Ok(Some(V1 {
        search,
        insecure: insecure.unwrap_or_default(),
        block: block.unwrap_or_default(),
    }))
}

/// One `[[registry]]` per distinct location (trailing `/` trimmed), flags OR-ed.
fn convert_v1(cx: &Cx<'_>, conf: &mut FileConf, v1: V1) -> Result<()> {
    let mut order: Vec<RegistryEntry> = Vec::new();
    let mut flag = |loc: &str, blocked: bool| -> Result<()> {
        let loc = parse_location(cx, loc)?;
        let i = match order.iter().position(|r| r.location == loc) {
            Some(i) => i,
            None => {
                order.push(RegistryEntry {
                    prefix: loc.clone(),
                    location: loc,
                    origin: cx.path.to_path_buf(),
                    ..RegistryEntry::default()
                });
                order.len() - 1
            }
        };
        if blocked {
            order[i].blocked = true;
        } else {
            order[i].insecure = true;
        }
        Ok(())
    };
    for loc in &v1.block {
        flag(loc, true)?;
    }
    for loc in &v1.insecure {
        flag(loc, false)?;
    }
    conf.registries = order;
    conf.unqualified_search = v1.search;
    Ok(())
}

/// Strips every trailing `/` and refuses URI schemes.
fn parse_location(cx: &Cx<'_>, input: &str) -> Result<String> {
    let trimmed = input.trim_end_matches('/');
    if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
        return Err(cx.invalid(&format!(
            "invalid location '{input}': URI schemes are not supported"
        )));
    }
    Ok(trimmed.to_string())
}

/// The per-file rules: normalisation, required fields, mirrors, conflicts, search entries,
/// first-of-a-prefix wins, sorted by prefix.
fn post_process(cx: &Cx<'_>, conf: &mut FileConf) -> Result<()> {
    for reg in &mut conf.registries {
        reg.location = parse_location(cx, &reg.location)?;
        if reg.prefix.is_empty() {
            if reg.location.is_empty() {
                return Err(cx.invalid("invalid condition: both location and prefix are unset"));
            }
            reg.prefix = reg.location.clone();
        } else {
            reg.prefix = parse_location(cx, &reg.prefix)?;
            if reg.prefix.starts_with("*.") {
                if reg.prefix.contains(['/', '@', ':']) {
                    return Err(cx.invalid(&format!(
                        "Wildcarded prefix should be in the format: *.example.com. \
                         Current prefix {:?} is incorrectly formatted",
                        reg.prefix
                    )));
                }
            } else if reg.location.is_empty() {
                return Err(cx.invalid(
                    "invalid condition: location is unset and prefix is not in the format: \
                     *.example.com",
                ));
            }
        }
        if !reg.pull_from_mirror.is_empty() {
            return Err(cx.invalid(&format!(
                "pull-from-mirror must not be set for a non-mirror registry {:?}",
                reg.prefix
            )));
        }
        for m in &mut reg.mirrors {
            m.location = parse_location(cx, &m.location)?;
            if m.location.is_empty() {
                return Err(cx.invalid("invalid condition: mirror location is unset"));
            }
            if reg.mirror_by_digest_only && !m.pull_from_mirror.is_empty() {
                return Err(cx.invalid(&format!(
                    "cannot set mirror usage mirror-by-digest-only for the registry ({:?}) \
                     and pull-from-mirror for per-mirror ({:?}) at the same time",
                    reg.prefix, m.location
                )));
            }
            if !matches!(
                m.pull_from_mirror.as_str(),
                "" | "all" | "digest-only" | "tag-only"
            ) {
                return Err(cx.invalid(&format!(
                    "unsupported pull-from-mirror value {:?} for mirror {:?}",
                    m.pull_from_mirror, m.location
                )));
            }
        }
    }

    // The same location (or, for wildcards without one, the same prefix) must agree on
    // `insecure` and `blocked`, even under different prefixes.
    let mut seen: HashMap<&str, (bool, bool)> = HashMap::new();
    for reg in &conf.registries {
        let id = if reg.location.is_empty() {
            reg.prefix.as_str()
        } else {
            reg.location.as_str()
        };
        let (insecure, blocked) = *seen.entry(id).or_insert((reg.insecure, reg.blocked));
        let what = if insecure != reg.insecure {
            "insecure"
        } else if blocked != reg.blocked {
            "blocked"
        } else {
            continue;
        };
        return Err(cx.invalid(&format!(
            "registry '{}' is defined multiple times with conflicting '{what}' setting",
            reg.location
        )));
    }

    if let Some(list) = &mut conf.unqualified_search {
        for entry in list.iter_mut() {
            let loc = parse_location(cx, entry)?;
            if !super::reference::is_domain(&loc) {
                return Err(cx.invalid(&format!(
                    "Invalid unqualified-search-registries entry {loc:?}"
                )));
            }
            *entry = loc;
        }
    }

    // A stable sort keeps tables of one prefix in file order, so dropping all but the first
    // of each run keeps the first table of each prefix.
    conf.registries.sort_by(|a, b| a.prefix.cmp(&b.prefix));
    conf.registries
        .dedup_by(|later, first| later.prefix == first.prefix);
    Ok(())
}

/// A field by name: the exact spelling first, then any ASCII case.
fn field<'a, 'i>(t: &'a DeTable<'i>, name: &str) -> Option<&'a Spanned<DeValue<'i>>> {
    t.iter()
        .find(|(k, _)| k.get_ref() == name)
        .or_else(|| {
            t.iter()
                .find(|(k, _)| k.get_ref().eq_ignore_ascii_case(name))
        })
        .map(|(_, v)| v)
}

/// The file being read, for error positions.
struct Cx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Cx<'_> {
    fn invalid(&self, message: &str) -> Error {
        Error::Config {
            path: self.path.to_path_buf(),
            message: message.to_string(),
        }
    }

    fn wrong_type(&self, v: &Spanned<DeValue<'_>>, key: &str, want: &str) -> Error {
        error_at(
            self.path,
            self.text,
            v.span().start,
            format!(
                "invalid type for {key:?}: expected {want}, found {}",
                v.get_ref().type_str()
            ),
        )
    }

    fn string(&self, v: &Spanned<DeValue<'_>>, key: &str) -> Result<String> {
        match v.get_ref() {
            DeValue::String(s) => Ok(s.to_string()),
            _ => Err(self.wrong_type(v, key, "a string")),
        }
    }

    fn boolean(&self, v: &Spanned<DeValue<'_>>, key: &str) -> Result<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            _ => Err(self.wrong_type(v, key, "a boolean")),
        }
    }

    fn strings(&self, v: &Spanned<DeValue<'_>>, key: &str) -> Result<Vec<String>> {
        match v.get_ref() {
            DeValue::Array(items) => items.iter().map(|i| self.string(i, key)).collect(),
            _ => Err(self.wrong_type(v, key, "an array of strings")),
        }
    }

    fn table<'a, 'i>(&self, v: &'a Spanned<DeValue<'i>>, key: &str) -> Result<&'a DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Ok(t),
            _ => Err(self.wrong_type(v, key, "a table")),
        }
    }

    fn tables<'a, 'i>(
        &self,
        v: &'a Spanned<DeValue<'i>>,
        key: &str,
    ) -> Result<Vec<&'a Spanned<DeValue<'i>>>> {
        match v.get_ref() {
            DeValue::Array(items) => Ok(items.iter().collect()),
            _ => Err(self.wrong_type(v, key, "an array of tables")),
        }
    }

    fn string_map(&self, v: &Spanned<DeValue<'_>>, key: &str) -> Result<Vec<(String, String)>> {
        let t = self.table(v, key)?;
        t.iter()
            .map(|(k, v)| Ok((k.get_ref().to_string(), self.string(v, key)?)))
            .collect()
    }

    fn registry(&self, v: &Spanned<DeValue<'_>>, _index: usize) -> Result<RegistryEntry> {
        let t = self.table(v, "registry")?;
        let s = |name: &str| -> Result<String> {
            field(t, name)
                .map(|v| self.string(v, &format!("registry.{name}")))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let b = |name: &str| -> Result<bool> {
            field(t, name)
                .map(|v| self.boolean(v, &format!("registry.{name}")))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let mut mirrors = Vec::new();
        if let Some(list) = field(t, "mirror") {
            for m in self.tables(list, "registry.mirror")? {
                let mt = self.table(m, "registry.mirror")?;
                let ms = |name: &str| -> Result<String> {
                    field(mt, name)
                        .map(|v| self.string(v, &format!("registry.mirror.{name}")))
                        .transpose()
                        .map(Option::unwrap_or_default)
                };
                mirrors.push(Mirror {
                    location: ms("location")?,
                    insecure: field(mt, "insecure")
                        .map(|v| self.boolean(v, "registry.mirror.insecure"))
                        .transpose()?
                        .unwrap_or_default(),
                    pull_from_mirror: ms("pull-from-mirror")?,
                });
            }
        }
        Ok(RegistryEntry {
            prefix: s("prefix")?,
            location: s("location")?,
            insecure: b("insecure")?,
            blocked: b("blocked")?,
            mirror_by_digest_only: b("mirror-by-digest-only")?,
            pull_from_mirror: s("pull-from-mirror")?,
            mirrors,
            origin: self.path.to_path_buf(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FileConf> {
        parse_file(Path::new("/r.conf"), text, false)
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let e = err("a = 1\n[[registry]\n");
        assert!(e.starts_with("/r.conf: invalid TOML: "), "{e}");
        assert!(e.ends_with("at line 2 column 12"), "{e}");
        let e = err("[aliases]\nfoo = \"docker.io/a/b\"\nfoo = \"docker.io/a/c\"\n");
        assert!(e.contains("at line 3 column 1"), "{e}");
        let e = err("[[registry]]\nlocation = \"a.com\"\ninsecure = \"yes\"\n");
        assert_eq!(
            e,
            "/r.conf: invalid type for \"registry.insecure\": expected a boolean, \
             found string at line 3 column 12"
        );
    }

    #[test]
    fn field_names_are_case_insensitive_and_unknown_keys_ignored() {
        let c = parse("[[Registry]]\nLocation = \"a.com\"\nInsecure = true\nfoo = 1\n").unwrap();
        assert_eq!(c.registries[0].location, "a.com");
        assert_eq!(c.registries[0].prefix, "a.com");
        assert!(c.registries[0].insecure);
    }

    #[test]
    fn present_but_empty_is_not_absent() {
        let c = parse("unqualified-search-registries = []\ncredential-helpers = []").unwrap();
        assert_eq!(c.unqualified_search, Some(vec![]));
        assert_eq!(c.credential_helpers, Some(vec![]));
        let c = parse("").unwrap();
        assert_eq!(c.unqualified_search, None);
        assert_eq!(c.credential_helpers, None);
    }

    #[test]
    fn first_table_of_a_prefix_wins_and_result_is_sorted() {
        let c = parse(
            "[[registry]]\nlocation=\"b.com\"\n[[registry]]\nprefix=\"b.com\"\nlocation=\"x.com\"\n\
             [[registry]]\nprefix=\"*.a.com\"\n[[registry]]\nlocation=\"a.com\"\n",
        )
        .unwrap();
        let got: Vec<_> = c
            .registries
            .iter()
            .map(|r| (r.prefix.as_str(), r.location.as_str()))
            .collect();
        assert_eq!(
            got,
            [("*.a.com", ""), ("a.com", "a.com"), ("b.com", "b.com")]
        );
    }

    #[test]
    fn trailing_slashes_are_trimmed() {
        let c = parse(
            "unqualified-search-registries=[\"s.com//\"]\n[[registry]]\nlocation=\"a.com/ns///\"\n\
             [[registry.mirror]]\nlocation=\"m.com/\"\n",
        )
        .unwrap();
        assert_eq!(c.registries[0].location, "a.com/ns");
        assert_eq!(c.registries[0].prefix, "a.com/ns");
        assert_eq!(c.registries[0].mirrors[0].location, "m.com");
        assert_eq!(c.unqualified_search.unwrap(), ["s.com"]);
    }

    #[test]
    fn validation_messages() {
        let cases = [
            (
                "[[registry]]\nlocation=\"https://a.com\"",
                "invalid location 'https://a.com': URI schemes are not supported",
            ),
            (
                "[[registry]]\ninsecure=true",
                "invalid condition: both location and prefix are unset",
            ),
            (
                "[[registry]]\nprefix=\"a.com\"",
                "invalid condition: location is unset and prefix is not in the format: \
                 *.example.com",
            ),
            (
                "[[registry]]\nprefix=\"*.a.com/x\"",
                "Wildcarded prefix should be in the format: *.example.com. Current prefix \
                 \"*.a.com/x\" is incorrectly formatted",
            ),
            (
                "[[registry]]\nprefix=\"*.a.com:5000\"",
                "Wildcarded prefix should be in the format: *.example.com. Current prefix \
                 \"*.a.com:5000\" is incorrectly formatted",
            ),
            (
                "[[registry]]\nlocation=\"a.com\"\n[[registry.mirror]]\ninsecure=true",
                "invalid condition: mirror location is unset",
            ),
            (
                "unqualified-search-registries=[\"a.com/ns\"]",
                "Invalid unqualified-search-registries entry \"a.com/ns\"",
            ),
            (
                "unqualified-search-registries=[\"http://a.com\"]",
                "invalid location 'http://a.com': URI schemes are not supported",
            ),
            (
                "short-name-mode=\"prompt\"",
                "invalid short-name mode: \"prompt\"",
            ),
            (
                "[[registry]]\nprefix=\"p1.com\"\nlocation=\"a.com\"\n\
                 [[registry]]\nprefix=\"p2.com\"\nlocation=\"a.com\"\nblocked=true",
                "registry 'a.com' is defined multiple times with conflicting 'blocked' setting",
            ),
            (
                "unqualified-search-registries=[]\n[registries.search]\nregistries=[]",
                "mixing sysregistry v1/v2 is not supported",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(err(text), format!("/r.conf: {want}"), "{text}");
        }
    }

    #[test]
    fn drop_ins_must_be_v2() {
        let e = parse_file(
            Path::new("/d.conf"),
            "[registries.block]\nregistries=[\"a.com\"]",
            true,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "/d.conf: registry must be in v2 format but is in v1"
        );
    }
}
