//! Which registry and repository a Bazel URI names: pure URI classification.
//!
//! It owns the rule "a registry pull API path on the URI's own host gets credentials,
//! everything else gets none": `/v2/<name>/manifests/<tag|digest>`, `/v2/<name>/blobs/<digest>`,
//! `/v2/<name>/tags/list` and `/v2/<name>/referrers/<digest>`, with nested names, percent-encoded
//! segments, queries and fragments. The repository is exactly the path's name (never an added
//! `library/`); the registry is the URI's lower-cased `host[:port]`. Anything else (the realm
//! URL, a redirect target, uploads, `_catalog`, `/v2/` itself) is `None`.

/// A registry API request a Bazel URI stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `http` or `https` (lower-cased).
    pub scheme: String,
    /// `host[:port]` as in the URI, lower-cased, without user info.
    pub authority: String,
    /// The host part alone (IPv6 without brackets).
    pub host: String,
    /// The repository name (`org/team/img`).
    pub repository: String,
}

impl Target {
    /// `scheme://authority`: where the registry's API lives.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }

    /// The token scope for pulling this repository.
    pub fn pull_scope(&self) -> String {
        format!("repository:{}:pull", self.repository)
    }
}

/// Classifies a URI. `None` means "not a registry pull path: add nothing".
pub fn parse(uri: &str) -> Option<Target> {
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let authority = authority.to_ascii_lowercase();
    let host = split_host(&authority)?;
    let path = rest[end..].split(['?', '#']).next().unwrap_or("");
    let path = path.strip_prefix("/v2/")?;
    let segments: Vec<String> = path.split('/').map(percent_decode).collect::<Option<_>>()?;
    let n = segments.len();
    if n < 3 {
        return None;
    }
    let (kind, reference) = (segments[n - 2].as_str(), segments[n - 1].as_str());
    let ok = match kind {
        "manifests" => is_tag(reference) || is_digest(reference),
        "blobs" | "referrers" => is_digest(reference),
        "tags" => reference == "list",
        _ => false,
    };
    if !ok {
        return None;
    }
    let name = &segments[..n - 2];
    if !name.iter().all(|c| is_name_component(c)) {
        return None;
    }
    Some(Target {
        scheme,
        host,
        authority: authority.clone(),
        repository: name.join("/"),
    })
}

/// The host of `host[:port]` / `[v6]:port`, validated loosely; `None` when empty or odd.
fn split_host(authority: &str) -> Option<String> {
    let (host, port) = crate::registry_key::split_authority(authority).ok()?;
    let host = unbracket(host);
    let port = port.unwrap_or("");
    if host.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.len() > 5 {
        return None;
    }
    if host
        .bytes()
        .any(|b| !(b.is_ascii_alphanumeric() || b"-._:".contains(&b)))
    {
        return None;
    }
    Some(host.to_string())
}

/// An IPv6 literal without its brackets; any other host as it is.
pub fn unbracket(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// True for a host that is loopback by its spelling alone: `localhost` itself or a literal
/// loopback address (`127.0.0.0/8`, `::1`, `::ffff:127.x.y.z`). Any other name, `*.localhost`
/// included, is loopback only if it resolves to nothing but loopback addresses
/// ([`all_loopback`]): a hosts entry can send such a name anywhere.
pub fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    unbracket(host)
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// True when a name resolved to at least one address and every one is loopback.
pub fn all_loopback(addrs: &[std::net::IpAddr]) -> bool {
    !addrs.is_empty() && addrs.iter().all(|ip| ip.to_canonical().is_loopback())
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A distribution name component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn is_name_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-')) {
            return false;
        }
    }
    true
}

fn alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// A tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn is_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&x| x.is_ascii_alphanumeric() || b"_.-".contains(&x))
}

