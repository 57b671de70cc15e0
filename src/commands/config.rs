//! `ocicred config [--json]`: the effective configuration after every file and drop-in.
//!
//! It owns the presentation of a merged [`RegistriesConf`] plus what ocicred adds to it: the
//! files read in order, the registries sorted by prefix, the search list, `credential-helpers`,
//! `short-name-mode` and the aliases with the file each came from (the machine-written alias
//! file wins over registries.conf, as in lookups), the auth files in lookup order and the
//! store backend. A configuration error is returned, so the caller exits 1 naming the file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::{origin, registry_json, table, write_err, write_json};
use crate::env::Env;
use crate::error::Result;
use crate::registries_conf::{self, Alias, RegistriesConf};
use crate::route::{Route, Target};
use crate::source::env::set_names;

/// The arguments of `config`.
#[derive(Clone, Debug, Default)]
pub struct Args {
    /// Print JSON instead of tables.
    pub json: bool,
}

/// Everything `config` shows.
pub struct View {
    /// The merged registries.conf.
    pub conf: RegistriesConf,
    /// The machine-written alias file, when it exists.
    pub alias_cache: Option<PathBuf>,
    /// Its aliases.
    pub cache: BTreeMap<String, Alias>,
    /// The auth files, in lookup order.
    pub auth_files: Vec<PathBuf>,
    /// `auth-file` or `keyring`.
    pub store: String,
    /// Whether the environment is read (`env`), and the credential variables that are set.
    pub env: (bool, Vec<String>),
    /// The `[[route]]` tables, in file order.
    pub routes: Vec<Route>,
}

/// Runs `config` against the real files.
pub fn run(env: &Env, args: &Args, out: &mut dyn Write) -> Result<i32> {
    let conf = registries_conf::load(env)?;
    let (alias_cache, cache) = registries_conf::load_alias_cache(env)?;
    let own = crate::ocicred_config::load(env)?;
    let route_vars: Vec<&str> = own
        .routes
        .iter()
        .flat_map(|r| r.target.env_vars())
        .collect();
    let view = View {
        conf,
        alias_cache,
        cache,
        auth_files: env.auth_files().into_iter().map(|f| f.path).collect(),
        store: own.store.as_str().to_string(),
        env: (own.env, set_names(&env.vars, &route_vars)),
        routes: own.routes.clone(),
    };
    render(&view, args.json, out)
}

/// The effective aliases: registries.conf's, then the machine file's on top.
fn aliases(view: &View) -> BTreeMap<String, Alias> {
    let mut all = view.conf.aliases.clone();
    all.extend(view.cache.clone());
    all
}

fn files(view: &View) -> Vec<String> {
    view.conf
        .files
        .iter()
        .chain(view.alias_cache.iter())
        .map(|p| p.display().to_string())
        .collect()
}

/// Writes the view as JSON or as tables; returns the exit code.
pub fn render(view: &View, as_json: bool, out: &mut dyn Write) -> Result<i32> {
    if as_json {
        write_json(out, &to_json(view))?;
    } else {
        out.write_all(human(view).as_bytes()).map_err(write_err)?;
    }
    Ok(0)
}

fn to_json(view: &View) -> Value {
    let c = &view.conf;
    let aliases: serde_json::Map<String, Value> = aliases(view)
        .into_iter()
        .map(|(name, a)| {
            (
                name,
                json!({"value": a.value, "origin": origin(Some(&a.origin))}),
            )
        })
        .collect();
    json!({
        "files": files(view),
        "registries": c.registries.iter().map(|r| registry_json(r, r.blocked)).collect::<Vec<_>>(),
        "unqualified_search_registries": {
            "value": c.unqualified_search,
            "origin": origin(c.unqualified_search_origin.as_deref()),
        },
        "credential_helpers": c.credential_helpers(),
        "short_name_mode": c.short_name_mode.as_str(),
        "aliases": aliases,
        "auth_files": view.auth_files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "store": view.store,
        "environment": {"enabled": view.env.0, "variables": view.env.1},
        "routes": view.routes.iter().map(route_json).collect::<Vec<_>>(),
    })
}

