//! Choosing a `[[registry]]` for a name, and the pull sources for a reference.
//!
//! This module owns prefix matching (a plain prefix ends at `/`, `:` or `@`; `*.domain`
//! matches any depth of subdomain on the first occurrence, never the apex and never inside the
//! path), the "longest prefix string wins, ties to the first in sorted order" rule, the
//! rewriting of a reference to each endpoint's location, and the order of pull sources:
//! eligible mirrors (`mirror-by-digest-only`, `pull-from-mirror`), then the primary location.
//! Pure: it works on already loaded registries.

use super::reference::Reference;
use super::{RegistriesConf, RegistryEntry};

/// The length of `reference` matched by `prefix`, or `None`.
pub fn matching_prefix(reference: &str, prefix: &str) -> Option<usize> {
    if let Some(domain) = prefix.strip_prefix('*') {
        // `domain` starts with the dot.
        let at = reference.find(domain)?;
        if reference[..at].contains('/') {
            return None;
        }
        let end = at + domain.len();
        return match reference.as_bytes().get(end) {
            None | Some(b':' | b'/' | b'@') => Some(end),
            Some(_) => None,
        };
    }
    if !reference.starts_with(prefix) {
        return None;
    }
    match reference.as_bytes().get(prefix.len()) {
        None | Some(b':' | b'/' | b'@') => Some(prefix.len()),
        Some(_) => None,
    }
}

/// The registry whose prefix matches `name` with the longest prefix string; ties go to the
/// first in `registries` (which is sorted by prefix).
pub fn find<'a>(registries: &'a [RegistryEntry], name: &str) -> Option<&'a RegistryEntry> {
    let mut best: Option<&RegistryEntry> = None;
    for r in registries {
        if r.prefix.is_empty() || matching_prefix(name, &r.prefix).is_none() {
            continue;
        }
        if best.is_none_or(|b| r.prefix.len() > b.prefix.len()) {
            best = Some(r);
        }
    }
    best
}

/// One place to pull a reference from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullSource {
    /// The endpoint's location (the reference's host when no `[[registry]]` matched).
    pub location: String,
    /// The reference rewritten for this endpoint.
    pub reference: Reference,
    /// Plain HTTP / no TLS verification for this endpoint.
    pub insecure: bool,
    /// True for a mirror, false for the primary.
    pub mirror: bool,
}

/// Rewrites `reference` from `prefix` to `location` (an empty location keeps it as it is).
pub fn rewrite(reference: &Reference, prefix: &str, location: &str) -> Result<Reference, String> {
    if location.is_empty() {
        return Ok(reference.clone());
    }
    let full = reference.to_string();
    let Some(len) = matching_prefix(&full, prefix) else {
        return Err(format!("invalid prefix '{prefix}' for reference '{full}'"));
    };
    let rewritten = format!("{location}{}", &full[len..]);
    Reference::parse(&rewritten)
        .ok()
        .filter(Reference::is_qualified)
        .ok_or_else(|| {
            format!("rewriting reference {full} to {rewritten}: invalid reference format")
        })
}

/// The pull sources for a qualified reference, in the order a client tries them.
pub fn pull_sources(
    registry: Option<&RegistryEntry>,
    reference: &Reference,
) -> Result<Vec<PullSource>, String> {
    let Some(reg) = registry else {
        return Ok(vec![PullSource {
            location: reference.host().to_string(),
            reference: reference.clone(),
            insecure: false,
            mirror: false,
        }]);
    };
    let digested = reference.is_digested();
    let mut out = Vec::new();
    for m in &reg.mirrors {
        let usable = if reg.mirror_by_digest_only {
            digested
        } else {
            match m.pull_from_mirror.as_str() {
                "digest-only" => digested,
                "tag-only" => !digested,
                _ => true,
            }
        };
        if usable {
            out.push(PullSource {
                location: m.location.clone(),
                reference: rewrite(reference, &reg.prefix, &m.location)?,
                insecure: m.insecure,
                mirror: true,
            });
        }
    }
    out.push(PullSource {
        location: if reg.location.is_empty() {
            reference.host().to_string()
        } else {
            reg.location.clone()
        },
        reference: rewrite(reference, &reg.prefix, &reg.location)?,
        insecure: reg.insecure,
        mirror: false,
    });
    Ok(out)
}

