//! Short names: alias validation, alias lookup and the search candidates.
//!
//! This module owns the rules of containers-registries.conf(5) for unqualified image names:
//! which alias names and values are valid (and the normalised form a value is kept in), that
//! the machine-written `short-name-aliases.conf` is consulted before every registries.conf
//! alias (an entry there, even `""`, ends the search), that `""` erases an alias while
//! recording which file erased it, and how `unqualified-search-registries` turns a short name
//! into the fully qualified candidates, in order. Pure: the files were read elsewhere.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::reference::Reference;

/// An alias as found: its value (`None` when a file erased it with `""`) and the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alias {
    /// The normalised value (`docker.io/library/fedora`), or `None` when erased.
    pub value: Option<String>,
    /// The file that set or erased it.
    pub origin: PathBuf,
}

/// Validates `[aliases]` entries, in name order. Every bad entry is reported, separated by
/// `; ` (an error is one line).
/// `""` values become `None`; other values come back normalised.
pub fn validate_aliases(
    entries: &[(String, String)],
) -> Result<Vec<(String, Option<String>)>, String> {
    let mut sorted: Vec<&(String, String)> = entries.iter().collect();
    sorted.sort();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (name, value) in sorted {
        if let Err(e) = validate_name(name) {
            errors.push(e);
        }
        if value.is_empty() {
            out.push((name.clone(), None));
            continue;
        }
        match validate_value(value) {
            Ok(v) => out.push((name.clone(), Some(v))),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors.join("; "))
    }
}

/// The left side: a reference without tag, digest or registry.
fn validate_name(name: &str) -> Result<(), String> {
    let r =
        Reference::parse(name).map_err(|e| format!("cannot parse short name: {name:?}: {e}"))?;
    if r.digest.is_some() {
        return Err(format!(
            "invalid short name {name:?}: must not contain digest"
        ));
    }
    if r.tag.is_some() {
        return Err(format!("invalid short name {name:?}: must not contain tag"));
    }
    if r.is_qualified() {
        return Err(format!(
            "invalid short name {name:?}: must not contain registry"
        ));
    }
    Ok(())
}

/// The right side: registry and repository, no tag, no digest; returned normalised.
fn validate_value(value: &str) -> Result<String, String> {
    let r = Reference::parse(value).map_err(|e| format!("parsing alias {value:?}: {e}"))?;
    if r.digest.is_some() {
        return Err(format!("invalid alias {value:?}: must not contain digest"));
    }
    if r.tag.is_some() {
        return Err(format!("invalid alias {value:?}: must not contain tag"));
    }
    if !r.is_qualified() {
        return Err(format!(
            "invalid alias {value:?}: must contain registry and repository"
        ));
    }
    Ok(r.normalized().to_string())
}

/// How a reference was made fully qualified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortNameResolution {
    /// The alias that applied (or erased the name), if any.
    pub alias: Option<Alias>,
    /// The qualified reference, when there is exactly one (qualified input or an alias).
    pub reference: Option<Reference>,
    /// For a short name without an alias: the names to try, in order.
    pub candidates: Vec<Reference>,
}

