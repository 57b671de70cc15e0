//! `ocicred resolve [--json] IMAGE`: how one image reference resolves, and which credential
//! each pull source would get.
//!
//! It owns the presentation of a [`Resolution`]: the short-name step (alias or search
//! candidates, with the file each came from), the matching `[[registry]]`, the pull sources in
//! order, and for each the credential's source, key and user name (never the secret). Blocked
//! references exit 0 and say so; every credential is then `null`. The resolver is built by the
//! caller's wiring (`app`) and the lookup passed to [`render`], so the rendering is tested
//! without files or helpers.

use std::io::Write;
use std::rc::Rc;

use serde_json::{Value, json};

use super::{origin, registry_json, table, write_err, write_json};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::registries_conf::{self, RegistriesConf, Resolution};
use crate::registry_key::RegistryKey;
use crate::resolver::Resolver;
use crate::source::Found;

/// The arguments of `resolve`.
#[derive(Clone, Debug, Default)]
pub struct Args {
    /// Print JSON instead of a table.
    pub json: bool,
    /// The image reference, as written.
    pub image: String,
}

/// Runs `resolve` against the real configuration; `resolver` builds the credential sources for
/// the loaded registries.conf (once the reference has resolved).
pub fn run(
    env: &Env,
    args: &Args,
    resolver: &dyn Fn(&Rc<RegistriesConf>) -> Result<Resolver>,
    out: &mut dyn Write,
) -> Result<i32> {
    let conf = Rc::new(registries_conf::load(env)?);
    let (_, cache) = registries_conf::load_alias_cache(env)?;
    let resolution = conf.resolve(&args.image, &cache)?;
    let resolver = resolver(&conf)?;
    render(&resolution, &|k| resolver.explain(k), args.json, out)
}

/// What a pull source gets.
enum Cred {
    Found(Found),
    None,
    Blocked(String),
    Failed(String),
}

fn credential(res: &Resolution, i: usize, lookup: &dyn Fn(&RegistryKey) -> Result<Found>) -> Cred {
    let s = &res.pull_sources[i];
    if let Some(prefix) = &s.blocked {
        return Cred::Blocked(prefix.clone());
    }
    let key = match RegistryKey::parse(&s.source.reference.name()) {
        Ok(k) => k,
        Err(e) => return Cred::Failed(e.to_string()),
    };
    match lookup(&key) {
        Ok(found) => Cred::Found(found),
        Err(Error::NotFound) => Cred::None,
        Err(Error::Blocked(p)) => Cred::Blocked(p),
        Err(e) => Cred::Failed(e.to_string()),
    }
}