impl RegistriesConf {
    /// The `[[registry]]` for a name or reference string (used verbatim), if any.
    pub fn find_registry(&self, name: &str) -> Option<&RegistryEntry> {
        find(&self.registries, name)
    }

    /// The prefix that blocks `name`: the registry matching `name` as asked, or the one
    /// matching its rewritten location. (containers/image checks only the latter.)
    pub fn blocked_name(&self, name: &str) -> Option<String> {
        let reg = self.find_registry(name)?;
        if reg.blocked {
            return Some(reg.prefix.clone());
        }
        if reg.location.is_empty() {
            return None;
        }
        let len = matching_prefix(name, &reg.prefix)?;
        let rewritten = format!("{}{}", reg.location, &name[len..]);
        self.find_registry(&rewritten)
            .filter(|r| r.blocked)
            .map(|r| r.prefix.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Mirror;
    use super::*;

    #[test]
    fn plain_prefixes_end_at_separators() {
        assert_eq!(matching_prefix("a.com", "a.com"), Some(5));
        assert_eq!(matching_prefix("a.com/x", "a.com"), Some(5));
        assert_eq!(matching_prefix("a.com:5000/x", "a.com"), Some(5));
        assert_eq!(matching_prefix("a.com@x", "a.com"), Some(5));
        assert_eq!(matching_prefix("a.comx", "a.com"), None);
        assert_eq!(matching_prefix("a.co", "a.com"), None);
        assert_eq!(matching_prefix("a.com/foobar", "a.com/foo"), None);
    }

    #[test]
    fn wildcards() {
        let m = matching_prefix;
        assert_eq!(m("x.example.com/a", "*.example.com"), Some(13));
        assert_eq!(m("a.b.example.com:5000/a", "*.example.com"), Some(15));
        assert_eq!(m("example.com/a", "*.example.com"), None);
        assert_eq!(m("reg.net/namespace.com/x", "*.com"), None);
        assert_eq!(m("a.example.com.example.com/x", "*.example.com"), None);
        assert_eq!(m("a.example.com.example.com/x", "*.com"), None);
        assert_eq!(m("x.example.comx/a", "*.example.com"), None);
    }

    fn reg(prefix: &str, location: &str) -> RegistryEntry {
        RegistryEntry {
            prefix: prefix.into(),
            location: location.into(),
            ..RegistryEntry::default()
        }
    }

    #[test]
    fn longest_prefix_string_wins_ties_go_to_sort_order() {
        let regs = vec![
            reg("*.a.example.com", "wild"),
            reg("*.bar.example.com", "bar"),
            reg("foo.bar.example.com:5000", "exact"),
            reg("x.a.example.com", "plain"),
        ];
        assert_eq!(find(&regs, "x.a.example.com/y").unwrap().location, "wild");
        assert_eq!(
            find(&regs, "foo.bar.example.com:5000/y").unwrap().location,
            "exact"
        );
        assert_eq!(
            find(&regs, "foo.bar.example.com/y").unwrap().location,
            "bar"
        );
        assert!(find(&regs, "bar.example.com/y").is_none());
    }

    #[test]
    fn mirrors_first_then_primary() {
        let mut r = reg("q.io/ns", "primary.io/other");
        r.mirrors = vec![
            Mirror {
                location: "m1.io/cache".into(),
                insecure: true,
                pull_from_mirror: "tag-only".into(),
            },
            Mirror {
                location: "m2.io".into(),
                insecure: false,
                pull_from_mirror: "digest-only".into(),
            },
        ];
        let reference = Reference::parse("q.io/ns/img:1").unwrap();
        let got: Vec<(String, String, bool, bool)> = pull_sources(Some(&r), &reference)
            .unwrap()
            .into_iter()
            .map(|s| (s.location, s.reference.to_string(), s.insecure, s.mirror))
            .collect();
        assert_eq!(
            got,
            [
                ("m1.io/cache".into(), "m1.io/cache/img:1".into(), true, true),
                (
                    "primary.io/other".into(),
                    "primary.io/other/img:1".into(),
                    false,
                    false
                ),
            ]
        );
    }
}