/// Resolves `input` with the alias tables (machine file first) and the search registries.
pub fn resolve(
    input: &Reference,
    cache: &BTreeMap<String, Alias>,
    conf: &BTreeMap<String, Alias>,
    search: &[String],
) -> ShortNameResolution {
    if input.is_qualified() {
        return ShortNameResolution {
            alias: None,
            reference: Some(input.clone().normalized().with_default_tag()),
            candidates: Vec::new(),
        };
    }
    let name = input.name();
    let alias = cache.get(&name).or_else(|| conf.get(&name)).cloned();
    if let Some(Alias {
        value: Some(v),
        origin,
    }) = &alias
        && let Ok(target) = Reference::parse(v)
    {
        return ShortNameResolution {
            alias: Some(Alias {
                value: Some(v.clone()),
                origin: origin.clone(),
            }),
            reference: Some(input.with_name_of(&target).with_default_tag()),
            candidates: Vec::new(),
        };
    }
    let candidates = search
        .iter()
        .filter_map(|reg| Reference::parse(&format!("{reg}/{name}")).ok())
        .map(|r| input.with_name_of(&r.normalized()).with_default_tag())
        .collect();
    ShortNameResolution {
        alias,
        reference: None,
        candidates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(e: &[(&str, &str)]) -> Vec<(String, String)> {
        e.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn valid_aliases_are_normalised_and_erasures_kept() {
        let got = validate_aliases(&pairs(&[
            ("fedora", "docker.io/fedora"),
            ("library/x", "quay.io/x/y"),
            ("1234567489", "localhost/a"),
            ("gone", ""),
        ]))
        .unwrap();
        assert_eq!(
            got,
            [
                ("1234567489".to_string(), Some("localhost/a".to_string())),
                ("fedora".into(), Some("docker.io/library/fedora".into())),
                ("gone".into(), None),
                ("library/x".into(), Some("quay.io/x/y".into())),
            ]
        );
    }

    #[test]
    fn every_bad_alias_is_reported() {
        // The upstream invalid-aliases fixture.
        let e = validate_aliases(&pairs(&[
            ("image1", "quay.io/repo/image:1"),
            ("image2", "image:1"),
        ]))
        .unwrap_err();
        assert_eq!(
            e,
            "invalid alias \"quay.io/repo/image:1\": must not contain tag; \
             invalid alias \"image:1\": must not contain tag"
        );
        let e = validate_aliases(&pairs(&[
            ("quay.io/x", "quay.io/x"),
            ("x:1", "quay.io/x"),
            ("Up", "quay.io/x"),
            ("y", "noregistry/x"),
            ("z", "quay.io/x@sha256:0123456789abcdef0123456789abcdef"),
        ]))
        .unwrap_err();
        let lines: Vec<&str> = e.split("; ").collect();
        assert_eq!(
            lines,
            [
                "cannot parse short name: \"Up\": invalid reference format: repository name \
                 must be lowercase",
                "invalid short name \"quay.io/x\": must not contain registry",
                "invalid short name \"x:1\": must not contain tag",
                "invalid alias \"noregistry/x\": must contain registry and repository",
                "invalid alias \"quay.io/x@sha256:0123456789abcdef0123456789abcdef\": must not \
                 contain digest",
            ]
        );
    }

    fn alias(v: Option<&str>, o: &str) -> Alias {
        Alias {
            value: v.map(String::from),
            origin: o.into(),
        }
    }

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    #[test]
    fn machine_file_wins_even_when_empty() {
        let conf = BTreeMap::from([("x".to_string(), alias(Some("quay.io/x"), "/c"))]);
        let cache = BTreeMap::from([("x".to_string(), alias(None, "/m"))]);
        let search = vec!["docker.io".to_string()];
        let got = resolve(&r("x:1"), &cache, &conf, &search);
        assert_eq!(got.alias, Some(alias(None, "/m")));
        assert_eq!(got.reference, None);
        assert_eq!(got.candidates, [r("docker.io/library/x:1")]);
        let got = resolve(
            &r("x@sha256:0123456789abcdef0123456789abcdef"),
            &BTreeMap::new(),
            &conf,
            &[],
        );
        assert_eq!(
            got.reference.unwrap().to_string(),
            "quay.io/x@sha256:0123456789abcdef0123456789abcdef"
        );
    }

    #[test]
    fn search_candidates_in_order_and_qualified_names_pass_through() {
        let search = vec!["quay.io".to_string(), "docker.io".to_string()];
        let none = BTreeMap::new();
        let got = resolve(&r("library/nginx"), &none, &none, &search);
        let c: Vec<String> = got.candidates.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            c,
            [
                "quay.io/library/nginx:latest",
                "docker.io/library/nginx:latest"
            ]
        );
        let got = resolve(&r("docker.io/nginx"), &none, &none, &search);
        assert_eq!(
            got.reference.unwrap().to_string(),
            "docker.io/library/nginx:latest"
        );
        assert!(got.candidates.is_empty());
    }
}