/// Writes the resolution as JSON or as a table; returns the exit code.
pub fn render(
    res: &Resolution,
    lookup: &dyn Fn(&RegistryKey) -> Result<Found>,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<i32> {
    let creds: Vec<Cred> = (0..res.pull_sources.len())
        .map(|i| credential(res, i, lookup))
        .collect();
    if as_json {
        write_json(out, &to_json(res, &creds))?;
    } else {
        out.write_all(human(res, &creds).as_bytes())
            .map_err(write_err)?;
    }
    Ok(0)
}

fn to_json(res: &Resolution, creds: &[Cred]) -> Value {
    let alias = res.alias.as_ref().map_or(
        Value::Null,
        |a| json!({"value": a.value, "origin": origin(Some(&a.origin))}),
    );
    let registry = res.registry.as_ref().map_or(Value::Null, |r| {
        registry_json(r, r.blocked || res.blocked.is_some())
    });
    let sources: Vec<Value> = res
        .pull_sources
        .iter()
        .zip(creds)
        .map(|(s, c)| {
            let credential = match c {
                Cred::Found(f) => json!({
                    "source": f.origin.source,
                    "key": f.origin.key,
                    "username": f.credential.username(),
                }),
                _ => Value::Null,
            };
            json!({
                "location": s.source.location,
                "reference": s.source.reference.to_string(),
                "insecure": s.source.insecure,
                "credential": credential,
            })
        })
        .collect();
    json!({
        "input": res.input,
        "reference": res.reference.as_ref().map(ToString::to_string),
        "alias": alias,
        "candidates": res.candidates.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "registry": registry,
        "pull_sources": sources,
    })
}

fn human(res: &Resolution, creds: &[Cred]) -> String {
    let mut rows: Vec<Vec<String>> = vec![vec!["input".into(), res.input.clone()]];
    if let Some(a) = &res.alias {
        let value = a.value.clone().unwrap_or_else(|| "(erased)".into());
        rows.push(vec![
            "alias".into(),
            value,
            format!("from {}", a.origin.display()),
        ]);
    }
    match &res.reference {
        Some(r) => rows.push(vec!["reference".into(), r.to_string()]),
        None => rows.push(vec![
            "reference".into(),
            "(short name: try the candidates below)".into(),
        ]),
    }
    match &res.registry {
        Some(r) => {
            let mut flags = Vec::new();
            if r.blocked || res.blocked.is_some() {
                flags.push("blocked");
            }
            if r.insecure {
                flags.push("insecure");
            }
            if r.mirror_by_digest_only {
                flags.push("mirror-by-digest-only");
            }
            let location = if r.location.is_empty() {
                "(unchanged)".to_string()
            } else {
                r.location.clone()
            };
            let mut text = format!("prefix {} -> {location}", r.prefix);
            if !flags.is_empty() {
                text.push_str(&format!(" [{}]", flags.join(", ")));
            }
            rows.push(vec![
                "registry".into(),
                text,
                format!("from {}", r.origin.display()),
            ]);
        }
        None if res.reference.is_some() => {
            rows.push(vec!["registry".into(), "(no [[registry]] matches)".into()]);
        }
        None => {}
    }
    let mut text = table(&rows);
    if !res.candidates.is_empty() || res.reference.is_none() {
        text.push_str("\ncandidates (from unqualified-search-registries, in order):\n");
        if res.candidates.is_empty() {
            text.push_str(
                "  (none: unqualified-search-registries is empty; use a fully qualified name)\n",
            );
        }
        for (i, c) in res.candidates.iter().enumerate() {
            text.push_str(&format!("  {}. {c}\n", i + 1));
        }
    }
    if let Some(prefix) = &res.blocked {
        text.push_str(&format!(
            "\nBLOCKED: registry {prefix} is blocked in registries.conf; ocicred gives no \
             credentials for this reference.\n"
        ));
    }
    if !res.pull_sources.is_empty() {
        text.push_str("\npull sources, in order:\n");
        let mut rows = vec![vec![
            "  #".to_string(),
            "LOCATION".into(),
            "REFERENCE".into(),
            "TLS".into(),
            "CREDENTIAL".into(),
        ]];
        for (i, (s, c)) in res.pull_sources.iter().zip(creds).enumerate() {
            let kind = if s.source.mirror { "mirror" } else { "primary" };
            let cred = match c {
                Cred::Found(f) => format!(
                    "user {} (key {} in {})",
                    f.credential.username(),
                    f.origin.key,
                    f.origin.source
                ),
                Cred::None => "none found (anonymous)".into(),
                Cred::Blocked(p) => format!("none: blocked by {p}"),
                Cred::Failed(e) => format!("none: lookup failed: {e}"),
            };
            rows.push(vec![
                format!("  {}", i + 1),
                format!("{} ({kind})", s.source.location),
                s.source.reference.to_string(),
                if s.source.insecure {
                    "insecure"
                } else {
                    "verify"
                }
                .into(),
                cred,
            ]);
        }
        text.push_str(&table(&rows));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::Credential;
    use crate::registries_conf::merge::merge;
    use crate::registries_conf::parse::parse_file;
    use crate::source::Origin;
    use std::collections::BTreeMap;
    use std::path::Path;

    const CONF: &str = r#"
unqualified-search-registries = ["quay.io", "docker.io"]
[aliases]
nginx = "docker.io/library/nginx"
gone = ""
[[registry]]
location = "docker.io"
[[registry.mirror]]
location = "mirror.example.com"
[[registry]]
location = "bad.example.com"
blocked = true
"#;

    fn lookup(k: &RegistryKey) -> Result<Found> {
        if k.host() == "mirror.example.com" {
            Ok(Found {
                credential: Credential::basic("alice", "s3cret-value"),
                origin: Origin {
                    source: "/home/u/.config/containers/auth.json".into(),
                    key: "mirror.example.com".into(),
                },
            })
        } else {
            Err(Error::NotFound)
        }
    }

    fn resolve(input: &str, as_json: bool) -> String {
        let conf = merge(vec![
            parse_file(Path::new("/etc/containers/registries.conf"), CONF, false).unwrap(),
        ]);
        let res = conf.resolve(input, &BTreeMap::new()).unwrap();
        let mut out = Vec::new();
        assert_eq!(render(&res, &lookup, as_json, &mut out).unwrap(), 0);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_matches_the_contract() {
        let v: Value = serde_json::from_str(&resolve("nginx", true)).unwrap();
        let want = json!({
            "input": "nginx",
            "reference": "docker.io/library/nginx:latest",
            "alias": {"value": "docker.io/library/nginx", "origin": "/etc/containers/registries.conf"},
            "candidates": [],
            "registry": {"prefix": "docker.io", "location": "docker.io", "blocked": false,
                         "insecure": false, "mirror_by_digest_only": false,
                         "mirrors": [{"location": "mirror.example.com", "insecure": false,
                                      "pull_from_mirror": ""}]},
            "pull_sources": [
                {"location": "mirror.example.com",
                 "reference": "mirror.example.com/library/nginx:latest",
                 "insecure": false,
                 "credential": {"source": "/home/u/.config/containers/auth.json",
                                "key": "mirror.example.com", "username": "alice"}},
                {"location": "docker.io", "reference": "docker.io/library/nginx:latest",
                 "insecure": false, "credential": null}
            ]
        });
        assert_eq!(v, want);
    }

    #[test]
    fn short_names_erased_aliases_and_unmatched_hosts() {
        let v: Value = serde_json::from_str(&resolve("gone:1", true)).unwrap();
        assert_eq!(
            v["alias"],
            json!({"value": null, "origin": "/etc/containers/registries.conf"})
        );
        assert_eq!(v["reference"], Value::Null);
        assert_eq!(v["pull_sources"], json!([]));
        assert_eq!(
            v["candidates"],
            json!(["quay.io/gone:1", "docker.io/library/gone:1"])
        );
        let v: Value = serde_json::from_str(&resolve(
            "example.org:5000/a/b@sha256:0123456789abcdef0123456789abcdef",
            true,
        ))
        .unwrap();
        assert_eq!(v["registry"], Value::Null);
        assert_eq!(v["pull_sources"][0]["location"], "example.org:5000");
    }

    #[test]
    fn blocked_references_exit_zero_with_no_credentials() {
        let v: Value = serde_json::from_str(&resolve("bad.example.com/x", true)).unwrap();
        assert_eq!(v["registry"]["blocked"], true);
        assert_eq!(v["pull_sources"][0]["credential"], Value::Null);
        let text = resolve("bad.example.com/x", false);
        assert!(
            text.contains("BLOCKED: registry bad.example.com is blocked"),
            "{text}"
        );
    }

    #[test]
    fn human_output_shows_origins_and_never_secrets() {
        let text = resolve("nginx", false);
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains("alias docker.io/library/nginx from /etc/containers/registries.conf"),
            "{text}"
        );
        assert!(text.contains("mirror.example.com (mirror)"), "{text}");
        assert!(
            text.contains(
                "user alice (key mirror.example.com in /home/u/.config/containers/auth.json)"
            ),
            "{text}"
        );
        assert!(text.contains("none found (anonymous)"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(!resolve("nginx", true).contains("s3cret"));
        let text = resolve("busybox", false);
        assert!(
            text.contains("  1. quay.io/busybox:latest\n  2. docker.io/library/busybox:latest"),
            "{text}"
        );
    }
}