/// A `[[route]]` as JSON: every target key present, `null` where unused.
fn route_json(r: &Route) -> Value {
    let (mut helper, mut source, mut user, mut pass, mut token) = (None, None, None, None, None);
    match &r.target {
        Target::Helper(h) => helper = Some(h.clone()),
        Target::Source(s) => source = Some(s.as_str()),
        Target::Vars { username, password } => {
            user = Some(username.clone());
            pass = Some(password.clone());
        }
        Target::Token(t) => token = Some(t.clone()),
    }
    json!({
        "match": r.text,
        "helper": helper,
        "source": source,
        "username_env": user,
        "password_env": pass,
        "token_env": token,
        "read_only": r.target.is_read_only(),
        "origin": format!("{}:{}:{}", r.file.display(), r.line, r.column),
    })
}

fn from(p: Option<&std::path::Path>) -> String {
    match p {
        Some(p) => format!("from {}", p.display()),
        None => "default".to_string(),
    }
}

fn human(view: &View) -> String {
    let c = &view.conf;
    let mut text = String::from("files read, in order:\n");
    let files = files(view);
    if files.is_empty() {
        text.push_str("  (none: built-in defaults)\n");
    }
    for (i, f) in files.iter().enumerate() {
        text.push_str(&format!("  {}. {f}\n", i + 1));
    }
    text.push('\n');
    let search = if c.unqualified_search.is_empty() {
        "(none)".to_string()
    } else {
        c.unqualified_search.join(", ")
    };
    text.push_str(&table(&[
        vec![
            "credential-helpers".into(),
            c.credential_helpers().join(", "),
            from(c.credential_helpers_origin.as_deref()),
        ],
        vec![
            "unqualified-search-registries".into(),
            search,
            from(c.unqualified_search_origin.as_deref()),
        ],
        vec![
            "short-name-mode".into(),
            c.short_name_mode.as_str().into(),
            from(c.short_name_mode_origin.as_deref()),
        ],
        vec!["store".into(), view.store.clone()],
        vec![
            "env".into(),
            if view.env.0 { "true" } else { "false" }.into(),
            if view.env.1.is_empty() {
                "no credential variables set".into()
            } else {
                format!("set: {}", view.env.1.join(", "))
            },
        ],
    ]));
    text.push_str("\nroutes (the most specific match decides):\n");
    if view.routes.is_empty() {
        text.push_str("  (none)\n");
    } else {
        let mut rows = vec![vec!["  MATCH".to_string(), "TO".into(), "FROM".into()]];
        for r in &view.routes {
            rows.push(vec![
                format!("  {}", r.text),
                r.target.describe(),
                format!("{}:{}", r.file.display(), r.line),
            ]);
        }
        text.push_str(&table(&rows));
    }
    text.push_str("\nauth files, in lookup order:\n");
    for (i, f) in view.auth_files.iter().enumerate() {
        text.push_str(&format!("  {}. {}\n", i + 1, f.display()));
    }
    text.push_str("\nregistries (by prefix):\n");
    if c.registries.is_empty() {
        text.push_str("  (none)\n");
    } else {
        let mut rows = vec![vec![
            "  PREFIX".to_string(),
            "LOCATION".into(),
            "FLAGS".into(),
            "MIRRORS".into(),
            "FROM".into(),
        ]];
        for r in &c.registries {
            let mut flags = Vec::new();
            if r.blocked {
                flags.push("blocked");
            }
            if r.insecure {
                flags.push("insecure");
            }
            if r.mirror_by_digest_only {
                flags.push("mirror-by-digest-only");
            }
            let mirrors: Vec<String> = r
                .mirrors
                .iter()
                .map(|m| {
                    let mut s = m.location.clone();
                    if m.insecure {
                        s.push_str(" (insecure)");
                    }
                    if !m.pull_from_mirror.is_empty() {
                        s.push_str(&format!(" ({})", m.pull_from_mirror));
                    }
                    s
                })
                .collect();
            rows.push(vec![
                format!("  {}", r.prefix),
                if r.location.is_empty() {
                    "-".into()
                } else {
                    r.location.clone()
                },
                if flags.is_empty() {
                    "-".into()
                } else {
                    flags.join(",")
                },
                if mirrors.is_empty() {
                    "-".into()
                } else {
                    mirrors.join(", ")
                },
                r.origin.display().to_string(),
            ]);
        }
        text.push_str(&table(&rows));
    }
    text.push_str("\naliases:\n");
    let all = aliases(view);
    if all.is_empty() {
        text.push_str("  (none)\n");
    } else {
        let mut rows = vec![vec!["  NAME".to_string(), "VALUE".into(), "FROM".into()]];
        for (name, a) in &all {
            rows.push(vec![
                format!("  {name}"),
                a.value.clone().unwrap_or_else(|| "(erased)".into()),
                a.origin.display().to_string(),
            ]);
        }
        text.push_str(&table(&rows));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registries_conf::merge::merge;
    use crate::registries_conf::parse::parse_file;
    use std::path::Path;

    fn view() -> View {
        let main = parse_file(
            Path::new("/etc/containers/registries.conf"),
            "[[registry]]\nlocation=\"b.com\"\n[[registry.mirror]]\nlocation=\"m.com\"\n\
             pull-from-mirror=\"tag-only\"\n[[registry]]\nlocation=\"a.com\"\nblocked=true\n\
             [aliases]\nx=\"quay.io/x\"\ny=\"quay.io/y\"\n",
            false,
        )
        .unwrap();
        let drop_in = parse_file(
            Path::new("/etc/containers/registries.conf.d/1.conf"),
            "unqualified-search-registries=[\"docker.io\"]",
            true,
        )
        .unwrap();
        let cache_path = PathBuf::from("/home/u/.cache/containers/short-name-aliases.conf");
        View {
            conf: merge(vec![main, drop_in]),
            alias_cache: Some(cache_path.clone()),
            cache: BTreeMap::from([(
                "y".to_string(),
                Alias {
                    value: None,
                    origin: cache_path,
                },
            )]),
            auth_files: vec![PathBuf::from("/run/containers/1000/auth.json")],
            store: "auth-file".into(),
            env: (true, vec!["DOCKER_x_USR".into(), "DOCKER_x_PSW".into()]),
            routes: crate::ocicred_config::parse(
                "[[route]]\nmatch = \"*.corp.example\"\nhelper = \"probe\"\n",
                Path::new("/c.toml"),
            )
            .unwrap()
            .routes,
        }
    }

    #[test]
    fn json_has_exactly_the_contract_keys() {
        let mut out = Vec::new();
        render(&view(), true, &mut out).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        let want = json!({
            "files": ["/etc/containers/registries.conf",
                      "/etc/containers/registries.conf.d/1.conf",
                      "/home/u/.cache/containers/short-name-aliases.conf"],
            "registries": [
                {"prefix": "a.com", "location": "a.com", "blocked": true, "insecure": false,
                 "mirror_by_digest_only": false, "mirrors": []},
                {"prefix": "b.com", "location": "b.com", "blocked": false, "insecure": false,
                 "mirror_by_digest_only": false,
                 "mirrors": [{"location": "m.com", "insecure": false, "pull_from_mirror": "tag-only"}]}
            ],
            "unqualified_search_registries": {"value": ["docker.io"],
                "origin": "/etc/containers/registries.conf.d/1.conf"},
            "credential_helpers": ["containers-auth.json"],
            "short_name_mode": "permissive",
            "aliases": {
                "x": {"value": "quay.io/x", "origin": "/etc/containers/registries.conf"},
                "y": {"value": null, "origin": "/home/u/.cache/containers/short-name-aliases.conf"}
            },
            "auth_files": ["/run/containers/1000/auth.json"],
            "store": "auth-file",
            "environment": {"enabled": true, "variables": ["DOCKER_x_USR", "DOCKER_x_PSW"]},
            "routes": [{"match": "*.corp.example", "helper": "probe", "source": null,
                        "username_env": null, "password_env": null, "token_env": null,
                        "read_only": false, "origin": "/c.toml:1:1"}]
        });
        assert_eq!(v, want);
    }

    #[test]
    fn unset_origins_are_empty_strings() {
        let v = View {
            conf: RegistriesConf::default(),
            alias_cache: None,
            cache: BTreeMap::new(),
            auth_files: vec![],
            store: "keyring".into(),
            env: (false, vec![]),
            routes: vec![],
        };
        let mut out = Vec::new();
        render(&v, true, &mut out).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["unqualified_search_registries"],
            json!({"value": [], "origin": ""})
        );
        assert_eq!(v["files"], json!([]));
    }

    #[test]
    fn human_output_names_origins() {
        let mut out = Vec::new();
        render(&view(), false, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("  2. /etc/containers/registries.conf.d/1.conf"),
            "{text}"
        );
        assert!(
            text.contains("credential-helpers             containers-auth.json  default"),
            "{text}"
        );
        assert!(
            text.contains("docker.io             from /etc/containers/registries.conf.d/1.conf"),
            "{text}"
        );
        assert!(text.contains("m.com (tag-only)"), "{text}");
        assert!(text.contains("(erased)"), "{text}");
    }
}
