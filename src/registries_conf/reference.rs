//! Image references (`[domain/]path[:tag][@digest]`) as the container tools read them.
//!
//! This module owns the reference grammar of the distribution project (domain components,
//! lower-case path components with `.`, `_`, `__` and `-` separators, tags, digests) and the
//! Docker Hub normalisation of qualified names (`docker.io/x` → `docker.io/library/x`,
//! `index.docker.io` → `docker.io`). It tells a short name from a qualified one the way
//! containers/image does: the first component names a registry only when it contains `.` or
//! `:` or is `localhost`. Pure: no I/O.

use std::fmt;

/// Docker Hub's canonical domain.
const HUB: &str = "docker.io";
/// The legacy spelling normalised to [`HUB`].
const LEGACY_HUB: &str = "index.docker.io";
/// The longest name (domain and path) the grammar allows.
const NAME_MAX: usize = 255;

/// A parsed reference. `domain` is empty when the first component is not a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The first component when the grammar reads it as a domain (`quay.io`, `localhost:5000`,
    /// but also `library` in `library/fedora`); empty otherwise.
    pub domain: String,
    /// The repository path under the domain.
    pub path: String,
    /// The tag, without `:`.
    pub tag: Option<String>,
    /// The digest (`sha256:…`), without `@`.
    pub digest: Option<String>,
}

/// Why a string is not a reference (texts as the distribution library words them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefError {
    /// Does not match the grammar.
    Format,
    /// An upper-case letter in the repository path.
    Uppercase,
    /// More than 255 characters of name.
    TooLong,
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RefError::Format => "invalid reference format",
            RefError::Uppercase => "invalid reference format: repository name must be lowercase",
            RefError::TooLong => "repository name must not be more than 255 characters",
        })
    }
}

impl Reference {
    /// Parses `input` without any normalisation.
    pub fn parse(input: &str) -> Result<Reference, RefError> {
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) => {
                if !is_digest(d) {
                    return Err(RefError::Format);
                }
                (r, Some(d.to_string()))
            }
            None => (input, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let t = &rest[last_slash + i + 1..];
                if !is_tag(t) {
                    return Err(RefError::Format);
                }
                (&rest[..last_slash + i], Some(t.to_string()))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(RefError::Format);
        }
        let (domain, path) = match name.split_once('/') {
            Some((first, after)) if is_domain(first) && is_path(after) => (first, after),
            _ => ("", name),
        };
        if !is_path(path) {
            let lower = path.to_ascii_lowercase();
            if lower != path && is_path(&lower) {
                return Err(RefError::Uppercase);
            }
            return Err(RefError::Format);
        }
        if name.len() > NAME_MAX {
            return Err(RefError::TooLong);
        }
        Ok(Reference {
            domain: domain.to_string(),
            path: path.to_string(),
            tag,
            digest,
        })
    }

    /// True when the first component names a registry (`.`/`:` in it, or `localhost`).
    pub fn is_qualified(&self) -> bool {
        self.domain.contains(['.', ':']) || self.domain == "localhost"
    }

    /// The name: `domain/path`, or `path` when there is no domain.
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }

    /// The host part of a qualified reference (the domain, port included).
    pub fn host(&self) -> &str {
        &self.domain
    }

    /// True when the reference carries a digest (with or without a tag).
    pub fn is_digested(&self) -> bool {
        self.digest.is_some()
    }

    /// Applies Docker Hub normalisation to a qualified reference.
    pub fn normalized(mut self) -> Reference {
        if self.domain == LEGACY_HUB {
            self.domain = HUB.to_string();
        }
        if self.domain == HUB && !self.path.contains('/') {
            self.path = format!("library/{}", self.path);
        }
        self
    }

    /// Adds `:latest` when there is neither tag nor digest.
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some("latest".to_string());
        }
        self
    }

    /// The same reference with another name (tag and digest kept).
    pub fn with_name_of(&self, other: &Reference) -> Reference {
        Reference {
            domain: other.domain.clone(),
            path: other.path.clone(),
            tag: self.tag.clone(),
            digest: self.digest.clone(),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.domain.is_empty() {
            write!(f, "{}/", self.domain)?;
        }
        f.write_str(&self.path)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?` joined by `.`, or `[hex:…]`, then `:digits`.
pub fn is_domain(s: &str) -> bool {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return false;
        };
        let inner = &rest[..end];
        if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        let after = &rest[end + 1..];
        match after.strip_prefix(':') {
            Some(p) => (None, Some(p)),
            None if after.is_empty() => (None, None),
            None => return false,
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(s), None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    match host {
        None => true,
        Some(h) => !h.is_empty() && h.split('.').all(is_domain_component),
    }
}

fn is_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
}

/// Path components joined by `/`.
fn is_path(s: &str) -> bool {
    !s.is_empty() && s.split('/').all(is_path_component)
}

/// `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_lower_alnum(b[0]) || !is_lower_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_lower_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_lower_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[\w][\w.-]{0,127}`.
fn is_tag(t: &str) -> bool {
    let b = t.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b.iter().all(|x| word(*x) || *x == b'.' || *x == b'-')
}

/// `algorithm:hex` with at least 32 hex digits.
fn is_digest(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    let alg_ok = alg.split(['-', '_', '+', '.']).all(|part| {
        let b = part.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
    });
    alg_ok && hex.len() >= 32 && hex.bytes().all(|x| x.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_and_prints() {
        for s in [
            "nginx",
            "library/fedora",
            "quay.io/org/repo:v1",
            "localhost:5000/a/b",
            "registry.com:5000/foo:tag",
            "[::1]:5000/x",
            "a.b__c/d-e---f",
        ] {
            assert_eq!(Reference::parse(s).unwrap().to_string(), s, "{s}");
        }
        let r = Reference::parse(&format!("quay.io/x:t@{D}")).unwrap();
        assert_eq!(r.tag.as_deref(), Some("t"));
        assert!(r.is_digested());
        assert_eq!(r.name(), "quay.io/x");
    }

    #[test]
    fn qualified_or_short() {
        let q = |s: &str| Reference::parse(s).unwrap().is_qualified();
        assert!(q("quay.io/x"));
        assert!(q("localhost/x"));
        assert!(q("h:5000/x"));
        assert!(!q("library/fedora"));
        assert!(!q("fedora"));
        assert!(!q("1234567489"));
    }

    #[test]
    fn rejects_bad_references() {
        assert_eq!(Reference::parse("Nginx"), Err(RefError::Uppercase));
        for bad in [
            "",
            "a//b",
            "a:",
            ":t",
            "x@sha256:12",
            "-a",
            "a/b:t/c",
            "a b",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
        let long = format!("h.io/{}", "a".repeat(260));
        assert_eq!(Reference::parse(&long), Err(RefError::TooLong));
    }

    #[test]
    fn hub_normalisation() {
        let n = |s: &str| Reference::parse(s).unwrap().normalized().to_string();
        assert_eq!(n("docker.io/fedora"), "docker.io/library/fedora");
        assert_eq!(n("index.docker.io/x/y:1"), "docker.io/x/y:1");
        assert_eq!(n("quay.io/fedora"), "quay.io/fedora");
        let t = Reference::parse("quay.io/a").unwrap().with_default_tag();
        assert_eq!(t.to_string(), "quay.io/a:latest");
    }
}