/// A digest: `algorithm:encoded` (`sha256:<hex>`, `sha512:<hex>`, …).
fn is_digest(d: &str) -> bool {
    let Some((alg, enc)) = d.split_once(':') else {
        return false;
    };
    !alg.is_empty()
        && alg
            .bytes()
            .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || b"+._-".contains(&x))
        && enc.len() >= 32
        && enc
            .bytes()
            .all(|x| x.is_ascii_alphanumeric() || b"=_-".contains(&x))
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn t(uri: &str) -> Option<(String, String)> {
        parse(uri).map(|t| (t.origin(), t.repository))
    }

    fn some(o: &str, r: &str) -> Option<(String, String)> {
        Some((o.into(), r.into()))
    }

    #[test]
    fn registry_paths() {
        assert_eq!(
            t("https://ghcr.io/v2/org/img/manifests/latest"),
            some("https://ghcr.io", "org/img")
        );
        assert_eq!(
            t(&format!("https://GHCR.io/v2/org/team/sub/img/blobs/{D}")),
            some("https://ghcr.io", "org/team/sub/img")
        );
        assert_eq!(
            t(&format!("https://r.example:5000/v2/a/manifests/{D}")),
            some("https://r.example:5000", "a")
        );
        assert_eq!(
            t("http://127.0.0.1:5000/v2/a/b/tags/list?n=10&last=x"),
            some("http://127.0.0.1:5000", "a/b")
        );
        assert_eq!(
            t(&format!("https://r/v2/a/referrers/{D}?artifactType=x")),
            some("https://r", "a")
        );
        assert_eq!(
            t("https://user@r/v2/a/manifests/v1#frag"),
            some("https://r", "a")
        );
        assert_eq!(
            t("https://[::1]:5000/v2/a/manifests/v1"),
            some("https://[::1]:5000", "a")
        );
    }

    #[test]
    fn names_containing_api_words() {
        assert_eq!(
            t("https://r/v2/blobs/manifests/img/manifests/v1"),
            some("https://r", "blobs/manifests/img")
        );
        assert_eq!(
            t(&format!("https://r/v2/x/tags/blobs/{D}")),
            some("https://r", "x/tags")
        );
    }

    #[test]
    fn percent_encoding() {
        assert_eq!(
            t(
                "https://r/v2/my%2dorg/img/manifests/sha256%3A0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
            ),
            some("https://r", "my-org/img")
        );
        assert_eq!(t("https://r/v2/a%2Fb/manifests/v1"), None);
        assert_eq!(t("https://r/v2/a/manifests/v%zz"), None);
    }

    #[test]
    fn not_registry_paths() {
        for uri in [
            "https://ghcr.io/token?scope=repository:a:pull&service=ghcr.io",
            "https://ghcr.io/v2/",
            "https://ghcr.io/v2",
            "https://ghcr.io/v2/_catalog",
            "https://r/v2/a/blobs/uploads/",
            "https://r/v2/a/blobs/uploads/1234-uuid",
            "https://r/v2/a/blobs/notadigest",
            "https://r/v2/a/manifests/",
            "https://r/v2/Upper/manifests/v1",
            "https://r/v2//a/manifests/v1",
            "https://r/v2/a/tags/other",
            "https://pkg-containers.githubusercontent.com/ghcr1/blobs/sha256:abc?se=x&sig=y",
            "https://s3.amazonaws.com/bucket/key?X-Amz-Signature=abc",
            "https://github.com/org/repo/archive/v1.tar.gz",
            "ftp://r/v2/a/manifests/v1",
            "not a uri",
            "https:///v2/a/manifests/v1",
            "https://r:port/v2/a/manifests/v1",
        ] {
            assert_eq!(t(uri), None, "{uri}");
        }
    }

    #[test]
    fn name_grammar() {
        for ok in ["a", "a.b", "a_b", "a__b", "a---b", "0x"] {
            assert!(is_name_component(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a.-b", "a___b", "A", "a..b", "."] {
            assert!(!is_name_component(bad), "{bad}");
        }
    }

    #[test]
    fn loopback() {
        for h in [
            "localhost",
            "LocalHost",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        // A name is not loopback by its spelling: `*.localhost` included (finding 4).
        for h in [
            "10.0.0.1",
            "localhost.example.com",
            "example.com",
            "::2",
            "a.localhost",
            "localhost.",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
        use std::net::IpAddr;
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(all_loopback(&[ip("127.0.0.1"), ip("::1")]));
        assert!(!all_loopback(&[ip("127.0.0.1"), ip("192.0.2.2")]));
        assert!(!all_loopback(&[]));
    }
}
